/*
 * opt_fields: parsing, validation against resource types, and projection of
 * full representations to what the caller asked for. Paths are dotted
 * ("assignee.name"); a nested resource whose requested fields are not all
 * in its embedded compact form is loaded through its type's `load`.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "util/gid.h"

#include <stdlib.h>
#include <string.h>

struct fields {
	int count;
	char *paths[FIELDS_MAX];
};

void fields_free(struct fields **fp)
{
	struct fields *f = *fp;

	if (f == NULL)
		return;
	for (int i = 0; i < f->count; i++)
		free(f->paths[i]);
	free(f);
	*fp = NULL;
}

static int in_list(const char *const *list, const char *name, size_t len)
{
	for (; list && *list; list++)
		if (strlen(*list) == len && strncmp(*list, name, len) == 0)
			return 1;
	return 0;
}

static const struct api_type *ref_type(const struct api_type *type, const char *name, size_t len)
{
	for (const struct api_type_ref *r = type ? type->refs : NULL; r && r->field; r++)
		if (strlen(r->field) == len && strncmp(r->field, name, len) == 0)
			return r->type;
	return NULL;
}

/*
 * Names valid for every type: the identity fields, and the pagination fields
 * that Asana's reference lists among the opt_fields of list endpoints.
 */
static const char *const always_allowed[] = { "gid", "resource_type", "offset", "path", "uri", NULL };

/* Checks a dotted path against the type tables; returns the offending segment's start or NULL when valid. */
static const char *path_invalid(const char *path, const struct api_type *type, size_t *bad_len_r)
{
	const char *segment = path;

	while (type != NULL) {
		size_t len = strcspn(segment, ".");

		*bad_len_r = len;
		if (len == 0)
			return segment;
		if (!in_list(always_allowed, segment, len) && !in_list(type->fields, segment, len))
			return segment;
		if (segment[len] == '\0')
			return NULL;
		/* Below a field that is not a known resource, any deeper path passes through unchecked. */
		type = ref_type(type, segment, len);
		segment += len + 1;
	}
	return NULL;
}

