'use strict';
// Helpers shared by the example scripts: the official `asana` client pointed
// at a kontor server, every page of a list, retries on 429 and 503, error
// reports that show the server's message, command-line options, and CSV.
// Uses only Node's built-ins and the `asana` package (3.x).

const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const Asana = require('asana');

const PAGE_LIMIT = 100; // the largest page Asana and kontor serve
const RETRIES_MAX = 5; // per request, on 429 Too Many Requests and 503 Service Unavailable
const RETRY_WAIT_MAX_S = 60; // cap on one Retry-After wait, in seconds
const TIMEOUT_MS = 60000; // per request

// An error in the command line or the environment: exit 2 with the usage text.
class UsageError extends Error {}

// A check on the input files or the organization's data that failed before
// anything changed, such as an unknown e-mail address: exit 1.
class CheckError extends Error {}

// A request that failed: `label` names the request, `status` is the HTTP
// status (0 when no response arrived), `detail` is the server's message.
class RequestError extends Error {
	constructor(label, status, detail) {
		super(`${label} failed: ${status ? `HTTP ${status}: ` : ''}${detail}`);
		this.status = status;
	}
}

// Points the shared ApiClient at $KONTOR_URL/api/1.0 with $KONTOR_TOKEN and
// returns the Asana module for creating API classes.
function connect() {
	const url = process.env.KONTOR_URL;
	const token = process.env.KONTOR_TOKEN;

	if (!url || !/^https?:\/\/[^/]+/.test(url)) {
		throw new UsageError('KONTOR_URL is missing or not an http(s) URL; set it to the server address, such as http://127.0.0.1:8080');
	}
	if (!token) {
		throw new UsageError("KONTOR_TOKEN is missing; set it to a service account's token (kontor_sa_...)");
	}
	const client = Asana.ApiClient.instance;
	client.basePath = url.replace(/\/+$/, '') + '/api/1.0';
	client.authentications.token.accessToken = token;
	client.timeout = TIMEOUT_MS;
	return Asana;
}

