/*
 * Asana's rich text: the html_* twin of a plain-text field (a comment's
 * html_text, a task's or project's html_notes, a team's html_description).
 * It is a small XML dialect rooted at <body>. kontor accepts only the
 * elements and attributes listed in richtext.c, with balanced tags, quoted
 * attribute values, link targets limited to http(s) and mailto, and valid
 * character references, so a client can show stored rich text without
 * cleaning it first. This module checks rich text, derives its plain text
 * and builds rich text from plain text.
 */
#ifndef KONTOR_API_RICHTEXT_H
#define KONTOR_API_RICHTEXT_H

#include <stddef.h>

/* Where the rich text is written, which decides the allowed elements. */
enum richtext_kind {
	RICHTEXT_COMMENT, /* a story's html_text */
	RICHTEXT_NOTES,   /* html_notes of tasks and projects, a team's html_description: adds <h1> and <h2> */
};

/*
 * Checks `html` against the rules of `kind`. Returns 0 when valid, or -1
 * with a message in `err` that names the offending tag, attribute or byte
 * offset and says what to write instead. The message has no field name, so
 * the caller prefixes its own ("html_notes: ...").
 */
int richtext_check(const char *html, enum richtext_kind kind, char *err, size_t errlen);

/*
 * Derives the plain text of rich text that passed richtext_check: tags
 * dropped, block elements (lists, list items, quotes, headings, <br>, <hr>)
 * on lines of their own, character references decoded, trailing white space
 * removed. A self-closing link contributes its href. Returns a new string
 * the caller frees, or NULL when `html` is not valid rich text or memory ran
 * out.
 */
char *richtext_to_text(const char *html);

/*
 * Builds "<body>text</body>" with &, <, > and " escaped, so that any plain
 * text yields valid rich text. Returns a new string the caller frees, or
 * NULL when memory ran out.
 */
char *richtext_from_text(const char *text);

#endif
