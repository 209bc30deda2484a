/*
 * SCIM Users (RFC 7643 section 4.1, RFC 7644 section 3) mapped to the
 * people of the caller's organization: GET, POST, PUT, PATCH and DELETE
 * under /api/1.0/scim/Users. userName and the one work e-mail address are
 * the person's kontor address; name and displayName give the kontor name;
 * externalId, givenName and familyName are kept in scim_users; active is the
 * organization membership. Service accounts are not SCIM users.
 *
 * Deprovisioning (active false, or DELETE) deactivates the membership,
 * revokes the person's tokens and admin-console sessions, hands their
 * tasks and owned projects to the organization's deprovision owner (or
 * leaves them unassigned and without owner when none is set or the owner
 * is inactive), and takes away their team and project memberships and any
 * admin role. DELETE also hides the person from SCIM; their name stays on
 * what they touched. A POST with the address of a removed person, and
 * active true, bring them back as a member without teams.
 *
 * Only the work address maps to kontor: addresses of other types in
 * emails are accepted and dropped, so they never become the sign-in
 * address.
 */
#include "api/scim.h"
#include "store/org.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EMAIL_MAX 254      /* RFC 5321 section 4.5.3.1.3: a 256-octet path less its angle brackets */
#define EMAIL_LOCAL_MAX 64 /* RFC 5321 section 4.5.3.1.1 */
/* Bytes in givenName or familyName: both joined by a space fit in a kontor name (API_NAME_MAX). */
#define NAME_PART_MAX 511

enum { F_USER_NAME, F_EXTERNAL_ID, F_ID, F_ACTIVE };

static const struct scim_filter_attr user_filter_attrs[] = {
	{ "userName", F_USER_NAME },
	{ "emails.value", F_USER_NAME },
	{ "emails", F_USER_NAME },
	{ "emails[type eq \"work\"].value", F_USER_NAME },
	{ "emails[primary eq true].value", F_USER_NAME },
	{ "externalId", F_EXTERNAL_ID },
	{ "id", F_ID },
	{ "active", F_ACTIVE },
	{ NULL, 0 },
};

/* One SCIM user as stored. */
struct scim_user {
	int64_t gid;
	char email[EMAIL_MAX + 1];
	char name[API_NAME_MAX + 1];
	char given[API_NAME_MAX + 1];
	char family[API_NAME_MAX + 1];
	char external_id[SCIM_VALUE_MAX + 1];
	int has_given, has_family, has_external_id;
	int active;
	int is_super_admin;
	int64_t created_at, modified_at;
};

/*
 * The attributes a request sets. Strings are borrowed from the request
 * body; a set_* flag with a NULL value clears the attribute.
 */
struct user_input {
	const char *user_name;
	const char *email;        /* the work address from emails */
	char email_match[EMAIL_MAX + 1]; /* from emails[value eq "..."]: the address the request changes, or "" */
	const char *display_name; /* displayName */
	const char *formatted;    /* name.formatted, used when there is no displayName */
	const char *given, *family, *external_id;
	int set_given, set_family, set_external_id;
	int active, set_active;
};

/* ---------- loading and representation ---------- */

#define USER_COLUMNS                                                                                                  \
	"SELECT u.gid, u.email, u.name, u.created_at, u.modified_at, m.is_active, su.external_id, su.given_name,"     \
	" su.family_name, m.role, COALESCE(su.modified_at, 0)"
#define USER_FROM                                                                                                     \
	" FROM users u"                                                                                               \
	" JOIN workspace_memberships m ON m.workspace_gid = u.workspace_gid AND m.user_gid = u.gid"                   \
	" LEFT JOIN scim_users su ON su.user_gid = u.gid"                                                             \
	" WHERE u.workspace_gid = ? AND u.kind = 'person' AND su.deleted_at IS NULL"
#define USER_FILTER                                                                                                   \
	" AND (CAST(? AS TEXT) IS NULL OR u.email_lower = ?)"                                                         \
	" AND (CAST(? AS TEXT) IS NULL OR su.external_id = ?)"                                                        \
	" AND (CAST(? AS BIGINT) IS NULL OR u.gid = ?)"                                                               \
	" AND (CAST(? AS BIGINT) IS NULL OR m.is_active = ?)"

static void copy_column(db_stmt *s, int column, char *out, size_t len, int *has_r)
{
	const char *text = db_column_text(s, column);

	snprintf(out, len, "%s", text ? text : "");
	if (has_r != NULL)
		*has_r = text != NULL;
}

static void user_from_row(db_stmt *s, struct scim_user *u)
{
	const char *role = db_column_text(s, 9);
	int64_t scim_modified = db_column_int64(s, 10);

	memset(u, 0, sizeof(*u));
	u->gid = db_column_int64(s, 0);
	copy_column(s, 1, u->email, sizeof(u->email), NULL);
	copy_column(s, 2, u->name, sizeof(u->name), NULL);
	u->created_at = db_column_int64(s, 3);
	u->modified_at = db_column_int64(s, 4);
	if (scim_modified > u->modified_at)
		u->modified_at = scim_modified;
	u->active = db_column_int64(s, 5) != 0;
	copy_column(s, 6, u->external_id, sizeof(u->external_id), &u->has_external_id);
	copy_column(s, 7, u->given, sizeof(u->given), &u->has_given);
	copy_column(s, 8, u->family, sizeof(u->family), &u->has_family);
	u->is_super_admin = role != NULL && strcmp(role, "super_admin") == 0;
}

/* Loads a SCIM user of the caller's organization. Returns DB_ROW, DB_DONE or an error status. */
static int user_load(api_ctx *ctx, int64_t gid, struct scim_user *u)
{
	db_stmt *s = db_query(ctx->db, USER_COLUMNS USER_FROM " AND u.gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, gid);
	status = db_step(s);
	if (status == DB_ROW)
		user_from_row(s, u);
	db_stmt_done(s);
	return status;
}

static json_t *user_json(api_ctx *ctx, const struct scim_user *u)
{
	json_t *user = json_object();
	json_t *name = json_object();

	json_object_set_new(user, "schemas", json_pack("[s]", SCIM_SCHEMA_USER));
	json_object_set_new(user, "id", api_gid(u->gid));
	if (u->has_external_id)
		json_object_set_new(user, "externalId", json_string(u->external_id));
	json_object_set_new(user, "userName", json_string(u->email));
	json_object_set_new(name, "formatted", json_string(u->name));
	if (u->has_family)
		json_object_set_new(name, "familyName", json_string(u->family));
	if (u->has_given)
		json_object_set_new(name, "givenName", json_string(u->given));
	json_object_set_new(user, "name", name);
	json_object_set_new(user, "displayName", json_string(u->name));
	json_object_set_new(user, "emails",
			    json_pack("[{s:s, s:s, s:b}]", "value", u->email, "type", "work", "primary", 1));
	json_object_set_new(user, "active", json_boolean(u->active));
	scim_meta_set(ctx, user, "User", "Users", u->gid, u->created_at, u->modified_at);
	return user;
}

/*
 * Replies 404 for an id that is no SCIM user, saying so plainly when it is
 * a service account of the organization. Returns 0.
 */
static int user_not_found(api_ctx *ctx, int64_t gid)
{
	db_stmt *s = db_query(ctx->db, "SELECT kind FROM users WHERE gid = ? AND workspace_gid = ?");
	int is_service_account = 0;

	if (s != NULL) {
		db_bind_int64(s, 0, gid);
		db_bind_int64(s, 1, ctx->who.workspace_gid);
		if (db_step(s) == DB_ROW && db_column_text(s, 0) != NULL &&
		    strcmp(db_column_text(s, 0), "service_account") == 0)
			is_service_account = 1;
		db_stmt_done(s);
	}
	scim_rollback(ctx);
	if (is_service_account)
		return scim_error(ctx, 404, NULL, "User %lld is a service account. SCIM manages people only; super admins "
						  "manage service accounts in the admin console.",
				  (long long)gid);
	return scim_error(ctx, 404, NULL, "User not found: %lld. Use the id that kontor returned for the user.",
			  (long long)gid);
}

/* Loads a person of the organization even when SCIM deleted them. Returns DB_ROW, DB_DONE or an error status. */
static int user_load_any(api_ctx *ctx, int64_t gid, struct scim_user *u)
{
	db_stmt *s = db_query(ctx->db, USER_COLUMNS " FROM users u"
				       " JOIN workspace_memberships m ON m.workspace_gid = u.workspace_gid AND m.user_gid = u.gid"
				       " LEFT JOIN scim_users su ON su.user_gid = u.gid"
				       " WHERE u.workspace_gid = ? AND u.gid = ? AND u.kind = 'person'");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, gid);
	status = db_step(s);
	if (status == DB_ROW)
		user_from_row(s, u);
	db_stmt_done(s);
	return status;
}

