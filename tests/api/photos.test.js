'use strict';
// Service-account photos: PUT and DELETE /service_accounts/{gid}/photo, the
// public GET /photos/{photo_key}/{size}.png, and the `photo` field of users.
// The images are built here byte by byte (PNG with node:zlib, a fixed 1x1
// GIF), so the test needs no image library. The decoder's own cases (JPEG,
// WebP, truncation at every stage, headers of every type) are in
// tests/unit/test_photo.c.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const zlib = require('node:zlib');
const { startServer, api, binaryPath } = require('./lib/server');
const { assertMatchesSpec } = require('./lib/spec');
const { rawGet } = require('./lib/rawhttp');

const SIZES = [21, 27, 36, 60, 128, 1024];
const PHOTO_BODY_MAX = 5 * 1024 * 1024;
const UPLOAD_BODY_MAX = 6 * 1024 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// The classic 1x1 GIF89a: a two-color global table and one LZW-coded pixel.
const GIF_1X1 = Buffer.from('R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=', 'base64');

let server;
let admin; // api() for the super admin
let saGid; // the service account whose photo the tests change
let saToken;
let skipReason = false; // set when the service-account endpoints are not there

// ---------- PNG building ----------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++) {
		c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	}
	return c >>> 0;
});

function crc32(buf) {
	let c = 0xffffffff;
	for (const byte of buf) {
		c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
	}
	return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
	const head = Buffer.alloc(8);
	head.writeUInt32BE(data.length, 0);
	head.write(type, 4, 'ascii');
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
	return Buffer.concat([head, data, crc]);
}

function ihdr(width, height) {
	const data = Buffer.alloc(13);
	data.writeUInt32BE(width, 0);
	data.writeUInt32BE(height, 4);
	data[8] = 8; // bit depth
	data[9] = 6; // RGBA
	return chunk('IHDR', data);
}

