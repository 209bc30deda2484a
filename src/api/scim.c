/*
 * The shared part of kontor's SCIM 2.0 service under /api/1.0/scim: error
 * and resource replies in SCIM's form, meta and weak ETags, If-Match,
 * startIndex/count paging and the filter subset identity providers send.
 * The dispatcher routes every error under /scim through scim_error_text, so
 * authentication, scope and plan failures reach SCIM clients in the form
 * they parse. The discovery endpoints are in scim_discovery.c.
 */
#include "api/scim.h"
#include "store/audit.h"
#include "util/gid.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONTENT_TYPE_SCIM "application/scim+json; charset=UTF-8"
#define QUERY_INT_MAX 1000000000LL

/* ---------- errors and replies ---------- */

int scim_is_request(const api_ctx *ctx)
{
	const char *path = ctx->req->path + strlen(API_BASE_PATH);
	size_t len = strlen(SCIM_PATH);

	return strncmp(path, SCIM_PATH, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

static void headers_clear(http_response *res)
{
	for (int i = 0; i < res->header_count; i++) {
		free(res->headers[i].name);
		free(res->headers[i].value);
	}
	res->header_count = 0;
}

int scim_reply(api_ctx *ctx, int status, json_t *document)
{
	char *text = json_dumps(document, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(document);
	if (text == NULL) {
		http_response_set_text(ctx->res, 500, CONTENT_TYPE_SCIM,
				       "{\"schemas\":[\"" SCIM_SCHEMA_ERROR "\"],\"status\":\"500\",\"detail\":\"Server error\"}");
		return 0;
	}
	http_response_set_body(ctx->res, status, CONTENT_TYPE_SCIM, text, strlen(text));
	return 0;
}

void scim_error_text(api_ctx *ctx, int status, const char *scim_type, const char *text)
{
	json_t *error = json_object();
	char status_text[8], detail[1024];

	/* Request bytes that are not UTF-8 become '?', or json_string would drop the detail. */
	text_utf8_copy(detail, sizeof(detail), text);

	snprintf(status_text, sizeof(status_text), "%d", status);
	json_object_set_new(error, "schemas", json_pack("[s]", SCIM_SCHEMA_ERROR));
	json_object_set_new(error, "status", json_string(status_text));
	if (scim_type != NULL)
		json_object_set_new(error, "scimType", json_string(scim_type));
	json_object_set_new(error, "detail", json_string(detail));
	headers_clear(ctx->res);
	scim_reply(ctx, status, error);
}

int scim_error(api_ctx *ctx, int status, const char *scim_type, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	scim_error_text(ctx, status, scim_type, detail);
	return 0;
}

int scim_reply_no_content(api_ctx *ctx)
{
	http_response_set_body(ctx->res, 204, NULL, NULL, 0);
	return 0;
}

void scim_rollback(api_ctx *ctx)
{
	if (ctx->db != NULL && db_in_transaction(ctx->db))
		db_rollback(ctx->db);
}

char *scim_location(api_ctx *ctx, const char *collection, int64_t gid, char *buf, size_t len)
{
	char base[API_BASE_URL_MAX], gid_text[GID_STRING_MAX];

	api_base_url(ctx, base, sizeof(base));
	if (gid == 0)
		snprintf(buf, len, "%s%s%s/%s", base, API_BASE_PATH, SCIM_PATH, collection);
	else
		snprintf(buf, len, "%s%s%s/%s/%s", base, API_BASE_PATH, SCIM_PATH, collection, gid_format(gid, gid_text));
	return buf;
}

/* ---------- meta and versions ---------- */

void scim_meta_set(api_ctx *ctx, json_t *resource, const char *resource_type, const char *collection, int64_t gid,
		   int64_t created_us, int64_t modified_us)
{
	unsigned char digest[16];
	char etag[SCIM_ETAG_MAX], location[API_BASE_URL_MAX + 128];
	char *text;
	json_t *meta;

	/*
	 * The version is a digest of the attributes a client sees, with keys
	 * sorted, so it changes exactly when one of them does, whatever path
	 * (SCIM, the Asana API or the admin console) changed it.
	 */
	text = json_dumps(resource, JSON_COMPACT | JSON_SORT_KEYS);
	crypto_generichash(digest, sizeof(digest), (const unsigned char *)(text ? text : ""), text ? strlen(text) : 0,
			   NULL, 0);
	free(text);
	memcpy(etag, "W/\"", 3);
	sodium_bin2hex(etag + 3, sizeof(etag) - 3, digest, sizeof(digest));
	strcat(etag, "\"");

	meta = json_object();
	json_object_set_new(meta, "resourceType", json_string(resource_type));
	json_object_set_new(meta, "created", api_time(created_us));
	json_object_set_new(meta, "lastModified", api_time(modified_us > created_us ? modified_us : created_us));
	json_object_set_new(meta, "location", json_string(scim_location(ctx, collection, gid, location, sizeof(location))));
	json_object_set_new(meta, "version", json_string(etag));
	json_object_set_new(resource, "meta", meta);
}

const char *scim_version_of(json_t *resource)
{
	const char *version = json_string_value(json_object_get(json_object_get(resource, "meta"), "version"));

	return version ? version : "";
}

/* Strips the weak marker W/ so tags compare weakly (RFC 7232 section 2.3.2). */
static const char *etag_opaque(const char *tag, size_t *len_r)
{
	size_t len = strlen(tag);

	if (len >= 2 && tag[0] == 'W' && tag[1] == '/') {
		tag += 2;
		len -= 2;
	}
	*len_r = len;
	return tag;
}

/* 1 when a comma-separated If-Match / If-None-Match list names `etag` or is "*". */
static int etag_list_matches(const char *list, const char *etag)
{
	size_t want_len, len;
	const char *want = etag_opaque(etag, &want_len);

	while (*list) {
		char item[128];
		const char *opaque;

		while (*list == ' ' || *list == ',')
			list++;
		len = strcspn(list, ",");
		while (len > 0 && list[len - 1] == ' ')
			len--;
		if (len == 0)
			break;
		snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) ? len : sizeof(item) - 1), list);
		if (strcmp(item, "*") == 0)
			return 1;
		opaque = etag_opaque(item, &len);
		if (len == want_len && memcmp(opaque, want, len) == 0)
			return 1;
		list += strcspn(list, ",");
	}
	return 0;
}

