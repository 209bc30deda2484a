'use strict';
// Projects, their members and followers, and project memberships: create,
// read, update and delete with spec validation, visibility by privacy
// setting, the archived filter, keyset pagination, and rejected input.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { startServer, api, binaryPath } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');
const { UNSAFE_RICH_TEXT } = require('./lib/richtext');

let server;
let admin; // api client of the super admin, who creates the team and is a member of it
let teamGid;
let member; // {gid, token, client}: an organization member outside the team
let teamMember; // a member of the team
let guest;

// Run the kontor binary against the test server's database; resolves with
// the last line of output. The server's commands share a token-hash key file
// beside its log, so tokens made here are valid there.
function kontor(args, extraEnv = {}) {
	const env = { ...process.env, KONTOR_PEPPER_FILE: path.join(path.dirname(server.logPath), 'kontor.pepper'), ...extraEnv };
	return new Promise((resolve, reject) => {
		execFile(binaryPath(), args, { env, timeout: 30000 }, (err, stdout, stderr) => {
			if (err) {
				reject(new Error(`kontor ${args.join(' ')} failed: ${stderr}${stdout}`));
				return;
			}
			const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
			resolve(lines[lines.length - 1]);
		});
	});
}

async function addUser(email, name, role = 'member') {
	const user = await server.addUser({ email, name, role });
	return { ...user, client: api(server, user.token) };
}

