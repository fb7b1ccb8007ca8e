/*
 * append_send — one file's bytes APPENDed to a mailbox, never twice
 * (append.c calls it when the file is closed).
 *
 *   struct imap_landed to;
 *   rc = append_send(m, mbox_id, fd, size, &to);   // to.uid: APPENDUID, 0 unknown
 *
 * The bytes (read with pread, fd's offset untouched) must be a message
 * (mime/eml.h): else -EINVAL and nothing is sent. LF-only line ends are
 * made CRLF in a second staging file (staging_fd), streamed, so the
 * literal's size is exact and memory stays bounded. \Drafts mailboxes get
 * \Draft, \Sent ones \Seen (SPECIAL-USE), as mail clients do.
 *
 * Never twice: the mailbox's UIDNEXT is asked (STATUS) just before the
 * APPEND; when the answer is lost, the mailbox is searched for UIDs from
 * there with the message's Message-ID and RFC822.SIZE (without a
 * Message-ID: the size and the header, BODY.PEEK[HEADER]); found is made,
 * not found is sent again (source_write).
 *
 * Errors: -EINVAL not a message, -EDQUOT [OVERQUOTA], -EFBIG [TOOBIG] or
 * [LIMIT] (Dovecot's "larger than the maximum size"), the others of
 * source_refusal, -ENOENT the mailbox is gone, else -EIO.
 */
#ifndef IMAPFS_APPEND_SEND_H
#define IMAPFS_APPEND_SEND_H

#include <stdint.h>

#include "write.h"

struct model;

int append_send(struct model *m, uint32_t mbox, int fd, uint64_t size, struct imap_landed *to);

/* A new anonymous file in the staging directory (append.c): a descriptor
 * open for reading and writing, or -errno. */
int staging_fd(struct model *m);

#endif
