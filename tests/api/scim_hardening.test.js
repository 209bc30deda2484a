'use strict';
// SCIM regression tests from a break test. Non-work e-mail addresses never
// become the sign-in address. Deprovisioning takes away teams, projects and
// admin roles, and the members filter skips deleted people. Every error
// under /scim is in SCIM form, and the deprovision owner is an active
// person. Schema discovery lists what kontor accepts. The last group covers
// Content-Type, If-Match lists, names, schemas URNs and filter messages.

const { test, before, after, describe } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const {
	SCHEMA_USER, SCHEMA_GROUP, scimClient, patchOps, assertScimError, createServiceAccount, sql, sqlExec, auditRows,
} = require('./lib/scim');

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

let server;
let admin; // Asana API client with the super admin's token
let scim; // SCIM client with a service account holding `scim`
let scimAccount;
let teamGid; // a team for projects

before(async () => {
	server = await startServer();
	admin = api(server, server.adminToken);
	scimAccount = await createServiceAccount(server, 'Provisioning', 'scim');
	scim = scimClient(server, scimAccount.token);
	const team = await admin.post('/teams', { name: 'Projects team', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	teamGid = team.body.data.gid;
});

after(async () => {
	await server.stop();
});

async function createUser(email, extra = {}) {
	const res = await scim.post('/Users', { schemas: [SCHEMA_USER], userName: email, ...extra });
	assert.equal(res.status, 201, res.text);
	return res.body;
}

function storedEmail(gid) {
	return sql(server, `SELECT email FROM users WHERE gid = ${gid}`)[0].email;
}

function role(gid) {
	return sql(server, `SELECT role FROM workspace_memberships WHERE user_gid = ${gid}`)[0].role;
}

function teamCount(gid) {
	return Number(sql(server, `SELECT count(*) AS n FROM team_memberships WHERE user_gid = ${gid}`)[0].n);
}

function projectCount(gid) {
	return Number(sql(server, `SELECT count(*) AS n FROM project_memberships WHERE user_gid = ${gid}`)[0].n);
}

describe('e-mail addresses', () => {
	test('home address never becomes userName', async () => {
		const alice = await createUser('alice@example.test');
		let res = await scim.patch(`/Users/${alice.id}`, patchOps(
			{ op: 'add', path: 'emails', value: [{ type: 'home', value: 'alice.private@mail.test' }] }));
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.userName, 'alice@example.test');

		res = await scim.patch(`/Users/${alice.id}`, patchOps(
			{ op: 'replace', path: 'emails[type eq "home"].value', value: 'alice.home@mail.test' }));
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.userName, 'alice@example.test');

		res = await scim.patch(`/Users/${alice.id}`, patchOps(
			{ op: 'add', path: 'emails', value: [{ type: 'home', value: 'a.home@mail.test', primary: true }] }));
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.userName, 'alice@example.test');

		res = await scim.patch(`/Users/${alice.id}`, patchOps({ op: 'remove', path: 'emails[type eq "home"]' }));
		assert.equal(res.status, 200, res.text);
		assert.equal(storedEmail(alice.id), 'alice@example.test');
	});

	test('work address still maps', async () => {
		const bob = await createUser('bob@example.test');
		let res = await scim.patch(`/Users/${bob.id}`, patchOps({ op: 'replace', path: 'emails', value: [
			{ type: 'home', value: 'bob@home.test', primary: true },
			{ type: 'work', value: 'bob.work@example.test' },
		] }));
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.userName, 'bob.work@example.test');

		res = await scim.patch(`/Users/${bob.id}`, patchOps(
			{ op: 'replace', path: 'emails[value eq "bob.work@example.test"].value', value: 'bob2@example.test' }));
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.userName, 'bob2@example.test');
		assert.equal(storedEmail(bob.id), 'bob2@example.test');
	});

	test('value filters in paths are checked', async () => {
		const carl = await createUser('carl@example.test');
		for (const path of ['emails[type eq "work" or 1 eq 1].value', 'emails[type eq "work" and primary eq true].value',
			'emails[type ne "home"].value', 'emails[display eq "x"].value', 'emails[type eq work].value',
			'emails[type eq "work"']) {
			const res = await scim.patch(`/Users/${carl.id}`, patchOps({ op: 'replace', path, value: 'x@example.test' }));
			assertScimError(res, 400, 'invalidFilter');
		}
		assertScimError(await scim.patch(`/Users/${carl.id}`, patchOps(
			{ op: 'replace', path: 'emails[type eq "work"].country', value: 'SE' })), 400, 'invalidPath');
		assertScimError(await scim.patch(`/Users/${carl.id}`, patchOps(
			{ op: 'replace', path: 'emails[value eq "someone@else.test"].value', value: 'x@example.test' })), 400, 'noTarget');
		assert.equal(storedEmail(carl.id), 'carl@example.test');
	});
});

