// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * decode — transfer decoding with GMime's basic filters, then for text an
 * iconv loop of our own rather than GMime's charset filter: we need to
 * replace bad bytes with U+FFFD (GMime's filter stops or drops them) and to
 * choose the source charset after seeing the text.
 */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "decode.h"

/* Longer than any incomplete multibyte sequence iconv can leave behind. */
#define PEND_MAX 32
#define OUT_CHUNK 4096
#define NAME_MAX_LEN 64

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

enum text_mode {
	TEXT_OFF,	/* not text: decoded bytes go straight out */
	TEXT_BUFFER,	/* text whose charset is chosen after seeing it */
	TEXT_STREAM,	/* text converted through cd as it comes */
};

struct mime_decoder {
	GMimeFilter *filter;		/* NULL: bytes pass through */
	enum text_mode mode;
	iconv_t cd;			/* TEXT_STREAM: the converter in use */
	iconv_t declared;		/* TEXT_BUFFER: the declared charset's, or -1 */
	char declared_name[NAME_MAX_LEN];
	char from[NAME_MAX_LEN];	/* what cd converts from, "" until chosen */
	char *buf;			/* TEXT_BUFFER: the text so far */
	size_t len, cap, max;
	char pend[PEND_MAX];		/* TEXT_STREAM: a sequence cut by a push */
	size_t npend;
	bool cr_held;			/* text: the last CR out is held (text_out) */
	mime_out_fn *out;
	void *ud;
	bool failed, finished;
	/* uuencode: the lines before "begin " are read here (uu_begin), and
	 * line ends are held back (uu_push) */
	bool uu, uu_search, uu_skip, uu_nl;
	unsigned uu_match;		/* bytes of "begin " at the line's start */
};

/*
 * Labels mail actually carries, read as the superset their senders' software
 * writes: a GBK character in "gb2312" mail is the rule, not the exception.
 * Latin-1 and ASCII labels are read as windows-1252, whose 0x80-0x9f are
 * printable where latin1's are C1 controls nobody means.
 */
static const struct {
	const char *label, *name;
} charset_map[] = {
	{ "utf-8", "UTF-8" }, { "utf8", "UTF-8" },
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" }, { "x-gbk", "GB18030" },
	{ "cp936", "GB18030" }, { "ms936", "GB18030" }, { "windows-936", "GB18030" },
	{ "euc-cn", "GB18030" }, { "csgb2312", "GB18030" }, { "gb_2312-80", "GB18030" },
	{ "big5", "BIG5-HKSCS" }, { "big5-hkscs", "BIG5-HKSCS" }, { "x-x-big5", "BIG5-HKSCS" },
	{ "cn-big5", "BIG5-HKSCS" }, { "csbig5", "BIG5-HKSCS" },
	{ "ks_c_5601-1987", "CP949" }, { "ks_c_5601-1989", "CP949" }, { "ksc5601", "CP949" },
	{ "euc-kr", "CP949" }, { "windows-949", "CP949" },
	{ "shift_jis", "CP932" }, { "shift-jis", "CP932" }, { "sjis", "CP932" },
	{ "x-sjis", "CP932" }, { "ms_kanji", "CP932" }, { "windows-31j", "CP932" },
	{ "iso-8859-1", "WINDOWS-1252" }, { "iso8859-1", "WINDOWS-1252" },
	{ "iso_8859-1", "WINDOWS-1252" }, { "latin1", "WINDOWS-1252" }, { "l1", "WINDOWS-1252" },
	{ "cp819", "WINDOWS-1252" }, { "us-ascii", "WINDOWS-1252" }, { "ascii", "WINDOWS-1252" },
	{ "us", "WINDOWS-1252" }, { "ansi_x3.4-1968", "WINDOWS-1252" },
	{ "iso-8859-9", "WINDOWS-1254" }, { "latin5", "WINDOWS-1254" },
	{ "iso-8859-11", "CP874" }, { "tis-620", "CP874" }, { "windows-874", "CP874" },
};

/*
 * The declared label, trimmed, lower-cased and mapped, or NULL when absent
 * or unusable. '/' and ',' are refused: glibc would read "utf-8//IGNORE"
 * as an option, and a sender has no business choosing our error handling.
 */
static const char *charset_name(const char *label, char *name, size_t size)
{
	size_t n = 0, i;

	if (!label)
		return NULL;
	while (*label == ' ' || *label == '\t' || *label == '"')
		label++;
	for (; *label && *label != ' ' && *label != '\t' && *label != '"'; label++) {
		unsigned char c = (unsigned char)*label;

		if (n + 1 >= size || c < 0x21 || c >= 0x7f || c == '/' || c == ',')
			return NULL;
		name[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c);
	}
	name[n] = '\0';
	if (n == 0)
		return NULL;
	for (i = 0; i < sizeof(charset_map) / sizeof(charset_map[0]); i++)
		if (!strcmp(name, charset_map[i].label))
			return charset_map[i].name;
	return name;
}

/*
 * Charsets not built on ASCII: their bytes must not be mistaken for UTF-8
 * (UTF-16 "a\0b\0" is valid UTF-8), so they convert as declared. UTF-8
 * itself needs no guess either.
 */
static bool streams_directly(const char *name)
{
	static const char *const prefixes[] = {
		"utf-8", "utf-16", "utf16", "utf-32", "utf32", "ucs-", "ucs2", "ucs4",
		"utf-7", "utf7",
	};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncasecmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* iconv_open to UTF-8; errno EINVAL when neither glibc nor GMime knows name. */
static iconv_t open_from(const char *name)
{
	iconv_t cd = iconv_open("UTF-8", name);
	const char *alt;

	if (cd != (iconv_t)-1 || errno != EINVAL)
		return cd;
	alt = g_mime_charset_iconv_name(name);
	if (!alt || !strcasecmp(alt, name) || strchr(alt, '/')) {
		errno = EINVAL;
		return (iconv_t)-1;
	}
	return iconv_open("UTF-8", alt);
}

static void set_from(struct mime_decoder *d, const char *name)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(d->from); i++)
		d->from[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
	d->from[i] = '\0';
}

static int text_setup(struct mime_decoder *d, const char *charset)
{
	char name[NAME_MAX_LEN];
	const char *from = charset_name(charset, name, sizeof(name));

	d->mode = TEXT_BUFFER;
	if (!from)
		return 0;
	if (streams_directly(from)) {
		d->cd = open_from(from);
		if (d->cd != (iconv_t)-1) {
			d->mode = TEXT_STREAM;
			set_from(d, from);
			return 0;
		}
		return errno == EINVAL ? 0 : -1;
	}
	d->declared = open_from(from);
	if (d->declared == (iconv_t)-1)
		return errno == EINVAL ? 0 : -1;
	snprintf(d->declared_name, sizeof(d->declared_name), "%s", from);
	return 0;
}

/* The length of the UTF-8 sequence at s (RFC 3629: no overlongs, surrogates
 * or values past U+10FFFF), 0 if it is not one, or UTF8_CUT if s[0..n) is
 * the valid start of one that the end cuts off. */
#define UTF8_CUT ((size_t)-1)
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, k;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	for (k = 1; k <= need; k++) {
		if (k >= n)
			return UTF8_CUT;
		if (s[k] < lo || s[k] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

/*
 * Converted text out, with CRLF as LF; a lone CR stays. A CR ending one
 * piece is held until the next shows whether an LF follows: a push may cut
 * a CRLF (finish lets a held CR out). In UTF-8 neither byte is ever part
 * of another character, so this works on the converted bytes.
 */
static int text_out(struct mime_decoder *d, const char *s, size_t n)
{
	size_t run = 0, i;

	if (n == 0)
		return 0;
	if (d->cr_held) {
		d->cr_held = false;
		if (s[0] != '\n' && d->out(d->ud, "\r", 1) < 0)
			return -1;
	}
	for (i = 0; i < n; i++) {
		if (s[i] != '\r' || (i + 1 < n && s[i + 1] != '\n'))
			continue;
		if (i > run && d->out(d->ud, s + run, i - run) < 0)
			return -1;
		run = i + 1;
		d->cr_held = i + 1 == n;
	}
	return n > run ? d->out(d->ud, s + run, n - run) : 0;
}

/*
 * What iconv wrote, out. glibc's iconv lets code points past U+10FFFF
 * through (from UTF-8, UCS-4...) and writes them as 4- to 6-byte forms,
 * which are not UTF-8: each of their bytes becomes U+FFFD. iconv writes
 * whole characters, so a chunk never ends inside a sequence.
 */
static int flush(struct mime_decoder *d, char *obuf, char **o, size_t *ol)
{
	const unsigned char *u = (const unsigned char *)obuf;
	size_t n = (size_t)(*o - obuf), i = 0, run = 0, k;
	int r = 0;

	*o = obuf;
	*ol = OUT_CHUNK;
	while (i < n && r >= 0) {
		k = utf8_seq(u + i, n - i);
		if (k > 0 && k != UTF8_CUT) {
			i += k;
			continue;
		}
		if (i > run)
			r = text_out(d, obuf + run, i - run);
		if (r >= 0)
			r = text_out(d, replacement, sizeof(replacement) - 1);
		run = ++i;
	}
	if (r >= 0 && n > run)
		r = text_out(d, obuf + run, n - run);
	return r < 0 ? -1 : 0;
}

/*
 * Converts *in through d->cd. Without final it stops before an incomplete
 * sequence at the end, which the caller keeps for the next push; a byte
 * that does not convert (with final, also an incomplete one) becomes U+FFFD
 * and conversion resumes at the next byte.
 */
static int conv_run(struct mime_decoder *d, const char **in, size_t *left, bool final)
{
	char obuf[OUT_CHUNK], *o = obuf;
	size_t ol = sizeof(obuf);

	while (*left > 0) {
		char *ip = (char *)*in;
		size_t r = iconv(d->cd, &ip, left, &o, &ol);

		*in = ip;
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG) {
			if (flush(d, obuf, &o, &ol) < 0)
				return -1;
			continue;
		}
		if (errno == EINVAL && !final && *left <= PEND_MAX)
			break;
		if (errno != EILSEQ && errno != EINVAL)
			return -1;
		if (ol < sizeof(replacement) - 1 && flush(d, obuf, &o, &ol) < 0)
			return -1;
		memcpy(o, replacement, sizeof(replacement) - 1);
		o += sizeof(replacement) - 1;
		ol -= sizeof(replacement) - 1;
		(*in)++;
		(*left)--;
	}
	/* Stateful converters (CP1258 holds a letter for its tone mark) flush here. */
	while (final && iconv(d->cd, NULL, NULL, &o, &ol) == (size_t)-1 && errno == E2BIG)
		if (flush(d, obuf, &o, &ol) < 0)
			return -1;
	return flush(d, obuf, &o, &ol);
}

/*
 * Converts data after the sequence a previous push cut off: the kept bytes
 * and the start of data go through a small joint buffer until the kept
 * bytes are used up, then data is converted in place.
 */
static int conv_push(struct mime_decoder *d, const char *data, size_t len, bool final)
{
	const char *in;
	size_t left;

	while (d->npend > 0) {
		char tmp[2 * PEND_MAX];
		size_t take = len < PEND_MAX ? len : PEND_MAX;
		size_t had = d->npend, n = had + take;
		bool last = final && take == len;

		if (take == 0 && !last)
			return 0;
		memcpy(tmp, d->pend, had);
		memcpy(tmp + had, data, take);
		in = tmp;
		left = n;
		if (conv_run(d, &in, &left, last) < 0)
			return -1;
		d->npend = 0;
		if (n - left >= had) {
			data += n - left - had;
			len -= n - left - had;
		} else {
			/* conv_run leaves at most PEND_MAX, so all of data is in tmp */
			memcpy(d->pend, in, left);
			d->npend = left;
			data += take;
			len -= take;
		}
	}
	in = data;
	left = len;
	if (conv_run(d, &in, &left, final) < 0)
		return -1;
	if (left)	/* in is NULL for text that was empty: nothing buffered */
		memcpy(d->pend, in, left);
	d->npend = left;
	return 0;
}

/*
 * Whether s is UTF-8 (RFC 3629: no overlongs, surrogates or values past
 * U+10FFFF) with at least one non-ASCII character. Unless final, a sequence
 * cut off by the end counts as valid: the rest may follow.
 */
static bool utf8_with_8bit(const unsigned char *s, size_t n, bool final)
{
	bool eight = false;
	size_t i = 0, k;

	while (i < n) {
		eight |= s[i] >= 0x80;
		k = utf8_seq(s + i, n - i);
		if (k == UTF8_CUT)
			return !final;
		if (k == 0)
			return false;
		i += k;
	}
	return eight;
}

/*
 * Chooses the charset for buffered text: UTF-8 if it is valid UTF-8 with
 * 8-bit characters (whatever the label says: mislabelled mail is common and
 * legitimate text in another charset is almost never valid UTF-8), else the
 * declared charset, else windows-1252. Then converts the buffer.
 */
static int text_decide(struct mime_decoder *d, bool final)
{
	const char *from = "WINDOWS-1252";

	if (utf8_with_8bit((const unsigned char *)d->buf, d->len, final)) {
		from = "UTF-8";
	} else if (d->declared != (iconv_t)-1) {
		d->cd = d->declared;
		d->declared = (iconv_t)-1;
		from = d->declared_name;
	}
	if (d->cd == (iconv_t)-1) {
		d->cd = iconv_open("UTF-8", from);
		if (d->cd == (iconv_t)-1)
			return -1;
	}
	set_from(d, from);
	d->mode = TEXT_STREAM;
	/* final comes with the caller's conv_push, which follows at once. */
	if (conv_push(d, d->buf, d->len, false) < 0)
		return -1;
	free(d->buf);
	d->buf = NULL;
	d->len = d->cap = 0;
	return 0;
}

static int buffer_text(struct mime_decoder *d, const char *data, size_t len, bool final)
{
	size_t take = len < d->max - d->len ? len : d->max - d->len;

	if (d->len + take > d->cap) {
		size_t cap = d->cap ? d->cap : OUT_CHUNK;
		char *p;

		while (cap < d->len + take)
			cap = cap > d->max / 2 ? d->max : cap * 2;
		p = realloc(d->buf, cap);
		if (!p)
			return -1;
		d->buf = p;
		d->cap = cap;
	}
	if (take)
		memcpy(d->buf + d->len, data, take);
	d->len += take;
	if (take == len && !final)
		return 0;
	/* Past the limit the choice is made on what was seen, and kept. */
	if (text_decide(d, final && take == len) < 0)
		return -1;
	return conv_push(d, data + take, len - take, final);
}

/* Decoded bytes on their way out; a failure sticks. */
static int feed(struct mime_decoder *d, const char *data, size_t len, bool final)
{
	int r = 0;

	/* A GMime filter with nothing to give may give no buffer (NULL). */
	if (data == NULL)
		data = "";

	switch (d->mode) {
	case TEXT_OFF:
		if (len)
			r = d->out(d->ud, data, len) < 0 ? -1 : 0;
		break;
	case TEXT_BUFFER:
		r = buffer_text(d, data, len, final);
		break;
	case TEXT_STREAM:
		r = conv_push(d, data, len, final);
		break;
	}
	if (r < 0)
		d->failed = true;
	return r;
}

struct mime_decoder *mime_decoder_new(enum mime_encoding enc, const char *type,
				      const char *charset, mime_out_fn *out, void *ud)
{
	struct mime_decoder *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cd = d->declared = (iconv_t)-1;
	d->max = MIME_TEXT_MAX;
	d->out = out;
	d->ud = ud;
	if (enc == MIME_ENC_BASE64)
		d->filter = g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_BASE64, FALSE);
	else if (enc == MIME_ENC_QP)
		d->filter = g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE, FALSE);
	else if (enc == MIME_ENC_UUENCODE)
		d->filter = g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_UUENCODE, FALSE);
	d->uu = d->uu_search = enc == MIME_ENC_UUENCODE;
	if (enc != MIME_ENC_7BIT && enc != MIME_ENC_OTHER && !d->filter)
		goto fail;
	if (type && !strcasecmp(type, "text") && text_setup(d, charset) < 0)
		goto fail;
	return d;
