/*
 * names — what a MIME part's content file is called, and header text in UTF-8.
 *
 *   char *name = mime_filename(disposition_params, n1, type_params, n2, "application", "pdf");
 *       // "Báo cáo.pdf" from filename*=utf-8''B%C3%A1o%20c%C3%A1o.pdf, else name=, else "body.pdf"
 *   char *subject = mime_header_text("=?utf-8?B?VGjGsCBt4bulYw==?=");   // "Thư mục"
 *
 * Parameters come as IMAP sends them in BODYSTRUCTURE: a flat list of
 * attribute/value pairs, where RFC 2231 continuations ("filename*0*",
 * "filename*1") and charset/language prefixes ("utf-8'vi'...") are still
 * encoded, and values may be RFC 2047 words (a common violation that mail
 * clients honour). The result is always a safe name: valid UTF-8 (bad bytes
 * replaced by U+FFFD), '/' and backslash as '_', no NUL, control characters or
 * bidirectional overrides, no leading or trailing spaces, not "." or ".."
 * (a name of dots only is no name; a leading '.' becomes '_'), at most
 * MIME_NAME_MAX bytes with the extension kept, never empty; without a usable
 * name it is "body.<ext>" from the media type (body.txt, body.html, body.pdf,
 * body.png, ... body.eml for message types, body.bin when unknown).
 * All functions return malloc'd strings, NULL only when out of memory.
 */
#ifndef IMAPFS_MIME_NAMES_H
#define IMAPFS_MIME_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIME_NAME_MAX 200

struct mime_param {
	const char *attr;
	const char *value;
};

char *mime_filename(const struct mime_param *disposition, size_t ndisposition,
		    const struct mime_param *type, size_t ntype, const char *mtype,
		    const char *msubtype);
/* The extension (without the dot) for a media type: "txt", "pdf", "bin"... */
const char *mime_extension(const char *mtype, const char *msubtype);
/* RFC 2047 decoding of unstructured header text (Subject, a display name) to
 * UTF-8; raw 8-bit text is taken as UTF-8 if valid, else windows-1252. */
char *mime_header_text(const char *raw);
/* A string made safe to be one file name (the rules above, without body.<ext>);
 * fallback is used when nothing usable is left ("body.bin" if it is NULL). */
char *mime_safe_name(const char *utf8, const char *fallback);

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
 * The length of the sequence at s (n bytes left), or 0 if it is invalid;
 * *cp gets its code point. */
size_t mime_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* ASCII-only case folding and comparison: no locale can change a match of
 * media types, charset labels or parameter names. */
char mime_ascii_lower(char c);
bool mime_ascii_eq(const char *a, const char *b);

#endif
