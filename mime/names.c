// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File names and header text in UTF-8. Mail in the wild mislabels its
 * charsets, so every conversion ends in valid UTF-8 whatever the input:
 * declared charsets are widened to the superset mailers really use
 * (gb2312 → GB18030, iso-8859-1 → windows-1252), unknown ones fall back to
 * UTF-8 when the bytes are valid UTF-8, else to windows-1252, and bytes
 * that still do not convert become U+FFFD.
 *
 * iconv is opened per call (not GMime's shared cache) so that this file
 * needs no lock; GMime is asked only for charset aliases iconv lacks.
 *
 * Text is built in GLib's GString, which GMime brings (mime/ has no buffer
 * of its own and must not use imap/'s). GLib aborts when out of memory, as
 * GMime does, and allocates with malloc since GLib 2.46: the strings these
 * functions return are freed with free().
 */
#include "names.h"
#include "words.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

/* Longest extension kept when a name is cut, with its dot. */
#define EXT_MAX 16
/* RFC 2231 continuation numbers above this are ignored (hostile input). */
#define SEGMENT_MAX 9999

static const char replacement[] = "\xef\xbf\xbd";   /* U+FFFD */

char mime_ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Locale-independent, so that a Turkish locale cannot change a match. */
bool mime_ascii_eq(const char *a, const char *b)
{
	while (*a && mime_ascii_lower(*a) == mime_ascii_lower(*b)) {
		a++;
		b++;
	}
	return mime_ascii_lower(*a) == mime_ascii_lower(*b);
}

size_t mime_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c;
	size_t i = 0, k;

	while (i < n) {
		k = mime_utf8_next(u + i, n - i, &c);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* Valid sequences as they are, each invalid byte as U+FFFD. */
static void put_sanitized(GString *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c;
	size_t i = 0, k;

	while (i < n) {
		k = mime_utf8_next(u + i, n - i, &c);
		if (k == 0) {
			g_string_append_len(b, replacement, 3);
			i++;
		} else {
			g_string_append_len(b, s + i, k);
			i += k;
		}
	}
}

/* windows-1252's 0x80..0x9f; its five holes become U+FFFD. */
static const uint16_t cp1252_high[32] = {
	0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
	0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

static void put_cp1252(GString *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80 && c < 0xa0)
			g_string_append_unichar(b, cp1252_high[c - 0x80]);
		else
			g_string_append_unichar(b, c);
	}
}

/* Bytes of no (known) charset: UTF-8 if they are valid UTF-8, else windows-1252. */
static void put_guessed(GString *b, const char *s, size_t n)
{
	if (utf8_valid(s, n))
		g_string_append_len(b, s, n);
	else
		put_cp1252(b, s, n);
}

/*
 * Returns false if some bytes did not convert (they became U+FFFD), so the
 * caller can prefer another reading.
 */
static bool put_iconv(GString *b, iconv_t cd, const char *s, size_t n)
{
	char out[512], *in = (char *)s, *op;
	size_t inleft = n, outleft, r;
	bool clean = true;

	while (inleft > 0) {
		op = out;
		outleft = sizeof(out);
		r = iconv(cd, &in, &inleft, &op, &outleft);
		g_string_append_len(b, out, (size_t)(op - out));
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		/* EILSEQ, or EINVAL for a sequence cut off at the end. */
		clean = false;
		g_string_append_len(b, replacement, 3);
		in++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	op = out;
	outleft = sizeof(out);
	iconv(cd, NULL, NULL, &op, &outleft);
	g_string_append_len(b, out, (size_t)(op - out));
	return clean;
}

/* Labels whose real-world use is a wider charset than the label says. */
static const struct {
	const char *label, *iconv;
} widened[] = {
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" }, { "x-gbk", "GB18030" },
	{ "cp936", "GB18030" }, { "euc-cn", "GB18030" }, { "x-euc-cn", "GB18030" },
	{ "gb_2312-80", "GB18030" }, { "csgb2312", "GB18030" },
	{ "ks_c_5601-1987", "CP949" }, { "euc-kr", "CP949" }, { "ks_c_5601", "CP949" },
	{ "shift_jis", "CP932" }, { "shift-jis", "CP932" }, { "x-sjis", "CP932" },
	{ "sjis", "CP932" }, { "tis-620", "CP874" }, { "iso-8859-11", "CP874" },
};

static const char *const latin1_labels[] = {
	"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1", "windows-1252",
	"cp1252", "x-cp1252", "iso-8859-15",
};

static const char *widen(const char *charset)
{
	size_t i;

	for (i = 0; i < sizeof(widened) / sizeof(widened[0]); i++)
		if (mime_ascii_eq(charset, widened[i].label))
			return widened[i].iconv;
	return charset;
}

static bool is_latin1(const char *charset)
{
	size_t i;

	for (i = 0; i < sizeof(latin1_labels) / sizeof(latin1_labels[0]); i++)
		if (mime_ascii_eq(charset, latin1_labels[i]))
			return true;
	return false;
}

static iconv_t open_to_utf8(const char *charset)
{
	iconv_t cd = iconv_open("UTF-8", widen(charset));
	const char *alias;

	if (cd != (iconv_t)-1)
		return cd;
	alias = g_mime_charset_iconv_name(charset);
	return alias ? iconv_open("UTF-8", alias) : (iconv_t)-1;
}

/* A server's charset name goes to iconv_open only if it looks like one. */
static bool charset_name_ok(const char *cs)
{
	size_t n;

	if (cs == NULL)
		return false;
	n = strspn(cs, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:+");
	return n > 0 && n < 64 && cs[n] == '\0';
}

/* n bytes in charset (NULL or "" when unknown) appended as UTF-8. */
static void put_charset(GString *b, const char *s, size_t n, const char *charset)
{
	size_t mark = b->len;
	iconv_t cd;
	bool clean;

	if (!charset_name_ok(charset) || mime_ascii_eq(charset, "us-ascii") ||
	    mime_ascii_eq(charset, "ascii")) {
		put_guessed(b, s, n);
		return;
	}
	if (mime_ascii_eq(charset, "utf-8") || mime_ascii_eq(charset, "utf8")) {
		put_sanitized(b, s, n);
		return;
	}
	/* iso-8859-15 differs from 1252 in eight letters; 1252 is what is sent. */
	if (is_latin1(charset)) {
		put_cp1252(b, s, n);
		return;
	}
	cd = open_to_utf8(charset);
	if (cd == (iconv_t)-1) {
		put_guessed(b, s, n);
		return;
	}
	clean = put_iconv(b, cd, s, n);
	iconv_close(cd);
	/* A wrong label on UTF-8 text is the usual reason a conversion fails. */
	if (!clean && utf8_valid(s, n)) {
		g_string_truncate(b, mark);
		g_string_append_len(b, s, n);
	}
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = mime_ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Lenient: characters outside the alphabet are skipped, padding optional. */
static void put_b64(GString *b, const char *s, size_t n)
{
	uint32_t acc = 0;
	int bits = 0, v;
	size_t i;

	for (i = 0; i < n && s[i] != '='; i++) {
		v = b64_value(s[i]);
		if (v < 0)
			continue;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			g_string_append_c(b, (char)(acc >> bits & 0xff));
		}
	}
}

/* A fold inside an encoded word (CR or LF and the blanks after them), which
 * some mailers leave when they cut a long word: not part of its text. */
static size_t fold_len(const char *s, size_t n)
{
	size_t i = 0;

	if (s[0] != '\r' && s[0] != '\n')
		return 0;
	while (i < n && (s[i] == '\r' || s[i] == '\n'))
		i++;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* RFC 2047 "Q": '_' is a space, =XX a byte, anything else itself. */
static void put_q(GString *b, const char *s, size_t n)
{
	size_t i, f;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((f = fold_len(s + i, n - i)) > 0) {
			i += f - 1;
		} else if (s[i] == '_') {
			g_string_append_c(b, ' ');
		} else if (s[i] == '=' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
			   (lo = hex_value(s[i + 2])) >= 0) {
			g_string_append_c(b, (char)(hi << 4 | lo));
			i += 2;
		} else {
			g_string_append_c(b, s[i]);
		}
	}
}

/* Drops NUL too: every caller ends in a C string. */
static void put_plain(GString *b, const char *s, size_t n, bool raw_utf8)
{
	size_t i, run = 0;

	/* CR and LF are folding left in by some servers: unfold. */
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '\r' && s[i] != '\n' && s[i] != '\0')
			continue;
		if (raw_utf8)
			g_string_append_len(b, s + run, i - run);
		else
			put_cp1252(b, s + run, i - run);
		run = i + 1;
	}
}

/* Control characters as U+FFFD (a line end too unless keep_lf), invalid
 * UTF-8 as U+FFFD: what a header line may show. */
static void put_visible(GString *b, const char *s, size_t n, bool keep_lf)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c;
	size_t i = 0, k;

	while (i < n) {
		k = mime_utf8_next(u + i, n - i, &c);
		if (k == 0 || (c < 0x20 && c != '\t' && !(c == '\n' && keep_lf)) ||
		    (c >= 0x7f && c <= 0x9f))
			g_string_append_len(b, replacement, 3);
		else
			g_string_append_len(b, s + i, k);
		i += k ? k : 1;
	}
}

