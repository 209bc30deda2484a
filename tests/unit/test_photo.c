/*
 * Tests of profile photo processing (media/photo.c). The images are made
 * here with libgd in all four accepted types. Hand-crafted headers check
 * that oversized dimensions are rejected from the header alone, before
 * libgd decodes anything. Truncated files of every type must fail without
 * output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <gd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "media/photo.h"

#define ERR_LEN 512

/* An encoded image in malloc'd memory. */
struct blob {
	unsigned char *bytes;
	size_t len;
};

/* Copies a libgd output buffer into malloc'd memory and frees the original. */
static struct blob blob_from_gd(void *gd_bytes, int len)
{
	struct blob b;

	assert_non_null(gd_bytes);
	assert_true(len > 0);
	b.bytes = malloc((size_t)len);
	assert_non_null(b.bytes);
	memcpy(b.bytes, gd_bytes, (size_t)len);
	b.len = (size_t)len;
	gdFree(gd_bytes);
	return b;
}

/* A truecolor image with a gradient, so encoders cannot shrink it to nothing. */
static gdImagePtr gradient_new(int width, int height)
{
	gdImagePtr im = gdImageCreateTrueColor(width, height);

	assert_non_null(im);
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++)
			gdImageSetPixel(im, x, y, gdTrueColor((x * 255) / width, (y * 255) / height, 128));
	return im;
}

static struct blob encode(gdImagePtr im, enum photo_type type)
{
	int len = 0;
	void *bytes = NULL;

	switch (type) {
	case PHOTO_TYPE_PNG: bytes = gdImagePngPtr(im, &len); break;
	case PHOTO_TYPE_JPEG: bytes = gdImageJpegPtr(im, &len, 90); break;
	case PHOTO_TYPE_GIF: bytes = gdImageGifPtr(im, &len); break;
	case PHOTO_TYPE_WEBP: bytes = gdImageWebpPtr(im, &len); break;
	case PHOTO_TYPE_UNKNOWN: break;
	}
	return blob_from_gd(bytes, len);
}

static struct blob image_of(enum photo_type type, int width, int height)
{
	gdImagePtr im = gradient_new(width, height);
	struct blob b = encode(im, type);

	gdImageDestroy(im);
	return b;
}

static void write_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Rewrites the CRC of the PNG chunk whose length field starts at `chunk`. */
static void png_fix_crc(unsigned char *chunk)
{
	uint32_t data_len = (uint32_t)chunk[0] << 24 | (uint32_t)chunk[1] << 16 | (uint32_t)chunk[2] << 8 | chunk[3];
	uint32_t crc = (uint32_t)crc32(0L, chunk + 4, data_len + 4);

	write_be32(chunk + 8 + data_len, crc);
}

/* Checks that every output is a PNG of the expected square size that libgd decodes again. */
static void assert_valid_set(const struct photo_set *set)
{
	for (int i = 0; i < PHOTO_SIZE_COUNT; i++) {
		const struct photo_image *img = &set->images[i];
		gdImagePtr back;

		assert_int_equal(img->size, photo_sizes[i]);
		assert_non_null(img->bytes);
		assert_true(img->len > 8);
		assert_int_equal(media_photo_sniff(img->bytes, img->len), PHOTO_TYPE_PNG);
		back = gdImageCreateFromPngPtr((int)img->len, img->bytes);
		assert_non_null(back);
		assert_int_equal(gdImageSX(back), photo_sizes[i]);
		assert_int_equal(gdImageSY(back), photo_sizes[i]);
		gdImageDestroy(back);
	}
}

static void assert_processed(const struct blob *b)
{
	struct photo_set set;
	char err[ERR_LEN] = "";
	int result = media_photo_process(b->bytes, b->len, &set, err, sizeof(err));

	if (result != PHOTO_OK)
		fail_msg("expected the image to be accepted, got %d: %s", result, err);
	assert_valid_set(&set);
	media_photo_set_free(&set);
	assert_null(set.images[0].bytes);
}

