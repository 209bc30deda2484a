/*
 * Service accounts: the management endpoints for the accounts themselves
 * (list, create, read, rename and change permissions, delete), their
 * representation, and the checks that every service-account endpoint runs
 * first. A service account is a user of its organization (users.kind
 * 'service_account', an active `member` membership, no password) plus a
 * service_accounts row holding its scopes. Its tokens are handled in
 * service_account_tokens.c and its photo in photos.c. Only super admins
 * manage service accounts. Creating them, changing them and minting tokens
 * needs an enterprise plan, but reading, revoking tokens, deauthorizing and
 * deleting work on any plan. Every change writes its audit record in the
 * transaction that makes it.
 */
#include "api/service_accounts.h"
#include "api/photo_url.h"
#include "api/service_accounts_internal.h"
#include "auth/auth.h"
#include "store/audit.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/text.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes api_check_body accepts in a name before the character count below applies. */
#define SA_NAME_MAX_BYTES 4096
#define SA_EMAIL_DOMAIN "service-accounts.kontor.invalid"

static const char division_admin_message[] =
	"Service accounts are managed at organization level by the organization's super admins, not by division "
	"admins. Ask a super admin of the organization.";

/* ---------- scopes ---------- */

/* Scope names in the order the API lists them (alphabetical). */
static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
	{ "audit_logs", SCOPE_AUDIT_LOGS },
	{ "exports", SCOPE_EXPORTS },
	{ "read", SCOPE_READ },
	{ "scim", SCOPE_SCIM },
};
#define SCOPE_NAME_COUNT (sizeof(scope_names) / sizeof(scope_names[0]))
#define SCOPE_LIST_TEXT "audit_logs, exports, read, scim"

/* The API form of a scope set: "full", or the array of scope names. Returns a new reference. */
static json_t *permissions_json(unsigned scopes)
{
	json_t *names;

	if (scopes & SCOPE_FULL)
		return json_string("full");
	names = json_array();
	for (size_t i = 0; i < SCOPE_NAME_COUNT; i++)
		if (scopes & scope_names[i].bit)
			json_array_append_new(names, json_string(scope_names[i].name));
	return names;
}

/* The stored form of a scope set: "full", or the scope names joined by commas. */
static void scopes_text(unsigned scopes, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	if (scopes & SCOPE_FULL) {
		snprintf(out, len, "full");
		return;
	}
	for (size_t i = 0; i < SCOPE_NAME_COUNT; i++)
		if ((scopes & scope_names[i].bit) && used < len)
			used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "," : "", scope_names[i].name);
}

/*
 * Checks the `permissions` value of a body: the string "full", or a
 * non-empty array of distinct scope names. An array of just "full" counts as
 * "full", because a form sends every value of this field as a list
 * (AF_FORM_LIST). Sets *scopes_r, or replies 400 and returns -1.
 */
static int permissions_parse(api_ctx *ctx, json_t *value, unsigned *scopes_r)
{
	size_t i;
	json_t *item;

	*scopes_r = 0;
	if (json_is_string(value)) {
		if (strcmp(json_string_value(value), "full") == 0) {
			*scopes_r = SCOPE_FULL;
			return 0;
		}
		api_error(ctx, 400, "permissions: \"%.40s\" is not valid. Send the string \"full\" or an array of one "
				    "or more scopes from: " SCOPE_LIST_TEXT ".",
			  json_string_value(value));
		return -1;
	}
	if (!json_is_array(value) || json_array_size(value) == 0) {
		api_error(ctx, 400, "permissions: must be the string \"full\" or a non-empty array of scopes from: "
				    SCOPE_LIST_TEXT ".");
		return -1;
	}
	if (json_array_size(value) == 1 && json_is_string(json_array_get(value, 0)) &&
	    strcmp(json_string_value(json_array_get(value, 0)), "full") == 0) {
		*scopes_r = SCOPE_FULL;
		return 0;
	}
	json_array_foreach(value, i, item) {
		const char *name = json_string_value(item);
		unsigned bit = 0;

		if (name == NULL) {
			api_error(ctx, 400, "permissions[%zu]: must be a scope name string, one of: " SCOPE_LIST_TEXT ".", i);
			return -1;
		}
		if (strcmp(name, "full") == 0) {
			api_error(ctx, 400, "permissions[%zu]: \"full\" cannot be combined with scopes. Send "
					    "\"full\" alone for full access, or only scopes from: " SCOPE_LIST_TEXT ".",
				  i);
			return -1;
		}
		for (size_t k = 0; k < SCOPE_NAME_COUNT; k++)
			if (strcmp(name, scope_names[k].name) == 0)
				bit = scope_names[k].bit;
		if (bit == 0) {
			api_error(ctx, 400, "permissions[%zu]: unknown scope \"%.40s\". Valid scopes: " SCOPE_LIST_TEXT
					    ", or the string \"full\" instead of the array.",
				  i, name);
			return -1;
		}
		if (*scopes_r & bit) {
			api_error(ctx, 400, "permissions[%zu]: \"%s\" is listed twice; list each scope once.", i, name);
			return -1;
		}
		*scopes_r |= bit;
	}
	return 0;
}