/* Reads the current user inside the open transaction; replies and returns -1 when missing or on failure. */
static int user_load_or_reply(api_ctx *ctx, int64_t gid, struct scim_user *u)
{
	int status = user_load(ctx, gid, u);

	if (status == DB_ROW)
		return 0;
	if (status == DB_DONE)
		user_not_found(ctx, gid);
	else
		api_fail_db(ctx, status);
	return -1;
}

/* ---------- GET ---------- */

/* GET /scim/Users/{id} */
static int users_get(api_ctx *ctx)
{
	struct scim_user u;
	int64_t gid;

	if (scim_id_param(ctx, "id", "User", &gid))
		return 0;
	if (user_load_or_reply(ctx, gid, &u))
		return 0;
	return scim_reply_resource(ctx, 200, user_json(ctx, &u));
}

/* Binds the filter terms from index `first` in USER_FILTER's order. */
static void bind_user_filter(db_stmt *s, int first, const struct scim_filter *filter)
{
	json_t *user_name = scim_filter_value(filter, F_USER_NAME);
	json_t *external_id = scim_filter_value(filter, F_EXTERNAL_ID);
	json_t *active = scim_filter_value(filter, F_ACTIVE);
	char lower[EMAIL_MAX + 1];
	int flag = 0;

	if (json_is_string(user_name)) {
		store_email_lower(json_string_value(user_name), lower, sizeof(lower));
		db_bind_text(s, first, lower);
		db_bind_text(s, first + 1, lower);
	} else {
		db_bind_null(s, first);
		db_bind_null(s, first + 1);
	}
	db_bind_text(s, first + 2, json_string_value(external_id));
	db_bind_text(s, first + 3, json_string_value(external_id));
	scim_filter_bind_gid(s, first + 4, scim_filter_value(filter, F_ID));
	if (active != NULL) {
		if (scim_bool(active, &flag) != 0)
			flag = -1;
		db_bind_int64(s, first + 6, flag);
		db_bind_int64(s, first + 7, flag);
	} else {
		db_bind_null(s, first + 6);
		db_bind_null(s, first + 7);
	}
}

/*
 * GET /scim/Users. NOTE: SCIM pages by position (startIndex), so this list
 * uses OFFSET where the Asana lists use keysets. The totalResults that
 * RFC 7644 requires costs a count of the same rows anyway.
 */
static int users_list(api_ctx *ctx)
{
	struct scim_filter filter;
	struct scim_page page;
	struct scim_user u;
	json_t *resources;
	int64_t total = 0;
	db_stmt *s;
	int status;

	if (scim_page_parse(ctx, &page) || scim_filter_parse(ctx, user_filter_attrs, &filter))
		return 0;
	/* A filter whose attribute values cannot all hold, or one on a non-string userName, matches nobody. */
	if (filter.never || (scim_filter_value(&filter, F_USER_NAME) != NULL &&
			     !json_is_string(scim_filter_value(&filter, F_USER_NAME)))) {
		scim_filter_free(&filter);
		return scim_reply_list(ctx, json_array(), 0, &page);
	}

	status = scim_list_total(ctx, "SELECT count(*)" USER_FROM USER_FILTER, bind_user_filter, &filter, &total);
	if (status != DB_OK) {
		scim_filter_free(&filter);
		return api_fail_db(ctx, status);
	}

	resources = json_array();
	if (page.count > 0 && page.start_index <= total) {
		s = db_query(ctx->db, USER_COLUMNS USER_FROM USER_FILTER " ORDER BY u.gid LIMIT ? OFFSET ?");
		if (s == NULL) {
			scim_filter_free(&filter);
			json_decref(resources);
			return api_fail_db(ctx, DB_ERROR);
		}
		db_bind_int64(s, 0, ctx->who.workspace_gid);
		bind_user_filter(s, 1, &filter);
		db_bind_int64(s, 9, page.count);
		db_bind_int64(s, 10, page.start_index - 1);
		for (;;) {
			status = db_step(s);
			if (status != DB_ROW)
				break;
			user_from_row(s, &u);
			json_array_append_new(resources, user_json(ctx, &u));
		}
		db_stmt_done(s);
		if (status != DB_DONE) {
			scim_filter_free(&filter);
			json_decref(resources);
			return api_fail_db(ctx, status);
		}
	}
	scim_filter_free(&filter);
	return scim_reply_list(ctx, resources, total, &page);
}

/* ---------- reading request attributes ---------- */

/*
 * Attributes of the core User schema (RFC 7643 section 4.1) and of the
 * enterprise extension that kontor accepts without storing, so that an
 * identity provider's default attribute mapping works unchanged. Lower case.
 */
static const char *const ignored_attributes[] = {
	"nickname", "profileurl", "title", "usertype", "preferredlanguage", "locale", "timezone", "password",
	"phonenumbers", "ims", "photos", "addresses", "groups", "entitlements", "roles", "x509certificates",
	"id", "meta", "schemas", NULL,
};

static const char *const ignored_name_parts[] = { "middlename", "honorificprefix", "honorificsuffix", NULL };

static int in_list(const char *const *list, const char *name)
{
	for (const char *const *p = list; *p; p++)
		if (strcmp(*p, name) == 0)
			return 1;
	return 0;
}

/*
 * 1 when an emails entry can be the kontor address: its type is work or
 * absent. kontor keeps one work address, the sign-in address, so home and
 * other addresses are dropped and never become it.
 */
static int email_entry_is_work(json_t *entry)
{
	json_t *type = scim_get(entry, "type");

	return type == NULL || json_is_null(type) ||
	       (json_is_string(type) && strcasecmp(json_string_value(type), "work") == 0);
}

/*
 * Reads the work address from an emails value (an array of entries, or one
 * entry): among the entries of type work or without a type, the primary
 * one, else the one typed work, else the first. Sets *email_r to NULL when
 * there is none. Returns 0, or -1 after replying 400.
 */
static int email_from_emails(api_ctx *ctx, json_t *value, const char **email_r)
{
	json_t *primary_entry = NULL, *typed_work = NULL, *first = NULL, *item, *chosen;
	size_t i;

	*email_r = NULL;
	if (json_is_object(value)) {
		if (!email_entry_is_work(value))
			return 0;
		return scim_string(ctx, scim_get(value, "value"), "emails.value", EMAIL_MAX, email_r);
	}
	if (!json_is_array(value))
		goto invalid;
	json_array_foreach(value, i, item) {
		int primary = 0;
		json_t *type;

		if (!json_is_object(item))
			goto invalid;
		if (!email_entry_is_work(item))
			continue;
		type = scim_get(item, "type");
		if (primary_entry == NULL && scim_bool(scim_get(item, "primary"), &primary) == 0 && primary)
			primary_entry = item;
		if (typed_work == NULL && json_is_string(type))
			typed_work = item;
		if (first == NULL)
			first = item;
	}
	chosen = primary_entry ? primary_entry : (typed_work ? typed_work : first);
	if (chosen == NULL)
		return 0;
	return scim_string(ctx, scim_get(chosen, "value"), "emails.value", EMAIL_MAX, email_r);

invalid:
	scim_error(ctx, 400, "invalidValue", "emails: must be an array of objects with a value, such as "
					     "[{\"value\": \"ada@example.com\", \"type\": \"work\", \"primary\": true}].");
	return -1;
}

