/*
 * The JSON writer (src/api/json_out.c) against jansson, its reference:
 * strings made of the bytes that matter (quote, backslash, control bytes,
 * UTF-8 lead and continuation bytes, plain ASCII) at every offset of the
 * 8-byte words the writer scans at once must give the bytes json_dumps
 * gives, and the UTF-8 check must accept exactly what json_stringn accepts.
 */
#include "api/json_out.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ROUNDS 20000
#define LONGEST 40

/* A small generator with a fixed seed, so a failure repeats. */
static uint32_t next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* Pieces of text: ASCII, the bytes JSON escapes, whole UTF-8 sequences, and a few broken ones. */
static const char *const pieces[] = {
	"a", "Z", "0", " ", "~", "/", "\x7F", "\"", "\\", "\x01", "\b", "\t", "\n", "\f", "\r", "\x1F",
	"\xC3\xA5", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF",
	"\x80", "\xC3", "\xED\xA0\x80", "\xC0\xAF", "\xFF",
};
#define PIECES (sizeof(pieces) / sizeof(pieces[0]))
#define BROKEN_PIECES 5

static size_t random_text(uint32_t *state, unsigned char *text)
{
	size_t want = next_random(state) % (LONGEST - 3), len = 0;
	int plain = next_random(state) % 4 == 0;
	/* Half of the texts leave the broken pieces out, so that most are valid. */
	size_t choices = next_random(state) % 2 ? PIECES : PIECES - BROKEN_PIECES;

	while (len < want) {
		const char *piece;

		/* A quarter of the texts are long ASCII runs with a rare other piece, to exercise the word path. */
		if (plain && next_random(state) % 16 != 0) {
			text[len++] = (unsigned char)('a' + next_random(state) % 26);
			continue;
		}
		piece = pieces[next_random(state) % choices];
		memcpy(text + len, piece, strlen(piece));
		len += strlen(piece);
	}
	return len;
}

static void strings_match_jansson(void **state)
{
	unsigned char text[LONGEST];
	uint32_t seed = 0x5eed1234u;
	int checked = 0;

	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		size_t len = random_text(&seed, text);
		json_t *reference = json_stringn((const char *)text, len);
		char *expected;
		struct json_out out;

		/* Invalid UTF-8 never reaches the writer: the callers check first (utf8_check_matches_jansson). */
		if (reference == NULL)
			continue;
		expected = json_dumps(reference, JSON_COMPACT | JSON_ENCODE_ANY);
		assert_non_null(expected);
		assert_int_equal(json_out_init(&out, 1), 0);
		json_out_string(&out, (const char *)text, len);
		assert_false(out.failed);
		assert_int_equal(out.len, strlen(expected));
		assert_memory_equal(out.text, expected, out.len);
		checked++;
		json_out_free(&out);
		free(expected);
		json_decref(reference);
	}
	/* The generator must have produced a fair share of valid texts. */
	assert_true(checked > ROUNDS / 4);
}

static void escapes_at_every_offset(void **state)
{
	const unsigned char specials[] = { '"', '\\', 0x01, '\n', 0x1F };
	unsigned char text[24];

	(void)state;
	for (size_t s = 0; s < sizeof(specials); s++)
		for (size_t at = 0; at < sizeof(text); at++) {
			json_t *reference;
			char *expected;
			struct json_out out;

			memset(text, 'x', sizeof(text));
			text[at] = specials[s];
			reference = json_stringn((const char *)text, sizeof(text));
			expected = json_dumps(reference, JSON_COMPACT | JSON_ENCODE_ANY);
			assert_int_equal(json_out_init(&out, 1), 0);
			json_out_string(&out, (const char *)text, sizeof(text));
			assert_int_equal(out.len, strlen(expected));
			assert_memory_equal(out.text, expected, out.len);
			json_out_free(&out);
			free(expected);
			json_decref(reference);
		}
}

static void utf8_check_matches_jansson(void **state)
{
	unsigned char text[LONGEST];
	uint32_t seed = 0xc0ffee11u;

	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		size_t len = random_text(&seed, text);
		json_t *checked = json_stringn((const char *)text, len);

		assert_int_equal(json_out_utf8_valid((const char *)text, len), checked != NULL);
		json_decref(checked);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strings_match_jansson),
		cmocka_unit_test(escapes_at_every_offset),
		cmocka_unit_test(utf8_check_matches_jansson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
