/* Placeholder route table, filled in by the resource's own change. */
#include "api/api.h"

const struct api_route api_admin_routes[] = {
	{ NULL, NULL, NULL, 0, NULL },
};

#include "api/app.h"

int app_admin_console(struct app *app, http_request *req, http_response *res)
{
	(void)app;
	(void)req;
	(void)res;
	return 0;
}
