/* Classifies IPv4 and IPv6 addresses as public or not, for webhook target checks (netcheck.h). */
#include "util/netcheck.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* An IPv4 range as network and prefix length, both in host byte order. */
struct v4_range {
	uint32_t network;
	int prefix;
};

/* Ranges that are not globally reachable (IANA IPv4 special-purpose registry, RFC 6890 and successors). */
static const struct v4_range v4_blocked[] = {
	{ 0x00000000u, 8 },  /* 0.0.0.0/8: "this network", includes the unspecified address */
	{ 0x0a000000u, 8 },  /* 10.0.0.0/8: private (RFC 1918) */
	{ 0x64400000u, 10 }, /* 100.64.0.0/10: carrier-grade NAT (RFC 6598) */
	{ 0x7f000000u, 8 },  /* 127.0.0.0/8: loopback */
	{ 0xa9fe0000u, 16 }, /* 169.254.0.0/16: link-local, where cloud metadata services live */
	{ 0xac100000u, 12 }, /* 172.16.0.0/12: private (RFC 1918) */
	{ 0xc0000000u, 24 }, /* 192.0.0.0/24: IETF protocol assignments */
	{ 0xc0000200u, 24 }, /* 192.0.2.0/24: documentation */
	{ 0xc0a80000u, 16 }, /* 192.168.0.0/16: private (RFC 1918) */
	{ 0xc6120000u, 15 }, /* 198.18.0.0/15: benchmarking */
	{ 0xc6336400u, 24 }, /* 198.51.100.0/24: documentation */
	{ 0xcb007100u, 24 }, /* 203.0.113.0/24: documentation */
	{ 0xe0000000u, 4 },  /* 224.0.0.0/4: multicast */
	{ 0xf0000000u, 4 },  /* 240.0.0.0/4: reserved, includes the broadcast address */
};

static int v4_is_public(uint32_t address)
{
	for (size_t i = 0; i < sizeof(v4_blocked) / sizeof(v4_blocked[0]); i++) {
		uint32_t mask = 0xffffffffu << (32 - v4_blocked[i].prefix);

		if ((address & mask) == v4_blocked[i].network)
			return 0;
	}
	return 1;
}

static uint32_t v4_from_bytes(const unsigned char *b)
{
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

static int v6_is_public(const unsigned char *b)
{
	static const unsigned char zero[10] = { 0 };

	/* ::/128 unspecified, ::1 loopback, and the deprecated IPv4-compatible ::a.b.c.d all start with 96 zero bits. */
	if (memcmp(b, zero, 10) == 0 && b[10] == 0 && b[11] == 0)
		return 0;
	/* ::ffff:a.b.c.d, IPv4-mapped: judged by the IPv4 address inside. */
	if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff)
		return v4_is_public(v4_from_bytes(b + 12));
	/* 64:ff9b::/96, NAT64 translation of an IPv4 address (RFC 6052). */
	if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && memcmp(b + 4, zero, 8) == 0)
		return v4_is_public(v4_from_bytes(b + 12));
	/* 2002::/16, 6to4: the IPv4 address is in bits 16..47. */
	if (b[0] == 0x20 && b[1] == 0x02)
		return v4_is_public(v4_from_bytes(b + 2));
	if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
		return 0;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
		return 0;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* fec0::/10 site-local, deprecated */
		return 0;
	if (b[0] == 0xff) /* ff00::/8 multicast */
		return 0;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* 2001:db8::/32 documentation */
		return 0;
	if (b[0] == 0x01 && b[1] == 0x00 && memcmp(b + 2, zero, 6) == 0) /* 100::/64 discard */
		return 0;
	/* Only the global unicast block 2000::/3 is routable on the Internet. */
	return (b[0] & 0xe0) == 0x20;
}

int netcheck_address_is_public(const struct sockaddr *address)
{
	sa_family_t family;

	if (address == NULL)
		return 0;
	/* memcpy, not a cast: the caller's storage may be any sockaddr type, and strict aliasing forbids the mix. */
	memcpy(&family, (const char *)address + offsetof(struct sockaddr, sa_family), sizeof(family));
	if (family == AF_INET) {
		struct in_addr v4;

		memcpy(&v4, (const char *)address + offsetof(struct sockaddr_in, sin_addr), sizeof(v4));
		return v4_is_public(ntohl(v4.s_addr));
	}
	if (family == AF_INET6) {
		struct in6_addr v6;

		memcpy(&v6, (const char *)address + offsetof(struct sockaddr_in6, sin6_addr), sizeof(v6));
		return v6_is_public(v6.s6_addr);
	}
	return 0;
}

int netcheck_text_is_public(const char *text)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (inet_pton(AF_INET, text, &v4) == 1)
		return v4_is_public(ntohl(v4.s_addr));
	if (inet_pton(AF_INET6, text, &v6) == 1)
		return v6_is_public(v6.s6_addr);
	return -1;
}
