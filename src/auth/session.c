/* Session-cookie authentication for the admin console. NOTE: not implemented yet; no cookie is accepted. */
#include "auth/session.h"

#include <string.h>

enum auth_result auth_session(db_conn *c, const unsigned char *pepper, const http_request *req, principal *who,
			      int *csrf_ok_r, int *db_status_r)
{
	(void)c;
	(void)pepper;
	(void)req;
	(void)db_status_r;
	memset(who, 0, sizeof(*who));
	*csrf_ok_r = 0;
	return AUTH_MISSING;
}