fail:
	mime_decoder_free(d);
	return NULL;
}

void mime_decoder_set_text_max(struct mime_decoder *d, size_t max)
{
	if (d->len == 0 && !d->finished)
		d->max = max;
}

/* One chunk through the filter, and on. */
static int filter_feed(struct mime_decoder *d, const char *data, size_t len)
{
	char *o;
	size_t olen, opre;

	/* With no pre-space the filter copies its input, never writing to it. */
	g_mime_filter_filter(d->filter, (char *)data, len, 0, &o, &olen, &opre);
	return feed(d, o, olen, false);
}

/*
 * GMime's uudecode filter makes its output depend on how its input is cut,
 * and decode.h promises it does not. So, for uuencode:
 *
 *  - the filter looks for its "begin " line at the start of every chunk as
 *    if a line began there: the lines before the begin line are read here
 *    (uu_begin), and the filter gets a begin line of its own once it is found;
 *  - its step function does not keep that a chunk ended with a line end, and
 *    reads the next chunk's first byte as data where a whole input has it as
 *    the next line's length: no chunk ends with '\n' (uu_push); the line
 *    ends held back go with the byte after them (a run of them reads as one).
 */
static size_t uu_begin(struct mime_decoder *d, const char *data, size_t len)
{
	static const char begin[] = "begin ";
	size_t i = 0;

	while (i < len && d->uu_search) {
		char c = data[i++];

		if (c == '\n') {
			d->uu_search = d->uu_match < sizeof(begin) - 1;
			d->uu_match = 0;
			d->uu_skip = false;
		} else if (!d->uu_skip && d->uu_match < sizeof(begin) - 1) {
			if (c == begin[d->uu_match])
				d->uu_match++;
			else
				d->uu_skip = true;
		}
	}
	return i;	/* the bytes up to the end of the begin line, or all */
}

