/*
 * Tests of src/api/form.c, the decoders behind form-encoded request bodies
 * (application/x-www-form-urlencoded and multipart/form-data) and the
 * conversion of their string values to an endpoint's field types. The API
 * test tests/api/form_bodies.test.js covers the same rules through the
 * server; these cases pin the byte-level edge cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/form.h"

static json_t *decode_ok(const char *body)
{
	char err[512] = "";
	json_t *document = NULL;

	if (form_urlencoded_parse(body, strlen(body), &document, err, sizeof(err)) != 0)
		fail_msg("form \"%s\" was rejected: %s", body, err);
	return document;
}

/* Decodes a form that must fail and checks that the message contains `part`. */
static void decode_fails(const char *body, size_t len, const char *part)
{
	char err[512] = "";
	json_t *document = NULL;

	assert_int_equal(form_urlencoded_parse(body, len, &document, err, sizeof(err)), -1);
	assert_null(document);
	if (strstr(err, part) == NULL)
		fail_msg("message for \"%s\" lacks \"%s\": %s", body, part, err);
}

static const char *data_string(json_t *document, const char *name)
{
	return json_string_value(json_object_get(json_object_get(document, "data"), name));
}

static void urlencoded_plain_fields(void **state)
{
	json_t *document = decode_ok("name=Buy+milk&notes=line%0Aone%20%C3%A5&empty=&bare");

	(void)state;
	assert_string_equal(data_string(document, "name"), "Buy milk");
	assert_string_equal(data_string(document, "notes"), "line\none \xc3\xa5");
	assert_string_equal(data_string(document, "empty"), "");
	assert_string_equal(data_string(document, "bare"), "");
	assert_null(json_object_get(document, "options"));
	json_decref(document);
}

static void urlencoded_skips_empty_pairs(void **state)
{
	json_t *document = decode_ok("&&name=a&&");

	(void)state;
	assert_int_equal(json_object_size(json_object_get(document, "data")), 1);
	assert_string_equal(data_string(document, "name"), "a");
	json_decref(document);

	document = decode_ok("");
	assert_int_equal(json_object_size(json_object_get(document, "data")), 0);
	json_decref(document);
}

static void urlencoded_lists(void **state)
{
	json_t *document = decode_ok("followers%5B%5D=1&followers[]=2&tags[0]=7&tags[1]=8&data[projects][]=5");
	json_t *data;

	(void)state;
	data = json_object_get(document, "data");
	assert_int_equal(json_array_size(json_object_get(data, "followers")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(data, "followers"), 1)), "2");
	assert_int_equal(json_array_size(json_object_get(data, "tags")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(data, "tags"), 0)), "7");
	assert_string_equal(json_string_value(json_array_get(json_object_get(data, "projects"), 0)), "5");
	json_decref(document);
}

static void urlencoded_data_wrapper(void **state)
{
	json_t *document = decode_ok("data%5Bname%5D=x&data[completed]=true");

	(void)state;
	assert_string_equal(data_string(document, "name"), "x");
	assert_string_equal(data_string(document, "completed"), "true");
	json_decref(document);
}

static void urlencoded_options(void **state)
{
	json_t *document = decode_ok("name=a&opt_fields=name,notes&opt_pretty=true");
	json_t *options = json_object_get(document, "options");

	(void)state;
	assert_string_equal(json_string_value(json_object_get(options, "fields")), "name,notes");
	assert_string_equal(json_string_value(json_object_get(options, "pretty")), "true");
	assert_null(json_object_get(json_object_get(document, "data"), "opt_fields"));
	json_decref(document);

	decode_fails("opt_expand=x", 12, "opt_expand: unknown option");
	decode_fails("opt_pretty=true&opt_pretty=false", 32, "opt_pretty: given more than once");
}