/* Processes bytes that must be rejected with `expected` and a message containing `needle`. */
static void assert_rejected(const void *data, size_t len, int expected, const char *needle)
{
	struct photo_set set;
	char err[ERR_LEN] = "";
	int result = media_photo_process(data, len, &set, err, sizeof(err));

	assert_int_equal(result, expected);
	if (strstr(err, needle) == NULL)
		fail_msg("message \"%s\" does not contain \"%s\"", err, needle);
	for (int i = 0; i < PHOTO_SIZE_COUNT; i++)
		assert_null(set.images[i].bytes);
}

static const enum photo_type all_types[] = { PHOTO_TYPE_PNG, PHOTO_TYPE_JPEG, PHOTO_TYPE_GIF, PHOTO_TYPE_WEBP };

/* ---------- accepted images ---------- */

static void process_all_types_and_sizes(void **state)
{
	static const int dims[][2] = { { 1, 1 }, { 21, 21 }, { 64, 64 }, { 300, 200 }, { 200, 300 }, { 1500, 1100 } };

	(void)state;
	for (size_t t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
			struct blob b = image_of(all_types[t], dims[d][0], dims[d][1]);

			assert_int_equal(media_photo_sniff(b.bytes, b.len), all_types[t]);
			assert_processed(&b);
			free(b.bytes);
		}
	}
}

static void dimensions_read_from_header(void **state)
{
	(void)state;
	for (size_t t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		struct blob b = image_of(all_types[t], 123, 45);
		char err[ERR_LEN];
		int width = 0, height = 0;

		assert_int_equal(media_photo_dimensions(b.bytes, b.len, all_types[t], &width, &height, err, sizeof(err)),
				 PHOTO_OK);
		assert_int_equal(width, 123);
		assert_int_equal(height, 45);
		free(b.bytes);
	}
}

/* Each reader checks the signature itself, so a short or foreign buffer cannot be read past its end. */
static void dimensions_reject_other_types(void **state)
{
	static const unsigned char riff[] = { 'R', 'I', 'F', 'F' };
	struct blob png = image_of(PHOTO_TYPE_PNG, 4, 4);
	char err[ERR_LEN];
	int width, height;

	(void)state;
	assert_int_equal(media_photo_dimensions(riff, sizeof(riff), PHOTO_TYPE_WEBP, &width, &height, err, sizeof(err)),
			 PHOTO_INVALID);
	assert_non_null(strstr(err, "not a WebP image"));
	for (size_t t = 1; t < sizeof(all_types) / sizeof(all_types[0]); t++)
		assert_int_equal(media_photo_dimensions(png.bytes, png.len, all_types[t], &width, &height, err,
							sizeof(err)),
				 PHOTO_INVALID);
	assert_int_equal(media_photo_dimensions(png.bytes, png.len, PHOTO_TYPE_UNKNOWN, &width, &height, err,
						sizeof(err)),
			 PHOTO_INVALID);
	free(png.bytes);
}

/* Lossy WebP without alpha is a VP8 chunk; these are the other two header forms. */
static void webp_lossless_and_extended(void **state)
{
	gdImagePtr im = gradient_new(77, 33);
	int width = 0, height = 0, len = 0;
	char err[ERR_LEN];
	struct blob lossless, extended;
	void *bytes;

	(void)state;
	bytes = gdImageWebpPtrEx(im, &len, gdWebpLossless);
	lossless = blob_from_gd(bytes, len);
	assert_memory_equal(lossless.bytes + 12, "VP8L", 4);
	assert_int_equal(media_photo_dimensions(lossless.bytes, lossless.len, PHOTO_TYPE_WEBP, &width, &height, err,
						sizeof(err)),
			 PHOTO_OK);
	assert_int_equal(width, 77);
	assert_int_equal(height, 33);
	assert_processed(&lossless);

	/* Transparency makes libwebp write VP8X + ALPH + VP8. */
	gdImageAlphaBlending(im, 0);
	gdImageSaveAlpha(im, 1);
	gdImageFilledRectangle(im, 0, 0, 10, 10, gdTrueColorAlpha(0, 0, 0, gdAlphaTransparent));
	extended = encode(im, PHOTO_TYPE_WEBP);
	assert_memory_equal(extended.bytes + 12, "VP8X", 4);
	assert_int_equal(media_photo_dimensions(extended.bytes, extended.len, PHOTO_TYPE_WEBP, &width, &height, err,
						sizeof(err)),
			 PHOTO_OK);
	assert_int_equal(width, 77);
	assert_int_equal(height, 33);
	assert_processed(&extended);

	free(lossless.bytes);
	free(extended.bytes);
	gdImageDestroy(im);
}

