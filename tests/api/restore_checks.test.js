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

// Sections whose rows have a key that the schema keeps unique besides the
// gids that the reference checks remember: [label, section, change to the
// copy of row 0, expected message after the row's number and key]. The copy
// is appended, so the first row is the earlier one.
const NEW_GID = '9000000000000000001';
const REPEATED_KEYS = [
	['users.email', 'users', (row) => ({ ...row, gid: NEW_GID, email: row.email.toUpperCase() }),
		(row) => `e-mail address "${row.email.toUpperCase()}" appears in row 1 as well; e-mail addresses are compared without regard to case, ` +
			'and each user needs an address of their own: change the address or remove one of the users'],
	['service_accounts', 'service_accounts', (row) => row,
		() => 'the same user appears in row 1; a user has at most one row in section "service_accounts": remove one of the rows'],
	['scim_users', 'scim_users', (row) => row,
		() => 'the same user appears in row 1; a user has at most one row in section "scim_users": remove one of the rows'],
	['workspace_memberships.gid', 'workspace_memberships', (row) => row,
		() => 'the same gid appears in row 1; gids must be unique within a section: remove one of the rows or give one an unused gid'],
	['workspace_memberships.user_gid', 'workspace_memberships', (row) => ({ ...row, gid: NEW_GID }),
		(row) => `user ${row.user_gid} appears in row 1 as well; a user has one workspace membership: remove one of the rows`],
	['division_admins', 'division_admins', (row) => row, () => 'the same division and user appear in row 1; remove one of the rows'],
	['photos', 'photos', (row) => row, () => 'the same photo key and size appear in row 1; remove one of the rows'],
	['team_memberships.gid', 'team_memberships', (row) => row,
		() => 'the same gid appears in row 1; gids must be unique within a section: remove one of the rows or give one an unused gid'],
	['team_memberships.team_gid', 'team_memberships', (row) => ({ ...row, gid: NEW_GID }),
		(row) => `team ${row.team_gid} and user ${row.user_gid} appear in row 1 as well; a user has one membership per team: remove one of the rows`],
	['scim_groups', 'scim_groups', (row) => row,
		() => 'the same team appears in row 1; a team has at most one row in section "scim_groups": remove one of the rows'],
	['project_memberships.project_gid', 'project_memberships', (row) => ({ ...row, gid: NEW_GID }),
		(row) => `project ${row.project_gid} and user ${row.user_gid} appear in row 1 as well; a user has one membership per project: remove one of the rows`],
	['project_followers', 'project_followers', (row) => row, () => 'the same project and user appear in row 1; remove one of the rows'],
	['status_updates', 'status_updates', (row) => row,
		() => 'the same gid appears in row 1; gids must be unique within a section: remove one of the rows or give one an unused gid'],
	['task_projects', 'task_projects', (row) => row, () => 'the same task and project appear in row 1; remove one of the rows'],
	['task_followers', 'task_followers', (row) => row, () => 'the same task and user appear in row 1; remove one of the rows'],
	['task_tags', 'task_tags', (row) => row, () => 'the same task and tag appear in row 1; remove one of the rows'],
	['stories', 'stories', (row) => row,
		() => 'the same gid appears in row 1; gids must be unique within a section: remove one of the rows or give one an unused gid'],
	['audit_log.seq', 'audit_log', (row) => ({ ...row, gid: NEW_GID }),
		() => 'the same seq appears in row 1; seq numbers are unique within the audit log: remove one of the records or give one an unused seq'],
	['audit_log.gid', 'audit_log', (row, rows) => ({ ...row, seq: rows[rows.length - 1].seq + 1 }),
		(row) => `gid ${row.gid} appears in row 1 as well; gids must be unique within a section: remove one of the rows or give one an unused gid`],
];