static void urlencoded_rejects_bad_input(void **state)
{
	static const struct {
		const char *body;
		const char *message;
	} cases[] = {
		{ "name=a&name=b", "name: given more than once" },
		{ "followers=1&followers[]=2", "followers: given more than once" },
		{ "followers[]=1&followers=2", "followers: given more than once" },
		{ "name=100%", "name: the value contains an invalid percent-encoding" },
		{ "name=%zz", "name: the value contains an invalid percent-encoding" },
		{ "name=%4", "name: the value contains an invalid percent-encoding" },
		{ "na%g0me=a", "field name contains an invalid percent-encoding" },
		{ "name=%C3%28", "name: the value is not valid UTF-8" },
		{ "name=%ED%A0%80", "name: the value is not valid UTF-8" },
		{ "name=%C0%AF", "name: the value is not valid UTF-8" },
		{ "name=%F4%90%80%80", "name: the value is not valid UTF-8" },
		{ "name=%E2%82", "name: the value is not valid UTF-8" },
		{ "name=a%00b", "name: contains a NUL byte" },
		{ "%FF=a", "field name is not valid UTF-8" },
		{ "=a", "has no name" },
		{ "memberships[0][project]=1", "memberships[0][project]: nested objects cannot be written" },
		{ "custom_fields[123]=x", "custom_fields[123]: list indexes must count up from 0 in order, so the next one is [0]. An object keyed by gid" },
		{ "data[memberships][0][project]=1", "nested objects cannot be written" },
		{ "name[=a", "not a valid form field name" },
		{ "name]x=a", "" },
		{ "tags[1]=a", "tags[1]: list indexes must count up from 0" },
		{ "tags[0]=a&tags[0]=b", "tags[0]: list indexes must count up from 0" },
		{ "tags[12345678]=a", "list index too large" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		json_t *document = NULL;
		int status = form_urlencoded_parse(cases[i].body, strlen(cases[i].body), &document, err, sizeof(err));

		/* "name]x" is an ordinary, if odd, field name: api_check_body rejects it as unknown. */
		if (cases[i].message[0] == '\0') {
			assert_int_equal(status, 0);
			json_decref(document);
			continue;
		}
		if (status != -1)
			fail_msg("form \"%s\" was accepted", cases[i].body);
		if (strstr(err, cases[i].message) == NULL)
			fail_msg("message for \"%s\" lacks \"%s\": %s", cases[i].body, cases[i].message, err);
	}
}

static void urlencoded_field_limit(void **state)
{
	size_t len = (size_t)(FORM_FIELDS_MAX + 1) * 8;
	char *body = malloc(len + 1), *p = body;

	(void)state;
	assert_non_null(body);
	for (int i = 0; i <= FORM_FIELDS_MAX; i++)
		p += sprintf(p, "f%05d=&", i);
	decode_fails(body, (size_t)(p - body), "more than 1000 fields");
	free(body);
}

static void kind_of_content_type(void **state)
{
	(void)state;
	assert_int_equal(form_kind_of(NULL), FORM_NONE);
	assert_int_equal(form_kind_of("application/json"), FORM_NONE);
	assert_int_equal(form_kind_of("application/x-www-form-urlencoded"), FORM_URLENCODED);
	assert_int_equal(form_kind_of(" Application/X-WWW-Form-Urlencoded; charset=UTF-8"), FORM_URLENCODED);
	assert_int_equal(form_kind_of("multipart/form-data; boundary=abc"), FORM_MULTIPART);
	assert_int_equal(form_kind_of("multipart/form-dataX"), FORM_NONE);
	assert_int_equal(form_kind_of("multipart/mixed; boundary=abc"), FORM_NONE);
}

static int multipart_parse(const char *content_type, const char *body, json_t **document_r, char *err, size_t errlen)
{
	return form_multipart_parse(content_type, body, strlen(body), document_r, err, errlen);
}

static void multipart_text_parts(void **state)
{
	const char *body = "preamble\r\n"
			   "--XyZ\r\n"
			   "Content-Disposition: form-data; name=\"name\"\r\n"
			   "\r\n"
			   "Buy milk\r\n"
			   "--XyZ\r\n"
			   "content-disposition: form-data; name=notes\r\n"
			   "Content-Type: text/plain; charset=UTF-8\r\n"
			   "\r\n"
			   "two\r\nlines; --XyZ inside\r\n"
			   "--XyZ\r\n"
			   "Content-Disposition: form-data; name=\"followers[]\"\r\n"
			   "\r\n"
			   "12\r\n"
			   "--XyZ\r\n"
			   "Content-Disposition: form-data; name=\"opt_fields\"\r\n"
			   "\r\n"
			   "name\r\n"
			   "--XyZ--\r\n"
			   "epilogue";
	char err[512] = "";
	json_t *document = NULL;

	(void)state;
	if (multipart_parse("multipart/form-data; boundary=\"XyZ\"", body, &document, err, sizeof(err)) != 0)
		fail_msg("multipart body was rejected: %s", err);
	assert_string_equal(data_string(document, "name"), "Buy milk");
	assert_string_equal(data_string(document, "notes"), "two\r\nlines; --XyZ inside");
	assert_int_equal(json_array_size(json_object_get(json_object_get(document, "data"), "followers")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(document, "options"), "fields")), "name");
	json_decref(document);
}

