/*
 * Profile photos of service accounts: PUT and DELETE
 * /service_accounts/{service_account_gid}/photo for super admins, and the
 * public GET /photos/{photo_key}/{size}.png that serves the stored PNGs.
 * An upload is the raw image in the request body. media/photo.c checks and
 * resizes it outside any transaction. Then one write transaction replaces
 * the account's photo rows under a fresh random key, so every new photo
 * gets new URLs and caches may keep the old ones forever. Also builds the
 * `photo` field that users.c and service_accounts.c put in their
 * representations.
 */
#include "api/api.h"
#include "api/photo_url.h"
#include "api/service_accounts.h"
#include "media/photo.h"
#include "store/db.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PHOTO_KEY_BYTES 16                    /* 128 random bits */
#define PHOTO_KEY_CHARS (PHOTO_KEY_BYTES * 2) /* as lowercase hex */

/*
 * Uploads decoded at the same time, server-wide. One decode of a 4096 x 4096
 * image takes up to about 140 MiB and 2 s (see media_photo_process), so
 * this bounds the memory and worker threads that photos can take. Uploads
 * are rare (only super admins make them), so a busy reply costs little.
 */
#define PHOTO_DECODES_MAX 2

static atomic_int photo_decodes;

/* ---------- the photo field ---------- */

json_t *api_photo_json(api_ctx *ctx, const char *photo_key)
{
	char base[API_BASE_URL_MAX];
	json_t *photo;

	if (photo_key == NULL || photo_key[0] == '\0')
		return json_null();

	api_base_url(ctx, base, sizeof(base));
	photo = json_object();
	for (int i = 0; i < PHOTO_SIZE_COUNT; i++) {
		char field[32], url[API_BASE_URL_MAX + 128];

		snprintf(field, sizeof(field), "image_%dx%d", photo_sizes[i], photo_sizes[i]);
		snprintf(url, sizeof(url), "%s%s/photos/%s/%d.png", base, API_BASE_PATH, photo_key, photo_sizes[i]);
		json_object_set_new(photo, field, json_string(url));
	}
	return photo;
}

/* ---------- storage ---------- */

