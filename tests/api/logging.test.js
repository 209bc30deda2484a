'use strict';
// The access log: one JSON line per request with the request id, method,
// route, status, duration and principal, and never a token, even when the
// token is wrong or sent in odd places.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');

let server;

before(async () => {
	server = await startServer();
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

function accessLines() {
	return server
		.logs()
		.split('\n')
		.filter((line) => line.startsWith('{'))
		.map((line) => JSON.parse(line))
		.filter((entry) => entry.module === 'http' && entry.message === 'request');
}

test('access log has one line per request', async () => {
	const before = accessLines().length;
	const client = api(server, server.adminToken);

	const ok = await client.get('/users/me');
	assert.equal(ok.status, 200, ok.text);
	const missing = await client.get('/tasks/123');
	assert.equal(missing.status, 404, missing.text);
	const anonymous = await api(server, null).get('/users/me');
	assert.equal(anonymous.status, 401, anonymous.text);

	const lines = accessLines().slice(before);
	assert.equal(lines.length, 3, JSON.stringify(lines));
	for (const line of lines) {
		assert.match(line.request_id, /^[0-9a-f]{16}$/);
		assert.equal(line.method, 'GET');
		assert.equal(typeof line.status, 'number');
		assert.equal(typeof line.duration_us, 'number');
		assert.ok(line.duration_us >= 0);
		assert.ok(!Number.isNaN(Date.parse(line.time)));
	}
	assert.equal(lines[0].route, '/users/{user_gid}');
	assert.equal(lines[0].status, 200);
	assert.match(lines[0].principal, /^\d+$/);
	assert.equal(lines[1].status, 404);
	assert.equal(lines[2].status, 401);
	assert.equal(lines[2].principal, null);
});

test('tokens never reach the log', async () => {
	const wrong = server.adminToken.slice(0, -1) + (server.adminToken.endsWith('A') ? 'B' : 'A');
	const client = api(server, server.adminToken);

	await client.get('/users/me', { opt_fields: 'name' });
	await api(server, wrong).get('/users/me');
	await client.get('/users/' + encodeURIComponent(server.adminToken));
	await client.get('/users/me', { opt_fields: server.adminToken });
	await client.raw('POST', '/tasks', { headers: { 'Content-Type': 'application/json' }, body: `{"data": {"name": "${server.adminToken}", "x": }` });
	await fetch(server.url + '/healthz', { headers: { Authorization: 'Bearer ' + server.adminToken } }).then((res) => res.arrayBuffer());

	const logs = server.logs();
	assert.ok(!logs.includes(server.adminToken), 'the admin token appears in the server log');
	assert.ok(!logs.includes(wrong), 'a rejected token appears in the server log');
	assert.ok(!/kontor_pat_[0-9a-f]{16}[0-9A-Za-z]{38}/.test(logs), 'a token-shaped string appears in the server log');
});
