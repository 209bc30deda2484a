'use strict';
// First contact with a running server: health check, the current user, and
// the error body for a request without a token.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');

let server;

before(async () => {
	server = await startServer();
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('healthz returns 200', async () => {
	const res = await fetch(server.url + '/healthz');
	await res.arrayBuffer();
	assert.equal(res.status, 200);
});

test('users/me returns the admin', async () => {
	const res = await api(server, server.adminToken).get('/users/me');
	assert.equal(res.status, 200, res.text);
	assert.equal(typeof res.body.data.gid, 'string');
	assert.match(res.body.data.gid, /^\d+$/);
	assert.equal(res.body.data.resource_type, 'user');
	assertMatchesSpec('GET', '/users/me', res);
});

test('users/me without token is 401', async () => {
	const res = await api(server, null).get('/users/me');
	assert.equal(res.status, 401, res.text);
	assert.ok(Array.isArray(res.body.errors), `expected an errors array, got ${res.text}`);
	assert.equal(res.body.errors.length, 1);
	assert.equal(typeof res.body.errors[0].message, 'string');
	assertMatchesSpec('GET', '/users/me', res);
});

test('users/me with unknown token is 401', async () => {
	const res = await api(server, '0/' + 'f'.repeat(32)).get('/users/me');
	assert.equal(res.status, 401, res.text);
	assertMatchesSpec('GET', '/users/me', res);
});
