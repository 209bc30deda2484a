'use strict';
// Service-account tokens: rotation with at most two live tokens, expiry, and
// revoking one token or all of them, which takes effect on the next request.
// Also the Idempotency-Key of rotation (with concurrent retries), audit
// records, and a check that no token string reaches the log or the database.

const { test, before, after, describe } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { startServer, api } = require('./lib/server');

const TOKEN_FORMAT = /^kontor_sa_[0-9a-f]{16}[0-9A-Za-z]{38}$/;

let server;
let admin;
let adminGid;
const minted = [];

function isPostgres() {
	return /^postgres(ql)?:\/\//.test(server.db);
}

// Runs SQL against the server's database and returns the rows as objects.
// Select gids with CAST(... AS TEXT): JSON numbers lose precision above 2^53.
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

async function createAccount(name, permissions = 'full') {
	const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name, permissions });
	assert.equal(res.status, 201, res.text);
	minted.push(res.body.data.token);
	return { gid: res.body.data.gid, token: res.body.data.token, tokenGid: res.body.data.token_gid };
}

// POST /service_accounts/{gid}/tokens with an optional Idempotency-Key.
async function rotate(saGid, data = {}, key) {
	const headers = { 'content-type': 'application/json' };
	if (key !== undefined) {
		headers['idempotency-key'] = key;
	}
	const res = await admin.raw('POST', `/service_accounts/${saGid}/tokens`, { headers, body: JSON.stringify({ data }) });
	if (res.body && res.body.data && res.body.data.token) {
		minted.push(res.body.data.token);
	}
	return res;
}

function liveTokenCount(saGid) {
	const rows = sql(`SELECT COUNT(*) AS n FROM tokens WHERE user_gid = ${saGid} AND revoked_at IS NULL`);
	return Number(rows[0].n);
}

function auditEvents(saGid) {
	return sql(`SELECT event_type, CAST(actor_gid AS TEXT) AS actor_gid, resource_name, details, auth_method, client_ip
		FROM audit_log WHERE resource_gid = ${saGid} ORDER BY gid`);
}

