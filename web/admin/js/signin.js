// The sign-in page: e-mail address and password, posted to /admin/session.
// Errors go to an assertive live region next to the form so that screen
// readers read them at once.

import { session, errorMessage } from './api.js';
import { h, clear } from './dom.js';
import { t, tn } from './i18n.js';

// Renders the page into `root`. Options: notice (a message shown above the
// form), email (prefilled), onEmailInput(value), onSignedIn() (awaited after
// a successful sign-in).
export function renderSignIn(root, { notice, email, onEmailInput, onSignedIn }) {
	clear(root);

	const emailInput = h('input', {
		id: 'signin-email',
		name: 'email',
		type: 'email',
		autocomplete: 'username',
		required: true,
		spellcheck: 'false',
		'aria-describedby': 'signin-error',
	});
	emailInput.value = email || '';
	emailInput.addEventListener('input', () => onEmailInput(emailInput.value));

	const passwordInput = h('input', {
		id: 'signin-password',
		name: 'password',
		type: 'password',
		autocomplete: 'current-password',
		required: true,
		'aria-describedby': 'signin-error',
	});

	const errorRegion = h('div', { id: 'signin-error', class: 'form-error', 'aria-live': 'assertive', role: 'alert' });
	const submit = h('button', { type: 'submit', class: 'button button-primary button-wide', text: t('signin.submit') });

	const form = h(
		'form',
		{ class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-title' },
		h('div', { class: 'field' }, h('label', { for: 'signin-email', text: t('signin.email') }), emailInput),
		h('div', { class: 'field' }, h('label', { for: 'signin-password', text: t('signin.password') }), passwordInput),
		errorRegion,
		submit,
	);

	function showError(message, input) {
		errorRegion.textContent = message;
		for (const field of [emailInput, passwordInput]) {
			field.removeAttribute('aria-invalid');
		}
		if (input) {
			input.setAttribute('aria-invalid', 'true');
			input.focus();
		}
	}

	form.addEventListener('submit', async (event) => {
		event.preventDefault();
		errorRegion.textContent = '';

		const address = emailInput.value.trim();
		if (!address) {
			showError(t('signin.missing_email'), emailInput);
			return;
		}
		if (!passwordInput.value) {
			showError(t('signin.missing_password'), passwordInput);
			return;
		}

		submit.disabled = true;
		submit.textContent = t('signin.submitting');
		try {
			await session.signIn(address, passwordInput.value);
			passwordInput.value = '';
			await onSignedIn();
		} catch (error) {
			submit.disabled = false;
			submit.textContent = t('signin.submit');
			passwordInput.value = '';
			if (error.status === 401) {
				showError(t('signin.invalid'), passwordInput);
			} else if (error.status === 429) {
				const seconds = Number.parseInt(error.retryAfter, 10);
				const minutes = Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds / 60)) : 15;
				showError(tn('signin.throttled', minutes), null);
			} else {
				showError(errorMessage(error), null);
			}
		}
	});

	root.append(
		h(
			'div',
			{ class: 'signin' },
			h('h1', { id: 'signin-title', class: 'signin-title', text: t('signin.title') }),
			h('p', { class: 'signin-lead', text: t('signin.lead') }),
			notice ? h('p', { class: 'notice', role: 'status', text: notice }) : null,
			form,
		),
	);
	emailInput.focus();
	if (email) {
		passwordInput.focus();
	}
}
