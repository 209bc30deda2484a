/*
 * libFuzzer target for gid_parse (util/gid.c), which reads every gid in a
 * request path, query string and body. An accepted gid must be positive and
 * format back to exactly the input, since a leading zero is rejected.
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
	int64_t gid = 0;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (gid_parse(text, &gid) == 0) {
		if (gid <= 0)
			abort();
		if (strcmp(gid_format(gid, formatted), text) != 0)
			abort();
	}
	free(text);
	return 0;
}
