'use strict';
// Example 5 (examples/assign-new-tasks): the webhook receiver assigns a
// new unassigned task of the project to the project owner and comments on
// it, leaves assigned tasks alone, rejects late handshakes and malformed
// signatures without crashing, and deletes its webhook when stopped.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { spawn, execFile } = require('node:child_process');
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { startServer, api, repoRoot } = require('./lib/server');
const { waitFor } = require('./lib/webhook_receiver');

const SCRIPT = path.join(repoRoot, 'examples', 'assign-new-tasks', 'assign-new-tasks.js');

let server;
let admin;
let owner; // the project owner, a member
let projectGid;
let example; // the running script: {child, output()}
let bot; // the service account's client, which sees every webhook
let receiveUrl; // where the script receives deliveries

function freePort() {
	return new Promise((resolve, reject) => {
		const probe = net.createServer();
		probe.on('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const { port } = probe.address();
			probe.close(() => resolve(port));
		});
	});
}

before(async () => {
	server = await startServer({ env: { KONTOR_ALLOW_PRIVATE_WEBHOOK_TARGETS: '1', KONTOR_WEBHOOK_POLL_MS: '100' } });
	admin = api(server, server.adminToken);
	owner = await server.addUser({ email: 'olga@example.test', name: 'Olga Owner' });
	const team = await admin.post('/teams', { name: 'Intake', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	const project = await admin.post('/projects', { name: 'Requests', team: team.body.data.gid, owner: owner.gid });
	assert.equal(project.status, 201, project.text);
	projectGid = project.body.data.gid;
	const sa = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name: 'Triage bot', permissions: 'full' });
	assert.equal(sa.status, 201, sa.text);
	bot = api(server, sa.body.data.token);

	const port = await freePort();
	receiveUrl = `http://127.0.0.1:${port}/receive`;
	let text = '';
	const child = spawn(process.execPath, [SCRIPT], {
		env: { ...process.env, KONTOR_URL: server.url, KONTOR_TOKEN: sa.body.data.token, PROJECT_GID: projectGid, LISTEN: `127.0.0.1:${port}` },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	child.stdout.on('data', (d) => { text += d; });
	child.stderr.on('data', (d) => { text += d; });
	example = { child, output: () => text };
	await waitFor(() => /ready: webhook \d+/.test(text) || child.exitCode !== null, 30000, () => `the example did not start:\n${text}`);
	assert.equal(child.exitCode, null, `the example exited:\n${text}`);
});

after(async () => {
	if (example && example.child.exitCode === null) {
		example.child.kill('SIGKILL');
	}
	if (server) {
		await server.stop();
	}
});

test('unassigned task goes to owner', async () => {
	const hooks = await bot.get('/webhooks', { workspace: server.orgGid, resource: projectGid });
	assert.equal(hooks.body.data.length, 1, hooks.text);
	const created = await admin.post('/tasks', { name: 'Printer on fire', projects: [projectGid] });
	assert.equal(created.status, 201, created.text);
	const taskGid = created.body.data.gid;

	const task = await waitFor(async () => {
		const res = await admin.get(`/tasks/${taskGid}`);
		return res.body.data.assignee ? res.body.data : null;
	}, 30000, () => `task assigned; example output:\n${example.output()}`);
	assert.equal(task.assignee.gid, owner.gid);

	// The script comments after it assigns and logs after the comment is stored: wait for the log line.
	await waitFor(() => example.output().includes(`assigned task ${taskGid} `), 30000,
		() => `assignment logged; example output:\n${example.output()}`);
	const stories = await admin.get(`/tasks/${taskGid}/stories`);
	const comments = stories.body.data.filter((s) => s.resource_subtype === 'comment_added');
	assert.equal(comments.length, 1, JSON.stringify(stories.body.data));
	assert.match(comments[0].text, /Olga Owner, the project owner/);
});

// POSTs to the script's receiver with `headers` and `body`; returns the HTTP status.
async function postToScript(headers, body = '') {
	const res = await fetch(receiveUrl, { method: 'POST', headers, body });
	await res.arrayBuffer();
	return res.status;
}

test('late handshake is rejected', async () => {
	assert.equal(await postToScript({ 'X-Hook-Secret': 'evil' }), 403);
	// A body signed with the attacker's secret is refused, so the secret did not change.
	const body = JSON.stringify({ events: [] });
	const signature = crypto.createHmac('sha256', 'evil').update(body).digest('hex');
	assert.equal(await postToScript({ 'X-Hook-Signature': signature, 'Content-Type': 'application/json' }, body), 401);
	assert.match(example.output(), /ready: webhook/);
});

test('malformed signature does not crash', async () => {
	const body = JSON.stringify({ events: [] });
	// 63 hex digits and one byte 0xE9: 64 characters, but 65 bytes in UTF-8.
	for (const signature of ['a'.repeat(63) + '\u00e9', 'A'.repeat(64), 'a'.repeat(65), '']) {
		const status = await new Promise((resolve, reject) => {
			const req = http.request(receiveUrl, { method: 'POST', headers: { 'X-Hook-Signature': signature } }, (res) => {
				res.resume();
				resolve(res.statusCode);
			});
			req.on('error', reject);
			req.end(body);
		});
		assert.equal(status, 401, `signature ${JSON.stringify(signature)}`);
	}
	assert.equal(example.child.exitCode, null, `the example exited:\n${example.output()}`);
});

test('assigned task stays as is', async () => {
	const me = (await admin.get('/users/me')).body.data.gid;
	const created = await admin.post('/tasks', { name: 'Mine already', projects: [projectGid], assignee: me });
	assert.equal(created.status, 201, created.text);
	const taskGid = created.body.data.gid;
	// A marker task created after it: once the marker is handled, the first task was seen too.
	const marker = await admin.post('/tasks', { name: 'Marker', projects: [projectGid] });
	await waitFor(async () => (await admin.get(`/tasks/${marker.body.data.gid}`)).body.data.assignee, 30000, 'marker assigned');
	const res = await admin.get(`/tasks/${taskGid}`);
	assert.equal(res.body.data.assignee.gid, me);
	const stories = await admin.get(`/tasks/${taskGid}/stories`);
	assert.equal(stories.body.data.filter((s) => s.resource_subtype === 'comment_added').length, 0);
});

test('stopping deletes the webhook', async () => {
	const exited = new Promise((resolve) => example.child.once('exit', resolve));
	example.child.kill('SIGTERM');
	await exited;
	assert.match(example.output(), /deleted webhook \d+/);
	const res = await bot.get('/webhooks', { workspace: server.orgGid, resource: projectGid });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data, []);
});

test('help and missing variables', async () => {
	const run = (args, env) => new Promise((resolve) => {
		execFile(process.execPath, [SCRIPT, ...args], { env: { PATH: process.env.PATH, NODE_PATH: path.join(repoRoot, 'node_modules'), ...env } },
			(err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
	});
	const help = await run(['--help'], {});
	assert.equal(help.code, 0, help.stderr);
	assert.match(help.stdout, /^usage: assign-new-tasks\.js/);
	assert.match(help.stdout, /PROJECT_GID/);
	const missing = await run([], { KONTOR_URL: server.url });
	assert.equal(missing.code, 2);
	assert.match(missing.stderr, /KONTOR_TOKEN is not set/);
	const unknown = await run(['--bogus'], {});
	assert.equal(unknown.code, 2);
	assert.match(unknown.stderr, /--bogus/);
});
