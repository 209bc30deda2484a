'use strict';
// Events: the sync-token flow of GET /events (412 first, then the events
// since the token), bubbling from subtasks and comments up to projects, the
// event shape of each recorded write, the 100-event cap, visibility of the
// stream and of the events in it, forged, foreign and expired tokens, the
// service-account workspace stream, concurrent writers, and pruning.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');

let server;
let admin; // api() for the super admin
let adminGid;
let bob; // a member of the team, sees public projects
let carol; // a member outside the team
let dave; // a member whom a test removes from the organization and adds back
let sa; // a full service account: {gid, token, client}
let readSa; // a read-only service account
let teamGid;
let projectGid; // public project of the team

// Runs SQL against the server's database and returns the rows as objects.
function sql(query) {
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		const out = execFileSync('psql', [server.db, '-At', '-v', 'ON_ERROR_STOP=1', '-c',
			`SELECT COALESCE(json_agg(row_to_json(q)), '[]'::json) FROM (${query}) q`], { encoding: 'utf8' });
		return JSON.parse(out.trim() || '[]');
	}
	const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', server.db, query], { encoding: 'utf8' });
	return out.trim() ? JSON.parse(out) : [];
}

function sqlRun(statement) {
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		execFileSync('psql', [server.db, '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement]);
	} else {
		execFileSync('sqlite3', ['-cmd', '.timeout 5000', server.db, statement]);
	}
}

async function created(res) {
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

async function createTask(client, data) {
	return created(await client.post('/tasks', { workspace: server.orgGid, ...data }));
}

async function createProject(client, data) {
	return created(await client.post('/projects', { team: teamGid, ...data }));
}

async function createServiceAccount(name, permissions) {
	const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name, permissions });
	assert.equal(res.status, 201, res.text);
	return { gid: res.body.data.gid, token: res.body.data.token, client: api(server, res.body.data.token) };
}

// The first call on a stream: 412 with a fresh token.
async function startSync(client, resource) {
	const res = await client.get('/events', { resource });
	assert.equal(res.status, 412, res.text);
	assertMatchesSpec('GET', '/events', res);
	assert.equal(typeof res.body.sync, 'string');
	return res.body.sync;
}

async function readEvents(client, resource, sync, query = {}) {
	const res = await client.get('/events', { resource, sync, ...query });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/events', res);
	assert.equal(typeof res.body.sync, 'string');
	assert.equal(typeof res.body.has_more, 'boolean');
	return { events: res.body.data, sync: res.body.sync, hasMore: res.body.has_more };
}

// The workspace stream of the full service account.
async function workspaceSync() {
	const res = await sa.client.get(`/workspaces/${server.orgGid}/events`);
	assert.equal(res.status, 412, res.text);
	return res.body.sync;
}

async function workspaceEvents(sync) {
	const events = [];
	for (;;) {
		const res = await sa.client.get(`/workspaces/${server.orgGid}/events`, { sync });
		assert.equal(res.status, 200, res.text);
		events.push(...res.body.data);
		sync = res.body.sync;
		if (!res.body.has_more) {
			return { events, sync };
		}
	}
}

// Finds the one event of `events` that matches every key of `shape`, with nested objects compared by gid.
function findEvent(events, shape) {
	const matches = events.filter((event) => Object.entries(shape).every(([key, value]) => {
		if (value === undefined) {
			return !(key in event);
		}
		if (value && typeof value === 'object') {
			return event[key] && Object.entries(value).every(([k, v]) => {
				if (v && typeof v === 'object') {
					return event[key][k] && event[key][k].gid === v.gid;
				}
				return event[key][k] === v;
			});
		}
		return event[key] === value;
	}));
	assert.equal(matches.length, 1, `expected one event like ${JSON.stringify(shape)} in ${JSON.stringify(events, null, 1)}`);
	return matches[0];
}

