'use strict';
// The admin console in headless Chromium, in Swedish and in English. Each
// language signs in, manages a member, adds a service account, copies its
// token and uses it through the API. It then renames the account, uploads a
// photo, rotates and revokes tokens, deauthorizes and deletes the account,
// and opens and closes the add dialog by keyboard alone. It also checks the
// badge and the hidden Rotate of a deactivated account, and the name limit
// in characters with emoji. Every step saves a screenshot in
// build/test-output/screenshots/.
//
// Run: make && node --test tests/browser/

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api } = require('../api/lib/server');
const { skipReason, launch, translator, screenshot, pngFixture, newPage, signIn } = require('./lib/browser');

const skip = skipReason();
if (skip) {
	console.log(`# SKIP browser tests: ${skip}`);
}

const LANGUAGES = [
	{ lang: 'sv', locale: 'sv-SE', other: 'en' },
	{ lang: 'en', locale: 'en-US', other: 'sv' },
];
const MAX_TABS_TO_ADD_BUTTON = 12;

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

// The open dialog of one kind: sa-add-dialog, sa-edit-dialog, token-dialog or confirm-dialog.
function dialogOf(page, kind) {
	return page.locator(`dialog.${kind}[open]`);
}

function row(page, name) {
	return page.locator('#panel-apps tbody tr').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
}

// Opens the row menu of `name` with the keyboard and chooses `itemName`,
// checking the menu button's ARIA state and arrow-key movement on the way.
// `rowName` is the row header's accessible name when a badge follows the name.
async function chooseFromMenu(page, t, name, itemName, rowName = name) {
	const button = row(page, rowName).getByRole('button', { name: t('sa.actions_for', { name }), exact: true });
	assert.equal(await button.getAttribute('aria-haspopup'), 'menu');
	assert.equal(await button.getAttribute('aria-expanded'), 'false');
	await button.focus();
	await page.keyboard.press('Enter');
	assert.equal(await button.getAttribute('aria-expanded'), 'true');

	const items = [t('sa.edit'), t('sa.deauthorize'), t('sa.delete')];
	const focusedItem = () => page.evaluate(() => document.activeElement.textContent);
	assert.equal(await focusedItem(), items[0], 'Enter opens the menu on its first item');
	await page.keyboard.press('ArrowUp');
	assert.equal(await focusedItem(), items[items.length - 1], 'ArrowUp wraps to the last item');
	await page.keyboard.press('Home');

	const target = items.indexOf(itemName);
	assert.ok(target >= 0, `no menu item ${itemName}`);
	for (let i = 0; i < target; i++) {
		await page.keyboard.press('ArrowDown');
	}
	assert.equal(await focusedItem(), itemName);
	await page.keyboard.press('Enter');
}

// Reads the token shown in the token dialog by pressing Copy and reading the clipboard back.
async function copyToken(page, t) {
	const dialog = dialogOf(page, 'token-dialog');
	await dialog.getByText(t('token.shown_once'), { exact: true }).waitFor();
	await dialog.getByRole('button', { name: t('token.copy'), exact: true }).click();
	await dialog.getByText(t('token.copied'), { exact: true }).waitFor();
	const copied = await page.evaluate(() => navigator.clipboard.readText());
	const shown = await dialog.getByLabel(t('token.label'), { exact: true }).inputValue();
	assert.equal(copied, shown, 'the clipboard holds the token that the dialog shows');
	assert.match(copied, /^kontor_sa_[0-9a-f]{16}[0-9A-Za-z]{38}$/);
	return copied;
}

async function me(token) {
	return api(server, token).get('/users/me', { opt_fields: ['name', 'email', 'photo'] });
}

