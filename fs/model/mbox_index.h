/*
 * mbox_index — which mailbox level is called NAME under level PARENT, in
 * constant time, so that neither a lookup nor a LIST of 100,000 mailboxes
 * scans the mailbox table (a scan per name made a listing quadratic).
 *
 *   struct mbox_index *x = mbox_index_new();
 *   mbox_index_put(x, 0, b->leaf, id);            // b->leaf is kept, not copied
 *   id = mbox_index_get(x, 0, "Archive/Projects", 7);   // "Archive": its id, 0 if none
 *   mbox_index_del(x, 0, b->leaf);                // before b->leaf is freed
 *   mbox_index_free(x);
 *
 * Ids are nonzero; names are byte strings, compared exactly. A name put is
 * borrowed until it is deleted. Keys are hashed with SipHash-2-4 under a
 * random key, so a server cannot pick names that all land in one place.
 * The table doubles when half full. Not thread-safe: the model's lock
 * guards it.
 */
#ifndef IMAPFS_MBOX_INDEX_H
#define IMAPFS_MBOX_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct mbox_index;

/* NULL when out of memory. */
struct mbox_index *mbox_index_new(void);
void mbox_index_free(struct mbox_index *x);

/* The id of the first len bytes of name under parent, 0 when there is none. */
uint32_t mbox_index_get(const struct mbox_index *x, uint32_t parent, const char *name,
			size_t len);
/* Adds name (which must not be there yet) under parent: 0, or -ENOMEM with
 * the index unchanged. */
int mbox_index_put(struct mbox_index *x, uint32_t parent, const char *name, uint32_t id);
/* Removes name under parent, if there. */
void mbox_index_del(struct mbox_index *x, uint32_t parent, const char *name);
/* How many names it holds. */
size_t mbox_index_count(const struct mbox_index *x);

#endif