before(async () => {
	server = await startServer({ org: 'Token Org', plan: 'enterprise' });
	admin = api(server, server.adminToken);
	minted.push(server.adminToken);
	adminGid = (await admin.get('/users/me')).body.data.gid;
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

describe('rotation', () => {
	test('rotate mints a second live token', async () => {
		const bot = await createAccount('Rotating bot');
		const res = await rotate(bot.gid, { name: 'deploy 2' });
		assert.equal(res.status, 201, res.text);
		const token = res.body.data;
		assert.equal(token.resource_type, 'service_account_token');
		assert.match(token.token, TOKEN_FORMAT);
		assert.equal(token.name, 'deploy 2');
		assert.equal(token.status, 'active');
		assert.equal(token.created_by.gid, adminGid);
		assert.equal(token.expires_at, null);
		assert.equal(token.revoked_at, null);
		assert.ok(!('hash' in token));

		// Both tokens work at once, so a script can switch without downtime.
		assert.equal((await api(server, bot.token).get('/users/me')).status, 200);
		assert.equal((await api(server, token.token).get('/users/me')).status, 200);

		const list = await admin.get(`/service_accounts/${bot.gid}/tokens`);
		assert.equal(list.status, 200, list.text);
		assert.deepEqual(list.body.data.map((t) => t.gid), [bot.tokenGid, token.gid]);
		for (const item of list.body.data) {
			assert.deepEqual(Object.keys(item).sort(), ['expires_at', 'gid', 'name', 'resource_type', 'status']);
		}
		assert.ok(!list.text.includes('kontor_sa_'), 'lists never contain a token');
		const full = await admin.get(`/service_accounts/${bot.gid}/tokens`, { opt_fields: 'created_at,last_used_at,last_used_ip,revoked_at' });
		assert.equal(full.body.data[0].last_used_ip, '127.0.0.1');
	});

	test('third live token is rejected', async () => {
		const bot = await createAccount('Crowded bot');
		assert.equal((await rotate(bot.gid)).status, 201);
		const res = await rotate(bot.gid);
		assert.equal(res.status, 409, res.text);
		assert.match(res.body.errors[0].message, /already has 2 live tokens.*Revoke one first/);
		assert.equal(liveTokenCount(bot.gid), 2);
	});

	test('revoke takes effect on the next request', async () => {
		const bot = await createAccount('Revoked bot');
		const second = (await rotate(bot.gid)).body.data;
		const client = api(server, bot.token);
		assert.equal((await client.get('/users/me')).status, 200);

		let res = await admin.del(`/service_accounts/${bot.gid}/tokens/${bot.tokenGid}`);
		assert.equal(res.status, 200, res.text);
		assert.deepEqual(res.body, { data: {} });
		res = await client.get('/users/me');
		assert.equal(res.status, 401, res.text);
		assert.equal((await api(server, second.token).get('/users/me')).status, 200, 'the other token still works');

		// Revoking again changes nothing; the freed slot allows a new token.
		res = await admin.del(`/service_accounts/${bot.gid}/tokens/${bot.tokenGid}`);
		assert.equal(res.status, 200, res.text);
		assert.equal((await rotate(bot.gid)).status, 201);

		const list = await admin.get(`/service_accounts/${bot.gid}/tokens`, { opt_fields: 'status,revoked_at' });
		const first = list.body.data.find((t) => t.gid === bot.tokenGid);
		assert.equal(first.status, 'revoked');
		assert.ok(Date.parse(first.revoked_at) > 0);

		const events = auditEvents(bot.gid).filter((e) => e.event_type === 'service_account_token_revoked');
		assert.equal(events.length, 1, 'a repeated revoke writes no second record');
		assert.deepEqual(JSON.parse(events[0].details), { token_gid: bot.tokenGid });
		const revokedBy = sql(`SELECT CAST(revoked_by AS TEXT) AS revoked_by FROM tokens WHERE gid = ${bot.tokenGid}`);
		assert.equal(revokedBy[0].revoked_by, adminGid);
	});

	test('revoke of unknown or foreign token is 404', async () => {
		const bot = await createAccount('Owner bot');
		const stranger = await createAccount('Stranger bot');
		for (const tokenGid of ['1', stranger.tokenGid]) {
			const res = await admin.del(`/service_accounts/${bot.gid}/tokens/${tokenGid}`);
			assert.equal(res.status, 404, res.text);
		}
		assert.equal((await api(server, stranger.token).get('/users/me')).status, 200);
		const res = await admin.del(`/service_accounts/${bot.gid}/tokens/x1`);
		assert.equal(res.status, 400, res.text);
	});

	test('deauthorize revokes every token at once', async () => {
		const bot = await createAccount('Deauthorized bot');
		const second = (await rotate(bot.gid)).body.data;
		const res = await admin.post(`/service_accounts/${bot.gid}/deauthorize`, {});
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.data.gid, bot.gid);
		assert.deepEqual(res.body.data.tokens.map((t) => t.status), ['revoked', 'revoked']);
		assert.equal((await api(server, bot.token).get('/users/me')).status, 401);
		assert.equal((await api(server, second.token).get('/users/me')).status, 401);

		const events = auditEvents(bot.gid).filter((e) => e.event_type === 'service_account_deauthorized');
		assert.equal(events.length, 1);
		assert.deepEqual(JSON.parse(events[0].details).revoked_token_gids.sort(), [bot.tokenGid, second.gid].sort());

		// The account stays and can get a new token.
		const fresh = await rotate(bot.gid);
		assert.equal(fresh.status, 201, fresh.text);
		assert.equal((await api(server, fresh.body.data.token).get('/users/me')).status, 200);
		const extra = await admin.post(`/service_accounts/${bot.gid}/deauthorize`, { reason: 'x' });
		assert.equal(extra.status, 400, extra.text);
	});

	test('rotation is audited with actor and address', async () => {
		const bot = await createAccount('Audited bot');
		const res = await rotate(bot.gid, {});
		const events = auditEvents(bot.gid);
		assert.deepEqual(events.map((e) => e.event_type), [
			'service_account_created', 'service_account_token_created', 'service_account_token_rotated',
		]);
		const rotated = events[2];
		assert.equal(rotated.actor_gid, adminGid);
		assert.equal(rotated.resource_name, 'Audited bot');
		assert.equal(rotated.auth_method, 'personal_access_token');
		assert.equal(rotated.client_ip, '127.0.0.1');
		assert.deepEqual(JSON.parse(rotated.details), { token_gid: res.body.data.gid, expires_at: null, live_tokens: 2 });
	});
});

describe('deactivated accounts', () => {
	test('rotation is 409 until addUser', async () => {
		const bot = await createAccount('Sleeping bot');
		let res = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: bot.gid });
		assert.equal(res.status, 200, res.text);
		assert.equal(liveTokenCount(bot.gid), 0, 'removeUser revoked the token');

		const tokensBefore = sql(`SELECT COUNT(*) AS n FROM tokens WHERE user_gid = ${bot.gid}`)[0].n;
		for (const key of [undefined, 'sleeping-bot-1']) {
			res = await rotate(bot.gid, {}, key);
			assert.equal(res.status, 409, res.text);
			assert.match(res.body.errors[0].message, /deactivated/);
			assert.match(res.body.errors[0].message, new RegExp(`Reactivate it first with POST /workspaces/${server.orgGid}/addUser`));
			assert.ok(res.body.errors[0].message.includes(bot.gid), 'the message names the account');
			assert.ok(!res.text.includes('kontor_sa_'));
		}
		assert.equal(sql(`SELECT COUNT(*) AS n FROM tokens WHERE user_gid = ${bot.gid}`)[0].n, tokensBefore, 'no token was stored');
		const rotated = auditEvents(bot.gid).filter((e) => e.event_type === 'service_account_token_rotated');
		assert.equal(rotated.length, 0);

		// Revoking and deauthorizing still work on a deactivated account.
		res = await admin.del(`/service_accounts/${bot.gid}/tokens/${bot.tokenGid}`);
		assert.equal(res.status, 200, res.text);
		res = await admin.post(`/service_accounts/${bot.gid}/deauthorize`, {});
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.data.is_active, false);

		res = await admin.post(`/workspaces/${server.orgGid}/addUser`, { user: bot.gid });
		assert.equal(res.status, 200, res.text);
		assert.equal((await api(server, bot.token).get('/users/me')).status, 401, 'the old token stays revoked');
		res = await rotate(bot.gid, {}, 'sleeping-bot-2');
		assert.equal(res.status, 201, res.text);
		assert.equal(res.body.data.status, 'active');
		assert.equal((await api(server, res.body.data.token).get('/users/me')).status, 200);
	});

	test('rotation racing removeUser leaves no live token', async () => {
		for (let round = 0; round < 8; round++) {
			const bot = await createAccount(`Racing bot ${round}`);
			const [rotated, removed] = await Promise.all([
				rotate(bot.gid, {}),
				admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: bot.gid }),
			]);
			assert.equal(removed.status, 200, removed.text);
			assert.ok([201, 409].includes(rotated.status), rotated.text);
			assert.equal(liveTokenCount(bot.gid), 0, `round ${round}: rotation answered ${rotated.status}`);
		}
	});

	test('retry after removeUser is 409, not a replay', async () => {
		const bot = await createAccount('Removed between retries');
		let res = await rotate(bot.gid, {}, 'removed-between-retries');
		assert.equal(res.status, 201, res.text);
		res = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: bot.gid });
		assert.equal(res.status, 200, res.text);
		res = await rotate(bot.gid, {}, 'removed-between-retries');
		assert.equal(res.status, 409, res.text);
		assert.match(res.body.errors[0].message, /deactivated/);
		assert.ok(!res.text.includes('kontor_sa_'), 'the revoked token is not returned again');
	});
});

