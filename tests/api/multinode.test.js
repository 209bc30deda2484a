'use strict';
// Three kontor nodes on one PostgreSQL database: their gids never collide,
// each background job runs on exactly one node, and a token revoked through
// one node is rejected by the others at their next request. Needs
// KONTOR_TEST_PG_URI; each run creates its own database on that server.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert');

const { startServer, api } = require('./lib/server');
const { startNode, serveExpectingExit, psql, gidNode } = require('./lib/nodes');

const SKIP = process.env.KONTOR_TEST_PG_URI
	? false
	: 'needs PostgreSQL: set KONTOR_TEST_PG_URI (scripts/test.sh pg starts a server and sets it)';
const TASKS_PER_NODE = 300;
const REQUESTS_IN_FLIGHT_PER_NODE = 8;
const NOOP_JOBS = 60;

// Run `count` calls of fn(i) with at most `width` in flight; returns the results in order.
async function pool(count, width, fn) {
	const results = new Array(count);
	let next = 0;
	async function lane() {
		while (next < count) {
			const i = next++;
			results[i] = await fn(i);
		}
	}
	await Promise.all(Array.from({ length: width }, lane));
	return results;
}

async function waitFor(what, check, timeoutMs = 15000) {
	const deadline = Date.now() + timeoutMs;
	let last;
	while (Date.now() < deadline) {
		last = await check();
		if (last === true) {
			return;
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	assert.fail(`${what} within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

describe('three nodes on one PostgreSQL database', { skip: SKIP }, () => {
	let server;
	const nodes = [];

	before(async () => {
		process.env.KONTOR_TEST_DB = 'pg';
		// Idle workers poll often, so the job test does not wait a second per round.
		process.env.KONTOR_JOBS_POLL_MS = '100';
		server = await startServer({ plan: 'enterprise_plus' });
		nodes.push({ base: server.base, url: server.url });
		nodes.push(await startNode(server));
		nodes.push(await startNode(server));
	});

	after(async () => {
		for (const node of nodes.slice(1)) {
			await node.stop();
		}
		if (server) {
			await server.stop();
		}
	});

	test('each node holds its own node id', async () => {
		const rows = await psql(server.db, 'SELECT node_id FROM node_leases ORDER BY node_id');
		const ids = rows.map((row) => Number(row[0]));
		assert.equal(ids.length, 3, `node_leases: ${JSON.stringify(rows)}`);
		assert.equal(new Set(ids).size, 3);
	});

	test('node refuses an id another node holds', async () => {
		const [[held]] = await psql(server.db, 'SELECT min(node_id) FROM node_leases');
		const { code, output } = await serveExpectingExit(server, ['--listen', '127.0.0.1:0', '--node-id', held]);
		assert.notEqual(code, 0, output);
		assert.match(output, new RegExp(`node id ${held} is held by`));
	});

	test('gids created concurrently never collide', async () => {
		const creations = nodes.map((node, n) =>
			pool(TASKS_PER_NODE, REQUESTS_IN_FLIGHT_PER_NODE, async (i) => {
				const res = await api(node, server.adminToken).post('/tasks', { workspace: server.orgGid, name: `node ${n} task ${i}` });
				assert.equal(res.status, 201, `node ${n}: ${res.text}`);
				return res.body.data.gid;
			}),
		);
		const perNode = await Promise.all(creations);
		const all = perNode.flat();

		assert.equal(all.length, nodes.length * TASKS_PER_NODE);
		assert.equal(new Set(all).size, all.length, 'some gids were returned twice');
		const nodeIds = perNode.map((gids) => new Set(gids.map(gidNode)));
		for (const ids of nodeIds) {
			assert.equal(ids.size, 1, 'one node minted gids with several node ids');
		}
		assert.equal(new Set(nodeIds.map((ids) => [...ids][0])).size, 3, 'two nodes minted gids with one node id');

		const [[stored]] = await psql(server.db, `SELECT count(*) FROM tasks WHERE name LIKE 'node % task %'`);
		assert.equal(Number(stored), all.length);
	});

	test('each job runs on exactly one node', async (t) => {
		await psql(
			server.db,
			`INSERT INTO jobs (gid, workspace_gid, kind, state, payload, run_at, attempts, created_at)
			 SELECT 1000 + g, ${server.orgGid}, 'noop', 'pending', '{"sleep_ms": 20}', 0, 0, 0
			 FROM generate_series(1, ${NOOP_JOBS}) g`,
		);
		await waitFor('every noop job finished', async () => {
			const [[left]] = await psql(server.db, `SELECT count(*) FROM jobs WHERE kind = 'noop' AND state <> 'finished'`);
			return Number(left) === 0 || `${left} left`;
		});

		const rows = await psql(server.db, `SELECT gid, attempts, claimed_by, payload FROM jobs WHERE kind = 'noop' ORDER BY gid`);
		assert.equal(rows.length, NOOP_JOBS);
		const ranOn = new Map();
		for (const [gid, attempts, claimedBy, payload] of rows) {
			const ranBy = JSON.parse(payload).ran_by;
			assert.deepEqual(ranBy, [Number(claimedBy)], `job ${gid} ran on ${JSON.stringify(ranBy)}`);
			assert.equal(attempts, '1', `job ${gid} was claimed ${attempts} times`);
			ranOn.set(claimedBy, (ranOn.get(claimedBy) || 0) + 1);
		}
		t.diagnostic(`jobs per node id: ${JSON.stringify(Object.fromEntries(ranOn))}`);
	});

	test('failed job is retried with backoff', async () => {
		await psql(
			server.db,
			`INSERT INTO jobs (gid, workspace_gid, kind, state, payload, run_at, attempts, created_at)
			 VALUES (5000, ${server.orgGid}, 'noop', 'pending', '{"fail_times": 1}', 0, 0, 0)`,
		);
		await waitFor('the first run failed', async () => {
			const [[state, attempts]] = await psql(server.db, 'SELECT state, attempts FROM jobs WHERE gid = 5000');
			return (state === 'pending' && attempts === '1') || `${state} after ${attempts}`;
		});
		const [[runAt, lastError]] = await psql(server.db, 'SELECT run_at, last_error FROM jobs WHERE gid = 5000');
		const delaySeconds = (Number(runAt) - Date.now() * 1000) / 1e6;
		assert.ok(delaySeconds > 5, `retry is due in ${delaySeconds} s, expected about 10`);
		assert.ok(delaySeconds <= 10, `retry is due in ${delaySeconds} s, expected about 10`);
		assert.match(lastError, /failed on purpose/);

		// Bring the retry forward instead of waiting for the backoff.
		await psql(server.db, 'UPDATE jobs SET run_at = 0 WHERE gid = 5000');
		await waitFor('the retry finished', async () => {
			const [[state, attempts]] = await psql(server.db, 'SELECT state, attempts FROM jobs WHERE gid = 5000');
			return (state === 'finished' && attempts === '2') || `${state} after ${attempts}`;
		});
	});

	test('token_expiry job cleans up expired rows', async () => {
		const member = await server.addUser({ email: 'expiring@example.test', name: 'Expiring' });
		await psql(server.db, `UPDATE tokens SET expires_at = 1 WHERE user_gid = ${member.gid}`);
		await psql(
			server.db,
			`INSERT INTO idempotency_keys (workspace_gid, principal_gid, idempotency_key, route, request_hash, sealed_response, created_at, expires_at)
			 VALUES (${server.orgGid}, ${member.gid}, 'old', 'test', 'x', 'x', 0, 1),
			        (${server.orgGid}, ${member.gid}, 'fresh', 'test', 'x', 'x', 0, 9000000000000000)`,
		);

		await psql(server.db, `UPDATE jobs SET run_at = 0 WHERE kind = 'token_expiry'`);
		await waitFor('the expired key deleted', async () => {
			const keys = await psql(server.db, `SELECT idempotency_key FROM idempotency_keys WHERE principal_gid = ${member.gid}`);
			return (keys.length === 1 && keys[0][0] === 'fresh') || keys;
		});
		// Expired tokens are left alone: they show as expired, and authentication rejects them by expires_at.
		const [[notRevoked]] = await psql(server.db, `SELECT revoked_at IS NULL FROM tokens WHERE user_gid = ${member.gid}`);
		assert.equal(notRevoked, 't');
		const expired = await api(server, member.token).get('/users/me');
		assert.equal(expired.status, 401, expired.text);
		const [[jobs]] = await psql(server.db, `SELECT count(*) FROM jobs WHERE kind = 'token_expiry'`);
		assert.equal(jobs, '1', 'the recurring job was queued more than once');
	});

	test('revoked token fails on every node', async () => {
		const member = await server.addUser({ email: 'leaving@example.test', name: 'Leaving' });
		for (const node of nodes) {
			const res = await api(node, member.token).get('/users/me');
			assert.equal(res.status, 200, res.text);
		}

		const removed = await api(nodes[0], server.adminToken).post(`/workspaces/${server.orgGid}/removeUser`, { user: member.gid });
		assert.equal(removed.status, 200, removed.text);

		for (const [n, node] of nodes.entries()) {
			const res = await api(node, member.token).get('/users/me');
			assert.equal(res.status, 401, `node ${n}: ${res.text}`);
		}
	});
});
