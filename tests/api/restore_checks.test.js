'use strict';
// The checks `kontor restore` makes before it inserts a row, and the line it
// prints when one fails. The tests change every reference with a foreign key
// to a gid that is not in the file. They also set every field to null and
// compare the result with the NOT NULL columns of the target's schema. A
// rejected file exits with status 1 and leaves the target empty, and the
// message is the same on SQLite and PostgreSQL.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { startServer } = require('./lib/server');
const { isPg, sqlValue, emptyDatabase: emptyDatabaseIn, fillEverySection } = require('./lib/export_fixture');

let server;
let tmpDir;
let privateProject; // {gid, name}

// A new empty database for a restore, on the engine of the test server.
function emptyDatabase(label) {
	return emptyDatabaseIn(server.db, tmpDir, label);
}

before(async () => {
	server = await startServer({ org: 'Restore Org', plan: 'enterprise_plus' });
	tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kontor-restore-test-'));
	({ privateProject } = await fillEverySection(server));
});

after(async () => {
	if (server) {
		await server.stop();
	}
	if (tmpDir) {
		fs.rmSync(tmpDir, { recursive: true, force: true });
	}
});

// Every reference column with a foreign key in the schema: [section, field, record, target section, required].
const REFERENCES = [
	['service_accounts', 'user_gid', 'user', 'users', true],
	['scim_users', 'user_gid', 'user', 'users', true],
	['workspace_memberships', 'user_gid', 'user', 'users', true],
	['division_admins', 'division_gid', 'division', 'divisions', true],
	['division_admins', 'user_gid', 'user', 'users', true],
	['photos', 'user_gid', 'user', 'users', true],
	['teams', 'division_gid', 'division', 'divisions', false],
	['team_memberships', 'team_gid', 'team', 'teams', true],
	['team_memberships', 'user_gid', 'user', 'users', true],
	['scim_groups', 'team_gid', 'team', 'teams', true],
	['projects', 'team_gid', 'team', 'teams', false],
	['projects', 'owner_gid', 'user', 'users', false],
	['project_memberships', 'project_gid', 'project', 'projects', true],
	['project_memberships', 'user_gid', 'user', 'users', true],
	['project_followers', 'project_gid', 'project', 'projects', true],
	['project_followers', 'user_gid', 'user', 'users', true],
	['status_updates', 'parent_gid', 'project', 'projects', true],
	['sections', 'project_gid', 'project', 'projects', true],
	['tasks', 'assignee_gid', 'user', 'users', false],
	['tasks', 'parent_gid', 'task', 'tasks', false],
	['task_projects', 'task_gid', 'task', 'tasks', true],
	['task_projects', 'project_gid', 'project', 'projects', true],
	['task_projects', 'section_gid', 'section', 'sections', false],
	['task_followers', 'task_gid', 'task', 'tasks', true],
	['task_followers', 'user_gid', 'user', 'users', true],
	['task_tags', 'task_gid', 'task', 'tasks', true],
	['task_tags', 'tag_gid', 'tag', 'tags', true],
	['stories', 'task_gid', 'task', 'tasks', true],
];
// What messages call one row of a section keyed by gid.
const RECORDS = {
	divisions: 'division', users: 'user', workspace_memberships: 'workspace membership', teams: 'team',
	team_memberships: 'team membership', projects: 'project', project_memberships: 'project membership',
	status_updates: 'status update', sections: 'section', tags: 'tag', tasks: 'task', stories: 'story',
};
const MISSING_GID = '999';
// Nullable in the schema, but the restore requires them: the audit log API pages by seq.
const RESTORE_REQUIRED = new Set(['audit_log.seq']);

