/*
 * GET /workspaces/{workspace_gid}/typeahead: the objects of one resource
 * type (user, project, tag, task or team) whose name matches what a person
 * has typed so far, for auto-completion in scripts and tools. Like Asana's,
 * the result is one short unpaged list (`count`, 1 to 100, default 20) of
 * objects the caller may see, compact ({gid, resource_type, name}) unless
 * opt_fields requests more.
 *
 * Matching: each word of the query must be the start of a word of the name,
 * and a user also matches when the query starts their e-mail address. Case
 * is folded for ASCII and Latin-1 letters (å, ä, ö, é, ü ...). SQLite's
 * lower() folds ASCII only and PostgreSQL's follows the database locale,
 * so SQL only narrows the rows with a LIKE that is true on both engines for
 * every row that can match, and the exact rule runs here in C. Both engines
 * therefore return the same objects.
 *
 * Order: projects by most recent change, tasks the caller follows first and
 * then by most recent change (Asana orders by the caller's own activity,
 * which kontor does not record). Users, tags and teams come in name order,
 * those whose name starts with the query first.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/task_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TYPEAHEAD_COUNT_DEFAULT 20
#define TYPEAHEAD_COUNT_MAX 100
#define TYPEAHEAD_QUERY_MAX 256 /* bytes of the query after trimming */
#define TYPEAHEAD_WORDS_MAX 16  /* words of the query that must all match */

/* ---------- matching ---------- */

/*
 * Decodes one UTF-8 character at `s` into *cp_r and returns its length, or
 * 0 when the bytes are not valid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).
 */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp_r)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		cp = s[0] & 0x1fu;
		len = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		cp = s[0] & 0x0fu;
		len = 3;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		cp = s[0] & 0x07u;
		len = 4;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

/* Lower-cases ASCII and the Latin-1 capitals U+00C0 to U+00DE (but U+00D7, the multiplication sign). */
static uint32_t fold_char(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
		return cp + 32;
	return cp;
}

/* Letters and digits of any script start or continue a word; ASCII punctuation and spaces separate words. */
static int is_word_char(uint32_t cp)
{
	return cp >= 0x80 || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
}

/*
 * Folds the UTF-8 text `in` into a new array of code points (the caller
 * frees it) and sets *len_r. Invalid bytes become U+FFFD so that stored
 * names of any origin can be compared. Returns NULL when out of memory.
 */
static uint32_t *fold_text(const char *in, size_t *len_r)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), count = 0;
	uint32_t *out = malloc((n + 1) * sizeof(*out));

	if (out == NULL)
		return NULL;
	while (*s) {
		uint32_t cp;
		size_t len = utf8_decode(s, &cp);

		if (len == 0) {
			cp = 0xfffd;
			len = 1;
		}
		out[count++] = fold_char(cp);
		s += len;
	}
	*len_r = count;
	return out;
}

/* The query, folded and split into words. */
struct typeahead_query {
	uint32_t *text; /* folded code points of the trimmed query */
	size_t len;
	size_t word_start[TYPEAHEAD_WORDS_MAX];
	size_t word_len[TYPEAHEAD_WORDS_MAX];
	int words;
};

/* 1 when `word` (len code points) starts at a word start of `name`. */
static int word_prefix_in(const uint32_t *name, size_t name_len, const uint32_t *word, size_t len)
{
	for (size_t i = 0; i + len <= name_len; i++) {
		if (i > 0 && is_word_char(name[i - 1]))
			continue;
		if (memcmp(name + i, word, len * sizeof(*word)) == 0)
			return 1;
	}
	return 0;
}

/* 1 when the folded `prefix` starts the folded `text`. */
static int starts_with(const uint32_t *text, size_t text_len, const uint32_t *prefix, size_t len)
{
	return len <= text_len && memcmp(text, prefix, len * sizeof(*prefix)) == 0;
}

/*
 * Matches a name (and a user's e-mail address, or NULL) against the query.
 * Returns 0 for no match, 1 when the name starts with the whole query, 2
 * for any other match (a later word, or the e-mail address), or -1 when
 * out of memory.
 */
