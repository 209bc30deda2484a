/*
 * Form-encoded request bodies, which Asana accepts beside JSON on its write
 * endpoints: application/x-www-form-urlencoded and the text fields of
 * multipart/form-data. The dispatcher decodes a form into the document a
 * JSON body would give, {"data": {...}}, with every value a string or an
 * array of strings. api_check_body later converts each value to the type
 * its struct api_field gives (form_coerce), so handlers see the same JSON
 * either way. No I/O and no database.
 *
 * Field names map to members of `data` with no wrapper: `name=Buy+milk`.
 * A list is one comma-separated value (`followers=123,456`) or repeated
 * bracket keys (`followers[]=123&followers[]=456`, or `followers[0]=...`
 * with indexes counting up from 0). `data[name]=...` is read as `name=...`,
 * as PHP's http_build_query writes a nested array. Nested objects
 * (`memberships[0][project]=...`) cannot be written in a form: they get a
 * 400 that requests JSON instead. The options `opt_fields` and `opt_pretty` may sit
 * in the form, as in a query string; they go to document["options"] as
 * "fields" and "pretty".
 */
#ifndef KONTOR_API_FORM_H
#define KONTOR_API_FORM_H

#include "api/api.h"

#include <jansson.h>
#include <stddef.h>

#define FORM_FIELDS_MAX 1000       /* name=value pairs or multipart parts in one body */
#define FORM_PART_HEADERS_MAX 8192 /* bytes of one multipart part's header block */
#define FORM_BOUNDARY_MAX 70       /* RFC 2046 section 5.1.1 */

enum form_kind {
	FORM_NONE,       /* not a form: the body is read as JSON */
	FORM_URLENCODED, /* application/x-www-form-urlencoded */
	FORM_MULTIPART,  /* multipart/form-data */
};

/* Classifies a Content-Type header value (NULL when absent) by its media type, ignoring case and parameters. */
enum form_kind form_kind_of(const char *content_type);

/*
 * Checks a Content-Type header value (NULL when absent) for control bytes,
 * which could make a form's type unrecognised and its body read as JSON.
 * Returns 0, or -1 with a message in `err`.
 */
int form_content_type_check(const char *content_type, char *err, size_t errlen);

/*
 * Decodes an application/x-www-form-urlencoded body of `len` bytes: pairs
 * split at '&', '+' read as a space, %XX as a byte. On success returns 0
 * and sets *document_r to a new {"data": {...}} object (with "options" when
 * the form had opt_fields or opt_pretty), which the caller frees. On
 * invalid input returns -1 and writes a message for a 400 into `err`, naming
 * the field when the field's name could be read.
 */
int form_urlencoded_parse(const char *body, size_t len, json_t **document_r, char *err, size_t errlen);

/*
 * Decodes a multipart/form-data body (RFC 7578) whose boundary comes from
 * `content_type`. Only text parts are accepted: a part with a filename gets
 * -1 with a message, as do a missing or invalid boundary, a malformed part
 * and a body without its closing boundary. It also rejects input that
 * another reader could take for a different field. That covers control
 * bytes in the Content-Type or a part's headers, a repeated boundary, name
 * or filename parameter, a name* parameter and a second
 * Content-Disposition header in a part. Same results as
 * form_urlencoded_parse.
 */
int form_multipart_parse(const char *content_type, const char *body, size_t len, json_t **document_r, char *err,
			 size_t errlen);

/*
 * Converts the string values of a decoded form's `data` to the types that
 * `fields` (terminated by { NULL }) give: "true"/"false" for AF_BOOL,
 * decimal integers for AF_INT, "null" for nullable fields that are not
 * AF_STRING, and comma-separated lists for AF_GID_ARRAY and for AF_ANY
 * fields flagged AF_FORM_LIST (one value without a comma becomes a list of
 * one, so the handler must read a one-item list as it reads that string).
 * Values that do not convert stay strings, so api_check_body's type checks
 * then name the field. Members not in `fields` are left for api_check_body to reject.
 * Returns 0, or -1 with a message for a 400 in `err` (a list given for a
 * single value, too many list items or an empty list item).
 */
int form_coerce(json_t *data, const struct api_field *fields, char *err, size_t errlen);

#endif
