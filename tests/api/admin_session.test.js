'use strict';
// Admin-console sessions and the console's server side: POST/GET/DELETE
// /admin/session (cookie, CSRF, throttling, audit records), the session
// cookie on /api/1.0, the static files under /admin/, and kontor's role
// extension PUT /api/1.0/workspace_memberships/{workspace_membership_gid}.
//
// Audit rows, sessions and throttling counters are read and changed with the
// sqlite3 or psql command-line client, whichever matches the test database.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startServer, api } = require('./lib/server');

const CSP =
	"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; " +
	"base-uri 'none'; form-action 'self'";
const INVALID = 'Invalid e-mail address or password';
const PASSWORD = 'correct horse battery staple';

let server;
let admin; // api() with the super admin's token
let webDir;
let outsideFile; // a file beside webDir that a symbolic link inside it points to
const secrets = []; // passwords, cookies and CSRF tokens that must not appear in the log
const people = {}; // name → {gid, email, token, membershipGid}
let serviceAccount; // {gid, email, membershipGid}
let other; // a second organization: {orgGid, membershipGid}

// ---------- database access through the command-line clients ----------

function isPostgres() {
	return /^postgres(ql)?:\/\//.test(server.db);
}

// Runs SQL and returns the result rows as objects. gids must be cast to TEXT
// in the query, because JSON numbers lose precision past 2^53.
function sql(statement) {
	let out;
	if (isPostgres()) {
		out = execFileSync('psql', [server.db, '-v', 'ON_ERROR_STOP=1', '-At', '-c',
			`SELECT COALESCE(json_agg(t), '[]') FROM (${statement}) t`], { encoding: 'utf8' });
	} else {
		out = execFileSync('sqlite3', ['-json', server.db, statement], { encoding: 'utf8' });
	}
	out = out.trim();
	return out ? JSON.parse(out) : [];
}

function sqlRun(statement) {
	if (isPostgres()) {
		execFileSync('psql', [server.db, '-v', 'ON_ERROR_STOP=1', '-q', '-c', statement]);
	} else {
		execFileSync('sqlite3', [server.db, statement]);
	}
}

function auditRows(eventType) {
	return sql(`SELECT event_type, event_category, actor_type, CAST(actor_gid AS TEXT) AS actor_gid,
		resource_type, resource_subtype, CAST(resource_gid AS TEXT) AS resource_gid, details, auth_method, client_ip
		FROM audit_log WHERE event_type = '${eventType}' ORDER BY gid`).map((row) => ({
		...row,
		details: JSON.parse(row.details),
	}));
}

// ---------- HTTP helpers ----------

// Sends a request to the server root (not /api/1.0) and returns {status, headers, body, text}.
async function request(method, urlPath, { headers = {}, body } = {}) {
	const res = await fetch(server.url + urlPath, { method, headers, body, redirect: 'manual' });
	const text = await res.text();
	let parsed = text;
	if (/^application\/json/i.test(res.headers.get('content-type') || '') && text) {
		parsed = JSON.parse(text);
	}
	return { status: res.status, headers: res.headers, body: parsed, text };
}

// Sends a path exactly as written, since fetch would resolve "..", "%2e%2e" and the like first.
function rawGet(rawPath) {
	const { port } = new URL(server.url);
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
			let text = '';
			res.setEncoding('utf8');
			res.on('data', (chunk) => { text += chunk; });
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
		});
		req.on('error', reject);
		req.end();
	});
}

function signIn(email, password, headers = {}) {
	return request('POST', '/admin/session', {
		headers: { 'content-type': 'application/json', ...headers },
		body: JSON.stringify({ email, password }),
	});
}

// Signs in and returns {cookie: "kontor_session=...", value, csrf, res}.
async function session(email, password) {
	const res = await signIn(email, password);
	assert.equal(res.status, 200, res.text);
	const setCookie = res.headers.get('set-cookie');
	const value = /^kontor_session=([^;]+)/.exec(setCookie)[1];
	secrets.push(value, res.body.data.csrf_token);
	return { cookie: `kontor_session=${value}`, value, csrf: res.body.data.csrf_token, res };
}

