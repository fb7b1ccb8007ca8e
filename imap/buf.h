/*
 * buf — a growable byte string, always NUL-terminated, that remembers
 * running out of memory: a run of appends is checked once, at the end.
 * For commands and the protocol trace (conn), a listing file (fs/cache),
 * a part decoded in memory (fs/model).
 *
 *   struct buf b = { 0 };
 *   buf_addf(&b, "%s UID FETCH %s", tag, set);
 *   buf_add(&b, "\r\n", 2);
 *   if (!b.oom) send(b.data, b.len);
 *   buf_free(&b);
 *
 * Not opaque: it lives on its user's stack and its bytes are read in place.
 * It lives in imap/, the lowest layer that needs one, and fs/ uses it too;
 * mime/ must not depend on imap/, so it builds its text in GLib's GString,
 * which GMime brings.
 */
#ifndef IMAPFS_BUF_H
#define IMAPFS_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;   /* NULL until the first append; then data[len] is NUL */
	size_t len, cap;
	bool oom;     /* an append failed (it and later ones added nothing) */
};

/* Appends len bytes (none: the buffer is still allocated and terminated). */
void buf_add(struct buf *b, const void *data, size_t len);
void buf_str(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* The string, now the caller's to free, or NULL when out of memory (then
 * freed); b is emptied either way. */
char *buf_take(struct buf *b);
/* Frees the bytes; b is emptied. */
void buf_free(struct buf *b);

#endif
