// Translations of the admin console. Every visible string comes from
// i18n/<language>.json through t() or a data-i18n attribute, so a missing
// key shows up as the key itself rather than as English in the Swedish UI.

export const LANGUAGES = ['sv', 'en'];

const STORAGE_KEY = 'kontor.admin.language';
const catalogs = new Map();
const listeners = new Set();
let language = 'en';
let messages = {};

// Picks the language: the one stored by the switch, else the first of the
// browser's preferred languages that the console has, else English.
function preferredLanguage() {
	let stored = null;
	try {
		stored = window.localStorage.getItem(STORAGE_KEY);
	} catch {
		// Storage can be disabled; the browser's preference still applies.
	}
	if (LANGUAGES.includes(stored)) {
		return stored;
	}

	const tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
	for (const tag of tags) {
		const base = String(tag).toLowerCase().split('-')[0];
		if (LANGUAGES.includes(base)) {
			return base;
		}
	}
	return 'en';
}

async function loadCatalog(lang) {
	if (catalogs.has(lang)) {
		return catalogs.get(lang);
	}
	const url = new URL(`../i18n/${lang}.json`, import.meta.url);
	const res = await fetch(url, { credentials: 'same-origin' });
	if (!res.ok) {
		throw new Error(`Loading ${url.pathname} failed with status ${res.status}`);
	}
	const catalog = await res.json();
	catalogs.set(lang, catalog);
	return catalog;
}

function lookup(key) {
	let node = messages;
	for (const part of key.split('.')) {
		if (node === null || typeof node !== 'object' || !(part in node)) {
			return undefined;
		}
		node = node[part];
	}
	return node;
}

function fill(text, params) {
	if (!params) {
		return text;
	}
	return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// Returns the message `key` with {name} placeholders replaced from `params`.
export function t(key, params) {
	const value = lookup(key);
	if (typeof value !== 'string') {
		console.warn(`kontor console: no ${language} translation for "${key}"`);
		return key;
	}
	return fill(value, params);
}

// Returns the plural form of `key` for `count`. The catalog contains an
// object keyed by Intl.PluralRules categories ("one", "other", ...).
export function tn(key, count, params) {
	const forms = lookup(key);
	if (forms === null || typeof forms !== 'object') {
		console.warn(`kontor console: no ${language} plural forms for "${key}"`);
		return key;
	}
	const category = new Intl.PluralRules(locale()).select(count);
	const text = forms[category] ?? forms.other;
	return fill(text, { count, ...params });
}

export function currentLanguage() {
	return language;
}

// The BCP 47 locale for dates and plurals: the browser's own variant of the
// chosen language when it has one (en-GB, sv-FI), else a default region.
export function locale() {
	const tags = navigator.languages || [];
	for (const tag of tags) {
		if (String(tag).toLowerCase().split('-')[0] === language) {
			return tag;
		}
	}
	return language === 'sv' ? 'sv-SE' : 'en-US';
}

// Formats an ISO 8601 time (or null) as a date and time in the chosen language.
export function formatDateTime(iso) {
	if (!iso) {
		return '';
	}
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) {
		return iso;
	}
	return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function formatDate(iso) {
	if (!iso) {
		return '';
	}
	const date = new Date(iso);
	if (Number.isNaN(date.getTime())) {
		return iso;
	}
	return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(date);
}

// Fills the elements below `root` that carry data-i18n (text) or
// data-i18n-<attribute> (for example data-i18n-aria-label) with their messages.
export function translateTree(root) {
	for (const el of root.querySelectorAll('[data-i18n]')) {
		el.textContent = t(el.dataset.i18n);
	}
	for (const attribute of ['aria-label', 'title', 'placeholder', 'alt']) {
		const dataName = 'data-i18n-' + attribute;
		for (const el of root.querySelectorAll(`[${dataName}]`)) {
			el.setAttribute(attribute, t(el.getAttribute(dataName)));
		}
	}
}

// Loads and applies `lang`, stores it when `remember` is set, and calls
// every listener so that the views can render again.
export async function setLanguage(lang, { remember = true } = {}) {
	if (!LANGUAGES.includes(lang)) {
		lang = 'en';
	}
	messages = await loadCatalog(lang);
	language = lang;
	if (remember) {
		try {
			window.localStorage.setItem(STORAGE_KEY, lang);
		} catch {
			// The choice then lasts for this page only.
		}
	}
	document.documentElement.lang = lang;
	document.title = t('app.title');
	translateTree(document);
	for (const listener of listeners) {
		listener(lang);
	}
}

export function onLanguageChange(listener) {
	listeners.add(listener);
}

export async function initLanguage() {
	await setLanguage(preferredLanguage(), { remember: false });
}
