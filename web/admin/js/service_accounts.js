// The Service accounts page of the Apps tab (apps.js): a table of the
// organization's service accounts: photo, name, permissions, created by and
// when, last use with time and IP address, and token expiry. Each row has a
// menu (Edit, Deauthorize, Delete), and the page has the "Add service
// account" button. People who may not manage service accounts see why
// instead of the table.

import { API, listAll, post, del, errorMessage } from './api.js';
import { h, announce } from './dom.js';
import { confirmDialog } from './dialog.js';
import { menuButton } from './menu.js';
import { t, tn, formatDateTime, formatDate, locale } from './i18n.js';
import { openAddDialog, openEditDialog, permissionsSummary, avatar } from './sa_dialogs.js';

const LIST_FIELDS = [
	'name',
	'photo',
	'permissions',
	'is_active',
	'created_by',
	'created_by.name',
	'created_at',
	'last_used_at',
	'last_used_ip',
	'tokens',
].join(',');

// Plans that include service accounts, as the server names them.
const ELIGIBLE_PLANS = ['enterprise', 'enterprise_plus', 'legacy_enterprise'];

function planName(plan) {
	const key = `plans.${plan}`;
	const name = t(key);
	return name === key ? plan : name;
}

// Returns null when the signed-in person may manage service accounts, else
// the notice to show in place of the table.
function accessNotice(session) {
	if (session.service_accounts_available === false) {
		return h(
			'div',
			{ class: 'notice notice-info', dataset: { reason: 'plan' } },
			h('h3', { class: 'notice-title', text: t('sa.unavailable_title') }),
			h('p', {
				text: t('sa.unavailable_plan', {
					plan: planName(session.workspace && session.workspace.plan ? session.workspace.plan : ''),
					plans: ELIGIBLE_PLANS.map(planName).join(', '),
				}),
			}),
			h('p', { text: t('sa.unavailable_contact') }),
		);
	}
	if (session.role !== 'super_admin' && session.division_admin) {
		return h(
			'div',
			{ class: 'notice notice-info', dataset: { reason: 'division' } },
			h('h3', { class: 'notice-title', text: t('sa.division_title') }),
			h('p', { text: t('sa.division_message') }),
		);
	}
	if (session.role !== 'super_admin') {
		return h(
			'div',
			{ class: 'notice notice-info', dataset: { reason: 'role' } },
			h('h3', { class: 'notice-title', text: t('sa.role_title') }),
			h('p', { text: t('sa.role_message') }),
		);
	}
	return null;
}

