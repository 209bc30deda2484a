// Dialogs of the Service accounts page. The add dialog creates an account,
// the edit dialog changes its name, photo and permissions and rotates or
// revokes its tokens, and the token dialog shows a new token once with a copy
// button. The table also uses two pieces from here: the permissions summary
// and the avatar.

import { API, get, post, put, del, request, errorMessage, ApiError } from './api.js';
import { h, append, uid, announce } from './dom.js';
import { createDialog, confirmDialog } from './dialog.js';
import { t, formatDate, formatDateTime } from './i18n.js';
import { copyText } from './clipboard.js';

// Scopes in the order the form lists them; the API sorts them alphabetically.
const SCOPES = ['read', 'scim', 'exports', 'audit_logs'];
const PHOTO_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const PHOTO_MAX_BYTES = 5 * 1024 * 1024;
// The server's limit: 255 Unicode characters (code points) after it trims
// surrounding spaces (U+0020 only). The name inputs have no maxlength
// attribute, because it counts UTF-16 code units and surrounding spaces, so
// it would cut off emoji names that the server accepts. nameProblem()
// checks the length on submit instead.
const NAME_MAX_LENGTH = 255;

/* ---------- shared pieces ---------- */

// The account's photo, or its initials when it has none.
export function avatar(account, size) {
	const photo = account.photo;
	let source = null;
	if (photo) {
		// The next larger stored size keeps the image sharp on high-density screens.
		source = size > 36 ? photo.image_128x128 : photo.image_60x60 || photo.image_128x128;
	}
	if (source) {
		return h('img', {
			class: `avatar avatar-${size}`,
			src: source,
			width: size,
			height: size,
			alt: t('sa.photo_of', { name: account.name }),
		});
	}
	const initials = (account.name || '?')
		.split(/\s+/)
		.filter(Boolean)
		.slice(0, 2)
		.map((word) => word[0].toUpperCase())
		.join('');
	return h(
		'span',
		{ class: `avatar avatar-${size} avatar-initials` },
		h('span', { 'aria-hidden': 'true', text: initials || '?' }),
		h('span', { class: 'visually-hidden', text: t('sa.no_photo') }),
	);
}

// "Full access", or "Scoped access" with the list of scopes.
export function permissionsSummary(permissions) {
	if (permissions === 'full') {
		return h('span', { class: 'badge badge-strong', text: t('permissions.full') });
	}
	const scopes = Array.isArray(permissions) ? permissions : [];
	return h(
		'div',
		{ class: 'permissions-summary' },
		h('span', { class: 'badge', text: t('permissions.scoped') }),
		h(
			'ul',
			{ class: 'chips', 'aria-label': t('permissions.scopes') },
			SCOPES.filter((scope) => scopes.includes(scope)).map((scope) => h('li', { class: 'chip', text: t(`scopes.${scope}.name`) })),
		),
	);
}

// Builds the permissions fieldset: full access, or scoped access with one
// checkbox per scope. Returns {element, value()}; value() returns "full", the
// sorted array of chosen scopes, or null when scoped access has no scope.
function permissionsFieldset(initial) {
	const group = uid('permissions');
	const fullId = uid('permissions-full');
	const scopedId = uid('permissions-scoped');
	const full = h('input', { type: 'radio', name: group, id: fullId, value: 'full', 'aria-describedby': `${fullId}-hint` });
	const scoped = h('input', { type: 'radio', name: group, id: scopedId, value: 'scoped', 'aria-describedby': `${scopedId}-hint` });
	const initialScopes = Array.isArray(initial) ? initial : [];
	full.checked = !Array.isArray(initial);
	scoped.checked = Array.isArray(initial);

	const boxes = SCOPES.map((scope) => {
		const id = uid(`scope-${scope}`);
		const box = h('input', { type: 'checkbox', id, value: scope, 'aria-describedby': `${id}-hint` });
		box.checked = initialScopes.includes(scope);
		return {
			box,
			element: h(
				'div',
				{ class: 'choice' },
				box,
				h(
					'div',
					{},
					h('label', { for: id, text: t(`scopes.${scope}.name`) }),
					h('p', { class: 'hint', id: `${id}-hint`, text: t(`scopes.${scope}.description`) }),
				),
			),
		};
	});
	const scopesSet = h(
		'fieldset',
		{ class: 'fieldset fieldset-nested' },
		h('legend', { text: t('permissions.scopes') }),
		boxes.map((entry) => entry.element),
	);

	function sync() {
		scopesSet.disabled = !scoped.checked;
	}
	full.addEventListener('change', sync);
	scoped.addEventListener('change', sync);
	sync();

	const element = h(
		'fieldset',
		{ class: 'fieldset' },
		h('legend', { text: t('permissions.legend') }),
		h(
			'div',
			{ class: 'choice' },
			full,
			h(
				'div',
				{},
				h('label', { for: fullId, text: t('permissions.full') }),
				h('p', { class: 'hint', id: `${fullId}-hint`, text: t('permissions.full_hint') }),
			),
		),
		h(
			'div',
			{ class: 'choice' },
			scoped,
			h(
				'div',
				{},
				h('label', { for: scopedId, text: t('permissions.scoped') }),
				h('p', { class: 'hint', id: `${scopedId}-hint`, text: t('permissions.scoped_hint') }),
			),
		),
		scopesSet,
	);

	return {
		element,
		value() {
			if (full.checked) {
				return 'full';
			}
			const chosen = boxes.filter((entry) => entry.box.checked).map((entry) => entry.box.value);
			return chosen.length ? chosen.sort() : null;
		},
		focus() {
			(scoped.checked ? boxes[0].box : full).focus();
		},
	};
}