describe('deprovisioning', () => {
	// Puts a person in a pushed group, a project and the admin role.
	async function giveAccess(user, groupName) {
		const group = await scim.post('/Groups', { schemas: [SCHEMA_GROUP], displayName: groupName, members: [{ value: user.id }] });
		assert.equal(group.status, 201, group.text);
		const project = await admin.post('/projects', { name: `${groupName} project`, team: teamGid });
		assert.equal(project.status, 201, project.text);
		const added = await admin.post(`/projects/${project.body.data.gid}/addMembers`, { members: user.id });
		assert.equal(added.status, 200, added.text);
		sqlExec(server, `UPDATE workspace_memberships SET role = 'admin' WHERE user_gid = ${user.id}`);
		assert.equal(teamCount(user.id), 1);
		assert.equal(projectCount(user.id), 1);
		return group.body.id;
	}

	test('DELETE removes teams, projects and role', async () => {
		const dan = await createUser('dan@example.test');
		const groupId = await giveAccess(dan, 'Dan group');

		assert.equal((await scim.del(`/Users/${dan.id}`)).status, 204);
		assert.equal(teamCount(dan.id), 0);
		assert.equal(projectCount(dan.id), 0);
		assert.equal(role(dan.id), 'member');
		const events = auditRows(server, dan.id).map((r) => r.event_type);
		assert.ok(events.includes('user_removed_from_project'), events.join());
		assert.ok(events.includes('user_role_changed'), events.join());
		const summary = auditRows(server, dan.id).filter((r) => r.event_type === 'user_deprovisioned').pop();
		const details = JSON.parse(summary.details);
		assert.equal(details.team_memberships_removed, 1);
		assert.equal(details.project_memberships_removed, 1);
		assert.equal(details.old_role, 'admin');
		const teamEvents = auditRows(server, groupId).map((r) => r.event_type);
		assert.equal(teamEvents.at(-1), 'team_member_removed');

		const back = await scim.post('/Users', { schemas: [SCHEMA_USER], userName: 'DAN@example.test' });
		assert.equal(back.status, 201, back.text);
		assert.equal(back.body.id, dan.id);
		assert.deepEqual((await scim.get(`/Groups/${groupId}`)).body.members, []);
		assert.equal(role(dan.id), 'member');
		assert.equal(teamCount(dan.id), 0);
	});

	test('active false removes access; group push re-adds', async () => {
		const eve = await createUser('eve@example.test');
		const groupId = await giveAccess(eve, 'Eve group');

		let res = await scim.patch(`/Users/${eve.id}`, patchOps({ op: 'replace', path: 'active', value: false }));
		assert.equal(res.status, 200, res.text);
		assert.equal(teamCount(eve.id), 0);
		assert.equal(projectCount(eve.id), 0);
		assert.equal(role(eve.id), 'member');

		res = await scim.patch(`/Users/${eve.id}`, patchOps({ op: 'replace', path: 'active', value: true }));
		assert.equal(res.status, 200, res.text);
		assert.equal(teamCount(eve.id), 0);
		assert.equal(role(eve.id), 'member');

		res = await scim.patch(`/Groups/${groupId}`, patchOps({ op: 'add', path: 'members', value: [{ value: eve.id }] }));
		assert.equal(res.status, 200, res.text);
		assert.deepEqual(res.body.members.map((m) => m.value), [eve.id]);
	});

	test('super admin comes back as member', async () => {
		const sadm = await server.addUser({ email: 'sadm2@example.test', name: 'Second Super', role: 'super_admin' });
		assert.equal((await scim.del(`/Users/${sadm.gid}`)).status, 204);
		const back = await scim.post('/Users', { schemas: [SCHEMA_USER], userName: 'SADM2@example.test' });
		assert.equal(back.status, 201, back.text);
		assert.equal(role(sadm.gid), 'member');
	});

	test('reactivation strips access kept elsewhere', async () => {
		// A person deactivated outside SCIM keeps their rows until SCIM reactivates them.
		const fay = await createUser('fay@example.test');
		const groupId = await giveAccess(fay, 'Fay group');
		sqlExec(server, `UPDATE workspace_memberships SET is_active = 0 WHERE user_gid = ${fay.id}`);
		const res = await scim.patch(`/Users/${fay.id}`, patchOps({ op: 'replace', path: 'active', value: true }));
		assert.equal(res.status, 200, res.text);
		assert.equal(teamCount(fay.id), 0);
		assert.equal(role(fay.id), 'member');
		assert.deepEqual((await scim.get(`/Groups/${groupId}`)).body.members, []);
	});

	test('members filter skips deleted users', async () => {
		const gus = await createUser('gus@example.test');
		const group = await scim.post('/Groups', { schemas: [SCHEMA_GROUP], displayName: 'Gus group', members: [{ value: gus.id }] });
		assert.equal(group.status, 201, group.text);
		assert.equal((await scim.del(`/Users/${gus.id}`)).status, 204);
		// A membership row left by another path must not make the filter match.
		sqlExec(server, `INSERT INTO team_memberships (gid, workspace_gid, team_gid, user_gid, is_admin, is_guest, created_at)
			VALUES (${BigInt(gus.id) + 7n}, ${server.orgGid}, ${group.body.id}, ${gus.id}, 0, 0, 1)`);
		const res = await scim.get(`/Groups?filter=${encodeURIComponent(`members.value eq "${gus.id}"`)}`);
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.totalResults, 0);
	});
});

