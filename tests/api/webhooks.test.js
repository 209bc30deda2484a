'use strict';
// Webhooks: creation with the X-Hook-Secret handshake, reads, filter changes
// and deletion, with body and target checks and who may watch what. Then
// signed and filtered deliveries, heartbeats, and retries through a failing,
// hanging and recovering receiver across a kontor restart. Last, disabling
// after a failure streak, and loopback targets rejected without
// --allow-private-webhook-targets. Every receiver listens on 127.0.0.1.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');
const { startReceiver, waitFor } = require('./lib/webhook_receiver');

// Short delivery knobs so that retries, timeouts and heartbeats happen within seconds.
const FAST = {
	KONTOR_ALLOW_PRIVATE_WEBHOOK_TARGETS: '1',
	KONTOR_WEBHOOK_POLL_MS: '100',
	KONTOR_WEBHOOK_TIMEOUT_MS: '700',
	KONTOR_WEBHOOK_RETRY_BASE_MS: '150',
	KONTOR_WEBHOOK_RETRY_MAX_MS: '400',
	KONTOR_WEBHOOK_HEARTBEAT_MS: '1500',
	KONTOR_WEBHOOK_DISABLE_AFTER_MS: '60000',
};

let server; // allows loopback targets
let strict; // the default: loopback targets refused
let short; // disables a webhook after one second of failures
let admin; // the super admin's client on `server`
let carol; // a member who sees only what is shared with her
let projectGid; // a public project of a team on `server`
const receivers = [];

function sql(target, query) {
	if (/^postgres(ql)?:\/\//.test(target.db)) {
		const out = execFileSync('psql', [target.db, '-At', '-v', 'ON_ERROR_STOP=1', '-c',
			`SELECT COALESCE(json_agg(row_to_json(q)), '[]'::json) FROM (${query}) q`], { encoding: 'utf8' });
		return JSON.parse(out.trim() || '[]');
	}
	const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', target.db, query], { encoding: 'utf8' });
	return out.trim() ? JSON.parse(out) : [];
}

// Asana's spec types these fields as strings, but Asana returns null while
// there is no failure or success yet (the createWebhook example shows it), as
// kontor does. The spec check runs on a copy without those nulls.
const NULLABLE_FIELDS = ['last_failure_at', 'last_failure_content', 'last_success_at', 'next_attempt_after', 'failure_deletion_timestamp'];

function assertWebhookMatchesSpec(method, path, res) {
	const strip = (hook) => Object.fromEntries(Object.entries(hook).filter(([k, v]) => !(NULLABLE_FIELDS.includes(k) && v === null)));
	const data = Array.isArray(res.body.data) ? res.body.data.map(strip) : strip(res.body.data);
	assertMatchesSpec(method, path, { ...res, body: { ...res.body, data } });
}

