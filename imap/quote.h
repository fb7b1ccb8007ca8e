/*
 * quote — writing arguments into IMAP commands.
 *
 *   char *q = imap_quote("Thư mục");   // NULL: needs a literal (8-bit, CR, LF, NUL)
 *   char *q = imap_quote("a \"b\"");   // "\"a \\\"b\\\"\""
 *
 * imap_quote returns a malloc'd quoted string ("..." with \ and " escaped), or
 * NULL with errno EINVAL when the bytes cannot be quoted and must be sent as a
 * literal, or ENOMEM. Mailbox names are quoted after imap_utf7_encode, so they
 * are always 7-bit.
 */
#ifndef IMAPFS_QUOTE_H
#define IMAPFS_QUOTE_H

#include <stddef.h>

char *imap_quote(const char *s);
/* The same for len bytes that may not be NUL-terminated. */
char *imap_quote_n(const char *s, size_t len);

#endif
