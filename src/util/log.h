/*
 * Structured logging: one JSON object per line on stderr with time, level,
 * module, message and key/value fields. Values are strings and are escaped,
 * so client-supplied text cannot forge lines. Never pass a token, password,
 * cookie or request body as a value.
 */
#ifndef KONTOR_UTIL_LOG_H
#define KONTOR_UTIL_LOG_H

#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level written (default LOG_INFO; env KONTOR_LOG_LEVEL). */
void log_set_level(enum log_level level);

/* 1 when lines of `level` are written: lets a caller skip formatting the fields of a line that is dropped. */
int log_enabled(enum log_level level);

/*
 * Writes one line. The variadic part is pairs of (const char *key,
 * const char *value) ending with NULL; a NULL value writes JSON null.
 */
void log_write(enum log_level level, const char *module, const char *message, ...)
	__attribute__((sentinel));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

/* Formats an integer into `buf` (at least 24 bytes) and returns it. */
const char *log_format_int(char *buf, int64_t value);
/* An integer as a log value, in a buffer that lives until the end of the statement's block. */
#define LOG_INT(v) log_format_int((char[24]){0}, (int64_t)(v))

/* A value starting with this byte is written as a raw JSON number, without quotes. */
#define LOG_NUM_PREFIX "\x01"
/* Formats an integer as a JSON number value into `buf` (at least 24 bytes). */
const char *log_format_num(char *buf, int64_t value);
/* An integer written as a JSON number: "status", LOG_NUM(status). */
#define LOG_NUM(v) log_format_num((char[24]){0}, (int64_t)(v))

#endif