describe('error form', () => {
	test('body too large is a SCIM 413', async () => {
		const res = await scim.post('/Users', { schemas: [SCHEMA_USER], userName: 'big@example.test', title: 'x'.repeat(1100000) });
		assertScimError(res, 413);
		// Outside /scim the Asana form stays.
		const asana = await admin.post('/tags', { name: 'x'.repeat(1100000), workspace: server.orgGid });
		assert.equal(asana.status, 413);
		assert.ok(Array.isArray(asana.body.errors), asana.text);
	});

	test('unknown SCIM route is a SCIM 404', async () => {
		const res = await scim.get('/Devices');
		assertScimError(res, 404);
		assert.doesNotMatch(res.body.detail, /Asana/);
		assert.match(res.body.detail, /Users/);
		assertScimError(await scim.del('/Users'), 405);
	});

	test('long filter is a SCIM 400', async () => {
		const res = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${'a'.repeat(3000)}"`)}`);
		assertScimError(res, 400, 'invalidFilter');
	});
});

describe('deprovision owner', () => {
	test('service account is refused', async () => {
		const bot = await createServiceAccount(server, 'Owner bot', 'full');
		const res = await admin.put('/admin/scim_settings', { deprovision_owner: bot.gid });
		assert.equal(res.status, 400, res.text);
		assert.match(res.body.errors[0].message, /service account/);
		const botEmail = sql(server, `SELECT email FROM users WHERE gid = ${bot.gid}`)[0].email;
		await assert.rejects(server.cli(['org', 'set-deprovision-owner', '--db', server.db, '--org', server.orgGid,
			'--email', botEmail]), /service account/);
	});

	test('wrong type names e-mail', async () => {
		const res = await admin.put('/admin/scim_settings', { deprovision_owner: 12 });
		assert.equal(res.status, 400, res.text);
		assert.match(res.body.errors[0].message, /e-mail address/);
	});

	test('inactive owner is shown', async () => {
		const lead = await createUser('lead@example.test');
		const out = await server.cli(['org', 'set-deprovision-owner', '--db', server.db, '--org', server.orgGid,
			'--email', 'LEAD@example.test']);
		assert.match(out, /lead@example\.test/);
		assert.doesNotMatch(out, /LEAD/);
		let settings = await admin.get('/admin/scim_settings');
		assert.equal(settings.body.data.deprovision_owner_active, true, settings.text);

		const res = await scim.patch(`/Users/${lead.id}`, patchOps({ op: 'replace', path: 'active', value: false }));
		assert.equal(res.status, 200, res.text);
		settings = await admin.get('/admin/scim_settings');
		assert.equal(settings.body.data.deprovision_owner.gid, lead.id);
		assert.equal(settings.body.data.deprovision_owner_active, false);

		await server.cli(['org', 'set-deprovision-owner', '--db', server.db, '--org', server.orgGid, '--email', 'none']);
		settings = await admin.get('/admin/scim_settings');
		assert.equal(settings.body.data.deprovision_owner_active, null);
	});

	test('scim account gets the super admin message', async () => {
		for (const res of [await api(server, scimAccount.token).get('/admin/scim_settings'),
			await api(server, scimAccount.token).put('/admin/scim_settings', { deprovision_owner: null })]) {
			assert.equal(res.status, 403, res.text);
			assert.match(res.body.errors[0].message, /^Only super admins/);
		}
	});
});

