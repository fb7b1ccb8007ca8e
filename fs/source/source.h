/*
 * source — the one door from fs/ to the server: every command the mount
 * sends leaves through source_run, and nothing else in fs/ uses the pool.
 *
 *   struct source *src = source_new(pool);
 *   struct source_cmd cmd = { .mailbox = wire, .uidvalidity = uv, .fn = run_fetch, .ud = &req };
 *   rc = source_run(src, &cmd);    // 0, -ESTALE, -ENOENT, -EIO, -ENOMEM, -EBUSY
 *   source_stop(src);              // unmount: every wait and command ends now
 *
 * What it owns, so that no caller repeats it:
 * - The deadline: the request's (request.h) bounds the wait for a
 *   connection, opening one, every command and every retry.
 * - The UIDVALIDITY check: a command about UIDs names the UIDVALIDITY they
 *   belong to; when the mailbox's is another, fn does not run and the
 *   answer is -ESTALE (the caller lists the mailbox again).
 * - Retries. A connection that cannot be opened (the server restarting,
 *   the network gone) is tried again after growing pauses until the
 *   deadline: an outage of a few seconds costs no error. A command whose
 *   connection broke under it is sent again on another connection only if
 *   it is idempotent: a write (SOURCE_WRITE) whose answer was lost is
 *   returned as -EIO with unknown set, and its caller must look on the
 *   server before trying again. Nothing is retried after a timeout: the
 *   request's time is gone; and for UNRESPONSIVE_MS after one, commands
 *   fail at once instead of each waiting out its deadline.
 * - Errors as errno (-ENOENT for the server's NO).
 *
 * fn talks IMAP on the connection it is given (imap/client.h); the writes
 * and the offline mode to come are new kinds of commands and a second
 * implementation of this interface, answering from the caches.
 */
#ifndef IMAPFS_SOURCE_H
#define IMAPFS_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "pool.h"

enum source_flags {
	SOURCE_FRESH = 1 << 0,  /* EXAMINE again even if selected (pool.h POOL_FRESH) */
	SOURCE_IDLE = 1 << 1,   /* only on a connection idle now, or -EBUSY (POOL_IDLE) */
	SOURCE_WRITE = 1 << 2,  /* not idempotent: never sent twice */
	/* A long transfer (a fill's stream): its running out of time says
	 * nothing of the server's health, so it starts no unresponsive spell. */
	SOURCE_STREAM = 1 << 3,
};

struct source_cmd {
	const char *mailbox;    /* wire name; NULL: none needed */
	uint32_t uidvalidity;   /* the UIDs' mailbox generation; 0: fn checks st itself */
	unsigned flags;         /* enum source_flags */
	pool_fn *fn;
	void *ud;
	bool unknown;           /* out: a write's answer was lost; it may have been done */
};

struct source;

struct source *source_new(struct imap_pool *pool);
void source_free(struct source *s);

int source_run(struct source *s, struct source_cmd *cmd);

/* How many connections commands can have at once (pool_size). */
unsigned source_connections(const struct source *s);

/* Ends every wait and command now, and refuses new ones (-EIO). Any thread. */
void source_stop(struct source *s);

#endif
