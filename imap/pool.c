#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "write.h"

struct pool_slot {
	struct imap_conn *conn;         /* NULL: empty */
	bool busy;                      /* lent out, or being opened while conn is NULL */
	struct imap_mailbox_status st;  /* of conn's selected mailbox; written by the borrower */
};

/* The pool's own copies of the configuration strings. */
struct pool_strings {
	char *host, *port, *cafile, *tunnel, *user, *password, *auth;
};

struct imap_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;          /* a slot became idle or empty */
	struct imap_conn_config cfg;   /* points into strs */
	struct pool_strings strs;
	int wait_ms;
	unsigned size;
	bool stopping;                 /* protected by lock: pool_abort was called */
	/* A pipe, set up before the pool is shared: pool_abort writes to it,
	 * and every wait of every connection (cfg.cancel_fd), even one still
	 * being opened, ends. */
	int cancel[2];
	uint64_t closed_bytes;         /* protected by lock */
	struct pool_slot slots[];      /* protected by lock */
};

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -1;
}

static int copy_config(struct imap_pool *p, const struct imap_conn_config *cfg)
{
	struct pool_strings *s = &p->strs;

	p->cfg = *cfg;
	if (dup_opt(cfg->host, &s->host) || dup_opt(cfg->port, &s->port) ||
	    dup_opt(cfg->tls_params.cafile, &s->cafile) || dup_opt(cfg->tunnel, &s->tunnel) ||
	    dup_opt(cfg->user, &s->user) || dup_opt(cfg->password, &s->password) ||
	    dup_opt(cfg->auth, &s->auth))
		return -1;
	p->cfg.host = s->host;
	p->cfg.port = s->port;
	p->cfg.tls_params.cafile = s->cafile;
	p->cfg.tunnel = s->tunnel;
	p->cfg.user = s->user;
	p->cfg.password = s->password;
	p->cfg.auth = s->auth;
	return 0;
}

static void free_strings(struct pool_strings *s)
{
	if (s->password)
		explicit_bzero(s->password, strlen(s->password));
	free(s->host);
	free(s->port);
	free(s->cafile);
	free(s->tunnel);
	free(s->user);
	free(s->password);
	free(s->auth);
}

static int init_sync(struct imap_pool *p)
{
	if (clock_cond_init(&p->freed))
		return -1;
	if (pthread_mutex_init(&p->lock, NULL)) {
		pthread_cond_destroy(&p->freed);
		return -1;
	}
	return 0;
}

/* The cancel pipe, above the standard descriptors (0 means none in cfg). */
static int open_cancel(struct imap_pool *p)
{
	if (pipe2(p->cancel, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (p->cancel[i] > 2)
			continue;
		int fd = fcntl(p->cancel[i], F_DUPFD_CLOEXEC, 3);

		close(p->cancel[i]);
		p->cancel[i] = fd;
		if (fd < 0)
			return -1;
	}
	return 0;
}

static void close_cancel(struct imap_pool *p)
{
	for (int i = 0; i < 2; i++)
		if (p->cancel[i] >= 0)
			close(p->cancel[i]);
}

struct imap_pool *pool_new(const struct imap_conn_config *cfg, unsigned size, int wait_ms)
{
	struct imap_pool *p;

	if (!cfg || size == 0) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof *p + size * sizeof p->slots[0]);
	if (!p)
		return NULL;
	if (copy_config(p, cfg) < 0)
		goto fail;
	p->cancel[0] = p->cancel[1] = -1;
	if (open_cancel(p) < 0 || init_sync(p) < 0)
		goto fail;
	p->cfg.cancel_fd = p->cancel[0];
	p->size = size;
	p->wait_ms = wait_ms;
	return p;
fail:
	close_cancel(p);
	free_strings(&p->strs);
	free(p);
	return NULL;
}

void pool_free(struct imap_pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->size; i++)
		if (p->slots[i].conn)
			imap_conn_close(p->slots[i].conn);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	close_cancel(p);
	free_strings(&p->strs);
	free(p);
}