function sqlRun(target, statement) {
	if (/^postgres(ql)?:\/\//.test(target.db)) {
		execFileSync('psql', [target.db, '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement]);
	} else {
		execFileSync('sqlite3', ['-cmd', '.timeout 5000', target.db, statement]);
	}
}

async function receiver() {
	const r = await startReceiver();
	receivers.push(r);
	return r;
}

async function createTask(client, data) {
	const res = await client.post('/tasks', data);
	assert.equal(res.status, 201, res.text);
	return res.body.data.gid;
}

async function createWebhook(client, data) {
	const res = await client.post('/webhooks', data);
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

before(async () => {
	[server, strict, short] = await Promise.all([
		startServer({ env: FAST }),
		startServer(),
		startServer({ env: { ...FAST, KONTOR_WEBHOOK_DISABLE_AFTER_MS: '1000' } }),
	]);
	admin = api(server, server.adminToken);
	const user = await server.addUser({ email: 'carol@example.test', name: 'Carol' });
	carol = { ...user, client: api(server, user.token) };
	const team = await admin.post('/teams', { name: 'Hooks', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	const project = await admin.post('/projects', { name: 'Watched', team: team.body.data.gid });
	assert.equal(project.status, 201, project.text);
	projectGid = project.body.data.gid;
});

after(async () => {
	await Promise.all(receivers.map((r) => r.close()));
	await Promise.all([server, strict, short].filter(Boolean).map((s) => s.stop()));
});

test('create runs handshake and matches spec', async () => {
	const r = await receiver();
	const res = await admin.post('/webhooks', { resource: projectGid, target: r.url });
	assert.equal(res.status, 201, res.text);
	assertWebhookMatchesSpec('POST', '/webhooks', res);
	assert.equal(r.handshakes, 1);
	assert.match(r.secret, /^[0-9a-f]{64}$/);

	const hook = res.body.data;
	assert.equal(hook.resource_type, 'webhook');
	assert.equal(hook.active, true);
	assert.deepEqual(hook.resource, { gid: projectGid, resource_type: 'project', name: 'Watched' });
	assert.equal(hook.target, r.url);
	assert.deepEqual(hook.filters, []);
	assert.equal(hook.last_failure_at, null);
	assert.equal(hook.delivery_retry_count, 0);
	assert.equal(res.headers.location.endsWith(`/webhooks/${hook.gid}`), true);

	// The secret appears nowhere but in the handshake: not in replies, the database or the log.
	assert.equal(res.text.includes(r.secret), false);
	const got = await admin.get(`/webhooks/${hook.gid}`);
	assert.equal(got.status, 200, got.text);
	assertWebhookMatchesSpec('GET', '/webhooks/{webhook_gid}', got);
	assert.equal(got.text.includes(r.secret), false);
	const rows = sql(server, `SELECT sealed_secret FROM webhooks WHERE gid = ${hook.gid}`);
	assert.equal(rows.length, 1);
	assert.equal(rows[0].sealed_secret.includes(r.secret), false);
	assert.equal(server.logs().includes(r.secret), false);

	const audit = sql(server, `SELECT event_type, event_category, resource_type FROM audit_log WHERE resource_gid = ${hook.gid}`);
	assert.deepEqual(audit, [{ event_type: 'webhook_created', event_category: 'apps', resource_type: 'webhook' }]);
});

test('list, filter update and delete', async () => {
	const r = await receiver();
	const taskGid = await createTask(admin, { name: 'List me', workspace: server.orgGid });
	const hook = await createWebhook(admin, { resource: taskGid, target: r.url });

	let res = await admin.get('/webhooks', { workspace: server.orgGid, resource: taskGid });
	assert.equal(res.status, 200, res.text);
	assertWebhookMatchesSpec('GET', '/webhooks', res);
	assert.deepEqual(res.body.data.map((h) => h.gid), [hook.gid]);
	assert.deepEqual(Object.keys(res.body.data[0]).sort(), ['active', 'gid', 'resource', 'resource_type', 'target']);

	res = await admin.get('/webhooks', { workspace: server.orgGid, limit: 1 });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.length, 1);
	assert.ok(res.body.next_page, 'more than one webhook exists, so there is a next page');
	assert.ok(res.body.next_page.offset);

	res = await admin.get('/webhooks');
	assert.equal(res.status, 400);
	assert.match(res.text, /workspace/);

	res = await admin.put(`/webhooks/${hook.gid}`, { filters: [{ resource_type: 'story', action: 'added' }] });
	assert.equal(res.status, 200, res.text);
	assertWebhookMatchesSpec('PUT', '/webhooks/{webhook_gid}', res);
	assert.deepEqual(res.body.data.filters, [{ resource_type: 'story', action: 'added' }]);

	res = await admin.put(`/webhooks/${hook.gid}`, { target: 'https://example.com/' });
	assert.equal(res.status, 400);
	assert.match(res.text, /target/);

	res = await admin.del(`/webhooks/${hook.gid}`);
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body, { data: {} });
	res = await admin.get(`/webhooks/${hook.gid}`);
	assert.equal(res.status, 404);
	const audit = sql(server, `SELECT event_type FROM audit_log WHERE resource_gid = ${hook.gid} ORDER BY gid`);
	assert.deepEqual(audit.map((a) => a.event_type), ['webhook_created', 'webhook_deleted']);
});

test('invalid bodies get 400 naming the field', async () => {
	const r = await receiver();
	const cases = [
		[{ target: r.url }, /resource/],
		[{ resource: projectGid }, /target/],
		[{ resource: projectGid, target: r.url, extra: 1 }, /extra/],
		[{ resource: projectGid, target: 'ftp://example.com/x' }, /scheme/],
		[{ resource: projectGid, target: 'https://user:pw@example.com/' }, /user name/],
		[{ resource: projectGid, target: 'not a url' }, /target/],
		[{ resource: projectGid, target: r.url, filters: {} }, /filters/],
		[{ resource: projectGid, target: r.url, filters: [{ action: 'exploded' }] }, /filters\[0\]\.action/],
		[{ resource: projectGid, target: r.url, filters: [{ colour: 'red' }] }, /filters\[0\]\.colour/],
		[{ resource: projectGid, target: r.url, filters: [{ resource_type: 'task', fields: ['name'] }] }, /changed/],
		[{ resource: projectGid, target: r.url, filters: [{ resource_type: 'Task!' }] }, /resource_type/],
	];
	for (const [data, pattern] of cases) {
		const res = await admin.post('/webhooks', data);
		assert.equal(res.status, 400, `${JSON.stringify(data)}: ${res.text}`);
		assert.match(res.text, pattern, JSON.stringify(data));
	}
	assert.equal(r.handshakes, 0, 'no handshake for a body that fails its checks');
});

test('team webhook requires filters', async () => {
	const r = await receiver();
	const teamGid = (await admin.get(`/projects/${projectGid}`)).body.data.team.gid;
	let res = await admin.post('/webhooks', { resource: teamGid, target: r.url });
	assert.equal(res.status, 400);
	assert.match(res.text, /filters: required/);
	res = await admin.post('/webhooks', { resource: teamGid, target: r.url, filters: [{ resource_type: 'project', fields: ['name'], action: 'changed' }] });
	assert.equal(res.status, 400);
	assert.match(res.text, /fields: not supported/);
	res = await admin.post('/webhooks', { resource: teamGid, target: r.url, filters: [{ resource_type: 'project' }] });
	assert.equal(res.status, 201, res.text);
	assert.equal(res.body.data.resource.resource_type, 'team');
});

test('organization webhook only for full service accounts', async () => {
	const r = await receiver();
	let res = await admin.post('/webhooks', { resource: server.orgGid, target: r.url, filters: [{ resource_type: 'task' }] });
	assert.equal(res.status, 403, res.text);
	assert.match(res.text, /service account with full access/);

	const sa = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name: 'Hook bot', permissions: 'full' });
	assert.equal(sa.status, 201, sa.text);
	const bot = api(server, sa.body.data.token);
	res = await bot.post('/webhooks', { resource: server.orgGid, target: r.url });
	assert.equal(res.status, 400);
	assert.match(res.text, /filters: required/);
	const hook = await createWebhook(bot, { resource: server.orgGid, target: r.url, filters: [{ resource_type: 'task', action: 'added' }] });
	assert.equal(hook.resource.resource_type, 'workspace');

	// A task nobody shares with the bot's owner still reaches the organization webhook.
	const taskGid = await createTask(carol.client, { name: 'Carol private', workspace: server.orgGid });
	await waitFor(() => r.events().some((e) => e.resource.gid === taskGid), 15000, 'organization webhook event');
	assert.ok(r.deliveries.every((d) => r.verify(d)));

	// The super admin does not manage the bot's webhook; the bot sees every webhook.
	res = await admin.get(`/webhooks/${hook.gid}`);
	assert.equal(res.status, 404);
	res = await bot.get('/webhooks', { workspace: server.orgGid });
	assert.ok(res.body.data.length >= 2, res.text);
});

test('handshake failures are explained', async () => {
	const r = await receiver();
	r.mode = 'no-echo';
	let res = await admin.post('/webhooks', { resource: projectGid, target: r.url });
	assert.equal(res.status, 400);
	assert.match(res.text, /X-Hook-Secret/);
	assert.ok(res.text.includes(r.url), 'the message names the target');

	r.mode = 'reject';
	res = await admin.post('/webhooks', { resource: projectGid, target: r.url });
	assert.equal(res.status, 400);
	assert.match(res.text, /HTTP 403/);

	r.mode = 'hang';
	res = await admin.post('/webhooks', { resource: projectGid, target: r.url });
	assert.equal(res.status, 400);
	assert.match(res.text, /timed out/);

	// A closed port on loopback: nothing listens there any more.
	const gone = await startReceiver();
	const goneUrl = gone.url;
	await gone.close();
	res = await admin.post('/webhooks', { resource: projectGid, target: goneUrl });
	assert.equal(res.status, 400);
	assert.match(res.text, /failed/);

	res = await admin.get('/webhooks', { workspace: server.orgGid, resource: projectGid });
	assert.equal(res.body.data.some((h) => h.target === r.url), false, 'no webhook is stored after a failed handshake');
});

test('invisible resources and foreign webhooks are 404', async () => {
	const r = await receiver();
	const hidden = await createTask(admin, { name: 'Admin only', workspace: server.orgGid });
	let res = await carol.client.post('/webhooks', { resource: hidden, target: r.url });
	assert.equal(res.status, 404, res.text);
	assert.match(res.text, /resource/);
	assert.equal(r.handshakes, 0);

	res = await carol.client.post('/webhooks', { resource: '999999999', target: r.url });
	assert.equal(res.status, 404);

	const hook = await createWebhook(admin, { resource: hidden, target: r.url });
	for (const [method, path, body] of [
		['get', `/webhooks/${hook.gid}`],
		['put', `/webhooks/${hook.gid}`, { filters: [] }],
		['del', `/webhooks/${hook.gid}`],
	]) {
		res = await carol.client[method](path, body);
		assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
	}
	res = await carol.client.get('/webhooks', { workspace: server.orgGid });
	assert.deepEqual(res.body.data, []);
	res = await carol.client.get('/webhooks', { workspace: '123' });
	assert.equal(res.status, 404);
});

test('deliveries are signed and filtered', async () => {
	const r = await receiver();
	await createWebhook(admin, { resource: projectGid, target: r.url, filters: [{ resource_type: 'task', action: 'added' }] });
	const all = await receiver();
	await createWebhook(admin, { resource: projectGid, target: all.url });

	const taskGid = await createTask(admin, { name: 'Signed', projects: [projectGid] });
	const comment = await admin.post(`/tasks/${taskGid}/stories`, { text: 'hello' });
	assert.equal(comment.status, 201, comment.text);

	await waitFor(() => all.events().some((e) => e.resource.resource_type === 'story'), 15000, 'story event on the unfiltered webhook');
	await waitFor(() => r.events().some((e) => e.resource.gid === taskGid), 15000, 'task event on the filtered webhook');
	assert.equal(r.events().some((e) => e.resource.resource_type === 'story'), false, 'the filter drops stories');

	const event = r.events().find((e) => e.resource.gid === taskGid);
	assert.equal(event.action, 'added');
	assert.equal(event.resource.resource_type, 'task');
	assert.deepEqual(event.parent, { gid: projectGid, resource_type: 'project' });
	assert.equal(event.user.resource_type, 'user');
	assert.deepEqual(Object.keys(event.user).sort(), ['gid', 'resource_type']);
	assert.match(event.created_at, /^\d{4}-\d\d-\d\dT/);

	for (const d of [...r.deliveries, ...all.deliveries]) {
		assert.ok(r.verify(d) || all.verify(d), 'every delivery carries a valid X-Hook-Signature');
	}
	assert.ok(r.deliveries.every((d) => r.verify(d)));
	assert.ok(all.deliveries.every((d) => all.verify(d)));
	const forged = { ...r.deliveries[0], raw: r.deliveries[0].raw + ' ' };
	assert.equal(r.verify(forged), false, 'a changed body fails verification');
});

test('idle webhook gets heartbeat', async () => {
	const r = await receiver();
	const taskGid = await createTask(admin, { name: 'Quiet', workspace: server.orgGid });
	await createWebhook(admin, { resource: taskGid, target: r.url });
	const beat = await waitFor(() => r.deliveries.find((d) => d.body && Array.isArray(d.body.events) && d.body.events.length === 0), 15000, 'heartbeat');
	assert.ok(r.verify(beat));
});

test('failures, timeouts and restart lose nothing', async () => {
	const r = await receiver();
	const hook = await createWebhook(admin, { resource: projectGid, target: r.url, filters: [{ resource_type: 'task', action: 'added' }] });
	const created = [];

	r.mode = 'fail';
	for (let i = 0; i < 3; i++) {
		created.push(await createTask(admin, { name: `down ${i}`, projects: [projectGid] }));
	}
	let state = await waitFor(async () => {
		const res = await admin.get(`/webhooks/${hook.gid}`);
		return res.body.data.delivery_retry_count >= 2 ? res.body.data : null;
	}, 15000, 'two failed attempts');
	assert.match(state.last_failure_content, /^HTTP 500: receiver is down/);
	assert.ok(state.last_failure_at);
	assert.ok(state.next_attempt_after);
	assert.ok(state.failure_deletion_timestamp);
	assert.equal(state.active, true);

	r.mode = 'hang';
	created.push(await createTask(admin, { name: 'hang 0', projects: [projectGid] }));
	state = await waitFor(async () => {
		const res = await admin.get(`/webhooks/${hook.gid}`);
		return /timed out/.test(res.body.data.last_failure_content) ? res.body.data : null;
	}, 15000, 'a timed-out attempt');

	await server.restart();
	admin = api(server, server.adminToken);
	carol.client = api(server, carol.token);
	for (let i = 0; i < 3; i++) {
		created.push(await createTask(admin, { name: `after restart ${i}`, projects: [projectGid] }));
	}

	r.mode = 'ok';
	await waitFor(() => {
		const seen = new Set(r.deliveries.filter((d) => d.mode === 'ok').flatMap((d) => d.body.events.map((e) => e.resource.gid)));
		return created.every((gid) => seen.has(gid));
	}, 20000, () => `every task delivered; got ${JSON.stringify(r.events().map((e) => e.resource.gid))}`);

	// At least once: duplicates may occur, so dedupe by resource and time; none may be missing.
	const unique = new Map();
	for (const e of r.events()) {
		unique.set(`${e.resource.gid}/${e.created_at}`, e);
	}
	assert.deepEqual([...new Set([...unique.values()].map((e) => e.resource.gid))].sort(), [...created].sort());
	assert.ok(r.deliveries.every((d) => r.verify(d)), 'every delivery, retries included, is signed');

	state = await waitFor(async () => {
		const res = await admin.get(`/webhooks/${hook.gid}`);
		return res.body.data.delivery_retry_count === 0 ? res.body.data : null;
	}, 15000, 'retry count reset');
	assert.ok(state.last_success_at);
	assert.equal(state.next_attempt_after, null);
	assert.equal(state.failure_deletion_timestamp, null);
});

test('failure streak disables webhook', async () => {
	const r = await receiver();
	const client = api(short, short.adminToken);
	const taskGid = await createTask(client, { name: 'Doomed', workspace: short.orgGid });
	const hook = await createWebhook(client, { resource: taskGid, target: r.url });
	r.mode = 'fail';
	const comment = await client.post(`/tasks/${taskGid}/stories`, { text: 'nobody hears this' });
	assert.equal(comment.status, 201, comment.text);

	const state = await waitFor(async () => {
		const res = await client.get(`/webhooks/${hook.gid}`);
		return res.body.data.active === false ? res.body.data : null;
	}, 20000, 'webhook disabled');
	assert.match(state.last_failure_content, /HTTP 500/);
	const audit = sql(short, `SELECT event_type, actor_type FROM audit_log WHERE resource_gid = ${hook.gid} ORDER BY gid`);
	assert.deepEqual(audit, [
		{ event_type: 'webhook_created', actor_type: 'user' },
		{ event_type: 'webhook_disabled', actor_type: 'asana' },
	]);
	const before = r.deliveries.length;
	await new Promise((resolve) => setTimeout(resolve, 600));
	assert.equal(r.deliveries.length, before, 'a disabled webhook sends nothing');
});

test('loopback target refused by default', async () => {
	const r = await receiver();
	const client = api(strict, strict.adminToken);
	const taskGid = await createTask(client, { name: 'Strict', workspace: strict.orgGid });
	for (const target of [r.url, r.url.replace('127.0.0.1', 'localhost'), r.url.replace('127.0.0.1', '[::1]')]) {
		const res = await client.post('/webhooks', { resource: taskGid, target });
		assert.equal(res.status, 403, `${target}: ${res.text}`);
		assert.match(res.text, /--allow-private-webhook-targets/);
	}
	assert.equal(r.handshakes, 0, 'no request reached the receiver');
});

test('filters, tags and bad echoes explained', async () => {
	const r = await receiver();
	const tag = await admin.post('/tags', { name: 'Watch me', workspace: server.orgGid });
	assert.equal(tag.status, 201, tag.text);
	const cases = [
		[{ resource: projectGid, target: r.url, filters: [{}] }, 400, /filters\[0\]: empty/],
		[{ resource: projectGid, target: r.url, filters: [{ resource_type: null }] }, 400, /filters\[0\]: empty/],
		[{ resource: projectGid, target: r.url, filters: [{ resource_type: 'widget' }] }, 400, /filters\[0\]\.resource_type: "widget"/],
		[{ resource: tag.body.data.gid, target: r.url }, 400, /tag, and webhooks cannot watch tags/],
	];
	for (const [data, status, pattern] of cases) {
		const res = await admin.post('/webhooks', data);
		assert.equal(res.status, status, `${JSON.stringify(data)}: ${res.text}`);
		assert.match(res.body.errors[0].message, pattern);
	}
	assert.equal(r.handshakes, 0);

	r.mode = 'wrong-echo';
	let res = await admin.post('/webhooks', { resource: projectGid, target: r.url });
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /differs from the one sent/);

	// The handshake has an empty body and no form Content-Type.
	r.mode = 'ok';
	res = await admin.post('/webhooks', { resource: projectGid, target: r.url, filters: [{ resource_type: 'attachment' }] });
	assert.equal(res.status, 201, res.text);
	assert.equal(r.handshakeHeaders['content-type'], undefined, JSON.stringify(r.handshakeHeaders));
});

