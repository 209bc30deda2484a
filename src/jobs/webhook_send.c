/*
 * Webhook HTTP with libcurl: target URL checks, address pinning, bounded
 * requests and responses, and the secret handling behind X-Hook-Signature.
 * The contract and the target-safety rules are in webhook_send.h.
 */
#include "jobs/webhook_send.h"
#include "util/netcheck.h"

#include <curl/curl.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Key derivation for the secrets' encryption key: its own context, so it never equals another key from the pepper. */
#define SECRET_KDF_ID 2
#define SECRET_KDF_CONTEXT "whsecret"
#define BODY_KEPT 200 /* response bytes quoted in a failure summary */

struct transfer {
	const struct webhook_send_options *options;
	struct webhook_response *response;
	char body[BODY_KEPT + 1];
	size_t body_len;
	size_t received;
};

int webhook_send_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void webhook_send_global_cleanup(void)
{
	curl_global_cleanup();
}

/* Copies printable ASCII of `text` into `out`, replacing anything else with '?', so summaries stay one safe line. */
static void printable_copy(char *out, size_t out_len, const char *text, size_t len)
{
	size_t i;

	if (out_len == 0)
		return;
	for (i = 0; i < len && i + 1 < out_len; i++) {
		unsigned char c = (unsigned char)text[i];

		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[i] = '\0';
}

int webhook_target_check(const char *url, char *err, size_t errlen)
{
	CURLU *parsed;
	char *scheme = NULL, *host = NULL, *user = NULL;
	int result = -1;

	if (strlen(url) > WEBHOOK_TARGET_MAX) {
		snprintf(err, errlen, "target: longer than %d bytes; use a shorter URL", WEBHOOK_TARGET_MAX);
		return -1;
	}
	parsed = curl_url();
	if (parsed == NULL) {
		snprintf(err, errlen, "target: cannot be checked now; try again");
		return -1;
	}
	if (curl_url_set(parsed, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		snprintf(err, errlen, "target: not a valid URL; send an absolute https:// URL such as "
				      "https://example.com/receive-webhook");
		goto done;
	}
	if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0) {
		snprintf(err, errlen, "target: the scheme \"%.16s\" is not supported; use https:// (or http://)", scheme);
		goto done;
	}
	if (curl_url_get(parsed, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "target: must not contain a user name or password; put credentials in the "
				      "URL's path or query instead");
		goto done;
	}
	result = 0;
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(parsed);
	return result;
}

static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * count;

	if (t->body_len < BODY_KEPT) {
		size_t take = len < BODY_KEPT - t->body_len ? len : BODY_KEPT - t->body_len;

		memcpy(t->body + t->body_len, data, take);
		t->body_len += take;
	}
	t->received += len;
	/* Returning less than `len` makes libcurl stop the transfer with CURLE_WRITE_ERROR. */
	return t->received > WEBHOOK_RESPONSE_MAX ? 0 : len;
}

static size_t on_header(char *data, size_t size, size_t count, void *arg)
{
	static const char name[] = "x-hook-secret:";
	struct transfer *t = arg;
	size_t len = size * count, start, end;

	if (len <= sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1) != 0)
		return len;
	t->response->hook_secret_seen = 1;
	start = sizeof(name) - 1;
	end = len;
	while (start < end && (data[start] == ' ' || data[start] == '\t'))
		start++;
	while (end > start && (data[end - 1] == '\r' || data[end - 1] == '\n' || data[end - 1] == ' '))
		end--;
	if (end - start <= WEBHOOK_SECRET_HEX) {
		memcpy(t->response->hook_secret, data + start, end - start);
		t->response->hook_secret[end - start] = '\0';
	} else {
		t->response->hook_secret[0] = '\0';
	}
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct transfer *t = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return t->options->abort_flag != NULL && *t->options->abort_flag ? 1 : 0;
}

/*
 * The last line of defence: libcurl asks for every socket it opens, so a
 * connection to an address that was not checked (if pinning were bypassed)
 * fails here.
 */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *address)
{
	struct transfer *t = arg;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (!t->options->allow_private && !netcheck_address_is_public(&address->addr))
		return CURL_SOCKET_BAD;
	return socket(address->family, address->socktype, address->protocol);
}