static void multipart_empty_form(void **state)
{
	char err[512] = "";
	json_t *document = NULL;

	(void)state;
	assert_int_equal(multipart_parse("multipart/form-data; boundary=b", "--b--\r\n", &document, err, sizeof(err)), 0);
	assert_int_equal(json_object_size(json_object_get(document, "data")), 0);
	json_decref(document);
}

static void multipart_rejects_bad_input(void **state)
{
	static const struct {
		const char *content_type;
		const char *body;
		const char *message;
	} cases[] = {
		{ "multipart/form-data", "--b--", "needs a boundary" },
		{ "multipart/form-data; boundary=", "--b--", "needs a boundary" },
		{ "multipart/form-data; boundary=\"unclosed", "--b--", "needs a boundary" },
		{ "multipart/form-data; boundary="
		  "12345678901234567890123456789012345678901234567890123456789012345678901",
		  "--b--", "needs a boundary" },
		{ "multipart/form-data; boundary=b", "no delimiter here", "does not contain the boundary" },
		{ "multipart/form-data; boundary=b",
		  "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nvalue", "without its closing boundary" },
		{ "multipart/form-data; boundary=b",
		  "--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\r\nPNG\r\n--b--",
		  "photo: file parts are not accepted" },
		{ "multipart/form-data; boundary=b", "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
		  "no Content-Disposition header" },
		{ "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--",
		  "not form-data" },
		{ "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
		  "no valid name" },
		{ "multipart/form-data; boundary=b", "--bX\r\n", "does not end with CRLF" },
		{ "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"a\"",
		  "headers do not end" },
		{ "multipart/form-data; boundary=b",
		  "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
		  "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--b--",
		  "a: given more than once" },
		{ "multipart/form-data; boundary=b",
		  "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n\xc3\x28\r\n--b--",
		  "name: the value is not valid UTF-8" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		json_t *document = NULL;

		if (multipart_parse(cases[i].content_type, cases[i].body, &document, err, sizeof(err)) != -1)
			fail_msg("multipart case %zu was accepted", i);
		assert_null(document);
		if (strstr(err, cases[i].message) == NULL)
			fail_msg("message for case %zu lacks \"%s\": %s", i, cases[i].message, err);
	}
}

/* A multipart case whose body may contain NUL bytes, so it carries its length. */
struct multipart_case {
	const char *content_type;
	const char *body;
	size_t len;
	const char *message;
};

#define MULTIPART_CASE(content_type, body, message) { content_type, body, sizeof(body) - 1, message }

static void multipart_cases_fail(const struct multipart_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		char err[512] = "";
		json_t *document = NULL;

		if (form_multipart_parse(cases[i].content_type, cases[i].body, cases[i].len, &document, err,
					 sizeof(err)) != -1) {
			json_decref(document);
			fail_msg("multipart case %zu was accepted", i);
		}
		assert_null(document);
		if (strstr(err, cases[i].message) == NULL)
			fail_msg("message for case %zu lacks \"%s\": %s", i, cases[i].message, err);
	}
}

static void multipart_rejects_control_bytes(void **state)
{
	static const struct multipart_case cases[] = {
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"name\0evil\"\r\n\r\nsmuggled\r\n--b--",
			       "Part 1 of the multipart body: its headers contain a NUL byte (0x00). Remove it"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"notes\"\r\n\r\nok\r\n"
			       "--b\r\nContent-Disposition: form-data; name=\"na\0me\"\r\n\r\nx\r\n--b--",
			       "Part 2 of the multipart body: its headers contain a NUL byte (0x00)"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Note: \0\r\n\r\nx\r\n--b--",
			       "its headers contain a NUL byte (0x00)"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"a\x01" "b\"\r\n\r\nx\r\n--b--",
			       "its headers contain the control byte 0x01"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"a\x7f\"\r\n\r\nx\r\n--b--",
			       "its headers contain the control byte 0x7f"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data;\nname=\"a\"\r\n\r\nx\r\n--b--",
			       "its headers contain the control byte 0x0a"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"a\"\rX: y\r\n\r\nx\r\n--b--",
			       "its headers contain the control byte 0x0d"),
		MULTIPART_CASE("multipart/form-data; boundary=a\x01" "b", "--a\x01" "b--",
			       "The Content-Type header contains the control byte 0x01"),
		MULTIPART_CASE("multipart/form-data; boundary=\"a\x1b\"", "--a\x1b--",
			       "The Content-Type header contains the control byte 0x1b"),
		MULTIPART_CASE("multipart/form-data; boundary=b@d", "--b@d--", "RFC 2046 does not allow"),
		MULTIPART_CASE("multipart/form-data; boundary=\"ab \"", "--ab --", "RFC 2046 does not allow"),
	};

	(void)state;
	multipart_cases_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

