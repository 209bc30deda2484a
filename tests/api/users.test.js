'use strict';
// Users: GET /users, /users/{user_gid}, /workspaces/{workspace_gid}/users,
// /workspaces/{workspace_gid}/users/{user_gid} and /teams/{team_gid}/users,
// against one server that contains two organizations.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { startServer, api, binaryPath } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');

const EXTRA_USERS = 7; // more than the page size used below, so that three pages are needed
const PAGE_LIMIT = 4;

let server;
let admin; // api() for the super admin
let member; // {gid, email, token}
let guest;
let other; // the second organization: {orgGid, adminGid, token}

function kontor(args, env = process.env) {
	const out = execFileSync(binaryPath(), args, { env, encoding: 'utf8' });
	const lines = out.trim().split('\n');
	return lines[lines.length - 1].trim();
}

// Follow next_page from `path` until the last page; returns every item and checks each page against the spec.
async function allPages(client, path, query, specPath) {
	const items = [];
	let offset;
	for (let pages = 0; pages < 50; pages++) {
		const res = await client.get(path, { ...query, offset });
		assert.equal(res.status, 200, res.text);
		assertMatchesSpec('GET', specPath, res);
		items.push(...res.body.data);
		if (!res.body.next_page) {
			return items;
		}
		offset = res.body.next_page.offset;
	}
	throw new Error(`${path}: more than 50 pages`);
}

before(async () => {
	server = await startServer({ org: 'Users Org' });
	admin = api(server, server.adminToken);
	member = await server.addUser({ email: 'member@example.test', name: 'Mia Member' });
	guest = await server.addUser({ email: 'guest@elsewhere.test', name: 'Gus Guest', role: 'guest' });
	for (let i = 0; i < EXTRA_USERS; i++) {
		await server.addUser({ email: `extra${i}@example.test`, name: `Extra ${i}` });
	}

	// A second organization in the same database, as a second `kontor init`
	// makes it. The harness keeps the token-hash key file beside the server log.
	const env = {
		...process.env,
		KONTOR_PEPPER_FILE: path.join(path.dirname(server.logPath), 'kontor.pepper'),
		KONTOR_ADMIN_PASSWORD: 'second-org-password',
	};
	const orgGid = kontor(['init', '--db', server.db, '--org', 'Other Org', '--plan', 'enterprise', '--admin-email', 'boss@other.test'], env);
	const token = kontor(['token', 'create', '--db', server.db, '--email', 'boss@other.test', '--name', 'api test'], env);
	const me = await api(server, token).get('/users/me');
	assert.equal(me.status, 200, me.text);
	other = { orgGid, adminGid: me.body.data.gid, token };
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('users/me full representation', async () => {
	const res = await admin.get('/users/me');
	assert.equal(res.status, 200, res.text);
	const user = res.body.data;
	assert.match(user.gid, /^\d+$/);
	assert.equal(user.resource_type, 'user');
	assert.equal(user.email, server.adminEmail);
	assert.equal(typeof user.name, 'string');
	assert.equal(user.photo, null);
	assert.deepEqual(user.workspaces, [{ gid: server.orgGid, resource_type: 'workspace', name: 'Users Org' }]);
	assert.deepEqual(user.custom_fields, []);
	assertMatchesSpec('GET', '/users/me', res);
});

test('users/me of a member', async () => {
	const res = await api(server, member.token).get('/users/me');
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.gid, member.gid);
	assert.equal(res.body.data.name, 'Mia Member');
	assert.equal(res.body.data.email, member.email);
});

test('user by gid', async () => {
	const res = await admin.get(`/users/${member.gid}`);
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.gid, member.gid);
	assert.equal(res.body.data.email, member.email);
	assertMatchesSpec('GET', '/users/{user_gid}', res);
});

test('user by e-mail, any case', async () => {
	for (const ref of [member.email, member.email.toUpperCase()]) {
		const res = await admin.get(`/users/${encodeURIComponent(ref)}`);
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.data.gid, member.gid);
	}
});

test('user in workspace path', async () => {
	const res = await admin.get(`/workspaces/${server.orgGid}/users/${member.gid}`);
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.gid, member.gid);
	assertMatchesSpec('GET', '/workspaces/{workspace_gid}/users/{user_gid}', res);
});

test('invalid user gid is 400', async () => {
	for (const ref of ['abc', '12x', '-5']) {
		const res = await admin.get(`/users/${ref}`);
		assert.equal(res.status, 400, `${ref}: ${res.text}`);
		assert.match(res.body.errors[0].message, /user_gid/);
	}
});

test('unknown user gid is 404', async () => {
	const res = await admin.get('/users/12345');
	assert.equal(res.status, 404, res.text);
});