async function setPassword(email, password) {
	secrets.push(password);
	await server.cli(['user', 'set-password', '--db', server.db, '--email', email], { KONTOR_PASSWORD: password });
}

async function membershipGid(userGid) {
	const res = await admin.get(`/workspaces/${server.orgGid}/workspace_memberships`, { user: userGid });
	assert.equal(res.status, 200, res.text);
	return res.body.data[0].gid;
}

function putRole(client, membership, role) {
	return client.put(`/workspace_memberships/${membership}`, { role });
}

// ---------- setup ----------

before(async () => {
	// A stand-in for web/admin: two served files, and files that must never be served.
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-web-'));
	webDir = path.join(root, 'admin');
	fs.mkdirSync(path.join(webDir, 'i18n'), { recursive: true });
	fs.writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>kontor admin</title>\n');
	fs.writeFileSync(path.join(webDir, 'app.js'), 'console.log("console");\n');
	fs.writeFileSync(path.join(webDir, 'i18n', 'sv.json'), '{"sign_in": "Logga in"}\n');
	fs.writeFileSync(path.join(webDir, '.hidden'), 'hidden\n');
	fs.writeFileSync(path.join(webDir, '.env.json'), '{"secret": true}\n');
	fs.writeFileSync(path.join(webDir, 'notes.txt'), 'notes\n');
	fs.writeFileSync(path.join(webDir, 'README'), 'no extension\n');
	outsideFile = path.join(root, 'outside.json');
	fs.writeFileSync(outsideFile, '{"outside": true}\n');
	fs.symlinkSync(outsideFile, path.join(webDir, 'escape.json'));
	process.env.KONTOR_WEB_DIR = webDir;

	server = await startServer({ org: 'Session Org', plan: 'enterprise' });
	admin = api(server, server.adminToken);
	secrets.push(server.adminPassword, server.adminToken);

	for (const [name, role] of [['second', 'super_admin'], ['adm', 'admin'], ['mem', 'member'], ['guest', 'guest'],
		['throttled', 'member'], ['leaver', 'member'], ['sleeper', 'member'], ['readded', 'member']]) {
		const user = await server.addUser({ email: `${name}@example.test`, name: `Person ${name}`, role });
		secrets.push(user.token);
		people[name] = { ...user, membershipGid: await membershipGid(user.gid) };
	}
	people.admin = {
		gid: (await admin.get('/users/me')).body.data.gid,
		email: server.adminEmail,
	};
	people.admin.membershipGid = await membershipGid(people.admin.gid);
	// One Argon2id hash made by the CLI, copied to the others to save the hashing time.
	await setPassword(people.second.email, PASSWORD);
	sqlRun(`UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE gid = ${people.second.gid})
		WHERE gid IN (${['mem', 'throttled', 'leaver', 'sleeper', 'readded'].map((name) => people[name].gid).join(', ')})`);

	// A service account as the service-account API stores one: a user of kind
	// service_account with a membership and a row in service_accounts. It is
	// made here with the CLI and SQL so that this file does not depend on that API.
	const sa = await server.addUser({ email: 'sa.robot@service-accounts.kontor.invalid', name: 'Robot', role: 'member' });
	sqlRun(`UPDATE users SET kind = 'service_account' WHERE gid = ${sa.gid}`);
	sqlRun(`INSERT INTO service_accounts (user_gid, workspace_gid, scopes, created_by, created_at, modified_at)
		VALUES (${sa.gid}, ${server.orgGid}, 'full', ${people.admin.gid}, 1, 1)`);
	serviceAccount = { gid: sa.gid, email: sa.email, membershipGid: await membershipGid(sa.gid) };

	// A second organization in the same database, for the cross-organization checks.
	const otherOrg = await server.cli(['init', '--db', server.db, '--org', 'Other Org', '--plan', 'enterprise',
		'--admin-email', 'boss@other.test'], { KONTOR_ADMIN_PASSWORD: 'other organization password' });
	other = {
		orgGid: otherOrg,
		membershipGid: sql(`SELECT CAST(gid AS TEXT) AS gid FROM workspace_memberships WHERE workspace_gid = ${otherOrg}`)[0].gid,
	};
});

