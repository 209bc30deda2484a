// The Members tab: the organization's people with name, e-mail address,
// role and status. Super admins change roles (PUT workspace_memberships);
// admins and super admins deactivate people (POST removeUser) and
// reactivate them (POST addUser). Service accounts are users too, but they
// are managed under Apps, so this table leaves them out.

import { API, listAll, put, post, errorMessage } from './api.js';
import { h, clear, announce, uid } from './dom.js';
import { confirmDialog } from './dialog.js';
import { t, tn, locale } from './i18n.js';

const ROLES = ['super_admin', 'admin', 'member', 'guest'];

// Service accounts get synthetic addresses under this domain, which no person can have.
const SERVICE_ACCOUNT_DOMAIN = '.kontor.invalid';

function membershipsPath(workspaceGid, withRole) {
	const fields = ['user.name', 'user.email', 'is_active', 'is_admin', 'is_guest'];
	if (withRole) {
		fields.push('role');
	}
	return `${API}/workspaces/${workspaceGid}/workspace_memberships?opt_fields=${fields.join(',')}&limit=100`;
}

// Asana's flags cannot tell a super admin from an admin, so both read as admin.
function roleFromFlags(membership) {
	if (membership.is_guest) {
		return 'guest';
	}
	return membership.is_admin ? 'admin' : 'member';
}

// Loads the memberships. Asana's representation has no role, only is_admin
// and is_guest; kontor adds `role`. A server without it rejects the field
// (400), so the table then falls back to what is_admin and is_guest tell.
async function loadMembers(workspaceGid) {
	let memberships;
	try {
		memberships = await listAll(membershipsPath(workspaceGid, true));
	} catch (error) {
		if (error.status !== 400) {
			throw error;
		}
		memberships = await listAll(membershipsPath(workspaceGid, false));
	}

	return memberships
		.filter((m) => m.user && !(m.user.email || '').toLowerCase().endsWith(SERVICE_ACCOUNT_DOMAIN))
		.map((m) => ({
			membershipGid: m.gid,
			userGid: m.user.gid,
			name: m.user.name || '',
			email: m.user.email || '',
			role: m.role || roleFromFlags(m),
			active: m.is_active !== false,
		}))
		.sort((a, b) => a.name.localeCompare(b.name, locale()) || a.email.localeCompare(b.email));
}

