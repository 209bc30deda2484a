'use strict';
// Guarantees that the read path's speed-ups must keep. Request headers of
// several KiB and long opt_fields are accepted, and larger headers get 431
// without harming the server. A revoked token fails on the next request,
// although a request's reads share one snapshot, and a read still records
// the token's last use. The JSON writer escapes strings as JSON requires.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const { startServer, api } = require('./lib/server');

let server;
let admin;

function isPostgres() {
	return /^postgres(ql)?:\/\//.test(server.db);
}

// Runs SQL against the server's database and returns the rows as objects.
function sql(query) {
	if (isPostgres()) {
		const out = execFileSync('psql', [server.db, '-At', '-v', 'ON_ERROR_STOP=1', '-c',
			`SELECT COALESCE(json_agg(row_to_json(q)), '[]'::json) FROM (${query}) q`], { encoding: 'utf8' });
		return JSON.parse(out.trim() || '[]');
	}
	const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', server.db, query], { encoding: 'utf8' });
	return out.trim() ? JSON.parse(out) : [];
}

function sqlRun(statement) {
	if (isPostgres()) {
		execFileSync('psql', [server.db, '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement]);
	} else {
		execFileSync('sqlite3', ['-cmd', '.timeout 5000', server.db, statement]);
	}
}

before(async () => {
	server = await startServer();
	admin = api(server, server.adminToken);
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('8 KiB of request headers is served', async () => {
	const res = await admin.raw('GET', '/users/me', { headers: { 'x-padding': 'a'.repeat(8192) } });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.email, server.adminEmail);
});

test('long opt_fields beside a large header is served', async () => {
	const fields = [];
	for (let i = 0; fields.length < 100; i++) {
		fields.push(i % 2 ? 'workspaces.resource_type' : 'workspaces.name');
	}
	const query = '?opt_fields=' + fields.join(',');
	assert.ok(query.length > 2000, `opt_fields is only ${query.length} characters`);

	const res = await admin.raw('GET', '/users/me' + query, { headers: { 'x-padding': 'b'.repeat(6000) } });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(Object.keys(res.body.data).sort(), ['gid', 'resource_type', 'workspaces']);
	assert.equal(typeof res.body.data.workspaces[0].name, 'string');
});

test('oversized headers get 431, then serving goes on', async () => {
	const res = await fetch(server.base + '/users/me', {
		headers: { authorization: `Bearer ${server.adminToken}`, 'x-padding': 'c'.repeat(64 * 1024) },
	});
	await res.arrayBuffer();
	assert.equal(res.status, 431);

	const next = await admin.get('/users/me');
	assert.equal(next.status, 200, next.text);
});

test('revoked token fails on the next request', async () => {
	const user = await server.addUser({ email: 'revoked@example.test', name: 'Revoked Reader' });
	const client = api(server, user.token);
	const first = await client.get('/users/me');
	assert.equal(first.status, 200, first.text);

	sqlRun(`UPDATE tokens SET revoked_at = ${Date.now() * 1000} WHERE user_gid = ${user.gid}`);
	const next = await client.get('/users/me');
	assert.equal(next.status, 401, next.text);
});

test('read records the token last use', async () => {
	const user = await server.addUser({ email: 'reader@example.test', name: 'Last Use' });
	const unused = sql(`SELECT last_used_at FROM tokens WHERE user_gid = ${user.gid}`);
	assert.equal(unused.length, 1);
	assert.equal(unused[0].last_used_at, null);

	const res = await api(server, user.token).get(`/workspaces/${server.orgGid}`);
	assert.equal(res.status, 200, res.text);
	const rows = sql(`SELECT last_used_at, last_used_ip FROM tokens WHERE user_gid = ${user.gid}`);
	assert.ok(rows[0].last_used_at > 0, `last_used_at is ${rows[0].last_used_at}`);
	assert.equal(rows[0].last_used_ip, '127.0.0.1');
});

test('strings needing escapes round-trip', async () => {
	const name = 'Quote " backslash \\ slash / ö ✓ 😀';
	const notes = 'Tab\there\nnew line, carriage\rreturn, "quoted" \\ and \u2028 separator';
	const created = await admin.post('/tasks', { workspace: server.orgGid, name, notes });
	assert.equal(created.status, 201, created.text);

	const res = await admin.get(`/tasks/${created.body.data.gid}`);
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.name, name);
	assert.equal(res.body.data.notes, notes);
	assert.ok(res.text.includes('"Quote \\" backslash \\\\ slash / ö ✓ 😀"'), res.text);
	assert.ok(res.text.includes('Tab\\there\\nnew line, carriage\\rreturn'), res.text);
	assert.ok(!res.text.includes('\n'), 'compact output contains a raw newline');

	const pretty = await admin.get(`/tasks/${created.body.data.gid}`, { opt_pretty: true });
	assert.equal(pretty.status, 200, pretty.text);
	assert.ok(pretty.text.includes('\n  "data": {'), pretty.text.slice(0, 200));
	assert.deepEqual(pretty.body, res.body);
});

// GET /tasks/{gid} without opt_fields or opt_pretty is written straight from
// the rows; with opt_pretty it goes through the jansson tree. Both must give
// the same members in the same order, for a reader who sees everything and
// for one who sees the subtask but not its parent.
test('the direct task writer matches the tree', async () => {
	const mia = await server.addUser({ email: 'mia.writer@example.test', name: 'Mia "Writer" Ö' });
	const miaClient = api(server, mia.token);
	const bob = await server.addUser({ email: 'bob.writer@example.test', name: 'Bob' });
	const ok = (res, status = 200) => {
		assert.equal(res.status, status, res.text);
		return res.body.data;
	};
	const team = ok(await admin.post('/teams', { name: 'Writers', organization: server.orgGid, visibility: 'public' }), 201);
	const open = ok(await admin.post('/projects', { name: 'Open ✓', workspace: server.orgGid, team: team.gid,
		privacy_setting: 'public_to_workspace' }), 201);
	const closed = ok(await admin.post('/projects', { name: 'Closed', workspace: server.orgGid, team: team.gid,
		privacy_setting: 'private' }), 201);
	const section = ok(await admin.post(`/projects/${open.gid}/sections`, { name: 'Doing / "now"' }), 201);
	const tag = ok(await admin.post('/tags', { name: 'hot 🔥', workspace: server.orgGid }), 201);

	const parent = ok(await admin.post('/tasks', { workspace: server.orgGid, name: 'Parent \\ secret',
		projects: [closed.gid] }), 201);
	const child = ok(await admin.post(`/tasks/${parent.gid}/subtasks`, { name: 'Child', notes: 'line 1\nline 2',
		assignee: mia.gid, due_on: '2030-01-02' }), 201);
	ok(await admin.post(`/tasks/${child.gid}/addProject`, { project: open.gid, section: section.gid }));
	ok(await admin.post(`/tasks/${child.gid}/addProject`, { project: closed.gid }));
	ok(await admin.post(`/tasks/${child.gid}/addTag`, { tag: tag.gid }));
	ok(await admin.post(`/tasks/${child.gid}/addFollowers`, { followers: [bob.gid, mia.gid] }));
	const approval = ok(await admin.post('/tasks', { workspace: server.orgGid, name: 'Sign', resource_subtype: 'approval',
		projects: [open.gid], start_on: '2030-01-01', due_at: '2030-01-03T10:00:00.000Z' }), 201);
	ok(await admin.put(`/tasks/${approval.gid}`, { approval_status: 'approved' }));

	const cases = [[admin, child.gid], [admin, parent.gid], [admin, approval.gid], [miaClient, child.gid],
		[miaClient, approval.gid]];
	for (const [client, gid] of cases) {
		const direct = await client.get(`/tasks/${gid}`);
		const tree = await client.get(`/tasks/${gid}`, { opt_pretty: true });
		assert.equal(direct.status, 200, direct.text);
		assert.equal(tree.status, 200, tree.text);
		assert.ok(!direct.text.includes('\n'), 'compact output contains a raw newline');
		assert.equal(direct.text, JSON.stringify(tree.body));
	}

	// Mia sees the subtask as its assignee but not its parent in the private project.
	const seen = ok(await miaClient.get(`/tasks/${child.gid}`));
	assert.deepEqual(seen.parent, { gid: parent.gid, resource_type: 'task' });
	assert.deepEqual(seen.projects.map((p) => p.gid), [open.gid]);
	assert.equal(seen.memberships[0].section.gid, section.gid);
	assert.equal((await miaClient.get(`/tasks/${parent.gid}`)).status, 404);
});

// A text that is not valid UTF-8 can only come from outside the API (SQLite
// stores any bytes). jansson drops such a value, and the direct writer hands
// the request to the tree so that both read alike.
test('invalid UTF-8 falls back to the tree', async (t) => {
	if (isPostgres()) {
		t.skip('PostgreSQL stores only valid UTF-8');
		return;
	}
	const created = await admin.post('/tasks', { workspace: server.orgGid, name: 'Broken notes', notes: 'fine' });
	assert.equal(created.status, 201, created.text);
	const gid = created.body.data.gid;
	sqlRun(`UPDATE tasks SET notes = CAST(X'61C3' AS TEXT) WHERE gid = ${gid}`);

	const direct = await admin.get(`/tasks/${gid}`);
	const tree = await admin.get(`/tasks/${gid}`, { opt_pretty: true });
	assert.equal(direct.status, 200, direct.text);
	assert.equal(tree.status, 200, tree.text);
	assert.equal(direct.text, JSON.stringify(tree.body));
	assert.equal('notes' in direct.body.data, false);
	assert.equal(direct.body.data.name, 'Broken notes');
});