/* State for if_match_field: the version to find, and whether any If-Match field was seen. */
struct if_match_search {
	const char *etag;
	int present;
	int matched;
};

static int if_match_field(void *ctx, const char *name, const char *value)
{
	struct if_match_search *search = ctx;

	if (strcasecmp(name, "If-Match") != 0)
		return 0;
	search->present = 1;
	if (etag_list_matches(value, search->etag)) {
		search->matched = 1;
		return 1;
	}
	return 0;
}

int scim_if_match(api_ctx *ctx, const char *etag)
{
	struct if_match_search search = { etag, 0, 0 };

	/* Repeated If-Match fields form one list (RFC 7230 section 3.2.2, RFC 7232 section 3.1). */
	http_request_header_each(ctx->req, if_match_field, &search);
	if (!search.present || search.matched)
		return 0;
	scim_error(ctx, 412, NULL, "If-Match: the resource has changed; its current version is %s. Read it again, then "
				   "retry with that version.",
		   etag);
	return -1;
}

/* ---------- attribute selection ---------- */

/* 1 when the comma-separated `list` names top-level attribute `name` (alone or as NAME.sub). */
static int attribute_listed(const char *list, const char *name)
{
	size_t name_len = strlen(name);

	while (*list) {
		size_t len;

		while (*list == ' ' || *list == ',')
			list++;
		len = strcspn(list, ",");
		if (len >= name_len && strncasecmp(list, name, name_len) == 0 &&
		    (len == name_len || list[name_len] == '.' || list[name_len] == ' '))
			return 1;
		list += len;
	}
	return 0;
}

