/*
 * Profile photo processing with libgd: sniff the type, read and bound the
 * dimensions from the header, decode, crop a centered square and encode one
 * PNG per size. The header readers follow the published formats: the PNG
 * IHDR chunk (ISO/IEC 15948), JPEG markers and SOFn segments (ITU T.81),
 * the GIF89a logical screen and image descriptors, and the WebP RIFF
 * container with its VP8, VP8L and VP8X chunks. They read only those
 * fields, so a malformed file costs a few comparisons before it is
 * rejected. libgd's messages go to the debug log instead of stderr.
 */
#include "media/photo.h"

#include "util/log.h"

#include <gd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

const int photo_sizes[PHOTO_SIZE_COUNT] = { 21, 27, 36, 60, 128, 1024 };

#define SQUARE_SIZE_MAX 1024

/*
 * Maximum scans in one JPEG. libjpeg's standard progression has 10 for a
 * color image. Each scan costs the decoder a pass over the coefficients of
 * the whole image, so a 5 MiB file of thousands of tiny scans could keep a
 * thread busy for minutes (an estimate, not measured).
 */
#define JPEG_SCANS_MAX 64
#define PNG_SIGNATURE_LEN 8
#define PNG_IHDR_END 33 /* signature, chunk length and type, 13 data bytes, CRC */

/*
 * Sizes announced by an image header. `width` x `height` is the canvas that
 * gets bounded. The decoder must produce `frame_width` x `frame_height`,
 * which differs from the canvas only for a GIF whose first frame is smaller
 * than its logical screen.
 */
struct header_info {
	int width;
	int height;
	int frame_width;
	int frame_height;
};

/* ---------- libgd messages ---------- */

/*
 * libgd reports problems through one process-wide callback. The count is
 * per thread so that a decode can tell whether libgd complained about its
 * own image while other threads decode theirs.
 */
static _Thread_local int gd_message_count;
static pthread_once_t gd_setup_once = PTHREAD_ONCE_INIT;

__attribute__((format(printf, 2, 0))) static void gd_message(int priority, const char *format, va_list args)
{
	char text[256];
	size_t len;

	vsnprintf(text, sizeof(text), format, args);
	len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	gd_message_count++;
	log_debug("media", "libgd message", "priority", LOG_INT(priority), "text", text, NULL);
}

static void gd_setup(void)
{
	gdSetErrorMethod(gd_message);
}

/* ---------- byte helpers ---------- */

