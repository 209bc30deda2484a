#!/usr/bin/env node
'use strict';
// Brings the organization's people in line with an HR file. It adds everyone
// the file lists who is not an active member. It removes the active members
// of the file's e-mail domains whom the file no longer lists, after handing
// their incomplete tasks to a successor. See README.md beside this file.

const {
	UsageError,
	CheckError,
	connect,
	call,
	allPages,
	organizationGid,
	parseOptions,
	main,
	readCsvRecords,
	isEmail,
} = require('../lib/kontor');

const DEFAULT_MAX_REMOVALS = 10;

const USAGE = `usage: sync-users.js --hr-file FILE [--reassign-to EMAIL] [--dry-run]
                     [--max-removals N] [--domain DOMAIN]...

  --hr-file FILE        CSV with a header line and at least the columns email and
                        name; other columns (team, ...) are ignored
  --reassign-to EMAIL   who gets the incomplete tasks of departed people
                        (default: $REASSIGN_TO); needed when any have such tasks
  --dry-run             print the plan and change nothing
  --max-removals N      stop without changes when more than N people would be
                        removed (default ${DEFAULT_MAX_REMOVALS}), a guard against a truncated file
  --domain DOMAIN       e-mail domain whose people the file covers; repeat for
                        more (default: every domain in the file)

Environment: KONTOR_URL, KONTOR_TOKEN (a service account with full access),
KONTOR_WORKSPACE (optional), REASSIGN_TO.
`;

function domainOf(email) {
	return email.slice(email.lastIndexOf('@') + 1);
}

// Reads the HR file into a Map from lower-case e-mail to {email, name, line}.
function readPeople(file) {
	const people = new Map();
	for (const record of readCsvRecords(file, ['email', 'name'])) {
		const email = record.email.toLowerCase();
		if (!isEmail(email)) {
			throw new CheckError(`${file}:${record._line}: "${record.email}" is not an e-mail address`);
		}
		if (people.has(email)) {
			throw new CheckError(`${file}:${record._line}: ${email} is listed twice (first on line ${people.get(email).line})`);
		}
		people.set(email, { email, name: record.name, line: record._line });
	}
	if (!people.size) {
		throw new CheckError(`${file} lists nobody; refusing to treat everyone as departed`);
	}
	return people;
}