test('other organization is 404', async () => {
	const otherAdmin = api(server, other.token);
	for (const path of [`/users/${member.gid}`, `/users/${member.email}`, `/workspaces/${server.orgGid}/users`,
		`/workspaces/${server.orgGid}/users/${member.gid}`]) {
		const res = await otherAdmin.get(path);
		assert.equal(res.status, 404, `${path}: ${res.text}`);
	}
	const res = await admin.get(`/users/${other.adminGid}`);
	assert.equal(res.status, 404, res.text);
	const filtered = await admin.get('/users', { workspace: other.orgGid });
	assert.equal(filtered.status, 404, filtered.text);
});

test('user lists stay in the organization', async () => {
	const theirs = await api(server, other.token).get('/users');
	assert.equal(theirs.status, 200, theirs.text);
	assert.deepEqual(theirs.body.data.map((u) => u.gid), [other.adminGid]);
});

test('users list is compact', async () => {
	const res = await admin.get('/users', { workspace: server.orgGid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/users', res);
	for (const user of res.body.data) {
		assert.deepEqual(Object.keys(user).sort(), ['gid', 'name', 'resource_type']);
	}
	assert.equal(res.body.data.length, EXTRA_USERS + 3);
});

test('users pagination covers everyone once', async () => {
	const items = await allPages(admin, '/users', { limit: PAGE_LIMIT }, '/users');
	const gids = items.map((u) => u.gid);
	assert.equal(gids.length, EXTRA_USERS + 3);
	assert.equal(new Set(gids).size, gids.length);
	assert.ok(gids.includes(member.gid));
	assert.ok(gids.includes(guest.gid));
	const sorted = [...gids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
	assert.deepEqual(gids, sorted, 'users are sorted by gid');
});

test('workspace users pagination', async () => {
	const path = `/workspaces/${server.orgGid}/users`;
	const items = await allPages(admin, path, { limit: PAGE_LIMIT }, '/workspaces/{workspace_gid}/users');
	assert.equal(items.length, EXTRA_USERS + 3);
	assert.equal(new Set(items.map((u) => u.gid)).size, items.length);
});

test('page limit out of range is 400', async () => {
	for (const limit of ['0', '101', 'x']) {
		const res = await admin.get('/users', { limit });
		assert.equal(res.status, 400, `${limit}: ${res.text}`);
	}
});

test('opt_fields name,email', async () => {
	const res = await admin.get('/users/me', { opt_fields: 'name,email' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(Object.keys(res.body.data).sort(), ['email', 'gid', 'name', 'resource_type']);
	assert.equal(res.body.data.email, server.adminEmail);

	const list = await admin.get('/users', { opt_fields: 'email', limit: 2 });
	assert.equal(list.status, 200, list.text);
	for (const user of list.body.data) {
		assert.equal(typeof user.email, 'string');
		assert.equal(user.name, undefined);
	}
});

test('opt_fields workspaces.name', async () => {
	const res = await admin.get(`/users/${member.gid}`, { opt_fields: 'workspaces.name' });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.gid, member.gid);
	assert.equal(res.body.data.email, undefined);
	assert.equal(res.body.data.workspaces.length, 1);
	assert.equal(res.body.data.workspaces[0].gid, server.orgGid);
	assert.equal(res.body.data.workspaces[0].name, 'Users Org');
});

test('unknown opt_field is 400', async () => {
	const res = await admin.get('/users/me', { opt_fields: 'name,shoe_size' });
	assert.equal(res.status, 400, res.text);
	assert.match(res.body.errors[0].message, /shoe_size/);
});

test('guest lists only itself without teams', async () => {
	const res = await api(server, guest.token).get('/users');
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data.map((u) => u.gid), [guest.gid]);
	// A guest reads only the users it shares a team or project with, so a member is not found yet.
	const single = await api(server, guest.token).get(`/users/${member.gid}`);
	assert.equal(single.status, 404, single.text);
	assertMatchesSpec('GET', '/users/{user_gid}', single);
	const self = await api(server, guest.token).get(`/users/${guest.gid}`);
	assert.equal(self.status, 200, self.text);
});

test('deactivated user resolves but is not listed', async () => {
	const leaver = await server.addUser({ email: 'leaver@example.test', name: 'Lee Leaver' });
	const removed = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: leaver.gid });
	assert.equal(removed.status, 200, removed.text);

	const res = await admin.get(`/users/${leaver.gid}`);
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.name, 'Lee Leaver');

	const list = await admin.get(`/workspaces/${server.orgGid}/users`);
	assert.equal(list.status, 200, list.text);
	assert.ok(!list.body.data.some((u) => u.gid === leaver.gid), 'deactivated user is listed');
	const all = await admin.get('/users');
	assert.ok(!all.body.data.some((u) => u.gid === leaver.gid), 'deactivated user is listed by /users');
});