/* Applies attributes / excludedAttributes (RFC 7644 section 3.9); id, schemas and meta always stay. */
static void resource_project(api_ctx *ctx, json_t *resource)
{
	const char *only = api_query(ctx, "attributes");
	const char *excluded = api_query(ctx, "excludedAttributes");
	const char *key;
	json_t *value;
	void *tmp;

	if (only == NULL && excluded == NULL)
		return;
	json_object_foreach_safe(resource, tmp, key, value) {
		int keep;

		(void)value;
		if (strcmp(key, "id") == 0 || strcmp(key, "schemas") == 0 || strcmp(key, "meta") == 0)
			continue;
		keep = only == NULL || attribute_listed(only, key);
		if (excluded != NULL && attribute_listed(excluded, key))
			keep = 0;
		if (!keep)
			json_object_del(resource, key);
	}
}

int scim_reply_resource(api_ctx *ctx, int status, json_t *resource)
{
	char etag[SCIM_ETAG_MAX], location[API_BASE_URL_MAX + 128];
	const char *none_match = http_request_header(ctx->req, "If-None-Match");

	snprintf(etag, sizeof(etag), "%s", scim_version_of(resource));
	snprintf(location, sizeof(location), "%s",
		 json_string_value(json_object_get(json_object_get(resource, "meta"), "location"))
			 ? json_string_value(json_object_get(json_object_get(resource, "meta"), "location"))
			 : "");
	if (status == 200 && strcmp(ctx->req->method, "GET") == 0 && none_match != NULL &&
	    etag_list_matches(none_match, etag)) {
		json_decref(resource);
		http_response_set_body(ctx->res, 304, NULL, NULL, 0);
		http_response_add_header(ctx->res, "ETag", etag);
		return 0;
	}
	resource_project(ctx, resource);
	scim_reply(ctx, status, resource);
	http_response_add_header(ctx->res, "ETag", etag);
	if (status == 201)
		http_response_add_header(ctx->res, "Location", location);
	return 0;
}

/* ---------- request bodies ---------- */

int scim_content_type_check(api_ctx *ctx)
{
	const char *type = http_request_header(ctx->req, "Content-Type");
	size_t len;

	if (type != NULL) {
		while (*type == ' ' || *type == '\t')
			type++;
		len = strcspn(type, ";");
		while (len > 0 && (type[len - 1] == ' ' || type[len - 1] == '\t'))
			len--;
		if ((len == strlen("application/scim+json") && strncasecmp(type, "application/scim+json", len) == 0) ||
		    (len == strlen("application/json") && strncasecmp(type, "application/json", len) == 0))
			return 0;
	}
	/* RFC 7231 section 6.5.13: a body in a media type the resource does not support gets 415. */
	scim_error(ctx, 415, NULL, "Content-Type: %s%.60s%s is not supported; send the body as application/scim+json "
				   "(or application/json).",
		   type ? "\"" : "", type ? type : "missing", type ? "\"" : "");
	return -1;
}

json_t *scim_body(api_ctx *ctx)
{
	if (!json_is_object(ctx->document)) {
		scim_error(ctx, 400, "invalidSyntax", "The request needs a JSON object body (application/scim+json).");
		return NULL;
	}
	return ctx->document;
}

json_t *scim_get(json_t *object, const char *name)
{
	const char *key;
	json_t *value;

	if (!json_is_object(object))
		return NULL;
	value = json_object_get(object, name);
	if (value != NULL)
		return value;
	json_object_foreach(object, key, value)
		if (strcasecmp(key, name) == 0)
			return value;
	return NULL;
}

