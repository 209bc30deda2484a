'use strict';
// Workspaces, workspace memberships and divisions: reading the organization,
// renaming it, addUser / removeUser with their permission rules, and the
// read-only division list.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { startServer, api, binaryPath } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');

let server;
let superAdmin; // api() for the super admin created by init
let superAdminGid;
let admin; // {gid, email, token} with role admin
let member;
let guest;
let other; // a second organization in the same database: {orgGid, token}
let kontorEnv;

// Returns the audit records about `resourceGid` of the given event types, oldest first.
function auditRows(resourceGid, eventTypes) {
	const query = `SELECT event_type, event_category, actor_type, CAST(actor_gid AS TEXT) AS actor_gid,
		resource_type, resource_subtype, CAST(resource_gid AS TEXT) AS resource_gid, resource_name, details,
		auth_method, client_ip FROM audit_log WHERE resource_gid = ${resourceGid}
		AND event_type IN (${eventTypes.map((type) => `'${type}'`).join(', ')}) ORDER BY gid`;
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		const out = execFileSync('psql', [server.db, '-At', '-v', 'ON_ERROR_STOP=1', '-c',
			`SELECT COALESCE(json_agg(row_to_json(q)), '[]'::json) FROM (${query}) q`], { encoding: 'utf8' });
		return JSON.parse(out.trim() || '[]');
	}
	const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', server.db, query], { encoding: 'utf8' });
	return out.trim() ? JSON.parse(out) : [];
}

// The gid embedded in a token: 16 hex digits after the kind prefix.
function tokenGid(token) {
	return BigInt(`0x${token.replace(/^kontor_(pat|sa)_/, '').slice(0, 16)}`).toString();
}

function kontor(args, env = kontorEnv) {
	const out = execFileSync(binaryPath(), args, { env, encoding: 'utf8' });
	const lines = out.trim().split('\n');
	return lines[lines.length - 1].trim();
}

