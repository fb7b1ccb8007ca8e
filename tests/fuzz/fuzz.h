/*
 * fuzz — what the libFuzzer targets in tests/fuzz share: a check that aborts
 * (so libFuzzer keeps the input), strict UTF-8 and safe-name checks that
 * restate the promises of mime/names.h, and a cursor that lets the first
 * bytes of an input choose where the rest is split.
 *
 *   FUZZ_CHECK(off + len <= raw_len, "part %zu out of bounds", i);
 *   struct fuzz_splits sp; fuzz_splits_init(&sp, data, 8);   // 8 bytes of split sizes
 *   size_t n = fuzz_splits_next(&sp, left);                  // 1..left
 *
 * Header-only (static functions): each target is one .c file and this.
 */
#ifndef IMAPFS_FUZZ_H
#define IMAPFS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                                      \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,   \
				__LINE__, #cond);                                  \
			fprintf(stderr, __VA_ARGS__);                              \
			fputc('\n', stderr);                                       \
			abort();                                                   \
		}                                                                  \
	} while (0)

/* Strict UTF-8 (RFC 3629): no overlong forms, surrogates, > U+10FFFF. */
static inline bool fuzz_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k, need;

	while (i < n) {
		unsigned char c = s[i], lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
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
			return false;
		}
		for (k = 1; k <= need; k++) {
			if (i + k >= n || s[i + k] < lo || s[i + k] > hi)
				return false;
			lo = 0x80;
			hi = 0xbf;
		}
		i += need + 1;
	}
	return true;
}

/* The code point at s (valid UTF-8 assumed) and its length. */
static inline size_t fuzz_utf8_cp(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xe0) {
		*cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if (s[0] < 0xf0) {
		*cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		return 3;
	}
	*cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
	      (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	return 4;
}

/*
 * mime/names.h: "valid UTF-8, '/' and backslash as '_', no NUL, control
 * characters or bidirectional overrides, no leading or trailing spaces,
 * not "." or "..", no leading '.', at most max bytes, never empty".
 */
static inline void fuzz_check_safe_name(const char *name, size_t max)
{
	size_t n, i = 0, k;
	uint32_t c;

	FUZZ_CHECK(name != NULL, "no name");
	n = strlen(name);
	FUZZ_CHECK(n > 0 && n <= max, "name of %zu bytes: \"%s\"", n, name);
	FUZZ_CHECK(fuzz_utf8_valid(name, n), "name not UTF-8: \"%s\"", name);
	FUZZ_CHECK(name[0] != ' ' && name[n - 1] != ' ', "name with edge space: \"%s\"", name);
	FUZZ_CHECK(name[0] != '.', "name with a leading dot: \"%s\"", name);
	while (i < n) {
		k = fuzz_utf8_cp((const unsigned char *)name + i, &c);
		FUZZ_CHECK(c >= 0x20 && c != '/' && c != '\\' && !(c >= 0x7f && c <= 0x9f) &&
				   c != 0x200e && c != 0x200f && !(c >= 0x202a && c <= 0x202e) &&
				   !(c >= 0x2066 && c <= 0x2069) && c != 0xfeff,
			   "name with U+%04X: \"%s\"", (unsigned)c, name);
		i += k;
	}
}

/*
 * Split sizes from the first bytes of an input: chunk k is sizes[k % n] + 1
 * bytes (so a 0 byte means one byte at a time), never more than what is left.
 */
struct fuzz_splits {
	unsigned char sizes[16];
	size_t n, k;
};

static inline void fuzz_splits_init(struct fuzz_splits *sp, const uint8_t *bytes, size_t n)
{
	if (n > sizeof(sp->sizes))
		n = sizeof(sp->sizes);
	memcpy(sp->sizes, bytes, n);
	sp->n = n;
	sp->k = 0;
}

static inline size_t fuzz_splits_next(struct fuzz_splits *sp, size_t left)
{
	size_t want = sp->n ? (size_t)sp->sizes[sp->k++ % sp->n] + 1 : left;

	return want < left ? want : left;
}

/* A growing byte buffer for outputs compared between two runs. */
struct fuzz_buf {
	char *p;
	size_t len, cap;
};

static inline void fuzz_buf_put(struct fuzz_buf *b, const void *data, size_t n)
{
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		FUZZ_CHECK(b->p != NULL, "out of memory");
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static inline bool fuzz_buf_eq(const struct fuzz_buf *a, const struct fuzz_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static inline void fuzz_buf_free(struct fuzz_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

#endif