after(async () => {
	delete process.env.KONTOR_WEB_DIR;
	if (server) {
		await server.stop();
	}
	fs.rmSync(path.dirname(webDir), { recursive: true, force: true });
});

// ---------- sign-in ----------

test('sign-in sets the session cookie', async () => {
	const { res, csrf } = await session(server.adminEmail, server.adminPassword);
	const cookie = res.headers.get('set-cookie');
	const attributes = cookie.split(';').map((part) => part.trim());

	assert.match(attributes[0], /^kontor_session=[0-9a-f]{16}\.[0-9A-Za-z]{43}$/);
	assert.ok(attributes.includes('HttpOnly'), cookie);
	assert.ok(attributes.includes('SameSite=Strict'), cookie);
	assert.ok(attributes.includes('Path=/'), cookie);
	assert.ok(attributes.includes('Max-Age=43200'), cookie);
	assert.ok(!attributes.includes('Secure'), 'no Secure attribute on plain HTTP');
	assert.match(csrf, /^[0-9a-f]{64}$/);
	assert.equal(res.headers.get('cache-control'), 'no-store');

	const data = res.body.data;
	assert.equal(data.user.gid, people.admin.gid);
	assert.equal(data.user.email, server.adminEmail);
	assert.equal(data.user.photo, null);
	assert.equal(data.workspace.gid, server.orgGid);
	assert.equal(data.workspace.plan, 'enterprise');
	assert.equal(data.role, 'super_admin');
	assert.equal(data.division_admin, false);
	assert.equal(data.service_accounts_available, true);
});

test('sign-in accepts the body wrapped in data', async () => {
	const res = await request('POST', '/admin/session', {
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ data: { email: people.mem.email, password: PASSWORD } }),
	});
	assert.equal(res.status, 200, res.text);
	secrets.push(/^kontor_session=([^;]+)/.exec(res.headers.get('set-cookie'))[1]);
	assert.equal(res.body.data.role, 'member');
});

test('session GET returns the signed-in person', async () => {
	const s = await session(people.second.email, PASSWORD);
	const res = await request('GET', '/admin/session', { headers: { cookie: s.cookie } });

	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.csrf_token, s.csrf);
	assert.equal(res.body.data.user.gid, people.second.gid);
	assert.equal(res.body.data.role, 'super_admin');
	assert.equal((await request('GET', '/admin/session')).status, 401);
	assert.equal((await request('GET', '/admin/session', { headers: { cookie: 'kontor_session=garbage' } })).status, 401);
});

test('session cookie authenticates API reads', async () => {
	const s = await session(people.mem.email, PASSWORD);
	const client = api(server, null);
	const res = await client.raw('GET', '/users/me', { headers: { cookie: s.cookie } });

	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.gid, people.mem.gid);
});

test('session writes need the CSRF token', async () => {
	const s = await session(people.mem.email, PASSWORD);
	const client = api(server, null);
	const body = JSON.stringify({ data: { name: 'csrf tag', workspace: server.orgGid } });
	const json = { 'content-type': 'application/json', cookie: s.cookie };

	const missing = await client.raw('POST', '/tags', { headers: json, body });
	assert.equal(missing.status, 403, missing.text);
	assert.match(missing.body.errors[0].message, /CSRF/);

	const wrong = await client.raw('POST', '/tags', { headers: { ...json, 'x-csrf-token': '0'.repeat(64) }, body });
	assert.equal(wrong.status, 403, wrong.text);

	const another = await session(people.second.email, PASSWORD);
	const foreign = await client.raw('POST', '/tags', { headers: { ...json, 'x-csrf-token': another.csrf }, body });
	assert.equal(foreign.status, 403, 'the CSRF token of another session is refused');

	const ok = await client.raw('POST', '/tags', { headers: { ...json, 'x-csrf-token': s.csrf }, body });
	assert.equal(ok.status, 201, ok.text);
});

