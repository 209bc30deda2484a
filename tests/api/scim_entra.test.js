'use strict';
// The requests Microsoft Entra ID's provisioning service sends, as its
// guide to building a SCIM endpoint describes them: capitalised ops,
// string booleans, the enterprise extension, filters on userName and
// externalId, PATCH of emails[type eq "work"].value and name.familyName,
// disable, DELETE, and groups read with excludedAttributes=members and
// changed with Add/Remove of members. Written as our own requests.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const { SCHEMA_USER, SCHEMA_GROUP, scimClient, patchOps, assertScimError, createServiceAccount, auditRows } = require('./lib/scim');

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

let server;
let entra;
let account;

before(async () => {
	server = await startServer();
	// Entra ID works with a full service account as well as a scim one.
	account = await createServiceAccount(server, 'Entra ID', 'full');
	entra = scimClient(server, account.token);
});

after(async () => {
	await server.stop();
});

function entraUser(userName, externalId) {
	return {
		schemas: [SCHEMA_USER, ENTERPRISE],
		externalId,
		userName,
		active: true,
		displayName: 'Sven Ek',
		emails: [{ primary: true, type: 'work', value: userName }],
		meta: { resourceType: 'User' },
		name: { formatted: 'Sven Ek', familyName: 'Ek', givenName: 'Sven' },
		title: 'Analyst',
		roles: [],
		[ENTERPRISE]: { department: 'Finance', employeeNumber: '1001' },
	};
}

test('Entra ID provisions, updates, disables and deletes a user', async () => {
	// The connection test looks up a user that does not exist.
	const probe = await entra.get(`/Users?filter=${encodeURIComponent('userName eq "0f1e2d3c-none@example.test"')}`);
	assert.equal(probe.status, 200);
	assert.equal(probe.body.totalResults, 0);

	const email = 'sven.ek@example.test';
	const externalId = '7b0c6d1e-3f8a-4c2b-9e1d-5a6f7b8c9d0e';
	const created = await entra.post('/Users', entraUser(email, externalId));
	assert.equal(created.status, 201, created.text);
	const id = created.body.id;
	assert.equal(created.body.displayName, 'Sven Ek');

	const byName = await entra.get(`/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}`);
	assert.equal(byName.body.Resources[0].id, id);
	const byExternal = await entra.get(`/Users?filter=${encodeURIComponent(`externalId eq "${externalId}"`)}`);
	assert.equal(byExternal.body.Resources[0].id, id);

	// Multi-valued and single-valued updates, with the ops capitalised.
	let res = await entra.patch(`/Users/${id}`, patchOps(
		{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'sven.ek@finance.example.test' },
		{ op: 'Replace', path: 'name.familyName', value: 'Ekström' },
		{ op: 'Add', path: `${ENTERPRISE}:department`, value: 'Treasury' },
		{ op: 'Replace', path: 'title', value: 'Senior Analyst' }));
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.userName, 'sven.ek@finance.example.test');
	assert.equal(res.body.name.familyName, 'Ekström');
	assert.equal(res.body.displayName, 'Sven Ekström');
	res = await entra.patch(`/Users/${id}`, patchOps({ op: 'Replace', path: 'userName', value: 'sven@example.test' }));
	assert.equal(res.body.userName, 'sven@example.test');
	assert.deepEqual(res.body.emails.map((e) => e.value), ['sven@example.test']);
	res = await entra.patch(`/Users/${id}`, patchOps({ op: 'Add', value: { displayName: 'Sven E.', externalId: 'new-object-id' } }));
	assert.equal(res.body.displayName, 'Sven E.');
	assert.equal(res.body.externalId, 'new-object-id');

	// Disable: older Entra ID tenants send the boolean as the string "False".
	res = await entra.patch(`/Users/${id}`, patchOps({ op: 'Replace', path: 'active', value: 'False' }));
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.active, false);
	res = await entra.patch(`/Users/${id}`, patchOps({ op: 'Replace', path: 'active', value: 'True' }));
	assert.equal(res.body.active, true);
	res = await entra.patch(`/Users/${id}`, patchOps({ op: 'Replace', path: 'active', value: false }));
	assert.equal(res.body.active, false);

	// Hard delete after the soft-delete period.
	res = await entra.del(`/Users/${id}`);
	assert.equal(res.status, 204);
	assertScimError(await entra.get(`/Users/${id}`), 404);
	assertScimError(await entra.del(`/Users/${id}`), 404);
	const events = auditRows(server, id).map((r) => r.event_type);
	assert.deepEqual(events, ['user_invited', 'user_email_changed', 'user_name_changed', 'user_email_changed',
		'user_name_changed', 'user_external_id_changed', 'user_deprovisioned', 'user_reactivated', 'user_deprovisioned',
		'user_deprovisioned']);
});

test('Entra ID provisions a group and its members', async () => {
	const a = (await entra.post('/Users', entraUser('grp.a@example.test', 'ea'))).body;
	const b = (await entra.post('/Users', entraUser('grp.b@example.test', 'eb'))).body;

	const created = await entra.post('/Groups', {
		schemas: [SCHEMA_GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
		externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
		displayName: 'Finance',
		meta: { resourceType: 'Group' },
	});
	assert.equal(created.status, 201, created.text);
	const id = created.body.id;

	const got = await entra.get(`/Groups/${id}?excludedAttributes=members`);
	assert.equal(got.status, 200);
	assert.equal(got.body.members, undefined);
	assert.equal(got.body.displayName, 'Finance');
	const byName = await entra.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Finance"')}`);
	assert.equal(byName.body.Resources[0].id, id);

	let res = await entra.patch(`/Groups/${id}`, patchOps({ op: 'Add', path: 'members', value: [{ $ref: null, value: a.id }, { $ref: null, value: b.id }] }));
	assert.ok(res.status === 200 || res.status === 204, res.text);
	// Entra ID removes members with a value list on the members path.
	res = await entra.patch(`/Groups/${id}`, patchOps({ op: 'Remove', path: 'members', value: [{ $ref: null, value: a.id }] }));
	assert.equal(res.status, 200, res.text);
	assert.deepEqual(res.body.members.map((m) => m.value), [b.id]);
	res = await entra.patch(`/Groups/${id}`, patchOps({ op: 'Replace', path: 'displayName', value: 'Finance EMEA' }));
	assert.equal(res.body.displayName, 'Finance EMEA');
	const team = await api(server, server.adminToken).get(`/teams/${id}`);
	assert.equal(team.body.data.name, 'Finance EMEA');

	res = await entra.patch(`/Groups/${id}`, patchOps({ op: 'Remove', path: 'members' }));
	assert.deepEqual(res.body.members, []);
	assert.equal((await entra.del(`/Groups/${id}`)).status, 204);
	assertScimError(await entra.get(`/Groups/${id}`), 404);
	const events = auditRows(server, id).map((r) => r.event_type);
	assert.deepEqual(events, ['team_created', 'team_member_added', 'team_member_added', 'team_member_removed',
		'team_name_changed', 'team_member_removed', 'team_deleted']);
});
