#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z. */
#define TIME_MIN_US (-62135596800LL * 1000000)
#define TIME_MAX_US (253402300799LL * 1000000 + 999999)

int64_t time_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Writes `value` as exactly `width` decimal digits. */
static char *put_digits(char *p, int64_t value, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + value % 10);
		value /= 10;
	}
	return p + width;
}

/*
 * Converts days since 1970-01-01 to a proleptic Gregorian date. Counting
 * from 0000-03-01 puts the leap day at the end of each year, so a year of
 * the 400-year cycle follows from the day with integer division alone.
 */
static void date_from_days(int64_t days, int64_t *year_r, int *month_r, int *day_r)
{
	int64_t shifted = days + 719468; /* days from 0000-03-01 to 1970-01-01 */
	int64_t cycle = (shifted >= 0 ? shifted : shifted - 146096) / 146097;
	int64_t day_of_cycle = shifted - cycle * 146097;
	int64_t year_of_cycle =
		(day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36524 - day_of_cycle / 146096) / 365;
	int64_t day_of_year = day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
	int64_t month_from_march = (5 * day_of_year + 2) / 153;

	*day_r = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
	*month_r = (int)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
	*year_r = year_of_cycle + cycle * 400 + (*month_r <= 2);
}

/*
 * Computed rather than through gmtime_r and snprintf: a response formats
 * several times, and glibc's gmtime_r takes its process-wide time-zone lock
 * on every call.
 */
char *time_format_iso(int64_t us, char *buf, size_t len)
{
	int64_t secs = us / 1000000, micros = us % 1000000, days, second_of_day, year;
	char text[32], *p = text;
	int month, day;
	size_t n;

	if (micros < 0) {
		secs -= 1;
		micros += 1000000;
	}
	days = secs / 86400;
	second_of_day = secs % 86400;
	if (second_of_day < 0) {
		days -= 1;
		second_of_day += 86400;
	}
	date_from_days(days, &year, &month, &day);
	if (year < 0 || year > 9999) {
		/* Outside four-digit years: the sign and extra digits printf would give. */
		n = (size_t)snprintf(text, sizeof(text), "%04lld", (long long)year);
		p = text + (n < sizeof(text) ? n : sizeof(text) - 1);
	} else {
		p = put_digits(p, year, 4);
	}
	*p++ = '-';
	p = put_digits(p, month, 2);
	*p++ = '-';
	p = put_digits(p, day, 2);
	*p++ = 'T';
	p = put_digits(p, second_of_day / 3600, 2);
	*p++ = ':';
	p = put_digits(p, second_of_day / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, second_of_day % 60, 2);
	*p++ = '.';
	p = put_digits(p, micros / 1000, 3);
	*p++ = 'Z';

	/* Truncates like snprintf when buf is short. */
	if (len == 0)
		return buf;
	n = (size_t)(p - text);
	if (n > len - 1)
		n = len - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	return buf;
}

static int read_digits(const char **p, int count, int *value_r)
{
	int value = 0;

	for (int i = 0; i < count; i++) {
		if (**p < '0' || **p > '9')
			return -1;
		value = value * 10 + (**p - '0');
		(*p)++;
	}
	*value_r = value;
	return 0;
}

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

static int parse_date(const char **p, struct tm *tm)
{
	int year, month, day;

	if (read_digits(p, 4, &year) || *(*p)++ != '-' || read_digits(p, 2, &month) || *(*p)++ != '-' ||
	    read_digits(p, 2, &day))
		return -1;
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
		return -1;
	tm->tm_year = year - 1900;
	tm->tm_mon = month - 1;
	tm->tm_mday = day;
	return 0;
}

int time_check_date(const char *text)
{
	struct tm tm;
	const char *p = text;

	if (parse_date(&p, &tm) != 0)
		return -1;

	/* The years 1 to 9999, as for date-times, so every date has an instant and formats back alike. */
	if (tm.tm_year + 1900 < 1)
		return -1;
	return *p == '\0' ? 0 : -1;
}

int time_parse_iso(const char *text, int64_t *us_r)
{
	struct tm tm;
	const char *p = text;
	int hour, minute, second = 0;
	int64_t fraction_us = 0;
	int offset_minutes = 0;
	int64_t us;

	memset(&tm, 0, sizeof(tm));
	if (parse_date(&p, &tm) != 0)
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (read_digits(&p, 2, &hour) || *p++ != ':' || read_digits(&p, 2, &minute))
		return -1;
	if (*p == ':') {
		p++;
		if (read_digits(&p, 2, &second))
			return -1;
		if (*p == '.') {
			int64_t scale = 100000;

			p++;
			if (*p < '0' || *p > '9')
				return -1;
			for (; *p >= '0' && *p <= '9'; p++) {
				fraction_us += (*p - '0') * scale;
				scale /= 10;
			}
		}
	}
	if (hour > 23 || minute > 59 || second > 59)
		return -1;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int oh, om = 0;

		p++;
		if (read_digits(&p, 2, &oh))
			return -1;
		if (*p == ':')
			p++;
		/* Minutes are optional ("+02"), but a colon must be followed by them. */
		if ((*p || p[-1] == ':') && read_digits(&p, 2, &om))
			return -1;
		if (oh > 23 || om > 59)
			return -1;
		offset_minutes = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	us = ((int64_t)timegm(&tm) - (int64_t)offset_minutes * 60) * 1000000 + fraction_us;
	/* Only instants that format back as four-digit years are accepted, so every value round-trips. */
	if (us < TIME_MIN_US || us > TIME_MAX_US)
		return -1;
	*us_r = us;
	return 0;
}
