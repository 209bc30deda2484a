'use strict';
// What people who may not manage service accounts see on Apps → Service
// accounts, in Swedish and in English: the super admin of an organization
// without an eligible plan gets an explanation naming the plans, a division
// admin learns that the organization's super admins manage them, and an
// admin learns that only super admins do. None of them gets the table or
// the add button. Screenshots go to build/test-output/screenshots/.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('../api/lib/server');
const { skipReason, launch, translator, screenshot, newPage, signIn } = require('./lib/browser');

const skip = skipReason();
if (skip) {
	console.log(`# SKIP browser tests: ${skip}`);
}

const LANGUAGES = [
	{ lang: 'sv', locale: 'sv-SE' },
	{ lang: 'en', locale: 'en-US' },
];

let browser;
let server; // enterprise_plus, with a division admin and an admin per language
let basicServer; // on the advanced plan, which has no service accounts

before(async () => {
	if (skip) {
		return;
	}
	[browser, server, basicServer] = await Promise.all([
		launch(),
		startServer({ org: 'Exempel AB', plan: 'enterprise_plus' }),
		startServer({ org: 'Liten Firma', plan: 'advanced' }),
	]);
});

after(async () => {
	await Promise.all([browser && browser.close(), server && server.stop(), basicServer && basicServer.stop()]);
});

async function openAppsTab(page, t) {
	await page.getByRole('tab', { name: t('tabs.apps'), exact: true }).click();
	await page.getByRole('heading', { name: t('sa.title'), exact: true, level: 2 }).waitFor();
}

// Creates a person with a console password; `division` also makes them the admin of a new division.
async function addPerson({ email, name, role, password, division }) {
	await server.addUser({ email, name, role });
	if (division) {
		await server.cli(['division', 'add', '--db', server.db, '--org', server.orgGid, '--name', division, '--plan', 'enterprise', '--email', email]);
	}
	await server.cli(['user', 'set-password', '--db', server.db, '--email', email], { KONTOR_PASSWORD: password });
}

// Signs in as `email`, opens Apps and checks the notice with data-reason `reason` and the absence of the table.
async function expectNotice({ target, locale, lang, email, password, reason, text, step }) {
	const t = translator(lang);
	const { context, page, errors } = await newPage(browser, locale, target.url);
	try {
		await signIn(page, target, email, password, t);
		await openAppsTab(page, t);
		const notice = page.locator(`[data-reason="${reason}"]`);
		await notice.getByText(text, { exact: true }).waitFor();
		assert.equal(await page.locator('#sa-add').count(), 0, 'no add button');
		assert.equal(await page.locator('#panel-apps table').count(), 0, 'no table');
		await screenshot(page, lang, step);
		assert.deepEqual(errors, [], 'no script errors or CSP violations');
	} finally {
		await context.close();
	}
}

for (const { lang, locale } of LANGUAGES) {
	describe(`access notices in ${locale}`, { skip, concurrency: false }, () => {
		const t = translator(lang);

		it('explains the plan requirement', async () => {
			await expectNotice({
				target: basicServer,
				locale,
				lang,
				email: basicServer.adminEmail,
				password: basicServer.adminPassword,
				reason: 'plan',
				text: t('sa.unavailable_plan', {
					plan: t('plans.advanced'),
					plans: [t('plans.enterprise'), t('plans.enterprise_plus'), t('plans.legacy_enterprise')].join(', '),
				}),
				step: 'plan-unavailable',
			});
		});

		it('refers a division admin upward', async () => {
			const email = `division-${lang}@example.test`;
			const password = `division-password-${lang}`;
			await addPerson({ email, name: `Division ${lang}`, role: 'admin', password, division: `Division ${lang}` });
			await expectNotice({ target: server, locale, lang, email, password, reason: 'division', text: t('sa.division_message'), step: 'division-admin' });
		});

		it('tells an admin that super admins manage them', async () => {
			const email = `admin-${lang}@example.test`;
			const password = `admin-password-${lang}`;
			await addPerson({ email, name: `Admin ${lang}`, role: 'admin', password });
			await expectNotice({ target: server, locale, lang, email, password, reason: 'role', text: t('sa.role_message'), step: 'admin-role' });
		});
	});
}
