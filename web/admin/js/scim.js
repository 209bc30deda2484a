// The User provisioning (SCIM) page of the Apps tab (apps.js). It shows the
// SCIM base URL that an identity provider needs, links to adding a service
// account with the scim permission, and shows and changes the deprovision
// owner: the person who receives the assigned tasks and owned projects of
// people that SCIM deprovisions. Both come from GET and PUT
// /api/1.0/admin/scim_settings, which only super admins may use.

import { API, get, put, listAll, errorMessage } from './api.js';
import { h, uid, announce } from './dom.js';
import { t } from './i18n.js';
import { copyText } from './clipboard.js';

const SETTINGS_PATH = `${API}/admin/scim_settings`;

// Service accounts get synthetic addresses under this domain, which no person can have.
const SERVICE_ACCOUNT_DOMAIN = '.kontor.invalid';

// Returns null when the signed-in person may manage the SCIM settings, else
// the notice to show in their place. SCIM is part of the service-account
// plans, and only super admins change the settings.
function accessNotice(session) {
	if (session.service_accounts_available === false) {
		return h(
			'div',
			{ class: 'notice notice-info', dataset: { reason: 'plan' } },
			h('h3', { class: 'notice-title', text: t('scim.unavailable_title') }),
			h('p', { text: t('scim.unavailable_message') }),
		);
	}
	if (session.role !== 'super_admin') {
		return h(
			'div',
			{ class: 'notice notice-info', dataset: { reason: 'role' } },
			h('h3', { class: 'notice-title', text: t('scim.role_title') }),
			h('p', { text: t('scim.role_message') }),
		);
	}
	return null;
}

function ownerLabel(owner) {
	if (owner.name && owner.email) {
		return t('scim.owner_name_email', { name: owner.name, email: owner.email });
	}
	return owner.name || owner.email || owner.gid;
}

// Loads the e-mail addresses of the active members who are people and not
// guests, the only ones the server accepts as owner, for the field's suggestions.
async function loadCandidates(workspaceGid) {
	const fields = 'user.name,user.email,is_active,is_guest';
	const memberships = await listAll(`${API}/workspaces/${workspaceGid}/workspace_memberships?opt_fields=${fields}&limit=100`);
	return memberships
		.filter((m) => m.user && m.user.email && m.is_active !== false && !m.is_guest)
		.filter((m) => !m.user.email.toLowerCase().endsWith(SERVICE_ACCOUNT_DOMAIN))
		.map((m) => ({ name: m.user.name || '', email: m.user.email }));
}

