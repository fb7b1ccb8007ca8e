/*
 * fill — one large part fetched in order in the background, as the server
 * stores it (BODY.PEEK ranges of growing size), decoded here, into a store
 * entry, while its reader reads what has arrived.
 *
 *   struct fill *f = fill_start(&src);            // on the first read at 0
 *   rc = fill_read(f, off, len, buf, &n);         // waits for [off, off+len)
 *   if (rc == -EAGAIN) ...                        // not coming: fetch a range
 *   fill_free(f);                                 // stops it, waits for it
 *
 * Why: a sequential reader of a 50 MB attachment would otherwise wait for one
 * ranged fetch after another, and BINARY makes Dovecot decode the whole part
 * before its first byte (about 5 ms per MB here) while it streams the stored
 * form at the speed of its TLS. The fill runs ahead of the reader by a window
 * that grows while it keeps up, and stops (keeping what came) when the
 * reader stops reading for FILL_IDLE_MS: a `file` or `head` does not pull a
 * whole attachment. A complete fill is committed to the store under key, so
 * that the part is read locally from then on.
 */
#ifndef IMAPFS_FILL_H
#define IMAPFS_FILL_H

#include <stddef.h>
#include <stdint.h>

#include "part.h"
#include "source.h"
#include "store.h"

/* The first fetch (of the stored form); the next two are four times as
 * large each, the fourth all the rest. */
#define FILL_FIRST (256u * 1024)
/* Fetched bytes go to the decoder in pieces of this size... */
#define FILL_PIECE (1024u * 1024)
/* ...as long as the fill is no further ahead of its reader than what the
 * reader has read so far, 2 MiB at least and this at most. */
#define FILL_AHEAD (16u * 1024 * 1024)
/* How long the fill waits for its reader to come closer before stopping. */
#define FILL_IDLE_MS 2000

struct fill_source {
	struct source *source;
	struct store *store;
	const char *key;              /* the store entry it becomes */
	const char *mailbox;          /* wire name */
	uint32_t uidvalidity, uid;
	const char *section;
	enum mime_encoding encoding;
	const char *type, *charset;   /* as for mime_decoder_new; may be NULL */
	uint64_t size;                /* the decoded size stat gave */
};

struct fill;

/* Starts the fill (a thread); strings are copied. NULL when it cannot. */
struct fill *fill_start(const struct fill_source *src);
/*
 * Copies decoded bytes from off (at most len) into buf, waiting (until the
 * request's deadline, request.h) for them: *n > 0, or 0 at the end of the
 * content. -EAGAIN when they will not come this way (the fill stopped before
 * off, failed, timed out, or off is far beyond it): the caller fetches them
 * otherwise.
 */
int fill_read(struct fill *f, uint64_t off, size_t len, char *buf, size_t *n);
/* Stops the fill if it still runs, waits for its thread, frees it. */
void fill_free(struct fill *f);

#endif