test('sign-out revokes the session', async () => {
	const s = await session(people.mem.email, PASSWORD);
	const client = api(server, null);

	const noCsrf = await request('DELETE', '/admin/session', { headers: { cookie: s.cookie } });
	assert.equal(noCsrf.status, 403, noCsrf.text);
	assert.equal((await request('GET', '/admin/session', { headers: { cookie: s.cookie } })).status, 200);

	const out = await request('DELETE', '/admin/session', { headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
	assert.equal(out.status, 200, out.text);
	assert.match(out.headers.get('set-cookie'), /^kontor_session=; .*Max-Age=0/);

	assert.equal((await request('GET', '/admin/session', { headers: { cookie: s.cookie } })).status, 401);
	const me = await client.raw('GET', '/users/me', { headers: { cookie: s.cookie } });
	assert.equal(me.status, 401, me.text);
	const again = await request('DELETE', '/admin/session', { headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
	assert.equal(again.status, 401);
});

test('wrong password and unknown e-mail look alike', async () => {
	secrets.push('not the password at all');
	const wrong = await signIn(people.mem.email, 'not the password at all');
	const unknown = await signIn('nobody@example.test', 'not the password at all');
	const stranger = await signIn('nobody@nowhere.test', 'not the password at all');

	assert.equal(wrong.status, 401, wrong.text);
	assert.equal(unknown.status, 401, unknown.text);
	assert.equal(stranger.status, 401, stranger.text);
	assert.deepEqual(stranger.body, wrong.body);
	assert.equal(wrong.body.errors[0].message, INVALID);
	assert.deepEqual(unknown.body, wrong.body);
	assert.equal(wrong.headers.get('set-cookie'), null);
});

test('failed sign-ins are audited without the password', async () => {
	const failed = auditRows('user_login_failed');
	const wrong = failed.find((row) => row.details.email === people.mem.email);
	const unknown = failed.find((row) => row.details.email === 'nobody@example.test');
	const stranger = failed.find((row) => row.details.email === 'nobody@nowhere.test');

	assert.ok(wrong, JSON.stringify(failed));
	assert.equal(wrong.actor_type, 'anonymous');
	assert.equal(wrong.actor_gid, null);
	assert.equal(wrong.event_category, 'logins');
	assert.equal(wrong.resource_gid, people.mem.gid);
	assert.equal(wrong.details.reason, 'wrong_password');
	assert.equal(wrong.auth_method, 'password');
	assert.equal(wrong.client_ip, '127.0.0.1');
	// init gave Session Org the domain of its admin's address, example.test.
	assert.ok(unknown, 'an unknown address of the organization\'s domain has an audit row');
	assert.equal(unknown.details.reason, 'unknown_email');
	assert.equal(unknown.actor_type, 'anonymous');
	assert.equal(unknown.resource_gid, null);
	assert.equal(stranger, undefined, 'an unknown address of no organization\'s domain has no audit row');
	const all = JSON.stringify(sql('SELECT details FROM audit_log'));
	assert.ok(!all.includes('not the password at all'), 'no password in audit details');

	const succeeded = auditRows('user_login_succeeded');
	const mine = succeeded.find((row) => row.actor_gid === people.admin.gid);
	assert.ok(mine, JSON.stringify(succeeded));
	assert.equal(mine.actor_type, 'user');
	assert.equal(mine.auth_method, 'password');
});

test('failed sign-in of a domain address reaches its organization', async () => {
	await server.cli(['org', 'set-email-domains', '--db', server.db, '--org', other.orgGid,
		'--domains', 'other.test, Elsewhere.TEST']);
	const res = await signIn('ghost@ELSEWHERE.test', 'not the password at all');
	assert.equal(res.status, 401);
	const row = sql(`SELECT CAST(workspace_gid AS TEXT) AS workspace_gid, details FROM audit_log
		WHERE event_type = 'user_login_failed' AND workspace_gid = ${other.orgGid}`);
	assert.equal(row.length, 1, JSON.stringify(row));
	assert.equal(JSON.parse(row[0].details).reason, 'unknown_email');
});

test('bad sign-in bodies are rejected', async () => {
	const form = await request('POST', '/admin/session', {
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: `email=${encodeURIComponent(people.mem.email)}&password=x`,
	});
	assert.equal(form.status, 415, form.text);

	const large = await signIn(people.mem.email, 'x'.repeat(5000));
	assert.equal(large.status, 413, large.text);

	const extra = await request('POST', '/admin/session', {
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email: people.mem.email, password: 'x', remember: true }),
	});
	assert.equal(extra.status, 400, extra.text);
	assert.match(extra.body.errors[0].message, /remember/);

	for (const body of ['{', '[]', '{"email": "no-at-sign", "password": "x"}', '{"email": "a@b.test"}',
		'{"email": "a@b.test", "password": ""}', '{"email": 5, "password": "x"}']) {
		const res = await request('POST', '/admin/session', { headers: { 'content-type': 'application/json' }, body });
		assert.equal(res.status, 400, `${body}: ${res.text}`);
	}

	const crossSite = await signIn(people.mem.email, PASSWORD, { 'sec-fetch-site': 'cross-site' });
	assert.equal(crossSite.status, 403, crossSite.text);

	const put = await request('PUT', '/admin/session');
	assert.equal(put.status, 405);
	assert.equal(put.headers.get('allow'), 'GET, POST, DELETE');
});

test('deactivated person cannot sign in', async () => {
	const s = await session(people.leaver.email, PASSWORD);
	sqlRun(`UPDATE workspace_memberships SET is_active = 0 WHERE user_gid = ${people.leaver.gid}`);

	const res = await signIn(people.leaver.email, PASSWORD);
	assert.equal(res.status, 401, res.text);
	assert.equal(res.body.errors[0].message, INVALID);
	assert.equal((await request('GET', '/admin/session', { headers: { cookie: s.cookie } })).status, 401,
		'the open session ends with the membership');
	const row = auditRows('user_login_failed').find((r) => r.resource_gid === people.leaver.gid);
	assert.equal(row.details.reason, 'deactivated');
});

test('removeUser ends sessions for good', async () => {
	const s = await session(people.readded.email, PASSWORD);
	const removed = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: people.readded.gid });
	assert.equal(removed.status, 200, removed.text);
	assert.equal((await request('GET', '/admin/session', { headers: { cookie: s.cookie } })).status, 401);

	const added = await admin.post(`/workspaces/${server.orgGid}/addUser`, { user: people.readded.gid });
	assert.equal(added.status, 200, added.text);
	assert.equal((await request('GET', '/admin/session', { headers: { cookie: s.cookie } })).status, 401,
		'adding the person back revived the old session');

	const rows = sql(`SELECT actor_name, actor_email FROM audit_log WHERE event_type = 'user_deprovisioned'
		AND resource_gid = ${people.readded.gid}`);
	assert.equal(rows.length, 1);
	assert.equal(rows[0].actor_email, server.adminEmail, 'the audit record does not name the actor');
	assert.ok(rows[0].actor_name, 'the audit record has no actor name');
});