static uint32_t read_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned read_be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned read_le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t read_le24(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static uint32_t read_le32(const unsigned char *p)
{
	return read_le24(p) | (uint32_t)p[3] << 24;
}

/* ---------- type sniffing ---------- */

enum photo_type media_photo_sniff(const void *data, size_t len)
{
	static const unsigned char png_signature[PNG_SIGNATURE_LEN] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	const unsigned char *p = data;

	if (len >= PNG_SIGNATURE_LEN && memcmp(p, png_signature, PNG_SIGNATURE_LEN) == 0)
		return PHOTO_TYPE_PNG;
	if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return PHOTO_TYPE_JPEG;
	if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return PHOTO_TYPE_GIF;
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return PHOTO_TYPE_WEBP;
	return PHOTO_TYPE_UNKNOWN;
}

const char *media_photo_type_name(enum photo_type type)
{
	switch (type) {
	case PHOTO_TYPE_PNG: return "PNG";
	case PHOTO_TYPE_JPEG: return "JPEG";
	case PHOTO_TYPE_GIF: return "GIF";
	case PHOTO_TYPE_WEBP: return "WebP";
	case PHOTO_TYPE_UNKNOWN: break;
	}
	return "unknown";
}

/* ---------- header readers ---------- */

/* The first chunk after the signature must be IHDR, with a correct CRC-32 over its type and data. */
static int png_header(const unsigned char *p, size_t len, struct header_info *info, char *err, size_t errlen)
{
	uint32_t width, height;

	if (len < PNG_IHDR_END) {
		snprintf(err, errlen, "the PNG image is cut off before the end of its IHDR header");
		return PHOTO_INVALID;
	}
	if (read_be32(p + 8) != 13 || memcmp(p + 12, "IHDR", 4) != 0) {
		snprintf(err, errlen, "the PNG image does not start with an IHDR header chunk");
		return PHOTO_INVALID;
	}
	if ((uint32_t)crc32(0L, p + 12, 17) != read_be32(p + 29)) {
		snprintf(err, errlen, "the PNG image's IHDR header is corrupt (CRC mismatch)");
		return PHOTO_INVALID;
	}
	width = read_be32(p + 16);
	height = read_be32(p + 20);

	/* PNG limits both to 2^31 - 1. */
	if (width > INT32_MAX || height > INT32_MAX) {
		snprintf(err, errlen, "the PNG image's IHDR header gives an invalid size");
		return PHOTO_INVALID;
	}
	info->width = info->frame_width = (int)width;
	info->height = info->frame_height = (int)height;
	return PHOTO_OK;
}

/*
 * SOF0 to SOF15 carry the frame size. C4 (DHT), C8 (reserved for JPEG
 * extensions) and CC (DAC) share the range but are other segments.
 */
static int jpeg_is_sof(unsigned marker)
{
	return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
}

/* Walks the marker segments from SOI to the first SOFn and reads its height and width. */
static int jpeg_header(const unsigned char *p, size_t len, struct header_info *info, char *err, size_t errlen)
{
	size_t pos = 2;

	for (;;) {
		unsigned marker, segment_len;

		if (pos >= len)
			break;
		if (p[pos] != 0xff) {
			snprintf(err, errlen, "the JPEG image is corrupt: no marker at byte %zu of its header", pos);
			return PHOTO_INVALID;
		}

		/* Any number of 0xFF fill bytes may precede a marker code. */
		while (pos < len && p[pos] == 0xff)
			pos++;
		if (pos >= len)
			break;
		marker = p[pos++];

		/* TEM, RST0-7 and a repeated SOI stand alone, without a length. */
		if (marker == 0x01 || marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7))
			continue;
		if (marker == 0x00 || marker == 0xd9 || marker == 0xda) {
			snprintf(err, errlen, "the JPEG image has no frame header (SOF) before its image data");
			return PHOTO_INVALID;
		}
		if (pos + 2 > len)
			break;
		segment_len = read_be16(p + pos);
		if (segment_len < 2) {
			snprintf(err, errlen, "the JPEG image is corrupt: a header segment has the invalid length %u",
				 segment_len);
			return PHOTO_INVALID;
		}
		if (jpeg_is_sof(marker)) {
			/* Length, sample precision, lines (height), samples per line (width). */
			if (segment_len < 8 || pos + 7 > len)
				break;
			info->height = info->frame_height = (int)read_be16(p + pos + 3);
			info->width = info->frame_width = (int)read_be16(p + pos + 5);
			return PHOTO_OK;
		}
		pos += segment_len;
	}
	snprintf(err, errlen, "the JPEG image is cut off before the end of its frame header (SOF)");
	return PHOTO_INVALID;
}

/* 1 when the two bytes at `p` end a scan's entropy-coded data: 0xFF, then neither a stuffed 0x00 nor RST0-7. */
static int jpeg_scan_ends(const unsigned char *p)
{
	return p[0] == 0xff && p[1] != 0x00 && !(p[1] >= 0xd0 && p[1] <= 0xd7);
}

/*
 * Counts the scans (SOS segments) of a JPEG, stepping over each scan's
 * entropy-coded data. Stops at EOI, at the end of the data or at anything
 * malformed, which the decoder then rejects.
 */
