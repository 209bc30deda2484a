'use strict';
// SCIM 2.0 at /api/1.0/scim: discovery, who may call it, the error form,
// filters, paging, uniqueness, unknown attributes, ETags and If-Match,
// deprovisioning (tokens, tasks, projects, the deprovision owner, the last
// super admin), groups as teams, and the super admin's SCIM settings. The
// request sequences of Okta and Entra ID are in scim_okta.test.js and
// scim_entra.test.js.

const { test, before, after, describe } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const {
	SCHEMA_USER, SCHEMA_GROUP, SCHEMA_LIST, scimClient, patchOps, assertScimError, createServiceAccount, sql,
	auditRows,
} = require('./lib/scim');

let server;
let admin; // Asana API client with the super admin's token
let scim; // SCIM client with a service account holding `scim`
let scimAccount;
let owner; // the deprovision owner, a member
let teamGid; // a team for projects

before(async () => {
	server = await startServer();
	admin = api(server, server.adminToken);
	scimAccount = await createServiceAccount(server, 'Provisioning', 'scim');
	scim = scimClient(server, scimAccount.token);
	owner = await server.addUser({ email: 'owner@example.test', name: 'Olle Owner' });
	const team = await admin.post('/teams', { name: 'Projects team', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	teamGid = team.body.data.gid;
});

after(async () => {
	await server.stop();
});

function newUser(email, extra = {}) {
	return { schemas: [SCHEMA_USER], userName: email, name: { givenName: 'Given', familyName: 'Family' }, ...extra };
}

describe('access', () => {
	test('discovery endpoints answer in SCIM form', async () => {
		const config = await scim.get('/ServiceProviderConfig');
		assert.equal(config.status, 200, config.text);
		assert.match(config.headers['content-type'], /^application\/scim\+json/);
		assert.equal(config.body.patch.supported, true);
		assert.equal(config.body.bulk.supported, false);
		assert.equal(config.body.filter.supported, true);
		assert.equal(config.body.filter.maxResults, 100);
		assert.equal(config.body.etag.supported, true);
		assert.equal(config.body.authenticationSchemes[0].type, 'oauthbearertoken');

		const types = await scim.get('/ResourceTypes');
		assert.equal(types.status, 200);
		assert.deepEqual(types.body.schemas, [SCHEMA_LIST]);
		assert.deepEqual(types.body.Resources.map((t) => t.endpoint), ['/Users', '/Groups']);
		assert.equal((await scim.get('/ResourceTypes/User')).body.schema, SCHEMA_USER);
		assertScimError(await scim.get('/ResourceTypes/Device'), 404);

		const schemas = await scim.get('/Schemas');
		assert.equal(schemas.status, 200);
		assert.deepEqual(schemas.body.Resources.map((s) => s.id), [SCHEMA_USER, SCHEMA_GROUP,
			'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']);
		const user = await scim.get(`/Schemas/${SCHEMA_USER}`);
		assert.equal(user.status, 200);
		assert.ok(user.body.attributes.some((a) => a.name === 'userName' && a.uniqueness === 'server'));
	});

	test('permission matrix', async () => {
		const full = await createServiceAccount(server, 'Full bot', 'full');
		const read = await createServiceAccount(server, 'Read bot', 'read');
		const exportsOnly = await createServiceAccount(server, 'Export bot', 'exports');
		const member = await server.addUser({ email: 'matrix@example.test', name: 'Matrix Member' });

		assert.equal((await scimClient(server, scimAccount.token).get('/Users')).status, 200);
		assert.equal((await scimClient(server, full.token).get('/Users')).status, 200);
		assertScimError(await scimClient(server, read.token).get('/Users'), 403);
		assertScimError(await scimClient(server, exportsOnly.token).get('/Users'), 403);
		assertScimError(await scimClient(server, member.token).get('/Users'), 403);
		assertScimError(await scimClient(server, server.adminToken).get('/Users'), 403);
		const anonymous = await scimClient(server, null).get('/Users');
		assertScimError(anonymous, 401);
		assert.match(anonymous.headers['www-authenticate'], /^Bearer/);
		assertScimError(await scimClient(server, 'kontor_sa_0000000000000000abc').get('/Users'), 401);
		assertScimError(await scim.get('/Nonsense'), 404);
		assertScimError(await scim.put('/Users', newUser('x@example.test')), 405);
	});

	test('plan without service accounts gets 402', async () => {
		await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'advanced']);
		try {
			assertScimError(await scim.get('/Users'), 402);
		} finally {
			await server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', 'enterprise_plus']);
		}
		assert.equal((await scim.get('/Users')).status, 200);
	});
});

