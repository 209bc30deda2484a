/*
 * Profile photos: checks an uploaded image and turns it into the square
 * PNGs that Asana's `photo` field lists (21, 27, 36, 60, 128 and 1024
 * pixels). The image type comes from the magic bytes, never from the
 * Content-Type header. The pixel dimensions are read from the file header
 * and bounded before any decoder allocates memory, so a small file that
 * claims a huge canvas (a decompression bomb) is rejected unread. Only
 * photo.c calls libgd.
 */
#ifndef KONTOR_MEDIA_PHOTO_H
#define KONTOR_MEDIA_PHOTO_H

#include <stddef.h>

#define PHOTO_BODY_MAX (5 * 1024 * 1024) /* bytes in an uploaded image */
#define PHOTO_DIMENSION_MAX 4096         /* pixels per side, checked in the header before decoding */
#define PHOTO_SIZE_COUNT 6

/* The square sizes in pixels, smallest first: 21, 27, 36, 60, 128, 1024. */
extern const int photo_sizes[PHOTO_SIZE_COUNT];

enum photo_type { PHOTO_TYPE_UNKNOWN, PHOTO_TYPE_PNG, PHOTO_TYPE_JPEG, PHOTO_TYPE_GIF, PHOTO_TYPE_WEBP };

/* Results of media_photo_process. */
enum photo_result {
	PHOTO_OK = 0,
	PHOTO_INVALID = -1,   /* not an accepted image, corrupt, truncated or out of bounds (HTTP 400) */
	PHOTO_TOO_LARGE = -2, /* the body is over PHOTO_BODY_MAX bytes (HTTP 413) */
	PHOTO_FAILED = -3,    /* out of memory or an encoder failure (HTTP 500) */
};

/* One encoded square: `bytes` is a PNG of `len` bytes, `size` x `size` pixels. */
struct photo_image {
	int size;
	unsigned char *bytes;
	size_t len;
};

/* The six squares, in the order of photo_sizes. Free with media_photo_set_free. */
struct photo_set {
	struct photo_image images[PHOTO_SIZE_COUNT];
};

/* Returns the type that the magic bytes at the start of `data` announce. */
enum photo_type media_photo_sniff(const void *data, size_t len);

/* Returns "PNG", "JPEG", "GIF", "WebP" or "unknown". */
const char *media_photo_type_name(enum photo_type type);

/*
 * Reads the pixel width and height of an image of type `type` from its
 * header without decoding it. For a GIF these are the first frame's size.
 * Returns PHOTO_OK, or PHOTO_INVALID with a message in `err` when the data
 * does not start with that type's signature or the header is cut off or
 * malformed. The dimensions are not bounded here.
 */
int media_photo_dimensions(const void *data, size_t len, enum photo_type type, int *width_r, int *height_r,
			   char *err, size_t errlen);

/*
 * Checks and converts one uploaded image: sniffs the type (PNG, JPEG, GIF or
 * WebP), rejects bodies over PHOTO_BODY_MAX bytes, headers that announce
 * a zero size or more than PHOTO_DIMENSION_MAX pixels on a side, and JPEGs
 * of more than 64 scans (each costs a pass over the whole image), decodes
 * (the first frame of an animated GIF), crops a centered square and encodes
 * one PNG per size in photo_sizes. Returns a photo_result; on failure `out`
 * holds nothing to free and `err` contains a message for the client that
 * names the problem. Thread-safe. One call decodes one image. Its peak
 * memory is an estimated 8 bytes per header pixel (128 MiB at 4096 x 4096),
 * because libgd 2.3.3 decodes PNG and WebP through a second full-size
 * buffer, and up to about 14 bytes per pixel for a progressive JPEG, whose
 * coefficients libjpeg keeps for the whole image. A 4096 x 4096 image takes
 * one to two seconds of CPU time.
 */
int media_photo_process(const void *data, size_t len, struct photo_set *out, char *err, size_t errlen);

/* Frees the PNGs of a set filled by media_photo_process and clears it. */
void media_photo_set_free(struct photo_set *set);

#endif