test('service account cannot sign in', async () => {
	const res = await signIn(serviceAccount.email, 'any password at all');
	assert.equal(res.status, 401, res.text);
	assert.equal(res.body.errors[0].message, INVALID);

	const rows = auditRows('service_account_login_refused');
	assert.equal(rows.length, 1, JSON.stringify(rows));
	assert.equal(rows[0].resource_type, 'user');
	assert.equal(rows[0].resource_subtype, 'service_account');
	assert.equal(rows[0].resource_gid, serviceAccount.gid);
	assert.equal(rows[0].actor_type, 'anonymous');
	assert.equal(rows[0].details.email, serviceAccount.email);
	assert.equal(rows[0].event_category, 'logins');
});

test('eleventh failure for one e-mail is throttled', async () => {
	const email = people.throttled.email;
	for (let i = 0; i < 10; i++) {
		const res = await signIn(email, `wrong guess ${i}`);
		assert.equal(res.status, 401, `attempt ${i + 1}: ${res.text}`);
	}
	const blocked = await signIn(email, PASSWORD);
	assert.equal(blocked.status, 429, blocked.text);
	const retryAfter = Number(blocked.headers.get('retry-after'));
	assert.ok(retryAfter >= 1, `Retry-After ${retryAfter}`);
	assert.ok(retryAfter <= 900, `Retry-After ${retryAfter}`);
	assert.equal(blocked.headers.get('set-cookie'), null);

	const elsewhere = await signIn(people.mem.email, PASSWORD);
	assert.equal(elsewhere.status, 200, 'other addresses are not throttled');
	secrets.push(/^kontor_session=([^;]+)/.exec(elsewhere.headers.get('set-cookie'))[1]);
});