describe('users', () => {
	test('create, read and list a user', async () => {
		const res = await scim.post('/Users', newUser('Ada.Lovelace@Example.test', { externalId: 'ext-ada', active: true }));
		assert.equal(res.status, 201, res.text);
		assert.match(res.headers['content-type'], /^application\/scim\+json/);
		const user = res.body;
		assert.deepEqual(user.schemas, [SCHEMA_USER]);
		assert.match(user.id, /^\d+$/);
		assert.equal(user.userName, 'Ada.Lovelace@Example.test');
		assert.equal(user.externalId, 'ext-ada');
		assert.equal(user.name.givenName, 'Given');
		assert.equal(user.name.familyName, 'Family');
		assert.equal(user.displayName, 'Given Family');
		assert.deepEqual(user.emails, [{ value: 'Ada.Lovelace@Example.test', type: 'work', primary: true }]);
		assert.equal(user.active, true);
		assert.equal(user.meta.resourceType, 'User');
		assert.equal(user.meta.location, `${server.base}/scim/Users/${user.id}`);
		assert.equal(res.headers.location, user.meta.location);
		assert.match(user.meta.version, /^W\/"[0-9a-f]{32}"$/);
		assert.equal(res.headers.etag, user.meta.version);
		assert.ok(Date.parse(user.meta.created) > 0);

		const read = await scim.get(`/Users/${user.id}`);
		assert.equal(read.status, 200);
		assert.equal(read.headers.etag, user.meta.version);
		assert.deepEqual(read.body, user);

		// userName is not case-sensitive; externalId is.
		for (const filter of ['userName eq "ada.lovelace@example.test"', 'USERNAME EQ "ADA.LOVELACE@EXAMPLE.TEST"',
			'externalId eq "ext-ada"', 'emails.value eq "ada.lovelace@example.test"',
			'emails[type eq "work"].value eq "ada.lovelace@example.test"',
			`userName eq "ada.lovelace@example.test" and active eq true and id eq "${user.id}"`]) {
			const list = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
			assert.equal(list.status, 200, `${filter}: ${list.text}`);
			assert.equal(list.body.totalResults, 1, filter);
			assert.equal(list.body.Resources[0].id, user.id, filter);
		}
		const none = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "EXT-ADA"')}`);
		assert.equal(none.body.totalResults, 0);
		assert.deepEqual(none.body.Resources, []);

		// The Asana API returns the same person.
		const asana = await admin.get(`/users/${user.id}`);
		assert.equal(asana.status, 200);
		assert.equal(asana.body.data.name, 'Given Family');
		assert.equal(asana.body.data.email, 'Ada.Lovelace@Example.test');

		const audit = auditRows(server, user.id);
		assert.equal(audit[0].event_type, 'user_invited');
		assert.equal(audit[0].actor_gid, scimAccount.gid);
		assert.equal(audit[0].auth_method, 'service_account');
	});

	test('bodies sent as application/json are accepted', async () => {
		const plain = scimClient(server, scimAccount.token, { contentType: 'application/json' });
		const res = await plain.post('/Users', newUser('json.body@example.test'));
		assert.equal(res.status, 201, res.text);
	});

	test('conflicting userNames get 409 uniqueness', async () => {
		await server.addUser({ email: 'taken@example.test', name: 'Taken Person' });
		assertScimError(await scim.post('/Users', newUser('TAKEN@example.test')), 409, 'uniqueness');
		const bot = await createServiceAccount(server, 'Bot with address', 'read');
		const botEmail = sql(server, `SELECT email FROM users WHERE gid = ${bot.gid}`)[0].email;
		assertScimError(await scim.post('/Users', newUser(botEmail)), 409, 'uniqueness');

		const other = await scim.post('/Users', newUser('renamer@example.test'));
		assert.equal(other.status, 201);
		assertScimError(await scim.patch(`/Users/${other.body.id}`,
			patchOps({ op: 'replace', path: 'userName', value: 'taken@example.test' })), 409, 'uniqueness');
		assertScimError(await scim.put(`/Users/${other.body.id}`, newUser('Taken@Example.test')), 409, 'uniqueness');
	});

	test('bad filters get 400 invalidFilter', async () => {
		for (const filter of ['userName co "ada"', 'userName eq "a" or userName eq "b"', 'title eq "x"',
			'(userName eq "a")', 'not (userName eq "a")', 'userName eq', 'userName eq "unterminated',
			'userName eq "a" and', 'userName pr', 'userName eq "a" and externalId eq "b" and id eq "1" and active eq true and userName eq "a" and title eq "c"']) {
			const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
			assertScimError(res, 400, 'invalidFilter');
		}
	});

	test('unknown attributes and bad values get 400', async () => {
		assertScimError(await scim.post('/Users', newUser('shoe@example.test', { shoeSize: 42 })), 400, 'invalidSyntax');
		assertScimError(await scim.post('/Users', newUser('not-an-address')), 400, 'invalidValue');
		assertScimError(await scim.post('/Users', { schemas: [SCHEMA_USER], name: { givenName: 'No' } }), 400, 'invalidValue');
		assertScimError(await scim.post('/Users', { userName: 'noschema@example.test' }), 400, 'invalidSyntax');
		assertScimError(await scim.post('/Users', newUser('two@example.test', {
			emails: [{ value: 'other@example.test', type: 'work', primary: true }] })), 400, 'invalidValue');
		assertScimError(await scim.post('/Users', newUser('active@example.test', { active: 'maybe' })), 400, 'invalidValue');
		assertScimError(await scim.post('/Users', '{"schemas": ['), 400, 'invalidSyntax');
		assertScimError(await scim.post('/Users', '[]'), 400, 'invalidSyntax');

		// Attributes of the core schema and the enterprise extension that kontor does not keep are accepted.
		const res = await scim.post('/Users', newUser('title@example.test', {
			title: 'Engineer', locale: 'sv-SE', phoneNumbers: [{ value: '+46 8 123', type: 'work' }],
			'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
		}));
		assert.equal(res.status, 201, res.text);
		assert.equal(res.body.title, undefined);

		const id = res.body.id;
		assertScimError(await scim.patch(`/Users/${id}`, patchOps({ op: 'replace', path: 'shoeSize', value: 42 })), 400, 'invalidPath');
		assertScimError(await scim.patch(`/Users/${id}`, patchOps({ op: 'explode', path: 'active', value: true })), 400, 'invalidSyntax');
		assertScimError(await scim.patch(`/Users/${id}`, patchOps({ op: 'remove', path: 'userName' })), 400, 'mutability');
		assertScimError(await scim.patch(`/Users/${id}`, { Operations: [{ op: 'replace', path: 'active', value: false }] }), 400, 'invalidSyntax');
		assertScimError(await scim.get('/Users/123abc'), 404);
		assertScimError(await scim.get('/Users/99999999'), 404);
		// Nothing of the failed requests was applied.
		assert.equal((await scim.get(`/Users/${id}`)).body.active, true);
	});

	test('service accounts are not SCIM users', async () => {
		const list = await scim.get('/Users?count=100');
		assert.ok(!list.body.Resources.some((u) => u.id === scimAccount.gid));
		const res = await scim.get(`/Users/${scimAccount.gid}`);
		assertScimError(res, 404);
		assert.match(res.body.detail, /service account/);
		assertScimError(await scim.patch(`/Users/${scimAccount.gid}`, patchOps({ op: 'replace', path: 'active', value: false })), 404);
		assertScimError(await scim.del(`/Users/${scimAccount.gid}`), 404);
	});

	test('paging with startIndex and count', async () => {
		for (let i = 0; i < 5; i++) {
			assert.equal((await scim.post('/Users', newUser(`page${i}@example.test`))).status, 201);
		}
		const all = await scim.get('/Users');
		const total = all.body.totalResults;
		assert.ok(total >= 5);
		assert.equal(all.body.Resources.length, total);
		assert.equal(all.body.startIndex, 1);
		assert.equal(all.body.itemsPerPage, total);

		const seen = [];
		for (let start = 1; start <= total; start += 2) {
			const page = await scim.get(`/Users?startIndex=${start}&count=2`);
			assert.equal(page.status, 200);
			assert.equal(page.body.totalResults, total);
			assert.equal(page.body.startIndex, start);
			assert.ok(page.body.Resources.length <= 2);
			seen.push(...page.body.Resources.map((u) => u.id));
		}
		assert.deepEqual(seen, all.body.Resources.map((u) => u.id));

		const countOnly = await scim.get('/Users?count=0');
		assert.equal(countOnly.body.totalResults, total);
		assert.deepEqual(countOnly.body.Resources, []);
		const beyond = await scim.get(`/Users?startIndex=${total + 5}`);
		assert.deepEqual(beyond.body.Resources, []);
		const clamped = await scim.get('/Users?startIndex=-3&count=1000');
		assert.equal(clamped.body.startIndex, 1);
		assertScimError(await scim.get('/Users?count=ten'), 400, 'invalidValue');
		const projected = await scim.get('/Users?count=1&attributes=userName');
		assert.deepEqual(Object.keys(projected.body.Resources[0]).sort(), ['id', 'meta', 'schemas', 'userName']);
	});

	test('If-Match and If-None-Match', async () => {
		const created = await scim.post('/Users', newUser('etag@example.test'));
		const id = created.body.id;
		const etag = created.headers.etag;

		assert.equal((await scim.get(`/Users/${id}`, { 'if-none-match': etag })).status, 304);
		const stale = await scim.patch(`/Users/${id}`, patchOps({ op: 'replace', path: 'displayName', value: 'Etag One' }),
			{ 'if-match': 'W/"0000"' });
		assertScimError(stale, 412);
		assert.equal((await scim.get(`/Users/${id}`)).body.displayName, 'Given Family');

		const fresh = await scim.patch(`/Users/${id}`, patchOps({ op: 'replace', path: 'displayName', value: 'Etag One' }),
			{ 'if-match': etag });
		assert.equal(fresh.status, 200, fresh.text);
		assert.notEqual(fresh.headers.etag, etag);
		assertScimError(await scim.put(`/Users/${id}`, newUser('etag@example.test'), { 'if-match': etag }), 412);
		assertScimError(await scim.del(`/Users/${id}`, { 'if-match': etag }), 412);
		assert.equal((await scim.put(`/Users/${id}`, newUser('etag@example.test'), { 'if-match': '*' })).status, 200);
	});
});

