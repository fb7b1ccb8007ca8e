// SPDX-License-Identifier: GPL-2.0-or-later
/* mime/header_text.h: a header block as its `header` file shows it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "decode.h"
#include "header_text.h"

/* (raw, n) through mime_header_readable; checks the promises every output keeps. */
static char *readable_n(const char *raw, size_t n, const char *charset, size_t *len)
{
	char *out = NULL;
	size_t i;

	assert_int_equal(mime_header_readable(raw, n, charset, &out, len), 0);
	assert_non_null(out);
	assert_int_equal(out[*len], '\0');
	assert_true(g_utf8_validate(out, (gssize)*len, NULL));
	for (i = 0; i < *len; i++) {
		unsigned char c = (unsigned char)out[i];

		assert_true(c >= 0x20 || c == '\t' || c == '\n');
		assert_true(c != 0x7f);
	}
	/* U+0080..U+009F (C1 controls) are shown as U+FFFD too. */
	assert_null(memmem(out, *len, "\xc2\x80", 2));
	assert_null(memmem(out, *len, "\xc2\x9b", 2));
	return out;
}

static void check_cs(const char *raw, const char *charset, const char *want)
{
	size_t len;
	char *out = readable_n(raw, strlen(raw), charset, &len);

	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
}

static void check(const char *raw, const char *want)
{
	check_cs(raw, NULL, want);
}

static void test_line_ends(void **state)
{
	(void)state;
	check("From: a@b\r\nTo: c@d\r\n\r\n", "From: a@b\nTo: c@d\n\n");
	check("From: a@b\nTo: c@d\n\n", "From: a@b\nTo: c@d\n\n");
	/* The last line keeps having no line end. */
	check("From: a@b\r\nTo: c@d", "From: a@b\nTo: c@d");
	check("", "");
	check("\r\n", "\n");
}

static void test_folding_kept(void **state)
{
	(void)state;
	check("Received: from a\r\n\tby b\r\n  with c\r\nX: y\r\n\r\n",
	      "Received: from a\n\tby b\n  with c\nX: y\n\n");
	/* A plain word and an encoded one on the next line: the fold stays. */
	check("Subject: Re:\r\n =?utf-8?Q?H=C3=B3a?=\r\n", "Subject: Re:\n H\xc3\xb3" "a\n");
}

static void test_encoded_words(void **state)
{
	(void)state;
	check("Subject: =?utf-8?B?SMOzYSDEkcahbiB0aMOhbmcgMTE=?=\r\n",
	      "Subject: H\xc3\xb3" "a \xc4\x91\xc6\xa1n th\xc3\xa1ng 11\n");
	check("Subject: =?UTF-8?q?H=C3=B3a_=C4=91=C6=A1n_th=C3=A1ng?= 11\r\n",
	      "Subject: H\xc3\xb3" "a \xc4\x91\xc6\xa1n th\xc3\xa1ng 11\n");
	check("From: =?utf-8?B?Tmd1eeG7hW4=?= <n@example.vn>\r\n",
	      "From: Nguy\xe1\xbb\x85n <n@example.vn>\n");
	/* gb2312 as senders write it: GB18030. */
	check("Subject: =?gb2312?B?sbG+qQ==?=\r\n", "Subject: \xe5\x8c\x97\xe4\xba\xac\n");
	check("Subject: =?GB18030?Q?=B1=B1=BE=A9?=\r\n", "Subject: \xe5\x8c\x97\xe4\xba\xac\n");
	/* Text between a word and plain text is kept; between words it is not. */
	check("Subject: =?utf-8?Q?a?= b =?utf-8?Q?c?=  =?utf-8?Q?d?=\r\n", "Subject: a b cd\n");
}

/* A character split between two words on two lines (RFC 2047 6.2: the
 * whitespace between adjacent words, the fold included, is dropped). */
static void test_word_across_fold(void **state)
{
	(void)state;
	check("Subject: =?utf-8?B?SMOzYSDE?=\r\n =?utf-8?B?kQ==?=\r\n\r\n",
	      "Subject: H\xc3\xb3" "a \xc4\x91\n\n");
	check("Subject: =?utf-8?Q?H=C3=B3a_=C4?=\r\n\t=?utf-8?Q?=91?= x\r\n",
	      "Subject: H\xc3\xb3" "a \xc4\x91 x\n");
	/* One word a mailer cut by a fold. */
	check("Subject: =?utf-8?B?SMOzYSDE\r\n kQ==?=\r\n", "Subject: H\xc3\xb3" "a \xc4\x91\n");
	check("Subject: =?utf-8?Q?H=C3=B3a\r\n _=C4=91?=\r\n", "Subject: H\xc3\xb3" "a \xc4\x91\n");
}

static void test_raw_8bit(void **state)
{
	(void)state;
	/* Valid UTF-8 stays. */
	check("Subject: Ti\xe1\xba\xbfng Vi\xe1\xbb\x87t\r\n",
	      "Subject: Ti\xe1\xba\xbfng Vi\xe1\xbb\x87t\n");
	/* Else the message's charset, else windows-1252. */
	check("Subject: Gr\xfc\xdf" "e \x80\r\n", "Subject: Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac\n");
	check_cs("Subject: \xf0\xd2\xc9\xd7\xc5\xd4\r\n", "koi8-r",
		 "Subject: \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n");
	check_cs("Subject: \xfc\r\n", "no-such-charset", "Subject: \xc3\xbc\n");
	/* Judged per field: a bad byte elsewhere leaves a UTF-8 Subject alone. */
	check("X-Junk: \xff\r\nSubject: \xc3\xbc\r\n", "X-Junk: \xc3\xbf\nSubject: \xc3\xbc\n");
}

