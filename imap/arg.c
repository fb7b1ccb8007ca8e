// SPDX-License-Identifier: GPL-2.0-or-later
#include "arg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *imap_arg_atom(const struct imap_arg *a)
{
	return a != NULL && a->type == IMAP_ARG_ATOM ? a->str : NULL;
}

bool imap_arg_atom_eq(const struct imap_arg *a, const char *s)
{
	size_t i;

	if (a == NULL || a->type != IMAP_ARG_ATOM || a->len != strlen(s))
		return false;
	for (i = 0; i < a->len; i++) {
		unsigned char x = (unsigned char)a->str[i], y = (unsigned char)s[i];

		/* ASCII only: the locale must not change what matches. */
		if (x >= 'a' && x <= 'z')
			x = (unsigned char)(x - 'a' + 'A');
		if (y >= 'a' && y <= 'z')
			y = (unsigned char)(y - 'a' + 'A');
		if (x != y)
			return false;
	}
	return true;
}

bool imap_arg_astring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (a == NULL)
		return false;
	switch (a->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		*s = a->str;
		*len = a->len;
		return true;
	default:
		return false;
	}
}

bool imap_arg_nstring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (a != NULL && a->type == IMAP_ARG_NIL) {
		*s = NULL;
		*len = 0;
		return true;
	}
	return imap_arg_astring(a, s, len);
}

bool imap_arg_number(const struct imap_arg *a, uint64_t *n)
{
	uint64_t v = 0;
	size_t i;

	if (a == NULL || a->type != IMAP_ARG_ATOM || a->len == 0)
		return false;
	for (i = 0; i < a->len; i++) {
		unsigned d = (unsigned)((unsigned char)a->str[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*n = v;
	return true;
}

bool imap_arg_size(const struct imap_arg *a, uint64_t *n)
{
	uint64_t v;

	if (!imap_arg_number(a, &v) || v > IMAP_SIZE_MAX)
		return false;
	*n = v;
	return true;
}

bool imap_arg_list(const struct imap_arg *a, const struct imap_arg **items, size_t *n)
{
	if (a == NULL || a->type != IMAP_ARG_LIST)
		return false;
	*items = a->items;
	*n = a->len;
	return true;
}

/* Quoted strings may hold 7-bit text without CR, LF or NUL (RFC 3501 9). */
static bool quotable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\r' || ch == '\n' || ch >= 0x80)
			return false;
	}
	return true;
}

/* Appends to out when it is not NULL; returns the length either way, so the
 * same walk measures and then writes. */
static size_t put(char *out, size_t off, const char *s, size_t len)
{
	if (out)
		memcpy(out + off, s, len);
	return len;
}

static size_t put_string(char *out, size_t off, const char *s, size_t len)
{
	size_t n = 0;
	char head[32];

	if (!quotable(s, len)) {
		int h = snprintf(head, sizeof(head), "{%zu}\r\n", len);

		n += put(out, off, head, (size_t)h);
		return n + put(out, off + n, s, len);
	}
	n += put(out, off, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			n += put(out, off + n, "\\", 1);
		n += put(out, off + n, &s[i], 1);
	}
	return n + put(out, off + n, "\"", 1);
}

static size_t put_arg(char *out, size_t off, const struct imap_arg *a)
{
	size_t n = 0;

	switch (a->type) {
	case IMAP_ARG_ATOM:
		return put(out, off, a->str, a->len);
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		return put_string(out, off, a->str, a->len);
	case IMAP_ARG_NIL:
		return put(out, off, "NIL", 3);
	case IMAP_ARG_LIST:
		n += put(out, off, "(", 1);
		for (size_t i = 0; i < a->len; i++) {
			if (i)
				n += put(out, off + n, " ", 1);
			n += put_arg(out, off + n, &a->items[i]);
		}
		return n + put(out, off + n, ")", 1);
	}
	return 0;
}

/* A NUL would cut the text short for whoever keeps it as a C string. */
static bool has_nul(const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < a->len; i++)
			if (has_nul(&a->items[i]))
				return true;
		return false;
	}
	return a->type != IMAP_ARG_NIL && memchr(a->str, '\0', a->len) != NULL;
}

char *imap_arg_to_text(const struct imap_arg *a)
{
	size_t len;
	char *out;

	if (!a || has_nul(a)) {
		errno = EINVAL;
		return NULL;
	}
	len = put_arg(NULL, 0, a);
	out = malloc(len + 1);
	if (!out)
		return NULL;
	put_arg(out, 0, a);
	out[len] = '\0';
	return out;
}