before(async () => {
	server = await startServer({ org: 'Workspace Org' });
	superAdmin = api(server, server.adminToken);
	admin = await server.addUser({ email: 'ada@example.test', name: 'Ada Admin', role: 'admin' });
	member = await server.addUser({ email: 'mo@example.test', name: 'Mo Member' });
	guest = await server.addUser({ email: 'gil@elsewhere.test', name: 'Gil Guest', role: 'guest' });

	const me = await superAdmin.get('/users/me');
	assert.equal(me.status, 200, me.text);
	superAdminGid = me.body.data.gid;

	// The harness keeps the token-hash key file beside the server log.
	kontorEnv = { ...process.env, KONTOR_PEPPER_FILE: path.join(path.dirname(server.logPath), 'kontor.pepper') };
	const orgGid = kontor(['init', '--db', server.db, '--org', 'Other Org', '--plan', 'enterprise', '--admin-email', 'root@other.test'],
		{ ...kontorEnv, KONTOR_ADMIN_PASSWORD: 'second-org-password' });
	other = { orgGid, token: kontor(['token', 'create', '--db', server.db, '--email', 'root@other.test', '--name', 'api test']) };
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

test('workspaces lists only the organization', async () => {
	const res = await superAdmin.get('/workspaces');
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/workspaces', res);
	assert.deepEqual(res.body.data, [{ gid: server.orgGid, resource_type: 'workspace', name: 'Workspace Org' }]);

	const paged = await superAdmin.get('/workspaces', { limit: 1 });
	assert.equal(paged.status, 200, paged.text);
	assert.equal(paged.body.data.length, 1);
	assert.equal(paged.body.next_page, null);

	const theirs = await api(server, other.token).get('/workspaces');
	assert.deepEqual(theirs.body.data.map((w) => w.gid), [other.orgGid]);
});

test('workspace full representation', async () => {
	const res = await api(server, member.token).get(`/workspaces/${server.orgGid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/workspaces/{workspace_gid}', res);
	assert.equal(res.body.data.gid, server.orgGid);
	assert.equal(res.body.data.resource_type, 'workspace');
	assert.equal(res.body.data.is_organization, true);
	assert.ok(Array.isArray(res.body.data.email_domains));
});

test('workspace opt_fields', async () => {
	const res = await superAdmin.get(`/workspaces/${server.orgGid}`, { opt_fields: 'email_domains' });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(Object.keys(res.body.data).sort(), ['email_domains', 'gid', 'resource_type']);
	const bad = await superAdmin.get(`/workspaces/${server.orgGid}`, { opt_fields: 'plan' });
	assert.equal(bad.status, 400, bad.text);
});

test('workspace gid errors', async () => {
	const invalid = await superAdmin.get('/workspaces/not-a-gid');
	assert.equal(invalid.status, 400, invalid.text);
	const foreign = await superAdmin.get(`/workspaces/${other.orgGid}`);
	assert.equal(foreign.status, 404, foreign.text);
	const unknown = await superAdmin.get('/workspaces/12345');
	assert.equal(unknown.status, 404, unknown.text);
});

test('workspace rename permissions', async () => {
	const denied = await api(server, member.token).put(`/workspaces/${server.orgGid}`, { name: 'Member Org' });
	assert.equal(denied.status, 403, denied.text);

	const res = await api(server, admin.token).put(`/workspaces/${server.orgGid}`, { name: 'Renamed Org' });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('PUT', '/workspaces/{workspace_gid}', res);
	assert.equal(res.body.data.name, 'Renamed Org');
	assert.equal(res.body.data.is_organization, true);

	const read = await api(server, member.token).get(`/workspaces/${server.orgGid}`);
	assert.equal(read.body.data.name, 'Renamed Org');

	const back = await superAdmin.put(`/workspaces/${server.orgGid}`, { name: 'Workspace Org' });
	assert.equal(back.status, 200, back.text);
	assert.equal(back.body.data.name, 'Workspace Org');

	const foreign = await api(server, other.token).put(`/workspaces/${server.orgGid}`, { name: 'Taken' });
	assert.equal(foreign.status, 404, foreign.text);
});

test('workspace rename input errors', async () => {
	const cases = [
		[{ name: '' }, /name/],
		[{ name: '   ' }, /name/],
		[{ name: 42 }, /name/],
		[{ name: 'x'.repeat(1025) }, /name/],
		[{ name: 'Org', is_organization: false }, /is_organization/],
		[{ name: 'Org', gid: '1' }, /gid/],
	];
	for (const [body, pattern] of cases) {
		const res = await superAdmin.put(`/workspaces/${server.orgGid}`, body);
		assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 60)}: ${res.text}`);
		assert.match(res.body.errors[0].message, pattern);
	}
});

test('addUser creates a member from an e-mail', async () => {
	const res = await api(server, admin.token).post(`/workspaces/${server.orgGid}/addUser`, { user: 'New.Person@Example.test' });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', '/workspaces/{workspace_gid}/addUser', res);
	const user = res.body.data;
	assert.equal(user.resource_type, 'user');
	assert.equal(user.name, 'New.Person');
	assert.equal(user.email, 'New.Person@Example.test');

	const found = await superAdmin.get('/users/new.person@example.test');
	assert.equal(found.status, 200, found.text);
	assert.equal(found.body.data.gid, user.gid);

	const memberships = await superAdmin.get(`/users/${user.gid}/workspace_memberships`, { opt_fields: 'is_active,is_admin,is_guest' });
	assert.equal(memberships.status, 200, memberships.text);
	assert.equal(memberships.body.data.length, 1);
	assert.equal(memberships.body.data[0].is_active, true);
	assert.equal(memberships.body.data[0].is_admin, false);
	assert.equal(memberships.body.data[0].is_guest, false);

	const again = await superAdmin.post(`/workspaces/${server.orgGid}/addUser`, { user: 'new.person@example.test' });
	assert.equal(again.status, 200, again.text);
	assert.equal(again.body.data.gid, user.gid);
});

test('addUser of an existing gid', async () => {
	const res = await superAdmin.post(`/workspaces/${server.orgGid}/addUser`, { user: member.gid });
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.gid, member.gid);
	assert.equal(res.body.data.name, 'Mo Member');
});

