'use strict';
// GET /workspaces/{workspace_gid}/typeahead and GET /projects/{project_gid}/task_counts:
// spec validation, word-prefix matching with Swedish letters and literal LIKE
// wildcards, visibility, count limits, rejected input, and task counts with and
// without opt_fields.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');

let server;
let admin;
let member; // an organization member outside the team and every private project
let guest;
let teamGid;
let privateProject;
let publicProject;

async function addUser(email, name, role = 'member') {
	const user = await server.addUser({ email, name, role });
	return { ...user, client: api(server, user.token) };
}

async function create(client, path, data) {
	const res = await client.post(path, data);
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

function typeahead(client, query) {
	return client.get(`/workspaces/${server.orgGid}/typeahead`, query);
}

async function names(client, query) {
	const res = await typeahead(client, query);
	assert.equal(res.status, 200, res.text);
	return res.body.data.map((item) => item.name);
}

before(async () => {
	server = await startServer();
	admin = api(server, server.adminToken);
	member = await addUser('mia.member@example.test', 'Mia Member');
	guest = await addUser('gus.guest@example.test', 'Gus Guest', 'guest');
	await addUser('orjan.ostlund@example.test', 'Örjan Östlund');
	await addUser('asa.ahlberg@example.test', 'Åsa Åhlberg');
	await addUser('x.karlsson@example.test', 'Anders Karlsson');

	teamGid = (await create(admin, '/teams', { name: 'Lager och logistik', organization: server.orgGid })).gid;
	await create(admin, '/teams', { name: 'Lagerhemligt', organization: server.orgGid, visibility: 'secret' });

	publicProject = await create(admin, '/projects', { name: 'Östra lagret', team: teamGid });
	privateProject = await create(admin, '/projects', {
		name: 'Hemlig flytt',
		team: teamGid,
		privacy_setting: 'private',
	});
	for (const name of ['50% rabatt', '50 rabatter', 'a_b plan', 'axb plan', 'Q3 launch plan', 'Ärende åtgärd']) {
		await create(admin, '/projects', { name, team: teamGid });
	}

	const inPublic = await create(admin, '/tasks', { name: 'Inventera hyllor', projects: [publicProject.gid] });
	await create(admin, `/tasks/${inPublic.gid}/subtasks`, { name: 'Inventera pallar' });
	await create(admin, '/tasks', { name: 'Inventera hemligt', projects: [privateProject.gid] });

	for (let i = 0; i < 25; i++) {
		await create(admin, '/tags', { name: `Etikett ${String(i).padStart(2, '0')}`, workspace: server.orgGid });
	}
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('typeahead replies match the spec', async () => {
	for (const resourceType of ['user', 'project', 'tag', 'task', 'team']) {
		const res = await typeahead(admin, { resource_type: resourceType, query: '' });
		assert.equal(res.status, 200, res.text);
		assert.ok(res.body.data.length > 0, resourceType);
		assertMatchesSpec('GET', `/workspaces/${server.orgGid}/typeahead`, res);
		for (const item of res.body.data) {
			assert.deepEqual(Object.keys(item).sort(), ['gid', 'name', 'resource_type']);
			assert.equal(item.resource_type, resourceType);
		}
	}
});

test('typeahead defaults to users', async () => {
	const res = await typeahead(admin, { query: 'mia' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data, [{ gid: member.gid, resource_type: 'user', name: 'Mia Member' }]);
	assert.deepEqual(await names(admin, { type: 'user', query: 'mia' }), ['Mia Member']);
	assert.deepEqual(await names(admin, { resource_type: 'actor', query: 'mia' }), ['Mia Member']);
});

test('typeahead matches word prefixes only', async () => {
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'launch' }), ['Q3 launch plan']);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'LAUNCH pl' }), ['Q3 launch plan']);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'plan launch' }), ['Q3 launch plan']);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'aunch' }), []);
	assert.deepEqual(await names(admin, { resource_type: 'user', query: 'karls' }), ['Anders Karlsson']);
});

test('typeahead matches users by e-mail prefix', async () => {
	assert.deepEqual(await names(admin, { query: 'x.karl' }), ['Anders Karlsson']);
	assert.deepEqual(await names(admin, { query: 'karlsson@' }), []);
});

