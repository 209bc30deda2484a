'use strict';
// The audit log API, GET /workspaces/{workspace_gid}/audit_log_events: who
// may read it (scopes, plans, people, other organizations), every filter and
// its input checks, the response against Asana's spec, the streaming contract
// (next_page always present, a poll with the last offset returns only newer
// events), forged offsets, the events kontor records, and that the database
// rejects changes to audit rows.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const net = require('node:net');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');

let server;
let admin; // api() for the super admin's personal token
let path; // the audit log path of the test organization
const accounts = {}; // permission → {gid, token, tokenGid}
let member; // {gid, email, token}
let otherOrgGid;

function isPostgres() {
	return /^postgres(ql)?:\/\//.test(server.db);
}

// Runs one SQL statement against the server's database with the engine's own CLI and returns its rows
// as text, one line each with '|' between columns; throws when it fails.
function sqlRun(statement) {
	if (isPostgres()) {
		return execFileSync('psql', [server.db, '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', statement],
			{ encoding: 'utf8', stdio: 'pipe' });
	}
	return execFileSync('sqlite3', ['-bail', '-cmd', '.timeout 5000', server.db, statement],
		{ encoding: 'utf8', stdio: 'pipe' });
}

async function createAccount(name, permissions) {
	const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name, permissions });
	assert.equal(res.status, 201, res.text);
	return { gid: res.body.data.gid, token: res.body.data.token, tokenGid: res.body.data.token_gid,
		email: res.body.data.email };
}

// Reads every event after `offset` (all of them without one), following next_page. Returns {events, offset}.
async function readAll(client, query = {}, offset) {
	const events = [];
	let next = offset;
	for (let pages = 0; pages < 100; pages++) {
		const res = await client.get(path, { ...query, ...(next ? { offset: next } : {}) });
		assert.equal(res.status, 200, res.text);
		assert.ok(res.body.next_page, 'next_page is always present');
		assert.equal(typeof res.body.next_page.offset, 'string');
		next = res.body.next_page.offset;
		if (res.body.data.length === 0) {
			return { events, offset: next };
		}
		events.push(...res.body.data);
	}
	throw new Error('the stream did not end within 100 pages');
}