/* The largest accepted side on both axes; a thin image keeps the test fast. */
static void dimension_limit_inclusive(void **state)
{
	struct blob wide = image_of(PHOTO_TYPE_PNG, PHOTO_DIMENSION_MAX, 8);
	struct blob tall = image_of(PHOTO_TYPE_PNG, 8, PHOTO_DIMENSION_MAX);

	(void)state;
	assert_processed(&wide);
	assert_processed(&tall);
	free(wide.bytes);
	free(tall.bytes);
}

/* A 300 x 100 image whose middle third is red and outer thirds blue must crop to red. */
static void crop_is_centered(void **state)
{
	gdImagePtr im = gdImageCreateTrueColor(300, 100);
	struct photo_set set;
	char err[ERR_LEN];
	struct blob b;

	(void)state;
	gdImageFilledRectangle(im, 0, 0, 299, 99, gdTrueColor(0, 0, 255));
	gdImageFilledRectangle(im, 100, 0, 199, 99, gdTrueColor(255, 0, 0));
	b = encode(im, PHOTO_TYPE_PNG);
	gdImageDestroy(im);

	assert_int_equal(media_photo_process(b.bytes, b.len, &set, err, sizeof(err)), PHOTO_OK);
	for (int i = 0; i < PHOTO_SIZE_COUNT; i++) {
		gdImagePtr out = gdImageCreateFromPngPtr((int)set.images[i].len, set.images[i].bytes);
		int last = photo_sizes[i] - 1;
		int corners[4][2] = { { 0, 0 }, { last, 0 }, { 0, last }, { last, last } };

		assert_non_null(out);
		for (int c = 0; c < 4; c++) {
			int pixel = gdImageGetTrueColorPixel(out, corners[c][0], corners[c][1]);

			assert_int_equal(gdTrueColorGetRed(pixel), 255);
			assert_int_equal(gdTrueColorGetBlue(pixel), 0);
		}
		gdImageDestroy(out);
	}
	media_photo_set_free(&set);
	free(b.bytes);
}

static void alpha_is_kept(void **state)
{
	gdImagePtr im = gdImageCreateTrueColor(64, 64);
	struct photo_set set;
	char err[ERR_LEN];
	struct blob b;

	(void)state;
	gdImageAlphaBlending(im, 0);
	gdImageSaveAlpha(im, 1);
	gdImageFilledRectangle(im, 0, 0, 63, 63, gdTrueColorAlpha(10, 200, 30, gdAlphaTransparent));
	b = encode(im, PHOTO_TYPE_PNG);
	gdImageDestroy(im);

	assert_int_equal(media_photo_process(b.bytes, b.len, &set, err, sizeof(err)), PHOTO_OK);
	for (int i = 0; i < PHOTO_SIZE_COUNT; i++) {
		gdImagePtr out = gdImageCreateFromPngPtr((int)set.images[i].len, set.images[i].bytes);

		assert_non_null(out);
		assert_int_equal(gdTrueColorGetAlpha(gdImageGetTrueColorPixel(out, photo_sizes[i] / 2, photo_sizes[i] / 2)),
				 gdAlphaTransparent);
		gdImageDestroy(out);
	}
	media_photo_set_free(&set);
	free(b.bytes);
}

/* Builds a two-frame GIF: a red first frame, then `second` (blue) at (left, top). */
static struct blob animated_gif(int width, int height, gdImagePtr second, int left, int top)
{
	gdImagePtr first = gdImageCreate(width, height);
	int begin_len, add1_len, add2_len, end_len;
	unsigned char *begin, *add1, *add2, *end;
	struct blob b;

	gdImageColorAllocate(first, 255, 0, 0);
	begin = gdImageGifAnimBeginPtr(first, &begin_len, 1, 0);
	add1 = gdImageGifAnimAddPtr(first, &add1_len, 0, 0, 0, 10, gdDisposalNone, NULL);
	add2 = gdImageGifAnimAddPtr(second, &add2_len, 1, left, top, 10, gdDisposalNone, NULL);
	end = gdImageGifAnimEndPtr(&end_len);
	assert_non_null(begin);
	assert_non_null(add1);
	assert_non_null(add2);
	assert_non_null(end);