for (const { lang, locale, other } of LANGUAGES) {
	describe(`console in ${locale}`, { skip, concurrency: false }, () => {
		const t = translator(lang);
		const tOther = translator(other);
		const name = lang === 'sv' ? 'Rapportering' : 'Reporting';
		const newName = lang === 'sv' ? 'Rapportering – natt' : 'Nightly reporting';
		let browser;
		let context;
		let page;
		let errors;
		let accountGid;
		let firstToken;
		let secondToken;

		let member;

		before(async () => {
			browser = await launch();
			({ context, page, errors } = await newPage(browser, locale, server.url));
			const memberName = lang === 'sv' ? 'Maja Medlem' : 'Max Member';
			member = await server.addUser({ email: `member-${lang}@example.test`, name: memberName });
			member.name = memberName;
		});

		after(async () => {
			if (browser) {
				await browser.close();
			}
		});

		it('shows the sign-in page in the browser language', async () => {
			const response = await page.goto(`${server.url}/admin/`);
			assert.match(response.headers()['content-security-policy'] || '', /script-src 'self'/, 'the console is served with its CSP');
			await page.getByRole('heading', { name: t('signin.title'), exact: true }).waitFor();
			assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
			assert.equal(await page.title(), t('app.title'));
			await screenshot(page, lang, '01-signin');
		});

		it('announces a wrong password', async () => {
			await page.getByLabel(t('signin.email'), { exact: true }).fill(server.adminEmail);
			await page.getByLabel(t('signin.password'), { exact: true }).fill('not the password');
			await page.getByRole('button', { name: t('signin.submit'), exact: true }).click();
			const alert = page.locator('#signin-error');
			await alert.getByText(t('signin.invalid'), { exact: true }).waitFor();
			assert.equal(await alert.getAttribute('aria-live'), 'assertive');
			await screenshot(page, lang, '02-signin-error');
		});

		it('signs in and lists the members', async () => {
			await signIn(page, server, server.adminEmail, server.adminPassword, t);
			await page.locator('#org-name').getByText('Exempel AB', { exact: true }).waitFor();
			await page.locator('#signed-in').getByText(server.adminEmail).waitFor();
			const membersTab = page.getByRole('tab', { name: t('tabs.members'), exact: true });
			assert.equal(await membersTab.getAttribute('aria-selected'), 'true');
			const members = page.locator('#panel-members');
			await members.getByRole('cell', { name: server.adminEmail, exact: true }).waitFor();
			assert.equal(await members.locator('thead th[scope="col"]').count(), 5);
			await screenshot(page, lang, '03-members');
		});

		it('changes a member role, deactivates and reactivates', async () => {
			const members = page.locator('#panel-members');
			const memberRow = members.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name: member.name, exact: true }) });
			await memberRow.getByLabel(t('members.role_for', { name: member.name }), { exact: true }).selectOption('admin');
			await memberRow.getByRole('button', { name: t('members.save_role_for', { name: member.name }), exact: true }).click();
			await page.waitForFunction(
				(gid) => {
					const row = document.querySelector(`#panel-members tr[data-gid="${gid}"]`);
					return row && row.querySelector('button[data-action="save-role"]').disabled && row.querySelector('select').value === 'admin';
				},
				member.gid,
			);
			const memberships = await api(server, server.adminToken).get(`/workspaces/${server.orgGid}/workspace_memberships`, {
				user: member.gid,
				opt_fields: ['is_admin', 'is_guest'],
			});
			assert.equal(memberships.status, 200, memberships.text);
			assert.equal(memberships.body.data[0].is_admin, true, 'the role change reached the server');

			await memberRow.getByRole('button', { name: t('members.deactivate_named', { name: member.name }), exact: true }).click();
			const confirm = dialogOf(page, 'confirm-dialog');
			await confirm.getByRole('heading', { name: t('members.deactivate_title', { name: member.name }), exact: true }).waitFor();
			await screenshot(page, lang, '03b-deactivate-confirm');
			await confirm.getByRole('button', { name: t('members.deactivate'), exact: true }).click();
			await memberRow.getByText(t('members.deactivated'), { exact: true }).waitFor();
			assert.equal((await api(server, member.token).get('/users/me')).status, 401, 'a deactivated member cannot use the API');
			await screenshot(page, lang, '03c-member-deactivated');

			await memberRow.getByRole('button', { name: t('members.reactivate_named', { name: member.name }), exact: true }).click();
			await memberRow.getByText(t('members.active'), { exact: true }).waitFor();
		});

		it('moves between tabs with the arrow keys', async () => {
			await page.getByRole('tab', { name: t('tabs.members'), exact: true }).focus();
			await page.keyboard.press('ArrowRight');
			const appsTab = page.getByRole('tab', { name: t('tabs.apps'), exact: true });
			assert.equal(await appsTab.getAttribute('aria-selected'), 'true');
			assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-apps');
			await page.getByText(t('sa.empty'), { exact: true }).waitFor();
			await screenshot(page, lang, '04-apps-empty');
		});

		it('opens the add dialog by keyboard and closes it with Escape', async () => {
			let reached = false;
			for (let i = 0; i < MAX_TABS_TO_ADD_BUTTON && !reached; i++) {
				await page.keyboard.press('Tab');
				reached = await page.evaluate(() => document.activeElement.id === 'sa-add');
			}
			assert.ok(reached, `Tab did not reach "${t('sa.add')}" within ${MAX_TABS_TO_ADD_BUTTON} presses`);
			await page.keyboard.press('Enter');

			const dialog = dialogOf(page, 'sa-add-dialog');
			await dialog.getByRole('heading', { name: t('sa.add_title'), exact: true }).waitFor();
			const nameInput = dialog.getByLabel(t('sa.name'), { exact: true });
			assert.ok(await nameInput.evaluate((el) => el === document.activeElement), 'the name field has focus');

			// Shift+Tab from the first control wraps to the last one, inside the dialog.
			await page.keyboard.press('Shift+Tab');
			await page.keyboard.press('Shift+Tab');
			assert.ok(await page.evaluate(() => document.activeElement.closest('dialog[open]') !== null), 'focus stays in the dialog');
			await screenshot(page, lang, '05-add-dialog');

			await page.keyboard.press('Escape');
			await dialog.waitFor({ state: 'detached' });
			assert.equal(await page.evaluate(() => document.activeElement.id), 'sa-add', 'focus returns to the button');
		});

		it('adds a service account with full access and shows its token once', async () => {
			await page.locator('#sa-add').click();
			const dialog = dialogOf(page, 'sa-add-dialog');
			await dialog.getByLabel(t('sa.name'), { exact: true }).fill(name);
			assert.ok(await dialog.getByLabel(t('permissions.full'), { exact: true }).isChecked());
			await dialog.getByRole('button', { name: t('sa.create'), exact: true }).click();

			await dialogOf(page, 'token-dialog').getByRole('heading', { name: t('token.title', { name }), exact: true }).waitFor();
			await dialogOf(page, 'token-dialog').getByText(t('token.safety_hardcode'), { exact: true }).waitFor();
			firstToken = await copyToken(page, t);
			await screenshot(page, lang, '06-token');
			await dialogOf(page, 'token-dialog').getByRole('button', { name: t('token.done'), exact: true }).click();
			await row(page, name).waitFor();
			await screenshot(page, lang, '07-table');
		});

		it('token works through the API as the service account', async () => {
			const res = await me(firstToken);
			assert.equal(res.status, 200, res.text);
			assert.equal(res.body.data.name, name);
			accountGid = res.body.data.gid;
			assert.equal(await row(page, name).getAttribute('data-gid'), accountGid);
			await row(page, name).getByText(t('permissions.full'), { exact: true }).waitFor();
		});

		it('renames the account', async () => {
			await chooseFromMenu(page, t, name, t('sa.edit'));
			const dialog = dialogOf(page, 'sa-edit-dialog');
			await dialog.getByRole('heading', { name: t('sa.edit_title', { name }), exact: true }).waitFor();
			await dialog.getByLabel(t('sa.name'), { exact: true }).fill(newName);
			await screenshot(page, lang, '08-edit-dialog');
			await dialog.getByRole('button', { name: t('sa.save'), exact: true }).click();
			await dialog.waitFor({ state: 'detached' });
			await row(page, newName).waitFor();

			const res = await me(firstToken);
			assert.equal(res.status, 200, res.text);
			assert.equal(res.body.data.name, newName);
			await screenshot(page, lang, '09-renamed');
		});

		it('uploads a photo', async () => {
			await chooseFromMenu(page, t, newName, t('sa.edit'));
			const dialog = dialogOf(page, 'sa-edit-dialog');
			await dialog
				.getByLabel(t('photo.label_optional'), { exact: true })
				.setInputFiles({ name: 'avatar.png', mimeType: 'image/png', buffer: pngFixture(64) });
			await dialog.getByRole('button', { name: t('sa.save'), exact: true }).click();
			await dialog.waitFor({ state: 'detached' });

			const image = row(page, newName).getByRole('img', { name: t('sa.photo_of', { name: newName }), exact: true });
			await image.waitFor();
			await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await image.elementHandle());

			const account = await api(server, server.adminToken).get(`/service_accounts/${accountGid}`);
			assert.equal(account.status, 200, account.text);
			assert.ok(account.body.data.photo, 'the service account has a photo');
			const photo = await fetch(new URL(account.body.data.photo.image_128x128, server.url));
			assert.equal(photo.status, 200);
			assert.equal(photo.headers.get('content-type'), 'image/png');
			await screenshot(page, lang, '10-photo');
		});

		it('rotates the token; both tokens work', async () => {
			await chooseFromMenu(page, t, newName, t('sa.edit'));
			const edit = dialogOf(page, 'sa-edit-dialog');
			await edit.getByRole('button', { name: t('token.rotate'), exact: true }).click();
			await dialogOf(page, 'token-dialog').getByRole('heading', { name: t('token.title', { name: newName }), exact: true }).waitFor();
			secondToken = await copyToken(page, t);
			assert.notEqual(secondToken, firstToken);
			await screenshot(page, lang, '11-rotated-token');
			await dialogOf(page, 'token-dialog').getByRole('button', { name: t('token.done'), exact: true }).click();

			// Focus returns to Rotate token in the edit dialog, which lists two active tokens.
			await page.waitForFunction((label) => document.activeElement.textContent === label, t('token.rotate'));
			assert.equal(await edit.locator('tr[data-status="active"]').count(), 2);
			assert.equal((await me(firstToken)).status, 200, 'the old token still works until it is revoked');
			assert.equal((await me(secondToken)).status, 200);
			await screenshot(page, lang, '12-two-tokens');
		});

		it('revokes the old token, which then fails', async () => {
			const tokens = await api(server, server.adminToken).get(`/service_accounts/${accountGid}/tokens`, {
				opt_fields: ['created_at', 'status'],
			});
			assert.equal(tokens.status, 200, tokens.text);
			const active = tokens.body.data.filter((token) => token.status === 'active');
			active.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.gid.localeCompare(b.gid));
			const oldGid = active[0].gid;

			const edit = dialogOf(page, 'sa-edit-dialog');
			await edit.locator(`tr[data-token-gid="${oldGid}"]`).getByRole('button', { name: t('token.revoke') }).click();
			const confirm = dialogOf(page, 'confirm-dialog');
			await confirm.getByRole('heading', { name: t('token.revoke_title'), exact: true }).waitFor();
			await screenshot(page, lang, '13-revoke-confirm');
			await confirm.getByRole('button', { name: t('token.revoke'), exact: true }).click();
			await edit.locator(`tr[data-token-gid="${oldGid}"][data-status="revoked"]`).waitFor();

			assert.equal((await me(firstToken)).status, 401, 'the revoked token fails');
			assert.equal((await me(secondToken)).status, 200, 'the new token still works');
			await screenshot(page, lang, '14-revoked');
			await edit.getByRole('button', { name: t('dialog.cancel'), exact: true }).click();
			await edit.waitFor({ state: 'detached' });
		});

		it('deauthorizes the account', async () => {
			await chooseFromMenu(page, t, newName, t('sa.deauthorize'));
			const confirm = dialogOf(page, 'confirm-dialog');
			await confirm.getByText(t('sa.deauthorize_message', { name: newName }), { exact: true }).waitFor();
			await confirm.getByRole('button', { name: t('sa.deauthorize'), exact: true }).click();
			await row(page, newName).getByText(t('sa.no_active_token'), { exact: true }).waitFor();
			assert.equal((await me(secondToken)).status, 401);
			await screenshot(page, lang, '15-deauthorized');
		});

		it('deletes the account after a confirmation that names it', async () => {
			await chooseFromMenu(page, t, newName, t('sa.delete'));
			const confirm = dialogOf(page, 'confirm-dialog');
			await confirm.getByRole('heading', { name: t('sa.delete_title', { name: newName }), exact: true }).waitFor();
			await confirm.getByText(t('sa.delete_message', { name: newName }), { exact: true }).waitFor();
			assert.equal(await page.evaluate(() => document.activeElement.textContent), t('dialog.cancel'), 'Cancel has the first focus');
			await screenshot(page, lang, '16-delete-confirm');
			await confirm.getByRole('button', { name: t('sa.delete_confirm'), exact: true }).click();
			await row(page, newName).waitFor({ state: 'detached' });
			await page.getByText(t('sa.empty'), { exact: true }).waitFor();

			const account = await api(server, server.adminToken).get(`/service_accounts/${accountGid}`);
			assert.equal(account.status, 404, account.text);
			await screenshot(page, lang, '17-deleted');
		});

		it('marks a deactivated account and hides Rotate', async () => {
			const admin = api(server, server.adminToken);
			const sleeperName = lang === 'sv' ? 'Vilande' : 'Sleeper';
			const created = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name: sleeperName, permissions: ['read'] });
			assert.equal(created.status, 201, created.text);
			const sleeperGid = created.body.data.gid;
			const removed = await admin.post(`/workspaces/${server.orgGid}/removeUser`, { user: sleeperGid });
			assert.equal(removed.status, 200, removed.text);

			await page.reload();
			await page.getByRole('tab', { name: t('tabs.apps'), exact: true }).click();
			const sleeperRow = page.locator(`#panel-apps tbody tr[data-gid="${sleeperGid}"]`);
			const badge = sleeperRow.getByRole('rowheader').getByText(t('sa.deactivated'), { exact: true });
			await badge.waitFor();
			await screenshot(page, lang, '18-deactivated');

			await chooseFromMenu(page, t, sleeperName, t('sa.edit'), `${sleeperName} ${t('sa.deactivated')}`);
			const edit = dialogOf(page, 'sa-edit-dialog');
			await edit.getByText(t('token.rotate_inactive', { workspace: server.orgGid, gid: sleeperGid }), { exact: true }).waitFor();
			assert.equal(await edit.getByRole('button', { name: t('token.rotate'), exact: true }).count(), 0, 'Rotate is hidden');
			await screenshot(page, lang, '19-deactivated-edit');

			// The name limit counts characters as the server does: 255 emoji (510 UTF-16 units) pass, 256 do not.
			const nameInput = edit.getByLabel(t('sa.name'), { exact: true });
			await nameInput.fill('🤖'.repeat(256));
			await edit.getByRole('button', { name: t('sa.save'), exact: true }).click();
			await edit.getByText(t('sa.name_too_long', { max: 255 }), { exact: true }).waitFor();
			assert.equal((await admin.get(`/service_accounts/${sleeperGid}`)).body.data.name, sleeperName, 'nothing was sent');
			await nameInput.fill(`  ${'🤖'.repeat(255)}  `);
			await edit.getByRole('button', { name: t('sa.save'), exact: true }).click();
			await edit.waitFor({ state: 'detached' });
			const saved = await admin.get(`/service_accounts/${sleeperGid}`);
			assert.equal(saved.body.data.name, '🤖'.repeat(255));
			assert.equal(saved.body.data.is_active, false);

			const reactivated = await admin.post(`/workspaces/${server.orgGid}/addUser`, { user: sleeperGid });
			assert.equal(reactivated.status, 200, reactivated.text);
			await page.reload();
			await page.getByRole('tab', { name: t('tabs.apps'), exact: true }).click();
			await sleeperRow.waitFor();
			assert.equal(await sleeperRow.getByText(t('sa.deactivated'), { exact: true }).count(), 0, 'the badge is gone');
			await chooseFromMenu(page, t, '🤖'.repeat(255), t('sa.edit'));
			await dialogOf(page, 'sa-edit-dialog').getByRole('button', { name: t('token.rotate'), exact: true }).waitFor();
			await dialogOf(page, 'sa-edit-dialog').getByRole('button', { name: t('dialog.cancel'), exact: true }).click();

			const deleted = await admin.del(`/service_accounts/${sleeperGid}`);
			assert.equal(deleted.status, 200, deleted.text);
		});

		it('explains a server error in the console language', async () => {
			const admin = api(server, server.adminToken);
			const goneName = lang === 'sv' ? 'Borttagen' : 'Removed';
			const created = await admin.post(`/workspaces/${server.orgGid}/service_accounts`, { name: goneName, permissions: 'full' });
			assert.equal(created.status, 201, created.text);
			await page.reload();
			await page.getByRole('tab', { name: t('tabs.apps'), exact: true }).click();
			await row(page, goneName).waitFor();

			// The account goes away behind the console's back, so saving the open dialog gets a 404.
			await chooseFromMenu(page, t, goneName, t('sa.edit'));
			const edit = dialogOf(page, 'sa-edit-dialog');
			await edit.getByLabel(t('sa.name'), { exact: true }).fill(`${goneName} 2`);
			const deleted = await admin.del(`/service_accounts/${created.body.data.gid}`);
			assert.equal(deleted.status, 200, deleted.text);
			await edit.getByRole('button', { name: t('sa.save'), exact: true }).click();

			// The dialog has two alert areas (the form's and the tokens'); the form's gets the message.
			const alert = edit.locator('.form-error[role="alert"]').filter({ hasText: /\S/ });
			await alert.waitFor();
			const shown = await alert.textContent();
			const server404 = await admin.put(`/service_accounts/${created.body.data.gid}`, { name: 'x' });
			assert.equal(server404.status, 404);
			const serverMessage = server404.body.errors[0].message;
			if (lang === 'en') {
				assert.equal(shown, serverMessage, 'English shows the server message as it is');
			} else {
				assert.equal(shown, t('errors.with_detail', { summary: t('errors.by_status.404'), detail: serverMessage }));
				assert.ok(shown.startsWith(t('errors.by_status.404')), 'the summary comes first, in Swedish');
			}
			await screenshot(page, lang, '19b-server-error');
			await edit.getByRole('button', { name: t('dialog.cancel'), exact: true }).click();
		});

		it('switches language and remembers the choice', async () => {
			await page.getByLabel(t('language.label'), { exact: true }).selectOption(other);
			await page.getByRole('tab', { name: tOther('tabs.apps'), exact: true }).waitFor();
			assert.equal(await page.evaluate(() => document.documentElement.lang), other);
			await page.reload();
			await page.getByRole('heading', { name: tOther('console.title'), exact: true }).waitFor();
			assert.equal(await page.evaluate(() => document.documentElement.lang), other);

			await page.getByLabel(tOther('language.label'), { exact: true }).selectOption(lang);
			await page.getByRole('heading', { name: t('console.title'), exact: true }).waitFor();
		});

		it('signs out', async () => {
			await page.getByRole('button', { name: t('session.sign_out'), exact: true }).click();
			await page.getByRole('heading', { name: t('signin.title'), exact: true }).waitFor();
			await page.getByText(t('signin.signed_out'), { exact: true }).first().waitFor();
			await page.reload();
			await page.getByRole('heading', { name: t('signin.title'), exact: true }).waitFor();
			assert.deepEqual(errors, [], 'no script errors or CSP violations');
		});
	});
}
