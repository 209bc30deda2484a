/*
 * Outbound HTTP for webhooks: the POST of the creation handshake and of
 * every delivery, the target URL check, the signing secret's encryption at
 * rest, and X-Hook-Signature. The API layer uses it for the handshake during
 * POST /webhooks; the delivery worker (jobs/webhooks.h) for everything after.
 *
 * Target safety: a target must be an http:// or https:// URL without user
 * information. Its host is resolved here, and every address it resolves to
 * must be public (util/netcheck.h) unless private targets are allowed.
 * libcurl is pinned to the checked address (CURLOPT_RESOLVE) and rejects any
 * other at socket creation, so a DNS answer that changes between the check
 * and the connection cannot redirect the request. Redirects are not followed
 * and proxies from the environment are not used.
 */
#ifndef KONTOR_JOBS_WEBHOOK_SEND_H
#define KONTOR_JOBS_WEBHOOK_SEND_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_TARGET_MAX 2048      /* bytes in a target URL */
#define WEBHOOK_SECRET_HEX 64        /* characters in a signing secret: 32 random bytes in hex */
#define WEBHOOK_SIGNATURE_HEX 64     /* characters in X-Hook-Signature */
#define WEBHOOK_SUMMARY_MAX 320      /* bytes kept of a failed attempt, NUL included */
#define WEBHOOK_RESPONSE_MAX 65536   /* response bytes read before the transfer is cut off */
#define WEBHOOK_CONNECT_TIMEOUT_MS 5000
/*
 * Creation handshakes in flight, in this process and per token (or session
 * user); more get 429. Each runs on a helper thread of the HTTP server.
 */
#define WEBHOOK_HANDSHAKES_MAX 16
#define WEBHOOK_HANDSHAKES_PER_PRINCIPAL 2

enum webhook_send_status {
	WEBHOOK_SENT = 0,          /* a response arrived; see http_status */
	WEBHOOK_BAD_TARGET,        /* not an http(s) URL kontor accepts */
	WEBHOOK_FORBIDDEN_ADDRESS, /* the host is or resolves to a non-public address */
	WEBHOOK_UNRESOLVED,        /* the host name did not resolve */
	WEBHOOK_FAILED,            /* connection failed, timed out, or the transfer broke */
	WEBHOOK_ABORTED,           /* the caller's abort flag was raised */
};

struct webhook_send_options {
	int timeout_ms;               /* whole request, connection included */
	int allow_private;            /* connect to non-public addresses too (operator's choice) */
	const volatile int *abort_flag; /* nonzero aborts the transfer; may be NULL */
};

struct webhook_response {
	long http_status;                          /* 0 when no response arrived */
	char hook_secret[WEBHOOK_SECRET_HEX + 1];  /* the X-Hook-Secret response header, "" when absent or too long */
	int hook_secret_seen;                      /* the response had an X-Hook-Secret header, whatever its value */
	char summary[WEBHOOK_SUMMARY_MAX];         /* short printable description of the outcome */
};

/* Initialises libcurl; call once before any thread sends. Returns 0 or -1. */
int webhook_send_global_init(void);
void webhook_send_global_cleanup(void);

/*
 * Checks a target URL's form (not its address): http or https, a host, no
 * user information, at most WEBHOOK_TARGET_MAX bytes. Returns 0, or -1 with
 * a message for the caller in `err`.
 */
int webhook_target_check(const char *url, char *err, size_t errlen);

/*
 * POSTs `body` (may be empty) to `url` with the given extra header lines
 * ("Name: value", NULL-terminated array, may be NULL). Fills `response`.
 * Blocks for at most options->timeout_ms plus name resolution.
 */
enum webhook_send_status webhook_post(const char *url, const char *const *headers, const char *body, size_t len,
				      const struct webhook_send_options *options, struct webhook_response *response);

/* Writes a new random signing secret (WEBHOOK_SECRET_HEX hex characters and a NUL) into `secret`. */
void webhook_secret_new(char secret[WEBHOOK_SECRET_HEX + 1]);

/*
 * Encrypts a secret for the webhooks table with a key derived from `pepper`
 * (APP_KEY_BYTES): base64 of nonce and secretbox. Returns a malloc'd string
 * the caller frees, or NULL when out of memory.
 */
char *webhook_secret_seal(const unsigned char *pepper, const char *secret);
/* Decrypts a sealed secret into `secret`. Returns 0, or -1 when it does not open with this pepper. */
int webhook_secret_unseal(const unsigned char *pepper, const char *sealed, char secret[WEBHOOK_SECRET_HEX + 1]);

/* Writes the lowercase hex HMAC-SHA256 of `body` keyed with `secret` into `out`. */
void webhook_sign(const char *secret, const char *body, size_t len, char out[WEBHOOK_SIGNATURE_HEX + 1]);

#endif
