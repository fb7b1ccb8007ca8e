/*
 * pool — a fixed number of IMAP connections shared by FUSE's worker threads.
 *
 *   struct imap_pool *p = pool_new(&cfg, 4, 30000);
 *   struct pool_job job = { .mailbox = "INBOX", .until = &deadline, .fn = fetch_one, .ud = &req };
 *   rc = pool_run(p, &job);          // borrow, EXAMINE if needed, run, return; job.lost...
 *
 * Connections open lazily. pool_borrow prefers an idle connection that has
 * the wanted mailbox selected, then an idle one, then opens a new one while
 * fewer than size exist, else waits (at most wait_ms, then IMAP_ETIMEOUT).
 * A broken connection (IMAP_ENET/ETIMEOUT/EPROTO) is closed, and so are the
 * idle ones: what broke one (a server restart, a new network) has most
 * likely broken them too, and a retry must not land on one.
 */
#ifndef IMAPFS_POOL_H
#define IMAPFS_POOL_H

#include <stdbool.h>
#include <time.h>

#include "client.h"
#include "conn.h"

struct imap_pool;

/* cfg is copied (strings too). */
struct imap_pool *pool_new(const struct imap_conn_config *cfg, unsigned size, int wait_ms);
void pool_free(struct imap_pool *p);

/* Hands a connection to one thread; NULL on failure with *err an imap_err. */
struct imap_conn *pool_borrow(struct imap_pool *p, const char *mailbox, int *err);
/* Gives it back; a broken connection is closed and its slot freed. */
void pool_return(struct imap_pool *p, struct imap_conn *c);

/* fn runs with a connection on which mailbox (wire name; NULL: none needed)
 * is examined; st is that mailbox's status as the EXAMINE found it (NULL
 * when mailbox is NULL). */
typedef int pool_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud);

enum pool_flags {
	/* EXAMINE even a connection that has mailbox selected: st is then
	 * today's (a selected mailbox's counts are only updated by what the
	 * server chooses to tell). */
	POOL_FRESH = 1 << 0,
	/* Only a connection that is open and idle right now: never opens one,
	 * never waits (IMAP_EBUSY when there is none). For work that another
	 * thread would otherwise do itself. */
	POOL_IDLE = 1 << 1,
	/* SELECT mailbox read-write (imap_select, write.h) instead of EXAMINE:
	 * a connection that has it EXAMINEd selects it again. Jobs without it
	 * use a SELECTed connection as it is (fetches are .PEEK). A read-only
	 * answer is IMAP_ENO, code READ-ONLY, and fn does not run. */
	POOL_WRITE = 1 << 2,
};

struct pool_job {
	const char *mailbox;            /* wire name; NULL: none needed */
	unsigned flags;                 /* enum pool_flags */
	/* Everything ends by then (CLOCK_MONOTONIC): the wait for a connection,
	 * opening one, and the commands on it. NULL: the pool's wait_ms and the
	 * connection's own time limits. */
	const struct timespec *until;
	pool_fn *fn;
	void *ud;
	bool connected;  /* out: a connection was had, so a command may have been sent */
	bool lost;       /* out: the connection broke under the job (it is closed) */
	bool all_busy;   /* out: IMAP_ETIMEOUT because no connection came free in time */
	/* out: the response code ("READ-ONLY", "NONEXISTENT") when the EXAMINE
	 * or SELECT of mailbox was refused (fn did not run), else "" */
	char code[32];
};

/* One attempt at job: returns fn's result, or the error that kept fn from
 * running. Never retried here: whether a lost command may be sent again is
 * the caller's to decide (fs/source). */
int pool_run(struct imap_pool *p, struct pool_job *job);

/* At unmount: every wait for a connection and every command running on one
 * ends now (IMAP_ENET), and no connection is opened after. Any thread. */
void pool_abort(struct imap_pool *p);

/* Opens one connection now, so main can report a login error before mounting
 * (and a second one beside it, when size allows). */
int pool_prime(struct imap_pool *p, char *err, size_t errlen);

/* How many connections the pool may open. */
unsigned pool_size(const struct imap_pool *p);
/* Sum of imap_conn_bytes_in over all connections ever opened. */
uint64_t pool_bytes_in(struct imap_pool *p);

#endif