static struct pool_slot *slot_of(struct imap_pool *p, const struct imap_conn *c)
{
	for (unsigned i = 0; i < p->size; i++)
		if (p->slots[i].conn == c)
			return &p->slots[i];
	return NULL;
}

/* Idle with mailbox selected (read-write first for a writer: no SELECT
 * again), else idle, else empty, else NULL. Called locked; an idle
 * connection's selection changes only while it is lent, so it may be read. */
static struct pool_slot *pick(struct imap_pool *p, const char *mailbox, bool write)
{
	struct pool_slot *same = NULL, *idle = NULL, *empty = NULL;

	for (unsigned i = 0; i < p->size; i++) {
		struct pool_slot *s = &p->slots[i];
		const char *sel;

		if (s->busy)
			continue;
		if (!s->conn) {
			if (!empty)
				empty = s;
			continue;
		}
		sel = imap_conn_selected(s->conn);
		if (mailbox && sel && strcmp(sel, mailbox) == 0) {
			if (!write || imap_selected_rw(s->conn))
				return s;
			if (!same)
				same = s;
		} else if (!idle) {
			idle = s;
		}
	}
	return same ? same : idle ? idle : empty;
}

/* Milliseconds left until *until (at least 1, so a limit is never "none"),
 * or limit when that is sooner or until is NULL. */
static int ms_left(const struct timespec *until, int limit)
{
	long left;

	if (!until)
		return limit;
	left = -clock_ms_since(until);
	if (left < 1)
		left = 1;
	return limit >= 0 && limit < left ? limit : (int)left;
}

/*
 * Fills an empty slot that the caller has marked busy. Called locked; the
 * lock is dropped while connecting, which can take up to the time limit, so
 * the other slots stay usable meanwhile.
 */
static struct imap_conn *open_slot(struct imap_pool *p, struct pool_slot *s,
				   const struct timespec *until, char *err, size_t errlen, int *why)
{
	struct imap_conn_config cfg = p->cfg;
	struct imap_conn *c;

	cfg.timeout_ms = ms_left(until, cfg.timeout_ms);
	pthread_mutex_unlock(&p->lock);
	c = imap_conn_open(&cfg, err, errlen, why);
	if (c)
		imap_conn_set_timeout(c, p->cfg.timeout_ms);
	/* QRESYNC must be enabled before any mailbox is selected; refusal is
	 * fine, listings then fall back to fetching all flags. */
	if (c && imap_conn_has_cap(c, "QRESYNC") && imap_enable(c, "QRESYNC") != IMAP_OK &&
	    imap_conn_broken(c)) {
		imap_conn_close(c);
		c = NULL;
		*why = IMAP_ENET;
		snprintf(err, errlen, "connection lost while enabling QRESYNC");
	}
	pthread_mutex_lock(&p->lock);
	if (c && p->stopping) {
		/* Nobody may wait for it; closed without the lock (LOGOUT). */
		s->busy = false;
		pthread_cond_broadcast(&p->freed);
		pthread_mutex_unlock(&p->lock);
		imap_conn_close(c);
		*why = IMAP_ENET;
		snprintf(err, errlen, "unmounting");
		pthread_mutex_lock(&p->lock);
		return NULL;
	}
	if (!c) {
		s->busy = false;
		pthread_cond_broadcast(&p->freed);
		return NULL;
	}
	s->conn = c;
	memset(&s->st, 0, sizeof s->st);
	return c;
}

static struct imap_conn *borrow(struct imap_pool *p, const char *mailbox, bool write,
				const struct timespec *until, char *err, size_t errlen, int *why,
				bool *all_busy)
{
	struct imap_conn *c = NULL;
	struct timespec deadline;
	bool late = false;

	*why = IMAP_OK;
	if (until)
		deadline = *until;
	else
		clock_deadline(&deadline, p->wait_ms > 0 ? p->wait_ms : 0);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct pool_slot *s = p->stopping ? NULL : pick(p, mailbox, write);

		if (p->stopping) {
			*why = IMAP_ENET;
			snprintf(err, errlen, "unmounting");
			break;
		}
		if (s) {
			s->busy = true;
			c = s->conn ? s->conn : open_slot(p, s, until, err, errlen, why);
			break;
		}
		if (late) {
			if (all_busy)
				*all_busy = true;
			*why = IMAP_ETIMEOUT;
			snprintf(err, errlen, "no free connection in time");
			break;
		}
		late = pthread_cond_timedwait(&p->freed, &p->lock, &deadline) == ETIMEDOUT;
	}
	pthread_mutex_unlock(&p->lock);
	return c;
}

