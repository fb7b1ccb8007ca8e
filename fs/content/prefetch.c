#include "prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "keys.h"
#include "log.h"
#include "request.h"
#include "work_queue.h"

enum pf_state { PF_NONE, PF_QUEUED, PF_INFLIGHT, PF_DONE };

/* What this mount knows of one message: key 0 is an empty slot. */
struct pf_slot {
	uint64_t key;             /* mailbox hash << 32 | uid */
	enum pf_state state;
};

struct pf_job {
	char *mailbox;
	uint32_t uidvalidity;
	uint32_t *uids;
	size_t n;
};

struct prefetch {
	struct source *source;
	struct store *store;
	pthread_mutex_t lock;
	pthread_cond_t changed;   /* a message's state changed */
	struct pf_slot *tab;      /* open addressing; protected by lock */
	size_t cap, used;
	struct work_queue *queue; /* batches fetched ahead; NULL: no workers */
};

static uint64_t slot_key(const char *mailbox, uint32_t uidvalidity, uint32_t uid)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *p = mailbox; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ uidvalidity) * 1099511628211ull;
	return (h << 32) | uid;
}

/* The slot of key, added when absent. NULL only when out of memory. Locked. */
static struct pf_slot *slot_of(struct prefetch *pf, uint64_t key)
{
	size_t i;

	if (pf->used * 2 >= pf->cap) {
		size_t cap = pf->cap ? pf->cap * 2 : 4096;
		struct pf_slot *tab = calloc(cap, sizeof(*tab));

		if (!tab)
			return NULL;
		for (size_t j = 0; j < pf->cap; j++) {
			if (!pf->tab[j].key)
				continue;
			for (i = pf->tab[j].key % cap; tab[i].key; i = (i + 1) % cap)
				;
			tab[i] = pf->tab[j];
		}
		free(pf->tab);
		pf->tab = tab;
		pf->cap = cap;
	}
	for (i = key % pf->cap; pf->tab[i].key && pf->tab[i].key != key; i = (i + 1) % pf->cap)
		;
	if (!pf->tab[i].key) {
		pf->tab[i].key = key;
		pf->tab[i].state = PF_NONE;
		pf->used++;
	}
	return &pf->tab[i];
}

static void set_state(struct prefetch *pf, const struct pf_job *job, uint32_t uid,
		      enum pf_state state)
{
	struct pf_slot *s = slot_of(pf, slot_key(job->mailbox, job->uidvalidity, uid));

	if (s)
		s->state = state;
}

static void job_free(struct pf_job *job)
{
	if (!job)
		return;
	free(job->mailbox);
	free(job->uids);
	free(job);
}

/* ---- fetching a batch ----------------------------------------------------- */

struct batch_ctx {
	struct prefetch *pf;
	const struct pf_job *job;
};

static void on_body(void *ud, uint32_t uid, const char *data, size_t len)
{
	struct batch_ctx *ctx = ud;
	struct prefetch *pf = ctx->pf;
	char *key = cache_key_message(ctx->job->mailbox, ctx->job->uidvalidity, uid);
	struct store_writer *w = key ? store_begin(pf->store, key) : NULL;
	uint64_t size;
	bool ok = false;

	if (w && store_write(w, data, len) == 0)
		ok = store_commit(w, &size) == 0;
	else
		store_abort(w);
	free(key);
	pthread_mutex_lock(&pf->lock);
	if (ok)
		set_state(pf, ctx->job, uid, PF_DONE);
	pthread_cond_broadcast(&pf->changed);
	pthread_mutex_unlock(&pf->lock);
}

/* "1:3,7,9:10" for sorted uids; malloc'd. */
static char *uid_set(const uint32_t *uids, size_t n)
{
	char *set = malloc(n * 24 + 1), *p = set;

	if (!set)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		p += sprintf(p, "%s%u", p == set ? "" : ",", uids[i]);
		if (j > i)
			p += sprintf(p, ":%u", uids[j]);
		i = j;
	}
	return set;
}

static int run_batch(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct batch_ctx *ctx = ud;
	char *set;
	int rc;

	(void)st;
	set = uid_set(ctx->job->uids, ctx->job->n);
	if (!set)
		return IMAP_ENOMEM;
	rc = imap_fetch_bodies(c, set, on_body, ctx);
	free(set);
	return rc;
}

