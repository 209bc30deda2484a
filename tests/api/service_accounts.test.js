'use strict';
// Service accounts: the management endpoints (list, create, read, update,
// delete, photo, tokens, deauthorize) against every kind of caller, input
// validation, audit records, plans, and what a service account's token can
// do with the organization's data. Tokens, rotation and idempotency are in
// service_account_tokens.test.js.

const { test, before, after, describe } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const zlib = require('node:zlib');
const { startServer, api } = require('./lib/server');

const TOKEN_FORMAT = /^kontor_sa_[0-9a-f]{16}[0-9A-Za-z]{38}$/;
const SCOPES = ['audit_logs', 'exports', 'read', 'scim'];

let server;
let admin; // api() for the super admin's personal token
const minted = []; // every token string this file saw, for the clear-text checks at the end
const people = {}; // role name → {gid, email, token}
const accounts = {}; // service-account kind → {gid, token}
let other; // a second organization in the same database: {orgGid, token, saToken}

// Runs SQL against the server's database and returns the rows as objects.
// Select gids with CAST(... AS TEXT): JSON numbers lose precision above 2^53.
function sql(query) {
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		const out = execFileSync('psql', [server.db, '-At', '-v', 'ON_ERROR_STOP=1', '-c',
			`SELECT COALESCE(json_agg(row_to_json(q)), '[]'::json) FROM (${query}) q`], { encoding: 'utf8' });
		return JSON.parse(out.trim() || '[]');
	}
	const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', server.db, query], { encoding: 'utf8' });
	return out.trim() ? JSON.parse(out) : [];
}

function sqlRun(statement) {
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		execFileSync('psql', [server.db, '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement]);
	} else {
		execFileSync('sqlite3', ['-cmd', '.timeout 5000', server.db, statement]);
	}
}

// Creates a service account as the super admin. Returns {gid, token, tokenGid, body}.
async function createAccount(name, permissions, extra = {}) {
	const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name, permissions, ...extra });
	assert.equal(res.status, 201, res.text);
	minted.push(res.body.data.token);
	return { gid: res.body.data.gid, token: res.body.data.token, tokenGid: res.body.data.token_gid, body: res.body };
}

function auditRows(resourceGid) {
	return sql(`SELECT event_type, event_category, actor_type, CAST(actor_gid AS TEXT) AS actor_gid, actor_name,
		actor_email, resource_type, resource_subtype, CAST(resource_gid AS TEXT) AS resource_gid, resource_name,
		details, auth_method, client_ip, CAST(token_gid AS TEXT) AS token_gid
		FROM audit_log WHERE resource_gid = ${resourceGid} ORDER BY gid`);
}

// Encodes a w×h opaque RGB PNG of one colour.
function solidPng(width, height) {
	const chunk = (type, data) => {
		const length = Buffer.alloc(4);
		length.writeUInt32BE(data.length);
		const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
		const crc = Buffer.alloc(4);
		crc.writeUInt32BE(zlib.crc32(body));
		return Buffer.concat([length, body, crc]);
	};
	const header = Buffer.alloc(13);
	header.writeUInt32BE(width, 0);
	header.writeUInt32BE(height, 4);
	header[8] = 8; // bit depth
	header[9] = 2; // colour type: RGB
	const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x40)]);
	const pixels = zlib.deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
	return Buffer.concat([
		Buffer.from('89504e470d0a1a0a', 'hex'),
		chunk('IHDR', header),
		chunk('IDAT', pixels),
		chunk('IEND', Buffer.alloc(0)),
	]);
}