// Posts a console sign-in with a User-Agent of raw bytes over a plain socket, because Node's HTTP clients
// encode header text themselves. Resolves to the response status.
function signInRaw(email, password, userAgentBytes) {
	const body = Buffer.from(JSON.stringify({ email, password }));
	const { port } = new URL(server.url);
	const head = Buffer.from(`POST /admin/session HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
		`Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\nUser-Agent: `, 'latin1');
	return new Promise((resolve, reject) => {
		const chunks = [];
		const socket = net.connect(Number(port), '127.0.0.1', () => {
			socket.end(Buffer.concat([head, userAgentBytes, Buffer.from('\r\n\r\n'), body]));
		});
		socket.on('data', (chunk) => chunks.push(chunk));
		socket.on('error', reject);
		socket.on('close', () => {
			const match = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
			if (match) {
				resolve(Number(match[1]));
			} else {
				reject(new Error('no HTTP status line in the response'));
			}
		});
	});
}

before(async () => {
	server = await startServer({ org: 'Audit Org', plan: 'enterprise_plus' });
	admin = api(server, server.adminToken);
	path = `/workspaces/${server.orgGid}/audit_log_events`;
	member = await server.addUser({ email: 'member@audit.test', name: 'Mia Member', role: 'member' });

	accounts.full = await createAccount('Full bot', 'full');
	accounts.audit_logs = await createAccount('Audit bot', ['audit_logs']);
	accounts.read = await createAccount('Read bot', ['read']);
	accounts.scim = await createAccount('SCIM bot', ['scim']);

	otherOrgGid = await server.cli(['init', '--db', server.db, '--org', 'Other Org', '--plan', 'enterprise_plus',
		'--admin-email', 'boss@other.test'], { KONTOR_ADMIN_PASSWORD: 'other-org-password-1' });
});

after(async () => {
	await server?.stop();
});

test('permission matrix by caller', async () => {
	const cases = [
		['person super admin', server.adminToken, 403, /service account with the `audit_logs` or `full`/],
		['person member', member.token, 403, /service account/],
		['service account full', accounts.full.token, 200, null],
		['service account audit_logs', accounts.audit_logs.token, 200, null],
		['service account read', accounts.read.token, 403, /lacks the scope `audit_logs`/],
		['service account scim', accounts.scim.token, 403, /lacks the scope `audit_logs`/],
	];
	for (const [who, token, status, message] of cases) {
		const res = await api(server, token).get(path);
		assert.equal(res.status, status, `${who}: ${res.text}`);
		if (message) {
			assert.match(res.body.errors[0].message, message, who);
		}
	}
	const anonymous = await api(server, null).get(path);
	assert.equal(anonymous.status, 401);
});

test('permission matrix by plan', async () => {
	const client = api(server, accounts.audit_logs.token);
	const plans = [['enterprise', 402], ['legacy_enterprise', 200], ['enterprise_plus', 200]];
	for (const [plan, status] of plans) {
		await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', plan]);
		const res = await client.get(path, { limit: 1 });
		assert.equal(res.status, status, `${plan}: ${res.text}`);
		if (status === 402) {
			assert.match(res.body.errors[0].message, /enterprise_plus or legacy_enterprise; this organization is on enterprise\./);
		}
	}
});

test('other organization is 404', async () => {
	const res = await api(server, accounts.full.token).get(`/workspaces/${otherOrgGid}/audit_log_events`);
	assert.equal(res.status, 404, res.text);
	const bad = await api(server, accounts.full.token).get('/workspaces/not-a-gid/audit_log_events');
	assert.equal(bad.status, 400, bad.text);
});

test('response matches the spec', async () => {
	const res = await api(server, accounts.audit_logs.token).get(path, { limit: 5 });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.length, 5);
	assertMatchesSpec('GET', path, res);

	const created = (await readAll(api(server, accounts.full.token), { event_type: 'service_account_created' })).events;
	const event = created.find((e) => e.resource.gid === accounts.audit_logs.gid);
	assert.ok(event, 'service_account_created for the audit bot');
	assert.equal(event.event_category, 'access_control');
	assert.equal(event.actor.actor_type, 'user');
	assert.equal(event.actor.email, server.adminEmail);
	assert.equal(event.resource.resource_type, 'user');
	assert.equal(event.resource.resource_subtype, 'service_account');
	assert.equal(event.resource.name, 'Audit bot');
	assert.equal(event.context.context_type, 'api');
	assert.equal(event.context.api_authentication_method, 'personal_access_token');
	assert.equal(event.context.client_ip_address, '127.0.0.1');
	assert.equal(typeof event.context.user_agent, 'string');
	assert.match(event.context.token_gid, /^\d+$/);
	assert.match(event.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
	assert.deepEqual(event.details, { permissions: ['audit_logs'] });
});

test('filters select events', async () => {
	const client = api(server, accounts.full.token);
	const all = (await readAll(client)).events;
	assert.ok(all.length >= 8, `expected the setup's events, got ${all.length}`);

	const byType = (await readAll(client, { event_type: 'service_account_created' })).events;
	assert.equal(byType.length, 4);
	assert.ok(byType.every((e) => e.event_type === 'service_account_created'));

	// `token create` on the command line is written by the external administrator.
	const external = (await readAll(client, { actor_type: 'external_administrator' })).events;
	assert.ok(external.length >= 1);
	assert.ok(external.every((e) => e.actor.actor_type === 'external_administrator'));
	assert.ok(external.some((e) => e.event_type === 'personal_access_token_created' && e.resource.gid === member.gid));

	const adminGid = all.find((e) => e.event_type === 'service_account_created').actor.gid;
	const byActor = (await readAll(client, { actor_gid: adminGid })).events;
	assert.ok(byActor.length >= 4);
	assert.ok(byActor.every((e) => e.actor.gid === adminGid));

	const byResource = (await readAll(client, { resource_gid: accounts.scim.gid })).events;
	assert.deepEqual(byResource.map((e) => e.event_type), ['service_account_created', 'service_account_token_created']);

	const tokenGid = byActor[0].context.token_gid;
	const byToken = (await readAll(client, { token_gid: tokenGid })).events;
	assert.ok(byToken.length >= 4);
	assert.ok(byToken.every((e) => e.context.token_gid === tokenGid));

	// start_at is inclusive and end_at exclusive.
	const pivot = all[Math.floor(all.length / 2)].created_at;
	const from = (await readAll(client, { start_at: pivot })).events;
	const until = (await readAll(client, { end_at: pivot })).events;
	assert.ok(from.every((e) => e.created_at >= pivot));
	assert.ok(until.every((e) => e.created_at < pivot));
	assert.equal(from.length + until.length, all.length);

	const combined = (await readAll(client, { event_type: 'service_account_created', resource_gid: accounts.read.gid })).events;
	assert.equal(combined.length, 1);

	const limited = await client.get(path, { limit: 2 });
	assert.equal(limited.body.data.length, 2);
	assert.deepEqual(limited.body.data.map((e) => e.gid), all.slice(0, 2).map((e) => e.gid));
});

