'use strict';
// Starts a kontor server for API tests: a fresh database, an organization
// with a super admin and a token, and `kontor serve` on a free loopback port.
//
// Environment:
//   KONTOR_BIN          the binary, relative to the repository root (default build/kontor)
//   KONTOR_TEST_DB      driver: `sqlite` or `pg`; unset means `pg` when
//                       KONTOR_TEST_PG_URI is set, else `sqlite`
//   KONTOR_TEST_PG_URI  a PostgreSQL server URI; each test server gets its own
//                       database there, created on start and dropped on stop()

const { spawn, execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const HEALTH_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 10000;
const CLI_TIMEOUT_MS = 30000;

// Lines that AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer print.
const SANITIZER_REPORT = /ERROR: AddressSanitizer|LeakSanitizer|runtime error:/;

// Servers still running, killed if the test process exits without stop().
const running = new Set();
process.on('exit', () => {
	for (const child of running) {
		child.kill('SIGKILL');
	}
});

function binaryPath() {
	return path.resolve(repoRoot, process.env.KONTOR_BIN || 'build/kontor');
}

function databaseDriver() {
	const driver = process.env.KONTOR_TEST_DB || (process.env.KONTOR_TEST_PG_URI ? 'pg' : 'sqlite');
	if (driver !== 'sqlite' && driver !== 'pg') {
		throw new Error(`KONTOR_TEST_DB must be sqlite or pg, not ${JSON.stringify(driver)}`);
	}
	if (driver === 'pg' && !process.env.KONTOR_TEST_PG_URI) {
		throw new Error('KONTOR_TEST_DB=pg needs KONTOR_TEST_PG_URI, the URI of a PostgreSQL server');
	}
	return driver;
}

// Find a free TCP port on 127.0.0.1 by letting the kernel pick one. Another
// process could take it before kontor binds it, which is unlikely on a test machine.
function freePort() {
	return new Promise((resolve, reject) => {
		const probe = net.createServer();
		probe.unref();
		probe.on('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const { port } = probe.address();
			probe.close(() => resolve(port));
		});
	});
}