struct imap_conn *pool_borrow(struct imap_pool *p, const char *mailbox, int *err)
{
	struct imap_conn *c;
	char why[256] = "";
	int rc;

	c = borrow(p, mailbox, false, NULL, why, sizeof why, &rc, NULL);
	if (!c && rc != IMAP_ETIMEOUT)
		log_msg(LOG_WARNING, "cannot open an IMAP connection: %s", why);
	if (err)
		*err = rc;
	return c;
}

void pool_return(struct imap_pool *p, struct imap_conn *c)
{
	struct imap_conn *dead = NULL;
	struct pool_slot *s;

	if (!c)
		return;
	pthread_mutex_lock(&p->lock);
	s = slot_of(p, c);
	if (s) {
		if (imap_conn_broken(c)) {
			p->closed_bytes += imap_conn_bytes_in(c);
			s->conn = NULL;
			dead = c;
		}
		s->busy = false;
		pthread_cond_broadcast(&p->freed);
	}
	pthread_mutex_unlock(&p->lock);
	/* Closing reaps a tunnel's child: not while others wait for the lock. */
	if (dead)
		imap_conn_close(dead);
}

/* The slot of a connection this thread has borrowed: nobody else touches it. */
static struct pool_slot *own_slot(struct imap_pool *p, const struct imap_conn *c)
{
	struct pool_slot *s;

	pthread_mutex_lock(&p->lock);
	s = slot_of(p, c);
	pthread_mutex_unlock(&p->lock);
	return s;
}

/* EXAMINE mailbox, or SELECT it for a writer. A reader is content with a
 * SELECTed mailbox (every fetch is .PEEK, so reading changes nothing); a
 * writer is not with an EXAMINEd one, and selects it again. */
static int select_mailbox(struct imap_conn *c, struct pool_slot *s, const char *mailbox,
			  unsigned flags)
{
	const char *sel = imap_conn_selected(c);
	bool write = flags & POOL_WRITE, fresh = flags & (POOL_FRESH | POOL_IDLE);
	int rc;

	if (!mailbox)
		return IMAP_OK;
	if (!fresh && sel && strcmp(sel, mailbox) == 0 && (!write || imap_selected_rw(c)))
		return IMAP_OK;
	rc = write ? imap_select(c, mailbox, &s->st) : imap_examine(c, mailbox, &s->st);
	if (rc != IMAP_OK)
		memset(&s->st, 0, sizeof s->st);
	return rc;
}

/* Closes every idle connection (see pool.h for why). */
static void drop_idle(struct imap_pool *p)
{
	struct imap_conn *idle[p->size];
	unsigned n = 0;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->size; i++) {
		struct pool_slot *s = &p->slots[i];

		if (s->conn && !s->busy) {
			p->closed_bytes += imap_conn_bytes_in(s->conn);
			idle[n++] = s->conn;
			s->conn = NULL;
		}
	}
	pthread_cond_broadcast(&p->freed);
	pthread_mutex_unlock(&p->lock);
	/* Closing waits a little for LOGOUT: not while holding the lock. */
	for (unsigned i = 0; i < n; i++)
		imap_conn_close(idle[i]);
}

static bool conn_lost(const struct imap_conn *c, int rc)
{
	return (rc == IMAP_ENET || rc == IMAP_ETIMEOUT || rc == IMAP_EPROTO) &&
	       imap_conn_broken(c);
}

static bool is_stopping(struct imap_pool *p)
{
	bool stopping;

	pthread_mutex_lock(&p->lock);
	stopping = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return stopping;
}

