// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"

/* Collects the output; refuses once it would pass fail_at bytes. */
struct sink {
	char *buf;
	size_t len, cap, fail_at;
	unsigned calls;
};

static int sink_out(void *ud, const char *data, size_t len)
{
	struct sink *s = ud;

	s->calls++;
	if (s->len + len > s->fail_at)
		return -1;
	if (s->len + len + 1 > s->cap) {
		s->cap = (s->len + len + 1) * 2;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return 0;
}

enum split { WHOLE, BYTES, RANDOM };

/* Decodes in pushed as split says (RANDOM: pieces of 0-16 bytes from seed). */
static struct sink run(enum mime_encoding enc, const char *type, const char *cs,
		       const char *in, size_t n, enum split how, unsigned seed, size_t max)
{
	struct sink s = { .buf = calloc(1, 1), .cap = 1, .fail_at = SIZE_MAX };
	struct mime_decoder *d = mime_decoder_new(enc, type, cs, sink_out, &s);
	size_t i = 0, k;

	assert_non_null(d);
	assert_non_null(s.buf);
	mime_decoder_set_text_max(d, max);
	while (i < n) {
		k = how == WHOLE ? n - i : how == BYTES ? 1 : (seed = seed * 1103515245 + 12345) >> 16 & 15;
		if (k > n - i)
			k = n - i;
		assert_int_equal(mime_decoder_push(d, in + i, k), 0);
		i += k;
	}
	assert_int_equal(mime_decoder_finish(d), 0);
	mime_decoder_free(d);
	return s;
}

/* The output, which must not depend on how the input was split. */
static struct sink decode_max(enum mime_encoding enc, const char *type, const char *cs,
			      const char *in, size_t n, size_t max)
{
	struct sink whole = run(enc, type, cs, in, n, WHOLE, 0, max);
	unsigned seed;

	for (seed = 0; seed < 6; seed++) {
		struct sink s = run(enc, type, cs, in, n, seed ? RANDOM : BYTES, seed, max);

		assert_int_equal(s.len, whole.len);
		assert_memory_equal(s.buf, whole.buf, whole.len);
		free(s.buf);
	}
	return whole;
}

static struct sink decode(enum mime_encoding enc, const char *type, const char *cs,
			  const char *in, size_t n)
{
	return decode_max(enc, type, cs, in, n, MIME_TEXT_MAX);
}

static void expect(enum mime_encoding enc, const char *type, const char *cs,
		   const char *in, size_t n, const char *want, size_t wlen)
{
	struct sink s = decode(enc, type, cs, in, n);

	assert_int_equal(s.len, wlen);
	assert_memory_equal(s.buf, want, wlen);
	free(s.buf);
}

#define EXPECT_STR(enc, type, cs, in, want) \
	expect(enc, type, cs, in, strlen(in), want, strlen(want))

static char *b64(const unsigned char *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc(n * 2 + 8), *q = o;
	size_t i;

	assert_non_null(o);
	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		*q++ = a[v >> 18];
		*q++ = a[v >> 12 & 63];
		*q++ = i + 1 < n ? a[v >> 6 & 63] : '=';
		*q++ = i + 2 < n ? a[v & 63] : '=';
		if (i % 57 == 54) {
			*q++ = '\r';
			*q++ = '\n';
		}
	}
	*q = '\0';
	return o;
}

static void test_base64(void **state)
{
	unsigned char bin[1283];
	char *enc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7 + (i >> 8));
	bin[5] = 0;
	enc = b64(bin, sizeof(bin));
	expect(MIME_ENC_BASE64, "application", NULL, enc, strlen(enc), (char *)bin, sizeof(bin));
	free(enc);
	EXPECT_STR(MIME_ENC_BASE64, NULL, NULL, "aGVsbG8=", "hello");
	EXPECT_STR(MIME_ENC_BASE64, NULL, NULL, "aGVs\r\nbG8h\r\n", "hello!");
}

static void test_qp(void **state)
{
	(void)state;
	EXPECT_STR(MIME_ENC_QP, "application", NULL, "zanzi=\r\nbar", "zanzibar");
	EXPECT_STR(MIME_ENC_QP, "application", NULL, "zanzi=\nbar", "zanzibar");
	/* NUL is a byte like any other */
	expect(MIME_ENC_QP, "application", NULL, "a=3Db =C3=BC=\r\nc\r\nline two=20\r\n=00x", 35,
	       "a=b \xc3\xbc" "c\r\nline two \r\n\0x", 22);
}

