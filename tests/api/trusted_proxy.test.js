'use strict';
// Client addresses behind a reverse proxy (--trusted-proxy). With the test
// client's address 127.0.0.1 trusted, a token's last-use IP, the audit log's
// client IP and the access log take the client from X-Forwarded-For. Without
// the option, or with other ranges, the header is ignored. Also the start-up
// check of the option and the warning about unusable headers.

const { test, before, after, describe } = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { startServer, api, binaryPath } = require('./lib/server');
const { execFile } = require('node:child_process');

async function createAccount(server, admin, name, permissions, headers = {}) {
	const res = await admin.raw('POST', `/workspaces/${server.orgGid}/service_accounts`, {
		headers: { 'content-type': 'application/json', ...headers },
		body: JSON.stringify({ data: { name, permissions } }),
	});
	assert.equal(res.status, 201, res.text);
	return { gid: res.body.data.gid, token: res.body.data.token, tokenGid: res.body.data.token_gid };
}

// The last-use IP of a service account's first token, as the token list shows it.
async function lastUsedIp(admin, account) {
	const res = await admin.get(`/service_accounts/${account.gid}/tokens`, { opt_fields: 'last_used_ip' });
	assert.equal(res.status, 200, res.text);
	const token = res.body.data.find((t) => t.gid === account.tokenGid);
	assert.ok(token, 'the token is listed');
	return token.last_used_ip;
}

// The client IP of the service_account_created event for `account`, read with an audit_logs token.
async function createdEventIp(server, auditor, account) {
	const res = await api(server, auditor.token).get(`/workspaces/${server.orgGid}/audit_log_events`, {
		resource_gid: account.gid,
		event_type: 'service_account_created',
	});
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.length, 1, res.text);
	return res.body.data[0].context.client_ip_address;
}

