/*
 * Fuzz target for the photo checks: header-only dimension reading for every
 * type (must never report a negative size) and the full decode and resize.
 */
#include <stddef.h>
#include <stdint.h>
#include "media/photo.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char err[256];
	int w, h;
	struct photo_set set;

	for (int t = PHOTO_TYPE_PNG; t <= PHOTO_TYPE_WEBP; t++)
		if (media_photo_dimensions(data, len, (enum photo_type)t, &w, &h, err, sizeof(err)) == PHOTO_OK && (w < 0 || h < 0))
			__builtin_trap();
	if (media_photo_process(data, len, &set, err, sizeof(err)) == PHOTO_OK)
		media_photo_set_free(&set);
	return 0;
}