/* A connection for job: borrowed (waiting if need be), or with POOL_IDLE
 * one open and idle now. NULL with *rc set when there is none. */
static struct imap_conn *job_conn(struct imap_pool *p, struct pool_job *job, int *rc)
{
	struct pool_slot *s;
	char why[256] = "";

	if (!(job->flags & POOL_IDLE)) {
		struct imap_conn *c = borrow(p, job->mailbox, job->flags & POOL_WRITE, job->until,
					     why, sizeof why, rc, &job->all_busy);

		if (!c && *rc != IMAP_ETIMEOUT && !is_stopping(p))
			log_msg(LOG_WARNING, "cannot open an IMAP connection: %s", why);
		return c;
	}
	pthread_mutex_lock(&p->lock);
	s = p->stopping ? NULL : pick(p, job->mailbox, job->flags & POOL_WRITE);
	if (s && s->conn)
		s->busy = true;
	else
		s = NULL;
	pthread_mutex_unlock(&p->lock);
	*rc = s ? IMAP_OK : IMAP_EBUSY;
	return s ? s->conn : NULL;
}

int pool_run(struct imap_pool *p, struct pool_job *job)
{
	struct pool_slot *s;
	struct imap_conn *c;
	int rc;

	job->connected = job->lost = job->all_busy = false;
	job->code[0] = '\0';
	c = job_conn(p, job, &rc);
	if (!c)
		return rc;
	job->connected = true;
	s = own_slot(p, c);
	imap_conn_set_deadline(c, job->until);
	rc = select_mailbox(c, s, job->mailbox, job->flags);
	/* fn does not run: its caller still needs the refusal's code. */
	if ((rc == IMAP_ENO || rc == IMAP_EBAD) && imap_conn_last_code(c))
		snprintf(job->code, sizeof job->code, "%s", imap_conn_last_code(c));
	/* The slot is this thread's until it is returned: st needs no lock. */
	if (rc == IMAP_OK)
		rc = job->fn(c, job->mailbox ? &s->st : NULL, job->ud);
	imap_conn_set_deadline(c, NULL);
	job->lost = conn_lost(c, rc); /* before c is returned (and perhaps closed) */
	pool_return(p, c);
	if (job->lost)
		drop_idle(p);
	return rc;
}

void pool_abort(struct imap_pool *p)
{
	ssize_t n;

	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->freed);
	pthread_mutex_unlock(&p->lock);
	/* Never read: it stays readable, so every wait from now on ends too. */
	do
		n = write(p->cancel[1], "x", 1);
	while (n < 0 && errno == EINTR);
}

/* A second connection, opened beside the first at start: its failure is
 * the first's to report. */
static void *prime_second(void *arg)
{
	struct imap_pool *p = arg;
	char err[256];
	int rc;

	pool_return(p, borrow(p, NULL, false, NULL, err, sizeof err, &rc, NULL));
	return NULL;
}

int pool_prime(struct imap_pool *p, char *err, size_t errlen)
{
	struct imap_conn *c;
	pthread_t second;
	bool parallel;
	char none[1];
	int rc;

	if (!err || errlen == 0) {
		err = none;
		errlen = sizeof none;
	}
	err[0] = '\0';
	/* Two at once cost the time of one, and the first listing can then be
	 * split between them (see pool_run_idle). */
	parallel = p->size > 1 && pthread_create(&second, NULL, prime_second, p) == 0;
	c = borrow(p, NULL, false, NULL, err, errlen, &rc, NULL);
	if (parallel)
		pthread_join(second, NULL);
	if (!c)
		return rc;
	pool_return(p, c);
	return IMAP_OK;
}

unsigned pool_size(const struct imap_pool *p)
{
	return p->size;
}

uint64_t pool_bytes_in(struct imap_pool *p)
{
	uint64_t n;

	pthread_mutex_lock(&p->lock);
	n = p->closed_bytes;
	for (unsigned i = 0; i < p->size; i++)
		if (p->slots[i].conn)
			n += imap_conn_bytes_in(p->slots[i].conn);
	pthread_mutex_unlock(&p->lock);
	return n;
}
