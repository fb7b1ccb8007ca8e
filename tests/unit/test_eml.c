// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eml.h"

/* Scans text in pieces of step bytes (every split must give one answer). */
static bool scan(const char *text, size_t len, size_t step, struct eml_scan *s)
{
	eml_scan_init(s);
	for (size_t i = 0; i < len; i += step)
		eml_scan_feed(s, text + i, len - i < step ? len - i : step);
	return eml_scan_end(s);
}

static void test_messages(void **state)
{
	static const char *ok[] = {
		"From: a@b\r\nSubject: x\r\n\r\nbody\r\n",
		"From: a@b\nSubject: x\n\nbody\n",
		"Subject: folded\n  on two lines\nFrom: a@b\n\n",
		"Subject : obsolete space\r\n\r\n",
		"X-Only: a header\r\n",
		"X-Only: a header, no end of line",
		"Subject: 8-bit \xc3\xa1 and a lone \r in it\r\n\r\n\x00 binary body \x01",
	};
	static const char *bad[] = {
		"",
		"\r\n\r\nbody",
		"\nbody",
		"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
		"From user@host Mon Jan  1 00:00:00 2026\nSubject: mbox\n\n",
		"  continuation first: x\n\n",
		"Subject: x\r\nno colon here\r\n\r\n",
		"Subj\x01" "ect: control\r\n\r\n",
		"Subject: a NUL \x00 in a value\r\n\r\n",
		"Subject: x\r\n\rX\n",
		"Subject",
		"\x89PNG\r\n\x1a\n",
	};
	/* Lengths past a NUL inside (0: strlen); never past the literal's end. */
	static const size_t bad_len[] = { 0, 0, 0, 0, 0, 0, 0, 0, 31, 0, 0, 8 };
	struct eml_scan s;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t len = i == 6 ? strlen(ok[i]) + 15 : strlen(ok[i]); /* past its NUL */

		for (size_t step = 1; step <= len; step++)
			if (!scan(ok[i], len, step, &s))
				fail_msg("refused: case %zu step %zu", i, step);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad_len[i] ? bad_len[i] : strlen(bad[i]);

		for (size_t step = 1; step <= (len ? len : 1); step++)
			if (scan(bad[i], len, step, &s))
				fail_msg("taken: case %zu step %zu", i, step);
	}
}

static void test_sizes_and_header(void **state)
{
	const char *lf = "From: a@b\nSubject: x\n\nline 1\r\nline 2\n";
	const char *crlf = "From: a@b\r\nSubject: x\r\n\r\nline 1\r\nline 2\r\n";
	struct eml_scan s;

	(void)state;
	for (size_t step = 1; step <= strlen(lf); step++) {
		assert_true(scan(lf, strlen(lf), step, &s));
		assert_int_equal(s.size, strlen(lf));
		assert_int_equal(s.bare_lf, 4);
		assert_int_equal(s.size_crlf, strlen(crlf));
		assert_int_equal(s.header_crlf, strlen("From: a@b\r\nSubject: x\r\n\r\n"));
	}
	assert_true(scan(crlf, strlen(crlf), 3, &s));
	assert_int_equal(s.bare_lf, 0);
	assert_int_equal(s.size_crlf, strlen(crlf));
	assert_int_equal(s.header_crlf, strlen("From: a@b\r\nSubject: x\r\n\r\n"));
	assert_true(scan("A: b\nC: d", 9, 2, &s));
	assert_int_equal(s.header_crlf, 10); /* a header alone is the message */
}

static void test_message_id(void **state)
{
	struct eml_scan s;
	char longid[1200];

	(void)state;
	assert_true(scan("Subject: x\nMESSAGE-ID:   <a@b>  \nFrom: y\n\n", 42, 1, &s));
	assert_string_equal(s.message_id, "<a@b>");
	assert_true(scan("Message-Id:\r\n <folded@b>\r\n\r\nMessage-ID: <body@b>\r\n", 50, 4,
			 &s));
	assert_string_equal(s.message_id, "<folded@b>");
	assert_true(scan("Message-ID: <first@b>\nMessage-ID: <second@b>\n\n", 47, 5, &s));
	assert_string_equal(s.message_id, "<first@b>");
	assert_true(scan("Subject: none\n\nMessage-ID: <in-body@b>\n", 40, 7, &s));
	assert_string_equal(s.message_id, "");
	assert_true(scan("X-Message-ID: <not@b>\nMessage-ID-X: <no@b>\n", 43, 1, &s));
	assert_string_equal(s.message_id, "");
	assert_true(scan("Message-ID: <end@b>", 19, 1, &s));
	assert_string_equal(s.message_id, "<end@b>");

	memcpy(longid, "Message-ID: <", 13);
	memset(longid + 13, 'x', 1100);
	memcpy(longid + 1113, ">\n\n", 3);
	assert_true(scan(longid, 1116, 100, &s));
	assert_int_equal(strlen(s.message_id), EML_ID_MAX);
	assert_int_equal(s.message_id[0], '<');
}

static void test_crlf(void **state)
{
	const char *in = "a\nb\r\nc\rd\n\n\r\n";
	const char *want = "a\r\nb\r\nc\rd\r\n\r\n\r\n";
	char out[64];

	(void)state;
	for (size_t step = 1; step <= strlen(in); step++) {
		struct eml_crlf c = { 0 };
		size_t n = 0;

		for (size_t i = 0; i < strlen(in); i += step) {
			size_t len = strlen(in) - i < step ? strlen(in) - i : step;

			n += eml_crlf(&c, in + i, len, out + n);
		}
		assert_int_equal(n, strlen(want));
		assert_memory_equal(out, want, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_sizes_and_header),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_crlf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