/* The emails entries that a value filter such as emails[type eq "work"] selects. */
enum email_target {
	EMAIL_WORK,  /* the work address */
	EMAIL_OTHER, /* addresses of another type, which kontor drops */
	EMAIL_MATCH, /* the address equal to in->email_match */
};

/*
 * Parses the filter between the brackets of an emails value path
 * (RFC 7644 section 3.5.2): one comparison, `type eq "T"`, `primary eq
 * BOOLEAN` or `value eq "ADDRESS"`. Replies 400 invalidFilter and returns -1
 * on anything else, `or` and `and` included.
 */
static int email_filter_parse(api_ctx *ctx, const char *filter, size_t len, struct user_input *in,
			      enum email_target *target_r)
{
	static const char supported[] = "inside emails[...] kontor supports one comparison: type eq \"work\", "
					"primary eq true or value eq \"<address>\"";
	char attribute[16];
	size_t attribute_len;
	const char *p = filter, *end = filter + len;
	json_error_t error;
	json_t *value;
	int flag = 0;

	while (p < end && *p == ' ')
		p++;
	attribute_len = strspn(p, "abcdefghijklmnopqrstuvwxyz");
	if (attribute_len == 0 || attribute_len >= sizeof(attribute) || p + attribute_len > end) {
		scim_error(ctx, 400, "invalidFilter", "emails[%.*s]: %s.", (int)len, filter, supported);
		return -1;
	}
	memcpy(attribute, p, attribute_len);
	attribute[attribute_len] = '\0';
	p += attribute_len;
	if ((size_t)(end - p) < 4 || strncmp(p, " eq ", 4) != 0) {
		scim_error(ctx, 400, "invalidFilter", "emails[%.*s]: %s.", (int)len, filter, supported);
		return -1;
	}
	p += 4;
	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	/* json_loadb refuses trailing text, so "work\" or 1 eq 1" fails here. */
	value = json_loadb(p, (size_t)(end - p), JSON_DECODE_ANY, &error);
	if (strcmp(attribute, "type") == 0 && json_is_string(value)) {
		*target_r = strcmp(json_string_value(value), "work") == 0 ? EMAIL_WORK : EMAIL_OTHER;
	} else if (strcmp(attribute, "primary") == 0 && scim_bool(value, &flag) == 0) {
		*target_r = flag ? EMAIL_WORK : EMAIL_OTHER;
	} else if (strcmp(attribute, "value") == 0 && json_is_string(value) &&
		   json_string_length(value) < sizeof(in->email_match)) {
		snprintf(in->email_match, sizeof(in->email_match), "%s", json_string_value(value));
		*target_r = EMAIL_MATCH;
	} else {
		json_decref(value);
		scim_error(ctx, 400, "invalidFilter", "emails[%.*s]: %s.", (int)len, filter, supported);
		return -1;
	}
	json_decref(value);
	return 0;
}

/*
 * Applies an emails attribute: `path` is "emails", optionally with a value
 * filter in brackets and a sub-attribute (emails[type eq "work"].value).
 * Only the work address is kept, and it is the person's kontor address;
 * other addresses are accepted and dropped. Returns 0, or -1 after replying.
 */
static int emails_apply(api_ctx *ctx, struct user_input *in, const char *path, json_t *value, enum scim_patch_op op,
			int in_patch)
{
	enum email_target target = EMAIL_WORK;
	const char *rest = path + strlen("emails");
	const char *text = NULL;

	if (*rest == '[') {
		const char *close = rest + 1;
		int in_string = 0;

		/* The closing bracket is the first one outside a quoted string. */
		for (; *close && (in_string || *close != ']'); close++) {
			if (in_string && *close == '\\' && close[1])
				close++;
			else if (*close == '"')
				in_string = !in_string;
		}
		if (*close != ']')
			return scim_error(ctx, 400, "invalidFilter", "%.80s: the value filter has no closing bracket.", path),
			       -1;
		if (email_filter_parse(ctx, rest + 1, (size_t)(close - rest - 1), in, &target))
			return -1;
		rest = close + 1;
	}
	if (*rest != '\0' && strcmp(rest, ".value") != 0 && strcmp(rest, ".type") != 0 && strcmp(rest, ".primary") != 0 &&
	    strcmp(rest, ".display") != 0)
		return scim_error(ctx, 400, in_patch ? "invalidPath" : "invalidSyntax",
				  "%.80s: kontor supports emails, emails.value, emails[FILTER] and emails[FILTER].value.",
				  path),
		       -1;
	if (target == EMAIL_OTHER)
		return 0;
	if (op == SCIM_OP_REMOVE || json_is_null(value))
		return scim_error(ctx, 400, "mutability", "emails: kontor keeps one work address per person; replace "
							  "it instead of removing it."),
		       -1;
	/* type, primary and display of the work address are fixed: it is the primary work address. */
	if (*rest != '\0' && strcmp(rest, ".value") != 0)
		return 0;
	if (*rest != '\0') {
		if (scim_string(ctx, value, "emails.value", EMAIL_MAX, &text))
			return -1;
	} else if (email_from_emails(ctx, value, &text)) {
		return -1;
	}
	if (text != NULL)
		in->email = text;
	return 0;
}

/*
 * Checks a name attribute like scim_string, and also rejects characters
 * that disguise a name in lists (bidirectional overrides, invisible text),
 * as service-account names do. Returns 0, or -1 after replying 400.
 */
static int name_string(api_ctx *ctx, json_t *value, const char *attribute, size_t max, const char **text_r)
{
	const char *problem;

	if (scim_string(ctx, value, attribute, max, text_r))
		return -1;
	if (**text_r == '\0')
		return 0;
	problem = text_name_problem(*text_r, strlen(*text_r));
	if (problem != NULL) {
		scim_error(ctx, 400, "invalidValue", "%s: %s", attribute, problem);
		return -1;
	}
	return 0;
}

static int set_name_part(api_ctx *ctx, struct user_input *in, const char *part, json_t *value, enum scim_patch_op op,
			 int in_patch)
{
	const char *text = NULL;
	size_t max = strcmp(part, "formatted") == 0 ? API_NAME_MAX : NAME_PART_MAX;
	char attribute[80];

	snprintf(attribute, sizeof(attribute), "name.%s",
		 strcmp(part, "givenname") == 0 ? "givenName" : (strcmp(part, "familyname") == 0 ? "familyName" : part));
	if (op != SCIM_OP_REMOVE && !json_is_null(value) && name_string(ctx, value, attribute, max, &text))
		return -1;
	if (strcmp(part, "formatted") == 0) {
		in->formatted = text;
	} else if (strcmp(part, "givenname") == 0) {
		in->given = text;
		in->set_given = 1;
	} else if (strcmp(part, "familyname") == 0) {
		in->family = text;
		in->set_family = 1;
	} else if (!in_list(ignored_name_parts, part)) {
		scim_error(ctx, 400, in_patch ? "invalidPath" : "invalidSyntax",
			   "name.%.60s: not an attribute of name; use givenName, familyName or formatted.", part);
		return -1;
	}
	return 0;
}

/*
 * Applies one attribute, named by a lower-case `path` relative to the User,
 * with `value` (NULL for remove). Replies 400 and returns -1 on an unknown
 * attribute or a bad value.
 */
