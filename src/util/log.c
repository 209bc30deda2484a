/* JSON-lines logger. A line is assembled in memory and written with one write(2), so lines from threads never interleave. */
#include "util/log.h"
#include "util/timeutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192

static enum log_level min_level = LOG_INFO;
static int level_read_from_env;

static const char *level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
	min_level = level;
	level_read_from_env = 1;
}

const char *log_format_int(char *buf, int64_t value)
{
	snprintf(buf, 24, "%" PRId64, value);
	return buf;
}

const char *log_format_num(char *buf, int64_t value)
{
	snprintf(buf, 24, LOG_NUM_PREFIX "%" PRId64, value);
	return buf;
}

struct line {
	char text[LOG_LINE_MAX];
	size_t len;
};

static void put_raw(struct line *l, const char *s, size_t n)
{
	if (l->len + n >= LOG_LINE_MAX - 4)
		n = LOG_LINE_MAX - 4 - l->len;
	memcpy(l->text + l->len, s, n);
	l->len += n;
}

/* Escapes a string as JSON; invalid control bytes become \u00XX. */
static void put_string(struct line *l, const char *s)
{
	put_raw(l, "\"", 1);
	for (; *s && l->len < LOG_LINE_MAX - 16; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[8];

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			put_raw(l, esc, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			put_raw(l, esc, 6);
		} else {
			put_raw(l, (const char *)&ch, 1);
		}
	}
	put_raw(l, "\"", 1);
}

static void read_level_from_env(void)
{
	const char *env = getenv("KONTOR_LOG_LEVEL");

	level_read_from_env = 1;
	if (env == NULL)
		return;
	for (int i = 0; i < 4; i++)
		if (strcmp(env, level_names[i]) == 0)
			min_level = (enum log_level)i;
}

int log_enabled(enum log_level level)
{
	if (!level_read_from_env)
		read_level_from_env();
	return level >= min_level;
}

void log_write(enum log_level level, const char *module, const char *message, ...)
{
	struct line l;
	char stamp[40];
	va_list ap;
	const char *key;

	if (!level_read_from_env)
		read_level_from_env();
	if (level < min_level)
		return;

	l.len = 0;
	time_format_iso(time_now_us(), stamp, sizeof(stamp));
	put_raw(&l, "{\"time\":", 8);
	put_string(&l, stamp);
	put_raw(&l, ",\"level\":", 9);
	put_string(&l, level_names[level]);
	put_raw(&l, ",\"module\":", 10);
	put_string(&l, module);
	put_raw(&l, ",\"message\":", 11);
	put_string(&l, message);

	va_start(ap, message);
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);

		put_raw(&l, ",", 1);
		put_string(&l, key);
		put_raw(&l, ":", 1);
		if (value == NULL)
			put_raw(&l, "null", 4);
		else if (value[0] == LOG_NUM_PREFIX[0])
			put_raw(&l, value + 1, strlen(value + 1));
		else
			put_string(&l, value);
	}
	va_end(ap);
	put_raw(&l, "}\n", 2);

	/* A failed log write has nowhere to be reported. */
	if (write(STDERR_FILENO, l.text, l.len) < 0)
		return;
}
