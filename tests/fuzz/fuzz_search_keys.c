// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Search keys (imap/search_keys.h): a directory name parsed, then written
 * out again.
 *
 * Input: the name, as is.
 *
 * Checks, besides the sanitizers: a refusal leaves *out NULL and a one-line
 * reason in UTF-8; an accepted name was valid UTF-8 without control
 * characters; its wire form is text pieces of printable 7-bit ASCII
 * (nothing of it can end the command or start another) and literals of
 * 8-bit strings only; the text form parses again to the same text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "search_keys.h"

static int check_piece(void *ud, const char *data, size_t len, bool literal)
{
	bool eight = false;

	(void)ud;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)data[i];

		eight |= ch >= 0x80;
		FUZZ_CHECK(ch >= 0x20 && ch != 0x7f, "control 0x%02x in a piece", ch);
		FUZZ_CHECK(literal || ch < 0x80, "8-bit byte in a text piece");
	}
	FUZZ_CHECK(!literal || eight, "a 7-bit literal");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct search_keys *k = (struct search_keys *)1, *k2 = NULL;
	char why[256], *text, *text2;
	int rc = search_keys_parse((const char *)data, size, &k, why, sizeof why);

	FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL, "why not terminated");
	if (rc) {
		FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
		FUZZ_CHECK(k == NULL, "*out set on failure");
		FUZZ_CHECK(why[0] && !strpbrk(why, "\r\n"), "why \"%s\"", why);
		FUZZ_CHECK(fuzz_utf8_valid(why, strlen(why)), "why not UTF-8: \"%s\"", why);
		return 0;
	}
	FUZZ_CHECK(fuzz_utf8_valid((const char *)data, size), "accepted invalid UTF-8");
	for (size_t i = 0; i < size; i++)
		FUZZ_CHECK(data[i] >= 0x20 && data[i] != 0x7f, "accepted control 0x%02x", data[i]);
	FUZZ_CHECK(search_keys_write(k, true, check_piece, NULL) == 0, "write failed");
	text = search_keys_text(k);
	FUZZ_CHECK(text != NULL, "no text");
	FUZZ_CHECK(search_keys_parse(text, strlen(text), &k2, why, sizeof why) == 0,
		   "text \"%s\" refused: %s", text, why);
	text2 = search_keys_text(k2);
	FUZZ_CHECK(text2 && strcmp(text, text2) == 0, "\"%s\" became \"%s\"", text, text2);
	free(text);
	free(text2);
	search_keys_free(k);
	search_keys_free(k2);
	return 0;
}