static int user_apply(api_ctx *ctx, struct user_input *in, const char *path, json_t *value, enum scim_patch_op op,
		      int in_patch)
{
	char base[64];

	if (strcmp(path, "username") == 0) {
		if (op == SCIM_OP_REMOVE || json_is_null(value))
			return scim_error(ctx, 400, "mutability", "userName: is required and cannot be removed."), -1;
		if (scim_string(ctx, value, "userName", EMAIL_MAX, &in->user_name))
			return -1;
		return 0;
	}
	if (strcmp(path, "displayname") == 0) {
		if (op == SCIM_OP_REMOVE || json_is_null(value)) {
			in->display_name = NULL;
			return 0;
		}
		if (name_string(ctx, value, "displayName", API_NAME_MAX, &in->display_name))
			return -1;
		/* Like a group's displayName: an empty name would leave the person nameless in lists. */
		if (*in->display_name == '\0')
			return scim_error(ctx, 400, "invalidValue", "displayName: must not be empty; send a name, or "
								    "remove the attribute."),
			       -1;
		return 0;
	}
	if (strcmp(path, "externalid") == 0) {
		in->set_external_id = 1;
		in->external_id = NULL;
		if (op == SCIM_OP_REMOVE || json_is_null(value))
			return 0;
		return scim_string(ctx, value, "externalId", SCIM_VALUE_MAX, &in->external_id);
	}
	if (strcmp(path, "active") == 0) {
		if (op == SCIM_OP_REMOVE)
			return scim_error(ctx, 400, "mutability", "active: cannot be removed; replace it with true or false."),
			       -1;
		if (scim_bool(value, &in->active) != 0)
			return scim_error(ctx, 400, "invalidValue", "active: must be true or false."), -1;
		in->set_active = 1;
		return 0;
	}
	if (strcmp(path, "name") == 0) {
		const char *key;
		json_t *part;

		if (op == SCIM_OP_REMOVE || json_is_null(value)) {
			in->set_given = in->set_family = 1;
			in->given = in->family = NULL;
			return 0;
		}
		if (!json_is_object(value))
			return scim_error(ctx, 400, "invalidValue", "name: must be an object with givenName, familyName "
								    "or formatted."),
			       -1;
		json_object_foreach(value, key, part) {
			char lower[64];

			snprintf(lower, sizeof(lower), "%s", key);
			for (char *c = lower; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
			if (set_name_part(ctx, in, lower, part, SCIM_OP_REPLACE, in_patch))
				return -1;
		}
		return 0;
	}
	if (strncmp(path, "name.", 5) == 0)
		return set_name_part(ctx, in, path + 5, value, op, in_patch);
	if (strcmp(path, "emails") == 0 || strncmp(path, "emails[", 7) == 0 || strncmp(path, "emails.", 7) == 0)
		return emails_apply(ctx, in, path, value, op, in_patch);

	/* Accepted and not stored: the enterprise extension and the rest of the core schema. */
	if (strncmp(path, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user",
		    strlen("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user")) == 0)
		return 0;
	if (strncmp(path, "urn:ietf:params:scim:schemas:core:2.0:user:", 43) == 0)
		return user_apply(ctx, in, path + 43, value, op, in_patch);
	snprintf(base, sizeof(base), "%.*s", (int)strcspn(path, ".["), path);
	if (in_list(ignored_attributes, base))
		return 0;
	scim_error(ctx, 400, in_patch ? "invalidPath" : "invalidSyntax",
		   "%.80s: not an attribute of the User schema (%s). Remove it, or remove its mapping in the identity "
		   "provider.",
		   path, SCIM_SCHEMA_USER);
	return -1;
}

static void lower_copy(const char *text, char *out, size_t len)
{
	size_t i;

	for (i = 0; text[i] && i + 1 < len; i++)
		out[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
	out[i] = '\0';
}

/* Applies every attribute of a POST or PUT body. Returns 0, or -1 after replying. */
static int user_read_body(api_ctx *ctx, json_t *body, struct user_input *in)
{
	const char *key;
	json_t *value;
	char path[256];

	json_object_foreach(body, key, value) {
		if (strlen(key) >= sizeof(path))
			return scim_error(ctx, 400, "invalidSyntax", "%.60s...: not an attribute of the User schema.", key),
			       -1;
		lower_copy(key, path, sizeof(path));
		if (user_apply(ctx, in, path, value, SCIM_OP_REPLACE, 0))
			return -1;
	}
	return 0;
}

/* ---------- e-mail addresses ---------- */

/*
 * Works out the address a request leaves: userName and the work e-mail are
 * one address in kontor, so a request that sets both must set the same.
 * Returns the address (borrowed; `current` when the request sets none), or
 * NULL after replying 400.
 */
static const char *input_email(api_ctx *ctx, const struct user_input *in, const char *current)
{
	const char *email = in->user_name ? in->user_name : in->email;

	if (in->user_name != NULL && in->email != NULL && strcasecmp(in->user_name, in->email) != 0) {
		scim_error(ctx, 400, "invalidValue", "userName and emails: kontor keeps one address per person, so both "
						     "must be the same address; map them from the same source attribute.");
		return NULL;
	}
	if (email == NULL)
		email = current;
	if (email == NULL || *email == '\0') {
		scim_error(ctx, 400, "invalidValue", "userName: missing. Send the person's e-mail address as userName.");
		return NULL;
	}
	if (!text_email_valid(email)) {
		scim_error(ctx, 400, "invalidValue", "userName: \"%.80s\" is not an e-mail address. kontor identifies "
						     "people by e-mail; map userName to the user's e-mail address.",
			   email);
		return NULL;
	}
	return email;
}

/*
 * Checks that no other user of the server has `email`. Replies 409
 * uniqueness and returns -1 when one does, or after a storage failure.
 */
static int email_available(api_ctx *ctx, const char *email, int64_t self_gid)
{
	char lower[EMAIL_MAX + 1];
	db_stmt *s = db_query(ctx->db, "SELECT gid FROM users WHERE email_lower = ? AND gid <> ?");
	int status;

	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR), -1;
	store_email_lower(email, lower, sizeof(lower));
	db_bind_text(s, 0, lower);
	db_bind_int64(s, 1, self_gid);
	status = db_step(s);
	db_stmt_done(s);
	if (status == DB_DONE)
		return 0;
	if (status != DB_ROW)
		return api_fail_db(ctx, status), -1;
	scim_rollback(ctx);
	scim_error(ctx, 409, "uniqueness", "userName: %.80s is already in use by another user; e-mail addresses are "
					   "unique on the server.",
		   email);
	return -1;
}

/* ---------- writes ---------- */

/* The kontor name a request leaves: displayName, else name.formatted, else given and family name, else `current`. */
static void input_name(const struct user_input *in, const struct scim_user *next, const char *current,
		       const char *email, char *out, size_t len)
{
	if (in->display_name != NULL && *in->display_name != '\0') {
		snprintf(out, len, "%s", in->display_name);
		return;
	}
	if (in->formatted != NULL && *in->formatted != '\0') {
		snprintf(out, len, "%s", in->formatted);
		return;
	}
	if ((in->set_given || in->set_family) && (next->has_given || next->has_family) &&
	    (next->given[0] || next->family[0])) {
		snprintf(out, len, "%.511s%s%.511s", next->given, next->given[0] && next->family[0] ? " " : "", next->family);
		return;
	}
	if (current != NULL && *current != '\0') {
		snprintf(out, len, "%s", current);
		return;
	}
	snprintf(out, len, "%.*s", (int)strcspn(email, "@"), email);
}

/* Builds the user a request leaves from the current one (`u`) and the input. Returns 0, or -1 after replying. */
static int user_next(api_ctx *ctx, const struct scim_user *u, const struct user_input *in, struct scim_user *next)
{
	const char *email;

	*next = *u;
	if (in->email_match[0] != '\0' && strcasecmp(in->email_match, u->email) != 0) {
		scim_error(ctx, 400, "noTarget", "emails[value eq \"%.80s\"]: the user has no such address; kontor keeps "
						 "one work address per person%s%.80s.",
			   in->email_match, u->email[0] ? ", here " : "", u->email);
		return -1;
	}
	email = input_email(ctx, in, u->email[0] ? u->email : NULL);
	if (email == NULL)
		return -1;
	snprintf(next->email, sizeof(next->email), "%s", email);
	if (in->set_given) {
		next->has_given = in->given != NULL;
		snprintf(next->given, sizeof(next->given), "%s", in->given ? in->given : "");
	}
	if (in->set_family) {
		next->has_family = in->family != NULL;
		snprintf(next->family, sizeof(next->family), "%s", in->family ? in->family : "");
	}
	if (in->set_external_id) {
		next->has_external_id = in->external_id != NULL;
		snprintf(next->external_id, sizeof(next->external_id), "%s", in->external_id ? in->external_id : "");
	}
	input_name(in, next, u->name, email, next->name, sizeof(next->name));
	if (in->set_active)
		next->active = in->active;
	return 0;
}

/* Writes the scim_users row of `u` (external id, given and family name), undeleting it. Returns a db status. */
static int scim_row_save(api_ctx *ctx, const struct scim_user *u, int64_t now)
{
	db_stmt *s = db_query(ctx->db,
			      "INSERT INTO scim_users (user_gid, workspace_gid, external_id, given_name, family_name,"
			      " deleted_at, modified_at) VALUES (?, ?, ?, ?, ?, NULL, ?)"
			      " ON CONFLICT (user_gid) DO UPDATE SET external_id = excluded.external_id,"
			      " given_name = excluded.given_name, family_name = excluded.family_name, deleted_at = NULL,"
			      " modified_at = excluded.modified_at");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, u->gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_text(s, 2, u->has_external_id ? u->external_id : NULL);
	db_bind_text(s, 3, u->has_given ? u->given : NULL);
	db_bind_text(s, 4, u->has_family ? u->family : NULL);
	db_bind_int64(s, 5, now);
	return db_run(s);
}

static int membership_set_active(api_ctx *ctx, int64_t user_gid, int active)
{
	db_stmt *s = db_query(ctx->db, "UPDATE workspace_memberships SET is_active = ? WHERE workspace_gid = ? AND user_gid = ?");

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, active);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, user_gid);
	return db_run(s);
}