static int query_match(const struct typeahead_query *q, const char *name, const char *email)
{
	size_t name_len = 0, email_len = 0;
	uint32_t *folded_name, *folded_email = NULL;
	int result = 2;

	if (q->words == 0)
		return 1;
	folded_name = fold_text(name ? name : "", &name_len);
	if (folded_name == NULL)
		return -1;
	for (int i = 0; i < q->words && result != 0; i++)
		if (!word_prefix_in(folded_name, name_len, q->text + q->word_start[i], q->word_len[i]))
			result = 0;
	if (result != 0 && starts_with(folded_name, name_len, q->text, q->len))
		result = 1;
	if (result == 0 && email != NULL) {
		folded_email = fold_text(email, &email_len);
		if (folded_email == NULL) {
			free(folded_name);
			return -1;
		}
		if (starts_with(folded_email, email_len, q->text, q->len))
			result = 2;
	}
	free(folded_email);
	free(folded_name);
	return result;
}

/*
 * Parses the query parameter: trims spaces, checks its length and UTF-8,
 * folds it and splits it into words. Returns 0, or -1 after replying 400.
 */
static int query_parse(api_ctx *ctx, const char *raw, struct typeahead_query *q)
{
	const char *start = raw ? raw : "";
	size_t n;

	memset(q, 0, sizeof(*q));
	while (*start == ' ' || *start == '\t')
		start++;
	n = strlen(start);
	while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
		n--;
	if (n > TYPEAHEAD_QUERY_MAX) {
		api_error(ctx, 400, "query: at most %d bytes; send the first characters of the name only.",
			  TYPEAHEAD_QUERY_MAX);
		return -1;
	}

	q->text = malloc((n + 1) * sizeof(*q->text));
	if (q->text == NULL)
		return api_fail_db(ctx, DB_ERROR), -1;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode((const unsigned char *)start + i, &cp);

		if (len == 0 || i + len > n || cp < 0x20 || cp == 0x7f) {
			api_error(ctx, 400, "query: must be UTF-8 text without control characters; percent-encode "
					    "the text as UTF-8.");
			return -1;
		}
		q->text[q->len++] = fold_char(cp);
		i += len;
	}

	for (size_t i = 0; i < q->len;) {
		size_t end;

		while (i < q->len && q->text[i] == ' ')
			i++;
		if (i == q->len)
			break;
		end = i;
		while (end < q->len && q->text[end] != ' ')
			end++;
		if (q->words == TYPEAHEAD_WORDS_MAX) {
			api_error(ctx, 400, "query: at most %d words; send fewer words.", TYPEAHEAD_WORDS_MAX);
			return -1;
		}
		q->word_start[q->words] = i;
		q->word_len[q->words] = end - i;
		q->words++;
		i = end;
	}
	return 0;
}

/*
 * Builds the LIKE pattern that narrows the rows in SQL: "%word%" for the
 * query's first word, with '!' escaping '%', '_' and '!' so that they match
 * literally. A non-ASCII character becomes '_' (any one character), because
 * the engines' lower() differ on such letters. Returns a new string, or
 * NULL when out of memory.
 */
static char *like_pattern(const struct typeahead_query *q)
{
	size_t len = q->words > 0 ? q->word_len[0] : 0;
	const uint32_t *word = q->words > 0 ? q->text + q->word_start[0] : NULL;
	char *pattern = malloc(2 * len + 3), *p = pattern;

	if (pattern == NULL)
		return NULL;
	*p++ = '%';
	for (size_t i = 0; i < len; i++) {
		if (word[i] == '%' || word[i] == '_' || word[i] == '!') {
			*p++ = '!';
			*p++ = (char)word[i];
		} else if (word[i] >= 0x80) {
			*p++ = '_';
		} else {
			*p++ = (char)word[i];
		}
	}
	*p++ = '%';
	*p = '\0';
	return pattern;
}

/* ---------- candidates ---------- */

/*
 * The kinds the typeahead serves. Each statement selects gid, name, e-mail
 * (users) or NULL, and 1 when the row is visible or 0 when a subtask's
 * ancestors must be checked, bounded by the caller's organization.
 *
 * NOTE: lower(name) LIKE '%...%' uses no index, so each request reads the
 * organization's rows of one type. Tasks and projects stop after `count`
 * matches, while users, tags and teams are read whole to sort them by name.
 */