before(async () => {
	server = await startServer({ env: { KONTOR_JOBS_POLL_MS: '100' } });
	admin = api(server, server.adminToken);
	adminGid = (await admin.get('/users/me')).body.data.gid;
	bob = await server.addUser({ email: 'bob@example.test', name: 'Bob' });
	bob.client = api(server, bob.token);
	carol = await server.addUser({ email: 'carol@example.test', name: 'Carol' });
	carol.client = api(server, carol.token);
	dave = await server.addUser({ email: 'dave@example.test', name: 'Dave' });
	teamGid = (await created(await admin.post('/teams', { name: 'Events team', organization: server.orgGid }))).gid;
	const added = await admin.post(`/teams/${teamGid}/addUser`, { user: bob.gid });
	assert.equal(added.status, 200, added.text);
	projectGid = (await createProject(admin, { name: 'Public project' })).gid;
	sa = await createServiceAccount('Events bot', 'full');
	readSa = await createServiceAccount('Events reader', ['read']);
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('first call answers 412 with sync', async () => {
	const res = await admin.get('/events', { resource: projectGid });
	assert.equal(res.status, 412, res.text);
	assertMatchesSpec('GET', '/events', res);
	assert.match(res.body.errors[0].message, /sync/i);
	assert.match(res.body.sync, /^[A-Za-z0-9_-]+$/);
});

test('sync returns new events oldest first', async () => {
	const sync = await startSync(admin, projectGid);
	const first = await createTask(admin, { name: 'First', projects: [projectGid] });
	const second = await createTask(admin, { name: 'Second', projects: [projectGid] });

	const page = await readEvents(admin, projectGid, sync);
	assert.equal(page.hasMore, false);
	const added = page.events.filter((e) => e.action === 'added' && e.resource.resource_type === 'task');
	assert.deepEqual(added.map((e) => e.resource.gid), [first.gid, second.gid]);
	const event = added[0];
	assert.equal(event.type, 'task');
	assert.equal(event.resource.name, 'First');
	assert.equal(event.resource.resource_subtype, 'default_task');
	assert.equal(event.parent.gid, projectGid);
	assert.equal(event.parent.resource_type, 'project');
	assert.equal(event.parent.name, 'Public project');
	assert.equal(event.user.gid, adminGid);
	assert.equal(event.user.resource_type, 'user');
	assert.ok(!Number.isNaN(Date.parse(event.created_at)));
	assert.ok(!('change' in event));

	const next = await readEvents(admin, projectGid, page.sync);
	assert.deepEqual(next.events, []);
	assert.equal(next.hasMore, false);
});

test('subtask and its comment bubble up', async () => {
	const parent = await createTask(admin, { name: 'Parent', projects: [projectGid] });
	const sync = await startSync(admin, projectGid);
	const parentSync = await startSync(admin, parent.gid);
	const subtask = await created(await admin.post(`/tasks/${parent.gid}/subtasks`, { name: 'Child' }));
	const comment = await created(await admin.post(`/tasks/${subtask.gid}/stories`, { text: 'Looks good' }));

	for (const stream of [await readEvents(admin, projectGid, sync), await readEvents(admin, parent.gid, parentSync)]) {
		findEvent(stream.events, { action: 'added', resource: { gid: subtask.gid }, parent: { gid: parent.gid } });
		const story = findEvent(stream.events, { action: 'added', resource: { gid: comment.gid }, parent: { gid: subtask.gid } });
		assert.equal(story.resource.resource_type, 'story');
		assert.equal(story.resource.resource_subtype, 'comment_added');
		assert.equal(story.parent.name, 'Child');
	}
});

test('task writes record Asana event shapes', async () => {
	const other = await createProject(admin, { name: 'Other project' });
	// The task lands in the last section of the project, so the new section is another one.
	const task = await createTask(admin, { name: 'Shape', projects: [projectGid] });
	const section = await created(await admin.post(`/projects/${projectGid}/sections`, { name: 'Doing' }));
	const newParent = await createTask(admin, { name: 'New parent' });
	const tag = await created(await admin.post('/tags', { name: 'Hot', workspace: server.orgGid }));
	const sync = await workspaceSync();
	const ok = (res) => assert.ok(res.status === 200, `${res.status} ${res.text}`);

	ok(await admin.put(`/tasks/${task.gid}`, { name: 'Shape 2', notes: 'n', completed: true, due_on: '2030-01-02' }));
	ok(await admin.put(`/tasks/${task.gid}`, { assignee: bob.gid }));
	ok(await admin.put(`/tasks/${task.gid}`, { assignee: null }));
	ok(await admin.post(`/tasks/${task.gid}/addTag`, { tag: tag.gid }));
	ok(await admin.post(`/tasks/${task.gid}/removeTag`, { tag: tag.gid }));
	ok(await admin.post(`/tasks/${task.gid}/addFollowers`, { followers: [carol.gid] }));
	ok(await admin.post(`/tasks/${task.gid}/removeFollowers`, { followers: [carol.gid] }));
	ok(await admin.post(`/tasks/${task.gid}/addProject`, { project: other.gid }));
	ok(await admin.post(`/sections/${section.gid}/addTask`, { task: task.gid }));
	ok(await admin.post(`/tasks/${task.gid}/removeProject`, { project: other.gid }));
	ok(await admin.post(`/tasks/${task.gid}/setParent`, { parent: newParent.gid }));
	ok(await admin.post(`/tasks/${task.gid}/setParent`, { parent: null }));
	const { events } = await workspaceEvents(sync);

	for (const field of ['name', 'notes', 'completed', 'due_on']) {
		const event = findEvent(events, { action: 'changed', resource: { gid: task.gid }, change: { field } });
		assert.equal(event.change.action, 'changed');
		assert.ok(!('parent' in event));
	}
	const assigned = events.filter((e) => e.resource.gid === task.gid && e.change && e.change.field === 'assignee');
	assert.equal(assigned.length, 2);
	assert.equal(assigned[0].change.new_value.gid, bob.gid);
	assert.equal(assigned[0].change.new_value.resource_type, 'user');
	assert.equal(assigned[0].change.new_value.name, 'Bob');
	assert.equal(assigned[1].change.new_value, null);

	const tagAdded = findEvent(events, { resource: { gid: task.gid }, change: { field: 'tags', action: 'added' } });
	assert.equal(tagAdded.change.added_value.gid, tag.gid);
	assert.equal(tagAdded.change.added_value.name, 'Hot');
	const tagRemoved = findEvent(events, { resource: { gid: task.gid }, change: { field: 'tags', action: 'removed' } });
	assert.equal(tagRemoved.change.removed_value.gid, tag.gid);
	const followed = findEvent(events, { resource: { gid: task.gid }, change: { field: 'followers', action: 'added' } });
	assert.equal(followed.change.added_value.gid, carol.gid);
	findEvent(events, { resource: { gid: task.gid }, change: { field: 'followers', action: 'removed', removed_value: { gid: carol.gid } } });

	findEvent(events, { action: 'added', resource: { gid: task.gid }, parent: { gid: other.gid, resource_type: 'project' } });
	findEvent(events, { action: 'added', resource: { gid: task.gid }, parent: { gid: section.gid, resource_type: 'section' } });
	findEvent(events, { action: 'removed', resource: { gid: task.gid }, parent: { gid: other.gid } });
	findEvent(events, { action: 'added', resource: { gid: task.gid }, parent: { gid: newParent.gid, resource_type: 'task' } });
	findEvent(events, { action: 'removed', resource: { gid: task.gid }, parent: { gid: newParent.gid } });

	// A delete reaches the project although the task's rows are gone.
	const projectSync = await startSync(admin, projectGid);
	assert.equal((await admin.del(`/tasks/${task.gid}`)).status, 200);
	const deleted = await readEvents(admin, projectGid, projectSync);
	const gone = findEvent(deleted.events, { action: 'deleted', resource: { gid: task.gid } });
	assert.ok(!('parent' in gone));
	assert.ok(!('name' in gone.resource));
});

test('other writes record events', async () => {
	const sync = await workspaceSync();
	const ok = (res) => assert.ok(res.status === 200, `${res.status} ${res.text}`);
	const project = await createProject(admin, { name: 'Lifecycle' });
	// Created before the section, so the section stays empty and can be deleted.
	const task = await createTask(admin, { name: 'Discussed', projects: [project.gid] });
	const section = await created(await admin.post(`/projects/${project.gid}/sections`, { name: 'Later' }));
	ok(await admin.put(`/sections/${section.gid}`, { name: 'Much later' }));
	ok(await admin.put(`/projects/${project.gid}`, { name: 'Lifecycle 2', archived: true }));
	ok(await admin.post(`/projects/${project.gid}/addMembers`, { members: [bob.gid] }));
	ok(await admin.post(`/projects/${project.gid}/removeFollowers`, { followers: [adminGid] }));
	const tag = await created(await admin.post('/tags', { name: 'Temp', workspace: server.orgGid }));
	ok(await admin.put(`/tags/${tag.gid}`, { color: 'dark-red' }));
	ok(await admin.del(`/tags/${tag.gid}`));
	const story = await created(await admin.post(`/tasks/${task.gid}/stories`, { text: 'first' }));
	ok(await admin.put(`/stories/${story.gid}`, { text: 'edited' }));
	ok(await admin.del(`/stories/${story.gid}`));
	const team = await created(await admin.post('/teams', { name: 'Short lived', organization: server.orgGid }));
	ok(await admin.put(`/teams/${team.gid}`, { name: 'Renamed team' }));
	ok(await admin.post(`/teams/${team.gid}/addUser`, { user: carol.gid }));
	ok(await admin.post(`/teams/${team.gid}/removeUser`, { user: carol.gid }));
	ok(await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: dave.gid }));
	ok(await admin.post(`/workspaces/${server.orgGid}/addUser`, { user: dave.gid }));
	ok(await admin.del(`/sections/${section.gid}`));
	ok(await admin.del(`/projects/${project.gid}`));
	const { events } = await workspaceEvents(sync);

	findEvent(events, { action: 'added', resource: { gid: project.gid, resource_type: 'project' }, parent: { gid: teamGid } });
	findEvent(events, { action: 'added', resource: { gid: section.gid, resource_type: 'section' }, parent: { gid: project.gid } });
	findEvent(events, { action: 'changed', resource: { gid: section.gid }, change: { field: 'name' } });
	findEvent(events, { action: 'changed', resource: { gid: project.gid }, change: { field: 'name' } });
	findEvent(events, { action: 'changed', resource: { gid: project.gid }, change: { field: 'archived' } });
	findEvent(events, { resource: { gid: project.gid }, change: { field: 'members', action: 'added', added_value: { gid: bob.gid } } });
	findEvent(events, { resource: { gid: project.gid }, change: { field: 'followers', action: 'removed', removed_value: { gid: adminGid } } });
	findEvent(events, { action: 'added', resource: { gid: tag.gid, resource_type: 'tag' } });
	findEvent(events, { action: 'changed', resource: { gid: tag.gid }, change: { field: 'color' } });
	findEvent(events, { action: 'deleted', resource: { gid: tag.gid } });
	findEvent(events, { action: 'changed', resource: { gid: story.gid, resource_type: 'story' }, change: { field: 'text' } });
	findEvent(events, { action: 'deleted', resource: { gid: story.gid } });
	findEvent(events, { action: 'added', resource: { gid: team.gid, resource_type: 'team' }, parent: { gid: server.orgGid } });
	findEvent(events, { action: 'changed', resource: { gid: team.gid }, change: { field: 'name' } });
	findEvent(events, { action: 'added', resource: { gid: carol.gid, resource_type: 'user' }, parent: { gid: team.gid } });
	findEvent(events, { action: 'removed', resource: { gid: carol.gid }, parent: { gid: team.gid } });
	findEvent(events, { action: 'removed', resource: { gid: dave.gid }, parent: { gid: server.orgGid, resource_type: 'workspace' } });
	findEvent(events, { action: 'added', resource: { gid: dave.gid }, parent: { gid: server.orgGid } });
	findEvent(events, { action: 'removed', resource: { gid: section.gid }, parent: { gid: project.gid } });
	findEvent(events, { action: 'deleted', resource: { gid: section.gid } });
	findEvent(events, { action: 'deleted', resource: { gid: project.gid } });
});