/* Every two-piece split of short encodings, the cut points that matter. */
static void test_split_points(void **state)
{
	static const struct {
		enum mime_encoding enc;
		const char *in, *want;
	} v[] = {
		{ MIME_ENC_QP, "zanzi=\r\nbar", "zanzibar" },
		{ MIME_ENC_QP, "x=C3=BCy", "x\xc3\xbcy" },
		{ MIME_ENC_BASE64, "aGVsbG8gd29ybGQ=", "hello world" },
		{ MIME_ENC_BASE64, "aGVs\r\nbG8=", "hello" },
	};
	size_t i, cut;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].in);

		for (cut = 0; cut <= n; cut++) {
			struct sink s = { .buf = NULL, .fail_at = SIZE_MAX };
			struct mime_decoder *d = mime_decoder_new(v[i].enc, "text", "utf-8", sink_out, &s);

			assert_non_null(d);
			assert_int_equal(mime_decoder_push(d, v[i].in, cut), 0);
			assert_int_equal(mime_decoder_push(d, v[i].in + cut, n - cut), 0);
			assert_int_equal(mime_decoder_finish(d), 0);
			assert_int_equal(s.len, strlen(v[i].want));
			assert_memory_equal(s.buf, v[i].want, s.len);
			mime_decoder_free(d);
			free(s.buf);
		}
	}
}

static void test_uuencode(void **state)
{
	static const char short_line[] = "begin 644 a\n#86\n\n#86)C\n#86)C\n`\nend\n";
	struct sink s;

	(void)state;
	EXPECT_STR(MIME_ENC_UUENCODE, "application", NULL,
		   "begin 666 hello.txt\n"
		   "8:&5L;&\\L('5U96YC;V1E9\"!W;W)L9\"$*\n"
		   " \n"
		   "end\n",
		   "hello, uuencoded world!\n");
	/* Only a line that begins with "begin " starts the data, wherever the
	 * pushes cut the lines (GMime's filter takes each push for a line start). */
	EXPECT_STR(MIME_ENC_UUENCODE, "application", NULL, "x begin 644 a\n#86)C\n`\nend\n", "");
	EXPECT_STR(MIME_ENC_UUENCODE, "application", NULL,
		   "x begin 644 a\nbegins\nbegin 644 a\n#86)C\n`\nend\n", "abc");
	EXPECT_STR(MIME_ENC_UUENCODE, "application", NULL, "begin", "");
	/* A line shorter than its length byte says: the next line's length byte
	 * is read as such however the pushes fall (decode() compares them). */
	s = decode(MIME_ENC_UUENCODE, "application", NULL, short_line, strlen(short_line));
	free(s.buf);
}

static void test_passthrough(void **state)
{
	static const char bin[] = "\0\x01\xff\xfe\r\n\x80 =3D\0";

	(void)state;
	expect(MIME_ENC_7BIT, "application", NULL, bin, sizeof(bin), bin, sizeof(bin));
	expect(MIME_ENC_OTHER, NULL, NULL, bin, sizeof(bin), bin, sizeof(bin));
	expect(MIME_ENC_7BIT, "image", "gb2312", bin, sizeof(bin), bin, sizeof(bin));
	expect(MIME_ENC_7BIT, NULL, NULL, "", 0, "", 0);
}

/* A PDF's bytes are not text, whatever charset the part claims. */
static void test_binary_not_converted(void **state)
{
	static const char pdf[] = "%PDF-1.4\r\n%\xe2\xe3\xcf\xd3\r\n\x80\x81\xfe\xff\0stream";
	char *enc = b64((const unsigned char *)pdf, sizeof(pdf));

	(void)state;
	expect(MIME_ENC_BASE64, "application", "iso-8859-1", enc, strlen(enc), pdf, sizeof(pdf));
	expect(MIME_ENC_BASE64, "Application", NULL, enc, strlen(enc), pdf, sizeof(pdf));
	free(enc);
}