// The SCIM base URL in a read-only field with a copy button.
function baseUrlField(url) {
	const inputId = uid('scim-url');
	const input = h('input', {
		id: inputId,
		type: 'text',
		class: 'token-value mono',
		readonly: true,
		spellcheck: 'false',
		autocomplete: 'off',
		'aria-describedby': `${inputId}-hint`,
	});
	input.value = url;
	input.addEventListener('focus', () => input.select());
	const copyStatus = h('p', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
	const copyButton = h('button', { type: 'button', class: 'button', id: 'scim-copy-url', text: t('scim.copy_url') });
	copyButton.addEventListener('click', async () => {
		copyStatus.textContent = '';
		const copied = await copyText(url, input);
		copyStatus.textContent = copied ? t('scim.url_copied') : t('scim.copy_manually');
	});
	return h(
		'div',
		{ class: 'field' },
		h('label', { for: inputId, text: t('scim.base_url') }),
		h('div', { class: 'token-row' }, input, copyButton),
		h('p', { class: 'hint', id: `${inputId}-hint`, text: t('scim.base_url_hint') }),
		copyStatus,
	);
}

// Renders the page into `root`. `addScimAccount()` opens the Service
// accounts page with the add dialog preset to the scim permission.
export function renderScim(root, session, { addScimAccount }) {
	root.append(
		h(
			'div',
			{ class: 'section-header' },
			h('div', {}, h('h2', { class: 'section-title', text: t('scim.title') }), h('p', { class: 'section-lead', text: t('scim.lead') })),
		),
	);
	const notice = accessNotice(session);
	if (notice) {
		root.append(notice);
		return;
	}

	const status = h('div', { class: 'panel-status', 'aria-live': 'polite' });
	const body = h('div', { class: 'scim-settings' }, h('p', { class: 'loading', text: t('common.loading') }));
	root.append(status, body);

	function showError(message) {
		status.replaceChildren(h('p', { class: 'notice notice-error', text: message }));
		announce(message);
	}

	// The suggestions only save typing: the field takes any address without them.
	const candidates = loadCandidates(session.workspace.gid).catch(() => []);

	get(SETTINGS_PATH)
		.then((payload) =>
			renderSettings(body, payload.data, { candidates, addScimAccount, showError, clearStatus: () => status.replaceChildren() }),
		)
		.catch((error) => {
			body.replaceChildren();
			showError(errorMessage(error));
		});
}

// Fills `body` with the settings `initial` (the data of GET scim_settings).
// `candidates` is a promise of the people to suggest as owner.
function renderSettings(body, initial, { candidates, addScimAccount, showError, clearStatus }) {
	let settings = initial;

	// Connecting an identity provider.
	const addLink = h('a', { href: '#apps', id: 'scim-add-account', text: t('scim.add_account') });
	addLink.addEventListener('click', (event) => {
		event.preventDefault();
		addScimAccount();
	});
	const connect = h(
		'section',
		{ class: 'settings-section', 'aria-labelledby': 'scim-connect-title' },
		h('h3', { class: 'subsection-title', id: 'scim-connect-title', text: t('scim.connect_title') }),
		h('p', { text: t('scim.connect_text') }),
		h('p', {}, addLink),
		baseUrlField(settings.scim_base_url),
	);

	// The deprovision owner.
	const current = h('div', { class: 'owner-current', id: 'scim-owner-current' });
	const inputId = 'scim-owner-email';
	const listId = uid('scim-candidates');
	const input = h('input', {
		id: inputId,
		type: 'email',
		autocomplete: 'off',
		spellcheck: 'false',
		list: listId,
		'aria-describedby': `${inputId}-hint scim-owner-error`,
	});
	const datalist = h('datalist', { id: listId });
	candidates.then((people) => {
		datalist.replaceChildren(...people.map((person) => h('option', { value: person.email, label: person.name || null })));
	});
	const errors = h('div', { class: 'form-error', id: 'scim-owner-error', role: 'alert', 'aria-live': 'assertive' });
	const save = h('button', { type: 'submit', class: 'button button-primary', id: 'scim-owner-save', text: t('scim.owner_save') });
	const clearButton = h('button', { type: 'button', class: 'button', id: 'scim-owner-clear', text: t('scim.owner_clear') });
	const form = h(
		'form',
		{ class: 'form', novalidate: true },
		h(
			'div',
			{ class: 'field' },
			h('label', { for: inputId, text: t('scim.owner_email') }),
			input,
			datalist,
			h('p', { class: 'hint', id: `${inputId}-hint`, text: t('scim.owner_email_hint') }),
		),
		errors,
		h('div', { class: 'form-actions' }, save, clearButton),
	);
	const owner = h(
		'section',
		{ class: 'settings-section', 'aria-labelledby': 'scim-owner-title' },
		h('h3', { class: 'subsection-title', id: 'scim-owner-title', text: t('scim.owner_title') }),
		h('p', { class: 'section-lead', text: t('scim.owner_lead') }),
		current,
		form,
	);
	body.replaceChildren(connect, owner);

	function showOwner() {
		const currentOwner = settings.deprovision_owner;
		if (!currentOwner) {
			current.replaceChildren(h('p', { dataset: { state: 'none' } }, h('strong', { text: t('scim.owner_none') }), ' ', t('scim.owner_none_detail')));
			clearButton.hidden = true;
			return;
		}
		const label = ownerLabel(currentOwner);
		current.replaceChildren(h('p', { dataset: { state: 'set' } }, `${t('scim.owner_current')} `, h('strong', { text: label })));
		if (settings.deprovision_owner_active === false) {
			current.append(
				h(
					'div',
					{ class: 'notice notice-warning', id: 'scim-owner-inactive' },
					h('h4', { class: 'notice-title', text: t('scim.owner_inactive_title', { owner: label }) }),
					h('p', { text: t('scim.owner_inactive_message') }),
				),
			);
		}
		clearButton.hidden = false;
	}

	function fail(message) {
		errors.textContent = message;
		input.setAttribute('aria-invalid', 'true');
		input.focus();
	}

	function setBusy(busy) {
		save.disabled = busy;
		clearButton.disabled = busy;
		save.textContent = busy ? t('scim.owner_saving') : t('scim.owner_save');
	}

	async function send(value) {
		setBusy(true);
		try {
			settings = (await put(SETTINGS_PATH, { deprovision_owner: value })).data;
		} finally {
			setBusy(false);
		}
		clearStatus();
		showOwner();
	}

	form.addEventListener('submit', async (event) => {
		event.preventDefault();
		errors.textContent = '';
		input.removeAttribute('aria-invalid');
		const email = input.value.trim();
		if (!email) {
			fail(t('scim.owner_missing'));
			return;
		}
		// Without "@" the server would read the value as a user gid, which this field does not offer.
		if (!email.includes('@')) {
			fail(t('scim.owner_not_email', { value: email }));
			return;
		}
		try {
			await send(email);
		} catch (error) {
			fail(errorMessage(error));
			return;
		}
		input.value = '';
		announce(t('scim.owner_saved', { owner: ownerLabel(settings.deprovision_owner) }));
		save.focus();
	});

	clearButton.addEventListener('click', async () => {
		errors.textContent = '';
		input.removeAttribute('aria-invalid');
		try {
			await send(null);
		} catch (error) {
			showError(errorMessage(error));
			clearButton.focus();
			return;
		}
		announce(t('scim.owner_cleared'));
		// The Clear button is hidden now, so focus moves to the field.
		input.focus();
	});

	showOwner();
}