test('100 events per call with has_more', async () => {
	const task = await createTask(admin, { name: 'Busy' });
	let sync = await startSync(admin, task.gid);
	for (let i = 0; i < 130; i++) {
		await created(await admin.post(`/tasks/${task.gid}/stories`, { text: `comment ${i}` }));
	}

	const first = await readEvents(admin, task.gid, sync);
	assert.equal(first.events.length, 100);
	assert.equal(first.hasMore, true);
	const second = await readEvents(admin, task.gid, first.sync);
	assert.equal(second.events.length, 30);
	assert.equal(second.hasMore, false);
	const texts = [...first.events, ...second.events].map((e) => e.resource.gid);
	assert.equal(new Set(texts).size, 130);
	sync = second.sync;
	assert.deepEqual((await readEvents(admin, task.gid, sync)).events, []);
});

test('opt_fields selects event fields', async () => {
	const task = await createTask(admin, { name: 'Projected' });
	const sync = await startSync(admin, task.gid);
	await created(await admin.post(`/tasks/${task.gid}/stories`, { text: 'x' }));
	const page = await readEvents(admin, task.gid, sync, { opt_fields: 'action,resource.name,user.email' });
	assert.equal(page.events.length, 1);
	const event = page.events[0];
	assert.deepEqual(Object.keys(event).sort(), ['action', 'resource', 'user']);
	assert.deepEqual(Object.keys(event.resource).sort(), ['gid', 'resource_type']);
	assert.equal(event.user.email, server.adminEmail);

	const bad = await admin.get('/events', { resource: task.gid, sync, opt_fields: 'nonsense' });
	assert.equal(bad.status, 400, bad.text);
});