static void multipart_rejects_ambiguous_headers(void **state)
{
	static const struct multipart_case cases[] = {
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"notes\"; name=\"name\"\r\n\r\nx\r\n--b--",
			       "Part 1 of the multipart body: the name parameter is given more than once"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=notes; NAME=\"name\"\r\n\r\nx\r\n--b--",
			       "the name parameter is given more than once"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x\"; filename=\"y\"\r\n"
			       "\r\nx\r\n--b--",
			       "the filename parameter is given more than once"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"a\"; name*=UTF-8''name\r\n\r\nx\r\n--b--",
			       "the name* parameter is not accepted"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"notes\"\r\n"
			       "Content-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--b--",
			       "Part 1 of the multipart body has more than one Content-Disposition header"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition : form-data; name=\"name\"\r\n"
			       "Content-Disposition: form-data; name=\"notes\"\r\n\r\nx\r\n--b--",
			       "has a malformed header line"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n continued\r\n\r\nx\r\n--b--",
			       "has a malformed header line"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nno colon\r\n\r\nx\r\n--b--",
			       "has a malformed header line"),
		MULTIPART_CASE("multipart/form-data; boundary=b",
			       "--b\r\nContent-Disposition: form-dataX; name=\"a\"\r\n\r\nx\r\n--b--", "not form-data"),
		MULTIPART_CASE("multipart/form-data; boundary=xx; boundary=yy", "--xx--\r\n--yy--",
			       "gives the boundary parameter more than once"),
		MULTIPART_CASE("multipart/form-data; BOUNDARY=xx; charset=UTF-8; boundary=\"xx\"", "--xx--",
			       "gives the boundary parameter more than once"),
	};

	(void)state;
	multipart_cases_fail(cases, sizeof(cases) / sizeof(cases[0]));
}

static void multipart_accepts_tabs_and_spaces(void **state)
{
	const char *body = "--a b\r\n"
			   "Content-Disposition:\tform-data;\tname=\"name\";\tx-note=\"semi;colon\"\r\n"
			   "\r\n"
			   "Tabbed\r\n"
			   "--a b--";
	char err[512] = "";
	json_t *document = NULL;

	(void)state;
	if (multipart_parse("multipart/form-data; charset=UTF-8; boundary=\"a b\"", body, &document, err,
			    sizeof(err)) != 0)
		fail_msg("multipart body was rejected: %s", err);
	assert_string_equal(data_string(document, "name"), "Tabbed");
	json_decref(document);
}

static const char *const color_values[] = { "red", "blue", NULL };

static const struct api_field coerce_fields[] = {
	{ "name", AF_STRING, 0, 0, NULL },
	{ "notes", AF_STRING, AF_NULLABLE, 0, NULL },
	{ "completed", AF_BOOL, 0, 0, NULL },
	{ "count", AF_INT, 0, 0, NULL },
	{ "assignee", AF_GID, AF_NULLABLE | AF_USER, 0, NULL },
	{ "color", AF_ENUM, AF_NULLABLE, 0, color_values },
	{ "followers", AF_GID_ARRAY, AF_USER, 3, NULL },
	{ "members", AF_ANY, 0, 0, NULL },
	{ "permissions", AF_ANY, AF_FORM_LIST, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static json_t *coerce_ok(const char *body)
{
	json_t *document = decode_ok(body);
	char err[512] = "";

	if (form_coerce(json_object_get(document, "data"), coerce_fields, err, sizeof(err)) != 0)
		fail_msg("form \"%s\" did not convert: %s", body, err);
	return document;
}

static void coerce_types(void **state)
{
	json_t *document = coerce_ok("name=null&notes=null&completed=true&count=-42&assignee=null&color=null"
				     "&followers=1,%20me%20,a%40b.se&members=1,2&unknown=true");
	json_t *data = json_object_get(document, "data"), *followers;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(data, "name")), "null");
	assert_string_equal(json_string_value(json_object_get(data, "notes")), "null");
	assert_true(json_is_true(json_object_get(data, "completed")));
	assert_int_equal(json_integer_value(json_object_get(data, "count")), -42);
	assert_true(json_is_null(json_object_get(data, "assignee")));
	assert_true(json_is_null(json_object_get(data, "color")));
	followers = json_object_get(data, "followers");
	assert_int_equal(json_array_size(followers), 3);
	assert_string_equal(json_string_value(json_array_get(followers, 1)), "me");
	assert_string_equal(json_string_value(json_array_get(followers, 2)), "a@b.se");
	assert_string_equal(json_string_value(json_object_get(data, "members")), "1,2");
	assert_string_equal(json_string_value(json_object_get(data, "unknown")), "true");
	json_decref(document);
}

