/*
 * Demo data: fills an empty database with one made-up organization,
 * "Exempel AB", with Swedish people, teams, projects, tasks, tags, comments
 * and one division. `kontor demo` calls it, then sets the super admin's
 * password and creates a token itself. The same seed gives the same names,
 * structure and counts. gids and times differ between runs because gids come
 * from gid_next() and times are relative to the moment of generation.
 */
#ifndef KONTOR_STORE_DEMO_H
#define KONTOR_STORE_DEMO_H

#include <stdint.h>

#include "store/db.h"

#define DEMO_EMAIL_MAX 128

/* Gids and row counts of the organization that store_demo_create() inserted. */
struct demo_result {
	int64_t org_gid;
	int64_t division_gid;
	int64_t super_admin_gid;
	char super_admin_email[DEMO_EMAIL_MAX];

	int64_t users;              /* every role, guests included */
	int64_t admins;             /* role admin, the super admin not included */
	int64_t guests;
	int64_t teams;
	int64_t division_teams;
	int64_t team_memberships;
	int64_t projects;
	int64_t archived_projects;
	int64_t untouched_projects; /* no change in the last 120 days */
	int64_t private_projects;   /* privacy_setting private */
	int64_t project_memberships;
	int64_t project_followers;
	int64_t sections;
	int64_t tasks;              /* top-level tasks and subtasks */
	int64_t subtasks;
	int64_t completed_tasks;
	int64_t task_projects;
	int64_t task_followers;
	int64_t tags;
	int64_t task_tags;
	int64_t comments;
	int64_t system_stories;
};

/*
 * Creates the demo organization in `d`. `size` is "small" (about 200 people,
 * 12 teams, 150 projects, 20,000 tasks) or "large" (about 5,000 people, 120
 * teams, 5,000 projects, 1,000,000 tasks). The database must hold no
 * workspace yet. Rows are committed in batches, so a failure part-way leaves
 * a partial organization behind, and the caller should start again with a
 * new database.
 *
 * Returns DB_OK and fills *result_r; DB_CONSTRAINT when the database is not
 * empty; DB_UNAVAILABLE when no connection could be had; DB_ERROR for a bad
 * size or a failed statement. On failure `err` contains a message.
 */
int store_demo_create(db *d, const char *size, uint64_t seed, struct demo_result *result_r,
		      char *err, size_t errlen);

#endif
