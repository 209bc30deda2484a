/*
 * libFuzzer target for token_parse and token_hash (auth/token.c), which see
 * the bearer token of every request before it is authenticated. An accepted
 * token must have the fixed length of its kind and a positive gid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char pepper[32] = "fuzz pepper, not a real secret";
	char *text = malloc(size + 1);
	char hash[TOKEN_HASH_HEX];
	enum token_kind kind;
	int64_t gid = 0;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (token_parse(text, &kind, &gid) == 0) {
		const char *prefix = kind == TOKEN_PERSON ? TOKEN_PREFIX_PERSON : TOKEN_PREFIX_SERVICE;

		if (gid <= 0 || strncmp(text, prefix, strlen(prefix)) != 0)
			abort();
		if (strlen(text) != strlen(prefix) + 16 + TOKEN_SECRET_CHARS + 6)
			abort();
	}
	token_hash(text, pepper, hash);
	if (strlen(hash) != TOKEN_HASH_HEX - 1 || token_hash_equal(hash, hash) != 1)
		abort();
	/* The input itself as a stored hash: compared, never matched unless it is one. */
	(void)token_hash_equal(text, hash);
	free(text);
	return 0;
}
