/*
 * Trusted proxy ranges and the X-Forwarded-For walk (see http/proxy.h).
 * Everything works on the caller's strings in place: an entry is copied
 * into a small stack buffer only to give inet_pton its NUL.
 */
#include "http/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* The longest IPv6 text (45 bytes, with an embedded IPv4 part) plus brackets, a port and a NUL is 54 bytes. */
#define ENTRY_TEXT_MAX 64

static const unsigned char mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Narrows [*start, *end) to exclude spaces and tabs on both sides. */
static void trim(const char **start, const char **end)
{
	while (*start < *end && is_space(**start))
		(*start)++;
	while (*end > *start && is_space((*end)[-1]))
		(*end)--;
}

static void set_ipv4(struct proxy_address *out, const unsigned char v4[4])
{
	memcpy(out->bytes, mapped_prefix, sizeof(mapped_prefix));
	memcpy(out->bytes + 12, v4, 4);
	out->is_ipv4 = 1;
}

/* Parses a NUL-terminated numeric IPv4 or IPv6 address, without brackets or port. */
static int parse_plain(const char *text, struct proxy_address *out)
{
	unsigned char v4[4];

	if (inet_pton(AF_INET, text, v4) == 1) {
		set_ipv4(out, v4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->bytes) == 1) {
		out->is_ipv4 = 0;
		return 0;
	}
	return -1;
}

/* Returns 1 when [start, end) is a decimal number of 1 to `digits` digits no greater than max. */
static int is_bounded_number(const char *start, const char *end, int digits, long max, long *value_r)
{
	long value = 0;

	if (end <= start || end - start > digits)
		return 0;
	for (const char *p = start; p < end; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		value = value * 10 + (*p - '0');
	}
	if (value > max)
		return 0;
	if (value_r)
		*value_r = value;
	return 1;
}

/* Copies [start, end) into buf with a NUL; returns -1 when it does not fit. */
static int copy_text(const char *start, const char *end, char *buf, size_t size)
{
	size_t len = (size_t)(end - start);

	if (len >= size)
		return -1;
	memcpy(buf, start, len);
	buf[len] = '\0';
	return 0;
}

int proxy_address_parse(const char *text, size_t len, struct proxy_address *out)
{
	const char *start = text, *end = text + len, *bracket_end, *colon;
	char buf[ENTRY_TEXT_MAX];
	unsigned char v4[4];

	trim(&start, &end);
	if (start == end)
		return -1;

	/* "[v6]" or "[v6]:port" */
	if (*start == '[') {
		bracket_end = memchr(start, ']', (size_t)(end - start));
		if (bracket_end == NULL)
			return -1;
		if (bracket_end + 1 != end &&
		    (bracket_end[1] != ':' || !is_bounded_number(bracket_end + 2, end, 5, 65535, NULL)))
			return -1;
		if (copy_text(start + 1, bracket_end, buf, sizeof(buf)) != 0)
			return -1;
		if (inet_pton(AF_INET6, buf, out->bytes) != 1)
			return -1;
		out->is_ipv4 = 0;
		return 0;
	}

	if (copy_text(start, end, buf, sizeof(buf)) != 0)
		return -1;
	if (parse_plain(buf, out) == 0)
		return 0;

	/* "a.b.c.d:port": only an IPv4 address before the one colon. */
	colon = memchr(start, ':', (size_t)(end - start));
	if (colon == NULL || memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL)
		return -1;
	if (!is_bounded_number(colon + 1, end, 5, 65535, NULL))
		return -1;
	buf[colon - start] = '\0';
	if (inet_pton(AF_INET, buf, v4) != 1)
		return -1;
	set_ipv4(out, v4);
	return 0;
}

void proxy_address_format(const struct proxy_address *address, char *buf, size_t len)
{
	const char *done;

	if (address->is_ipv4)
		done = inet_ntop(AF_INET, address->bytes + 12, buf, (socklen_t)len);
	else
		done = inet_ntop(AF_INET6, address->bytes, buf, (socklen_t)len);
	if (done == NULL && len > 0)
		buf[0] = '\0';
}

int proxy_address_from_sockaddr(const struct sockaddr *sa, struct proxy_address *out)
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		set_ipv4(out, (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		out->is_ipv4 = 0;
		return 0;
	}
	return -1;
}