before(async () => {
	server = await startServer({ org: 'Service Org', plan: 'enterprise_plus' });
	admin = api(server, server.adminToken);
	minted.push(server.adminToken);

	for (const role of ['admin', 'member', 'guest']) {
		people[role] = await server.addUser({ email: `${role}@sa.test`, name: `The ${role}`, role });
		minted.push(people[role].token);
	}
	people.member2 = await server.addUser({ email: 'member2@sa.test', name: 'Second Member', role: 'member' });
	minted.push(people.member2.token);
	people.division_admin = await server.addUser({ email: 'div@sa.test', name: 'Division Admin', role: 'admin' });
	minted.push(people.division_admin.token);
	await server.cli(['division', 'add', '--db', server.db, '--org', server.orgGid, '--name', 'Nordics', '--email', 'div@sa.test']);

	accounts.full = await createAccount('Full bot', 'full');
	accounts.read = await createAccount('Read bot', ['read']);
	accounts.scim = await createAccount('SCIM bot', ['scim']);
	accounts.exports = await createAccount('Exports bot', ['exports']);
	accounts.audit_logs = await createAccount('Audit bot', ['audit_logs']);

	// A revoked token and an expired token of full accounts.
	accounts.revoked = await createAccount('Revoked bot', 'full');
	let res = await admin.del(`/service_accounts/${accounts.revoked.gid}/tokens/${accounts.revoked.tokenGid}`);
	assert.equal(res.status, 200, res.text);
	accounts.expired = await createAccount('Expired bot', 'full');
	sqlRun(`UPDATE tokens SET expires_at = 1000000 WHERE gid = ${accounts.expired.tokenGid}`);

	// A second organization in the same database, with its own full service account.
	const orgGid = await server.cli(['init', '--db', server.db, '--org', 'Other Org', '--plan', 'enterprise', '--admin-email', 'boss@other.test'],
		{ KONTOR_ADMIN_PASSWORD: 'other-org-password-1' });
	const token = await server.cli(['token', 'create', '--db', server.db, '--email', 'boss@other.test', '--name', 'api test']);
	minted.push(token);
	res = await api(server, token).post(`/workspaces/${orgGid}/service_accounts`, { name: 'Other bot', permissions: 'full' });
	assert.equal(res.status, 201, res.text);
	minted.push(res.body.data.token);
	other = { orgGid, token, saToken: res.body.data.token, saGid: res.body.data.gid };
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

describe('permission matrix', () => {
	// Each endpoint with a target that exists; none of these requests may succeed for the callers below.
	const endpoints = () => {
		const sa = accounts.full.gid;
		return [
			['GET', `/workspaces/${server.orgGid}/service_accounts`],
			['POST', `/workspaces/${server.orgGid}/service_accounts`, { name: 'Nope', permissions: 'full' }],
			['GET', `/service_accounts/${sa}`],
			['PUT', `/service_accounts/${sa}`, { name: 'Renamed by intruder' }],
			['DELETE', `/service_accounts/${sa}`],
			['PUT', `/service_accounts/${sa}/photo`, 'raw'],
			['DELETE', `/service_accounts/${sa}/photo`],
			['GET', `/service_accounts/${sa}/tokens`],
			['POST', `/service_accounts/${sa}/tokens`, {}],
			['DELETE', `/service_accounts/${sa}/tokens/${accounts.full.tokenGid}`],
			['POST', `/service_accounts/${sa}/deauthorize`, {}],
		];
	};

	// A valid 8×8 PNG, so the photo endpoint's refusal is about the caller, not the image.
	const png = solidPng(8, 8);

	async function call(token, [method, path, body]) {
		const client = api(server, token);
		if (body === 'raw') {
			return client.raw(method, path, { headers: { 'content-type': 'image/png' }, body: png });
		}
		if (method === 'GET') {
			return client.get(path);
		}
		if (method === 'DELETE') {
			return client.del(path);
		}
		return method === 'POST' ? client.post(path, body) : client.put(path, body);
	}

	async function expectAll(token, status, messagePattern) {
		for (const endpoint of endpoints()) {
			const res = await call(token, endpoint);
			assert.equal(res.status, status, `${endpoint[0]} ${endpoint[1]}: ${res.text}`);
			assert.ok(Array.isArray(res.body.errors), `${endpoint[0]} ${endpoint[1]}: errors array expected`);
			if (messagePattern) {
				assert.match(res.body.errors[0].message, messagePattern, `${endpoint[0]} ${endpoint[1]}`);
			}
		}
	}

	for (const role of ['admin', 'member', 'guest']) {
		test(`${role} gets 403 everywhere`, async () => {
			await expectAll(people[role].token, 403, /super admins/);
		});
	}

	test('division admin gets 403 naming organization level', async () => {
		await expectAll(people.division_admin.token, 403, /organization level/);
	});

	test('full service account gets 403', async () => {
		await expectAll(accounts.full.token, 403, /cannot manage service accounts/);
	});

	test('read service account gets 403', async () => {
		await expectAll(accounts.read.token, 403);
	});

	for (const kind of ['scim', 'exports', 'audit_logs']) {
		test(`${kind}-only service account gets 403`, async () => {
			await expectAll(accounts[kind].token, 403, /scope/);
		});
	}

	test('revoked token gets 401', async () => {
		await expectAll(accounts.revoked.token, 401);
	});

	test('expired token gets 401', async () => {
		await expectAll(accounts.expired.token, 401);
	});

	test('service account of another organization gets 403', async () => {
		await expectAll(other.saToken, 403);
	});

	test('super admin of another organization gets 404', async () => {
		await expectAll(other.token, 404);
	});

	test('nothing changed after the refused requests', async () => {
		const res = await admin.get(`/service_accounts/${accounts.full.gid}`);
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.data.name, 'Full bot');
		assert.equal(res.body.data.photo, null);
		const live = res.body.data.tokens.filter((t) => t.status === 'active');
		assert.deepEqual(live.map((t) => t.gid), [accounts.full.tokenGid]);
		const me = await api(server, accounts.full.token).get('/users/me');
		assert.equal(me.status, 200, me.text);
		const list = await admin.get(`/workspaces/${server.orgGid}/service_accounts`);
		assert.ok(!list.body.data.some((a) => a.name === 'Nope'), 'no account was created');
	});

	test('super admin may call every endpoint', async () => {
		const target = await createAccount('Matrix target', 'full');
		const expected = {
			[`GET /workspaces/${server.orgGid}/service_accounts`]: 200,
			[`POST /workspaces/${server.orgGid}/service_accounts`]: 201,
			[`GET /service_accounts/${target.gid}`]: 200,
			[`PUT /service_accounts/${target.gid}`]: 200,
			[`PUT /service_accounts/${target.gid}/photo`]: 200,
			[`DELETE /service_accounts/${target.gid}/photo`]: 200,
			[`GET /service_accounts/${target.gid}/tokens`]: 200,
			[`POST /service_accounts/${target.gid}/tokens`]: 201,
			[`DELETE /service_accounts/${target.gid}/tokens/${target.tokenGid}`]: 200,
			[`POST /service_accounts/${target.gid}/deauthorize`]: 200,
			[`DELETE /service_accounts/${target.gid}`]: 200,
		};
		const saved = accounts.full;
		accounts.full = target; // endpoints() aims at accounts.full
		try {
			const list = endpoints();
			// Delete the account last.
			list.push(list.splice(4, 1)[0]);
			for (const endpoint of list) {
				const res = await call(server.adminToken, endpoint);
				const key = `${endpoint[0]} ${endpoint[1]}`;
				assert.equal(res.status, expected[key], `${key}: ${res.text}`);
				if (res.body.data && res.body.data.token) {
					minted.push(res.body.data.token);
				}
			}
		} finally {
			accounts.full = saved;
		}
	});
});

describe('plans', () => {
	test('non-enterprise organization gets 402 naming the plans', async () => {
		const small = await startServer({ org: 'Small Org', plan: 'advanced' });
		try {
			const client = api(small, small.adminToken);
			let res = await client.post(`/workspaces/${small.orgGid}/service_accounts`, { name: 'Bot', permissions: 'full' });
			assert.equal(res.status, 402, res.text);
			assert.match(res.body.errors[0].message, /enterprise, enterprise_plus or legacy_enterprise/);
			// Reading works on any plan, so the list is empty rather than refused.
			res = await client.get(`/workspaces/${small.orgGid}/service_accounts`);
			assert.equal(res.status, 200, res.text);
			assert.deepEqual(res.body.data, []);
			res = await client.get('/service_accounts/12345');
			assert.equal(res.status, 404, res.text);
			// Refused people still get 403 on any plan.
			const member = await small.addUser({ email: 'm@small.test', name: 'M' });
			res = await api(small, member.token).get(`/workspaces/${small.orgGid}/service_accounts`);
			assert.equal(res.status, 403, res.text);
		} finally {
			await small.stop();
		}
	});

	test('plan change blocks and restores service-account tokens', async () => {
		const bot = await createAccount('Plan bot', 'full');
		const client = api(server, bot.token);
		assert.equal((await client.get('/users/me')).status, 200);

		await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'starter']);
		try {
			let res = await client.get('/users/me');
			assert.equal(res.status, 402, res.text);
			assert.match(res.body.errors[0].message, /enterprise, enterprise_plus or legacy_enterprise/);
			res = await client.post('/tasks', { workspace: server.orgGid, name: 'blocked' });
			assert.equal(res.status, 402, res.text);
			res = await admin.post(`/service_accounts/${bot.gid}/tokens`, {});
			assert.equal(res.status, 402, res.text);
			// People keep working.
			res = await admin.get('/users/me');
			assert.equal(res.status, 200, res.text);
		} finally {
			await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'legacy_enterprise']);
		}
		assert.equal((await client.get('/users/me')).status, 200);
		assert.equal((await admin.get(`/service_accounts/${bot.gid}`)).status, 200);
		await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'enterprise_plus']);
	});

	test('ineligible plan still allows reads and revocation', async () => {
		const leaky = await createAccount('Leaky bot', 'full');
		const second = await admin.post(`/service_accounts/${leaky.gid}/tokens`, {});
		assert.equal(second.status, 201, second.text);
		minted.push(second.body.data.token);
		const deauthorized = await createAccount('Deauthorized on starter', ['read']);
		const doomed = await createAccount('Deleted on starter', 'full');
		const png = solidPng(8, 8);

		await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'starter']);
		try {
			// Reading works, so a super admin can find the token to revoke.
			let res = await admin.get(`/workspaces/${server.orgGid}/service_accounts`, { opt_fields: 'name,is_active,tokens.status' });
			assert.equal(res.status, 200, res.text);
			assert.ok(res.body.data.some((a) => a.gid === leaky.gid));
			res = await admin.get(`/service_accounts/${leaky.gid}`);
			assert.equal(res.status, 200, res.text);
			assert.equal(res.body.data.tokens.length, 2);
			res = await admin.get(`/service_accounts/${leaky.gid}/tokens`);
			assert.equal(res.status, 200, res.text);
			assert.equal(res.body.data.length, 2);

			// Creating, changing and minting stay behind the plan.
			const refused = [
				['POST', `/workspaces/${server.orgGid}/service_accounts`, () => admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name: 'Nope', permissions: 'full' })],
				['PUT name', `/service_accounts/${leaky.gid}`, () => admin.put(`/service_accounts/${leaky.gid}`, { name: 'Renamed' })],
				['PUT permissions', `/service_accounts/${leaky.gid}`, () => admin.put(`/service_accounts/${leaky.gid}`, { permissions: ['read'] })],
				['PUT photo', `/service_accounts/${leaky.gid}/photo`, () => admin.raw('PUT', `/service_accounts/${leaky.gid}/photo`, { headers: { 'content-type': 'image/png' }, body: png })],
				['DELETE photo', `/service_accounts/${leaky.gid}/photo`, () => admin.del(`/service_accounts/${leaky.gid}/photo`)],
				['POST tokens', `/service_accounts/${leaky.gid}/tokens`, () => admin.post(`/service_accounts/${leaky.gid}/tokens`, {})],
			];
			for (const [label, path, send] of refused) {
				res = await send();
				assert.equal(res.status, 402, `${label} ${path}: ${res.text}`);
				assert.match(res.body.errors[0].message, /enterprise, enterprise_plus or legacy_enterprise/);
			}

			// Taking access away works.
			res = await admin.del(`/service_accounts/${leaky.gid}/tokens/${leaky.tokenGid}`);
			assert.equal(res.status, 200, res.text);
			res = await admin.post(`/service_accounts/${deauthorized.gid}/deauthorize`, {});
			assert.equal(res.status, 200, res.text);
			assert.deepEqual(res.body.data.tokens.map((t) => t.status), ['revoked']);
			res = await admin.del(`/service_accounts/${doomed.gid}`);
			assert.equal(res.status, 200, res.text);
		} finally {
			await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'enterprise_plus']);
		}

		// Back on an eligible plan, only the tokens that were not revoked work again.
		assert.equal((await api(server, leaky.token).get('/users/me')).status, 401, 'revoked token');
		assert.equal((await api(server, second.body.data.token).get('/users/me')).status, 200, 'token left alone');
		assert.equal((await api(server, deauthorized.token).get('/users/me')).status, 401, 'deauthorized account');
		assert.equal((await api(server, doomed.token).get('/users/me')).status, 401, 'deleted account');
		const renamed = await admin.get(`/service_accounts/${leaky.gid}`);
		assert.equal(renamed.body.data.name, 'Leaky bot');
		assert.equal(renamed.body.data.permissions, 'full');
		assert.equal(renamed.body.data.photo, null);
		const events = auditRows(leaky.gid).map((r) => r.event_type);
		assert.ok(events.includes('service_account_token_revoked'), events.join(', '));
	});

	test('org set-plan rejects unknown plans and organizations', async () => {
		await assert.rejects(server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'gold']), /--plan/);
		await assert.rejects(server.cli(['org', 'set-plan', '--db', server.db, '--org', '123', '--plan', 'starter']), /no such organization/);
	});
});

