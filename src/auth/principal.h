/* The authenticated caller of one request, as the API layer uses it. */
#ifndef KONTOR_AUTH_PRINCIPAL_H
#define KONTOR_AUTH_PRINCIPAL_H

#include <stdint.h>

enum principal_kind { PRINCIPAL_NONE, PRINCIPAL_PERSON, PRINCIPAL_SERVICE_ACCOUNT };

/* Ordered: a higher role includes the rights of the lower ones. */
enum role { ROLE_GUEST = 0, ROLE_MEMBER = 1, ROLE_ADMIN = 2, ROLE_SUPER_ADMIN = 3 };

/* Service-account permissions; people have SCOPE_PERSON. */
#define SCOPE_FULL 0x01u
#define SCOPE_READ 0x02u
#define SCOPE_SCIM 0x04u
#define SCOPE_EXPORTS 0x08u
#define SCOPE_AUDIT_LOGS 0x10u
#define SCOPE_PERSON 0x80u

typedef struct principal {
	enum principal_kind kind;
	int64_t user_gid;
	int64_t workspace_gid;
	int64_t token_gid;    /* 0 for a session */
	enum role role;
	unsigned scopes;
	char plan[24];        /* the organization's plan */
	const char *auth_method; /* "personal_access_token", "service_account" or "cookie" */
	int plan_blocked;     /* a service account whose organization's plan has no service accounts: reply 402 */
} principal;

/* Returns the role for its API name ("super_admin" ...), or -1. */
int role_from_name(const char *name);
const char *role_name(enum role role);

#endif