/* Fetches a job's messages; those that did not arrive may be asked again. */
/* Returns source_run's answer: -ESTALE when the UIDs name other messages now. */
static int run_job(struct prefetch *pf, struct pf_job *job)
{
	struct batch_ctx ctx = { .pf = pf, .job = job };
	struct source_cmd cmd = {
		.mailbox = job->mailbox, .uidvalidity = job->uidvalidity, .fn = run_batch, .ud = &ctx,
	};
	int rc = source_run(pf->source, &cmd);

	if (rc && rc != -ENOENT && rc != -ESTALE)
		log_msg(LOG_WARNING, "prefetch of %zu messages failed: %s", job->n, strerror(-rc));
	pthread_mutex_lock(&pf->lock);
	for (size_t i = 0; i < job->n; i++) {
		struct pf_slot *s = slot_of(pf, slot_key(job->mailbox, job->uidvalidity,
							 job->uids[i]));

		if (s && s->state != PF_DONE)
			s->state = PF_NONE;
	}
	pthread_cond_broadcast(&pf->changed);
	pthread_mutex_unlock(&pf->lock);
	return rc;
}

/* Keeps only the job's messages still queued (a reader may have taken some
 * meanwhile), marking them in flight. Locked. */
static void take_queued(struct prefetch *pf, struct pf_job *job)
{
	size_t k = 0;

	for (size_t i = 0; i < job->n; i++) {
		struct pf_slot *s = slot_of(pf, slot_key(job->mailbox, job->uidvalidity,
							 job->uids[i]));

		if (s && s->state == PF_QUEUED) {
			s->state = PF_INFLIGHT;
			job->uids[k++] = job->uids[i];
		}
	}
	job->n = k;
}

/* A worker's batch: what is still queued of it (a reader may have taken some). */
static void work(void *ctx, void *item)
{
	struct prefetch *pf = ctx;
	struct pf_job *job = item;

	pthread_mutex_lock(&pf->lock);
	take_queued(pf, job);
	pthread_mutex_unlock(&pf->lock);
	request_begin(REQUEST_MS);  /* each job is a request of its own */
	if (job->n)
		run_job(pf, job);
	job_free(job);
}

static void drop_job(void *job)
{
	job_free(job);
}

struct prefetch *prefetch_new(struct source *source, struct store *store, unsigned workers)
{
	struct prefetch *pf = calloc(1, sizeof(*pf));

	if (!pf)
		return NULL;
	pf->source = source;
	pf->store = store;
	if (clock_cond_init(&pf->changed) != 0) {
		free(pf);
		return NULL;
	}
	pthread_mutex_init(&pf->lock, NULL);
	/* None (or fewer) still works: readers fetch what they need. */
	if (workers)
		pf->queue = work_queue_new(workers, work, pf, drop_job);
	return pf;
}

void prefetch_free(struct prefetch *pf)
{
	if (!pf)
		return;
	work_queue_free(pf->queue);
	free(pf->tab);
	pthread_mutex_destroy(&pf->lock);
	pthread_cond_destroy(&pf->changed);
	free(pf);
}

/* ---- asking ----------------------------------------------------------------- */

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether the store holds the message (looked at once per message and mount:
 * then its slot says so). */
static bool stored(struct prefetch *pf, const char *mailbox, uint32_t uidvalidity, uint32_t uid)
{
	char *key = cache_key_message(mailbox, uidvalidity, uid);
	bool has = key && store_has(pf->store, key);

	free(key);
	return has;
}

/*
 * A batch of the messages in uids[*from..n) whose state is NONE (or also
 * QUEUED when steal: a reader takes queued work it waits for), marked with
 * state; *from moves past what was looked at. NULL when none. Locked.
 */
static struct pf_job *make_job(struct prefetch *pf, const char *mailbox, uint32_t uidvalidity,
			       const uint32_t *uids, const uint64_t *sizes, size_t n, size_t *from,
			       enum pf_state state, bool steal)
{
	struct pf_job *job = calloc(1, sizeof(*job));
	uint64_t bytes = 0;