test('successful sign-in clears that address\'s failures', async () => {
	const email = people.sleeper.email;
	for (let i = 0; i < 3; i++) {
		assert.equal((await signIn(email, `wrong guess ${i}`)).status, 401);
	}
	const count = () => Number(sql(`SELECT count(*) AS n FROM login_failures WHERE email_lower = '${email}'`)[0].n);
	assert.equal(count(), 3);
	await session(email, PASSWORD);
	assert.equal(count(), 0);
});

test('fifty failures from one IP are throttled', async () => {
	const now = Date.now() * 1000;
	const rows = Array.from({ length: 50 }, (_, i) => `(${9000000000 + i}, 'spray${i}@example.test', '127.0.0.1', ${now})`);
	sqlRun(`INSERT INTO login_failures (gid, email_lower, client_ip, created_at) VALUES ${rows.join(', ')}`);
	const res = await signIn(people.mem.email, PASSWORD);
	assert.equal(res.status, 429, res.text);
	assert.ok(Number(res.headers.get('retry-after')) > 800, res.headers.get('retry-after'));
	sqlRun("DELETE FROM login_failures WHERE client_ip = '127.0.0.1'");
	assert.equal((await signIn(people.throttled.email, PASSWORD)).status, 200,
		'the address counter was cleared with the rows too');
});

test('expired session is refused', async () => {
	const s = await session(people.sleeper.email, PASSWORD);
	const client = api(server, null);
	assert.equal((await client.raw('GET', '/users/me', { headers: { cookie: s.cookie } })).status, 200);

	sqlRun(`UPDATE sessions SET expires_at = 1 WHERE user_gid = ${people.sleeper.gid}`);
	assert.equal((await client.raw('GET', '/users/me', { headers: { cookie: s.cookie } })).status, 401);
	assert.equal((await request('GET', '/admin/session', { headers: { cookie: s.cookie } })).status, 401);
});

test('session use updates last_seen_at', async () => {
	const s = await session(people.mem.email, PASSWORD);
	const gid = BigInt('0x' + s.value.split('.')[0]).toString();
	const lastSeen = () => Number(sql(`SELECT last_seen_at FROM sessions WHERE gid = ${gid}`)[0].last_seen_at);
	const created = lastSeen();

	assert.equal((await request('GET', '/admin/session', { headers: { cookie: s.cookie } })).status, 200);
	assert.equal(lastSeen(), created, 'written at most once a minute');

	sqlRun(`UPDATE sessions SET last_seen_at = 1 WHERE gid = ${gid}`);
	assert.equal((await request('GET', '/admin/session', { headers: { cookie: s.cookie } })).status, 200);
	assert.ok(lastSeen() >= created, 'an old value is replaced on the next request');
});