static void coerce_form_list(void **state)
{
	json_t *document = coerce_ok("permissions=read,%20exports");
	json_t *permissions = json_object_get(json_object_get(document, "data"), "permissions");

	(void)state;
	assert_int_equal(json_array_size(permissions), 2);
	assert_string_equal(json_string_value(json_array_get(permissions, 0)), "read");
	assert_string_equal(json_string_value(json_array_get(permissions, 1)), "exports");
	json_decref(document);

	/* One value becomes a list of one, which the handler reads as that value. */
	document = coerce_ok("permissions=full");
	permissions = json_object_get(json_object_get(document, "data"), "permissions");
	assert_int_equal(json_array_size(permissions), 1);
	assert_string_equal(json_string_value(json_array_get(permissions, 0)), "full");
	json_decref(document);

	document = coerce_ok("permissions[]=read&permissions[]=scim");
	permissions = json_object_get(json_object_get(document, "data"), "permissions");
	assert_int_equal(json_array_size(permissions), 2);
	json_decref(document);
}

static void coerce_leaves_invalid_values(void **state)
{
	json_t *document = coerce_ok("completed=yes&count=12a&followers=&members[]=1");
	json_t *data = json_object_get(document, "data");

	(void)state;
	/* Values that do not convert stay strings, so api_check_body rejects them naming the field. */
	assert_string_equal(json_string_value(json_object_get(data, "completed")), "yes");
	assert_string_equal(json_string_value(json_object_get(data, "count")), "12a");
	assert_int_equal(json_array_size(json_object_get(data, "followers")), 0);
	assert_true(json_is_array(json_object_get(data, "members")));
	json_decref(document);

	document = coerce_ok("count=99999999999999999999&completed=false");
	data = json_object_get(document, "data");
	assert_true(json_is_string(json_object_get(data, "count")));
	assert_true(json_is_false(json_object_get(data, "completed")));
	json_decref(document);
}

static void coerce_rejects(void **state)
{
	static const struct {
		const char *body;
		const char *message;
	} cases[] = {
		{ "followers=1,2,3,4", "followers: at most 3 items" },
		{ "followers=1,,2", "followers: item 2 of the comma-separated list is empty" },
		{ "followers=1,", "followers: item 2 of the comma-separated list is empty" },
		{ "name[]=a", "name: takes one value, but the form gave a list" },
		{ "completed[]=true", "completed: takes one value" },
		{ "permissions=read,,scim", "permissions: item 2 of the comma-separated list is empty" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *document = decode_ok(cases[i].body);
		char err[512] = "";

		if (form_coerce(json_object_get(document, "data"), coerce_fields, err, sizeof(err)) != -1)
			fail_msg("form \"%s\" converted", cases[i].body);
		if (strstr(err, cases[i].message) == NULL)
			fail_msg("message for \"%s\" lacks \"%s\": %s", cases[i].body, cases[i].message, err);
		json_decref(document);
	}
}

static void coerce_is_idempotent(void **state)
{
	json_t *document = coerce_ok("completed=true&followers=1,2");
	json_t *data = json_object_get(document, "data");
	char err[512] = "";

	(void)state;
	/* A handler may check the body twice; converted values must pass the second time unchanged. */
	assert_int_equal(form_coerce(data, coerce_fields, err, sizeof(err)), 0);
	assert_true(json_is_true(json_object_get(data, "completed")));
	assert_int_equal(json_array_size(json_object_get(data, "followers")), 2);
	json_decref(document);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(urlencoded_plain_fields),
		cmocka_unit_test(urlencoded_skips_empty_pairs),
		cmocka_unit_test(urlencoded_lists),
		cmocka_unit_test(urlencoded_data_wrapper),
		cmocka_unit_test(urlencoded_options),
		cmocka_unit_test(urlencoded_rejects_bad_input),
		cmocka_unit_test(urlencoded_field_limit),
		cmocka_unit_test(kind_of_content_type),
		cmocka_unit_test(multipart_text_parts),
		cmocka_unit_test(multipart_empty_form),
		cmocka_unit_test(multipart_rejects_bad_input),
		cmocka_unit_test(multipart_rejects_control_bytes),
		cmocka_unit_test(multipart_rejects_ambiguous_headers),
		cmocka_unit_test(multipart_accepts_tabs_and_spaces),
		cmocka_unit_test(coerce_types),
		cmocka_unit_test(coerce_form_list),
		cmocka_unit_test(coerce_leaves_invalid_values),
		cmocka_unit_test(coerce_rejects),
		cmocka_unit_test(coerce_is_idempotent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
