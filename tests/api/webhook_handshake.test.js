'use strict';
// The webhook creation handshake runs off the HTTP worker threads: with a
// single worker thread, other requests are served while a handshake waits
// on a slow receiver. Also the caps on handshakes in flight (per token and
// per server), a receiver that never responds, a client that disconnects
// during the handshake, and a server stopped during one. Every receiver
// listens on 127.0.0.1.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const { startServer, api } = require('./lib/server');

const HANDSHAKES_PER_TOKEN = 2;
const HANDSHAKES_PER_SERVER = 16;

let slow; // one worker thread, 4 s handshake timeout
let quick; // one worker thread, 1 s handshake timeout
let admin; // the super admin's client on `slow`
let projectGid; // a public project on `slow`
let quickProjectGid; // a public project on `quick`
const receivers = [];

// A receiver that responds to the handshake after `delayMs`, echoing
// X-Hook-Secret, or never when delayMs is Infinity. Returns {url, handshakes, close()}.
async function startReceiver(delayMs) {
	const heldResponses = [];
	const receiver = { url: null, handshakes: 0 };
	const server = http.createServer((req, res) => {
		req.resume();
		req.on('end', () => {
			receiver.handshakes++;
			if (delayMs === Infinity) {
				heldResponses.push(res);
				return;
			}
			const timer = setTimeout(() => {
				res.writeHead(200, { 'X-Hook-Secret': req.headers['x-hook-secret'] || '' }).end();
			}, delayMs);
			res.on('close', () => clearTimeout(timer));
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	receiver.url = `http://127.0.0.1:${server.address().port}/hook`;
	receiver.close = () => {
		heldResponses.forEach((res) => res.destroy());
		server.closeAllConnections();
		return new Promise((resolve) => server.close(resolve));
	};
	receivers.push(receiver);
	return receiver;
}

// One request on a connection of its own (no keep-alive pool), so that it
// cannot queue behind another request. Returns {status, headers, body, ms}.
function freshRequest(target, method, path, token, data) {
	const started = Date.now();
	const body = data === undefined ? undefined : JSON.stringify({ data });
	return new Promise((resolve, reject) => {
		const req = http.request(`${target.base}${path}`, {
			method,
			agent: false,
			headers: {
				authorization: `Bearer ${token}`,
				...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
			},
		}, (res) => {
			const chunks = [];
			res.on('data', (chunk) => chunks.push(chunk));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let parsed = text;
				try {
					parsed = JSON.parse(text);
				} catch {
					// not JSON: keep the text
				}
				resolve({ status: res.statusCode, headers: res.headers, body: parsed, text, ms: Date.now() - started });
			});
		});
		req.on('error', reject);
		if (body) {
			req.write(body);
		}
		req.end();
	});
}

function createWebhook(target, token, resource, url) {
	return freshRequest(target, 'POST', '/webhooks', token, { resource, target: url });
}

async function publicProject(target, client) {
	const team = await client.post('/teams', { name: 'Hooks', organization: target.orgGid });
	assert.equal(team.status, 201, team.text);
	const project = await client.post('/projects', { name: 'Watched', team: team.body.data.gid, privacy_setting: 'public_to_workspace' });
	assert.equal(project.status, 201, project.text);
	return project.body.data.gid;
}

before(async () => {
	const common = { KONTOR_ALLOW_PRIVATE_WEBHOOK_TARGETS: '1', KONTOR_THREADS: '1' };
	[slow, quick] = await Promise.all([
		startServer({ env: { ...common, KONTOR_WEBHOOK_TIMEOUT_MS: '4000' } }),
		startServer({ env: { ...common, KONTOR_WEBHOOK_TIMEOUT_MS: '1000' } }),
	]);
	admin = api(slow, slow.adminToken);
	projectGid = await publicProject(slow, admin);
	quickProjectGid = await publicProject(quick, api(quick, quick.adminToken));
});

after(async () => {
	await Promise.all(receivers.map((r) => r.close()));
	await Promise.all([slow, quick].filter(Boolean).map((s) => s.stop()));
});

test('other requests served during handshake', async () => {
	const receiver = await startReceiver(3000);
	const task = await admin.post('/tasks', { name: 'Probe', projects: [projectGid] });
	assert.equal(task.status, 201, task.text);

	const creation = createWebhook(slow, slow.adminToken, projectGid, receiver.url);
	// Wait until the handshake reached the receiver, so the probes overlap it.
	while (receiver.handshakes === 0) {
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	for (const path of ['/users/me', `/tasks/${task.body.data.gid}`, '/users/me']) {
		const probe = await freshRequest(slow, 'GET', path, slow.adminToken);
		assert.equal(probe.status, 200, probe.text);
		assert.ok(probe.ms < 1000, `GET ${path} took ${probe.ms} ms during the handshake`);
	}
	const list = await freshRequest(slow, 'GET', `/webhooks?workspace=${slow.orgGid}`, slow.adminToken);
	assert.equal(list.status, 200, list.text);
	assert.equal(list.body.data.some((h) => h.target === receiver.url), false, 'no webhook before the handshake ends');

	const res = await creation;
	assert.equal(res.status, 201, res.text);
	assert.ok(res.ms >= 2900, `the reply came after the handshake, in ${res.ms} ms`);
	assert.equal(res.body.data.target, receiver.url);
	assert.equal(res.body.data.resource.gid, projectGid);
	assert.match(res.headers.location || '', /\/webhooks\/\d+$/);
	const stored = await admin.get(`/webhooks/${res.body.data.gid}`);
	assert.equal(stored.status, 200, stored.text);

	// The access log has one line for the request, with its status and whole duration.
	const line = slow.logs().split('\n').filter((l) => l.includes('"route":"/webhooks"') && l.includes('"status":201')).pop();
	assert.ok(line, 'access-log line of the creation');
	assert.ok(Number(JSON.parse(line).duration_us) >= 2900000, line);
});

test('never-answering receiver gets 400', async () => {
	const receiver = await startReceiver(Infinity);
	const res = await createWebhook(quick, quick.adminToken, quickProjectGid, receiver.url);
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /^target: the handshake request to .* failed/);
	assert.ok(res.ms >= 900, `the 400 came after the 1 s timeout, in ${res.ms} ms`);
	assert.ok(res.ms < 4000, `the 400 came within the timeout, in ${res.ms} ms`);
});

test('handshakes per token capped with 429', async () => {
	const receiver = await startReceiver(1500);
	const results = await Promise.all(Array.from({ length: HANDSHAKES_PER_TOKEN + 1 }, () =>
		createWebhook(slow, slow.adminToken, projectGid, receiver.url)));
	const created = results.filter((r) => r.status === 201);
	const limited = results.filter((r) => r.status === 429);
	assert.equal(created.length, HANDSHAKES_PER_TOKEN, results.map((r) => r.text).join('\n'));
	assert.equal(limited.length, 1, results.map((r) => r.text).join('\n'));
	assert.equal(limited[0].headers['retry-after'], '4');
	assert.match(limited[0].body.errors[0].message, /webhook handshakes in flight for this token \(at most 2 at once\)/);
	assert.equal(receiver.handshakes, HANDSHAKES_PER_TOKEN, 'the rejected request sent no handshake');

	// The places are free again once the handshakes ended.
	const again = await createWebhook(slow, slow.adminToken, projectGid, receiver.url);
	assert.equal(again.status, 201, again.text);
});

test('handshakes per server capped with 429', async () => {
	const receiver = await startReceiver(2000);
	const users = [];
	for (let i = 0; i < HANDSHAKES_PER_SERVER / HANDSHAKES_PER_TOKEN + 1; i++) {
		users.push(await slow.addUser({ email: `member${i}@example.test`, name: `Member ${i}` }));
	}
	const first = users.slice(0, -1).flatMap((u) => Array.from({ length: HANDSHAKES_PER_TOKEN }, () =>
		createWebhook(slow, u.token, projectGid, receiver.url)));
	while (receiver.handshakes < HANDSHAKES_PER_SERVER) {
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	const extra = await createWebhook(slow, users[users.length - 1].token, projectGid, receiver.url);
	assert.equal(extra.status, 429, extra.text);
	assert.equal(extra.headers['retry-after'], '4');
	assert.match(extra.body.errors[0].message, /webhook handshakes in flight on this server \(at most 16\)/);
	const results = await Promise.all(first);
	for (const r of results) {
		assert.equal(r.status, 201, r.text);
	}
	const later = await createWebhook(slow, users[users.length - 1].token, projectGid, receiver.url);
	assert.equal(later.status, 201, later.text);
});

test('client disconnect during handshake', async () => {
	const receiver = await startReceiver(1000);
	const body = JSON.stringify({ data: { resource: projectGid, target: receiver.url } });
	const requests = [];
	for (let i = 0; i < HANDSHAKES_PER_TOKEN; i++) {
		const req = http.request(`${slow.base}/webhooks`, {
			method: 'POST',
			agent: false,
			headers: { authorization: `Bearer ${slow.adminToken}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
		});
		req.on('error', () => {}); // from the destroy below
		req.end(body);
		requests.push(req);
	}
	while (receiver.handshakes < HANDSHAKES_PER_TOKEN) {
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	// Close the client sockets while the handshakes are in flight.
	requests.forEach((req) => req.destroy());
	await new Promise((resolve) => setTimeout(resolve, 1500));

	// The server still serves, and the token's handshake places were given back.
	const results = await Promise.all(Array.from({ length: HANDSHAKES_PER_TOKEN }, () =>
		createWebhook(slow, slow.adminToken, projectGid, receiver.url)));
	for (const r of results) {
		assert.equal(r.status, 201, r.text);
	}
	const me = await freshRequest(slow, 'GET', '/users/me', slow.adminToken);
	assert.equal(me.status, 200, me.text);
	// libmicrohttpd notices the closed socket either before calling the handler
	// again (the request ends without a reply) or when it sends the reply, so
	// only the freed places and the sanitizer run at stop() are checked.
});

test('server stops during handshake', async () => {
	const receiver = await startReceiver(Infinity);
	const creation = createWebhook(quick, quick.adminToken, quickProjectGid, receiver.url).catch((err) => ({ error: err }));
	while (receiver.handshakes === 0) {
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	// stop() throws when the server crashes, leaks under the sanitizer or ignores SIGTERM.
	await quick.stop();
	quick = null;
	const res = await creation;
	if (!res.error) {
		assert.ok([400, 503].includes(res.status), res.text);
	}
});