/*
 * Reads the organization's deprovision owner into *owner_r: 0 when none is
 * set, when it is `user_gid` itself, or when the owner is no longer an
 * active member who is a person and not a guest. Returns a db status.
 */
static int deprovision_owner(api_ctx *ctx, int64_t user_gid, int64_t *owner_r)
{
	db_stmt *s = db_query(ctx->db, "SELECT w.deprovision_owner_gid,"
				       " CASE WHEN m.is_active = 1 AND m.role <> 'guest' AND u.kind = 'person' THEN 1 ELSE 0 END"
				       " FROM workspaces w LEFT JOIN workspace_memberships m ON m.workspace_gid = w.gid"
				       " AND m.user_gid = w.deprovision_owner_gid"
				       " LEFT JOIN users u ON u.gid = w.deprovision_owner_gid WHERE w.gid = ?");
	int status;

	*owner_r = 0;
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW && !db_column_is_null(s, 0) && db_column_int64(s, 1) == 1 &&
	    db_column_int64(s, 0) != user_gid)
		*owner_r = db_column_int64(s, 0);
	db_stmt_done(s);
	return status == DB_ROW ? DB_OK : (status == DB_DONE ? DB_ERROR : status);
}

/* Runs an UPDATE that binds (value, now, workspace, user) and adds its changed rows to *count_r. */
static int run_handover(api_ctx *ctx, const char *sql, int64_t owner, int64_t user_gid, int64_t now, int64_t *count_r)
{
	db_stmt *s = db_query(ctx->db, sql);
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_gid(s, 0, owner);
	db_bind_int64(s, 1, now);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	db_bind_int64(s, 3, user_gid);
	status = db_run(s);
	if (status == DB_OK)
		*count_r = db_changes(s);
	return status;
}

/* Ends every token and admin-console session of the user; appends the revoked token gids to `revoked`. */
static int revoke_access(api_ctx *ctx, int64_t user_gid, int64_t now, json_t *revoked)
{
	db_stmt *s = db_query(ctx->db, "SELECT gid FROM tokens WHERE workspace_gid = ? AND user_gid = ? AND revoked_at IS NULL"
				       " ORDER BY gid");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, user_gid);
	for (;;) {
		status = db_step(s);
		if (status != DB_ROW)
			break;
		json_array_append_new(revoked, api_gid(db_column_int64(s, 0)));
	}
	db_stmt_done(s);
	if (status != DB_DONE)
		return status;

	/*
	 * Authentication already rejects an inactive member's tokens and
	 * sessions on every node; revoking them also keeps them dead if the
	 * person is reactivated later.
	 */
	s = db_query(ctx->db, "UPDATE tokens SET revoked_at = ? WHERE workspace_gid = ? AND user_gid = ? AND revoked_at IS NULL");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, now);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, user_gid);
	status = db_run(s);
	if (status != DB_OK)
		return status;
	s = db_query(ctx->db, "UPDATE sessions SET revoked_at = ? WHERE workspace_gid = ? AND user_gid = ? AND revoked_at IS NULL");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, now);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, user_gid);
	return db_run(s);
}

/* Access that access_strip removed (counts and the old role), for the user_deprovisioned record. */
struct access_removed {
	int64_t teams;
	int64_t projects;
	char old_role[16]; /* the admin role taken away, or "" */
};

/* Reads the gids and names of (team or project, name) rows into `rows` (a JSON array of [gid, name]). */
static int collect_named_gids(api_ctx *ctx, const char *sql, int64_t user_gid, json_t *rows)
{
	db_stmt *s = db_query(ctx->db, sql);
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, user_gid);
	for (;;) {
		status = db_step(s);
		if (status != DB_ROW)
			break;
		json_array_append_new(rows, json_pack("[I, s]", (json_int_t)db_column_int64(s, 0),
						      db_column_text(s, 1) ? db_column_text(s, 1) : ""));
	}
	db_stmt_done(s);
	return status == DB_DONE ? DB_OK : status;
}

/* Runs a statement that binds (workspace, user). Returns a db status. */
static int run_for_user(api_ctx *ctx, const char *sql, int64_t user_gid)
{
	db_stmt *s = db_query(ctx->db, sql);

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, user_gid);
	return db_run(s);
}

/* Removes the user from every team, auditing each removal as the Groups endpoint does. Returns a db status. */
static int teams_leave(api_ctx *ctx, const struct scim_user *u, const char *operation, int64_t now,
		       int64_t *count_r)
{
	json_t *teams = json_array(), *row;
	db_stmt *s;
	size_t i;
	int status;

	status = collect_named_gids(ctx, "SELECT t.gid, t.name FROM team_memberships tm JOIN teams t ON t.gid = tm.team_gid"
					 " WHERE tm.workspace_gid = ? AND tm.user_gid = ? ORDER BY t.gid",
				    u->gid, teams);
	/* The team's lastModified moves with its members, as after a Groups PATCH. */
	if (status == DB_OK && json_array_size(teams) > 0) {
		s = db_query(ctx->db, "UPDATE teams SET modified_at = ? WHERE workspace_gid = ? AND gid IN"
				      " (SELECT team_gid FROM team_memberships WHERE workspace_gid = ? AND user_gid = ?)");
		if (s == NULL) {
			status = DB_ERROR;
		} else {
			db_bind_int64(s, 0, now);
			db_bind_int64(s, 1, ctx->who.workspace_gid);
			db_bind_int64(s, 2, ctx->who.workspace_gid);
			db_bind_int64(s, 3, u->gid);
			status = db_run(s);
		}
	}
	if (status == DB_OK)
		status = run_for_user(ctx, "DELETE FROM team_memberships WHERE workspace_gid = ? AND user_gid = ?", u->gid);
	json_array_foreach(teams, i, row) {
		json_t *details;

		if (status != DB_OK)
			break;
		details = json_pack("{s:o, s:s}", "user_gid", api_gid(u->gid), "scim_operation", operation);
		status = scim_audit(ctx, "team_member_removed", "team", json_integer_value(json_array_get(row, 0)),
				    json_string_value(json_array_get(row, 1)), details);
		json_decref(details);
	}
	*count_r = (int64_t)json_array_size(teams);
	json_decref(teams);
	return status;
}

