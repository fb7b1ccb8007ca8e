/*
 * message — what imapfs knows about one message beyond its listing: its MIME
 * part tree, its envelope in UTF-8, and how each part's content is had.
 *
 *   struct msg_detail *d;
 *   msg_details_fetch(src, "INBOX", uidvalidity, uids, small, n, ds);   // ENVELOPE BODYSTRUCTURE (+ BINARY.SIZE)
 *   switch (msg_content_mode(d, i)) { case CONTENT_BINARY: ... }
 *   msg_content_spool(src, store, "INBOX", uidvalidity, 42, d, i, &fd, &size);
 *   msg_content_map(src, store, "INBOX", uidvalidity, 42, d, i, &map);   // CONTENT_B64
 *   msg_detail_unref(d);
 *
 * A detail is immutable once fetched and reference counted, so the model can
 * hand it to a request and drop its lock while the request talks to the
 * server; what is learnt later (local sizes, base64 layouts) is added to it
 * atomically. Functions return 0 or a negative errno.
 */
#ifndef IMAPFS_MESSAGE_H
#define IMAPFS_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "b64map.h"
#include "part.h"
#include "source.h"
#include "store.h"

/* How a leaf part's content file is read. */
enum content_mode {
	CONTENT_BINARY,  /* BINARY.PEEK[section]<o.l>: the server decodes; size from BINARY.SIZE */
	CONTENT_RAW,     /* BODY.PEEK[section]<o.l>: identity encoding; size from BODYSTRUCTURE */
	CONTENT_SPOOL,   /* fetched whole, decoded (and text converted to UTF-8) into the store */
	CONTENT_B64,     /* no BINARY, base64: BODY.PEEK[section]<o.l> of whole lines around
			  * the range, decoded here; size and layout from msg_content_map */
};

struct msg_detail;

/*
 * Fetches the details of uids[0..n) (sorted) in one command: out[i] for
 * uids[i], NULL for a message that is gone. small[i]: that message is served
 * from a whole copy (prefetch.h), so its parts are all CONTENT_SPOOL and no
 * BINARY.SIZE is asked. -ESTALE when UIDVALIDITY changed, -EIO...
 */
int msg_details_fetch(struct source *src, const char *mailbox, uint32_t uidvalidity,
		      const uint32_t *uids, const bool *small, size_t n, struct msg_detail **out);
/* A small message's detail rebuilt from the metadata cache (BODYSTRUCTURE
 * as IMAP text); NULL when it does not parse. */
struct msg_detail *msg_detail_restore(const char *bodystructure, const char *subject,
				      const char *from, const char *message_id);
/* What the metadata cache keeps of it: NULL for a message that is not small
 * (its BINARY sizes are not kept, so it is asked again after a remount). */
const char *msg_detail_bodystructure(const struct msg_detail *d);
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

/* Makes sure the store holds part's content file (CONTENT_SPOOL): fetched
 * in chunks, decoded and converted. *fd reads it, *size is its length. */
int msg_content_spool(struct source *src, struct store *store, const char *mailbox,
		      uint32_t uidvalidity, uint32_t uid, const struct msg_detail *d, size_t part,
		      int *fd, uint64_t *size);

/*
 * A CONTENT_B64 part's layout (b64map.h), probed once (its first 4 KiB and
 * last 512 bytes) and kept in d: 0 and *map. -EILSEQ when the part is to be
 * read whole (msg_content_spool) instead: its lines are not regular, or the
 * store holds its content already (read there, with the size it had). Other
 * errors as msg_content_spool's. Not kept: a probe that failed.
 */
int msg_content_map(struct source *src, struct store *store, const char *mailbox,
		    uint32_t uidvalidity, uint32_t uid, struct msg_detail *d, size_t part,
		    struct b64map *map);
/* From now on part is read whole (CONTENT_SPOOL): a window of it did not
 * fit its layout. */
void msg_content_map_drop(struct msg_detail *d, size_t part);

/*
 * A small message's part cut from raw, its whole copy, into *out (malloc'd):
 * a leaf decoded and converted, an attached message's message.eml as it is.
 * Kept in memory, not in the store: small parts are cheap to cut again, and
 * a file per part is what costs most on a cold grep. The size is remembered
 * (msg_part_local_size) so stat needs no second cut. -EAGAIN when the bytes
 * do not fit the structure: ask the server then.
 */
int msg_part_local(struct msg_detail *d, size_t part, const char *raw, size_t len, char **out,
		   size_t *out_len);
/* What msg_part_local found earlier, or UINT64_MAX. */
uint64_t msg_part_local_size(const struct msg_detail *d, size_t part);

#endif
