/* Unit tests for fs/mbox_names.c: SPEC.md's mailbox name escapes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mbox_names.h"

static const struct {
	const char *level;
	const char *shown;
} pairs[] = {
	{ "INBOX", "INBOX" },
	{ "Archive", "Archive" },
	{ "50%", "50%25" },
	{ "%", "%25" },
	{ "%%", "%25%25" },
	{ "a/b", "a%2Fb" },
	{ "/", "%2F" },
	{ "a/b/", "a%2Fb%2F" },
	{ "2026", "%32026" },
	{ "0", "%30" },
	{ "007", "%3007" },
	{ "2026a", "2026a" },
	{ "a2026", "a2026" },
	{ "-1", "-1" },
	{ "20 26", "20 26" },
	{ ".old", "%2Eold" },
	{ ".", "%2E" },
	{ "..", "%2E." },
	{ "...", "%2E.." },
	{ "a.b.", "a.b." },
	{ ".%/", "%2E%25%2F" },
	{ "Entwürfe", "Entwürfe" },
	{ "Отправленные", "Отправленные" },
	{ "送信済み", "送信済み" },
	{ "📬 mail", "📬 mail" },
	{ "٣", "٣" },            /* a non-ASCII digit is not "decimal" here */
	{ "a%2Fb", "a%252Fb" },
	{ " ", " " },
	/* Control characters: C0 and DEL, and both UTF-8 bytes of a C1 one. */
	{ "tab\there", "tab%09here" },
	{ "a\x1b[2J", "a%1B[2J" },
	{ "line\nimapfs: forged", "line%0Aimapfs: forged" },
	{ "cr\r", "cr%0D" },
	{ "\x01", "%01" },
	{ "\x7f", "%7F" },
	{ "nel\xc2\x85", "nel%C2%85" },
	{ "\xc2\x9b" "31m", "%C2%9B31m" },
	{ "\xc2\x80", "%C2%80" },
	{ "\xc2\xa0nbsp", "\xc2\xa0nbsp" },   /* U+00A0 is no control character */
	{ "\xc2\xc2\x85", "\xc2%C2%85" },
	{ "\t2026", "%092026" },
	{ "\x1b.", "%1B." },
};

static void test_escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		char *s = names_escape(pairs[i].level);

		assert_non_null(s);
		assert_string_equal(s, pairs[i].shown);
		free(s);
	}
}

static void test_unescape(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		char *s = names_unescape(pairs[i].shown);

		assert_non_null(s);
		assert_string_equal(s, pairs[i].level);
		free(s);
	}
}

/* Every single byte and some pairs survive escape then unescape. */
static void test_round_trip_bytes(void **state)
{
	(void)state;
	for (int a = 1; a < 256; a++) {
		for (int b = 0; b < 256; b += 17) {
			char level[3] = { (char)a, (char)b, '\0' };
			char *shown = names_escape(level);
			char *back;

			assert_non_null(shown);
			assert_null(strchr(shown, '/'));
			assert_true(shown[0] != '.');
			for (const char *p = shown; *p; p++)
				assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
			back = names_unescape(shown);
			assert_non_null(back);
			assert_string_equal(back, level);
			free(back);
			free(shown);
		}
	}
}

static void test_escape_empty(void **state)
{
	(void)state;
	errno = 0;
	assert_null(names_escape(""));
	assert_int_equal(errno, EINVAL);
}

static const char *const rejected[] = {
	"",             /* empty */
	"%",            /* truncated escapes */
	"a%",
	"a%2",
	"%2",
	"%G0",
	"%0G",
	"%2f",          /* lower-case hex */
	"a%2fb",
	"%2e",
	"%2eold",
	"%41",          /* escapes of characters that need none */
	"a%41",
	"%20",
	"%C3%BC",
	"a%2E",         /* '.' escaped where it is not first */
	"a%32026",      /* digit escaped where it is not first */
	"2%3026",
	"%31a",         /* first digit escaped though the name is not all digits */
	"%300a",
	"%00",          /* NUL */
	"a%00b",
	"a/b",          /* raw '/' */
	"/",
	"a/",
	".old",         /* leading '.' */
	".",
	"..",
	"2026",         /* all digits */
	"0",
	"%2E%2E",       /* "..": the second '.' needs no escape */
	"%%25",
	"a\tb",         /* raw control characters */
	"\x1b",
	"a\x7f",
	"\xc2\x85",
	"%C2\x85",      /* half of a C1 character escaped */
	"\xc2%85",
};

static void test_unescape_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
		char *s;

		errno = 0;
		s = names_unescape(rejected[i]);
		if (s)
			fail_msg("accepted '%s' as '%s'", rejected[i], s);
		assert_int_equal(errno, EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_round_trip_bytes),
		cmocka_unit_test(test_escape_empty),
		cmocka_unit_test(test_unescape_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