// Renders the page into `root`. `addPermissions` (a list of scopes), when
// set, opens the add dialog with those permissions chosen once the page is
// shown, for the link on the SCIM page.
export function renderServiceAccounts(root, session, { addPermissions = null } = {}) {
	const workspaceGid = session.workspace.gid;
	const notice = accessNotice(session);
	const header = h(
		'div',
		{ class: 'section-header' },
		h('div', {}, h('h2', { class: 'section-title', text: t('sa.title') }), h('p', { class: 'section-lead', text: t('sa.lead') })),
	);
	root.append(header);
	if (notice) {
		root.append(notice);
		return;
	}

	const addButton = h('button', { type: 'button', class: 'button button-primary', id: 'sa-add', text: t('sa.add') });
	header.append(addButton);
	const status = h('div', { class: 'panel-status', 'aria-live': 'polite' });
	const tableHost = h('div', { class: 'table-host' });
	root.append(status, tableHost);

	let accounts = [];

	function showError(message) {
		status.replaceChildren(h('p', { class: 'notice notice-error', text: message }));
		announce(message);
	}

	function clearStatus() {
		status.replaceChildren();
	}

	function menuButtonOf(gid) {
		return tableHost.querySelector(`tr[data-gid="${gid}"] .menu-button`);
	}

	async function reload() {
		const items = await listAll(`${API}/workspaces/${workspaceGid}/service_accounts?opt_fields=${LIST_FIELDS}&limit=100`);
		accounts = items.sort((a, b) => (a.name || '').localeCompare(b.name || '', locale()));
		renderTable();
	}

	const context = {
		workspaceGid,
		reload,
		showError,
		clearStatus,
		focusAfter: (gid) => () => menuButtonOf(gid) || addButton,
	};

	addButton.addEventListener('click', () => openAddDialog(context));

	function tokenExpiryCell(account) {
		const live = (account.tokens || []).filter((token) => token.status === 'active');
		if (live.length === 0) {
			return h('td', {}, h('span', { class: 'badge badge-off', text: t('sa.no_active_token') }));
		}
		return h(
			'td',
			{},
			h(
				'ul',
				{ class: 'plain-list' },
				live.map((token) => h('li', { text: token.expires_at ? formatDate(token.expires_at) : t('sa.never_expires') })),
			),
		);
	}

	function lastUsedCell(account) {
		if (!account.last_used_at) {
			return h('td', {}, h('span', { class: 'muted', text: t('sa.never_used') }));
		}
		return h(
			'td',
			{},
			h('div', { text: formatDateTime(account.last_used_at) }),
			account.last_used_ip ? h('div', { class: 'muted mono', text: account.last_used_ip }) : null,
		);
	}

	function createdCell(account) {
		const by = account.created_by && account.created_by.name ? account.created_by.name : null;
		return h(
			'td',
			{},
			h('div', { text: formatDateTime(account.created_at) }),
			by ? h('div', { class: 'muted', text: t('sa.created_by', { name: by }) }) : null,
		);
	}

	// The name, and for an account removed with removeUser a "Deactivated"
	// badge, which screen readers then read as part of the row header.
	function nameCell(account) {
		if (account.is_active !== false) {
			return h('th', { scope: 'row', class: 'cell-name', text: account.name });
		}
		return h(
			'th',
			{ scope: 'row', class: 'cell-name' },
			account.name,
			' ',
			h('span', { class: 'badge badge-off', dataset: { state: 'inactive' }, text: t('sa.deactivated') }),
		);
	}

	function rowMenu(account) {
		return menuButton({
			label: t('sa.actions_for', { name: account.name }),
			items: [
				{ label: t('sa.edit'), onSelect: () => openEditDialog(context, account.gid) },
				{ label: t('sa.deauthorize'), onSelect: () => deauthorize(account) },
				{ label: t('sa.delete'), danger: true, onSelect: () => remove(account) },
			],
		});
	}

	function renderTable() {
		if (accounts.length === 0) {
			tableHost.replaceChildren(
				h('div', { class: 'empty' }, h('p', { text: t('sa.empty') }), h('p', { class: 'muted', text: t('sa.empty_hint') })),
			);
			return;
		}

		const rows = accounts.map((account) =>
			h(
				'tr',
				{ dataset: { gid: account.gid } },
				h('td', { class: 'cell-photo' }, avatar(account, 36)),
				nameCell(account),
				h('td', {}, permissionsSummary(account.permissions)),
				createdCell(account),
				lastUsedCell(account),
				tokenExpiryCell(account),
				h('td', { class: 'cell-actions' }, rowMenu(account)),
			),
		);
		tableHost.replaceChildren(
			h(
				'table',
				{ class: 'data-table' },
				h('caption', { class: 'visually-hidden', text: t('sa.title') }),
				h(
					'thead',
					{},
					h(
						'tr',
						{},
						h('th', { scope: 'col' }, h('span', { class: 'visually-hidden', text: t('sa.photo') })),
						h('th', { scope: 'col', text: t('sa.name') }),
						h('th', { scope: 'col', text: t('sa.permissions') }),
						h('th', { scope: 'col', text: t('sa.created') }),
						h('th', { scope: 'col', text: t('sa.last_used') }),
						h('th', { scope: 'col', text: t('sa.token_expiry') }),
						h('th', { scope: 'col' }, h('span', { class: 'visually-hidden', text: t('sa.actions') })),
					),
				),
				h('tbody', {}, rows),
			),
			h('p', { class: 'section-count', text: tn('sa.count', accounts.length) }),
		);
	}

	async function deauthorize(account) {
		const confirmed = await confirmDialog({
			title: t('sa.deauthorize_title', { name: account.name }),
			message: t('sa.deauthorize_message', { name: account.name }),
			confirmLabel: t('sa.deauthorize'),
			danger: true,
			returnFocus: context.focusAfter(account.gid),
		});
		if (!confirmed) {
			return;
		}
		try {
			await post(`${API}/service_accounts/${account.gid}/deauthorize`, {});
			clearStatus();
			await reload();
			announce(t('sa.deauthorized', { name: account.name }));
			const button = menuButtonOf(account.gid);
			if (button) {
				button.focus();
			}
		} catch (error) {
			showError(errorMessage(error));
		}
	}

	async function remove(account) {
		const confirmed = await confirmDialog({
			title: t('sa.delete_title', { name: account.name }),
			message: t('sa.delete_message', { name: account.name }),
			confirmLabel: t('sa.delete_confirm'),
			danger: true,
			returnFocus: context.focusAfter(account.gid),
		});
		if (!confirmed) {
			return;
		}
		try {
			await del(`${API}/service_accounts/${account.gid}`);
			clearStatus();
			await reload();
			announce(t('sa.deleted', { name: account.name }));
			addButton.focus();
		} catch (error) {
			showError(errorMessage(error));
		}
	}

	tableHost.replaceChildren(h('p', { class: 'loading', text: t('common.loading') }));
	reload().catch((error) => {
		tableHost.replaceChildren();
		showError(errorMessage(error));
	});
	if (addPermissions) {
		// The dialog returns focus to its opener, the add button, when it closes.
		addButton.focus();
		openAddDialog(context, { permissions: addPermissions });
	}
}
