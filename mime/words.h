/*
 * words — the RFC 2047 decoder of names.c, for the other files of mime/
 * (header_text.c); not for use outside mime/.
 *
 *   GString *out = g_string_new(NULL);
 *   mime_words_lines(out, "Subject: =?utf-8?Q?H=C3=B3a?=\n =?utf-8?Q?_=C4=91?=\n", n, NULL);
 *   // "Subject: Hóa đ\n"
 */
#ifndef IMAPFS_MIME_WORDS_H
#define IMAPFS_MIME_WORDS_H

#include <stddef.h>

#include <glib.h>

/*
 * Header lines (s, n) appended to out as UTF-8: encoded words decoded, the
 * whitespace between adjacent ones dropped (a fold too); raw 8-bit text read
 * as UTF-8 if all of (s, n) is valid UTF-8, else as charset (NULL or unknown:
 * windows-1252). LF is kept; other control characters but tab, and invalid
 * bytes, become U+FFFD. NUL bytes are allowed anywhere in s.
 */
void mime_words_lines(GString *out, const char *s, size_t n, const char *charset);

#endif