async function run() {
	const options = parseOptions(USAGE, {
		'hr-file': { type: 'string' },
		'reassign-to': { type: 'string' },
		'dry-run': { type: 'boolean' },
		'max-removals': { type: 'string' },
		domain: { type: 'string', multiple: true },
	});
	if (!options['hr-file']) {
		throw new UsageError('--hr-file is required');
	}
	const maxRemovals = options['max-removals'] === undefined ? DEFAULT_MAX_REMOVALS : Number(options['max-removals']);
	if (!Number.isInteger(maxRemovals) || maxRemovals < 0) {
		throw new UsageError(`--max-removals: expected a whole number, got "${options['max-removals']}"`);
	}
	const successorEmail = (options['reassign-to'] || process.env.REASSIGN_TO || '').toLowerCase();
	const dryRun = Boolean(options['dry-run']);

	const people = readPeople(options['hr-file']);
	const domains = new Set((options.domain || [...people.values()].map((p) => domainOf(p.email))).map((d) => d.toLowerCase()));

	const asana = connect();
	const workspace = await organizationGid(asana);
	const me = (await call('GET /users/me', () => new asana.UsersApi().getUser('me', { opt_fields: 'email' }))).data;

	// Every membership, active or not, with the person's e-mail.
	const memberships = await allPages(`GET /workspaces/${workspace}/workspace_memberships`, (opts) =>
		new asana.WorkspaceMembershipsApi().getWorkspaceMembershipsForWorkspace(workspace, opts), {
		opt_fields: 'user.email,user.name,is_active,is_guest,role',
	});
	const byEmail = new Map();
	for (const m of memberships) {
		if (m.user && m.user.email) {
			byEmail.set(m.user.email.toLowerCase(), m);
		}
	}

	// Plan: who joins (new or returning) and who leaves.
	const additions = [...people.values()].filter((p) => {
		const m = byEmail.get(p.email);
		return !m || !m.is_active;
	});
	const removals = [];
	const skipped = [];
	for (const [email, m] of byEmail) {
		if (!m.is_active || m.is_guest || people.has(email) || !domains.has(domainOf(email))) {
			continue;
		}
		if (m.user.gid === me.gid) {
			skipped.push(`${email}: this is the token's own account`);
		} else if (m.role === 'super_admin') {
			skipped.push(`${email}: a super admin, whom only another super admin can remove in the admin console`);
		} else {
			removals.push({ email, gid: m.user.gid, name: m.user.name, tasks: [] });
		}
	}

	// Incomplete tasks of each departing person, subtasks included.
	for (const person of removals) {
		person.tasks = await allPages(`GET /tasks?assignee=${person.gid}`, (opts) => new asana.TasksApi().getTasks(opts), {
			assignee: person.gid,
			workspace,
			completed_since: 'now',
			opt_fields: 'name,completed',
		});
		person.tasks = person.tasks.filter((t) => !t.completed);
	}

	// Checks that stop the run; the plan is printed first so that they can be judged.
	const openTasks = removals.reduce((sum, r) => sum + r.tasks.length, 0);
	const problems = [];
	if (removals.length > maxRemovals) {
		problems.push(`${removals.length} people would be removed, more than --max-removals ${maxRemovals}; ` +
			'check that the HR file is complete, then raise --max-removals');
	}
	if (openTasks > 0) {
		const successor = byEmail.get(successorEmail);
		const joining = additions.some((p) => p.email === successorEmail);
		if (!successorEmail) {
			problems.push(`the departing people have ${openTasks} incomplete tasks; name who takes them with --reassign-to EMAIL or REASSIGN_TO`);
		} else if ((!successor || !successor.is_active) && !joining) {
			problems.push(`--reassign-to ${successorEmail} is not an active member of the organization`);
		} else if (removals.some((r) => r.email === successorEmail)) {
			problems.push(`--reassign-to ${successorEmail} is leaving too; choose someone who stays`);
		}
	}

	const prefix = dryRun ? 'would ' : '';
	for (const p of additions) {
		console.log(`${prefix}add ${p.email} (${p.name})${byEmail.has(p.email) ? ', reactivating the old account' : ''}`);
	}
	for (const r of removals) {
		const tail = r.tasks.length ? `, after reassigning ${r.tasks.length} incomplete tasks to ${successorEmail || '?'}` : '';
		console.log(`${prefix}remove ${r.email} (${r.name})${tail}`);
	}
	for (const line of skipped) {
		console.error(`warning: not in the HR file but left alone: ${line}`);
	}
	if (problems.length) {
		throw new CheckError(problems.join('\nerror: ') + '\nnothing changed');
	}
	if (dryRun) {
		console.log(`dry run: ${additions.length} to add, ${removals.length} to remove, ${openTasks} tasks to reassign; nothing changed`);
		return 0;
	}

	// Act: additions first, so a successor who joins today can take tasks.
	const workspacesApi = new asana.WorkspacesApi();
	for (const p of additions) {
		const added = await call(`POST /workspaces/${workspace}/addUser ${p.email}`, () =>
			workspacesApi.addUserForWorkspace({ data: { user: p.email } }, workspace, { opt_fields: 'email' }));
		byEmail.set(p.email, { is_active: true, user: added.data });
	}
	const successorGid = openTasks > 0 ? byEmail.get(successorEmail).user.gid : null;
	const tasksApi = new asana.TasksApi();
	for (const r of removals) {
		for (const task of r.tasks) {
			await call(`PUT /tasks/${task.gid}`, () =>
				tasksApi.updateTask({ data: { assignee: successorGid } }, task.gid, { opt_fields: 'assignee' }));
		}
		await call(`POST /workspaces/${workspace}/removeUser ${r.email}`, () =>
			workspacesApi.removeUserForWorkspace({ data: { user: r.gid } }, workspace));
	}
	console.log(`done: ${additions.length} added, ${removals.length} removed, ${openTasks} tasks reassigned`);
	return 0;
}

main(USAGE, run);
