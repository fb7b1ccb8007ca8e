// SPDX-License-Identifier: GPL-2.0-or-later
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 128

/* Room for len more bytes and the NUL; false (and oom) when there is none. */
static bool reserve(struct buf *b, size_t len)
{
	size_t cap = b->cap ? b->cap : FIRST_CAP;
	char *grown;

	if (len > SIZE_MAX - 1 - b->len) {
		b->oom = true;
		return false;
	}
	if (b->len + len + 1 <= b->cap)
		return true;
	while (cap < b->len + len + 1)
		cap = cap > SIZE_MAX / 2 ? b->len + len + 1 : cap * 2;
	grown = realloc(b->data, cap);
	if (!grown) {
		b->oom = true;
		return false;
	}
	b->data = grown;
	b->cap = cap;
	return true;
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->oom || !reserve(b, len))
		return;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->oom)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *buf_take(struct buf *b)
{
	char *s;

	buf_add(b, "", 0);
	s = b->oom ? NULL : b->data;
	if (!s)
		free(b->data);
	memset(b, 0, sizeof(*b));
	return s;
}

void buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
