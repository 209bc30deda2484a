'use strict';
// Tasks: create, read, update and delete, with every response checked
// against the spec. Also projects, sections and their order, subtasks and
// setParent, tags and followers, list filters, the visibility of private
// projects and private tasks, keyset pagination, and rejected input.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { startServer, api, binaryPath } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');
const { UNSAFE_RICH_TEXT } = require('./lib/richtext');
const { rawGet } = require('./lib/rawhttp');

let server;
let admin;
let mia; // member
let bob; // member
let gus; // guest
let team;

const TASK_FULL_KEYS = [
	'actual_time_minutes', 'assignee', 'assignee_section', 'assignee_status', 'completed', 'completed_at',
	'completed_by', 'created_at', 'created_by', 'custom_fields', 'due_at', 'due_on', 'followers', 'gid',
	'hearted', 'hearts', 'html_notes', 'is_rendered_as_separator', 'liked', 'likes', 'memberships',
	'modified_at', 'name', 'notes', 'num_hearts', 'num_likes', 'num_subtasks', 'parent', 'permalink_url',
	'projects', 'resource_subtype', 'resource_type', 'start_at', 'start_on', 'tags', 'workspace',
];

async function createTask(client, data) {
	const res = await client.post('/tasks', { workspace: server.orgGid, ...data });
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/tasks', res);
	return res.body.data;
}

