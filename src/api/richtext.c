/*
 * Rich text checks and conversions for every html_* field (see richtext.h).
 * One parser walks the text once: it keeps a stack of open elements to
 * demand balanced tags, checks each element and attribute against a fixed
 * allow-list, decodes character references, and writes the plain-text form
 * as it goes. Anything not on the list (script, style, img, iframe, event
 * attributes, comments, processing instructions, upper-case names) is
 * rejected rather than removed, as Asana rejects rich text it cannot read.
 */
#include "api/richtext.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RICHTEXT_DEPTH_MAX 32 /* nesting depth of elements */
#define RICHTEXT_NAME_SHOWN 40 /* bytes of an unknown tag or attribute name quoted in a message */

/* ---------- text buffer ---------- */

/* A growing byte string; `failed` is set when an allocation failed. */
struct text_buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

static void buf_append(struct text_buf *b, const char *bytes, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *grown;

		while (b->len + n + 1 > cap)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (grown == NULL) {
			b->failed = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, bytes, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void buf_append_str(struct text_buf *b, const char *text)
{
	buf_append(b, text, strlen(text));
}

/* Returns the finished string (the caller frees it), or NULL when an allocation failed. */
static char *buf_finish(struct text_buf *b)
{
	if (b->failed) {
		free(b->data);
		return NULL;
	}
	if (b->data == NULL)
		return strdup("");
	return b->data;
}

/* ---------- the allow-list ---------- */

/*
 * An allowed element. `block` elements start a new line in the plain-text
 * form. `heading` elements hold only inline content, as Asana's <h1> and
 * <h2> do. `notes_only` elements are not allowed in comments.
 */
struct html_tag {
	const char *name;
	bool block;
	bool is_link;
	bool heading;
	bool notes_only;
};

/*
 * NOTE: Asana's notes also carry <img> (an attachment's picture), tables and
 * embeds; kontor has no attachments and accepts none of them.
 */
static const struct html_tag html_tags[] = {
	{ "body", false, false, false, false },
	{ "strong", false, false, false, false },
	{ "em", false, false, false, false },
	{ "u", false, false, false, false },
	{ "s", false, false, false, false },
	{ "code", false, false, false, false },
	{ "a", false, true, false, false },
	{ "pre", true, false, false, false },
	{ "blockquote", true, false, false, false },
	{ "ol", true, false, false, false },
	{ "ul", true, false, false, false },
	{ "li", true, false, false, false },
	{ "hr", true, false, false, false },
	{ "br", true, false, false, false },
	{ "h1", true, false, true, true },
	{ "h2", true, false, true, true },
};

#define HTML_TAG_COUNT (sizeof(html_tags) / sizeof(html_tags[0]))

static bool tag_allowed(const struct html_tag *tag, enum richtext_kind kind)
{
	return !tag->notes_only || kind == RICHTEXT_NOTES;
}

static const struct html_tag *html_tag_find(const char *name, size_t len, enum richtext_kind kind)
{
	size_t i;

	for (i = 0; i < HTML_TAG_COUNT; i++) {
		if (strlen(html_tags[i].name) == len && memcmp(html_tags[i].name, name, len) == 0)
			return tag_allowed(&html_tags[i], kind) ? &html_tags[i] : NULL;
	}
	return NULL;
}

/* Writes the allowed element names of `kind` as "body, strong, ... and br" into `out`. */
static void tag_list(enum richtext_kind kind, char *out, size_t len)
{
	size_t allowed = 0;
	size_t written = 0;
	size_t used = 0;
	size_t i;

	for (i = 0; i < HTML_TAG_COUNT; i++)
		allowed += tag_allowed(&html_tags[i], kind);

	out[0] = '\0';
	for (i = 0; i < HTML_TAG_COUNT; i++) {
		const char *separator;
		int n;

		if (!tag_allowed(&html_tags[i], kind))
			continue;
		if (written == 0)
			separator = "";
		else if (written + 1 == allowed)
			separator = " and ";
		else
			separator = ", ";
		n = snprintf(out + used, len - used, "%s%s", separator, html_tags[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
		written++;
	}
}

/* A link target must be a web or mail address, never javascript: or data:. */
static bool html_href_allowed(const char *value, size_t len)
{
	static const char *const schemes[] = { "https://", "http://", "mailto:" };
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);

		if (len >= n && strncasecmp(value, schemes[i], n) == 0)
			return true;
	}
	return false;
}

static bool html_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool html_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ---------- character references ---------- */

/* Appends code point `cp` as UTF-8; returns false for values that are not characters. */
static bool utf8_append(struct text_buf *b, unsigned long cp)
{
	char out[4];

	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return false;
	if (cp < 0x20 && cp != '\n' && cp != '\t')
		return false;
	if (cp < 0x80) {
		out[0] = (char)cp;
		buf_append(b, out, 1);
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, out, 2);
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, out, 3);
	} else {
		out[0] = (char)(0xF0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[3] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, out, 4);
	}
	return true;
}

