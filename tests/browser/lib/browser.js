'use strict';
// Helpers for the admin-console browser tests: headless Chromium through
// playwright-core, the console's translation catalogs, screenshots under
// build/test-output/screenshots/, and a PNG fixture built in memory.
//
// Environment:
//   KONTOR_CHROMIUM   the Chromium binary (default /usr/bin/chromium)

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { repoRoot } = require('../../api/lib/server');

const CHROMIUM = process.env.KONTOR_CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 10000;
const WEB_DIR = path.join(repoRoot, 'web', 'admin');
const SCREENSHOT_DIR = path.join(repoRoot, 'build', 'test-output', 'screenshots');

// `kontor serve` finds the console's files here; startServer() passes the environment on.
process.env.KONTOR_WEB_DIR = process.env.KONTOR_WEB_DIR || WEB_DIR;

// Flags that keep Chromium from reaching any other host and from needing a
// display, a GPU or a sandbox. Playwright adds --headless and a fresh
// temporary --user-data-dir for every launch itself (it rejects the latter
// in args).
const CHROMIUM_FLAGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

// The reason to skip the browser tests, or false when Chromium is there.
function skipReason() {
	if (!fs.existsSync(CHROMIUM)) {
		return `${CHROMIUM} not found: install Chromium (scripts/deps.sh) or set KONTOR_CHROMIUM to run the browser tests`;
	}
	return false;
}

async function launch() {
	const { chromium } = require('playwright-core');
	return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

function loadCatalog(lang) {
	return JSON.parse(fs.readFileSync(path.join(WEB_DIR, 'i18n', `${lang}.json`), 'utf8'));
}

// Returns t(key, params) for one language, filled in the way web/admin/js/i18n.js does.
function translator(lang) {
	const catalog = loadCatalog(lang);
	return (key, params = {}) => {
		let node = catalog;
		for (const part of key.split('.')) {
			node = node && typeof node === 'object' ? node[part] : undefined;
		}
		if (typeof node !== 'string') {
			throw new Error(`${lang}.json has no string at ${key}`);
		}
		return node.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
	};
}

function catalogKeys(node, prefix = '') {
	return Object.entries(node).flatMap(([key, value]) =>
		value !== null && typeof value === 'object' ? catalogKeys(value, `${prefix}${key}.`) : [`${prefix}${key}`],
	);
}

const ALL_KEYS = [...new Set([...catalogKeys(loadCatalog('en')), ...catalogKeys(loadCatalog('sv'))])];

// Fails when the visible text shows a message key (a missing translation) or
// a JavaScript null/undefined that slipped into the page.
async function assertCleanText(page) {
	const text = await page.evaluate(() => document.body.innerText);
	const leakedKeys = ALL_KEYS.filter((key) => text.includes(key));
	if (leakedKeys.length) {
		throw new Error(`the page shows message keys instead of text: ${leakedKeys.join(', ')}`);
	}
	const leakedValue = text.match(/\b(null|undefined|NaN|\[object Object\])\b/);
	if (leakedValue) {
		throw new Error(`the page shows "${leakedValue[0]}": ${text.slice(Math.max(0, leakedValue.index - 80), leakedValue.index + 40)}`);
	}
}

// Checks the visible text (assertCleanText), then saves a full-page
// screenshot as <lang>-<step>.png and returns its path.
async function screenshot(page, lang, step) {
	await assertCleanText(page);
	fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
	const file = path.join(SCREENSHOT_DIR, `${lang}-${step}.png`);
	await page.screenshot({ path: file, fullPage: true });
	return file;
}

const CRC_TABLE = (() => {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) {
			c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		}
		table[n] = c >>> 0;
	}
	return table;
})();

function crc32(buffer) {
	let c = 0xffffffff;
	for (const byte of buffer) {
		c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
	}
	return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
	const length = Buffer.alloc(4);
	length.writeUInt32BE(data.length);
	const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(body));
	return Buffer.concat([length, body, crc]);
}

// A valid RGB PNG of `size` × `size` pixels: a diagonal gradient.
function pngFixture(size = 64) {
	const header = Buffer.alloc(13);
	header.writeUInt32BE(size, 0);
	header.writeUInt32BE(size, 4);
	header[8] = 8; // bit depth
	header[9] = 2; // colour type RGB
	// compression, filter and interlace methods stay 0

	const rows = [];
	for (let y = 0; y < size; y++) {
		const row = Buffer.alloc(1 + size * 3); // filter byte 0 (None), then the pixels
		for (let x = 0; x < size; x++) {
			row[1 + x * 3] = 40 + Math.floor((x * 150) / size);
			row[2 + x * 3] = 90 + Math.floor((y * 120) / size);
			row[3 + x * 3] = 170;
		}
		rows.push(row);
	}

	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		pngChunk('IHDR', header),
		pngChunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
		pngChunk('IEND', Buffer.alloc(0)),
	]);
}

// Collects what the page reports as errors: uncaught exceptions and console
// errors (Content-Security-Policy violations are reported there). Failed
// requests are left out, because the console expects some (401 before sign-in).
function watchErrors(page) {
	const errors = [];
	page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
	page.on('console', (message) => {
		if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
			errors.push(`console: ${message.text()}`);
		}
	});
	return errors;
}

// Returns a fresh context and page of `browser` in `locale` with clipboard
// access for `origin`, plus the list that collects page errors.
async function newPage(browser, locale, origin) {
	const context = await browser.newContext({ locale, viewport: { width: 1280, height: 860 } });
	await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
	const page = await context.newPage();
	page.setDefaultTimeout(STEP_TIMEOUT_MS);
	const errors = watchErrors(page);
	return { context, page, errors };
}

// Signs in on the console of `target` (a startServer() handle) and waits for the console.
async function signIn(page, target, email, password, t) {
	await page.goto(`${target.url}/admin/`);
	await page.getByLabel(t('signin.email'), { exact: true }).fill(email);
	await page.getByLabel(t('signin.password'), { exact: true }).fill(password);
	await page.getByRole('button', { name: t('signin.submit'), exact: true }).click();
	await page.getByRole('heading', { name: t('console.title'), exact: true }).waitFor();
}

module.exports = { skipReason, launch, translator, screenshot, pngFixture, watchErrors, newPage, signIn, WEB_DIR, SCREENSHOT_DIR };