enum typeahead_kind { KIND_USER, KIND_PROJECT, KIND_TAG, KIND_TASK, KIND_TEAM };

static const char users_sql[] =
	"SELECT u.gid, u.name, u.email_lower, 1 FROM users u"
	" JOIN workspace_memberships m ON m.workspace_gid = u.workspace_gid AND m.user_gid = u.gid"
	" WHERE u.workspace_gid = ? AND m.is_active = 1"
	" AND (lower(u.name) LIKE ? ESCAPE '!' OR u.email_lower LIKE ? ESCAPE '!')"
	" AND " GUEST_SEES_USER_SQL("u.gid");

/* Archived projects come after the others. */
static const char projects_sql[] =
	"SELECT p.gid, p.name, NULL, 1 FROM projects p"
	" WHERE p.workspace_gid = ? AND lower(p.name) LIKE ? ESCAPE '!' AND " TASK_PROJECT_VISIBLE_SQL("p")
	" ORDER BY p.archived, p.modified_at DESC, p.gid DESC";

/* Every member may see every tag. Guests may see tags only on tasks, so the typeahead lists none to them. */
static const char tags_sql[] =
	"SELECT tg.gid, tg.name, NULL, 1 FROM tags tg"
	" WHERE tg.workspace_gid = ? AND lower(tg.name) LIKE ? ESCAPE '!' AND ? = 0";

/*
 * The task candidates: the organization's most recently modified tasks and
 * the newest tasks the caller follows, TYPEAHEAD_TASK_WINDOW of each. A search over
 * every task took seconds on a million tasks (13 s for a one-letter query),
 * long enough for a few callers to hold every worker thread. Both sets come
 * from indexes (tasks_modified, task_followers_user).
 * NOTE: an older task that the caller does not follow is not found by name.
 */
/* SQL text: PostgreSQL's generic plans see the row count of a literal LIMIT, which a parameter hides. */
#define TYPEAHEAD_TASK_WINDOW "10000"

/*
 * A task is visible directly (TASK_VISIBLE_SQL) or through its ancestors;
 * subtasks not visible directly are checked with api_can_see_task.
 */
static const char tasks_sql[] =
	"SELECT x.gid, x.name, NULL, x.visible FROM ("
	"SELECT t.gid, t.name, t.parent_gid, t.modified_at,"
	" CASE WHEN EXISTS (SELECT 1 FROM task_followers f WHERE f.task_gid = t.gid AND f.user_gid = ?)"
	" THEN 1 ELSE 0 END AS followed,"
	" CASE WHEN " TASK_VISIBLE_SQL("t") " THEN 1 ELSE 0 END AS visible"
	" FROM tasks t JOIN ("
	"SELECT recent.gid FROM (SELECT r.gid FROM tasks r WHERE r.workspace_gid = ?"
	" ORDER BY r.modified_at DESC LIMIT " TYPEAHEAD_TASK_WINDOW ") recent"
	" UNION SELECT mine.task_gid FROM (SELECT cf.task_gid FROM task_followers cf"
	" WHERE cf.user_gid = ? AND cf.workspace_gid = ? ORDER BY cf.task_gid DESC LIMIT " TYPEAHEAD_TASK_WINDOW ") mine"
	") candidate ON candidate.gid = t.gid"
	" WHERE t.workspace_gid = ? AND lower(t.name) LIKE ? ESCAPE '!') x"
	" WHERE x.visible = 1 OR x.parent_gid IS NOT NULL"
	" ORDER BY x.followed DESC, x.modified_at DESC, x.gid DESC";

/* Teams the caller may see, by the rule of the team lists (TEAM_VISIBLE_SQL). */
static const char teams_sql[] =
	"SELECT t.gid, t.name, NULL, 1 FROM teams t"
	" WHERE t.workspace_gid = ? AND lower(t.name) LIKE ? ESCAPE '!' AND" TEAM_VISIBLE_SQL;