/*
 * Decodes the character reference at `p` (which points at '&') into `out`.
 * Returns its length in bytes, or 0 when it is neither one of XML's five
 * named references nor a numeric reference to a character.
 */
static size_t html_entity(const char *p, struct text_buf *out)
{
	static const struct {
		const char *name;
		char ch;
	} named[] = { { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' } };
	unsigned long cp = 0;
	size_t start;
	size_t i;
	bool hex;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		size_t n = strlen(named[i].name);

		if (strncmp(p + 1, named[i].name, n) == 0) {
			buf_append(out, &named[i].ch, 1);
			return n + 1;
		}
	}

	if (p[1] != '#')
		return 0;
	hex = p[2] == 'x';
	start = hex ? 3 : 2;
	for (i = start; p[i] != ';'; i++) {
		int digit;

		if (p[i] >= '0' && p[i] <= '9')
			digit = p[i] - '0';
		else if (hex && p[i] >= 'a' && p[i] <= 'f')
			digit = p[i] - 'a' + 10;
		else if (hex && p[i] >= 'A' && p[i] <= 'F')
			digit = p[i] - 'A' + 10;
		else
			return 0;
		cp = cp * (hex ? 16 : 10) + (unsigned long)digit;
		if (cp > 0x10FFFF)
			return 0;
	}
	if (i == start || !utf8_append(out, cp))
		return 0;
	return i + 1;
}

/* ---------- the parser ---------- */

/* Ends the current line of plain text unless it is empty or already ended. */
static void text_break_line(struct text_buf *text)
{
	if (text->len > 0 && text->data[text->len - 1] != '\n')
		buf_append(text, "\n", 1);
}

/*
 * Parses one attribute list of an element named by `tag`, from *pp up to and
 * including '>' or "/>". Sets *self_closing_r. For a self-closing link its
 * href is appended to `text`, since the link has no content of its own.
 * Returns 0, or -1 with a message in `err`.
 */
static int html_attributes(const char **pp, const struct html_tag *tag, bool closing, bool *self_closing_r,
			   struct text_buf *text, char *err, size_t errlen)
{
	const char *p = *pp;
	const char *href = NULL;
	size_t href_len = 0;

	*self_closing_r = false;
	for (;;) {
		const char *name;
		const char *value;
		size_t name_len;
		char quote;

		while (html_space(*p))
			p++;
		if (*p == '>') {
			p++;
			break;
		}
		if (p[0] == '/' && p[1] == '>' && !closing) {
			*self_closing_r = true;
			p += 2;
			break;
		}

		name = p;
		while (html_name_char(*p))
			p++;
		name_len = (size_t)(p - name);
		if (name_len == 0 || closing) {
			snprintf(err, errlen, "malformed <%s%s> tag; write tags as <name attribute=\"value\">",
				 closing ? "/" : "", tag->name);
			return -1;
		}
		if (!tag->is_link || !((name_len == 4 && memcmp(name, "href", 4) == 0) ||
				       (name_len == 14 && memcmp(name, "data-asana-gid", 14) == 0))) {
			snprintf(err, errlen,
				 "attribute %.*s is not allowed on <%s>; only <a> takes href and data-asana-gid",
				 (int)(name_len > RICHTEXT_NAME_SHOWN ? RICHTEXT_NAME_SHOWN : name_len), name, tag->name);
			return -1;
		}

		while (html_space(*p))
			p++;
		if (*p != '=') {
			snprintf(err, errlen, "attribute %.*s has no value; write %.*s=\"value\"", (int)name_len, name,
				 (int)name_len, name);
			return -1;
		}
		p++;
		while (html_space(*p))
			p++;
		quote = *p;
		if (quote != '"' && quote != '\'') {
			snprintf(err, errlen, "the value of %.*s must be quoted", (int)name_len, name);
			return -1;
		}
		p++;
		value = p;
		while (*p != '\0' && *p != quote && *p != '<')
			p++;
		if (*p != quote) {
			snprintf(err, errlen, "the value of %.*s has no closing quote", (int)name_len, name);
			return -1;
		}
		if (name_len == 4) {
			if (!html_href_allowed(value, (size_t)(p - value))) {
				snprintf(err, errlen, "href must start with https://, http:// or mailto:");
				return -1;
			}
			href = value;
			href_len = (size_t)(p - value);
		}
		p++;
	}

	if (*self_closing_r && href != NULL)
		buf_append(text, href, href_len);
	*pp = p;
	return 0;
}

/* Writes the "tag <x> is not supported" message for the tag name that starts at `name`. */
static void unsupported_tag(const char *name, enum richtext_kind kind, char *err, size_t errlen)
{
	char allowed[200];
	size_t len = 0;

	/* Show the whole name as written, upper case included, so <SCRIPT> is named as such. */
	while (html_name_char(name[len]) || (name[len] >= 'A' && name[len] <= 'Z'))
		len++;

	/* With no name, show the character that follows '<' instead. */
	if (len == 0)
		len = 1;
	if (len > RICHTEXT_NAME_SHOWN)
		len = RICHTEXT_NAME_SHOWN;
	tag_list(kind, allowed, sizeof(allowed));
	snprintf(err, errlen, "tag <%.*s> is not supported; use only %s", (int)len, name, allowed);
}

/*
 * Checks rich text `html` and derives its plain text. The document must be
 * one <body> element holding only elements that `kind` allows, with
 * balanced tags, quoted attribute values and valid character references. On
 * success returns 0 and sets *text_r (the caller frees it). Otherwise
 * returns -1 with a message naming the problem in `err`.
 */
static int richtext_parse(const char *html, enum richtext_kind kind, char **text_r, char *err, size_t errlen)
{
	const struct html_tag *stack[RICHTEXT_DEPTH_MAX];
	struct text_buf text = { 0 };
	const char *p = html;
	int depth = 0;
	bool root_seen = false;

	*text_r = NULL;
	while (*p != '\0') {
		const struct html_tag *tag;
		const char *name;
		bool closing;
		bool self_closing;

		if (*p != '<' && depth == 0) {
			if (!html_space(*p)) {
				snprintf(err, errlen, "text outside <body> at byte %zu; put all content inside "
						      "<body>...</body>", (size_t)(p - html));
				goto fail;
			}
			p++;
			continue;
		}

		if (*p == '&') {
			size_t n = html_entity(p, &text);

			if (n == 0) {
				snprintf(err, errlen, "invalid character reference at byte %zu; write a literal & as &amp;",
					 (size_t)(p - html));
				goto fail;
			}
			p += n;
			continue;
		}

		if (*p != '<') {
			buf_append(&text, p, 1);
			p++;
			continue;
		}

		p++;
		closing = *p == '/';
		if (closing)
			p++;
		name = p;
		while (html_name_char(*p))
			p++;
		tag = html_tag_find(name, (size_t)(p - name), kind);
		if (tag == NULL) {
			unsupported_tag(name, kind, err, errlen);
			goto fail;
		}
		if (html_attributes(&p, tag, closing, &self_closing, &text, err, errlen) < 0)
			goto fail;

		/* The document is exactly one <body> element. */
		if (depth == 0 && (root_seen || closing || self_closing || strcmp(tag->name, "body") != 0)) {
			snprintf(err, errlen, "the text must be one <body>...</body> element");
			goto fail;
		}
		if (depth > 0 && !closing && strcmp(tag->name, "body") == 0) {
			snprintf(err, errlen, "<body> cannot be nested");
			goto fail;
		}
		if (depth > 0 && !closing && stack[depth - 1]->heading && tag->block) {
			snprintf(err, errlen, "<%s> is not allowed inside <%s>; a heading holds only text, strong, em, u, "
					      "s, code and a", tag->name, stack[depth - 1]->name);
			goto fail;
		}

		if (tag->block)
			text_break_line(&text);
		if (closing) {
			if (stack[depth - 1] != tag) {
				snprintf(err, errlen, "</%s> does not close <%s>; close tags in the order they were opened",
					 tag->name, stack[depth - 1]->name);
				goto fail;
			}
			depth--;
		} else if (!self_closing && strcmp(tag->name, "hr") != 0 && strcmp(tag->name, "br") != 0) {
			if (depth == RICHTEXT_DEPTH_MAX) {
				snprintf(err, errlen, "elements are nested more than %d deep", RICHTEXT_DEPTH_MAX);
				goto fail;
			}
			stack[depth++] = tag;
			root_seen = true;
		}
	}

	if (!root_seen || depth != 0) {
		snprintf(err, errlen, "<%s> is not closed; close every tag and end the text with </body>",
			 depth > 0 ? stack[depth - 1]->name : "body");
		goto fail;
	}

	while (text.len > 0 && html_space(text.data[text.len - 1]))
		text.data[--text.len] = '\0';
	*text_r = buf_finish(&text);
	if (*text_r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;

fail:
	free(text.data);
	return -1;
}

/* ---------- public functions ---------- */

int richtext_check(const char *html, enum richtext_kind kind, char *err, size_t errlen)
{
	char *text;

	if (richtext_parse(html, kind, &text, err, errlen) < 0)
		return -1;
	free(text);
	return 0;
}

char *richtext_to_text(const char *html)
{
	char err[256];
	char *text;

	/* The notes rules accept every element a comment may hold, so one call serves both kinds. */
	if (richtext_parse(html, RICHTEXT_NOTES, &text, err, sizeof(err)) < 0)
		return NULL;
	return text;
}

char *richtext_from_text(const char *text)
{
	struct text_buf b = { 0 };
	const char *p;

	buf_append_str(&b, "<body>");
	for (p = text; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			buf_append_str(&b, "&amp;");
			break;
		case '<':
			buf_append_str(&b, "&lt;");
			break;
		case '>':
			buf_append_str(&b, "&gt;");
			break;
		case '"':
			buf_append_str(&b, "&quot;");
			break;
		default:
			buf_append(&b, p, 1);
			break;
		}
	}
	buf_append_str(&b, "</body>");
	return buf_finish(&b);
}
