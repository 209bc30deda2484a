// The Apps tab: a side navigation with two pages, Service accounts
// (service_accounts.js) and User provisioning (SCIM) (scim.js). The page
// is part of the address (#apps and #apps/scim), so a reload or a shared
// link opens the same page.

import { h, clear } from './dom.js';
import { t } from './i18n.js';
import { renderServiceAccounts } from './service_accounts.js';
import { renderScim } from './scim.js';

export const APPS_PAGES = ['service-accounts', 'scim'];

// The address of each page; the first page keeps the tab's own address.
export function appsHash(page) {
	return page === 'scim' ? '#apps/scim' : '#apps';
}

// Renders the Apps tab into `panel` on `page` (one of APPS_PAGES).
// `onPageChange(page)` is called when the person picks another page.
// `addServiceAccount`, when set, opens the add dialog with these
// permissions on the Service accounts page.
export function renderApps(panel, session, { page = 'service-accounts', onPageChange = null, addServiceAccount = null } = {}) {
	clear(panel);
	const current = APPS_PAGES.includes(page) ? page : APPS_PAGES[0];
	const content = h('div', { class: 'apps-content' });
	const links = [
		{ page: 'service-accounts', label: t('sa.title') },
		{ page: 'scim', label: t('scim.title') },
	].map((entry) => {
		const link = h('a', {
			href: appsHash(entry.page),
			class: 'subnav-link',
			id: `subnav-${entry.page}`,
			'aria-current': entry.page === current ? 'page' : null,
			text: entry.label,
		});
		link.addEventListener('click', (event) => {
			event.preventDefault();
			show(entry.page, { focusLink: true });
		});
		return h('li', {}, link);
	});

	panel.append(
		h('div', { class: 'apps-layout' }, h('nav', { class: 'subnav', 'aria-label': t('apps.navigation') }, h('ul', {}, links)), content),
	);

	function show(next, { focusLink = false, addPermissions = null } = {}) {
		renderApps(panel, session, { page: next, onPageChange, addServiceAccount: addPermissions });
		if (onPageChange) {
			onPageChange(next);
		}
		if (focusLink) {
			panel.querySelector(`#subnav-${next}`).focus();
		}
	}

	if (current === 'scim') {
		renderScim(content, session, {
			// Opens Service accounts with the add dialog preset to the scim permission.
			addScimAccount: () => show('service-accounts', { addPermissions: ['scim'] }),
		});
	} else {
		renderServiceAccounts(content, session, { addPermissions: addServiceAccount });
	}
}