test('sessions are stored only as hashes', async () => {
	const rows = sql('SELECT hash FROM sessions');
	assert.ok(rows.length > 0);
	for (const row of rows) {
		assert.match(row.hash, /^[0-9a-f]{64}$/);
		for (const secret of secrets) {
			assert.ok(!row.hash.includes(secret));
		}
	}
	const hashes = sql("SELECT password_hash FROM users WHERE password_hash IS NOT NULL");
	for (const row of hashes) {
		assert.match(row.password_hash, /^\$argon2id\$/);
	}
});

// ---------- static files ----------

test('console redirect and index', async () => {
	const redirect = await request('GET', '/admin');
	assert.equal(redirect.status, 302);
	assert.equal(redirect.headers.get('location'), '/admin/');

	const index = await request('GET', '/admin/');
	assert.equal(index.status, 200, index.text);
	assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
	assert.equal(index.headers.get('content-security-policy'), CSP);
	assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
	assert.equal(index.headers.get('referrer-policy'), 'no-referrer');
	assert.equal(index.headers.get('cache-control'), 'no-cache');
	assert.match(index.text, /kontor admin/);

	const etag = index.headers.get('etag');
	assert.ok(etag);
	const cached = await request('GET', '/admin/', { headers: { 'if-none-match': etag } });
	assert.equal(cached.status, 304);
	assert.equal(cached.text, '');
});

test('console files have their content types', async () => {
	const script = await request('GET', '/admin/app.js');
	assert.equal(script.status, 200);
	assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');

	const sv = await request('GET', '/admin/i18n/sv.json');
	assert.equal(sv.status, 200);
	assert.equal(sv.headers.get('content-type'), 'application/json; charset=utf-8');
	assert.deepEqual(sv.body, { sign_in: 'Logga in' });

	const head = await request('HEAD', '/admin/app.js');
	assert.equal(head.status, 200);
	const post = await request('POST', '/admin/app.js');
	assert.equal(post.status, 405);
});

test('console refuses paths outside its files', async () => {
	const cases = [
		'/admin/../Makefile',
		'/admin/%2e%2e/x',
		'/admin/%2e%2e/%2e%2e/Makefile',
		'/admin/..%2f..%2fMakefile',
		'/admin/i18n/../../outside.json',
		'/admin/.hidden',
		'/admin/.env.json',
		'/admin/i18n/.%2e/index.html',
		'/admin/notes.txt',
		'/admin/README',
		'/admin/i18n/',
		'/admin/i18n',
		'/admin//index.html',
		'/admin/escape.json',
		'/admin/missing.js',
		'/admin/in%20dex.html',
	];
	for (const rawPath of cases) {
		const res = await rawGet(rawPath);
		assert.equal(res.status, 404, `${rawPath}: ${res.status} ${res.text}`);
		assert.ok(!res.text.includes('outside'), rawPath);
		assert.ok(!res.text.includes('hidden'), rawPath);
	}

	// The HTTP library decodes %00 into a NUL that ends the path, so at most index.html itself is served.
	const nul = await rawGet('/admin/index.html%00.png');
	assert.ok(nul.status === 404 || nul.text.includes('kontor admin'), `${nul.status} ${nul.text}`);
});

// ---------- roles ----------

