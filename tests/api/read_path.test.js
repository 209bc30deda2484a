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
