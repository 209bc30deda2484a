// Copying text to the clipboard, for the token dialog and the SCIM base URL.

// Copies `text`, which `input` (a text field) shows, and returns true when it
// was copied. The Clipboard API needs a secure context and permission, so
// without it the text in `input` is selected and copied with execCommand.
// When that fails too, the text stays selected for Ctrl+C.
export async function copyText(text, input) {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch {
		// Fall through to selecting the text.
	}
	input.focus();
	input.select();
	try {
		return document.execCommand('copy');
	} catch {
		return false;
	}
}
