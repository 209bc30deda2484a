#!/usr/bin/env node
'use strict';
// Periodic backup with retention: asks kontor for an organization export,
// waits until it is finished, downloads the gzip-compressed JSON, checks it,
// and keeps only the newest BACKUP_KEEP backups in BACKUP_DIR.
//
// Environment:
//   KONTOR_URL        kontor's base URL, e.g. https://kontor.example.se
//   KONTOR_TOKEN      a service-account token with `full` or `exports`
//   KONTOR_WORKSPACE  the organization's gid (default: the token's only one)
//   BACKUP_DIR        where backups go (default ./backups)
//   BACKUP_KEEP       how many backups to keep (default 7)
//   BACKUP_TIMEOUT_S  how long to wait for the export (default 3600)
//   BACKUP_POLL_MS    how often to ask for the export's state (default 2000)

const Asana = require('asana');
const fs = require('node:fs');
const { UsageError, call, parseOptions } = require('../lib/kontor');
const path = require('node:path');
const zlib = require('node:zlib');
const { pipeline } = require('node:stream/promises');

const USAGE = `usage: backup.js [--help]

Requests an organization export, downloads it into BACKUP_DIR and keeps the
newest BACKUP_KEEP backups. Settings come from the environment:
  KONTOR_URL        kontor's base URL (required)
  KONTOR_TOKEN      a service-account token with full or exports (required)
  KONTOR_WORKSPACE  the organization's gid (default: the token's only one)
  BACKUP_DIR        where backups go (default ./backups)
  BACKUP_KEEP       how many backups to keep (default 7)
  BACKUP_TIMEOUT_S  seconds to wait for the export (default 3600)
  BACKUP_POLL_MS    milliseconds between state checks (default 2000)
`;

function setting(name, fallback) {
	const value = process.env[name];
	if (value !== undefined && value !== '') {
		return value;
	}
	if (fallback === undefined) {
		throw new UsageError(`${name} is not set; see the README for the settings this script reads`);
	}
	return fallback;
}

function positiveInteger(name, fallback) {
	const text = setting(name, String(fallback));
	const value = Number(text);
	if (!Number.isInteger(value) || value < 1) {
		throw new UsageError(`${name}: expected a whole number of at least 1, not ${JSON.stringify(text)}`);
	}
	return value;
}

// Turns an API error into one line with kontor's own message.
function describe(err) {
	const body = err && err.response && err.response.body;
	if (body && Array.isArray(body.errors) && body.errors.length > 0) {
		return `${err.status}: ${body.errors.map((e) => e.message).join('; ')}`;
	}
	return err && err.message ? err.message : String(err);
}

async function findWorkspace(client) {
	const configured = process.env.KONTOR_WORKSPACE;
	if (configured) {
		return configured;
	}
	let result;
	try {
		result = await call('GET /workspaces', () => new Asana.WorkspacesApi(client).getWorkspaces({ limit: 10 }));
	} catch (err) {
		// A token with only `exports` may not list workspaces.
		if (err.status === 403) {
			throw new Error('this token cannot list workspaces; set KONTOR_WORKSPACE to the organization\'s gid');
		}
		throw err;
	}
	if (result.data.length !== 1) {
		throw new Error(`the token sees ${result.data.length} workspaces; set KONTOR_WORKSPACE to the one to back up`);
	}
	return result.data[0].gid;
}

async function waitForExport(exportsApi, exportGid, timeoutMs, pollMs) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const result = await call(`GET /organization_exports/${exportGid}`, () => exportsApi.getOrganizationExport(exportGid, {}));
		const state = result.data.state;
		if (state === 'finished') {
			return result.data;
		}
		if (state === 'error') {
			throw new Error(`export ${exportGid} failed on the server; see the server log and retry`);
		}
		if (Date.now() > deadline) {
			throw new Error(`export ${exportGid} still ${state} after ${timeoutMs / 1000} s; raise BACKUP_TIMEOUT_S`);
		}
		await new Promise((resolve) => setTimeout(resolve, pollMs));
	}
}

// The download URL is signed, so it is fetched without the token: the token
// never goes to a host other than the API's.
async function download(url, file) {
	const response = await fetch(url, { redirect: 'error' });
	if (!response.ok) {
		throw new Error(`download failed with HTTP ${response.status}; the URL may have expired, run the backup again`);
	}
	await pipeline(response.body, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
}

// Reads the whole file through gunzip, so a truncated or corrupt download
// fails here, and checks that it starts as a kontor export.
async function verify(file) {
	let head = '';
	const gunzip = zlib.createGunzip();
	gunzip.on('data', (chunk) => {
		if (head.length < 4096) {
			head += chunk.toString('utf8', 0, Math.min(chunk.length, 4096));
		}
	});
	await pipeline(fs.createReadStream(file), gunzip);
	if (!/"format"\s*:\s*"kontor-export"/.test(head)) {
		throw new Error(`${file} is not a kontor export (no "format": "kontor-export" at its start)`);
	}
}

// Deletes the oldest backups of this workspace beyond `keep`. Names hold a
// UTC timestamp, so name order is age order; other files are left alone.
function prune(dir, workspace, keep) {
	const pattern = new RegExp(`^kontor-${workspace}-\\d{8}T\\d{6}Z\\.json\\.gz$`);
	const backups = fs.readdirSync(dir).filter((name) => pattern.test(name)).sort();
	const removed = backups.slice(0, Math.max(0, backups.length - keep));
	for (const name of removed) {
		fs.unlinkSync(path.join(dir, name));
	}
	return removed;
}

async function main() {
	parseOptions(USAGE, {});
	const base = setting('KONTOR_URL').replace(/\/+$/, '');
	const dir = setting('BACKUP_DIR', 'backups');
	const keep = positiveInteger('BACKUP_KEEP', 7);
	const timeoutMs = positiveInteger('BACKUP_TIMEOUT_S', 3600) * 1000;
	const pollMs = positiveInteger('BACKUP_POLL_MS', 2000);

	const client = new Asana.ApiClient();
	client.basePath = `${base}/api/1.0`;
	client.authentications.token.accessToken = setting('KONTOR_TOKEN');

	const workspace = await findWorkspace(client);
	const exportsApi = new Asana.OrganizationExportsApi(client);
	// The server allows a few unfinished exports per organization and answers
	// 429 with Retry-After beyond that; call() waits and retries.
	const created = await call('POST /organization_exports', () =>
		exportsApi.createOrganizationExport({ data: { organization: workspace } }, {}));
	console.log(`export ${created.data.gid} requested`);
	const finished = await waitForExport(exportsApi, created.data.gid, timeoutMs, pollMs);

	fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
	const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
	const file = path.join(dir, `kontor-${workspace}-${stamp}.json.gz`);
	const partial = `${file}.partial`;
	try {
		await download(finished.download_url, partial);
		await verify(partial);
		fs.renameSync(partial, file);
	} catch (err) {
		fs.rmSync(partial, { force: true });
		throw err;
	}
	console.log(`saved ${file} (${fs.statSync(file).size} bytes)`);

	for (const name of prune(dir, workspace, keep)) {
		console.log(`removed old backup ${name}`);
	}
}

main().catch((err) => {
	console.error(`backup failed: ${describe(err)}`);
	// The exit status of examples/README.md: 2 for a wrong option or setting, 1 for the rest.
	process.exit(err instanceof UsageError ? 2 : 1);
});
