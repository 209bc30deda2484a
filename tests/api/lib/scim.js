'use strict';
// Helpers for the SCIM tests: a client that speaks application/scim+json
// to /api/1.0/scim, service accounts made by the super admin, and SQL
// against the test server's database.

const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const { api } = require('./server');

const SCHEMA_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCHEMA_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const SCHEMA_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCHEMA_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SCHEMA_LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

// A SCIM client for one token. Paths are relative to /api/1.0/scim. Every
// method returns {status, headers, body, text}; body is parsed JSON when the
// response has one.
function scimClient(server, token, { contentType = 'application/scim+json' } = {}) {
	async function request(method, path, body, headers = {}) {
		const all = { accept: 'application/scim+json', ...headers };
		if (token) {
			all.authorization = `Bearer ${token}`;
		}
		if (body !== undefined) {
			all['content-type'] = contentType;
		}
		let payload = body;
		if (body !== undefined && typeof body !== 'string') {
			payload = JSON.stringify(body);
		}
		const res = await fetch(`${server.base}/scim${path}`, {
			method,
			headers: all,
			body: payload,
			signal: AbortSignal.timeout(30000),
		});
		const text = await res.text();
		let parsed = text;
		if (text !== '' && /json/.test(res.headers.get('content-type') || '')) {
			parsed = JSON.parse(text);
		}
		return { status: res.status, headers: Object.fromEntries(res.headers), body: parsed, text };
	}
	return {
		get: (path, headers) => request('GET', path, undefined, headers),
		post: (path, body, headers) => request('POST', path, body, headers),
		put: (path, body, headers) => request('PUT', path, body, headers),
		patch: (path, body, headers) => request('PATCH', path, body, headers),
		del: (path, headers) => request('DELETE', path, undefined, headers),
	};
}

// A PATCH body with the given operations.
function patchOps(...operations) {
	return { schemas: [SCHEMA_PATCH], Operations: operations };
}

// Checks that a response is a SCIM error with this status (and scimType when given).
function assertScimError(res, status, scimType) {
	assert.equal(res.status, status, res.text);
	assert.match(res.headers['content-type'] || '', /^application\/scim\+json/);
	assert.deepEqual(res.body.schemas, [SCHEMA_ERROR], res.text);
	assert.equal(res.body.status, String(status), res.text);
	if (scimType !== undefined) {
		assert.equal(res.body.scimType, scimType, res.text);
	}
	assert.equal(typeof res.body.detail, 'string');
	assert.ok(res.body.detail.length > 10, res.text);
}

// Creates a service account with `permissions` as the super admin; returns {gid, token}.
async function createServiceAccount(server, name, permissions) {
	const admin = api(server, server.adminToken);
	const scopes = permissions === 'full' ? 'full' : [permissions];
	const res = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name, permissions: scopes });
	assert.equal(res.status, 201, res.text);
	return { gid: res.body.data.gid, token: res.body.data.token };
}

// Runs SQL against the server's database and returns the rows as objects.
// Select gids with CAST(... AS TEXT): JSON numbers lose precision above 2^53.
function sql(server, query) {
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		const out = execFileSync('psql', [server.db, '-At', '-v', 'ON_ERROR_STOP=1', '-c',
			`SELECT COALESCE(json_agg(row_to_json(q)), '[]'::json) FROM (${query}) q`], { encoding: 'utf8' });
		return JSON.parse(out.trim() || '[]');
	}
	const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 5000', server.db, query], { encoding: 'utf8' });
	return out.trim() ? JSON.parse(out) : [];
}

// Runs one SQL statement that returns no rows (UPDATE, INSERT) against the server's database.
function sqlExec(server, statement) {
	if (/^postgres(ql)?:\/\//.test(server.db)) {
		execFileSync('psql', [server.db, '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement], { encoding: 'utf8' });
		return;
	}
	execFileSync('sqlite3', ['-cmd', '.timeout 5000', server.db, statement], { encoding: 'utf8' });
}

// The audit records about one resource, oldest first.
function auditRows(server, resourceGid) {
	return sql(server, `SELECT event_type, event_category, CAST(actor_gid AS TEXT) AS actor_gid, auth_method,
		resource_type, details FROM audit_log WHERE resource_gid = ${resourceGid} ORDER BY gid`);
}

module.exports = {
	SCHEMA_USER, SCHEMA_GROUP, SCHEMA_PATCH, SCHEMA_ERROR, SCHEMA_LIST,
	scimClient, patchOps, assertScimError, createServiceAccount, sql, sqlExec, auditRows,
};