/* One run of text (s, n) to decode: where it ends, how raw 8-bit text in it
 * is read, and the "?=" found last (a memo that keeps hostile input with
 * many unclosed words linear). */
struct words {
	GString *out;
	const char *end;
	bool raw_utf8;        /* raw 8-bit text is valid UTF-8 */
	const char *charset;  /* else read as this (NULL: windows-1252) */
	bool lines;           /* header lines: LF kept, controls visible */
	const char *close_from, *close;
};

/* The first "?=" at or after from, or NULL. */
static const char *find_close(struct words *w, const char *from)
{
	if (w->close_from && from >= w->close_from && (!w->close || from <= w->close))
		return w->close;
	w->close_from = from;
	w->close = memmem(from, (size_t)(w->end - from), "?=", 2);
	return w->close;
}

struct eword {
	char charset[64];
	char enc;            /* 'b' or 'q' */
	const char *text;
	size_t len;
	const char *end;     /* just past "?=" */
};

/* "=?charset[*lang]?B|Q?text?=" at p. Lenient about the text itself. */
static bool parse_eword(struct words *ws, const char *p, struct eword *w)
{
	const char *cs = p + 2, *q, *e;
	size_t n;

	if (ws->end - p < 2 || p[0] != '=' || p[1] != '?')
		return false;
	for (q = cs; q < ws->end && *q != '?' && q - cs < (ptrdiff_t)sizeof(w->charset); q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
			return false;
	n = (size_t)(q - cs);
	if (ws->end - q < 3 || *q != '?' || n == 0 || n >= sizeof(w->charset))
		return false;
	memcpy(w->charset, cs, n);
	w->charset[n] = '\0';
	w->charset[strcspn(w->charset, "*")] = '\0';    /* RFC 2231 language */
	w->enc = mime_ascii_lower(q[1]);
	if ((w->enc != 'b' && w->enc != 'q') || q[2] != '?')
		return false;
	e = find_close(ws, q + 3);
	if (e == NULL)
		return false;
	w->text = q + 3;
	w->len = (size_t)(e - w->text);
	w->end = e + 2;
	return true;
}

static void flush_words(struct words *w, GString *pend, const char *charset)
{
	GString *t;

	if (pend->len == 0)
		return;
	if (!w->lines) {
		put_charset(w->out, pend->str, pend->len, charset);
	} else {
		t = g_string_new(NULL);
		put_charset(t, pend->str, pend->len, charset);
		put_visible(w->out, t->str, t->len, false);
		g_string_free(t, TRUE);
	}
	g_string_truncate(pend, 0);
}

static void put_raw(struct words *w, const char *s, size_t n)
{
	GString *t;

	if (!w->lines) {
		put_plain(w->out, s, n, w->raw_utf8);
		return;
	}
	t = g_string_new(NULL);
	if (w->raw_utf8)
		g_string_append_len(t, s, n);
	else
		put_charset(t, s, n, w->charset);
	put_visible(w->out, t->str, t->len, true);
	g_string_free(t, TRUE);
}

/*
 * Adjacent encoded words in one charset are converted together: mailers
 * split multi-byte characters across words. Whitespace between encoded
 * words is not part of the text (RFC 2047 6.2), a fold included.
 */
static void decode_words(struct words *w, const char *s)
{
	GString *pend = g_string_new(NULL);
	char charset[64] = "";
	struct eword ew;
	const char *p = s, *q, *run;
	bool after_word = false;

	while (p < w->end) {
		if (parse_eword(w, p, &ew)) {
			if (!mime_ascii_eq(charset, ew.charset))
				flush_words(w, pend, charset);
			memcpy(charset, ew.charset, sizeof(charset));
			if (ew.enc == 'b')
				put_b64(pend, ew.text, ew.len);
			else
				put_q(pend, ew.text, ew.len);
			p = ew.end;
			after_word = true;
			continue;
		}
		if (after_word) {
			for (q = p; q < w->end && *q && strchr(" \t\r\n", *q); q++)
				;
			if (q != p && parse_eword(w, q, &ew)) {
				p = q;
				continue;
			}
		}
		flush_words(w, pend, charset);
		run = p++;
		while (p < w->end && !(p[0] == '=' && p + 1 < w->end && p[1] == '?'))
			p++;
		put_raw(w, run, (size_t)(p - run));
		after_word = false;
	}
	flush_words(w, pend, charset);
	g_string_free(pend, TRUE);
}

/* Drops NUL, which a decoded word may hold and a C string cannot; frees b. */
static char *finish_text(GString *b)
{
	GString *clean = g_string_sized_new(b->len);
	size_t i, run = 0;

	for (i = 0; i <= b->len; i++) {
		if (i < b->len && b->str[i] != '\0')
			continue;
		put_sanitized(clean, b->str + run, i - run);
		run = i + 1;
	}
	g_string_free(b, TRUE);
	return g_string_free(clean, FALSE);
}

char *mime_header_text(const char *raw)
{
	GString *b = g_string_new(NULL);
	struct words w = { .out = b };
	size_t n;

	if (raw == NULL)
		raw = "";
	n = strlen(raw);
	w.end = raw + n;
	w.raw_utf8 = utf8_valid(raw, n);
	decode_words(&w, raw);
	return finish_text(b);
}

void mime_words_lines(GString *out, const char *s, size_t n, const char *charset)
{
	struct words w = { .out = out, .end = s + n, .charset = charset, .lines = true };

	w.raw_utf8 = utf8_valid(s, n);
	decode_words(&w, s);
}

static void put_pct(GString *b, const char *s)
{
	int hi, lo;

	for (; *s; s++) {
		if (s[0] == '%' && (hi = hex_value(s[1])) >= 0 && (lo = hex_value(s[2])) >= 0) {
			g_string_append_c(b, (char)(hi << 4 | lo));
			s += 2;
		} else {
			g_string_append_c(b, *s);
		}
	}
}

/* "charset'language'value": the charset into cs ("" if none), returns value. */
static const char *split_charset(const char *v, char *cs, size_t cslen)
{
	const char *a = strchr(v, '\''), *l;
	size_t n;

	cs[0] = '\0';
	if (a == NULL || (l = strchr(a + 1, '\'')) == NULL)
		return v;
	n = (size_t)(a - v);
	if (n < cslen) {
		memcpy(cs, v, n);
		cs[n] = '\0';
	}
	return l + 1;
}

struct segment {
	unsigned long num;
	size_t order;
	bool encoded;
	const char *value;
};

static int segment_cmp(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;

	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

enum attr_kind { ATTR_OTHER, ATTR_PLAIN, ATTR_EXTENDED, ATTR_SEGMENT };

/* attr against base (lower-case): "base", "base*", "base*N" or "base*N*". */
static enum attr_kind match_attr(const char *attr, const char *base, unsigned long *num,
				 bool *encoded)
{
	size_t i, n = strlen(base);

	if (attr == NULL)
		return ATTR_OTHER;
	for (i = 0; i < n; i++)
		if (mime_ascii_lower(attr[i]) != base[i])
			return ATTR_OTHER;
	attr += n;
	if (*attr == '\0')
		return ATTR_PLAIN;
	if (*attr++ != '*')
		return ATTR_OTHER;
	if (*attr == '\0')
		return ATTR_EXTENDED;
	if (*attr < '0' || *attr > '9')
		return ATTR_OTHER;
	for (*num = 0; *attr >= '0' && *attr <= '9'; attr++) {
		*num = *num * 10 + (unsigned long)(*attr - '0');
		if (*num > SEGMENT_MAX)
			return ATTR_OTHER;
	}
	*encoded = *attr == '*';
	if (*encoded)
		attr++;
	return *attr == '\0' ? ATTR_SEGMENT : ATTR_OTHER;
}

static char *decode_extended(const char *v)
{
	GString *raw = g_string_new(NULL), *out = g_string_new(NULL);
	char cs[64];

	put_pct(raw, split_charset(v, cs, sizeof(cs)));
	put_charset(out, raw->str, raw->len, cs);
	g_string_free(raw, TRUE);
	return finish_text(out);
}

/* RFC 2231 3-4: segments in number order (gaps tolerated, repeats ignored),
 * the charset from the first; unencoded segments are taken as they are. */
static char *decode_segments(struct segment *segs, size_t n)
{
	GString *raw = g_string_new(NULL), *out;
	char cs[64] = "";
	bool any_encoded = false;
	const char *v;
	char *s;
	size_t i;

	qsort(segs, n, sizeof(*segs), segment_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && segs[i].num == segs[i - 1].num)
			continue;
		v = segs[i].value;
		if (segs[i].encoded) {
			if (i == 0)
				v = split_charset(v, cs, sizeof(cs));
			put_pct(raw, v);
			any_encoded = true;
		} else {
			g_string_append(raw, v);
		}
	}
	if (!any_encoded) {
		s = mime_header_text(raw->str);
		g_string_free(raw, TRUE);
		return s;
	}
	out = g_string_new(NULL);
	put_charset(out, raw->str, raw->len, cs);
	g_string_free(raw, TRUE);
	return finish_text(out);
}

/*
 * The UTF-8 text of parameter base: base* wins over base*0.. (continued),
 * which win over plain base, as mailers send both for old readers.
 * 0 if there is none, 1 with *out set, -1 if out of memory.
 */
static int param_text(const struct mime_param *pr, size_t n, const char *base, char **out)
{
	struct segment *segs = NULL;
	const char *plain = NULL, *ext = NULL;
	size_t i, nseg = 0;
	unsigned long num = 0;
	bool enc = false;

	*out = NULL;
	if (pr == NULL || n == 0)
		return 0;
	segs = calloc(n, sizeof(*segs));
	if (segs == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (pr[i].value == NULL)
			continue;
		switch (match_attr(pr[i].attr, base, &num, &enc)) {
		case ATTR_PLAIN:
			plain = plain ? plain : pr[i].value;
			break;
		case ATTR_EXTENDED:
			ext = ext ? ext : pr[i].value;
			break;
		case ATTR_SEGMENT:
			segs[nseg++] = (struct segment){ num, i, enc, pr[i].value };
			break;
		case ATTR_OTHER:
			break;
		}
	}
	if (ext != NULL)
		*out = decode_extended(ext);
	else if (nseg > 0)
		*out = decode_segments(segs, nseg);
	else if (plain != NULL)
		*out = mime_header_text(plain);
	free(segs);
	if (ext == NULL && nseg == 0 && plain == NULL)
		return 0;
	return *out ? 1 : -1;
}

static bool dropped(uint32_t c)
{
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
		return true;
	/* Bidirectional controls can show "fdp.exe" as "exe.pdf". */
	return c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/* Cut to MIME_NAME_MAX bytes on a character boundary, keeping ".ext". */
static void cut_name(GString *b)
{
	const char *dot = strrchr(b->str, '.');
	size_t ext = 0, stem;

	if (dot != NULL && dot != b->str && strlen(dot) <= EXT_MAX)
		ext = strlen(dot);
	stem = MIME_NAME_MAX - ext;
	while (stem > 1 && ((unsigned char)b->str[stem] & 0xc0) == 0x80)
		stem--;
	while (stem > 1 && b->str[stem - 1] == ' ')
		stem--;
	memmove(b->str + stem, b->str + b->len - ext, ext);
	g_string_truncate(b, stem + ext);
}

/* The safe form of s, "" when nothing usable is left. */
static char *clean_name(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	GString *b = g_string_new(NULL);
	size_t n = strlen(s), i = 0, k, start, end;
	uint32_t c;

	while (i < n) {
		k = mime_utf8_next(u + i, n - i, &c);
		if (k == 0) {
			g_string_append_len(b, replacement, 3);
			i++;
			continue;
		}
		if (c == '/' || c == '\\')
			g_string_append_c(b, '_');
		else if (!dropped(c))
			g_string_append_len(b, s + i, k);
		i += k;
	}
	for (start = 0; start < b->len && b->str[start] == ' '; start++)
		;
	for (end = b->len; end > start && b->str[end - 1] == ' '; end--)
		;
	memmove(b->str, b->str + start, end - start);
	g_string_truncate(b, end - start);
	/* "", ".", "..", "...": nothing to show. */
	if (strspn(b->str, ".") == b->len)
		g_string_truncate(b, 0);
	/* A leading dot would hide the file from ls and file managers. */
	if (b->str[0] == '.')
		b->str[0] = '_';
	if (b->len > MIME_NAME_MAX)
		cut_name(b);
	return g_string_free(b, FALSE);
}

char *mime_safe_name(const char *utf8, const char *fallback)
{
	char *s = clean_name(utf8 ? utf8 : "");

	if (s != NULL && *s == '\0') {
		free(s);
		s = strdup(fallback ? fallback : "body.bin");
	}
	return s;
}

static const struct {
	const char *type, *subtype, *ext;   /* subtype NULL: any */
} extensions[] = {
	{ "text", "plain", "txt" }, { "text", "html", "html" }, { "text", "calendar", "ics" },
	{ "text", "csv", "csv" }, { "text", "xml", "xml" }, { "text", "css", "css" },
	{ "text", "markdown", "md" }, { "text", "vcard", "vcf" }, { "text", "x-vcard", "vcf" },
	{ "text", "rtf", "rtf" }, { "text", NULL, "txt" },
	{ "application", "pdf", "pdf" }, { "application", "zip", "zip" },
	{ "application", "gzip", "gz" }, { "application", "x-gzip", "gz" },
	{ "application", "json", "json" }, { "application", "xml", "xml" },
	{ "application", "msword", "doc" }, { "application", "vnd.ms-excel", "xls" },
	{ "application", "vnd.ms-powerpoint", "ppt" }, { "application", "rtf", "rtf" },
	{ "application", "vnd.openxmlformats-officedocument.wordprocessingml.document", "docx" },
	{ "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx" },
	{ "application", "vnd.openxmlformats-officedocument.presentationml.presentation", "pptx" },
	{ "application", "vnd.oasis.opendocument.text", "odt" },
	{ "application", "vnd.oasis.opendocument.spreadsheet", "ods" },
	{ "application", "vnd.oasis.opendocument.presentation", "odp" },
	{ "application", "x-tar", "tar" }, { "application", "x-7z-compressed", "7z" },
	{ "application", "vnd.rar", "rar" }, { "application", "x-rar-compressed", "rar" },
	{ "application", "pgp-signature", "asc" }, { "application", "pgp-encrypted", "asc" },
	{ "application", "pgp-keys", "asc" }, { "application", "pkcs7-signature", "p7s" },
	{ "application", "x-pkcs7-signature", "p7s" }, { "application", "pkcs7-mime", "p7m" },
	{ "application", "x-pkcs7-mime", "p7m" }, { "application", "ics", "ics" },
	{ "application", "octet-stream", "bin" },
	{ "image", "png", "png" }, { "image", "jpeg", "jpg" }, { "image", "jpg", "jpg" },
	{ "image", "pjpeg", "jpg" }, { "image", "gif", "gif" }, { "image", "svg+xml", "svg" },
	{ "image", "webp", "webp" }, { "image", "bmp", "bmp" }, { "image", "tiff", "tif" },
	{ "image", "heic", "heic" },
	{ "audio", "mpeg", "mp3" }, { "audio", "ogg", "ogg" }, { "audio", "wav", "wav" },
	{ "audio", "x-wav", "wav" },
	{ "video", "mp4", "mp4" }, { "video", "quicktime", "mov" }, { "video", "webm", "webm" },
	{ "message", NULL, "eml" },
};

const char *mime_extension(const char *mtype, const char *msubtype)
{
	size_t i;

	if (mtype == NULL)
		return "bin";
	for (i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++) {
		if (!mime_ascii_eq(mtype, extensions[i].type))
			continue;
		if (extensions[i].subtype == NULL ||
		    (msubtype != NULL && mime_ascii_eq(msubtype, extensions[i].subtype)))
			return extensions[i].ext;
	}
	return "bin";
}

static char *body_name(const char *mtype, const char *msubtype)
{
	const char *ext = mime_extension(mtype, msubtype);
	char *s = malloc(strlen("body.") + strlen(ext) + 1);

	if (s != NULL) {
		strcpy(s, "body.");
		strcat(s, ext);
	}
	return s;
}

char *mime_filename(const struct mime_param *disposition, size_t ndisposition,
		    const struct mime_param *type, size_t ntype, const char *mtype,
		    const char *msubtype)
{
	const struct {
		const struct mime_param *p;
		size_t n;
		const char *attr;
	} sources[] = {
		{ disposition, ndisposition, "filename" },
		{ type, ntype, "name" },
	};
	char *text, *safe;
	size_t i;

	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		switch (param_text(sources[i].p, sources[i].n, sources[i].attr, &text)) {
		case -1:
			return NULL;
		case 0:
			continue;
		}
		safe = clean_name(text);
		free(text);
		if (safe == NULL || *safe != '\0')
			return safe;
		free(safe);
	}
	return body_name(mtype, msubtype);
}
