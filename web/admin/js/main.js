// Entry point of the admin console. It picks the language, requests the
// current session from the server, and shows either the sign-in page or the
// console (header, tabs Members and Apps). The language switch and a lost
// session render the current view again. The address names the tab and,
// under Apps, the page: #members, #apps or #apps/scim.

import { session, setCsrfToken, onUnauthorized, errorMessage } from './api.js';
import { h, clear, announce } from './dom.js';
import { initLanguage, setLanguage, onLanguageChange, currentLanguage, t } from './i18n.js';
import { renderSignIn } from './signin.js';
import { renderMembers } from './members.js';
import { renderApps, appsHash, APPS_PAGES } from './apps.js';
import { createTabs } from './tabs.js';

const TAB_IDS = ['members', 'apps'];

const state = {
	view: 'loading', // loading, signin, console or error
	session: null, // data of GET /admin/session
	tab: 'members',
	appsPage: 'service-accounts', // the page of the Apps tab, one of APPS_PAGES
	signInNotice: null, // message key shown above the sign-in form
	signInEmail: '',
	errorMessage: '', // shown when the server could not be asked for the session
};

const main = () => document.getElementById('main');

function renderHeader() {
	const signedIn = state.view === 'console' && state.session;
	const orgName = document.getElementById('org-name');
	const box = document.getElementById('signed-in');
	const signOut = document.getElementById('sign-out');

	orgName.hidden = !signedIn;
	box.hidden = !signedIn;
	signOut.hidden = !signedIn;
	if (!signedIn) {
		return;
	}

	const { user, workspace } = state.session;
	orgName.textContent = workspace ? workspace.name : '';
	document.getElementById('signed-in-name').textContent = user ? user.name || user.email : '';
	document.getElementById('signed-in-email').textContent = user && user.name ? user.email : '';
	box.setAttribute('aria-label', t('session.signed_in_as', { name: user ? user.name || user.email : '' }));
	box.setAttribute('role', 'group');
}

function renderConsole({ focusTab = false } = {}) {
	const root = clear(main());
	const heading = h('h1', { class: 'page-title', text: t('console.title') });
	const tabs = createTabs({
		label: t('console.sections'),
		selected: state.tab,
		tabs: [
			{ id: 'members', label: t('tabs.members'), render: (panel) => renderMembers(panel, state.session) },
			{
				id: 'apps',
				label: t('tabs.apps'),
				render: (panel) =>
					renderApps(panel, state.session, {
						page: state.appsPage,
						onPageChange: (page) => {
							state.appsPage = page;
							window.history.replaceState(null, '', appsHash(page));
						},
					}),
			},
		],
		onSelect: (id) => {
			state.tab = id;
			window.history.replaceState(null, '', id === 'apps' ? appsHash(state.appsPage) : `#${id}`);
		},
	});
	root.append(heading, tabs.element);
	if (focusTab) {
		root.querySelector('[role="tab"][aria-selected="true"]').focus();
	}
}

function renderError(message) {
	const root = clear(main());
	root.append(
		h('h1', { class: 'page-title', text: t('errors.title') }),
		h('p', { class: 'notice notice-error', role: 'alert', text: message }),
	);
	const retry = h('button', { type: 'button', class: 'button', text: t('errors.retry') });
	retry.addEventListener('click', () => start());
	root.append(retry);
}

function render(options = {}) {
	renderHeader();
	const root = main();
	root.removeAttribute('aria-busy');

	if (state.view === 'signin') {
		renderSignIn(root, {
			notice: state.signInNotice ? t(state.signInNotice) : null,
			email: state.signInEmail,
			onEmailInput: (value) => {
				state.signInEmail = value;
			},
			onSignedIn: enterConsole,
		});
	} else if (state.view === 'console') {
		renderConsole(options);
	} else if (state.view === 'error') {
		renderError(state.errorMessage);
	}
}

// Loads the session data (role, plan, CSRF token) and shows the console.
async function enterConsole() {
	const payload = await session.get();
	state.session = payload.data;
	setCsrfToken(state.session.csrf_token);
	state.view = 'console';
	state.signInNotice = null;
	render();
	main().focus();
	announce(t('session.signed_in_as', { name: state.session.user ? state.session.user.name : '' }));
}

function showSignIn(noticeKey) {
	state.view = 'signin';
	state.session = null;
	state.signInNotice = noticeKey || null;
	setCsrfToken(null);
	// Dialogs of the old session would act on nothing now.
	for (const dialog of document.querySelectorAll('dialog[open]')) {
		dialog.close();
	}
	render();
}

async function signOut() {
	const button = document.getElementById('sign-out');
	button.disabled = true;
	try {
		await session.signOut();
	} catch (error) {
		// A session that already ended is as good as signed out.
		if (error.status !== 401) {
			announce(errorMessage(error));
			button.disabled = false;
			return;
		}
	}
	button.disabled = false;
	showSignIn('signin.signed_out');
	announce(t('signin.signed_out'));
	document.getElementById('main').focus();
}

async function start() {
	state.view = 'loading';
	main().setAttribute('aria-busy', 'true');
	try {
		const payload = await session.get();
		state.session = payload.data;
		setCsrfToken(state.session.csrf_token);
		state.view = 'console';
	} catch (error) {
		if (error.status === 401) {
			state.view = 'signin';
		} else {
			state.view = 'error';
			state.errorMessage = errorMessage(error);
		}
	}
	render();
}

async function boot() {
	const [tabFromHash, pageFromHash] = window.location.hash.replace(/^#/, '').split('/');
	if (TAB_IDS.includes(tabFromHash)) {
		state.tab = tabFromHash;
	}
	if (tabFromHash === 'apps' && APPS_PAGES.includes(pageFromHash)) {
		state.appsPage = pageFromHash;
	}

	await initLanguage();

	const select = document.getElementById('lang-select');
	select.value = currentLanguage();
	select.addEventListener('change', async () => {
		await setLanguage(select.value);
		announce(t('language.changed'));
	});
	onLanguageChange((lang) => {
		select.value = lang;
		if (state.view !== 'loading') {
			render();
		}
	});

	document.getElementById('sign-out').addEventListener('click', signOut);
	onUnauthorized(() => {
		if (state.view === 'console') {
			showSignIn('signin.session_ended');
		}
	});

	await start();
}

boot().catch((error) => {
	console.error('kontor console: start failed', error);
	const root = main();
	root.removeAttribute('aria-busy');
	// Translations may be what failed, so this last-resort text cannot come from them.
	root.textContent = 'The admin console could not start. Reload the page. / Administratörskonsolen kunde inte starta. Ladda om sidan.';
});