test('resource checks: missing, invalid, invisible', async () => {
	let res = await admin.get('/events');
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /resource/);
	res = await admin.get('/events', { resource: 'abc' });
	assert.equal(res.status, 400, res.text);
	res = await admin.get('/events', { resource: '123456789' });
	assert.equal(res.status, 404, res.text);
	assertMatchesSpec('GET', '/events', res);

	const secret = await createProject(admin, { name: 'Secret', privacy_setting: 'private' });
	res = await carol.client.get('/events', { resource: secret.gid });
	assert.equal(res.status, 404, res.text);
	const hidden = await createTask(admin, { name: 'Hidden task' });
	res = await carol.client.get('/events', { resource: hidden.gid });
	assert.equal(res.status, 404, res.text);
	res = await bob.client.get('/events', { resource: projectGid });
	assert.equal(res.status, 412, res.text);
});

test('invisible events are left out', async () => {
	const secret = await createProject(admin, { name: 'Secret 2', privacy_setting: 'private' });
	const task = await createTask(admin, { name: 'Shared', projects: [projectGid] });
	const leaving = await createTask(admin, { name: 'Leaving', projects: [projectGid] });
	const bobTask = await startSync(bob.client, task.gid);
	const bobProject = await startSync(bob.client, projectGid);
	const adminProject = await startSync(admin, projectGid);

	assert.equal((await admin.post(`/tasks/${task.gid}/addProject`, { project: secret.gid })).status, 200);
	assert.equal((await admin.post(`/tasks/${leaving.gid}/removeProject`, { project: projectGid })).status, 200);
	await created(await admin.post(`/tasks/${task.gid}/stories`, { text: 'visible comment' }));

	// Bob sees the task but not the private project it joined, nor the task that left his project.
	const bobEvents = (await readEvents(bob.client, task.gid, bobTask)).events;
	assert.ok(!bobEvents.some((e) => e.parent && e.parent.gid === secret.gid), JSON.stringify(bobEvents));
	findEvent(bobEvents, { action: 'added', resource: { resource_type: 'story', resource_subtype: 'comment_added' } });
	const bobProjectEvents = (await readEvents(bob.client, projectGid, bobProject)).events;
	assert.ok(!bobProjectEvents.some((e) => e.resource.gid === leaving.gid), JSON.stringify(bobProjectEvents));

	const adminEvents = (await readEvents(admin, projectGid, adminProject)).events;
	findEvent(adminEvents, { action: 'added', resource: { gid: task.gid }, parent: { gid: secret.gid } });
	findEvent(adminEvents, { action: 'removed', resource: { gid: leaving.gid }, parent: { gid: projectGid } });
});

