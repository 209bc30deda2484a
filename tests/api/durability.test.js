'use strict';
// Durability: a node is killed with SIGKILL in the middle of a write load,
// another is started on the same database, and every task whose creation
// returned 2xx must be there. Runs on SQLite always, and on PostgreSQL
// when KONTOR_TEST_PG_URI is set.

const { test } = require('node:test');
const assert = require('node:assert');

const { startServer, api } = require('./lib/server');
const { startNode } = require('./lib/nodes');

const WRITERS = 4;
const LOAD_MS = 3000;
const CHECKS_IN_FLIGHT = 16;

// Create tasks in a loop until the node stops responding; returns the gids of 2xx responses.
async function writeUntilDown(node, server, writer) {
	const acknowledged = [];
	const client = api(node, server.adminToken);
	for (let i = 0; ; i++) {
		let res;
		try {
			res = await client.post('/tasks', { workspace: server.orgGid, name: `writer ${writer} task ${i}` });
		} catch {
			return acknowledged; // connection refused or reset: the node is gone
		}
		if (res.status >= 200 && res.status < 300) {
			acknowledged.push(res.body.data.gid);
		} else {
			assert.equal(res.status, 503, `writer ${writer}: ${res.text}`);
		}
	}
}

async function killDuringLoad(t, driver) {
	const previous = process.env.KONTOR_TEST_DB;
	process.env.KONTOR_TEST_DB = driver;
	let server;
	let node;
	let restarted;
	try {
		// The writers, and the check that reads every task back, send more than the default
		// 1,500 requests a minute; this test is about durability, not limits.
		server = await startServer({ env: { KONTOR_RATE_LIMIT: '1000000' } });
		node = await startNode(server);

		const writers = Array.from({ length: WRITERS }, (_, w) => writeUntilDown(node, server, w));
		await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
		await node.kill();
		const acknowledged = (await Promise.all(writers)).flat();
		assert.ok(acknowledged.length > 0, 'no write was acknowledged before the kill');
		t.diagnostic(`${driver}: ${acknowledged.length} tasks acknowledged before SIGKILL`);

		restarted = await startNode(server);
		const client = api(restarted, server.adminToken);
		const missing = [];
		let next = 0;
		await Promise.all(
			Array.from({ length: CHECKS_IN_FLIGHT }, async () => {
				while (next < acknowledged.length) {
					const gid = acknowledged[next++];
					const res = await client.get(`/tasks/${gid}`, { opt_fields: 'name' });
					if (res.status !== 200) {
						missing.push(`${gid} (${res.status})`);
					}
				}
			}),
		);
		assert.deepEqual(missing, [], `${missing.length} acknowledged tasks are missing after the restart`);
	} finally {
		if (restarted) {
			await restarted.stop();
		}
		if (node) {
			await node.kill();
		}
		if (server) {
			await server.stop();
		}
		if (previous === undefined) {
			delete process.env.KONTOR_TEST_DB;
		} else {
			process.env.KONTOR_TEST_DB = previous;
		}
	}
}

test('kill -9 keeps acknowledged writes on SQLite', (t) => killDuringLoad(t, 'sqlite'));

test(
	'kill -9 keeps acknowledged writes on PostgreSQL',
	{ skip: process.env.KONTOR_TEST_PG_URI ? false : 'needs PostgreSQL: set KONTOR_TEST_PG_URI' },
	(t) => killDuringLoad(t, 'pg'),
);
