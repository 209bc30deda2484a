'use strict';
// Helpers for tests that run several kontor processes on one database or
// kill one: extra `kontor serve` nodes on a server's database, psql queries,
// and a private PostgreSQL server that a test may stop and start.

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const { binaryPath, repoRoot } = require('./server');

const HEALTH_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 10000;
const PG_SCRIPT = path.join(repoRoot, 'scripts', 'pg-test-server.sh');
const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';

// Nodes still running, killed if the test process exits without stop().
const running = new Set();
process.on('exit', () => {
	for (const child of running) {
		child.kill('SIGKILL');
	}
});

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

// Run a command; resolves with stdout, rejects with its output on failure.
function run(file, args, options = {}) {
	return new Promise((resolve, reject) => {
		execFile(file, args, { timeout: 60000, maxBuffer: 16 << 20, ...options }, (err, stdout, stderr) => {
			if (err) {
				reject(new Error(`${file} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stderr}${stdout}`));
			} else {
				resolve(stdout);
			}
		});
	});
}

// Run SQL with psql on a database URI; returns the rows as arrays of strings.
async function psql(uri, sql) {
	const out = await run('psql', [uri, '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-A', '-t', '-F', '\t', '-c', sql]);
	return out.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
}

// Run SQL with the sqlite3 shell on a database file; returns rows as arrays of strings.
async function sqlite(file, sql) {
	const out = await run('sqlite3', ['-batch', '-separator', '\t', file, sql]);
	return out.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
}

// Query the database of `server` with whichever shell fits its driver.
function query(server, sql) {
	return /^postgres(ql)?:\/\//.test(server.db) ? psql(server.db, sql) : sqlite(server.db, sql);
}

async function waitHealthy(url, child, logs) {
	const deadline = Date.now() + HEALTH_TIMEOUT_MS;
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
		} catch {
			// not listening yet
		}
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`kontor serve: /healthz did not return 200 within ${HEALTH_TIMEOUT_MS} ms:\n${logs()}`);
}

// Start another `kontor serve` on the database of `server` (from startServer),
// with the same pepper file. `args` are extra options, such as ['--node-id', '7'].
// Returns {url, base, child, logs(), stop(), kill()}: stop() sends SIGTERM and
// waits, kill() sends SIGKILL and waits.
async function startNode(server, { args = [], env = {} } = {}) {
	const port = await freePort();
	const url = `http://127.0.0.1:${port}`;
	const logPath = path.join(path.dirname(server.logPath), `node-${port}.log`);
	const out = fs.openSync(logPath, 'a');
	let child;
	try {
		child = spawn(binaryPath(), ['serve', '--db', server.db, '--listen', `127.0.0.1:${port}`, ...args], {
			stdio: ['ignore', out, out],
			env: { ...server.env, ...env },
		});
	} finally {
		fs.closeSync(out);
	}
	running.add(child);
	child.on('exit', () => running.delete(child));
	child.on('error', () => {});
	const logs = () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '');

	async function end(signal) {
		if (child.exitCode !== null || child.signalCode !== null) {
			return;
		}
		const exited = new Promise((resolve) => child.once('exit', resolve));
		child.kill(signal);
		const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
		await exited;
		clearTimeout(timer);
	}

	const node = { url, base: url + '/api/1.0', child, logs, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
	try {
		await waitHealthy(url, child, logs);
	} catch (err) {
		await node.kill();
		throw err;
	}
	return node;
}

// Run `kontor serve` expecting it to refuse to start; resolves with {code, output}.
function serveExpectingExit(server, args) {
	return new Promise((resolve, reject) => {
		execFile(binaryPath(), ['serve', '--db', server.db, ...args], { env: server.env, timeout: 15000 }, (err, stdout, stderr) => {
			if (err && err.killed) {
				reject(new Error(`kontor serve ${args.join(' ')} kept running instead of refusing to start`));
				return;
			}
			resolve({ code: err ? err.code : 0, output: stdout + stderr });
		});
	});
}

// A private PostgreSQL server in `dir` (under /tmp), for tests that stop and start it.
// start() returns its URI; stop() stops it; restart() starts it again on the same port.
function privatePg(dir) {
	// pg_ctl runs from `dir`, because PostgreSQL's tools fail in a folder their user cannot read.
	const asOwner = (args) =>
		process.getuid() === 0
			? run('runuser', ['-u', 'kontor-pg', '--', ...args], { cwd: dir })
			: run(args[0], args.slice(1), { cwd: dir });
	return {
		async start() {
			fs.mkdirSync(dir, { recursive: true });
			fs.chmodSync(path.dirname(dir), 0o755);
			const out = await run(PG_SCRIPT, ['start', dir]);
			return out.trim().split('\n').pop();
		},
		stop: () => run(PG_SCRIPT, ['stop', dir]),
		// pg-test-server.sh start may choose another port, and kontor must find the server where it was.
		restart: async () => {
			const port = fs.readFileSync(path.join(dir, 'port'), 'utf8').trim();
			await asOwner([path.join(PG_BIN, 'pg_ctl'), '-D', path.join(dir, 'data'), '-l', path.join(dir, 'postgres.log'),
				'-w', '-t', '60', '-o', `-p ${port}`, 'start']);
		},
		available: () => fs.existsSync(path.join(PG_BIN, 'initdb')),
	};
}

// The node id inside a gid (bits 12 to 21, see src/util/gid.h).
function gidNode(gid) {
	return Number((BigInt(gid) >> 12n) & 1023n);
}

module.exports = { startNode, serveExpectingExit, psql, sqlite, query, privatePg, gidNode };