int scim_require_schema(api_ctx *ctx, json_t *body, const char *urn)
{
	json_t *schemas = scim_get(body, "schemas");
	json_t *item;
	int found = 0;
	size_t i;

	/*
	 * RFC 7643 section 3: "schemas" names the core schema and the
	 * extensions the body uses, so a URN kontor does not know would carry
	 * attributes it would silently drop. Users may name the enterprise
	 * extension, which ResourceTypes/User announces, and groups the URN
	 * that Entra ID adds.
	 */
	json_array_foreach(schemas, i, item) {
		const char *text = json_string_value(item);

		if (text == NULL) {
			scim_error(ctx, 400, "invalidSyntax", "schemas[%zu]: must be a string URN.", i);
			return -1;
		}
		if (strcasecmp(text, urn) == 0) {
			found = 1;
			continue;
		}
		if (strcmp(urn, SCIM_SCHEMA_USER) == 0 && strcasecmp(text, SCIM_SCHEMA_ENTERPRISE_USER) == 0)
			continue;
		/* Microsoft Entra ID names this URN in every group it creates; it brings no attributes. */
		if (strcmp(urn, SCIM_SCHEMA_GROUP) == 0 && strcasecmp(text, SCIM_SCHEMA_ENTRA_GROUP) == 0)
			continue;
		scim_error(ctx, 400, "invalidSyntax", "schemas[%zu]: unknown schema \"%.100s\". This request accepts %s%s.",
			   i, text, urn,
			   strcmp(urn, SCIM_SCHEMA_USER) == 0 ? " and " SCIM_SCHEMA_ENTERPRISE_USER
			   : strcmp(urn, SCIM_SCHEMA_GROUP) == 0 ? " and " SCIM_SCHEMA_ENTRA_GROUP : "");
		return -1;
	}
	if (found)
		return 0;
	scim_error(ctx, 400, "invalidSyntax", "schemas: must be an array that contains \"%s\".", urn);
	return -1;
}

