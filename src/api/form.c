/*
 * Form-encoded request bodies: decodes application/x-www-form-urlencoded
 * (WHATWG URL standard, "application/x-www-form-urlencoded parsing") and
 * the text parts of multipart/form-data (RFC 7578) into the {"data": {...}}
 * document a JSON body would give, and converts the string values to the
 * field types of an endpoint's struct api_field table. The dispatcher in
 * api.c calls the decoders; api_check_body calls form_coerce. The naming
 * rules are in form.h.
 */
#include "api/form.h"
#include "api/json_out.h"
#include "util/text.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_SHOWN_MAX 81 /* bytes of a field name quoted in a message, NUL included */

#define JSON_HINT "send this request as JSON (Content-Type: application/json) with {\"data\": {...}}"

/* ---------- bytes ---------- */

/*
 * Decodes `len` bytes of a urlencoded name or value into a new NUL-terminated
 * buffer the caller frees, with its length in *out_len. Returns NULL when a
 * '%' is not followed by two hex digits (*invalid_r set) or memory ran out.
 * The WHATWG parser keeps such a '%' as it is, but a script that forgot to
 * encode would then store text it never meant, so kontor rejects it.
 */
static char *percent_decode(const char *in, size_t len, size_t *out_len, int *invalid_r)
{
	char *out = malloc(len + 1);
	size_t used = 0;

	*invalid_r = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '+') {
			out[used++] = ' ';
		} else if (in[i] == '%') {
			if (len - i < 3 || text_hex_value(in[i + 1]) < 0 || text_hex_value(in[i + 2]) < 0) {
				free(out);
				*invalid_r = 1;
				return NULL;
			}
			out[used++] = (char)(text_hex_value(in[i + 1]) * 16 + text_hex_value(in[i + 2]));
			i += 2;
		} else {
			out[used++] = in[i];
		}
	}
	out[used] = '\0';
	*out_len = used;
	return out;
}

/* Copies a field name for a message: at most NAME_SHOWN_MAX - 1 bytes, cut between characters. */
static const char *name_shown(const char *name, char *buf)
{
	return text_utf8_copy(buf, NAME_SHOWN_MAX, name);
}

/* ---------- adding one field ---------- */

/*
 * Splits a decoded field name into the member of `data` it sets and its
 * list position: `name` (scalar), `name[]` or `name[N]` (list item, *index_r
 * -1 or N). A leading `data[...]` wrapper is dropped. Writes the member name
 * into a new string in *member_r. Returns 0, or -1 with a message.
 */
static int name_split(const char *name, char **member_r, int *is_list_r, long *index_r, char *err, size_t errlen)
{
	char shown[NAME_SHOWN_MAX];
	const char *tokens[3], *bracket = strchr(name, '[');
	size_t token_len[3], base_len = bracket ? (size_t)(bracket - name) : strlen(name);
	const char *full = name;
	int count = 0;

	*member_r = NULL;
	*is_list_r = 0;
	*index_r = -1;

	/* Each bracket pair becomes a token; a third one is always too deep, so parsing stops there. */
	for (const char *p = bracket; p != NULL && *p != '\0';) {
		const char *close = strchr(p, ']');

		if (*p != '[' || close == NULL) {
			snprintf(err, errlen, "%s: not a valid form field name. Write name=value, or name[]=value for "
					      "each item of a list.",
				 name_shown(name, shown));
			return -1;
		}
		if (count == 3)
			break;
		tokens[count] = p + 1;
		token_len[count] = (size_t)(close - p - 1);
		count++;
		p = close + 1;
	}
	if (base_len == 4 && strncmp(name, "data", 4) == 0 && count > 0 && token_len[0] > 0) {
		name = tokens[0];
		base_len = token_len[0];
		for (int i = 1; i < count; i++) {
			tokens[i - 1] = tokens[i];
			token_len[i - 1] = token_len[i];
		}
		count--;
	}
	if (base_len == 0) {
		snprintf(err, errlen, "A form field has no name. Write each field as name=value.");
		return -1;
	}
	if (count > 1 || (count == 1 && strspn(tokens[0], "0123456789") < token_len[0])) {
		snprintf(err, errlen, "%s: nested objects cannot be written in a form body; %s.", name_shown(full, shown),
			 JSON_HINT);
		return -1;
	}
	if (count == 1) {
		*is_list_r = 1;
		if (token_len[0] > 0) {
			if (token_len[0] > 6) {
				snprintf(err, errlen, "%s: list index too large; lists hold at most %d items.",
					 name_shown(name, shown), FORM_FIELDS_MAX);
				return -1;
			}
			*index_r = strtol(tokens[0], NULL, 10);
		}
	}
	*member_r = strndup(name, base_len);
	if (*member_r == NULL) {
		snprintf(err, errlen, "Server error: out of memory while reading the form.");
		return -1;
	}
	return 0;
}