test('super admin changes a role', async () => {
	const res = await putRole(admin, people.mem.membershipGid, 'admin');
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.gid, people.mem.membershipGid);
	assert.equal(res.body.data.role, 'admin');
	assert.equal(res.body.data.is_admin, true);

	const read = await admin.get(`/workspace_memberships/${people.mem.membershipGid}`);
	assert.equal(read.body.data.role, 'admin');

	const rows = auditRows('user_role_changed').filter((row) => row.resource_gid === people.mem.gid);
	assert.equal(rows.length, 1, JSON.stringify(rows));
	assert.deepEqual([rows[0].details.old_role, rows[0].details.new_role], ['member', 'admin']);
	assert.equal(rows[0].actor_gid, people.admin.gid);
	assert.equal(rows[0].auth_method, 'personal_access_token');
	assert.equal(rows[0].event_category, 'user_access');

	const same = await putRole(admin, people.mem.membershipGid, 'admin');
	assert.equal(same.status, 200);
	assert.equal(auditRows('user_role_changed').filter((row) => row.resource_gid === people.mem.gid).length, 1,
		'an unchanged role writes no audit record');

	assert.equal((await putRole(admin, people.mem.membershipGid, 'member')).status, 200);
});

test('role change by session needs CSRF', async () => {
	const s = await session(people.second.email, PASSWORD);
	const client = api(server, null);
	const body = JSON.stringify({ data: { role: 'member' } });
	const headers = { 'content-type': 'application/json', cookie: s.cookie };
	const target = `/workspace_memberships/${people.guest.membershipGid}`;

	assert.equal((await client.raw('PUT', target, { headers, body })).status, 403);
	const ok = await client.raw('PUT', target, { headers: { ...headers, 'x-csrf-token': s.csrf }, body });
	assert.equal(ok.status, 200, ok.text);
	const row = auditRows('user_role_changed').find((r) => r.resource_gid === people.guest.gid);
	assert.equal(row.auth_method, 'cookie');
	assert.equal(row.actor_gid, people.second.gid);
	assert.equal((await putRole(admin, people.guest.membershipGid, 'guest')).status, 200);
});

test('role change permission matrix', async () => {
	const target = people.guest.membershipGid;
	for (const name of ['adm', 'mem', 'guest']) {
		const res = await putRole(api(server, people[name].token), target, 'member');
		assert.equal(res.status, 403, `${name}: ${res.text}`);
	}

	const own = await putRole(admin, people.admin.membershipGid, 'admin');
	assert.equal(own.status, 403, own.text);
	assert.match(own.body.errors[0].message, /own role/);

	const robot = await putRole(admin, serviceAccount.membershipGid, 'admin');
	assert.equal(robot.status, 403, robot.text);
	assert.match(robot.body.errors[0].message, /Service accounts/);

	const foreign = await putRole(admin, other.membershipGid, 'member');
	assert.equal(foreign.status, 404, foreign.text);
	assert.equal((await putRole(admin, '12345', 'member')).status, 404);
	assert.equal((await putRole(admin, 'abc', 'member')).status, 400);

	const badRole = await putRole(admin, target, 'owner');
	assert.equal(badRole.status, 400, badRole.text);
	assert.match(badRole.body.errors[0].message, /role/);
	const extra = await admin.put(`/workspace_memberships/${target}`, { role: 'member', is_admin: true });
	assert.equal(extra.status, 400, extra.text);
	assert.equal((await admin.put(`/workspace_memberships/${target}`, {})).status, 400);
});

test('demoted super admin loses the right at once', async () => {
	const second = api(server, people.second.token);
	assert.equal((await putRole(second, people.guest.membershipGid, 'member')).status, 200);

	const demoted = await putRole(admin, people.second.membershipGid, 'admin');
	assert.equal(demoted.status, 200, demoted.text);
	assert.equal((await putRole(second, people.guest.membershipGid, 'guest')).status, 403);

	const restored = await putRole(admin, people.second.membershipGid, 'super_admin');
	assert.equal(restored.status, 200, restored.text);
	assert.equal((await putRole(second, people.guest.membershipGid, 'guest')).status, 200);
});

// ---------- logs ----------

test('server log holds no secrets', async () => {
	const logs = server.logs();
	assert.ok(logs.includes('"route":"/admin/session"'), 'the console requests are logged');
	for (const secret of secrets) {
		assert.ok(!logs.includes(secret), `the log contains a secret starting ${secret.slice(0, 6)}`);
	}
	assert.ok(!logs.includes(`${PASSWORD}`));
});