describe('create, read, update, delete', () => {
	test('create returns the account and its token once', async () => {
		const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name: '  Reporting bot  ', permissions: ['scim', 'read'] });
		assert.equal(res.status, 201, res.text);
		minted.push(res.body.data.token);
		const sa = res.body.data;
		assert.equal(sa.resource_type, 'service_account');
		assert.match(sa.gid, /^\d+$/);
		assert.equal(sa.name, 'Reporting bot', 'surrounding spaces are trimmed');
		assert.equal(sa.email, `sa.${sa.gid}@service-accounts.kontor.invalid`);
		assert.equal(sa.photo, null);
		assert.deepEqual(sa.permissions, ['read', 'scim']);
		assert.equal(sa.is_active, true);
		assert.deepEqual(sa.workspace, { gid: server.orgGid, resource_type: 'workspace', name: 'Service Org' });
		assert.equal(sa.created_by.name, 'admin');
		assert.equal(sa.last_used_at, null);
		assert.equal(sa.last_used_ip, null);
		assert.match(sa.token, TOKEN_FORMAT);
		assert.equal(sa.token.slice(10, 26), BigInt(sa.token_gid).toString(16).padStart(16, '0'), 'token embeds its gid');
		assert.equal(sa.tokens.length, 1);
		assert.equal(sa.tokens[0].gid, sa.token_gid);
		assert.equal(sa.tokens[0].status, 'active');
		assert.equal(sa.tokens[0].expires_at, null);
		assert.equal(res.headers.location, `/api/1.0/service_accounts/${sa.gid}`);

		const get = await admin.get(`/service_accounts/${sa.gid}`);
		assert.equal(get.status, 200, get.text);
		assert.ok(!('token' in get.body.data), 'GET never returns a token');
		assert.ok(!get.text.includes(sa.token));
		assert.equal(get.body.data.name, 'Reporting bot');
	});

	test('token works like a personal token and records last use', async () => {
		const bot = await createAccount('Last use bot', 'full');
		const me = await api(server, bot.token).get('/users/me');
		assert.equal(me.status, 200, me.text);
		assert.equal(me.body.data.gid, bot.gid);
		assert.equal(me.body.data.name, 'Last use bot');
		const res = await admin.get(`/service_accounts/${bot.gid}`);
		assert.equal(res.body.data.last_used_ip, '127.0.0.1');
		assert.ok(Date.parse(res.body.data.last_used_at) > 0);
		assert.equal(res.body.data.tokens[0].last_used_ip, '127.0.0.1');
	});

	test('list is compact and paginates', async () => {
		let res = await admin.get(`/workspaces/${server.orgGid}/service_accounts`);
		assert.equal(res.status, 200, res.text);
		for (const item of res.body.data) {
			assert.deepEqual(Object.keys(item).sort(), ['gid', 'is_active', 'name', 'permissions', 'photo', 'resource_type']);
			assert.equal(typeof item.is_active, 'boolean');
		}
		const all = res.body.data.map((a) => a.gid);
		assert.ok(all.includes(accounts.full.gid));
		assert.ok(!all.includes(other.saGid), 'other organization hidden');

		const seen = [];
		let offset;
		for (let page = 0; page < 50; page++) {
			res = await admin.get(`/workspaces/${server.orgGid}/service_accounts`, { limit: 2, offset, opt_fields: 'name,last_used_at,tokens.status' });
			assert.equal(res.status, 200, res.text);
			assert.ok(res.body.data.length <= 2);
			for (const item of res.body.data) {
				assert.ok('last_used_at' in item);
				assert.ok(Array.isArray(item.tokens));
				seen.push(item.gid);
			}
			if (!res.body.next_page) {
				break;
			}
			offset = res.body.next_page.offset;
		}
		assert.deepEqual(seen, all);
		const full = seen.indexOf(accounts.full.gid);
		assert.ok(full >= 0);
	});

	test('list tokens field shows live tokens first', async () => {
		const bot = await createAccount('Order bot', 'full');
		const second = await admin.post(`/service_accounts/${bot.gid}/tokens`, {});
		minted.push(second.body.data.token);
		await admin.del(`/service_accounts/${bot.gid}/tokens/${bot.tokenGid}`);
		const third = await admin.post(`/service_accounts/${bot.gid}/tokens`, {});
		minted.push(third.body.data.token);
		const res = await admin.get(`/service_accounts/${bot.gid}`);
		assert.deepEqual(res.body.data.tokens.map((t) => [t.gid, t.status]), [
			[third.body.data.gid, 'active'],
			[second.body.data.gid, 'active'],
			[bot.tokenGid, 'revoked'],
		]);
	});

	test('rename and change permissions are audited', async () => {
		const bot = await createAccount('Old name', ['read']);
		let res = await admin.put(`/service_accounts/${bot.gid}`, { name: 'New name' });
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.data.name, 'New name');
		res = await admin.put(`/service_accounts/${bot.gid}`, { permissions: ['audit_logs', 'exports'] });
		assert.equal(res.status, 200, res.text);
		assert.deepEqual(res.body.data.permissions, ['audit_logs', 'exports']);
		// Unchanged values write no record.
		res = await admin.put(`/service_accounts/${bot.gid}`, { name: 'New name', permissions: ['exports', 'audit_logs'] });
		assert.equal(res.status, 200, res.text);

		// The new permissions apply to the very next request.
		res = await api(server, bot.token).get('/users/me');
		assert.equal(res.status, 403, res.text);
		res = await admin.put(`/service_accounts/${bot.gid}`, { permissions: 'full' });
		assert.equal(res.body.data.permissions, 'full');
		res = await api(server, bot.token).post('/tags', { workspace: server.orgGid, name: 'made by bot' });
		assert.equal(res.status, 201, res.text);

		const rows = auditRows(bot.gid);
		assert.deepEqual(rows.map((r) => r.event_type), [
			'service_account_created',
			'service_account_token_created',
			'service_account_renamed',
			'service_account_permissions_changed',
			'service_account_permissions_changed',
		]);
		const renamed = rows[2];
		assert.deepEqual(JSON.parse(renamed.details), { old_name: 'Old name', new_name: 'New name' });
		assert.equal(renamed.resource_name, 'New name');
		assert.deepEqual(JSON.parse(rows[3].details), { old_permissions: ['read'], new_permissions: ['audit_logs', 'exports'] });
		assert.deepEqual(JSON.parse(rows[4].details), { old_permissions: ['audit_logs', 'exports'], new_permissions: 'full' });
		const me = (await admin.get('/users/me')).body.data;
		for (const row of rows) {
			assert.equal(row.event_category, 'access_control');
			assert.equal(row.actor_type, 'user');
			assert.equal(row.actor_gid, me.gid);
			assert.equal(row.actor_email, server.adminEmail);
			assert.equal(row.resource_type, 'user');
			assert.equal(row.resource_subtype, 'service_account');
			assert.equal(row.resource_gid, bot.gid);
			assert.equal(row.auth_method, 'personal_access_token');
			assert.equal(row.client_ip, '127.0.0.1');
		}
		assert.deepEqual(JSON.parse(rows[0].details), { permissions: ['read'] });
		assert.equal(JSON.parse(rows[1].details).token_gid, bot.tokenGid);
	});

	test('delete keeps the user but ends all access', async () => {
		const bot = await createAccount('Doomed bot', 'full');
		const second = await admin.post(`/service_accounts/${bot.gid}/tokens`, {});
		minted.push(second.body.data.token);
		const botClient = api(server, bot.token);
		const task = await botClient.post('/tasks', { workspace: server.orgGid, name: 'Written by a bot', assignee: bot.gid });
		assert.equal(task.status, 201, task.text);

		const res = await admin.del(`/service_accounts/${bot.gid}`);
		assert.equal(res.status, 200, res.text);
		assert.deepEqual(res.body, { data: {} });

		assert.equal((await botClient.get('/users/me')).status, 401);
		assert.equal((await api(server, second.body.data.token).get('/users/me')).status, 401);
		assert.equal((await admin.get(`/service_accounts/${bot.gid}`)).status, 404);
		assert.equal((await admin.del(`/service_accounts/${bot.gid}`)).status, 404);
		assert.equal((await admin.get(`/service_accounts/${bot.gid}/tokens`)).status, 404);
		assert.equal((await admin.post(`/service_accounts/${bot.gid}/tokens`, {})).status, 404);

		// The user row stays, so its work still shows who did it.
		const user = await admin.get(`/users/${bot.gid}`);
		assert.equal(user.status, 200, user.text);
		assert.equal(user.body.data.name, 'Doomed bot');
		const got = await api(server, accounts.full.token).get(`/tasks/${task.body.data.gid}`);
		assert.equal(got.status, 200, got.text);
		assert.equal(got.body.data.assignee.gid, bot.gid);
		assert.equal(got.body.data.assignee.name, 'Doomed bot');
		const list = await admin.get(`/workspaces/${server.orgGid}/service_accounts`);
		assert.ok(!list.body.data.some((a) => a.gid === bot.gid));
		const users = await admin.get('/users', { workspace: server.orgGid });
		assert.ok(!users.body.data.some((u) => u.gid === bot.gid), 'inactive users are not listed');

		// A deleted account cannot be added back, and no access comes back: its tokens stay revoked,
		// and without its service_accounts row it gets no new token.
		const readd = await admin.post(`/workspaces/${server.orgGid}/addUser`, { user: bot.gid });
		assert.equal(readd.status, 409, readd.text);
		assert.match(readd.body.errors[0].message, /deleted and cannot be added back/);
		const stillHidden = await admin.get('/users', { workspace: server.orgGid });
		assert.ok(!stillHidden.body.data.some((u) => u.gid === bot.gid), 'the deleted account is listed again');
		assert.equal((await botClient.get('/users/me')).status, 401);
		assert.equal((await api(server, second.body.data.token).get('/users/me')).status, 401);
		assert.equal((await admin.get(`/service_accounts/${bot.gid}`)).status, 404);
		assert.equal((await admin.post(`/service_accounts/${bot.gid}/tokens`, {})).status, 404);
		const tokens = sql(`SELECT COUNT(*) AS n FROM tokens WHERE user_gid = ${bot.gid}`);
		assert.equal(Number(tokens[0].n), 2, 'no token was minted');
		const signIn = await fetch(`${server.url}/admin/session`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ email: `sa.${bot.gid}@service-accounts.kontor.invalid`, password: 'anything at all' }),
		});
		assert.equal(signIn.status, 401);

		const rows = auditRows(bot.gid).filter((r) => r.event_type === 'service_account_deleted');
		assert.equal(rows.length, 1);
		const details = JSON.parse(rows[0].details);
		assert.deepEqual(details.revoked_token_gids.sort(), [bot.tokenGid, second.body.data.gid].sort());
		assert.equal(details.permissions, 'full');
		const left = sql(`SELECT COUNT(*) AS n FROM service_accounts WHERE user_gid = ${bot.gid}`);
		assert.equal(Number(left[0].n), 0);
		const live = sql(`SELECT COUNT(*) AS n FROM tokens WHERE user_gid = ${bot.gid} AND revoked_at IS NULL`);
		assert.equal(Number(live[0].n), 0);
	});

	test('unknown and foreign gids are 404', async () => {
		for (const path of [`/service_accounts/1`, `/service_accounts/${other.saGid}`, `/service_accounts/${people.member.gid}`]) {
			const res = await admin.get(path);
			assert.equal(res.status, 404, `${path}: ${res.text}`);
			assert.match(res.body.errors[0].message, /service account not found/);
		}
		let res = await admin.get(`/workspaces/${other.orgGid}/service_accounts`);
		assert.equal(res.status, 404, res.text);
		res = await admin.get('/service_accounts/abc');
		assert.equal(res.status, 400, res.text);
		res = await admin.put(`/service_accounts/${other.saGid}`, { name: 'Hijacked' });
		assert.equal(res.status, 404, res.text);
		res = await api(server, other.token).get(`/service_accounts/${other.saGid}`);
		assert.equal(res.body.data.name, 'Other bot');
	});
});

