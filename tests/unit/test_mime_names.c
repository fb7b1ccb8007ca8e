// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "names.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void check_text(const char *raw, const char *want)
{
	char *s = mime_header_text(raw);

	assert_non_null(s);
	assert_true(g_utf8_validate(s, -1, NULL));
	assert_string_equal(s, want);
	free(s);
}

/* A file name from a disposition list only. */
static void check_disp(const struct mime_param *p, size_t n, const char *want)
{
	char *s = mime_filename(p, n, NULL, 0, "application", "octet-stream");

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void check_safe(const char *in, const char *want)
{
	char *s = mime_safe_name(in, "body.bin");

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void test_rfc2231_utf8(void **state)
{
	const struct mime_param vi[] = {
		{ "filename*", "utf-8''T%C3%A0i%20li%E1%BB%87u.docx" },
	};
	const struct mime_param lang[] = {
		{ "FILENAME*", "UTF-8'vi'B%C3%A1o%20c%C3%A1o.pdf" },
	};
	/* Extended wins over the plain form sent for old readers. */
	const struct mime_param both[] = {
		{ "filename", "Bao cao.pdf" },
		{ "filename*", "utf-8''B%C3%A1o%20c%C3%A1o.pdf" },
	};

	(void)state;
	check_disp(vi, N(vi), "T\xc3\xa0i li\xe1\xbb\x87u.docx");          /* Tài liệu */
	check_disp(lang, N(lang), "B\xc3\xa1o c\xc3\xa1o.pdf");           /* Báo cáo */
	check_disp(both, N(both), "B\xc3\xa1o c\xc3\xa1o.pdf");
}

static void test_rfc2231_continuations(void **state)
{
	/* Out of order, mixed encoded and plain segments. */
	const struct mime_param mixed[] = {
		{ "filename*2", "o.pdf" },
		{ "filename*0*", "utf-8''B%C3%A1o%20" },
		{ "filename*1*", "c%C3%A1" },
		{ "filename", "fallback.pdf" },
	};
	/* A gap (no *1) and a repeated number: tolerated. */
	const struct mime_param gap[] = {
		{ "filename*0", "abc" },
		{ "filename*2", "def.txt" },
		{ "filename*2", "ignored" },
	};
	/* Plain segments only: RFC 2047 words are still honoured. */
	const struct mime_param words[] = {
		{ "filename*0", "=?utf-8?Q?caf=C3=A9" },
		{ "filename*1", ".txt?=" },
	};
	const struct mime_param hostile[] = {
		{ "filename*99999999999999999999", "x" },
		{ "filename*1x", "y" },
		{ "filenamex", "z" },
		{ NULL, "n" },
		{ "filename", NULL },
	};

	(void)state;
	check_disp(mixed, N(mixed), "B\xc3\xa1o c\xc3\xa1o.pdf");
	check_disp(gap, N(gap), "abcdef.txt");
	check_disp(words, N(words), "caf\xc3\xa9.txt");
	check_disp(hostile, N(hostile), "body.bin");
}

static void test_rfc2231_charsets(void **state)
{
	const struct mime_param latin1[] = { { "filename*", "iso-8859-1''caf%E9.txt" } };
	const struct mime_param cp1258[] = { { "filename*", "windows-1258''%D0%E0.txt" } };
	const struct mime_param gb[] = { { "filename*", "gb2312''%C4%E3%BA%C3.doc" } };
	/* Unknown charsets: UTF-8 when valid, else windows-1252. */
	const struct mime_param unk_utf8[] = { { "filename*", "x-bogus''caf%C3%A9.txt" } };
	const struct mime_param unk_1252[] = { { "filename*", "x-bogus''caf%E9%80.txt" } };
	const struct mime_param nocs[] = { { "filename*", "''caf%C3%A9.txt" } };
	const struct mime_param noquote[] = { { "filename*", "caf%E9.txt" } };
	const struct mime_param badpct[] = { { "filename*", "utf-8''100%25%zz%4.txt" } };

	(void)state;
	check_disp(latin1, N(latin1), "caf\xc3\xa9.txt");
	check_disp(cp1258, N(cp1258), "\xc4\x90\xc3\xa0.txt");              /* Đà */
	check_disp(gb, N(gb), "\xe4\xbd\xa0\xe5\xa5\xbd.doc");              /* 你好 */
	check_disp(unk_utf8, N(unk_utf8), "caf\xc3\xa9.txt");
	check_disp(unk_1252, N(unk_1252), "caf\xc3\xa9\xe2\x82\xac.txt");  /* café€ */
	check_disp(nocs, N(nocs), "caf\xc3\xa9.txt");
	check_disp(noquote, N(noquote), "caf\xc3\xa9.txt");
	check_disp(badpct, N(badpct), "100%%zz%4.txt");
}

static void test_rfc2047_filename(void **state)
{
	const struct mime_param b[] = { { "filename", "=?utf-8?B?VGjGsCBt4bulYw==?=.txt" } };
	const struct mime_param q[] = { { "filename", "=?UTF-8?q?caf=C3=A9_au_lait.pdf?=" } };
	const struct mime_param gbq[] = { { "name", "=?gb2312?Q?=C4=E3=BA=C3?=.xls" } };
	char *s;

	(void)state;
	check_disp(b, N(b), "Th\xc6\xb0 m\xe1\xbb\xa5" "c.txt");               /* Thư mục */
	check_disp(q, N(q), "caf\xc3\xa9 au lait.pdf");
	/* Content-Type name when there is no disposition filename. */
	s = mime_filename(NULL, 0, gbq, N(gbq), "application", "vnd.ms-excel");
	assert_non_null(s);
	assert_string_equal(s, "\xe4\xbd\xa0\xe5\xa5\xbd.xls");
	free(s);
}

static void test_filename_fallbacks(void **state)
{
	const struct mime_param empty[] = { { "filename", "" } };
	const struct mime_param blank[] = { { "filename", "  " } };
	const struct mime_param named[] = { { "name", "n.pdf" } };
	const struct mime_param dots[] = { { "filename", ".." } };
	char *s;

	(void)state;
	s = mime_filename(empty, N(empty), NULL, 0, "application", "pdf");
	assert_string_equal(s, "body.pdf");
	free(s);
	s = mime_filename(blank, N(blank), named, N(named), "application", "pdf");
	assert_string_equal(s, "n.pdf");
	free(s);
	s = mime_filename(dots, N(dots), NULL, 0, "text", "html");
	assert_string_equal(s, "body.html");
	free(s);
	s = mime_filename(NULL, 0, NULL, 0, NULL, NULL);
	assert_string_equal(s, "body.bin");
	free(s);
	s = mime_filename(NULL, 0, NULL, 0, "message", "rfc822");
	assert_string_equal(s, "body.eml");
	free(s);
}

static void test_header_text(void **state)
{
	(void)state;
	check_text(NULL, "");
	check_text("plain ascii", "plain ascii");
	check_text("=?gb2312?B?xOO6ww==?=", "\xe4\xbd\xa0\xe5\xa5\xbd");            /* 你好 */
	check_text("=?GB2312?Q?=C4=E3=BA=C3?=", "\xe4\xbd\xa0\xe5\xa5\xbd");
	/* A GBK character under a gb2312 label (common): read as GB18030. */
	check_text("=?gb2312?Q?=E9=46?=", "\xe9\x95\x95");                         /* 镕 */
	/* Whitespace between words goes; a character split across words joins. */
	check_text("=?utf-8?B?5L2g?= =?utf-8?B?5aW9?=", "\xe4\xbd\xa0\xe5\xa5\xbd");
	check_text("=?utf-8?Q?=E4=BD?=\r\n =?utf-8?Q?=A0?=", "\xe4\xbd\xa0");
	check_text("Re: =?utf-8?Q?Th=C6=B0?= m\xe1\xbb\xa5" "c", "Re: Th\xc6\xb0 m\xe1\xbb\xa5" "c");
	check_text("=?utf-8?Q?a?= b =?utf-8?Q?c?=", "a b c");
	check_text("=?utf-8*vi?Q?Vi=E1=BB=87t?=", "Vi\xe1\xbb\x87t");
	check_text("=?iso-8859-1?q?caf=E9?=", "caf\xc3\xa9");
	check_text("=?windows-1258?Q?=D0=E0?=", "\xc4\x90\xc3\xa0");
	check_text("=?big5?B?pKSk5Q==?=", "\xe4\xb8\xad\xe6\x96\x87");                  /* 中文 */
	/* Raw 8-bit: UTF-8 kept, anything else is windows-1252. */
	check_text("caf\xc3\xa9", "caf\xc3\xa9");
	check_text("caf\xe9 \x80", "caf\xc3\xa9 \xe2\x82\xac");
	/* Unknown charset; a declared UTF-8 that lies; broken words stay text. */
	check_text("=?x-unknown?Q?caf=C3=A9?=", "caf\xc3\xa9");
	check_text("=?x-unknown?Q?caf=E9?=", "caf\xc3\xa9");
	check_text("=?utf-8?Q?a=FFb?=", "a\xef\xbf\xbd" "b");
	check_text("=?utf-8?Q?a=00b?=", "ab");
	check_text("=?bogus", "=?bogus");
	check_text("=?utf-8?X?abc?=", "=?utf-8?X?abc?=");
	check_text("=??Q?abc?=", "=??Q?abc?=");
	check_text("a =?utf-8?B?!!!?= b", "a  b");
	check_text("folded\r\n line", "folded line");
}

/* Nothing to decode: an empty result, never a pointer made from NULL
 * (clang's UBSan, as the fuzz targets run it, stops on NULL + 0). */
static void test_empty_text(void **state)
{
	const struct mime_param ext[] = { { "filename*", "utf-8''" } };
	const struct mime_param seg[] = { { "filename*0*", "utf-8''" } };

	(void)state;
	check_text("", "");
	check_text("=?utf-8?Q?" "?=", "");
	check_disp(ext, N(ext), "body.bin");
	check_disp(seg, N(seg), "body.bin");
}

static void test_safe_names(void **state)
{
	(void)state;
	check_safe("../../etc/passwd", "_._.._etc_passwd");
	check_safe("a/b.txt", "a_b.txt");
	check_safe("a\\b.txt", "a_b.txt");
	check_safe("", "body.bin");
	check_safe(NULL, "body.bin");
	check_safe(".", "body.bin");
	check_safe("..", "body.bin");
	check_safe("...", "body.bin");
	check_safe(" . ", "body.bin");
	check_safe(".hidden", "_hidden");
	check_safe("  name.txt  ", "name.txt");
	check_safe("a\tb\x01" "c\x7f\xc2\x85" "d.txt", "abcd.txt");
	check_safe("a\xff" "b\xc3.txt", "a\xef\xbf\xbd" "b\xef\xbf\xbd.txt");
	check_safe("\xc0\xaf.txt", "\xef\xbf\xbd\xef\xbf\xbd.txt");             /* overlong '/' */
	check_safe("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");    /* surrogate */
	/* Right-to-left override would show this as "...exe.pdf". */
	check_safe("invoice\xe2\x80\xae" "fdp.exe", "invoicefdp.exe");
	check_safe("T\xc3\xa0i li\xe1\xbb\x87u.docx", "T\xc3\xa0i li\xe1\xbb\x87u.docx");
	{
		char *s = mime_safe_name("\x01", NULL);

		assert_string_equal(s, "body.bin");
		free(s);
	}
}

static void test_long_names(void **state)
{
	char in[1100], *s;
	size_t i, len;

	(void)state;
	/* "x" then 500 two-byte "é": the cut falls inside a character. */
	in[0] = 'x';
	for (i = 0; i < 500; i++)
		memcpy(in + 1 + 2 * i, "\xc3\xa9", 2);
	strcpy(in + 1001, ".pdf");
	s = mime_safe_name(in, "body.bin");
	len = strlen(s);
	assert_true(len <= MIME_NAME_MAX && len >= MIME_NAME_MAX - 4);
	assert_true(g_utf8_validate(s, -1, NULL));
	assert_string_equal(s + len - 4, ".pdf");
	assert_memory_equal(s, in, len - 4);
	free(s);

	/* An "extension" too long to be one is not kept. */
	memset(in, 'a', 300);
	strcpy(in + 300, ".this-is-no-extension");
	s = mime_safe_name(in, "body.bin");
	assert_int_equal(strlen(s), MIME_NAME_MAX);
	assert_int_equal(strspn(s, "a"), MIME_NAME_MAX);
	free(s);

	/* Exactly the limit is kept as is. */
	memset(in, 'b', MIME_NAME_MAX);
	in[MIME_NAME_MAX] = '\0';
	s = mime_safe_name(in, "body.bin");
	assert_string_equal(s, in);
	free(s);
}

static void test_extensions(void **state)
{
	static const char *const table[][3] = {
		{ "text", "plain", "txt" }, { "text", "html", "html" },
		{ "text", "calendar", "ics" }, { "text", "csv", "csv" },
		{ "text", "xml", "xml" }, { "text", "x-whatever", "txt" },
		{ "TEXT", "HTML", "html" }, { "application", "pdf", "pdf" },
		{ "application", "zip", "zip" }, { "application", "gzip", "gz" },
		{ "application", "json", "json" }, { "application", "msword", "doc" },
		{ "application", "vnd.openxmlformats-officedocument.wordprocessingml.document", "docx" },
		{ "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx" },
		{ "application", "vnd.openxmlformats-officedocument.presentationml.presentation", "pptx" },
		{ "application", "vnd.oasis.opendocument.text", "odt" },
		{ "image", "png", "png" }, { "image", "jpeg", "jpg" }, { "image", "gif", "gif" },
		{ "image", "svg+xml", "svg" }, { "image", "webp", "webp" },
		{ "audio", "mpeg", "mp3" }, { "video", "mp4", "mp4" },
		{ "message", "rfc822", "eml" }, { "message", "global", "eml" },
		{ "message", "delivery-status", "eml" },
		{ "application", "pgp-signature", "asc" },
		{ "application", "pkcs7-signature", "p7s" },
		{ "application", "octet-stream", "bin" }, { "application", "x-unknown", "bin" },
		{ "image", "x-unknown", "bin" }, { "chemical", "x-pdb", "bin" },
		{ "text", NULL, "txt" }, { "image", NULL, "bin" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(table); i++)
		assert_string_equal(mime_extension(table[i][0], table[i][1]), table[i][2]);
	assert_string_equal(mime_extension(NULL, NULL), "bin");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2231_utf8),
		cmocka_unit_test(test_rfc2231_continuations),
		cmocka_unit_test(test_rfc2231_charsets),
		cmocka_unit_test(test_rfc2047_filename),
		cmocka_unit_test(test_filename_fallbacks),
		cmocka_unit_test(test_header_text),
		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_safe_names),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_extensions),
	};

	g_mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
