'use strict';
// Runs the scripts in examples/ as child processes against a server that
// contains the small demo organization, with a full service account's token,
// and checks what they changed through the API and the database. The
// examples share one organization and run in file order.
//
// To add an example: put an entry in EXAMPLES (it joins the common checks
// on errors and bad input), then a describe() block that runs it with
// runExample() and checks the outcome.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFile, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, api, repoRoot } = require('./lib/server');
const { parseCsv } = require('../../examples/lib/kontor');

const EXAMPLE_TIMEOUT_MS = 60000;
const DAY_MS = 24 * 60 * 60 * 1000;
const DEMO_DOMAIN = 'exempel.se';

// Every example script, with arguments that make it do real work. The
// common tests run each with a bad token and with an unreachable server.
const EXAMPLES = [
	{ name: 'user-lifecycle', script: 'sync-users.js', args: () => ['--hr-file', files.hrFile, '--dry-run'] },
	{ name: 'team-membership', script: 'sync-teams.js', args: () => ['--mapping', files.mapping, '--dry-run'] },
	{ name: 'archive-inactive-projects', script: 'archive-projects.js', args: () => ['--dry-run'] },
	{ name: 'overdue-report', script: 'overdue-report.js', args: () => [] },
];

let server;
let admin; // api() of the demo's super admin
let bot; // api() of the full service account the examples run with
let botToken;
let botGid;
let tmpDir;
const files = {}; // input files written by the tests

// Runs SQL against the server's database and returns the rows as objects.
// Select gids with CAST(... AS TEXT): JSON numbers lose precision above 2^53.
function sql(query) {
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		const out = execFileSync('psql', [server.db, '-At', '-v', 'ON_ERROR_STOP=1', '-c',
			`SELECT COALESCE(json_agg(row_to_json(q)), '[]'::json) FROM (${query}) q`], { encoding: 'utf8' });
		return JSON.parse(out.trim() || '[]');
	}
	const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', server.db, query], { encoding: 'utf8' });
	return out.trim() ? JSON.parse(out) : [];
}

function sqlRun(statement) {
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		execFileSync('psql', [server.db, '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement]);
	} else {
		execFileSync('sqlite3', ['-cmd', '.timeout 5000', server.db, statement]);
	}
}

// Runs examples/<name>/<script> with node. Returns {code, stdout, stderr}.
// `env` adds to or overrides KONTOR_URL and KONTOR_TOKEN.
function runExample(name, script, args, env = {}) {
	const file = path.join(repoRoot, 'examples', name, script);
	const childEnv = { ...process.env, KONTOR_URL: server.url, KONTOR_TOKEN: botToken, TZ: 'UTC', ...env };
	for (const key of Object.keys(childEnv)) {
		if (childEnv[key] === undefined) {
			delete childEnv[key];
		}
	}
	return new Promise((resolve) => {
		execFile(process.execPath, [file, ...args], { env: childEnv, cwd: tmpDir, timeout: EXAMPLE_TIMEOUT_MS, maxBuffer: 64 << 20 },
			(err, stdout, stderr) => {
				let code = 0;
				if (err) {
					// A number is the exit status; a string such as ETIMEDOUT means the process did not exit by itself.
					code = typeof err.code === 'number' ? err.code : -1;
				}
				resolve({ code, stdout, stderr });
			});
	});
}

// Asserts exit status `code` and shows the output when it differs.
function assertExit(result, code) {
	assert.equal(result.code, code, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}

function writeFile(name, text) {
	const file = path.join(tmpDir, name);
	fs.writeFileSync(file, text);
	return file;
}

// Every item of a list endpoint, read with the service account's token.
async function listAll(requestPath, query = {}) {
	const items = [];
	let offset;
	do {
		const res = await bot.get(requestPath, { ...query, limit: 100, offset });
		assert.equal(res.status, 200, res.text);
		items.push(...res.body.data);
		offset = res.body.next_page ? res.body.next_page.offset : undefined;
	} while (offset);
	return items;
}

async function memberships() {
	const list = await listAll(`/workspaces/${server.orgGid}/workspace_memberships`, { opt_fields: 'user.email,user.name,is_active,role' });
	return new Map(list.map((m) => [m.user.email, m]));
}

function utcDate(ms) {
	return new Date(ms).toISOString().slice(0, 10);
}

before(async () => {
	server = await startServer({ demo: 'small', demoSeed: 4 });
	admin = api(server, server.adminToken);
	const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name: 'Examples bot', permissions: 'full' });
	assert.equal(res.status, 201, res.text);
	botToken = res.body.data.token;
	botGid = res.body.data.gid;
	bot = api(server, botToken);
	tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-examples-'));

	// Inputs that the common tests use; the describe blocks write their own.
	files.hrFile = writeFile('hr-common.csv', `email,name\nadmin@${DEMO_DOMAIN},Astrid Admin\n`);
	files.mapping = writeFile('teams-common.json', '{}');
});