	b.len = (size_t)(begin_len + add1_len + add2_len + end_len);
	b.bytes = malloc(b.len);
	assert_non_null(b.bytes);
	memcpy(b.bytes, begin, (size_t)begin_len);
	memcpy(b.bytes + begin_len, add1, (size_t)add1_len);
	memcpy(b.bytes + begin_len + add1_len, add2, (size_t)add2_len);
	memcpy(b.bytes + begin_len + add1_len + add2_len, end, (size_t)end_len);
	gdFree(begin);
	gdFree(add1);
	gdFree(add2);
	gdFree(end);
	gdImageDestroy(first);
	return b;
}

static void animated_gif_uses_first_frame(void **state)
{
	gdImagePtr second = gdImageCreate(40, 40);
	struct photo_set set;
	char err[ERR_LEN];
	struct blob b;
	gdImagePtr out;
	int pixel;

	(void)state;
	gdImageColorAllocate(second, 0, 0, 255);
	b = animated_gif(40, 40, second, 0, 0);
	gdImageDestroy(second);

	assert_int_equal(media_photo_process(b.bytes, b.len, &set, err, sizeof(err)), PHOTO_OK);
	assert_valid_set(&set);
	out = gdImageCreateFromPngPtr((int)set.images[4].len, set.images[4].bytes);
	assert_non_null(out);
	pixel = gdImageGetTrueColorPixel(out, 64, 64);
	assert_int_equal(gdTrueColorGetRed(pixel), 255);
	assert_int_equal(gdTrueColorGetBlue(pixel), 0);
	gdImageDestroy(out);
	media_photo_set_free(&set);
	free(b.bytes);
}

/* ---------- rejected images ---------- */

static void truncated_images_rejected(void **state)
{
	(void)state;
	for (size_t t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		struct blob b = image_of(all_types[t], 120, 80);
		size_t cuts[] = { 4, 16, 40, b.len / 4, b.len / 2, b.len * 3 / 4, b.len - 16 };

		for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
			struct photo_set set;
			char err[ERR_LEN] = "";
			int result = media_photo_process(b.bytes, cuts[c], &set, err, sizeof(err));

			if (result != PHOTO_INVALID)
				fail_msg("%s cut to %zu of %zu bytes: expected PHOTO_INVALID, got %d",
					 media_photo_type_name(all_types[t]), cuts[c], b.len, result);
			assert_true(err[0] != '\0');
			assert_null(set.images[0].bytes);
		}
		free(b.bytes);
	}
}

static void wrong_types_rejected(void **state)
{
	static const char text[] = "hello, this is a text file\n";
	static const char pdf[] = "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
	static const char svg[] = "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
				  "height=\"10\"><rect width=\"10\" height=\"10\"/></svg>";
	static const unsigned char bmp[] = { 'B', 'M', 0x3a, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 0x28, 0 };
	static const char riff_wave[] = "RIFF\x24\0\0\0WAVEfmt ";

	(void)state;
	assert_rejected(text, sizeof(text) - 1, PHOTO_INVALID, "not a PNG, JPEG, GIF or WebP image");
	assert_rejected(pdf, sizeof(pdf) - 1, PHOTO_INVALID, "not a PNG, JPEG, GIF or WebP image");
	assert_rejected(svg, sizeof(svg) - 1, PHOTO_INVALID, "not a PNG, JPEG, GIF or WebP image");
	assert_rejected(bmp, sizeof(bmp), PHOTO_INVALID, "not a PNG, JPEG, GIF or WebP image");
	assert_rejected(riff_wave, sizeof(riff_wave) - 1, PHOTO_INVALID, "not a PNG, JPEG, GIF or WebP image");
	assert_rejected(text, 0, PHOTO_INVALID, "empty");
}

/*
 * A PNG signature and a well-formed IHDR (correct CRC) that claims
 * 100000 x 100000 pixels, followed by bytes that are no PNG data at all:
 * only a header check can produce the size in the message.
 */
