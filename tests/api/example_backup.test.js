'use strict';
// The backup example run as an operator would: three backups with BACKUP_KEEP=2
// leave the two newest, each a complete export that includes private work;
// a token without the exports permission fails with kontor's message.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFile, execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { startServer, api } = require('./lib/server');

const SCRIPT = path.resolve(__dirname, '../../examples/backup/backup.js');

let server;
let dir;
let exportsToken;
let readToken;

function runBackup(token, extraEnv = {}) {
	const env = {
		PATH: process.env.PATH,
		NODE_PATH: path.resolve(__dirname, '../../node_modules'),
		KONTOR_URL: server.url,
		KONTOR_TOKEN: token,
		KONTOR_WORKSPACE: server.orgGid,
		BACKUP_DIR: dir,
		BACKUP_KEEP: '2',
		BACKUP_POLL_MS: '100',
		BACKUP_TIMEOUT_S: '60',
		...extraEnv,
	};
	return new Promise((resolve) => {
		execFile(process.execPath, [SCRIPT], { env, timeout: 90000 }, (err, stdout, stderr) => {
			resolve({ code: err ? err.code : 0, stdout, stderr });
		});
	});
}

before(async () => {
	server = await startServer({ org: 'Backup Org' });
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-backup-'));
	const admin = api(server, server.adminToken);

	const team = await admin.post('/teams', { name: 'Ledning', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	const project = await admin.post('/projects', {
		name: 'Hemligt budgetarbete', workspace: server.orgGid, team: team.body.data.gid, privacy_setting: 'private',
	});
	assert.equal(project.status, 201, project.text);

	for (const [name, permissions] of [['Backup bot', ['exports']], ['Reader bot', ['read']]]) {
		const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name, permissions });
		assert.equal(res.status, 201, res.text);
		if (permissions[0] === 'exports') {
			exportsToken = res.body.data.token;
		} else {
			readToken = res.body.data.token;
		}
	}
});

after(async () => {
	if (server) {
		await server.stop();
	}
	if (dir) {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

test('backup keeps the newest BACKUP_KEEP files', async () => {
	for (let run = 0; run < 3; run++) {
		const result = await runBackup(exportsToken);
		assert.equal(result.code, 0, result.stderr);
		assert.match(result.stdout, /saved .*\.json\.gz/);
		// Names carry a timestamp to the second; wait so that each run gets its own.
		await new Promise((resolve) => setTimeout(resolve, 1100));
	}
	const files = fs.readdirSync(dir).sort();
	assert.equal(files.length, 2, files.join(', '));
	for (const name of files) {
		assert.match(name, new RegExp(`^kontor-${server.orgGid}-\\d{8}T\\d{6}Z\\.json\\.gz$`));
	}
});

test('backup file is a complete export', () => {
	const newest = fs.readdirSync(dir).sort().pop();
	const text = zlib.gunzipSync(fs.readFileSync(path.join(dir, newest))).toString('utf8');
	const document = JSON.parse(text);
	assert.equal(document.format, 'kontor-export');
	assert.ok(text.includes('Hemligt budgetarbete'), 'the private project is in the backup');
});

test('backup leaves unrelated files alone', async () => {
	fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
	const result = await runBackup(exportsToken);
	assert.equal(result.code, 0, result.stderr);
	assert.ok(fs.existsSync(path.join(dir, 'notes.txt')));
	fs.unlinkSync(path.join(dir, 'notes.txt'));
});

test('backup with a read-only token fails clearly', async () => {
	const before = fs.readdirSync(dir).sort();
	const result = await runBackup(readToken);
	assert.equal(result.code, 1);
	assert.match(result.stderr, /backup failed: POST \/organization_exports failed: HTTP 403: .*exports/);
	assert.deepEqual(fs.readdirSync(dir).sort(), before);
});

test('backup without KONTOR_WORKSPACE explains what to set', async () => {
	const result = await runBackup(exportsToken, { KONTOR_WORKSPACE: '' });
	assert.equal(result.code, 1);
	assert.match(result.stderr, /set KONTOR_WORKSPACE/);
});

test('backup rejects a bad BACKUP_KEEP', async () => {
	const result = await runBackup(exportsToken, { BACKUP_KEEP: 'zero' });
	assert.equal(result.code, 2);
	assert.match(result.stderr, /BACKUP_KEEP: expected a whole number/);
});

test('backup help starts no export', async () => {
	const before = fs.readdirSync(dir).sort();
	const result = await new Promise((resolve) => {
		execFile(process.execPath, [SCRIPT, '--help'], { env: { PATH: process.env.PATH, NODE_PATH: path.resolve(__dirname, '../../node_modules') } },
			(err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
	});
	assert.equal(result.code, 0, result.stderr);
	assert.match(result.stdout, /^usage: backup\.js/);
	assert.match(result.stdout, /BACKUP_KEEP/);
	assert.deepEqual(fs.readdirSync(dir).sort(), before);
});

test('backup without KONTOR_TOKEN exits 2', async () => {
	const result = await runBackup('');
	assert.equal(result.code, 2);
	assert.match(result.stderr, /KONTOR_TOKEN is not set/);
});

function sqlRun(statement) {
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		execFileSync('psql', [server.db, '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement]);
	} else {
		execFileSync('sqlite3', ['-cmd', '.timeout 5000', server.db, statement]);
	}
}

test('backup waits out the export limit', async () => {
	// Three unfinished exports fill the organization's limit, so the request gets 429 with Retry-After.
	const gids = [1, 2, 3].map(() => String(BigInt(9200000000000000) + BigInt(crypto.randomInt(1, 2 ** 40))));
	for (const gid of gids) {
		sqlRun(`INSERT INTO organization_exports (gid, workspace_gid, state, created_at) VALUES (${gid}, ${server.orgGid}, 'pending', 1)`);
	}
	const child = spawn(process.execPath, [SCRIPT], {
		env: {
			PATH: process.env.PATH, NODE_PATH: path.resolve(__dirname, '../../node_modules'), KONTOR_URL: server.url,
			KONTOR_TOKEN: exportsToken, KONTOR_WORKSPACE: server.orgGid, BACKUP_DIR: dir, BACKUP_KEEP: '2', BACKUP_POLL_MS: '100',
		},
	});
	let stderr = '';
	let stdout = '';
	child.stdout.on('data', (chunk) => { stdout += chunk; });
	child.stderr.on('data', (chunk) => { stderr += chunk; });
	const exited = new Promise((resolve) => child.on('exit', resolve));
	try {
		const deadline = Date.now() + 10000;
		while (!/HTTP 429, retrying in \d+ s/.test(stderr) && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		assert.match(stderr, /POST \/organization_exports: HTTP 429, retrying in \d+ s/);
	} finally {
		sqlRun(`DELETE FROM organization_exports WHERE gid IN (${gids.join(', ')})`);
	}
	assert.equal(await exited, 0, stderr);
	assert.match(stdout, /saved .*\.json\.gz/);
});