int scim_bool(json_t *value, int *out)
{
	if (json_is_boolean(value)) {
		*out = json_is_true(value);
		return 0;
	}
	if (json_is_string(value) && strcasecmp(json_string_value(value), "true") == 0) {
		*out = 1;
		return 0;
	}
	if (json_is_string(value) && strcasecmp(json_string_value(value), "false") == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

int scim_string(api_ctx *ctx, json_t *value, const char *attribute, size_t max, const char **text_r)
{
	const char *text;

	if (!json_is_string(value)) {
		scim_error(ctx, 400, "invalidValue", "%s: must be a string.", attribute);
		return -1;
	}
	text = json_string_value(value);
	if (json_string_length(value) > max) {
		scim_error(ctx, 400, "invalidValue", "%s: must be at most %zu bytes long; send a shorter value.", attribute,
			   max);
		return -1;
	}
	if (strlen(text) != json_string_length(value)) {
		scim_error(ctx, 400, "invalidValue", "%s: contains a NUL character; remove it.", attribute);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			scim_error(ctx, 400, "invalidValue", "%s: contains control characters; remove them.", attribute);
			return -1;
		}
	}
	*text_r = text;
	return 0;
}

int scim_id_param(api_ctx *ctx, const char *name, const char *what, int64_t *gid_r)
{
	const char *value = api_param(ctx, name);

	if (value == NULL || gid_parse(value, gid_r) != 0) {
		scim_error(ctx, 404, NULL, "%s not found: \"%.40s\". Use the id that kontor returned for it.", what,
			   value ? value : "");
		return -1;
	}
	return 0;
}

/* ---------- PATCH ---------- */

int scim_patch_op_parse(json_t *value)
{
	const char *text = json_string_value(value);

	if (text == NULL)
		return -1;
	if (strcasecmp(text, "add") == 0)
		return SCIM_OP_ADD;
	if (strcasecmp(text, "replace") == 0)
		return SCIM_OP_REPLACE;
	if (strcasecmp(text, "remove") == 0)
		return SCIM_OP_REMOVE;
	return -1;
}

json_t *scim_patch_operations(api_ctx *ctx, json_t *body)
{
	json_t *operations;

	if (scim_require_schema(ctx, body, SCIM_SCHEMA_PATCH))
		return NULL;
	operations = scim_get(body, "Operations");
	if (!json_is_array(operations) || json_array_size(operations) == 0 ||
	    json_array_size(operations) > SCIM_PATCH_OPS_MAX) {
		scim_error(ctx, 400, "invalidSyntax", "Operations: must be an array of 1 to %d operations.",
			   SCIM_PATCH_OPS_MAX);
		return NULL;
	}
	return operations;
}

/* ---------- paging ---------- */

/* Parses an optional integer query parameter; 1 set, 0 absent, -1 after replying 400. */
static int query_int(api_ctx *ctx, const char *name, long long *out)
{
	const char *text = api_query(ctx, name);
	char *end = NULL;
	long long value;

	if (text == NULL)
		return 0;
	value = strtoll(text, &end, 10);
	if (end == text || *end != '\0') {
		scim_error(ctx, 400, "invalidValue", "%s: must be an integer, got \"%.40s\".", name, text);
		return -1;
	}
	/* Out-of-range values are clamped by the caller, as RFC 7644 section 3.4.2.4 asks. */
	if (value > QUERY_INT_MAX)
		value = QUERY_INT_MAX;
	if (value < -QUERY_INT_MAX)
		value = -QUERY_INT_MAX;
	*out = value;
	return 1;
}

int scim_page_parse(api_ctx *ctx, struct scim_page *page)
{
	long long value = 0;
	int rc;

	page->start_index = 1;
	page->count = SCIM_COUNT_MAX;
	rc = query_int(ctx, "startIndex", &value);
	if (rc < 0)
		return -1;
	if (rc > 0 && value > 1)
		page->start_index = value;
	rc = query_int(ctx, "count", &value);
	if (rc < 0)
		return -1;
	if (rc > 0)
		page->count = value < 0 ? 0 : (value > SCIM_COUNT_MAX ? SCIM_COUNT_MAX : (int)value);
	return 0;
}

int scim_reply_list(api_ctx *ctx, json_t *resources, int64_t total, const struct scim_page *page)
{
	json_t *document = json_object();
	size_t i;
	json_t *resource;

	json_array_foreach(resources, i, resource)
		resource_project(ctx, resource);
	json_object_set_new(document, "schemas", json_pack("[s]", SCIM_SCHEMA_LIST));
	json_object_set_new(document, "totalResults", json_integer(total));
	json_object_set_new(document, "startIndex", json_integer(page->start_index));
	json_object_set_new(document, "itemsPerPage", json_integer((json_int_t)json_array_size(resources)));
	json_object_set_new(document, "Resources", resources);
	return scim_reply(ctx, 200, document);
}

/* ---------- filters ---------- */

static const char supported_filters[] = "kontor supports comparisons with eq joined by and, such as "
					"userName eq \"ada@example.com\" and active eq true";

static void skip_spaces(const char **p)
{
	while (**p == ' ')
		(*p)++;
}

/* Reads a word up to a space (outside brackets) into `out` (lower case). Returns its length, 0 if none. */
static size_t read_word(const char **p, char *out, size_t len)
{
	size_t n = 0;
	int depth = 0, in_string = 0;
	const char *s = *p;

	while (*s && (depth > 0 || *s != ' ')) {
		if (in_string && *s == '\\' && s[1]) {
			if (n + 2 < len) {
				out[n++] = s[0];
				out[n++] = s[1];
			}
			s += 2;
			continue;
		}
		if (*s == '"')
			in_string = !in_string;
		else if (!in_string && *s == '[')
			depth++;
		else if (!in_string && *s == ']')
			depth--;
		if (n + 1 < len)
			out[n++] = in_string ? *s : (char)tolower((unsigned char)*s);
		s++;
	}
	out[n] = '\0';
	*p = s;
	return n;
}

/* Reads a comparison value: a JSON string, true, false, null or a number. Returns a new reference or NULL. */
static json_t *read_value(const char **p)
{
	const char *s = *p;
	json_error_t error;
	json_t *value;
	size_t len;

	if (*s == '"') {
		len = 1;
		while (s[len] && s[len] != '"') {
			if (s[len] == '\\' && s[len + 1])
				len++;
			len++;
		}
		if (s[len] != '"')
			return NULL;
		len++;
	} else {
		len = strcspn(s, " ");
	}
	if (len == 0 || len > SCIM_VALUE_MAX + 2)
		return NULL;
	value = json_loadb(s, len, JSON_DECODE_ANY, &error);
	if (value != NULL && (json_is_object(value) || json_is_array(value))) {
		json_decref(value);
		return NULL;
	}
	if (value != NULL)
		*p = s + len;
	return value;
}

static int attr_lookup(const struct scim_filter_attr *attrs, const char *path)
{
	for (const struct scim_filter_attr *a = attrs; a->path; a++)
		if (strcasecmp(a->path, path) == 0)
			return a->id;
	return -1;
}

static void list_attrs(const struct scim_filter_attr *attrs, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (const struct scim_filter_attr *a = attrs; a->path && used + 2 < len; a++)
		if (strchr(a->path, '[') == NULL)
			used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "", a->path);
}

