'use strict';
// The official `asana` npm client works against kontor with only its base URL changed.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer } = require('./lib/server');
const { Asana, asanaClient, allPages } = require('./lib/asana');

let server;
let client;

before(async () => {
	server = await startServer({ org: 'Client Org' });
	client = asanaClient(server, server.adminToken);
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('client getUser me', async () => {
	const result = await new Asana.UsersApi(client).getUser('me', {});
	assert.equal(typeof result.data.gid, 'string');
	assert.equal(result.data.email, server.adminEmail);
});

test('client getWorkspaces lists the org', async () => {
	const workspaces = await allPages(new Asana.WorkspacesApi(client).getWorkspaces({ limit: 10 }));
	const gids = workspaces.map((w) => w.gid);
	assert.deepEqual(gids, [server.orgGid]);
	assert.equal(workspaces[0].name, 'Client Org');
});

test('client rejects a bad token with 401', async () => {
	const bad = asanaClient(server, 'not-a-token');
	await assert.rejects(new Asana.UsersApi(bad).getUser('me', {}), (err) => {
		assert.equal(err.status, 401);
		assert.equal(typeof err.response.body.errors[0].message, 'string');
		return true;
	});
});