test('events about deleted objects stay hidden', async () => {
	const ok = (res) => assert.equal(res.status, 200, res.text);
	const bobTeam = await startSync(bob.client, teamGid);
	const bobProject = await startSync(bob.client, projectGid);
	const adminProject = await startSync(admin, projectGid);
	const wholeSync = await workspaceSync();

	// A private project and a private parent task that Bob never sees, then both deleted.
	const gone = await createProject(admin, { name: 'Private, soon gone', privacy_setting: 'private' });
	const wanderer = await createTask(admin, { name: 'Wanderer', projects: [projectGid] });
	const hiddenParent = await createTask(admin, { name: 'Private parent', projects: [gone.gid] });
	ok(await admin.post(`/tasks/${wanderer.gid}/addProject`, { project: gone.gid }));
	ok(await admin.post(`/tasks/${wanderer.gid}/setParent`, { parent: hiddenParent.gid }));
	ok(await admin.del(`/tasks/${hiddenParent.gid}`));
	ok(await admin.del(`/projects/${gone.gid}`));

	const secret = [gone.gid, hiddenParent.gid];
	const names = (e) => [e.resource.gid, e.parent && e.parent.gid].filter(Boolean);
	const teamEvents = (await readEvents(bob.client, teamGid, bobTeam)).events;
	assert.deepEqual(teamEvents.filter((e) => names(e).some((gid) => secret.includes(gid))), []);
	const projectEvents = (await readEvents(bob.client, projectGid, bobProject)).events;
	assert.deepEqual(projectEvents.filter((e) => names(e).some((gid) => secret.includes(gid))), []);
	// Bob's project lost a task: the deleted event stays, the earlier events about it go.
	findEvent(projectEvents, { action: 'deleted', resource: { gid: wanderer.gid } });
	assert.equal(projectEvents.filter((e) => e.resource.gid === wanderer.gid).length, 1, JSON.stringify(projectEvents));

	// The admin created the private objects, but after deletion nothing says who could see them.
	const adminEvents = (await readEvents(admin, projectGid, adminProject)).events;
	assert.deepEqual(adminEvents.filter((e) => names(e).some((gid) => secret.includes(gid))), []);
	findEvent(adminEvents, { action: 'deleted', resource: { gid: wanderer.gid } });

	// A full service account still reads the whole history.
	const { events } = await workspaceEvents(wholeSync);
	findEvent(events, { action: 'added', resource: { gid: gone.gid }, parent: { gid: teamGid } });
	findEvent(events, { action: 'added', resource: { gid: wanderer.gid }, parent: { gid: hiddenParent.gid } });
	findEvent(events, { action: 'deleted', resource: { gid: gone.gid } });
});