test('addUser input errors', async () => {
	const base = `/workspaces/${server.orgGid}/addUser`;
	const cases = [
		[{}, 400],
		[{ user: 'not an address@' }, 400],
		[{ user: 'a@b@example.test' }, 400],
		[{ user: 'nodomain@localhost' }, 400],
		[{ user: 'abc' }, 400],
		[{ user: '12345' }, 404],
		[{ user: 'x@example.test', role: 'admin' }, 400],
	];
	for (const [body, status] of cases) {
		const res = await superAdmin.post(base, body);
		assert.equal(res.status, status, `${JSON.stringify(body)}: ${res.text}`);
	}
});

test('addUser e-mail of another organization is 409', async () => {
	const res = await superAdmin.post(`/workspaces/${server.orgGid}/addUser`, { user: 'root@other.test' });
	assert.equal(res.status, 409, res.text);
	assert.match(res.body.errors[0].message, /user/);
});

test('addUser and removeUser refused to members and guests', async () => {
	for (const person of [member, guest]) {
		const client = api(server, person.token);
		const add = await client.post(`/workspaces/${server.orgGid}/addUser`, { user: 'someone@example.test' });
		assert.equal(add.status, 403, add.text);
		const remove = await client.post(`/workspaces/${server.orgGid}/removeUser`, { user: admin.gid });
		assert.equal(remove.status, 403, remove.text);
	}
	const notCreated = await superAdmin.get('/users/someone@example.test');
	assert.equal(notCreated.status, 404, notCreated.text);
});

test('addUser in another organization is 404', async () => {
	const res = await api(server, other.token).post(`/workspaces/${server.orgGid}/addUser`, { user: 'x@other.test' });
	assert.equal(res.status, 404, res.text);
});

test('removeUser deactivates and addUser restores', async () => {
	const leaver = await server.addUser({ email: 'leaver@example.test', name: 'Lou Leaver' });
	const leaverClient = api(server, leaver.token);
	assert.equal((await leaverClient.get('/users/me')).status, 200);

	const res = await api(server, admin.token).post(`/workspaces/${server.orgGid}/removeUser`, { user: leaver.email });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data, {});
	assertMatchesSpec('POST', '/workspaces/{workspace_gid}/removeUser', res);

	assert.equal((await leaverClient.get('/users/me')).status, 401);
	const memberships = await superAdmin.get(`/workspaces/${server.orgGid}/workspace_memberships`,
		{ user: leaver.gid, opt_fields: 'is_active,user' });
	assert.equal(memberships.status, 200, memberships.text);
	assert.equal(memberships.body.data.length, 1);
	assert.equal(memberships.body.data[0].is_active, false);
	assert.equal(memberships.body.data[0].user.gid, leaver.gid);

	const restored = await superAdmin.post(`/workspaces/${server.orgGid}/addUser`, { user: leaver.gid });
	assert.equal(restored.status, 200, restored.text);
	const after = await superAdmin.get(`/workspaces/${server.orgGid}/workspace_memberships`, { user: leaver.gid, opt_fields: 'is_active' });
	assert.equal(after.body.data[0].is_active, true);
	// Removal revoked the old token; coming back does not revive it.
	assert.equal((await leaverClient.get('/users/me')).status, 401);
});

