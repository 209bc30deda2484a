/*
 * Tests of the webhook building blocks that need no network: the address
 * classifier that keeps webhook targets off private networks
 * (util/netcheck.c), the secret sealing and X-Hook-Signature
 * (jobs/webhook_send.c), target URL checks, and the event filters
 * (jobs/webhooks.c). Nothing here resolves a name or opens a socket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "jobs/webhook_send.h"
#include "jobs/webhooks.h"
#include "util/netcheck.h"

static void netcheck_rejects_non_public(void **state)
{
	static const char *const addresses[] = {
		"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254", "192.168.1.1", "127.0.0.1",
		"127.255.0.9", "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.254", "0.0.0.0",
		"0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255", "192.0.2.10", "198.18.0.1",
		"::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "ff02::1", "::ffff:127.0.0.1",
		"::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:192.168.0.1", "64:ff9b::a00:1",
		"2002:a00:1::1", "2001:db8::1", "::127.0.0.1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		if (netcheck_text_is_public(addresses[i]) != 0)
			fail_msg("%s was classified as public", addresses[i]);
	}
}

static void netcheck_accepts_public(void **state)
{
	static const char *const addresses[] = {
		"93.184.216.34", "8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255",
		"100.128.0.1", "192.169.0.1", "2606:2800:220:1:248:1893:25c8:1946", "2001:4860:4860::8888",
		"::ffff:93.184.216.34", "64:ff9b::5db8:d822",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		if (netcheck_text_is_public(addresses[i]) != 1)
			fail_msg("%s was classified as not public", addresses[i]);
	}
}

static void netcheck_rejects_non_numeric(void **state)
{
	(void)state;
	assert_int_equal(netcheck_text_is_public("localhost"), -1);
	assert_int_equal(netcheck_text_is_public("example.com"), -1);
	assert_int_equal(netcheck_text_is_public("10.0.0"), -1);
	assert_int_equal(netcheck_text_is_public(""), -1);
	assert_int_equal(netcheck_address_is_public(NULL), 0);
}

static void target_check_cases(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(webhook_target_check("https://example.com/hook?x=1", err, sizeof(err)), 0);
	assert_int_equal(webhook_target_check("http://127.0.0.1:8080/", err, sizeof(err)), 0);
	assert_int_equal(webhook_target_check("ftp://example.com/", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "scheme"));
	assert_int_equal(webhook_target_check("file:///etc/passwd", err, sizeof(err)), -1);
	assert_int_equal(webhook_target_check("https://user:pw@example.com/", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "user name"));
	assert_int_equal(webhook_target_check("not a url", err, sizeof(err)), -1);
	assert_int_equal(webhook_target_check("/relative/path", err, sizeof(err)), -1);
}

static void secret_seal_round_trip(void **state)
{
	unsigned char pepper[32], other[32];
	char secret[WEBHOOK_SECRET_HEX + 1], opened[WEBHOOK_SECRET_HEX + 1];
	char *sealed;

	(void)state;
	randombytes_buf(pepper, sizeof(pepper));
	randombytes_buf(other, sizeof(other));
	webhook_secret_new(secret);
	assert_int_equal(strlen(secret), WEBHOOK_SECRET_HEX);
	sealed = webhook_secret_seal(pepper, secret);
	assert_non_null(sealed);
	assert_null(strstr(sealed, secret));
	assert_int_equal(webhook_secret_unseal(pepper, sealed, opened), 0);
	assert_string_equal(opened, secret);
	assert_int_equal(webhook_secret_unseal(other, sealed, opened), -1);
	assert_int_equal(webhook_secret_unseal(pepper, "not base64!", opened), -1);
	free(sealed);
}

/* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?". */
static void signature_matches_rfc4231(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	char signature[WEBHOOK_SIGNATURE_HEX + 1];

	(void)state;
	webhook_sign("Jefe", data, strlen(data), signature);
	assert_string_equal(signature, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void filters_pass_cases(void **state)
{
	json_t *none = json_array();
	json_t *added_tasks = json_loads("[{\"resource_type\":\"task\",\"action\":\"added\"}]", 0, NULL);
	json_t *due = json_loads("[{\"resource_type\":\"task\",\"action\":\"changed\",\"fields\":[\"due_on\"]},"
				 "{\"resource_type\":\"story\",\"resource_subtype\":\"comment_added\"}]",
				 0, NULL);

	(void)state;
	assert_int_equal(webhook_filters_pass(none, "task", "default_task", "added", NULL), 1);
	assert_int_equal(webhook_filters_pass(added_tasks, "task", "default_task", "added", NULL), 1);
	assert_int_equal(webhook_filters_pass(added_tasks, "task", "default_task", "changed", "name"), 0);
	assert_int_equal(webhook_filters_pass(added_tasks, "story", "comment_added", "added", NULL), 0);
	assert_int_equal(webhook_filters_pass(due, "task", "default_task", "changed", "due_on"), 1);
	assert_int_equal(webhook_filters_pass(due, "task", "default_task", "changed", "name"), 0);
	assert_int_equal(webhook_filters_pass(due, "story", "comment_added", "added", NULL), 1);
	assert_int_equal(webhook_filters_pass(due, "story", "assigned", "added", NULL), 0);
	json_decref(none);
	json_decref(added_tasks);
	json_decref(due);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(netcheck_rejects_non_public),
		cmocka_unit_test(netcheck_accepts_public),
		cmocka_unit_test(netcheck_rejects_non_numeric),
		cmocka_unit_test(target_check_cases),
		cmocka_unit_test(secret_seal_round_trip),
		cmocka_unit_test(signature_matches_rfc4231),
		cmocka_unit_test(filters_pass_cases),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("webhooks", tests, NULL, NULL);
}
