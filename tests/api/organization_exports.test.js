'use strict';
// Organization exports. Who may start and read them (scopes, plans, people,
// other organizations), and the background job until `finished`. The signed
// download_url (content, gzip, expiry, forgery) and the deletion of expired
// data. A server restart during an export. The `kontor export` and `kontor
// restore` round trip on the command line with a row in every section, and a
// server on the restored database (audit log, SCIM externalId mappings).

const { test, before, after, describe } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { startServer, api, binaryPath } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');
const { scimClient } = require('./lib/scim');
const { SCIM_USER, SCIM_GROUP, isPg, sqlRun, sqlValue, emptyDatabase: emptyDatabaseIn, createAccount, fillEverySection } = require('./lib/export_fixture');

const POLL_MS = 100;
const FINISH_TIMEOUT_MS = 15000;

let server;
let admin;
let tmpDir;
let accounts; // scope name → token
let privateProject; // {gid, name}, visible to its members only
let owner; // {gid, email, token}: the deprovision owner and a division admin
let statusUpdateGid;

// A new empty database for a restore, on the engine of the test server.
function emptyDatabase(label) {
	return emptyDatabaseIn(server.db, tmpDir, label);
}

async function startExport(srv, token) {
	const res = await api(srv, token).post('/organization_exports', { organization: srv.orgGid });
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

// Polls an export until its state is `finished` or `error`. Returns the last body.
async function waitForExport(srv, token, gid, timeoutMs = FINISH_TIMEOUT_MS) {
	const deadline = Date.now() + timeoutMs;
	const client = api(srv, token);
	let last;
	while (Date.now() < deadline) {
		const res = await client.get(`/organization_exports/${gid}`);
		assert.equal(res.status, 200, res.text);
		last = res.body.data;
		if (last.state === 'finished' || last.state === 'error') {
			return last;
		}
		await new Promise((resolve) => setTimeout(resolve, POLL_MS));
	}
	throw new Error(`export ${gid} did not finish within ${timeoutMs} ms; last state ${last && last.state}:\n${srv.logs().split('\n').filter((line) => !line.includes('"module":"http"')).join('\n').slice(-3000)}`);
}

async function download(url) {
	const res = await fetch(url, { signal: AbortSignal.timeout(30000) });
	const bytes = Buffer.from(await res.arrayBuffer());
	return { status: res.status, headers: res.headers, bytes };
}

// The document without exported_at, the one field that differs between two exports of the same data.
function comparable(document) {
	const copy = { ...document };
	delete copy.exported_at;
	return copy;
}

before(async () => {
	server = await startServer({ org: 'Export Org', plan: 'enterprise_plus', env: { KONTOR_JOBS_POLL_MS: '100' } });
	admin = api(server, server.adminToken);
	tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-export-test-'));
	({ accounts, owner, privateProject, statusUpdateGid } = await fillEverySection(server));
});

after(async () => {
	if (server) {
		await server.stop();
	}
	if (tmpDir) {
		fs.rmSync(tmpDir, { recursive: true, force: true });
	}
});

describe('permissions', () => {
	test('scope matrix for creating an export', async () => {
		const cases = [
			['person (super admin)', server.adminToken, 403, /Only a service account with the `exports` or `full` permission/],
			['service account full', accounts.full, 201, null],
			['service account exports', accounts.exports, 201, null],
			['service account read', accounts.read, 403, /lacks the scope `exports`/],
			['service account scim', accounts.scim, 403, /lacks the scope `exports`/],
		];
		for (const [who, token, status, message] of cases) {
			const res = await api(server, token).post('/organization_exports', { organization: server.orgGid });
			assert.equal(res.status, status, `${who}: ${res.text}`);
			if (message) {
				assert.match(res.body.errors[0].message, message, who);
			} else {
				assertMatchesSpec('POST', '/organization_exports', res);
				assert.match(res.headers.location, new RegExp(`/api/1\\.0/organization_exports/${res.body.data.gid}$`), who);
				assert.equal(res.body.data.resource_type, 'organization_export');
				assert.ok(['pending', 'started', 'finished'].includes(res.body.data.state), res.text);
				assert.equal(res.body.data.organization.gid, server.orgGid);
				const done = await waitForExport(server, token, res.body.data.gid);
				assert.equal(done.state, 'finished', who);
			}
		}
	});

	test('scope matrix for reading an export', async () => {
		const created = await startExport(server, accounts.exports);
		for (const [who, token, status] of [['person', server.adminToken, 403], ['read', accounts.read, 403], ['scim', accounts.scim, 403], ['full', accounts.full, 200], ['exports', accounts.exports, 200]]) {
			const res = await api(server, token).get(`/organization_exports/${created.gid}`);
			assert.equal(res.status, status, `${who}: ${res.text}`);
			if (status === 200) {
				assertMatchesSpec('GET', '/organization_exports/{organization_export_gid}', res);
			}
		}
		await waitForExport(server, accounts.exports, created.gid);
	});

	test('plan enterprise 402, legacy_enterprise ok', async () => {
		const setPlan = (plan) => server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', plan]);
		await setPlan('enterprise');
		try {
			const res = await api(server, accounts.exports).post('/organization_exports', { organization: server.orgGid });
			assert.equal(res.status, 402, res.text);
			assert.match(res.body.errors[0].message, /enterprise_plus or legacy_enterprise; this organization is on enterprise\./);
			await setPlan('legacy_enterprise');
			const created = await startExport(server, accounts.exports);
			await waitForExport(server, accounts.exports, created.gid);
		} finally {
			await setPlan('enterprise_plus');
		}
	});

	test('another organization is 404 both ways', async () => {
		const otherGid = await server.cli(['init', '--db', server.db, '--org', 'Other Org', '--plan', 'enterprise_plus', '--admin-email', 'boss@other.test'],
			{ KONTOR_ADMIN_PASSWORD: 'correct horse battery' });
		const bossToken = await server.cli(['token', 'create', '--db', server.db, '--email', 'boss@other.test', '--name', 'test']);
		const otherSa = await createAccount(api(server, bossToken), otherGid, 'Other backup', 'full');

		let res = await api(server, accounts.full).post('/organization_exports', { organization: otherGid });
		assert.equal(res.status, 404, res.text);
		assert.match(res.body.errors[0].message, /organization not found/);

		const ours = await startExport(server, accounts.full);
		res = await api(server, otherSa).get(`/organization_exports/${ours.gid}`);
		assert.equal(res.status, 404, res.text);
		await waitForExport(server, accounts.full, ours.gid);
	});

	test('official asana client round trip', async () => {
		const { Asana, asanaClient } = require('./lib/asana');
		const exportsApi = new Asana.OrganizationExportsApi(asanaClient(server, accounts.exports));
		const created = await exportsApi.createOrganizationExport({ data: { organization: server.orgGid } });
		assert.equal(created.data.resource_type, 'organization_export');
		await waitForExport(server, accounts.exports, created.data.gid);
		const fetched = await exportsApi.getOrganizationExport(created.data.gid, { opt_fields: 'state,download_url,organization.name' });
		assert.equal(fetched.data.state, 'finished');
		assert.equal(fetched.data.organization.name, 'Export Org');
		const file = await download(fetched.data.download_url);
		assert.equal(file.status, 200);
		assert.equal(JSON.parse(zlib.gunzipSync(file.bytes).toString('utf8')).format, 'kontor-export');
	});

	test('body validation', async () => {
		const client = api(server, accounts.full);
		let res = await client.post('/organization_exports', {});
		assert.equal(res.status, 400, res.text);
		assert.match(res.body.errors[0].message, /organization/);
		res = await client.post('/organization_exports', { organization: server.orgGid, format: 'csv' });
		assert.equal(res.status, 400, res.text);
		assert.match(res.body.errors[0].message, /format/);
		res = await client.get('/organization_exports/not-a-gid');
		assert.equal(res.status, 400, res.text);
		res = await client.get('/organization_exports/123456789');
		assert.equal(res.status, 404, res.text);
	});

	test('audit records workspace_export_started', async () => {
		const rows = sqlValue(server.db, `SELECT CAST(actor_gid AS TEXT) || ' ' || event_category || ' ' || auth_method FROM audit_log WHERE event_type = 'workspace_export_started' AND workspace_gid = ${server.orgGid}`);
		assert.ok(rows.split('\n').length >= 3, rows);
		assert.match(rows, /^\d+ content_export service_account$/m);
	});
});

describe('download', () => {
	let finished;

	before(async () => {
		const created = await startExport(server, accounts.exports);
		finished = await waitForExport(server, accounts.exports, created.gid);
		assert.equal(finished.state, 'finished');
	});

	test('download serves gzip organization JSON', async () => {
		assert.match(finished.download_url, new RegExp(`^${server.url}/api/1\\.0/organization_exports/${finished.gid}/download\\?expires=\\d+&issued_to=\\d+&signature=[0-9a-f]{64}$`));
		const res = await download(finished.download_url);
		assert.equal(res.status, 200);
		assert.equal(res.headers.get('content-type'), 'application/gzip');
		assert.equal(res.headers.get('content-encoding'), null);
		assert.match(res.headers.get('content-disposition'), /attachment; filename="kontor-export-\d+-\d+\.json\.gz"/);
		const document = JSON.parse(zlib.gunzipSync(res.bytes).toString('utf8'));
		assert.equal(document.format, 'kontor-export');
		assert.equal(document.version, 1);
		assert.equal(document.organization.gid, server.orgGid);
		const project = document.projects.find((p) => p.gid === privateProject.gid);
		assert.ok(project, 'the private project is in the export');
		assert.equal(project.privacy_setting, 'private');
		const task = document.tasks.find((t) => t.name === 'Draft the term sheet');
		assert.equal(task.notes, 'Line one\n"quoted"\ttab \\ backslash åäö');
		assert.ok(document.tasks.some((t) => t.parent_gid === task.gid), 'the subtask keeps its parent');
		assert.ok(document.stories.some((s) => s.task_gid === task.gid && s.text === 'Looks good'));
		assert.ok(document.service_accounts.length >= 4);
		assert.ok(document.photos.length > 0, 'the photo is in the export');
		const png = Buffer.from(document.photos[0].png, 'base64');
		assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
		assert.ok(document.audit_log.some((e) => e.event_type === 'workspace_export_started'));
		for (const [name, rows] of Object.entries(document.row_counts)) {
			assert.equal(document[name].length, rows, name);
		}
	});

	test('export leaves out every secret', async () => {
		const text = zlib.gunzipSync((await download(finished.download_url)).bytes).toString('utf8');
		assert.doesNotMatch(text, /password_hash|"hash"|\$argon2/);
		for (const token of [server.adminToken, ...Object.values(accounts)]) {
			assert.ok(!text.includes(token), 'a token is in the export');
		}
		assert.ok(!text.includes('Other Org'), 'another organization leaks into the export');
	});

	test('curl -o saves a valid gzip file', () => {
		const file = path.join(tmpDir, 'curl.json.gz');
		execFileSync('curl', ['-sS', '-f', '-o', file, finished.download_url]);
		const document = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
		assert.equal(document.organization.gid, server.orgGid);
	});

	test('forged links rejected with 403', async () => {
		const url = new URL(finished.download_url);
		const cases = [];
		const badSignature = new URL(url);
		const sig = url.searchParams.get('signature');
		badSignature.searchParams.set('signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
		cases.push(['changed signature', badSignature, /signature does not match/]);
		const laterExpiry = new URL(url);
		laterExpiry.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
		cases.push(['extended expiry', laterExpiry, /signature does not match/]);
		const otherGid = new URL(url.toString().replace(`/organization_exports/${finished.gid}/`, '/organization_exports/123456789/'));
		cases.push(['other export', otherGid, /signature does not match/]);
		const otherHolder = new URL(url);
		otherHolder.searchParams.set('issued_to', String(BigInt(url.searchParams.get('issued_to')) + 1n));
		cases.push(['other holder', otherHolder, /signature does not match/]);
		const noHolder = new URL(url);
		noHolder.searchParams.delete('issued_to');
		cases.push(['no holder', noHolder, /incomplete/]);
		const noSignature = new URL(url);
		noSignature.searchParams.delete('signature');
		cases.push(['no signature', noSignature, /incomplete/]);
		const shortSignature = new URL(url);
		shortSignature.searchParams.set('signature', sig.slice(0, 10));
		cases.push(['short signature', shortSignature, /invalid/]);
		for (const [name, link, message] of cases) {
			const res = await download(link.toString());
			assert.equal(res.status, 403, name);
			assert.match(JSON.parse(res.bytes.toString()).errors[0].message, message, name);
		}
	});

	test('link stops on plan change', async () => {
		const setPlan = (plan) => server.cli(['org', 'set-plan', '--db', server.db, '--org', server.orgGid, '--plan', plan]);
		const res = await api(server, accounts.exports).get(`/organization_exports/${finished.gid}`);
		const url = res.body.data.download_url;
		await setPlan('enterprise');
		try {
			const blocked = await download(url);
			assert.equal(blocked.status, 402);
			assert.match(JSON.parse(blocked.bytes.toString()).errors[0].message, /organization's plan is enterprise/);
		} finally {
			await setPlan('enterprise_plus');
		}
		assert.equal((await download(url)).status, 200);
	});

	test('link stops when requester deleted', async () => {
		let accountGid;
		const token = await createAccount(admin, server.orgGid, 'Short-lived backup', ['exports'], (created) => {
			accountGid = created.gid;
		});
		const created = await startExport(server, token);
		const done = await waitForExport(server, token, created.gid);
		assert.equal((await download(done.download_url)).status, 200);
		const deleted = await admin.del(`/service_accounts/${accountGid}`);
		assert.equal(deleted.status, 200, deleted.text);
		const refused = await download(done.download_url);
		assert.equal(refused.status, 403);
		assert.match(JSON.parse(refused.bytes.toString()).errors[0].message, /service account that requested the export was deleted/);
	});

	test('link stops when its holder deleted', async () => {
		const starterToken = await createAccount(admin, server.orgGid, 'Backup starter', ['exports']);
		let holderGid;
		const holderToken = await createAccount(admin, server.orgGid, 'Backup fetcher', ['exports'], (created) => {
			holderGid = created.gid;
		});
		const created = await startExport(server, starterToken);
		await waitForExport(server, starterToken, created.gid);
		const fetched = await api(server, holderToken).get(`/organization_exports/${created.gid}`);
		assert.equal(fetched.status, 200, fetched.text);
		const url = fetched.body.data.download_url;
		assert.equal(new URL(url).searchParams.get('issued_to'), holderGid);
		assert.equal((await download(url)).status, 200);

		const deleted = await admin.del(`/service_accounts/${holderGid}`);
		assert.equal(deleted.status, 200, deleted.text);
		const refused = await download(url);
		assert.equal(refused.status, 403);
		assert.match(JSON.parse(refused.bytes.toString()).errors[0].message, /service account that received this download link was deleted/);
	});

	test('link stops when requester deauthorized', async () => {
		let accountGid;
		const token = await createAccount(admin, server.orgGid, 'Deauthorized backup', ['exports'], (created) => {
			accountGid = created.gid;
		});
		const created = await startExport(server, token);
		const done = await waitForExport(server, token, created.gid);
		assert.equal((await download(done.download_url)).status, 200);
		const deauthorized = await admin.post(`/service_accounts/${accountGid}/deauthorize`, {});
		assert.equal(deauthorized.status, 200, deauthorized.text);
		const refused = await download(done.download_url);
		assert.equal(refused.status, 403);
		assert.match(JSON.parse(refused.bytes.toString()).errors[0].message, /requested the export was deleted, deactivated or deauthorized/);
	});

	test('export limit 429 has Retry-After', async () => {
		// Unfinished rows count against the limit whatever the job does, so insert them directly.
		const gids = [];
		for (let i = 0; i < 3; i++) {
			const gid = String(BigInt(9100000000000000) + BigInt(crypto.randomInt(1, 2 ** 40)));
			gids.push(gid);
			sqlRun(server.db, `INSERT INTO organization_exports (gid, workspace_gid, state, created_at) VALUES (${gid}, ${server.orgGid}, 'pending', 1)`);
		}
		try {
			const res = await api(server, accounts.exports).post('/organization_exports', { organization: server.orgGid });
			assert.equal(res.status, 429, res.text);
			assert.match(res.headers['retry-after'], /^\d+$/);
		} finally {
			sqlRun(server.db, `DELETE FROM organization_exports WHERE gid IN (${gids.join(', ')})`);
		}
	});

	test('expired link and data cleanup', async () => {
		const soon = Date.now() * 1000 + 2000000;
		sqlRun(server.db, `UPDATE organization_exports SET data_expires_at = ${soon} WHERE gid = ${finished.gid}`);
		const res = await api(server, accounts.exports).get(`/organization_exports/${finished.gid}`);
		const url = res.body.data.download_url;
		assert.ok(url, res.text);
		assert.equal((await download(url)).status, 200);
		await new Promise((resolve) => setTimeout(resolve, 3100));
		const expired = await download(url);
		assert.equal(expired.status, 403);
		assert.match(JSON.parse(expired.bytes.toString()).errors[0].message, /This download link expired at \d{4}-/);
		const after = await api(server, accounts.exports).get(`/organization_exports/${finished.gid}`);
		assert.equal(after.body.data.download_url, null);
		assert.equal(after.body.data.state, 'finished');

		// The cleanup job was queued for the original expiry; bring it forward.
		sqlRun(server.db, `UPDATE jobs SET run_at = 0 WHERE kind = 'organization_export_cleanup' AND payload LIKE '%${finished.gid}%'`);
		const deadline = Date.now() + 10000;
		while (Date.now() < deadline && sqlValue(server.db, `SELECT count(*) FROM organization_export_chunks WHERE export_gid = ${finished.gid}`) !== '0') {
			await new Promise((resolve) => setTimeout(resolve, POLL_MS));
		}
		assert.equal(sqlValue(server.db, `SELECT count(*) FROM organization_export_chunks WHERE export_gid = ${finished.gid}`), '0');
		assert.equal(sqlValue(server.db, `SELECT data_deleted FROM organization_exports WHERE gid = ${finished.gid}`), '1');
	});
});

describe('restart', () => {
	test('restart during export finishes', async () => {
		// A pause after each batch keeps the export running long enough to restart in the middle.
		const slow = await startServer({ org: 'Slow Org', env: { KONTOR_JOBS_POLL_MS: '100', KONTOR_EXPORT_THROTTLE_MS: '200' } });
		try {
			const token = await createAccount(api(slow, slow.adminToken), slow.orgGid, 'Backup', ['exports']);
			const created = await startExport(slow, token);
			const deadline = Date.now() + 10000;
			let state = created.state;
			while (state !== 'started' && Date.now() < deadline) {
				await new Promise((resolve) => setTimeout(resolve, 50));
				state = (await api(slow, token).get(`/organization_exports/${created.gid}`)).body.data.state;
			}
			assert.equal(state, 'started');

			await slow.restart();
			assert.match(slow.logs(), /organization export handed back to the queue/);
			const afterRestart = (await api(slow, token).get(`/organization_exports/${created.gid}`)).body.data.state;
			assert.ok(['pending', 'started', 'finished'].includes(afterRestart), afterRestart);

			const done = await waitForExport(slow, token, created.gid);
			assert.equal(done.state, 'finished');
			const document = JSON.parse(zlib.gunzipSync((await download(done.download_url)).bytes).toString('utf8'));
			assert.equal(document.organization.gid, slow.orgGid);
			assert.equal(document.users.length, document.row_counts.users);
		} finally {
			await slow.stop();
		}
	});
});

describe('command line', () => {
	test('export restore export round trip', async () => {
		const first = path.join(tmpDir, 'first.json.gz');
		const second = path.join(tmpDir, 'second.json.gz');
		await server.cli(['export', '--db', server.db, '--org', server.orgGid, '--output', first]);
		assert.ok(!fs.existsSync(first + '.partial'));

		const target = emptyDatabase('restored');
		try {
			const pepper = { KONTOR_PEPPER_FILE: path.join(tmpDir, 'restored.pepper') };
			const restoredGid = await server.cli(['restore', '--db', target.db, '--input', first], pepper);
			assert.equal(restoredGid, server.orgGid);
			await server.cli(['export', '--db', target.db, '--org', server.orgGid, '--output', second], pepper);

			const a = JSON.parse(zlib.gunzipSync(fs.readFileSync(first)).toString('utf8'));
			const b = JSON.parse(zlib.gunzipSync(fs.readFileSync(second)).toString('utf8'));
			assert.deepStrictEqual(comparable(b), comparable(a));
			for (const [name, rows] of Object.entries(a.row_counts)) {
				assert.ok(rows > 0, `section ${name} is empty, so the round trip does not cover it`);
			}
			assert.ok(a.projects.some((p) => p.gid === privateProject.gid));
			assert.equal(a.organization.deprovision_owner_gid, owner.gid);
			assert.ok(a.scim_users.some((u) => u.external_id === SCIM_USER.externalId));
			assert.ok(a.scim_groups.some((g) => g.external_id === SCIM_GROUP.externalId));
			assert.ok(a.status_updates.some((u) => u.gid === statusUpdateGid));
			assert.deepStrictEqual(a.audit_log.map((e) => e.seq), a.audit_log.map((_, i) => i + 1));

			// People come back without credentials; a new token works on the restored data.
			const token = await server.cli(['token', 'create', '--db', target.db, '--email', server.adminEmail, '--name', 'after restore'], pepper);
			assert.match(token, /^\S{20,}$/);

			// A second restore into the now non-empty database is rejected and changes nothing.
			await assert.rejects(server.cli(['restore', '--db', target.db, '--input', first], pepper), /database is not empty/);
		} finally {
			target.drop();
		}
	});

	test('restored server continues audit log and SCIM', async () => {
		// A sync token and an audit offset issued before the export, checked on the restored server.
		const started = await admin.get('/events', { resource: privateProject.gid });
		assert.equal(started.status, 412, started.text);
		const syncToken = started.body.sync;
		assert.equal((await admin.get('/events', { resource: privateProject.gid, sync: syncToken })).status, 200);
		const firstPage = await api(server, accounts.full).get(`/workspaces/${server.orgGid}/audit_log_events`, { limit: 1 });
		assert.equal(firstPage.status, 200, firstPage.text);
		const oldOffset = firstPage.body.next_page.offset;

		const file = path.join(tmpDir, 'served.json.gz');
		await server.cli(['export', '--db', server.db, '--org', server.orgGid, '--output', file]);
		const exported = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
		const restored = await startServer({ restore: file, adminEmail: server.adminEmail });
		try {
			assert.equal(restored.orgGid, server.orgGid);
			// Tokens are not exported, so a service account created after the restore reads the audit log and SCIM.
			const created = await api(restored, restored.adminToken).post(`/workspaces/${restored.orgGid}/service_accounts`,
				{ name: 'Auditor', permissions: ['audit_logs', 'scim'] });
			assert.equal(created.status, 201, created.text);
			const reader = created.body.data.token;

			const events = [];
			let offset;
			for (let pages = 0; pages < 50; pages++) {
				const res = await api(restored, reader).get(`/workspaces/${restored.orgGid}/audit_log_events`, { limit: 100, ...(offset ? { offset } : {}) });
				assert.equal(res.status, 200, res.text);
				if (res.body.data.length === 0) {
					break;
				}
				events.push(...res.body.data);
				offset = res.body.next_page.offset;
			}
			const restoredGids = exported.audit_log.map((e) => e.gid);
			assert.deepStrictEqual(events.slice(0, restoredGids.length).map((e) => e.gid), restoredGids);
			const added = events.slice(restoredGids.length);
			assert.ok(added.some((e) => e.event_type === 'service_account_created'), JSON.stringify(added.map((e) => e.event_type)));

			// New records take the numbers after the restored ones, without a gap.
			const lastSeq = exported.audit_log[exported.audit_log.length - 1].seq;
			const newSeqs = sqlValue(restored.db, `SELECT seq FROM audit_log WHERE workspace_gid = ${restored.orgGid} AND seq > ${lastSeq} ORDER BY seq`);
			assert.deepStrictEqual(newSeqs.split('\n').map(Number), added.map((_, i) => lastSeq + 1 + i));

			// The identity provider's externalId still finds its user and group.
			const scim = scimClient(restored, reader);
			const users = await scim.get(`/Users?filter=${encodeURIComponent(`externalId eq "${SCIM_USER.externalId}"`)}`);
			assert.equal(users.status, 200, users.text);
			assert.equal(users.body.totalResults, 1, users.text);
			assert.equal(users.body.Resources[0].userName, SCIM_USER.userName);
			assert.equal(users.body.Resources[0].name.givenName, 'Pia');
			const groups = await scim.get(`/Groups?filter=${encodeURIComponent(`externalId eq "${SCIM_GROUP.externalId}"`)}`);
			assert.equal(groups.status, 200, groups.text);
			assert.equal(groups.body.totalResults, 1, groups.text);
			assert.equal(groups.body.Resources[0].displayName, SCIM_GROUP.displayName);

			const settings = await api(restored, restored.adminToken).get('/admin/scim_settings');
			assert.equal(settings.status, 200, settings.text);
			assert.equal(settings.body.data.deprovision_owner.gid, owner.gid);
			const update = await api(restored, restored.adminToken).get(`/status_updates/${statusUpdateGid}`);
			assert.equal(update.status, 200, update.text);
			assert.equal(update.body.data.title, 'Week 1');

			// The change log is not exported, and offsets are signed with a key of the old database.
			const resumed = await api(restored, restored.adminToken).get('/events', { resource: privateProject.gid, sync: syncToken });
			assert.equal(resumed.status, 412, resumed.text);
			assert.equal(typeof resumed.body.sync, 'string');
			const stale = await api(restored, reader).get(`/workspaces/${restored.orgGid}/audit_log_events`, { offset: oldOffset });
			assert.equal(stale.status, 400, stale.text);
			assert.match(stale.body.errors[0].message, /offset/);
		} finally {
			await restored.stop();
		}
	});

	test('restore rejects non-empty database', async () => {
		const file = path.join(tmpDir, 'again.json.gz');
		await server.cli(['export', '--db', server.db, '--org', server.orgGid, '--output', file]);
		await assert.rejects(server.cli(['restore', '--db', server.db, '--input', file]), /database is not empty: it already contains an organization/);
	});

	test('restore rejects bad files cleanly', async () => {
		const file = path.join(tmpDir, 'full.json.gz');
		await server.cli(['export', '--db', server.db, '--org', server.orgGid, '--output', file]);
		const bytes = fs.readFileSync(file);
		const truncated = path.join(tmpDir, 'truncated.json.gz');
		fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
		const foreign = path.join(tmpDir, 'foreign.json.gz');
		fs.writeFileSync(foreign, zlib.gzipSync(JSON.stringify({ format: 'something-else', version: 1 })));
		const newer = path.join(tmpDir, 'newer.json.gz');
		fs.writeFileSync(newer, zlib.gzipSync(JSON.stringify({ format: 'kontor-export', version: 2 })));
		const document = JSON.parse(zlib.gunzipSync(bytes).toString('utf8'));
		document.audit_log[0].seq = null;
		const noSeq = path.join(tmpDir, 'no-seq.json.gz');
		fs.writeFileSync(noSeq, zlib.gzipSync(JSON.stringify(document)));

		const target = emptyDatabase('rejected');
		try {
			const pepper = { KONTOR_PEPPER_FILE: path.join(tmpDir, 'rejected.pepper') };
			await assert.rejects(server.cli(['restore', '--db', target.db, '--input', truncated], pepper), /truncated|unexpected end|incomplete|invalid/i);
			await assert.rejects(server.cli(['restore', '--db', target.db, '--input', foreign], pepper), /not a kontor export/);
			await assert.rejects(server.cli(['restore', '--db', target.db, '--input', newer], pepper), /unsupported export version: the file has version 2/);
			await assert.rejects(server.cli(['restore', '--db', target.db, '--input', noSeq], pepper), /audit_log, row 1: field "seq" must not be null because it is part of the row's key; write an integer/);
			await assert.rejects(server.cli(['restore', '--db', target.db, '--input', path.join(tmpDir, 'missing.gz')], pepper), /cannot read/);
			// Nothing was left behind, so the intact file still restores.
			assert.equal(await server.cli(['restore', '--db', target.db, '--input', file], pepper), server.orgGid);
		} finally {
			target.drop();
		}
	});

	test('restore checks values like the API', async () => {
		const file = path.join(tmpDir, 'values.json.gz');
		await server.cli(['export', '--db', server.db, '--org', server.orgGid, '--output', file]);
		const original = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
		const row = (section, predicate) => {
			const index = original[section].findIndex(predicate);
			assert.ok(index >= 0, `no matching row in ${section}`);
			return index;
		};
		const person = row('users', (u) => u.kind === 'person');
		const task = `tasks, row 1 \\(task ${original.tasks[0].gid}\\)`;
		const cases = [
			['null e-mail', (d) => { d.users[person].email = null; },
				new RegExp(`users, row ${person + 1} \\(user ${original.users[person].gid}\\): field "email" must not be null; write the user's e-mail address`)],
			['bad e-mail', (d) => { d.users[person].email = 'not an email'; }, /field "email" is not an e-mail address/],
			['user kind', (d) => { d.users[person].kind = 'robot'; }, /field "kind" is "robot"; it must be one of "person"/],
			['due_on text', (d) => { d.tasks[0].due_on = 'not a date'; }, new RegExp(`${task}: field "due_on" must be a date YYYY-MM-DD`)],
			['due_on month 13', (d) => { d.tasks[0].due_on = '2026-13-45'; }, new RegExp(`${task}: field "due_on" must be a date`)],
			['own parent', (d) => { d.tasks[0].parent_gid = d.tasks[0].gid; }, new RegExp(`${task}: field "parent_gid" is the task's own gid`)],
			['parent cycle', (d) => {
				// The subtask becomes its own parent's parent.
				const subtask = d.tasks.find((t) => t.parent_gid !== null);
				d.tasks.find((t) => t.gid === subtask.parent_gid).parent_gid = subtask.gid;
			}, /tasks, task \d+: field "parent_gid" leads back to the task itself through its parents; parents must form a tree: set parent_gid to null on one task of the cycle/],
			['role', (d) => { d.workspace_memberships[0].role = 'god'; },
				new RegExp(`workspace_memberships, row 1 \\(workspace membership ${original.workspace_memberships[0].gid}\\): field "role" is not a workspace role: "god"`)],
			['plan', (d) => { d.organization.plan = 'super'; }, /organization: field "plan" is "super"; it must be one of/],
			['privacy', (d) => { d.projects[0].privacy_setting = 'everyone'; }, /projects, row 1 \(project \d+\): field "privacy_setting" is "everyone"/],
			['scopes', (d) => { d.service_accounts[0].scopes = 'root'; }, /service_accounts, row 1 \(user \d+\): field "scopes" is "root"/],
			['service account of a person', (d) => { d.service_accounts[0].user_gid = d.users[person].gid; },
				new RegExp(`field "user_gid" refers to user ${original.users[person].gid}, whose kind is not "service_account"; set that user's kind to "service_account" or remove this row`)],
		];
		for (const section of ['workspace_memberships', 'team_memberships', 'project_memberships', 'stories', 'tags']) {
			cases.push([`null ${section}.gid`, (d) => { d[section][0].gid = null; }, new RegExp(`${section}, row 1: field "gid" must not be null`)]);
		}
		cases.push(['null audit gid', (d) => { d.audit_log[0].gid = null; }, /audit_log, row 1 \(seq 1\): field "gid" must not be null/]);
		cases.push(['null service account key', (d) => { d.service_accounts[0].user_gid = null; }, /service_accounts, row 1: field "user_gid" must not be null/]);
		assert.ok(original.tasks.some((t) => t.parent_gid !== null), 'a subtask for the cycle case');

		const target = emptyDatabase('values');
		try {
			const pepper = { KONTOR_PEPPER_FILE: path.join(tmpDir, 'values.pepper') };
			for (const [name, mutate, message] of cases) {
				const document = structuredClone(original);
				mutate(document);
				const bad = path.join(tmpDir, 'bad-value.json.gz');
				fs.writeFileSync(bad, zlib.gzipSync(JSON.stringify(document)));
				await assert.rejects(server.cli(['restore', '--db', target.db, '--input', bad], pepper), message, name);
			}
			assert.equal(await server.cli(['restore', '--db', target.db, '--input', file], pepper), server.orgGid);
		} finally {
			target.drop();
		}
	});

	test('large file reports the first defect', async () => {
		const file = path.join(tmpDir, 'large-source.json.gz');
		await server.cli(['export', '--db', server.db, '--org', server.orgGid, '--output', file]);
		const document = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
		document.tasks[0].name = 'DEFECT_MARKER';
		// More than the reader's 16 MiB value limit follows the defect.
		document.audit_log[0].user_agent = 'x'.repeat(17 * 1024 * 1024);
		const text = JSON.stringify(document);
		const cases = [
			['syntax error', text.replace('"DEFECT_MARKER"', '"DEFECT" tru'), /invalid JSON at byte \d+/],
			['NUL character', text.replace('"DEFECT_MARKER"', '"DEFECT\\u0000"'), /tasks, row 1: a string contains the NUL character \(U\+0000, written \\u0000\) at byte \d+; text fields must not contain NUL/],
		];
		const target = emptyDatabase('large');
		try {
			const pepper = { KONTOR_PEPPER_FILE: path.join(tmpDir, 'large.pepper') };
			const bad = path.join(tmpDir, 'large-bad.json.gz');
			for (const [name, content, message] of cases) {
				fs.writeFileSync(bad, zlib.gzipSync(content, { level: 1 }));
				await assert.rejects(server.cli(['restore', '--db', target.db, '--input', bad], pepper), message, name);
			}
			// Stored (level 0) deflate blocks hold the text as it is, so one changed byte leaves the
			// stream readable and only the CRC at its end tells.
			const stored = zlib.gzipSync(text, { level: 0 });
			const at = stored.indexOf('DEFECT_MARKER');
			assert.ok(at > 0);
			stored[at - 1] = 0x23; // the opening quote becomes '#'
			fs.writeFileSync(bad, stored);
			await assert.rejects(server.cli(['restore', '--db', target.db, '--input', bad], pepper), /the file is damaged: .*(crc|check)/i);
		} finally {
			target.drop();
		}
	});

	test('export needs an existing database', async () => {
		if (isPg(server.db)) {
			return;
		}
		const missing = path.join(tmpDir, 'nonexist.db');
		const file = path.join(tmpDir, 'nonexist.json.gz');
		await assert.rejects(server.cli(['export', '--db', missing, '--org', server.orgGid, '--output', file]), /--db: database .*nonexist\.db not found/);
		assert.ok(!fs.existsSync(missing));
		assert.ok(!fs.existsSync(file + '.partial'));
	});

	test('unknown organization leaves no file', async () => {
		const file = path.join(tmpDir, 'none.json.gz');
		await assert.rejects(server.cli(['export', '--db', server.db, '--org', '123456789', '--output', file]), /organization 123456789 not found/);
		assert.ok(!fs.existsSync(file));
		assert.ok(!fs.existsSync(file + '.partial'));
	});

	test('help lists options and variables', async () => {
		const exportHelp = execFileSync(binaryPath(), ['export', '--help'], { encoding: 'utf8' });
		assert.match(exportHelp, /--output FILE .*KONTOR_EXPORT_OUTPUT/);
		assert.match(exportHelp, /--org GID .*KONTOR_ORG/);
		const restoreHelp = execFileSync(binaryPath(), ['restore', '--help'], { encoding: 'utf8' });
		assert.match(restoreHelp, /--input FILE .*KONTOR_RESTORE_INPUT/);
		assert.match(restoreHelp, /kontor user set-password/);
	});
});