test('removeUser and addUser are audited', async () => {
	const leaver = await server.addUser({ email: 'audited.leaver@example.test', name: 'Audrey Audited' });
	const events = ['user_deprovisioned', 'user_reprovisioned'];

	let res = await api(server, admin.token).post(`/workspaces/${server.orgGid}/removeUser`, { user: leaver.gid });
	assert.equal(res.status, 200, res.text);
	let rows = auditRows(leaver.gid, events);
	assert.equal(rows.length, 1);
	const deactivated = rows[0];
	assert.equal(deactivated.event_type, 'user_deprovisioned');
	assert.equal(deactivated.event_category, 'user_access');
	assert.equal(deactivated.actor_type, 'user');
	assert.equal(deactivated.actor_gid, admin.gid);
	assert.equal(deactivated.resource_type, 'user');
	assert.equal(deactivated.resource_subtype, null);
	assert.equal(deactivated.resource_name, 'Audrey Audited');
	assert.equal(deactivated.auth_method, 'personal_access_token');
	assert.equal(deactivated.client_ip, '127.0.0.1');
	assert.deepEqual(JSON.parse(deactivated.details), { revoked_token_gids: [tokenGid(leaver.token)] });
	assert.equal(auditRows(leaver.gid, ['service_account_deauthorized']).length, 0, 'a person gets no service-account record');

	// A repeated removal changes nothing and writes no second record.
	res = await superAdmin.post(`/workspaces/${server.orgGid}/removeUser`, { user: leaver.gid });
	assert.equal(res.status, 200, res.text);
	assert.equal(auditRows(leaver.gid, events).length, 1);

	res = await superAdmin.post(`/workspaces/${server.orgGid}/addUser`, { user: leaver.email });
	assert.equal(res.status, 200, res.text);
	rows = auditRows(leaver.gid, events);
	assert.deepEqual(rows.map((row) => row.event_type), ['user_deprovisioned', 'user_reprovisioned']);
	assert.equal(rows[1].event_category, 'user_access');
	assert.equal(rows[1].actor_gid, superAdminGid);
	assert.equal(rows[1].resource_name, 'Audrey Audited');
	assert.deepEqual(JSON.parse(rows[1].details), {});

	// Adding an active member again is no reactivation.
	res = await superAdmin.post(`/workspaces/${server.orgGid}/addUser`, { user: leaver.gid });
	assert.equal(res.status, 200, res.text);
	assert.equal(auditRows(leaver.gid, events).length, 2);

	// A refused removal writes nothing.
	res = await api(server, member.token).post(`/workspaces/${server.orgGid}/removeUser`, { user: leaver.gid });
	assert.equal(res.status, 403, res.text);
	assert.equal(auditRows(leaver.gid, events).length, 2);
});

test('removeUser protects super admins and the caller', async () => {
	const adminClient = api(server, admin.token);
	const superAdminTarget = await adminClient.post(`/workspaces/${server.orgGid}/removeUser`, { user: superAdminGid });
	assert.equal(superAdminTarget.status, 403, superAdminTarget.text);
	const self = await adminClient.post(`/workspaces/${server.orgGid}/removeUser`, { user: 'me' });
	assert.equal(self.status, 403, self.text);
	const unknown = await adminClient.post(`/workspaces/${server.orgGid}/removeUser`, { user: 'nobody@example.test' });
	assert.equal(unknown.status, 404, unknown.text);
	const foreign = await api(server, other.token).post(`/workspaces/${server.orgGid}/removeUser`, { user: member.gid });
	assert.equal(foreign.status, 404, foreign.text);
	assert.equal((await api(server, member.token).get('/users/me')).status, 200);
});

test('super admin removes an admin', async () => {
	const second = await server.addUser({ email: 'second.admin@example.test', name: 'Sam Second', role: 'admin' });
	const res = await superAdmin.post(`/workspaces/${server.orgGid}/removeUser`, { user: second.gid });
	assert.equal(res.status, 200, res.text);
	assert.equal((await api(server, second.token).get('/users/me')).status, 401);
});