int fields_parse(api_ctx *ctx, const char *text, const struct api_type *type)
{
	struct fields *f = calloc(1, sizeof(*f));
	const char *p = text;

	if (f == NULL)
		return api_fail_db(ctx, DB_ERROR), -1;
	ctx->fields = f;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *bad;
		size_t bad_len;
		char *path;

		if (len == 0 || len >= FIELD_PATH_MAX) {
			api_error(ctx, 400, "opt_fields: empty or over-long field name (at most %d characters). Pass a "
					    "comma-separated list such as opt_fields=name,assignee.name.",
				  FIELD_PATH_MAX - 1);
			return -1;
		}
		if (f->count >= FIELDS_MAX) {
			api_error(ctx, 400, "opt_fields: at most %d fields may be requested.", FIELDS_MAX);
			return -1;
		}
		for (size_t i = 0; i < len; i++) {
			char c = p[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
				api_error(ctx, 400, "opt_fields: \"%.*s\" contains an invalid character; field names "
						    "use a-z, 0-9, _ and dots.",
					  (int)len, p);
				return -1;
			}
		}
		path = strndup(p, len);
		f->paths[f->count++] = path;
		bad = type ? path_invalid(path, type, &bad_len) : NULL;
		if (bad != NULL) {
			api_error(ctx, 400, "opt_fields: \"%s\" is not a field of %s (unknown part: \"%.*s\"). Remove it "
					    "or check the field name in the API reference.",
				  path, type->name, (int)bad_len, bad);
			return -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* 1 if a path equals `path` exactly. */
static int wants_exact(const struct fields *f, const char *path, size_t len)
{
	for (int i = 0; i < f->count; i++)
		if (strlen(f->paths[i]) == len && strncmp(f->paths[i], path, len) == 0)
			return 1;
	return 0;
}

/* 1 if a requested path lies below `path` ("path.x"). */
static int wants_below(const struct fields *f, const char *path, size_t len)
{
	for (int i = 0; i < f->count; i++)
		if (strncmp(f->paths[i], path, len) == 0 && f->paths[i][len] == '.')
			return 1;
	return 0;
}

int api_wants(api_ctx *ctx, const char *field)
{
	size_t len = strlen(field);

	if (ctx->fields == NULL)
		return !(ctx->route && (ctx->route->flags & API_LIST));
	return wants_exact(ctx->fields, field, len) || wants_below(ctx->fields, field, len);
}

static json_t *project(api_ctx *ctx, const struct api_type *type, json_t *object, char *prefix, size_t prefix_len);

/* 1 if every field requested below `prefix` is present in `object`. */
static int covers_request(const struct fields *f, json_t *object, const char *prefix, size_t prefix_len)
{
	for (int i = 0; i < f->count; i++) {
		const char *rest;
		size_t len;
		char name[FIELD_PATH_MAX];

		if (strncmp(f->paths[i], prefix, prefix_len) != 0)
			continue;
		rest = f->paths[i] + prefix_len;
		len = strcspn(rest, ".");
		memcpy(name, rest, len);
		name[len] = '\0';
		if (json_object_get(object, name) == NULL)
			return 0;
	}
	return 1;
}

/* Projects one nested resource, loading its full form when the embedded one lacks requested fields. */
static json_t *expand(api_ctx *ctx, const struct api_type *type, json_t *value, char *prefix, size_t prefix_len)
{
	json_t *loaded = NULL, *result;
	const char *gid_text;
	int64_t gid;

	if (!json_is_object(value))
		return json_incref(value);
	if (!covers_request(ctx->fields, value, prefix, prefix_len) && type->load != NULL) {
		gid_text = json_string_value(json_object_get(value, "gid"));
		if (gid_text != NULL && gid_parse(gid_text, &gid) == 0)
			loaded = type->load(ctx, gid);
	}
	result = project(ctx, type, loaded ? loaded : value, prefix, prefix_len);
	json_decref(loaded);
	return result;
}

static json_t *project(api_ctx *ctx, const struct api_type *type, json_t *object, char *prefix, size_t prefix_len)
{
	json_t *out = json_object(), *value;
	const char *key;

	json_object_foreach(object, key, value) {
		size_t key_len = strlen(key), path_len = prefix_len + key_len;
		const struct api_type *nested;

		if (strcmp(key, "gid") == 0 || strcmp(key, "resource_type") == 0) {
			json_object_set(out, key, value);
			continue;
		}
		if (path_len + 2 >= FIELD_PATH_MAX)
			continue;
		memcpy(prefix + prefix_len, key, key_len);
		prefix[path_len] = '\0';
		if (wants_exact(ctx->fields, prefix, path_len) && !wants_below(ctx->fields, prefix, path_len)) {
			json_object_set(out, key, value);
			continue;
		}
		if (!wants_below(ctx->fields, prefix, path_len))
			continue;

		nested = ref_type(type, key, key_len);
		prefix[path_len] = '.';
		prefix[path_len + 1] = '\0';
		if (json_is_array(value)) {
			json_t *items = json_array(), *item;
			size_t i;

			json_array_foreach(value, i, item) {
				if (nested)
					json_array_append_new(items, expand(ctx, nested, item, prefix, path_len + 1));
				else if (json_is_object(item))
					json_array_append_new(items, project(ctx, NULL, item, prefix, path_len + 1));
				else
					json_array_append(items, item);
			}
			json_object_set_new(out, key, items);
		} else if (json_is_object(value)) {
			json_object_set_new(out, key, nested ? expand(ctx, nested, value, prefix, path_len + 1)
							     : project(ctx, NULL, value, prefix, path_len + 1));
		} else {
			json_object_set(out, key, value);
		}
		prefix[prefix_len] = '\0';
	}
	prefix[prefix_len] = '\0';
	return out;
}

static json_t *compact(const struct api_type *type, json_t *full)
{
	json_t *out = json_object(), *value;
	const char *key;

	json_object_foreach(full, key, value) {
		if (strcmp(key, "gid") == 0 || strcmp(key, "resource_type") == 0 ||
		    in_list(type->compact, key, strlen(key)))
			json_object_set(out, key, value);
	}
	return out;
}

json_t *api_present(api_ctx *ctx, const struct api_type *type, json_t *full)
{
	char prefix[FIELD_PATH_MAX + 2] = "";
	json_t *out;

	if (full == NULL)
		return NULL;
	if (ctx->fields != NULL)
		out = project(ctx, type, full, prefix, 0);
	else if (ctx->route && (ctx->route->flags & API_LIST))
		out = compact(type, full);
	else
		return full;
	json_decref(full);
	return out;
}