test('forged and foreign tokens get 412', async () => {
	const task = await createTask(admin, { name: 'Guarded', projects: [projectGid] });
	const sync = await startSync(admin, task.gid);
	const flipped = sync.slice(0, 10) + (sync[10] === 'A' ? 'B' : 'A') + sync.slice(11);
	for (const bad of [flipped, 'not-a-token', sync + 'AA', 'x'.repeat(500)]) {
		const res = await admin.get('/events', { resource: task.gid, sync: bad });
		assert.equal(res.status, 412, res.text);
		assertMatchesSpec('GET', '/events', res);
		assert.notEqual(res.body.sync, bad);
	}

	// A token belongs to the stream it came from.
	const res = await admin.get('/events', { resource: projectGid, sync });
	assert.equal(res.status, 412, res.text);
	const workspace = await sa.client.get(`/workspaces/${server.orgGid}/events`, { sync });
	assert.equal(workspace.status, 412, workspace.text);

	// The fresh token of a 412 works.
	await readEvents(admin, projectGid, res.body.sync);
});

test('expired token gets 412', async () => {
	const short = await startServer({ env: { KONTOR_EVENT_SYNC_TTL_SECONDS: '1' } });
	try {
		const client = api(short, short.adminToken);
		const task = await created(await client.post('/tasks', { name: 'Brief', workspace: short.orgGid }));
		const first = await client.get('/events', { resource: task.gid });
		assert.equal(first.status, 412, first.text);
		const fresh = await client.get('/events', { resource: task.gid, sync: first.body.sync });
		assert.equal(fresh.status, 200, fresh.text);
		await new Promise((resolve) => setTimeout(resolve, 1500));
		const expired = await client.get('/events', { resource: task.gid, sync: fresh.body.sync });
		assert.equal(expired.status, 412, expired.text);
		assert.match(expired.body.errors[0].message, /too old|invalid/);
	} finally {
		await short.stop();
	}
});