describe('discovery', () => {
	test('enterprise schema is served', async () => {
		const types = await scim.get('/ResourceTypes/User');
		assert.equal(types.body.schemaExtensions[0].schema, ENTERPRISE);
		const res = await scim.get(`/Schemas/${ENTERPRISE}`);
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.id, ENTERPRISE);
		const names = res.body.attributes.map((a) => a.name);
		for (const name of ['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager']) {
			assert.ok(names.includes(name), name);
		}
	});

	test('User schema lists accepted attributes', async () => {
		const res = await scim.get(`/Schemas/${SCHEMA_USER}`);
		assert.equal(res.status, 200, res.text);
		const byName = Object.fromEntries(res.body.attributes.map((a) => [a.name, a]));
		for (const name of ['userName', 'name', 'displayName', 'active', 'emails', 'title', 'locale', 'nickName',
			'phoneNumbers', 'addresses', 'password']) {
			assert.ok(byName[name], name);
		}
		assert.equal(byName.title.returned, 'never');
		assert.equal(byName.userName.returned, 'default');
		const nameParts = byName.name.subAttributes.map((a) => a.name);
		assert.ok(nameParts.includes('middleName'));
	});
});

describe('request checks', () => {
	test('Content-Type is checked', async () => {
		const body = { schemas: [SCHEMA_USER], userName: 'ctype@example.test' };
		for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
			assertScimError(await scimClient(server, scimAccount.token, { contentType: type }).post('/Users', body), 415);
		}
		const res = await fetch(`${server.base}/scim/Users`, {
			method: 'POST',
			headers: { authorization: `Bearer ${scimAccount.token}` },
			body: new Blob([JSON.stringify(body)]),
		});
		assert.equal(res.status, 415);
		assert.equal(sql(server, "SELECT count(*) AS n FROM users WHERE email = 'ctype@example.test'")[0].n, 0);
		const json = scimClient(server, scimAccount.token, { contentType: 'Application/JSON; charset=utf-8' });
		assert.equal((await json.post('/Users', body)).status, 201);
	});

	test('If-Match takes a list', async () => {
		const user = await createUser('ifmatch@example.test');
		const res = await scim.patch(`/Users/${user.id}`, patchOps({ op: 'replace', path: 'displayName', value: 'If Match' }),
			{ 'if-match': `W/"x", ${user.meta.version}` });
		assert.equal(res.status, 200, res.text);
		assertScimError(await scim.patch(`/Users/${user.id}`, patchOps({ op: 'replace', path: 'displayName', value: 'Y' }),
			{ 'if-match': 'W/"x", W/"y"' }), 412);

		// Two If-Match fields are one list: fetch joins them, so send them over a raw socket.
		const current = (await scim.get(`/Users/${user.id}`)).body.meta.version;
		const body = JSON.stringify(patchOps({ op: 'replace', path: 'displayName', value: 'Two Fields' }));
		const url = new URL(`${server.base}/scim/Users/${user.id}`);
		const reply = await new Promise((resolve, reject) => {
			const socket = require('node:net').connect(Number(url.port), url.hostname, () => {
				socket.write(`PATCH ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n`
					+ `Authorization: Bearer ${scimAccount.token}\r\nContent-Type: application/scim+json\r\n`
					+ `If-Match: W/"x"\r\nIf-Match: ${current}\r\nConnection: close\r\n`
					+ `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
			});
			let text = '';
			socket.on('data', (chunk) => { text += chunk; });
			socket.on('end', () => resolve(text));
			socket.on('error', reject);
		});
		assert.match(reply, /^HTTP\/1\.1 200/, reply);
	});

	test('names are checked', async () => {
		const user = await createUser('names@example.test', { displayName: 'Named Person' });
		assertScimError(await scim.patch(`/Users/${user.id}`, patchOps({ op: 'replace', path: 'displayName', value: '' })),
			400, 'invalidValue');
		for (const value of ['evil\u202egnp.exe', 'mark\u200fhere', '\u200b\u3164']) {
			assertScimError(await scim.patch(`/Users/${user.id}`, patchOps({ op: 'replace', path: 'displayName', value })),
				400, 'invalidValue');
			assertScimError(await scim.patch(`/Users/${user.id}`, patchOps({ op: 'replace', path: 'name.givenName', value })),
				400, 'invalidValue');
		}
		assertScimError(await scim.post('/Users', { schemas: [SCHEMA_USER], userName: 'n2@example.test',
			name: { formatted: 'a\u202eb' } }), 400, 'invalidValue');
		assert.equal((await scim.get(`/Users/${user.id}`)).body.displayName, 'Named Person');

		// displayName wins over name.formatted in one request, whatever the order.
		const res = await scim.patch(`/Users/${user.id}`, patchOps(
			{ op: 'replace', path: 'displayName', value: 'Display Wins' },
			{ op: 'replace', path: 'name.formatted', value: 'Formatted Loses' }));
		assert.equal(res.status, 200, res.text);
		assert.equal(res.body.displayName, 'Display Wins');
	});

	test('unknown schemas URNs get 400', async () => {
		assertScimError(await scim.post('/Users', { schemas: [SCHEMA_USER, 'urn:example:custom'], userName: 'urn@example.test' }),
			400, 'invalidSyntax');
		assertScimError(await scim.post('/Groups', { schemas: [SCHEMA_GROUP, 'urn:example:custom'], displayName: 'U' }),
			400, 'invalidSyntax');
		const user = await createUser('urn2@example.test', { schemas: [SCHEMA_USER, ENTERPRISE] });
		assertScimError(await scim.patch(`/Users/${user.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp',
			SCHEMA_USER], Operations: [{ op: 'replace', path: 'active', value: true }] }), 400, 'invalidSyntax');
	});

	test('filter errors use schema case', async () => {
		const res = await scim.get(`/Users?filter=${encodeURIComponent('nickName eq "x"')}`);
		assertScimError(res, 400, 'invalidFilter');
		assert.match(res.body.detail, /userName/);
		assert.match(res.body.detail, /externalId/);
		const upper = await scim.get(`/Users?filter=${encodeURIComponent('USERNAME eq "alice@example.test"')}`);
		assert.equal(upper.body.totalResults, 1);
	});

	test('token create refuses a deactivated person', async () => {
		const hal = await createUser('hal@example.test');
		assert.equal((await scim.del(`/Users/${hal.id}`)).status, 204);
		await assert.rejects(server.cli(['token', 'create', '--db', server.db, '--email', 'hal@example.test']),
			/deactivated/);
	});
});