test('team users and the team filter', async (t) => {
	const created = await admin.post('/teams', { name: 'Blue team', organization: server.orgGid });
	if (created.status === 404 || created.status === 405) {
		t.skip('POST /teams is not available');
		return;
	}
	assert.equal(created.status, 201, created.text);
	const teamGid = created.body.data.gid;
	for (const user of [member.gid, guest.gid]) {
		const added = await admin.post(`/teams/${teamGid}/addUser`, { user });
		assert.equal(added.status, 200, added.text);
	}

	const res = await admin.get(`/teams/${teamGid}/users`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/teams/{team_gid}/users', res);
	const gids = res.body.data.map((u) => u.gid);
	assert.ok(gids.includes(member.gid));
	assert.ok(gids.includes(guest.gid));

	const filtered = await admin.get('/users', { team: teamGid });
	assert.equal(filtered.status, 200, filtered.text);
	assert.deepEqual(filtered.body.data.map((u) => u.gid), gids);

	// The guest now shares a team with the member, so the member appears in the guest's list.
	const guestView = await api(server, guest.token).get('/users');
	assert.equal(guestView.status, 200, guestView.text);
	assert.ok(guestView.body.data.some((u) => u.gid === member.gid));

	const foreign = await api(server, other.token).get(`/teams/${teamGid}/users`);
	assert.equal(foreign.status, 404, foreign.text);
	const unknown = await admin.get('/teams/12345/users');
	assert.equal(unknown.status, 404, unknown.text);
});

test('guest reads only users it shares with', async () => {
	const gwen = await server.addUser({ email: 'gwen@elsewhere.test', name: 'Gwen Guest', role: 'guest' });
	const pal = await server.addUser({ email: 'pal@example.test', name: 'Pal Partner' });
	const gwenClient = api(server, gwen.token);
	const adminGid = (await admin.get('/users/me')).body.data.gid;

	// Hidden users answer exactly like missing ones, by gid and by e-mail address.
	const hidden = [
		[`/users/${pal.gid}`, `/users/9${pal.gid.slice(1)}`],
		['/users/pal@example.test', '/users/nobody@example.test'],
		['/users/PAL@example.test', '/users/NOBODY@example.test'],
		[`/users/${adminGid}`, '/users/123456789'],
		[`/workspaces/${server.orgGid}/users/${pal.gid}`, `/workspaces/${server.orgGid}/users/123456789`],
		[`/users/${pal.gid}/workspace_memberships`, '/users/123456789/workspace_memberships'],
	];
	const messageOf = (res, ref) => res.body.errors[0].message.replace(ref, 'REF');
	for (const [hiddenPath, missingPath] of hidden) {
		const res = await gwenClient.get(hiddenPath);
		assert.equal(res.status, 404, `${hiddenPath}: ${res.text}`);
		assert.ok(!res.text.includes('Pal Partner'), `${hiddenPath}: ${res.text}`);
		const missing = await gwenClient.get(missingPath);
		assert.equal(missing.status, 404, `${missingPath}: ${missing.text}`);
		const hiddenRef = hiddenPath.split('/').find((part) => /^\d{6,}$|@/.test(part) && part !== server.orgGid);
		const missingRef = missingPath.split('/').find((part) => /^\d{6,}$|@/.test(part) && part !== server.orgGid);
		assert.equal(messageOf(res, hiddenRef), messageOf(missing, missingRef), hiddenPath);
	}
	const byQuery = await gwenClient.get(`/workspaces/${server.orgGid}/workspace_memberships`, { user: 'pal@example.test' });
	assert.equal(byQuery.status, 404, byQuery.text);

	// Members still read everyone.
	const seenByMember = await api(server, member.token).get('/users/pal@example.test');
	assert.equal(seenByMember.status, 200, seenByMember.text);
	assert.equal(seenByMember.body.data.gid, pal.gid);

	// Sharing a project is enough: the guest then reads the user and lists it.
	const team = await admin.post('/teams', { name: 'Partner team', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	const project = await admin.post('/projects', { name: 'Partner project', team: team.body.data.gid, privacy_setting: 'private' });
	assert.equal(project.status, 201, project.text);
	const added = await admin.post(`/projects/${project.body.data.gid}/addMembers`, { members: [gwen.gid, pal.gid] });
	assert.equal(added.status, 200, added.text);

	const res = await gwenClient.get(`/users/${pal.gid}`, { opt_fields: 'name,email' });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/users/{user_gid}', res);
	assert.equal(res.body.data.email, 'pal@example.test');
	const byEmail = await gwenClient.get('/users/pal@example.test');
	assert.equal(byEmail.status, 200, byEmail.text);
	const list = await gwenClient.get('/users');
	assert.equal(list.status, 200, list.text);
	assert.ok(list.body.data.some((u) => u.gid === pal.gid), list.text);
	const memberships = await gwenClient.get(`/users/${pal.gid}/workspace_memberships`);
	assert.equal(memberships.status, 200, memberships.text);
	assert.equal(memberships.body.data.length, 1);

	// Users outside the shared project stay hidden.
	assert.equal((await gwenClient.get('/users/extra0@example.test')).status, 404);
});