static int jpeg_scan_count(const unsigned char *p, size_t len)
{
	size_t pos = 2;
	int scans = 0;

	while (pos < len && p[pos] == 0xff) {
		unsigned marker, segment_len;

		while (pos < len && p[pos] == 0xff)
			pos++;
		if (pos >= len)
			break;
		marker = p[pos++];
		if (marker == 0xd9)
			break;
		if (marker == 0x01 || marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7))
			continue;
		if (pos + 2 > len)
			break;
		segment_len = read_be16(p + pos);
		if (segment_len < 2)
			break;
		pos += segment_len;
		if (marker != 0xda)
			continue;

		scans++;
		while (pos + 1 < len && !jpeg_scan_ends(p + pos))
			pos++;
	}
	return scans;
}

/* Skips GIF data sub-blocks (a length byte, then that many bytes) up to the empty terminator. */
static int gif_skip_sub_blocks(const unsigned char *p, size_t len, size_t *pos)
{
	for (;;) {
		unsigned block_len;

		if (*pos >= len)
			return -1;
		block_len = p[(*pos)++];
		if (block_len == 0)
			return 0;
		*pos += block_len;
	}
}

/*
 * Reads the logical screen and walks the blocks to the first image. The
 * screen is the canvas to bound, and the first frame is what libgd decodes.
 * The frame's compressed data must be complete, because libgd 2.3.3 returns
 * a partly filled image for a GIF that ends early.
 */
static int gif_header(const unsigned char *p, size_t len, struct header_info *info, char *err, size_t errlen)
{
	size_t pos = 13;

	if (len < 13) {
		snprintf(err, errlen, "the GIF image is cut off before the end of its logical screen descriptor");
		return PHOTO_INVALID;
	}
	info->width = (int)read_le16(p + 6);
	info->height = (int)read_le16(p + 8);

	/* A global color table of 2^(n+1) RGB triples follows when its flag is set. */
	if (p[10] & 0x80)
		pos += 3u * (1u << ((p[10] & 0x07) + 1));

	for (;;) {
		unsigned left, top, flags;

		if (pos >= len)
			break;
		switch (p[pos++]) {
		case 0x21: /* extension: a label byte, then sub-blocks */
			pos++;
			if (gif_skip_sub_blocks(p, len, &pos) != 0)
				goto truncated;
			continue;
		case 0x2c: /* image descriptor */
			if (pos + 9 > len)
				goto truncated;
			left = read_le16(p + pos);
			top = read_le16(p + pos + 2);
			info->frame_width = (int)read_le16(p + pos + 4);
			info->frame_height = (int)read_le16(p + pos + 6);
			flags = p[pos + 8];
			pos += 9;
			if (left + (unsigned)info->frame_width > (unsigned)info->width ||
			    top + (unsigned)info->frame_height > (unsigned)info->height) {
				snprintf(err, errlen, "the GIF image's first frame lies outside its logical screen");
				return PHOTO_INVALID;
			}
			if (flags & 0x80)
				pos += 3u * (1u << ((flags & 0x07) + 1));

			/* The LZW minimum code size, then the compressed data. */
			pos++;
			if (gif_skip_sub_blocks(p, len, &pos) != 0)
				goto truncated;
			return PHOTO_OK;
		case 0x3b: /* trailer */
			snprintf(err, errlen, "the GIF file contains no image");
			return PHOTO_INVALID;
		default:
			snprintf(err, errlen, "the GIF image is corrupt: unknown block at byte %zu", pos - 1);
			return PHOTO_INVALID;
		}
	}
truncated:
	snprintf(err, errlen, "the GIF image is cut off before the end of its first frame");
	return PHOTO_INVALID;
}

/*
 * Reads a WebP header. The RIFF header gives the file size, which catches
 * truncation before decoding. The first chunk is VP8 (lossy), VP8L
 * (lossless) or VP8X (extended, with the canvas size).
 */
