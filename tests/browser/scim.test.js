'use strict';
// Apps → User provisioning (SCIM) in headless Chromium, in Swedish and in
// English. Each language reaches the page by keyboard, copies the SCIM base
// URL, sets the deprovision owner by e-mail address, gets the server's error
// for an address that is no member, gets the warning once the owner is
// deactivated, clears the owner, and follows the link to adding a service
// account with the scim permission. An admin who is not a super admin gets
// a notice instead of the settings. Every step saves a screenshot in
// build/test-output/screenshots/.
//
// Run: make && node --test tests/browser/scim.test.js

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api } = require('../api/lib/server');
const { skipReason, launch, translator, screenshot, newPage, signIn } = require('./lib/browser');

const skip = skipReason();
if (skip) {
	console.log(`# SKIP browser tests: ${skip}`);
}

const LANGUAGES = [
	{ lang: 'sv', locale: 'sv-SE', other: 'en' },
	{ lang: 'en', locale: 'en-US', other: 'sv' },
];
const MAX_TABS_TO_LINK = 8;

let server;

before(async () => {
	if (!skip) {
		server = await startServer({ org: 'Exempel AB', plan: 'enterprise_plus' });
	}
});

after(async () => {
	if (server) {
		await server.stop();
	}
});

async function scimSettings() {
	const res = await api(server, server.adminToken).get('/admin/scim_settings');
	assert.equal(res.status, 200, res.text);
	return res.body.data;
}

// Presses Tab until the element with `id` has focus.
async function tabTo(page, id) {
	for (let i = 0; i < MAX_TABS_TO_LINK; i++) {
		await page.keyboard.press('Tab');
		if (await page.evaluate((want) => document.activeElement.id === want, id)) {
			return;
		}
	}
	assert.fail(`Tab did not reach #${id} within ${MAX_TABS_TO_LINK} presses`);
}

const focusedId = (page) => page.evaluate(() => document.activeElement.id);