/*
 * Removes the user from every project, and so from its followers, auditing
 * each removal as the projects endpoints do. Returns a db status.
 */
static int projects_leave(api_ctx *ctx, const struct scim_user *u, const char *operation, int64_t *count_r)
{
	json_t *projects = json_array(), *row;
	size_t i;
	int status;

	status = collect_named_gids(ctx, "SELECT p.gid, p.name FROM project_memberships pm JOIN projects p"
					 " ON p.gid = pm.project_gid WHERE pm.workspace_gid = ? AND pm.user_gid = ?"
					 " ORDER BY p.gid",
				    u->gid, projects);
	if (status == DB_OK)
		status = run_for_user(ctx, "DELETE FROM project_memberships WHERE workspace_gid = ? AND user_gid = ?",
				      u->gid);
	if (status == DB_OK)
		status = run_for_user(ctx, "DELETE FROM project_followers WHERE workspace_gid = ? AND user_gid = ?",
				      u->gid);
	json_array_foreach(projects, i, row) {
		json_t *details;

		if (status != DB_OK)
			break;
		details = json_pack("{s:{s:o, s:O}, s:s}", "project", "gid",
				    api_gid(json_integer_value(json_array_get(row, 0))), "name", json_array_get(row, 1),
				    "scim_operation", operation);
		status = scim_audit(ctx, "user_removed_from_project", "user", u->gid, u->name, details);
		json_decref(details);
	}
	*count_r = (int64_t)json_array_size(projects);
	json_decref(projects);
	return status;
}

/* Makes an admin or super admin a member, and ends any division admin rights, auditing the role change. */
static int role_drop(api_ctx *ctx, const struct scim_user *u, const char *operation, char *old_role, size_t len)
{
	db_stmt *s = db_query(ctx->db, "SELECT gid, role FROM workspace_memberships WHERE workspace_gid = ? AND user_gid = ?");
	int64_t membership_gid = 0;
	json_t *details;
	int status;

	old_role[0] = '\0';
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, u->gid);
	status = db_step(s);
	if (status == DB_ROW) {
		membership_gid = db_column_int64(s, 0);
		snprintf(old_role, len, "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
	}
	db_stmt_done(s);
	if (status != DB_ROW)
		return status == DB_DONE ? DB_ERROR : status;

	status = run_for_user(ctx, "DELETE FROM division_admins WHERE workspace_gid = ? AND user_gid = ?", u->gid);
	if (status != DB_OK)
		return status;
	if (strcmp(old_role, "admin") != 0 && strcmp(old_role, "super_admin") != 0) {
		old_role[0] = '\0';
		return DB_OK;
	}
	status = run_for_user(ctx, "UPDATE workspace_memberships SET role = 'member' WHERE workspace_gid = ? AND user_gid = ?",
			      u->gid);
	if (status != DB_OK)
		return status;
	details = json_pack("{s:s, s:s, s:o, s:s}", "old_role", old_role, "new_role", "member",
			    "workspace_membership_gid", api_gid(membership_gid), "scim_operation", operation);
	status = scim_audit(ctx, "user_role_changed", "user", u->gid, u->name, details);
	json_decref(details);
	return status;
}

/*
 * Takes away what a deprovisioned person had beyond a plain membership:
 * team and project memberships, following of projects, an admin or super
 * admin role and division admin rights. Each removal gets the audit record
 * the matching endpoint writes. A person who comes back (active true, or a
 * POST with their address) then starts as a member without teams, and the
 * identity provider's group pushes add the teams again. Returns a db status.
 */
static int access_strip(api_ctx *ctx, const struct scim_user *u, const char *operation, int64_t now,
			struct access_removed *removed)
{
	int status;

	memset(removed, 0, sizeof(*removed));
	status = teams_leave(ctx, u, operation, now, &removed->teams);
	if (status == DB_OK)
		status = projects_leave(ctx, u, operation, &removed->projects);
	if (status == DB_OK)
		status = role_drop(ctx, u, operation, removed->old_role, sizeof(removed->old_role));
	return status;
}

/*
 * Deprovisions an active user inside the open transaction: refuses the
 * organization's last super admin (409), deactivates the membership, ends
 * the user's tokens and sessions, hands tasks and owned projects over,
 * takes away teams, projects and admin roles (access_strip) and writes
 * user_deprovisioned. Returns 0, or -1 after replying.
 */
static int user_deprovision(api_ctx *ctx, const struct scim_user *u, const char *operation, int64_t now)
{
	int64_t others = 0, owner = 0, tasks = 0, projects = 0;
	struct access_removed removed;
	json_t *details, *revoked;
	int status;

	if (u->is_super_admin) {
		status = store_org_other_super_admins(ctx->db, ctx->who.workspace_gid, u->gid, &others);
		if (status != DB_OK)
			return api_fail_db(ctx, status), -1;
		if (others == 0) {
			scim_rollback(ctx);
			scim_error(ctx, 409, NULL, "User %lld is the organization's last active super admin and cannot be "
						   "deprovisioned. Make another person super admin in kontor first.",
				   (long long)u->gid);
			return -1;
		}
	}

	status = membership_set_active(ctx, u->gid, 0);
	if (status == DB_OK)
		status = deprovision_owner(ctx, u->gid, &owner);
	revoked = json_array();
	if (status == DB_OK)
		status = revoke_access(ctx, u->gid, now, revoked);
	/* Tasks go to the owner's inbox, as a new assignment would. */
	if (status == DB_OK)
		status = run_handover(ctx,
				      "UPDATE tasks SET assignee_gid = ?, assignee_status = 'inbox', modified_at = ?"
				      " WHERE workspace_gid = ? AND assignee_gid = ?",
				      owner, u->gid, now, &tasks);
	if (status == DB_OK)
		status = run_handover(ctx, "UPDATE projects SET owner_gid = ?, modified_at = ? WHERE workspace_gid = ? AND owner_gid = ?",
				      owner, u->gid, now, &projects);
	if (status == DB_OK)
		status = access_strip(ctx, u, operation, now, &removed);
	if (status != DB_OK) {
		json_decref(revoked);
		return api_fail_db(ctx, status), -1;
	}

	details = json_object();
	json_object_set_new(details, "scim_operation", json_string(operation));
	json_object_set_new(details, "revoked_token_gids", revoked);
	json_object_set_new(details, "new_owner_gid", owner ? api_gid(owner) : json_null());
	json_object_set_new(details, "tasks_reassigned", json_integer(tasks));
	json_object_set_new(details, "projects_reassigned", json_integer(projects));
	json_object_set_new(details, "team_memberships_removed", json_integer(removed.teams));
	json_object_set_new(details, "project_memberships_removed", json_integer(removed.projects));
	json_object_set_new(details, "old_role", api_string_or_null(removed.old_role[0] ? removed.old_role : NULL));
	status = scim_audit(ctx, "user_deprovisioned", "user", u->gid, u->name, details);
	json_decref(details);
	if (status != DB_OK)
		return api_fail_db(ctx, status), -1;
	log_info("scim", "user deprovisioned", "request_id", ctx->req->request_id, "user_gid", LOG_INT(u->gid),
		 "new_owner_gid", owner ? LOG_INT(owner) : NULL, "tasks", LOG_NUM(tasks), "projects", LOG_NUM(projects),
		 NULL);
	return 0;
}

