/* Time as int64 microseconds since the Unix epoch, and its ISO 8601 forms. */
#ifndef KONTOR_UTIL_TIMEUTIL_H
#define KONTOR_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t time_now_us(void);
/* Monotonic clock in microseconds, for durations. */
int64_t time_mono_us(void);

/* Writes "2012-02-22T02:06:58.147Z" (UTC, milliseconds); returns buf. */
char *time_format_iso(int64_t us, char *buf, size_t len);

/*
 * Parses an ISO 8601 date-time ("2019-09-15T02:06:58.147Z", an offset like
 * "+02:00", or no fraction) into microseconds. Returns 0 on success, -1 on
 * invalid input.
 */
int time_parse_iso(const char *text, int64_t *us_r);

/* Checks a calendar date "YYYY-MM-DD"; returns 0 if valid. */
int time_check_date(const char *text);

#endif
