/*
 * Static files for the admin console: maps a request path below a URL
 * prefix to a file below a root directory, refusing anything that could
 * leave the directory or expose files that are not meant to be served.
 */
#ifndef KONTOR_HTTP_STATIC_H
#define KONTOR_HTTP_STATIC_H

#include "http/http.h"

#include <stddef.h>

#define STATIC_FILE_MAX (4 * 1024 * 1024) /* bytes in one served file */
#define STATIC_PATH_MAX 256               /* bytes in the path below the prefix */

/*
 * The headers every console response carries: a Content-Security-Policy that
 * allows only the server's own scripts, styles and images (and data: images),
 * no framing, nosniff and no Referer.
 */
void http_static_security_headers(http_response *res);

/*
 * Serves `relative` (the request path below the prefix, without its leading
 * slash; "" means index.html) from directory `root`. The path may contain
 * only letters, digits, '.', '-', '_' and '/'. No segment may be empty or
 * start with '.', which excludes "..", "." and hidden files. The extension
 * must be one of html, js, css, json, svg, png, ico, woff2, and it sets the
 * Content-Type. The file must be a regular file of at most STATIC_FILE_MAX
 * bytes whose real path (symbolic links resolved) lies inside `root`.
 * Anything else is 404, without saying which rule failed. Sets an ETag from
 * size and modification time and answers a matching If-None-Match with 304.
 * Always fills `res`.
 */
void http_static_serve(const char *root, const char *relative, const http_request *req, http_response *res);

/*
 * Writes the console directory into `out`: `configured` when not NULL, else
 * <directory of /proc/self/exe>/../web/admin. Returns 0 when the directory
 * exists, -1 when it does not (then `out` still contains the path tried).
 */
int http_static_root(const char *configured, char *out, size_t len);

#endif
