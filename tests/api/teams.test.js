'use strict';
// Teams and team memberships: create, read, update, visibility of secret
// teams, who may add and remove members, the membership reads, pagination
// and input checks. Every 2xx response is checked against the spec.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');
const { UNSAFE_RICH_TEXT } = require('./lib/richtext');

let server;
let admin; // super admin, creator of the organization
let orgAdmin;
let owner; // member who creates the teams and is their team admin
let member; // member of the organization, not of the teams at first
let guest;

// Clients for each user: {gid, http}.
const as = {};

before(async () => {
	server = await startServer({ org: 'Teams Org' });
	const users = {
		orgAdmin: await server.addUser({ email: 'orgadmin@example.test', name: 'Olga Admin', role: 'admin' }),
		owner: await server.addUser({ email: 'owner@example.test', name: 'Otto Owner' }),
		member: await server.addUser({ email: 'member@example.test', name: 'Mia Member' }),
		guest: await server.addUser({ email: 'guest@example.test', name: 'Gus Guest', role: 'guest' }),
	};
	for (const [key, user] of Object.entries(users)) {
		as[key] = { gid: user.gid, email: user.email, http: api(server, user.token) };
	}
	admin = api(server, server.adminToken);
	orgAdmin = as.orgAdmin.http;
	owner = as.owner.http;
	member = as.member.http;
	guest = as.guest.http;
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

// Create a team as `client` and return its data; fails the test on a non-201.
async function createTeam(client, fields = {}) {
	const res = await client.post('/teams', { name: 'Team', organization: server.orgGid, ...fields });
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/teams', res);
	return res.body.data;
}

function errorText(res) {
	assert.ok(Array.isArray(res.body.errors), `expected an errors array, got ${res.text}`);
	return res.body.errors.map((e) => e.message).join(' ');
}

// Follow next_page from `path` with `limit` and return every item.
async function allPages(client, path, query, limit) {
	const items = [];
	let offset;
	for (let i = 0; i < 100; i++) {
		const res = await client.get(path, { ...query, limit, offset });
		assert.equal(res.status, 200, res.text);
		assertMatchesSpec('GET', path, res);
		assert.ok(res.body.data.length <= limit);
		items.push(...res.body.data);
		if (!res.body.next_page) {
			return items;
		}
		offset = res.body.next_page.offset;
	}
	throw new Error(`${path}: more than 100 pages`);
}

test('create team returns full team', async () => {
	const res = await owner.post('/teams', {
		name: 'Platform',
		organization: server.orgGid,
		description: 'Builds <the> platform & tools',
		visibility: 'public',
	});
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/teams', res);
	const team = res.body.data;
	assert.match(team.gid, /^\d+$/);
	assert.equal(team.resource_type, 'team');
	assert.equal(team.name, 'Platform');
	assert.equal(team.description, 'Builds <the> platform & tools');
	assert.equal(team.html_description, '<body>Builds &lt;the&gt; platform &amp; tools</body>');
	assert.equal(team.visibility, 'public');
	assert.equal(team.organization.gid, server.orgGid);
	assert.equal(team.organization.resource_type, 'workspace');
	assert.equal(team.organization.name, 'Teams Org');
	assert.deepEqual(team.custom_field_settings, []);
});

test('creator becomes team admin', async () => {
	const team = await createTeam(owner, { name: 'Creator check' });
	const res = await owner.get(`/teams/${team.gid}/team_memberships`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/teams/{team_gid}/team_memberships', res);
	assert.equal(res.body.data.length, 1);
	const membership = res.body.data[0];
	assert.equal(membership.resource_type, 'team_membership');
	assert.equal(membership.user.gid, as.owner.gid);
	assert.equal(membership.team.gid, team.gid);
	assert.equal(membership.is_admin, true);
	assert.equal(membership.is_guest, false);
	assert.equal(membership.is_limited_access, false);
});

test('create team defaults to request_to_join', async () => {
	const team = await createTeam(owner, { name: 'Default visibility' });
	assert.equal(team.visibility, 'request_to_join');
	assert.equal(team.description, '');
});

test('create team from html_description', async () => {
	const team = await createTeam(owner, { html_description: '<body><em>Fast</em> &amp; calm</body>' });
	assert.equal(team.html_description, '<body><em>Fast</em> &amp; calm</body>');
	assert.equal(team.description, 'Fast & calm');
});

test('html_description rejects unsafe markup', async () => {
	const team = await createTeam(owner, { name: 'Safe description', html_description: '<body>Kept</body>' });
	for (const [html, message] of UNSAFE_RICH_TEXT) {
		const created = await owner.post('/teams', { name: 'X', organization: server.orgGid, html_description: html });
		assert.equal(created.status, 400, `POST ${html}: ${created.text}`);
		assertMatchesSpec('POST', '/teams', created);
		assert.match(errorText(created), /^html_description: /, html);
		assert.match(errorText(created), message, html);

		const updated = await owner.put(`/teams/${team.gid}`, { html_description: html });
		assert.equal(updated.status, 400, `PUT ${html}: ${updated.text}`);
		assert.match(errorText(updated), message, html);
	}
	const read = await owner.get(`/teams/${team.gid}`, { opt_fields: 'html_description,description' });
	assert.equal(read.body.data.html_description, '<body>Kept</body>');
	assert.equal(read.body.data.description, 'Kept');
});

test('get team returns full record', async () => {
	const created = await createTeam(owner, { name: 'Readable', visibility: 'public' });
	const res = await member.get(`/teams/${created.gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/teams/{team_gid}', res);
	assert.equal(res.body.data.gid, created.gid);
	assert.equal(res.body.data.name, 'Readable');
	assert.equal(res.body.data.visibility, 'public');
	assert.equal(res.body.data.organization.gid, server.orgGid);
});

test('get team with opt_fields', async () => {
	const created = await createTeam(owner, { name: 'Projected' });
	const res = await owner.get(`/teams/${created.gid}`, { opt_fields: 'name,visibility' });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/teams/{team_gid}', res);
	assert.deepEqual(Object.keys(res.body.data).sort(), ['gid', 'name', 'resource_type', 'visibility']);
});

test('get unknown team is 404', async () => {
	const res = await owner.get('/teams/1234567');
	assert.equal(res.status, 404, res.text);
	assertMatchesSpec('GET', '/teams/{team_gid}', res);
});

test('update team as team admin', async () => {
	const created = await createTeam(owner, { name: 'Before' });
	const res = await owner.put(`/teams/${created.gid}`, { name: 'After', description: 'New', visibility: 'secret' });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('PUT', '/teams/{team_gid}', res);
	assert.equal(res.body.data.name, 'After');
	assert.equal(res.body.data.description, 'New');
	assert.equal(res.body.data.html_description, '<body>New</body>');
	assert.equal(res.body.data.visibility, 'secret');

	const read = await owner.get(`/teams/${created.gid}`);
	assert.equal(read.body.data.name, 'After');
});

test('update keeps fields left out', async () => {
	const created = await createTeam(owner, { name: 'Keep', description: 'Stays', visibility: 'public' });
	const res = await owner.put(`/teams/${created.gid}`, { name: 'Kept' });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.name, 'Kept');
	assert.equal(res.body.data.description, 'Stays');
	assert.equal(res.body.data.visibility, 'public');
});

test('update team permissions', async () => {
	const created = await createTeam(owner, { name: 'Guarded', visibility: 'public' });

	const byMember = await member.put(`/teams/${created.gid}`, { name: 'Taken' });
	assert.equal(byMember.status, 403, byMember.text);
	assertMatchesSpec('PUT', '/teams/{team_gid}', byMember);

	const byOrgAdmin = await orgAdmin.put(`/teams/${created.gid}`, { name: 'By org admin' });
	assert.equal(byOrgAdmin.status, 200, byOrgAdmin.text);
	assert.equal(byOrgAdmin.body.data.name, 'By org admin');

	const bySuperAdmin = await admin.put(`/teams/${created.gid}`, { name: 'By super admin' });
	assert.equal(bySuperAdmin.status, 200, bySuperAdmin.text);
});

test('update cannot move organization', async () => {
	const created = await createTeam(owner, { name: 'Stay home' });
	const res = await owner.put(`/teams/${created.gid}`, { organization: '1234567' });
	assert.equal(res.status, 400, res.text);
	assert.match(errorText(res), /organization/);
});

test('secret team hidden from non-members', async () => {
	const secret = await createTeam(owner, { name: 'Secret plans', visibility: 'secret' });
	const hidden = [member, orgAdmin, admin, guest];
	for (const client of hidden) {
		const res = await client.get(`/teams/${secret.gid}`);
		assert.equal(res.status, 404, res.text);
	}

	const list = await allPages(member, `/workspaces/${server.orgGid}/teams`, {}, 100);
	assert.ok(!list.some((t) => t.gid === secret.gid), 'secret team listed for a non-member');

	const ownList = await allPages(owner, `/workspaces/${server.orgGid}/teams`, {}, 100);
	assert.ok(ownList.some((t) => t.gid === secret.gid), 'secret team missing for its member');

	const put = await member.put(`/teams/${secret.gid}`, { name: 'Found it' });
	assert.equal(put.status, 404, put.text);

	const join = await member.post(`/teams/${secret.gid}/addUser`, { user: 'me' });
	assert.equal(join.status, 404, join.text);

	const memberships = await member.get(`/teams/${secret.gid}/team_memberships`);
	assert.equal(memberships.status, 404, memberships.text);
});

test('guest sees only own teams', async () => {
	const open = await createTeam(owner, { name: 'Open to members', visibility: 'public' });
	const withGuest = await createTeam(owner, { name: 'With guest', visibility: 'request_to_join' });
	const add = await owner.post(`/teams/${withGuest.gid}/addUser`, { user: as.guest.gid });
	assert.equal(add.status, 200, add.text);
	assert.equal(add.body.data.is_guest, true);

	const list = await allPages(guest, `/workspaces/${server.orgGid}/teams`, {}, 100);
	const gids = list.map((t) => t.gid);
	assert.ok(gids.includes(withGuest.gid), 'guest does not see its own team');
	assert.ok(!gids.includes(open.gid), 'guest sees a public team it is not in');

	const read = await guest.get(`/teams/${open.gid}`);
	assert.equal(read.status, 404, read.text);
});

test('workspace teams list is compact', async () => {
	await createTeam(owner, { name: 'Compact', visibility: 'public' });
	const res = await member.get(`/workspaces/${server.orgGid}/teams`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/workspaces/{workspace_gid}/teams', res);
	assert.ok(res.body.data.length > 0);
	for (const team of res.body.data) {
		assert.deepEqual(Object.keys(team).sort(), ['gid', 'name', 'resource_type']);
	}
});

test('workspace teams of other workspace 404', async () => {
	const res = await member.get('/workspaces/1234567/teams');
	assert.equal(res.status, 404, res.text);
	assertMatchesSpec('GET', '/workspaces/{workspace_gid}/teams', res);
});

test('workspace teams pagination', async () => {
	const created = [];
	for (let i = 0; i < 5; i++) {
		created.push((await createTeam(owner, { name: `Paged ${i}`, visibility: 'public' })).gid);
	}
	const items = await allPages(member, `/workspaces/${server.orgGid}/teams`, {}, 2);
	const gids = items.map((t) => t.gid);
	assert.equal(new Set(gids).size, gids.length, 'a team appeared on two pages');
	for (const gid of created) {
		assert.ok(gids.includes(gid), `team ${gid} missing from the pages`);
	}
	const sorted = [...gids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
	assert.deepEqual(gids, sorted);
});

test('user teams lists memberships', async () => {
	const shown = await createTeam(owner, { name: 'Owner public', visibility: 'public' });
	const secret = await createTeam(owner, { name: 'Owner secret', visibility: 'secret' });

	const own = await owner.get('/users/me/teams', { organization: server.orgGid });
	assert.equal(own.status, 200, own.text);
	assertMatchesSpec('GET', '/users/{user_gid}/teams', own);
	const ownGids = (await allPages(owner, '/users/me/teams', { organization: server.orgGid }, 100)).map((t) => t.gid);
	assert.ok(ownGids.includes(shown.gid));
	assert.ok(ownGids.includes(secret.gid));

	const seen = await allPages(member, `/users/${as.owner.gid}/teams`, { organization: server.orgGid }, 100);
	const seenGids = seen.map((t) => t.gid);
	assert.ok(seenGids.includes(shown.gid));
	assert.ok(!seenGids.includes(secret.gid), 'secret team of another user listed');

	const memberTeams = await allPages(member, '/users/me/teams', { organization: server.orgGid }, 100);
	assert.ok(!memberTeams.some((t) => t.gid === shown.gid), 'team listed for a user who is not in it');
});

test('user teams needs organization', async () => {
	const res = await owner.get('/users/me/teams');
	assert.equal(res.status, 400, res.text);
	assertMatchesSpec('GET', '/users/{user_gid}/teams', res);
	assert.match(errorText(res), /organization/);
});

test('addUser as member', async () => {
	const open = await createTeam(owner, { name: 'Joinable', visibility: 'public' });
	const byRequest = await createTeam(owner, { name: 'By request', visibility: 'request_to_join' });

	const joinOpen = await member.post(`/teams/${open.gid}/addUser`, { user: 'me' });
	assert.equal(joinOpen.status, 200, joinOpen.text);
	assertMatchesSpec('POST', '/teams/{team_gid}/addUser', joinOpen);
	assert.equal(joinOpen.body.data.resource_type, 'team_membership');
	assert.equal(joinOpen.body.data.user.gid, as.member.gid);
	assert.equal(joinOpen.body.data.team.gid, open.gid);
	assert.equal(joinOpen.body.data.is_admin, false);
	assert.equal(joinOpen.body.data.is_guest, false);

	const joinByRequest = await member.post(`/teams/${byRequest.gid}/addUser`, { user: 'me' });
	assert.equal(joinByRequest.status, 403, joinByRequest.text);
	assertMatchesSpec('POST', '/teams/{team_gid}/addUser', joinByRequest);

	// A plain team member cannot add others, even to a public team.
	const addOther = await member.post(`/teams/${open.gid}/addUser`, { user: as.guest.gid });
	assert.equal(addOther.status, 403, addOther.text);
});

test('addUser as team admin', async () => {
	const team = await createTeam(owner, { name: 'Admin adds', visibility: 'request_to_join' });

	const byGid = await owner.post(`/teams/${team.gid}/addUser`, { user: as.member.gid });
	assert.equal(byGid.status, 200, byGid.text);
	assertMatchesSpec('POST', '/teams/{team_gid}/addUser', byGid);

	const byEmail = await owner.post(`/teams/${team.gid}/addUser`, { user: as.guest.email });
	assert.equal(byEmail.status, 200, byEmail.text);
	assert.equal(byEmail.body.data.user.gid, as.guest.gid);
	assert.equal(byEmail.body.data.is_guest, true);

	const again = await owner.post(`/teams/${team.gid}/addUser`, { user: as.member.gid });
	assert.equal(again.status, 200, again.text);
	assert.equal(again.body.data.gid, byGid.body.data.gid);
});

test('addUser as org admin', async () => {
	const team = await createTeam(owner, { name: 'Org admin adds', visibility: 'request_to_join' });
	const res = await orgAdmin.post(`/teams/${team.gid}/addUser`, { user: as.member.gid });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.user.gid, as.member.gid);
});

test('addUser as guest is 403', async () => {
	const open = await createTeam(owner, { name: 'No guests joining', visibility: 'public' });
	const team = await createTeam(owner, { name: 'Guest inside' });
	await owner.post(`/teams/${team.gid}/addUser`, { user: as.guest.gid });

	const res = await guest.post(`/teams/${team.gid}/addUser`, { user: as.member.gid });
	assert.equal(res.status, 403, res.text);
	assertMatchesSpec('POST', '/teams/{team_gid}/addUser', res);

	const join = await guest.post(`/teams/${open.gid}/addUser`, { user: 'me' });
	assert.equal(join.status, 404, join.text); // a guest cannot see teams it is not in
});

test('addUser with unknown user', async () => {
	const team = await createTeam(owner, { name: 'Unknown user' });
	const res = await owner.post(`/teams/${team.gid}/addUser`, { user: 'nobody@example.test' });
	assert.ok(res.status === 400 || res.status === 404, res.text);
	assert.match(errorText(res), /user/);

	const missing = await owner.post(`/teams/${team.gid}/addUser`, {});
	assert.equal(missing.status, 400, missing.text);
	assert.match(errorText(missing), /user/);
});

test('removeUser permissions', async () => {
	const team = await createTeam(owner, { name: 'Removals', visibility: 'public' });
	await member.post(`/teams/${team.gid}/addUser`, { user: 'me' });
	await owner.post(`/teams/${team.gid}/addUser`, { user: as.guest.gid });

	const byMember = await member.post(`/teams/${team.gid}/removeUser`, { user: as.guest.gid });
	assert.equal(byMember.status, 403, byMember.text);
	assertMatchesSpec('POST', '/teams/{team_gid}/removeUser', byMember);

	const byGuest = await guest.post(`/teams/${team.gid}/removeUser`, { user: as.member.gid });
	assert.equal(byGuest.status, 403, byGuest.text);

	const byTeamAdmin = await owner.post(`/teams/${team.gid}/removeUser`, { user: as.guest.gid });
	assert.equal(byTeamAdmin.status, 200, byTeamAdmin.text);
	assertMatchesSpec('POST', '/teams/{team_gid}/removeUser', byTeamAdmin);
	assert.deepEqual(byTeamAdmin.body.data, {});

	const leave = await member.post(`/teams/${team.gid}/removeUser`, { user: 'me' });
	assert.equal(leave.status, 200, leave.text);

	const list = await owner.get(`/teams/${team.gid}/team_memberships`);
	assert.deepEqual(list.body.data.map((m) => m.user.gid), [as.owner.gid]);
});

test('removeUser as org admin', async () => {
	const team = await createTeam(owner, { name: 'Org admin removes', visibility: 'public' });
	await member.post(`/teams/${team.gid}/addUser`, { user: 'me' });

	const res = await orgAdmin.post(`/teams/${team.gid}/removeUser`, { user: as.member.email });
	assert.equal(res.status, 200, res.text);

	const again = await orgAdmin.post(`/teams/${team.gid}/removeUser`, { user: as.member.gid });
	assert.equal(again.status, 200, again.text);

	const list = await owner.get('/team_memberships', { team: team.gid, user: as.member.gid });
	assert.equal(list.status, 200, list.text);
	assert.deepEqual(list.body.data, []);
});

// kontor lets the last team admin leave, because organization admins still manage the team.
test('last team admin may leave', async () => {
	const team = await createTeam(owner, { name: 'Left alone', visibility: 'public' });

	const leave = await owner.post(`/teams/${team.gid}/removeUser`, { user: 'me' });
	assert.equal(leave.status, 200, leave.text);

	const list = await orgAdmin.get(`/teams/${team.gid}/team_memberships`);
	assert.equal(list.status, 200, list.text);
	assert.deepEqual(list.body.data, []);

	const rename = await orgAdmin.put(`/teams/${team.gid}`, { name: 'Adopted' });
	assert.equal(rename.status, 200, rename.text);

	const byFormerAdmin = await owner.put(`/teams/${team.gid}`, { name: 'Mine again' });
	assert.equal(byFormerAdmin.status, 403, byFormerAdmin.text);
});

test('get team membership by gid', async () => {
	const team = await createTeam(owner, { name: 'Membership read', visibility: 'public' });
	const joined = await member.post(`/teams/${team.gid}/addUser`, { user: 'me' });
	const gid = joined.body.data.gid;

	const res = await owner.get(`/team_memberships/${gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/team_memberships/{team_membership_gid}', res);
	assert.equal(res.body.data.gid, gid);
	assert.equal(res.body.data.user.gid, as.member.gid);
	assert.equal(res.body.data.user.name, 'Mia Member');
	assert.equal(res.body.data.team.name, 'Membership read');

	const unknown = await owner.get('/team_memberships/1234567');
	assert.equal(unknown.status, 404, unknown.text);
});

test('secret team membership hidden', async () => {
	const secret = await createTeam(owner, { name: 'Secret members', visibility: 'secret' });
	const list = await owner.get(`/teams/${secret.gid}/team_memberships`);
	const gid = list.body.data[0].gid;

	const res = await member.get(`/team_memberships/${gid}`);
	assert.equal(res.status, 404, res.text);

	const byUser = await member.get('/team_memberships', { user: as.owner.gid, workspace: server.orgGid, limit: 100 });
	assert.equal(byUser.status, 200, byUser.text);
	assert.ok(!byUser.body.data.some((m) => m.team.gid === secret.gid), 'secret membership listed');
});

test('team memberships query filters', async () => {
	const team = await createTeam(owner, { name: 'Filters', visibility: 'public' });
	await member.post(`/teams/${team.gid}/addUser`, { user: 'me' });

	const byTeam = await owner.get('/team_memberships', { team: team.gid });
	assert.equal(byTeam.status, 200, byTeam.text);
	assertMatchesSpec('GET', '/team_memberships', byTeam);
	assert.deepEqual(byTeam.body.data.map((m) => m.user.gid).sort(), [as.owner.gid, as.member.gid].sort());

	const byUser = await allPages(owner, '/team_memberships', { user: 'me', workspace: server.orgGid }, 100);
	assert.ok(byUser.some((m) => m.team.gid === team.gid));
	assert.ok(byUser.every((m) => m.user.gid === as.owner.gid));

	const noFilter = await owner.get('/team_memberships');
	assert.equal(noFilter.status, 400, noFilter.text);
	assertMatchesSpec('GET', '/team_memberships', noFilter);
	assert.match(errorText(noFilter), /team/);

	const userOnly = await owner.get('/team_memberships', { user: 'me' });
	assert.equal(userOnly.status, 400, userOnly.text);
	assert.match(errorText(userOnly), /workspace/);
});

test('user team memberships', async () => {
	const team = await createTeam(owner, { name: 'Per user', visibility: 'public' });
	const res = await owner.get(`/users/${as.owner.gid}/team_memberships`, { workspace: server.orgGid });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/users/{user_gid}/team_memberships', res);

	const all = await allPages(owner, `/users/${as.owner.gid}/team_memberships`, { workspace: server.orgGid }, 3);
	assert.ok(all.some((m) => m.team.gid === team.gid));
	const gids = all.map((m) => m.gid);
	assert.equal(new Set(gids).size, gids.length, 'a membership appeared on two pages');

	const missing = await owner.get(`/users/${as.owner.gid}/team_memberships`);
	assert.equal(missing.status, 400, missing.text);
	assert.match(errorText(missing), /workspace/);
});

test('create team bad input', async () => {
	const cases = [
		{ why: 'missing name', body: { organization: server.orgGid }, field: 'name' },
		{ why: 'blank name', body: { name: '   ', organization: server.orgGid }, field: 'name' },
		{ why: 'long name', body: { name: 'x'.repeat(1025), organization: server.orgGid }, field: 'name' },
		{ why: 'unknown field', body: { name: 'A', organization: server.orgGid, colour: 'red' }, field: 'colour' },
		{ why: 'bad visibility', body: { name: 'A', organization: server.orgGid, visibility: 'open' }, field: 'visibility' },
		{ why: 'missing organization', body: { name: 'A' }, field: 'organization' },
		{ why: 'read-only gid', body: { name: 'A', organization: server.orgGid, gid: '1' }, field: 'gid' },
		{
			why: 'unwrapped html',
			body: { name: 'A', organization: server.orgGid, html_description: '<em>x</em>' },
			field: 'html_description',
		},
		{
			why: 'unsupported access level',
			body: { name: 'A', organization: server.orgGid, edit_team_name_or_description_access_level: 'all_team_members' },
			field: 'edit_team_name_or_description_access_level',
		},
	];
	for (const c of cases) {
		const res = await owner.post('/teams', c.body);
		assert.equal(res.status, 400, `${c.why}: ${res.text}`);
		assertMatchesSpec('POST', '/teams', res);
		assert.ok(errorText(res).includes(c.field), `${c.why}: message does not name ${c.field}: ${res.text}`);
	}
});

test('create team in other organization', async () => {
	const res = await owner.post('/teams', { name: 'Elsewhere', organization: '1234567' });
	assert.equal(res.status, 404, res.text);
});

test('create team as guest is 403', async () => {
	const res = await guest.post('/teams', { name: 'Guest team', organization: server.orgGid });
	assert.equal(res.status, 403, res.text);
	assertMatchesSpec('POST', '/teams', res);
});

test('update team bad input', async () => {
	const team = await createTeam(owner, { name: 'Checked' });
	const cases = [
		{ body: { name: '' }, field: 'name' },
		{ body: { name: 'y'.repeat(1025) }, field: 'name' },
		{ body: { visibility: 'hidden' }, field: 'visibility' },
		{ body: { owner: 'me' }, field: 'owner' },
	];
	for (const c of cases) {
		const res = await owner.put(`/teams/${team.gid}`, c.body);
		assert.equal(res.status, 400, res.text);
		assert.ok(errorText(res).includes(c.field), `message does not name ${c.field}: ${res.text}`);
	}
});