static void png_bomb_rejected_from_header(void **state)
{
	static const unsigned char signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char png[33 + 64];

	(void)state;
	memset(png, 0xab, sizeof(png));
	memcpy(png, signature, 8);
	write_be32(png + 8, 13);
	memcpy(png + 12, "IHDR", 4);
	write_be32(png + 16, 100000);
	write_be32(png + 20, 100000);
	png[24] = 8; /* bit depth */
	png[25] = 6; /* RGBA */
	png[26] = png[27] = png[28] = 0;
	png_fix_crc(png + 8);

	assert_rejected(png, sizeof(png), PHOTO_INVALID, "100000 x 100000");
}

/* One pixel past the limit on either axis, in a PNG that is otherwise valid. */
static void png_over_limit_rejected(void **state)
{
	struct blob b = image_of(PHOTO_TYPE_PNG, 8, 8);

	(void)state;
	write_be32(b.bytes + 16, PHOTO_DIMENSION_MAX + 1);
	png_fix_crc(b.bytes + 8);
	assert_rejected(b.bytes, b.len, PHOTO_INVALID, "4097 x 8");

	write_be32(b.bytes + 16, 8);
	write_be32(b.bytes + 20, PHOTO_DIMENSION_MAX + 1);
	png_fix_crc(b.bytes + 8);
	assert_rejected(b.bytes, b.len, PHOTO_INVALID, "8 x 4097");

	write_be32(b.bytes + 20, 0);
	png_fix_crc(b.bytes + 8);
	assert_rejected(b.bytes, b.len, PHOTO_INVALID, "zero pixels");
	free(b.bytes);
}

static void png_bad_ihdr_crc_rejected(void **state)
{
	struct blob b = image_of(PHOTO_TYPE_PNG, 8, 8);

	(void)state;
	b.bytes[29] ^= 0xff;
	assert_rejected(b.bytes, b.len, PHOTO_INVALID, "CRC");
	free(b.bytes);
}

/* Returns the offset of the first SOF0 marker of a JPEG made by libgd (baseline). */
static size_t jpeg_find_sof0(const struct blob *b)
{
	for (size_t i = 2; i + 1 < b->len; i++)
		if (b->bytes[i] == 0xff && b->bytes[i + 1] == 0xc0)
			return i;
	fail_msg("no SOF0 marker in the JPEG");
	return 0;
}

static void jpeg_bomb_rejected_from_header(void **state)
{
	struct blob b = image_of(PHOTO_TYPE_JPEG, 16, 16);
	size_t sof = jpeg_find_sof0(&b);

	(void)state;
	/* FF C0, length (2), precision (1), height (2), width (2). */
	b.bytes[sof + 5] = b.bytes[sof + 6] = 0xff;
	b.bytes[sof + 7] = b.bytes[sof + 8] = 0xff;
	assert_rejected(b.bytes, b.len, PHOTO_INVALID, "65535 x 65535");

	/* Height 0 means "defined later by a DNL marker", which gives no size to bound. */
	b.bytes[sof + 5] = b.bytes[sof + 6] = 0;
	assert_rejected(b.bytes, b.len, PHOTO_INVALID, "zero pixels");
	free(b.bytes);
}

static void jpeg_without_sof_rejected(void **state)
{
	/* SOI, an APP0 segment, then SOS: image data with no frame header. */
	static const unsigned char jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 'J', 'F', 0xff, 0xda, 0x00, 0x02 };

	(void)state;
	assert_rejected(jpeg, sizeof(jpeg), PHOTO_INVALID, "no frame header");
}

/* libgd writes a progressive JPEG for an interlaced image: several scans, which must be accepted. */
static void progressive_jpeg_accepted(void **state)
{
	gdImagePtr im = gradient_new(200, 150);
	struct blob b;

	(void)state;
	gdImageInterlace(im, 1);
	b = encode(im, PHOTO_TYPE_JPEG);
	gdImageDestroy(im);
	assert_non_null(memmem(b.bytes, b.len, "\xff\xc2", 2)); /* SOF2: progressive */
	assert_processed(&b);
	free(b.bytes);
}

/*
 * The first scan of a JPEG repeated 70 times: each scan costs the decoder a
 * pass over the whole image, so the count is bounded before decoding.
 */
