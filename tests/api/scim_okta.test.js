'use strict';
// The requests Okta's SCIM 2.0 client sends, as its provisioning guide
// describes them: look a user up by userName, create, read, update with
// PUT, deactivate and reactivate with a path-less PATCH of active, import
// with paging, and push a group (create, rename, add and remove members,
// delete). Written as our own requests against kontor.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const { SCHEMA_USER, SCHEMA_GROUP, SCHEMA_LIST, scimClient, patchOps, createServiceAccount, auditRows } = require('./lib/scim');

let server;
let okta;
let account;

before(async () => {
	server = await startServer();
	account = await createServiceAccount(server, 'Okta', 'scim');
	okta = scimClient(server, account.token);
});

after(async () => {
	await server.stop();
});

// Okta's create body: password and groups come along and are not kept.
function oktaUser(userName, active = true) {
	return {
		schemas: [SCHEMA_USER],
		userName,
		name: { givenName: 'Karin', familyName: 'Lind' },
		emails: [{ primary: true, value: userName, type: 'work' }],
		displayName: 'Karin Lind',
		locale: 'en-US',
		externalId: '00u1abcd2EFGH3ijk4l5',
		groups: [],
		password: 'tEmp-pass-1',
		active,
	};
}

test('Okta provisions, updates, deactivates and reactivates a user', async () => {
	const email = 'karin.lind@example.test';
	const lookup = await okta.get(`/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}&startIndex=1&count=100`);
	assert.equal(lookup.status, 200);
	assert.deepEqual(lookup.body.schemas, [SCHEMA_LIST]);
	assert.equal(lookup.body.totalResults, 0);

	const created = await okta.post('/Users', oktaUser(email));
	assert.equal(created.status, 201, created.text);
	const id = created.body.id;
	assert.equal(created.body.displayName, 'Karin Lind');
	assert.equal(created.body.externalId, '00u1abcd2EFGH3ijk4l5');
	assert.equal(created.body.password, undefined);

	const read = await okta.get(`/Users/${id}`);
	assert.equal(read.status, 200);
	assert.equal(read.body.userName, email);

	// Profile update: Okta sends the whole user with PUT.
	const update = { ...oktaUser(email), id, name: { givenName: 'Karin', familyName: 'Lind-Berg' }, displayName: 'Karin Lind-Berg' };
	const put = await okta.put(`/Users/${id}`, update);
	assert.equal(put.status, 200, put.text);
	assert.equal(put.body.name.familyName, 'Lind-Berg');
	assert.equal(put.body.displayName, 'Karin Lind-Berg');
	assert.equal((await api(server, server.adminToken).get(`/users/${id}`)).body.data.name, 'Karin Lind-Berg');

	const deactivated = await okta.patch(`/Users/${id}`, patchOps({ op: 'replace', value: { active: false } }));
	assert.equal(deactivated.status, 200, deactivated.text);
	assert.equal(deactivated.body.active, false);

	const reactivated = await okta.patch(`/Users/${id}`, patchOps({ op: 'replace', value: { active: true } }));
	assert.equal(reactivated.status, 200);
	assert.equal(reactivated.body.active, true);

	// A password change arrives as a PATCH too; kontor keeps no SCIM passwords.
	const password = await okta.patch(`/Users/${id}`, patchOps({ op: 'replace', value: { password: 'n3w-Pass' } }));
	assert.equal(password.status, 200);

	// Deprovisioning in Okta is a deactivation; the user is then removed from the organization.
	const deprovisioned = await okta.patch(`/Users/${id}`, patchOps({ op: 'replace', value: { active: false } }));
	assert.equal(deprovisioned.body.active, false);
	const events = auditRows(server, id).map((r) => r.event_type);
	assert.deepEqual(events, ['user_invited', 'user_name_changed', 'user_deprovisioned', 'user_reactivated',
		'user_deprovisioned']);
	assert.ok(auditRows(server, id).every((r) => r.actor_gid === account.gid));

	// Assigning the app again creates the user again: the same person comes back.
	const again = await okta.post('/Users', oktaUser(email));
	assert.equal(again.status, 201, again.text);
	assert.equal(again.body.id, id);
	assert.equal(again.body.active, true);
});

test('Okta imports users page by page', async () => {
	for (let i = 0; i < 3; i++) {
		assert.equal((await okta.post('/Users', { ...oktaUser(`import${i}@example.test`), externalId: `imp${i}` })).status, 201);
	}
	const first = await okta.get('/Users?startIndex=1&count=2');
	assert.equal(first.status, 200);
	assert.equal(first.body.itemsPerPage, 2);
	const total = first.body.totalResults;
	const ids = first.body.Resources.map((u) => u.id);
	for (let start = 3; start <= total; start += 2) {
		const page = await okta.get(`/Users?startIndex=${start}&count=2`);
		ids.push(...page.body.Resources.map((u) => u.id));
	}
	assert.equal(ids.length, total);
	assert.equal(new Set(ids).size, total);
});

test('Okta pushes a group', async () => {
	const a = (await okta.post('/Users', { ...oktaUser('push.a@example.test'), externalId: 'pa' })).body;
	const b = (await okta.post('/Users', { ...oktaUser('push.b@example.test'), externalId: 'pb' })).body;

	const lookup = await okta.get(`/Groups?filter=${encodeURIComponent('displayName eq "Okta Push"')}&startIndex=1&count=100`);
	assert.equal(lookup.body.totalResults, 0);
	const created = await okta.post('/Groups', { schemas: [SCHEMA_GROUP], displayName: 'Okta Push', members: [] });
	assert.equal(created.status, 201, created.text);
	const id = created.body.id;
	assert.deepEqual(created.body.members, []);

	let res = await okta.patch(`/Groups/${id}`, patchOps({ op: 'replace', value: { id, displayName: 'Okta Push Renamed' } }));
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.displayName, 'Okta Push Renamed');

	res = await okta.patch(`/Groups/${id}`, patchOps({ op: 'add', path: 'members',
		value: [{ value: a.id, display: a.userName }, { value: b.id, display: b.userName }] }));
	assert.deepEqual(res.body.members.map((m) => m.value).sort(), [a.id, b.id].sort());

	res = await okta.patch(`/Groups/${id}`, patchOps({ op: 'remove', path: `members[value eq "${a.id}"]` }));
	assert.deepEqual(res.body.members.map((m) => m.value), [b.id]);

	// Some Okta integrations replace the whole group with PUT.
	res = await okta.put(`/Groups/${id}`, { schemas: [SCHEMA_GROUP], id, displayName: 'Okta Push Renamed',
		members: [{ value: a.id, display: a.userName }] });
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.members.map((m) => m.value), [a.id]);

	const team = await api(server, server.adminToken).get(`/teams/${id}/team_memberships`);
	assert.deepEqual(team.body.data.map((m) => m.user.gid), [a.id]);

	assert.equal((await okta.del(`/Groups/${id}`)).status, 204);
	assert.equal((await okta.get(`/Groups/${id}`)).status, 404);
	const events = auditRows(server, id).map((r) => r.event_type);
	assert.deepEqual(events, ['team_created', 'team_name_changed', 'team_member_added', 'team_member_added',
		'team_member_removed', 'team_member_removed', 'team_member_added', 'team_member_removed', 'team_deleted']);
});