/* Reads the account's name for the audit record into `out`. Returns DB_ROW, DB_DONE or an error. */
static int account_name_get(api_ctx *ctx, int64_t sa_gid, char *out, size_t len)
{
	db_stmt *s = db_query(ctx->db, "SELECT name FROM users WHERE gid = ? AND workspace_gid = ?");
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

/*
 * Points the account at `key` and replaces its photo rows, inside the
 * caller's open transaction. The user row is updated first because its
 * row lock makes concurrent uploads for one account take turns on
 * PostgreSQL. The DELETE that follows then reads the other upload's
 * committed rows and removes them too. Returns a db status.
 */
static int photo_rows_replace(api_ctx *ctx, int64_t sa_gid, const char *key, const struct photo_set *set)
{
	int64_t now = time_now_us();
	db_stmt *s;
	int status;

	s = db_query(ctx->db, "UPDATE users SET photo_key = ?, modified_at = ? WHERE gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_text(s, 0, key);
	db_bind_int64(s, 1, now);
	db_bind_int64(s, 2, sa_gid);
	db_bind_int64(s, 3, ctx->who.workspace_gid);
	status = db_run(s);
	if (status != DB_OK)
		return status;

	s = db_query(ctx->db, "DELETE FROM photos WHERE user_gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, sa_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	status = db_run(s);
	if (status != DB_OK)
		return status;

	for (int i = 0; i < PHOTO_SIZE_COUNT; i++) {
		s = db_query(ctx->db, "INSERT INTO photos (photo_key, size, workspace_gid, user_gid, png, created_at)"
				      " VALUES (?, ?, ?, ?, ?, ?)");
		if (s == NULL)
			return DB_ERROR;
		db_bind_text(s, 0, key);
		db_bind_int64(s, 1, set->images[i].size);
		db_bind_int64(s, 2, ctx->who.workspace_gid);
		db_bind_int64(s, 3, sa_gid);
		db_bind_blob(s, 4, set->images[i].bytes, set->images[i].len);
		db_bind_int64(s, 5, now);
		status = db_run(s);
		if (status != DB_OK)
			return status;
	}
	return DB_OK;
}

/*
 * Clears the account's photo inside the caller's open transaction and sets
 * *removed_r to 1 when it had one. Returns a db status.
 */
static int photo_rows_remove(api_ctx *ctx, int64_t sa_gid, int *removed_r)
{
	db_stmt *s;
	int status;

	*removed_r = 0;
	s = db_query(ctx->db, "UPDATE users SET photo_key = NULL, modified_at = ?"
			      " WHERE gid = ? AND workspace_gid = ? AND photo_key IS NOT NULL");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, time_now_us());
	db_bind_int64(s, 1, sa_gid);
	db_bind_int64(s, 2, ctx->who.workspace_gid);
	status = db_step(s);
	if (status == DB_DONE)
		*removed_r = db_changes(s) > 0;
	db_stmt_done(s);
	if (status != DB_DONE)
		return status;

	s = db_query(ctx->db, "DELETE FROM photos WHERE user_gid = ? AND workspace_gid = ?");
	if (s == NULL)
		return DB_ERROR;
	db_bind_int64(s, 0, sa_gid);
	db_bind_int64(s, 1, ctx->who.workspace_gid);
	return db_run(s);
}

/* Writes the audit record of a changed photo; steals `details`. Returns a db status. */
static int photo_audit(api_ctx *ctx, int64_t sa_gid, json_t *details)
{
	char name[1024] = "";
	int status = account_name_get(ctx, sa_gid, name, sizeof(name));

	if (status != DB_ROW && status != DB_DONE) {
		json_decref(details);
		return status;
	}
	return sa_audit(ctx, "service_account_photo_changed", sa_gid, name[0] ? name : NULL, details);
}

/* Replies with the account after a change; a missing account here means it was deleted meanwhile. */
static int reply_account(api_ctx *ctx, int64_t sa_gid)
{
	json_t *account = sa_present(ctx, sa_gid);

	if (account == NULL)
		return api_not_found(ctx, "service account", sa_gid);
	return api_reply(ctx, 200, api_present(ctx, &api_service_account_type, account));
}

/* ---------- PUT /service_accounts/{service_account_gid}/photo ---------- */

/* Audit details of an upload: what the client sent, never the image or the key. */
static json_t *upload_details(const http_request *req)
{
	enum photo_type type = media_photo_sniff(req->body, req->body_len);
	int width = 0, height = 0;
	char err[128];

	media_photo_dimensions(req->body, req->body_len, type, &width, &height, err, sizeof(err));
	return json_pack("{s:s, s:s, s:i, s:i, s:I}", "action", "set", "image_type", media_photo_type_name(type),
			 "width", width, "height", height, "bytes", (json_int_t)req->body_len);
}

/*
 * Checks and resizes the body. Returns 0 with `set` filled, or replies
 * (400, 413, 500 or 503) and returns -1.
 */
static int upload_process(api_ctx *ctx, struct photo_set *set)
{
	const char *content_type = http_request_header(ctx->req, "Content-Type");
	char err[512];
	int result;

	if (content_type != NULL && strncasecmp(content_type, "multipart/", 10) == 0) {
		api_error(ctx, 400, "photo: send the image bytes themselves as the request body with Content-Type "
				    "image/png, image/jpeg, image/gif or image/webp, not a multipart form.");
		return -1;
	}

	if (atomic_fetch_add(&photo_decodes, 1) >= PHOTO_DECODES_MAX) {
		atomic_fetch_sub(&photo_decodes, 1);
		log_warn("api", "photo upload rejected: too many uploads being processed", "request_id",
			 ctx->req->request_id, NULL);
		api_error_help(ctx, 503, "Photo uploads are decoded one or two at a time; retry after the Retry-After delay.",
			       "The server is processing other photo uploads. Retry after the Retry-After delay.");
		http_response_add_header(ctx->res, "Retry-After", "2");
		return -1;
	}
	result = media_photo_process(ctx->req->body, ctx->req->body_len, set, err, sizeof(err));
	atomic_fetch_sub(&photo_decodes, 1);

	if (result == PHOTO_OK)
		return 0;
	if (result == PHOTO_FAILED) {
		log_error("api", "photo processing failed", "request_id", ctx->req->request_id, "error", err, NULL);
		api_error(ctx, 500, "Server error while processing the photo.");
		return -1;
	}
	api_error(ctx, result == PHOTO_TOO_LARGE ? 413 : 400, "photo: %s. Accepted: PNG, JPEG, GIF or WebP, at most "
							      "%d bytes and %d x %d pixels.",
		  err, PHOTO_BODY_MAX, PHOTO_DIMENSION_MAX, PHOTO_DIMENSION_MAX);
	return -1;
}

static int photo_put(api_ctx *ctx)
{
	struct photo_set set;
	char key[PHOTO_KEY_CHARS + 1];
	unsigned char random[PHOTO_KEY_BYTES];
	int64_t sa_gid;
	int status;

	if (sa_require_manager(ctx) != 0)
		return 0;
	if (api_param_gid(ctx, "service_account_gid", &sa_gid) != 0)
		return 0;
	if (sa_require_target(ctx, sa_gid) != 0)
		return 0;

	/* Decoding takes CPU time, so it happens before the write lock is taken. */
	if (upload_process(ctx, &set) != 0)
		return 0;

	randombytes_buf(random, sizeof(random));
	sodium_bin2hex(key, sizeof(key), random, sizeof(random));

	if (api_begin_write(ctx) != 0) {
		media_photo_set_free(&set);
		return 0;
	}
	status = photo_rows_replace(ctx, sa_gid, key, &set);
	media_photo_set_free(&set);
	if (status == DB_OK)
		status = photo_audit(ctx, sa_gid, upload_details(ctx->req));
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx) != 0)
		return 0;

	log_info("api", "service account photo changed", "request_id", ctx->req->request_id, "service_account",
		 LOG_INT(sa_gid), "principal", LOG_INT(ctx->who.user_gid), NULL);
	return reply_account(ctx, sa_gid);
}