test('workspace membership full representation', async () => {
	const list = await superAdmin.get(`/workspaces/${server.orgGid}/workspace_memberships`, { user: 'me' });
	assert.equal(list.status, 200, list.text);
	assertMatchesSpec('GET', '/workspaces/{workspace_gid}/workspace_memberships', list);
	assert.equal(list.body.data.length, 1);
	assert.deepEqual(Object.keys(list.body.data[0]).sort(), ['gid', 'resource_type', 'user', 'workspace']);

	const res = await superAdmin.get(`/workspace_memberships/${list.body.data[0].gid}`);
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('GET', '/workspace_memberships/{workspace_membership_gid}', res);
	const membership = res.body.data;
	assert.equal(membership.resource_type, 'workspace_membership');
	assert.equal(membership.user.gid, superAdminGid);
	assert.equal(membership.workspace.gid, server.orgGid);
	assert.equal(membership.is_active, true);
	assert.equal(membership.is_admin, true);
	assert.equal(membership.is_guest, false);
	assert.match(membership.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

	const foreign = await api(server, other.token).get(`/workspace_memberships/${membership.gid}`);
	assert.equal(foreign.status, 404, foreign.text);
});

test('workspace memberships of each role', async () => {
	const expected = [[admin, true, false], [member, false, false], [guest, false, true]];
	for (const [person, isAdmin, isGuest] of expected) {
		const res = await superAdmin.get(`/users/${person.gid}/workspace_memberships`, { opt_fields: 'is_admin,is_guest,workspace.name' });
		assert.equal(res.status, 200, res.text);
		assertMatchesSpec('GET', '/users/{user_gid}/workspace_memberships', res);
		assert.equal(res.body.data[0].is_admin, isAdmin, person.email);
		assert.equal(res.body.data[0].is_guest, isGuest, person.email);
		assert.equal(res.body.data[0].workspace.name, 'Workspace Org');
	}
});

test('workspace memberships pagination', async () => {
	const gids = [];
	let offset;
	for (let pages = 0; pages < 20; pages++) {
		const res = await superAdmin.get(`/workspaces/${server.orgGid}/workspace_memberships`, { limit: 2, offset });
		assert.equal(res.status, 200, res.text);
		gids.push(...res.body.data.map((m) => m.gid));
		if (!res.body.next_page) {
			break;
		}
		offset = res.body.next_page.offset;
	}
	const all = await superAdmin.get(`/workspaces/${server.orgGid}/workspace_memberships`);
	assert.deepEqual(gids, all.body.data.map((m) => m.gid));
	assert.ok(gids.length >= 6);
});

test('guest sees only its own membership', async () => {
	const res = await api(server, guest.token).get(`/workspaces/${server.orgGid}/workspace_memberships`);
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.data.map((m) => m.user.gid), [guest.gid]);
});

test('divisions list with teams and admins', async () => {
	const empty = await superAdmin.get(`/workspaces/${server.orgGid}/divisions`);
	assert.equal(empty.status, 200, empty.text);
	assert.deepEqual(empty.body.data, []);

	const north = kontor(['division', 'add', '--db', server.db, '--org', server.orgGid, '--name', 'North', '--email', admin.email]);
	const south = kontor(['division', 'add', '--db', server.db, '--org', server.orgGid, '--name', 'South', '--plan', 'enterprise_plus']);

	const compact = await api(server, member.token).get(`/workspaces/${server.orgGid}/divisions`);
	assert.equal(compact.status, 200, compact.text);
	assert.deepEqual(compact.body.data, [
		{ gid: north, resource_type: 'division', name: 'North' },
		{ gid: south, resource_type: 'division', name: 'South' },
	]);

	const full = await api(server, member.token).get(`/workspaces/${server.orgGid}/divisions`,
		{ opt_fields: 'name,plan,teams,admins.name', limit: 1 });
	assert.equal(full.status, 200, full.text);
	assert.equal(full.body.data.length, 1);
	const division = full.body.data[0];
	assert.equal(division.gid, north);
	assert.equal(division.plan, 'enterprise');
	assert.deepEqual(division.teams, []);
	assert.deepEqual(division.admins.map((a) => [a.gid, a.name]), [[admin.gid, 'Ada Admin']]);
	assert.ok(full.body.next_page, 'a second page exists');

	const second = await api(server, member.token).get(`/workspaces/${server.orgGid}/divisions`,
		{ opt_fields: 'name,plan,admins', limit: 1, offset: full.body.next_page.offset });
	assert.equal(second.status, 200, second.text);
	assert.deepEqual(second.body.data.map((d) => [d.gid, d.plan, d.admins.length]), [[south, 'enterprise_plus', 0]]);
	assert.equal(second.body.next_page, null);
});

test('divisions refused to guests and other organizations', async () => {
	const guestRes = await api(server, guest.token).get(`/workspaces/${server.orgGid}/divisions`);
	assert.equal(guestRes.status, 403, guestRes.text);
	const foreign = await api(server, other.token).get(`/workspaces/${server.orgGid}/divisions`);
	assert.equal(foreign.status, 404, foreign.text);
});