/* ---------- names ---------- */

/*
 * api_check_body has already rejected invalid UTF-8 and C0 control
 * characters. text_name_problem also rejects C1 controls, Unicode line
 * separators and bidirectional overrides, because they can disguise a name
 * in lists.
 */
int sa_name_parse(api_ctx *ctx, const char *raw, char *out, size_t len)
{
	const unsigned char *start = (const unsigned char *)raw, *end, *p;
	const char *problem;
	size_t chars = 0;

	while (*start == ' ')
		start++;
	end = start + strlen((const char *)start);
	while (end > start && end[-1] == ' ')
		end--;
	if (end == start) {
		api_error(ctx, 400, "name: must not be empty or only spaces; send a name of 1 to %d characters.",
			  SA_NAME_MAX_CHARS);
		return -1;
	}

	for (p = start; p < end; p++)
		/* A character starts at every byte that is not a UTF-8 continuation byte. */
		if ((*p & 0xC0) != 0x80)
			chars++;
	problem = text_name_problem((const char *)start, (size_t)(end - start));
	if (problem != NULL) {
		api_error(ctx, 400, "name: %s", problem);
		return -1;
	}
	if (chars > SA_NAME_MAX_CHARS) {
		api_error(ctx, 400, "name: must be at most %d characters (got %zu); send a shorter name.",
			  SA_NAME_MAX_CHARS, chars);
		return -1;
	}
	if ((size_t)(end - start) >= len) {
		api_error(ctx, 400, "name: too long; send a shorter name.");
		return -1;
	}
	memcpy(out, start, (size_t)(end - start));
	out[end - start] = '\0';
	return 0;
}

/* ---------- checks shared by every endpoint ---------- */

int sa_reply_plan_required(api_ctx *ctx)
{
	return api_error(ctx, 402, "Service accounts are available only to organizations on the "
				   AUTH_SERVICE_ACCOUNT_PLANS " plan; this organization is on \"%s\". A service "
				   "account's tokens work again when the organization returns to one of those plans.",
			 ctx->who.plan);
}