function escapeRegExp(text) {
	return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Restores `document` into `target`, asserts that it fails with exit status 1
// and no database constraint message, and returns the error line without its prefix.
// A later restore into the same target would report "not empty" if this one had left rows.
async function restoreError(target, pepper, document, label) {
	const bad = path.join(tmpDir, 'bad-restore.json.gz');
	fs.writeFileSync(bad, zlib.gzipSync(JSON.stringify(document)));
	let failure;
	try {
		await server.cli(['restore', '--db', target.db, '--input', bad], pepper);
	} catch (err) {
		failure = err;
	}
	assert.ok(failure, `${label}: restore succeeded`);
	assert.match(failure.message, /failed \(1\):/, label);
	assert.doesNotMatch(failure.message, /insert failed|constraint/i, label);
	const line = failure.message.split('\n').find((l) => l.startsWith('kontor restore: '));
	assert.ok(line, `${label}: no error line in ${failure.message}`);
	return line.slice('kontor restore: '.length);
}

// The NOT NULL columns of a table, read from the target database's schema.
function notNullColumns(db, table) {
	const query = isPg(db)
		? `SELECT column_name FROM information_schema.columns WHERE table_name = '${table}' AND is_nullable = 'NO'`
		: `SELECT name FROM pragma_table_info('${table}') WHERE "notnull" = 1 OR pk > 0`;
	return new Set(sqlValue(db, query).split('\n').filter(Boolean));
}

function assertEmpty(db) {
	assert.equal(sqlValue(db, 'SELECT (SELECT count(*) FROM workspaces) + (SELECT count(*) FROM users) + (SELECT count(*) FROM tasks)'), '0');
}

test('restore names dangling references', async () => {
	const file = path.join(tmpDir, 'references.json.gz');
	await server.cli(['export', '--db', server.db, '--org', server.orgGid, '--output', file]);
	const original = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
	const target = emptyDatabase('references');
	try {
		const pepper = { KONTOR_PEPPER_FILE: path.join(tmpDir, 'references.pepper') };
		for (const [section, field, record, targetSection, required] of REFERENCES) {
			const label = `${section}.${field}`;
			assert.ok(original[section].length > 0, `${label}: section is empty`);
			assert.ok(field in original[section][0], `${label}: no such field`);
			const document = structuredClone(original);
			document[section][0][field] = MISSING_GID;
			const key = RECORDS[section] ? escapeRegExp(`(${RECORDS[section]} ${original[section][0].gid})`) : '\\([^)]+\\)';
			const fix = required
				? `add ${record} ${MISSING_GID} to section "${targetSection}" or remove this row`
				: `set the field to null or add ${record} ${MISSING_GID} to section "${targetSection}"`;
			const expected = new RegExp(`^${section}, row 1 ${key}: field "${field}" refers to ${record} ${MISSING_GID}, which is not in the file; ${escapeRegExp(fix)}$`);
			assert.match(await restoreError(target, pepper, document, label), expected, label);
		}

		// A subtask whose parent is missing, found only once section tasks is read.
		const subtaskIndex = original.tasks.findIndex((t) => t.parent_gid !== null);
		const orphan = structuredClone(original);
		orphan.tasks[subtaskIndex].parent_gid = '9223372036854775807';
		assert.equal(await restoreError(target, pepper, orphan, 'late parent'),
			`tasks, row ${subtaskIndex + 1} (task ${original.tasks[subtaskIndex].gid}): field "parent_gid" refers to task 9223372036854775807, ` +
			'which is not in the file; set the field to null or add task 9223372036854775807 to section "tasks"');

		// A task in a project that is not in the file, and a repeated gid.
		const noProject = structuredClone(original);
		noProject.projects = noProject.projects.filter((p) => p.gid !== privateProject.gid);
		noProject.row_counts.projects = noProject.projects.length;
		assert.match(await restoreError(target, pepper, noProject, 'missing project'),
			new RegExp(`refers to project ${privateProject.gid}, which is not in the file; add project ${privateProject.gid} to section "projects" or remove this row$`));
		const repeated = structuredClone(original);
		repeated.tasks.splice(1, 0, structuredClone(repeated.tasks[0]));
		assert.equal(await restoreError(target, pepper, repeated, 'repeated gid'),
			`tasks, row 2 (task ${original.tasks[0].gid}): field "gid" repeats the gid of an earlier row; gids must be unique ` +
			'within section "tasks": remove one of the two rows or give it an unused gid');
		assertEmpty(target.db);
		assert.equal(await server.cli(['restore', '--db', target.db, '--input', file], pepper), server.orgGid);
	} finally {
		target.drop();
	}
});

test('restore names every null in a NOT NULL column', async () => {
	const file = path.join(tmpDir, 'nulls.json.gz');
	await server.cli(['export', '--db', server.db, '--org', server.orgGid, '--output', file]);
	const original = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
	// A wrong count at the end rejects every file that passes the row checks, so the target stays empty.
	original.row_counts.audit_log += 1;
	const target = emptyDatabase('nulls');
	try {
		const pepper = { KONTOR_PEPPER_FILE: path.join(tmpDir, 'nulls.pepper') };
		assert.match(await restoreError(target, pepper, original, 'no null'), /^section audit_log contains \d+ rows but row_counts records another number/);
		const sections = ['organization', ...Object.keys(original.row_counts)];
		let required = 0;
		for (const section of sections) {
			const table = section === 'organization' ? 'workspaces' : section;
			const notNull = notNullColumns(target.db, table);
			const rowObject = section === 'organization' ? original.organization : original[section][0];
			const nullable = structuredClone(original);
			const nullableRow = section === 'organization' ? nullable.organization : nullable[section][0];
			for (const field of Object.keys(rowObject)) {
				const label = `${section}.${field}`;
				if (!notNull.has(field) && !RESTORE_REQUIRED.has(label)) {
					nullableRow[field] = null;
					continue;
				}
				required++;
				const document = structuredClone(original);
				(section === 'organization' ? document.organization : document[section][0])[field] = null;
				const line = await restoreError(target, pepper, document, label);
				const at = section === 'organization' ? 'organization' : `${section}, row 1( \\([^)]+\\))?`;
				assert.match(line, new RegExp(`^${at}: field "${field}" must not be null[^;]*; (write|add) `), label);
			}
			// All nullable fields of the section at once pass the row checks.
			assert.match(await restoreError(target, pepper, nullable, `${section} nullable`), /^section audit_log contains/, `${section} nullable`);
		}
		assert.ok(required > 100, `only ${required} NOT NULL fields`);
		assertEmpty(target.db);
	} finally {
		target.drop();
	}
});