// An RGBA PNG of width x height; `color(x, y)` returns [r, g, b, a].
function png(width, height, color = () => [200, 40, 40, 255]) {
	const rows = [];
	for (let y = 0; y < height; y++) {
		const row = Buffer.alloc(1 + width * 4); // filter byte 0, then the pixels
		for (let x = 0; x < width; x++) {
			Buffer.from(color(x, y)).copy(row, 1 + x * 4);
		}
		rows.push(row);
	}
	return Buffer.concat([PNG_SIGNATURE, ihdr(width, height), chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

// A valid signature and IHDR claiming width x height, with a few bytes of image data: a decompression bomb's header.
function pngBomb(width, height) {
	return Buffer.concat([PNG_SIGNATURE, ihdr(width, height), chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

function pngSize(buf) {
	assert.ok(buf.subarray(0, 8).equals(PNG_SIGNATURE), 'not a PNG signature');
	assert.equal(buf.toString('ascii', 12, 16), 'IHDR');
	return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

// ---------- helpers ----------

function kontor(args, env = process.env) {
	const out = execFileSync(binaryPath(), args, { env, encoding: 'utf8' });
	const lines = out.trim().split('\n');
	return lines[lines.length - 1].trim();
}

function upload(token, gid, body, contentType = 'image/png') {
	return api(server, token).raw('PUT', `/service_accounts/${gid}/photo`, { headers: { 'content-type': contentType }, body });
}

// Fetches a URL without credentials; returns {status, headers, bytes}.
async function fetchBytes(url) {
	const res = await fetch(url, { signal: AbortSignal.timeout(30000) });
	return { status: res.status, headers: Object.fromEntries(res.headers), bytes: Buffer.from(await res.arrayBuffer()) };
}

function assertPhotoUrls(photo) {
	assert.notEqual(photo, null, 'expected a photo object, got null');
	assert.equal(typeof photo, 'object', `expected a photo object, got ${JSON.stringify(photo)}`);
	assert.deepEqual(Object.keys(photo).sort(), SIZES.map((s) => `image_${s}x${s}`).sort());
	const key = new URL(photo.image_21x21, server.url).pathname.split('/')[4];
	assert.match(key, /^[0-9a-f]{32}$/);
	for (const size of SIZES) {
		assert.equal(new URL(photo[`image_${size}x${size}`], server.url).pathname, `/api/1.0/photos/${key}/${size}.png`);
	}
	return key;
}

// Rows of the audit log for the service account, read straight from the database of either driver.
function auditEvents(gid) {
	assert.match(gid, /^\d+$/); // gids pass 2^53, so they stay strings
	const sql = `SELECT event_type || ' ' || details FROM audit_log WHERE resource_gid = ${gid} AND event_type = 'service_account_photo_changed' ORDER BY gid`;
	const out = /^postgres(ql)?:\/\//.test(server.db)
		? execFileSync('psql', [server.db, '-At', '-c', sql], { encoding: 'utf8' })
		: execFileSync('sqlite3', [server.db, sql], { encoding: 'utf8' });
	return out.split('\n').filter(Boolean);
}

before(async () => {
	server = await startServer({ org: 'Photo Org', plan: 'enterprise' });
	admin = api(server, server.adminToken);
	const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name: 'Photo Bot', permissions: 'full' });
	if (res.status === 404 || res.status === 405) {
		skipReason = `POST /workspaces/{gid}/service_accounts is not available (${res.status}); photo uploads need a service account`;
		return;
	}
	assert.equal(res.status, 201, res.text);
	saGid = res.body.data.gid;
	saToken = res.body.data.token;
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

// ---------- uploads and serving ----------

test('upload sets six photo URLs', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const res = await upload(server.adminToken, saGid, png(40, 40));
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.gid, saGid);
	assert.equal(res.body.data.resource_type, 'service_account');
	const key = assertPhotoUrls(res.body.data.photo);

	// The user representation carries the same photo, as absolute URLs.
	const user = await admin.get(`/users/${saGid}`);
	assert.equal(user.status, 200, user.text);
	assert.equal(assertPhotoUrls(user.body.data.photo), key);
	for (const size of SIZES) {
		assert.equal(user.body.data.photo[`image_${size}x${size}`], `${server.url}/api/1.0/photos/${key}/${size}.png`);
	}
	assertMatchesSpec('GET', '/users/{user_gid}', user);
});

test('photo URLs serve PNGs without a token', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const res = await upload(server.adminToken, saGid, png(50, 20, (x) => (x < 15 || x >= 35 ? [0, 0, 255, 255] : [255, 0, 0, 255])));
	assert.equal(res.status, 200, res.text);
	for (const size of SIZES) {
		const url = new URL(res.body.data.photo[`image_${size}x${size}`], server.url).toString();
		const image = await fetchBytes(url);
		assert.equal(image.status, 200, `${url}: ${image.bytes.toString().slice(0, 200)}`);
		assert.equal(image.headers['content-type'], 'image/png');
		assert.equal(image.headers['cache-control'], 'public, max-age=31536000, immutable');
		assert.equal(image.headers['x-content-type-options'], 'nosniff');
		assert.deepEqual(pngSize(image.bytes), { width: size, height: size });
	}
});

test('photo URLs ignore a malformed Host', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const res = await upload(server.adminToken, saGid, png(30, 30));
	assert.equal(res.status, 200, res.text);
	const key = assertPhotoUrls(res.body.data.photo);
	for (const host of ['evil.example/steal?x=', 'evil.example:0', 'a b']) {
		const user = await rawGet(`${server.base}/users/${saGid}`, { host, authorization: `Bearer ${server.adminToken}` });
		assert.equal(user.status, 200, user.text);
		for (const size of SIZES) {
			assert.equal(user.body.data.photo[`image_${size}x${size}`], `http://localhost/api/1.0/photos/${key}/${size}.png`, host);
		}
	}
});

test('a new upload changes the key; old URLs 404', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const first = await upload(server.adminToken, saGid, png(8, 8));
	assert.equal(first.status, 200, first.text);
	const oldKey = assertPhotoUrls(first.body.data.photo);

	const second = await upload(server.adminToken, saGid, GIF_1X1, 'image/gif');
	assert.equal(second.status, 200, second.text);
	const newKey = assertPhotoUrls(second.body.data.photo);
	assert.notEqual(newKey, oldKey);

	const oldUrl = await fetchBytes(`${server.base}/photos/${oldKey}/128.png`);
	assert.equal(oldUrl.status, 404);
	assert.match(oldUrl.headers['content-type'], /^application\/json/);
	const served = await fetchBytes(`${server.base}/photos/${newKey}/1024.png`);
	assert.equal(served.status, 200);
	assert.deepEqual(pngSize(served.bytes), { width: 1024, height: 1024 });
});

test('upload accepts any content type label', async (t) => {
	if (skipReason) return t.skip(skipReason);
	// curl --data-binary labels bodies application/x-www-form-urlencoded; the bytes decide the type.
	const res = await upload(server.adminToken, saGid, png(3, 5), 'application/octet-stream');
	assert.equal(res.status, 200, res.text);
	assertPhotoUrls(res.body.data.photo);
});

test('delete clears the photo', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const set = await upload(server.adminToken, saGid, png(16, 16));
	assert.equal(set.status, 200, set.text);
	const key = assertPhotoUrls(set.body.data.photo);

	const res = await admin.del(`/service_accounts/${saGid}/photo`);
	assert.equal(res.status, 200, res.text);
	assert.equal(res.body.data.photo, null);
	const user = await admin.get(`/users/${saGid}`);
	assert.equal(user.body.data.photo, null);
	assert.equal((await fetchBytes(`${server.base}/photos/${key}/21.png`)).status, 404);

	// Deleting again is harmless.
	const again = await admin.del(`/service_accounts/${saGid}/photo`);
	assert.equal(again.status, 200, again.text);
	assert.equal(again.body.data.photo, null);
});

test('changes are audited', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const before = auditEvents(saGid).length;
	assert.equal((await upload(server.adminToken, saGid, png(2, 2))).status, 200);
	assert.equal((await admin.del(`/service_accounts/${saGid}/photo`)).status, 200);
	assert.equal((await admin.del(`/service_accounts/${saGid}/photo`)).status, 200); // no photo: no record

	const events = auditEvents(saGid).slice(before);
	assert.equal(events.length, 2, events.join('\n'));
	assert.match(events[0], /"action":\s*"set"/);
	assert.match(events[0], /"image_type":\s*"PNG"/);
	assert.match(events[1], /"action":\s*"removed"/);
});