static void jpeg_many_scans_rejected(void **state)
{
	struct blob b = image_of(PHOTO_TYPE_JPEG, 64, 64);
	unsigned char *sos = memmem(b.bytes, b.len, "\xff\xda", 2);
	size_t start, end, scan_len, out_len;
	unsigned char *many;

	(void)state;
	assert_non_null(sos);
	start = (size_t)(sos - b.bytes);

	/* The scan ends at the first 0xFF that is not a stuffed 0x00 or a restart marker. */
	end = start + 2 + (((size_t)sos[2] << 8) | sos[3]);
	while (end + 1 < b.len &&
	       !(b.bytes[end] == 0xff && b.bytes[end + 1] != 0 && !(b.bytes[end + 1] >= 0xd0 && b.bytes[end + 1] <= 0xd7)))
		end++;
	scan_len = end - start;

	out_len = start + 70 * scan_len + 2;
	many = malloc(out_len);
	assert_non_null(many);
	memcpy(many, b.bytes, start);
	for (int i = 0; i < 70; i++)
		memcpy(many + start + (size_t)i * scan_len, sos, scan_len);
	many[out_len - 2] = 0xff;
	many[out_len - 1] = 0xd9;

	assert_rejected(many, out_len, PHOTO_INVALID, "more than 64 scans");
	free(many);
	free(b.bytes);
}

static void gif_bomb_rejected_from_header(void **state)
{
	struct blob b = image_of(PHOTO_TYPE_GIF, 16, 16);

	(void)state;
	/* Logical screen 5000 x 5000; the first frame still fits inside it. */
	b.bytes[6] = 5000 & 0xff;
	b.bytes[7] = 5000 >> 8;
	b.bytes[8] = 5000 & 0xff;
	b.bytes[9] = 5000 >> 8;
	assert_rejected(b.bytes, b.len, PHOTO_INVALID, "5000 x 5000");
	free(b.bytes);
}

/* A first frame smaller than the screen decodes to the frame's size and is accepted. */
static void gif_small_first_frame_accepted(void **state)
{
	gdImagePtr screen = gdImageCreate(100, 100);
	gdImagePtr frame = gdImageCreate(50, 40);
	int begin_len, add_len, end_len;
	unsigned char *begin, *add, *end;
	struct blob b;

	(void)state;
	gdImageColorAllocate(screen, 255, 0, 0);
	gdImageColorAllocate(frame, 0, 0, 255);
	begin = gdImageGifAnimBeginPtr(screen, &begin_len, 1, 0);
	add = gdImageGifAnimAddPtr(frame, &add_len, 1, 10, 10, 10, gdDisposalNone, NULL);
	end = gdImageGifAnimEndPtr(&end_len);
	b.len = (size_t)(begin_len + add_len + end_len);
	b.bytes = malloc(b.len);
	assert_non_null(b.bytes);
	memcpy(b.bytes, begin, (size_t)begin_len);
	memcpy(b.bytes + begin_len, add, (size_t)add_len);
	memcpy(b.bytes + begin_len + add_len, end, (size_t)end_len);
	gdFree(begin);
	gdFree(add);
	gdFree(end);
	gdImageDestroy(screen);
	gdImageDestroy(frame);

	assert_processed(&b);
	free(b.bytes);
}

static void webp_bombs_rejected_from_header(void **state)
{
	struct blob lossy = image_of(PHOTO_TYPE_WEBP, 16, 16);
	gdImagePtr im = gradient_new(16, 16);
	int len = 0;
	void *bytes = gdImageWebpPtrEx(im, &len, gdWebpLossless);
	struct blob lossless = blob_from_gd(bytes, len);
	unsigned char extended[30 + 16];
	uint32_t bits;

	(void)state;
	gdImageDestroy(im);

	/* VP8: 14-bit width and height after the start code. */
	lossy.bytes[26] = 0xff;
	lossy.bytes[27] = 0x3f;
	lossy.bytes[28] = 0xff;
	lossy.bytes[29] = 0x3f;
	assert_rejected(lossy.bytes, lossy.len, PHOTO_INVALID, "16383 x 16383");

	/* VP8L: width - 1 and height - 1 packed in 14 bits each. */
	bits = 9999u | 9999u << 14;
	lossless.bytes[21] = (unsigned char)bits;
	lossless.bytes[22] = (unsigned char)(bits >> 8);
	lossless.bytes[23] = (unsigned char)(bits >> 16);
	lossless.bytes[24] = (unsigned char)((lossless.bytes[24] & 0xf0) | ((bits >> 24) & 0x0f));
	assert_rejected(lossless.bytes, lossless.len, PHOTO_INVALID, "10000 x 10000");

	/* VP8X: a 16777216 x 16777216 canvas, the largest 24 bits can announce. */
	memset(extended, 0, sizeof(extended));
	memcpy(extended, "RIFF", 4);
	extended[4] = sizeof(extended) - 8;
	memcpy(extended + 8, "WEBPVP8X", 8);
	extended[16] = 10;
	memset(extended + 24, 0xff, 6);
	assert_rejected(extended, sizeof(extended), PHOTO_INVALID, "16777216 x 16777216");

	/* The animation flag. */
	memset(extended + 24, 0, 6);
	extended[20] = 0x02;
	assert_rejected(extended, sizeof(extended), PHOTO_INVALID, "animated");

	free(lossy.bytes);
	free(lossless.bytes);
}