/*
 * Made with Python's cp1258 codec (tone marks as combining characters after
 * ê/â, the way Windows writes them). glibc composes them: the output is NFC.
 */
static void test_windows_1258(void **state)
{
	(void)state;
	EXPECT_STR(MIME_ENC_7BIT, "text", "windows-1258",
		   "Ti\xea\xecng Vi\xea\xf2t c\xf3 d\xe2\xecu\r\n",
		   "Ti\xe1\xba\xbfng Vi\xe1\xbb\x87t c\xc3\xb3 d\xe1\xba\xa5u\n");
	/* the last letter is held for a tone mark that never comes */
	EXPECT_STR(MIME_ENC_7BIT, "text", "cp1258", "d\xe2", "d\xc3\xa2");
}

/* Text has LF line ends, whatever cuts the input (decode() pushes it whole,
 * a byte at a time and at random points); a lone CR stays; other content
 * keeps its CRLF. */
static void test_line_ends(void **state)
{
	static const char utf16[] = "a\0\r\0\n\0b\0\r\0";
	struct sink s;

	(void)state;
	EXPECT_STR(MIME_ENC_7BIT, "text", "utf-8", "Friday?\r\nSee you\r\n", "Friday?\nSee you\n");
	EXPECT_STR(MIME_ENC_7BIT, "text", NULL, "a\rb\r\r\nc\n\rd\r", "a\rb\r\nc\n\rd\r");
	EXPECT_STR(MIME_ENC_7BIT, "text", "windows-1252", "\xe9\r\n\r\n", "\xc3\xa9\n\n");
	EXPECT_STR(MIME_ENC_QP, "text", "utf-8", "x=0D=0Ay=0D\r\nz=\r\n\r\n", "x\ny\r\nz\n");
	EXPECT_STR(MIME_ENC_BASE64, "text", "gb2312", "sbG+qQ0KDQo=", "\xe5\x8c\x97\xe4\xba\xac\n\n");
	EXPECT_STR(MIME_ENC_7BIT, "TEXT", "iso-8859-2", "\r", "\r");
	expect(MIME_ENC_7BIT, "text", "utf-16le", utf16, sizeof(utf16) - 1, "a\nb\r", 4);
	EXPECT_STR(MIME_ENC_BASE64, "application", NULL, "YQ0KYg0K", "a\r\nb\r\n");
	EXPECT_STR(MIME_ENC_7BIT, NULL, NULL, "a\r\n", "a\r\n");
	/* The held CR goes out at finish, through the same failure rules. */
	s = run(MIME_ENC_7BIT, "text", "utf-8", "a\r", 2, BYTES, 0, MIME_TEXT_MAX);
	assert_int_equal(s.len, 2);
	assert_memory_equal(s.buf, "a\r", 2);
	free(s.buf);
}

