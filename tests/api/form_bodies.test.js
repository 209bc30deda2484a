'use strict';
// Form-encoded request bodies, as older curl, PHP and Python scripts send
// them to Asana: application/x-www-form-urlencoded and the text fields of
// multipart/form-data, with each form field a member of `data`, lists as
// comma-separated values or name[] keys, and "true"/"false"/"null". The
// decoder's byte-level cases are in tests/unit/test_form.c.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { startServer, api } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');

let server;
let admin;
let mia;
let bob;

before(async () => {
	server = await startServer();
	admin = api(server, server.adminToken);
	mia = await server.addUser({ email: 'mia@example.test', name: 'Mia' });
	bob = await server.addUser({ email: 'bob@example.test', name: 'Bob' });
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

// Sends a form as fetch does for URLSearchParams: Content-Type application/x-www-form-urlencoded;charset=UTF-8.
function sendForm(method, path, fields) {
	return admin.raw(method, path, { body: new URLSearchParams(fields) });
}

// Sends a body with the urlencoded Content-Type exactly as given, as `curl -d` does.
function sendRawForm(method, path, body) {
	return admin.raw(method, path, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
}

function errorMessage(res) {
	return res.body && res.body.errors ? res.body.errors[0].message : res.text;
}

async function createTask(fields) {
	const res = await sendForm('POST', '/tasks', { workspace: server.orgGid, ...fields });
	assert.equal(res.status, 201, res.text);
	return res.body.data;
}

test('form creates a task', async () => {
	const res = await sendForm('POST', '/tasks', {
		workspace: server.orgGid,
		name: 'Buy milk & bread å',
		notes: 'first line\nsecond line',
		assignee: 'me',
		completed: 'false',
		due_on: '2024-05-01',
	});
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/tasks', res);
	const task = res.body.data;
	assert.equal(task.name, 'Buy milk & bread å');
	assert.equal(task.notes, 'first line\nsecond line');
	assert.equal(task.assignee.gid, (await admin.get('/users/me')).body.data.gid);
	assert.equal(task.completed, false);
	assert.equal(task.due_on, '2024-05-01');
	assert.equal(task.workspace.gid, server.orgGid);
	assert.equal(res.headers.location, `/api/1.0/tasks/${task.gid}`);
});

test('curl style body with plus signs', async () => {
	const res = await sendRawForm('POST', '/tasks', `workspace=${server.orgGid}&name=Call+the+bank%21&notes=a%2Bb`);
	assert.equal(res.status, 201, res.text);
	assert.equal(res.body.data.name, 'Call the bank!');
	assert.equal(res.body.data.notes, 'a+b');
});

test('form updates a task', async () => {
	const task = await createTask({ name: 'Draft', due_on: '2024-05-01' });

	const res = await sendForm('PUT', `/tasks/${task.gid}`, { name: 'Final', completed: 'true', due_on: 'null' });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('PUT', '/tasks/{task_gid}', res);
	assert.equal(res.body.data.name, 'Final');
	assert.equal(res.body.data.completed, true);
	assert.equal(res.body.data.due_on, null);

	const read = await admin.get(`/tasks/${task.gid}`);
	assert.equal(read.body.data.completed, true);
	assert.equal(read.body.data.name, 'Final');
});

test('form adds followers as a comma list', async () => {
	const task = await createTask({ name: 'Followed' });

	const res = await sendForm('POST', `/tasks/${task.gid}/addFollowers`, { followers: `${mia.gid}, ${bob.email}` });
	assert.equal(res.status, 200, res.text);
	assertMatchesSpec('POST', '/tasks/{task_gid}/addFollowers', res);
	const followers = res.body.data.followers.map((user) => user.gid);
	assert.ok(followers.includes(mia.gid), JSON.stringify(followers));
	assert.ok(followers.includes(bob.gid), JSON.stringify(followers));
});

test('form removes followers with bracket keys', async () => {
	const task = await createTask({ name: 'Unfollowed', followers: `${mia.gid},${bob.gid}` });
	assert.ok(task.followers.length >= 2, JSON.stringify(task.followers));

	const body = new URLSearchParams();
	body.append('followers[]', mia.gid);
	body.append('followers[]', bob.gid);
	const res = await admin.raw('POST', `/tasks/${task.gid}/removeFollowers`, { body });
	assert.equal(res.status, 200, res.text);
	const followers = res.body.data.followers.map((user) => user.gid);
	assert.ok(!followers.includes(mia.gid), JSON.stringify(followers));
	assert.ok(!followers.includes(bob.gid), JSON.stringify(followers));
});

test('form options shape the response', async () => {
	const res = await sendForm('POST', '/tasks', {
		workspace: server.orgGid,
		name: 'Shaped',
		opt_fields: 'name,completed',
		opt_pretty: 'true',
	});
	assert.equal(res.status, 201, res.text);
	assert.deepEqual(Object.keys(res.body.data).sort(), ['completed', 'gid', 'name', 'resource_type']);
	assert.match(res.text, /\n {2}"data"/);
});

test('form field errors name the field', async () => {
	const task = await createTask({ name: 'Errors' });
	const cases = [
		[{ name: 'x', bogus: '1' }, /data\.bogus: unknown field/],
		[{ completed: 'yes' }, /^completed: must be true or false/],
		[{ due_on: 'soon' }, /^due_on: must be a calendar date/],
		[{ assignee: 'nobody' }, /^assignee: "nobody" is not a valid gid/],
		[{ 'memberships[0][project]': '1' }, /^memberships\[0\]\[project\]: nested objects cannot be written in a form body; send this request as JSON/],
		[{ 'name[]': 'x' }, /^name: takes one value/],
	];
	for (const [fields, pattern] of cases) {
		const res = await sendForm('PUT', `/tasks/${task.gid}`, fields);
		assert.equal(res.status, 400, `${JSON.stringify(fields)}: ${res.text}`);
		assert.match(errorMessage(res), pattern, JSON.stringify(fields));
	}
});

test('form encoding errors get 400', async () => {
	const task = await createTask({ name: 'Encoding' });
	const cases = [
		['name=100%', /^name: the value contains an invalid percent-encoding/],
		['name=%zz', /^name: the value contains an invalid percent-encoding/],
		['name=%C3%28', /^name: the value is not valid UTF-8/],
		['name=%FF', /^name: the value is not valid UTF-8/],
		['name=a%00b', /^name: contains a NUL byte/],
		['name=a&name=b', /^name: given more than once/],
		['opt_expand=x', /^opt_expand: unknown option/],
	];
	for (const [body, pattern] of cases) {
		const res = await sendRawForm('PUT', `/tasks/${task.gid}`, body);
		assert.equal(res.status, 400, `${body}: ${res.text}`);
		assert.match(errorMessage(res), pattern, body);
	}
	const emptyItem = await sendRawForm('POST', `/tasks/${task.gid}/addFollowers`, 'followers=1,,2');
	assert.equal(emptyItem.status, 400, emptyItem.text);
	assert.match(errorMessage(emptyItem), /^followers: item 2 of the comma-separated list is empty/);
	const unchanged = await admin.get(`/tasks/${task.gid}`);
	assert.equal(unchanged.body.data.name, 'Encoding');
});

test('empty form body counts as no fields', async () => {
	const task = await createTask({ name: 'Empty' });

	const update = await sendRawForm('PUT', `/tasks/${task.gid}`, '');
	assert.equal(update.status, 200, update.text);
	assert.equal(update.body.data.name, 'Empty');

	const follow = await sendRawForm('POST', `/tasks/${task.gid}/addFollowers`, '');
	assert.equal(follow.status, 400, follow.text);
	assert.match(errorMessage(follow), /^followers: missing input/);
});

test('JSON labelled as a form still reads as JSON', async () => {
	const res = await sendRawForm('POST', '/tasks', JSON.stringify({ data: { workspace: server.orgGid, name: 'From curl -d' } }));
	assert.equal(res.status, 201, res.text);
	assert.equal(res.body.data.name, 'From curl -d');
});

test('multipart text fields create a task', async () => {
	const form = new FormData();
	form.append('workspace', server.orgGid);
	form.append('name', 'Multipart task');
	form.append('notes', 'line one\r\nline two');
	form.append('followers', mia.gid);
	form.append('completed', 'true');
	const res = await admin.raw('POST', '/tasks', { body: form });
	assert.equal(res.status, 201, res.text);
	assertMatchesSpec('POST', '/tasks', res);
	assert.equal(res.body.data.name, 'Multipart task');
	assert.equal(res.body.data.completed, true);
	assert.ok(res.body.data.followers.some((user) => user.gid === mia.gid), res.text);
});

test('multipart file part is rejected', async () => {
	const form = new FormData();
	form.append('workspace', server.orgGid);
	form.append('name', new Blob(['not a name'], { type: 'text/plain' }), 'name.txt');
	const res = await admin.raw('POST', '/tasks', { body: form });
	assert.equal(res.status, 400, res.text);
	assert.match(errorMessage(res), /^name: file parts are not accepted/);
});

test('multipart without boundary is rejected', async () => {
	const res = await admin.raw('POST', '/tasks', {
		headers: { 'content-type': 'multipart/form-data' },
		body: 'name=x',
	});
	assert.equal(res.status, 400, res.text);
	assert.match(errorMessage(res), /boundary/);
});

test('form creates a tag, team and project', async () => {
	const tag = await sendForm('POST', '/tags', { workspace: server.orgGid, name: 'Form tag', color: 'dark-red', followers: mia.gid });
	assert.equal(tag.status, 201, tag.text);
	assertMatchesSpec('POST', '/tags', tag);
	assert.equal(tag.body.data.color, 'dark-red');

	const team = await sendForm('POST', '/teams', { name: 'Form team', organization: server.orgGid });
	assert.equal(team.status, 201, team.text);
	const project = await sendForm('POST', '/projects', {
		workspace: server.orgGid,
		team: team.body.data.gid,
		name: 'Form project',
		public: 'false',
		followers: `${mia.gid},${bob.gid}`,
	});
	assert.equal(project.status, 201, project.text);
	assertMatchesSpec('POST', '/projects', project);
	assert.equal(project.body.data.name, 'Form project');
	assert.equal(project.body.data.public, false);
	const projectFollowers = project.body.data.followers.map((user) => user.gid);
	assert.ok(projectFollowers.includes(mia.gid), project.text);
	assert.ok(projectFollowers.includes(bob.gid), project.text);
});

// Sends a hand-written multipart body, which may contain bytes FormData would never write.
function sendMultipart(method, path, body, boundary = 'b') {
	return admin.raw(method, path, {
		headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
		body: Buffer.from(body, 'latin1'),
	});
}

function multipartPart(disposition, value) {
	return `--b\r\nContent-Disposition: ${disposition}\r\n\r\n${value}\r\n`;
}

test('multipart NUL in a field name gets 400', async () => {
	const task = await createTask({ name: 'Unsmuggled', notes: 'kept' });
	const cases = [
		[multipartPart('form-data; name="name\x00evil"', 'smuggled') + '--b--', /^Part 1 of the multipart body: its headers contain a NUL byte \(0x00\)\. Remove it/],
		[multipartPart('form-data; name="notes"', 'ok') + multipartPart('form-data; name="na\x00me"', 'smuggled') + '--b--', /^Part 2 of the multipart body: its headers contain a NUL byte/],
		[multipartPart('form-data; name="name\x01"', 'smuggled') + '--b--', /its headers contain the control byte 0x01/],
	];
	for (const [body, pattern] of cases) {
		const res = await sendMultipart('PUT', `/tasks/${task.gid}`, body);
		assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
		assert.match(errorMessage(res), pattern, JSON.stringify(body));
	}
	const unchanged = await admin.get(`/tasks/${task.gid}`);
	assert.equal(unchanged.body.data.name, 'Unsmuggled');
	assert.equal(unchanged.body.data.notes, 'kept');
});

test('multipart repeated parameters get 400', async () => {
	const task = await createTask({ name: 'Unambiguous', notes: 'kept' });
	const cases = [
		['b', multipartPart('form-data; name="notes"; name="name"', 'smuggled') + '--b--', /^Part 1 of the multipart body: the name parameter is given more than once/],
		['b', multipartPart('form-data; name="notes"; filename="a.txt"; filename="b.txt"', 'smuggled') + '--b--', /the filename parameter is given more than once/],
		['b', '--b\r\nContent-Disposition: form-data; name="notes"\r\nContent-Disposition: form-data; name="name"\r\n\r\nsmuggled\r\n--b--', /more than one Content-Disposition header/],
		['b; boundary=yy', multipartPart('form-data; name="name"', 'smuggled') + '--b--', /^The Content-Type header gives the boundary parameter more than once/],
	];
	for (const [boundary, body, pattern] of cases) {
		const res = await sendMultipart('PUT', `/tasks/${task.gid}`, body, boundary);
		assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
		assert.match(errorMessage(res), pattern, JSON.stringify(body));
	}
	const unchanged = await admin.get(`/tasks/${task.gid}`);
	assert.equal(unchanged.body.data.name, 'Unambiguous');
	assert.equal(unchanged.body.data.notes, 'kept');
});

test('multipart transfer encoding other than identity gets 400', async () => {
	const task = await createTask({ name: 'Plain text', notes: 'kept' });
	const encoded = '--b\r\nContent-Disposition: form-data; name="notes"\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
		'c211Z2dsZWQ=\r\n--b--';
	const res = await sendMultipart('PUT', `/tasks/${task.gid}`, encoded, 'b');
	assert.equal(res.status, 400, res.text);
	assert.match(errorMessage(res), /Content-Transfer-Encoding other than 7bit, 8bit or binary/);
	assert.equal((await admin.get(`/tasks/${task.gid}`)).body.data.notes, 'kept');

	const identity = encoded.replace('base64', ' 8BIT ').replace('c211Z2dsZWQ=', 'plain');
	const ok = await sendMultipart('PUT', `/tasks/${task.gid}`, identity, 'b');
	assert.equal(ok.status, 200, ok.text);
	assert.equal(ok.body.data.notes, 'plain');
});

test('form permissions take a comma list', async () => {
	const path = `/workspaces/${server.orgGid}/service_accounts`;

	const listed = await sendRawForm('POST', path, 'name=Comma+bot&permissions=read,exports');
	assert.equal(listed.status, 201, listed.text);
	assert.deepEqual(listed.body.data.permissions, ['exports', 'read']);

	const single = await sendRawForm('POST', path, 'name=Single+bot&permissions=read');
	assert.equal(single.status, 201, single.text);
	assert.deepEqual(single.body.data.permissions, ['read']);

	for (const body of ['name=Full+bot&permissions=full', 'name=Full+list+bot&permissions[]=full']) {
		const full = await sendRawForm('POST', path, body);
		assert.equal(full.status, 201, `${body}: ${full.text}`);
		assert.equal(full.body.data.permissions, 'full', body);
	}

	const changed = await sendRawForm('PUT', `/service_accounts/${single.body.data.gid}`, 'permissions=scim,%20audit_logs');
	assert.equal(changed.status, 200, changed.text);
	assert.deepEqual(changed.body.data.permissions, ['audit_logs', 'scim']);

	const mixed = await sendRawForm('POST', path, 'name=Mixed+bot&permissions=read,full');
	assert.equal(mixed.status, 400, mixed.text);
	assert.match(errorMessage(mixed), /^permissions\[1\]: "full" cannot be combined with scopes/);
	const unknown = await sendRawForm('POST', path, 'name=Unknown+bot&permissions=read,admin');
	assert.equal(unknown.status, 400, unknown.text);
	assert.match(errorMessage(unknown), /^permissions\[1\]: unknown scope "admin"/);
});

test('repeated query parameters get 400', async () => {
	const task = await createTask({ name: 'Queried', notes: 'hidden' });
	const cases = [
		['opt_fields=name&opt_fields=notes', /^opt_fields: given more than once in the query string/],
		['opt_pretty=true&opt_pretty=false', /^opt_pretty: given more than once in the query string/],
		['opt_fields=name&OPT_FIELDS=notes', /^opt_fields: given more than once/],
		['opt_fields&opt_fields=notes', /^opt_fields: given more than once/],
		['limit=1&limit=2', /^limit: given more than once in the query string; send it once\./],
		['x=1&X=2', /^x: given more than once/],
		[Array.from({ length: 65 }, (_, i) => `p${i}=1`).join('&'), /^The query string has more than 64 parameters/],
	];
	for (const [query, pattern] of cases) {
		const res = await admin.raw('GET', `/tasks/${task.gid}?${query}`);
		assert.equal(res.status, 400, `${query}: ${res.text}`);
		assert.match(errorMessage(res), pattern, query);
	}
	const many = await admin.raw('GET', `/tasks/${task.gid}?${Array.from({ length: 64 }, (_, i) => `p${i}=1`).join('&')}`);
	assert.equal(many.status, 200, many.text);
	const once = await admin.raw('GET', `/tasks/${task.gid}?opt_fields=name&opt_pretty=true`);
	assert.equal(once.status, 200, once.text);
	assert.deepEqual(Object.keys(once.body.data).sort(), ['gid', 'name', 'resource_type']);

	const write = await sendForm('PUT', `/tasks/${task.gid}?opt_fields=name&opt_fields=notes`, { name: 'Not written' });
	assert.equal(write.status, 400, write.text);
	assert.match(errorMessage(write), /^opt_fields: given more than once in the query string/);
	const unchanged = await admin.get(`/tasks/${task.gid}`);
	assert.equal(unchanged.body.data.name, 'Queried');
});
