/*
 * Client addresses behind reverse proxies: the ranges of trusted proxies
 * (--trusted-proxy) and the walk of X-Forwarded-For that finds the client
 * a trusted proxy reports. The server (http/server.c) calls these for each
 * request whose TCP peer is a trusted proxy. They do no I/O and allocate
 * nothing, so they cost little per request.
 *
 * Addresses are kept in 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * so an IPv4 range also matches a peer that a dual-stack socket reports in
 * the mapped form, and the other way round.
 */
#ifndef KONTOR_HTTP_PROXY_H
#define KONTOR_HTTP_PROXY_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXY_RANGES_MAX 64       /* entries of --trusted-proxy */
#define PROXY_HEADERS_MAX 16      /* X-Forwarded-For fields in one request; more are treated as malformed */
#define PROXY_ADDRESS_TEXT_MAX 46 /* INET6_ADDRSTRLEN: the longest formatted address with its NUL */

/* One IP address. */
struct proxy_address {
	unsigned char bytes[16]; /* network order; IPv4 as ::ffff:a.b.c.d */
	int is_ipv4;             /* written as a.b.c.d rather than in the IPv6 form */
};

/* One trusted range: the addresses whose first prefix_bits bits equal those of bytes. */
struct proxy_range {
	unsigned char bytes[16];
	int prefix_bits; /* 0..128; an IPv4 /N is stored as 96 + N */
};

/* The trusted proxies. A zeroed struct trusts no peer. */
struct proxy_trust {
	struct proxy_range ranges[PROXY_RANGES_MAX];
	int count;
};

/*
 * Adds the ranges of a comma-separated list such as "10.0.0.0/8, ::1".
 * Each entry is an IPv4 or IPv6 address or CIDR range; spaces around an
 * entry are ignored. A range with bits set after its prefix (10.0.0.1/8) is
 * rejected, since it is usually a typo. Returns 0, or -1 with a message in
 * err naming the bad entry, to which the caller adds the option's name.
 * The ranges before the bad entry stay added.
 */
int proxy_trust_add_list(struct proxy_trust *trust, const char *list, char *err, size_t errlen);

/* Returns 1 when the range contains every IPv4 address (0.0.0.0/0) or every address (::/0). */
int proxy_range_is_everything(const struct proxy_range *range);

/* Returns 1 when the address is in one of the ranges, else 0. */
int proxy_trust_contains(const struct proxy_trust *trust, const struct proxy_address *address);

/* Converts an AF_INET or AF_INET6 socket address; returns 0, or -1 for other families and NULL. */
int proxy_address_from_sockaddr(const struct sockaddr *sa, struct proxy_address *out);

/*
 * Parses one X-Forwarded-For entry of `len` bytes: "192.0.2.1",
 * "2001:db8::1", "[2001:db8::1]", and with a port, which is dropped,
 * "192.0.2.1:443" or "[2001:db8::1]:443". A bare IPv6 address takes no
 * port, since its last group could be one. Returns 0, or -1 for any other
 * text (a host name, "unknown", an address with a zone id).
 */
int proxy_address_parse(const char *text, size_t len, struct proxy_address *out);

/* Writes the address as text into buf (PROXY_ADDRESS_TEXT_MAX bytes suffice). */
void proxy_address_format(const struct proxy_address *address, char *buf, size_t len);

enum proxy_walk_result {
	PROXY_WALK_EMPTY,     /* no entries: the peer is the client */
	PROXY_WALK_FOUND,     /* *client_r is the client */
	PROXY_WALK_MALFORMED, /* an entry is not an IP address: *bad_r and *bad_len_r point at it */
};

/*
 * Finds the client in the X-Forwarded-For fields `values` (in the order
 * received; repeated fields form one list, RFC 7230 section 3.2.2). The
 * walk goes from the rightmost entry, the one the nearest proxy added, to
 * the left, passes over entries in the trusted ranges and stops at the
 * first other one, which is the client. When every entry is trusted, the
 * leftmost is the client. Empty list elements are skipped. An entry that is
 * not an IP address stops the walk, because nothing to its left can be
 * trusted either.
 */
enum proxy_walk_result proxy_forwarded_for_walk(const struct proxy_trust *trust, const char *const *values,
						int count, struct proxy_address *client_r, const char **bad_r,
						size_t *bad_len_r);

#endif
