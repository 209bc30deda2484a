#!/usr/bin/env node
'use strict';
// Writes a CSV report of the incomplete tasks whose due date has passed, one
// row per task and project, grouped by team, for a nightly cron job. See
// README.md beside this file.

const {
	UsageError,
	connect,
	allPages,
	organizationGid,
	parseOptions,
	main,
	formatCsv,
	writeFileAtomic,
	isDate,
} = require('../lib/kontor');

const DAY_MS = 24 * 60 * 60 * 1000;
const HEADER = ['team', 'project', 'task', 'assignee', 'due_on', 'days_overdue', 'assignee_email', 'task_gid'];
const NO_TEAM = '(no team)';

const USAGE = `usage: overdue-report.js [--output FILE] [--today YYYY-MM-DD] [--include-archived]

  --output FILE        write the CSV here (replaced in one step); default: stdout
  --today YYYY-MM-DD   the day to count from (default: today in the local time zone)
  --include-archived   also report tasks of archived projects

Environment: KONTOR_URL, KONTOR_TOKEN (a service account with full or read
access), KONTOR_WORKSPACE (optional).
`;

// Today's date in the local time zone as YYYY-MM-DD.
function localToday() {
	const now = new Date();
	const pad = (n) => String(n).padStart(2, '0');
	return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

// Whole days from date `from` to date `to`, both YYYY-MM-DD.
function daysBetween(from, to) {
	return Math.round((Date.parse(to + 'T00:00:00Z') - Date.parse(from + 'T00:00:00Z')) / DAY_MS);
}

// Orders strings by code point, the same on every machine whatever its locale.
function compareText(a, b) {
	if (a === b) {
		return 0;
	}
	return a < b ? -1 : 1;
}

async function run() {
	const options = parseOptions(USAGE, {
		output: { type: 'string' },
		today: { type: 'string' },
		'include-archived': { type: 'boolean' },
	});
	const today = options.today || localToday();
	if (!isDate(today)) {
		throw new UsageError(`--today: expected a date such as 2026-01-31, got "${options.today}"`);
	}

	const asana = connect();
	const workspace = await organizationGid(asana);
	const projectOptions = { opt_fields: 'name,team.name,archived' };
	if (!options['include-archived']) {
		projectOptions.archived = false;
	}
	const projects = await allPages(`GET /workspaces/${workspace}/projects`, (opts) =>
		new asana.ProjectsApi().getProjectsForWorkspace(workspace, opts), projectOptions);

	const rows = [];
	const tasksApi = new asana.TasksApi();
	for (const project of projects) {
		// completed_since=now returns only incomplete tasks.
		const tasks = await allPages(`GET /projects/${project.gid}/tasks`, (opts) =>
			tasksApi.getTasksForProject(project.gid, opts), {
			completed_since: 'now',
			opt_fields: 'name,completed,due_on,due_at,assignee.name,assignee.email',
		});
		for (const task of tasks) {
			// A task with only a due time counts by that time's date in UTC.
			const due = task.due_on || (task.due_at ? task.due_at.slice(0, 10) : null);
			if (task.completed || !due || due >= today) {
				continue;
			}
			rows.push([
				project.team ? project.team.name : NO_TEAM,
				project.name,
				task.name,
				task.assignee ? task.assignee.name : '',
				due,
				daysBetween(due, today),
				task.assignee && task.assignee.email ? task.assignee.email : '',
				task.gid,
			]);
		}
	}

	// By team and project, the longest overdue first, then by task name and gid.
	rows.sort((a, b) => compareText(a[0], b[0]) || compareText(a[1], b[1]) || b[5] - a[5] ||
		compareText(a[2], b[2]) || compareText(a[7], b[7]));

	const csv = formatCsv([HEADER, ...rows]);
	if (options.output) {
		writeFileAtomic(options.output, csv);
		process.stderr.write(`${rows.length} overdue tasks in ${projects.length} projects written to ${options.output}\n`);
	} else {
		process.stdout.write(csv);
	}
	return 0;
}

main(USAGE, run);
