/*
 * libFuzzer target for gid_parse (util/gid.c), which reads every gid in a
 * request path, query string and body. An accepted gid must be positive and
 * format back to the input without its leading zeros.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/gid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char formatted[GID_STRING_MAX];
	const char *digits;
	int64_t gid = 0;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (gid_parse(text, &gid) == 0) {
		if (gid <= 0)
			abort();
		digits = text;
		while (*digits == '0')
			digits++;
		if (strcmp(gid_format(gid, formatted), digits) != 0)
			abort();
	}
	free(text);
	return 0;
}