// Sends GET /users/me with the header lines given as raw text, so that a
// header field can repeat (fetch joins repeated fields into one).
function rawGet(server, token, headerLines) {
	const { port } = new URL(server.url);
	const request = `GET /api/1.0/users/me HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
		`Authorization: Bearer ${token}\r\n${headerLines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`;
	return new Promise((resolve, reject) => {
		const chunks = [];
		const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(request));
		socket.on('data', (chunk) => chunks.push(chunk));
		socket.on('error', reject);
		socket.on('close', () => {
			const match = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
			if (match) {
				resolve(Number(match[1]));
			} else {
				reject(new Error('no HTTP status line in the response'));
			}
		});
	});
}

// The access log lines of the server, parsed, for requests with a given principal.
function accessLines(server) {
	return server.logs().split('\n').filter((line) => line.includes('"message":"request"')).map((line) => JSON.parse(line));
}

// The user gid behind a token, for finding its access log lines.
async function principalOf(server, token) {
	const res = await api(server, token).get('/users/me');
	assert.equal(res.status, 200, res.text);
	return res.body.data.gid;
}

describe('loopback trusted', () => {
	let server;
	let admin;
	let auditor;

	before(async () => {
		server = await startServer({ org: 'Proxy Org', env: { KONTOR_TRUSTED_PROXIES: '127.0.0.1, 2001:db8::/32' } });
		admin = api(server, server.adminToken);
		auditor = await createAccount(server, admin, 'Auditor', ['audit_logs']);
	});

	after(async () => {
		await server?.stop();
	});

	test('token last use takes X-Forwarded-For', async () => {
		const bot = await createAccount(server, admin, 'Forwarded bot', 'full');
		const res = await api(server, bot.token).raw('GET', '/users/me', { headers: { 'x-forwarded-for': '198.51.100.7' } });
		assert.equal(res.status, 200, res.text);
		assert.equal(await lastUsedIp(admin, bot), '198.51.100.7');
	});

	test('audit client IP skips trusted hops', async () => {
		// 127.0.0.1 and 2001:db8::5 are trusted, so the walk passes over them. The entry left of 203.0.113.9 is the client's own claim.
		const headers = { 'x-forwarded-for': '192.0.2.1, 203.0.113.9, 2001:db8::5, 127.0.0.1' };
		const bot = await createAccount(server, admin, 'Audited bot', 'full', headers);
		assert.equal(await createdEventIp(server, auditor, bot), '203.0.113.9');
	});

	test('IPv6 entry with port', async () => {
		const bot = await createAccount(server, admin, 'IPv6 bot', 'full', { 'x-forwarded-for': '[2001:db9::42]:51000' });
		assert.equal(await createdEventIp(server, auditor, bot), '2001:db9::42');
	});

	test('all hops trusted gives leftmost', async () => {
		const bot = await createAccount(server, admin, 'Inside bot', 'full', { 'x-forwarded-for': '2001:db8::77, 127.0.0.1' });
		assert.equal(await createdEventIp(server, auditor, bot), '2001:db8::77');
	});

	test('no header keeps peer address', async () => {
		const bot = await createAccount(server, admin, 'Direct bot', 'full');
		assert.equal(await createdEventIp(server, auditor, bot), '127.0.0.1');
	});

	test('repeated header fields join in order', async () => {
		const bot = await createAccount(server, admin, 'Repeated bot', 'full');
		const status = await rawGet(server, bot.token, ['X-Forwarded-For: 192.0.2.50, 198.51.100.20', 'X-Forwarded-For: 127.0.0.1']);
		assert.equal(status, 200);
		assert.equal(await lastUsedIp(admin, bot), '198.51.100.20');
	});

	test('access log has client and peer', async () => {
		const bot = await createAccount(server, admin, 'Logged bot', 'full');
		const gid = await principalOf(server, bot.token);
		const res = await api(server, bot.token).raw('GET', '/users/me', { headers: { 'x-forwarded-for': '198.51.100.33' } });
		assert.equal(res.status, 200, res.text);
		const lines = accessLines(server).filter((l) => l.principal === gid);
		assert.ok(lines.some((l) => l.ip === '198.51.100.33' && l.peer_ip === '127.0.0.1'), JSON.stringify(lines));
		assert.ok(lines.some((l) => l.ip === '127.0.0.1' && l.peer_ip === '127.0.0.1'), JSON.stringify(lines));
	});

	test('malformed entry falls back and warns once', async () => {
		const bot = await createAccount(server, admin, 'Garbled bot', 'full');
		for (const header of ['unknown', 'client.example.com, 127.0.0.1', '198.51.100.1 198.51.100.2']) {
			const res = await api(server, bot.token).raw('GET', '/users/me', { headers: { 'x-forwarded-for': header } });
			assert.equal(res.status, 200, res.text);
		}
		assert.equal(await lastUsedIp(admin, bot), '127.0.0.1');
		const warnings = server.logs().split('\n').filter((line) => line.includes('X-Forwarded-For from a trusted proxy is unusable'));
		assert.equal(warnings.length, 1, 'one warning a minute at most');
		const warning = JSON.parse(warnings[0]);
		assert.equal(warning.level, 'warn');
		assert.equal(warning.entry, 'unknown');
		assert.equal(warning.peer_ip, '127.0.0.1');
	});
});

describe('no trusted proxy', () => {
	let server;
	let admin;
	let auditor;

	before(async () => {
		server = await startServer({ org: 'Direct Org' });
		admin = api(server, server.adminToken);
		auditor = await createAccount(server, admin, 'Auditor', ['audit_logs']);
	});

	after(async () => {
		await server?.stop();
	});

	test('header cannot set last use', async () => {
		const bot = await createAccount(server, admin, 'Spoofing bot', 'full');
		const res = await api(server, bot.token).raw('GET', '/users/me', { headers: { 'x-forwarded-for': '198.51.100.7' } });
		assert.equal(res.status, 200, res.text);
		assert.equal(await lastUsedIp(admin, bot), '127.0.0.1');
	});

	test('header cannot set audit IP', async () => {
		const bot = await createAccount(server, admin, 'Spoofed audit', 'full', { 'x-forwarded-for': '203.0.113.9' });
		assert.equal(await createdEventIp(server, auditor, bot), '127.0.0.1');
	});
});

describe('other proxies trusted', () => {
	let server;
	let admin;
	let auditor;

	before(async () => {
		// The test client (127.0.0.1) is not one of the trusted proxies, so its headers count for nothing.
		server = await startServer({ org: 'Elsewhere Org', env: { KONTOR_TRUSTED_PROXIES: '10.0.0.0/8', KONTOR_TRUST_PROXY: '1' } });
		admin = api(server, server.adminToken);
		auditor = await createAccount(server, admin, 'Auditor', ['audit_logs']);
	});

	after(async () => {
		await server?.stop();
	});

	test('untrusted peer header ignored', async () => {
		const bot = await createAccount(server, admin, 'Outside bot', 'full', { 'x-forwarded-for': '10.1.1.1' });
		assert.equal(await createdEventIp(server, auditor, bot), '127.0.0.1');
	});

	test('X-Forwarded-Proto needs listed peer', async () => {
		const res = await admin.post('/tasks', { workspace: server.orgGid, name: 'Scheme check' });
		assert.equal(res.status, 201, res.text);
		const one = await admin.raw('GET', `/tasks/${res.body.data.gid}`, { headers: { 'x-forwarded-proto': 'https' } });
		assert.equal(one.status, 200, one.text);
		assert.ok(one.body.data.permalink_url.startsWith('http://'), one.body.data.permalink_url);
	});
});

// Runs `kontor serve` with the given arguments and environment, which must fail at start; resolves to its stderr.
function serveFails(args, env = {}) {
	return new Promise((resolve, reject) => {
		execFile(binaryPath(), ['serve', '--db', '/nonexistent/never-opened.db', ...args], {
			env: { ...process.env, ...env },
			timeout: 10000,
		}, (err, stdout, stderr) => {
			if (!err) {
				reject(new Error('kontor serve started'));
			} else {
				assert.equal(err.code, 2, stderr);
				resolve(stderr);
			}
		});
	});
}

test('command line replaces the environment list', async () => {
	// The database cannot open, so serve stops there: the point is that the malformed variable is not read.
	const stderr = await new Promise((resolve) => {
		execFile(binaryPath(), ['serve', '--db', '/nonexistent/never-opened.db', '--trusted-proxy', '127.0.0.1'], {
			env: { ...process.env, KONTOR_TRUSTED_PROXIES: 'bogus' },
			timeout: 10000,
		}, (err, stdout, output) => resolve(output));
	});
	assert.ok(!stderr.includes('KONTOR_TRUSTED_PROXIES'), stderr);
	assert.ok(stderr.includes('never-opened.db'), stderr);
});

test('bad ranges rejected at start', async () => {
	const cases = [
		[['--trusted-proxy', '10.0.0.0/8,10.0.0.300'], {}, '"10.0.0.300" is not an IP address'],
		[['--trusted-proxy', '10.0.0.1/8'], {}, '"10.0.0.1/8" has bits set'],
		[['--trusted-proxy', '10.0.0.0/8', '--trusted-proxy', 'fd00::/129'], {}, '"fd00::/129": the prefix length'],
		[['--trusted-proxy', '10.0.0.0/8,'], {}, 'empty entry'],
		[[], { KONTOR_TRUSTED_PROXIES: 'proxy.internal' }, 'KONTOR_TRUSTED_PROXIES: "proxy.internal"'],
	];
	for (const [args, env, message] of cases) {
		const stderr = await serveFails(args, env);
		assert.ok(stderr.includes(message), `${args.join(' ')} ${JSON.stringify(env)}: ${stderr}`);
	}
});