function samePermissions(a, b) {
	if (a === 'full' || b === 'full') {
		return a === b;
	}
	const left = [...(a || [])].sort();
	const right = [...(b || [])].sort();
	return left.length === right.length && left.every((scope, i) => scope === right[i]);
}

// A labelled input with an optional hint. Returns {element, input}.
function field({ label, input, hint }) {
	const id = input.id || uid('field');
	input.id = id;
	const hintId = `${id}-hint`;
	if (hint) {
		input.setAttribute('aria-describedby', hintId);
	}
	return {
		input,
		element: h(
			'div',
			{ class: 'field' },
			h('label', { for: id, text: label }),
			input,
			hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
		),
	};
}

// A file chooser whose visible texts come from the translations: the native
// input stays in the tab order but is visually hidden, because its button
// and "no file" text would follow the browser's language instead of the
// console's. Returns {element, input} like field().
function photoField({ label, hint }) {
	const inputId = uid('photo');
	const labelId = `${inputId}-label`;
	const fileNameId = `${inputId}-file`;
	const hintId = `${inputId}-hint`;
	const input = h('input', {
		type: 'file',
		id: inputId,
		class: 'file-input',
		accept: PHOTO_TYPES.join(','),
		'aria-labelledby': labelId,
		'aria-describedby': `${fileNameId} ${hintId}`,
	});
	const fileName = h('span', { id: fileNameId, class: 'file-name muted', text: t('photo.no_file') });
	input.addEventListener('change', () => {
		fileName.textContent = input.files.length ? input.files[0].name : t('photo.no_file');
	});
	return {
		input,
		element: h(
			'div',
			{ class: 'field' },
			h('span', { id: labelId, class: 'field-label', text: label }),
			h(
				'div',
				{ class: 'file-picker' },
				input,
				h('label', { for: inputId, class: 'button button-small', 'aria-hidden': 'true', text: t('photo.choose') }),
				fileName,
			),
			h('p', { class: 'hint', id: hintId, text: hint }),
		),
	};
}

// Returns an error message for a chosen photo, or null when it may be sent.
function photoProblem(file) {
	if (!PHOTO_TYPES.includes(file.type)) {
		return t('photo.wrong_type', { name: file.name });
	}
	if (file.size > PHOTO_MAX_BYTES) {
		return t('photo.too_large', { name: file.name });
	}
	return null;
}

