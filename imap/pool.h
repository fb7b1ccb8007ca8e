/*
 * pool — a fixed number of IMAP connections shared by FUSE's worker threads.
 *
 *   struct imap_pool *p = pool_new(&cfg, 4, 30000);
 *   rc = pool_run(p, "INBOX", fetch_one, &req);   // borrow, EXAMINE if needed, run, return
 *
 * Connections open lazily. pool_borrow prefers an idle connection that has
 * the wanted mailbox selected, then an idle one, then opens a new one while
 * fewer than size exist, else waits (at most wait_ms, then IMAP_ETIMEOUT).
 * pool_run reopens a connection that broke (IMAP_ENET/ETIMEOUT/EPROTO) and
 * runs fn once more; a second failure is returned. A broken connection also
 * closes the idle ones: what broke one (a server restart, a new network)
 * has most likely broken them too, and the retry must not land on one.
 */
#ifndef IMAPFS_POOL_H
#define IMAPFS_POOL_H

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
 * when mailbox is NULL). Returns fn's result, or the error that kept fn from
 * running. */
typedef int pool_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud);
int pool_run(struct imap_pool *p, const char *mailbox, pool_fn *fn, void *ud);
/* The same, but EXAMINEs even a connection that has mailbox selected: st is
 * then today's (a selected mailbox's counts are only updated by what the
 * server chooses to tell). */
int pool_run_fresh(struct imap_pool *p, const char *mailbox, pool_fn *fn, void *ud);

/* The same, fresh, but only on a connection that is open and idle right
 * now: never opens one, never waits, never retries (IMAP_EBUSY when there
 * is none). For work that another thread would otherwise do itself. */
int pool_run_idle(struct imap_pool *p, const char *mailbox, pool_fn *fn, void *ud);
/* Opens one connection now, so main can report a login error before mounting
 * (and a second one beside it, when size allows). */
int pool_prime(struct imap_pool *p, char *err, size_t errlen);

/* How many connections the pool may open. */
unsigned pool_size(const struct imap_pool *p);
/* Sum of imap_conn_bytes_in over all connections ever opened. */
uint64_t pool_bytes_in(struct imap_pool *p);

#endif
