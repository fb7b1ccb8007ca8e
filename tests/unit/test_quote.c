// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "quote.h"

static void test_quote_ok(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "\"\"" },
		{ "INBOX", "\"INBOX\"" },
		{ "a b", "\"a b\"" },
		{ "a \"b\"", "\"a \\\"b\\\"\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "\\\"", "\"\\\\\\\"\"" },
		{ "Entw&APw-rfe", "\"Entw&APw-rfe\"" },
		{ "(){}%*]", "\"(){}%*]\"" },
		{ "tab\there\x7f", "\"tab\there\x7f\"" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = imap_quote(cases[i].in);

		assert_non_null(q);
		assert_string_equal(q, cases[i].out);
		free(q);
	}
}

static void test_quote_needs_literal(void **state)
{
	static const char *bad[] = {
		"Th\xc6\xb0 m\xe1\xbb\xa5", "line\r\n", "a\rb", "a\nb", "\x80",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(imap_quote(bad[i]));
		assert_int_equal(errno, EINVAL);
	}
}

static void test_quote_n(void **state)
{
	char *q;

	(void)state;
	q = imap_quote_n("abc\"def", 4);  /* not NUL-terminated at 4 */
	assert_non_null(q);
	assert_string_equal(q, "\"abc\\\"\"");
	free(q);
	q = imap_quote_n("", 0);
	assert_non_null(q);
	assert_string_equal(q, "\"\"");
	free(q);
	errno = 0;
	assert_null(imap_quote_n("a\0b", 3));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_ok),
		cmocka_unit_test(test_quote_needs_literal),
		cmocka_unit_test(test_quote_n),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