static int webp_header(const unsigned char *p, size_t len, struct header_info *info, char *err, size_t errlen)
{
	uint32_t riff_len = read_le32(p + 4);
	uint32_t width, height;

	if ((uint64_t)riff_len + 8 > len) {
		snprintf(err, errlen, "the WebP image is cut off: its header announces %llu bytes but the body has %zu",
			 (unsigned long long)riff_len + 8, len);
		return PHOTO_INVALID;
	}
	if (len < 30) {
		snprintf(err, errlen, "the WebP image is too short to contain an image header");
		return PHOTO_INVALID;
	}
	if (memcmp(p + 12, "VP8 ", 4) == 0) {
		/* A 3-byte frame tag (bit 0 clear on a key frame), the start code, then 14-bit sizes. */
		if ((p[20] & 0x01) != 0 || p[23] != 0x9d || p[24] != 0x01 || p[25] != 0x2a) {
			snprintf(err, errlen, "the WebP image's VP8 header is corrupt");
			return PHOTO_INVALID;
		}
		width = read_le16(p + 26) & 0x3fff;
		height = read_le16(p + 28) & 0x3fff;
	} else if (memcmp(p + 12, "VP8L", 4) == 0) {
		/* A signature byte, then width - 1 and height - 1 in 14 bits each, least significant first. */
		uint32_t bits = read_le32(p + 21);

		if (p[20] != 0x2f) {
			snprintf(err, errlen, "the WebP image's VP8L header is corrupt");
			return PHOTO_INVALID;
		}
		width = (bits & 0x3fff) + 1;
		height = ((bits >> 14) & 0x3fff) + 1;
	} else if (memcmp(p + 12, "VP8X", 4) == 0) {
		/* Flags, 3 reserved bytes, then canvas width - 1 and height - 1 in 24 bits each. */
		if (p[20] & 0x02) {
			snprintf(err, errlen, "animated WebP images are not supported; upload a still image");
			return PHOTO_INVALID;
		}
		width = read_le24(p + 24) + 1;
		height = read_le24(p + 27) + 1;
	} else {
		snprintf(err, errlen, "the WebP image has no VP8, VP8L or VP8X chunk where its image header belongs");
		return PHOTO_INVALID;
	}
	info->width = info->frame_width = (int)width;
	info->height = info->frame_height = (int)height;
	return PHOTO_OK;
}

static int read_header(const unsigned char *p, size_t len, enum photo_type type, struct header_info *info, char *err,
		       size_t errlen)
{
	memset(info, 0, sizeof(*info));

	/* The readers rely on the signature that sniffing checked, including its length. */
	if (type == PHOTO_TYPE_UNKNOWN || media_photo_sniff(p, len) != type) {
		snprintf(err, errlen, "not a %s image", type == PHOTO_TYPE_UNKNOWN ? "PNG, JPEG, GIF or WebP"
										   : media_photo_type_name(type));
		return PHOTO_INVALID;
	}
	switch (type) {
	case PHOTO_TYPE_PNG: return png_header(p, len, info, err, errlen);
	case PHOTO_TYPE_JPEG: return jpeg_header(p, len, info, err, errlen);
	case PHOTO_TYPE_GIF: return gif_header(p, len, info, err, errlen);
	case PHOTO_TYPE_WEBP: return webp_header(p, len, info, err, errlen);
	case PHOTO_TYPE_UNKNOWN: break;
	}
	snprintf(err, errlen, "not a PNG, JPEG, GIF or WebP image");
	return PHOTO_INVALID;
}

int media_photo_dimensions(const void *data, size_t len, enum photo_type type, int *width_r, int *height_r,
			   char *err, size_t errlen)
{
	struct header_info info;
	int result = read_header(data, len, type, &info, err, errlen);

	if (result != PHOTO_OK)
		return result;
	*width_r = info.width;
	*height_r = info.height;
	return PHOTO_OK;
}

/* ---------- decoding and resizing ---------- */