describe('deactivation with removeUser', () => {
	test('removeUser deactivates and audits twice', async () => {
		const bot = await createAccount('Removed bot', ['read']);
		const second = await admin.post(`/service_accounts/${bot.gid}/tokens`, {});
		assert.equal(second.status, 201, second.text);
		minted.push(second.body.data.token);

		// Only super admins remove service accounts.
		let res = await api(server, people.admin.token).post(`/workspaces/${server.orgGid}/removeUser`, { user: bot.gid });
		assert.equal(res.status, 403, res.text);
		res = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: bot.gid });
		assert.equal(res.status, 200, res.text);
		assert.equal((await api(server, bot.token).get('/users/me')).status, 401);
		assert.equal((await api(server, second.body.data.token).get('/users/me')).status, 401);

		res = await admin.get(`/service_accounts/${bot.gid}`);
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.data.is_active, false);
		assert.deepEqual(res.body.data.tokens.map((t) => t.status), ['revoked', 'revoked']);
		const list = await admin.get(`/workspaces/${server.orgGid}/service_accounts`);
		assert.equal(list.body.data.find((a) => a.gid === bot.gid).is_active, false, 'the compact form shows it');
		assert.equal(list.body.data.find((a) => a.gid === accounts.full.gid).is_active, true);

		const me = (await admin.get('/users/me')).body.data;
		const revoked = [bot.tokenGid, second.body.data.gid].sort();
		let rows = auditRows(bot.gid).filter((r) => !r.event_type.startsWith('service_account_token_') && r.event_type !== 'service_account_created');
		assert.deepEqual(rows.map((r) => [r.event_type, r.event_category]), [
			['user_deprovisioned', 'user_access'],
			['service_account_deauthorized', 'access_control'],
		]);
		for (const row of rows) {
			assert.equal(row.actor_gid, me.gid);
			assert.equal(row.resource_type, 'user');
			assert.equal(row.resource_subtype, 'service_account');
			assert.equal(row.resource_name, 'Removed bot');
			assert.equal(row.auth_method, 'personal_access_token');
			assert.equal(row.client_ip, '127.0.0.1');
		}
		assert.deepEqual(JSON.parse(rows[0].details).revoked_token_gids.sort(), revoked);
		const deauthorized = JSON.parse(rows[1].details);
		assert.deepEqual(deauthorized.revoked_token_gids.sort(), revoked);
		assert.equal(deauthorized.reason, 'user_deprovisioned');

		// Removing it again changes nothing and writes nothing.
		const recorded = auditRows(bot.gid).length;
		res = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: bot.gid });
		assert.equal(res.status, 200, res.text);
		assert.equal(auditRows(bot.gid).length, recorded);

		res = await admin.post(`/workspaces/${server.orgGid}/addUser`, { user: bot.gid });
		assert.equal(res.status, 200, res.text);
		rows = auditRows(bot.gid);
		const last = rows[rows.length - 1];
		assert.equal(last.event_type, 'user_reprovisioned');
		assert.equal(last.event_category, 'user_access');
		assert.equal(last.resource_subtype, 'service_account');
		assert.equal(last.actor_gid, me.gid);
		res = await admin.get(`/service_accounts/${bot.gid}`);
		assert.equal(res.body.data.is_active, true);
		assert.equal((await api(server, bot.token).get('/users/me')).status, 401, 'reactivation revives no token');
	});
});