// ---------- bad input ----------

test('bad images get 400 naming the problem', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const good = png(30, 30);
	const cases = [
		{ name: 'text', body: Buffer.from('hello, world\n'), type: 'text/plain', message: /not a PNG, JPEG, GIF or WebP image/ },
		{ name: 'pdf', body: Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n'), type: 'application/pdf', message: /not a PNG, JPEG, GIF or WebP image/ },
		{ name: 'svg', body: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'), type: 'image/svg+xml', message: /not a PNG, JPEG, GIF or WebP image/ },
		{ name: 'json', body: Buffer.from('{"data": {}}'), type: 'application/json', message: /not a PNG, JPEG, GIF or WebP image/ },
		{ name: 'truncated PNG', body: good.subarray(0, good.length - 20), type: 'image/png', message: /PNG image is corrupt or truncated/ },
		{ name: 'PNG cut inside IHDR', body: good.subarray(0, 20), type: 'image/png', message: /cut off/ },
		{ name: 'truncated GIF', body: GIF_1X1.subarray(0, 28), type: 'image/gif', message: /GIF image is cut off/ },
		{ name: 'PNG bomb', body: pngBomb(5000, 5000), type: 'image/png', message: /5000 x 5000 pixels; the maximum is 4096 x 4096/ },
		{ name: 'PNG one pixel too wide', body: pngBomb(4097, 1), type: 'image/png', message: /4097 x 1 pixels/ },
		{ name: 'zero height', body: pngBomb(10, 0), type: 'image/png', message: /zero pixels/ },
		{ name: 'empty body', body: Buffer.alloc(0), type: 'image/png', message: /empty/ },
		{ name: 'multipart form', body: good, type: 'multipart/form-data; boundary=x', message: /not a multipart form/ },
	];
	for (const c of cases) {
		const res = await upload(server.adminToken, saGid, c.body, c.type);
		assert.equal(res.status, 400, `${c.name}: ${res.text}`);
		assert.match(res.body.errors[0].message, /^photo: /, c.name);
		assert.match(res.body.errors[0].message, c.message, c.name);
	}
});

test('bodies over the limits get 413', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const set = await upload(server.adminToken, saGid, png(6, 6));
	assert.equal(set.status, 200, set.text);
	const key = assertPhotoUrls(set.body.data.photo);

	// Over 5 MiB but under the server's 6 MiB upload limit: the photo check names the limit.
	const justOver = Buffer.alloc(PHOTO_BODY_MAX + 1);
	png(4, 4).copy(justOver);
	const res = await upload(server.adminToken, saGid, justOver);
	assert.equal(res.status, 413, res.text);
	assert.match(res.body.errors[0].message, /5242880/);

	// Over 6 MiB: the HTTP layer stops reading.
	const huge = Buffer.alloc(UPLOAD_BODY_MAX + 1);
	const tooBig = await upload(server.adminToken, saGid, huge);
	assert.equal(tooBig.status, 413, tooBig.text);

	// Neither changed the photo that was there.
	const user = await admin.get(`/users/${saGid}`);
	assert.equal(user.status, 200, user.text);
	assert.equal(assertPhotoUrls(user.body.data.photo), key);
});