describe('deprovisioning', () => {
	// Creates a SCIM user with a personal token, an assigned task and an owned project.
	async function provisionedWorker(email) {
		const created = await scim.post('/Users', newUser(email));
		assert.equal(created.status, 201, created.text);
		const id = created.body.id;
		const token = await server.cli(['token', 'create', '--db', server.db, '--email', email, '--name', 'worker']);
		const task = await admin.post('/tasks', { name: `Task of ${email}`, workspace: server.orgGid, assignee: id });
		assert.equal(task.status, 201, task.text);
		const project = await admin.post('/projects', { name: `Project of ${email}`, workspace: server.orgGid, team: teamGid,
			owner: id });
		assert.equal(project.status, 201, project.text);
		assert.equal((await api(server, token).get('/users/me')).status, 200);
		return { id, token, taskGid: task.body.data.gid, projectGid: project.body.data.gid };
	}

	test('deactivation hands work to the deprovision owner and ends tokens', async () => {
		const settings = await admin.put('/admin/scim_settings', { deprovision_owner: owner.email });
		assert.equal(settings.status, 200, settings.text);
		assert.equal(settings.body.data.deprovision_owner.gid, owner.gid);
		assert.equal(settings.body.data.scim_base_url, `${server.base}/scim`);

		const worker = await provisionedWorker('leaver@example.test');
		const res = await scim.patch(`/Users/${worker.id}`, patchOps({ op: 'replace', value: { active: false } }));
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.active, false);

		assert.equal((await api(server, worker.token).get('/users/me')).status, 401);
		const task = await admin.get(`/tasks/${worker.taskGid}`);
		assert.equal(task.body.data.assignee.gid, owner.gid);
		const project = await admin.get(`/projects/${worker.projectGid}`);
		assert.equal(project.body.data.owner.gid, owner.gid);
		const revoked = sql(server, `SELECT count(*) AS n FROM tokens WHERE user_gid = ${worker.id} AND revoked_at IS NULL`);
		assert.equal(Number(revoked[0].n), 0);

		const record = auditRows(server, worker.id).find((r) => r.event_type === 'user_deprovisioned');
		assert.ok(record, 'a user_deprovisioned record');
		assert.equal(record.actor_gid, scimAccount.gid);
		const details = JSON.parse(record.details);
		assert.equal(details.new_owner_gid, owner.gid);
		assert.equal(details.tasks_reassigned, 1);
		assert.equal(details.projects_reassigned, 1);

		// Still listed, inactive; reactivation brings the person back without the old token.
		const listed = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "leaver@example.test"')}`);
		assert.equal(listed.body.Resources[0].active, false);
		const back = await scim.patch(`/Users/${worker.id}`, patchOps({ op: 'replace', path: 'active', value: true }));
		assert.equal(back.body.active, true);
		assert.equal((await api(server, worker.token).get('/users/me')).status, 401);
		assert.ok(auditRows(server, worker.id).some((r) => r.event_type === 'user_reactivated'));
	});

	test('without an owner, tasks become unassigned', async () => {
		const cleared = await admin.put('/admin/scim_settings', { deprovision_owner: null });
		assert.equal(cleared.body.data.deprovision_owner, null);
		const worker = await provisionedWorker('unowned@example.test');
		const res = await scim.del(`/Users/${worker.id}`);
		assert.equal(res.status, 204, res.text);
		assert.equal((await api(server, worker.token).get('/users/me')).status, 401);
		assert.equal((await admin.get(`/tasks/${worker.taskGid}`)).body.data.assignee, null);
		assert.equal((await admin.get(`/projects/${worker.projectGid}`)).body.data.owner, null);
		assertScimError(await scim.get(`/Users/${worker.id}`), 404);
		const search = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "unowned@example.test"')}`);
		assert.equal(search.body.totalResults, 0);

		// Creating the user again brings the same person back.
		const again = await scim.post('/Users', newUser('unowned@example.test'));
		assert.equal(again.status, 201, again.text);
		assert.equal(again.body.id, worker.id);
		assert.equal(again.body.active, true);
	});

	test('the last super admin cannot be deprovisioned', async () => {
		const list = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${server.adminEmail}"`)}`);
		const adminId = list.body.Resources[0].id;
		const res = await scim.patch(`/Users/${adminId}`, patchOps({ op: 'replace', path: 'active', value: false }));
		assertScimError(res, 409);
		assert.match(res.body.detail, /last active super admin/);
		assertScimError(await scim.del(`/Users/${adminId}`), 409);
		assert.equal((await admin.get('/users/me')).status, 200);
	});
});