test('typeahead folds Swedish letters', async () => {
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'Öst' }), ['Östra lagret']);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'öst' }), ['Östra lagret']);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'ÅTGÄRD' }), ['Ärende åtgärd']);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'ärende' }), ['Ärende åtgärd']);
	assert.deepEqual(await names(admin, { query: 'öst' }), ['Örjan Östlund']);
	assert.deepEqual(await names(admin, { query: 'ÅSA' }), ['Åsa Åhlberg']);
	assert.deepEqual(await names(admin, { query: 'åhl' }), ['Åsa Åhlberg']);
	// The query must start a word, and "stlund" lies inside "Östlund".
	assert.deepEqual(await names(admin, { query: 'stlund' }), []);
});

test('typeahead treats LIKE wildcards literally', async () => {
	assert.deepEqual(await names(admin, { resource_type: 'project', query: '50%' }), ['50% rabatt']);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'a_b' }), ['a_b plan']);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: '%' }), []);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: '_' }), []);
	assert.deepEqual(await names(admin, { resource_type: 'project', query: '!' }), []);
});

test('typeahead count defaults and limits', async () => {
	const tags = await names(admin, { resource_type: 'tag', query: 'etikett' });
	assert.equal(tags.length, 20);
	assert.deepEqual(tags, [...tags].sort(), 'tags come in name order');
	assert.equal(tags[0], 'Etikett 00');
	assert.equal((await names(admin, { resource_type: 'tag', query: 'etikett', count: 3 })).length, 3);
	assert.equal((await names(admin, { resource_type: 'tag', query: 'etikett', count: 100 })).length, 25);
	assert.equal((await names(admin, { resource_type: 'tag', count: 1 })).length, 1);
	for (const count of ['0', '101', '-1', 'abc', ' 5', '5x', '']) {
		const res = await typeahead(admin, { resource_type: 'tag', count });
		assert.equal(res.status, 400, `count=${count}: ${res.text}`);
		assert.match(res.body.errors[0].message, /^count: /);
	}
});

test('typeahead rejects unknown types and fields', async () => {
	for (const value of ['portfolio', 'goal', 'custom_field', 'project_template', 'agent']) {
		const res = await typeahead(admin, { resource_type: value });
		assert.equal(res.status, 400, res.text);
		assert.match(res.body.errors[0].message, /^resource_type: kontor has no/);
		assert.match(res.body.errors[0].message, /user, actor, project, tag, task and team/);
	}
	let res = await typeahead(admin, { resource_type: 'tasks' });
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /^resource_type: "tasks" is not a resource type/);
	res = await typeahead(admin, { type: 'portfolio' });
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /^type: /);
	res = await typeahead(admin, { resource_type: 'user', opt_fields: 'name,notes' });
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /opt_fields: "notes" is not a field of user/);
	res = await typeahead(admin, { query: 'x'.repeat(257) });
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /^query: /);
	res = await admin.get(`/workspaces/${server.orgGid}/typeahead?query=%FF`);
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /^query: /);
	res = await admin.get('/workspaces/123456789/typeahead');
	assert.equal(res.status, 404, res.text);
});