/*
 * Resolves the URL's host and checks every address. On success writes a
 * CURLOPT_RESOLVE entry that pins the first address into `pin` ("" for a
 * numeric host, which libcurl does not resolve). Returns WEBHOOK_SENT when
 * the target may be contacted, else the reason it may not.
 */
static enum webhook_send_status resolve_and_check(const char *url, int allow_private, char *pin, size_t pin_len,
						  char *summary, size_t summary_len)
{
	CURLU *parsed = curl_url();
	char *host = NULL, *port = NULL;
	struct addrinfo hints, *list = NULL, *item;
	char name[256], numeric[INET6_ADDRSTRLEN];
	enum webhook_send_status status = WEBHOOK_BAD_TARGET;
	size_t host_len;
	int rc;

	pin[0] = '\0';
	if (parsed == NULL) {
		snprintf(summary, summary_len, "out of memory");
		return WEBHOOK_FAILED;
	}
	if (curl_url_set(parsed, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		snprintf(summary, summary_len, "invalid target URL");
		goto done;
	}
	/* IPv6 literals come back in brackets. */
	host_len = strlen(host);
	if (host_len >= sizeof(name)) {
		snprintf(summary, summary_len, "target host name too long");
		goto done;
	}
	if (host[0] == '[' && host_len > 2 && host[host_len - 1] == ']') {
		memcpy(name, host + 1, host_len - 2);
		name[host_len - 2] = '\0';
	} else {
		memcpy(name, host, host_len + 1);
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(name, port, &hints, &list);
	if (rc != 0 || list == NULL) {
		snprintf(summary, summary_len, "cannot resolve the target host: %s", gai_strerror(rc));
		status = WEBHOOK_UNRESOLVED;
		goto done;
	}
	/* Every address must pass: libcurl could otherwise fall back to an unchecked one. */
	for (item = list; item != NULL; item = item->ai_next) {
		if (!allow_private && !netcheck_address_is_public(item->ai_addr)) {
			snprintf(summary, summary_len, "the target host resolves to a private, loopback, link-local or "
						       "otherwise non-public address");
			status = WEBHOOK_FORBIDDEN_ADDRESS;
			goto done;
		}
	}
	if (getnameinfo(list->ai_addr, list->ai_addrlen, numeric, sizeof(numeric), NULL, 0, NI_NUMERICHOST) != 0) {
		snprintf(summary, summary_len, "cannot use the target host's address");
		status = WEBHOOK_FAILED;
		goto done;
	}
	if (netcheck_text_is_public(name) < 0) {
		if (list->ai_family == AF_INET6)
			snprintf(pin, pin_len, "%s:%s:[%s]", name, port, numeric);
		else
			snprintf(pin, pin_len, "%s:%s:%s", name, port, numeric);
	}
	status = WEBHOOK_SENT;
done:
	if (list)
		freeaddrinfo(list);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(parsed);
	return status;
}

enum webhook_send_status webhook_post(const char *url, const char *const *headers, const char *body, size_t len,
				      const struct webhook_send_options *options, struct webhook_response *response)
{
	struct transfer t;
	struct curl_slist *header_list = NULL, *resolve_list = NULL, *added;
	char pin[512], err[256];
	enum webhook_send_status status;
	CURLcode code;
	CURL *curl;
	long connect_ms;

	memset(response, 0, sizeof(*response));
	memset(&t, 0, sizeof(t));
	t.options = options;
	t.response = response;
	if (webhook_target_check(url, err, sizeof(err)) != 0) {
		snprintf(response->summary, sizeof(response->summary), "invalid target URL");
		return WEBHOOK_BAD_TARGET;
	}
	status = resolve_and_check(url, options->allow_private, pin, sizeof(pin), response->summary,
				   sizeof(response->summary));
	if (status != WEBHOOK_SENT)
		return status;

	curl = curl_easy_init();
	if (curl == NULL) {
		snprintf(response->summary, sizeof(response->summary), "out of memory");
		return WEBHOOK_FAILED;
	}
	/* Empty Expect: no 100-continue round trip, and a receiver that does not send it still gets the body. */
	header_list = curl_slist_append(NULL, "Expect:");
	for (size_t i = 0; header_list && headers && headers[i]; i++) {
		added = curl_slist_append(header_list, headers[i]);
		if (added == NULL) {
			curl_slist_free_all(header_list);
			header_list = NULL;
		} else {
			header_list = added;
		}
	}
	if (pin[0] != '\0')
		resolve_list = curl_slist_append(NULL, pin);
	if (header_list == NULL || (pin[0] != '\0' && resolve_list == NULL)) {
		snprintf(response->summary, sizeof(response->summary), "out of memory");
		status = WEBHOOK_FAILED;
		goto done;
	}

	connect_ms = options->timeout_ms < WEBHOOK_CONNECT_TIMEOUT_MS ? options->timeout_ms : WEBHOOK_CONNECT_TIMEOUT_MS;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "kontor-webhooks/1");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)options->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t);
	if (resolve_list)
		curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve_list);

	code = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->http_status);
	if (code == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(response->summary, sizeof(response->summary), "delivery interrupted by a server shutdown");
		status = WEBHOOK_ABORTED;
	} else if (code == CURLE_WRITE_ERROR && response->http_status > 0) {
		/* The response outgrew WEBHOOK_RESPONSE_MAX; its status still counts. */
		snprintf(response->summary, sizeof(response->summary), "HTTP %ld (response longer than %d bytes, cut off)",
			 response->http_status, WEBHOOK_RESPONSE_MAX);
		status = WEBHOOK_SENT;
	} else if (code == CURLE_OPERATION_TIMEDOUT) {
		snprintf(response->summary, sizeof(response->summary), "timed out after %d ms", options->timeout_ms);
		status = WEBHOOK_FAILED;
	} else if (code != CURLE_OK) {
		snprintf(response->summary, sizeof(response->summary), "request failed: %s", curl_easy_strerror(code));
		status = WEBHOOK_FAILED;
	} else {
		char quoted[BODY_KEPT + 1];

		printable_copy(quoted, sizeof(quoted), t.body, t.body_len);
		snprintf(response->summary, sizeof(response->summary), "HTTP %ld%s%s", response->http_status,
			 quoted[0] ? ": " : "", quoted);
		status = WEBHOOK_SENT;
	}