test('invalid filters name the parameter', async () => {
	const client = api(server, accounts.full.token);
	const cases = [
		[{ start_at: 'yesterday' }, /^start_at: /],
		[{ end_at: '2024-13-01T00:00:00Z' }, /^end_at: /],
		[{ start_at: '2024-05-02T00:00:00Z', end_at: '2024-05-01T00:00:00Z' }, /^end_at: must be later than start_at/],
		[{ event_type: 'DROP TABLE' }, /^event_type: /],
		[{ event_type: 'x'.repeat(101) }, /^event_type: /],
		[{ actor_type: 'robot' }, /^actor_type: .*external_administrator/],
		[{ actor_gid: 'abc' }, /^actor_gid: /],
		[{ resource_gid: '-5' }, /^resource_gid: /],
		[{ token_gid: '0' }, /^token_gid: /],
		[{ limit: '0' }, /^limit: /],
		[{ limit: '101' }, /^limit: /],
		[{ limit: '+5' }, /^limit: /],
		[{ limit: ' 5' }, /^limit: /],
		[{ limit: '-0' }, /^limit: /],
		[{ offset: 'garbage' }, /^offset: /],
	];
	for (const [query, message] of cases) {
		const res = await client.get(path, query);
		assert.equal(res.status, 400, `${JSON.stringify(query)}: ${res.text}`);
		assert.match(res.body.errors[0].message, message, JSON.stringify(query));
	}
});

test('forged offset is rejected', async () => {
	const client = api(server, accounts.full.token);
	const res = await client.get(path, { limit: 1 });
	const offset = res.body.next_page.offset;
	const flipped = offset.slice(0, 20) + (offset[20] === 'A' ? 'B' : 'A') + offset.slice(21);
	const forged = await client.get(path, { offset: flipped });
	assert.equal(forged.status, 400, forged.text);
	assert.match(forged.body.errors[0].message, /^offset: invalid offset/);

	// An offset of another endpoint does not fit this one.
	const users = await admin.get('/users', { workspace: server.orgGid, limit: 1 });
	assert.ok(users.body.next_page, users.text);
	const foreign = await client.get(path, { offset: users.body.next_page.offset });
	assert.equal(foreign.status, 400, foreign.text);
});

