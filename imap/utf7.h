/*
 * utf7 — mailbox names: IMAP's modified UTF-7 (RFC 3501 5.1.3) and UTF-8.
 *
 *   char *shown = imap_utf7_decode("Th&AbA- m&HuU-c");   // "Thư mục"
 *   char *wire  = imap_utf7_encode("收件箱");           // "&ZTZO9nux-"
 *
 * Both return a malloc'd string, or NULL with errno EINVAL (malformed input:
 * bad base64, unterminated shift, a shifted printable ASCII character, invalid
 * UTF-8 or UTF-16) or ENOMEM.
 */
#ifndef IMAPFS_UTF7_H
#define IMAPFS_UTF7_H

char *imap_utf7_decode(const char *mutf7);
char *imap_utf7_encode(const char *utf8);

#endif