describe('expiry', () => {
	test('token stops working when it expires', async () => {
		const bot = await createAccount('Short-lived bot');
		const expires = new Date(Date.now() + 1500).toISOString();
		const res = await rotate(bot.gid, { expires_at: expires });
		assert.equal(res.status, 201, res.text);
		assert.equal(res.body.data.expires_at, expires);
		const client = api(server, res.body.data.token);
		assert.equal((await client.get('/users/me')).status, 200);

		await new Promise((resolve) => setTimeout(resolve, Date.parse(expires) - Date.now() + 100));
		assert.equal((await client.get('/users/me')).status, 401);
		const list = await admin.get(`/service_accounts/${bot.gid}/tokens`);
		assert.equal(list.body.data.find((t) => t.gid === res.body.data.gid).status, 'expired');
		// An expired token does not count against the limit.
		assert.equal((await rotate(bot.gid)).status, 201);
	});

	test('expiry set in the database applies at once', async () => {
		const bot = await createAccount('Expired bot');
		sqlRun(`UPDATE tokens SET expires_at = 1000000 WHERE gid = ${bot.tokenGid}`);
		assert.equal((await api(server, bot.token).get('/users/me')).status, 401);
	});

	test('bad expiry values are rejected', async () => {
		const bot = await createAccount('Expiry checks bot');
		for (const [value, pattern] of [
			[new Date(Date.now() - 60e3).toISOString(), /^expires_at: must be in the future/],
			[new Date(Date.now() + 731 * 86400e3).toISOString(), /^expires_at: must be at most 730 days \(2 years\)/],
			['2026-13-01', /^expires_at: must be an ISO 8601 date-time/],
			[12345, /^expires_at: must be an ISO 8601 date-time/],
		]) {
			const res = await rotate(bot.gid, { expires_at: value });
			assert.equal(res.status, 400, res.text);
			assert.match(res.body.errors[0].message, pattern);
		}
		const ok = await rotate(bot.gid, { expires_at: new Date(Date.now() + 729 * 86400e3).toISOString() });
		assert.equal(ok.status, 201, ok.text);
		for (const data of [{ name: '' }, { name: 'a'.repeat(256) }, { name: 'bell\u0007' }, { token: 'x' }]) {
			const res = await rotate(bot.gid, data);
			assert.equal(res.status, 400, `${JSON.stringify(data)}: ${res.text}`);
		}
	});
});