test('streaming returns only new events', async () => {
	const client = api(server, accounts.audit_logs.token);
	const first = await readAll(client, { limit: 3 });
	assert.ok(first.events.length > 0);

	// Caught up: an empty page that still carries next_page.
	let res = await client.get(path, { limit: 3, offset: first.offset });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data, []);
	assert.ok(res.body.next_page.offset);
	assert.match(res.body.next_page.path, /\/audit_log_events\?limit=3&offset=/);

	// New events: a team membership, a project's members, its deletion, a workspace invitation and removal.
	let r = await admin.post('/teams', { name: 'Auditors', organization: server.orgGid });
	assert.equal(r.status, 201, r.text);
	const teamGid = r.body.data.gid;
	r = await admin.post(`/teams/${teamGid}/addUser`, { user: member.gid });
	assert.equal(r.status, 200, r.text);
	r = await admin.post(`/teams/${teamGid}/addUser`, { user: member.gid }); // no change, no record
	assert.equal(r.status, 200, r.text);
	r = await admin.post(`/teams/${teamGid}/removeUser`, { user: member.gid });
	assert.equal(r.status, 200, r.text);
	r = await admin.post('/projects', { name: 'Secret plans', team: teamGid });
	assert.equal(r.status, 201, r.text);
	const projectGid = r.body.data.gid;
	r = await admin.post(`/projects/${projectGid}/addMembers`, { members: [member.gid] });
	assert.equal(r.status, 200, r.text);
	r = await admin.post(`/projects/${projectGid}/removeMembers`, { members: [member.gid] });
	assert.equal(r.status, 200, r.text);
	r = await admin.del(`/projects/${projectGid}`);
	assert.equal(r.status, 200, r.text);
	r = await admin.post(`/workspaces/${server.orgGid}/addUser`, { user: 'newcomer@audit.test' });
	assert.equal(r.status, 200, r.text);
	const newcomerGid = r.body.data.gid;
	r = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: newcomerGid });
	assert.equal(r.status, 200, r.text);
	r = await admin.post(`/workspaces/${server.orgGid}/addUser`, { user: newcomerGid });
	assert.equal(r.status, 200, r.text);

	const second = await readAll(client, { limit: 3 }, first.offset);
	assert.deepEqual(second.events.map((e) => e.event_type), [
		'user_added_to_team', // the creator
		'user_added_to_team',
		'user_removed_from_team',
		'user_added_to_project', // the creator
		'user_added_to_project',
		'user_removed_from_project',
		'project_deleted',
		'user_invited',
		'user_deprovisioned',
		'user_reprovisioned',
	]);
	const [teamCreator, teamAdd, , projectCreator, projectAdd, , deleted, invited] = second.events;
	const adminGid = teamCreator.actor.gid;
	assert.equal(teamCreator.resource.gid, adminGid);
	assert.equal(teamCreator.resource.email, server.adminEmail);
	assert.deepEqual(teamCreator.details.team, { gid: teamGid, name: 'Auditors' });
	assert.equal(projectCreator.resource.gid, adminGid);
	assert.deepEqual(projectCreator.details.project, { gid: projectGid, name: 'Secret plans' });
	assert.equal(teamAdd.resource.gid, member.gid);
	assert.equal(teamAdd.resource.email, member.email);
	assert.deepEqual(teamAdd.details.team, { gid: teamGid, name: 'Auditors' });
	assert.deepEqual(projectAdd.details.project, { gid: projectGid, name: 'Secret plans' });
	assert.equal(deleted.event_category, 'deletion');
	assert.equal(deleted.resource.resource_type, 'project');
	assert.equal(deleted.resource.name, 'Secret plans');
	assert.equal(invited.resource.email, 'newcomer@audit.test');
	const seen = new Set(first.events.map((e) => e.gid));
	assert.ok(second.events.every((e) => !seen.has(e.gid)), 'no event is returned twice');

	// A filtered stream moves past rows it skipped, and still sees later matches.
	const filtered = await readAll(client, { event_type: 'project_deleted' });
	assert.equal(filtered.events[0].resource.gid, projectGid);
	assert.equal(filtered.events.length, 1);
	r = await admin.post('/projects', { name: 'Short-lived', team: teamGid });
	const shortLived = r.body.data.gid;
	assert.equal((await admin.del(`/projects/${shortLived}`)).status, 200);
	const later = await readAll(client, { event_type: 'project_deleted' }, filtered.offset);
	assert.deepEqual(later.events.map((e) => e.resource.gid), [shortLived]);
});

test('sign-ins are recorded', async () => {
	const client = api(server, accounts.full.token);
	const start = (await readAll(client)).offset;
	const wrong = await fetch(`${server.url}/admin/session`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', 'user-agent': 'audit-test/1.0' },
		body: JSON.stringify({ email: server.adminEmail, password: 'not the password' }),
	});
	assert.equal(wrong.status, 401);
	const right = await fetch(`${server.url}/admin/session`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', 'user-agent': 'audit-test/1.0' },
		body: JSON.stringify({ email: server.adminEmail, password: server.adminPassword }),
	});
	assert.equal(right.status, 200);

	const events = (await readAll(client, {}, start)).events;
	assert.deepEqual(events.map((e) => e.event_type), ['user_login_failed', 'user_login_succeeded']);
	assert.equal(events[0].actor.actor_type, 'anonymous');
	assert.equal(events[1].actor.email, server.adminEmail);
	assert.equal(events[1].resource.email, server.adminEmail);
	for (const event of events) {
		assert.equal(event.event_category, 'logins');
		assert.equal(event.context.context_type, 'web');
		assert.equal(event.context.api_authentication_method, undefined);
		assert.equal(event.context.user_agent, 'audit-test/1.0');
	}
	const byType = (await readAll(client, { event_type: 'user_login_failed', actor_type: 'anonymous' })).events;
	assert.ok(byType.length >= 1);
});