// Run a command to completion. Rejects with its output if it fails or if a
// sanitizer reported an error.
function run(file, args, env = process.env) {
	return new Promise((resolve, reject) => {
		execFile(file, args, { env, timeout: CLI_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
			const commandLine = [file, ...args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
			if (err) {
				reject(new Error(`${commandLine} failed (${err.code ?? err.signal}):\n${stderr}${stdout}`));
			} else if (SANITIZER_REPORT.test(stderr)) {
				reject(new Error(`${commandLine} printed a sanitizer report:\n${stderr}`));
			} else {
				resolve(stdout);
			}
		});
	});
}

function lastLine(text) {
	const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
	return lines.length ? lines[lines.length - 1] : '';
}

// Run `kontor <args>` and return the last line of its output.
async function kontor(args, env) {
	const bin = binaryPath();
	if (!fs.existsSync(bin)) {
		throw new Error(`kontor binary not found at ${bin}: run make, or set KONTOR_BIN`);
	}
	return lastLine(await run(bin, args, env));
}

// Create a database for one server. Returns {db, drop()}, where db is the
// value for --db and drop() removes the database again.
async function createDatabase(tmpDir) {
	if (databaseDriver() === 'sqlite') {
		return { db: path.join(tmpDir, 'kontor.db'), drop: async () => {} };
	}

	const serverUri = process.env.KONTOR_TEST_PG_URI;
	const name = 'kontor_t_' + crypto.randomBytes(6).toString('hex');
	await run('psql', [serverUri, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `CREATE DATABASE ${name}`]);

	const uri = new URL(serverUri);
	uri.pathname = '/' + name;
	const drop = () =>
		run('psql', [serverUri, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
	return { db: uri.toString(), drop };
}

// Resolve when GET /healthz returns 200. Rejects if the process exits first
// or HEALTH_TIMEOUT_MS passes.
async function waitHealthy(url, child, logs) {
	const deadline = Date.now() + HEALTH_TIMEOUT_MS;
	let lastError = 'no response yet';

	while (Date.now() < deadline) {
		if (child.exitCode !== null || child.signalCode !== null) {
			throw new Error(`kontor serve exited (${child.exitCode ?? child.signalCode}) before /healthz returned 200:\n${logs()}`);
		}
		try {
			const res = await fetch(url + '/healthz', { signal: AbortSignal.timeout(1000) });
			await res.arrayBuffer();
			if (res.status === 200) {
				return;
			}
			lastError = `status ${res.status}`;
		} catch (err) {
			lastError = err.cause ? err.cause.code || err.cause.message : err.message;
		}
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`kontor serve: /healthz did not return 200 within ${HEALTH_TIMEOUT_MS} ms (last: ${lastError}):\n${logs()}`);
}

// The super admin that `kontor demo` creates.
const DEMO_ADMIN_EMAIL = 'admin@exempel.se';

// Returns the gid of the only organization a demo server's super admin sees.
async function demoOrgGid(url, token) {
	const res = await fetch(url + '/api/1.0/workspaces', {
		headers: { authorization: `Bearer ${token}` },
		signal: AbortSignal.timeout(10000),
	});
	const body = await res.json();
	if (res.status !== 200 || !Array.isArray(body.data) || body.data.length !== 1) {
		throw new Error(`kontor demo: GET /workspaces returned ${res.status}: ${JSON.stringify(body)}`);
	}
	return body.data[0].gid;
}

// Start a server with a new organization. Options (all optional):
//   org         organization name (default "Test Org")
//   plan        plan of the organization (default enterprise_plus)
//   adminEmail  email of the first super admin (default admin@example.test)
//   env         extra environment variables for every kontor command, such as
//               { KONTOR_PUBLIC_URL: 'https://kontor.example.com' }
//   demo        'small' or 'large': load the demo organization "Exempel AB"
//               with `kontor demo` instead of creating an empty one; org,
//               plan and adminEmail are then the demo's own
//   demoSeed    the demo generator's seed (default: the generator's own)
//   restore     a kontor-export file: load it with `kontor restore` instead of
//               creating an organization; adminEmail must be an active super
//               admin in it (without a password), and org and plan are the
//               file's own
// Returns {url, base, orgGid, db, adminEmail, adminPassword, adminToken,
// logPath, logs(), addUser(), stop(), restart()}; `base` is url + '/api/1.0'
// and logs() returns the server's stdout and stderr so far.
async function startServer(opts = {}) {
	const org = opts.org || 'Test Org';
	const plan = opts.plan || 'enterprise_plus';
	const adminEmail = opts.demo ? DEMO_ADMIN_EMAIL : opts.adminEmail || 'admin@example.test';
	const adminPassword = crypto.randomBytes(12).toString('base64url');

	const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-test-'));
	const logPath = path.join(tmpDir, 'server.log');
	let database;
	try {
		database = await createDatabase(tmpDir);
	} catch (err) {
		fs.rmSync(tmpDir, { recursive: true, force: true });
		throw err;
	}
	const db = database.db;
	// Every command of this server uses the same token-hash key file; with
	// PostgreSQL there is no database file to keep it beside.
	const env = { ...process.env, ...(opts.env || {}), KONTOR_PEPPER_FILE: path.join(tmpDir, 'kontor.pepper') };

	let child = null;
	let url = null;
	const logs = () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '');

	async function serve() {
		const port = await freePort();
		url = `http://127.0.0.1:${port}`;
		const out = fs.openSync(logPath, 'a');
		try {
			// `kontor demo` fills an empty database first and serves an existing one unchanged.
			const command = opts.demo ? ['demo', '--size', opts.demo, ...(opts.demoSeed ? ['--seed', String(opts.demoSeed)] : [])] : ['serve'];
			child = spawn(binaryPath(), [...command, '--db', db, '--listen', `127.0.0.1:${port}`], {
				stdio: ['ignore', out, out],
				env: opts.demo ? { ...env, KONTOR_ADMIN_PASSWORD: adminPassword } : env,
			});
		} finally {
			fs.closeSync(out);
		}
		running.add(child);
		const spawned = child;
		child.on('exit', () => running.delete(spawned));
		child.on('error', () => {}); // a failed spawn also ends in 'exit'; waitHealthy reports it

		try {
			await waitHealthy(url, child, logs);
		} catch (err) {
			await stopProcess().catch(() => {}); // err already contains the log
			throw err;
		}
	}

	// Send SIGTERM and wait for the exit; SIGKILL after STOP_TIMEOUT_MS.
	// Throws if the server crashed or a sanitizer reported an error.
	async function stopProcess() {
		if (!child) {
			return;
		}
		const proc = child;
		child = null;

		const exitedEarly = proc.exitCode !== null || proc.signalCode !== null;
		if (!exitedEarly) {
			const exited = new Promise((resolve) => proc.once('exit', resolve));
			proc.kill('SIGTERM');
			const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
			await exited;
			clearTimeout(timer);
		}

		const text = logs();
		if (SANITIZER_REPORT.test(text)) {
			throw new Error(`kontor serve printed a sanitizer report:\n${text}`);
		}
		if (exitedEarly) {
			throw new Error(`kontor serve exited (${proc.exitCode ?? proc.signalCode}) before it was stopped:\n${text}`);
		}
		if (proc.signalCode && proc.signalCode !== 'SIGTERM') {
			throw new Error(`kontor serve ended by ${proc.signalCode} after SIGTERM:\n${text}`);
		}
	}

	const server = {
		url: null,
		base: null,
		orgGid: null,
		db,
		adminEmail,
		adminPassword,
		adminToken: null,
		logPath,
		// The environment every CLI call of this server needs (its pepper file).
		env,
		// Runs `kontor <args>` against this server's database; returns the last output line.
		cli: (args, extraEnv = {}) => kontor(args, { ...env, ...extraEnv }),
		logs,

		// Create a user in the organization and a token for it. Returns {gid, email, token}.
		async addUser({ email, name, role = 'member' }) {
			const gid = await kontor(['user', 'add', '--db', db, '--org', server.orgGid, '--email', email, '--name', name, '--role', role]);
			const token = await kontor(['token', 'create', '--db', db, '--email', email, '--name', 'api test'], env);
			return { gid, email, token };
		},

		// Stop the server and remove its database. Throws on a crash or sanitizer report.
		async stop() {
			try {
				await stopProcess();
			} finally {
				await database.drop();
				fs.rmSync(tmpDir, { recursive: true, force: true });
			}
		},

		// Stop the server and start it again on the same database, at a new port.
		async restart() {
			await stopProcess();
			await serve();
			server.url = url;
			server.base = url + '/api/1.0';
		},
	};

	try {
		if (opts.restore) {
			server.orgGid = await kontor(['restore', '--db', db, '--input', opts.restore], env);
			server.adminToken = await kontor(['token', 'create', '--db', db, '--email', adminEmail, '--name', 'api test'], env);
			await serve();
		} else if (opts.demo) {
			await serve();
			server.adminToken = await kontor(['token', 'create', '--db', db, '--email', adminEmail, '--name', 'api test'], env);
			server.orgGid = await demoOrgGid(url, server.adminToken);
		} else {
			const initEnv = { ...env, KONTOR_ADMIN_PASSWORD: adminPassword };
			server.orgGid = await kontor(['init', '--db', db, '--org', org, '--plan', plan, '--admin-email', adminEmail], initEnv);
			if (!/^\d+$/.test(server.orgGid)) {
				throw new Error(`kontor init: expected the organization gid on the last line of output, got ${JSON.stringify(server.orgGid)}`);
			}
			server.adminToken = await kontor(['token', 'create', '--db', db, '--email', adminEmail, '--name', 'api test'], env);
			await serve();
		}
	} catch (err) {
		await stopProcess().catch(() => {});
		await database.drop().catch(() => {});
		fs.rmSync(tmpDir, { recursive: true, force: true });
		throw err;
	}
	server.url = url;
	server.base = url + '/api/1.0';
	return server;
}

// Encode a query object. Array values are joined with commas, the form
// Asana uses for opt_fields.
function queryString(query) {
	if (!query) {
		return '';
	}
	const params = new URLSearchParams();
	for (const [key, value] of Object.entries(query)) {
		if (value !== undefined) {
			params.set(key, Array.isArray(value) ? value.join(',') : String(value));
		}
	}
	const text = params.toString();
	return text ? '?' + text : '';
}

// HTTP helper for one server and token. A falsy token sends no Authorization
// header. Paths are relative to /api/1.0 unless they start with http:// or https://.
// Every method returns {status, headers, body, text}, where headers has
// lower-case names and body is the parsed JSON when the response is JSON
// (otherwise the text).
function api(server, token) {
	async function request(method, requestPath, { headers = {}, body } = {}) {
		const url = /^https?:\/\//.test(requestPath) ? requestPath : server.base + requestPath;
		const allHeaders = { ...headers };
		if (token) {
			allHeaders.authorization = `Bearer ${token}`;
		}

		const res = await fetch(url, { method, headers: allHeaders, body, signal: AbortSignal.timeout(30000) });
		const text = await res.text();
		const type = res.headers.get('content-type') || '';
		let parsed = text;
		if (/^application\/json\b/i.test(type) && text !== '') {
			try {
				parsed = JSON.parse(text);
			} catch (err) {
				throw new Error(`${method} ${requestPath} → ${res.status}: invalid JSON (${err.message}): ${text.slice(0, 500)}`);
			}
		}
		return { status: res.status, headers: Object.fromEntries(res.headers), body: parsed, text };
	}

	function send(method, requestPath, data) {
		return request(method, requestPath, {
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ data }),
		});
	}

	return {
		get: (requestPath, query) => request('GET', requestPath + queryString(query)),
		post: (requestPath, data) => send('POST', requestPath, data),
		put: (requestPath, data) => send('PUT', requestPath, data),
		del: (requestPath) => request('DELETE', requestPath),
		// Send any method, headers and body as given, e.g. a malformed JSON body.
		raw: (method, requestPath, options) => request(method, requestPath, options),
	};
}

module.exports = { startServer, api, repoRoot, binaryPath };