test('typeahead opt_fields selects fields', async () => {
	let res = await typeahead(admin, { query: 'mia', opt_fields: 'email' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data, [{ gid: member.gid, resource_type: 'user', email: 'mia.member@example.test' }]);
	assertMatchesSpec('GET', `/workspaces/${server.orgGid}/typeahead`, res);
	res = await typeahead(admin, { resource_type: 'project', query: 'östra', opt_fields: 'name,team.name' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data, [
		{
			gid: publicProject.gid,
			resource_type: 'project',
			name: 'Östra lagret',
			team: { gid: teamGid, resource_type: 'team', name: 'Lager och logistik' },
		},
	]);
});

test('typeahead hides what the caller cannot see', async () => {
	assert.deepEqual(await names(admin, { resource_type: 'project', query: 'hemlig' }), ['Hemlig flytt']);
	assert.deepEqual(await names(member.client, { resource_type: 'project', query: 'hemlig' }), []);
	assert.deepEqual(await names(admin, { resource_type: 'task', query: 'inventera hem' }), ['Inventera hemligt']);
	const tasks = await names(member.client, { resource_type: 'task', query: 'inventera' });
	assert.deepEqual(tasks.sort(), ['Inventera hyllor', 'Inventera pallar'], 'a subtask is visible through its parent');
	assert.deepEqual((await names(admin, { resource_type: 'team', query: 'lager' })).sort(), [
		'Lager och logistik',
		'Lagerhemligt',
	]);
	assert.deepEqual(await names(member.client, { resource_type: 'team', query: 'lager' }), ['Lager och logistik']);
});

test('typeahead shows guests only their own circle', async () => {
	assert.deepEqual(await names(guest.client, { resource_type: 'user', query: '' }), ['Gus Guest']);
	assert.deepEqual(await names(guest.client, { resource_type: 'tag', query: '' }), []);
	assert.deepEqual(await names(guest.client, { resource_type: 'project', query: '' }), []);
	assert.deepEqual(await names(guest.client, { resource_type: 'team', query: '' }), []);
	assert.deepEqual(await names(guest.client, { resource_type: 'task', query: '' }), []);
});

test('typeahead orders name starts first', async () => {
	await addUser('bo.lund@example.test', 'Bo Lund');
	await addUser('lund.berg@example.test', 'Lundberg Ek');
	assert.deepEqual(await names(admin, { query: 'lund' }), ['Lundberg Ek', 'Bo Lund']);
});

test('typeahead sorts names ignoring case', async () => {
	for (const name of ['Sortera beta', 'sortera Alfa', 'Sortera zeta', 'Sortera Åska', 'Sortera ärlig']) {
		await create(admin, '/tags', { name, workspace: server.orgGid });
	}
	assert.deepEqual(await names(admin, { resource_type: 'tag', query: 'sortera' }), [
		'sortera Alfa',
		'Sortera beta',
		'Sortera zeta',
		'Sortera ärlig',
		'Sortera Åska',
	]);
	assert.deepEqual(await names(admin, { resource_type: 'tag', query: 'sortera', count: 1 }), ['sortera Alfa']);
	assert.deepEqual(await names(admin, { resource_type: 'tag', query: 'sortera', count: 2 }), [
		'sortera Alfa',
		'Sortera beta',
	]);
});

test('task_counts without opt_fields is empty', async () => {
	const res = await admin.get(`/projects/${publicProject.gid}/task_counts`);
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data, {});
	assertMatchesSpec('GET', `/projects/${publicProject.gid}/task_counts`, res);
});

test('task_counts counts tasks and milestones', async () => {
	const project = await create(admin, '/projects', { name: 'Räkna', team: teamGid });
	const open = await create(admin, '/tasks', { name: 'Öppen', projects: [project.gid] });
	await create(admin, '/tasks', { name: 'Klar', projects: [project.gid], completed: true });
	await create(admin, '/tasks', { name: 'Milstolpe', projects: [project.gid], resource_subtype: 'milestone' });
	await create(admin, '/tasks', {
		name: 'Klar milstolpe',
		projects: [project.gid],
		resource_subtype: 'milestone',
		completed: true,
	});
	// A subtask counts only once it is in the project itself.
	const sub = await create(admin, `/tasks/${open.gid}/subtasks`, { name: 'Deluppgift' });
	const fields = [
		'num_tasks',
		'num_incomplete_tasks',
		'num_completed_tasks',
		'num_milestones',
		'num_incomplete_milestones',
		'num_completed_milestones',
	];
	let res = await admin.get(`/projects/${project.gid}/task_counts`, { opt_fields: fields });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', `/projects/${project.gid}/task_counts`, res);
	assert.deepEqual(res.body.data, {
		num_tasks: 4,
		num_incomplete_tasks: 2,
		num_completed_tasks: 2,
		num_milestones: 2,
		num_incomplete_milestones: 1,
		num_completed_milestones: 1,
	});

	const added = await admin.post(`/tasks/${sub.gid}/addProject`, { project: project.gid });
	assert.equal(added.status, 200, added.text);
	res = await member.client.get(`/projects/${project.gid}/task_counts`, { opt_fields: 'num_tasks,num_milestones' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data, { num_tasks: 5, num_milestones: 2 });
});

test('task_counts rejects hidden projects and bad fields', async () => {
	let res = await member.client.get(`/projects/${privateProject.gid}/task_counts`, { opt_fields: 'num_tasks' });
	assert.equal(res.status, 404, res.text);
	res = await admin.get(`/projects/${privateProject.gid}/task_counts`, { opt_fields: 'num_tasks' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data, { num_tasks: 1 });
	res = await admin.get(`/projects/${publicProject.gid}/task_counts`, { opt_fields: 'num_subtasks' });
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /opt_fields: "num_subtasks"/);
	res = await admin.get('/projects/123456789/task_counts');
	assert.equal(res.status, 404, res.text);
});