test('audit rows are append-only in the database', async () => {
	const res = await api(server, accounts.full.token).get(path, { limit: 1 });
	const gid = res.body.data[0].gid;
	assert.throws(() => sqlRun(`UPDATE audit_log SET event_type = 'nothing_happened' WHERE gid = ${gid}`),
		/append-only: UPDATE is not allowed/);
	assert.throws(() => sqlRun(`DELETE FROM audit_log WHERE gid = ${gid}`), /append-only: DELETE is not allowed/);
	if (isPostgres()) {
		assert.throws(() => sqlRun('TRUNCATE audit_log'), /append-only: TRUNCATE is not allowed/);
	}
	const again = await api(server, accounts.full.token).get(path, { limit: 1 });
	assert.deepEqual(again.body.data[0], res.body.data[0]);
});

test('replace cannot overwrite audit rows', async (t) => {
	if (isPostgres()) {
		t.skip('REPLACE is SQLite syntax');
		return;
	}
	const client = api(server, accounts.full.token);
	const res = await client.get(path, { limit: 1 });
	const original = res.body.data[0];
	const deleted = (await readAll(client, { event_type: 'project_deleted' })).events;
	assert.ok(deleted.length >= 1, 'the streaming test deleted a project');
	const columns = 'gid, workspace_gid, created_at, event_type, event_category, actor_type, actor_gid, actor_name,' +
		' actor_email, resource_type, resource_subtype, resource_gid, resource_name, details, auth_method, client_ip,' +
		' user_agent, token_gid, seq, resource_email';
	const rewrite = columns.replace('event_type,', "'user_login_succeeded',").replace('details,', "'{}',");

	// Same gid: REPLACE would delete the row without firing the DELETE trigger.
	assert.throws(() => sqlRun(`INSERT OR REPLACE INTO audit_log SELECT ${rewrite} FROM audit_log WHERE gid = ${original.gid}`),
		/append-only: a record with this gid or seq exists/);
	assert.throws(() => sqlRun(`REPLACE INTO audit_log SELECT ${rewrite} FROM audit_log WHERE gid = ${original.gid}`),
		/append-only: a record with this gid or seq exists/);
	// New gid, same (workspace_gid, seq): REPLACE would remove the record through the unique seq index.
	assert.throws(() => sqlRun('REPLACE INTO audit_log (gid, workspace_gid, created_at, event_type, event_category,' +
		" actor_type, seq) SELECT 1, workspace_gid, created_at, 'placeholder', 'x', 'user', seq FROM audit_log" +
		` WHERE gid = ${deleted[0].gid}`), /append-only: a record with this gid or seq exists/);

	const again = await client.get(path, { limit: 1 });
	assert.deepEqual(again.body.data[0], original);
	const stillDeleted = (await readAll(client, { event_type: 'project_deleted' })).events;
	assert.deepEqual(stillDeleted, deleted);
	assert.equal(sqlRun('SELECT count(*) FROM audit_log WHERE gid = 1').trim(), '0');
});

test('replication role keeps triggers', async (t) => {
	if (!isPostgres()) {
		t.skip('session_replication_role is PostgreSQL only');
		return;
	}
	const res = await api(server, accounts.full.token).get(path, { limit: 1 });
	const gid = res.body.data[0].gid;
	// A superuser may skip ordinary triggers this way; the audit triggers fire in every role.
	assert.throws(() => sqlRun(`SET session_replication_role = replica; DELETE FROM audit_log WHERE gid = ${gid}`),
		/append-only: DELETE is not allowed/);
	assert.throws(() => sqlRun(`SET session_replication_role = replica; UPDATE audit_log SET event_type = 'x' WHERE gid = ${gid}`),
		/append-only: UPDATE is not allowed/);
	assert.throws(() => sqlRun('SET session_replication_role = replica; TRUNCATE audit_log'),
		/append-only: TRUNCATE is not allowed/);
	const again = await api(server, accounts.full.token).get(path, { limit: 1 });
	assert.deepEqual(again.body.data[0], res.body.data[0]);
});

