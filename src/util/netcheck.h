/*
 * Outbound address checks for webhook targets: which IP addresses a server
 * may connect to on a user's behalf. A webhook target chosen by an API
 * caller must not reach the server's own network (loopback, private ranges,
 * link-local and cloud metadata addresses), so every address a target
 * resolves to is classified here before any connection is made. The
 * functions do no I/O.
 */
#ifndef KONTOR_UTIL_NETCHECK_H
#define KONTOR_UTIL_NETCHECK_H

#include <sys/socket.h>

/*
 * Returns 1 when the address is publicly routable and may be connected to,
 * 0 when it is private, loopback, link-local, shared (100.64/10), unique
 * local, multicast, unspecified, reserved or documentation-only, or an
 * IPv4-mapped or -translated IPv6 form of such an address. Families other
 * than AF_INET and AF_INET6 are 0.
 */
int netcheck_address_is_public(const struct sockaddr *address);

/*
 * Classifies a numeric address ("10.0.0.1", "::ffff:127.0.0.1"): 1 public,
 * 0 not public, -1 when the text is not a numeric IPv4 or IPv6 address.
 */
int netcheck_text_is_public(const char *text);

#endif
