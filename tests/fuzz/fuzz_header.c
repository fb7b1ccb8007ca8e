// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Readable header blocks (mime/header_text.h).
 *
 * Input: byte 0 chooses the fallback charset (mod 5: none, the block's own
 * Content-Type charset, utf-8, gb2312, koi8-r), then the header block.
 *
 * Checks, besides the sanitizers: the result is valid UTF-8 with no control
 * character but tab and LF, ends in a NUL not counted, has no more LFs than
 * the input, is the same when made twice (it is a file's size); and a block
 * of printable ASCII without encoded words comes out as it went in, CRLF
 * as LF.
 */
#include <stdint.h>
#include <string.h>

#include "decode.h"
#include "fuzz.h"
#include "header_text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mime_init();
	return 0;
}

static size_t count_lf(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == '\n';
	return k;
}

static void check_visible(const char *s, size_t n)
{
	uint32_t c;
	size_t i = 0;

	FUZZ_CHECK(fuzz_utf8_valid(s, n), "not UTF-8");
	while (i < n) {
		i += fuzz_utf8_cp((const unsigned char *)s + i, &c);
		FUZZ_CHECK(c >= 0x20 || c == '\t' || c == '\n', "control U+%04X", (unsigned)c);
		FUZZ_CHECK(c < 0x7f || c > 0x9f, "control U+%04X", (unsigned)c);
	}
}

/* Printable ASCII, tab, LF and CR only before LF, and no "=?". */
static bool plain_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		if (c >= 0x7f || (c < 0x20 && c != '\t' && c != '\n'))
			return false;
	}
	return memmem(s, n, "=?", 2) == NULL;
}

/* s with CRLF as LF; the same length or shorter, in out. */
static size_t to_lf(const char *s, size_t n, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
			out[k++] = s[i];
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = { "utf-8", "gb2312", "koi8-r" };
	const char *raw = (const char *)data + 1;
	char *own, *a = NULL, *b = NULL, *lf;
	size_t n, alen = 0, blen = 0, k;
	const char *cs = NULL;

	if (size < 1)
		return 0;
	n = size - 1;
	own = mime_header_charset(raw, n);
	if (data[0] % 5 == 1)
		cs = own;
	else if (data[0] % 5 >= 2)
		cs = fixed[data[0] % 5 - 2];
	FUZZ_CHECK(mime_header_readable(raw, n, cs, &a, &alen) == 0, "out of memory");
	FUZZ_CHECK(mime_header_readable(raw, n, cs, &b, &blen) == 0, "out of memory");
	FUZZ_CHECK(a != NULL && a[alen] == '\0', "no NUL after the text");
	FUZZ_CHECK(alen == blen && memcmp(a, b, alen) == 0, "not deterministic");
	check_visible(a, alen);
	FUZZ_CHECK(count_lf(a, alen) <= count_lf(raw, n), "line ends added");
	if (plain_ascii(raw, n)) {
		lf = malloc(n + 1);
		FUZZ_CHECK(lf != NULL, "out of memory");
		k = to_lf(raw, n, lf);
		FUZZ_CHECK(k == alen && memcmp(lf, a, k) == 0, "plain ASCII changed");
		free(lf);
	}
	free(own);
	free(a);
	free(b);
	return 0;
}