test('creators and owners are members on record', async () => {
	const client = api(server, accounts.audit_logs.token);
	const start = (await readAll(client)).offset;
	const bot = api(server, accounts.full.token);
	let r = await bot.post('/teams', { name: 'Bot team', organization: server.orgGid });
	assert.equal(r.status, 201, r.text);
	const teamGid = r.body.data.gid;
	// The owner is also a follower: one membership, one record.
	r = await bot.post('/projects', { name: 'Bot project', team: teamGid, owner: member.gid, followers: `${member.gid}` });
	assert.equal(r.status, 201, r.text);
	const projectGid = r.body.data.gid;
	r = await bot.put(`/projects/${projectGid}`, { owner: server.adminEmail });
	assert.equal(r.status, 200, r.text);
	r = await bot.put(`/projects/${projectGid}`, { owner: member.gid }); // already a member
	assert.equal(r.status, 200, r.text);

	const events = (await readAll(client, {}, start)).events;
	assert.deepEqual(events.map((e) => [e.event_type, e.resource.gid]), [
		['user_added_to_team', accounts.full.gid],
		['user_added_to_project', accounts.full.gid],
		['user_added_to_project', member.gid],
		['user_added_to_project', events[3]?.resource.gid],
	]);
	const [team, project, owner, newOwner] = events;
	assert.equal(team.resource.resource_type, 'user');
	assert.equal(team.resource.resource_subtype, 'service_account');
	assert.equal(team.resource.name, 'Full bot');
	assert.deepEqual(team.details.team, { gid: teamGid, name: 'Bot team' });
	assert.equal(project.resource.resource_subtype, 'service_account');
	assert.deepEqual(project.details.project, { gid: projectGid, name: 'Bot project' });
	assert.equal(owner.resource.resource_subtype, undefined);
	assert.equal(owner.resource.name, 'Mia Member');
	assert.equal(owner.actor.gid, accounts.full.gid);
	assert.equal(newOwner.resource.email, server.adminEmail);
	assert.equal(newOwner.actor.gid, accounts.full.gid);
});

test('command line records name people', async () => {
	const client = api(server, accounts.full.token);
	const start = (await readAll(client)).offset;
	const boss = await server.addUser({ email: 'Boss@Audit.test', name: 'Bo Boss', role: 'super_admin' });
	await server.cli(['user', 'set-password', '--db', server.db, '--email', boss.email],
		{ KONTOR_PASSWORD: 'a long enough password' });

	const events = (await readAll(client, {}, start)).events;
	assert.deepEqual(events.map((e) => e.event_type),
		['user_invited', 'personal_access_token_created', 'user_password_changed']);
	for (const event of events) {
		assert.equal(event.actor.actor_type, 'external_administrator');
		assert.equal(event.resource.resource_type, 'user');
		assert.equal(event.resource.gid, boss.gid);
		assert.equal(event.resource.name, 'Bo Boss');
		assert.equal(event.resource.email, 'Boss@Audit.test');
		assert.equal(event.context.context_type, 'asana');
		assert.equal(event.context.api_authentication_method, undefined);
	}
	assert.equal(events[0].event_category, 'user_access');
	assert.deepEqual(events[0].details, { role: 'super_admin' });

	// init records the first super admin of the organization it makes.
	const initRecord = sqlRun(`SELECT event_type || ' ' || resource_email || ' ' || details FROM audit_log
		WHERE workspace_gid = ${otherOrgGid}`).trim();
	assert.equal(initRecord, 'user_invited boss@other.test {"role":"super_admin"}');
});

