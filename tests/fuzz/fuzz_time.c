/*
 * libFuzzer target for the ISO 8601 parsers in util/timeutil.c, which read
 * due_at, due_on, created_since and similar values straight from clients.
 * Beyond not crashing, every accepted date-time inside years 1 to 9999 must
 * survive format then parse, truncated to the millisecond.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds. */
#define FIRST_US INT64_C(-62135596800000000)
#define LAST_US INT64_C(253402300799999999)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char formatted[64];
	int64_t us = 0, again = 0, truncated;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	(void)time_check_date(text);
	if (time_parse_iso(text, &us) == 0 && us >= FIRST_US && us <= LAST_US) {
		/* Floor to the millisecond, as time_format_iso does, also before 1970. */
		truncated = us - ((us % 1000) + 1000) % 1000;
		time_format_iso(us, formatted, sizeof(formatted));
		if (time_parse_iso(formatted, &again) != 0 || again != truncated)
			abort();
		if (time_check_date(formatted) == 0)
			abort(); /* a date-time is not a plain date */
		formatted[10] = '\0';
		if (time_check_date(formatted) != 0)
			abort();
	}
	free(text);
	return 0;
}