/* Audits one changed text attribute, with old and new value. Returns a db status. */
static int audit_change(api_ctx *ctx, const char *event_type, const struct scim_user *next, const char *key,
			const char *old_value, const char *new_value)
{
	json_t *details;
	char old_key[64], new_key[64];
	int status;

	snprintf(old_key, sizeof(old_key), "old_%s", key);
	snprintf(new_key, sizeof(new_key), "new_%s", key);
	details = json_object();
	json_object_set_new(details, old_key, api_string_or_null(old_value));
	json_object_set_new(details, new_key, api_string_or_null(new_value));
	status = scim_audit(ctx, event_type, "user", next->gid, next->name, details);
	json_decref(details);
	return status;
}

/*
 * Writes the difference between `u` and `next` inside the open transaction:
 * users row, scim_users row, membership, and one audit record per change.
 * Returns 0, or -1 after replying.
 */
static int user_save(api_ctx *ctx, const struct scim_user *u, const struct scim_user *next, int64_t now)
{
	int email_changed = strcmp(u->email, next->email) != 0;
	int name_changed = strcmp(u->name, next->name) != 0;
	int status = DB_OK;
	db_stmt *s;

	if (email_changed && email_available(ctx, next->email, u->gid))
		return -1;
	if (email_changed || name_changed) {
		char lower[EMAIL_MAX + 1];

		store_email_lower(next->email, lower, sizeof(lower));
		s = db_query(ctx->db, "UPDATE users SET email = ?, email_lower = ?, name = ?, modified_at = ?"
				      " WHERE gid = ? AND workspace_gid = ?");
		if (s == NULL)
			return api_fail_db(ctx, DB_ERROR), -1;
		db_bind_text(s, 0, next->email);
		db_bind_text(s, 1, lower);
		db_bind_text(s, 2, next->name);
		db_bind_int64(s, 3, now);
		db_bind_int64(s, 4, u->gid);
		db_bind_int64(s, 5, ctx->who.workspace_gid);
		status = db_run(s);
	}
	if (status == DB_OK)
		status = scim_row_save(ctx, next, now);
	if (status == DB_OK && email_changed)
		status = audit_change(ctx, "user_email_changed", next, "email", u->email, next->email);
	if (status == DB_OK && name_changed)
		status = audit_change(ctx, "user_name_changed", next, "name", u->name, next->name);
	if (status == DB_OK && (u->has_external_id != next->has_external_id ||
				strcmp(u->external_id, next->external_id) != 0))
		status = audit_change(ctx, "user_external_id_changed", next, "external_id",
				      u->has_external_id ? u->external_id : NULL,
				      next->has_external_id ? next->external_id : NULL);
	if (status != DB_OK)
		return api_fail_db(ctx, status), -1;

	if (u->active && !next->active)
		return user_deprovision(ctx, next, "deactivate", now);
	if (!u->active && next->active) {
		struct access_removed removed;

		/*
		 * A SCIM deprovisioning has already stripped the person; one who
		 * was deactivated another way is stripped here, so that every
		 * reactivation starts as a member without teams.
		 */
		status = access_strip(ctx, next, "reactivate", now, &removed);
		if (status == DB_OK)
			status = membership_set_active(ctx, u->gid, 1);
		if (status == DB_OK)
			status = scim_audit(ctx, "user_reactivated", "user", u->gid, next->name, NULL);
		if (status != DB_OK)
			return api_fail_db(ctx, status), -1;
	}
	return 0;
}

/* Commits and replies with the user as stored. */
static int commit_and_reply(api_ctx *ctx, int64_t gid, int status_code)
{
	struct scim_user stored;

	if (api_commit(ctx))
		return 0;
	if (user_load_or_reply(ctx, gid, &stored))
		return 0;
	return scim_reply_resource(ctx, status_code, user_json(ctx, &stored));
}

/* ---------- POST ---------- */

