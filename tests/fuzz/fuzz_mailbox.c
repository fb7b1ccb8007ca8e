// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mailbox names: modified UTF-7 (imap/utf7.h) from the server, then the
 * escapes of fs/mbox_names.h that make a level a file name.
 *
 * Input: a name (bytes up to the first NUL).
 *
 * Checks, besides the sanitizers, that every name has exactly one form:
 *  - a name that decodes gives valid UTF-8 that encodes back to the name
 *    (utf7.c: "every name has exactly one wire form");
 *  - UTF-8 encodes if and only if it is valid, and decodes back to itself;
 *  - a level escapes, and unescapes back to itself; a shown name that
 *    unescapes escapes back to itself (mbox_names.h: made-up names fail).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "mbox_names.h"
#include "utf7.h"

static void check_escape(const char *level)
{
	char *shown, *back;

	errno = 0;
	shown = names_escape(level);
	if (*level == '\0') {
		FUZZ_CHECK(shown == NULL && errno == EINVAL, "the empty name escaped");
		return;
	}
	FUZZ_CHECK(shown != NULL, "\"%s\" does not escape", level);
	FUZZ_CHECK(!strchr(shown, '/'), "\"%s\" shown with a '/'", level);
	FUZZ_CHECK(shown[0] != '.', "\"%s\" shown hidden", level);
	FUZZ_CHECK(strspn(shown, "0123456789") < strlen(shown), "\"%s\" shown as digits", level);
	back = names_unescape(shown);
	FUZZ_CHECK(back != NULL && !strcmp(back, level), "\"%s\" -> \"%s\" -> \"%s\"", level,
		   shown, back ? back : "(error)");
	free(back);
	free(shown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *utf8, *wire, *back, *level;

	FUZZ_CHECK(s != NULL, "out of memory");
	memcpy(s, data, size);
	s[size] = '\0';

	/* The server's name. */
	errno = 0;
	utf8 = imap_utf7_decode(s);
	if (utf8 == NULL) {
		FUZZ_CHECK(errno == EINVAL, "decode: errno %d", errno);
	} else {
		FUZZ_CHECK(fuzz_utf8_valid(utf8, strlen(utf8)), "\"%s\" decodes to bad UTF-8", s);
		wire = imap_utf7_encode(utf8);
		FUZZ_CHECK(wire != NULL && !strcmp(wire, s), "\"%s\" -> \"%s\" -> \"%s\"", s, utf8,
			   wire ? wire : "(error)");
		free(wire);
		check_escape(utf8);
		free(utf8);
	}

	/* A name made here (a mkdir), in UTF-8. */
	errno = 0;
	wire = imap_utf7_encode(s);
	FUZZ_CHECK(!wire == !fuzz_utf8_valid(s, strlen(s)), "encode of \"%s\": %s", s,
		   wire ? wire : "(error)");
	if (wire) {
		back = imap_utf7_decode(wire);
		FUZZ_CHECK(back != NULL && !strcmp(back, s), "\"%s\" -> \"%s\" -> \"%s\"", s, wire,
			   back ? back : "(error)");
		free(back);
		free(wire);
	} else {
		FUZZ_CHECK(errno == EINVAL, "encode: errno %d", errno);
	}

	/* Escapes work on bytes, whatever they are. */
	check_escape(s);

	/* A name looked up in the mount. */
	level = names_unescape(s);
	if (level) {
		wire = names_escape(level);
		FUZZ_CHECK(wire != NULL && !strcmp(wire, s), "\"%s\" unescapes to a name shown as \"%s\"",
			   s, wire ? wire : "(error)");
		free(wire);
		free(level);
	}
	free(s);
	return 0;
}