/* Records opt_fields or opt_pretty in document["options"]. */
static int option_add(json_t *document, const char *member, const char *value, size_t value_len, int is_list,
		      char *err, size_t errlen)
{
	char shown[NAME_SHOWN_MAX];
	const char *key = strcmp(member, "opt_fields") == 0 ? "fields" : strcmp(member, "opt_pretty") == 0 ? "pretty" : NULL;
	json_t *options = json_object_get(document, "options");

	if (key == NULL) {
		snprintf(err, errlen, "%s: unknown option. A form body accepts the options opt_fields and opt_pretty.",
			 name_shown(member, shown));
		return -1;
	}
	if (is_list) {
		snprintf(err, errlen, "%s: write the option once, with comma-separated values.", member);
		return -1;
	}
	if (options == NULL) {
		options = json_object();
		json_object_set_new(document, "options", options);
	}
	if (json_object_get(options, key) != NULL) {
		snprintf(err, errlen, "%s: given more than once; send it once.", member);
		return -1;
	}
	json_object_set_new(options, key, json_stringn(value, value_len));
	return 0;
}

/*
 * Adds one decoded name=value pair to the document: checks the name and
 * the value's encoding, rejects a field given twice, and appends list items.
 */
static int field_add(json_t *document, const char *name, size_t name_len, const char *value, size_t value_len,
		     char *err, size_t errlen)
{
	char shown[NAME_SHOWN_MAX], *member = NULL;
	json_t *data = json_object_get(document, "data"), *existing, *text;
	int is_list, result = -1;
	long index;

	if (memchr(name, '\0', name_len) != NULL || !json_out_utf8_valid(name, name_len)) {
		snprintf(err, errlen, "A form field name is not valid UTF-8 or contains a NUL byte. Field names are "
				      "ASCII, such as name or followers.");
		return -1;
	}
	if (name_split(name, &member, &is_list, &index, err, errlen) != 0)
		return -1;
	if (memchr(value, '\0', value_len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte (%%00); remove it.", name_shown(member, shown));
		goto done;
	}
	if (!json_out_utf8_valid(value, value_len)) {
		snprintf(err, errlen, "%s: the value is not valid UTF-8. Encode the text as UTF-8 (in a URL-encoded "
				      "form, before percent-encoding it).",
			 name_shown(member, shown));
		goto done;
	}
	if (strncmp(member, "opt_", 4) == 0) {
		result = option_add(document, member, value, value_len, is_list, err, errlen);
		goto done;
	}

	existing = json_object_get(data, member);
	if (existing != NULL && (!is_list || !json_is_array(existing))) {
		snprintf(err, errlen, "%s: given more than once. Send each field once; for a list, separate the "
				      "values with commas or write name[]=value for each item.",
			 name_shown(member, shown));
		goto done;
	}
	text = json_stringn(value, value_len);
	if (text == NULL) {
		snprintf(err, errlen, "Server error: out of memory while reading the form.");
		goto done;
	}
	if (!is_list) {
		json_object_set_new(data, member, text);
		result = 0;
		goto done;
	}
	if (existing == NULL) {
		existing = json_array();
		json_object_set_new(data, member, existing);
	}
	if (index >= 0 && (size_t)index != json_array_size(existing)) {
		json_decref(text);
		snprintf(err, errlen, "%s[%ld]: list indexes must count up from 0 in order, so the next one is [%zu]. "
				      "An object keyed by gid, such as custom_fields, cannot be written in a form body; %s.",
			 name_shown(member, shown), index, json_array_size(existing), JSON_HINT);
		goto done;
	}
	json_array_append_new(existing, text);
	result = 0;
done:
	free(member);
	return result;
}

static json_t *document_new(void)
{
	json_t *document = json_object();

	json_object_set_new(document, "data", json_object());
	return document;
}

/* ---------- application/x-www-form-urlencoded ---------- */

enum form_kind form_kind_of(const char *content_type)
{
	size_t len;

	if (content_type == NULL)
		return FORM_NONE;
	content_type += strspn(content_type, " \t");
	len = strcspn(content_type, "; \t");
	if (len == 33 && strncasecmp(content_type, "application/x-www-form-urlencoded", len) == 0)
		return FORM_URLENCODED;
	if (len == 19 && strncasecmp(content_type, "multipart/form-data", len) == 0)
		return FORM_MULTIPART;
	return FORM_NONE;
}

int form_urlencoded_parse(const char *body, size_t len, json_t **document_r, char *err, size_t errlen)
{
	json_t *document = document_new();
	const char *p = body, *end = body + len;
	int pairs = 0;

	*document_r = NULL;
	while (p < end) {
		const char *pair_end = memchr(p, '&', (size_t)(end - p));
		const char *equals;
		char *name, *value, shown[NAME_SHOWN_MAX];
		size_t name_len, value_len;
		int invalid, status;

		if (pair_end == NULL)
			pair_end = end;
		if (pair_end == p) {
			p++;
			continue;
		}
		if (++pairs > FORM_FIELDS_MAX) {
			snprintf(err, errlen, "The form has more than %d fields; send fewer fields per request.",
				 FORM_FIELDS_MAX);
			goto fail;
		}
		equals = memchr(p, '=', (size_t)(pair_end - p));
		if (equals == NULL)
			equals = pair_end;

		name = percent_decode(p, (size_t)(equals - p), &name_len, &invalid);
		if (name == NULL) {
			snprintf(err, errlen, invalid ? "A form field name contains an invalid percent-encoding. Write "
							"%%XX with two hex digits, and %%25 for a literal '%%'."
						      : "Server error: out of memory while reading the form.");
			goto fail;
		}
		value = percent_decode(equals < pair_end ? equals + 1 : pair_end,
				       equals < pair_end ? (size_t)(pair_end - equals - 1) : 0, &value_len, &invalid);
		if (value == NULL) {
			if (invalid && json_out_utf8_valid(name, name_len) &&
			    memchr(name, '\0', name_len) == NULL)
				snprintf(err, errlen, "%s: the value contains an invalid percent-encoding. Write %%XX "
						      "with two hex digits, and %%25 for a literal '%%'.",
					 name_shown(name, shown));
			else
				snprintf(err, errlen, invalid ? "A form value contains an invalid percent-encoding. Write "
								"%%XX with two hex digits, and %%25 for a literal '%%'."
							      : "Server error: out of memory while reading the form.");
			free(name);
			goto fail;
		}
		status = field_add(document, name, name_len, value, value_len, err, errlen);
		free(name);
		free(value);
		if (status != 0)
			goto fail;
		p = pair_end + 1;
	}
	*document_r = document;
	return 0;
fail:
	json_decref(document);
	return -1;
}

/* ---------- multipart/form-data ---------- */

/*
 * Reads a header parameter value at *p (a token or a quoted string, RFC 7230
 * section 3.2.6) into `out` and advances *p past it. Returns the length, or
 * -1 when it does not fit or a quote is not closed.
 */
static long param_value(const char **p, const char *end, char *out, size_t out_size)
{
	const char *s = *p;
	size_t used = 0;

	if (s < end && *s == '"') {
		for (s++; s < end && *s != '"'; s++) {
			if (*s == '\\' && s + 1 < end)
				s++;
			if (used + 1 >= out_size)
				return -1;
			out[used++] = *s;
		}
		if (s >= end)
			return -1;
		s++;
	} else {
		for (; s < end && *s != ';' && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n'; s++) {
			if (used + 1 >= out_size)
				return -1;
			out[used++] = *s;
		}
	}
	out[used] = '\0';
	*p = s;
	return (long)used;
}

/*
 * Finds parameter `name` in the parameters that follow the first ';' of a
 * header value [value, end) and copies its value into `out`. Returns its
 * length, 0 when absent (an empty value counts as present only through
 * *present_r), -1 when malformed or too long, or -2 when the parameter is
 * given more than once. Readers disagree on which copy of a repeated
 * parameter counts (a proxy may take the last), so kontor reads neither.
 */
static long header_param(const char *value, const char *end, const char *name, char *out, size_t out_size,
			 int *present_r)
{
	size_t name_len = strlen(name);
	const char *p = memchr(value, ';', (size_t)(end - value));
	long result = 0;

	*present_r = 0;
	out[0] = '\0';
	while (p != NULL && p < end) {
		const char *key;
		size_t key_len;

		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		key = p;
		while (p < end && *p != '=' && *p != ';')
			p++;
		key_len = (size_t)(p - key);
		while (key_len > 0 && (key[key_len - 1] == ' ' || key[key_len - 1] == '\t'))
			key_len--;
		if (p >= end || *p == ';')
			continue;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (key_len == name_len && strncasecmp(key, name, name_len) == 0) {
			if (*present_r)
				return -2;
			result = param_value(&p, end, out, out_size);
			if (result < 0)
				return -1;
			*present_r = 1;
		} else {
			/* Skip another parameter's value, which may be quoted and contain ';'. */
			char skipped[1024];

			if (param_value(&p, end, skipped, sizeof(skipped)) < 0)
				return -1;
		}
		p = memchr(p, ';', (size_t)(end - p));
	}
	return result;
}

/*
 * Returns the first control byte in [p, end) (C0 or DEL) other than a tab,
 * or NULL. With `lines` set, CR LF pairs separate lines and are allowed,
 * but a lone CR or LF is not.
 */
static const char *control_byte_find(const char *p, const char *end, int lines)
{
	for (const char *c = p; c < end; c++) {
		unsigned char byte = (unsigned char)*c;

		if (byte >= 0x20 && byte != 0x7f)
			continue;
		if (byte == '\t')
			continue;
		if (lines && byte == '\r' && c + 1 < end && c[1] == '\n') {
			c++;
			continue;
		}
		return c;
	}
	return NULL;
}

/* Describes a control byte for a message: "a NUL byte (0x00)" or "the control byte 0x1b". */
static const char *control_byte_shown(unsigned char byte, char *buf, size_t size)
{
	if (byte == 0)
		snprintf(buf, size, "a NUL byte (0x00)");
	else
		snprintf(buf, size, "the control byte 0x%02x", byte);
	return buf;
}

/* Returns 1 when `len` bytes are RFC 2046 boundary characters: letters, digits, '()+_,-./:=? and inner spaces. */
static int boundary_valid(const char *boundary, size_t len)
{
	static const char allowed[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";

	return len > 0 && strspn(boundary, allowed) == len && boundary[len - 1] != ' ';
}

/*
 * Reads a part's Content-Disposition value [value, end): form-data with
 * exactly one name parameter, and whether it names a file. `part` numbers
 * the part from 1 for messages. Returns 0, or -1 with a message.
 */
static int disposition_read(const char *value, const char *end, int part, char *name, size_t name_size,
			    int *is_file_r, char *err, size_t errlen)
{
	static const char *const file_params[] = { "filename", "filename*" };
	char file[1024];
	int present = 0;
	long got;

	while (value < end && (*value == ' ' || *value == '\t'))
		value++;
	if (end - value < 9 || strncasecmp(value, "form-data", 9) != 0 ||
	    (end - value > 9 && value[9] != ';' && value[9] != ' ' && value[9] != '\t')) {
		snprintf(err, errlen, "A multipart part's Content-Disposition is not form-data; send "
				      "each field as Content-Disposition: form-data; name=\"...\".");
		return -1;
	}
	got = header_param(value, end, "name", name, name_size, &present);
	if (got == -2) {
		snprintf(err, errlen, "Part %d of the multipart body: the name parameter is given more than once in "
				      "its Content-Disposition; give each part one name.",
			 part);
		return -1;
	}
	if (got < 0 || !present) {
		snprintf(err, errlen, "A multipart part has no valid name in its Content-Disposition; "
				      "send name=\"field\" (at most %zu bytes).",
			 name_size - 1);
		return -1;
	}
	/* RFC 7578 section 4.2 forbids the RFC 5987 form name*=, and a reader that prefers it would see another field. */
	if (header_param(value, end, "name*", file, sizeof(file), &present) != 0 || present) {
		snprintf(err, errlen, "Part %d of the multipart body: the name* parameter is not accepted; send the "
				      "field name once as name=\"...\" in UTF-8.",
			 part);
		return -1;
	}
	for (size_t i = 0; i < sizeof(file_params) / sizeof(file_params[0]); i++) {
		got = header_param(value, end, file_params[i], file, sizeof(file), &present);
		if (got == -2) {
			snprintf(err, errlen, "Part %d of the multipart body: the %s parameter is given more than once "
					      "in its Content-Disposition; send text fields without a filename.",
				 part, file_params[i]);
			return -1;
		}
		if (got != 0 || present)
			*is_file_r = 1;
	}
	return 0;
}

int form_content_type_check(const char *content_type, char *err, size_t errlen)
{
	const char *control;

	if (content_type == NULL)
		return 0;
	control = control_byte_find(content_type, content_type + strlen(content_type), 0);
	if (control == NULL)
		return 0;
	snprintf(err, errlen, "Content-Type: contains a control character (0x%02X). Send application/json, "
			      "application/x-www-form-urlencoded or multipart/form-data.",
		 (unsigned)(unsigned char)*control);
	return -1;
}

/* Whether a Content-Transfer-Encoding value [value, end) leaves the bytes as they are. */
static int identity_transfer_encoding(const char *value, const char *end)
{
	static const char *const identities[] = { "7bit", "8bit", "binary" };
	size_t len;

	while (value < end && (*value == ' ' || *value == '\t'))
		value++;
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - value);
	for (size_t i = 0; i < sizeof(identities) / sizeof(identities[0]); i++)
		if (strlen(identities[i]) == len && strncasecmp(value, identities[i], len) == 0)
			return 1;
	return 0;
}

/*
 * Reads one part's header block [p, end): the Content-Disposition name and
 * whether it names a file. Rejects what another reader could take for a
 * different field: control bytes, which would cut a name short in C
 * strings, malformed header lines and a second Content-Disposition header.
 * `part` numbers the part from 1 for messages. Returns 0, or -1 with a
 * message.
 */
static int part_headers(const char *p, const char *end, int part, char *name, size_t name_size, int *is_file_r,
			char *err, size_t errlen)
{
	static const char disposition[] = "content-disposition";
	static const char transfer_encoding[] = "content-transfer-encoding";
	const char *control = control_byte_find(p, end, 1);
	int found = 0;

	*is_file_r = 0;
	name[0] = '\0';
	if (control != NULL) {
		char shown[32];

		snprintf(err, errlen, "Part %d of the multipart body: its headers contain %s. Remove it; header lines "
				      "and field names hold printable text and tabs only, and each line ends with CRLF.",
			 part, control_byte_shown((unsigned char)*control, shown, sizeof(shown)));
		return -1;
	}
	while (p < end) {
		const char *line_end = memmem(p, (size_t)(end - p), "\r\n", 2);
		const char *colon;
		size_t header_len;

		if (line_end == NULL)
			line_end = end;
		colon = memchr(p, ':', (size_t)(line_end - p));
		header_len = colon != NULL ? (size_t)(colon - p) : 0;
		if (header_len == 0 || memchr(p, ' ', header_len) != NULL || memchr(p, '\t', header_len) != NULL) {
			snprintf(err, errlen, "Part %d of the multipart body has a malformed header line; write each "
					      "header on one line as Name: value, with no space before the colon.",
				 part);
			return -1;
		}
		if (header_len == sizeof(disposition) - 1 && strncasecmp(p, disposition, header_len) == 0) {
			if (found) {
				snprintf(err, errlen, "Part %d of the multipart body has more than one "
						      "Content-Disposition header; send one per part.",
					 part);
				return -1;
			}
			if (disposition_read(colon + 1, line_end, part, name, name_size, is_file_r, err, errlen) != 0)
				return -1;
			found = 1;
		} else if (header_len == sizeof(transfer_encoding) - 1 && strncasecmp(p, transfer_encoding, header_len) == 0 &&
			   !identity_transfer_encoding(colon + 1, line_end)) {
			/* RFC 7578 section 4.7 deprecates the header; a decoder that honoured it would read another value. */
			snprintf(err, errlen, "Part %d of the multipart body has a Content-Transfer-Encoding other than "
					      "7bit, 8bit or binary; send the value as plain UTF-8 text without the header.",
				 part);
			return -1;
		}
		p = line_end + 2;
	}
	if (!found) {
		snprintf(err, errlen, "A multipart part has no Content-Disposition header; send each field with "
				      "Content-Disposition: form-data; name=\"...\".");
		return -1;
	}
	return 0;
}

/*
 * Reads the boundary parameter of a multipart Content-Type into `boundary`
 * (FORM_BOUNDARY_MAX + 1 bytes). Returns its length, or -1 with a message.
 */
static long boundary_read(const char *content_type, char *boundary, char *err, size_t errlen)
{
	const char *end, *control;
	int present = 0;
	long len;

	if (content_type == NULL)
		content_type = "";
	end = content_type + strlen(content_type);
	control = control_byte_find(content_type, end, 0);
	if (control != NULL) {
		char shown[32];

		snprintf(err, errlen, "The Content-Type header contains %s. Remove it; send multipart/form-data; "
				      "boundary=... in printable text.",
			 control_byte_shown((unsigned char)*control, shown, sizeof(shown)));
		return -1;
	}
	len = header_param(content_type, end, "boundary", boundary, FORM_BOUNDARY_MAX + 1, &present);
	if (len == -2) {
		snprintf(err, errlen, "The Content-Type header gives the boundary parameter more than once; send "
				      "one boundary.");
		return -1;
	}
	if (len <= 0) {
		snprintf(err, errlen, "multipart/form-data needs a boundary parameter of 1 to %d characters in the "
				      "Content-Type header.",
			 FORM_BOUNDARY_MAX);
		return -1;
	}
	if (!boundary_valid(boundary, (size_t)len)) {
		snprintf(err, errlen, "The multipart boundary in the Content-Type header contains a character that "
				      "RFC 2046 does not allow. Use letters, digits and '()+_,-./:=? only.");
		return -1;
	}
	return len;
}

int form_multipart_parse(const char *content_type, const char *body, size_t len, json_t **document_r, char *err,
			 size_t errlen)
{
	char boundary[FORM_BOUNDARY_MAX + 1], delimiter[FORM_BOUNDARY_MAX + 5], name[256], shown[NAME_SHOWN_MAX];
	const char *end = body + len, *p, *found;
	json_t *document;
	size_t delimiter_len;
	int parts = 0;

	*document_r = NULL;
	if (boundary_read(content_type, boundary, err, errlen) < 0)
		return -1;
	/* Each delimiter but the first is CRLF "--" boundary (RFC 2046 section 5.1.1); the CRLF belongs to it. */
	delimiter_len = (size_t)snprintf(delimiter, sizeof(delimiter), "\r\n--%s", boundary);
	if (len >= delimiter_len - 2 && memcmp(body, delimiter + 2, delimiter_len - 2) == 0) {
		p = body + delimiter_len - 2;
	} else {
		found = memmem(body, len, delimiter, delimiter_len);
		if (found == NULL) {
			snprintf(err, errlen, "The multipart body does not contain the boundary from the Content-Type "
					      "header.");
			return -1;
		}
		p = found + delimiter_len;
	}

	document = document_new();
	for (;;) {
		const char *headers, *headers_end, *content, *next;
		int is_file = 0;

		/* After a delimiter: "--" ends the body; otherwise optional blanks, then CRLF and the part. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
			snprintf(err, errlen, "The multipart body is malformed: a boundary line does not end with CRLF.");
			goto fail;
		}
		if (++parts > FORM_FIELDS_MAX) {
			snprintf(err, errlen, "The form has more than %d fields; send fewer fields per request.",
				 FORM_FIELDS_MAX);
			goto fail;
		}
		headers = p + 2;
		if (end - headers >= 2 && headers[0] == '\r' && headers[1] == '\n') {
			headers_end = headers;
			content = headers + 2;
		} else {
			size_t window = (size_t)(end - headers);

			if (window > FORM_PART_HEADERS_MAX + 4)
				window = FORM_PART_HEADERS_MAX + 4;
			headers_end = memmem(headers, window, "\r\n\r\n", 4);
			if (headers_end == NULL) {
				snprintf(err, errlen, "The multipart body is malformed: a part's headers do not end with "
						      "an empty line, or are longer than %d bytes.",
					 FORM_PART_HEADERS_MAX);
				goto fail;
			}
			content = headers_end + 4;
		}
		if (part_headers(headers, headers_end, parts, name, sizeof(name), &is_file, err, errlen) != 0)
			goto fail;
		if (is_file) {
			snprintf(err, errlen, "%s: file parts are not accepted. Send the field as text, without a "
					      "filename; a profile photo goes as the raw image body to its photo endpoint.",
				 name_shown(name, shown));
			goto fail;
		}
		next = memmem(content, (size_t)(end - content), delimiter, delimiter_len);
		if (next == NULL) {
			snprintf(err, errlen, "The multipart body ends without its closing boundary (--%s--).", boundary);
			goto fail;
		}
		if (field_add(document, name, strlen(name), content, (size_t)(next - content), err, errlen) != 0)
			goto fail;
		p = next + delimiter_len;
	}
	*document_r = document;
	return 0;
fail:
	json_decref(document);
	return -1;
}

/* ---------- conversion to field types ---------- */

/* Parses a whole decimal integer such as "-12"; returns 0 and sets *value_r, or -1. */
static int integer_parse(const char *text, json_int_t *value_r)
{
	const char *digits = text[0] == '-' ? text + 1 : text;
	long long value;
	char *end;

	if (digits[0] < '0' || digits[0] > '9' || strspn(digits, "0123456789") != strlen(digits))
		return -1;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*value_r = (json_int_t)value;
	return 0;
}

/* Splits "123, 456" into a new array of trimmed strings; NULL with a message when a limit or an item fails. */
static json_t *list_split(const char *name, const char *text, size_t max, char *err, size_t errlen)
{
	size_t items = 1, index = 0;
	json_t *list;

	for (const char *c = text; *c; c++)
		if (*c == ',')
			items++;
	if (items > max) {
		snprintf(err, errlen, "%s: at most %zu items are accepted in one request.", name, max);
		return NULL;
	}
	list = json_array();
	if (text[0] == '\0')
		return list;
	for (const char *p = text;; index++) {
		size_t len = strcspn(p, ",");
		const char *start = p, *stop = p + len;

		while (start < stop && (*start == ' ' || *start == '\t'))
			start++;
		while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		if (stop == start) {
			snprintf(err, errlen, "%s: item %zu of the comma-separated list is empty. Write the values "
					      "like 123,456.",
				 name, index + 1);
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, json_stringn(start, (size_t)(stop - start)));
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return list;
}

int form_coerce(json_t *data, const struct api_field *fields, char *err, size_t errlen)
{
	for (const struct api_field *f = fields; f->name; f++) {
		json_t *value = json_object_get(data, f->name), *converted = NULL;
		const char *text;

		if (value == NULL)
			continue;
		if (json_is_array(value)) {
			if (f->type == AF_GID_ARRAY || f->type == AF_ANY)
				continue;
			snprintf(err, errlen, "%s: takes one value, but the form gave a list (%s[]=...). Send %s=value "
					      "once.",
				 f->name, f->name, f->name);
			return -1;
		}
		if (!json_is_string(value))
			continue;
		text = json_string_value(value);

		/* A text field keeps "null" as text: a task may well be named null. */
		if ((f->flags & AF_NULLABLE) && f->type != AF_STRING && strcmp(text, "null") == 0) {
			converted = json_null();
		} else if (f->type == AF_BOOL) {
			if (strcmp(text, "true") == 0)
				converted = json_true();
			else if (strcmp(text, "false") == 0)
				converted = json_false();
		} else if (f->type == AF_INT) {
			json_int_t number;

			if (integer_parse(text, &number) == 0)
				converted = json_integer(number);
		} else if (f->type == AF_GID_ARRAY || (f->type == AF_ANY && (f->flags & AF_FORM_LIST))) {
			converted = list_split(f->name, text, f->max_len ? f->max_len : 100, err, errlen);
			if (converted == NULL)
				return -1;
		}
		if (converted != NULL)
			json_object_set_new(data, f->name, converted);
	}
	return 0;
}
