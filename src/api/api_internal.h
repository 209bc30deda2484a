/* Pieces of the API layer shared between its own files, not used by resource handlers. */
#ifndef KONTOR_API_INTERNAL_H
#define KONTOR_API_INTERNAL_H

#include "api/api.h"

#include <stddef.h>

#define FIELDS_MAX 100
#define FIELD_PATH_MAX 128

/* Parses opt_fields ("name,assignee.name"); replies 400 and returns -1 when invalid. */
int fields_parse(api_ctx *ctx, const char *text, const struct api_type *type);
void fields_free(struct fields **fields);

/* Builds next_page for a list reply; returns a new reference or json null. */
json_t *page_next_json(api_ctx *ctx, const struct api_page *page);

/* Authenticates the request (bearer token, else session cookie and CSRF token); 0, or -1 after replying. */
int dispatch_authenticate(api_ctx *ctx);
/* Writes the access-log line of a finished request: status and microseconds since it arrived. */
void dispatch_access_log(api_ctx *ctx, const char *route);
/*
 * Keeps a deferred request's rate-limit place (ratelimit_acquire's key and
 * kind) until the request ends; defer.c releases it. Called by the
 * dispatcher after a handler deferred.
 */
void defer_keep_ratelimit(struct api_deferral *deferral, int64_t key, int is_write);

/* Percent-encodes `text` for a query string into `out`; returns the length written. */
size_t url_encode(const char *text, char *out, size_t len);

/*
 * Whom a guest may see: themselves and the people they share a team or a
 * project with, as Asana shows guests only what they were added to.
 * Members and full-access service accounts see the whole organization.
 * `u` is the user gid column. Six parameters, bound by api_bind_guest_sees.
 */
#define GUEST_SEES_USER_SQL(u)                                                                                 \
	"(? = 0 OR " u " = ? OR EXISTS (SELECT 1 FROM team_memberships mine"                                   \
	" JOIN team_memberships theirs ON theirs.team_gid = mine.team_gid"                                      \
	" WHERE mine.workspace_gid = ? AND mine.user_gid = ? AND theirs.user_gid = " u ")"                      \
	" OR EXISTS (SELECT 1 FROM project_memberships pmine"                                                   \
	" JOIN project_memberships ptheirs ON ptheirs.project_gid = pmine.project_gid"                          \
	" WHERE pmine.workspace_gid = ? AND pmine.user_gid = ? AND ptheirs.user_gid = " u "))"

/* Binds the six parameters of GUEST_SEES_USER_SQL from `index` on (users.c); returns the index after them. */
int api_bind_guest_sees(api_ctx *ctx, db_stmt *s, int index);

/*
 * The list form of the team visibility rule (api_can_see_team), for a team
 * aliased `t`: every team but secret ones to members, a secret team to its
 * members. Three parameters, bound by api_bind_team_visible.
 */
#define TEAM_VISIBLE_SQL                                                      \
	" (? = 1 OR (? = 0 AND t.visibility <> 'secret')"                     \
	" OR EXISTS (SELECT 1 FROM team_memberships v WHERE v.team_gid = t.gid AND v.user_gid = ?))"

/* Binds the three TEAM_VISIBLE_SQL parameters from index `first` on (teams.c). */
void api_bind_team_visible(api_ctx *ctx, db_stmt *s, int first);

#endif