/* Prepares and binds the statement of `kind`. Returns NULL when storage failed. */
static db_stmt *candidates_query(api_ctx *ctx, enum typeahead_kind kind, const char *pattern)
{
	int64_t org = ctx->who.workspace_gid;
	db_stmt *s = NULL;
	int i;

	switch (kind) {
	case KIND_USER:
		s = db_query(ctx->db, users_sql);
		if (s == NULL)
			return NULL;
		db_bind_int64(s, 0, org);
		db_bind_text(s, 1, pattern);
		/* The e-mail must start with the query, so its pattern drops the leading '%'. */
		db_bind_text(s, 2, pattern + 1);
		api_bind_guest_sees(ctx, s, 3);
		break;
	case KIND_PROJECT:
		s = db_query(ctx->db, projects_sql);
		if (s == NULL)
			return NULL;
		db_bind_int64(s, 0, org);
		db_bind_text(s, 1, pattern);
		task_bind_project_visible(ctx, s, 2);
		break;
	case KIND_TAG:
		s = db_query(ctx->db, tags_sql);
		if (s == NULL)
			return NULL;
		db_bind_int64(s, 0, org);
		db_bind_text(s, 1, pattern);
		db_bind_int64(s, 2, api_caller_is_guest(ctx));
		break;
	case KIND_TASK:
		s = db_query(ctx->db, tasks_sql);
		if (s == NULL)
			return NULL;
		db_bind_int64(s, 0, ctx->who.user_gid);
		i = task_bind_task_visible(ctx, s, 1);
		db_bind_int64(s, i, org);
		db_bind_int64(s, i + 1, ctx->who.user_gid);
		db_bind_int64(s, i + 2, org);
		db_bind_int64(s, i + 3, org);
		db_bind_text(s, i + 4, pattern);
		break;
	case KIND_TEAM:
		s = db_query(ctx->db, teams_sql);
		if (s == NULL)
			return NULL;
		db_bind_int64(s, 0, org);
		db_bind_text(s, 1, pattern);
		api_bind_team_visible(ctx, s, 2);
		break;
	}
	return s;
}

/* ---------- results ---------- */

struct typeahead_hit {
	int64_t gid;
	int rank;   /* 1: the name starts with the query; 2: another match */
	char *name;
	uint32_t *key; /* the folded name, for sorting by name; NULL in SQL order */
	size_t key_len;
};

/* The best `max` hits so far, in reply order. */
struct typeahead_hits {
	struct typeahead_hit *items;
	int count;
	int max;
	int by_name; /* sort by rank and name here, else keep the SQL order */
};

/*
 * Orders by rank, then by folded name in code-point order (the same on both
 * engines, but not the Swedish alphabet: Ä comes before Å), then by gid.
 */
static int hit_before(const struct typeahead_hit *a, const struct typeahead_hit *b)
{
	size_t common = a->key_len < b->key_len ? a->key_len : b->key_len;

	if (a->rank != b->rank)
		return a->rank < b->rank;
	for (size_t i = 0; i < common; i++)
		if (a->key[i] != b->key[i])
			return a->key[i] < b->key[i];
	if (a->key_len != b->key_len)
		return a->key_len < b->key_len;
	return a->gid < b->gid;
}

static void hit_free(struct typeahead_hit *hit)
{
	free(hit->name);
	free(hit->key);
}

/*
 * Adds a hit, keeping the `max` best in order; the hits take `name`.
 * Returns 0, or -1 when out of memory (and frees `name`).
 */
static int hits_add(struct typeahead_hits *hits, int64_t gid, int rank, char *name)
{
	struct typeahead_hit hit = { .gid = gid, .rank = rank, .name = name };
	int at = hits->count;

	if (name == NULL)
		return -1;
	if (hits->by_name) {
		hit.key = fold_text(name, &hit.key_len);
		if (hit.key == NULL) {
			free(name);
			return -1;
		}
		while (at > 0 && hit_before(&hit, &hits->items[at - 1]))
			at--;
	}
	if (at >= hits->max) {
		hit_free(&hit);
		return 0;
	}
	if (hits->count == hits->max) {
		hit_free(&hits->items[hits->count - 1]);
		hits->count--;
	}
	memmove(&hits->items[at + 1], &hits->items[at], (size_t)(hits->count - at) * sizeof(hit));
	hits->items[at] = hit;
	hits->count++;
	return 0;
}

