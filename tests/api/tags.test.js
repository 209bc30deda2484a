'use strict';
// Tags: create, read, update and delete, the color enum and body checks,
// the organization-wide lists with pagination, tags on a task, and what
// guests may see and do.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');

let server;
let admin;
let member;
let guest;

const TAG_FULL_KEYS = ['color', 'created_at', 'followers', 'gid', 'name', 'notes', 'resource_type', 'workspace'];

function isMissingEndpoint(res) {
	return res.status === 404 && /No such endpoint/.test(res.text);
}

async function createTag(client, data) {
	const res = await client.post('/tags', { workspace: server.orgGid, ...data });
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

before(async () => {
	server = await startServer();
	admin = api(server, server.adminToken);
	member = await server.addUser({ email: 'mia@example.test', name: 'Mia' });
	member.client = api(server, member.token);
	guest = await server.addUser({ email: 'gus@partner.test', name: 'Gus', role: 'guest' });
	guest.client = api(server, guest.token);
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('tag create returns full tag', async () => {
	const res = await admin.post('/tags', { name: 'Urgent', color: 'dark-red', notes: 'Fix today', workspace: server.orgGid });
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/tags', res);

	const tag = res.body.data;
	assert.deepEqual(Object.keys(tag).sort(), TAG_FULL_KEYS);
	assert.match(tag.gid, /^\d+$/);
	assert.equal(tag.resource_type, 'tag');
	assert.equal(tag.name, 'Urgent');
	assert.equal(tag.color, 'dark-red');
	assert.equal(tag.notes, 'Fix today');
	assert.deepEqual(tag.followers, []);
	assert.equal(tag.workspace.gid, server.orgGid);
	assert.equal(tag.workspace.resource_type, 'workspace');
	assert.equal(tag.workspace.name, 'Test Org');
	assert.ok(!Number.isNaN(Date.parse(tag.created_at)), `created_at: ${tag.created_at}`);
	assert.equal(res.headers.location, `/api/1.0/tags/${tag.gid}`);
});

test('tag create in workspace path', async () => {
	const res = await member.client.post(`/workspaces/${server.orgGid}/tags`, { name: 'Backend' });
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/workspaces/{workspace_gid}/tags', res);
	assert.equal(res.body.data.name, 'Backend');
	assert.equal(res.body.data.color, null);
	assert.equal(res.body.data.notes, '');
	assert.equal(res.body.data.workspace.gid, server.orgGid);

	const withWorkspace = await member.client.post(`/workspaces/${server.orgGid}/tags`, { name: 'x', workspace: server.orgGid });
	assert.equal(withWorkspace.status, 400, withWorkspace.text);
	assert.match(withWorkspace.body.errors[0].message, /workspace/);
});

test('tag create accepts every color', async () => {
	for (const color of ['dark-pink', 'light-warm-gray', null]) {
		const tag = await createTag(admin, { name: `color ${color}`, color });
		assert.equal(tag.color, color);
	}
});

test('tag create rejects bad bodies', async () => {
	const cases = [
		[{ name: 'x', color: 'red' }, /color/],
		[{ name: 'x', color: 'Dark-Pink' }, /color/],
		[{ name: '' }, /name/],
		[{ name: '  ' }, /name/],
		[{ color: 'dark-blue' }, /name/],
		[{ name: 'x', flavour: 'mint' }, /flavour/],
		[{ name: 'x', gid: '1' }, /gid/],
		[{ name: 'x', created_at: '2024-01-01T00:00:00Z' }, /created_at/],
		[{ name: 'x', notes: 7 }, /notes/],
		[{ name: 'x'.repeat(5000) }, /name/],
		[{ name: 'x', followers: 'me' }, /followers/],
	];
	for (const [data, message] of cases) {
		const res = await admin.post('/tags', { workspace: server.orgGid, ...data });
		assert.equal(res.status, 400, `${JSON.stringify(data).slice(0, 80)}: ${res.text}`);
		assert.match(res.body.errors[0].message, message, JSON.stringify(data).slice(0, 80));
		assertMatchesSpec('POST', '/tags', res);
	}
});

test('tag create needs own workspace', async () => {
	const missing = await admin.post('/tags', { name: 'Nowhere' });
	assert.equal(missing.status, 400, missing.text);
	assert.match(missing.body.errors[0].message, /workspace/);

	const other = await admin.post('/tags', { name: 'Elsewhere', workspace: '123456789' });
	assert.equal(other.status, 404, other.text);

	const otherPath = await admin.post('/workspaces/123456789/tags', { name: 'Elsewhere' });
	assert.equal(otherPath.status, 404, otherPath.text);
});

test('tag create checks followers', async () => {
	const tag = await createTag(admin, { name: 'Followed', followers: ['me', member.email] });
	assert.equal(tag.name, 'Followed');

	const unknown = await admin.post('/tags', { name: 'x', workspace: server.orgGid, followers: ['nobody@nowhere.test'] });
	assert.equal(unknown.status, 404, unknown.text);
	assert.match(unknown.body.errors[0].message, /followers/);
});

test('tag get returns full tag', async () => {
	const created = await createTag(admin, { name: 'Readable', color: 'light-teal' });
	const res = await member.client.get(`/tags/${created.gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/tags/{tag_gid}', res);
	assert.deepEqual(res.body.data, created);

	const projected = await member.client.get(`/tags/${created.gid}`, { opt_fields: 'color,workspace.name' });
	assert.equal(projected.status, 200, projected.text);
	assert.deepEqual(Object.keys(projected.body.data).sort(), ['color', 'gid', 'resource_type', 'workspace']);
	assert.equal(projected.body.data.workspace.name, 'Test Org');
});

test('tag get unknown or malformed gid', async () => {
	const missing = await admin.get('/tags/987654321');
	assert.equal(missing.status, 404, missing.text);
	assertMatchesSpec('GET', '/tags/{tag_gid}', missing);

	const malformed = await admin.get('/tags/12x');
	assert.equal(malformed.status, 400, malformed.text);
});

test('tag update changes given fields', async () => {
	const created = await createTag(admin, { name: 'Old name', color: 'dark-blue', notes: 'keep me' });

	const res = await member.client.put(`/tags/${created.gid}`, { name: 'New name', color: null });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('PUT', '/tags/{tag_gid}', res);
	assert.equal(res.body.data.name, 'New name');
	assert.equal(res.body.data.color, null);
	assert.equal(res.body.data.notes, 'keep me');

	const notes = await member.client.put(`/tags/${created.gid}`, { notes: 'line 1\nline 2', color: 'light-green' });
	assert.equal(notes.status, 200, notes.text);
	assert.equal(notes.body.data.name, 'New name');
	assert.equal(notes.body.data.notes, 'line 1\nline 2');
	assert.equal(notes.body.data.color, 'light-green');
});

test('tag update rejects bad bodies', async () => {
	const created = await createTag(admin, { name: 'Steady' });
	const cases = [
		[{ name: '' }, /name/],
		[{ name: null }, /name/],
		[{ color: 'blue' }, /color/],
		[{ workspace: server.orgGid }, /workspace/],
		[{ shape: 'round' }, /shape/],
	];
	for (const [data, message] of cases) {
		const res = await admin.put(`/tags/${created.gid}`, data);
		assert.equal(res.status, 400, `${JSON.stringify(data)}: ${res.text}`);
		assert.match(res.body.errors[0].message, message);
	}
	const unchanged = await admin.get(`/tags/${created.gid}`);
	assert.equal(unchanged.body.data.name, 'Steady');

	const missing = await admin.put('/tags/987654321', { name: 'ghost' });
	assert.equal(missing.status, 404, missing.text);
});

test('tag delete removes tag', async () => {
	const created = await createTag(admin, { name: 'Doomed' });
	const res = await member.client.del(`/tags/${created.gid}`);
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body, { data: {} });
	assertMatchesSpec('DELETE', '/tags/{tag_gid}', res);

	const gone = await admin.get(`/tags/${created.gid}`);
	assert.equal(gone.status, 404, gone.text);
	const again = await admin.del(`/tags/${created.gid}`);
	assert.equal(again.status, 404, again.text);
});

test('tags list pages through workspace', async () => {
	const fresh = await startServer({ org: 'List Org' });
	try {
		const client = api(fresh, fresh.adminToken);
		const created = [];
		for (let i = 0; i < 5; i++) {
			const res = await client.post('/tags', { name: `tag ${i}`, workspace: fresh.orgGid });
			assert.equal(res.status, 201, res.text);
			created.push(res.body.data.gid);
		}

		for (const path of ['/tags', `/workspaces/${fresh.orgGid}/tags`]) {
			const seen = [];
			let offset;
			let pages = 0;
			do {
				const query = path === '/tags' ? { workspace: fresh.orgGid, limit: 2, offset } : { limit: 2, offset };
				const res = await client.get(path, query);
				assert.equal(res.status, 200, res.text);
				assertMatchesSpec('GET', path, res);
				for (const tag of res.body.data) {
					assert.deepEqual(Object.keys(tag).sort(), ['gid', 'name', 'resource_type']);
					seen.push(tag.gid);
				}
				offset = res.body.next_page ? res.body.next_page.offset : undefined;
				pages++;
			} while (offset !== undefined && pages < 10);
			assert.equal(pages, 3, path);
			assert.deepEqual(seen, created, path);
		}
	} finally {
		await fresh.stop();
	}
});

test('tags list needs workspace', async () => {
	const missing = await admin.get('/tags');
	assert.equal(missing.status, 400, missing.text);
	assert.match(missing.body.errors[0].message, /workspace/);
	assertMatchesSpec('GET', '/tags', missing);

	const other = await admin.get('/tags', { workspace: '123456789' });
	assert.equal(other.status, 404, other.text);

	const malformed = await admin.get('/tags', { workspace: 'acme' });
	assert.equal(malformed.status, 400, malformed.text);
});

test('tags list with opt_fields', async () => {
	await createTag(admin, { name: 'Colored', color: 'dark-teal' });
	const res = await admin.get('/tags', { workspace: server.orgGid, opt_fields: 'name,color' });
	assert.equal(res.status, 200, res.text);
	for (const tag of res.body.data) {
		assert.deepEqual(Object.keys(tag).sort(), ['color', 'gid', 'name', 'resource_type']);
	}
	assert.ok(res.body.data.some((t) => t.name === 'Colored' && t.color === 'dark-teal'));
});

test('guest cannot list or change tags', async () => {
	const created = await createTag(admin, { name: 'Internal' });

	const list = await guest.client.get('/tags', { workspace: server.orgGid });
	assert.equal(list.status, 200, list.text);
	assert.deepEqual(list.body.data, []);

	const single = await guest.client.get(`/tags/${created.gid}`);
	assert.equal(single.status, 404, single.text);

	const create = await guest.client.post('/tags', { name: 'Mine', workspace: server.orgGid });
	assert.equal(create.status, 403, create.text);
	assertMatchesSpec('POST', '/tags', create);

	const update = await guest.client.put(`/tags/${created.gid}`, { name: 'Theirs' });
	assert.equal(update.status, 404, update.text);
	const del = await guest.client.del(`/tags/${created.gid}`);
	assert.equal(del.status, 404, del.text);
});

test('task tags list and tag delete', async (t) => {
	const taskRes = await admin.post('/tasks', { name: 'Tagged task', workspace: server.orgGid });
	assert.equal(taskRes.status, 201, taskRes.text);
	const taskGid = taskRes.body.data.gid;
	const first = await createTag(admin, { name: 'First', color: 'dark-green' });
	const second = await createTag(admin, { name: 'Second' });

	const add = await admin.post(`/tasks/${taskGid}/addTag`, { tag: first.gid });
	if (isMissingEndpoint(add)) {
		t.skip('POST /tasks/{task_gid}/addTag is not implemented yet, so no task carries a tag');
		return;
	}
	assert.equal(add.status, 200, add.text);
	const addSecond = await admin.post(`/tasks/${taskGid}/addTag`, { tag: second.gid });
	assert.equal(addSecond.status, 200, addSecond.text);

	const res = await admin.get(`/tasks/${taskGid}/tags`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/tasks/{task_gid}/tags', res);
	assert.deepEqual(res.body.data, [
		{ gid: first.gid, resource_type: 'tag', name: 'First' },
		{ gid: second.gid, resource_type: 'tag', name: 'Second' },
	]);

	const paged = await admin.get(`/tasks/${taskGid}/tags`, { limit: 1 });
	assert.equal(paged.status, 200, paged.text);
	assert.equal(paged.body.data.length, 1);
	assert.equal(typeof paged.body.next_page.offset, 'string');

	const invisible = await member.client.get(`/tasks/${taskGid}/tags`);
	assert.equal(invisible.status, 404, invisible.text);

	const del = await admin.del(`/tags/${first.gid}`);
	assert.equal(del.status, 200, del.text);
	const remaining = await admin.get(`/tasks/${taskGid}/tags`);
	assert.equal(remaining.status, 200, remaining.text);
	assert.deepEqual(remaining.body.data.map((tag) => tag.gid), [second.gid]);
});

test('guest sees tags of visible task', async (t) => {
	const taskRes = await admin.post('/tasks', { name: 'Shared with guest', workspace: server.orgGid });
	assert.equal(taskRes.status, 201, taskRes.text);
	const taskGid = taskRes.body.data.gid;
	const tag = await createTag(admin, { name: 'Visible to guest' });

	const follow = await admin.post(`/tasks/${taskGid}/addFollowers`, { followers: [guest.gid] });
	const add = await admin.post(`/tasks/${taskGid}/addTag`, { tag: tag.gid });
	if (isMissingEndpoint(follow) || isMissingEndpoint(add)) {
		t.skip('addFollowers or addTag is not implemented yet, so no task is shared with the guest');
		return;
	}
	assert.equal(follow.status, 200, follow.text);
	assert.equal(add.status, 200, add.text);

	const list = await guest.client.get(`/tasks/${taskGid}/tags`);
	assert.equal(list.status, 200, list.text);
	assert.deepEqual(list.body.data.map((item) => item.gid), [tag.gid]);

	const single = await guest.client.get(`/tags/${tag.gid}`);
	assert.equal(single.status, 200, single.text);
	assert.equal(single.body.data.name, 'Visible to guest');

	const update = await guest.client.put(`/tags/${tag.gid}`, { name: 'Renamed by guest' });
	assert.equal(update.status, 403, update.text);
	assert.match(update.body.errors[0].message, /guest/);
});

test('task tags of unknown task is 404', async () => {
	const res = await admin.get('/tasks/987654321/tags');
	assert.equal(res.status, 404, res.text);
	assertMatchesSpec('GET', '/tasks/{task_gid}/tags', res);
});