describe('bad input', () => {
	const create = (data) => admin.post(`/workspaces/${server.orgGid}/service_accounts`, data);
	const in3years = () => new Date(Date.now() + 3 * 365 * 86400e3).toISOString();

	const cases = [
		['empty name', { name: '', permissions: 'full' }, /^name: must not be empty/],
		['spaces-only name', { name: '    ', permissions: 'full' }, /^name: must not be empty/],
		['256-character name', { name: 'x'.repeat(256), permissions: 'full' }, /^name: must be at most 255 characters/],
		['256 two-byte characters', { name: 'å'.repeat(256), permissions: 'full' }, /^name: must be at most 255 characters/],
		['very long name', { name: 'x'.repeat(5000), permissions: 'full' }, /^name: /],
		['control character', { name: 'bad\u0001name', permissions: 'full' }, /^name: contains control characters/],
		['newline', { name: 'bad\nname', permissions: 'full' }, /^name: contains control characters/],
		['C1 control character', { name: 'bad\u0085name', permissions: 'full' }, /^name: contains control characters/],
		['bidi override', { name: 'bad\u202ename', permissions: 'full' }, /^name: contains line separators or bidirectional/],
		['right-to-left mark', { name: 'bad\u200fname', permissions: 'full' }, /^name: contains bidirectional marks/],
		['Arabic letter mark', { name: 'bad\u061cname', permissions: 'full' }, /^name: contains bidirectional marks/],
		['only no-break spaces', { name: '\u00a0\u00a0', permissions: 'full' }, /^name: has no visible characters/],
		['only zero-width and filler', { name: '\u200b\u3164\ufeff', permissions: 'full' }, /^name: has no visible characters/],
		['only tag characters', { name: '\u{e0041}\u{e0042}', permissions: 'full' }, /^name: has no visible characters/],
		['name not a string', { name: 42, permissions: 'full' }, /^name: must be a string/],
		['missing name', { permissions: 'full' }, /^name: missing/],
		['missing permissions', { name: 'Bot' }, /^permissions: missing/],
		['unknown scope', { name: 'Bot', permissions: ['read', 'admin'] }, /unknown scope "admin"\. Valid scopes: audit_logs, exports, read, scim/],
		['unknown permission string', { name: 'Bot', permissions: 'everything' }, /"full" or an array of one or more scopes from: audit_logs, exports, read, scim/],
		['empty scope list', { name: 'Bot', permissions: [] }, /non-empty array/],
		['duplicate scope', { name: 'Bot', permissions: ['read', 'read'] }, /listed twice/],
		['full beside a scope', { name: 'Bot', permissions: ['read', 'full'] }, /^permissions\[1\]: "full" cannot be combined with scopes/],
		['scope not a string', { name: 'Bot', permissions: [1] }, /must be a scope name/],
		['permissions object', { name: 'Bot', permissions: { full: true } }, /^permissions: must be the string "full"/],
		['unknown field', { name: 'Bot', permissions: 'full', scopes: ['read'] }, /data\.scopes: unknown field/],
		['read-only field', { name: 'Bot', permissions: 'full', gid: '1' }, /data\.gid: unknown field/],
		['token field', { name: 'Bot', permissions: 'full', token: 'x' }, /data\.token: unknown field/],
		['expiry in the past', { name: 'Bot', permissions: 'full', token_expires_at: '2020-01-01T00:00:00Z' }, /^token_expires_at: must be in the future/],
		['expiry over 2 years', { name: 'Bot', permissions: 'full', token_expires_at: in3years() }, /^token_expires_at: must be at most 730 days/],
		['expiry not a date', { name: 'Bot', permissions: 'full', token_expires_at: 'tomorrow' }, /^token_expires_at: must be an ISO 8601 date-time/],
	];
	for (const [label, data, pattern] of cases) {
		test(`create rejects ${label}`, async () => {
			const res = await create(typeof data === 'function' ? data() : data);
			assert.equal(res.status, 400, res.text);
			assert.match(res.body.errors[0].message, pattern);
			assert.ok(res.body.errors[0].help);
		});
	}

	test('create accepts 255 characters and unicode', async () => {
		const name = 'ö'.repeat(250) + ' 🤖🤖🤖';
		assert.equal([...name].length, 254);
		const bot = await createAccount(name, 'full');
		assert.equal(bot.body.data.name, name);
		const long = await createAccount('y'.repeat(255), ['exports']);
		assert.equal(long.body.data.name.length, 255);
	});

	test('create reads ["full"] as "full"', async () => {
		const bot = await createAccount('Full list bot', ['full']);
		assert.equal(bot.body.data.permissions, 'full');
		const changed = await admin.put(`/service_accounts/${bot.gid}`, { permissions: ['full'] });
		assert.equal(changed.status, 200, changed.text);
		assert.equal(changed.body.data.permissions, 'full');
	});

	test('create with token expiry sets it', async () => {
		const when = new Date(Date.now() + 7 * 86400e3).toISOString();
		const bot = await createAccount('Expiring bot', ['read'], { token_expires_at: when });
		assert.equal(bot.body.data.tokens[0].expires_at, when);
		assert.equal((await api(server, bot.token).get('/users/me')).status, 200);
	});

	test('malformed JSON bodies get 400', async () => {
		for (const body of ['{"data": {', 'not json', '[]', '{"name": "x"}', '{"data": "x"}']) {
			const res = await admin.raw('POST', `/workspaces/${server.orgGid}/service_accounts`, { headers: { 'content-type': 'application/json' }, body });
			assert.equal(res.status, 400, `${body}: ${res.text}`);
		}
	});

	test('update rejects bad names and scopes', async () => {
		const path = `/service_accounts/${accounts.read.gid}`;
		for (const [data, pattern] of [
			[{ name: '' }, /^name: must not be empty/],
			[{ name: 'z'.repeat(256) }, /^name: must be at most 255/],
			[{ name: 'tab\there' }, /^name: contains control characters/],
			[{ permissions: ['root'] }, /unknown scope "root"/],
			[{ permissions: null }, /^permissions: may not be null/],
			[{ token_expires_at: null }, /unknown field/],
		]) {
			const res = await admin.put(path, data);
			assert.equal(res.status, 400, res.text);
			assert.match(res.body.errors[0].message, pattern);
		}
		const res = await admin.get(path);
		assert.equal(res.body.data.name, 'Read bot');
		assert.deepEqual(res.body.data.permissions, ['read']);
	});
});

