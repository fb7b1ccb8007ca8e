// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * header_text — a header block, field by field, through names.c's RFC 2047
 * decoder in its line mode. A field (its line and continuation lines) is
 * the unit whose raw 8-bit text is judged UTF-8 or not: one bad Received
 * line must not turn a UTF-8 Subject into windows-1252.
 */
#include "header_text.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "names.h"
#include "words.h"

/* The end of the line at s (its LF, or end), and the start of the next. */
static const char *line_end(const char *s, const char *end, const char **next)
{
	const char *lf = memchr(s, '\n', (size_t)(end - s));

	*next = lf ? lf + 1 : end;
	return lf ? lf : end;
}

/* A field's lines with CRLF as LF: CR before an LF is dropped (a CR ending
 * the block has none after it: a lone CR, shown as U+FFFD). */
static void put_field_lines(GString *f, const char *s, const char *end)
{
	const char *next, *e;

	while (s < end) {
		e = line_end(s, end, &next);
		g_string_append_len(f, s, e < end && e > s && e[-1] == '\r' ? e - s - 1 : e - s);
		if (e < end)
			g_string_append_c(f, '\n');
		s = next;
	}
}

/* Where the field starting at s ends: after its last continuation line. */
static const char *field_end(const char *s, const char *end)
{
	const char *next;

	line_end(s, end, &next);
	while (next < end && (*next == ' ' || *next == '\t'))
		line_end(next, end, &next);
	return next;
}

static bool empty_line(const char *s, const char *end)
{
	return s < end && (*s == '\n' || (*s == '\r' && s + 1 < end && s[1] == '\n'));
}

/* Printable ASCII, tab and line ends, no encoded word: only CRLF changes (the
 * common case, done without the decoder). */
static bool plain_block(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x7f || (c < 0x20 && c != '\t' && c != '\n' &&
				  !(c == '\r' && i + 1 < n && s[i + 1] == '\n')))
			return false;
		if (c == '=' && i + 1 < n && s[i + 1] == '?')
			return false;
	}
	return true;
}

int mime_header_readable(const char *raw, size_t len, const char *fallback_charset,
			 char **out, size_t *out_len)
{
	GString *b = g_string_sized_new(len + 1), *f;
	const char *s = raw ? raw : "", *end = s + (raw ? len : 0), *e;

	if (plain_block(s, (size_t)(end - s))) {
		for (; s < end; s++)
			if (!(*s == '\r' && s + 1 < end && s[1] == '\n'))
				g_string_append_c(b, *s);
		*out_len = b->len;
		*out = g_string_free(b, FALSE);
		return 0;
	}
	f = g_string_new(NULL);
	while (s < end) {
		if (empty_line(s, end)) {
			g_string_append_c(b, '\n');
			s += *s == '\n' ? 1 : 2;
			continue;
		}
		e = field_end(s, end);
		g_string_truncate(f, 0);
		put_field_lines(f, s, e);
		mime_words_lines(b, f->str, f->len, fallback_charset);
		s = e;
	}
	g_string_free(f, TRUE);
	*out_len = b->len;
	*out = g_string_free(b, FALSE);
	return 0;
}

static bool memchr_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* The value of the first field named name (unfolded, NUL-terminated), or NULL. */
static char *field_value(const char *s, const char *end, const char *name)
{
	size_t n = strlen(name);
	const char *e, *v;
	char *value, *p;

	while (s < end && !empty_line(s, end)) {
		e = field_end(s, end);
		if ((size_t)(e - s) > n && s[n] == ':' && g_ascii_strncasecmp(s, name, n) == 0) {
			v = s + n + 1;
			value = g_strndup(v, (gsize)(e - v));
			for (p = value; *p; p++)
				if (*p == '\r' || *p == '\n')
					*p = ' ';
			return value;
		}
		s = e;
	}
	return NULL;
}

char *mime_header_charset(const char *raw, size_t len)
{
	char *value, *cs = NULL;
	GMimeContentType *ct;
	const char *p;

	/* Only raw 8-bit text needs it: spare the common case the parse. */
	if (!raw || !memchr_8bit(raw, len))
		return NULL;
	value = field_value(raw, raw + len, "content-type");
	if (!value)
		return NULL;
	ct = g_mime_content_type_parse(NULL, value);
	g_free(value);
	if (!ct)
		return NULL;
	p = g_mime_content_type_is_type(ct, "text", "*") ?
		    g_mime_content_type_get_parameter(ct, "charset") : NULL;
	if (p && *p)
		cs = strdup(p);
	g_object_unref(ct);
	return cs;
}
