'use strict';
// How kontor reads the request line and headers where a proxy in front of it
// might read them differently. The cases: %00 in the path or the query, the
// case of query parameter names, repeated and empty query parameters,
// bytes that are not UTF-8 in a name quoted by an error, repeated
// Authorization headers and a Content-Type with a control byte. Requests go through a raw socket,
// because fetch and curl clean up some of these on their own.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { startServer, api } = require('./lib/server');
const { createServiceAccount } = require('./lib/scim');

let server;

before(async () => {
	server = await startServer();
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

// Sends `head` (request line and headers, without the blank line) and `body`
// as they are; resolves with {status, body} of the response.
function rawRequest(head, body = '') {
	const { hostname, port } = new URL(server.url);
	return new Promise((resolve, reject) => {
		const socket = net.connect(Number(port), hostname);
		let data = '';
		socket.setTimeout(10000, () => socket.destroy(new Error('raw request timed out')));
		socket.on('error', reject);
		socket.on('data', (chunk) => {
			data += chunk.toString('latin1');
		});
		socket.on('end', () => {
			const status = Number(data.split(' ')[1]);
			const split = data.indexOf('\r\n\r\n');
			resolve({ status, body: split >= 0 ? data.slice(split + 4) : '' });
		});
		const length = Buffer.byteLength(body);
		socket.end(`${head}\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n` +
			(length ? `Content-Length: ${length}\r\n` : '') + `\r\n${body}`);
	});
}

function bearer() {
	return `Authorization: Bearer ${server.adminToken}`;
}

test('%00 in the path matches no route', async () => {
	const plain = await rawRequest(`GET /api/1.0/users/me HTTP/1.1\r\n${bearer()}`);
	assert.equal(plain.status, 200, plain.body);
	const cut = await rawRequest(`GET /api/1.0/users/me%00/anything HTTP/1.1\r\n${bearer()}`);
	assert.equal(cut.status, 404, cut.body);
	const health = await rawRequest('GET /healthz%00x HTTP/1.1');
	assert.equal(health.status, 404, health.body);
});

test('%00 in a query value is not cut', async () => {
	// Read as the literal text "%00", so the value no longer parses as a number.
	const res = await rawRequest(`GET /api/1.0/workspaces/${server.orgGid}/users?limit=1%00junk HTTP/1.1\r\n${bearer()}`);
	assert.equal(res.status, 400, res.body);
	assert.match(res.body, /limit/);
	// Other escapes still decode.
	const spaced = await rawRequest(`GET /api/1.0/users/me?opt_fields=name%2Cemail HTTP/1.1\r\n${bearer()}`);
	assert.equal(spaced.status, 200, spaced.body);
	assert.deepEqual(Object.keys(JSON.parse(spaced.body).data).sort(), ['email', 'gid', 'name', 'resource_type']);
});

test('query parameter names match case exactly', async () => {
	const admin = api(server, server.adminToken);
	const lower = await admin.get('/users/me', { opt_fields: 'email' });
	assert.deepEqual(Object.keys(lower.body.data).sort(), ['email', 'gid', 'resource_type']);
	const upper = await rawRequest(`GET /api/1.0/users/me?OPT_FIELDS=email HTTP/1.1\r\n${bearer()}`);
	assert.equal(upper.status, 200, upper.body);
	assert.ok('name' in JSON.parse(upper.body).data, 'OPT_FIELDS is not opt_fields, so the default fields come back');
});

test('empty query segments are not parameters', async () => {
	for (const query of ['&&', 'opt_fields=name&&&opt_pretty=false', '&', 'opt_fields=name&']) {
		const res = await rawRequest(`GET /api/1.0/users/me?${query} HTTP/1.1\r\n${bearer()}`);
		assert.equal(res.status, 200, `${query}: ${res.body}`);
	}
});

test('bytes not UTF-8 keep the error message', async () => {
	const repeated = await rawRequest(`GET /api/1.0/users/me?%ff=1&%FF=2 HTTP/1.1\r\n${bearer()}`);
	assert.equal(repeated.status, 400, repeated.body);
	assert.match(JSON.parse(repeated.body).errors[0].message, /^\?: given more than once in the query string/);

	const fields = await rawRequest(`GET /api/1.0/users/me?opt_fields=%ff HTTP/1.1\r\n${bearer()}`);
	assert.equal(fields.status, 400, fields.body);
	assert.match(JSON.parse(fields.body).errors[0].message, /^opt_fields: "\?" contains an invalid character/);

	const account = await createServiceAccount(server, 'Parsing bot', 'scim');
	const scim = await rawRequest(`GET /api/1.0/scim/Users?%ff=1&%FF=2 HTTP/1.1\r\nAuthorization: Bearer ${account.token}`);
	assert.equal(scim.status, 400, scim.body);
	assert.match(JSON.parse(scim.body).detail, /^\?: given more than once in the query string/);
});

test('two Authorization headers are rejected', async () => {
	for (const second of [bearer(), 'Authorization: Bearer bogus']) {
		const res = await rawRequest(`GET /api/1.0/users/me HTTP/1.1\r\n${bearer()}\r\n${second}`);
		assert.equal(res.status, 400, res.body);
		assert.match(res.body, /more than one Authorization header/);
	}
});

test('control byte in Content-Type is rejected', async () => {
	const body = 'name=Stray';
	const res = await rawRequest(`POST /api/1.0/tags?workspace=${server.orgGid} HTTP/1.1\r\n${bearer()}\r\n` +
		'Content-Type: application/x-www-form-urlencoded\x01', body);
	assert.equal(res.status, 400, res.body);
	assert.match(res.body, /Content-Type: contains a control character \(0x01\)/);
});