static int filter_add(struct scim_filter *filter, int id, json_t *value)
{
	for (int i = 0; i < filter->count; i++) {
		if (filter->terms[i].id == id) {
			if (!json_equal(filter->terms[i].value, value))
				filter->never = 1;
			json_decref(value);
			return 0;
		}
	}
	if (filter->count >= SCIM_FILTER_TERMS_MAX) {
		json_decref(value);
		return -1;
	}
	filter->terms[filter->count].id = id;
	filter->terms[filter->count].value = value;
	filter->count++;
	return 0;
}

/*
 * Turns `members[value eq "X"]` into the path "members.value" and its value.
 * Returns the value (new reference) or NULL when `word` has another form.
 */
static json_t *value_path_term(const char *word, char *path, size_t len)
{
	const char *open = strchr(word, '[');
	const char *inner;
	size_t word_len = strlen(word);
	char inner_text[SCIM_VALUE_MAX + 32];
	json_t *value;

	if (open == NULL || word_len < 2 || word[word_len - 1] != ']')
		return NULL;
	inner = open + 1;
	if (strncmp(inner, "value eq ", 9) != 0)
		return NULL;
	snprintf(inner_text, sizeof(inner_text), "%.*s", (int)(word + word_len - 1 - (inner + 9)), inner + 9);
	inner = inner_text;
	value = read_value(&inner);
	if (value == NULL || *inner != '\0') {
		json_decref(value);
		return NULL;
	}
	snprintf(path, len, "%.*s.value", (int)(open - word), word);
	return value;
}

