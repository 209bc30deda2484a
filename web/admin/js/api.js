// HTTP client for the console: the session endpoints under /admin/session
// and kontor's Asana-style API under /api/1.0. The session cookie goes with
// every request (same origin), and every request that is not a GET carries
// the session's CSRF token in X-CSRF-Token, which the server requires.

import { t, currentLanguage } from './i18n.js';

export const API = '/api/1.0';

// The maximum number of pages that listAll follows. At 100 items a page that
// is 100 000 items, far more than one table in the console can show.
const MAX_PAGES = 1000;

let csrfToken = null;
let unauthorizedHandler = null;

export class ApiError extends Error {
	// status 0 means that no response arrived (network failure).
	constructor(status, message, retryAfter) {
		super(message || `HTTP ${status}`);
		this.status = status;
		this.serverMessage = message || null;
		this.retryAfter = retryAfter || null;
	}
}

export function setCsrfToken(token) {
	csrfToken = token || null;
}

// Registers the function called when a request fails with 401 because the
// session ended (expired, revoked, or the person was deactivated).
export function onUnauthorized(handler) {
	unauthorizedHandler = handler;
}

// Sends one request. Options: json (an object sent as the JSON body), or
// body with contentType (sent as is, e.g. a photo file), and headers.
// Returns the parsed JSON response (or null for an empty body); throws
// ApiError with the server's errors[0].message on a non-2xx status.
export async function request(method, path, { json, body, contentType, headers = {} } = {}) {
	const init = {
		method,
		credentials: 'same-origin',
		cache: 'no-store',
		headers: { Accept: 'application/json', ...headers },
	};
	if (json !== undefined) {
		init.body = JSON.stringify(json);
		init.headers['Content-Type'] = 'application/json';
	} else if (body !== undefined) {
		init.body = body;
		init.headers['Content-Type'] = contentType || 'application/octet-stream';
	}
	if (method !== 'GET' && method !== 'HEAD' && csrfToken) {
		init.headers['X-CSRF-Token'] = csrfToken;
	}

	let res;
	try {
		res = await fetch(path, init);
	} catch {
		throw new ApiError(0, null);
	}

	const text = await res.text();
	let payload = null;
	if (text) {
		try {
			payload = JSON.parse(text);
		} catch {
			payload = null;
		}
	}

	if (!res.ok) {
		const message = payload && Array.isArray(payload.errors) && payload.errors[0] ? payload.errors[0].message : null;
		const error = new ApiError(res.status, message, res.headers.get('Retry-After'));
		if (res.status === 401 && !path.startsWith('/admin/session') && unauthorizedHandler) {
			unauthorizedHandler(error);
		}
		throw error;
	}
	return payload;
}

export const get = (path) => request('GET', path);
export const post = (path, data, options = {}) => request('POST', path, { ...options, json: { data } });
export const put = (path, data) => request('PUT', path, { json: { data } });
export const del = (path) => request('DELETE', path);

// Returns every item of a paginated list, following next_page.offset.
export async function listAll(path) {
	const items = [];
	let offset = null;

	for (let page = 0; page < MAX_PAGES; page++) {
		const separator = path.includes('?') ? '&' : '?';
		const url = offset ? `${path}${separator}offset=${encodeURIComponent(offset)}` : path;
		const payload = await get(url);
		items.push(...(payload.data || []));
		offset = payload.next_page && payload.next_page.offset;
		if (!offset) {
			return items;
		}
	}
	return items;
}

// The statuses that errors.by_status of each catalog describes.
const STATUS_SUMMARIES = new Set([400, 401, 402, 403, 404, 409, 413, 415, 429, 500, 503]);

// Returns a message for the person at the screen. In English that is the
// server's own message when it sent one. The server writes English only, so
// other languages give a translated summary of the status followed by the
// server's message. Without a server message, a translated description.
export function errorMessage(error) {
	if (!(error instanceof ApiError)) {
		return t('errors.unexpected');
	}
	if (error.status === 0) {
		return t('errors.network');
	}
	if (error.serverMessage && currentLanguage() === 'en') {
		return error.serverMessage;
	}
	// The server's detail names the field and the fix, so it stays after the summary.
	const summary = STATUS_SUMMARIES.has(error.status)
		? t(`errors.by_status.${error.status}`)
		: t('errors.status', { status: error.status });
	if (!error.serverMessage) {
		return summary;
	}
	return t('errors.with_detail', { summary, detail: error.serverMessage });
}

// Session endpoints.
export const session = {
	get: () => request('GET', '/admin/session'),
	signIn: (email, password) => request('POST', '/admin/session', { json: { email, password } }),
	signOut: () => request('DELETE', '/admin/session'),
};
