#include "auth/principal.h"

#include <string.h>

static const char *const role_names[] = { "guest", "member", "admin", "super_admin" };

int role_from_name(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, role_names[i]) == 0)
			return i;
	return -1;
}

const char *role_name(enum role role)
{
	return role >= ROLE_GUEST && role <= ROLE_SUPER_ADMIN ? role_names[role] : "unknown";
}
