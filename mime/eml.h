/*
 * eml — what a file written into a mailbox must be before it is APPENDed:
 * a message, that is a header block of "Field: value" lines at its start
 * (RFC 5322), sent with CRLF line ends as every mail client sends it. Both
 * are done in a stream, a piece of any size at a time, so that a 50 MB
 * message needs no more memory than the caller's buffer.
 *
 *   struct eml_scan s;
 *   eml_scan_init(&s);
 *   while ((n = read(fd, buf, sizeof buf)) > 0)
 *       eml_scan_feed(&s, buf, n);
 *   if (!eml_scan_end(&s)) return -EINVAL;        // not a message
 *   s.size_crlf, s.bare_lf, s.message_id, s.header_crlf
 *
 *   struct eml_crlf c = { 0 };                     // then, if s.bare_lf:
 *   n = eml_crlf(&c, in, len, out);                // out has room for 2 * len
 *
 * The check is lenient where mail is: 8-bit bytes in values, a CR without
 * LF inside a value, folded lines, whitespace before the colon (obsolete
 * syntax), a message of a header only. It refuses what is no message: a
 * first line that is not a field (a PDF's "%PDF-1.4", "From " of an mbox,
 * random bytes), a NUL or control byte in a field name, an empty file.
 */
#ifndef IMAPFS_MIME_EML_H
#define IMAPFS_MIME_EML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest Message-ID kept; a longer one is cut, which the server's
 * substring search (SEARCH HEADER) still finds. */
#define EML_ID_MAX 998

struct eml_scan {
	int state;                /* where in the header block (eml.c) */
	bool bad;                 /* not a message */
	char prev;                /* the last byte fed (a CR before the LF?) */
	uint64_t size;            /* bytes fed */
	uint64_t bare_lf;         /* LFs without a CR before them */
	uint64_t size_crlf;       /* size once they have one */
	uint64_t header_crlf;     /* bytes of the header block, its empty line included,
				   * in the CRLF form; 0 until it ended */
	unsigned fields;          /* header fields seen */
	char name[16];            /* the field name being read (lowercase, cut) */
	size_t name_len;
	bool in_id;               /* reading the Message-ID's value */
	char message_id[EML_ID_MAX + 1];  /* trimmed, unfolded; "" when none */
	size_t id_len;
};

void eml_scan_init(struct eml_scan *s);
void eml_scan_feed(struct eml_scan *s, const char *buf, size_t len);
/* Whether what was fed is a message; finishes message_id and header_crlf
 * (a header with no empty line after it is all the message). */
bool eml_scan_end(struct eml_scan *s);

struct eml_crlf {
	char prev;                /* the last byte of the previous piece */
};
/* in with each LF that has no CR before it made CRLF, into out (room for
 * 2 * len bytes); returns the bytes written. */
size_t eml_crlf(struct eml_crlf *c, const char *in, size_t len, char *out);

#endif
