'use strict';
// Shared by the export and restore tests: an organization with at least one
// row in every section of the export format, and the database helpers that
// read a SQLite or PostgreSQL target directly.

const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const zlib = require('node:zlib');
const { api } = require('./server');
const { SCHEMA_USER, SCHEMA_GROUP, scimClient } = require('./scim');

const SCIM_USER = { userName: 'pia@export.test', externalId: 'idp-user-1' };
const SCIM_GROUP = { displayName: 'Legal', externalId: 'idp-group-1' };

function isPg(db) {
	return /^postgres(ql)?:\/\//.test(db);
}

function sqlRun(db, statement) {
	if (isPg(db)) {
		execFileSync('psql', [db, '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement]);
	} else {
		execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, statement]);
	}
}

function sqlValue(db, query) {
	if (isPg(db)) {
		return execFileSync('psql', [db, '-At', '-v', 'ON_ERROR_STOP=1', '-c', query], { encoding: 'utf8' }).trim();
	}
	return execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, query], { encoding: 'utf8' }).trim();
}

// A new empty database for a restore on the engine of `serverDb`: a SQLite
// path in `tmpDir`, or a PostgreSQL database on the test server. Returns {db, drop()}.
function emptyDatabase(serverDb, tmpDir, label) {
	if (!isPg(serverDb)) {
		return { db: path.join(tmpDir, `${label}.db`), drop: () => {} };
	}
	const serverUri = process.env.KONTOR_TEST_PG_URI;
	const name = 'kontor_t_' + crypto.randomBytes(6).toString('hex');
	execFileSync('psql', [serverUri, '-q', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${name}`]);
	const uri = new URL(serverUri);
	uri.pathname = '/' + name;
	return {
		db: uri.toString(),
		drop: () => execFileSync('psql', [serverUri, '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
	};
}

async function createAccount(client, orgGid, name, permissions, onCreated = () => {}) {
	const res = await client.post(`/workspaces/${orgGid}/service_accounts`, { name, permissions });
	assert.equal(res.status, 201, res.text);
	onCreated(res.body.data);
	return res.body.data.token;
}

// A 32×32 grey RGB PNG, so the export carries binary photo data.
function greyPng() {
	const chunk = (type, data) => {
		const length = Buffer.alloc(4);
		length.writeUInt32BE(data.length);
		const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
		const crc = Buffer.alloc(4);
		crc.writeUInt32BE(zlib.crc32(body));
		return Buffer.concat([length, body, crc]);
	};
	const header = Buffer.from([0, 0, 0, 32, 0, 0, 0, 32, 8, 2, 0, 0, 0]);
	const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(32 * 3, 0x80)]);
	const pixels = zlib.deflateSync(Buffer.concat(Array.from({ length: 32 }, () => row)));
	return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

// Fills the organization of `server` so that its export has a row in every
// section. Returns {accounts (scope name → token), owner ({gid, email, token}:
// the deprovision owner and a division admin), privateProject ({gid, name}),
// statusUpdateGid}.
async function fillEverySection(server) {
	const admin = api(server, server.adminToken);
	const accounts = {};
	let privateProject;
	let owner;
	let statusUpdateGid;
	let fullGid;
	for (const [scope, permissions] of [['full', 'full'], ['exports', ['exports']], ['read', ['read']], ['scim', ['scim']]]) {
		accounts[scope] = await createAccount(admin, server.orgGid, `Backup ${scope}`, permissions, (data) => {
			fullGid = fullGid || data.gid;
		});
	}
	const photo = await admin.raw('PUT', `/service_accounts/${fullGid}/photo`, { headers: { 'content-type': 'image/png' }, body: greyPng() });
	assert.equal(photo.status, 200, photo.text);

	const teams = await admin.get(`/organizations/${server.orgGid}/teams`);
	let team = teams.body.data && teams.body.data[0] && teams.body.data[0].gid;
	if (!team) {
		const created = await admin.post('/teams', { organization: server.orgGid, name: 'Ops' });
		assert.equal(created.status, 201, created.text);
		team = created.body.data.gid;
	}
	const project = await admin.post('/projects', { workspace: server.orgGid, team, name: 'Secret merger', privacy_setting: 'private' });
	assert.equal(project.status, 201, project.text);
	privateProject = { gid: project.body.data.gid, name: 'Secret merger' };
	const task = await admin.post('/tasks', { workspace: server.orgGid, projects: [privateProject.gid], name: 'Draft the term sheet', notes: 'Line one\n"quoted"\ttab \\ backslash åäö' });
	assert.equal(task.status, 201, task.text);
	const subtask = await admin.post(`/tasks/${task.body.data.gid}/subtasks`, { name: 'Call the lawyers' });
	assert.equal(subtask.status, 201, subtask.text);
	const story = await admin.post(`/tasks/${task.body.data.gid}/stories`, { text: 'Looks good' });
	assert.equal(story.status, 201, story.text);

	// The rest gives every section of the export at least one row.
	owner = await server.addUser({ email: 'owner@export.test', name: 'Olle Owner' });
	await server.cli(['division', 'add', '--db', server.db, '--org', server.orgGid, '--name', 'Nordics', '--plan', 'enterprise_plus', '--email', owner.email]);
	const settings = await admin.put('/admin/scim_settings', { deprovision_owner: owner.email });
	assert.equal(settings.status, 200, settings.text);
	const section = await admin.post(`/projects/${privateProject.gid}/sections`, { name: 'Due diligence' });
	assert.equal(section.status, 201, section.text);
	const tag = await admin.post('/tags', { workspace: server.orgGid, name: 'legal' });
	assert.equal(tag.status, 201, tag.text);
	const tagged = await admin.post(`/tasks/${task.body.data.gid}/addTag`, { tag: tag.body.data.gid });
	assert.equal(tagged.status, 200, tagged.text);
	const update = await admin.post('/status_updates', { parent: privateProject.gid, title: 'Week 1', text: 'On plan.', status_type: 'on_track' });
	assert.equal(update.status, 201, update.text);
	statusUpdateGid = update.body.data.gid;

	const scim = scimClient(server, accounts.scim);
	const user = await scim.post('/Users', { schemas: [SCHEMA_USER], ...SCIM_USER, name: { givenName: 'Pia', familyName: 'Provisioned' } });
	assert.equal(user.status, 201, user.text);
	const group = await scim.post('/Groups', { schemas: [SCHEMA_GROUP], ...SCIM_GROUP, members: [{ value: user.body.id }] });
	assert.equal(group.status, 201, group.text);
	return { accounts, owner, privateProject, statusUpdateGid };
}

module.exports = { SCIM_USER, SCIM_GROUP, isPg, sqlRun, sqlValue, emptyDatabase, createAccount, greyPng, fillEverySection };
