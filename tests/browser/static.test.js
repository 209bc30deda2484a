'use strict';
// Static checks of web/admin that need no browser. Both translation
// catalogs must have the same keys and placeholders, and every key the code
// uses must exist. Nothing may need what the Content-Security-Policy forbids:
// inline scripts, inline styles, event-handler attributes, other origins.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { WEB_DIR } = require('./lib/browser');

const LANGUAGES = ['en', 'sv'];

function catalog(lang) {
	return JSON.parse(fs.readFileSync(path.join(WEB_DIR, 'i18n', `${lang}.json`), 'utf8'));
}

// Flattens a catalog to {"a.b.c": value}. Plural forms stay one entry, an object.
function flatten(node, prefix = '', out = {}) {
	for (const [key, value] of Object.entries(node)) {
		const name = prefix + key;
		const isPlural = value && typeof value === 'object' && 'other' in value;
		if (value && typeof value === 'object' && !isPlural) {
			flatten(value, `${name}.`, out);
		} else {
			out[name] = value;
		}
	}
	return out;
}

function placeholders(text) {
	return [...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

function sources(ext) {
	const files = [];
	const walk = (dir) => {
		for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
			const full = path.join(dir, entry.name);
			if (entry.isDirectory()) {
				walk(full);
			} else if (entry.name.endsWith(ext)) {
				files.push(full);
			}
		}
	};
	walk(WEB_DIR);
	return files;
}

const flat = Object.fromEntries(LANGUAGES.map((lang) => [lang, flatten(catalog(lang))]));

test('catalogs have the same keys', () => {
	const en = Object.keys(flat.en).sort();
	const sv = Object.keys(flat.sv).sort();
	assert.deepEqual(
		en.filter((key) => !sv.includes(key)),
		[],
		'keys in en.json missing from sv.json',
	);
	assert.deepEqual(
		sv.filter((key) => !en.includes(key)),
		[],
		'keys in sv.json missing from en.json',
	);
});

test('catalogs have non-empty texts with the same placeholders', () => {
	for (const key of Object.keys(flat.en)) {
		const forms = (value) => (typeof value === 'object' ? Object.values(value) : [value]);
		for (const lang of LANGUAGES) {
			for (const text of forms(flat[lang][key])) {
				assert.equal(typeof text, 'string', `${lang}.json ${key}`);
				assert.ok(text.trim().length > 0, `${lang}.json ${key} is empty`);
			}
		}
		const expected = placeholders(forms(flat.en[key]).at(-1));
		for (const text of forms(flat.sv[key])) {
			assert.deepEqual(placeholders(text), expected, `sv.json ${key} has other placeholders than en.json`);
		}
	}
});

test('plural forms cover one and other', () => {
	for (const lang of LANGUAGES) {
		for (const [key, value] of Object.entries(flat[lang])) {
			if (typeof value === 'object') {
				assert.ok('one' in value, `${lang}.json ${key} needs the plural form "one"`);
				assert.ok('other' in value, `${lang}.json ${key} needs the plural form "other"`);
			}
		}
	}
});

test('every message key used in code exists', () => {
	const known = new Set(Object.keys(flat.en));
	const prefixes = new Set();
	for (const key of known) {
		const parts = key.split('.');
		for (let i = 1; i < parts.length; i++) {
			prefixes.add(parts.slice(0, i).join('.') + '.');
		}
	}

	const missing = [];
	for (const file of sources('.js')) {
		const text = fs.readFileSync(file, 'utf8');
		for (const m of text.matchAll(/\btn?\('([a-z0-9_.]+)'/g)) {
			if (!known.has(m[1])) {
				missing.push(`${path.basename(file)}: ${m[1]}`);
			}
		}
		// Keys built from a template, such as t(`roles.${role}`): the fixed prefix must exist.
		for (const m of text.matchAll(/\btn?\(`([a-z0-9_.]+)\$\{/g)) {
			if (!prefixes.has(m[1])) {
				missing.push(`${path.basename(file)}: ${m[1]}…`);
			}
		}
	}
	for (const file of sources('.html')) {
		const text = fs.readFileSync(file, 'utf8');
		for (const m of text.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)) {
			if (!known.has(m[1])) {
				missing.push(`${path.basename(file)}: ${m[1]}`);
			}
		}
	}
	assert.deepEqual(missing, []);
});

test('html has no inline script, style or handler', () => {
	for (const file of sources('.html')) {
		const text = fs.readFileSync(file, 'utf8');
		const name = path.basename(file);
		for (const m of text.matchAll(/<script\b[^>]*>/g)) {
			assert.match(m[0], /\bsrc="[^"]+"/, `${name}: inline <script>`);
		}
		assert.doesNotMatch(text, /<style\b/, `${name}: inline <style>`);
		assert.doesNotMatch(text, /\sstyle=/, `${name}: style attribute`);
		assert.doesNotMatch(text, /\son[a-z]+=/, `${name}: event-handler attribute`);
		assert.doesNotMatch(text, /(src|href)="(https?:)?\/\//, `${name}: resource from another origin`);
	}
});

test('scripts avoid HTML injection and inline styles', () => {
	for (const file of sources('.js')) {
		const text = fs.readFileSync(file, 'utf8');
		const name = path.basename(file);
		assert.doesNotMatch(text, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/, `${name}: HTML from strings`);
		assert.doesNotMatch(text, /setAttribute\(\s*'style'|\beval\(|new Function\(/, `${name}: blocked by the CSP`);
		assert.doesNotMatch(text, /https?:\/\//, `${name}: another origin`);
	}
});