describe('idempotency', () => {
	test('retry with the same key returns the same token', async () => {
		const bot = await createAccount('Idempotent bot');
		const expires = new Date(Date.now() + 30 * 86400e3).toISOString();
		const first = await rotate(bot.gid, { name: 'ci', expires_at: expires }, 'retry-1');
		assert.equal(first.status, 201, first.text);
		assert.equal(first.headers['idempotent-replayed'], undefined);
		// The same body with other whitespace and key order still matches.
		const res = await admin.raw('POST', `/service_accounts/${bot.gid}/tokens`, {
			headers: { 'content-type': 'application/json', 'idempotency-key': 'retry-1' },
			body: `{ "data" : { "expires_at" : "${expires}", "name" : "ci" } }`,
		});
		assert.equal(res.status, 201, res.text);
		assert.equal(res.headers['idempotent-replayed'], 'true');
		assert.equal(res.body.data.token, first.body.data.token);
		assert.equal(res.body.data.gid, first.body.data.gid);
		assert.equal(liveTokenCount(bot.gid), 2);
		assert.equal(auditEvents(bot.gid).filter((e) => e.event_type === 'service_account_token_rotated').length, 1);

		// The stored response is sealed, not the token in clear.
		const rows = sql(`SELECT sealed_response, CAST(token_gid AS TEXT) AS token_gid FROM idempotency_keys WHERE idempotency_key = 'retry-1'`);
		assert.equal(rows.length, 1);
		assert.equal(rows[0].token_gid, first.body.data.gid);
		assert.ok(!rows[0].sealed_response.includes('kontor_sa_'));
		assert.ok(!Buffer.from(rows[0].sealed_response, 'base64').toString('latin1').includes('kontor_sa_'));

		// A replay is not limited by the live-token count, because it mints nothing.
		const again = await rotate(bot.gid, { name: 'ci', expires_at: expires }, 'retry-1');
		assert.equal(again.status, 201, again.text);
		assert.equal(again.body.data.token, first.body.data.token);
	});

	test('same key with a different body is 409', async () => {
		const bot = await createAccount('Conflict bot');
		const other = await createAccount('Other conflict bot');
		assert.equal((await rotate(bot.gid, { name: 'a' }, 'key-2')).status, 201);
		let res = await rotate(bot.gid, { name: 'b' }, 'key-2');
		assert.equal(res.status, 409, res.text);
		assert.match(res.body.errors[0].message, /^Idempotency-Key: .*different request/);
		res = await rotate(other.gid, { name: 'a' }, 'key-2');
		assert.equal(res.status, 409, 'the same key for another account');
		assert.equal(liveTokenCount(bot.gid), 2);
		assert.equal(liveTokenCount(other.gid), 1);
	});

	test('keys are per caller', async () => {
		const bot = await createAccount('Two admins bot');
		const second = await server.addUser({ email: 'admin2@token.test', name: 'Second Super', role: 'super_admin' });
		minted.push(second.token);
		const a = await rotate(bot.gid, {}, 'shared-key');
		assert.equal(a.status, 201, a.text);
		await admin.del(`/service_accounts/${bot.gid}/tokens/${bot.tokenGid}`);
		const b = await api(server, second.token).raw('POST', `/service_accounts/${bot.gid}/tokens`, {
			headers: { 'content-type': 'application/json', 'idempotency-key': 'shared-key' },
			body: '{"data": {}}',
		});
		assert.equal(b.status, 201, b.text);
		minted.push(b.body.data.token);
		assert.notEqual(b.body.data.token, a.body.data.token);
	});

	test('expired keys can be reused', async () => {
		const bot = await createAccount('Old key bot');
		const first = await rotate(bot.gid, { name: 'one' }, 'old-key');
		assert.equal(first.status, 201, first.text);
		await admin.del(`/service_accounts/${bot.gid}/tokens/${first.body.data.gid}`);
		sqlRun(`UPDATE idempotency_keys SET expires_at = 1000000 WHERE idempotency_key = 'old-key'`);
		const res = await rotate(bot.gid, { name: 'two' }, 'old-key');
		assert.equal(res.status, 201, res.text);
		assert.notEqual(res.body.data.token, first.body.data.token);
		const rows = sql(`SELECT request_hash FROM idempotency_keys WHERE idempotency_key = 'old-key'`);
		assert.equal(rows.length, 1, 'the expired row was deleted');
	});

	test('invalid keys are rejected', async () => {
		const bot = await createAccount('Key checks bot');
		for (const key of ['k'.repeat(256), 'caf\u00e9', 'tab\tkey']) {
			const res = await rotate(bot.gid, {}, key);
			assert.equal(res.status, 400, res.text);
			assert.match(res.body.errors[0].message, /^Idempotency-Key: must be 1 to 255 printable ASCII characters/);
		}
		const res = await rotate(bot.gid, {}, 'k'.repeat(255));
		assert.equal(res.status, 201, res.text);
		assert.equal(liveTokenCount(bot.gid), 2);
	});

	test('concurrent retries mint one token', async () => {
		const bot = await createAccount('Concurrent bot');
		const responses = await Promise.all(Array.from({ length: 8 }, () => rotate(bot.gid, { name: 'parallel' }, 'parallel-key')));
		for (const res of responses) {
			assert.equal(res.status, 201, res.text);
		}
		const tokens = new Set(responses.map((r) => r.body.data.token));
		assert.equal(tokens.size, 1, 'every response carries the same token');
		assert.equal(liveTokenCount(bot.gid), 2);
		assert.equal(responses.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 7);
		assert.equal(auditEvents(bot.gid).filter((e) => e.event_type === 'service_account_token_rotated').length, 1);
	});

	test('concurrent rotations respect the limit', async () => {
		const bot = await createAccount('Racing bot');
		await admin.del(`/service_accounts/${bot.gid}/tokens/${bot.tokenGid}`);
		const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => rotate(bot.gid, {}, `race-${i}`)));
		const statuses = responses.map((r) => r.status).sort();
		assert.deepEqual(statuses, [201, 201, 409, 409, 409, 409], responses.map((r) => r.text).join('\n'));
		assert.equal(liveTokenCount(bot.gid), 2);
	});
});

