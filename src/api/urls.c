/*
 * The server's base URL, which every absolute URL in a response starts with
 * (next_page.uri, photo URLs, permalink_url). An operator sets it with
 * --public-url. Without it the URL comes from the request, and because a
 * client controls its Host and X-Forwarded-Proto headers, they are used only
 * when well-formed (Host) or when a trusted proxy sets them (--trust-proxy,
 * and with --trusted-proxy only from the peers it lists).
 */
#include "api/api.h"
#include "api/app.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define URL_HOST_MAX 255 /* bytes of host[:port]: a DNS name is at most 253, plus a port */
#define URL_LABEL_MAX 63 /* bytes of one DNS label (RFC 1035, section 2.3.4) */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 1 when text[0..len) is a DNS name or an IPv4 address: dot-separated labels of letters, digits and inner hyphens. */
static bool host_name_valid(const char *text, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (c == '.') {
			if (label == 0 || text[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && !(c == '-' && label > 0))
			return false;
		if (++label > URL_LABEL_MAX)
			return false;
	}
	return label > 0 && text[len - 1] != '-';
}

/* 1 when text[0..len) is a bracketed IPv6 address such as [::1] (hex digits, colons and an embedded IPv4). */
static bool host_ipv6_valid(const char *text, size_t len)
{
	bool colon = false;

	if (len < 4 || text[0] != '[' || text[len - 1] != ']')
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		if (text[i] == ':')
			colon = true;
		else if (!is_hex(text[i]) && text[i] != '.')
			return false;
	}
	return colon;
}

/* 1 when text[0..len) is a decimal port from 1 to 65535 without leading zeros. */
static bool port_valid(const char *text, size_t len)
{
	long value = 0;

	if (len == 0 || len > 5 || text[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(text[i]))
			return false;
		value = value * 10 + (text[i] - '0');
	}
	return value <= 65535;
}

/* 1 when text[0..len) is host[:port], the form of an HTTP Host header (RFC 9110, section 7.2). */
static bool host_port_valid(const char *text, size_t len)
{
	size_t host_len = len;

	if (len == 0 || len > URL_HOST_MAX)
		return false;

	/* The port follows the last colon, unless that colon is inside an IPv6 address. */
	for (size_t i = len; i > 0; i--) {
		if (text[i - 1] == ']')
			break;
		if (text[i - 1] == ':') {
			if (!port_valid(text + i, len - i))
				return false;
			host_len = i - 1;
			break;
		}
	}
	if (text[0] == '[')
		return host_ipv6_valid(text, host_len);
	return host_name_valid(text, host_len);
}

int api_public_url_check(const char *url, char *err, size_t errlen)
{
	const char *host;
	size_t len;

	if (strncmp(url, "https://", 8) == 0) {
		host = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		host = url + 7;
	} else {
		snprintf(err, errlen, "--public-url (KONTOR_PUBLIC_URL): \"%.100s\" must start with https:// or http://", url);
		return -1;
	}

	/* A single trailing slash is the same base URL; api_base_url drops it. */
	len = strlen(host);
	if (len > 0 && host[len - 1] == '/')
		len--;
	if (!host_port_valid(host, len)) {
		snprintf(err, errlen,
			 "--public-url (KONTOR_PUBLIC_URL): \"%.100s\" must be SCHEME://HOST or SCHEME://HOST:PORT, with no user, "
			 "path, query or fragment, such as https://kontor.example.com",
			 url);
		return -1;
	}
	return 0;
}

/* Returns "https" when a trusted proxy reports that the client used HTTPS, else NULL. */
static const char *forwarded_scheme(api_ctx *ctx)
{
	const char *proto;
	size_t len;

	if (ctx->app == NULL || !ctx->app->trust_proxy)
		return NULL;
	if (ctx->app->has_trusted_proxies && !ctx->req->peer_is_trusted_proxy)
		return NULL;
	proto = http_request_header(ctx->req, "X-Forwarded-Proto");
	if (proto == NULL)
		return NULL;

	/* With several proxies the header is a list; the first entry is the one the client connected with. */
	while (*proto == ' ' || *proto == '\t')
		proto++;
	len = strcspn(proto, ", \t");
	return len == 5 && strncasecmp(proto, "https", 5) == 0 ? "https" : NULL;
}

char *api_base_url(api_ctx *ctx, char *buf, size_t len)
{
	const char *public_url = ctx->app != NULL ? ctx->app->public_url : NULL;
	const char *scheme;
	const char *host;

	if (public_url != NULL && public_url[0] != '\0') {
		size_t n = strlen(public_url);

		if (public_url[n - 1] == '/')
			n--;
		if (n >= len)
			n = len - 1;
		memcpy(buf, public_url, n);
		buf[n] = '\0';
		return buf;
	}

	scheme = forwarded_scheme(ctx);
	if (scheme == NULL)
		scheme = ctx->req->is_tls ? "https" : "http";
	host = http_request_header(ctx->req, "Host");
	if (host == NULL || !host_port_valid(host, strlen(host)))
		host = "localhost";
	{
		size_t scheme_len = strlen(scheme), host_len = strlen(host);

		/* Copied rather than printed: this runs for every task a reply shows. */
		if (scheme_len + 3 + host_len + 1 > len) {
			snprintf(buf, len, "%s://%s", scheme, host);
			return buf;
		}
		memcpy(buf, scheme, scheme_len);
		memcpy(buf + scheme_len, "://", 3);
		memcpy(buf + scheme_len + 3, host, host_len + 1);
	}
	return buf;
}
