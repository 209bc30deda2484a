// Modal dialogs built on <dialog> and showModal(): the rest of the page is
// inert while one is open, Tab and Shift+Tab cycle inside it, Escape closes
// it, and focus returns to the element that opened it (or to a replacement
// the caller names when that element was re-rendered meanwhile).

import { h, focusables, uid } from './dom.js';
import { t } from './i18n.js';

// Creates a dialog. Options: title (text), wide (bool), name (a class that
// identifies the kind of dialog), returnFocus (a function returning the
// element to focus after closing). Returns
// {dialog, body, footer, open(), close(value), closed}, where `closed` is a
// promise of the value passed to close() (undefined after Escape).
export function createDialog({ title, wide = false, name = null, returnFocus = null }) {
	const titleId = uid('dialog-title');
	const closeButton = h('button', {
		type: 'button',
		class: 'icon-button dialog-close',
		'aria-label': t('dialog.close'),
		title: t('dialog.close'),
		text: '×',
	});
	const body = h('div', { class: 'dialog-body' });
	const footer = h('div', { class: 'dialog-footer' });
	const dialog = h(
		'dialog',
		{ class: ['dialog', wide ? 'dialog-wide' : null, name].filter(Boolean).join(' '), 'aria-labelledby': titleId },
		h('div', { class: 'dialog-header' }, h('h2', { id: titleId, class: 'dialog-title', text: title }), closeButton),
		body,
		footer,
	);

	let opener = null;
	let result;
	let resolveClosed;
	const closed = new Promise((resolve) => {
		resolveClosed = resolve;
	});

	function trapTab(event) {
		if (event.key !== 'Tab') {
			return;
		}
		const items = focusables(dialog);
		if (items.length === 0) {
			event.preventDefault();
			return;
		}
		const first = items[0];
		const last = items[items.length - 1];
		const inside = dialog.contains(document.activeElement);
		if (event.shiftKey && (document.activeElement === first || !inside)) {
			event.preventDefault();
			last.focus();
		} else if (!event.shiftKey && (document.activeElement === last || !inside)) {
			event.preventDefault();
			first.focus();
		}
	}

	dialog.addEventListener('keydown', trapTab);
	closeButton.addEventListener('click', () => api.close(undefined));

	// The close event follows both close() and Escape (which the browser turns into cancel, then close).
	dialog.addEventListener('close', () => {
		dialog.remove();
		let target = returnFocus ? returnFocus() : null;
		if (!target || !target.isConnected) {
			target = opener && opener.isConnected ? opener : document.getElementById('main');
		}
		if (target) {
			target.focus();
		}
		resolveClosed(result);
	});

	const api = {
		dialog,
		body,
		footer,
		closed,
		open(initialFocus) {
			opener = document.activeElement;
			document.body.append(dialog);
			dialog.showModal();
			const target = initialFocus || dialog.querySelector('[autofocus]') || focusables(body)[0] || closeButton;
			target.focus();
			return closed;
		},
		close(value) {
			result = value;
			if (dialog.open) {
				dialog.close();
			}
		},
	};
	return api;
}

// Asks for confirmation. Options: title, message, confirmLabel, danger
// (styles the confirm button as destructive). Resolves to true only when the
// person confirmed; Cancel, the close button and Escape resolve to false.
export async function confirmDialog({ title, message, confirmLabel, danger = false, returnFocus = null }) {
	const d = createDialog({ title, name: 'confirm-dialog', returnFocus });
	d.dialog.setAttribute('role', 'alertdialog');
	const messageId = uid('confirm-message');
	d.dialog.setAttribute('aria-describedby', messageId);
	d.body.append(h('p', { id: messageId, class: 'confirm-message', text: message }));

	const cancel = h('button', { type: 'button', class: 'button', text: t('dialog.cancel') });
	const confirm = h('button', {
		type: 'button',
		class: danger ? 'button button-danger' : 'button button-primary',
		text: confirmLabel,
	});
	cancel.addEventListener('click', () => d.close(false));
	confirm.addEventListener('click', () => d.close(true));
	d.footer.append(cancel, confirm);

	// Cancel gets the first focus, so that Enter pressed by habit does not destroy anything.
	const value = await d.open(cancel);
	return value === true;
}