describe('groups', () => {
	test('a group is a team', async () => {
		const a = await scim.post('/Users', newUser('member.a@example.test'));
		const b = await scim.post('/Users', newUser('member.b@example.test'));
		const created = await scim.post('/Groups', { schemas: [SCHEMA_GROUP], displayName: 'Design', externalId: 'g-1',
			members: [{ value: a.body.id }] });
		assert.equal(created.status, 201, created.text);
		const group = created.body;
		assert.equal(group.displayName, 'Design');
		assert.equal(group.externalId, 'g-1');
		assert.deepEqual(group.members.map((m) => m.value), [a.body.id]);
		assert.equal(group.members[0].display, 'Given Family');
		assert.equal(group.meta.resourceType, 'Group');

		const team = await admin.get(`/teams/${group.id}`);
		assert.equal(team.status, 200);
		assert.equal(team.body.data.name, 'Design');

		let res = await scim.patch(`/Groups/${group.id}`, patchOps({ op: 'add', path: 'members', value: [{ value: b.body.id }] }));
		assert.equal(res.status, 200, res.text);
		assert.deepEqual(res.body.members.map((m) => m.value).sort(), [a.body.id, b.body.id].sort());
		res = await scim.patch(`/Groups/${group.id}`, patchOps({ op: 'remove', path: `members[value eq "${a.body.id}"]` }));
		assert.deepEqual(res.body.members.map((m) => m.value), [b.body.id]);
		res = await scim.patch(`/Groups/${group.id}`, patchOps({ op: 'replace', path: 'members', value: [{ value: a.body.id }] }));
		assert.deepEqual(res.body.members.map((m) => m.value), [a.body.id]);
		assertScimError(await scim.patch(`/Groups/${group.id}`, patchOps({ op: 'add', path: 'members', value: [{ value: '42' }] })), 400, 'invalidValue');
		assertScimError(await scim.patch(`/Groups/${group.id}`, patchOps({ op: 'replace', path: 'owner', value: 'x' })), 400, 'invalidPath');
		assert.deepEqual((await scim.get(`/Groups/${group.id}`)).body.members.map((m) => m.value), [a.body.id]);

		const byName = await scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "design"')}`);
		assert.equal(byName.body.totalResults, 1);
		const byMember = await scim.get(`/Groups?filter=${encodeURIComponent(`id eq "${group.id}" and members[value eq "${a.body.id}"]`)}&excludedAttributes=members`);
		assert.equal(byMember.body.totalResults, 1);
		assert.equal(byMember.body.Resources[0].members, undefined);
		const notMember = await scim.get(`/Groups?filter=${encodeURIComponent(`id eq "${group.id}" and members.value eq "${b.body.id}"`)}`);
		assert.equal(notMember.body.totalResults, 0);

		const audit = auditRows(server, group.id).map((r) => r.event_type);
		assert.deepEqual(audit, ['team_created', 'team_member_added', 'team_member_added', 'team_member_removed',
			'team_member_removed', 'team_member_added']);

		assert.equal((await scim.del(`/Groups/${group.id}`)).status, 204);
		assertScimError(await scim.get(`/Groups/${group.id}`), 404);
		assert.equal((await admin.get(`/teams/${group.id}`)).status, 200);
		const members = sql(server, `SELECT count(*) AS n FROM team_memberships WHERE team_gid = ${group.id}`);
		assert.equal(Number(members[0].n), 0);
	});

	test('unknown group attributes get 400', async () => {
		assertScimError(await scim.post('/Groups', { schemas: [SCHEMA_GROUP], displayName: 'X', color: 'red' }), 400, 'invalidSyntax');
		assertScimError(await scim.post('/Groups', { schemas: [SCHEMA_GROUP] }), 400, 'invalidValue');
		assertScimError(await scim.get(`/Groups?filter=${encodeURIComponent('displayName sw "D"')}`), 400, 'invalidFilter');
	});
});