async function createProject(client, data, path = '/projects') {
	const res = await client.post(path, { team: teamGid, ...data });
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

function gids(list) {
	return list.map((item) => item.gid);
}

before(async () => {
	server = await startServer();
	admin = api(server, server.adminToken);

	const team = await admin.post('/teams', { name: 'Platform', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	teamGid = team.body.data.gid;

	member = await addUser('member@example.test', 'Mia Member');
	teamMember = await addUser('teamie@example.test', 'Tom Team');
	guest = await addUser('guest@example.test', 'Gus Guest', 'guest');
	const added = await admin.post(`/teams/${teamGid}/addUser`, { user: teamMember.gid });
	assert.equal(added.status, 200, added.text);
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('create project returns full record', async () => {
	const res = await admin.post('/projects', {
		name: 'Launch',
		team: teamGid,
		notes: 'Plans for <May> & June',
		color: 'dark-green',
		due_on: '2030-06-30',
		start_on: '2030-06-01',
	});
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/projects', res);
	const p = res.body.data;
	assert.match(p.gid, /^\d+$/);
	assert.equal(res.headers.location, `/api/1.0/projects/${p.gid}`);
	assert.equal(p.resource_type, 'project');
	assert.equal(p.name, 'Launch');
	assert.equal(p.notes, 'Plans for <May> & June');
	assert.equal(p.html_notes, '<body>Plans for &lt;May&gt; &amp; June</body>');
	assert.equal(p.color, 'dark-green');
	assert.equal(p.due_on, '2030-06-30');
	assert.equal(p.due_date, '2030-06-30');
	assert.equal(p.start_on, '2030-06-01');
	assert.equal(p.archived, false);
	assert.equal(p.completed, false);
	assert.equal(p.default_view, 'list');
	assert.equal(p.privacy_setting, 'public_to_workspace');
	assert.equal(p.public, true);
	assert.equal(p.team.gid, teamGid);
	assert.equal(p.workspace.gid, server.orgGid);
	assert.deepEqual(p.custom_fields, []);
	assert.deepEqual(p.custom_field_settings, []);
	assert.equal(p.current_status, null);
	assert.equal(typeof p.permalink_url, 'string');
	assert.ok(p.owner, 'owner is set');
	assert.equal(p.owner.resource_type, 'user');
	assert.deepEqual(gids(p.members), [p.owner.gid]);
	assert.deepEqual(gids(p.followers), [p.owner.gid]);
});

test('get project matches spec', async () => {
	const p = await createProject(admin, { name: 'Readable' });
	const res = await admin.get(`/projects/${p.gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', `/projects/${p.gid}`, res);
	assert.equal(res.body.data.name, 'Readable');
	assert.equal(res.body.data.members.length, 1);
});

test('get project with opt_fields', async () => {
	const p = await createProject(admin, { name: 'Shaped' });
	const res = await admin.get(`/projects/${p.gid}`, { opt_fields: 'name,owner.name,team.name' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(Object.keys(res.body.data).sort(), ['gid', 'name', 'owner', 'resource_type', 'team']);
	assert.equal(res.body.data.team.name, 'Platform');
	assert.equal(typeof res.body.data.owner.name, 'string');
});

test('update project fields', async () => {
	const p = await createProject(admin, { name: 'Before' });
	const res = await admin.put(`/projects/${p.gid}`, {
		name: 'After',
		html_notes: '<body>Use <strong>bold</strong> &amp; care</body>',
		color: null,
		default_view: 'board',
		archived: true,
		privacy_setting: 'private_to_team',
	});
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('PUT', `/projects/${p.gid}`, res);
	const u = res.body.data;
	assert.equal(u.name, 'After');
	assert.equal(u.notes, 'Use bold & care');
	assert.equal(u.html_notes, '<body>Use <strong>bold</strong> &amp; care</body>');
	assert.equal(u.color, null);
	assert.equal(u.default_view, 'board');
	assert.equal(u.archived, true);
	assert.equal(u.privacy_setting, 'private_to_team');
	assert.equal(u.public, false);
	assert.ok(u.modified_at >= p.modified_at);
	assert.equal(u.created_at, p.created_at);
});

test('update keeps unsent fields', async () => {
	const p = await createProject(admin, { name: 'Keep', notes: 'stay', due_on: '2031-01-01' });
	const res = await admin.put(`/projects/${p.gid}`, { color: 'light-blue' });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.name, 'Keep');
	assert.equal(res.body.data.notes, 'stay');
	assert.equal(res.body.data.due_on, '2031-01-01');
	assert.equal(res.body.data.color, 'light-blue');
});

test('update changes owner', async () => {
	const p = await createProject(admin, { name: 'Handover' });
	const res = await admin.put(`/projects/${p.gid}`, { owner: teamMember.email });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.owner.gid, teamMember.gid);
	assert.ok(gids(res.body.data.members).includes(teamMember.gid));

	// As owner, the new owner may now edit it.
	const edit = await teamMember.client.put(`/projects/${p.gid}`, { name: 'Handed over' });
	assert.equal(edit.status, 200, edit.text);
});

test('legacy public flag sets privacy', async () => {
	const p = await createProject(admin, { name: 'Legacy', public: false });
	assert.equal(p.privacy_setting, 'private_to_team');
	assert.equal(p.public, false);
});

test('create rejects bad input', async () => {
	const cases = [
		[{ name: 'X', team: teamGid, colour: 'red' }, 400, /colour/],
		[{ name: 'X', team: teamGid, privacy_setting: 'secret' }, 400, /privacy_setting/],
		[{ name: 'x'.repeat(1025), team: teamGid }, 400, /name/],
		[{ name: '', team: teamGid }, 400, /name/],
		[{ team: teamGid }, 400, /name/],
		[{ name: 'No team' }, 400, /team/],
		[{ name: 'X', team: '123456789' }, 404, /team/],
		[{ name: 'X', team: 'abc' }, 400, /team/],
		[{ name: 'X', team: teamGid, workspace: '987654321' }, 404, /workspace/],
		[{ name: 'X', team: teamGid, start_on: '2030-01-01' }, 400, /start_on/],
		[{ name: 'X', team: teamGid, start_on: '2030-02-01', due_on: '2030-01-01' }, 400, /start_on/],
		[{ name: 'X', team: teamGid, due_on: '2030-02-30' }, 400, /due_on/],
		[{ name: 'X', team: teamGid, public: true, privacy_setting: 'private' }, 400, /public/],
		[{ name: 'X', team: teamGid, notes: 'a', html_notes: '<body>a</body>' }, 400, /notes/],
		[{ name: 'X', team: teamGid, html_notes: 'plain' }, 400, /html_notes/],
		[{ name: 'X', team: teamGid, default_access_level: 'viewer' }, 400, /default_access_level/],
		[{ name: 'X', team: teamGid, custom_fields: { 1: 'a' } }, 400, /custom_fields/],
		[{ name: 'X', team: teamGid, followers: 'nobody@example.test' }, 404, /followers/],
		[{ name: 'X', team: teamGid, gid: '1' }, 400, /gid/],
	];
	for (const [data, status, message] of cases) {
		const res = await admin.post('/projects', data);
		assert.equal(res.status, status, `${JSON.stringify(data).slice(0, 120)}: ${res.text}`);
		assert.match(res.body.errors[0].message, message, JSON.stringify(data).slice(0, 120));
		assertMatchesSpec('POST', '/projects', res);
	}
});

test('html_notes rejects unsafe markup', async () => {
	const p = await createProject(admin, { name: 'Safe notes', html_notes: '<body>Kept</body>' });
	for (const [html, message] of UNSAFE_RICH_TEXT) {
		const created = await admin.post('/projects', { name: 'X', team: teamGid, html_notes: html });
		assert.equal(created.status, 400, `POST ${html}: ${created.text}`);
		assertMatchesSpec('POST', '/projects', created);
		assert.match(created.body.errors[0].message, /^html_notes: /, html);
		assert.match(created.body.errors[0].message, message, html);

		const updated = await admin.put(`/projects/${p.gid}`, { html_notes: html });
		assert.equal(updated.status, 400, `PUT ${html}: ${updated.text}`);
		assert.match(updated.body.errors[0].message, message, html);
	}
	const read = await admin.get(`/projects/${p.gid}`, { opt_fields: 'html_notes,notes' });
	assert.equal(read.body.data.html_notes, '<body>Kept</body>');
	assert.equal(read.body.data.notes, 'Kept');

	const headed = await admin.put(`/projects/${p.gid}`, { html_notes: '<body><h2>Goal</h2>Ship <em>it</em></body>' });
	assert.equal(headed.status, 200, headed.text);
	assert.equal(headed.body.data.notes, 'Goal\nShip it');
});

test('update rejects create-only fields', async () => {
	const p = await createProject(admin, { name: 'Fixed' });
	for (const data of [{ workspace: server.orgGid }, { followers: 'me' }, { name: '' }, { archived: 'yes' }]) {
		const res = await admin.put(`/projects/${p.gid}`, data);
		assert.equal(res.status, 400, `${JSON.stringify(data)}: ${res.text}`);
	}
});

test('create needs team membership', async () => {
	const res = await member.client.post('/projects', { name: 'Outsider', team: teamGid });
	assert.equal(res.status, 403, res.text);
	const inside = await teamMember.client.post('/projects', { name: 'Insider', team: teamGid });
	assert.equal(inside.status, 201, inside.text);
	assert.equal(inside.body.data.owner.gid, teamMember.gid);
});

test('create with followers', async () => {
	const p = await createProject(admin, { name: 'Watched', followers: `${member.email}, ${teamMember.gid}` });
	assert.deepEqual(new Set(gids(p.followers)), new Set([p.owner.gid, member.gid, teamMember.gid]));
	assert.deepEqual(new Set(gids(p.members)), new Set([p.owner.gid, member.gid, teamMember.gid]));
});

test('team and workspace routes', async () => {
	const viaTeam = await admin.post(`/teams/${teamGid}/projects`, { name: 'Via team' });
	assert.equal(viaTeam.status, 201, viaTeam.text);
	assertMatchesSpec('POST', `/teams/${teamGid}/projects`, viaTeam);
	assert.equal(viaTeam.body.data.team.gid, teamGid);

	const viaWorkspace = await admin.post(`/workspaces/${server.orgGid}/projects`, { name: 'Via ws', team: teamGid });
	assert.equal(viaWorkspace.status, 201, viaWorkspace.text);
	assertMatchesSpec('POST', `/workspaces/${server.orgGid}/projects`, viaWorkspace);

	const mismatch = await admin.post(`/teams/${teamGid}/projects`, { name: 'Other', team: '123456789' });
	assert.equal(mismatch.status, 400, mismatch.text);

	const wrongWorkspace = await admin.get('/workspaces/123456789/projects');
	assert.equal(wrongWorkspace.status, 404, wrongWorkspace.text);

	const teamList = await admin.get(`/teams/${teamGid}/projects`, { limit: 100 });
	assert.equal(teamList.status, 200, teamList.text);
	assertMatchesSpec('GET', `/teams/${teamGid}/projects`, teamList);
	assert.ok(gids(teamList.body.data).includes(viaTeam.body.data.gid));

	const wsList = await admin.get(`/workspaces/${server.orgGid}/projects`, { limit: 100 });
	assert.equal(wsList.status, 200, wsList.text);
	assertMatchesSpec('GET', `/workspaces/${server.orgGid}/projects`, wsList);
	assert.ok(gids(wsList.body.data).includes(viaWorkspace.body.data.gid));
	assert.deepEqual(Object.keys(wsList.body.data[0]).sort(), ['gid', 'name', 'resource_type']);
});

test('private project hidden from non-members', async () => {
	const p = await createProject(admin, { name: 'Secret plan', privacy_setting: 'private' });

	for (const user of [member, teamMember, guest]) {
		const res = await user.client.get(`/projects/${p.gid}`);
		assert.equal(res.status, 404, `${user.email}: ${res.text}`);
		assertMatchesSpec('GET', `/projects/${p.gid}`, res);
		const list = await user.client.get('/projects', { limit: 100 });
		assert.equal(list.status, 200, list.text);
		assert.ok(!gids(list.body.data).includes(p.gid), `${user.email} lists the private project`);
		const edit = await user.client.put(`/projects/${p.gid}`, { name: 'Taken' });
		assert.equal(edit.status, 404, edit.text);
	}

	const add = await admin.post(`/projects/${p.gid}/addMembers`, { members: [member.gid] });
	assert.equal(add.status, 200, add.text);
	assertMatchesSpec('POST', `/projects/${p.gid}/addMembers`, add);
	assert.ok(gids(add.body.data.members).includes(member.gid));

	const seen = await member.client.get(`/projects/${p.gid}`);
	assert.equal(seen.status, 200, seen.text);
	const listed = await member.client.get('/projects', { limit: 100 });
	assert.ok(gids(listed.body.data).includes(p.gid));
	// Added members are editors.
	const edit = await member.client.put(`/projects/${p.gid}`, { notes: 'joined' });
	assert.equal(edit.status, 200, edit.text);

	const remove = await admin.post(`/projects/${p.gid}/removeMembers`, { members: member.email });
	assert.equal(remove.status, 200, remove.text);
	assert.ok(!gids(remove.body.data.members).includes(member.gid));
	const gone = await member.client.get(`/projects/${p.gid}`);
	assert.equal(gone.status, 404, gone.text);
});

test('projects of a task, visible ones only', async () => {
	const open = await createProject(admin, { name: 'Open roadmap', privacy_setting: 'public_to_workspace' });
	const secret = await createProject(admin, { name: 'Hidden roadmap', privacy_setting: 'private' });
	const task = await admin.post('/tasks', { name: 'Shared step', projects: [open.gid, secret.gid] });
	assert.equal(task.status, 201, task.text);
	const taskGid = task.body.data.gid;

	const all = await admin.get(`/tasks/${taskGid}/projects`);
	assert.equal(all.status, 200, all.text);
	assertMatchesSpec('GET', `/tasks/${taskGid}/projects`, all);
	assert.deepEqual(gids(all.body.data), [open.gid, secret.gid].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)));
	assert.deepEqual(Object.keys(all.body.data[0]).sort(), ['gid', 'name', 'resource_type']);

	// One at a time, by keyset offsets.
	const first = await admin.get(`/tasks/${taskGid}/projects`, { limit: 1 });
	assert.equal(first.body.data.length, 1);
	assert.ok(first.body.next_page, first.text);
	assert.ok(first.body.next_page.offset, first.text);
	const second = await admin.get(`/tasks/${taskGid}/projects`, { limit: 1, offset: first.body.next_page.offset });
	assert.equal(second.status, 200, second.text);
	assert.deepEqual(gids([...first.body.data, ...second.body.data]), gids(all.body.data));
	assert.equal(second.body.next_page, null);

	// A member sees the task through the public project, but not the private one.
	const seen = await member.client.get(`/tasks/${taskGid}/projects`, { opt_fields: 'name,privacy_setting' });
	assert.equal(seen.status, 200, seen.text);
	assert.deepEqual(gids(seen.body.data), [open.gid]);
	assert.equal(seen.body.data[0].privacy_setting, 'public_to_workspace');

	// A task the caller cannot see is 404, as is a malformed gid.
	const hidden = await admin.post('/tasks', { name: 'Hidden step', projects: [secret.gid] });
	assert.equal(hidden.status, 201, hidden.text);
	const denied = await member.client.get(`/tasks/${hidden.body.data.gid}/projects`);
	assert.equal(denied.status, 404, denied.text);
	assert.equal((await admin.get('/tasks/12x/projects')).status, 400);
});

test('private_to_team visible to team', async () => {
	const p = await createProject(admin, { name: 'Team only', privacy_setting: 'private_to_team' });
	const inTeam = await teamMember.client.get(`/projects/${p.gid}`);
	assert.equal(inTeam.status, 200, inTeam.text);
	const outside = await member.client.get(`/projects/${p.gid}`);
	assert.equal(outside.status, 404, outside.text);
});

test('public project read-only to non-members', async () => {
	const p = await createProject(admin, { name: 'Open house' });
	const read = await member.client.get(`/projects/${p.gid}`);
	assert.equal(read.status, 200, read.text);
	const edit = await member.client.put(`/projects/${p.gid}`, { name: 'Mine now' });
	assert.equal(edit.status, 403, edit.text);
	assertMatchesSpec('PUT', `/projects/${p.gid}`, edit);
	const del = await member.client.del(`/projects/${p.gid}`);
	assert.equal(del.status, 403, del.text);

	const hidden = await guest.client.get(`/projects/${p.gid}`);
	assert.equal(hidden.status, 404, hidden.text);
});

test('archived filter', async () => {
	const live = await createProject(admin, { name: 'Live' });
	const old = await createProject(admin, { name: 'Old', archived: true });

	const archived = await admin.get('/projects', { archived: true, limit: 100 });
	assert.equal(archived.status, 200, archived.text);
	assertMatchesSpec('GET', '/projects', archived);
	assert.ok(gids(archived.body.data).includes(old.gid));
	assert.ok(!gids(archived.body.data).includes(live.gid));

	const active = await admin.get(`/teams/${teamGid}/projects`, { archived: false, limit: 100 });
	assert.ok(gids(active.body.data).includes(live.gid));
	assert.ok(!gids(active.body.data).includes(old.gid));

	const bad = await admin.get('/projects', { archived: 'maybe' });
	assert.equal(bad.status, 400, bad.text);
});

test('pagination walks all projects', async () => {
	const team = await admin.post('/teams', { name: 'Paging', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	const created = [];
	for (let i = 0; i < 7; i++) {
		const p = await createProject(admin, { name: `Page ${i}`, team: team.body.data.gid });
		created.push(p.gid);
	}

	const seen = [];
	let offset;
	let pages = 0;
	do {
		const res = await admin.get(`/teams/${team.body.data.gid}/projects`, { limit: 3, offset });
		assert.equal(res.status, 200, res.text);
		assertMatchesSpec('GET', `/teams/${team.body.data.gid}/projects`, res);
		assert.ok(res.body.data.length <= 3);
		seen.push(...gids(res.body.data));
		offset = res.body.next_page ? res.body.next_page.offset : undefined;
		if (offset) {
			assert.equal(typeof res.body.next_page.path, 'string');
		}
		pages++;
	} while (offset && pages < 10);

	assert.equal(pages, 3);
	assert.deepEqual(seen, created);

	const forged = await admin.get(`/teams/${team.body.data.gid}/projects`, { limit: 3, offset: 'abc' });
	assert.equal(forged.status, 400, forged.text);
});

test('projects filter by team', async () => {
	const res = await admin.get('/projects', { team: teamGid, workspace: server.orgGid, limit: 100 });
	assert.equal(res.status, 200, res.text);
	assert.ok(res.body.data.length > 0);
	const unknownTeam = await admin.get('/projects', { team: '123456789' });
	assert.equal(unknownTeam.status, 404, unknownTeam.text);
	const otherWorkspace = await admin.get('/projects', { workspace: '123456789' });
	assert.equal(otherWorkspace.status, 404, otherWorkspace.text);
});

test('followers add and remove', async () => {
	const p = await createProject(admin, { name: 'Follow me' });
	const add = await admin.post(`/projects/${p.gid}/addFollowers`, { followers: `${member.gid}` });
	assert.equal(add.status, 200, add.text);
	assertMatchesSpec('POST', `/projects/${p.gid}/addFollowers`, add);
	assert.ok(gids(add.body.data.followers).includes(member.gid));
	assert.ok(gids(add.body.data.members).includes(member.gid));

	const remove = await admin.post(`/projects/${p.gid}/removeFollowers`, { followers: [member.email] });
	assert.equal(remove.status, 200, remove.text);
	assertMatchesSpec('POST', `/projects/${p.gid}/removeFollowers`, remove);
	assert.ok(!gids(remove.body.data.followers).includes(member.gid));
	assert.ok(gids(remove.body.data.members).includes(member.gid), 'removing a follower keeps the member');

	const empty = await admin.post(`/projects/${p.gid}/addFollowers`, { followers: '' });
	assert.equal(empty.status, 400, empty.text);
	const missing = await admin.post(`/projects/${p.gid}/addMembers`, {});
	assert.equal(missing.status, 400, missing.text);
	const unknown = await admin.post(`/projects/${p.gid}/addMembers`, { members: ['123456789'] });
	assert.equal(unknown.status, 404, unknown.text);
});

test('non-editor may only remove self', async () => {
	const p = await createProject(admin, { name: 'Self service' });
	const add = await member.client.post(`/projects/${p.gid}/addMembers`, { members: 'me' });
	assert.equal(add.status, 403, add.text);

	await admin.post(`/projects/${p.gid}/addFollowers`, { followers: member.gid });
	const leave = await member.client.post(`/projects/${p.gid}/removeFollowers`, { followers: 'me' });
	assert.equal(leave.status, 200, leave.text);
	const kick = await member.client.post(`/projects/${p.gid}/removeMembers`, { members: teamMember.gid });
	assert.equal(kick.status, 200, kick.text); // member is still an editor from addFollowers
});

test('project memberships list and get', async () => {
	const p = await createProject(admin, { name: 'Crew' });
	await admin.post(`/projects/${p.gid}/addMembers`, { members: [member.gid, teamMember.gid] });

	const list = await admin.get(`/projects/${p.gid}/project_memberships`);
	assert.equal(list.status, 200, list.text);
	assertMatchesSpec('GET', `/projects/${p.gid}/project_memberships`, list);
	assert.equal(list.body.data.length, 3);
	for (const m of list.body.data) {
		assert.equal(m.resource_type, 'project_membership');
		assert.equal(m.parent.gid, p.gid);
		assert.ok(['admin', 'editor'].includes(m.access_level));
	}

	const paged = await admin.get(`/projects/${p.gid}/project_memberships`, { limit: 2 });
	assert.equal(paged.body.data.length, 2);
	assert.ok(paged.body.next_page);
	const rest = await admin.get(`/projects/${p.gid}/project_memberships`, { limit: 2, offset: paged.body.next_page.offset });
	assert.equal(rest.body.data.length, 1);
	assert.equal(rest.body.next_page, null);

	const filtered = await admin.get(`/projects/${p.gid}/project_memberships`, { user: member.email });
	assert.equal(filtered.status, 200, filtered.text);
	assert.equal(filtered.body.data.length, 1);
	assert.equal(filtered.body.data[0].member.gid, member.gid);
	assert.equal(filtered.body.data[0].access_level, 'editor');

	const one = await admin.get(`/project_memberships/${filtered.body.data[0].gid}`);
	assert.equal(one.status, 200, one.text);
	assertMatchesSpec('GET', `/project_memberships/${filtered.body.data[0].gid}`, one);
	assert.equal(one.body.data.user.gid, member.gid);
	assert.equal(one.body.data.project.gid, p.gid);
	assert.equal(one.body.data.write_access, 'full_write');

	const missing = await admin.get('/project_memberships/123456789');
	assert.equal(missing.status, 404, missing.text);
});

test('memberships of private project hidden', async () => {
	const p = await createProject(admin, { name: 'Closed', privacy_setting: 'private' });
	const list = await member.client.get(`/projects/${p.gid}/project_memberships`);
	assert.equal(list.status, 404, list.text);
	const own = await admin.get(`/projects/${p.gid}/project_memberships`);
	const res = await member.client.get(`/project_memberships/${own.body.data[0].gid}`);
	assert.equal(res.status, 404, res.text);
});

test('delete project', async () => {
	const p = await createProject(admin, { name: 'Doomed', followers: member.gid });
	const editor = await member.client.del(`/projects/${p.gid}`);
	assert.equal(editor.status, 403, editor.text);

	const res = await admin.del(`/projects/${p.gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('DELETE', `/projects/${p.gid}`, res);
	assert.deepEqual(res.body.data, {});
	const gone = await admin.get(`/projects/${p.gid}`);
	assert.equal(gone.status, 404, gone.text);
	const sections = await admin.get(`/projects/${p.gid}/sections`);
	assert.equal(sections.status, 404, sections.text);
	const again = await admin.del(`/projects/${p.gid}`);
	assert.equal(again.status, 404, again.text);
});

test('other organization sees nothing', async () => {
	const p = await createProject(admin, { name: 'Ours' });
	await kontor(['init', '--db', server.db, '--org', 'Other Org', '--plan', 'enterprise', '--admin-email', 'boss@other.test'], {
		KONTOR_ADMIN_PASSWORD: 'other-org-password-1',
	});
	const token = await kontor(['token', 'create', '--db', server.db, '--email', 'boss@other.test', '--name', 'api test']);
	const other = api(server, token);

	const read = await other.get(`/projects/${p.gid}`);
	assert.equal(read.status, 404, read.text);
	const edit = await other.put(`/projects/${p.gid}`, { name: 'Theirs' });
	assert.equal(edit.status, 404, edit.text);
	const foreignTeam = await other.post('/projects', { name: 'Sneaky', team: teamGid });
	assert.equal(foreignTeam.status, 404, foreignTeam.text);
	const list = await other.get(`/teams/${teamGid}/projects`);
	assert.equal(list.status, 404, list.text);
	const members = await other.post(`/projects/${p.gid}/addMembers`, { members: 'me' });
	assert.equal(members.status, 404, members.text);
});

test('removed person cannot join project', async () => {
	const leaver = await addUser('project-leaver@example.test', 'Lea Leaver');
	const p = await createProject(admin, { name: 'Handover plan' });
	const removed = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: leaver.gid });
	assert.equal(removed.status, 200, removed.text);

	for (const [path, field] of [['addMembers', 'members'], ['addFollowers', 'followers']]) {
		const res = await admin.post(`/projects/${p.gid}/${path}`, { [field]: leaver.gid });
		assert.equal(res.status, 400, `${path}: ${res.text}`);
		assert.match(res.body.errors[0].message, new RegExp(`^${field}: user \\d+ is not an active member`));
	}
	const created = await admin.post('/projects', { team: teamGid, name: 'Followed plan', followers: leaver.gid });
	assert.equal(created.status, 400, created.text);

	const owned = await admin.post('/projects', { team: teamGid, name: 'Owned plan', owner: leaver.gid });
	assert.equal(owned.status, 400, owned.text);
	assert.match(owned.body.errors[0].message, /^owner: user \d+ is not an active member/);
	const handedOver = await admin.put(`/projects/${p.gid}`, { owner: leaver.gid });
	assert.equal(handedOver.status, 400, handedOver.text);
	assert.match(handedOver.body.errors[0].message, /^owner: user \d+ is not an active member/);
	const after = await admin.get(`/projects/${p.gid}`);
	assert.notEqual(after.body.data.owner && after.body.data.owner.gid, leaver.gid);
	const members = await admin.get(`/projects/${p.gid}/project_memberships`);
	assert.equal(members.status, 200, members.text);
	assert.ok(!members.body.data.some((m) => m.user && m.user.gid === leaver.gid), members.text);
	const dropped = await admin.post(`/projects/${p.gid}/removeMembers`, { members: leaver.gid });
	assert.equal(dropped.status, 200, dropped.text);
});