test('workspace stream for service accounts', async () => {
	let res = await admin.get(`/workspaces/${server.orgGid}/events`);
	assert.equal(res.status, 403, res.text);
	res = await bob.client.get(`/workspaces/${server.orgGid}/events`);
	assert.equal(res.status, 403, res.text);
	res = await sa.client.get('/workspaces/123456789/events');
	assert.equal(res.status, 404, res.text);
	res = await sa.client.get(`/workspaces/${server.orgGid}/events`, { limit: 1001 });
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /limit/);

	// The read-only account sees the private task of another person too.
	res = await readSa.client.get(`/workspaces/${server.orgGid}/events`);
	assert.equal(res.status, 412, res.text);
	let sync = res.body.sync;
	const hidden = await createTask(bob.client, { name: 'Bob private' });
	res = await readSa.client.get(`/workspaces/${server.orgGid}/events`, { sync, limit: 1 });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.length, 1);
	assert.equal(res.body.data[0].resource.gid, hidden.gid);
	assert.equal(res.body.data[0].user.gid, bob.gid);
	sync = res.body.sync;
	res = await readSa.client.get(`/workspaces/${server.orgGid}/events`, { sync });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.has_more, false);
});

test('no event lost under concurrent writers', async () => {
	const sync = await workspaceSync();
	const before = sql(`SELECT CAST(COALESCE(MAX(seq), 0) AS TEXT) AS seq FROM events WHERE workspace_gid = ${server.orgGid}`)[0].seq;
	const writers = [admin, bob.client, carol.client, sa.client];
	const perWriter = 20;
	const made = await Promise.all(writers.map(async (client, w) => {
		const gids = [];
		for (let i = 0; i < perWriter; i++) {
			gids.push((await createTask(client, { name: `w${w} #${i}` })).gid);
		}
		return gids;
	}));

	const { events } = await workspaceEvents(sync);
	const expected = new Set(made.flat());
	const seen = events.filter((e) => e.action === 'added' && expected.has(e.resource.gid));
	assert.equal(seen.length, writers.length * perWriter);
	assert.equal(new Set(seen.map((e) => e.resource.gid)).size, expected.size);

	const [{ count, low, high }] = sql(`SELECT COUNT(*) AS count, CAST(MIN(seq) AS TEXT) AS low, CAST(MAX(seq) AS TEXT) AS high
		FROM events WHERE workspace_gid = ${server.orgGid} AND seq > ${before}`);
	assert.equal(Number(count), events.length);
	assert.equal(Number(high) - Number(low) + 1, Number(count));
});

