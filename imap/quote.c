// SPDX-License-Identifier: GPL-2.0-or-later
#include "quote.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *imap_quote_n(const char *s, size_t len)
{
	char *q, *d;
	size_t i;

	/* RFC 3501 QUOTED-CHAR: 7-bit, no CR or LF; NUL is not a CHAR. */
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\0' || ch == '\r' || ch == '\n' || ch >= 0x80) {
			errno = EINVAL;
			return NULL;
		}
	}
	if (len > (SIZE_MAX - 3) / 2) {
		errno = ENOMEM;
		return NULL;
	}
	q = malloc(2 * len + 3);
	if (q == NULL)
		return NULL;
	d = q;
	*d++ = '"';
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			*d++ = '\\';
		*d++ = s[i];
	}
	*d++ = '"';
	*d = '\0';
	return q;
}

char *imap_quote(const char *s)
{
	return imap_quote_n(s, strlen(s));
}
