#include "util/gid.h"
#include "util/timeutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#define GID_EPOCH_MS 1577836800000LL /* 2020-01-01T00:00:00Z */
#define GID_SEQUENCE_BITS 12
#define GID_NODE_BITS 10

static pthread_mutex_t gid_lock = PTHREAD_MUTEX_INITIALIZER;
static int gid_node;
static int64_t last_ms;
static int64_t sequence;

int gid_set_node(int node)
{
	if (node < 0 || node > GID_NODE_MAX)
		return -1;
	/* The node-id lease may change the id while other threads mint gids. */
	pthread_mutex_lock(&gid_lock);
	gid_node = node;
	pthread_mutex_unlock(&gid_lock);
	return 0;
}

int gid_get_node(void)
{
	int node;

	pthread_mutex_lock(&gid_lock);
	node = gid_node;
	pthread_mutex_unlock(&gid_lock);
	return node;
}

int64_t gid_next(void)
{
	int64_t ms;
	int64_t gid;

	pthread_mutex_lock(&gid_lock);
	ms = time_now_us() / 1000 - GID_EPOCH_MS;
	/* If the clock steps back, keep counting from the last millisecond used. */
	if (ms < last_ms)
		ms = last_ms;
	if (ms == last_ms) {
		sequence++;
		if (sequence >= (1 << GID_SEQUENCE_BITS)) {
			/* Sequence exhausted: borrow the next millisecond. */
			ms = last_ms + 1;
			sequence = 0;
		}
	} else {
		sequence = 0;
	}
	last_ms = ms;
	gid = (ms << (GID_NODE_BITS + GID_SEQUENCE_BITS)) | ((int64_t)gid_node << GID_SEQUENCE_BITS) | sequence;
	pthread_mutex_unlock(&gid_lock);
	return gid;
}

/* Written by hand: every object in every response has a gid, and snprintf costs several times more. */
/* "00" to "99": gids have 18 or 19 digits, so writing two per division halves the divisions. */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
				  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
				  "8081828384858687888990919293949596979899";

char *gid_format(int64_t gid, char *buf)
{
	char digits[GID_STRING_MAX];
	uint64_t magnitude = gid < 0 ? 0 - (uint64_t)gid : (uint64_t)gid;
	size_t n = sizeof(digits), len;

	while (magnitude >= 100) {
		unsigned pair = (unsigned)(magnitude % 100);

		magnitude /= 100;
		n -= 2;
		memcpy(digits + n, digit_pairs + 2 * pair, 2);
	}
	if (magnitude >= 10) {
		n -= 2;
		memcpy(digits + n, digit_pairs + 2 * magnitude, 2);
	} else {
		digits[--n] = (char)('0' + magnitude);
	}
	if (gid < 0)
		digits[--n] = '-';
	len = sizeof(digits) - n;
	memcpy(buf, digits + n, len);
	buf[len] = '\0';
	return buf;
}

int gid_parse(const char *text, int64_t *gid_r)
{
	int64_t value = 0;
	int digits = 0;

	/* A leading zero would give one object several spellings ("7", "007"), so only the canonical form is read. */
	if (text == NULL || text[0] == '0')
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9' || ++digits > 19)
			return -1;
		if (value > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		value = value * 10 + (*p - '0');
	}
	if (digits == 0 || value <= 0)
		return -1;
	*gid_r = value;
	return 0;
}

int gid_compare(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}