function todayIso() {
	const now = new Date();
	const pad = (n) => String(n).padStart(2, '0');
	return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

// A date input gives YYYY-MM-DD; the token then lasts to the end of that day in local time.
function endOfDay(value) {
	const [year, month, day] = value.split('-').map(Number);
	return new Date(year, month - 1, day, 23, 59, 59).toISOString();
}

function expiryInput() {
	return h('input', { type: 'date', min: todayIso() });
}

// Checks a date input. Returns {iso} (null when empty) or {error}.
function readExpiry(input) {
	if (!input.value) {
		return { iso: null };
	}
	const iso = endOfDay(input.value);
	if (new Date(iso).getTime() <= Date.now()) {
		return { error: t('token.expiry_past') };
	}
	return { iso };
}

// Trims the name the way the server does: spaces only, so a tab or another
// control character still reaches the server, which rejects it with a message.
function trimName(value) {
	return value.replace(/^ +| +$/g, '');
}

function nameProblem(name) {
	if (!name) {
		return t('sa.name_missing');
	}
	// Spreading a string splits it into code points, which is what the server counts.
	if ([...name].length > NAME_MAX_LENGTH) {
		return t('sa.name_too_long', { max: NAME_MAX_LENGTH });
	}
	return null;
}

function errorRegion() {
	return h('div', { class: 'form-error', role: 'alert', 'aria-live': 'assertive' });
}

function setBusy(buttons, busy) {
	for (const button of buttons) {
		button.disabled = busy;
	}
}

function uploadPhoto(gid, file) {
	return request('PUT', `${API}/service_accounts/${gid}/photo`, { body: file, contentType: file.type });
}

// Returns a fresh Idempotency-Key value.
function idempotencyKey() {
	if (crypto.randomUUID) {
		return crypto.randomUUID();
	}
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/* ---------- the token, shown once ---------- */

// Shows a new token with a copy button and the warning to keep it secret.
// Options: token, name (of the account), expiresAt, notice (an extra message,
// e.g. a failed photo upload), returnFocus. Resolves when the dialog closes.
export function showTokenDialog({ token, name, expiresAt, notice, returnFocus }) {
	const d = createDialog({ title: t('token.title', { name }), name: 'token-dialog', returnFocus });

	const tokenId = uid('token');
	const tokenInput = h('input', {
		id: tokenId,
		type: 'text',
		class: 'token-value mono',
		readonly: true,
		spellcheck: 'false',
		autocomplete: 'off',
		'aria-describedby': `${tokenId}-once`,
	});
	tokenInput.value = token;
	const copyStatus = h('p', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
	const copyButton = h('button', { type: 'button', class: 'button button-primary', text: t('token.copy') });

	copyButton.addEventListener('click', async () => {
		copyStatus.textContent = '';
		const copied = await copyText(token, tokenInput);
		copyStatus.textContent = copied ? t('token.copied') : t('token.copy_manually');
	});
	tokenInput.addEventListener('focus', () => tokenInput.select());

	append(d.body, [
		h('p', { class: 'notice notice-warning', id: `${tokenId}-once` }, h('strong', { text: t('token.shown_once') }), ' ', t('token.shown_once_detail')),
		h(
			'div',
			{ class: 'field' },
			h('label', { for: tokenId, text: t('token.label') }),
			h('div', { class: 'token-row' }, tokenInput, copyButton),
			copyStatus,
		),
		h('p', { class: 'hint', text: expiresAt ? t('token.expires_on', { date: formatDate(expiresAt) }) : t('token.no_expiry') }),
		h(
			'div',
			{ class: 'notice notice-info' },
			h('h3', { class: 'notice-title', text: t('token.safety_title') }),
			h('ul', {}, h('li', { text: t('token.safety_hardcode') }), h('li', { text: t('token.safety_secret_manager') }), h('li', { text: t('token.safety_leak') })),
		),
		notice ? h('p', { class: 'notice notice-error', role: 'alert', text: notice }) : null,
	]);

	const done = h('button', { type: 'button', class: 'button', text: t('token.done') });
	done.addEventListener('click', () => d.close());
	d.footer.append(done);
	return d.open(copyButton);
}

/* ---------- add ---------- */

// Opens the "Add service account" dialog. `context` comes from the table:
// {workspaceGid, reload(), showError(message), clearStatus(), focusAfter(gid)}.
// `permissions` is the initial choice: 'full' or a list of scopes.
export function openAddDialog(context, { permissions: initialPermissions = 'full' } = {}) {
	const d = createDialog({ title: t('sa.add_title'), name: 'sa-add-dialog' });
	const formId = uid('add-form');

	const name = field({
		label: t('sa.name'),
		input: h('input', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false' }),
		hint: t('sa.name_hint'),
	});
	const photo = photoField({ label: t('photo.label_optional'), hint: t('photo.hint') });
	const permissions = permissionsFieldset(initialPermissions);
	const expiry = field({ label: t('token.expiry_optional'), input: expiryInput(), hint: t('token.expiry_hint') });
	const errors = errorRegion();

	const form = h('form', { id: formId, class: 'form', novalidate: true }, name.element, photo.element, permissions.element, expiry.element, errors);
	d.body.append(form);

	const cancel = h('button', { type: 'button', class: 'button', text: t('dialog.cancel') });
	const submit = h('button', { type: 'submit', form: formId, class: 'button button-primary', text: t('sa.create') });
	cancel.addEventListener('click', () => d.close());
	d.footer.append(cancel, submit);

	function fail(message, focusTarget) {
		errors.textContent = message;
		if (focusTarget) {
			focusTarget.focus();
		}
	}

	form.addEventListener('submit', async (event) => {
		event.preventDefault();
		errors.textContent = '';
		name.input.removeAttribute('aria-invalid');

		const accountName = trimName(name.input.value);
		const problem = nameProblem(accountName);
		if (problem) {
			name.input.setAttribute('aria-invalid', 'true');
			fail(problem, name.input);
			return;
		}
		const chosen = permissions.value();
		if (chosen === null) {
			fail(t('permissions.none_chosen'), null);
			permissions.focus();
			return;
		}
		const file = photo.input.files[0] || null;
		if (file) {
			const photoError = photoProblem(file);
			if (photoError) {
				fail(photoError, photo.input);
				return;
			}
		}
		const expiresAt = readExpiry(expiry.input);
		if (expiresAt.error) {
			fail(expiresAt.error, expiry.input);
			return;
		}

		const data = { name: accountName, permissions: chosen };
		if (expiresAt.iso) {
			data.token_expires_at = expiresAt.iso;
		}

		setBusy([cancel, submit], true);
		submit.textContent = t('sa.creating');
		let account;
		try {
			account = (await post(`${API}/workspaces/${context.workspaceGid}/service_accounts`, data)).data;
		} catch (error) {
			setBusy([cancel, submit], false);
			submit.textContent = t('sa.create');
			fail(errorMessage(error), null);
			return;
		}

		// The account exists from here on, so a failed photo upload is reported but does not hide the token.
		let notice = null;
		if (file) {
			try {
				await uploadPhoto(account.gid, file);
			} catch (error) {
				notice = t('photo.upload_failed_after_create', { message: errorMessage(error) });
			}
		}

		context.clearStatus();
		await context.reload().catch((error) => context.showError(errorMessage(error)));
		d.close();
		announce(t('sa.created', { name: account.name }));
		await showTokenDialog({
			token: account.token,
			name: account.name,
			expiresAt: expiresAt.iso,
			notice,
			returnFocus: context.focusAfter(account.gid),
		});
	});

	d.open(name.input);
}

/* ---------- edit ---------- */

function statusBadge(token) {
	const classes = { active: 'badge badge-ok', expired: 'badge badge-off', revoked: 'badge badge-off' };
	return h('span', { class: classes[token.status] || 'badge', text: t(`token.status.${token.status}`) });
}

// Opens the edit dialog for the service account `gid`.
export async function openEditDialog(context, gid) {
	let account;
	try {
		account = (await get(`${API}/service_accounts/${gid}`)).data;
	} catch (error) {
		context.showError(errorMessage(error));
		return;
	}

	const d = createDialog({
		title: t('sa.edit_title', { name: account.name }),
		wide: true,
		name: 'sa-edit-dialog',
		returnFocus: context.focusAfter(gid),
	});
	const formId = uid('edit-form');

	const name = field({
		label: t('sa.name'),
		input: h('input', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false' }),
		hint: t('sa.name_hint'),
	});
	name.input.value = account.name;

	// Photo: the current one, a file input to replace it and a checkbox to remove it.
	const photo = photoField({
		label: account.photo ? t('photo.replace') : t('photo.label_optional'),
		hint: t('photo.hint'),
	});
	const removeId = uid('photo-remove');
	const removePhoto = h('input', { type: 'checkbox', id: removeId });
	const removeChoice = account.photo
		? h('div', { class: 'choice' }, removePhoto, h('label', { for: removeId, text: t('photo.remove') }))
		: null;
	photo.input.addEventListener('change', () => {
		if (photo.input.files.length) {
			removePhoto.checked = false;
		}
		removePhoto.disabled = photo.input.files.length > 0;
	});
	const photoSection = h(
		'div',
		{ class: 'photo-edit' },
		h('div', { class: 'photo-current' }, avatar(account, 60)),
		h('div', { class: 'photo-controls' }, photo.element, removeChoice),
	);

	const permissions = permissionsFieldset(account.permissions);
	const errors = errorRegion();
	const form = h(
		'form',
		{ id: formId, class: 'form', novalidate: true },
		h('h3', { class: 'subsection-title', text: t('sa.details') }),
		name.element,
		photoSection,
		permissions.element,
	);

	// Tokens act at once, outside the form and its Save.
	const tokensHost = h('div', { class: 'tokens-host' });
	const rotateExpiry = field({ label: t('token.new_expiry_optional'), input: expiryInput(), hint: t('token.expiry_hint') });
	const rotateButton = h('button', { type: 'button', class: 'button', text: t('token.rotate') });
	const rotateRow = h('div', { class: 'rotate-row' }, rotateExpiry.element, rotateButton);
	const rotateHint = h('p', { class: 'hint', text: t('token.rotate_hint') });
	const inactiveNotice = h('p', {
		class: 'notice notice-info',
		dataset: { reason: 'inactive' },
		text: t('token.rotate_inactive', { workspace: context.workspaceGid, gid }),
	});
	const tokenErrors = errorRegion();
	const tokensSection = h(
		'section',
		{ class: 'tokens-section', 'aria-labelledby': `${formId}-tokens` },
		h('h3', { class: 'subsection-title', id: `${formId}-tokens`, text: t('token.heading') }),
		h('p', { class: 'hint', text: t('token.immediate') }),
		tokensHost,
		inactiveNotice,
		rotateRow,
		rotateHint,
		tokenErrors,
	);

	d.body.append(form, errors, tokensSection);

	const cancel = h('button', { type: 'button', class: 'button', text: t('dialog.cancel') });
	const save = h('button', { type: 'submit', form: formId, class: 'button button-primary', text: t('sa.save') });
	cancel.addEventListener('click', () => d.close());
	d.footer.append(cancel, save);

	function renderTokens() {
		const tokens = account.tokens || [];
		if (tokens.length === 0) {
			tokensHost.replaceChildren(h('p', { class: 'muted', text: t('token.none') }));
			return;
		}
		const rows = tokens.map((token) => {
			let action = null;
			if (token.status === 'active') {
				action = h('button', {
					type: 'button',
					class: 'button button-small button-danger-quiet',
					'aria-label': t('token.revoke_named', { date: formatDateTime(token.created_at) }),
					text: t('token.revoke'),
					dataset: { tokenGid: token.gid },
				});
				action.addEventListener('click', () => revoke(token));
			}
			return h(
				'tr',
				{ dataset: { tokenGid: token.gid, status: token.status } },
				h(
					'th',
					{ scope: 'row' },
					h('div', { text: formatDateTime(token.created_at) }),
					token.created_by && token.created_by.name ? h('div', { class: 'muted', text: t('sa.created_by', { name: token.created_by.name }) }) : null,
				),
				h('td', { text: token.expires_at ? formatDate(token.expires_at) : t('sa.never_expires') }),
				h(
					'td',
					{},
					token.last_used_at ? h('div', { text: formatDateTime(token.last_used_at) }) : h('span', { class: 'muted', text: t('sa.never_used') }),
					token.last_used_ip ? h('div', { class: 'muted mono', text: token.last_used_ip }) : null,
				),
				h('td', {}, statusBadge(token)),
				h('td', {}, action),
			);
		});
		tokensHost.replaceChildren(
			h(
				'table',
				{ class: 'data-table data-table-compact' },
				h('caption', { class: 'visually-hidden', text: t('token.heading') }),
				h(
					'thead',
					{},
					h(
						'tr',
						{},
						h('th', { scope: 'col', text: t('token.created') }),
						h('th', { scope: 'col', text: t('token.expires') }),
						h('th', { scope: 'col', text: t('sa.last_used') }),
						h('th', { scope: 'col', text: t('token.status_heading') }),
						h('th', { scope: 'col' }, h('span', { class: 'visually-hidden', text: t('sa.actions') })),
					),
				),
				h('tbody', {}, rows),
			),
		);
	}

	// A deactivated account cannot get tokens (the server answers 409), so
	// Rotate gives way to a notice on how to reactivate it.
	function renderRotateState() {
		const inactive = account.is_active === false;
		rotateRow.hidden = inactive;
		rotateHint.hidden = inactive;
		rotateButton.disabled = inactive;
		inactiveNotice.hidden = !inactive;
	}

	// Reloads the account for its token list, and the table behind the dialog.
	async function refresh() {
		account = (await get(`${API}/service_accounts/${gid}`)).data;
		renderTokens();
		renderRotateState();
		await context.reload();
	}

	async function rotate() {
		tokenErrors.textContent = '';
		const expiresAt = readExpiry(rotateExpiry.input);
		if (expiresAt.error) {
			tokenErrors.textContent = expiresAt.error;
			rotateExpiry.input.focus();
			return;
		}
		const data = expiresAt.iso ? { expires_at: expiresAt.iso } : {};

		// One key per click: if the response is lost and the request is sent
		// again, the server returns the same token instead of minting another.
		const headers = { 'Idempotency-Key': idempotencyKey() };
		rotateButton.disabled = true;
		let created;
		try {
			try {
				created = (await post(`${API}/service_accounts/${gid}/tokens`, data, { headers })).data;
			} catch (error) {
				if (!(error instanceof ApiError) || error.status !== 0) {
					throw error;
				}
				created = (await post(`${API}/service_accounts/${gid}/tokens`, data, { headers })).data;
			}
		} catch (error) {
			rotateButton.disabled = false;
			tokenErrors.textContent = errorMessage(error);
			return;
		}
		rotateButton.disabled = false;
		rotateExpiry.input.value = '';
		await refresh().catch((error) => {
			tokenErrors.textContent = errorMessage(error);
		});
		announce(t('token.rotated'));
		await showTokenDialog({ token: created.token, name: account.name, expiresAt: created.expires_at, returnFocus: () => rotateButton });
	}

	async function revoke(token) {
		const confirmed = await confirmDialog({
			title: t('token.revoke_title'),
			message: t('token.revoke_message', { date: formatDateTime(token.created_at), name: account.name }),
			confirmLabel: t('token.revoke'),
			danger: true,
			returnFocus: () => (rotateRow.hidden ? null : rotateButton),
		});
		if (!confirmed) {
			return;
		}
		tokenErrors.textContent = '';
		try {
			await del(`${API}/service_accounts/${gid}/tokens/${token.gid}`);
			await refresh();
			announce(t('token.revoked'));
		} catch (error) {
			tokenErrors.textContent = errorMessage(error);
		}
	}

	rotateButton.addEventListener('click', rotate);

	form.addEventListener('submit', async (event) => {
		event.preventDefault();
		errors.textContent = '';
		name.input.removeAttribute('aria-invalid');

		const accountName = trimName(name.input.value);
		const problem = nameProblem(accountName);
		if (problem) {
			name.input.setAttribute('aria-invalid', 'true');
			errors.textContent = problem;
			name.input.focus();
			return;
		}
		const chosen = permissions.value();
		if (chosen === null) {
			errors.textContent = t('permissions.none_chosen');
			permissions.focus();
			return;
		}
		const file = photo.input.files[0] || null;
		if (file) {
			const photoError = photoProblem(file);
			if (photoError) {
				errors.textContent = photoError;
				photo.input.focus();
				return;
			}
		}

		const changes = {};
		if (accountName !== account.name) {
			changes.name = accountName;
		}
		if (!samePermissions(chosen, account.permissions)) {
			changes.permissions = chosen;
		}

		setBusy([cancel, save], true);
		save.textContent = t('sa.saving');
		try {
			if (Object.keys(changes).length) {
				await put(`${API}/service_accounts/${gid}`, changes);
			}
			if (file) {
				await uploadPhoto(gid, file);
			} else if (removePhoto.checked) {
				await del(`${API}/service_accounts/${gid}/photo`);
			}
			await context.reload();
		} catch (error) {
			setBusy([cancel, save], false);
			save.textContent = t('sa.save');
			errors.textContent = errorMessage(error);
			// A change saved before the failing one is already in the table behind the dialog.
			context.reload().catch(() => {});
			return;
		}
		context.clearStatus();
		d.close();
		announce(t('sa.saved', { name: accountName }));
	});

	renderTokens();
	renderRotateState();
	d.open(name.input);
}