/* Finds any user of the server by address: kind and organization. Returns DB_ROW, DB_DONE or an error. */
static int user_find_any(api_ctx *ctx, const char *email, int64_t *gid_r, int64_t *org_r, int *is_person_r,
			 int *scim_deleted_r)
{
	char lower[EMAIL_MAX + 1];
	db_stmt *s = db_query(ctx->db, "SELECT u.gid, u.workspace_gid, u.kind, su.deleted_at FROM users u"
				       " LEFT JOIN scim_users su ON su.user_gid = u.gid WHERE u.email_lower = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	store_email_lower(email, lower, sizeof(lower));
	db_bind_text(s, 0, lower);
	status = db_step(s);
	if (status == DB_ROW) {
		*gid_r = db_column_int64(s, 0);
		*org_r = db_column_int64(s, 1);
		*is_person_r = db_column_text(s, 2) != NULL && strcmp(db_column_text(s, 2), "person") == 0;
		*scim_deleted_r = !db_column_is_null(s, 3);
	}
	db_stmt_done(s);
	return status;
}

/*
 * POST /scim/Users. A new address creates a member. The address of a person
 * who was deprovisioned or deleted brings that person back (201); that of
 * an active person, of a service account or of another organization's user
 * gets 409 uniqueness.
 */
static int users_create(api_ctx *ctx)
{
	struct user_input in;
	struct scim_user u, next;
	json_t *body = scim_body(ctx);
	const char *email;
	int64_t gid = 0, org = 0, now = time_now_us();
	int is_person = 0, scim_deleted = 0, status;

	if (body == NULL || scim_require_schema(ctx, body, SCIM_SCHEMA_USER))
		return 0;
	memset(&in, 0, sizeof(in));
	if (user_read_body(ctx, body, &in))
		return 0;
	email = input_email(ctx, &in, NULL);
	if (email == NULL)
		return 0;

	if (api_begin_write(ctx))
		return 0;
	status = user_find_any(ctx, email, &gid, &org, &is_person, &scim_deleted);
	if (status != DB_ROW && status != DB_DONE)
		return api_fail_db(ctx, status);
	if (!in.set_active) {
		in.active = 1;
		in.set_active = 1;
	}

	if (status == DB_ROW) {
		if (org != ctx->who.workspace_gid || !is_person) {
			scim_rollback(ctx);
			return scim_error(ctx, 409, "uniqueness", "userName: %.80s is already in use%s; e-mail addresses are "
								  "unique on the server.",
					  email, is_person ? "" : " by a service account");
		}
		status = user_load_any(ctx, gid, &u);
		if (status != DB_ROW)
			return api_fail_db(ctx, status == DB_DONE ? DB_ERROR : status);
		if (!scim_deleted && u.active) {
			scim_rollback(ctx);
			return scim_error(ctx, 409, "uniqueness", "userName: %.80s is already a user of this organization "
								  "(id %lld). Link the identity provider's user to it instead of "
								  "creating it.",
					  email, (long long)gid);
		}
		/* A returning person: the update reactivates them and clears the deleted mark. */
		if (user_next(ctx, &u, &in, &next)) {
			scim_rollback(ctx);
			return 0;
		}
		if (user_save(ctx, &u, &next, now))
			return 0;
		return commit_and_reply(ctx, gid, 201);
	}

	memset(&u, 0, sizeof(u));
	if (user_next(ctx, &u, &in, &next)) {
		scim_rollback(ctx);
		return 0;
	}
	status = store_user_create(ctx->db, ctx->who.workspace_gid, next.email, next.name, "member", NULL, &gid);
	if (status == DB_CONSTRAINT) {
		scim_rollback(ctx);
		return scim_error(ctx, 409, "uniqueness", "userName: %.80s is already in use.", email);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	next.gid = gid;
	status = scim_row_save(ctx, &next, now);
	if (status == DB_OK)
		status = scim_audit(ctx, "user_invited", "user", gid, next.name, NULL);
	if (status == DB_OK && !next.active)
		status = membership_set_active(ctx, gid, 0);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	return commit_and_reply(ctx, gid, 201);
}

/* ---------- PUT ---------- */

/* PUT /scim/Users/{id}: replaces every attribute; an omitted externalId, givenName or familyName is cleared. */
static int users_replace(api_ctx *ctx)
{
	struct user_input in;
	struct scim_user u, next;
	json_t *body = scim_body(ctx);
	json_t *current;
	int64_t gid;
	int status;

	if (body == NULL || scim_id_param(ctx, "id", "User", &gid) || scim_require_schema(ctx, body, SCIM_SCHEMA_USER))
		return 0;
	memset(&in, 0, sizeof(in));
	in.set_given = in.set_family = in.set_external_id = 1;
	if (user_read_body(ctx, body, &in))
		return 0;
	if (in.user_name == NULL && in.email == NULL)
		return scim_error(ctx, 400, "invalidValue", "userName: missing. PUT replaces the whole user, so send "
							    "userName too.");

	if (api_begin_write(ctx))
		return 0;
	if (user_load_or_reply(ctx, gid, &u))
		return 0;
	current = user_json(ctx, &u);
	status = scim_if_match(ctx, scim_version_of(current));
	json_decref(current);
	if (status) {
		scim_rollback(ctx);
		return 0;
	}
	if (user_next(ctx, &u, &in, &next)) {
		scim_rollback(ctx);
		return 0;
	}
	if (user_save(ctx, &u, &next, time_now_us()))
		return 0;
	return commit_and_reply(ctx, gid, 200);
}

/* ---------- PATCH ---------- */

/* Applies one PATCH operation to `in`. Returns 0, or -1 after replying. */
static int user_patch_op(api_ctx *ctx, json_t *operation, size_t index, struct user_input *in)
{
	json_t *path_value = scim_get(operation, "path");
	json_t *value = scim_get(operation, "value");
	int op = scim_patch_op_parse(scim_get(operation, "op"));
	char path[256];

	if (!json_is_object(operation) || op < 0)
		return scim_error(ctx, 400, "invalidSyntax", "Operations[%zu].op: must be add, replace or remove.", index),
		       -1;
	if (path_value != NULL && !json_is_string(path_value))
		return scim_error(ctx, 400, "invalidPath", "Operations[%zu].path: must be a string.", index), -1;
	if (op != SCIM_OP_REMOVE && value == NULL)
		return scim_error(ctx, 400, "invalidValue", "Operations[%zu].value: missing; add and replace need a value.",
				  index),
		       -1;

	if (path_value == NULL) {
		const char *key;
		json_t *item;

		/* Without a path the value is an object of attributes, possibly with dotted names. */
		if (op == SCIM_OP_REMOVE)
			return scim_error(ctx, 400, "noTarget", "Operations[%zu].path: remove needs a path.", index), -1;
		if (!json_is_object(value))
			return scim_error(ctx, 400, "invalidValue", "Operations[%zu].value: must be an object of attributes "
								    "when there is no path.",
					  index),
			       -1;
		json_object_foreach(value, key, item) {
			if (strlen(key) >= sizeof(path))
				return scim_error(ctx, 400, "invalidPath", "Operations[%zu]: attribute name too long.", index),
				       -1;
			lower_copy(key, path, sizeof(path));
			if (user_apply(ctx, in, path, item, (enum scim_patch_op)op, 1))
				return -1;
		}
		return 0;
	}
	if (json_string_length(path_value) >= sizeof(path) || json_string_length(path_value) == 0)
		return scim_error(ctx, 400, "invalidPath", "Operations[%zu].path: must be 1 to %zu characters.", index,
				  sizeof(path) - 1),
		       -1;
	lower_copy(json_string_value(path_value), path, sizeof(path));
	return user_apply(ctx, in, path, op == SCIM_OP_REMOVE ? NULL : value, (enum scim_patch_op)op, 1);
}

/* PATCH /scim/Users/{id}: the operations apply together or not at all (RFC 7644 section 3.5.2). */
static int users_patch(api_ctx *ctx)
{
	struct user_input in;
	struct scim_user u, next;
	json_t *body = scim_body(ctx);
	json_t *operations, *operation, *current;
	int64_t gid;
	size_t i;

	if (body == NULL || scim_id_param(ctx, "id", "User", &gid))
		return 0;
	operations = scim_patch_operations(ctx, body);
	if (operations == NULL)
		return 0;
	memset(&in, 0, sizeof(in));
	json_array_foreach(operations, i, operation)
		if (user_patch_op(ctx, operation, i, &in))
			return 0;

	if (api_begin_write(ctx))
		return 0;
	if (user_load_or_reply(ctx, gid, &u))
		return 0;
	current = user_json(ctx, &u);
	if (scim_if_match(ctx, scim_version_of(current))) {
		json_decref(current);
		scim_rollback(ctx);
		return 0;
	}
	json_decref(current);
	if (user_next(ctx, &u, &in, &next)) {
		scim_rollback(ctx);
		return 0;
	}
	if (user_save(ctx, &u, &next, time_now_us()))
		return 0;
	return commit_and_reply(ctx, gid, 200);
}

/* ---------- DELETE ---------- */

/* DELETE /scim/Users/{id}: deprovisions the person if still active and hides them from SCIM. */
static int users_delete(api_ctx *ctx)
{
	struct scim_user u;
	struct access_removed removed;
	json_t *current, *details;
	int64_t gid, now = time_now_us();
	db_stmt *s;
	int status;

	if (scim_id_param(ctx, "id", "User", &gid))
		return 0;
	if (api_begin_write(ctx))
		return 0;
	if (user_load_or_reply(ctx, gid, &u))
		return 0;
	current = user_json(ctx, &u);
	status = scim_if_match(ctx, scim_version_of(current));
	json_decref(current);
	if (status) {
		scim_rollback(ctx);
		return 0;
	}
	if (u.active && user_deprovision(ctx, &u, "delete", now))
		return 0;

	status = DB_OK;
	if (!u.active)
		status = access_strip(ctx, &u, "delete", now, &removed);
	if (status == DB_OK)
		status = scim_row_save(ctx, &u, now);
	if (status == DB_OK) {
		s = db_query(ctx->db, "UPDATE scim_users SET deleted_at = ? WHERE user_gid = ? AND workspace_gid = ?");
		if (s == NULL)
			return api_fail_db(ctx, DB_ERROR);
		db_bind_int64(s, 0, now);
		db_bind_int64(s, 1, gid);
		db_bind_int64(s, 2, ctx->who.workspace_gid);
		status = db_run(s);
	}
	/* An inactive user's deletion changes only SCIM's view; it gets its own record. */
	if (status == DB_OK && !u.active) {
		details = json_pack("{s:s, s:I, s:I, s:o}", "scim_operation", "delete", "team_memberships_removed",
				    (json_int_t)removed.teams, "project_memberships_removed", (json_int_t)removed.projects,
				    "old_role", api_string_or_null(removed.old_role[0] ? removed.old_role : NULL));
		status = scim_audit(ctx, "user_deprovisioned", "user", gid, u.name, details);
		json_decref(details);
	}
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;
	return scim_reply_no_content(ctx);
}

const struct api_route api_scim_users_routes[] = {
	{ "GET", SCIM_PATH "/Users", users_list, API_SCOPE_SCIM, NULL },
	{ "POST", SCIM_PATH "/Users", users_create, API_SCOPE_SCIM | API_WRITE | API_BARE_BODY, NULL },
	{ "GET", SCIM_PATH "/Users/{id}", users_get, API_SCOPE_SCIM, NULL },
	{ "PUT", SCIM_PATH "/Users/{id}", users_replace, API_SCOPE_SCIM | API_WRITE | API_BARE_BODY, NULL },
	{ "PATCH", SCIM_PATH "/Users/{id}", users_patch, API_SCOPE_SCIM | API_WRITE | API_BARE_BODY, NULL },
	{ "DELETE", SCIM_PATH "/Users/{id}", users_delete, API_SCOPE_SCIM | API_WRITE, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
