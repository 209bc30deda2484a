'use strict';
// Checks the spec validator itself on handcrafted bodies; needs no server.

const { describe, test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const { validateResponse, assertMatchesSpec, specPath } = require('./lib/spec');

const haveSpec = fs.existsSync(specPath);
const skip = haveSpec ? false : `asana_oas.yaml not found at ${specPath}`;

const user = {
	gid: '1204000000000001',
	resource_type: 'user',
	name: 'Greg Sanchez',
	email: 'gsanchez@example.com',
	photo: null,
	workspaces: [{ gid: '1204000000000002', resource_type: 'workspace', name: 'Acme' }],
};

const task = {
	gid: '1204000000000010',
	resource_type: 'task',
	name: 'Buy catnip',
	resource_subtype: 'default_task',
	completed: false,
	completed_at: null,
	assignee: null,
	assignee_status: 'upcoming',
	due_on: '2025-03-01',
	due_at: null,
	created_at: '2025-02-01T10:00:00.000Z',
	modified_at: '2025-02-01T10:00:00.000Z',
	notes: '',
	parent: null,
	projects: [],
	tags: [],
	followers: [{ gid: '1204000000000001', resource_type: 'user', name: 'Greg Sanchez' }],
	workspace: { gid: '1204000000000002', resource_type: 'workspace', name: 'Acme' },
	permalink_url: 'http://127.0.0.1:8080/0/0/1204000000000010',
	custom_fields: [],
	unknown_extra_field: 'extra properties are allowed',
};

function check(method, path, status, body) {
	return validateResponse(method, path, status, body);
}

test('spec absent skips validation', { skip: haveSpec ? 'the spec file is present' : false }, () => {
	const result = check('GET', '/users/me', 200, {});
	assert.equal(result.ok, true);
	assert.equal(result.skipped, true);
});

describe('spec validator', { skip }, () => {
	test('users/me accepts a valid user', () => {
		const result = check('GET', '/users/me', 200, { data: user });
		assert.deepEqual(result.errors, []);
		assert.equal(result.ok, true);
	});

	test('users/me accepts a compact user', () => {
		const result = check('GET', '/users/{user_gid}', 200, { data: { gid: '1', name: 'A' } });
		assert.deepEqual(result.errors, []);
	});

	test('users/me accepts the full /api/1.0 path', () => {
		const result = check('get', '/api/1.0/users/me?opt_fields=name', 200, { data: user });
		assert.deepEqual(result.errors, []);
	});

	test('users/me rejects a numeric gid', () => {
		const result = check('GET', '/users/me', 200, { data: { ...user, gid: 1204000000000001 } });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /\/data\/gid must be string/);
	});

	test('users/me rejects a missing gid', () => {
		const { gid, ...withoutGid } = user;
		const result = check('GET', '/users/me', 200, { data: withoutGid });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /must have required property 'gid'/);
	});

	test('users/me rejects a missing data envelope', () => {
		const result = check('GET', '/users/me', 200, user);
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /must have required property 'data'/);
	});

	test('users/me rejects a bad workspace entry', () => {
		const result = check('GET', '/users/me', 200, { data: { ...user, workspaces: [{ gid: 2, name: 'Acme' }] } });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /\/data\/workspaces\/0\/gid must be string/);
	});

	test('users/me rejects an invalid photo URI', () => {
		const result = check('GET', '/users/me', 200, { data: { ...user, photo: { image_21x21: 'not a uri' } } });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /image_21x21 must match format "uri"/);
	});

	test('users/me 401 accepts the error shape', () => {
		const result = check('GET', '/users/me', 401, { errors: [{ message: 'Not Authorized', help: 'See the docs.' }] });
		assert.deepEqual(result.errors, []);
	});

	test('users/me 401 rejects an error without message', () => {
		const result = check('GET', '/users/me', 401, { errors: [{ help: 'no message' }] });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /must have required property 'message'/);
	});

	test('users/me 401 rejects a bare string error', () => {
		const result = check('GET', '/users/me', 401, { error: 'Not Authorized' });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /must have required property 'errors'/);
	});

	test('undocumented error status uses error shape', () => {
		assert.equal(check('GET', '/users/me', 429, { errors: [{ message: 'Slow down' }] }).ok, true);
		assert.equal(check('GET', '/users/me', 429, { message: 'Slow down' }).ok, false);
	});

	test('undocumented success status is rejected', () => {
		const result = check('GET', '/users/me', 201, { data: user });
		assert.equal(result.ok, false);
		assert.match(result.errors[0], /not 201/);
	});

	test('unknown path is rejected', () => {
		const result = check('GET', '/no_such_resource/1', 200, { data: {} });
		assert.equal(result.ok, false);
		assert.match(result.errors[0], /no path in the spec matches/);
	});

	test('tasks/{task_gid} accepts a valid task', () => {
		const result = check('GET', '/tasks/{task_gid}', 200, { data: task });
		assert.deepEqual(result.errors, []);
	});

	test('tasks/{task_gid} accepts an assigned task', () => {
		const assigned = { ...task, assignee: { gid: '1204000000000001', resource_type: 'user', name: 'Greg' } };
		const result = check('GET', '/tasks/1204000000000010', 200, { data: assigned });
		assert.deepEqual(result.errors, []);
	});

	test('tasks/{task_gid} rejects a string completed', () => {
		const result = check('GET', '/tasks/1204000000000010', 200, { data: { ...task, completed: 'false' } });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /\/data\/completed must be boolean/);
	});

	test('tasks/{task_gid} rejects a bad enum value', () => {
		const result = check('GET', '/tasks/1204000000000010', 200, { data: { ...task, assignee_status: 'someday' } });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /\/data\/assignee_status must be equal to one of the allowed values/);
	});

	test('tasks/{task_gid} rejects a bad date-time', () => {
		const result = check('GET', '/tasks/1204000000000010', 200, { data: { ...task, created_at: '2025-02-01 10:00' } });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /\/data\/created_at must match format "date-time"/);
	});

	test('tasks/{task_gid} rejects null where not nullable', () => {
		const result = check('GET', '/tasks/1204000000000010', 200, { data: { ...task, workspace: null } });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /\/data\/workspace must be object/);
	});

	test('tasks/{task_gid} rejects an assignee without gid', () => {
		const result = check('GET', '/tasks/1204000000000010', 200, { data: { ...task, assignee: { name: 'Greg' } } });
		assert.equal(result.ok, false);
		assert.match(result.errors.join('\n'), /\/data\/assignee must have required property 'gid'/);
	});

	test('tasks/{task_gid} rejects a wrong method', () => {
		const result = check('PATCH', '/tasks/1', 200, { data: task });
		assert.equal(result.ok, false);
		assert.match(result.errors[0], /the spec has no PATCH \/tasks\/\{task_gid\}/);
	});

	test('tasks/{task_gid} delete accepts empty data', () => {
		assert.deepEqual(check('DELETE', '/tasks/1', 200, { data: {} }).errors, []);
	});

	test('assertMatchesSpec lists the errors', () => {
		assert.doesNotThrow(() => assertMatchesSpec('GET', '/users/me', { status: 200, body: { data: user } }));
		assert.throws(
			() => assertMatchesSpec('GET', '/users/me', { status: 200, body: { data: { gid: 5 } } }),
			(err) => err instanceof assert.AssertionError && /\/data\/gid must be string/.test(err.message),
		);
	});
});