// Carol's receiver and webhook on a resource she sees; returns {r, hook}.
async function carolWebhook(data) {
	const r = await receiver();
	const hook = await createWebhook(carol.client, { target: r.url, ...data });
	return { r, hook };
}

test('member deliveries follow visibility', async () => {
	const team = await admin.post('/teams', { name: 'Open team', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	const teamGid = team.body.data.gid;
	const publicP = (await admin.post('/projects', { name: 'Open P', team: teamGid, privacy_setting: 'public_to_workspace' })).body.data.gid;
	const privateQ = (await admin.post('/projects', { name: 'SECRET Q', team: teamGid, privacy_setting: 'private' })).body.data.gid;
	const onTeam = await carolWebhook({ resource: teamGid, filters: [{ resource_type: 'project' }] });
	const onProject = await carolWebhook({ resource: publicP });

	const privateQ3 = (await admin.post('/projects', { name: 'SECRET Q3', team: teamGid, privacy_setting: 'private' })).body.data.gid;
	const publicMarker = (await admin.post('/projects', { name: 'Open marker', team: teamGid, privacy_setting: 'public_to_workspace' })).body.data.gid;
	await waitFor(() => onTeam.r.events().some((e) => e.resource.gid === publicMarker), 15000, 'public project event');
	assert.equal(onTeam.r.events().some((e) => e.resource.gid === privateQ3), false, 'no event about the private project');

	const x = await createTask(admin, { name: 'X', projects: [publicP, privateQ] });
	const y = await createTask(admin, { name: 'Y', projects: [privateQ] });
	const c = await createTask(admin, { name: 'C', projects: [publicP] });
	assert.equal((await admin.post(`/tasks/${x}/addProject`, { project: privateQ3 })).status, 200);
	assert.equal((await admin.post(`/tasks/${x}/removeProject`, { project: privateQ })).status, 200);
	assert.equal((await admin.post(`/tasks/${c}/setParent`, { parent: y })).status, 200);
	const marker = await createTask(admin, { name: 'Marker', projects: [publicP] });
	await waitFor(() => onProject.r.events().some((e) => e.resource.gid === marker), 15000, 'marker task event');
	const hidden = [privateQ, privateQ3, y];
	const leaks = onProject.r.events().filter((e) => e.parent && hidden.includes(e.parent.gid));
	assert.deepEqual(leaks, []);
	for (const e of onProject.r.events()) {
		assert.equal(e.parent === null, false, 'parent is left out, never null');
	}
	// Admin's own webhook on the same project gets what Carol's left out.
	const adminHook = await receiver();
	await createWebhook(admin, { resource: publicP, target: adminHook.url });
	assert.equal((await admin.post(`/tasks/${c}/addProject`, { project: privateQ })).status, 200);
	await waitFor(() => adminHook.events().some((e) => e.parent && e.parent.gid === privateQ), 15000, 'admin sees the private parent');
});

test('deleted objects do not reveal their events', async () => {
	const team = await admin.post('/teams', { name: 'Deleting team', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	const teamGid = team.body.data.gid;
	const publicP = (await admin.post('/projects', { name: 'Open D', team: teamGid, privacy_setting: 'public_to_workspace' })).body.data.gid;
	const onTeam = await carolWebhook({ resource: teamGid, filters: [{ resource_type: 'project' }] });
	const onProject = await carolWebhook({ resource: publicP });

	// Created and deleted at once, so that the worker mostly reads the events after the deletes.
	const privateN = (await admin.post('/projects', { name: 'SECRET N', team: teamGid, privacy_setting: 'private' })).body.data.gid;
	const wanderer = await createTask(admin, { name: 'Wanderer', projects: [publicP] });
	const parent = await createTask(admin, { name: 'SECRET parent', projects: [privateN] });
	assert.equal((await admin.post(`/tasks/${wanderer}/addProject`, { project: privateN })).status, 200);
	assert.equal((await admin.post(`/tasks/${wanderer}/setParent`, { parent })).status, 200);
	assert.equal((await admin.del(`/tasks/${parent}`)).status, 200);
	assert.equal((await admin.del(`/projects/${privateN}`)).status, 200);

	const projectMarker = (await admin.post('/projects', { name: 'Open marker D', team: teamGid, privacy_setting: 'public_to_workspace' })).body.data.gid;
	const taskMarker = await createTask(admin, { name: 'Marker D', projects: [publicP] });
	await waitFor(() => onTeam.r.events().some((e) => e.resource.gid === projectMarker), 15000, 'public project event');
	await waitFor(() => onProject.r.events().some((e) => e.resource.gid === taskMarker), 15000, 'marker task event');
	const secret = [privateN, parent];
	const leaks = [...onTeam.r.events(), ...onProject.r.events()]
		.filter((e) => secret.includes(e.resource.gid) || (e.parent && secret.includes(e.parent.gid)));
	assert.deepEqual(leaks, []);
	// Carol's project lost the task: she learns of the deletion.
	await waitFor(() => onProject.r.events().some((e) => e.resource.gid === wanderer && e.action === 'deleted'), 15000, 'deleted task event');
});

test('lost access disables webhook', async () => {
	const team = (await admin.post('/teams', { name: 'Closing team', organization: server.orgGid })).body.data.gid;
	const p = (await admin.post('/projects', { name: 'Soon private', team, privacy_setting: 'public_to_workspace' })).body.data.gid;
	const { r, hook } = await carolWebhook({ resource: p });
	let res = await carol.client.get(`/webhooks/${hook.gid}`);
	assert.equal(res.body.data.resource.name, 'Soon private');

	assert.equal((await admin.put(`/projects/${p}`, { privacy_setting: 'private' })).status, 200);
	const task = await createTask(admin, { name: 'After the change', projects: [p] });
	const state = await waitFor(async () => {
		const got = await carol.client.get(`/webhooks/${hook.gid}`);
		return got.body.data.active === false ? got.body.data : null;
	}, 15000, 'webhook disabled');
	assert.match(state.last_failure_content, /can no longer see the project/);
	assert.deepEqual(Object.keys(state.resource).sort(), ['gid', 'resource_type'], 'no name of a project Carol cannot see');
	res = await carol.client.get('/webhooks', { workspace: server.orgGid, resource: p });
	assert.equal(res.body.data[0].resource.name, undefined);
	assert.equal(r.events().some((e) => e.resource.gid === task), false);
	const audit = sql(server, `SELECT event_type, actor_type FROM audit_log WHERE resource_gid = ${hook.gid} ORDER BY gid`);
	assert.deepEqual(audit, [
		{ event_type: 'webhook_created', actor_type: 'user' },
		{ event_type: 'webhook_disabled', actor_type: 'asana' },
	]);
});

test('deactivated owner disables webhook', async () => {
	const user = await server.addUser({ email: 'dora@example.test', name: 'Dora' });
	const dora = api(server, user.token);
	const r = await receiver();
	const hook = await createWebhook(dora, { resource: projectGid, target: r.url });
	sqlRun(server, `UPDATE workspace_memberships SET is_active = 0 WHERE user_gid = ${user.gid}`);
	await waitFor(() => Number(sql(server, `SELECT active FROM webhooks WHERE gid = ${hook.gid}`)[0].active) === 0, 15000, 'webhook disabled');
	const row = sql(server, `SELECT last_failure_content FROM webhooks WHERE gid = ${hook.gid}`)[0];
	assert.match(row.last_failure_content, /deactivated/);
	const audit = sql(server, `SELECT event_type FROM audit_log WHERE resource_gid = ${hook.gid} ORDER BY gid`);
	assert.deepEqual(audit.map((a) => a.event_type), ['webhook_created', 'webhook_disabled']);
});