/*
 * Decodes with libgd. A JPEG decoder warning (a premature end of data,
 * corrupt entropy data) counts as a failure, because libjpeg would otherwise
 * pad the missing rows with gray and return an image that looks accepted.
 */
static gdImagePtr decode(const void *data, size_t len, enum photo_type type)
{
	gdImagePtr image = NULL;
	void *bytes = (void *)data; /* libgd's readers take non-const pointers but only read */
	int size = (int)len;        /* at most PHOTO_BODY_MAX */

	gd_message_count = 0;
	switch (type) {
	case PHOTO_TYPE_PNG: image = gdImageCreateFromPngPtr(size, bytes); break;
	case PHOTO_TYPE_JPEG: image = gdImageCreateFromJpegPtrEx(size, bytes, 0); break;
	case PHOTO_TYPE_GIF: image = gdImageCreateFromGifPtr(size, bytes); break;
	case PHOTO_TYPE_WEBP: image = gdImageCreateFromWebpPtr(size, bytes); break;
	case PHOTO_TYPE_UNKNOWN: break;
	}
	if (image != NULL && type == PHOTO_TYPE_JPEG && gd_message_count > 0) {
		gdImageDestroy(image);
		return NULL;
	}
	return image;
}

/* Resamples a `side` x `side` square of `source` at (x, y) to a new `size` x `size` truecolor image with alpha. */
static gdImagePtr square_new(gdImagePtr source, int x, int y, int side, int size)
{
	gdImagePtr square = gdImageCreateTrueColor(size, size);

	if (square == NULL)
		return NULL;

	/* Copy alpha as it is instead of blending onto the new image's black. */
	gdImageAlphaBlending(square, 0);
	gdImageSaveAlpha(square, 1);
	gdImageCopyResampled(square, source, 0, 0, x, y, size, size, side, side);
	return square;
}

static int encode_png(gdImagePtr image, struct photo_image *out)
{
	int len = 0;
	void *png = gdImagePngPtr(image, &len);

	if (png == NULL || len <= 0) {
		if (png != NULL)
			gdFree(png);
		return -1;
	}
	out->size = gdImageSX(image);
	out->bytes = png;
	out->len = (size_t)len;
	return 0;
}

/*
 * Builds the six squares from the decoded image. A source larger than
 * SQUARE_SIZE_MAX is reduced once to that size, and the smaller squares are
 * taken from the result, which keeps the work near one pass over the source.
 */
static int make_squares(gdImagePtr image, struct photo_set *out)
{
	int width = gdImageSX(image), height = gdImageSY(image);
	int side = width < height ? width : height;
	int x = (width - side) / 2, y = (height - side) / 2;
	gdImagePtr largest, source;
	int source_x = x, source_y = y, source_side = side;

	largest = square_new(image, x, y, side, SQUARE_SIZE_MAX);
	if (largest == NULL)
		return -1;
	if (encode_png(largest, &out->images[PHOTO_SIZE_COUNT - 1]) != 0) {
		gdImageDestroy(largest);
		return -1;
	}

	source = image;
	if (side > SQUARE_SIZE_MAX) {
		source = largest;
		source_x = source_y = 0;
		source_side = SQUARE_SIZE_MAX;
	}
	for (int i = 0; i < PHOTO_SIZE_COUNT - 1; i++) {
		gdImagePtr square = square_new(source, source_x, source_y, source_side, photo_sizes[i]);
		int result;

		if (square == NULL) {
			gdImageDestroy(largest);
			return -1;
		}
		result = encode_png(square, &out->images[i]);
		gdImageDestroy(square);
		if (result != 0) {
			gdImageDestroy(largest);
			return -1;
		}
	}
	gdImageDestroy(largest);
	return 0;
}

