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

char *time_format_iso(int64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000);
	int64_t ms = (us % 1000000) / 1000;
	struct tm tm;

	if (us < 0 && us % 1000000 != 0) {
		secs -= 1;
		ms = (1000000 + us % 1000000) / 1000;
	}
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
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
