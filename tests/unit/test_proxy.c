/*
 * Tests of the trusted proxy ranges and the X-Forwarded-For walk
 * (http/proxy.c): parsing --trusted-proxy lists, matching IPv4, IPv6 and
 * IPv4-mapped addresses, parsing header entries with and without ports, and
 * picking the client from one or several header fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http/proxy.h"

static struct proxy_trust trust_of(const char *list)
{
	struct proxy_trust trust = { .count = 0 };
	char err[256] = "";

	if (proxy_trust_add_list(&trust, list, err, sizeof(err)) != 0)
		fail_msg("\"%s\" rejected: %s", list, err);
	return trust;
}

static int trusts(const struct proxy_trust *trust, const char *address_text)
{
	struct proxy_address address;

	if (proxy_address_parse(address_text, strlen(address_text), &address) != 0)
		fail_msg("\"%s\" did not parse", address_text);
	return proxy_trust_contains(trust, &address);
}

/* Walks one header value; returns the client as text, "MALFORMED:<entry>" or "EMPTY". */
static const char *walk_one(const struct proxy_trust *trust, const char *value, char *buf, size_t len)
{
	const char *values[1] = { value };
	struct proxy_address client;
	const char *bad = NULL;
	size_t bad_len = 0;

	switch (proxy_forwarded_for_walk(trust, values, 1, &client, &bad, &bad_len)) {
	case PROXY_WALK_FOUND: proxy_address_format(&client, buf, len); break;
	case PROXY_WALK_EMPTY: snprintf(buf, len, "EMPTY"); break;
	case PROXY_WALK_MALFORMED: snprintf(buf, len, "MALFORMED:%.*s", (int)bad_len, bad); break;
	}
	return buf;
}

static void ranges_accept_valid_lists(void **state)
{
	const char *lists[] = {
		"127.0.0.1",
		"10.0.0.0/8",
		"10.0.0.0/8,192.168.0.0/16",
		" 10.0.0.0/8 , 172.16.0.0/12 ",
		"::1",
		"2001:db8::/32",
		"fd00::/8, 127.0.0.0/8",
		"0.0.0.0/0",
		"::/0",
		"::ffff:10.0.0.0/104",
		"192.0.2.7/32",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct proxy_trust trust = { .count = 0 };
		char err[256] = "";

		if (proxy_trust_add_list(&trust, lists[i], err, sizeof(err)) != 0)
			fail_msg("\"%s\" rejected: %s", lists[i], err);
	}
}

