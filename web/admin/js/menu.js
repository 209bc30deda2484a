// A menu button (the WAI-ARIA menu button pattern): the button has
// aria-haspopup="menu" and aria-expanded; the menu opens with Enter, Space,
// ArrowDown (first item) or ArrowUp (last item); ArrowUp/ArrowDown, Home and
// End move between items; Escape closes it and returns focus to the button;
// Tab or a click elsewhere closes it.

import { h, uid } from './dom.js';

// Creates the menu button. `label` is its accessible name; `items` is a list
// of {label, onSelect, danger}. Returns the wrapper element.
export function menuButton({ label, items, glyph = '⋮' }) {
	const buttonId = uid('menu-button');
	const menuId = uid('menu');
	const button = h('button', {
		type: 'button',
		id: buttonId,
		class: 'icon-button menu-button',
		'aria-label': label,
		title: label,
		'aria-haspopup': 'menu',
		'aria-expanded': 'false',
		'aria-controls': menuId,
		text: glyph,
	});
	const menu = h('ul', { id: menuId, class: 'menu', role: 'menu', 'aria-labelledby': buttonId, hidden: true });
	const entries = items.map((item) => {
		const entry = h('button', {
			type: 'button',
			role: 'menuitem',
			tabindex: '-1',
			class: item.danger ? 'menu-item menu-item-danger' : 'menu-item',
			text: item.label,
		});
		entry.addEventListener('click', () => {
			close(true);
			item.onSelect();
		});
		menu.append(h('li', { role: 'none' }, entry));
		return entry;
	});
	const wrapper = h('div', { class: 'menu-wrapper' }, button, menu);

	function isOpen() {
		return !menu.hidden;
	}

	function onPointerDown(event) {
		if (!wrapper.contains(event.target)) {
			close(false);
		}
	}

	function open(focusIndex) {
		menu.hidden = false;
		button.setAttribute('aria-expanded', 'true');
		document.addEventListener('pointerdown', onPointerDown, true);
		const index = focusIndex < 0 ? entries.length - 1 : focusIndex;
		entries[index].focus();
	}

	function close(focusButton) {
		if (!isOpen()) {
			return;
		}
		menu.hidden = true;
		button.setAttribute('aria-expanded', 'false');
		document.removeEventListener('pointerdown', onPointerDown, true);
		if (focusButton) {
			button.focus();
		}
	}

	button.addEventListener('click', () => {
		if (isOpen()) {
			close(true);
		} else {
			open(0);
		}
	});

	button.addEventListener('keydown', (event) => {
		if (event.key === 'ArrowDown') {
			event.preventDefault();
			open(0);
		} else if (event.key === 'ArrowUp') {
			event.preventDefault();
			open(-1);
		}
	});

	menu.addEventListener('keydown', (event) => {
		const index = entries.indexOf(document.activeElement);
		let next = null;

		switch (event.key) {
			case 'ArrowDown':
				next = (index + 1) % entries.length;
				break;
			case 'ArrowUp':
				next = (index - 1 + entries.length) % entries.length;
				break;
			case 'Home':
				next = 0;
				break;
			case 'End':
				next = entries.length - 1;
				break;
			case 'Escape':
				event.preventDefault();
				event.stopPropagation();
				close(true);
				return;
			case 'Tab':
				close(false);
				return;
			default:
				return;
		}
		event.preventDefault();
		entries[next].focus();
	});

	wrapper.addEventListener('focusout', (event) => {
		if (isOpen() && event.relatedTarget && !wrapper.contains(event.relatedTarget)) {
			close(false);
		}
	});

	return wrapper;
}