after(async () => {
	if (tmpDir) {
		fs.rmSync(tmpDir, { recursive: true, force: true });
	}
	if (server) {
		await server.stop();
	}
});

describe('every example', () => {
	for (const example of EXAMPLES) {
		test(`${example.name} rejects a bad token`, async () => {
			const result = await runExample(example.name, example.script, example.args(), { KONTOR_TOKEN: 'kontor_sa_not_a_token' });
			assertExit(result, 1);
			assert.match(result.stderr, /HTTP 401/);
			assert.match(result.stderr, /error: GET \//);
		});

		test(`${example.name} reports an unreachable server`, async () => {
			const result = await runExample(example.name, example.script, example.args(), { KONTOR_URL: 'http://127.0.0.1:1' });
			assertExit(result, 1);
			assert.match(result.stderr, /ECONNREFUSED/);
		});

		test(`${example.name} requires KONTOR_TOKEN`, async () => {
			const result = await runExample(example.name, example.script, example.args(), { KONTOR_TOKEN: undefined });
			assertExit(result, 2);
			assert.match(result.stderr, /KONTOR_TOKEN/);
		});

		test(`${example.name} prints help`, async () => {
			const result = await runExample(example.name, example.script, ['--help']);
			assertExit(result, 0);
			assert.match(result.stdout, /^usage: /);
		});
	}
});

describe('user lifecycle from an HR file', () => {
	const departing = []; // [{gid, email, open: [task gid], done: [task gid]}]
	let successor;
	const joining = ['ny.anstalld@exempel.se', 'second.hire@exempel.se'];
	let hrFile;

	before(async () => {
		// Two members with open and completed tasks leave; a third takes over.
		const rows = sql(`SELECT CAST(u.gid AS TEXT) AS gid, u.email FROM users u
			JOIN workspace_memberships m ON m.user_gid = u.gid
			WHERE m.role = 'member' AND m.is_active = 1 AND u.email LIKE '%@${DEMO_DOMAIN}'
			AND EXISTS (SELECT 1 FROM tasks t WHERE t.assignee_gid = u.gid AND t.completed = 0)
			AND EXISTS (SELECT 1 FROM tasks t WHERE t.assignee_gid = u.gid AND t.completed = 1)
			ORDER BY u.gid LIMIT 3`);
		assert.equal(rows.length, 3, 'the demo has too few members with tasks');
		successor = rows[2];
		for (const row of rows.slice(0, 2)) {
			const tasks = sql(`SELECT CAST(gid AS TEXT) AS gid, completed FROM tasks WHERE assignee_gid = ${row.gid} ORDER BY gid`);
			departing.push({
				...row,
				open: tasks.filter((t) => Number(t.completed) === 0).map((t) => t.gid),
				done: tasks.filter((t) => Number(t.completed) === 1).map((t) => t.gid),
			});
		}

		// The file: everyone active at the demo's domain except the two, plus two new people.
		const members = await memberships();
		const lines = ['email,name,team'];
		for (const [email, m] of members) {
			if (m.is_active && m.role !== 'guest' && email.endsWith('@' + DEMO_DOMAIN) && !departing.some((d) => d.email === email)) {
				lines.push(`${email.toUpperCase()},"${m.user.name.replace(/"/g, '""')}",Ekonomi`);
			}
		}
		lines.push(`${joining[0]},"Anställd, Ny",HR`);
		lines.push(`${joining[1]},Second Hire,"Drift, Nord"`);
		hrFile = writeFile('hr.csv', '\ufeff' + lines.join('\r\n') + '\r\n');
	});

	test('sync-users needs a successor for open tasks', async () => {
		const result = await runExample('user-lifecycle', 'sync-users.js', ['--hr-file', hrFile]);
		assertExit(result, 1);
		assert.match(result.stderr, /incomplete tasks; name who takes them with --reassign-to/);
		assert.match(result.stderr, /nothing changed/);
		const members = await memberships();
		assert.equal(members.has(joining[0]), false);
		assert.equal(members.get(departing[0].email).is_active, true);
	});

	test('sync-users dry run prints the plan', async () => {
		const result = await runExample('user-lifecycle', 'sync-users.js', ['--hr-file', hrFile, '--dry-run', '--reassign-to', successor.email]);
		assertExit(result, 0);
		assert.match(result.stdout, new RegExp(`^would add ${joining[0]} \\(Anställd, Ny\\)$`, 'm'));
		for (const person of departing) {
			assert.match(result.stdout, new RegExp(`^would remove ${person.email} .*after reassigning ${person.open.length} incomplete tasks to ${successor.email}$`, 'm'));
		}
		assert.match(result.stdout, /^dry run: 2 to add, 2 to remove, \d+ tasks to reassign; nothing changed$/m);
		const members = await memberships();
		assert.equal(members.has(joining[0]), false);
		assert.equal(members.get(departing[1].email).is_active, true);
	});

	test('sync-users guards against a short file', async () => {
		const short = writeFile('hr-short.csv', `email,name\n${successor.email},Successor\n`);
		const result = await runExample('user-lifecycle', 'sync-users.js', ['--hr-file', short, '--reassign-to', successor.email]);
		assertExit(result, 1);
		assert.match(result.stderr, /more than --max-removals 10/);
		assert.equal((await memberships()).get(departing[0].email).is_active, true);
	});

	test('sync-users rejects a bad HR file', async () => {
		const cases = [
			[`email,name\na@${DEMO_DOMAIN},A\nA@${DEMO_DOMAIN},B\n`, /hr-bad.csv:3: a@exempel.se is listed twice \(first on line 2\)/],
			['email,name\nnot-an-address,A\n', /hr-bad.csv:2: "not-an-address" is not an e-mail address/],
			['mail,name\na@b.se,A\n', /the header has no email column/],
			['email,name\n"a@b.se,A\n', /a quoted field is not closed/],
		];
		for (const [text, message] of cases) {
			const result = await runExample('user-lifecycle', 'sync-users.js', ['--hr-file', writeFile('hr-bad.csv', text), '--dry-run']);
			assertExit(result, 1);
			assert.match(result.stderr, message);
		}
		const missing = await runExample('user-lifecycle', 'sync-users.js', ['--dry-run']);
		assertExit(missing, 2);
		assert.match(missing.stderr, /--hr-file is required/);
	});

	test('sync-users adds, reassigns and removes', async () => {
		const result = await runExample('user-lifecycle', 'sync-users.js', ['--hr-file', hrFile], { REASSIGN_TO: successor.email });
		assertExit(result, 0);
		const reassigned = departing.reduce((sum, d) => sum + d.open.length, 0);
		assert.match(result.stdout, new RegExp(`^done: 2 added, 2 removed, ${reassigned} tasks reassigned$`, 'm'));

		const members = await memberships();
		for (const email of joining) {
			assert.equal(members.get(email).is_active, true, `${email} was not added`);
		}
		for (const person of departing) {
			assert.equal(members.get(person.email).is_active, false, `${person.email} was not removed`);
			for (const gid of person.open) {
				const res = await bot.get(`/tasks/${gid}`, { opt_fields: 'assignee,completed' });
				assert.equal(res.body.data.assignee.gid, successor.gid, `open task ${gid} of ${person.email} was not reassigned`);
			}
			for (const gid of person.done) {
				const res = await bot.get(`/tasks/${gid}`, { opt_fields: 'assignee' });
				assert.equal(res.body.data.assignee.gid, person.gid, `completed task ${gid} of ${person.email} changed hands`);
			}
		}
	});

	test('sync-users rerun changes nothing', async () => {
		const result = await runExample('user-lifecycle', 'sync-users.js', ['--hr-file', hrFile, '--reassign-to', successor.email]);
		assertExit(result, 0);
		assert.match(result.stdout, /^done: 0 added, 0 removed, 0 tasks reassigned$/m);
	});
});

describe('team membership from a mapping file', () => {
	let teams; // name → gid
	let mapping; // name → [email]

	async function teamEmails(name) {
		return (await listAll(`/teams/${teams.get(name)}/users`, { opt_fields: 'email' })).map((u) => u.email).sort();
	}

	before(async () => {
		teams = new Map((await listAll(`/workspaces/${server.orgGid}/teams`)).map((t) => [t.name, t.gid]));
		for (const name of ['Ekonomi', 'Juridik', 'Design']) {
			assert.ok(teams.has(name), `the demo has no team ${name}: ${[...teams.keys()].join(', ')}`);
		}

		// Ekonomi loses two members and gains two; Juridik is set to three people.
		const members = await memberships();
		const active = [...members.values()].filter((m) => m.is_active && m.role === 'member').map((m) => m.user.email).sort();
		const ekonomi = await teamEmails('Ekonomi');
		const outsiders = active.filter((email) => !ekonomi.includes(email));
		mapping = {
			Ekonomi: [...ekonomi.slice(2), outsiders[0], outsiders[1].toUpperCase()],
			Juridik: active.slice(-3),
		};
		files.teams = writeFile('teams.json', JSON.stringify(mapping, null, 2));
	});

	test('sync-teams checks names and people first', async () => {
		const bad = writeFile('teams-bad.json', JSON.stringify({ Ekonomi: ['nobody@exempel.se'], Nonexistent: [] }));
		const before = await teamEmails('Ekonomi');
		const result = await runExample('team-membership', 'sync-teams.js', ['--mapping', bad]);
		assertExit(result, 1);
		assert.match(result.stderr, /no team is named "Nonexistent"/);
		assert.match(result.stderr, /nobody@exempel.se is not an active member/);
		assert.deepEqual(await teamEmails('Ekonomi'), before);

		for (const [text, message] of [['[1]', /expected a JSON object/], ['{"Ekonomi": "a@b.se"}', /must map to a list/], ['{', /invalid JSON/]]) {
			const other = await runExample('team-membership', 'sync-teams.js', ['--mapping', writeFile('teams-bad.json', text)]);
			assertExit(other, 1);
			assert.match(other.stderr, message);
		}
	});

	test('sync-teams dry run changes nothing', async () => {
		const before = await teamEmails('Ekonomi');
		const result = await runExample('team-membership', 'sync-teams.js', ['--mapping', files.teams, '--dry-run']);
		assertExit(result, 0);
		assert.match(result.stdout, new RegExp(`^would add ${mapping.Ekonomi[mapping.Ekonomi.length - 2]} to Ekonomi$`, 'm'));
		assert.match(result.stdout, new RegExp(`^would remove ${before[0]} from Ekonomi$`, 'm'));
		assert.match(result.stdout, /^dry run: \d+ to add, \d+ to remove in 2 teams; nothing changed$/m);
		assert.deepEqual(await teamEmails('Ekonomi'), before);
	});

	test('sync-teams makes teams match', async () => {
		const design = await teamEmails('Design');
		const result = await runExample('team-membership', 'sync-teams.js', ['--mapping', files.teams]);
		assertExit(result, 0);
		for (const [name, emails] of Object.entries(mapping)) {
			assert.deepEqual(await teamEmails(name), emails.map((e) => e.toLowerCase()).sort(), name);
		}
		assert.deepEqual(await teamEmails('Design'), design, 'a team outside the mapping changed');

		const again = await runExample('team-membership', 'sync-teams.js', ['--mapping', files.teams]);
		assertExit(again, 0);
		assert.match(again.stdout, /^done: 0 added, 0 removed in 2 teams$/m);
	});
});

describe('archive inactive projects', () => {
	const TITLE = 'Archived for inactivity';

	// Active projects untouched since the cutoff, whose tasks did not change either.
	// Subtasks at any depth count, whether or not they are in the project themselves.
	function idleProjects(days) {
		const cutoffUs = (Date.now() - days * DAY_MS) * 1000;
		return sql(`WITH RECURSIVE tree (project_gid, task_gid) AS (
				SELECT project_gid, task_gid FROM task_projects WHERE workspace_gid = ${server.orgGid}
				UNION SELECT tree.project_gid, t.gid FROM tree JOIN tasks t ON t.parent_gid = tree.task_gid)
			SELECT CAST(p.gid AS TEXT) AS gid FROM projects p
			WHERE p.workspace_gid = ${server.orgGid} AND p.archived = 0 AND p.modified_at < ${cutoffUs}
			AND NOT EXISTS (SELECT 1 FROM tree JOIN tasks t ON t.gid = tree.task_gid
				WHERE tree.project_gid = p.gid AND t.modified_at >= ${cutoffUs})
			ORDER BY p.gid`).map((r) => r.gid);
	}

	async function activeProjects() {
		return listAll(`/workspaces/${server.orgGid}/projects`, { archived: false, opt_fields: 'name,modified_at' });
	}

	test('archive-projects rejects bad --days', async () => {
		for (const days of ['0', '-3', 'ten', '1.5']) {
			const result = await runExample('archive-inactive-projects', 'archive-projects.js', [`--days=${days}`, '--dry-run']);
			assertExit(result, 2);
			assert.match(result.stderr, /--days: expected a whole number/);
		}
	});

	test('archive-projects archives idle projects with a status update', async () => {
		const idle = idleProjects(120);
		assert.ok(idle.length >= 5, `the demo has only ${idle.length} idle projects`);
		const before = await activeProjects();

		// An idle project whose task changed today stays active.
		const busy = idle[0];
		const tasks = await listAll(`/projects/${busy}/tasks`);
		assert.ok(tasks.length > 0, 'the idle project has no tasks');
		let res = await bot.put(`/tasks/${tasks[0].gid}`, { notes: 'Still needed.' });
		assert.equal(res.status, 200, res.text);

		// So does one whose only change is a new sub-subtask outside the project.
		const subtaskProject = idle[2];
		const parent = (await listAll(`/projects/${subtaskProject}/tasks`, { opt_fields: 'modified_at' }))[0];
		res = await bot.post(`/tasks/${parent.gid}/subtasks`, { name: 'Detail' });
		assert.equal(res.status, 201, res.text);
		res = await bot.post(`/tasks/${res.body.data.gid}/subtasks`, { name: 'Detail of the detail' });
		assert.equal(res.status, 201, res.text);
		// Adding a subtask may touch the parent, so give the parent and the middle subtask their old time back.
		const oldUs = Date.parse(parent.modified_at) * 1000;
		sqlRun(`UPDATE tasks SET modified_at = ${oldUs} WHERE gid = ${parent.gid} OR parent_gid = ${parent.gid}`);
		assert.ok(!idleProjects(120).includes(subtaskProject), 'the sub-subtask does not count as a change');
		const expected = idle.slice(1).filter((gid) => gid !== subtaskProject);

		// As if an earlier run stopped after posting its status update on idle[1].
		res = await bot.post('/status_updates', { parent: idle[1], title: TITLE, text: 'Archived earlier.', status_type: 'on_hold' });
		assert.equal(res.status, 201, res.text);

		const dry = await runExample('archive-inactive-projects', 'archive-projects.js', ['--dry-run']);
		assertExit(dry, 0);
		assert.equal((dry.stdout.match(/^would archive /gm) || []).length, expected.length, dry.stdout);
		assert.equal((await activeProjects()).length, before.length, 'the dry run archived projects');

		const result = await runExample('archive-inactive-projects', 'archive-projects.js', []);
		assertExit(result, 0);
		assert.match(result.stdout, new RegExp(`^done: ${expected.length} archived, ${before.length - expected.length} left active$`, 'm'));

		const activeAfter = new Set((await activeProjects()).map((p) => p.gid));
		for (const project of before) {
			assert.equal(activeAfter.has(project.gid), !expected.includes(project.gid), `project ${project.gid} (${project.name}, ${project.modified_at})`);
		}
		for (const gid of expected) {
			const updates = await listAll('/status_updates', { parent: gid, opt_fields: 'title,text,status_type,created_by' });
			const ours = updates.filter((u) => u.title === TITLE);
			assert.equal(ours.length, 1, `project ${gid} has ${ours.length} status updates by the script`);
			assert.equal(ours[0].created_by.gid, botGid);
			assert.equal(ours[0].status_type, 'on_hold');
			if (gid !== idle[1]) {
				assert.match(ours[0].text, /more than 120 days ago, so it was archived automatically/);
			}
		}
		assert.deepEqual(await listAll('/status_updates', { parent: busy }), []);
	});

	test('archive-projects rerun changes nothing', async () => {
		const before = (await activeProjects()).length;
		const result = await runExample('archive-inactive-projects', 'archive-projects.js', []);
		assertExit(result, 0);
		assert.match(result.stdout, new RegExp(`^done: 0 archived, ${before} left active$`, 'm'));
	});
});

describe('overdue report', () => {
	const today = utcDate(Date.now());
	const dayOffset = (days) => utcDate(Date.parse(today + 'T00:00:00Z') + days * DAY_MS);
	let project;
	let second;
	let assignee;
	const tasks = {};

	before(async () => {
		let res = await bot.post('/teams', { name: 'Rapportteam', organization: server.orgGid });
		assert.equal(res.status, 201, res.text);
		const team = res.body.data;
		res = await bot.post('/projects', { name: 'Bokslut, "Q4"', workspace: server.orgGid, team: team.gid });
		assert.equal(res.status, 201, res.text);
		project = res.body.data;
		res = await bot.post('/projects', { name: 'Revision', workspace: server.orgGid, team: team.gid });
		assert.equal(res.status, 201, res.text);
		second = res.body.data;
		assignee = (await listAll(`/workspaces/${server.orgGid}/users`, { opt_fields: 'name,email' })).find((u) => u.email.endsWith('@' + DEMO_DOMAIN) && u.email !== `admin@${DEMO_DOMAIN}`);

		const specs = {
			late3: { name: 'Stäm av "konto 1930", bank', due_on: dayOffset(-3), assignee: assignee.gid, projects: [project.gid, second.gid] },
			late10: { name: 'Boka revisor', due_on: dayOffset(-10), projects: [project.gid] },
			formula: { name: '=HYPERLINK("http://example.com")', due_on: dayOffset(-1), projects: [project.gid] },
			dueToday: { name: 'Due today', due_on: today, projects: [project.gid] },
			future: { name: 'Next week', due_on: dayOffset(7), projects: [project.gid] },
			noDate: { name: 'Someday', projects: [project.gid] },
			doneLate: { name: 'Done late', due_on: dayOffset(-5), projects: [project.gid], completed: true },
		};
		for (const [key, data] of Object.entries(specs)) {
			res = await bot.post('/tasks', data);
			assert.equal(res.status, 201, res.text);
			tasks[key] = res.body.data.gid;
		}
	});

	function overdueCount() {
		const rows = sql(`SELECT COUNT(*) AS n FROM tasks t JOIN task_projects tp ON tp.task_gid = t.gid
			JOIN projects p ON p.gid = tp.project_gid
			WHERE t.workspace_gid = ${server.orgGid} AND p.archived = 0 AND t.completed = 0 AND t.due_on < '${today}'`);
		return Number(rows[0].n);
	}

	test('overdue-report writes the CSV file', async () => {
		const output = path.join(tmpDir, 'overdue.csv');
		const result = await runExample('overdue-report', 'overdue-report.js', ['--output', output, '--today', today]);
		assertExit(result, 0);
		assert.equal(result.stdout, '');
		assert.deepEqual(fs.readdirSync(tmpDir).filter((f) => f.endsWith('.tmp')), [], 'a temporary file was left behind');

		const text = fs.readFileSync(output, 'utf8');
		const rows = parseCsv(text, output);
		assert.deepEqual(rows[0], ['team', 'project', 'task', 'assignee', 'due_on', 'days_overdue', 'assignee_email', 'task_gid']);
		const data = rows.slice(1);
		assert.equal(data.length, overdueCount(), 'row count differs from the database');
		assert.match(result.stderr, new RegExp(`^${data.length} overdue tasks in \\d+ projects written to `));

		const ours = data.filter((r) => r[0] === 'Rapportteam');
		assert.deepEqual(ours, [
			['Rapportteam', 'Bokslut, "Q4"', 'Boka revisor', '', dayOffset(-10), '10', '', tasks.late10],
			['Rapportteam', 'Bokslut, "Q4"', 'Stäm av "konto 1930", bank', assignee.name, dayOffset(-3), '3', assignee.email, tasks.late3],
			['Rapportteam', 'Bokslut, "Q4"', `'=HYPERLINK("http://example.com")`, '', dayOffset(-1), '1', '', tasks.formula],
			['Rapportteam', 'Revision', 'Stäm av "konto 1930", bank', assignee.name, dayOffset(-3), '3', assignee.email, tasks.late3],
		]);

		// Sorted by team, project, then the longest overdue first.
		for (let i = 1; i < data.length; i++) {
			const [a, b] = [data[i - 1], data[i]];
			const order = a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && Number(a[5]) >= Number(b[5]))));
			assert.ok(order, `rows ${i} and ${i + 1} are out of order: ${a} / ${b}`);
			assert.ok(Number(b[5]) > 0, `row ${i + 1} is not overdue: ${b}`);
		}
	});

	test('overdue-report prints to stdout by default', async () => {
		const result = await runExample('overdue-report', 'overdue-report.js', []);
		assertExit(result, 0);
		const rows = parseCsv(result.stdout, 'stdout');
		assert.equal(rows[0][0], 'team');
		assert.equal(rows.length - 1, overdueCount());
	});

	test('overdue-report works with a read-only token', async () => {
		const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name: 'Report bot', permissions: ['read'] });
		assert.equal(res.status, 201, res.text);
		const result = await runExample('overdue-report', 'overdue-report.js', ['--today', today], { KONTOR_TOKEN: res.body.data.token });
		assertExit(result, 0);
		assert.equal(parseCsv(result.stdout, 'stdout').length - 1, overdueCount());
	});

	test('overdue-report rejects a bad date', async () => {
		const result = await runExample('overdue-report', 'overdue-report.js', ['--today', '31/12/2026']);
		assertExit(result, 2);
		assert.match(result.stderr, /--today: expected a date/);
	});
});