static void oversized_body_rejected(void **state)
{
	struct blob b = image_of(PHOTO_TYPE_PNG, 16, 16);
	unsigned char *big = calloc(PHOTO_BODY_MAX + 1, 1);

	(void)state;
	assert_non_null(big);
	memcpy(big, b.bytes, b.len);
	assert_rejected(big, PHOTO_BODY_MAX + 1, PHOTO_TOO_LARGE, "5242880");

	/* Exactly at the limit is accepted: the bytes after IEND are ignored. */
	assert_int_equal(media_photo_sniff(big, PHOTO_BODY_MAX), PHOTO_TYPE_PNG);
	{
		struct blob at_limit = { big, PHOTO_BODY_MAX };

		assert_processed(&at_limit);
	}
	free(big);
	free(b.bytes);
}

/* A valid header followed by garbage instead of compressed data must fail in the decoder, not crash. */
static void corrupt_data_rejected(void **state)
{
	(void)state;
	for (size_t t = 0; t < sizeof(all_types) / sizeof(all_types[0]); t++) {
		struct blob b = image_of(all_types[t], 64, 64);
		size_t from = b.len / 3;

		for (size_t i = from; i < b.len - 16; i++)
			b.bytes[i] = (unsigned char)(i * 37);
		{
			struct photo_set set;
			char err[ERR_LEN] = "";
			int result = media_photo_process(b.bytes, b.len, &set, err, sizeof(err));

			/* GIF and lossy WebP have no checksum, so garbage may decode to garbage pixels. */
			if (result == PHOTO_OK) {
				assert_true(all_types[t] == PHOTO_TYPE_GIF || all_types[t] == PHOTO_TYPE_WEBP);
				assert_valid_set(&set);
				media_photo_set_free(&set);
			} else {
				assert_int_equal(result, PHOTO_INVALID);
			}
		}
		free(b.bytes);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(process_all_types_and_sizes),
		cmocka_unit_test(dimensions_read_from_header),
		cmocka_unit_test(dimensions_reject_other_types),
		cmocka_unit_test(webp_lossless_and_extended),
		cmocka_unit_test(dimension_limit_inclusive),
		cmocka_unit_test(crop_is_centered),
		cmocka_unit_test(alpha_is_kept),
		cmocka_unit_test(animated_gif_uses_first_frame),
		cmocka_unit_test(truncated_images_rejected),
		cmocka_unit_test(wrong_types_rejected),
		cmocka_unit_test(png_bomb_rejected_from_header),
		cmocka_unit_test(png_over_limit_rejected),
		cmocka_unit_test(png_bad_ihdr_crc_rejected),
		cmocka_unit_test(jpeg_bomb_rejected_from_header),
		cmocka_unit_test(jpeg_without_sof_rejected),
		cmocka_unit_test(progressive_jpeg_accepted),
		cmocka_unit_test(jpeg_many_scans_rejected),
		cmocka_unit_test(gif_bomb_rejected_from_header),
		cmocka_unit_test(gif_small_first_frame_accepted),
		cmocka_unit_test(webp_bombs_rejected_from_header),
		cmocka_unit_test(oversized_body_rejected),
		cmocka_unit_test(corrupt_data_rejected),
	};

	return cmocka_run_group_tests_name("photo", tests, NULL, NULL);
}