/* Returns 1 when the first `bits` bits of a and b are equal. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int proxy_trust_contains(const struct proxy_trust *trust, const struct proxy_address *address)
{
	for (int i = 0; i < trust->count; i++) {
		if (prefix_equal(trust->ranges[i].bytes, address->bytes, trust->ranges[i].prefix_bits))
			return 1;
	}
	return 0;
}

int proxy_range_is_everything(const struct proxy_range *range)
{
	return range->prefix_bits == 0 ||
	       (range->prefix_bits == 96 && memcmp(range->bytes, mapped_prefix, sizeof(mapped_prefix)) == 0);
}

/* Returns 1 when a bit after the first `bits` bits is set. */
static int host_bits_set(const unsigned char *bytes, int bits)
{
	for (int i = bits; i < 128; i++) {
		if (bytes[i / 8] & (0x80 >> (i % 8)))
			return 1;
	}
	return 0;
}

/* Parses one --trusted-proxy entry, "ADDRESS" or "ADDRESS/PREFIX", already trimmed. */
static int parse_range(const char *start, const char *end, struct proxy_range *out, char *err, size_t errlen)
{
	const char *slash = memchr(start, '/', (size_t)(end - start));
	const char *address_end = slash ? slash : end;
	struct proxy_address address;
	char buf[ENTRY_TEXT_MAX];
	int width = (int)(end - start);
	long prefix;

	if (copy_text(start, address_end, buf, sizeof(buf)) != 0 || parse_plain(buf, &address) != 0) {
		snprintf(err, errlen,
			 "\"%.*s\" is not an IP address or CIDR range; write it like 10.0.0.0/8, "
			 "192.0.2.7 or 2001:db8::/32",
			 width > 80 ? 80 : width, start);
		return -1;
	}
	if (slash == NULL) {
		prefix = address.is_ipv4 ? 32 : 128;
	} else if (!is_bounded_number(slash + 1, end, 3, address.is_ipv4 ? 32 : 128, &prefix)) {
		snprintf(err, errlen, "\"%.*s\": the prefix length must be a number from 0 to %d",
			 width > 80 ? 80 : width, start, address.is_ipv4 ? 32 : 128);
		return -1;
	}
	memcpy(out->bytes, address.bytes, 16);
	out->prefix_bits = (int)prefix + (address.is_ipv4 ? 96 : 0);
	if (host_bits_set(out->bytes, out->prefix_bits)) {
		snprintf(err, errlen,
			 "\"%.*s\" has bits set after its /%ld prefix; write the network address "
			 "of the range, or the single address without a prefix",
			 width > 80 ? 80 : width, start, prefix);
		return -1;
	}
	return 0;
}

int proxy_trust_add_list(struct proxy_trust *trust, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	for (;;) {
		const char *comma = strchr(p, ',');
		const char *start = p, *end = comma ? comma : p + strlen(p);

		trim(&start, &end);
		if (start == end) {
			snprintf(err, errlen, "empty entry in \"%.80s\"; separate ranges with single commas",
				 list);
			return -1;
		}
		if (trust->count >= PROXY_RANGES_MAX) {
			snprintf(err, errlen, "more than %d ranges; merge them into wider ones",
				 PROXY_RANGES_MAX);
			return -1;
		}
		if (parse_range(start, end, &trust->ranges[trust->count], err, errlen) != 0)
			return -1;
		trust->count++;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

enum proxy_walk_result proxy_forwarded_for_walk(const struct proxy_trust *trust, const char *const *values,
						int count, struct proxy_address *client_r, const char **bad_r,
						size_t *bad_len_r)
{
	struct proxy_address address;
	int seen = 0;

	for (int v = count - 1; v >= 0; v--) {
		const char *value = values[v];
		const char *end = value + strlen(value);

		/* Each pass takes the element between the previous comma and `end`. */
		for (;;) {
			const char *start = end, *element_start, *element_end;

			while (start > value && start[-1] != ',')
				start--;
			element_start = start;
			element_end = end;
			trim(&element_start, &element_end);
			if (element_start != element_end) {
				if (proxy_address_parse(element_start, (size_t)(element_end - element_start), &address) !=
				    0) {
					*bad_r = element_start;
					*bad_len_r = (size_t)(element_end - element_start);
					return PROXY_WALK_MALFORMED;
				}
				seen = 1;
				*client_r = address;
				if (!proxy_trust_contains(trust, &address))
					return PROXY_WALK_FOUND;
			}
			if (start == value)
				break;
			end = start - 1;
		}
	}
	/* Every entry is trusted, and *client_r is the leftmost. */
	return seen ? PROXY_WALK_FOUND : PROXY_WALK_EMPTY;
}