// Returns the server's error messages from a rejected asana call, or the
// network error when no response arrived.
function errorDetail(err) {
	const body = err.response && err.response.body;
	if (body && Array.isArray(body.errors) && body.errors.length) {
		return body.errors.map((e) => e.message).join('; ');
	}
	if (err.status) {
		return (err.response && err.response.text) || err.message;
	}
	return err.code || err.message;
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// Runs `request` (a function returning the asana client's promise) and
// returns its result. Waits and retries on 429 and 503 as the server's
// Retry-After requests; throws a RequestError naming `label` on any other failure.
async function call(label, request) {
	for (let attempt = 0; ; attempt++) {
		try {
			return await request();
		} catch (err) {
			const status = err.status || 0;
			if ((status === 429 || status === 503) && attempt < RETRIES_MAX) {
				const header = err.response && err.response.headers && err.response.headers['retry-after'];
				const seconds = Math.min(Number(header) > 0 ? Number(header) : 2 ** attempt, RETRY_WAIT_MAX_S);
				process.stderr.write(`${label}: HTTP ${status}, retrying in ${seconds} s\n`);
				await sleep(seconds * 1000);
				continue;
			}
			throw new RequestError(label, status, errorDetail(err));
		}
	}
}

// Returns every item of a list call, page by page. `request` receives the
// options to pass on (limit set) and returns the asana client's Collection.
async function allPages(label, request, opts = {}) {
	const items = [];
	let page = await call(label, () => request({ ...opts, limit: PAGE_LIMIT }));
	while (page.data) {
		items.push(...page.data);
		const current = page;
		page = await call(label, () => current.nextPage());
	}
	return items;
}

// Returns the gid of the caller's organization: the only workspace a
// service account can access, or $KONTOR_WORKSPACE when set.
async function organizationGid(asana) {
	if (process.env.KONTOR_WORKSPACE) {
		return process.env.KONTOR_WORKSPACE;
	}
	const workspaces = await allPages('GET /workspaces', (opts) => new asana.WorkspacesApi().getWorkspaces(opts));
	if (workspaces.length !== 1) {
		throw new UsageError(`the token sees ${workspaces.length} workspaces; set KONTOR_WORKSPACE to the gid of one`);
	}
	return workspaces[0].gid;
}

// Parses the command line with node:util's parseArgs. `options` follows
// parseArgs; `--help` prints `usage` and exits 0.
function parseOptions(usage, options) {
	let parsed;
	try {
		parsed = parseArgs({ options: { ...options, help: { type: 'boolean' } }, allowPositionals: false });
	} catch (err) {
		throw new UsageError(err.message);
	}
	if (parsed.values.help) {
		process.stdout.write(usage);
		process.exit(0);
	}
	return parsed.values;
}

// Runs an example's main function and turns failures into a message on
// stderr and an exit status: 2 for usage errors, 1 for everything else.
function main(usage, fn) {
	fn().then(
		(code) => {
			process.exitCode = code || 0;
		},
		(err) => {
			if (err instanceof UsageError) {
				process.stderr.write(`error: ${err.message}\n\n${usage}`);
				process.exitCode = 2;
			} else if (err instanceof RequestError || err instanceof CheckError) {
				process.stderr.write(`error: ${err.message}\n`);
				process.exitCode = 1;
			} else {
				process.stderr.write(`error: ${err.stack || err}\n`);
				process.exitCode = 1;
			}
		},
	);
}

// ---------- CSV (RFC 4180) ----------

// Parses CSV text into rows of strings: quoted fields may contain commas,
// doubled quotes and line breaks; a leading byte order mark is dropped.
// Throws a CheckError naming `source` and the line of a malformed field.
function parseCsv(text, source) {
	const rows = [];
	let row = [];
	let field = '';
	let quoted = false;
	let line = 1;
	let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;

	for (; i < text.length; i++) {
		const c = text[i];
		if (quoted) {
			if (c === '"' && text[i + 1] === '"') {
				field += '"';
				i++;
			} else if (c === '"') {
				quoted = false;
				if (i + 1 < text.length && !',\r\n'.includes(text[i + 1])) {
					throw new CheckError(`${source}:${line}: a quoted field must end at a comma or a line end`);
				}
			} else {
				if (c === '\n') {
					line++;
				}
				field += c;
			}
		} else if (c === '"' && field === '') {
			quoted = true;
		} else if (c === ',') {
			row.push(field);
			field = '';
		} else if (c === '\n' || c === '\r') {
			if (c === '\r' && text[i + 1] === '\n') {
				i++;
			}
			row.push(field);
			rows.push(row);
			row = [];
			field = '';
			line++;
		} else {
			field += c;
		}
	}
	if (quoted) {
		throw new CheckError(`${source}:${line}: a quoted field is not closed`);
	}
	if (field !== '' || row.length) {
		row.push(field);
		rows.push(row);
	}
	// Blank lines carry no record.
	return rows.filter((r) => r.length > 1 || r[0].trim() !== '');
}

// Reads a CSV file with a header line into objects keyed by the lower-case,
// trimmed column names; each object also gets `_line`, its line number.
// Throws a UsageError when the file cannot be read and a CheckError when a
// column in `required` is missing.
function readCsvRecords(file, required) {
	let text;
	try {
		text = fs.readFileSync(file, 'utf8');
	} catch (err) {
		throw new UsageError(`failed to read ${file}: ${err.code || err.message}`);
	}
	const rows = parseCsv(text, file);
	if (!rows.length) {
		throw new CheckError(`${file} is empty; it needs a header line with the columns ${required.join(', ')}`);
	}
	const header = rows[0].map((name) => name.trim().toLowerCase());
	for (const name of required) {
		if (!header.includes(name)) {
			throw new CheckError(`${file}: the header has no ${name} column; found ${header.join(', ')}`);
		}
	}
	return rows.slice(1).map((row, index) => {
		const record = { _line: index + 2 };
		header.forEach((name, column) => {
			record[name] = (row[column] || '').trim();
		});
		return record;
	});
}

// Formats one CSV field. Text that a spreadsheet would run as a formula
// (starting with =, +, -, @, tab or carriage return) gets a leading
// apostrophe, so a task named "=HYPERLINK(...)" stays text when opened.
function csvField(value) {
	let text = value === null || value === undefined ? '' : String(value);
	if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) {
		text = "'" + text;
	}
	return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

function formatCsv(rows) {
	return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

// Writes `text` to `file` through a temporary file in the same folder and a
// rename, so a reader never sees a half-written file.
// Throws a CheckError naming the file when it cannot be written, and leaves
// no temporary file behind.
function writeFileAtomic(file, text) {
	const temporary = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
	let existing = null;
	try {
		existing = fs.statSync(file);
	} catch (err) {
		if (err.code !== 'ENOENT') {
			throw new CheckError(`cannot write ${file}: ${err.message}`);
		}
	}
	if (existing && existing.isDirectory()) {
		throw new CheckError(`cannot write ${file}: it is a directory; pass a file name`);
	}
	try {
		fs.writeFileSync(temporary, text);
		fs.renameSync(temporary, file);
	} catch (err) {
		fs.rmSync(temporary, { force: true });
		throw new CheckError(`cannot write ${file}: ${err.message}`);
	}
}

// True for a calendar date YYYY-MM-DD that exists (2026-02-30 does not).
function isDate(text) {
	if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) {
		return false;
	}
	const time = Date.parse(text + 'T00:00:00Z');
	return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === text;
}

// A plausible e-mail address: one @, no spaces, a dot in the domain.
function isEmail(text) {
	return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text);
}

module.exports = {
	UsageError,
	CheckError,
	RequestError,
	connect,
	call,
	allPages,
	organizationGid,
	parseOptions,
	main,
	parseCsv,
	readCsvRecords,
	formatCsv,
	writeFileAtomic,
	isDate,
	isEmail,
};