test('organization settings are recorded', async () => {
	const client = api(server, accounts.full.token);
	const start = (await readAll(client)).offset;
	const workspace = await admin.get(`/workspaces/${server.orgGid}`, { opt_fields: 'email_domains' });
	assert.deepEqual(workspace.body.data.email_domains, ['example.test'], 'init takes the admin\'s domain');

	const same = await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'enterprise_plus']);
	assert.match(same, /already on plan enterprise_plus/);
	await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'legacy_enterprise']);
	await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'enterprise_plus']);
	await server.cli(['org', 'set-email-domains', '--db', server.db, '--org', server.orgGid],
		{ KONTOR_EMAIL_DOMAINS: 'Example.test, audit.test,example.test' });
	await server.cli(['org', 'set-email-domains', '--db', server.db, '--org', server.orgGid,
		'--domains', ' example.test ,AUDIT.test']); // the same list, so no record
	await assert.rejects(server.cli(['org', 'set-email-domains', '--db', server.db, '--org', server.orgGid,
		'--domains', 'not a domain']), /--domains: "not a domain" is not a domain name/);

	const events = (await readAll(client, {}, start)).events;
	assert.deepEqual(events.map((e) => e.event_type),
		['workspace_plan_changed', 'workspace_plan_changed', 'workspace_email_domains_changed']);
	for (const event of events) {
		assert.equal(event.event_category, 'admin_settings');
		assert.deepEqual(event.resource, { resource_type: 'workspace', gid: server.orgGid, name: 'Audit Org' });
	}
	assert.deepEqual(events[0].details, { old_plan: 'enterprise_plus', new_plan: 'legacy_enterprise' });
	assert.deepEqual(events[2].details,
		{ old_email_domains: ['example.test'], new_email_domains: ['example.test', 'audit.test'] });
	const after = await admin.get(`/workspaces/${server.orgGid}`, { opt_fields: 'email_domains' });
	assert.deepEqual(after.body.data.email_domains, ['example.test', 'audit.test']);
	const put = await admin.put(`/workspaces/${server.orgGid}`, { email_domains: ['x.test'] });
	assert.equal(put.status, 400, 'email_domains stays read-only in the API');

	// An unknown address of a listed domain now reaches this organization's log.
	const status = await signInRaw('ghost@AUDIT.test', 'not the password', Buffer.from('audit-test/1.0'));
	assert.equal(status, 401);
	const all = (await readAll(client, { event_type: 'user_login_failed' })).events;
	const ghost = all.find((e) => e.details.email === 'ghost@AUDIT.test');
	assert.ok(ghost, JSON.stringify(all));
	assert.equal(ghost.details.reason, 'unknown_email');
	assert.equal(ghost.actor.actor_type, 'anonymous');
});

test('sign-in refusal names a user', async () => {
	const client = api(server, accounts.full.token);
	const start = (await readAll(client)).offset;
	const status = await signInRaw(accounts.scim.email, 'any password at all', Buffer.from('audit-test/1.0'));
	assert.equal(status, 401);
	const [event] = (await readAll(client, {}, start)).events;
	assert.equal(event.event_type, 'service_account_login_refused');
	assert.equal(event.resource.resource_type, 'user');
	assert.equal(event.resource.resource_subtype, 'service_account');
	assert.equal(event.resource.gid, accounts.scim.gid);
	assert.equal(event.resource.name, 'SCIM bot');
	assert.equal(event.context.context_type, 'web');
	assert.equal(event.context.api_authentication_method, undefined);
});

test('user agent is capped and valid', async () => {
	const client = api(server, accounts.full.token);
	const start = (await readAll(client)).offset;
	// 601 bytes: one ASCII letter and 300 two-byte characters; the cut keeps 255 of them (511 bytes).
	const long = Buffer.from('a' + 'é'.repeat(300), 'utf8');
	// 0xff and a lone continuation byte are not UTF-8; PostgreSQL would reject them in a text column.
	const invalid = Buffer.concat([Buffer.from('bad'), Buffer.from([0xff, 0x80]), Buffer.from('bytes')]);
	const huge = Buffer.from('x'.repeat(9000));
	assert.equal(await signInRaw(server.adminEmail, server.adminPassword, long), 200);
	assert.equal(await signInRaw(server.adminEmail, 'wrong password', invalid), 401);
	assert.equal(await signInRaw(server.adminEmail, 'wrong password', huge), 401);

	const events = (await readAll(client, {}, start)).events;
	assert.deepEqual(events.map((e) => e.event_type), ['user_login_succeeded', 'user_login_failed', 'user_login_failed']);
	assert.equal(events[0].context.user_agent, 'a' + 'é'.repeat(255));
	assert.equal(events[1].context.user_agent, 'bad??bytes');
	assert.equal(events[2].context.user_agent, 'x'.repeat(512));
	const session = sqlRun(`SELECT user_agent FROM sessions WHERE user_gid = ${events[0].resource.gid} ORDER BY created_at DESC LIMIT 1`);
	assert.equal(session.trim(), 'a' + 'é'.repeat(255));
});
