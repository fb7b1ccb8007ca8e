// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf7.h"

/* UTF-8 and its modified UTF-7, checked against Python's UTF-16 + base64. */
static const struct {
	const char *utf8;
	const char *mutf7;
} pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "Th\xc6\xb0 m\xe1\xbb\xa5" "c", "Th&AbA- m&HuU-c" },            /* Thư mục */
	{ "\xe6\x94\xb6\xe4\xbb\xb6\xe7\xae\xb1", "&ZTZO9nux-" },         /* 收件箱 */
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },                            /* Entwürfe */
	{ "&", "&-" },
	{ "a&&b", "a&-&-b" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },                               /* 😀 */
	{ "a\xf0\x9f\x98\x80" "b", "a&2D3eAA-b" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },                            /* RFC 3501 */
	{ "\xc3\xa4&\xc3\xb6", "&AOQ-&-&APY-" },                          /* ä&ö */
	{ "\t", "&AAk-" },
	{ "Archive/2024", "Archive/2024" },
};

static void test_encode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char *s = imap_utf7_encode(pairs[i].utf8);

		assert_non_null(s);
		assert_string_equal(s, pairs[i].mutf7);
		free(s);
	}
}

static void test_decode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char *s = imap_utf7_decode(pairs[i].mutf7);

		assert_non_null(s);
		assert_string_equal(s, pairs[i].utf8);
		free(s);
	}
}

/* Every code point class survives a round trip, surrogate pairs included. */
static void test_round_trip(void **state)
{
	static const char *names[] = {
		"\xf0\x9f\x8e\x89 party \xf0\x9f\x8e\x89\xf0\x9f\x98\x80",
		"\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9",
		"\xef\xbf\xbd\xf4\x8f\xbf\xbf",  /* U+FFFD U+10FFFF */
		"x\x7f\x01y",
		"-&-",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *w = imap_utf7_encode(names[i]);
		char *u;

		assert_non_null(w);
		u = imap_utf7_decode(w);
		assert_non_null(u);
		assert_string_equal(u, names[i]);
		free(w);
		free(u);
	}
}

static void test_decode_malformed(void **state)
{
	static const char *bad[] = {
		"&",             /* unterminated */
		"&ZTZO9nux",     /* unterminated */
		"a&AOQ",         /* unterminated */
		"&ZT.O9nux-",    /* bad base64 character */
		"&ZTZO9nux=-",   /* padding is not modified base64 */
		"&ZTZ/9nux-",    /* '/' is ',' here */
		"&AOR-",         /* leftover bits not zero */
		"&AOQA-",        /* leftover bits make a whole character */
		"&AA-",          /* fewer than 16 bits */
		"&AGE-",         /* 'a' must not be shifted */
		"&ACY-",         /* '&' must be "&-" */
		"&AAA-",         /* U+0000 */
		"&2D0-",         /* lone high surrogate */
		"&2D3YPQ-",      /* high surrogate + high surrogate */
		"&3gA-",         /* lone low surrogate */
		"&2D0-&3gA-",    /* surrogate pair split across shifts */
		"&AOQ-&APY-",    /* adjacent shifts: should be "&AOQA9g-" */
		"Entw\xc3\xbcrfe", /* raw 8-bit */
		"tab\there",     /* raw control character */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (imap_utf7_decode(bad[i]) != NULL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(errno, EINVAL);
	}
}

static void test_encode_invalid_utf8(void **state)
{
	static const char *bad[] = {
		"\x80",                  /* stray continuation */
		"a\xc3",                 /* truncated */
		"\xe6\x94",              /* truncated */
		"\xc0\xaf",              /* overlong '/' */
		"\xe0\x80\xaf",          /* overlong '/' */
		"\xf0\x82\x82\xac",      /* overlong U+20AC */
		"\xed\xa0\x80",          /* surrogate U+D800 */
		"\xf4\x90\x80\x80",      /* U+110000 */
		"\xff",
		"ok\xc3\xbc\xc3(",       /* bad inside a shift run */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (imap_utf7_encode(bad[i]) != NULL)
			fail_msg("accepted invalid UTF-8 #%zu", i);
		assert_int_equal(errno, EINVAL);
	}
}

/* Merging adjacent runs is what makes rejecting adjacent shifts fair. */
static void test_encode_merges_runs(void **state)
{
	char *s = imap_utf7_encode("\xc3\xa4\xc3\xb6");  /* äö */

	(void)state;
	assert_non_null(s);
	assert_string_equal(s, "&AOQA9g-");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_encode_invalid_utf8),
		cmocka_unit_test(test_encode_merges_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
