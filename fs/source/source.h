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
	/* Changes the mailbox: SELECT it read-write (pool.h POOL_WRITE). With
	 * SOURCE_WRITE, the mark of a change: refused under -o ro, and a NO is
	 * an errno from its response code (source_refusal), its text logged. */
	SOURCE_SELECT = 1 << 4,
};

struct source_cmd {
	const char *mailbox;    /* wire name; NULL: none needed */
	uint32_t uidvalidity;   /* the UIDs' mailbox generation; 0: fn checks st itself */
	unsigned flags;         /* enum source_flags */
	pool_fn *fn;
	void *ud;
	bool unknown;           /* out: a write's answer was lost; it may have been done */
	char code[32];          /* out: response code of a NO/BAD ("OVERQUOTA"), or "" */
};

struct source;

struct source *source_new(struct imap_pool *pool);
void source_free(struct source *s);

int source_run(struct source *s, struct source_cmd *cmd);

/*
 * A change that is never made twice: cmd (SOURCE_WRITE) runs; when its
 * answer was lost, check (an idempotent command on the same ud) tells
 * whether it was made: its fn returns 1 (made), 0 (not made) or an
 * imap_err. cmd is sent again only after a check said "not made", until
 * the request's deadline; a change whose fate stays unknown is -EIO.
 * Returns 0 or a negative errno as source_run.
 */
int source_write(struct source *s, struct source_cmd *cmd, struct source_cmd *check);

/* The errno for a change the server refused, from its response code (RFC
 * 5530): ALREADYEXISTS -EEXIST, NONEXISTENT -ENOENT, OVERQUOTA -EDQUOT,
 * TOOBIG -EFBIG, NOPERM -EACCES, CANNOT -EINVAL, LIMIT -ENOSPC, else -EIO. */
int source_refusal(const char *code);

/* -o ro: every change (SOURCE_WRITE, SOURCE_SELECT) is refused with
 * -EROFS before anything is sent. Set before the mount serves. */
void source_set_read_only(struct source *s);

/* How many connections commands can have at once (pool_size). */
unsigned source_connections(const struct source *s);

/* Ends every wait and command now, and refuses new ones (-EIO). Any thread. */
void source_stop(struct source *s);

#endif
