#!/usr/bin/env node
'use strict';
// Archives the projects that nobody has touched for a number of days and
// leaves a status update on each saying why. A project counts as touched
// when the project itself or any of its tasks changed. See README.md beside
// this file.

const {
	UsageError,
	call,
	connect,
	allPages,
	organizationGid,
	parseOptions,
	main,
} = require('../lib/kontor');

const DEFAULT_DAYS = 120;
const DAY_MS = 24 * 60 * 60 * 1000;
// The status update's title; a rerun recognises its own earlier update by it.
const TITLE = 'Archived for inactivity';

const USAGE = `usage: archive-projects.js [--days N] [--dry-run]

  --days N     archive projects untouched for more than N days (default ${DEFAULT_DAYS})
  --dry-run    print the plan and change nothing

Environment: KONTOR_URL, KONTOR_TOKEN (a service account with full access),
KONTOR_WORKSPACE (optional).
`;

function day(iso) {
	return iso.slice(0, 10);
}

// True when a task of the project, or a subtask at any depth below one,
// changed at or after `cutoff`. Subtasks need not be in the project
// themselves, so they are read through each task's subtask list.
async function hasRecentTask(tasksApi, projectGid, cutoff) {
	const recent = await call(`GET /projects/${projectGid}/tasks`, () =>
		tasksApi.getTasksForProject(projectGid, { modified_since: cutoff, limit: 1, opt_fields: 'modified_at' }));
	if (recent.data.length) {
		return true;
	}
	let level = await allPages(`GET /projects/${projectGid}/tasks`, (opts) =>
		tasksApi.getTasksForProject(projectGid, opts), { opt_fields: 'num_subtasks' });
	const seen = new Set();
	while (level.length) {
		const next = [];
		for (const task of level) {
			if (seen.has(task.gid) || task.num_subtasks === 0) {
				continue;
			}
			seen.add(task.gid);
			const subtasks = await allPages(`GET /tasks/${task.gid}/subtasks`, (opts) =>
				tasksApi.getSubtasksForTask(task.gid, opts), { opt_fields: 'modified_at,num_subtasks' });
			if (subtasks.some((subtask) => subtask.modified_at && subtask.modified_at >= cutoff)) {
				return true;
			}
			next.push(...subtasks);
		}
		level = next;
	}
	return false;
}

async function run() {
	const options = parseOptions(USAGE, {
		days: { type: 'string' },
		'dry-run': { type: 'boolean' },
	});
	const days = options.days === undefined ? DEFAULT_DAYS : Number(options.days);
	if (!Number.isInteger(days) || days < 1) {
		throw new UsageError(`--days: expected a whole number of days from 1, got "${options.days}"`);
	}
	const dryRun = Boolean(options['dry-run']);
	const cutoff = new Date(Date.now() - days * DAY_MS).toISOString();

	const asana = connect();
	const workspace = await organizationGid(asana);
	const me = (await call('GET /users/me', () => new asana.UsersApi().getUser('me', {}))).data;
	const projectsApi = new asana.ProjectsApi();
	const tasksApi = new asana.TasksApi();
	const statusApi = new asana.StatusUpdatesApi();

	const projects = await allPages(`GET /workspaces/${workspace}/projects`, (opts) =>
		projectsApi.getProjectsForWorkspace(workspace, opts), { archived: false, opt_fields: 'name,modified_at,team.name' });

	// A project's modified_at does not cover its tasks, so a candidate is
	// kept when any of its tasks or their subtasks changed after the cutoff.
	const plan = [];
	let kept = 0;
	for (const project of projects) {
		if (!project.modified_at || project.modified_at >= cutoff) {
			continue;
		}
		if (await hasRecentTask(tasksApi, project.gid, cutoff)) {
			kept++;
			continue;
		}
		plan.push(project);
	}

	const prefix = dryRun ? 'would archive' : 'archive';
	for (const project of plan) {
		const team = project.team ? project.team.name : 'no team';
		console.log(`${prefix} ${project.name} (${team}), last changed ${day(project.modified_at)}`);
	}
	if (dryRun) {
		console.log(`dry run: ${plan.length} of ${projects.length} active projects to archive ` +
			`(${kept} more have recent task changes); nothing changed`);
		return 0;
	}

	for (const project of plan) {
		// A run that stopped between the two steps left its status update,
		// newer than the project's last change: do not post a second one.
		const updates = await allPages(`GET /status_updates?parent=${project.gid}`, (opts) =>
			statusApi.getStatusesForObject(project.gid, opts), { created_since: project.modified_at, opt_fields: 'title,created_by' });
		const posted = updates.some((u) => u.title === TITLE && u.created_by && u.created_by.gid === me.gid);
		if (!posted) {
			const text = `Nobody has changed this project or its tasks since ${day(project.modified_at)}, ` +
				`more than ${days} days ago, so it was archived automatically. ` +
				'Unarchive it to keep working on it.';
			await call(`POST /status_updates (project ${project.gid})`, () =>
				statusApi.createStatusForObject({ data: { parent: project.gid, title: TITLE, text, status_type: 'on_hold' } }, {}));
		}
		await call(`PUT /projects/${project.gid}`, () =>
			projectsApi.updateProject({ data: { archived: true } }, project.gid, { opt_fields: 'archived' }));
	}
	console.log(`done: ${plan.length} archived, ${projects.length - plan.length} left active`);
	return 0;
}

main(USAGE, run);