test('rejected upload keeps the old photo', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const set = await upload(server.adminToken, saGid, png(10, 10));
	assert.equal(set.status, 200, set.text);
	const key = assertPhotoUrls(set.body.data.photo);

	assert.equal((await upload(server.adminToken, saGid, pngBomb(9000, 9000))).status, 400);
	const user = await admin.get(`/users/${saGid}`);
	assert.equal(assertPhotoUrls(user.body.data.photo), key);
	assert.equal((await fetchBytes(`${server.base}/photos/${key}/60.png`)).status, 200);
});

// ---------- who may change photos ----------

test('only super admins change photos', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const adminUser = await server.addUser({ email: 'admin2@example.test', name: 'Ada Admin', role: 'admin' });
	const member = await server.addUser({ email: 'member@example.test', name: 'Mo Member', role: 'member' });
	const guest = await server.addUser({ email: 'guest@example.test', name: 'Gil Guest', role: 'guest' });
	const body = png(4, 4);

	for (const [who, token] of [['admin', adminUser.token], ['member', member.token], ['guest', guest.token], ['service account', saToken]]) {
		const put = await upload(token, saGid, body);
		assert.equal(put.status, 403, `${who} PUT: ${put.text}`);
		const del = await api(server, token).del(`/service_accounts/${saGid}/photo`);
		assert.equal(del.status, 403, `${who} DELETE: ${del.text}`);
	}

	const anonymous = await upload(null, saGid, body);
	assert.equal(anonymous.status, 401, anonymous.text);
});

test('unknown and foreign targets are 404', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const person = await server.addUser({ email: 'person@example.test', name: 'Pat Person' });
	const body = png(4, 4);

	// A person is a user but not a service account.
	assert.equal((await upload(server.adminToken, person.gid, body)).status, 404);
	assert.equal((await upload(server.adminToken, '999999999999', body)).status, 404);
	assert.equal((await upload(server.adminToken, 'not-a-gid', body)).status, 400);

	// A super admin of another organization in the same database does not find this one's account.
	const env = {
		...process.env,
		KONTOR_PEPPER_FILE: path.join(path.dirname(server.logPath), 'kontor.pepper'),
		KONTOR_ADMIN_PASSWORD: 'second-org-password',
	};
	kontor(['init', '--db', server.db, '--org', 'Other Org', '--plan', 'enterprise', '--admin-email', 'boss@other.test'], env);
	const otherToken = kontor(['token', 'create', '--db', server.db, '--email', 'boss@other.test', '--name', 'api test'], env);
	const foreign = await upload(otherToken, saGid, body);
	assert.equal(foreign.status, 404, foreign.text);
	const foreignDelete = await api(server, otherToken).del(`/service_accounts/${saGid}/photo`);
	assert.equal(foreignDelete.status, 404, foreignDelete.text);
});

test('organizations without the plan get 402', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const env = {
		...process.env,
		KONTOR_PEPPER_FILE: path.join(path.dirname(server.logPath), 'kontor.pepper'),
		KONTOR_ADMIN_PASSWORD: 'starter-org-password',
	};
	kontor(['init', '--db', server.db, '--org', 'Starter Org', '--plan', 'starter', '--admin-email', 'boss@starter.test'], env);
	const token = kontor(['token', 'create', '--db', server.db, '--email', 'boss@starter.test', '--name', 'api test'], env);

	const put = await upload(token, saGid, png(4, 4));
	assert.equal(put.status, 402, put.text);
	assert.match(put.body.errors[0].message, /enterprise/);
	const del = await api(server, token).del(`/service_accounts/${saGid}/photo`);
	assert.equal(del.status, 402, del.text);
});

test('malformed photo URLs are 404', async (t) => {
	if (skipReason) return t.skip(skipReason);
	const set = await upload(server.adminToken, saGid, png(4, 4));
	const key = assertPhotoUrls(set.body.data.photo);
	const paths = [
		`/photos/${key}/22.png`,
		`/photos/${key}/21.jpg`,
		`/photos/${key}/21`,
		`/photos/${key.toUpperCase()}/21.png`,
		`/photos/${key.slice(1)}/21.png`,
		`/photos/${'0'.repeat(32)}/21.png`,
		'/photos/../users/me/21.png',
	];
	for (const p of paths) {
		const res = await fetchBytes(server.base + p);
		assert.equal(res.status, 404, p);
		assert.match(res.headers['content-type'], /^application\/json/, p);
	}
});
