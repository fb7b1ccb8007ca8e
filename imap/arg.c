// SPDX-License-Identifier: GPL-2.0-or-later
#include "arg.h"

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

bool imap_arg_list(const struct imap_arg *a, const struct imap_arg **items, size_t *n)
{
	if (a == NULL || a->type != IMAP_ARG_LIST)
		return false;
	*items = a->items;
	*n = a->len;
	return true;
}