describe('stored hash', () => {
	test('new tokens are stored as keyed BLAKE2b, never in clear', async () => {
		const bot = await createAccount('Hash format');
		const rows = sql(`SELECT hash FROM tokens WHERE gid = ${bot.tokenGid}`);
		assert.equal(rows.length, 1);
		assert.match(rows[0].hash, /^b2:[0-9a-f]{64}$/);
	});

	test('whitespace after the token is ignored, inside it is not', async () => {
		const bot = await createAccount('Pasted token');
		// curl sends the header value as given; fetch would strip the trailing whitespace itself.
		const status = (value) => execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H',
			`Authorization: ${value}`, `${server.base}/users/me`], { encoding: 'utf8' });
		assert.equal(status(`Bearer ${bot.token}   `), '200');
		assert.equal(status(`Bearer ${bot.token}\t`), '200');
		assert.equal(status(`Bearer ${bot.token.slice(0, 20)} ${bot.token.slice(20)}`), '401');
		assert.equal(status(`Bearer ${bot.token}x`), '401');
	});

	test('a token stored under the earlier HMAC-SHA256 scheme works and is rehashed on use', async () => {
		const bot = await createAccount('Legacy hash');
		const pepper = fs.readFileSync(server.env.KONTOR_PEPPER_FILE);
		const legacy = crypto.createHmac('sha256', pepper).update(bot.token).digest('hex');
		sqlRun(`UPDATE tokens SET hash = '${legacy}' WHERE gid = ${bot.tokenGid}`);

		// A wrong token with the same gid does not verify against the old hash, and changes nothing.
		const forged = bot.token.slice(0, -10) + (bot.token.slice(-10, -9) === 'A' ? 'B' : 'A') + bot.token.slice(-9);
		assert.equal((await api(server, forged).get('/users/me')).status, 401);
		assert.equal(sql(`SELECT hash FROM tokens WHERE gid = ${bot.tokenGid}`)[0].hash, legacy);

		assert.equal((await api(server, bot.token).get('/users/me')).status, 200);
		const after = sql(`SELECT hash FROM tokens WHERE gid = ${bot.tokenGid}`)[0].hash;
		assert.match(after, /^b2:[0-9a-f]{64}$/);
		assert.equal((await api(server, bot.token).get('/users/me')).status, 200, 'the token works after the rehash');

		// Revocation still takes effect on the next request after the rehash.
		const res = await admin.del(`/service_accounts/${bot.gid}/tokens/${bot.tokenGid}`);
		assert.ok(res.status === 200 || res.status === 204, res.text);
		assert.equal((await api(server, bot.token).get('/users/me')).status, 401);
	});
});

describe('secrets', () => {
	test('no token in the log or the database', async () => {
		const logs = server.logs();
		assert.ok(!/kontor_sa_/.test(logs), 'service-account token prefix in the log');
		assert.ok(!/kontor_pat_/.test(logs), 'personal token prefix in the log');

		let stored;
		if (isPostgres()) {
			stored = execFileSync('pg_dump', [server.db], { encoding: 'latin1', maxBuffer: 64 << 20 });
		} else {
			stored = ['', '-wal', '-shm'].map((suffix) => server.db + suffix).filter((f) => fs.existsSync(f))
				.map((f) => fs.readFileSync(f).toString('latin1')).join('\n');
		}
		assert.ok(minted.length > 10);
		for (const token of minted) {
			assert.ok(!stored.includes(token), 'a token is stored in clear text');
			assert.ok(!stored.includes(token.slice(-38)), 'a token secret is stored in clear text');
		}
	});
});