static void hits_free(struct typeahead_hits *hits)
{
	for (int i = 0; i < hits->count; i++)
		hit_free(&hits->items[i]);
	free(hits->items);
	hits->items = NULL;
	hits->count = 0;
}

/*
 * Reads the candidates of `kind`, keeps those that match and that the
 * caller may see, and collects the best hits. Returns a db status.
 */
static int hits_collect(api_ctx *ctx, enum typeahead_kind kind, const struct typeahead_query *q,
			struct typeahead_hits *hits)
{
	char *pattern = like_pattern(q);
	db_stmt *s;
	int rc;

	if (pattern == NULL)
		return DB_ERROR;
	s = candidates_query(ctx, kind, pattern);
	if (s == NULL) {
		free(pattern);
		return DB_ERROR;
	}
	for (;;) {
		const char *name;
		int64_t gid;
		int rank;

		rc = db_step(s);
		if (rc != DB_ROW)
			break;
		/* In SQL order, the first `max` hits are the reply. */
		if (!hits->by_name && hits->count == hits->max) {
			rc = DB_DONE;
			break;
		}
		gid = db_column_int64(s, 0);
		name = db_column_text(s, 1);
		rank = query_match(q, name, db_column_text(s, 2));
		if (rank < 0) {
			rc = DB_ERROR;
			break;
		}
		if (rank == 0)
			continue;
		if (db_column_int64(s, 3) == 0) {
			int exists = 0;
			/* PostgreSQL's driver has fetched every row, and SQLite allows a second statement meanwhile. */
			int visible = api_can_see_task(ctx, gid, &exists);

			if (visible < 0) {
				rc = DB_ERROR;
				break;
			}
			if (visible == 0)
				continue;
		}
		if (hits_add(hits, gid, rank, strdup(name ? name : "")) != 0) {
			rc = DB_ERROR;
			break;
		}
	}
	db_stmt_done(s);
	free(pattern);
	return rc == DB_DONE ? DB_OK : rc;
}

/* ---------- the request ---------- */

struct typeahead_type {
	const char *name;
	enum typeahead_kind kind;
	const struct api_type *type;
};

/*
 * The resource types kontor serves. `actor` is Asana's users and agents
 * together; kontor has no agents, so it returns users.
 */
static const struct typeahead_type served_types[] = {
	{ "user", KIND_USER, &api_user_type },     { "actor", KIND_USER, &api_user_type },
	{ "project", KIND_PROJECT, &api_project_type }, { "tag", KIND_TAG, &api_tag_type },
	{ "task", KIND_TASK, &api_task_type },     { "team", KIND_TEAM, &api_team_type },
};

/* Types in Asana's reference that kontor has no objects of. */
static const char *const absent_types[] = { "agent", "custom_field", "goal", "portfolio", "project_template", NULL };

#define SERVED_LIST "user, actor, project, tag, task and team"

/*
 * Reads resource_type, or the older `type`, which Asana still accepts.
 * Returns the served type, or NULL after replying 400.
 */
static const struct typeahead_type *type_parse(api_ctx *ctx)
{
	const char *param = "resource_type";
	const char *value = api_query(ctx, param);

	if (value == NULL) {
		param = "type";
		value = api_query(ctx, param);
	}
	if (value == NULL)
		value = "user";
	for (size_t i = 0; i < sizeof(served_types) / sizeof(served_types[0]); i++)
		if (strcmp(value, served_types[i].name) == 0)
			return &served_types[i];
	for (size_t i = 0; absent_types[i] != NULL; i++)
		if (strcmp(value, absent_types[i]) == 0) {
			api_error(ctx, 400, "%s: kontor has no %s objects to search; use one of " SERVED_LIST ".",
				  param, value);
			return NULL;
		}
	api_error(ctx, 400, "%s: \"%.40s\" is not a resource type; use one of " SERVED_LIST ".", param, value);
	return NULL;
}

