// Tabs (the WAI-ARIA tabs pattern with automatic activation): a tablist of
// buttons with role="tab", one tabpanel per tab, roving tabindex so that
// Tab reaches only the selected tab, and ArrowLeft/ArrowRight, Home and End
// to move between tabs.

import { h } from './dom.js';

// Creates the tabs. `tabs` is a list of {id, label, render(panel)}; render
// fills the panel each time its tab is selected. `onSelect(id)` is called
// after every change. Returns {element, select(id)}.
export function createTabs({ label, tabs, selected, onSelect }) {
	const tablist = h('div', { class: 'tablist', role: 'tablist', 'aria-label': label });
	const panels = h('div', { class: 'tabpanels' });
	const entries = tabs.map((tab) => {
		const button = h('button', {
			type: 'button',
			role: 'tab',
			id: `tab-${tab.id}`,
			class: 'tab',
			'aria-controls': `panel-${tab.id}`,
			'aria-selected': 'false',
			tabindex: '-1',
			text: tab.label,
		});
		const panel = h('section', {
			role: 'tabpanel',
			id: `panel-${tab.id}`,
			class: 'tabpanel',
			'aria-labelledby': `tab-${tab.id}`,
			tabindex: '0',
			hidden: true,
		});
		tablist.append(button);
		panels.append(panel);
		return { tab, button, panel };
	});

	function select(id, { focus = false } = {}) {
		const chosen = entries.find((entry) => entry.tab.id === id) || entries[0];
		for (const entry of entries) {
			const on = entry === chosen;
			entry.button.setAttribute('aria-selected', on ? 'true' : 'false');
			entry.button.tabIndex = on ? 0 : -1;
			entry.panel.hidden = !on;
		}
		if (focus) {
			chosen.button.focus();
		}
		chosen.tab.render(chosen.panel);
		if (onSelect) {
			onSelect(chosen.tab.id);
		}
	}

	for (const [index, entry] of entries.entries()) {
		entry.button.addEventListener('click', () => select(entry.tab.id));
		entry.button.addEventListener('keydown', (event) => {
			let next = null;
			if (event.key === 'ArrowRight') {
				next = (index + 1) % entries.length;
			} else if (event.key === 'ArrowLeft') {
				next = (index - 1 + entries.length) % entries.length;
			} else if (event.key === 'Home') {
				next = 0;
			} else if (event.key === 'End') {
				next = entries.length - 1;
			}
			if (next !== null) {
				event.preventDefault();
				select(entries[next].tab.id, { focus: true });
			}
		});
	}

	select(selected);
	return { element: h('div', { class: 'tabs' }, tablist, panels), select };
}
