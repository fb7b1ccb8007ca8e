/*
 * prefetch — whole small messages fetched ahead of the reader, in batches,
 * on the pool's connections, into the store. `grep -r` and `find -exec`
 * walk a mailbox in UID order; while they read one message, the next
 * batches are already on their way, and every file of a message (message.eml,
 * header, each part) is then served from that one copy.
 *
 *   struct prefetch *pf = prefetch_new(source, store, 3);
 *   uint32_t next[] = { 42, 43, 45, 46, ... };          // 42 and the small ones after it
 *   prefetch_get(pf, "INBOX", uidvalidity, next, n, &fd, &size);   // 42 now, the rest ahead
 *
 * One thread fetches what a reader waits for; `workers` threads fetch the
 * batches ahead. A message is fetched once per mount however many readers
 * ask; one that failed is tried again by the next reader.
 */
#ifndef IMAPFS_PREFETCH_H
#define IMAPFS_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"
#include "store.h"

/* Messages per fetch command, and the most bytes a batch asks for. */
#define PREFETCH_BATCH 32
#define PREFETCH_BATCH_BYTES (2u * 1024 * 1024)

struct prefetch;

struct prefetch *prefetch_new(struct source *source, struct store *store, unsigned workers);
/* Stops the workers (waiting for the batch each one is fetching). */
void prefetch_free(struct prefetch *pf);


/*
 * A read-only descriptor of message uids[0] whole, and its size; uids[1..n)
 * are the messages expected next (in reading order), fetched in the
 * background. sizes[i] is each one's RFC822.SIZE (to fill batches by bytes);
 * last: uids reach the end of the mailbox. -EIO when it cannot be had;
 * -ESTALE when the mailbox's UIDVALIDITY is not uidvalidity (those UIDs name
 * other messages now).
 */
int prefetch_get(struct prefetch *pf, const char *mailbox, uint32_t uidvalidity,
		 const uint32_t *uids, const uint64_t *sizes, size_t n, bool last, int *fd,
		 uint64_t *size);

#endif