async function createProject(client, data = {}) {
	const res = await client.post('/projects', { name: 'Project', workspace: server.orgGid, team: team.gid, ...data });
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

async function createSection(client, projectGid, name) {
	const res = await client.post(`/projects/${projectGid}/sections`, { name });
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

async function sectionsOf(client, projectGid) {
	const res = await client.get(`/projects/${projectGid}/sections`);
	assert.equal(res.status, 200, res.text);
	return res.body.data;
}

// Read every page of a list with the given page size; returns the items in order.
async function readAll(client, path, query, limit) {
	const items = [];
	let offset;
	for (let pages = 0; pages < 1000; pages++) {
		const res = await client.get(path, { ...query, limit, offset });
		assert.equal(res.status, 200, res.text);
		assertMatchesSpec('GET', path, res);
		items.push(...res.body.data);
		if (!res.body.next_page) {
			return items;
		}
		offset = res.body.next_page.offset;
	}
	throw new Error(`${path}: more than 1000 pages`);
}

async function storySubtypes(client, taskGid) {
	const res = await client.get(`/tasks/${taskGid}/stories`, { opt_fields: 'resource_subtype,text' });
	assert.equal(res.status, 200, res.text);
	return res.body.data.map((s) => s.resource_subtype);
}

// Run the kontor command line against the test server's database and key file; returns its output.
async function kontorCli(args, env = {}) {
	const { stdout } = await promisify(execFile)(binaryPath(), [...args, '--db', server.db], {
		env: { ...server.env, ...env },
		timeout: 30000,
	});
	return stdout;
}

function gids(items) {
	return items.map((item) => item.gid);
}

before(async () => {
	server = await startServer({ plan: 'enterprise' });
	admin = api(server, server.adminToken);
	mia = await server.addUser({ email: 'mia@example.test', name: 'Mia' });
	mia.client = api(server, mia.token);
	bob = await server.addUser({ email: 'bob@example.test', name: 'Bob' });
	bob.client = api(server, bob.token);
	gus = await server.addUser({ email: 'gus@partner.test', name: 'Gus', role: 'guest' });
	gus.client = api(server, gus.token);

	const res = await admin.post('/teams', { name: 'Core', organization: server.orgGid, visibility: 'public' });
	assert.equal(res.status, 201, res.text);
	team = res.body.data;
	for (const user of [mia, bob]) {
		const added = await admin.post(`/teams/${team.gid}/addUser`, { user: user.gid });
		assert.equal(added.status, 200, added.text);
	}
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

// ---------- create, read, update, delete ----------

test('task create returns full task', async () => {
	const res = await mia.client.post('/tasks', {
		name: 'Write report',
		notes: 'Numbers <and> words & more',
		workspace: server.orgGid,
		due_on: '2030-05-01',
	});
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/tasks', res);

	const task = res.body.data;
	assert.deepEqual(Object.keys(task).sort(), TASK_FULL_KEYS);
	assert.match(task.gid, /^\d+$/);
	assert.equal(res.headers.location, `/api/1.0/tasks/${task.gid}`);
	assert.equal(task.resource_type, 'task');
	assert.equal(task.resource_subtype, 'default_task');
	assert.equal(task.name, 'Write report');
	assert.equal(task.notes, 'Numbers <and> words & more');
	assert.equal(task.html_notes, '<body>Numbers &lt;and&gt; words &amp; more</body>');
	assert.equal(task.due_on, '2030-05-01');
	assert.equal(task.due_at, null);
	assert.equal(task.assignee, null);
	assert.equal(task.assignee_section, null);
	assert.equal(task.completed, false);
	assert.equal(task.completed_at, null);
	assert.equal(task.parent, null);
	assert.equal(task.num_subtasks, 0);
	assert.deepEqual(task.created_by, { gid: mia.gid, resource_type: 'user' });
	assert.deepEqual(task.followers, [{ gid: mia.gid, resource_type: 'user', name: 'Mia' }]);
	assert.deepEqual(task.projects, []);
	assert.deepEqual(task.memberships, []);
	assert.deepEqual(task.tags, []);
	assert.deepEqual(task.custom_fields, []);
	assert.deepEqual(task.likes, []);
	assert.equal(task.workspace.gid, server.orgGid);
	assert.equal(task.created_at, task.modified_at);
	assert.equal(task.permalink_url, `${server.base}/tasks/${task.gid}`);
	assert.equal('approval_status' in task, false);

	const read = await mia.client.get(`/tasks/${task.gid}`);
	assert.equal(read.status, 200, read.text);
	assertMatchesSpec('GET', '/tasks/{task_gid}', read);
	assert.deepEqual(read.body.data, task);
});

test('task get honours opt_fields', async () => {
	const task = await createTask(mia.client, { name: 'Opt', assignee: 'me' });
	const res = await mia.client.get(`/tasks/${task.gid}`, { opt_fields: 'name,assignee.name,assignee.email,dependencies' });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/tasks/{task_gid}', res);
	assert.deepEqual(res.body.data, {
		gid: task.gid,
		resource_type: 'task',
		name: 'Opt',
		assignee: { gid: mia.gid, resource_type: 'user', name: 'Mia', email: 'mia@example.test' },
		dependencies: [],
	});

	const unknown = await mia.client.get(`/tasks/${task.gid}`, { opt_fields: 'name,colour' });
	assert.equal(unknown.status, 400, unknown.text);
});

test('task update changes fields and records stories', async () => {
	const task = await createTask(mia.client, { name: 'Old name' });
	const res = await mia.client.put(`/tasks/${task.gid}`, {
		name: 'New name',
		assignee: bob.email,
		completed: true,
		due_at: '2030-06-01T10:00:00.000Z',
	});
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('PUT', '/tasks/{task_gid}', res);

	const updated = res.body.data;
	assert.equal(updated.name, 'New name');
	assert.equal(updated.assignee.gid, bob.gid);
	assert.equal(updated.assignee.name, 'Bob');
	assert.equal(updated.completed, true);
	assert.ok(updated.completed_at, 'completed_at is set');
	assert.equal(updated.completed_by.gid, mia.gid);
	assert.equal(updated.due_at, '2030-06-01T10:00:00.000Z');
	assert.equal(updated.due_on, '2030-06-01');
	assert.ok(gids(updated.followers).includes(bob.gid), 'the new assignee follows the task');
	assert.ok(Date.parse(updated.modified_at) >= Date.parse(task.modified_at));

	const subtypes = await storySubtypes(mia.client, task.gid);
	for (const subtype of ['name_changed', 'assigned', 'marked_complete', 'due_date_changed']) {
		assert.ok(subtypes.includes(subtype), `${subtype} in ${subtypes}`);
	}

	const reopened = await mia.client.put(`/tasks/${task.gid}`, { completed: false, assignee: null, due_at: null });
	assert.equal(reopened.status, 200, reopened.text);
	assert.equal(reopened.body.data.completed, false);
	assert.equal(reopened.body.data.completed_at, null);
	assert.equal(reopened.body.data.completed_by, null);
	assert.equal(reopened.body.data.assignee, null);
	assert.equal(reopened.body.data.due_at, null);
	assert.equal(reopened.body.data.due_on, null);
	const later = await storySubtypes(mia.client, task.gid);
	assert.ok(later.includes('marked_incomplete'), later.join());
	assert.ok(later.includes('unassigned'), later.join());
});

test('task update rejects create-only fields', async () => {
	const task = await createTask(mia.client, { name: 'Fixed' });
	const cases = [
		['projects', [], /addProject/],
		['tags', [], /addTag/],
		['followers', [], /addFollowers/],
		['parent', null, /setParent/],
		['workspace', server.orgGid, /workspace/],
	];
	for (const [field, value, pattern] of cases) {
		const res = await mia.client.put(`/tasks/${task.gid}`, { [field]: value });
		assert.equal(res.status, 400, `${field}: ${res.text}`);
		assertMatchesSpec('PUT', '/tasks/{task_gid}', res);
		assert.match(res.body.errors[0].message, pattern);
	}
});

test('task delete removes subtasks', async () => {
	const task = await createTask(mia.client, { name: 'Doomed' });
	const sub = await mia.client.post(`/tasks/${task.gid}/subtasks`, { name: 'Doomed child' });
	assert.equal(sub.status, 201, sub.text);
	const grandchild = await mia.client.post(`/tasks/${sub.body.data.gid}/subtasks`, { name: 'Doomed grandchild' });
	assert.equal(grandchild.status, 201, grandchild.text);
	const comment = await mia.client.post(`/tasks/${task.gid}/stories`, { text: 'bye' });
	assert.equal(comment.status, 201, comment.text);

	const res = await mia.client.del(`/tasks/${task.gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('DELETE', '/tasks/{task_gid}', res);
	assert.deepEqual(res.body, { data: {} });

	for (const gid of [task.gid, sub.body.data.gid, grandchild.body.data.gid]) {
		const gone = await mia.client.get(`/tasks/${gid}`);
		assert.equal(gone.status, 404, gone.text);
		assertMatchesSpec('GET', '/tasks/{task_gid}', gone);
	}
	const again = await mia.client.del(`/tasks/${task.gid}`);
	assert.equal(again.status, 404, again.text);
});

test('approval keeps status and completed in step', async () => {
	const task = await createTask(mia.client, { name: 'Sign off', resource_subtype: 'approval' });
	assert.equal(task.approval_status, 'pending');
	assert.equal(task.completed, false);

	const approved = await mia.client.put(`/tasks/${task.gid}`, { approval_status: 'approved' });
	assert.equal(approved.status, 200, approved.text);
	assertMatchesSpec('PUT', '/tasks/{task_gid}', approved);
	assert.equal(approved.body.data.approval_status, 'approved');
	assert.equal(approved.body.data.completed, true);

	const reopened = await mia.client.put(`/tasks/${task.gid}`, { completed: false });
	assert.equal(reopened.body.data.approval_status, 'pending');

	const plain = await createTask(mia.client, { name: 'Plain' });
	const rejected = await mia.client.put(`/tasks/${plain.gid}`, { approval_status: 'approved' });
	assert.equal(rejected.status, 400, rejected.text);
	assert.match(rejected.body.errors[0].message, /approval_status/);
});

test('html_notes sets notes', async () => {
	const task = await createTask(mia.client, { name: 'Rich', html_notes: '<body>Hello <strong>you</strong> &amp; me</body>' });
	assert.equal(task.notes, 'Hello you & me');
	assert.equal(task.html_notes, '<body>Hello <strong>you</strong> &amp; me</body>');

	const bare = await mia.client.post('/tasks', { workspace: server.orgGid, html_notes: 'no body' });
	assert.equal(bare.status, 400, bare.text);
	const both = await mia.client.post('/tasks', { workspace: server.orgGid, notes: 'a', html_notes: '<body>b</body>' });
	assert.equal(both.status, 400, both.text);
});

test('html_notes rejects unsafe markup', async () => {
	const task = await createTask(mia.client, { name: 'Safe', html_notes: '<body>Kept</body>' });
	for (const [html, message] of UNSAFE_RICH_TEXT) {
		const created = await mia.client.post('/tasks', { workspace: server.orgGid, name: 'X', html_notes: html });
		assert.equal(created.status, 400, `POST ${html}: ${created.text}`);
		assertMatchesSpec('POST', '/tasks', created);
		assert.match(created.body.errors[0].message, /^html_notes: /, html);
		assert.match(created.body.errors[0].message, message, html);

		const updated = await mia.client.put(`/tasks/${task.gid}`, { html_notes: html });
		assert.equal(updated.status, 400, `PUT ${html}: ${updated.text}`);
		assert.match(updated.body.errors[0].message, message, html);

		const subtask = await mia.client.post(`/tasks/${task.gid}/subtasks`, { name: 'Sub', html_notes: html });
		assert.equal(subtask.status, 400, `subtask ${html}: ${subtask.text}`);
	}
	const read = await mia.client.get(`/tasks/${task.gid}`, { opt_fields: 'html_notes,notes,num_subtasks' });
	assert.equal(read.body.data.html_notes, '<body>Kept</body>');
	assert.equal(read.body.data.notes, 'Kept');
	assert.equal(read.body.data.num_subtasks, 0);
});

test('html_notes headings and lists', async () => {
	const html = '<body><h1>Plan</h1><ul><li>one</li><li><a href="https://example.test/x">two</a></li></ul></body>';
	const task = await createTask(mia.client, { name: 'Headed', html_notes: html });
	assert.equal(task.html_notes, html);
	assert.equal(task.notes, 'Plan\none\ntwo');

	// Comments keep the smaller set of elements.
	const comment = await mia.client.post(`/tasks/${task.gid}/stories`, { html_text: '<body><h1>x</h1></body>' });
	assert.equal(comment.status, 400, comment.text);
	assert.match(comment.body.errors[0].message, /^html_text: tag <h1> is not supported/);
});

test('milestone and start dates', async () => {
	const ranged = await createTask(mia.client, { name: 'Range', start_on: '2030-01-01', due_on: '2030-01-05' });
	assert.equal(ranged.start_on, '2030-01-01');

	const cases = [
		[{ start_on: '2030-01-06', due_on: '2030-01-05' }, /start/],
		[{ start_on: '2030-01-01' }, /due/],
		[{ resource_subtype: 'milestone', start_on: '2030-01-01', due_on: '2030-01-05' }, /milestone/],
	];
	for (const [data, pattern] of cases) {
		const res = await mia.client.post('/tasks', { workspace: server.orgGid, ...data });
		assert.equal(res.status, 400, `${JSON.stringify(data)}: ${res.text}`);
		assert.match(res.body.errors[0].message, pattern);
	}
});

// ---------- projects and sections ----------

test('task create with memberships and sections', async () => {
	const project = await createProject(mia.client, { name: 'Launch' });
	const [untitled] = await sectionsOf(mia.client, project.gid);
	const doing = await createSection(mia.client, project.gid, 'Doing');

	const plain = await createTask(mia.client, { name: 'In project', projects: [project.gid] });
	assert.deepEqual(gids(plain.projects), [project.gid]);
	assert.equal(plain.projects[0].name, 'Launch');
	assert.equal(plain.memberships.length, 1);
	assert.equal(plain.memberships[0].project.gid, project.gid);
	// The end of the project is the end of its last section.
	assert.equal(plain.memberships[0].section.gid, doing.gid);

	const placed = await createTask(mia.client, { name: 'In section', memberships: [{ project: project.gid, section: untitled.gid }] });
	assert.equal(placed.memberships[0].section.gid, untitled.gid);
	assert.equal(placed.memberships[0].section.name, untitled.name);

	const inSection = await mia.client.get(`/sections/${untitled.gid}/tasks`);
	assert.equal(inSection.status, 200, inSection.text);
	assertMatchesSpec('GET', '/sections/{section_gid}/tasks', inSection);
	assert.deepEqual(gids(inSection.body.data), [placed.gid]);
	assert.deepEqual(Object.keys(inSection.body.data[0]).sort(), ['gid', 'name', 'resource_subtype', 'resource_type']);

	// Project order follows the sections: Untitled section before Doing.
	const inProject = await mia.client.get(`/projects/${project.gid}/tasks`);
	assert.equal(inProject.status, 200, inProject.text);
	assertMatchesSpec('GET', '/projects/{project_gid}/tasks', inProject);
	assert.deepEqual(gids(inProject.body.data), [placed.gid, plain.gid]);

	const viaQuery = await mia.client.get('/tasks', { project: project.gid });
	assert.equal(viaQuery.status, 200, viaQuery.text);
	assertMatchesSpec('GET', '/tasks', viaQuery);
	assert.deepEqual(gids(viaQuery.body.data), [placed.gid, plain.gid]);

	const wrongSection = await mia.client.post('/tasks', {
		memberships: [{ project: project.gid, section: (await createSection(admin, (await createProject(admin)).gid, 'Else')).gid }],
	});
	assert.equal(wrongSection.status, 400, wrongSection.text);
	assert.match(wrongSection.body.errors[0].message, /section/);
});

test('addProject places and moves tasks', async () => {
	const project = await createProject(mia.client, { name: 'Board' });
	const [todo] = await sectionsOf(mia.client, project.gid);
	const done = await createSection(mia.client, project.gid, 'Done');

	const a = await createTask(mia.client, { name: 'A', memberships: [{ project: project.gid, section: todo.gid }] });
	const b = await createTask(mia.client, { name: 'B', memberships: [{ project: project.gid, section: todo.gid }] });
	const c = await createTask(mia.client, { name: 'C' });

	let res = await mia.client.post(`/tasks/${c.gid}/addProject`, { project: project.gid, insert_before: b.gid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/addProject', res);
	assert.deepEqual(res.body, { data: {} });
	let order = await mia.client.get(`/sections/${todo.gid}/tasks`);
	assert.deepEqual(gids(order.body.data), [a.gid, c.gid, b.gid]);
	assert.ok((await storySubtypes(mia.client, c.gid)).includes('added_to_project'));

	res = await mia.client.post(`/tasks/${b.gid}/addProject`, { project: project.gid, section: todo.gid, insert_after: null });
	assert.equal(res.status, 200, res.text);
	order = await mia.client.get(`/sections/${todo.gid}/tasks`);
	assert.deepEqual(gids(order.body.data), [b.gid, a.gid, c.gid]);

	res = await mia.client.post(`/tasks/${a.gid}/addProject`, { project: project.gid, section: done.gid });
	assert.equal(res.status, 200, res.text);
	order = await mia.client.get(`/projects/${project.gid}/tasks`);
	assert.deepEqual(gids(order.body.data), [b.gid, c.gid, a.gid]);
	assert.ok((await storySubtypes(mia.client, a.gid)).includes('section_changed'));

	const both = await mia.client.post(`/tasks/${a.gid}/addProject`, { project: project.gid, insert_before: b.gid, insert_after: c.gid });
	assert.equal(both.status, 400, both.text);
	const foreignAnchor = await mia.client.post(`/tasks/${a.gid}/addProject`, { project: project.gid, insert_before: (await createTask(mia.client, {})).gid });
	assert.equal(foreignAnchor.status, 400, foreignAnchor.text);
	const anchorElsewhere = await mia.client.post(`/tasks/${a.gid}/addProject`, { project: project.gid, section: done.gid, insert_before: b.gid });
	assert.equal(anchorElsewhere.status, 400, anchorElsewhere.text);

	res = await mia.client.post(`/tasks/${c.gid}/removeProject`, { project: project.gid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/removeProject', res);
	const removed = await mia.client.get(`/tasks/${c.gid}`);
	assert.deepEqual(removed.body.data.projects, []);
	assert.ok((await storySubtypes(mia.client, c.gid)).includes('removed_from_project'));
	order = await mia.client.get(`/projects/${project.gid}/tasks`);
	assert.deepEqual(gids(order.body.data), [b.gid, a.gid]);
});

test('public project accepts tasks from members', async () => {
	const project = await createProject(admin, { name: 'Open', privacy_setting: 'public_to_workspace' });
	const task = await createTask(bob.client, { name: 'Contribution', projects: [project.gid] });
	assert.deepEqual(gids(task.projects), [project.gid]);

	const guestTry = await gus.client.post('/tasks', { projects: [project.gid] });
	assert.equal(guestTry.status, 404, guestTry.text);
});

// ---------- subtasks and setParent ----------

test('subtasks keep order and setParent moves them', async () => {
	const parent = await createTask(mia.client, { name: 'Parent' });
	const children = [];
	for (const name of ['one', 'two', 'three']) {
		const res = await mia.client.post(`/tasks/${parent.gid}/subtasks`, { name });
		assert.equal(res.status, 201, res.text);
		assertMatchesSpec('POST', '/tasks/{task_gid}/subtasks', res);
		assert.equal(res.body.data.parent.gid, parent.gid);
		assert.equal(res.body.data.parent.name, 'Parent');
		children.push(res.body.data);
	}
	const [one, two, three] = children;

	let list = await mia.client.get(`/tasks/${parent.gid}/subtasks`);
	assert.equal(list.status, 200, list.text);
	assertMatchesSpec('GET', '/tasks/{task_gid}/subtasks', list);
	assert.deepEqual(gids(list.body.data), [one.gid, two.gid, three.gid]);
	assert.equal((await mia.client.get(`/tasks/${parent.gid}`)).body.data.num_subtasks, 3);

	let res = await mia.client.post(`/tasks/${three.gid}/setParent`, { parent: parent.gid, insert_before: one.gid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/setParent', res);
	list = await mia.client.get(`/tasks/${parent.gid}/subtasks`);
	assert.deepEqual(gids(list.body.data), [three.gid, one.gid, two.gid]);

	res = await mia.client.post(`/tasks/${three.gid}/setParent`, { parent: parent.gid, insert_after: one.gid });
	assert.equal(res.status, 200, res.text);
	list = await mia.client.get(`/tasks/${parent.gid}/subtasks`);
	assert.deepEqual(gids(list.body.data), [one.gid, three.gid, two.gid]);

	// A cycle: the parent under its own grandchild, or a task under itself.
	const grandchild = (await mia.client.post(`/tasks/${one.gid}/subtasks`, { name: 'deep' })).body.data;
	res = await mia.client.post(`/tasks/${parent.gid}/setParent`, { parent: grandchild.gid });
	assert.equal(res.status, 400, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/setParent', res);
	assert.match(res.body.errors[0].message, /cycle/);
	res = await mia.client.post(`/tasks/${parent.gid}/setParent`, { parent: parent.gid });
	assert.equal(res.status, 400, res.text);

	res = await mia.client.post(`/tasks/${two.gid}/setParent`, { parent: null });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.parent, null);
	list = await mia.client.get(`/tasks/${parent.gid}/subtasks`);
	assert.deepEqual(gids(list.body.data), [one.gid, three.gid]);

	const missingParent = await mia.client.post(`/tasks/${two.gid}/setParent`, {});
	assert.equal(missingParent.status, 400, missingParent.text);
});

test('subtask visible through parent project', async () => {
	const project = await createProject(mia.client, { name: 'Shared', privacy_setting: 'public_to_workspace' });
	const parent = await createTask(mia.client, { name: 'Shared parent', projects: [project.gid] });
	const sub = await mia.client.post(`/tasks/${parent.gid}/subtasks`, { name: 'Shared child' });
	assert.equal(sub.status, 201, sub.text);

	const seen = await bob.client.get(`/tasks/${sub.body.data.gid}`);
	assert.equal(seen.status, 200, seen.text);
	const list = await bob.client.get(`/tasks/${parent.gid}/subtasks`);
	assert.deepEqual(gids(list.body.data), [sub.body.data.gid]);
});

// ---------- tags and followers ----------

test('addTag and removeTag', async () => {
	const tagRes = await mia.client.post('/tags', { name: 'hot', workspace: server.orgGid });
	assert.equal(tagRes.status, 201, tagRes.text);
	const tag = tagRes.body.data;
	const task = await createTask(mia.client, { name: 'Tagged' });

	let res = await mia.client.post(`/tasks/${task.gid}/addTag`, { tag: tag.gid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/addTag', res);
	res = await mia.client.post(`/tasks/${task.gid}/addTag`, { tag: tag.gid });
	assert.equal(res.status, 200, res.text);
	const read = await mia.client.get(`/tasks/${task.gid}`);
	assert.deepEqual(read.body.data.tags, [{ gid: tag.gid, resource_type: 'tag', name: 'hot' }]);

	const byTag = await mia.client.get(`/tags/${tag.gid}/tasks`);
	assert.equal(byTag.status, 200, byTag.text);
	assertMatchesSpec('GET', '/tags/{tag_gid}/tasks', byTag);
	assert.deepEqual(gids(byTag.body.data), [task.gid]);
	// Bob cannot see Mia's private task, so the tag's list is empty for him.
	const forBob = await bob.client.get(`/tags/${tag.gid}/tasks`);
	assert.deepEqual(forBob.body.data, []);

	res = await mia.client.post(`/tasks/${task.gid}/removeTag`, { tag: tag.gid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/removeTag', res);
	assert.deepEqual((await mia.client.get(`/tasks/${task.gid}`)).body.data.tags, []);

	const unknown = await mia.client.post(`/tasks/${task.gid}/addTag`, { tag: '12345' });
	assert.equal(unknown.status, 404, unknown.text);

	const created = await createTask(mia.client, { name: 'Born tagged', tags: [tag.gid] });
	assert.deepEqual(gids(created.tags), [tag.gid]);
});

test('addFollowers and removeFollowers', async () => {
	const task = await createTask(mia.client, { name: 'Followed' });
	const hidden = await bob.client.get(`/tasks/${task.gid}`);
	assert.equal(hidden.status, 404, hidden.text);

	let res = await mia.client.post(`/tasks/${task.gid}/addFollowers`, { followers: [bob.email, gus.gid] });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/addFollowers', res);
	assert.deepEqual(gids(res.body.data.followers).sort(), [mia.gid, bob.gid, gus.gid].sort());

	// A follower sees the task.
	const shown = await bob.client.get(`/tasks/${task.gid}`);
	assert.equal(shown.status, 200, shown.text);

	res = await bob.client.post(`/tasks/${task.gid}/removeFollowers`, { followers: ['me', gus.gid] });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/removeFollowers', res);
	assert.deepEqual(gids(res.body.data.followers), [mia.gid]);

	const missing = await mia.client.post(`/tasks/${task.gid}/addFollowers`, { followers: ['nobody@example.test'] });
	assert.equal(missing.status, 404, missing.text);
	const notArray = await mia.client.post(`/tasks/${task.gid}/addFollowers`, { followers: bob.gid });
	assert.equal(notArray.status, 400, notArray.text);
});

// ---------- lists and filters ----------

test('list filters completed_since and modified_since', async () => {
	const project = await createProject(mia.client, { name: 'Filters' });
	const open = await createTask(mia.client, { name: 'Open', projects: [project.gid] });
	const closed = await createTask(mia.client, { name: 'Closed', projects: [project.gid], completed: true });
	const path = `/projects/${project.gid}/tasks`;

	let res = await mia.client.get(path, { completed_since: 'now' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(gids(res.body.data), [open.gid]);

	res = await mia.client.get(path, { completed_since: '2000-01-01T00:00:00Z' });
	assert.deepEqual(gids(res.body.data), [open.gid, closed.gid]);

	res = await mia.client.get(path, { modified_since: '2999-01-01T00:00:00Z' });
	assert.deepEqual(res.body.data, []);

	const before = new Date(Date.now() - 1000).toISOString();
	await new Promise((resolve) => setTimeout(resolve, 1100));
	const cutoff = new Date().toISOString();
	const touched = await mia.client.put(`/tasks/${open.gid}`, { name: 'Open, renamed' });
	assert.equal(touched.status, 200, touched.text);
	res = await mia.client.get(path, { modified_since: cutoff });
	assert.deepEqual(gids(res.body.data), [open.gid]);
	res = await mia.client.get(path, { modified_since: before });
	assert.equal(res.body.data.length, 2);

	const bad = await mia.client.get(path, { completed_since: 'yesterday' });
	assert.equal(bad.status, 400, bad.text);
});

test('tasks list needs a filter', async () => {
	let res = await mia.client.get('/tasks');
	assert.equal(res.status, 400, res.text);
	assertMatchesSpec('GET', '/tasks', res);
	res = await mia.client.get('/tasks', { assignee: 'me' });
	assert.equal(res.status, 400, res.text);
	res = await mia.client.get('/tasks', { workspace: server.orgGid });
	assert.equal(res.status, 400, res.text);

	const mine = await createTask(bob.client, { name: 'Bob own', assignee: 'me' });
	const done = await createTask(bob.client, { name: 'Bob done', assignee: 'me', completed: true });
	res = await bob.client.get('/tasks', { assignee: 'me', workspace: server.orgGid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/tasks', res);
	assert.ok(gids(res.body.data).includes(mine.gid));
	assert.ok(gids(res.body.data).includes(done.gid));
	res = await bob.client.get('/tasks', { assignee: 'me', workspace: server.orgGid, completed_since: 'now' });
	assert.ok(gids(res.body.data).includes(mine.gid));
	assert.ok(!gids(res.body.data).includes(done.gid));

	// Bob's private tasks are not listed to Mia even when she requests his.
	res = await mia.client.get('/tasks', { assignee: bob.gid, workspace: server.orgGid });
	assert.equal(res.status, 200, res.text);
	assert.ok(!gids(res.body.data).includes(mine.gid));

	res = await mia.client.get('/tasks', { assignee: 'me', workspace: '12345' });
	assert.equal(res.status, 404, res.text);
});

test('list opt_fields expands nested fields', async () => {
	const project = await createProject(mia.client, { name: 'Fields' });
	const task = await createTask(mia.client, { name: 'With fields', projects: [project.gid], assignee: bob.gid });
	const res = await mia.client.get(`/projects/${project.gid}/tasks`, {
		opt_fields: 'name,assignee.name,projects.name,memberships.section.name,followers,completed',
	});
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/projects/{project_gid}/tasks', res);
	const [item] = res.body.data;
	assert.equal(item.gid, task.gid);
	assert.equal(item.assignee.name, 'Bob');
	assert.deepEqual(item.projects, [{ gid: project.gid, resource_type: 'project', name: 'Fields' }]);
	assert.equal(item.memberships[0].section.name, 'Untitled section');
	assert.equal(item.completed, false);
	assert.equal(item.followers.length, 2);
	assert.equal('notes' in item, false);
});

test('project pagination has no gaps', async () => {
	const project = await createProject(mia.client, { name: 'Big' });
	const [first] = await sectionsOf(mia.client, project.gid);
	const second = await createSection(mia.client, project.gid, 'Second');
	const created = [];
	const inSecond = [];
	for (let i = 0; i < 250; i++) {
		const section = i % 5 === 0 ? second.gid : first.gid;
		const res = await mia.client.post('/tasks', { name: `task ${i}`, memberships: [{ project: project.gid, section }] });
		assert.equal(res.status, 201, res.text);
		(section === second.gid ? inSecond : created).push(res.body.data.gid);
	}
	const expected = [...created, ...inSecond];

	for (const limit of [100, 7]) {
		const items = await readAll(mia.client, `/projects/${project.gid}/tasks`, {}, limit);
		assert.equal(items.length, 250);
		assert.equal(new Set(gids(items)).size, 250, 'no duplicates');
		assert.deepEqual(gids(items), expected);
	}

	const unpaged = await mia.client.get(`/projects/${project.gid}/tasks`);
	assert.equal(unpaged.status, 200, unpaged.text);
	assert.equal(unpaged.body.next_page, null);
	assert.deepEqual(gids(unpaged.body.data), expected);

	const section = await readAll(mia.client, `/sections/${second.gid}/tasks`, {}, 20);
	assert.deepEqual(gids(section), inSecond);

	// A deleted task at a page boundary does not break the next page.
	const page = await mia.client.get(`/projects/${project.gid}/tasks`, { limit: 100 });
	const boundary = page.body.data[99].gid;
	assert.equal((await mia.client.del(`/tasks/${boundary}`)).status, 200);
	const next = await mia.client.get(`/projects/${project.gid}/tasks`, { limit: 100, offset: page.body.next_page.offset });
	assert.equal(next.status, 200, next.text);
	assert.deepEqual(gids(next.body.data), expected.slice(100, 200));

	const forged = await mia.client.get(`/projects/${project.gid}/tasks`, { limit: 10, offset: 'abc' });
	assert.equal(forged.status, 400, forged.text);
});

test('offset fits only its own list', async () => {
	const tags = [];
	for (const name of ['Offset A', 'Offset B']) {
		const res = await admin.post('/tags', { name, workspace: server.orgGid });
		assert.equal(res.status, 201, res.text);
		tags.push(res.body.data.gid);
	}
	const projects = [await createProject(admin, { name: 'Offsets one' }), await createProject(admin, { name: 'Offsets two' })];
	for (let i = 0; i < 3; i++) {
		for (const project of projects) {
			await createTask(admin, { name: `Listed ${i}`, projects: [project.gid], tags, assignee: i % 2 ? mia.gid : bob.gid });
		}
	}
	const invalid = /^offset: invalid offset\. Pass the `offset` value from the previous page's next_page unchanged, to the same path/;
	const cases = [
		[`/tags/${tags[0]}/tasks`, {}, `/tags/${tags[1]}/tasks`, {}],
		[`/projects/${projects[0].gid}/tasks`, {}, `/projects/${projects[1].gid}/tasks`, {}],
		['/tasks', { project: projects[0].gid }, '/tasks', { project: projects[1].gid }],
		['/tasks', { assignee: mia.gid, workspace: server.orgGid }, '/tasks', { assignee: bob.gid, workspace: server.orgGid }],
	];
	for (const [path, query, otherPath, otherQuery] of cases) {
		const first = await admin.get(path, { ...query, limit: 1 });
		assert.equal(first.status, 200, first.text);
		const offset = first.body.next_page.offset;

		// limit and opt_fields may change between pages, and the order of the parameters does not matter.
		const reordered = Object.fromEntries(Object.entries(query).reverse());
		const same = await admin.get(path, { opt_fields: 'name', offset, limit: 2, ...reordered });
		assert.equal(same.status, 200, `${path}: ${same.text}`);
		assert.notEqual(same.body.data[0].gid, first.body.data[0].gid);

		const other = await admin.get(otherPath, { ...otherQuery, limit: 1, offset });
		assert.equal(other.status, 400, `${otherPath}: ${other.text}`);
		assert.match(other.body.errors[0].message, invalid);

		// Another caller's offset would skip rows this caller may see.
		const mine = await mia.client.get(path, { ...query, limit: 1, offset });
		assert.equal(mine.status, 400, `${path} as Mia: ${mine.text}`);
		assert.match(mine.body.errors[0].message, invalid);
	}
});

test('path gid message says what a gid is', async () => {
	for (const gid of ['99999999999999999999', '007', 'abc']) {
		const res = await admin.get(`/tasks/${gid}`);
		assert.equal(res.status, 400, res.text);
		assert.match(res.body.errors[0].message, /^task_gid: not a valid gid: ".*"\. A gid is a positive number below 2\^63 in digits, without a leading zero/);
	}
});

test('concurrent creates page completely', async () => {
	// Tasks placed at the same moment must not share a position, or a page ending between them skips one.
	const project = await createProject(admin, { name: 'Busy intake' });
	const other = await createProject(admin, { name: 'Busy mirror' });
	const created = await Promise.all(Array.from({ length: 40 }, (_, i) =>
		admin.post('/tasks', { name: `Rush ${i}`, projects: i % 2 ? [project.gid, other.gid] : [other.gid, project.gid] })));
	assert.deepEqual(created.map((res) => res.status), Array(40).fill(201));
	for (const gid of [project.gid, other.gid]) {
		const seen = [];
		let offset;
		do {
			const res = await admin.get(`/projects/${gid}/tasks`, { limit: 3, offset });
			assert.equal(res.status, 200, res.text);
			seen.push(...res.body.data.map((task) => task.gid));
			offset = res.body.next_page && res.body.next_page.offset;
		} while (offset);
		assert.equal(seen.length, 40);
		assert.equal(new Set(seen).size, 40);
	}
});

test('next_page leaves out empty query segments', async () => {
	const tag = await admin.post('/tags', { name: 'Segments', workspace: server.orgGid });
	assert.equal(tag.status, 201, tag.text);
	for (const name of ['One', 'Two']) {
		await createTask(admin, { name, workspace: server.orgGid, tags: [tag.body.data.gid] });
	}
	const res = await admin.get(`/tags/${tag.body.data.gid}/tasks?limit=1&&opt_fields=name`);
	assert.equal(res.status, 200, res.text);
	assert.ok(res.body.next_page, res.text);
	assert.match(res.body.next_page.path, /\?limit=1&opt_fields=name&offset=[\w-]+$/);

	// A long value comes back whole: 30 paths of 36 characters.
	const fields = Array(30).fill('parent.memberships.project.team.name').concat(['due_at']).join(',');
	const long = await admin.get(`/tags/${tag.body.data.gid}/tasks`, { limit: 1, opt_fields: fields });
	assert.equal(long.status, 200, long.text);
	const next = new URL(long.body.next_page.uri);
	assert.equal(next.searchParams.get('opt_fields'), fields);
	const followed = await admin.get(long.body.next_page.path);
	assert.equal(followed.status, 200, followed.text);
	assert.ok('due_at' in followed.body.data[0], JSON.stringify(followed.body.data[0]));

	// A value of escaped bytes only comes back whole too.
	const escaped = await admin.get(`/tags/${tag.body.data.gid}/tasks`, { limit: 1, note: 'åäö' });
	assert.equal(escaped.status, 200, escaped.text);
	assert.equal(new URL(escaped.body.next_page.uri).searchParams.get('note'), 'åäö');
});

// ---------- visibility ----------

test('private project hides its tasks', async () => {
	const project = await createProject(admin, { name: 'Secret', privacy_setting: 'private' });
	const hidden = await createTask(admin, { name: 'Hidden', projects: [project.gid] });
	const assigned = await createTask(admin, { name: 'For Mia', projects: [project.gid], assignee: mia.gid });

	let res = await mia.client.get(`/tasks/${hidden.gid}`);
	assert.equal(res.status, 404, res.text);
	assertMatchesSpec('GET', '/tasks/{task_gid}', res);
	res = await mia.client.get(`/projects/${project.gid}/tasks`);
	assert.equal(res.status, 404, res.text);
	res = await mia.client.put(`/tasks/${hidden.gid}`, { name: 'mine now' });
	assert.equal(res.status, 404, res.text);
	res = await mia.client.del(`/tasks/${hidden.gid}`);
	assert.equal(res.status, 404, res.text);
	res = await mia.client.post('/tasks', { name: 'sneak', projects: [project.gid] });
	assert.equal(res.status, 404, res.text);

	// The assignee sees the task, but not the private project's name in it.
	res = await mia.client.get(`/tasks/${assigned.gid}`);
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data.projects, []);
	res = await mia.client.get('/tasks', { assignee: 'me', workspace: server.orgGid });
	assert.ok(gids(res.body.data).includes(assigned.gid));

	// An admin sees no private content by being an admin; a private task of Mia stays hers.
	const own = await createTask(mia.client, { name: 'Mine only' });
	res = await admin.get(`/tasks/${own.gid}`);
	assert.equal(res.status, 404, res.text);
	res = await gus.client.get(`/tasks/${own.gid}`);
	assert.equal(res.status, 404, res.text);
});

test('private parent stays hidden from subtask', async () => {
	const secret = await createProject(bob.client, { name: 'Bob private', privacy_setting: 'private' });
	const open = await createProject(bob.client, { name: 'Bob open', privacy_setting: 'public_to_workspace' });
	const parent = await createTask(bob.client, { name: 'Secret parent', notes: 'classified', projects: [secret.gid] });
	const child = await createTask(bob.client, { name: 'Open child', projects: [open.gid] });
	const moved = await bob.client.post(`/tasks/${child.gid}/setParent`, { parent: parent.gid });
	assert.equal(moved.status, 200, moved.text);
	assert.equal(moved.body.data.parent.name, 'Secret parent');

	assert.equal((await mia.client.get(`/tasks/${parent.gid}`)).status, 404);
	const hiddenRef = { gid: parent.gid, resource_type: 'task' };

	// The full task, opt_fields and dotted opt_fields all give only the parent's gid.
	let res = await mia.client.get(`/tasks/${child.gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/tasks/{task_gid}', res);
	assert.deepEqual(res.body.data.parent, hiddenRef);
	for (const fields of ['parent', 'parent.name', 'parent.name,parent.notes', 'parent.resource_subtype']) {
		res = await mia.client.get(`/tasks/${child.gid}`, { opt_fields: fields });
		assert.equal(res.status, 200, res.text);
		assert.deepEqual(res.body.data.parent, hiddenRef, fields);
	}
	res = await mia.client.get(`/projects/${open.gid}/tasks`, { opt_fields: 'name,parent.name' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data.find((t) => t.gid === child.gid).parent, hiddenRef);
	assert.ok(!res.text.includes('Secret parent'), res.text);

	// A story's target is expanded through the task type too.
	const comment = await bob.client.post(`/tasks/${child.gid}/stories`, { text: 'note' });
	assert.equal(comment.status, 201, comment.text);
	res = await mia.client.get(`/stories/${comment.body.data.gid}`, { opt_fields: 'target.parent.name' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data.target.parent, hiddenRef);

	// The owner of the parent still sees its name.
	res = await bob.client.get(`/tasks/${child.gid}`, { opt_fields: 'parent.name' });
	assert.equal(res.body.data.parent.name, 'Secret parent');

	// Mia may edit the child through the open project, but not take it out of the hidden parent.
	res = await mia.client.put(`/tasks/${child.gid}`, { name: 'Open child, edited' });
	assert.equal(res.status, 200, res.text);
	res = await mia.client.post(`/tasks/${child.gid}/setParent`, { parent: null });
	assert.equal(res.status, 403, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/setParent', res);
	assert.match(res.body.errors[0].message, /parent/);
	assert.ok(!res.text.includes('Secret parent'), res.text);
	const other = await createTask(mia.client, { name: 'Mia parent' });
	res = await mia.client.post(`/tasks/${child.gid}/setParent`, { parent: other.gid });
	assert.equal(res.status, 403, res.text);
	res = await mia.client.del(`/tasks/${child.gid}`);
	assert.equal(res.status, 403, res.text);
	res = await bob.client.get(`/tasks/${parent.gid}/subtasks`);
	assert.deepEqual(gids(res.body.data), [child.gid]);

	// Bob, who can edit the parent, can detach the child.
	res = await bob.client.post(`/tasks/${child.gid}/setParent`, { parent: null });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.parent, null);
});

test('delete keeps private project intact', async () => {
	const secret = await createProject(bob.client, { name: 'Bob private 2', privacy_setting: 'private' });
	const open = await createProject(bob.client, { name: 'Bob open 2', privacy_setting: 'public_to_workspace' });
	const shared = await createTask(bob.client, { name: 'In both', projects: [open.gid, secret.gid] });
	const parent = await createTask(bob.client, { name: 'Open parent', projects: [open.gid] });
	const sub = await bob.client.post(`/tasks/${parent.gid}/subtasks`, { name: 'Sub in private' });
	assert.equal(sub.status, 201, sub.text);
	const added = await bob.client.post(`/tasks/${sub.body.data.gid}/addProject`, { project: secret.gid });
	assert.equal(added.status, 200, added.text);

	// Mia sees both tasks through the open project, but only the open project in them.
	let res = await mia.client.get(`/tasks/${shared.gid}`, { opt_fields: 'projects.name,memberships.project.name' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data.projects.map((p) => p.gid), [open.gid]);
	assert.deepEqual(res.body.data.memberships.map((m) => m.project.gid), [open.gid]);

	// Deleting would take the task, or a subtask, out of the private project.
	for (const gid of [shared.gid, parent.gid]) {
		res = await mia.client.del(`/tasks/${gid}`);
		assert.equal(res.status, 403, res.text);
		assertMatchesSpec('DELETE', '/tasks/{task_gid}', res);
		assert.match(res.body.errors[0].message, /project you cannot edit/);
		assert.ok(!res.text.includes('Bob private'), res.text);
	}
	res = await bob.client.get(`/projects/${secret.gid}/tasks`);
	assert.deepEqual(gids(res.body.data).sort(), [shared.gid, sub.body.data.gid].sort());

	// Removing it from the open project is Mia's to do; the private one is not found for her.
	res = await mia.client.post(`/tasks/${shared.gid}/removeProject`, { project: secret.gid });
	assert.equal(res.status, 404, res.text);
	res = await mia.client.post(`/tasks/${shared.gid}/removeProject`, { project: open.gid });
	assert.equal(res.status, 200, res.text);

	// A project member deletes both.
	for (const gid of [shared.gid, parent.gid]) {
		res = await bob.client.del(`/tasks/${gid}`);
		assert.equal(res.status, 200, res.text);
	}
	res = await bob.client.get(`/projects/${secret.gid}/tasks`);
	assert.deepEqual(res.body.data, []);
});

test('guest sees only what was shared', async () => {
	const project = await createProject(mia.client, { name: 'Guest free', privacy_setting: 'public_to_workspace' });
	const task = await createTask(mia.client, { name: 'Internal', projects: [project.gid] });
	let res = await gus.client.get(`/tasks/${task.gid}`);
	assert.equal(res.status, 404, res.text);

	const shared = await createTask(mia.client, { name: 'For Gus', assignee: gus.gid });
	res = await gus.client.get(`/tasks/${shared.gid}`);
	assert.equal(res.status, 200, res.text);
	res = await gus.client.put(`/tasks/${shared.gid}`, { completed: true });
	assert.equal(res.status, 200, res.text);
});

// ---------- absolute URLs ----------

// GET `path` below /api/1.0 of `target` as `token` with extra headers, which may include Host.
function getWithHeaders(target, token, path, headers) {
	return rawGet(`${target.base}${path}`, { authorization: `Bearer ${token}`, ...headers });
}

test('permalink_url is the task API address', async () => {
	const task = await createTask(mia.client, { name: 'Linked' });
	assert.equal(task.permalink_url, `${server.base}/tasks/${task.gid}`);
	const res = await fetch(task.permalink_url, { headers: { authorization: `Bearer ${mia.token}` } });
	assert.equal(res.status, 200);
	assert.equal((await res.json()).data.gid, task.gid);
});

test('malformed Host header gives localhost', async () => {
	const task = await createTask(mia.client, { name: 'Host check', assignee: 'me' });
	await createTask(mia.client, { name: 'Host check 2', assignee: 'me' });
	const list = `/tasks?assignee=me&workspace=${server.orgGid}&limit=1`;
	const forged = ['evil.example/x?', 'evil.example:99999', 'user@evil.example', 'evil example', '-evil.example', '[evil]'];
	for (const host of forged) {
		const one = await getWithHeaders(server, mia.token, `/tasks/${task.gid}`, { host });
		assert.equal(one.status, 200, `${host}: ${one.text}`);
		assert.equal(one.body.data.permalink_url, `http://localhost/api/1.0/tasks/${task.gid}`, host);
		const page = await getWithHeaders(server, mia.token, list, { host });
		assert.equal(page.status, 200, `${host}: ${page.text}`);
		assert.ok(page.body.next_page.uri.startsWith('http://localhost/api/1.0/tasks?'), `${host}: ${page.body.next_page.uri}`);
	}

	// A well-formed Host is used when no public URL is set; X-Forwarded-Proto needs --trust-proxy.
	const named = await getWithHeaders(server, mia.token, `/tasks/${task.gid}`, {
		host: 'kontor.test:8443',
		'x-forwarded-proto': 'https',
	});
	assert.equal(named.body.data.permalink_url, `http://kontor.test:8443/api/1.0/tasks/${task.gid}`);
});

test('public URL wins over Host header', async () => {
	const other = await startServer({ org: 'URL Org', env: { KONTOR_PUBLIC_URL: 'https://kontor.example.com/' } });
	try {
		const client = api(other, other.adminToken);
		const created = [];
		for (const name of ['one', 'two']) {
			const res = await client.post('/tasks', { workspace: other.orgGid, name, assignee: 'me' });
			assert.equal(res.status, 201, res.text);
			created.push(res.body.data);
		}
		assert.equal(created[0].permalink_url, `https://kontor.example.com/api/1.0/tasks/${created[0].gid}`);

		const headers = { host: 'evil.example', 'x-forwarded-proto': 'http' };
		const one = await getWithHeaders(other, other.adminToken, `/tasks/${created[0].gid}`, headers);
		assert.equal(one.status, 200, one.text);
		assert.equal(one.body.data.permalink_url, `https://kontor.example.com/api/1.0/tasks/${created[0].gid}`);
		const page = await getWithHeaders(other, other.adminToken, `/tasks?assignee=me&workspace=${other.orgGid}&limit=1`, headers);
		assert.equal(page.status, 200, page.text);
		assert.ok(page.body.next_page.uri.startsWith('https://kontor.example.com/api/1.0/tasks?'), page.body.next_page.uri);
		assert.ok(!page.text.includes('evil.example'), page.text);
	} finally {
		await other.stop();
	}
});

test('trusted proxy sets the scheme', async () => {
	const other = await startServer({ org: 'Proxy Org', env: { KONTOR_TRUST_PROXY: '1' } });
	try {
		const res = await api(other, other.adminToken).post('/tasks', { workspace: other.orgGid, name: 'Proxied' });
		assert.equal(res.status, 201, res.text);
		const gid = res.body.data.gid;
		const cases = [
			['https', 'https'],
			['HTTPS', 'https'],
			['https, http', 'https'],
			['http', 'http'],
			['gopher', 'http'],
		];
		for (const [proto, scheme] of cases) {
			const one = await getWithHeaders(other, other.adminToken, `/tasks/${gid}`, { host: 'kontor.test', 'x-forwarded-proto': proto });
			assert.equal(one.body.data.permalink_url, `${scheme}://kontor.test/api/1.0/tasks/${gid}`, proto);
		}
	} finally {
		await other.stop();
	}
});

test('invalid public URL stops serve', async () => {
	for (const url of ['https://kontor.example.com/api', 'ftp://kontor.example.com', 'https://user@kontor.example.com', 'https://kontor.example.com:0']) {
		await assert.rejects(
			promisify(execFile)(binaryPath(), ['serve', '--db', server.db, '--listen', '127.0.0.1:0', '--public-url', url], {
				env: server.env,
				timeout: 10000,
			}),
			(err) => err.code === 2 && /--public-url \(KONTOR_PUBLIC_URL\): ".*" must/.test(err.stderr),
			url,
		);
	}
});

// ---------- rejected input ----------

test('task create rejects bad input', async () => {
	const cases = [
		['invalid date', { due_on: '2024-02-30' }, /due_on/],
		['year 0 date', { due_on: '0000-01-01' }, /due_on/],
		['year 0 start date', { start_on: '0000-12-31', due_on: '2030-01-01' }, /start_on/],
		['due_on and due_at', { due_on: '2024-02-01', due_at: '2024-02-01T10:00:00Z' }, /due_on/],
		['invalid date-time', { due_at: 'tomorrow' }, /due_at/],
		['unknown field', { colour: 'red' }, /colour/],
		['read-only field', { gid: '123' }, /gid/],
		['long name', { name: 'x'.repeat(1025) }, /name/],
		['control character', { name: 'bell\u0007' }, /name/],
		['newline in name', { name: 'two\nlines' }, /name/],
		['name not a string', { name: 42 }, /name/],
		['bad subtype', { resource_subtype: 'epic' }, /resource_subtype/],
		['assignee_status unassigned', { assignee_status: 'today' }, /assignee_status/],
		['unknown assignee', { assignee: '12345' }, /assignee/],
		['assignee not a gid', { assignee: 'someone' }, /assignee/],
		['other workspace', { workspace: '12345' }, /workspace/],
		['project not a gid', { projects: ['abc'] }, /projects/],
		['unknown project', { projects: ['12345'] }, /project/],
		['bad membership', { memberships: [{ project: '1', colour: 2 }] }, /memberships/],
		['too many projects', { projects: Array.from({ length: 21 }, (_, i) => String(1000 + i)) }, /projects/],
		['unknown parent', { parent: '12345' }, /task/],
	];
	for (const [label, data, pattern] of cases) {
		const res = await mia.client.post('/tasks', { workspace: server.orgGid, ...data });
		assert.ok(res.status === 400 || res.status === 404, `${label}: ${res.status} ${res.text}`);
		assertMatchesSpec('POST', '/tasks', res);
		assert.match(res.body.errors[0].message, pattern, label);
	}

	const noPlace = await mia.client.post('/tasks', { name: 'Nowhere' });
	assert.equal(noPlace.status, 400, noPlace.text);
	assert.match(noPlace.body.errors[0].message, /workspace/);

	const longest = await createTask(mia.client, { name: 'y'.repeat(1024) });
	assert.equal(longest.name.length, 1024);
});

test('task create rejects malformed bodies', async () => {
	const invalidUtf8 = Buffer.concat([
		Buffer.from(`{"data":{"workspace":"${server.orgGid}","name":"bad `),
		Buffer.from([0xc3, 0x28]),
		Buffer.from('"}}'),
	]);
	const deep = '{"data":{"workspace":"' + server.orgGid + '","memberships":' + '['.repeat(500) + ']'.repeat(500) + '}}';
	const bodies = [
		['invalid UTF-8', invalidUtf8],
		['deep nesting', deep],
		['not JSON', '{"data": {'],
		['data not an object', '{"data": []}'],
	];
	for (const [label, body] of bodies) {
		const res = await mia.client.raw('POST', '/tasks', { headers: { 'content-type': 'application/json' }, body });
		assert.equal(res.status, 400, `${label}: ${res.text}`);
		assertMatchesSpec('POST', '/tasks', res);
	}
	// The server still responds.
	const alive = await mia.client.get('/users/me');
	assert.equal(alive.status, 200, alive.text);
});

test('other organization is not found', async () => {
	const output = await kontorCli(['init', '--org', 'Other Org', '--plan', 'enterprise', '--admin-email', 'olga@other.test'], {
		KONTOR_ADMIN_PASSWORD: 'other-org-password',
	});
	const otherOrg = output.trim().split('\n').pop().trim();
	const otherUser = /gid (\d+)/.exec(output)[1];
	assert.match(otherOrg, /^\d+$/);
	const otherToken = (await kontorCli(['token', 'create', '--email', 'olga@other.test'])).trim().split('\n').pop();
	const olga = api(server, otherToken);

	const foreign = await olga.post('/tasks', { name: 'Foreign', workspace: otherOrg });
	assert.equal(foreign.status, 201, foreign.text);
	const foreignTag = await olga.post('/tags', { name: 'foreign', workspace: otherOrg });
	assert.equal(foreignTag.status, 201, foreignTag.text);

	const cases = [
		['assignee', { assignee: otherUser }],
		['assignee by e-mail', { assignee: 'olga@other.test' }],
		['followers', { followers: [otherUser] }],
		['workspace', { workspace: otherOrg }],
		['parent', { parent: foreign.body.data.gid }],
		['tags', { tags: [foreignTag.body.data.gid] }],
	];
	for (const [label, data] of cases) {
		const res = await mia.client.post('/tasks', { workspace: server.orgGid, ...data });
		assert.equal(res.status, 404, `${label}: ${res.text}`);
		assertMatchesSpec('POST', '/tasks', res);
		assert.doesNotMatch(res.text, /Other Org|Foreign/, label);
	}

	const read = await mia.client.get(`/tasks/${foreign.body.data.gid}`);
	assert.equal(read.status, 404, read.text);
	const write = await mia.client.put(`/tasks/${foreign.body.data.gid}`, { name: 'taken' });
	assert.equal(write.status, 404, write.text);
	const removal = await mia.client.del(`/tasks/${foreign.body.data.gid}`);
	assert.equal(removal.status, 404, removal.text);

	const own = await createTask(mia.client, { name: 'Local' });
	const tagged = await mia.client.post(`/tasks/${own.gid}/addTag`, { tag: foreignTag.body.data.gid });
	assert.equal(tagged.status, 404, tagged.text);
	const followed = await mia.client.post(`/tasks/${own.gid}/addFollowers`, { followers: [otherUser] });
	assert.equal(followed.status, 404, followed.text);
	const assigned = await mia.client.put(`/tasks/${own.gid}`, { assignee: otherUser });
	assert.equal(assigned.status, 404, assigned.text);
	const reparented = await mia.client.post(`/tasks/${own.gid}/setParent`, { parent: foreign.body.data.gid });
	assert.equal(reparented.status, 404, reparented.text);
	const listed = await mia.client.get('/tasks', { assignee: otherUser, workspace: server.orgGid });
	assert.equal(listed.status, 404, listed.text);
	const otherWorkspace = await mia.client.get('/tasks', { assignee: 'me', workspace: otherOrg });
	assert.equal(otherWorkspace.status, 404, otherWorkspace.text);

	// The other organization cannot reach this one's tasks either.
	const back = await olga.get(`/tasks/${own.gid}`);
	assert.equal(back.status, 404, back.text);
});

test('task paths reject bad gids', async () => {
	let res = await mia.client.get('/tasks/abc');
	assert.equal(res.status, 400, res.text);

	// One object has one gid string: a leading zero is not another name for it.
	const task = await createTask(mia.client, { name: 'Zero padded' });
	for (const padded of [`0${task.gid}`, `00${task.gid}`]) {
		res = await mia.client.get(`/tasks/${padded}`);
		assert.equal(res.status, 400, `${padded}: ${res.text}`);
		assert.match(res.body.errors[0].message, /task_gid/);
		res = await mia.client.post('/tasks', { workspace: server.orgGid, name: 'Child', parent: padded });
		assert.equal(res.status, 400, `parent ${padded}: ${res.text}`);
		assert.match(res.body.errors[0].message, /parent/);
	}
	res = await mia.client.get('/tasks/007');
	assert.equal(res.status, 400, res.text);
	res = await mia.client.get('/tasks/99999');
	assert.equal(res.status, 404, res.text);
	res = await mia.client.get('/projects/99999/tasks');
	assert.equal(res.status, 404, res.text);
	res = await mia.client.get('/sections/99999/tasks');
	assert.equal(res.status, 404, res.text);
	res = await mia.client.get('/tags/99999/tasks');
	assert.equal(res.status, 404, res.text);
	res = await mia.client.get('/tasks/99999/subtasks');
	assert.equal(res.status, 404, res.text);
	res = await mia.client.post('/tasks/99999/subtasks', { name: 'orphan' });
	assert.equal(res.status, 404, res.text);
	res = await mia.client.get('/tasks', { project: 'x' });
	assert.equal(res.status, 400, res.text);
	res = await mia.client.get('/tasks', { project: '99999', limit: 0 });
	assert.ok(res.status === 400 || res.status === 404, res.text);
});

test('task without token is 401', async () => {
	const res = await api(server, null).get('/tasks/1');
	assert.equal(res.status, 401, res.text);
	assertMatchesSpec('GET', '/tasks/{task_gid}', res);
});

test('removed person cannot be assigned', async () => {
	const leaver = await server.addUser({ email: 'leaver@example.test', name: 'Lea Leaver' });
	const task = await admin.post('/tasks', { name: 'Hand over', workspace: server.orgGid });
	assert.equal(task.status, 201, task.text);
	const removed = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: leaver.gid });
	assert.equal(removed.status, 200, removed.text);

	for (const ref of ['leaver@example.test', leaver.gid]) {
		const res = await admin.put(`/tasks/${task.body.data.gid}`, { assignee: ref });
		assert.equal(res.status, 400, res.text);
		assert.match(res.body.errors[0].message, /^assignee: user \d+ is not an active member of this organization/);
	}
	const created = await admin.post('/tasks', { name: 'New work', workspace: server.orgGid, assignee: leaver.gid });
	assert.equal(created.status, 400, created.text);
	const withFollower = await admin.post('/tasks', { name: 'Followed', workspace: server.orgGid, followers: [leaver.gid] });
	assert.equal(withFollower.status, 400, withFollower.text);
	assert.match(withFollower.body.errors[0].message, /^followers: user \d+ is not an active member/);
	const added = await admin.post(`/tasks/${task.body.data.gid}/addFollowers`, { followers: [leaver.gid] });
	assert.equal(added.status, 400, added.text);
	assert.match(added.body.errors[0].message, /^followers: /);
	// Removing a former member stays possible.
	const dropped = await admin.post(`/tasks/${task.body.data.gid}/removeFollowers`, { followers: [leaver.gid] });
	assert.equal(dropped.status, 200, dropped.text);

	const unchanged = await admin.get(`/tasks/${task.body.data.gid}`, { opt_fields: 'assignee' });
	assert.equal(unchanged.body.data.assignee, null);
});