test('pruned events answer 412', async () => {
	const task = await createTask(admin, { name: 'Old news', projects: [projectGid] });
	const sync = await startSync(admin, projectGid);
	await created(await admin.post(`/tasks/${task.gid}/stories`, { text: 'soon pruned' }));

	// Every event so far becomes eight days old, and the prune job is due at once.
	const eightDays = 8 * 24 * 3600 * 1000000;
	sqlRun(`UPDATE events SET created_at = created_at - ${eightDays}`);
	sqlRun(`UPDATE jobs SET run_at = 0 WHERE kind = 'event_prune'`);
	let left;
	for (let i = 0; i < 100; i++) {
		left = Number(sql(`SELECT COUNT(*) AS n FROM events WHERE workspace_gid = ${server.orgGid}`)[0].n);
		if (left === 0) {
			break;
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	assert.equal(left, 0);
	const targets = Number(sql(`SELECT COUNT(*) AS n FROM event_targets WHERE workspace_gid = ${server.orgGid}`)[0].n);
	assert.equal(targets, 0);

	const res = await admin.get('/events', { resource: projectGid, sync });
	assert.equal(res.status, 412, res.text);
	assert.match(res.body.errors[0].message, /pruned/);
	await readEvents(admin, projectGid, res.body.sync);
});

test('NUL in sync and signed limits rejected', async () => {
	// %00 is not decoded (the server keeps it as text), so the token is simply invalid.
	let res = await admin.get('/events', { resource: projectGid, sync: '\u0000abc' });
	assert.equal(res.status, 412, res.text);
	assert.match(res.body.errors[0].message, /Sync token invalid/);
	assert.equal(typeof res.body.sync, 'string');

	const sync = await workspaceSync();
	for (const limit of [' 5', '+5', '-5', '5 ']) {
		res = await sa.client.get(`/workspaces/${server.orgGid}/events`, { sync, limit });
		assert.equal(res.status, 400, `limit ${JSON.stringify(limit)}: ${res.text}`);
		assert.match(res.body.errors[0].message, /limit/);
	}
	res = await admin.get('/webhooks', { workspace: server.orgGid, limit: ' 5' });
	assert.equal(res.status, 400, res.text);
});

test('changed events have no parent key', async () => {
	const task = await createTask(admin, { name: 'Renamed', projects: [projectGid] });
	const sync = await startSync(admin, task.gid);
	assert.equal((await admin.put(`/tasks/${task.gid}`, { name: 'Renamed again' })).status, 200);
	const { events } = await readEvents(admin, task.gid, sync);
	const changed = events.filter((e) => e.action === 'changed');
	assert.ok(changed.length > 0, JSON.stringify(events));
	for (const event of changed) {
		assert.equal('parent' in event, false, JSON.stringify(event));
	}
});

test('private parents left out of stream', async () => {
	const secret = await createProject(admin, { name: 'Secret parent', privacy_setting: 'private' });
	const hiddenParent = await createTask(admin, { name: 'Hidden parent', projects: [secret.gid] });
	const child = await createTask(admin, { name: 'Child in public', projects: [projectGid] });
	const marker = await createTask(admin, { name: 'Marker', projects: [projectGid] });
	const bobSync = await startSync(bob.client, projectGid);

	assert.equal((await admin.post(`/tasks/${child.gid}/setParent`, { parent: hiddenParent.gid })).status, 200);
	await created(await admin.post(`/tasks/${marker.gid}/stories`, { text: 'after the moves' }));

	const { events } = await readEvents(bob.client, projectGid, bobSync);
	findEvent(events, { action: 'added', resource: { resource_type: 'story' }, parent: { gid: marker.gid } });
	const leaks = events.filter((e) => [secret.gid, hiddenParent.gid].includes(e.parent && e.parent.gid));
	assert.deepEqual(leaks, []);
});