async function exportDocument(label) {
	const file = path.join(tmpDir, `${label}.json.gz`);
	await server.cli(['export', '--db', server.db, '--org', server.orgGid, '--output', file]);
	return { file, original: JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')) };
}

test('restore names repeated keys', async () => {
	const { file, original } = await exportDocument('repeated');
	const target = emptyDatabase('repeated');
	try {
		const pepper = { KONTOR_PEPPER_FILE: path.join(tmpDir, 'repeated.pepper') };
		for (const [label, section, change, message] of REPEATED_KEYS) {
			const document = structuredClone(original);
			const rows = document[section];
			assert.ok(rows.length > 0, `${label}: section is empty`);
			rows.push(change(structuredClone(rows[0]), rows));
			document.row_counts[section] = rows.length;
			const line = await restoreError(target, pepper, document, label);
			assert.ok(line.startsWith(`${section}, row ${rows.length} (`), `${label}: ${line}`);
			assert.ok(line.endsWith(`): ${message(rows[0])}`), `${label}: ${line}`);
		}
		// The tester's case: the copy's key names the task and the user.
		const followers = structuredClone(original);
		const follower = followers.task_followers[0];
		followers.task_followers.push(structuredClone(follower));
		assert.equal(await restoreError(target, pepper, followers, 'task follower'),
			`task_followers, row ${followers.task_followers.length} (task ${follower.task_gid}, user ${follower.user_gid}): ` +
			'the same task and user appear in row 1; remove one of the rows');
		assertEmpty(target.db);
		assert.equal(await server.cli(['restore', '--db', target.db, '--input', file], pepper), server.orgGid);
	} finally {
		target.drop();
	}
});

test('restore names a missing section', async () => {
	const { original } = await exportDocument('missing');
	const target = emptyDatabase('missing');
	try {
		const pepper = { KONTOR_PEPPER_FILE: path.join(tmpDir, 'missing.pepper') };
		const fix = 'every export has all its sections, with [] for one without rows. Restore from a complete export file, or add the section';
		const omit = (document, names) => {
			for (const name of names) {
				delete document[name];
				delete document.row_counts[name];
			}
			return document;
		};
		// Only tasks: the message names tasks, not the first row that refers to a task.
		assert.equal(await restoreError(target, pepper, omit(structuredClone(original), ['tasks']), 'tasks'),
			`section "tasks" is missing: it must come after "tags" and before "task_projects"; ${fix}`);
		// Tasks with the sections that refer to them, and row_counts to match.
		assert.equal(await restoreError(target, pepper, omit(structuredClone(original), ['tasks', 'task_projects', 'task_followers', 'task_tags', 'stories']), 'tasks and dependents'),
			`section "tasks" is missing: it must come after "tags" and before "audit_log"; ${fix}`);
		assert.equal(await restoreError(target, pepper, omit(structuredClone(original), ['divisions']), 'first section'),
			`section "divisions" is missing: it must come after "organization" and before "users"; ${fix}`);
		assert.equal(await restoreError(target, pepper, omit(structuredClone(original), ['audit_log']), 'last section'),
			`section "audit_log" is missing: it must come after "stories" and before "row_counts"; ${fix}`);
		const noEnd = omit(structuredClone(original), ['audit_log']);
		delete noEnd.row_counts;
		assert.equal(await restoreError(target, pepper, noEnd, 'end of file'),
			`section "audit_log" is missing: it must come after "stories" and before the end of the file; ${fix}`);
		assertEmpty(target.db);

		// An empty section, as the exporter writes one, is not missing.
		const empty = structuredClone(original);
		empty.task_tags = [];
		empty.row_counts.task_tags = 0;
		const emptyFile = path.join(tmpDir, 'empty-section.json.gz');
		fs.writeFileSync(emptyFile, zlib.gzipSync(JSON.stringify(empty)));
		assert.equal(await server.cli(['restore', '--db', target.db, '--input', emptyFile], pepper), server.orgGid);
		assert.equal(sqlValue(target.db, 'SELECT count(*) FROM task_tags'), '0');
	} finally {
		target.drop();
	}
});

test('restore names NUL and photo sizes', async () => {
	const { original } = await exportDocument('values');
	const target = emptyDatabase('values');
	try {
		const pepper = { KONTOR_PEPPER_FILE: path.join(tmpDir, 'values.pepper') };
		const withNul = structuredClone(original);
		withNul.tasks[0].notes = 'before\u0000after';
		const line = await restoreError(target, pepper, withNul, 'NUL');
		assert.match(line, /^tasks, row 1: a string contains the NUL character \(U\+0000, written \\u0000\) at byte \d+; text fields must not contain NUL: remove it from the string$/);
		assert.doesNotMatch(line, /JSON_ALLOW_NUL/);

		// PostgreSQL keeps INTEGER to 32 bits, so this size failed there in the insert.
		const photo = original.photos[0];
		const bigPhoto = structuredClone(original);
		bigPhoto.photos[0].size = 4294967296;
		assert.equal(await restoreError(target, pepper, bigPhoto, 'photo size'),
			`photos, row 1 (photo_key ${photo.photo_key}, size 4294967296): field "size" is 4294967296; it must be one of ` +
			'21, 27, 36, 60, 128, 1024, the sizes in pixels that kontor renders');
		assertEmpty(target.db);
	} finally {
		target.drop();
	}
});

// Whether restore left anything in `target`: a SQLite file, or tables in the PostgreSQL database.
function targetTouched(target) {
	if (!isPg(target.db)) {
		return fs.existsSync(target.db);
	}
	return sqlValue(target.db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") !== '0';
}

test('restore checks input before target', async () => {
	const { file } = await exportDocument('input');
	const unreadable = path.join(tmpDir, 'unreadable.json.gz');
	fs.copyFileSync(file, unreadable);
	fs.chmodSync(unreadable, 0o000);
	const cases = [
		['directory', tmpDir, `cannot read ${tmpDir}: it is a directory; --input takes an export file such as backup.json.gz`],
		['missing file', path.join(tmpDir, 'nonexistent.json.gz'),
			`cannot read ${path.join(tmpDir, 'nonexistent.json.gz')}: No such file or directory; check the path given to --input`],
		['device', '/dev/null', 'cannot read /dev/null: it is not a regular file or a pipe; --input takes an export file such as backup.json.gz'],
	];
	// Permissions do not apply to root, who reads a mode 000 file; the check runs only for other users.
	if (process.getuid() !== 0) {
		cases.push(['unreadable file', unreadable, `cannot read ${unreadable}: Permission denied; give this user read permission on the file`]);
	}
	for (const [label, input, message] of cases) {
		const target = emptyDatabase(`input-${label.replace(/ /g, '-')}`);
		const pepperFile = path.join(tmpDir, `input-${label.replace(/ /g, '-')}.pepper`);
		try {
			await assert.rejects(server.cli(['restore', '--db', target.db, '--input', input], { KONTOR_PEPPER_FILE: pepperFile }),
				(err) => {
					assert.ok(err.message.includes(`kontor restore: ${message}`), `${label}: ${err.message}`);
					return true;
				});
			assert.equal(targetTouched(target), false, `${label}: the target database was created`);
			assert.equal(fs.existsSync(pepperFile), false, `${label}: the pepper file was created`);
		} finally {
			target.drop();
		}
	}
});