/* Reads count: 1 to TYPEAHEAD_COUNT_MAX, TYPEAHEAD_COUNT_DEFAULT when absent. Returns -1 after replying 400. */
static int count_parse(api_ctx *ctx, int *count_r)
{
	const char *text = api_query(ctx, "count");
	char *end = NULL;
	long value;

	*count_r = TYPEAHEAD_COUNT_DEFAULT;
	if (text == NULL)
		return 0;
	value = strtol(text, &end, 10);
	/* strtol skips leading spaces and takes a sign, which a count must not have. */
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || value < 1 || value > TYPEAHEAD_COUNT_MAX) {
		api_error(ctx, 400, "count: must be an integer from 1 to %d, got \"%.20s\".", TYPEAHEAD_COUNT_MAX,
			  text);
		return -1;
	}
	*count_r = (int)value;
	return 0;
}

/*
 * The route carries no resource type because resource_type picks it, so
 * the dispatcher has not checked opt_fields against one: parse them again
 * with the chosen type. Returns -1 after replying 400.
 */
static int fields_check(api_ctx *ctx, const struct api_type *type)
{
	const char *text = api_query(ctx, "opt_fields");

	if (ctx->fields == NULL || text == NULL)
		return 0;
	fields_free(&ctx->fields);
	return fields_parse(ctx, text, type);
}

/* 1 when opt_fields requests a field that the compact {gid, resource_type, name} lacks. */
static int wants_more_than_name(api_ctx *ctx, const struct api_type *type)
{
	if (ctx->fields == NULL)
		return 0;
	for (const char *const *field = type->fields; *field != NULL; field++)
		if (strcmp(*field, "name") != 0 && api_wants(ctx, *field))
			return 1;
	return 0;
}

/* Builds the reply items from the hits. Returns a new array. */
static json_t *hits_present(api_ctx *ctx, const struct api_type *type, const struct typeahead_hits *hits)
{
	json_t *items = json_array();
	int load = wants_more_than_name(ctx, type);

	for (int i = 0; i < hits->count; i++) {
		json_t *object = NULL;

		if (load) {
			/* NULL when the object vanished or turned invisible since the search: leave it out. */
			object = type->load(ctx, hits->items[i].gid);
			if (object == NULL)
				continue;
		} else {
			object = api_object_new(type->name, hits->items[i].gid);
			json_object_set_new(object, "name", json_string(hits->items[i].name));
		}
		if (ctx->fields != NULL)
			object = api_present(ctx, type, object);
		json_array_append_new(items, object);
	}
	return items;
}

/* GET /workspaces/{workspace_gid}/typeahead?resource_type=&query=&count= */
static int typeahead_get(api_ctx *ctx)
{
	const struct typeahead_type *type;
	struct typeahead_query q;
	struct typeahead_hits hits = { 0 };
	int64_t workspace_gid;
	json_t *items;
	int count, rc;

	if (api_param_gid(ctx, "workspace_gid", &workspace_gid))
		return 0;
	if (workspace_gid != ctx->who.workspace_gid)
		return api_not_found(ctx, "workspace", workspace_gid);
	type = type_parse(ctx);
	if (type == NULL)
		return 0;
	if (count_parse(ctx, &count) || fields_check(ctx, type->type))
		return 0;
	if (query_parse(ctx, api_query(ctx, "query"), &q)) {
		free(q.text);
		return 0;
	}

	hits.max = count;
	hits.by_name = type->kind == KIND_USER || type->kind == KIND_TAG || type->kind == KIND_TEAM;
	hits.items = calloc((size_t)count, sizeof(*hits.items));
	rc = hits.items ? hits_collect(ctx, type->kind, &q, &hits) : DB_ERROR;
	free(q.text);
	if (rc != DB_OK) {
		hits_free(&hits);
		return api_fail_db(ctx, rc);
	}

	items = hits_present(ctx, type->type, &hits);
	hits_free(&hits);
	return api_reply(ctx, 200, items);
}

const struct api_route api_typeahead_routes[] = {
	{ "GET", "/workspaces/{workspace_gid}/typeahead", typeahead_get, API_LIST, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