	if (!job || !(job->mailbox = strdup(mailbox)) ||
	    !(job->uids = malloc(PREFETCH_BATCH * sizeof(*job->uids)))) {
		job_free(job);
		*from = n;
		return NULL;
	}
	job->uidvalidity = uidvalidity;
	for (; *from < n && job->n < PREFETCH_BATCH; (*from)++) {
		struct pf_slot *s = slot_of(pf, slot_key(mailbox, uidvalidity, uids[*from]));

		if (job->n && bytes + sizes[*from] > PREFETCH_BATCH_BYTES)
			break;
		if (!s || !(s->state == PF_NONE || (steal && s->state == PF_QUEUED)))
			continue;
		if (s->state == PF_NONE && stored(pf, mailbox, uidvalidity, uids[*from])) {
			s->state = PF_DONE; /* from an earlier mount */
			continue;
		}
		s->state = state;
		job->uids[job->n++] = uids[*from];
		bytes += sizes[*from];
	}
	if (job->n == 0) {
		job_free(job);
		return NULL;
	}
	qsort(job->uids, job->n, sizeof(*job->uids), cmp_uid);
	return job;
}

/* Puts a job's messages back to nobody's. Locked. */
static void unqueue(struct prefetch *pf, struct pf_job *job)
{
	for (size_t i = 0; i < job->n; i++)
		set_state(pf, job, job->uids[i], PF_NONE);
	job_free(job);
}

/*
 * Queues batches of what nobody has asked for yet among uids. Only whole
 * batches, unless last (uids reach the end of the mailbox): a window that
 * moves on by one message per read would otherwise send one-message
 * fetches, a round trip each.
 */
static void read_ahead(struct prefetch *pf, const char *mailbox, uint32_t uidvalidity,
		       const uint32_t *uids, const uint64_t *sizes, size_t n, bool last)
{
	size_t from = 0;

	if (!pf->queue)
		return;
	pthread_mutex_lock(&pf->lock);
	while (from < n) {
		struct pf_job *job = make_job(pf, mailbox, uidvalidity, uids, sizes, n, &from,
					      PF_QUEUED, false);

		if (!job)
			continue;
		if (from == n && !last && job->n < PREFETCH_BATCH &&
		    job->n * 2 < PREFETCH_BATCH) {
			unqueue(pf, job);
			break;
		}
		if (!work_queue_put(pf->queue, job))
			unqueue(pf, job);
	}
	pthread_mutex_unlock(&pf->lock);
}


/* Waits for, or fetches, message uids[0]; 1 when the caller should look in
 * the store again, -EIO when it will not come. Locked on entry and exit. */
static int wait_or_fetch(struct prefetch *pf, const char *mailbox, uint32_t uidvalidity,
			 const uint32_t *uids, const uint64_t *sizes, size_t n, bool *tried,
			 const struct timespec *until)
{
	struct pf_slot *s = slot_of(pf, slot_key(mailbox, uidvalidity, uids[0]));
	struct pf_job *job;
	size_t from = 0;
	int rc = 0;

	if (!s)
		return -ENOMEM;
	if (s->state == PF_DONE)
		s->state = PF_NONE; /* it was evicted from the store since */
	if (s->state == PF_INFLIGHT)
		return pthread_cond_timedwait(&pf->changed, &pf->lock, until) == ETIMEDOUT ? -EIO : 1;
	if (*tried)
		return -EIO; /* fetched once and it did not come: gone, or an error */
	*tried = true;
	job = make_job(pf, mailbox, uidvalidity, uids, sizes, n, &from, PF_INFLIGHT, true);
	pthread_mutex_unlock(&pf->lock);
	if (job)
		rc = run_job(pf, job);
	job_free(job);
	pthread_mutex_lock(&pf->lock);
	return rc == -ESTALE ? rc : 1;
}

int prefetch_get(struct prefetch *pf, const char *mailbox, uint32_t uidvalidity,
		 const uint32_t *uids, const uint64_t *sizes, size_t n, bool last, int *fd,
		 uint64_t *size)
{
	char *key = cache_key_message(mailbox, uidvalidity, uids[0]);
	struct timespec until;
	bool tried = false;
	int rc;

	*fd = -1;
	*size = 0;
	if (!key)
		return -ENOMEM;
	request_deadline(&until);
	for (;;) {
		rc = store_open(pf->store, key, fd, size);
		if (rc != -ENOENT)
			break;
		pthread_mutex_lock(&pf->lock);
		rc = wait_or_fetch(pf, mailbox, uidvalidity, uids, sizes, n, &tried, &until);
		pthread_mutex_unlock(&pf->lock);
		if (rc < 0)
			break;
	}
	free(key);
	if (rc == 0)
		read_ahead(pf, mailbox, uidvalidity, uids + 1, sizes + 1, n - 1, last);
	return rc;
}