describe('settings', () => {
	test('only super admins read and change the SCIM settings', async () => {
		const member = await server.addUser({ email: 'settings.member@example.test', name: 'Settings Member' });
		assert.equal((await api(server, member.token).get('/admin/scim_settings')).status, 403);
		assert.equal((await api(server, scimAccount.token).get('/admin/scim_settings')).status, 403);
		assert.equal((await admin.get('/admin/scim_settings')).status, 200);

		let res = await admin.put('/admin/scim_settings', { deprovision_owner: 'nobody@example.test' });
		assert.equal(res.status, 404, res.text);
		res = await admin.put('/admin/scim_settings', { deprovision_owner: owner.gid, other: 1 });
		assert.equal(res.status, 400, res.text);
		res = await admin.put('/admin/scim_settings', { deprovision_owner: owner.gid });
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.data.deprovision_owner.email, owner.email);
		const record = sql(server, `SELECT event_type, details FROM audit_log
			WHERE event_type = 'workspace_deprovision_owner_changed' ORDER BY gid DESC LIMIT 1`)[0];
		assert.equal(JSON.parse(record.details).new_deprovision_owner_gid, owner.gid);

		await server.cli(['org', 'set-deprovision-owner', '--db', server.db, '--org', server.orgGid, '--email', 'none']);
		assert.equal((await admin.get('/admin/scim_settings')).body.data.deprovision_owner, null);
	});
});
