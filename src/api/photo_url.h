/*
 * The `photo` field of users and service accounts: absolute URLs of the
 * stored square PNGs, which GET /photos/{photo_key}/{size}.png in photos.c
 * serves without authentication.
 */
#ifndef KONTOR_API_PHOTO_URL_H
#define KONTOR_API_PHOTO_URL_H

#include "api/api.h"

#include <jansson.h>

/*
 * Builds {"image_21x21": url, ..., "image_1024x1024": url} for `photo_key`,
 * or json null when the key is NULL or empty. The URLs are absolute, as
 * Asana's are, and start with api_base_url. Returns a new
 * reference.
 */
json_t *api_photo_json(api_ctx *ctx, const char *photo_key);

#endif
