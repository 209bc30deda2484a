/*
 * Serves the admin console's files. Requests are few and the files small,
 * so each request reads its file whole from disk (the page cache makes that
 * cheap) and nothing is cached in the process.
 */
#include "http/static.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOT_FOUND_BODY "{\"errors\":[{\"message\":\"Not found: the admin console has no such file.\"}]}"
#define JSON_TYPE "application/json; charset=UTF-8"
#define ETAG_MAX 64

static const char content_security_policy[] =
	"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
	"base-uri 'none'; form-action 'self'";

static const struct {
	const char *extension;
	const char *content_type;
} types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "json", "application/json; charset=utf-8" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "ico", "image/x-icon" },
	{ "woff2", "font/woff2" },
};

void http_static_security_headers(http_response *res)
{
	http_response_add_header(res, "Content-Security-Policy", content_security_policy);
	http_response_add_header(res, "X-Content-Type-Options", "nosniff");
	http_response_add_header(res, "Referrer-Policy", "no-referrer");
	/* Older browsers that ignore frame-ancestors still honour this one. */
	http_response_add_header(res, "X-Frame-Options", "DENY");
}

static void not_found(http_response *res)
{
	http_response_set_text(res, 404, JSON_TYPE, NOT_FOUND_BODY);
	http_static_security_headers(res);
	http_response_add_header(res, "Cache-Control", "no-cache");
}

/* Returns the Content-Type for the path's extension, or NULL when it is not served. */
static const char *content_type_for(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');

	if (dot == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot + 1, types[i].extension) == 0)
			return types[i].content_type;
	return NULL;
}

/* Applies the path rules of http_static_serve; returns 1 when `path` passes them. */
static int path_allowed(const char *path)
{
	size_t len = strlen(path);
	int segment_start = 1;

	if (len == 0 || len > STATIC_PATH_MAX || path[len - 1] == '/')
		return 0;
	for (const char *p = path; *p; p++) {
		char ch = *p;
		int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || ch == '_';

		if (ch == '/') {
			if (segment_start)
				return 0; /* an empty segment: "//" or a leading slash */
			segment_start = 1;
			continue;
		}
		if (ch == '.' && segment_start)
			return 0; /* ".", ".." and hidden files */
		if (ch != '.' && !plain)
			return 0;
		segment_start = 0;
	}
	return 1;
}

/* 1 when `path` is `root` or lies below it; both are real paths. */
static int path_inside(const char *root, const char *path)
{
	size_t len = strlen(root);

	if (strncmp(root, path, len) != 0)
		return 0;
	return path[len] == '/' || (len > 0 && root[len - 1] == '/');
}

/* 1 when If-None-Match lists `etag` or is "*". */
static int etag_matches(const http_request *req, const char *etag)
{
	const char *header = http_request_header(req, "If-None-Match");

	if (header == NULL)
		return 0;
	return strcmp(header, "*") == 0 || strstr(header, etag) != NULL;
}

/* Reads an open regular file of `size` bytes into a new buffer; returns NULL on a short read. */
static char *read_whole(int fd, size_t size)
{
	char *buffer = malloc(size + 1);
	size_t done = 0;

	if (buffer == NULL)
		return NULL;
	while (done < size) {
		ssize_t n = read(fd, buffer + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buffer);
			return NULL;
		}
		done += (size_t)n;
	}
	buffer[size] = '\0';
	return buffer;
}

void http_static_serve(const char *root, const char *relative, const http_request *req, http_response *res)
{
	char joined[PATH_MAX], real_root[PATH_MAX], real_file[PATH_MAX], etag[ETAG_MAX];
	const char *content_type;
	struct stat st;
	char *body;
	int fd;

	if (relative[0] == '\0')
		relative = "index.html";
	content_type = content_type_for(relative);
	if (!path_allowed(relative) || content_type == NULL) {
		not_found(res);
		return;
	}

	/* Symbolic links are resolved on both sides, so a link that points out of the root is not followed. */
	if (realpath(root, real_root) == NULL) {
		log_warn("http", "admin console directory not found; set --web-dir or KONTOR_WEB_DIR", "request_id",
			 req->request_id, "web_dir", root, NULL);
		not_found(res);
		return;
	}
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", real_root, relative) >= sizeof(joined) ||
	    realpath(joined, real_file) == NULL || !path_inside(real_root, real_file)) {
		not_found(res);
		return;
	}

	fd = open(real_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		not_found(res);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		not_found(res);
		return;
	}
	if (st.st_size > STATIC_FILE_MAX) {
		log_warn("http", "admin console file over the size limit; not served", "request_id", req->request_id,
			 "file", relative, NULL);
		close(fd);
		not_found(res);
		return;
	}

	snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
	if (etag_matches(req, etag)) {
		close(fd);
		http_response_set_body(res, 304, NULL, NULL, 0);
	} else {
		body = read_whole(fd, (size_t)st.st_size);
		close(fd);
		if (body == NULL) {
			log_error("http", "cannot read admin console file", "request_id", req->request_id, "file",
				  relative, NULL);
			http_response_set_text(res, 500, JSON_TYPE, "{\"errors\":[{\"message\":\"Server error\"}]}");
			return;
		}
		http_response_set_body(res, 200, content_type, body, (size_t)st.st_size);
	}
	http_static_security_headers(res);
	http_response_add_header(res, "Cache-Control", "no-cache");
	http_response_add_header(res, "ETag", etag);
}

int http_static_root(const char *configured, char *out, size_t len)
{
	char exe[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (configured != NULL) {
		snprintf(out, len, "%s", configured);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0) {
			snprintf(out, len, "web/admin");
		} else {
			char *slash;

			exe[n] = '\0';
			slash = strrchr(exe, '/');
			if (slash != NULL)
				*slash = '\0';
			snprintf(out, len, "%s/../web/admin", exe);
		}
	}
	return stat(out, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}