done:
	curl_slist_free_all(header_list);
	curl_slist_free_all(resolve_list);
	curl_easy_cleanup(curl);
	return status;
}

void webhook_secret_new(char secret[WEBHOOK_SECRET_HEX + 1])
{
	unsigned char raw[WEBHOOK_SECRET_HEX / 2];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(secret, WEBHOOK_SECRET_HEX + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

static void secret_key(const unsigned char *pepper, unsigned char *key)
{
	crypto_kdf_derive_from_key(key, crypto_secretbox_KEYBYTES, SECRET_KDF_ID, SECRET_KDF_CONTEXT, pepper);
}

char *webhook_secret_seal(const unsigned char *pepper, const char *secret)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char raw[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + WEBHOOK_SECRET_HEX];
	size_t len = strlen(secret), total, b64_len;
	char *out;

	if (len > WEBHOOK_SECRET_HEX)
		return NULL;
	total = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	b64_len = sodium_base64_ENCODED_LEN(total, sodium_base64_VARIANT_ORIGINAL);
	out = malloc(b64_len);
	if (out == NULL)
		return NULL;
	secret_key(pepper, key);
	randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, (const unsigned char *)secret, len, raw, key);
	sodium_bin2base64(out, b64_len, raw, total, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	return out;
}

int webhook_secret_unseal(const unsigned char *pepper, const char *sealed, char secret[WEBHOOK_SECRET_HEX + 1])
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char raw[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + WEBHOOK_SECRET_HEX];
	size_t total = 0, len;
	int rc;

	if (sodium_base642bin(raw, sizeof(raw), sealed, strlen(sealed), NULL, &total, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    total <= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return -1;
	len = total - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	secret_key(pepper, key);
	rc = crypto_secretbox_open_easy((unsigned char *)secret, raw + crypto_secretbox_NONCEBYTES,
					total - crypto_secretbox_NONCEBYTES, raw, key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		return -1;
	secret[len] = '\0';
	return 0;
}

void webhook_sign(const char *secret, const char *body, size_t len, char out[WEBHOOK_SIGNATURE_HEX + 1])
{
	crypto_auth_hmacsha256_state state;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&state, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&state, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&state, mac);
	sodium_bin2hex(out, WEBHOOK_SIGNATURE_HEX + 1, mac, sizeof(mac));
	sodium_memzero(&state, sizeof(state));
}
