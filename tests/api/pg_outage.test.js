'use strict';
// A PostgreSQL outage under load: while the database is stopped, requests
// get 503 with Retry-After within a few seconds and none hangs; once it is
// back, the same kontor process serves again without a restart. The test
// runs its own PostgreSQL server (scripts/pg-test-server.sh), because it
// stops it. It runs only where KONTOR_TEST_PG_URI is set, which says that
// PostgreSQL is installed here.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startServer, api } = require('./lib/server');
const { privatePg } = require('./lib/nodes');

const SKIP = process.env.KONTOR_TEST_PG_URI
	? false
	: 'needs PostgreSQL: set KONTOR_TEST_PG_URI (scripts/test.sh pg starts a server and sets it)';
// No request may take longer than this, during the outage or after it.
const MAX_REQUEST_MS = 3000;
const RECOVERY_TIMEOUT_MS = 10000;

describe('PostgreSQL outage', { skip: SKIP }, () => {
	let parent;
	let pg;
	let server;
	let client;

	before(async () => {
		// The cluster's owner is an unprivileged user when this runs as root, so the folders must be searchable.
		parent = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-pg-outage-'));
		fs.chmodSync(parent, 0o755);
		pg = privatePg(path.join(parent, 'pg'));
		const uri = await pg.start();
		process.env.KONTOR_TEST_DB = 'pg';
		process.env.KONTOR_TEST_PG_URI = uri;
		server = await startServer();
		client = api(server, server.adminToken);
	});

	after(async () => {
		try {
			// A failed test can leave the server stopped, and dropping the test database needs it.
			if (pg) {
				await pg.restart().catch(() => {});
			}
			if (server) {
				await server.stop();
			}
		} finally {
			if (pg) {
				await pg.stop().catch(() => {});
			}
			fs.rmSync(parent, { recursive: true, force: true });
		}
	});

	// Send one request and time it; network errors fail the test.
	async function timed(send) {
		const started = Date.now();
		const res = await send();
		const ms = Date.now() - started;
		assert.ok(ms < MAX_REQUEST_MS, `request took ${ms} ms`);
		return res;
	}

	const read = () => timed(() => client.get('/users/me'));
	const write = (name) => timed(() => client.post('/tasks', { workspace: server.orgGid, name }));

	// The server's warnings and errors, for failure messages.
	function problemsLogged() {
		return server
			.logs()
			.split('\n')
			.filter((line) => /"level":"(warn|error)"/.test(line))
			.slice(-30)
			.join('\n');
	}

	function assertUnavailable(res) {
		assert.equal(res.status, 503, res.text);
		assert.match(res.headers['retry-after'] || '', /^\d+$/, 'Retry-After is missing');
	}

	test('requests during the outage get 503 and recover after it', async (t) => {
		assert.equal((await read()).status, 200);
		assert.equal((await write('before')).status, 201);

		// Load runs while the server stops, so some requests meet it mid-way.
		let loading = true;
		const statuses = [];
		const load = (async () => {
			for (let i = 0; loading; i++) {
				const res = await (i % 2 ? read() : write(`during ${i}`));
				statuses.push(res.status);
				if (res.status === 503) {
					assertUnavailable(res);
				}
			}
		})();
		await new Promise((resolve) => setTimeout(resolve, 200));
		await pg.stop();

		for (let i = 0; i < 10; i++) {
			assertUnavailable(await read());
			assertUnavailable(await write(`outage ${i}`));
		}
		loading = false;
		await load;
		const unexpected = statuses.filter((status) => ![200, 201, 503].includes(status));
		assert.deepEqual(unexpected, [], `statuses during the stop: ${statuses.join(' ')}\n${problemsLogged()}`);

		await pg.restart();
		const restartedAt = Date.now();
		for (;;) {
			const res = await read();
			if (res.status === 200) {
				break;
			}
			assertUnavailable(res);
			assert.ok(Date.now() - restartedAt < RECOVERY_TIMEOUT_MS, 'kontor did not reconnect after the restart');
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		t.diagnostic(`first 200 ${Date.now() - restartedAt} ms after PostgreSQL was back`);

		for (let i = 0; i < 10; i++) {
			assert.equal((await read()).status, 200);
			assert.equal((await write(`after ${i}`)).status, 201);
		}
	});

	test('restart leaves no stale connection', async () => {
		// Concurrent reads open several pooled connections, which then sit idle during the restart.
		const warm = await Promise.all(Array.from({ length: 12 }, () => read()));
		assert.deepEqual(warm.map((res) => res.status), Array(12).fill(200));
		await pg.stop();
		await pg.restart();
		await new Promise((resolve) => setTimeout(resolve, 500));

		// Each idle connection got the server's FATAL message, so none may fail a request now.
		const statuses = [];
		for (let i = 0; i < 30; i++) {
			statuses.push((await read()).status);
		}
		assert.deepEqual(statuses, Array(30).fill(200), `statuses after the restart:\n${problemsLogged()}`);
	});
});
