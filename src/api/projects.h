/*
 * Project helpers shared by projects.c, sections.c and other handlers: the
 * caller's access level on a project, and the spacing of section positions.
 */
#ifndef KONTOR_API_PROJECTS_H
#define KONTOR_API_PROJECTS_H

#include "api/api.h"

#include <stdint.h>

/*
 * Gap between the positions (BIGINT) of neighbouring sections, and of tasks
 * within a section, so that an insert between two of them rarely has to
 * renumber the rest.
 */
#define PROJECT_POSITION_STEP ((int64_t)1 << 20)

/* The section every new project starts with; Asana names it the same way. */
#define PROJECT_DEFAULT_SECTION_NAME "Untitled section"

/* Ordered: each level includes the rights of the lower ones. */
enum project_access {
	PROJECT_HIDDEN = 0, /* missing, in another organization or not visible: reply 404 */
	PROJECT_READ = 1,   /* visible */
	PROJECT_EDIT = 2,   /* editor member: change the project, its sections, members and followers */
	PROJECT_ADMIN = 3,  /* admin member, owner or full service account: also delete the project */
};

/*
 * Returns the caller's access to a project as an enum project_access, or a
 * negative db status when the database failed (nothing replied yet).
 */
int api_project_access(api_ctx *ctx, int64_t project_gid);

/*
 * Requires at least `needed` access to a project. Replies 404 when the caller
 * cannot see it, 403 when they can see it but lack the access, or the
 * storage error. Returns 0 when allowed, -1 after replying.
 */
int api_project_require(api_ctx *ctx, int64_t project_gid, enum project_access needed);

#endif