static void ranges_reject_bad_entries(void **state)
{
	static const struct {
		const char *list;
		const char *named; /* the error must contain this */
	} cases[] = {
		{ "", "empty entry" },
		{ "10.0.0.1,", "empty entry" },
		{ "10.0.0.1,,10.0.0.2", "empty entry" },
		{ "10.0.0.300", "\"10.0.0.300\"" },
		{ "10.0.0.1, proxy.example.com", "\"proxy.example.com\"" },
		{ "10.0.0.0/33", "\"10.0.0.0/33\"" },
		{ "2001:db8::/129", "\"2001:db8::/129\"" },
		{ "10.0.0.0/", "\"10.0.0.0/\"" },
		{ "10.0.0.0/-8", "\"10.0.0.0/-8\"" },
		{ "10.0.0.0/8x", "\"10.0.0.0/8x\"" },
		{ "10.0.0.1/8", "bits set" },
		{ "2001:db8::1/32", "bits set" },
		{ "[::1]", "\"[::1]\"" },
		{ "10.0.0.1:80", "\"10.0.0.1:80\"" },
		{ "fe80::1%eth0", "\"fe80::1%eth0\"" },
		{ "010.0.0.1", "\"010.0.0.1\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proxy_trust trust = { .count = 0 };
		char err[256] = "";

		if (proxy_trust_add_list(&trust, cases[i].list, err, sizeof(err)) == 0)
			fail_msg("\"%s\" accepted", cases[i].list);
		if (strstr(err, cases[i].named) == NULL)
			fail_msg("\"%s\": error \"%s\" does not contain %s", cases[i].list, err, cases[i].named);
	}
}

static void ranges_reject_too_many(void **state)
{
	struct proxy_trust trust = { .count = 0 };
	char list[32], err[256];

	(void)state;
	for (int i = 0; i < PROXY_RANGES_MAX; i++) {
		snprintf(list, sizeof(list), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(proxy_trust_add_list(&trust, list, err, sizeof(err)), 0);
	}
	assert_int_equal(proxy_trust_add_list(&trust, "10.1.0.0", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
}

static void ranges_match_ipv4(void **state)
{
	struct proxy_trust trust = trust_of("10.0.0.0/8, 192.168.1.0/24, 172.16.0.0/12, 198.51.100.9");

	(void)state;
	assert_true(trusts(&trust, "10.0.0.0"));
	assert_true(trusts(&trust, "10.255.255.255"));
	assert_false(trusts(&trust, "11.0.0.0"));
	assert_true(trusts(&trust, "192.168.1.77"));
	assert_false(trusts(&trust, "192.168.2.1"));
	assert_true(trusts(&trust, "172.31.255.255"));
	assert_false(trusts(&trust, "172.32.0.0"));
	assert_true(trusts(&trust, "198.51.100.9"));
	assert_false(trusts(&trust, "198.51.100.8"));
	/* An IPv4 range matches the same address in its IPv4-mapped IPv6 form. */
	assert_true(trusts(&trust, "::ffff:10.1.2.3"));
	assert_false(trusts(&trust, "::ffff:11.1.2.3"));
	/* ...but not the IPv4-compatible form or an unrelated IPv6 address. */
	assert_false(trusts(&trust, "::10.1.2.3"));
	assert_false(trusts(&trust, "2001:db8::1"));
}

static void ranges_match_ipv6(void **state)
{
	struct proxy_trust trust = trust_of("2001:db8:1::/48, ::1, fc00::/7");

	(void)state;
	assert_true(trusts(&trust, "2001:db8:1::1"));
	assert_true(trusts(&trust, "2001:db8:1:ffff::1"));
	assert_false(trusts(&trust, "2001:db8:2::1"));
	assert_true(trusts(&trust, "::1"));
	assert_false(trusts(&trust, "::2"));
	assert_true(trusts(&trust, "fc00::1"));
	assert_true(trusts(&trust, "fdff::1"));
	assert_false(trusts(&trust, "fe00::1"));
	assert_false(trusts(&trust, "127.0.0.1"));
}

static void ranges_match_mapped_range(void **state)
{
	struct proxy_trust trust = trust_of("::ffff:10.0.0.0/104");

	(void)state;
	assert_true(trusts(&trust, "10.9.8.7"));
	assert_false(trusts(&trust, "11.0.0.1"));
}

static void ranges_everything_flagged(void **state)
{
	struct proxy_trust trust = trust_of("0.0.0.0/0, ::/0, 10.0.0.0/8, ::ffff:0:0/97");

	(void)state;
	assert_int_equal(trust.count, 4);
	assert_true(proxy_range_is_everything(&trust.ranges[0]));
	assert_true(proxy_range_is_everything(&trust.ranges[1]));
	assert_false(proxy_range_is_everything(&trust.ranges[2]));
	assert_false(proxy_range_is_everything(&trust.ranges[3]));
	assert_true(trusts(&trust, "203.0.113.1"));
	assert_true(trusts(&trust, "2001:db8::1"));
}

static void peer_from_sockaddr(void **state)
{
	struct proxy_trust trust = trust_of("127.0.0.1");
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	struct sockaddr other = { .sa_family = AF_UNIX };
	struct proxy_address address;
	char text[PROXY_ADDRESS_TEXT_MAX];

	(void)state;
	inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
	assert_int_equal(proxy_address_from_sockaddr((struct sockaddr *)&v4, &address), 0);
	assert_true(proxy_trust_contains(&trust, &address));
	proxy_address_format(&address, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1");

	/* A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d. */
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr);
	assert_int_equal(proxy_address_from_sockaddr((struct sockaddr *)&v6, &address), 0);
	assert_true(proxy_trust_contains(&trust, &address));
	proxy_address_format(&address, text, sizeof(text));
	assert_string_equal(text, "::ffff:127.0.0.1");

	inet_pton(AF_INET6, "::1", &v6.sin6_addr);
	assert_int_equal(proxy_address_from_sockaddr((struct sockaddr *)&v6, &address), 0);
	assert_false(proxy_trust_contains(&trust, &address));

	assert_int_equal(proxy_address_from_sockaddr(&other, &address), -1);
	assert_int_equal(proxy_address_from_sockaddr(NULL, &address), -1);
}

static void entries_parse(void **state)
{
	static const struct {
		const char *entry;
		const char *formatted; /* NULL: rejected */
	} cases[] = {
		{ "192.0.2.1", "192.0.2.1" },
		{ "  192.0.2.1\t", "192.0.2.1" },
		{ "192.0.2.1:8080", "192.0.2.1" },
		{ "192.0.2.1:65535", "192.0.2.1" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },
		{ "[2001:db8::1]", "2001:db8::1" },
		{ "[2001:db8::1]:443", "2001:db8::1" },
		{ "::ffff:192.0.2.1", "::ffff:192.0.2.1" },
		{ "", NULL },
		{ "   ", NULL },
		{ "unknown", NULL },
		{ "_hidden", NULL },
		{ "client.example.com", NULL },
		{ "192.0.2", NULL },
		{ "192.0.2.256", NULL },
		{ "192.0.2.1:", NULL },
		{ "192.0.2.1:65536", NULL },
		{ "192.0.2.1:123456", NULL },
		{ "192.0.2.1:80:80", NULL },
		{ "192.0.2.1:http", NULL },
		{ "[192.0.2.1]", NULL },
		{ "[2001:db8::1", NULL },
		{ "[2001:db8::1]x", NULL },
		{ "[2001:db8::1]:", NULL },
		{ "fe80::1%eth0", NULL },
		{ "192.0.2.1 192.0.2.2", NULL },
		{ "for=192.0.2.1", NULL },
		{ "\"192.0.2.1\"", NULL },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proxy_address address;
		char text[PROXY_ADDRESS_TEXT_MAX];
		int result = proxy_address_parse(cases[i].entry, strlen(cases[i].entry), &address);

		if (cases[i].formatted == NULL) {
			if (result == 0)
				fail_msg("\"%s\" accepted", cases[i].entry);
			continue;
		}
		if (result != 0)
			fail_msg("\"%s\" rejected", cases[i].entry);
		proxy_address_format(&address, text, sizeof(text));
		if (strcmp(text, cases[i].formatted) != 0)
			fail_msg("\"%s\" formatted as \"%s\", expected \"%s\"", cases[i].entry, text, cases[i].formatted);
	}
}

/* The entry's length bounds the parse: the bytes after it are not read. */
static void entries_parse_bounded(void **state)
{
	struct proxy_address address;
	char text[PROXY_ADDRESS_TEXT_MAX];

	(void)state;
	assert_int_equal(proxy_address_parse("192.0.2.1, 10.0.0.1", 9, &address), 0);
	proxy_address_format(&address, text, sizeof(text));
	assert_string_equal(text, "192.0.2.1");
}

static void walk_picks_client(void **state)
{
	static const struct {
		const char *trusted;
		const char *header;
		const char *expected;
	} cases[] = {
		/* One proxy: the rightmost entry is the client. */
		{ "10.0.0.1", "203.0.113.5", "203.0.113.5" },
		/* A client-sent entry to the left of the real one is ignored. */
		{ "10.0.0.1", "198.51.100.66, 203.0.113.5", "203.0.113.5" },
		{ "10.0.0.1", "garbage, 203.0.113.5", "203.0.113.5" },
		/* Trusted proxies on the path are passed over. */
		{ "10.0.0.0/8", "203.0.113.5, 10.1.1.1, 10.2.2.2", "203.0.113.5" },
		{ "10.0.0.0/8", "198.51.100.66, 203.0.113.5, 10.1.1.1", "203.0.113.5" },
		/* Every entry trusted: the leftmost. */
		{ "10.0.0.0/8", "10.9.9.9, 10.1.1.1", "10.9.9.9" },
		{ "10.0.0.0/8", "10.9.9.9", "10.9.9.9" },
		/* IPv6, bracketed and with ports. */
		{ "10.0.0.0/8", "2001:db8::7", "2001:db8::7" },
		{ "10.0.0.0/8", "[2001:db8::7]:51000", "2001:db8::7" },
		{ "10.0.0.0/8", "203.0.113.5:51000", "203.0.113.5" },
		{ "2001:db8:ffff::/48", "2001:db8::7, 2001:db8:ffff::1", "2001:db8::7" },
		/* A trusted IPv4 range passes over its mapped form too. */
		{ "10.0.0.0/8", "203.0.113.5, ::ffff:10.1.1.1", "203.0.113.5" },
		/* Spaces, tabs and empty list elements. */
		{ "10.0.0.1", "  203.0.113.5  ", "203.0.113.5" },
		{ "10.0.0.1", "203.0.113.5,\t", "203.0.113.5" },
		{ "10.0.0.0/8", ",203.0.113.5,,10.1.1.1,", "203.0.113.5" },
		{ "10.0.0.1", "203.0.113.5,10.0.0.1", "203.0.113.5" },
		/* Nothing usable. */
		{ "10.0.0.1", "", "EMPTY" },
		{ "10.0.0.1", " , ,", "EMPTY" },
		/* A malformed entry reached by the walk stops it. */
		{ "10.0.0.1", "unknown", "MALFORMED:unknown" },
		{ "10.0.0.0/8", "203.0.113.5, garbage, 10.1.1.1", "MALFORMED:garbage" },
		{ "10.0.0.0/8", "203.0.113.5, 10.1.1.1:x", "MALFORMED:10.1.1.1:x" },
		{ "10.0.0.1", "203.0.113.5 10.0.0.1", "MALFORMED:203.0.113.5 10.0.0.1" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proxy_trust trust = trust_of(cases[i].trusted);
		char buf[128];
		const char *got = walk_one(&trust, cases[i].header, buf, sizeof(buf));

		if (strcmp(got, cases[i].expected) != 0)
			fail_msg("trusted %s, X-Forwarded-For \"%s\": got %s, expected %s", cases[i].trusted,
				 cases[i].header, got, cases[i].expected);
	}
}

/* Several X-Forwarded-For fields form one list in order: the last field holds the rightmost entries. */
static void walk_joins_repeated_fields(void **state)
{
	struct proxy_trust trust = trust_of("10.0.0.0/8");
	const char *two[] = { "198.51.100.66, 203.0.113.5", "10.1.1.1" };
	const char *trusted_last[] = { "203.0.113.5", "10.1.1.1, 10.2.2.2", "" };
	const char *all_trusted[] = { "10.3.3.3", "10.1.1.1" };
	const char *bad_first[] = { "nonsense", "10.1.1.1" };
	struct proxy_address client;
	char text[PROXY_ADDRESS_TEXT_MAX];
	const char *bad = NULL;
	size_t bad_len = 0;

	(void)state;
	assert_int_equal(proxy_forwarded_for_walk(&trust, two, 2, &client, &bad, &bad_len), PROXY_WALK_FOUND);
	proxy_address_format(&client, text, sizeof(text));
	assert_string_equal(text, "203.0.113.5");

	assert_int_equal(proxy_forwarded_for_walk(&trust, trusted_last, 3, &client, &bad, &bad_len),
			 PROXY_WALK_FOUND);
	proxy_address_format(&client, text, sizeof(text));
	assert_string_equal(text, "203.0.113.5");

	assert_int_equal(proxy_forwarded_for_walk(&trust, all_trusted, 2, &client, &bad, &bad_len),
			 PROXY_WALK_FOUND);
	proxy_address_format(&client, text, sizeof(text));
	assert_string_equal(text, "10.3.3.3");

	assert_int_equal(proxy_forwarded_for_walk(&trust, bad_first, 2, &client, &bad, &bad_len),
			 PROXY_WALK_MALFORMED);
	assert_int_equal(bad_len, strlen("nonsense"));
	assert_memory_equal(bad, "nonsense", bad_len);

	assert_int_equal(proxy_forwarded_for_walk(&trust, NULL, 0, &client, &bad, &bad_len), PROXY_WALK_EMPTY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ranges_accept_valid_lists),
		cmocka_unit_test(ranges_reject_bad_entries),
		cmocka_unit_test(ranges_reject_too_many),
		cmocka_unit_test(ranges_match_ipv4),
		cmocka_unit_test(ranges_match_ipv6),
		cmocka_unit_test(ranges_match_mapped_range),
		cmocka_unit_test(ranges_everything_flagged),
		cmocka_unit_test(peer_from_sockaddr),
		cmocka_unit_test(entries_parse),
		cmocka_unit_test(entries_parse_bounded),
		cmocka_unit_test(walk_picks_client),
		cmocka_unit_test(walk_joins_repeated_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