int media_photo_process(const void *data, size_t len, struct photo_set *out, char *err, size_t errlen)
{
	struct header_info info;
	enum photo_type type;
	gdImagePtr image;
	int result;

	memset(out, 0, sizeof(*out));
	pthread_once(&gd_setup_once, gd_setup);

	if (len == 0) {
		snprintf(err, errlen, "the body is empty; send the image bytes (PNG, JPEG, GIF or WebP)");
		return PHOTO_INVALID;
	}
	if (len > PHOTO_BODY_MAX) {
		snprintf(err, errlen, "the image has %zu bytes; the maximum is %d bytes (5 MiB), so upload a smaller file",
			 len, PHOTO_BODY_MAX);
		return PHOTO_TOO_LARGE;
	}
	type = media_photo_sniff(data, len);
	if (type == PHOTO_TYPE_UNKNOWN) {
		snprintf(err, errlen, "not a PNG, JPEG, GIF or WebP image; upload one of those types");
		return PHOTO_INVALID;
	}

	/* The decompression-bomb guard: bound the size the header announces before libgd allocates for it. */
	result = read_header(data, len, type, &info, err, errlen);
	if (result != PHOTO_OK)
		return result;
	if (info.width <= 0 || info.height <= 0 || info.frame_width <= 0 || info.frame_height <= 0) {
		snprintf(err, errlen, "the %s image's header gives a size of zero pixels", media_photo_type_name(type));
		return PHOTO_INVALID;
	}
	if (info.width > PHOTO_DIMENSION_MAX || info.height > PHOTO_DIMENSION_MAX) {
		snprintf(err, errlen, "the %s image is %d x %d pixels; the maximum is %d x %d, so scale it down first",
			 media_photo_type_name(type), info.width, info.height, PHOTO_DIMENSION_MAX, PHOTO_DIMENSION_MAX);
		return PHOTO_INVALID;
	}

	if (type == PHOTO_TYPE_JPEG && jpeg_scan_count(data, len) > JPEG_SCANS_MAX) {
		snprintf(err, errlen, "the JPEG image has more than %d scans; save it again as a baseline or standard "
				      "progressive JPEG",
			 JPEG_SCANS_MAX);
		return PHOTO_INVALID;
	}

	/*
	 * NOTE: the header check bounds the pixel buffers only. Compressed
	 * metadata (PNG zTXt, iTXt and iCCP) is bounded by libpng's own limit
	 * of 8000000 bytes per chunk (PNG_USER_CHUNK_MALLOC_MAX in the
	 * pnglibconf.h of Debian's libpng 1.6.39), not by this file.
	 */
	image = decode(data, len, type);
	if (image == NULL) {
		snprintf(err, errlen, "the %s image is corrupt or truncated and cannot be decoded",
			 media_photo_type_name(type));
		return PHOTO_INVALID;
	}
	if (gdImageSX(image) != info.frame_width || gdImageSY(image) != info.frame_height) {
		snprintf(err, errlen, "the %s image decodes to %d x %d pixels but its header says %d x %d",
			 media_photo_type_name(type), gdImageSX(image), gdImageSY(image), info.frame_width,
			 info.frame_height);
		gdImageDestroy(image);
		return PHOTO_INVALID;
	}

	/* Palette images (GIF, some PNGs) become truecolor so resampling averages colors, not indexes. */
	if (!gdImageTrueColor(image) && !gdImagePaletteToTrueColor(image)) {
		gdImageDestroy(image);
		snprintf(err, errlen, "out of memory while converting the image");
		return PHOTO_FAILED;
	}

	result = make_squares(image, out);
	gdImageDestroy(image);
	if (result != 0) {
		media_photo_set_free(out);
		snprintf(err, errlen, "out of memory while resizing the image");
		return PHOTO_FAILED;
	}
	return PHOTO_OK;
}

void media_photo_set_free(struct photo_set *set)
{
	for (int i = 0; i < PHOTO_SIZE_COUNT; i++)
		if (set->images[i].bytes != NULL)
			gdFree(set->images[i].bytes);
	memset(set, 0, sizeof(*set));
}
