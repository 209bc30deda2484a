// Small DOM helpers. Text always goes in through textContent, never as HTML,
// so names and messages from the server cannot inject markup.

// Creates an element. `props`: class, text, dataset (object), on (object of
// event listeners), any other key is set as an attribute unless its value is
// null, undefined or false (true sets an empty attribute).
export function h(tag, props = {}, ...children) {
	const el = document.createElement(tag);

	for (const [key, value] of Object.entries(props)) {
		if (value === null || value === undefined || value === false) {
			continue;
		}
		if (key === 'class') {
			el.className = value;
		} else if (key === 'text') {
			el.textContent = value;
		} else if (key === 'dataset') {
			Object.assign(el.dataset, value);
		} else if (key === 'on') {
			for (const [type, listener] of Object.entries(value)) {
				el.addEventListener(type, listener);
			}
		} else if (value === true) {
			el.setAttribute(key, '');
		} else {
			el.setAttribute(key, String(value));
		}
	}
	append(el, children);
	return el;
}

export function append(el, children) {
	for (const child of children.flat()) {
		if (child === null || child === undefined || child === false) {
			continue;
		}
		el.append(child instanceof Node ? child : document.createTextNode(String(child)));
	}
	return el;
}

export function clear(el) {
	while (el.firstChild) {
		el.firstChild.remove();
	}
	return el;
}

let idCounter = 0;

// Returns a document-unique id with the given prefix, for label/for and aria-* references.
export function uid(prefix) {
	idCounter += 1;
	return `${prefix}-${idCounter}`;
}

// The elements inside `root` that Tab can reach, in document order.
export function focusables(root) {
	const selector = [
		'a[href]',
		'button:not([disabled])',
		'input:not([disabled]):not([type="hidden"])',
		'select:not([disabled])',
		'textarea:not([disabled])',
		'[tabindex]:not([tabindex="-1"])',
	].join(',');
	return [...root.querySelectorAll(selector)].filter((el) => !el.closest('[hidden]') && el.getClientRects().length > 0);
}

// Announces `message` to screen readers through the page's polite live region.
export function announce(message) {
	const region = document.getElementById('announcer');
	if (!region) {
		return;
	}
	// Clearing first makes screen readers read a repeated identical message again.
	region.textContent = '';
	window.setTimeout(() => {
		region.textContent = message;
	}, 50);
}