/* Reads the caller's organization plan into ctx->who.plan: a session principal may not carry it. Returns a db status. */
static int plan_load(api_ctx *ctx)
{
	db_stmt *s = db_query(ctx->db, "SELECT plan FROM workspaces WHERE gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW)
		snprintf(ctx->who.plan, sizeof(ctx->who.plan), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
	db_stmt_done(s);
	if (status == DB_ROW)
		return DB_OK;
	/* Every principal belongs to an existing organization, so a missing row is a storage fault. */
	if (status == DB_DONE)
		return DB_ERROR;
	return status;
}

/* 1 when the caller is a division admin of the organization, 0 when not, or a negative db status. */
static int is_division_admin(api_ctx *ctx)
{
	db_stmt *s = db_query(ctx->db, "SELECT 1 FROM division_admins WHERE workspace_gid = ? AND user_gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, ctx->who.user_gid);
	status = db_step(s);
	db_stmt_done(s);
	if (status == DB_ROW)
		return 1;
	return status == DB_DONE ? 0 : status;
}

/*
 * The role is checked before the plan, so people who may not manage
 * service accounts get the same 403 on every plan. `check_plan` 0 skips the
 * plan check for the endpoints that only read or take access away.
 */
static int require_manager(api_ctx *ctx, int check_plan)
{
	int status;

	if (ctx->who.kind == PRINCIPAL_SERVICE_ACCOUNT) {
		api_forbidden(ctx, "A service account cannot manage service accounts. Use a super admin's personal "
				   "access token or the admin console.");
		return -1;
	}
	if (ctx->who.kind != PRINCIPAL_PERSON || ctx->who.role != ROLE_SUPER_ADMIN) {
		status = is_division_admin(ctx);
		if (status < 0) {
			api_fail_db(ctx, status);
			return -1;
		}
		if (status == 1) {
			api_forbidden(ctx, division_admin_message);
			return -1;
		}
		api_error(ctx, 403, "Only super admins of the organization manage service accounts; your role is %s. "
				    "Ask a super admin.",
			  role_name(ctx->who.role));
		return -1;
	}
	if (!check_plan)
		return 0;

	status = plan_load(ctx);
	if (status != DB_OK) {
		api_fail_db(ctx, status);
		return -1;
	}
	if (!auth_plan_has_service_accounts(ctx->who.plan)) {
		sa_reply_plan_required(ctx);
		return -1;
	}
	return 0;
}

int sa_require_manager(api_ctx *ctx)
{
	return require_manager(ctx, 1);
}

int sa_require_manager_any_plan(api_ctx *ctx)
{
	return require_manager(ctx, 0);
}

int sa_require_target(api_ctx *ctx, int64_t sa_gid)
{
	db_stmt *s = db_query(ctx->db, "SELECT 1 FROM service_accounts WHERE user_gid = ? AND workspace_gid = ?");
	int status;

	if (s == NULL) {
		api_fail_db(ctx, DB_ERROR);
		return -1;
	}
	db_bind_int64(s, 0, sa_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_step(s);
	db_stmt_done(s);
	if (status == DB_ROW)
		return 0;
	if (status == DB_DONE)
		api_not_found(ctx, "service account", sa_gid);
	else
		api_fail_db(ctx, status);
	return -1;
}

/* Replies 404 unless `workspace_gid` is the caller's organization. */
static int check_workspace(api_ctx *ctx, int64_t workspace_gid)
{
	if (workspace_gid != ctx->who.workspace_gid) {
		api_not_found(ctx, "workspace", workspace_gid);
		return -1;
	}
	return 0;
}

int sa_name_get(api_ctx *ctx, int64_t sa_gid, char *out, size_t len)
{
	db_stmt *s = db_query(ctx->db, "SELECT u.name FROM service_accounts sa JOIN users u ON u.gid = sa.user_gid"
				       " WHERE sa.user_gid = ? AND sa.workspace_gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, sa_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW)
		snprintf(out, len, "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
	db_stmt_done(s);
	return status;
}

/* ---------- audit ---------- */

int sa_audit(api_ctx *ctx, const char *event_type, int64_t sa_gid, const char *sa_name, json_t *details)
{
	struct audit_event event;
	char actor_name[1024] = "", actor_email[320] = "";
	db_stmt *s;
	int status;

	/* The actor's name and e-mail are copied so the record stays readable after the person changes. */
	s = db_query(ctx->db, "SELECT name, email FROM users WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL) {
		json_decref(details);
		return DB_ERROR;
	}
	db_bind_int64(s, 0, ctx->who.user_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW) {
		snprintf(actor_name, sizeof(actor_name), "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
		snprintf(actor_email, sizeof(actor_email), "%s", db_column_text(s, 1) ? db_column_text(s, 1) : "");
	}
	db_stmt_done(s);
	if (status != DB_ROW && status != DB_DONE) {
		json_decref(details);
		return status;
	}

	memset(&event, 0, sizeof(event));
	event.event_type = event_type;
	event.event_category = "access_control";
	event.actor_name = actor_name[0] ? actor_name : NULL;
	event.actor_email = actor_email[0] ? actor_email : NULL;
	event.resource_type = "user";
	event.resource_subtype = "service_account";
	event.resource_gid = sa_gid;
	event.resource_name = sa_name;
	event.details = details;
	status = api_audit(ctx, &event);
	json_decref(details);
	return status;
}

/* ---------- representation ---------- */

static const char *const sa_fields[] = {
	"name", "email", "photo", "permissions", "is_active", "workspace", "created_by", "created_at", "modified_at",
	"last_used_at", "last_used_ip", "tokens", NULL,
};
/* is_active is compact too, so a default list tells a deactivated account from an active one. */
static const char *const sa_compact[] = { "name", "photo", "permissions", "is_active", NULL };
static const struct api_type_ref sa_refs[] = {
	{ "workspace", &api_workspace_type },
	{ "created_by", &api_user_type },
	{ "tokens", &api_service_account_token_type },
	{ NULL, NULL },
};

/* The columns every account query selects, in SC_ order. */
#define SA_COLUMNS \
	"u.gid, u.name, u.email, u.photo_key, sa.scopes, sa.created_by, cb.name, sa.created_at, sa.modified_at," \
	" u.modified_at, w.gid, w.name, COALESCE(m.is_active, 0)"
#define SA_FROM \
	" FROM service_accounts sa" \
	" JOIN users u ON u.gid = sa.user_gid" \
	" JOIN workspaces w ON w.gid = sa.workspace_gid" \
	" LEFT JOIN users cb ON cb.gid = sa.created_by" \
	" LEFT JOIN workspace_memberships m ON m.workspace_gid = sa.workspace_gid AND m.user_gid = sa.user_gid"
enum { SC_GID, SC_NAME, SC_EMAIL, SC_PHOTO_KEY, SC_SCOPES, SC_CREATED_BY, SC_CREATED_BY_NAME, SC_CREATED_AT,
       SC_SA_MODIFIED_AT, SC_USER_MODIFIED_AT, SC_WORKSPACE_GID, SC_WORKSPACE_NAME, SC_IS_ACTIVE };

/*
 * Builds an account from the current row, with last use and tokens left
 * empty for attach_tokens to fill. Returns a new reference.
 */
static json_t *sa_from_row(api_ctx *ctx, db_stmt *s)
{
	json_t *account = api_object_new("service_account", db_column_int64(s, SC_GID));
	int64_t modified = db_column_int64(s, SC_SA_MODIFIED_AT);

	/* A rename or a new photo changes the user row, permissions the service_accounts row. */
	if (db_column_int64(s, SC_USER_MODIFIED_AT) > modified)
		modified = db_column_int64(s, SC_USER_MODIFIED_AT);

	json_object_set_new(account, "name", api_string_or_null(db_column_text(s, SC_NAME)));
	json_object_set_new(account, "email", api_string_or_null(db_column_text(s, SC_EMAIL)));
	json_object_set_new(account, "photo", api_photo_json(ctx, db_column_text(s, SC_PHOTO_KEY)));
	json_object_set_new(account, "permissions", permissions_json(auth_scopes_parse(db_column_text(s, SC_SCOPES))));
	/* False after POST /workspaces/{gid}/removeUser: its tokens are revoked and new ones are refused. */
	json_object_set_new(account, "is_active", json_boolean(db_column_int64(s, SC_IS_ACTIVE) != 0));
	json_object_set_new(account, "workspace", api_ref("workspace", db_column_int64(s, SC_WORKSPACE_GID),
							  db_column_text(s, SC_WORKSPACE_NAME)));
	json_object_set_new(account, "created_by",
			    db_column_is_null(s, SC_CREATED_BY)
				    ? json_null()
				    : api_ref("user", db_column_int64(s, SC_CREATED_BY), db_column_text(s, SC_CREATED_BY_NAME)));
	json_object_set_new(account, "created_at", api_time(db_column_int64(s, SC_CREATED_AT)));
	json_object_set_new(account, "modified_at", api_time(modified));
	json_object_set_new(account, "last_used_at", json_null());
	json_object_set_new(account, "last_used_ip", json_null());
	json_object_set_new(account, "tokens", json_array());
	return account;
}

/* Tokens of one account while attach_tokens reads them. */
struct token_group {
	json_t *live;
	json_t *inactive;
	int inactive_count;
	int64_t last_used_at;
	json_t *last_used_ip;
};

static void group_reset(struct token_group *g)
{
	g->live = json_array();
	g->inactive = json_array();
	g->inactive_count = 0;
	g->last_used_at = 0;
	g->last_used_ip = json_null();
}

/* Moves a group into its account (live tokens first) and starts an empty one. */
static void group_flush(struct token_group *g, json_t *account)
{
	json_array_extend(g->live, g->inactive);
	json_decref(g->inactive);
	json_object_set_new(account, "tokens", g->live);
	json_object_set_new(account, "last_used_at", api_time(g->last_used_at));
	json_object_set_new(account, "last_used_ip", g->last_used_ip);
	group_reset(g);
}

static void group_free(struct token_group *g)
{
	json_decref(g->live);
	json_decref(g->inactive);
	json_decref(g->last_used_ip);
}

/*
 * Fills tokens, last_used_at and last_used_ip of `count` accounts whose
 * gids ascend, with one query over the gid range. Live tokens come first,
 * newest first; at most SA_INACTIVE_TOKENS_SHOWN revoked or expired ones
 * follow, because GET .../tokens pages through the whole history. Last use
 * is the most recent over all of an account's tokens. Returns a db status.
 */
static int attach_tokens(api_ctx *ctx, json_t *const *accounts, const int64_t *gids, int count)
{
	struct token_group group;
	int64_t now = time_now_us();
	db_stmt *s;
	int status, i = 0;

	if (count == 0)
		return DB_OK;
	s = db_query(ctx->db, "SELECT " SA_TOKEN_COLUMNS
			      " FROM tokens t LEFT JOIN users cu ON cu.gid = t.created_by"
			      " WHERE t.workspace_gid = ? AND t.kind = 'service_account' AND t.user_gid >= ?"
			      " AND t.user_gid <= ?"
			      " ORDER BY t.user_gid, t.gid DESC");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, gids[0]);
	db_bind_int64(s, 2, gids[count - 1]);

	group_reset(&group);
	for (;;) {
		int64_t user_gid, used;

		status = db_step(s);
		if (status != DB_ROW)
			break;
		user_gid = db_column_int64(s, TC_USER_GID);
		while (i < count && gids[i] < user_gid)
			group_flush(&group, accounts[i++]);
		/* Tokens of deleted accounts can lie inside the range; they belong to no account here. */
		if (i == count || gids[i] != user_gid)
			continue;

		if (sa_token_row_live(s, now))
			json_array_append_new(group.live, sa_token_from_row(s, now));
		else if (group.inactive_count++ < SA_INACTIVE_TOKENS_SHOWN)
			json_array_append_new(group.inactive, sa_token_from_row(s, now));
		used = db_column_int64(s, TC_LAST_USED_AT);
		if (used > group.last_used_at) {
			group.last_used_at = used;
			json_decref(group.last_used_ip);
			group.last_used_ip = api_string_or_null(db_column_text(s, TC_LAST_USED_IP));
		}
	}
	db_stmt_done(s);
	if (status == DB_DONE)
		while (i < count)
			group_flush(&group, accounts[i++]);
	group_free(&group);
	return status == DB_DONE ? DB_OK : status;
}

json_t *sa_present(api_ctx *ctx, int64_t sa_gid)
{
	json_t *account = NULL;
	db_stmt *s;
	int status;

	s = db_query(ctx->db, "SELECT " SA_COLUMNS SA_FROM " WHERE sa.user_gid = ? AND sa.workspace_gid = ?");
	if (s == NULL)
		return NULL;
	db_bind_int64(s, 0, sa_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW)
		account = sa_from_row(ctx, s);
	db_stmt_done(s);
	if (account == NULL)
		return NULL;
	if (attach_tokens(ctx, &account, &sa_gid, 1) != DB_OK) {
		json_decref(account);
		return NULL;
	}
	return account;
}

/*
 * For opt_fields expansion: only super admins see service accounts, on any
 * plan like GET /service_accounts/{gid}, and nothing is replied.
 */
static json_t *sa_load(api_ctx *ctx, int64_t gid)
{
	if (ctx->who.kind != PRINCIPAL_PERSON || ctx->who.role != ROLE_SUPER_ADMIN)
		return NULL;
	return sa_present(ctx, gid);
}

const struct api_type api_service_account_type = {
	.name = "service_account",
	.fields = sa_fields,
	.compact = sa_compact,
	.refs = sa_refs,
	.load = sa_load,
};

/* Replies with the account after a change; a missing account here means it was deleted meanwhile. */
static int reply_account(api_ctx *ctx, int status, int64_t sa_gid)
{
	json_t *account = sa_present(ctx, sa_gid);

	if (account == NULL)
		return api_not_found(ctx, "service account", sa_gid);
	return api_reply(ctx, status, api_present(ctx, &api_service_account_type, account));
}

/* ---------- GET /workspaces/{workspace_gid}/service_accounts ---------- */

static int sa_list(api_ctx *ctx)
{
	struct api_page page;
	int64_t workspace_gid, *gids = NULL;
	json_t **accounts = NULL, *items;
	int fetched = 0, count = 0, status;
	db_stmt *s;

	if (sa_require_manager_any_plan(ctx))
		return 0;
	if (api_param_gid(ctx, "workspace_gid", &workspace_gid) || check_workspace(ctx, workspace_gid))
		return 0;
	if (api_page_parse(ctx, &page))
		return 0;

	gids = calloc((size_t)page.limit + 1, sizeof(*gids));
	accounts = calloc((size_t)page.limit + 1, sizeof(*accounts));
	if (gids == NULL || accounts == NULL) {
		free(gids);
		free(accounts);
		return api_error(ctx, 500, "Server error: out of memory.");
	}

	s = db_query(ctx->db, "SELECT " SA_COLUMNS SA_FROM
			      " WHERE sa.workspace_gid = ? AND sa.user_gid > ? ORDER BY sa.user_gid LIMIT ?");
	if (s == NULL) {
		free(gids);
		free(accounts);
		return api_fail_db(ctx, DB_ERROR);
	}
	db_bind_int64(s, 0, ctx->who.workspace_gid);
	db_bind_int64(s, 1, page.after);
	db_bind_int64(s, 2, (int64_t)page.limit + 1);
	for (;;) {
		status = db_step(s);
		if (status != DB_ROW)
			break;
		if (fetched < page.limit) {
			gids[count] = db_column_int64(s, SC_GID);
			accounts[count++] = sa_from_row(ctx, s);
		}
		fetched++;
	}
	db_stmt_done(s);

	/* Last use and tokens cost a second query, so it runs only when opt_fields asks for them. */
	if (status == DB_DONE &&
	    (api_wants(ctx, "tokens") || api_wants(ctx, "last_used_at") || api_wants(ctx, "last_used_ip")))
		status = attach_tokens(ctx, accounts, gids, count) == DB_OK ? DB_DONE : DB_ERROR;

	items = json_array();
	for (int i = 0; i < count; i++)
		json_array_append_new(items, api_present(ctx, &api_service_account_type, accounts[i]));
	free(accounts);
	if (status != DB_DONE) {
		free(gids);
		json_decref(items);
		return api_fail_db(ctx, status);
	}
	api_page_rows(&page, fetched);
	page.next_after = count ? gids[count - 1] : 0;
	free(gids);
	return api_reply_list(ctx, items, &page);
}

/* ---------- POST /workspaces/{workspace_gid}/service_accounts ---------- */

static const struct api_field sa_create_fields[] = {
	{ "name", AF_STRING, AF_REQUIRED, SA_NAME_MAX_BYTES, NULL },
	{ "permissions", AF_ANY, AF_REQUIRED | AF_FORM_LIST, 0, NULL },
	{ "token_expires_at", AF_DATETIME, AF_NULLABLE, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Inserts the user, its membership and its service_accounts row inside the open transaction. Returns a db status. */
static int account_insert(api_ctx *ctx, int64_t sa_gid, const char *name, const char *scopes, int64_t now)
{
	char email[96], gid_text[GID_STRING_MAX];
	db_stmt *s;
	int status;

	/* The .invalid top-level domain (RFC 2606) can never receive mail, and no password is ever set. */
	snprintf(email, sizeof(email), "sa.%s@" SA_EMAIL_DOMAIN, gid_format(sa_gid, gid_text));
	s = db_query(ctx->db, "INSERT INTO users (gid, workspace_gid, email, email_lower, name, kind, password_hash,"
			      " photo_key, created_at, modified_at)"
			      " VALUES (?, ?, ?, ?, ?, 'service_account', NULL, NULL, ?, ?)");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, sa_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_text(s, 2, email);
	db_bind_text(s, 3, email);
	db_bind_text(s, 4, name);
	db_bind_int64(s, 5, now);
	db_bind_int64(s, 6, now);
	status = db_run(s);
	if (status != DB_OK)
		return status;

	s = db_query(ctx->db, "INSERT INTO workspace_memberships (gid, workspace_gid, user_gid, role, is_active,"
			      " created_at) VALUES (?, ?, ?, 'member', 1, ?)");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, gid_next());
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_int64(s, 2, sa_gid);
	db_bind_int64(s, 3, now);
	status = db_run(s);
	if (status != DB_OK)
		return status;

	s = db_query(ctx->db, "INSERT INTO service_accounts (user_gid, workspace_gid, scopes, created_by, created_at,"
			      " modified_at) VALUES (?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, sa_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	db_bind_text(s, 2, scopes);
	db_bind_int64(s, 3, ctx->who.user_gid);
	db_bind_int64(s, 4, now);
	db_bind_int64(s, 5, now);
	return db_run(s);
}

static int sa_create(api_ctx *ctx)
{
	char name[SA_NAME_MAX_BYTES + 1], scopes[64], token[TOKEN_MAX], gid_text[GID_STRING_MAX], location[64];
	int64_t workspace_gid, sa_gid, token_gid, expires_at = 0, now = time_now_us();
	unsigned scope_bits;
	json_t *account, *details;
	int status;

	if (sa_require_manager(ctx))
		return 0;
	if (api_param_gid(ctx, "workspace_gid", &workspace_gid) || check_workspace(ctx, workspace_gid))
		return 0;
	if (api_check_body(ctx, sa_create_fields))
		return 0;
	if (sa_name_parse(ctx, api_body_string(ctx, "name"), name, sizeof(name)))
		return 0;
	if (permissions_parse(ctx, json_object_get(ctx->body, "permissions"), &scope_bits))
		return 0;
	if (sa_expiry_parse(ctx, "token_expires_at", &expires_at))
		return 0;
	scopes_text(scope_bits, scopes, sizeof(scopes));

	if (api_begin_write(ctx))
		return 0;
	sa_gid = gid_next();
	status = account_insert(ctx, sa_gid, name, scopes, now);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	status = sa_token_insert(ctx, sa_gid, "", expires_at, token, &token_gid);
	if (status != DB_OK) {
		sodium_memzero(token, sizeof(token));
		return api_fail_db(ctx, status);
	}
	details = json_object();
	json_object_set_new(details, "permissions", permissions_json(scope_bits));
	status = sa_audit(ctx, "service_account_created", sa_gid, name, details);
	if (status == DB_OK) {
		details = json_object();
		json_object_set_new(details, "token_gid", api_gid(token_gid));
		json_object_set_new(details, "expires_at", api_time(expires_at));
		status = sa_audit(ctx, "service_account_token_created", sa_gid, name, details);
	}
	if (status != DB_OK) {
		sodium_memzero(token, sizeof(token));
		return api_fail_db(ctx, status);
	}
	if (api_commit(ctx)) {
		sodium_memzero(token, sizeof(token));
		return 0;
	}
	log_info("service_accounts", "service account created", "request_id", ctx->req->request_id,
		 "service_account", LOG_INT(sa_gid), "token_gid", LOG_INT(token_gid), "actor",
		 LOG_INT(ctx->who.user_gid), NULL);

	/* The token is added after opt_fields projection: this response is the only place it appears. */
	account = sa_present(ctx, sa_gid);
	if (account == NULL) {
		sodium_memzero(token, sizeof(token));
		return api_fail_db(ctx, DB_ERROR);
	}
	account = api_present(ctx, &api_service_account_type, account);
	json_object_set_new(account, "token", json_string(token));
	json_object_set_new(account, "token_gid", api_gid(token_gid));
	sodium_memzero(token, sizeof(token));
	snprintf(location, sizeof(location), "/service_accounts/%s", gid_format(sa_gid, gid_text));
	return api_reply_created(ctx, account, location);
}

/* ---------- GET /service_accounts/{service_account_gid} ---------- */

static int sa_get(api_ctx *ctx)
{
	int64_t sa_gid;

	if (sa_require_manager_any_plan(ctx))
		return 0;
	if (api_param_gid(ctx, "service_account_gid", &sa_gid) || sa_require_target(ctx, sa_gid))
		return 0;
	return reply_account(ctx, 200, sa_gid);
}

/* ---------- PUT /service_accounts/{service_account_gid} ---------- */

static const struct api_field sa_update_fields[] = {
	{ "name", AF_STRING, 0, SA_NAME_MAX_BYTES, NULL },
	{ "permissions", AF_ANY, AF_FORM_LIST, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Reads the current name and scopes inside the write transaction. Returns DB_ROW, DB_DONE or an error status. */
static int account_current(api_ctx *ctx, int64_t sa_gid, char *name, size_t name_len, unsigned *scopes_r)
{
	db_stmt *s = db_query(ctx->db, "SELECT u.name, sa.scopes FROM service_accounts sa"
				       " JOIN users u ON u.gid = sa.user_gid"
				       " WHERE sa.user_gid = ? AND sa.workspace_gid = ?");
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, sa_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_ROW) {
		snprintf(name, name_len, "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
		*scopes_r = auth_scopes_parse(db_column_text(s, 1));
	}
	db_stmt_done(s);
	return status;
}

static int rename_account(api_ctx *ctx, int64_t sa_gid, const char *old_name, const char *new_name, int64_t now)
{
	db_stmt *s = db_query(ctx->db, "UPDATE users SET name = ?, modified_at = ? WHERE gid = ? AND workspace_gid = ?");
	json_t *details;
	int status;

	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, new_name);
	db_bind_int64(s, 1, now);
	db_bind_int64(s, 2, sa_gid);
	db_bind_int64(s, 3, ctx->who.workspace_gid);
	status = db_run(s);
	if (status != DB_OK)
		return status;
	details = json_object();
	json_object_set_new(details, "old_name", json_string(old_name));
	json_object_set_new(details, "new_name", json_string(new_name));
	return sa_audit(ctx, "service_account_renamed", sa_gid, new_name, details);
}

static int change_permissions(api_ctx *ctx, int64_t sa_gid, const char *name, unsigned old_scopes,
			      unsigned new_scopes, int64_t now)
{
	db_stmt *s = db_query(ctx->db, "UPDATE service_accounts SET scopes = ?, modified_at = ?"
				       " WHERE user_gid = ? AND workspace_gid = ?");
	char text[64];
	json_t *details;
	int status;

	if (s == NULL)
		return DB_ERROR;
	scopes_text(new_scopes, text, sizeof(text));
	db_bind_text(s, 0, text);
	db_bind_int64(s, 1, now);
	db_bind_int64(s, 2, sa_gid);
	db_bind_int64(s, 3, ctx->who.workspace_gid);
	status = db_run(s);
	if (status != DB_OK)
		return status;
	details = json_object();
	json_object_set_new(details, "old_permissions", permissions_json(old_scopes));
	json_object_set_new(details, "new_permissions", permissions_json(new_scopes));
	return sa_audit(ctx, "service_account_permissions_changed", sa_gid, name, details);
}

static int sa_update(api_ctx *ctx)
{
	char new_name[SA_NAME_MAX_BYTES + 1] = "", old_name[SA_NAME_MAX_BYTES + 1];
	int64_t sa_gid, now = time_now_us();
	unsigned new_scopes = 0, old_scopes = 0;
	int has_name, has_permissions, status;

	if (sa_require_manager(ctx))
		return 0;
	if (api_param_gid(ctx, "service_account_gid", &sa_gid))
		return 0;
	if (api_check_body(ctx, sa_update_fields))
		return 0;
	has_name = api_body_has(ctx, "name");
	has_permissions = api_body_has(ctx, "permissions");
	if (has_name && sa_name_parse(ctx, api_body_string(ctx, "name"), new_name, sizeof(new_name)))
		return 0;
	if (has_permissions && permissions_parse(ctx, json_object_get(ctx->body, "permissions"), &new_scopes))
		return 0;

	if (api_begin_write(ctx))
		return 0;
	status = account_current(ctx, sa_gid, old_name, sizeof(old_name), &old_scopes);
	if (status == DB_DONE) {
		db_rollback(ctx->db);
		return api_not_found(ctx, "service account", sa_gid);
	}
	if (status != DB_ROW)
		return api_fail_db(ctx, status);

	/* Only real changes are written and audited, so a form saved unchanged leaves no record. */
	if (has_name && strcmp(new_name, old_name) != 0) {
		status = rename_account(ctx, sa_gid, old_name, new_name, now);
		if (status != DB_OK)
			return api_fail_db(ctx, status);
	}
	if (has_permissions && new_scopes != old_scopes) {
		status = change_permissions(ctx, sa_gid, has_name ? new_name : old_name, old_scopes, new_scopes, now);
		if (status != DB_OK)
			return api_fail_db(ctx, status);
	}
	if (api_commit(ctx))
		return 0;
	return reply_account(ctx, 200, sa_gid);
}

/* ---------- DELETE /service_accounts/{service_account_gid} ---------- */

/*
 * Deleting keeps the user row, so tasks, comments and memberships still
 * show who acted, but the account can never authenticate again: every
 * token is revoked, the membership is deactivated, and the service_accounts
 * row, which token authentication requires, is gone. Photos are removed.
 */
static int sa_delete(api_ctx *ctx)
{
	static const char *const steps[] = {
		"UPDATE workspace_memberships SET is_active = 0 WHERE workspace_gid = ? AND user_gid = ?",
		"DELETE FROM photos WHERE workspace_gid = ? AND user_gid = ?",
		"DELETE FROM service_accounts WHERE workspace_gid = ? AND user_gid = ?",
	};
	char name[SA_NAME_MAX_BYTES + 1];
	int64_t sa_gid, now = time_now_us();
	unsigned scopes;
	json_t *revoked, *details;
	db_stmt *s;
	int status;

	if (sa_require_manager_any_plan(ctx))
		return 0;
	if (api_param_gid(ctx, "service_account_gid", &sa_gid))
		return 0;

	if (api_begin_write(ctx))
		return 0;
	status = account_current(ctx, sa_gid, name, sizeof(name), &scopes);
	if (status == DB_DONE) {
		db_rollback(ctx->db);
		return api_not_found(ctx, "service account", sa_gid);
	}
	if (status != DB_ROW)
		return api_fail_db(ctx, status);

	status = sa_tokens_revoke_all(ctx, sa_gid, now, &revoked);
	for (size_t i = 0; status == DB_OK && i < sizeof(steps) / sizeof(steps[0]); i++) {
		s = db_query(ctx->db, steps[i]);
		if (s == NULL) {
			status = DB_ERROR;
			break;
		}
		db_bind_int64(s, 0, ctx->who.workspace_gid);
		db_bind_int64(s, 1, sa_gid);
		status = db_run(s);
	}
	if (status == DB_OK) {
		s = db_query(ctx->db, "UPDATE users SET photo_key = NULL, modified_at = ? WHERE gid = ? AND workspace_gid = ?");
		status = s ? DB_OK : DB_ERROR;
		if (s != NULL) {
			db_bind_int64(s, 0, now);
			db_bind_int64(s, 1, sa_gid);
			db_bind_int64(s, 2, ctx->who.workspace_gid);
			status = db_run(s);
		}
	}
	if (status != DB_OK) {
		json_decref(revoked);
		return api_fail_db(ctx, status);
	}

	details = json_object();
	json_object_set_new(details, "permissions", permissions_json(scopes));
	json_object_set_new(details, "revoked_token_gids", revoked);
	status = sa_audit(ctx, "service_account_deleted", sa_gid, name, details);
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx))
		return 0;
	log_info("service_accounts", "service account deleted", "request_id", ctx->req->request_id, "service_account",
		 LOG_INT(sa_gid), "actor", LOG_INT(ctx->who.user_gid), NULL);
	return api_reply_empty(ctx);
}

/* ---------- routes ---------- */

/*
 * kontor's extension for service accounts, in Asana's conventions. The
 * photo endpoints (PUT and DELETE /service_accounts/{gid}/photo) are in
 * photos.c.
 */
const struct api_route api_service_accounts_routes[] = {
	{ "GET", "/workspaces/{workspace_gid}/service_accounts", sa_list, API_LIST, &api_service_account_type },
	{ "POST", "/workspaces/{workspace_gid}/service_accounts", sa_create, API_WRITE | API_BODY,
	  &api_service_account_type },
	{ "GET", "/service_accounts/{service_account_gid}", sa_get, 0, &api_service_account_type },
	{ "PUT", "/service_accounts/{service_account_gid}", sa_update, API_WRITE | API_BODY, &api_service_account_type },
	{ "DELETE", "/service_accounts/{service_account_gid}", sa_delete, API_WRITE, NULL },
	{ "GET", "/service_accounts/{service_account_gid}/tokens", sa_tokens_list, API_LIST,
	  &api_service_account_token_type },
	{ "POST", "/service_accounts/{service_account_gid}/tokens", sa_token_rotate, API_WRITE,
	  &api_service_account_token_type },
	{ "DELETE", "/service_accounts/{service_account_gid}/tokens/{token_gid}", sa_token_revoke, API_WRITE, NULL },
	{ "POST", "/service_accounts/{service_account_gid}/deauthorize", sa_deauthorize, API_WRITE,
	  &api_service_account_type },
	{ NULL, NULL, NULL, 0, NULL },
};