for (const { lang, locale, other } of LANGUAGES) {
	describe(`SCIM settings in ${locale}`, { skip, concurrency: false }, () => {
		const t = translator(lang);
		const tOther = translator(other);
		const ownerName = lang === 'sv' ? 'Ida IT-chef' : 'Ian IT Lead';
		const ownerEmail = `it-lead-${lang}@example.test`;
		const ownerLabel = t('scim.owner_name_email', { name: ownerName, email: ownerEmail });
		let browser;
		let page;
		let errors;
		let owner;

		before(async () => {
			browser = await launch();
			({ page, errors } = await newPage(browser, locale, server.url));
			owner = await server.addUser({ email: ownerEmail, name: ownerName });
			// Each language starts without an owner, whatever the other language left.
			const cleared = await api(server, server.adminToken).put('/admin/scim_settings', { deprovision_owner: null });
			assert.equal(cleared.status, 200, cleared.text);
		});

		after(async () => {
			if (browser) {
				await browser.close();
			}
		});

		it('reaches the page by keyboard', async () => {
			await signIn(page, server, server.adminEmail, server.adminPassword, t);
			await page.getByRole('tab', { name: t('tabs.members'), exact: true }).focus();
			await page.keyboard.press('ArrowRight');
			await page.getByRole('heading', { name: t('sa.title'), exact: true, level: 2 }).waitFor();

			await tabTo(page, 'subnav-scim');
			assert.equal(await page.locator('#subnav-scim').textContent(), t('scim.title'));
			await page.keyboard.press('Enter');
			await page.getByRole('heading', { name: t('scim.title'), exact: true, level: 2 }).waitFor();
			assert.equal(await page.locator('#subnav-scim').getAttribute('aria-current'), 'page');
			assert.equal(await page.locator('#subnav-service-accounts').getAttribute('aria-current'), null);
			assert.equal(await focusedId(page), 'subnav-scim', 'focus stays on the link');
			assert.equal(new URL(page.url()).hash, '#apps/scim');
		});

		it('shows and copies the SCIM base URL', async () => {
			const expected = (await scimSettings()).scim_base_url;
			assert.match(expected, /\/api\/1\.0\/scim$/);
			const field = page.getByLabel(t('scim.base_url'), { exact: true });
			assert.equal(await field.inputValue(), expected);
			assert.equal(await field.getAttribute('readonly'), '');

			await page.getByRole('button', { name: t('scim.copy_url'), exact: true }).click();
			await page.getByText(t('scim.url_copied'), { exact: true }).waitFor();
			assert.equal(await page.evaluate(() => navigator.clipboard.readText()), expected);

			await page.getByText(t('scim.connect_text'), { exact: true }).waitFor();
			await page.getByText(t('scim.owner_none'), { exact: true }).waitFor();
			assert.equal(await page.locator('#scim-owner-clear').isVisible(), false, 'nothing to clear');
			await screenshot(page, lang, 'scim-01-empty');
		});

		it('sets the owner by keyboard', async () => {
			const input = page.getByLabel(t('scim.owner_email'), { exact: true });
			await input.focus();
			await page.keyboard.type(ownerEmail.toUpperCase());
			await page.keyboard.press('Enter');

			await page.locator('#scim-owner-current').getByText(ownerLabel, { exact: true }).waitFor();
			assert.equal(await input.inputValue(), '', 'the field is emptied');
			assert.equal(await focusedId(page), 'scim-owner-save');
			assert.equal(await page.locator('#scim-owner-inactive').count(), 0, 'an active owner gets no warning');

			const settings = await scimSettings();
			assert.equal(settings.deprovision_owner.gid, owner.gid);
			assert.equal(settings.deprovision_owner_active, true);
			await screenshot(page, lang, 'scim-02-owner-set');
		});

		it('rejects an address without @ before sending', async () => {
			const input = page.getByLabel(t('scim.owner_email'), { exact: true });
			await input.fill('it-lead');
			await page.locator('#scim-owner-save').click();
			await page.locator('#scim-owner-error').getByText(t('scim.owner_not_email', { value: 'it-lead' }), { exact: true }).waitFor();
			assert.equal(await input.getAttribute('aria-invalid'), 'true');

			await input.fill('');
			await page.locator('#scim-owner-save').click();
			await page.locator('#scim-owner-error').getByText(t('scim.owner_missing'), { exact: true }).waitFor();
		});

		it('shows the server error for an unknown address', async () => {
			const input = page.getByLabel(t('scim.owner_email'), { exact: true });
			await input.fill('nobody@example.test');
			await input.press('Enter');

			const error = page.locator('#scim-owner-error');
			// The server's message, after a summary of the status in Swedish (errorMessage in web/admin/js/api.js).
			await error.getByText(/deprovision_owner: user not found/).waitFor();
			assert.match(await error.textContent(), /nobody@example\.test/, 'the message names the address');
			assert.equal(await error.getAttribute('role'), 'alert');
			assert.equal(await input.getAttribute('aria-invalid'), 'true');
			assert.equal(await focusedId(page), 'scim-owner-email', 'focus returns to the field');
			assert.equal((await scimSettings()).deprovision_owner.gid, owner.gid, 'the owner did not change');
			await screenshot(page, lang, 'scim-03-unknown-address');

			// A valid save afterwards removes the error.
			await input.fill(ownerEmail);
			await input.press('Enter');
			await page.waitForFunction(() => document.getElementById('scim-owner-error').textContent === '');
			assert.equal(await input.getAttribute('aria-invalid'), null);
		});

		it('warns when the owner is deactivated', async () => {
			const removed = await api(server, server.adminToken).post(`/workspaces/${server.orgGid}/removeUser`, { user: owner.gid });
			assert.equal(removed.status, 200, removed.text);
			assert.equal((await scimSettings()).deprovision_owner_active, false);

			// The address opens the page directly.
			await page.reload();
			await page.getByRole('heading', { name: t('scim.title'), exact: true, level: 2 }).waitFor();
			const warning = page.locator('#scim-owner-inactive');
			await warning.getByRole('heading', { name: t('scim.owner_inactive_title', { owner: ownerLabel }), exact: true }).waitFor();
			await warning.getByText(t('scim.owner_inactive_message'), { exact: true }).waitFor();
			await screenshot(page, lang, 'scim-04-owner-inactive');

			// A deactivated person cannot become the owner again.
			const input = page.getByLabel(t('scim.owner_email'), { exact: true });
			await input.fill(ownerEmail);
			await input.press('Enter');
			await page.locator('#scim-owner-error').getByText(/not an active member/).waitFor();
		});

		it('clears the owner by keyboard', async () => {
			await page.locator('#scim-owner-clear').focus();
			await page.keyboard.press('Enter');
			await page.getByText(t('scim.owner_none'), { exact: true }).waitFor();
			assert.equal(await page.locator('#scim-owner-inactive').count(), 0, 'the warning is gone');
			assert.equal(await page.locator('#scim-owner-clear').isVisible(), false);
			assert.equal(await focusedId(page), 'scim-owner-email', 'focus moves to the field');

			const settings = await scimSettings();
			assert.equal(settings.deprovision_owner, null);
			assert.equal(settings.deprovision_owner_active, null);
			await screenshot(page, lang, 'scim-05-cleared');

			const added = await api(server, server.adminToken).post(`/workspaces/${server.orgGid}/addUser`, { user: owner.gid });
			assert.equal(added.status, 200, added.text);
		});

		it('links to adding a service account for SCIM', async () => {
			await page.locator('#scim-add-account').focus();
			await page.keyboard.press('Enter');
			const dialog = page.locator('dialog.sa-add-dialog[open]');
			await dialog.getByRole('heading', { name: t('sa.add_title'), exact: true }).waitFor();
			assert.ok(await dialog.getByLabel(t('permissions.scoped'), { exact: true }).isChecked(), 'scoped access is chosen');
			assert.ok(await dialog.getByLabel(t('scopes.scim.name'), { exact: true }).isChecked(), 'the scim scope is chosen');
			assert.equal(await dialog.getByLabel(t('scopes.read.name'), { exact: true }).isChecked(), false);
			assert.equal(new URL(page.url()).hash, '#apps');
			await screenshot(page, lang, 'scim-06-add-account');

			await page.keyboard.press('Escape');
			await dialog.waitFor({ state: 'detached' });
			assert.equal(await focusedId(page), 'sa-add', 'focus returns to the add button');
			assert.equal(await page.locator('#subnav-service-accounts').getAttribute('aria-current'), 'page');
		});

		it('renders the page again in the other language', async () => {
			await page.locator('#subnav-scim').click();
			await page.getByLabel(t('language.label'), { exact: true }).selectOption(other);
			await page.getByRole('heading', { name: tOther('scim.title'), exact: true, level: 2 }).waitFor();
			await page.getByText(tOther('scim.owner_none'), { exact: true }).waitFor();
			assert.equal(new URL(page.url()).hash, '#apps/scim');
			await screenshot(page, other, `scim-07-switched-from-${lang}`);
			await page.getByLabel(tOther('language.label'), { exact: true }).selectOption(lang);
			await page.getByRole('heading', { name: t('scim.title'), exact: true, level: 2 }).waitFor();
			assert.deepEqual(errors, [], 'no script errors or CSP violations');
		});

		it('shows admins a notice instead of the settings', async () => {
			const email = `admin-${lang}@example.test`;
			const password = 'correct horse battery staple';
			await server.addUser({ email, name: 'Admin', role: 'admin' });
			await server.cli(['user', 'set-password', '--db', server.db, '--email', email], { KONTOR_PASSWORD: password });

			const admin = await newPage(browser, locale, server.url);
			try {
				await signIn(admin.page, server, email, password, t);
				await admin.page.goto(`${server.url}/admin/#apps/scim`);
				await admin.page.reload();
				await admin.page.getByRole('heading', { name: t('scim.role_title'), exact: true }).waitFor();
				assert.equal(await admin.page.locator('#scim-owner-email').count(), 0, 'no owner field');
				assert.equal(await admin.page.getByLabel(t('scim.base_url'), { exact: true }).count(), 0, 'no base URL');
				await screenshot(admin.page, lang, 'scim-08-admin-notice');
				assert.deepEqual(admin.errors, []);
			} finally {
				await admin.context.close();
			}
		});
	});
}
