'use strict';
// Status updates on projects: create, read, list by parent (newest first,
// pagination, created_since), delete, body checks, who may do what, the
// cascade when the project is deleted, and the official client's calls.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');
const { Asana, asanaClient, allPages } = require('./lib/asana');

const FULL_KEYS = [
	'author', 'created_at', 'created_by', 'gid', 'hearted', 'hearts', 'liked', 'likes', 'modified_at',
	'num_hearts', 'num_likes', 'parent', 'reaction_summary', 'resource_subtype', 'resource_type', 'status_type',
	'text', 'title',
];

let server;
let admin; // api() of the super admin, who owns the projects below
let editor; // {gid, client}: an editor member of `project`
let reader; // {gid, client}: a member of the organization, not of `project`
let guest; // {gid, client}: a guest with no access to `project`
let accounts; // {full, read}: api() of service accounts
let team;
let project; // a public project owned by the super admin
let privateProject; // a private project the editor cannot see
let other; // api() of the super admin of a second organization

async function createProject(name, extra = {}) {
	const res = await admin.post('/projects', { name, workspace: server.orgGid, team: team.gid, ...extra });
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

async function postUpdate(client, data) {
	return client.post('/status_updates', { status_type: 'on_track', text: 'Going fine.', ...data });
}

before(async () => {
	server = await startServer({ org: 'Status Org' });
	admin = api(server, server.adminToken);

	const people = {};
	for (const [name, role] of [['editor', 'member'], ['reader', 'member'], ['guest', 'guest']]) {
		const user = await server.addUser({ email: `${name}@status.test`, name: `The ${name}`, role });
		people[name] = { gid: user.gid, client: api(server, user.token) };
	}
	({ editor, reader, guest } = people);

	accounts = {};
	for (const permissions of ['full', 'read']) {
		const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, {
			name: `${permissions} bot`,
			permissions: permissions === 'full' ? 'full' : ['read'],
		});
		assert.equal(res.status, 201, res.text);
		accounts[permissions] = api(server, res.body.data.token);
	}

	let res = await admin.post('/teams', { name: 'Status Team', organization: server.orgGid });
	assert.equal(res.status, 201, res.text);
	team = res.body.data;
	res = await admin.post(`/teams/${team.gid}/addUser`, { user: editor.gid });
	assert.equal(res.status, 200, res.text);

	project = await createProject('Roadmap');
	res = await admin.post(`/projects/${project.gid}/addMembers`, { members: [editor.gid] });
	assert.equal(res.status, 200, res.text);
	privateProject = await createProject('Secret plan', { privacy_setting: 'private' });

	const orgGid = await server.cli(['init', '--db', server.db, '--org', 'Other Org', '--plan', 'enterprise',
		'--admin-email', 'boss@other-status.test'], { KONTOR_ADMIN_PASSWORD: 'other-org-password-1' });
	assert.match(orgGid, /^\d+$/);
	const token = await server.cli(['token', 'create', '--db', server.db, '--email', 'boss@other-status.test', '--name', 'api test']);
	other = api(server, token);
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('status update create returns full record', async () => {
	const before = (await admin.get(`/projects/${project.gid}`, { opt_fields: 'modified_at' })).body.data.modified_at;
	const res = await postUpdate(admin, { parent: project.gid, title: 'Week 1', text: 'All on plan.\nNext: beta.', status_type: 'at_risk' });
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/status_updates', res);

	const update = res.body.data;
	assert.deepEqual(Object.keys(update).sort(), FULL_KEYS);
	assert.equal(update.resource_type, 'status_update');
	assert.equal(update.resource_subtype, 'project_status_update');
	assert.equal(update.title, 'Week 1');
	assert.equal(update.text, 'All on plan.\nNext: beta.');
	assert.equal(update.status_type, 'at_risk');
	assert.equal(update.parent.gid, project.gid);
	assert.equal(update.parent.resource_type, 'project');
	assert.equal(update.parent.name, 'Roadmap');
	const me = (await admin.get('/users/me')).body.data;
	assert.equal(update.author.gid, me.gid);
	assert.equal(update.author.name, me.name);
	assert.equal(update.created_by.gid, update.author.gid);
	assert.deepEqual(update.likes, []);
	assert.equal(update.num_likes, 0);
	assert.equal(res.headers.location, `/api/1.0/status_updates/${update.gid}`);

	const after = (await admin.get(`/projects/${project.gid}`, { opt_fields: 'modified_at' })).body.data.modified_at;
	assert.equal(after, before, 'posting a status update changed the project modified_at');
});

test('status update get and html_text opt-in', async () => {
	const created = (await postUpdate(admin, { parent: project.gid, title: 'Rich', text: undefined, html_text: '<body>Ship <strong>now</strong></body>' })).body.data;
	assert.equal(created.text, 'Ship now');

	let res = await admin.get(`/status_updates/${created.gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/status_updates/{status_update_gid}', res);
	assert.equal(res.body.data.html_text, undefined);

	res = await admin.get(`/status_updates/${created.gid}`, { opt_fields: 'html_text,parent.name,author.name' });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.html_text, '<body>Ship <strong>now</strong></body>');
	assert.equal(res.body.data.parent.name, 'Roadmap');
	assert.deepEqual(Object.keys(res.body.data).sort(), ['author', 'gid', 'html_text', 'parent', 'resource_type']);

	const fromText = (await postUpdate(admin, { parent: project.gid, text: 'a < b & c' })).body.data;
	res = await admin.get(`/status_updates/${fromText.gid}`, { opt_fields: 'html_text' });
	assert.equal(res.body.data.html_text, '<body>a &lt; b &amp; c</body>');
});

test('status update body checks', async () => {
	const cases = [
		[{ parent: project.gid, text: 'x', status_type: 'on_track', color: 'red' }, /color/],
		[{ text: 'x', status_type: 'on_track' }, /parent/],
		[{ parent: project.gid, text: 'x' }, /status_type/],
		[{ parent: project.gid, text: 'x', status_type: 'achieved' }, /status_type/],
		[{ parent: project.gid, status_type: 'on_track' }, /text/],
		[{ parent: project.gid, text: '   ', status_type: 'on_track' }, /text/],
		[{ parent: project.gid, text: 'x', html_text: '<body>x</body>', status_type: 'on_track' }, /only one/],
		[{ parent: project.gid, html_text: '<body><script>x</script></body>', status_type: 'on_track' }, /html_text/],
		[{ parent: 'abc', text: 'x', status_type: 'on_track' }, /parent/],
	];
	for (const [data, message] of cases) {
		const res = await admin.post('/status_updates', data);
		assert.equal(res.status, 400, `${JSON.stringify(data)}: ${res.text}`);
		assert.match(res.body.errors[0].message, message, JSON.stringify(data));
	}
});

test('status update list newest first with paging', async () => {
	const listed = await createProject('Paged');
	const gids = [];
	for (let i = 0; i < 5; i++) {
		gids.push((await postUpdate(admin, { parent: listed.gid, title: `Update ${i}` })).body.data.gid);
	}

	let res = await admin.get('/status_updates', { parent: listed.gid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/status_updates', res);
	assert.deepEqual(res.body.data.map((u) => u.gid), [...gids].reverse());
	assert.deepEqual(Object.keys(res.body.data[0]).sort(), ['gid', 'resource_subtype', 'resource_type', 'title']);

	const seen = [];
	let offset;
	do {
		res = await admin.get('/status_updates', { parent: listed.gid, limit: 2, offset });
		assert.equal(res.status, 200, res.text);
		seen.push(...res.body.data.map((u) => u.gid));
		offset = res.body.next_page ? res.body.next_page.offset : undefined;
	} while (offset);
	assert.deepEqual(seen, [...gids].reverse());

	const third = (await admin.get(`/status_updates/${gids[3]}`)).body.data.created_at;
	res = await admin.get('/status_updates', { parent: listed.gid, created_since: third });
	assert.deepEqual(res.body.data.map((u) => u.gid), [gids[4], gids[3]]);
});

test('status update list parameter checks', async () => {
	let res = await admin.get('/status_updates');
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /parent/);
	res = await admin.get('/status_updates', { parent: project.gid, created_since: 'yesterday' });
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /created_since/);
	res = await admin.get('/status_updates', { parent: '999999999' });
	assert.equal(res.status, 404, res.text);
});

test('status update access by caller', async () => {
	const own = (await postUpdate(admin, { parent: project.gid, title: 'Visible' })).body.data;

	// Editors and full service accounts post; readers, read-only tokens and guests do not.
	let res = await postUpdate(editor.client, { parent: project.gid, title: 'By editor' });
	assert.equal(res.status, 201, res.text);
	res = await postUpdate(accounts.full, { parent: project.gid, title: 'By bot' });
	assert.equal(res.status, 201, res.text);
	res = await postUpdate(reader.client, { parent: project.gid });
	assert.equal(res.status, 403, res.text);
	res = await postUpdate(accounts.read, { parent: project.gid });
	assert.equal(res.status, 403, res.text);
	res = await postUpdate(guest.client, { parent: project.gid });
	assert.equal(res.status, 404, res.text);
	res = await postUpdate(editor.client, { parent: privateProject.gid });
	assert.equal(res.status, 404, res.text);

	// Callers who can see the project read its updates. Others get 404, and so does another organization.
	for (const client of [editor.client, reader.client, accounts.read]) {
		res = await client.get(`/status_updates/${own.gid}`);
		assert.equal(res.status, 200, res.text);
		res = await client.get('/status_updates', { parent: project.gid });
		assert.equal(res.status, 200, res.text);
		assert.ok(res.body.data.some((u) => u.gid === own.gid));
	}
	for (const client of [guest.client, other]) {
		res = await client.get(`/status_updates/${own.gid}`);
		assert.equal(res.status, 404, res.text);
		res = await client.get('/status_updates', { parent: project.gid });
		assert.equal(res.status, 404, res.text);
		res = await client.del(`/status_updates/${own.gid}`);
		assert.equal(res.status, 404, res.text);
	}
	const hidden = (await postUpdate(admin, { parent: privateProject.gid })).body.data;
	res = await editor.client.get(`/status_updates/${hidden.gid}`);
	assert.equal(res.status, 404, res.text);
});

test('status update delete by author or admin', async () => {
	const byEditor = (await postUpdate(editor.client, { parent: project.gid, title: 'Mine' })).body.data;
	const byAdmin = (await postUpdate(admin, { parent: project.gid, title: 'Owner' })).body.data;

	let res = await reader.client.del(`/status_updates/${byEditor.gid}`);
	assert.equal(res.status, 403, res.text);
	res = await editor.client.del(`/status_updates/${byAdmin.gid}`);
	assert.equal(res.status, 403, res.text);
	res = await accounts.read.del(`/status_updates/${byEditor.gid}`);
	assert.equal(res.status, 403, res.text);

	res = await editor.client.del(`/status_updates/${byEditor.gid}`);
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body, { data: {} });
	res = await admin.get(`/status_updates/${byEditor.gid}`);
	assert.equal(res.status, 404, res.text);

	// The project's owner deletes anyone's, and so does a full service account.
	const second = (await postUpdate(editor.client, { parent: project.gid })).body.data;
	res = await admin.del(`/status_updates/${second.gid}`);
	assert.equal(res.status, 200, res.text);
	res = await accounts.full.del(`/status_updates/${byAdmin.gid}`);
	assert.equal(res.status, 200, res.text);
	res = await accounts.full.del(`/status_updates/${byAdmin.gid}`);
	assert.equal(res.status, 404, res.text);
});

test('project delete removes its status updates', async () => {
	const doomed = await createProject('Doomed');
	const update = (await postUpdate(admin, { parent: doomed.gid })).body.data;
	let res = await admin.del(`/projects/${doomed.gid}`);
	assert.equal(res.status, 200, res.text);
	res = await admin.get(`/status_updates/${update.gid}`);
	assert.equal(res.status, 404, res.text);
});

test('asana client drives status updates', async () => {
	const client = asanaClient(server, server.adminToken);
	const updates = new Asana.StatusUpdatesApi(client);
	const target = await createProject('Client status');

	const created = await updates.createStatusForObject(
		{ data: { parent: target.gid, title: 'From client', text: 'Paused for now.', status_type: 'on_hold' } },
		{ opt_fields: 'title,status_type,parent.name' },
	);
	assert.equal(created.data.status_type, 'on_hold');
	assert.equal(created.data.parent.name, 'Client status');

	const read = await updates.getStatus(created.data.gid, {});
	assert.equal(read.data.text, 'Paused for now.');
	const listed = await allPages(updates.getStatusesForObject(target.gid, { limit: 10 }));
	assert.deepEqual(listed.map((u) => u.gid), [created.data.gid]);

	await updates.deleteStatus(created.data.gid);
	await assert.rejects(updates.getStatus(created.data.gid, {}), (err) => err.status === 404);
});