describe('service accounts in the data', () => {
	let team;
	let privateProject;
	let privateTask;

	before(async () => {
		const member = api(server, people.member.token);
		let res = await member.post('/teams', { organization: server.orgGid, name: 'Secret team', visibility: 'secret' });
		assert.equal(res.status, 201, res.text);
		team = res.body.data.gid;
		res = await member.post('/projects', { workspace: server.orgGid, team, name: 'Private plans', privacy_setting: 'private' });
		assert.equal(res.status, 201, res.text);
		privateProject = res.body.data.gid;
		res = await member.post('/tasks', { workspace: server.orgGid, name: 'Private task', projects: [privateProject] });
		assert.equal(res.status, 201, res.text);
		privateTask = res.body.data.gid;
	});

	test('GET /users/{gid} of a service account', async () => {
		const res = await api(server, people.member.token).get(`/users/${accounts.full.gid}`);
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.data.resource_type, 'user');
		assert.equal(res.body.data.name, 'Full bot');
		const me = await api(server, accounts.read.token).get('/users/me');
		assert.equal(me.body.data.gid, accounts.read.gid);
	});

	test('full account reads a private project no person sees', async () => {
		for (const token of [people.member2.token, server.adminToken, people.admin.token]) {
			assert.equal((await api(server, token).get(`/projects/${privateProject}`)).status, 404);
			assert.equal((await api(server, token).get(`/tasks/${privateTask}`)).status, 404);
		}
		for (const bot of [accounts.full, accounts.read]) {
			let res = await api(server, bot.token).get(`/projects/${privateProject}`);
			assert.equal(res.status, 200, res.text);
			assert.equal(res.body.data.name, 'Private plans');
			res = await api(server, bot.token).get(`/tasks/${privateTask}`);
			assert.equal(res.status, 200, res.text);
		}
		const res = await api(server, other.saToken).get(`/projects/${privateProject}`);
		assert.equal(res.status, 404, 'nothing outside its organization');
	});

	test('read account cannot write', async () => {
		const client = api(server, accounts.read.token);
		for (const [method, path, data] of [
			['post', '/tasks', { workspace: server.orgGid, name: 'nope' }],
			['put', `/tasks/${privateTask}`, { name: 'nope' }],
			['post', `/tasks/${privateTask}/stories`, { text: 'nope' }],
		]) {
			const res = await client[method](path, data);
			assert.equal(res.status, 403, `${path}: ${res.text}`);
			assert.match(res.body.errors[0].message, /`full`/);
		}
		const res = await client.get(`/tasks/${privateTask}/stories`);
		assert.equal(res.status, 200, res.text);
	});

	test('scim-only account cannot read tasks', async () => {
		for (const kind of ['scim', 'exports', 'audit_logs']) {
			const res = await api(server, accounts[kind].token).get(`/tasks/${privateTask}`);
			assert.equal(res.status, 403, res.text);
			assert.match(res.body.errors[0].message, /scope `read`/);
		}
	});

	test('assignee, follower, commenter and member', async () => {
		const bot = accounts.full;
		const botClient = api(server, bot.token);
		const member = api(server, people.member.token);

		let res = await member.put(`/tasks/${privateTask}`, { assignee: bot.gid });
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.data.assignee.gid, bot.gid);
		res = await member.post(`/tasks/${privateTask}/addFollowers`, { followers: [bot.gid] });
		assert.equal(res.status, 200, res.text);
		assert.ok(res.body.data.followers.some((f) => f.gid === bot.gid));

		res = await botClient.post(`/tasks/${privateTask}/stories`, { text: 'Nightly import finished' });
		assert.equal(res.status, 201, res.text);
		assert.equal(res.body.data.created_by.gid, bot.gid);

		res = await member.post(`/teams/${team}/addUser`, { user: bot.gid });
		assert.equal(res.status, 200, res.text);
		res = await member.post(`/projects/${privateProject}/addMembers`, { members: [accounts.scim.gid] });
		assert.equal(res.status, 200, res.text);
		res = await member.get(`/projects/${privateProject}/project_memberships`);
		assert.ok(res.body.data.some((m) => m.member && m.member.gid === accounts.scim.gid), res.text);
		res = await member.get(`/teams/${team}/users`);
		assert.ok(res.body.data.some((u) => u.gid === bot.gid), res.text);

		// Writes by the full account land like anyone's.
		res = await botClient.post('/tasks', { workspace: server.orgGid, name: 'Bot task', projects: [privateProject], assignee: people.member.gid });
		assert.equal(res.status, 201, res.text);
		assert.equal(res.body.data.created_by.gid, bot.gid);
	});
});

describe('secrets', () => {
	test('no token in the log or the database', async () => {
		const logs = server.logs();
		assert.ok(!/kontor_sa_/.test(logs), 'service-account token prefix in the log');
		assert.ok(!/kontor_pat_/.test(logs), 'personal token prefix in the log');

		let stored;
		if (/^postgres(ql)?:\/\//.test(server.db)) {
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