/* Made with Python's codecs; labels as mail carries them. */
static const struct {
	const char *label, *in, *want;
} charsets[] = {
	{ "gb2312", "\xd6\xd0\xce\xc4\xe9" "F",	/* 中文镕: 镕 is GBK only */
	  "\xe4\xb8\xad\xe6\x96\x87\xe9\x95\x95" },
	{ "GBK", "\xd6\xd0\xce\xc4\xe9" "F",
	  "\xe4\xb8\xad\xe6\x96\x87\xe9\x95\x95" },
	{ "x-gbk", "\xd6\xd0\xce\xc4",
	  "\xe4\xb8\xad\xe6\x96\x87" },
	{ "gb18030", "a\x94" "9\xfc" "6b",
	  "a\xf0\x9f\x98\x80" "b" },
	{ "big5", "\xa4\xa4\xa4\xe5\xb4\xfa\xb8\xd5",
	  "\xe4\xb8\xad\xe6\x96\x87\xe6\xb8\xac\xe8\xa9\xa6" },
	{ "shift_jis", "\x93\xfa\x96{\x8c\xea\x83" "e\x83L\x83X\x83g",
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88" },
	{ "euc-jp", "\xc6\xfc\xcb\xdc\xb8\xec\xa5\xc6\xa5\xad\xa5\xb9\xa5\xc8",
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88" },
	{ "iso-2022-jp", "\x1b$BF|K\x5c" "8l%F%-%9%H\x1b(B",
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88" },
	{ "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2",
	  "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\xbc\xd0\xb8\xd1\x80" },
	{ "ks_c_5601-1987", "\xc7\xd1\xb1\xb9\xbe\xee",
	  "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4" },
	{ "windows-1252", "\x80\x82\x83",
	  "\xe2\x82\xac\xe2\x80\x9a\xc6\x92" },
	{ "iso-8859-1", "\x80 Gr\xfc\xdf" "e",	/* read as windows-1252 */
	  "\xe2\x82\xac Gr\xc3\xbc\xc3\x9f" "e" },
	{ "iso-8859-2", "\xaf\xf3\xb3\xe6",
	  "\xc5\xbb\xc3\xb3\xc5\x82\xc4\x87" },
	{ "windows-1253", "\xc5\xeb\xeb\xe7\xed\xe9\xea\xdc",
	  "\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac" },
	{ " \"UTF-8\" ", "caf\xc3\xa9", "caf\xc3\xa9" },
};

static void test_charsets(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++)
		EXPECT_STR(MIME_ENC_7BIT, "text", charsets[i].label, charsets[i].in, charsets[i].want);
	/* the same through quoted-printable, type in capitals */
	EXPECT_STR(MIME_ENC_QP, "TEXT", "gb2312", "=D6=D0=CE=C4=E9F",
		   "\xe4\xb8\xad\xe6\x96\x87\xe9\x95\x95");
}

static void test_mislabelled_utf8(void **state)
{
	(void)state;
	EXPECT_STR(MIME_ENC_7BIT, "text", "iso-8859-1", "Gr\xc3\xbc\xc3\x9f" "e\r\n",
		   "Gr\xc3\xbc\xc3\x9f" "e\n");
	EXPECT_STR(MIME_ENC_7BIT, "text", "us-ascii", "\xe4\xb8\xad", "\xe4\xb8\xad");
	EXPECT_STR(MIME_ENC_7BIT, "text", "gb2312", "\xe4\xb8\xad\xe6\x96\x87",
		   "\xe4\xb8\xad\xe6\x96\x87");
	/* a BOM is kept */
	EXPECT_STR(MIME_ENC_7BIT, "text", NULL, "\xef\xbb\xbfok \xc3\xa9", "\xef\xbb\xbfok \xc3\xa9");
}

static void test_no_or_unknown_charset(void **state)
{
	(void)state;
	EXPECT_STR(MIME_ENC_7BIT, "text", NULL, "Gr\xfc\xdf" "e", "Gr\xc3\xbc\xc3\x9f" "e");
	EXPECT_STR(MIME_ENC_7BIT, "text", NULL, "Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e");
	EXPECT_STR(MIME_ENC_7BIT, "text", "x-foo", "Gr\xfc\xdf" "e", "Gr\xc3\xbc\xc3\x9f" "e");
	EXPECT_STR(MIME_ENC_7BIT, "text", "x-foo", "caf\xc3\xa9", "caf\xc3\xa9");
	EXPECT_STR(MIME_ENC_7BIT, "text", "", "\x80", "\xe2\x82\xac");
	/* an option smuggled into the name is not obeyed */
	EXPECT_STR(MIME_ENC_7BIT, "text", "utf-8//IGNORE", "a\xff", "a\xc3\xbf");
	/* windows-1252 has no 0x81: that byte alone becomes U+FFFD */
	EXPECT_STR(MIME_ENC_7BIT, "text", NULL, "\x81\xe9", "\xef\xbf\xbd\xc3\xa9");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	EXPECT_STR(MIME_ENC_7BIT, "text", "utf-8", "a\xff" "b", "a\xef\xbf\xbd" "b");
	EXPECT_STR(MIME_ENC_7BIT, "text", "utf-8", "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
	EXPECT_STR(MIME_ENC_7BIT, "text", "utf-8", "\xed\xa0\x80" "x",
		   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "x");
	/* cut off at the end */
	EXPECT_STR(MIME_ENC_7BIT, "text", "UTF8", "a\xe4\xb8", "a\xef\xbf\xbd\xef\xbf\xbd");
	EXPECT_STR(MIME_ENC_7BIT, "text", "gb18030", "a\x81", "a\xef\xbf\xbd");
	/* a bad byte in otherwise good GBK */
	EXPECT_STR(MIME_ENC_7BIT, "text", "gbk", "\xd6\xd0\xff\xce\xc4",
		   "\xe4\xb8\xad\xef\xbf\xbd\xe6\x96\x87");
}

/* glibc's iconv lets code points past U+10FFFF through (UTF-8 as UTF-8, and
 * UCS-4 written as 4- and 5-byte forms): they are not UTF-8 either. */
static void test_past_unicode(void **state)
{
	(void)state;
	EXPECT_STR(MIME_ENC_7BIT, "text", "utf-8", "a\xf5\xb8\xb8\xb8" "b",
		   "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b");
	EXPECT_STR(MIME_ENC_7BIT, "text", "utf-8", "\xf4\x90\x80\x80",
		   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* U+200000 and U+110000: one U+FFFD per byte iconv made of each */
	expect(MIME_ENC_7BIT, "text", "ucs-4be", "\x00\x20\x00\x00\x00\x00\x00\x41", 8,
	       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A", 16);
	expect(MIME_ENC_7BIT, "text", "ucs-4le", "\x00\x00\x11\x00", 4,
	       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12);
}

/* Past the buffering limit the charset is chosen on what was seen. */
static void test_text_limit(void **state)
{
	struct sink s;

	(void)state;
	/* all ASCII in the first 8 bytes: windows-1252 for the rest */
	s = decode_max(MIME_ENC_7BIT, "text", NULL, "abcdefgh\xfc\xc3\xbc", 11, 8);
	assert_int_equal(s.len, 14);
	assert_memory_equal(s.buf, "abcdefgh\xc3\xbc\xc3\x83\xc2\xbc", 14);
	free(s.buf);
	/* the limit cuts a UTF-8 sequence: still UTF-8, later bad bytes are U+FFFD */
	s = decode_max(MIME_ENC_7BIT, "text", "latin1", "abcdefg\xc3\xbc\xfc", 10, 8);
	assert_int_equal(s.len, 12);
	assert_memory_equal(s.buf, "abcdefg\xc3\xbc\xef\xbf\xbd", 12);
	free(s.buf);
	/* the declared charset when the start is not UTF-8 */
	s = decode_max(MIME_ENC_7BIT, "text", "gb2312", "\xd6\xd0\xce\xc4\xd6\xd0\xce\xc4", 8, 3);
	assert_int_equal(s.len, 12);
	assert_memory_equal(s.buf, "\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87", 12);
	free(s.buf);
}

static void test_charset_chosen(void **state)
{
	static const struct {
		const char *type, *label, *in, *want;
	} v[] = {
		{ "text", "gb2312", "\xd6\xd0", "GB18030" },
		{ "text", "gb2312", "\xe4\xb8\xad", "UTF-8" },
		{ "text", "koi8-r", "abc", "KOI8-R" },
		{ "text", NULL, "abc", "WINDOWS-1252" },
		{ "text", "x-foo", "\xe9", "WINDOWS-1252" },
		{ "text", "utf-8", "abc", "UTF-8" },
		{ "application", "utf-8", "abc", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sink s = { .fail_at = SIZE_MAX };
		struct mime_decoder *d = mime_decoder_new(MIME_ENC_7BIT, v[i].type, v[i].label,
							  sink_out, &s);

		assert_non_null(d);
		assert_int_equal(mime_decoder_push(d, v[i].in, strlen(v[i].in)), 0);
		assert_int_equal(mime_decoder_finish(d), 0);
		if (v[i].want)
			assert_string_equal(mime_decoder_charset(d), v[i].want);
		else
			assert_null(mime_decoder_charset(d));
		mime_decoder_free(d);
		free(s.buf);
	}
}

/* An empty text part: nothing buffered, nothing out, and no memcpy from the
 * buffer that was never allocated (UBSan: NULL passed as nonnull). */
static void test_empty_text(void **state)
{
	static const char *const charsets[] = { NULL, "iso-8859-2", "x-unknown", "utf-8", "utf-16" };
	static const size_t maxes[] = { MIME_TEXT_MAX, 0, 1 };
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++) {
		for (k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
			struct sink s = run(MIME_ENC_7BIT, "text", charsets[i], "", 0, WHOLE, 0,
					    maxes[k]);

			assert_int_equal(s.len, 0);
			free(s.buf);
			s = run(MIME_ENC_BASE64, "text", charsets[i], "", 0, WHOLE, 0, maxes[k]);
			assert_int_equal(s.len, 0);
			free(s.buf);
		}
	}
}

/* A filter may give no buffer at all for no output: uuencode before its
 * "begin" line, or at the end. Nothing may be made of that pointer. */
static void test_filter_no_output(void **state)
{
	static const char *const charsets[] = { NULL, "utf-8", "iso-8859-2" };
	struct sink s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++) {
		s = run(MIME_ENC_UUENCODE, "text", charsets[i], "s\r\n", 3, WHOLE, 0, MIME_TEXT_MAX);
		assert_int_equal(s.len, 0);
		free(s.buf);
	}
	/* a sequence cut off at the end of the data, then nothing from the filter */
	s = run(MIME_ENC_UUENCODE, "text", "utf-8", "begin 644 x\n!XP``\n`\nend\n", 24, WHOLE, 0,
		MIME_TEXT_MAX);
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.buf, "\xef\xbf\xbd", 3);
	free(s.buf);
}

static void test_output_failure(void **state)
{
	struct sink s = { .fail_at = 0 };
	struct mime_decoder *d;

	(void)state;
	/* streaming: the push that outputs fails, and everything after */
	d = mime_decoder_new(MIME_ENC_BASE64, "application", NULL, sink_out, &s);
	assert_non_null(d);
	assert_int_equal(mime_decoder_push(d, "aG", 2), 0);
	assert_int_equal(mime_decoder_push(d, "Vs", 2), -1);
	assert_int_equal(mime_decoder_push(d, "bG8=", 4), -1);
	assert_int_equal(mime_decoder_finish(d), -1);
	mime_decoder_free(d);
	/* buffered text: finish fails */
	d = mime_decoder_new(MIME_ENC_7BIT, "text", "latin1", sink_out, &s);
	assert_non_null(d);
	assert_int_equal(mime_decoder_push(d, "Gr\xfc\xdf" "e", 5), 0);
	assert_int_equal(mime_decoder_finish(d), -1);
	mime_decoder_free(d);
	/* a failure in a later output chunk */
	s.fail_at = 5000;
	d = mime_decoder_new(MIME_ENC_7BIT, "text", "utf-8", sink_out, &s);
	assert_non_null(d);
	{
		static char big[20000];

		memset(big, 'x', sizeof(big));
		assert_int_equal(mime_decoder_push(d, big, sizeof(big)), -1);
	}
	assert_int_equal(mime_decoder_finish(d), -1);
	mime_decoder_free(d);
	free(s.buf);
	/* freeing an unfinished decoder is fine */
	d = mime_decoder_new(MIME_ENC_QP, "text", "gbk", sink_out, &s);
	assert_non_null(d);
	assert_int_equal(mime_decoder_push(d, "=D6", 3), 0);
	mime_decoder_free(d);
	mime_decoder_free(NULL);
}

/* A large text in pieces: output is the same as pushed whole. */
static void test_large_text(void **state)
{
	static const char unit[] = "Vi\xea\xf2t \xd6\xd0 Gr\xfc\xdf" "e\r\n";
	size_t n = (sizeof(unit) - 1) * 5000, i;
	char *in = malloc(n);
	struct sink s;

	(void)state;
	assert_non_null(in);
	for (i = 0; i < n; i += sizeof(unit) - 1)
		memcpy(in + i, unit, sizeof(unit) - 1);
	s = decode_max(MIME_ENC_7BIT, "text", "windows-1258", in, n, 1000);
	assert_true(s.len > n);
	free(s.buf);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_split_points),
		cmocka_unit_test(test_uuencode),
		cmocka_unit_test(test_passthrough),
		cmocka_unit_test(test_binary_not_converted),
		cmocka_unit_test(test_windows_1258),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_mislabelled_utf8),
		cmocka_unit_test(test_no_or_unknown_charset),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_past_unicode),
		cmocka_unit_test(test_text_limit),
		cmocka_unit_test(test_charset_chosen),
		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_filter_no_output),
		cmocka_unit_test(test_output_failure),
		cmocka_unit_test(test_large_text),
	};

	mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
