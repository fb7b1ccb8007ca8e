/*
 * header_text — a header block as its `header` file shows it: readable with
 * grep and a pager, one field per line as the server holds it.
 *
 *   char *text; size_t len;
 *   char *cs = mime_header_charset(raw, raw_len);      // "koi8-r", or NULL
 *   if (mime_header_readable(raw, raw_len, cs, &text, &len) < 0) goto oom;
 *   free(cs);
 *
 * The result is valid UTF-8: RFC 2047 encoded words decoded (whitespace
 * between adjacent words dropped, as RFC 2047 says, so a word continued on
 * the next line joins it there); raw 8-bit bytes read per field as UTF-8 if
 * valid, else as fallback_charset, else as windows-1252; CRLF (and bare LF)
 * line ends as LF; every other control character but tab, a lone CR, NUL,
 * and any byte that does not convert, shown as U+FFFD. Folding is kept:
 * continuation lines stay continuation lines, and the empty line ending the
 * block stays. The same input always gives the same bytes (a file's size).
 */
#ifndef IMAPFS_MIME_HEADER_TEXT_H
#define IMAPFS_MIME_HEADER_TEXT_H

#include <stddef.h>

/* raw need not end in NUL and may hold NUL. *out is malloc'd and ends in a
 * NUL not counted in *out_len. 0, or -1 when out of memory (*out NULL). */
int mime_header_readable(const char *raw, size_t len, const char *fallback_charset,
			 char **out, size_t *out_len);
/* The charset parameter of the block's Content-Type when it is a text type
 * (malloc'd), else NULL: how a sender wrote the rest of the message. NULL
 * too when the block has no 8-bit byte, which needs none. */
char *mime_header_charset(const char *raw, size_t len);

#endif