// Renders the tab into `panel` for the signed-in person described by `session`.
export function renderMembers(panel, session) {
	const viewerRole = session.role;
	const viewerGid = session.user ? session.user.gid : null;
	const workspaceGid = session.workspace.gid;
	const canEditRoles = viewerRole === 'super_admin';
	const canDeactivate = viewerRole === 'super_admin' || viewerRole === 'admin';

	clear(panel);
	const status = h('div', { class: 'panel-status', 'aria-live': 'polite' });
	const count = h('p', { class: 'section-count' });
	const tableHost = h('div', { class: 'table-host' });
	panel.append(
		h(
			'div',
			{ class: 'section-header' },
			h('div', {}, h('h2', { class: 'section-title', text: t('members.title') }), h('p', { class: 'section-lead', text: t('members.lead') })),
		),
		status,
		count,
		tableHost,
	);

	let members = [];

	function showError(message) {
		status.replaceChildren(h('p', { class: 'notice notice-error', text: message }));
	}

	function roleCell(member) {
		const isSelf = member.userGid === viewerGid;
		if (!canEditRoles || isSelf || !member.active) {
			return h('td', { text: t(`roles.${member.role}`) });
		}

		const selectId = uid('role');
		const select = h('select', { id: selectId, class: 'role-select', 'aria-label': t('members.role_for', { name: member.name }) });
		for (const role of ROLES) {
			const option = h('option', { value: role, text: t(`roles.${role}`) });
			option.selected = role === member.role;
			select.append(option);
		}
		const save = h('button', {
			type: 'button',
			class: 'button button-small',
			'aria-label': t('members.save_role_for', { name: member.name }),
			text: t('members.save_role'),
			disabled: true,
			dataset: { action: 'save-role' },
		});
		select.addEventListener('change', () => {
			save.disabled = select.value === member.role;
		});
		save.addEventListener('click', () => changeRole(member, select, save));
		return h('td', {}, h('div', { class: 'inline-form' }, select, save));
	}

	function actionCell(member) {
		const isSelf = member.userGid === viewerGid;
		const protectedRow = member.role === 'super_admin' && viewerRole !== 'super_admin';
		if (!canDeactivate || isSelf || protectedRow) {
			return h('td', {});
		}
		if (member.active) {
			const button = h('button', {
				type: 'button',
				class: 'button button-small button-danger-quiet',
				'aria-label': t('members.deactivate_named', { name: member.name }),
				text: t('members.deactivate'),
				dataset: { action: 'deactivate' },
			});
			button.addEventListener('click', () => deactivate(member));
			return h('td', {}, button);
		}
		const button = h('button', {
			type: 'button',
			class: 'button button-small',
			'aria-label': t('members.reactivate_named', { name: member.name }),
			text: t('members.reactivate'),
			dataset: { action: 'reactivate' },
		});
		button.addEventListener('click', () => reactivate(member));
		return h('td', {}, button);
	}

	function renderTable() {
		count.textContent = tn('members.count', members.length);
		if (members.length === 0) {
			tableHost.replaceChildren(h('p', { class: 'empty', text: t('members.empty') }));
			return;
		}

		const rows = members.map((member) =>
			h(
				'tr',
				{ dataset: { gid: member.userGid } },
				h(
					'th',
					{ scope: 'row' },
					member.name,
					member.userGid === viewerGid ? h('span', { class: 'muted', text: ` ${t('members.you')}` }) : null,
				),
				h('td', { text: member.email }),
				roleCell(member),
				h('td', {}, h('span', { class: member.active ? 'badge badge-ok' : 'badge badge-off', text: member.active ? t('members.active') : t('members.deactivated') })),
				actionCell(member),
			),
		);
		tableHost.replaceChildren(
			h(
				'table',
				{ class: 'data-table' },
				h('caption', { class: 'visually-hidden', text: t('members.title') }),
				h(
					'thead',
					{},
					h(
						'tr',
						{},
						h('th', { scope: 'col', text: t('members.name') }),
						h('th', { scope: 'col', text: t('members.email') }),
						h('th', { scope: 'col', text: t('members.role') }),
						h('th', { scope: 'col', text: t('members.status') }),
						h('th', { scope: 'col' }, h('span', { class: 'visually-hidden', text: t('members.actions') })),
					),
				),
				h('tbody', {}, rows),
			),
		);
	}

	function rowControl(userGid, selector) {
		const row = tableHost.querySelector(`tr[data-gid="${userGid}"]`);
		return row ? row.querySelector(selector) : null;
	}

	async function reload() {
		members = await loadMembers(workspaceGid);
		renderTable();
	}

	async function changeRole(member, select, save) {
		const role = select.value;
		select.disabled = true;
		save.disabled = true;
		try {
			await put(`${API}/workspace_memberships/${member.membershipGid}`, { role });
			member.role = role;
			status.replaceChildren();
			renderTable();
			announce(t('members.role_changed', { name: member.name, role: t(`roles.${role}`) }));
			const again = rowControl(member.userGid, 'select');
			if (again) {
				again.focus();
			}
		} catch (error) {
			select.disabled = false;
			select.value = member.role;
			showError(errorMessage(error));
			announce(errorMessage(error));
			select.focus();
		}
	}

	async function deactivate(member) {
		const confirmed = await confirmDialog({
			title: t('members.deactivate_title', { name: member.name }),
			message: t('members.deactivate_message', { name: member.name }),
			confirmLabel: t('members.deactivate'),
			danger: true,
		});
		if (!confirmed) {
			return;
		}
		try {
			await post(`${API}/workspaces/${workspaceGid}/removeUser`, { user: member.userGid });
			status.replaceChildren();
			await reload();
			announce(t('members.deactivated_message', { name: member.name }));
			const next = rowControl(member.userGid, 'button');
			if (next) {
				next.focus();
			}
		} catch (error) {
			showError(errorMessage(error));
			announce(errorMessage(error));
		}
	}

	async function reactivate(member) {
		try {
			await post(`${API}/workspaces/${workspaceGid}/addUser`, { user: member.userGid });
			status.replaceChildren();
			await reload();
			announce(t('members.reactivated_message', { name: member.name }));
			const next = rowControl(member.userGid, 'button');
			if (next) {
				next.focus();
			}
		} catch (error) {
			showError(errorMessage(error));
			announce(errorMessage(error));
		}
	}

	tableHost.replaceChildren(h('p', { class: 'loading', text: t('common.loading') }));
	reload().catch((error) => {
		tableHost.replaceChildren();
		showError(errorMessage(error));
	});
}
