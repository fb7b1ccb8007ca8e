/*
 * message — what imapfs knows about one message beyond its listing: its MIME
 * part tree, its envelope in UTF-8, and how each part's content is had.
 *
 *   struct msg_detail *d;
 *   msg_detail_fetch(pool, "INBOX", uidvalidity, 42, &d);   // ENVELOPE BODYSTRUCTURE (+ BINARY.SIZE)
 *   switch (msg_content_mode(d, i)) { case CONTENT_BINARY: ... }
 *   msg_content_spool(pool, store, "INBOX", uidvalidity, 42, d, i, &fd, &size);
 *   msg_detail_unref(d);
 *
 * A detail is immutable once fetched and reference counted, so the model can
 * hand it to a request and drop its lock while the request talks to the
 * server. Functions return 0 or a negative errno.
 */
#ifndef IMAPFS_MESSAGE_H
#define IMAPFS_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "part.h"
#include "pool.h"
#include "store.h"

/* How a leaf part's content file is read. */
enum content_mode {
	CONTENT_BINARY,  /* BINARY.PEEK[section]<o.l>: the server decodes; size from BINARY.SIZE */
	CONTENT_RAW,     /* BODY.PEEK[section]<o.l>: identity encoding; size from BODYSTRUCTURE */
	CONTENT_SPOOL,   /* fetched whole, decoded (and text converted to UTF-8) into the store */
};

struct msg_detail;

/* -ENOENT when the message is gone, -ESTALE when UIDVALIDITY changed. */
int msg_detail_fetch(struct imap_pool *pool, const char *mailbox, uint32_t uidvalidity,
		     uint32_t uid, struct msg_detail **out);
struct msg_detail *msg_detail_ref(struct msg_detail *d);
void msg_detail_unref(struct msg_detail *d);

/* The part tree, or NULL when the server's BODYSTRUCTURE could not be read:
 * then the message shows message.eml and header only. */
const struct part_tree *msg_detail_tree(const struct msg_detail *d);
/* Envelope facts in UTF-8 ("" when absent). */
const char *msg_detail_subject(const struct msg_detail *d);
const char *msg_detail_from(const struct msg_detail *d);
const char *msg_detail_message_id(const struct msg_detail *d);

enum content_mode msg_content_mode(const struct msg_detail *d, size_t part);
/* Size of a CONTENT_BINARY or CONTENT_RAW part's content file. */
uint64_t msg_content_size(const struct msg_detail *d, size_t part);

/* Makes sure the store holds part's content file (CONTENT_SPOOL): fetched in
 * chunks, decoded, converted; *fd reads it, *size is its length. */
int msg_content_spool(struct imap_pool *pool, struct store *store, const char *mailbox,
		      uint32_t uidvalidity, uint32_t uid, const struct msg_detail *d, size_t part,
		      int *fd, uint64_t *size);

#endif
