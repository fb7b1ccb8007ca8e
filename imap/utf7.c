// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Modified UTF-7 (RFC 3501 5.1.3). Decoding is strict, so that every name
 * has exactly one wire form and a name shown to the user maps back to the
 * mailbox it came from. Rejected, besides bad base64 and invalid UTF-16:
 *  - leftover bits in a shift that are non-zero or make up a whole
 *    base64 character;
 *  - a shift that encodes printable ASCII or U+0000;
 *  - a shift right after another one ("&AOQ-&APY-"): an encoder must have
 *    merged them into one ("&AOQA9g-"). "&-" is not a shift and may follow.
 * Encoding rejects invalid UTF-8: overlong forms, surrogates, > U+10FFFF.
 */
#include "utf7.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static bool is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int b64_value(char ch)
{
	const char *p;

	if (ch == '\0')
		return -1;
	p = strchr(b64, ch);
	return p ? (int)(p - b64) : -1;
}

static char *put_utf8(char *d, uint32_t c)
{
	if (c < 0x80) {
		*d++ = (char)c;
	} else if (c < 0x800) {
		*d++ = (char)(0xc0 | c >> 6);
		*d++ = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*d++ = (char)(0xe0 | c >> 12);
		*d++ = (char)(0x80 | (c >> 6 & 0x3f));
		*d++ = (char)(0x80 | (c & 0x3f));
	} else {
		*d++ = (char)(0xf0 | c >> 18);
		*d++ = (char)(0x80 | (c >> 12 & 0x3f));
		*d++ = (char)(0x80 | (c >> 6 & 0x3f));
		*d++ = (char)(0x80 | (c & 0x3f));
	}
	return d;
}

/*
 * Decodes the base64 of one shift, from *sp up to its '-', into UTF-8 at
 * *dp. Returns 0 and advances both past it, or -1 if it is malformed.
 */
static int decode_shift(const char **sp, char **dp)
{
	const char *s = *sp;
	char *d = *dp;
	uint32_t bits = 0, hi = 0, u;
	unsigned nbits = 0;
	int v;

	for (; *s != '-'; s++) {
		v = b64_value(*s);
		if (v < 0)
			return -1; /* bad character, or no '-' before the end */
		bits = (bits << 6 | (uint32_t)v) & 0x3fffff;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		u = bits >> nbits & 0xffff;

		if (hi != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			d = put_utf8(d, 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00));
			hi = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			hi = u;
		} else if ((u >= 0xdc00 && u <= 0xdfff) || u == 0 || is_direct(u)) {
			return -1;
		} else {
			d = put_utf8(d, u);
		}
	}
	if (hi != 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
		return -1;
	*sp = s + 1;
	*dp = d;
	return 0;
}

char *imap_utf7_decode(const char *mutf7)
{
	size_t len = strlen(mutf7);
	const char *s = mutf7;
	bool after_shift = false;
	char *out, *d;

	/* 8 base64 characters give at most 9 bytes of UTF-8; "&" and "-" pay. */
	if (len > (SIZE_MAX - 1) / 2) {
		errno = ENOMEM;
		return NULL;
	}
	out = malloc(2 * len + 1);
	if (out == NULL)
		return NULL;
	d = out;
	while (*s != '\0') {
		unsigned char ch = (unsigned char)*s;

		if (ch == '&' && s[1] == '-') {
			*d++ = '&';
			s += 2;
			after_shift = false;
		} else if (ch == '&') {
			s++;
			if (after_shift || decode_shift(&s, &d) < 0)
				goto fail;
			after_shift = true;
		} else if (is_direct(ch)) {
			*d++ = (char)ch;
			s++;
			after_shift = false;
		} else {
			goto fail;
		}
	}
	*d = '\0';
	return out;
fail:
	free(out);
	errno = EINVAL;
	return NULL;
}

/* One code point from s; *c and its length, or 0 if not valid UTF-8. */
static size_t get_utf8(const unsigned char *s, uint32_t *c)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n, i;

	if (s[0] < 0x80) {
		*c = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	*c = s[0] & (0x3f >> (n - 1));
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the terminating NUL */
		*c = *c << 6 | (s[i] & 0x3f);
	}
	if (*c < min[n] || *c > 0x10ffff || (*c >= 0xd800 && *c <= 0xdfff))
		return 0;
	return n;
}

struct b64_out {
	char *d;
	uint32_t bits;
	unsigned nbits;
};

static void put_unit(struct b64_out *o, uint32_t u)
{
	o->bits = (o->bits << 16 | u) & 0x3fffff;
	o->nbits += 16;
	while (o->nbits >= 6) {
		o->nbits -= 6;
		*o->d++ = b64[o->bits >> o->nbits & 0x3f];
	}
}

/* Encodes the run of non-direct code points at *sp as one shift. */
static int encode_shift(const unsigned char **sp, char **dp)
{
	const unsigned char *s = *sp;
	struct b64_out o = { .d = *dp };
	uint32_t c;
	size_t n;

	*o.d++ = '&';
	while (*s != '\0') {
		n = get_utf8(s, &c);
		if (n == 0)
			return -1;
		if (is_direct(c))
			break;
		if (c >= 0x10000) {
			put_unit(&o, 0xd800 + ((c - 0x10000) >> 10));
			put_unit(&o, 0xdc00 + ((c - 0x10000) & 0x3ff));
		} else {
			put_unit(&o, c);
		}
		s += n;
	}
	if (o.nbits > 0)
		*o.d++ = b64[o.bits << (6 - o.nbits) & 0x3f];
	*o.d++ = '-';
	*sp = s;
	*dp = o.d;
	return 0;
}

char *imap_utf7_encode(const char *utf8)
{
	size_t len = strlen(utf8);
	const unsigned char *s = (const unsigned char *)utf8;
	char *out, *d;

	/* Worst case: a lone control character takes "&" + 3 + "-". */
	if (len > (SIZE_MAX - 1) / 5) {
		errno = ENOMEM;
		return NULL;
	}
	out = malloc(5 * len + 1);
	if (out == NULL)
		return NULL;
	d = out;
	while (*s != '\0') {
		if (*s == '&') {
			*d++ = '&';
			*d++ = '-';
			s++;
		} else if (is_direct(*s)) {
			*d++ = (char)*s++;
		} else if (encode_shift(&s, &d) < 0) {
			free(out);
			errno = EINVAL;
			return NULL;
		}
	}
	*d = '\0';
	return out;
}
