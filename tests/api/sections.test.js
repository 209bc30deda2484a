'use strict';
// Sections: the default section of a new project, order after inserts and
// moves (including the renumbering when positions run out), read, rename,
// delete rules, pagination, addTask, visibility and rejected input.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');

let server;
let admin;
let teamGid;
let member; // an organization member who is in no project

async function createProject(data = {}) {
	const res = await admin.post('/projects', { name: 'Board', team: teamGid, ...data });
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

async function createSection(projectGid, data) {
	const res = await admin.post(`/projects/${projectGid}/sections`, data);
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

async function sectionNames(projectGid) {
	const res = await admin.get(`/projects/${projectGid}/sections`);
	assert.equal(res.status, 200, res.text);
	return res.body.data.map((s) => s.name);
}

async function createTask(projectGid, name) {
	const res = await admin.post('/tasks', { name, projects: [projectGid] });
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

// The section of a task in a project, from GET /tasks/{task_gid}.
async function sectionOf(taskGid, projectGid) {
	const res = await admin.get(`/tasks/${taskGid}`);
	assert.equal(res.status, 200, res.text);
	const membership = res.body.data.memberships.find((m) => m.project.gid === projectGid);
	return membership && membership.section ? membership.section.gid : null;
}

before(async () => {
	server = await startServer();
	admin = api(server, server.adminToken);
	const team = await admin.post('/teams', { name: 'Sections', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	teamGid = team.body.data.gid;
	const user = await server.addUser({ email: 'member@example.test', name: 'Mia Member' });
	member = { ...user, client: api(server, user.token) };
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('new project has one section', async () => {
	const p = await createProject();
	const res = await admin.get(`/projects/${p.gid}/sections`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', `/projects/${p.gid}/sections`, res);
	assert.equal(res.body.data.length, 1);
	assert.equal(res.body.data[0].name, 'Untitled section');
	assert.deepEqual(Object.keys(res.body.data[0]).sort(), ['gid', 'name', 'resource_type']);
});

test('create section full record', async () => {
	const p = await createProject();
	const res = await admin.post(`/projects/${p.gid}/sections`, { name: 'Doing' });
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', `/projects/${p.gid}/sections`, res);
	const s = res.body.data;
	assert.equal(res.headers.location, `/api/1.0/sections/${s.gid}`);
	assert.equal(s.resource_type, 'section');
	assert.equal(s.name, 'Doing');
	assert.equal(s.project.gid, p.gid);
	assert.equal(s.project.name, p.name);
	assert.deepEqual(s.projects.map((x) => x.gid), [p.gid]);
	assert.match(s.created_at, /^\d{4}-\d\d-\d\dT/);

	const got = await admin.get(`/sections/${s.gid}`);
	assert.equal(got.status, 200, got.text);
	assertMatchesSpec('GET', `/sections/${s.gid}`, got);
	assert.deepEqual(got.body.data, s);
});

test('insert before and after', async () => {
	const p = await createProject();
	const a = await createSection(p.gid, { name: 'A' });
	const b = await createSection(p.gid, { name: 'B' });
	assert.deepEqual(await sectionNames(p.gid), ['Untitled section', 'A', 'B']);

	await createSection(p.gid, { name: 'C', insert_before: a.gid });
	assert.deepEqual(await sectionNames(p.gid), ['Untitled section', 'C', 'A', 'B']);
	await createSection(p.gid, { name: 'D', insert_after: b.gid });
	await createSection(p.gid, { name: 'E', insert_after: a.gid });
	assert.deepEqual(await sectionNames(p.gid), ['Untitled section', 'C', 'A', 'E', 'B', 'D']);
	const first = (await admin.get(`/projects/${p.gid}/sections`)).body.data[0];
	await createSection(p.gid, { name: 'F', insert_before: first.gid });
	assert.deepEqual(await sectionNames(p.gid), ['F', 'Untitled section', 'C', 'A', 'E', 'B', 'D']);
});

test('sections insert moves sections', async () => {
	const p = await createProject();
	const a = await createSection(p.gid, { name: 'A' });
	const b = await createSection(p.gid, { name: 'B' });
	const c = await createSection(p.gid, { name: 'C' });

	const res = await admin.post(`/projects/${p.gid}/sections/insert`, { section: c.gid, before_section: a.gid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', `/projects/${p.gid}/sections/insert`, res);
	assert.deepEqual(res.body.data, {});
	assert.deepEqual(await sectionNames(p.gid), ['Untitled section', 'C', 'A', 'B']);

	const after = await admin.post(`/projects/${p.gid}/sections/insert`, { section: a.gid, after_section: b.gid });
	assert.equal(after.status, 200, after.text);
	assert.deepEqual(await sectionNames(p.gid), ['Untitled section', 'C', 'B', 'A']);

	const moved = await admin.put(`/sections/${b.gid}`, { insert_after: a.gid });
	assert.equal(moved.status, 200, moved.text);
	assert.deepEqual(await sectionNames(p.gid), ['Untitled section', 'C', 'A', 'B']);
});

test('repeated inserts renumber positions', async () => {
	const p = await createProject();
	const anchor = await createSection(p.gid, { name: 'Anchor' });
	await createSection(p.gid, { name: 'Tail' });
	// Each insert halves the gap after Anchor, so the 1 << 20 gap runs out after about 20.
	const expected = [];
	for (let i = 0; i < 25; i++) {
		await createSection(p.gid, { name: `S${i}`, insert_after: anchor.gid });
		expected.unshift(`S${i}`);
	}
	assert.deepEqual(await sectionNames(p.gid), ['Untitled section', 'Anchor', ...expected, 'Tail']);

	const before = [];
	const tail = (await admin.get(`/projects/${p.gid}/sections`)).body.data.at(-1);
	for (let i = 0; i < 22; i++) {
		await createSection(p.gid, { name: `T${i}`, insert_before: tail.gid });
		before.push(`T${i}`);
	}
	assert.deepEqual(await sectionNames(p.gid), ['Untitled section', 'Anchor', ...expected, ...before, 'Tail']);
});

test('sections paginate in order', async () => {
	const p = await createProject();
	for (const name of ['A', 'B', 'C', 'D']) {
		await createSection(p.gid, { name });
	}
	const names = [];
	let offset;
	let pages = 0;
	do {
		const res = await admin.get(`/projects/${p.gid}/sections`, { limit: 2, offset });
		assert.equal(res.status, 200, res.text);
		assertMatchesSpec('GET', `/projects/${p.gid}/sections`, res);
		names.push(...res.body.data.map((s) => s.name));
		offset = res.body.next_page ? res.body.next_page.offset : undefined;
		pages++;
	} while (offset && pages < 10);
	assert.deepEqual(names, ['Untitled section', 'A', 'B', 'C', 'D']);
	assert.equal(pages, 3);
});

test('rename section', async () => {
	const p = await createProject();
	const s = await createSection(p.gid, { name: 'Old' });
	const res = await admin.put(`/sections/${s.gid}`, { name: 'New' });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('PUT', `/sections/${s.gid}`, res);
	assert.equal(res.body.data.name, 'New');
	assert.deepEqual(await sectionNames(p.gid), ['Untitled section', 'New']);
});

test('section input rejected', async () => {
	const p = await createProject();
	const other = await createProject({ name: 'Other' });
	const s = await createSection(p.gid, { name: 'S' });
	const foreign = await createSection(other.gid, { name: 'Foreign' });

	const cases = [
		['POST', `/projects/${p.gid}/sections`, {}, 400, /name/],
		['POST', `/projects/${p.gid}/sections`, { name: '' }, 400, /name/],
		['POST', `/projects/${p.gid}/sections`, { name: 'x'.repeat(1025) }, 400, /name/],
		['POST', `/projects/${p.gid}/sections`, { name: 'X', color: 'red' }, 400, /color/],
		['POST', `/projects/${p.gid}/sections`, { name: 'X', insert_before: s.gid, insert_after: s.gid }, 400, /insert_/],
		['POST', `/projects/${p.gid}/sections`, { name: 'X', insert_before: foreign.gid }, 400, /another project/],
		['POST', `/projects/${p.gid}/sections`, { name: 'X', insert_after: '123456789' }, 404, /insert_after/],
		['POST', '/projects/123456789/sections', { name: 'X' }, 404, /project/],
		['PUT', `/sections/${s.gid}`, { name: '' }, 400, /name/],
		['PUT', `/sections/${s.gid}`, { project: p.gid }, 400, /project/],
		['PUT', `/sections/${s.gid}`, { insert_before: s.gid }, 400, /insert_before/],
		['POST', `/projects/${p.gid}/sections/insert`, { section: s.gid }, 400, /before_section/],
		['POST', `/projects/${p.gid}/sections/insert`, { before_section: s.gid }, 400, /section/],
		['POST', `/projects/${p.gid}/sections/insert`, { section: foreign.gid, before_section: s.gid }, 400, /between projects/],
		['POST', `/projects/${p.gid}/sections/insert`, { section: s.gid, after_section: foreign.gid }, 400, /another project/],
		['POST', `/projects/${p.gid}/sections/insert`, { section: s.gid, before_section: s.gid }, 400, /before_section/],
	];
	for (const [method, path, data, status, message] of cases) {
		const res = method === 'POST' ? await admin.post(path, data) : await admin.put(path, data);
		assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(data).slice(0, 100)}: ${res.text}`);
		assert.match(res.body.errors[0].message, message, `${method} ${path} ${JSON.stringify(data).slice(0, 100)}`);
	}
	const missing = await admin.get('/sections/123456789');
	assert.equal(missing.status, 404, missing.text);
	assertMatchesSpec('GET', '/sections/123456789', missing);
});

test('delete empty section', async () => {
	const p = await createProject();
	const s = await createSection(p.gid, { name: 'Temporary' });
	const res = await admin.del(`/sections/${s.gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('DELETE', `/sections/${s.gid}`, res);
	assert.deepEqual(res.body.data, {});
	const gone = await admin.get(`/sections/${s.gid}`);
	assert.equal(gone.status, 404, gone.text);
});

test('last section not deleted', async () => {
	const p = await createProject();
	const only = (await admin.get(`/projects/${p.gid}/sections`)).body.data[0];
	const res = await admin.del(`/sections/${only.gid}`);
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /last section/);
});

test('private project sections hidden', async () => {
	const p = await createProject({ privacy_setting: 'private' });
	const s = await createSection(p.gid, { name: 'Hidden' });
	for (const [method, path, data] of [
		['GET', `/projects/${p.gid}/sections`],
		['GET', `/sections/${s.gid}`],
		['PUT', `/sections/${s.gid}`, { name: 'Seen' }],
		['DELETE', `/sections/${s.gid}`],
		['POST', `/projects/${p.gid}/sections`, { name: 'Mine' }],
		['POST', `/projects/${p.gid}/sections/insert`, { section: s.gid, before_section: s.gid }],
	]) {
		const res =
			method === 'GET'
				? await member.client.get(path)
				: method === 'DELETE'
					? await member.client.del(path)
					: method === 'PUT'
						? await member.client.put(path, data)
						: await member.client.post(path, data);
		assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
	}
});

test('public project sections read-only', async () => {
	const p = await createProject();
	const s = await createSection(p.gid, { name: 'Visible' });
	const read = await member.client.get(`/sections/${s.gid}`);
	assert.equal(read.status, 200, read.text);
	const create = await member.client.post(`/projects/${p.gid}/sections`, { name: 'Mine' });
	assert.equal(create.status, 403, create.text);
	const rename = await member.client.put(`/sections/${s.gid}`, { name: 'Mine' });
	assert.equal(rename.status, 403, rename.text);

	await admin.post(`/projects/${p.gid}/addMembers`, { members: member.gid });
	const allowed = await member.client.put(`/sections/${s.gid}`, { name: 'Renamed by editor' });
	assert.equal(allowed.status, 200, allowed.text);
});

test('addTask moves task between sections', async () => {
	const p = await createProject();
	const todo = (await admin.get(`/projects/${p.gid}/sections`)).body.data[0];
	const task = await createTask(p.gid, 'Write docs');
	assert.equal(await sectionOf(task.gid, p.gid), todo.gid);
	const doing = await createSection(p.gid, { name: 'Doing' });

	const res = await admin.post(`/sections/${doing.gid}/addTask`, { task: task.gid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', `/sections/${doing.gid}/addTask`, res);
	assert.deepEqual(res.body.data, {});
	assert.equal(await sectionOf(task.gid, p.gid), doing.gid);

	const stories = await admin.get(`/tasks/${task.gid}/stories`);
	assert.equal(stories.status, 200, stories.text);
	const moved = stories.body.data.find((s) => s.resource_subtype === 'section_changed');
	assert.ok(moved, `no section_changed story in ${stories.text}`);

	// A section that contains a task cannot be deleted.
	const del = await admin.del(`/sections/${doing.gid}`);
	assert.equal(del.status, 400, del.text);
	assert.match(del.body.errors[0].message, /not empty/);
});

test('addTask orders within section', async () => {
	const p = await createProject();
	const s = await createSection(p.gid, { name: 'Queue' });
	const t1 = await createTask(p.gid, 'one');
	const t2 = await createTask(p.gid, 'two');
	const t3 = await createTask(p.gid, 'three');

	assert.equal((await admin.post(`/sections/${s.gid}/addTask`, { task: t1.gid })).status, 200);
	// Without an anchor a task goes to the top of the section.
	assert.equal((await admin.post(`/sections/${s.gid}/addTask`, { task: t2.gid })).status, 200);
	const after = await admin.post(`/sections/${s.gid}/addTask`, { task: t3.gid, insert_after: t2.gid });
	assert.equal(after.status, 200, after.text);

	const list = await admin.get(`/sections/${s.gid}/tasks`);
	assert.equal(list.status, 200, list.text);
	assert.deepEqual(list.body.data.map((t) => t.name), ['two', 'three', 'one']);

	const beforeOne = await admin.post(`/sections/${s.gid}/addTask`, { task: t2.gid, insert_before: t1.gid });
	assert.equal(beforeOne.status, 200, beforeOne.text);
	const again = await admin.get(`/sections/${s.gid}/tasks`);
	assert.deepEqual(again.body.data.map((t) => t.name), ['three', 'two', 'one']);
});

test('addTask adds task to project', async () => {
	const p = await createProject();
	const other = await createProject({ name: 'Elsewhere' });
	const s = await createSection(p.gid, { name: 'Inbox' });
	const task = await createTask(other.gid, 'Visitor');

	const res = await admin.post(`/sections/${s.gid}/addTask`, { task: task.gid });
	assert.equal(res.status, 200, res.text);
	assert.equal(await sectionOf(task.gid, p.gid), s.gid);
	assert.notEqual(await sectionOf(task.gid, other.gid), null, 'the task stays in its first project');
});

test('addTask rejects bad input', async () => {
	const p = await createProject();
	const s = await createSection(p.gid, { name: 'S' });
	const elsewhere = await createSection(p.gid, { name: 'Elsewhere' });
	const task = await createTask(p.gid, 'Placed');
	const outsider = await createTask(p.gid, 'Outsider');
	await admin.post(`/sections/${elsewhere.gid}/addTask`, { task: outsider.gid });

	const cases = [
		[{}, 400, /task/],
		[{ task: 'abc' }, 400, /task/],
		[{ task: '123456789' }, 404, /task/],
		[{ task: task.gid, insert_before: outsider.gid }, 400, /insert_before/],
		[{ task: task.gid, insert_after: task.gid }, 400, /insert_after/],
		[{ task: task.gid, insert_before: outsider.gid, insert_after: outsider.gid }, 400, /insert_/],
		[{ task: task.gid, section: s.gid }, 400, /section/],
	];
	for (const [data, status, message] of cases) {
		const res = await admin.post(`/sections/${s.gid}/addTask`, data);
		assert.equal(res.status, status, `${JSON.stringify(data)}: ${res.text}`);
		assert.match(res.body.errors[0].message, message, JSON.stringify(data));
	}
	const missing = await admin.post('/sections/123456789/addTask', { task: task.gid });
	assert.equal(missing.status, 404, missing.text);

	const closed = await createProject({ name: 'Closed', privacy_setting: 'private' });
	const closedSection = (await admin.get(`/projects/${closed.gid}/sections`)).body.data[0];
	const hidden = await member.client.post(`/sections/${closedSection.gid}/addTask`, { task: task.gid });
	assert.equal(hidden.status, 404, hidden.text);
});