static void test_controls_visible(void **state)
{
	(void)state;
	check("Subject: a\x01" "b\x1b[31m\x7f\r\n",
	      "Subject: a\xef\xbf\xbd" "b\xef\xbf\xbd[31m\xef\xbf\xbd\n");
	/* A lone CR, a CR before CRLF. */
	check("Subject: a\rb\r\r\n", "Subject: a\xef\xbf\xbd" "b\xef\xbf\xbd\n");
	/* A CR ending the block has no LF after it: a lone CR as well. */
	check("Subject: a\r", "Subject: a\xef\xbf\xbd");
	check("Subject: \xc3\xbc\r", "Subject: \xc3\xbc\xef\xbf\xbd");
	/* Tab stays. */
	check("Subject:\ta\tb\r\n", "Subject:\ta\tb\n");
	/* A line end or an escape inside an encoded word is no line end. */
	check("Subject: =?utf-8?Q?a=0D=0Ab=1B=00?=\r\n",
	      "Subject: a\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd\n");
	/* C1 controls, raw (windows-1252 has none: 0x81) or encoded. */
	check("Subject: =?utf-8?Q?=C2=9B?=\r\n", "Subject: \xef\xbf\xbd\n");
}

static void test_nul(void **state)
{
	static const char raw[] = "Subject: a\0b\r\nX: =?utf-8?Q?=00?=\r\n\r\n";
	size_t len;
	char *out;

	(void)state;
	out = readable_n(raw, sizeof(raw) - 1, NULL, &len);
	assert_int_equal(len, strlen(out));
	assert_string_equal(out, "Subject: a\xef\xbf\xbd" "b\nX: \xef\xbf\xbd\n\n");
	free(out);
}

static void test_broken_words(void **state)
{
	(void)state;
	/* Not words: kept as they are. */
	check("Subject: =?utf-8?X?abc?= =?utf-8?Q?abc =?? =?\r\n",
	      "Subject: =?utf-8?X?abc?= =?utf-8?Q?abc =?? =?\n");
	/* Bad base64 is skipped; an unknown charset is guessed. */
	check("Subject: =?utf-8?B?SM!!Oz?=\r\n", "Subject: H\xc3\xb3\n");
	check("Subject: =?x-unknown?Q?=E9t=C3=A9?=\r\n", "Subject: \xc3\xa9t\xc3\x83\xc2\xa9\n");
	check("Subject: =?utf-8?B?/w==?=\r\n", "Subject: \xef\xbf\xbd\n");
	/* Not a charset name. */
	check("Subject: =?a b?Q?x?=\r\n", "Subject: =?a b?Q?x?=\n");
}

/* Many unclosed words in a long line: no crash, and no quadratic time. */
static void test_hostile_sizes(void **state)
{
	size_t n = 4u << 20, len, i;
	char *raw = malloc(n), *out;

	(void)state;
	assert_non_null(raw);
	for (i = 0; i < n; i++)
		raw[i] = "=?utf-8?q?\xff"[i % 11];
	out = readable_n(raw, n, NULL, &len);
	assert_true(len >= n);
	free(out);
	for (i = 0; i < n; i++)
		raw[i] = "=?utf-8?b?////?="[i % 16];
	out = readable_n(raw, n, NULL, &len);
	free(out);
	for (i = 0; i < n; i++)
		raw[i] = (char)(i * 7919 % 256);
	out = readable_n(raw, n, "gb2312", &len);
	free(out);
	free(raw);
}

static void test_deterministic(void **state)
{
	static const char raw[] = "Subject: =?gb2312?B?sbG+qQ==?=\xff\r\n\r\n";
	size_t a, b;
	char *x = readable_n(raw, sizeof(raw) - 1, NULL, &a);
	char *y = readable_n(raw, sizeof(raw) - 1, NULL, &b);

	(void)state;
	assert_int_equal(a, b);
	assert_memory_equal(x, y, a);
	free(x);
	free(y);
}

static void check_charset(const char *raw, const char *want)
{
	char *cs = mime_header_charset(raw, strlen(raw));

	if (want == NULL) {
		assert_null(cs);
		return;
	}
	assert_non_null(cs);
	assert_string_equal(cs, want);
	free(cs);
}

static void test_header_charset(void **state)
{
	(void)state;
	check_charset("From: a\r\nContent-Type: text/plain;\r\n charset=\"koi8-r\"\r\nX: \xe9\r\n\r\n",
		      "koi8-r");
	check_charset("content-type: TEXT/html; charset=windows-1258\r\nX: \xe9\r\n", "windows-1258");
	check_charset("Content-Type: text/html; charset=windows-1258\r\n", NULL);
	check_charset("Content-Type: multipart/mixed; boundary=x; charset=utf-8\r\n", NULL);
	check_charset("Content-Type: text/plain\r\n", NULL);
	check_charset("Subject: x\r\n\r\nContent-Type: text/plain; charset=x\r\n", NULL);
	check_charset("", NULL);
	check_charset("Content-Type: ;;;=\"\r\n", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_folding_kept),
		cmocka_unit_test(test_encoded_words),
		cmocka_unit_test(test_word_across_fold),
		cmocka_unit_test(test_raw_8bit),
		cmocka_unit_test(test_controls_visible),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_broken_words),
		cmocka_unit_test(test_hostile_sizes),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_header_charset),
	};

	mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