static int uu_push(struct mime_decoder *d, const char *data, size_t len)
{
	size_t n;

	if (d->uu_search) {
		n = uu_begin(d, data, len);
		if (d->uu_search)
			return 0;
		if (filter_feed(d, "begin \n", 7) < 0)
			return -1;
		data += n;
		len -= n;
	}
	if (d->uu_nl) {
		while (len > 0 && *data == '\n') {
			data++;
			len--;
		}
		if (len == 0)
			return 0;
		d->uu_nl = false;
		if (filter_feed(d, (const char[2]){ '\n', *data }, 2) < 0)
			return -1;
		data++;
		len--;
	}
	for (n = len; n > 0 && data[n - 1] == '\n'; n--)
		;
	if (n < len)
		d->uu_nl = true;
	return n ? filter_feed(d, data, n) : 0;
}

int mime_decoder_push(struct mime_decoder *d, const char *data, size_t len)
{
	if (d->failed || d->finished)
		return -1;
	if (len == 0)
		return 0;
	if (!d->filter)
		return feed(d, data, len, false);
	if (d->uu)
		return uu_push(d, data, len);
	return filter_feed(d, data, len);
}

int mime_decoder_finish(struct mime_decoder *d)
{
	char none[1] = "";
	char *o = none;
	size_t olen = 0, opre;

	if (d->failed || d->finished)
		return -1;
	d->finished = true;
	if (d->filter)
		g_mime_filter_complete(d->filter, none, 0, 0, &o, &olen, &opre);
	if (feed(d, o, olen, true) < 0)
		return -1;
	if (d->cr_held && d->out(d->ud, "\r", 1) < 0) {
		d->failed = true;
		return -1;
	}
	return 0;
}

const char *mime_decoder_charset(const struct mime_decoder *d)
{
	return d->from[0] ? d->from : NULL;
}

void mime_decoder_free(struct mime_decoder *d)
{
	if (!d)
		return;
	if (d->filter)
		g_object_unref(d->filter);
	if (d->cd != (iconv_t)-1)
		iconv_close(d->cd);
	if (d->declared != (iconv_t)-1)
		iconv_close(d->declared);
	free(d->buf);
	free(d);
}

void mime_init(void)
{
	g_mime_init();
}