describe('example input errors', () => {
	test('sync-teams rejects a repeated team', async () => {
		const mapping = writeFile('teams-repeated.json', '{"Juridik": ["a@example.test"], "Ekonomi": [], "Juridik": []}');
		const result = await runExample('team-membership', 'sync-teams.js', ['--mapping', mapping, '--dry-run']);
		assertExit(result, 1);
		assert.match(result.stderr, /team "Juridik" is listed twice/);
	});

	test('overdue-report rejects 2026-02-30', async () => {
		const result = await runExample('overdue-report', 'overdue-report.js', ['--today', '2026-02-30']);
		assertExit(result, 2);
		assert.match(result.stderr, /--today: expected a date/);
	});

	test('overdue-report output errors are clean', async () => {
		const directory = fs.mkdtempSync(path.join(tmpDir, 'out-'));
		const cases = [
			[directory, /cannot write .*: it is a directory/],
			[path.join(tmpDir, 'no-such-folder', 'x.csv'), /cannot write .*x\.csv: ENOENT/],
		];
		for (const [output, message] of cases) {
			const result = await runExample('overdue-report', 'overdue-report.js', ['--output', output]);
			assertExit(result, 1);
			assert.match(result.stderr, message);
			assert.doesNotMatch(result.stderr, /\n\s+at /, 'a stack trace was printed');
		}
		assert.deepEqual(fs.readdirSync(tmpDir).filter((f) => f.endsWith('.tmp')), [], 'a temporary file was left behind');
		assert.deepEqual(fs.readdirSync(directory), []);
	});
});