/* ---------- DELETE /service_accounts/{service_account_gid}/photo ---------- */

static int photo_delete(api_ctx *ctx)
{
	int64_t sa_gid;
	int removed, status;

	if (sa_require_manager(ctx) != 0)
		return 0;
	if (api_param_gid(ctx, "service_account_gid", &sa_gid) != 0)
		return 0;
	if (sa_require_target(ctx, sa_gid) != 0)
		return 0;

	if (api_begin_write(ctx) != 0)
		return 0;
	status = photo_rows_remove(ctx, sa_gid, &removed);

	/* Removing a photo that is not there changes nothing, so it leaves no audit record. */
	if (status == DB_OK && removed)
		status = photo_audit(ctx, sa_gid, json_pack("{s:s}", "action", "removed"));
	if (status != DB_OK)
		return api_fail_db(ctx, status);
	if (api_commit(ctx) != 0)
		return 0;

	if (removed)
		log_info("api", "service account photo removed", "request_id", ctx->req->request_id,
			 "service_account", LOG_INT(sa_gid), "principal", LOG_INT(ctx->who.user_gid), NULL);
	return reply_account(ctx, sa_gid);
}

/* ---------- GET /photos/{photo_key}/{size}.png ---------- */

/* 1 when `key` has the form photo_put creates: PHOTO_KEY_CHARS lowercase hex digits. */
static int photo_key_ok(const char *key)
{
	return key != NULL && strlen(key) == PHOTO_KEY_CHARS &&
	       strspn(key, "0123456789abcdef") == PHOTO_KEY_CHARS;
}

/* Parses "<size>.png" for one of photo_sizes; returns the size or 0. */
static int photo_file_size(const char *file_name)
{
	for (int i = 0; file_name != NULL && i < PHOTO_SIZE_COUNT; i++) {
		char expected[16];

		snprintf(expected, sizeof(expected), "%d.png", photo_sizes[i]);
		if (strcmp(file_name, expected) == 0)
			return photo_sizes[i];
	}
	return 0;
}

/*
 * Serves one stored PNG without authentication. The key is the secret: it
 * is 128 random bits and unique server-wide. No caller is known here, so
 * this is the one query not bounded by an organization.
 * NOTE: the dispatcher rate-limits authenticated principals only, so these
 * requests have no rate limit. Each costs one primary-key lookup.
 */
static int photo_get(api_ctx *ctx)
{
	const char *key = api_param(ctx, "photo_key");
	int size = photo_file_size(api_param(ctx, "file_name"));
	const void *png;
	size_t len = 0;
	char *copy;
	db_stmt *s;
	int status;

	if (!photo_key_ok(key) || size == 0)
		return api_error(ctx, 404, "Photo not found. Use the URLs in a user's `photo` field; they change "
					   "whenever the photo changes.");

	s = db_query(ctx->db, "SELECT png FROM photos WHERE photo_key = ? AND size = ?");
	if (s == NULL)
		return api_fail_db(ctx, DB_ERROR);
	db_bind_text(s, 0, key);
	db_bind_int64(s, 1, size);
	status = db_step(s);
	if (status != DB_ROW) {
		db_stmt_done(s);
		if (status == DB_DONE)
			return api_error(ctx, 404, "Photo not found. Use the URLs in a user's `photo` field; they "
						   "change whenever the photo changes.");
		return api_fail_db(ctx, status);
	}
	png = db_column_blob(s, 0, &len);
	copy = len > 0 ? malloc(len) : NULL;
	if (copy != NULL)
		memcpy(copy, png, len);
	db_stmt_done(s);
	if (copy == NULL) {
		log_error("api", "photo could not be served: empty row or out of memory", "request_id",
			  ctx->req->request_id, "size", LOG_INT(size), NULL);
		return api_error(ctx, 500, "Server error.");
	}

	http_response_set_body(ctx->res, 200, "image/png", copy, len);

	/* A key never gets other bytes: a new photo gets a new key. */
	http_response_add_header(ctx->res, "Cache-Control", "public, max-age=31536000, immutable");
	http_response_add_header(ctx->res, "X-Content-Type-Options", "nosniff");
	return 0;
}

const struct api_route api_photos_routes[] = {
	{ "PUT", "/service_accounts/{service_account_gid}/photo", photo_put, API_WRITE | API_RAW_BODY,
	  &api_service_account_type },
	{ "DELETE", "/service_accounts/{service_account_gid}/photo", photo_delete, API_WRITE,
	  &api_service_account_type },
	{ "GET", "/photos/{photo_key}/{file_name}", photo_get, API_PUBLIC, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