int scim_filter_parse(api_ctx *ctx, const struct scim_filter_attr *attrs, struct scim_filter *filter)
{
	const char *text = api_query(ctx, "filter");
	const char *p = text;
	char word[SCIM_VALUE_MAX + 64], op[16], allowed[256];

	memset(filter, 0, sizeof(*filter));
	if (text == NULL)
		return 0;
	list_attrs(attrs, allowed, sizeof(allowed));
	if (strlen(text) > 2048) {
		scim_error(ctx, 400, "invalidFilter", "filter: too long; send at most 2048 characters.");
		return -1;
	}
	skip_spaces(&p);
	while (*p) {
		json_t *value;
		int id;

		if (*p == '(' || read_word(&p, word, sizeof(word)) == 0) {
			scim_error(ctx, 400, "invalidFilter", "filter: grouping with parentheses is not supported; %s.",
				   supported_filters);
			goto fail;
		}
		if (strcmp(word, "not") == 0) {
			scim_error(ctx, 400, "invalidFilter", "filter: not is not supported; %s.", supported_filters);
			goto fail;
		}
		skip_spaces(&p);

		/* A bare value path such as members[value eq "X"] needs no operator. */
		if (*p == '\0' || strncasecmp(p, "and ", 4) == 0) {
			char path[96];

			value = value_path_term(word, path, sizeof(path));
			id = value ? attr_lookup(attrs, path) : -1;
			if (id < 0) {
				json_decref(value);
				scim_error(ctx, 400, "invalidFilter", "filter: expected an operator after \"%.60s\"; %s.",
					   word, supported_filters);
				goto fail;
			}
		} else {
			id = attr_lookup(attrs, word);
			if (id < 0) {
				scim_error(ctx, 400, "invalidFilter", "filter: attribute \"%.60s\" cannot be filtered on; use "
								      "one of: %s.",
					   word, allowed);
				goto fail;
			}
			read_word(&p, op, sizeof(op));
			if (strcmp(op, "eq") != 0) {
				scim_error(ctx, 400, "invalidFilter", "filter: operator \"%.10s\" is not supported; %s.", op,
					   supported_filters);
				goto fail;
			}
			skip_spaces(&p);
			value = read_value(&p);
			if (value == NULL) {
				scim_error(ctx, 400, "invalidFilter", "filter: expected a quoted string, true, false or a "
								      "number after \"%.60s eq\".",
					   word);
				goto fail;
			}
		}
		if (filter_add(filter, id, value) != 0) {
			scim_error(ctx, 400, "invalidFilter", "filter: at most %d comparisons are supported.",
				   SCIM_FILTER_TERMS_MAX);
			goto fail;
		}
		skip_spaces(&p);
		if (*p == '\0')
			break;
		read_word(&p, op, sizeof(op));
		if (strcmp(op, "and") != 0) {
			scim_error(ctx, 400, "invalidFilter", "filter: \"%.10s\" is not supported between comparisons; %s.",
				   op, supported_filters);
			goto fail;
		}
		skip_spaces(&p);
		if (*p == '\0') {
			scim_error(ctx, 400, "invalidFilter", "filter: a comparison must follow \"and\".");
			goto fail;
		}
	}
	return 0;

fail:
	scim_filter_free(filter);
	return -1;
}

void scim_filter_free(struct scim_filter *filter)
{
	for (int i = 0; i < filter->count; i++)
		json_decref(filter->terms[i].value);
	filter->count = 0;
}

json_t *scim_filter_value(const struct scim_filter *filter, int id)
{
	for (int i = 0; i < filter->count; i++)
		if (filter->terms[i].id == id)
			return filter->terms[i].value;
	return NULL;
}

void scim_filter_bind_gid(db_stmt *s, int index, json_t *value)
{
	int64_t gid = 0;

	if (value == NULL) {
		db_bind_null(s, index);
		db_bind_null(s, index + 1);
		return;
	}
	if (!json_is_string(value) || gid_parse(json_string_value(value), &gid) != 0)
		gid = -1;
	db_bind_int64(s, index, gid);
	db_bind_int64(s, index + 1, gid);
}

int scim_list_total(api_ctx *ctx, const char *count_sql, scim_filter_binder *bind, const struct scim_filter *filter,
		    int64_t *total_r)
{
	db_stmt *s = db_query(ctx->db, count_sql);
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	bind(s, 1, filter);
	status = db_step(s);
	if (status == DB_ROW)
		*total_r = db_column_int64(s, 0);
	db_stmt_done(s);
	return status == DB_ROW ? DB_OK : status;
}

/* ---------- audit ---------- */

int scim_audit(api_ctx *ctx, const char *event_type, const char *resource_type, int64_t gid, const char *name,
	       json_t *details)
{
	struct audit_event event;

	memset(&event, 0, sizeof(event));
	event.event_type = event_type;
	event.event_category = "user_access";
	event.resource_type = resource_type;
	event.resource_gid = gid;
	event.resource_name = name;
	event.details = details;
	return api_audit(ctx, &event);
}
