/*
 * The model's message lists: fetched whole the first time, taken from the
 * metadata cache after a remount, and afterwards brought up to date with
 * only what changed: nothing when HIGHESTMODSEQ, UIDNEXT and EXISTS say so,
 * CHANGEDSINCE + VANISHED with QRESYNC, else all flags (UID FETCH 1:* FLAGS)
 * plus the facts of new messages. Never refetches what cannot have changed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "inode.h"
#include "log.h"
#include "model_int.h"
#include "request.h"
#include "source.h"
#include "summary.h"
#include "work_queue.h"

/* How often a changed listing is written to the metadata cache. */
#define META_SAVE_MS 30000
/* A first listing of at least twice this many messages is split between two
 * connections: below it, one lists about as fast as two. */
#define SPLIT_MIN 2048

struct uid_range {
	uint32_t first, last;
};

struct load_ctx {
	const char *wire;
	struct source *source;    /* for splitting a first listing */
	/* What the table held when the sync started (uidvalidity 0: nothing). */
	uint32_t base_uidvalidity, base_uidnext;
	uint64_t base_modseq;
	size_t base_count;
	/* What the server says now. */
	struct imap_mailbox_status st;
	enum { SYNC_FULL, SYNC_NONE, SYNC_CHANGES, SYNC_FLAGS } mode;
	struct msg *msgs;         /* FULL: every message; else new ones and changed flags */
	size_t n, cap;
	struct uid_range *gone;   /* CHANGES: VANISHED ranges */
	size_t ngone, capgone;
	int err;
	bool want_rights;         /* ask MYRIGHTS too (rights.c) */
	struct rights_answer rights;
};

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *grown;
	size_t want;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : 256;
	grown = realloc(*arr, want * size);
	if (!grown)
		return -ENOMEM;
	*arr = grown;
	*cap = want;
	return 0;
}

/* Removes \Recent: it belongs to one session (whichever saw the message
 * first), cannot be stored, and would differ between connections. */
static void strip_recent(char *flags)
{
	char *out = flags;

	for (char *tok = flags; *tok;) {
		size_t len = strcspn(tok, " ");

		if (!(len == 7 && strncasecmp(tok, "\\Recent", 7) == 0)) {
			if (out != flags)
				*out++ = ' ';
			memmove(out, tok, len);
			out += len;
		}
		tok += len;
		tok += strspn(tok, " ");
	}
	*out = '\0';
}

/* Every FETCH: a listing entry (with size) or a flags change (without). */
static void on_meta(void *ud, const struct imap_msg_meta *meta)
{
	struct load_ctx *ctx = ud;
	struct msg *msg;

	if (ctx->err || meta->uid == 0 || !(meta->have & IMAP_META_FLAGS))
		return;
	if (grow((void **)&ctx->msgs, &ctx->cap, ctx->n, sizeof(*ctx->msgs)) < 0) {
		ctx->err = -ENOMEM;
		return;
	}
	msg = &ctx->msgs[ctx->n];
	memset(msg, 0, sizeof(*msg));
	msg->uid = meta->uid;
	msg->date = meta->internaldate;
	/* UINT64_MAX marks a flags-only entry: its facts are the table's. */
	msg->size = meta->have & IMAP_META_SIZE ? meta->size : UINT64_MAX;
	msg->flags = strdup(meta->flags ? meta->flags : "");
	if (!msg->flags) {
		ctx->err = -ENOMEM;
		return;
	}
	strip_recent(msg->flags);
	ctx->n++;
}

static void on_gone(void *ud, uint32_t first, uint32_t last)
{
	struct load_ctx *ctx = ud;

	if (grow((void **)&ctx->gone, &ctx->capgone, ctx->ngone, sizeof(*ctx->gone)) < 0) {
		ctx->err = -ENOMEM;
		return;
	}
	ctx->gone[ctx->ngone++] = (struct uid_range){ first, last };
}

#define META_ALL (IMAP_META_FLAGS | IMAP_META_INTERNALDATE | IMAP_META_SIZE)

/* The upper half of a split first listing, fetched on a second connection. */
struct upper_half {
	const struct load_ctx *whole;
	struct load_ctx part;     /* collects its own entries */
	char set[32];
	long ms;                  /* the listing request's time left */
	int rc;
};

static int run_upper(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct upper_half *h = ud;
	const struct imap_mailbox_status *want = &h->whole->st;

	/* Sequence numbers name the same messages on both connections only if
	 * nothing was expunged (EXISTS) or added (UIDNEXT) in between. */
	if (st->uidvalidity != want->uidvalidity || st->uidnext != want->uidnext ||
	    st->exists != want->exists)
		return IMAP_EBUSY;
	return imap_fetch_meta(c, h->set, META_ALL | IMAP_META_SEQSET, on_meta, &h->part);
}

static void *upper_thread(void *arg)
{
	struct upper_half *h = arg;
	struct source_cmd cmd = {
		.mailbox = h->whole->wire, .flags = SOURCE_IDLE, .fn = run_upper, .ud = h,
	};

	request_begin(h->ms);  /* the listing's deadline, in this thread */
	h->rc = source_run(h->whole->source, &cmd);
	return NULL;
}

/* Moves the upper half's entries into ctx. */
static int take_upper(struct load_ctx *ctx, struct upper_half *h)
{
	struct msg *all;

	if (h->part.n == 0)
		return 0;
	all = realloc(ctx->msgs, (ctx->n + h->part.n) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	memcpy(all + ctx->n, h->part.msgs, h->part.n * sizeof(*all));
	ctx->msgs = all;
	ctx->n += h->part.n;
	ctx->cap = ctx->n;
	free(h->part.msgs);
	h->part.msgs = NULL;
	h->part.n = 0;
	return 0;
}

/*
 * Every message's facts. A large mailbox's first listing is split by
 * sequence number with an idle second connection: the server (one process
 * per connection) and the parsing then run on two cores. When no connection
 * is idle, or the halves' views differ, this one fetches the rest itself.
 */
static int full_listing(struct imap_conn *c, struct load_ctx *ctx)
{
	struct upper_half h = { .whole = ctx, .rc = -EBUSY, .ms = request_ms_left() };
	uint32_t mid = ctx->st.exists / 2;
	char lower[32];
	pthread_t t;
	int rc;

	if (!ctx->source || ctx->st.exists < 2 * SPLIT_MIN)
		return imap_fetch_meta(c, "1:*", META_ALL, on_meta, ctx);
	snprintf(h.set, sizeof h.set, "%u:*", mid + 1);
	if (pthread_create(&t, NULL, upper_thread, &h) != 0)
		return imap_fetch_meta(c, "1:*", META_ALL, on_meta, ctx);
	snprintf(lower, sizeof lower, "1:%u", mid);
	rc = imap_fetch_meta(c, lower, META_ALL | IMAP_META_SEQSET, on_meta, ctx);
	pthread_join(t, NULL);
	if (rc == IMAP_OK && h.rc == 0 && h.part.err == 0)
		ctx->err = ctx->err ? ctx->err : take_upper(ctx, &h);
	else if (rc == IMAP_OK)
		rc = imap_fetch_meta(c, h.set, META_ALL | IMAP_META_SEQSET, on_meta, ctx);
	msgs_free(h.part.msgs, h.part.n);
	return rc;
}

/* New messages (UIDNEXT grew): their facts. "N:*" also names the last
 * message when none is new; on_meta's table merge ignores what it knows. */
static int fetch_new(struct imap_conn *c, struct load_ctx *ctx)
{
	char set[32];

	if (ctx->st.uidnext && ctx->st.uidnext <= ctx->base_uidnext)
		return IMAP_OK;
	snprintf(set, sizeof(set), "%u:*", ctx->base_uidnext ? ctx->base_uidnext : 1);
	return imap_fetch_meta(c, set, META_ALL, on_meta, ctx);
}

static int run_sync(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct load_ctx *ctx = ud;
	bool qresync = imap_conn_enabled(c, "QRESYNC");
	int rc;

	/* A retry (the connection broke) starts afresh: nothing twice. */
	msgs_free(ctx->msgs, ctx->n);
	free(ctx->gone);
	ctx->msgs = NULL;
	ctx->gone = NULL;
	ctx->n = ctx->cap = ctx->ngone = ctx->capgone = 0;
	ctx->err = 0;
	ctx->st = *st; /* fresh: SOURCE_FRESH EXAMINEd it just now */
	if (ctx->base_uidvalidity != ctx->st.uidvalidity) {
		ctx->mode = SYNC_FULL;
		return full_listing(c, ctx);
	}
	if (ctx->st.highestmodseq && ctx->st.highestmodseq == ctx->base_modseq &&
	    ctx->st.uidnext == ctx->base_uidnext && ctx->st.exists == ctx->base_count) {
		ctx->mode = SYNC_NONE;
		return IMAP_OK;
	}
	if (qresync && ctx->base_modseq && ctx->st.highestmodseq) {
		ctx->mode = SYNC_CHANGES;
		rc = imap_fetch_changes(c, ctx->base_modseq, true, on_meta, on_gone, ctx);
	} else {
		ctx->mode = SYNC_FLAGS;
		rc = imap_fetch_meta(c, "1:*", IMAP_META_FLAGS, on_meta, ctx);
	}
	return rc == IMAP_OK ? fetch_new(c, ctx) : rc;
}

/* The sync, and the rights on the same connection when wanted: the
 * mailbox is being opened anyway. */
static int run_load(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct load_ctx *ctx = ud;
	int rc = run_sync(c, st, ud);

	ctx->rights = (struct rights_answer){ 0 };
	if (rc == IMAP_OK && ctx->want_rights)
		rights_ask(c, ctx->wire, &ctx->rights); /* not known is no failure */
	return rc;
}

/* By UID, a listing entry before a flags-only one of the same UID. */
static int cmp_entry(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return (x->size == UINT64_MAX) - (y->size == UINT64_MAX);
}

/* The kernel keeps message directory names long: tell it this one is gone. */
static void gone(struct model *m, struct mbox *b, uint32_t uid)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", uid);
	inval_entry(m->inval, ino_make(INO_MBOX, (uint32_t)(b - m->mbox), 0, 0), name);
}

static void msg_drop(struct model *m, struct mbox *b, struct msg *msg)
{
	gone(m, b, msg->uid);
	if (msg->header)
		m->header_bytes -= msg->header_len;
	msg_clear(msg);
}

bool msg_take(struct model *m, uint32_t id, uint32_t uid, struct msg *out)
{
	struct mbox *b = &m->mbox[id];
	struct msg *msg = msg_find(b, uid);
	size_t at;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!msg)
		return false;
	at = (size_t)(msg - b->msgs);
	if (!out) {
		msg_drop(m, b, msg);
	} else {
		gone(m, b, uid);
		if (msg->header)
			m->header_bytes -= msg->header_len;
		*out = *msg;
		/* Its parsed detail goes back to text: the new table entry
		 * parses it again on first use, under DETAIL_KEEP's count. */
		if (out->detail && !out->saved && msg_detail_bodystructure(out->detail))
			out->saved = saved_of(out->detail);
		msg_detail_unref(out->detail);
		out->detail = NULL;
	}
	memmove(&b->msgs[at], &b->msgs[at + 1], (b->nmsgs - at - 1) * sizeof(*b->msgs));
	b->nmsgs--;
	b->dirty = true;
	dir_changed(m, id);
	return true;
}

bool msg_put(struct model *m, uint32_t id, uint32_t uidvalidity, struct msg *msg)
{
	struct mbox *b = &m->mbox[id];
	struct msg *grown;
	size_t at = 0;

	dir_changed(m, id);
	if (b->gone || !b->loaded || msg->uid == 0 || b->uidvalidity != uidvalidity ||
	    msg_find(b, msg->uid))
		goto relist;
	grown = realloc(b->msgs, (b->nmsgs + 2) * sizeof(*grown));
	if (!grown)
		goto relist;
	b->msgs = grown;
	while (at < b->nmsgs && b->msgs[at].uid < msg->uid)
		at++;
	memmove(&b->msgs[at + 1], &b->msgs[at], (b->nmsgs - at) * sizeof(*b->msgs));
	b->msgs[at] = *msg;
	b->nmsgs++;
	if (msg->header)
		m->header_bytes += msg->header_len;
	/* UIDNEXT stays: the next sync fetches from it, and so also finds
	 * what others added below this UID meanwhile. */
	b->dirty = true;
	memset(msg, 0, sizeof(*msg));
	return true;
relist:
	b->loaded_at = (struct timespec){ 0 };
	return false;
}

static bool in_gone(const struct load_ctx *ctx, uint32_t uid)
{
	for (size_t i = 0; i < ctx->ngone; i++)
		if (uid >= ctx->gone[i].first && uid <= ctx->gone[i].last)
			return true;
	return false;
}

/*
 * Merges what changed into the table (a merge join of two UID-sorted lists):
 * flags replaced, new messages added, gone ones dropped (VANISHED, or absent
 * from an all-flags answer). Returns whether anything changed; -ENOMEM.
 * Caller holds the lock.
 */
static int merge(struct model *m, struct mbox *b, struct load_ctx *ctx)
{
	struct msg *out = malloc((b->nmsgs + ctx->n + 1) * sizeof(*out)), *e;
	size_t i = 0, j = 0, k = 0;
	bool changed = false;

	if (!out)
		return -ENOMEM;
	if (ctx->n)
		qsort(ctx->msgs, ctx->n, sizeof(*ctx->msgs), cmp_entry);
	while (i < b->nmsgs || j < ctx->n) {
		e = j < ctx->n ? &ctx->msgs[j] : NULL;
		if (e && (i == b->nmsgs || e->uid < b->msgs[i].uid)) {
			if (e->size != UINT64_MAX && (k == 0 || out[k - 1].uid != e->uid)) {
				out[k++] = *e; /* a new message: the entry moves over */
				e->flags = NULL;
				changed = true;
			}
			j++;
			continue;
		}
		if (e && e->uid == b->msgs[i].uid) {
			if (strcmp(e->flags, b->msgs[i].flags) != 0) {
				free(b->msgs[i].flags);
				b->msgs[i].flags = e->flags;
				e->flags = NULL;
				changed = true;
			}
			while (j < ctx->n && ctx->msgs[j].uid == b->msgs[i].uid)
				j++;
			out[k++] = b->msgs[i++];
		} else if (ctx->mode == SYNC_FLAGS || in_gone(ctx, b->msgs[i].uid)) {
			msg_drop(m, b, &b->msgs[i++]);
			changed = true;
		} else {
			out[k++] = b->msgs[i++];
		}
	}
	free(b->msgs);
	b->msgs = out;
	b->nmsgs = k;
	return changed;
}

/* One entry per UID, with its facts: a flags update the server sent in the
 * middle of the listing (an unsolicited FETCH) or a UID sent twice is no
 * second message; as in merge, the first listing entry of a UID wins. */
static void one_per_uid(struct load_ctx *ctx)
{
	size_t k = 0;

	if (ctx->n)
		qsort(ctx->msgs, ctx->n, sizeof(*ctx->msgs), cmp_entry);
	for (size_t i = 0; i < ctx->n; i++) {
		if (ctx->msgs[i].size == UINT64_MAX || (k && ctx->msgs[k - 1].uid == ctx->msgs[i].uid))
			msg_clear(&ctx->msgs[i]);
		else
			ctx->msgs[k++] = ctx->msgs[i];
	}
	ctx->n = k;
}

/* Installs a whole new listing; what is cached of a message survives,
 * unless the UIDVALIDITY changed: then every old name goes from the kernel
 * (the UIDs name other messages, under the mailbox's new view id). */
static void install(struct model *m, struct mbox *b, struct load_ctx *ctx)
{
	bool same = b->uidvalidity == ctx->st.uidvalidity;

	one_per_uid(ctx);
	if (same) {
		for (size_t i = 0; i < ctx->n; i++) {
			struct msg *old = msg_find(b, ctx->msgs[i].uid);

			if (!old)
				continue;
			ctx->msgs[i].header = old->header;
			ctx->msgs[i].header_len = old->header_len;
			ctx->msgs[i].detail = old->detail;
			ctx->msgs[i].saved = old->saved;
			ctx->msgs[i].env = old->env;
			old->header = NULL;
			old->detail = NULL;
			old->saved = NULL;
			old->env = NULL;
		}
	}
	for (size_t i = 0; i < b->nmsgs; i++) {
		struct msg key = { .uid = b->msgs[i].uid };

		if (b->msgs[i].header)
			m->header_bytes -= b->msgs[i].header_len;
		if (!same || !ctx->n || !bsearch(&key, ctx->msgs, ctx->n, sizeof(key), cmp_msg))
			gone(m, b, key.uid);
	}
	msgs_free(b->msgs, b->nmsgs);
	b->msgs = ctx->msgs;
	b->nmsgs = ctx->n;
	ctx->msgs = NULL;
	ctx->n = 0;
}

/* ---- the metadata cache ----------------------------------------------------- */

/* Moves a cached message's structure into a saved_detail (NULL when out
 * of memory: then it is fetched again when wanted). */
static struct saved_detail *take_saved(struct cached_msg *c)
{
	struct saved_detail *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	*s = (struct saved_detail){ c->bodystructure };
	c->bodystructure = NULL;
	return s;
}

/* Takes a cached listing as the table. Caller holds the lock. */
static void install_cached(struct model *m, uint32_t id, struct cached_mailbox *cm)
{
	struct mbox *b = &m->mbox[id];
	struct msg *msgs = calloc(cm->n + 1, sizeof(*msgs));

	if (!msgs)
		return;
	for (size_t i = 0; i < cm->n; i++) {
		struct cached_msg *c = &cm->msgs[i];

		msgs[i].uid = c->uid;
		msgs[i].date = c->date;
		msgs[i].size = c->size;
		msgs[i].flags = c->flags;
		c->flags = NULL;
		/* An envelope is kept with or without a structure (.summary
		 * fetches envelopes alone); a structure needs its envelope. */
		if (c->subject && c->from && c->message_id)
			msgs[i].env = env_pack(c->subject, c->from, c->message_id);
		if (msgs[i].env && c->bodystructure && c->size <= SMALL_MAX)
			msgs[i].saved = take_saved(c);
	}
	msgs_free(b->msgs, b->nmsgs);
	b->msgs = msgs;
	b->nmsgs = cm->n;
	b->uidvalidity = cm->uidvalidity;
	b->uidnext = cm->uidnext;
	b->highestmodseq = cm->highestmodseq;
	b->loaded = true;
	b->loaded_at = (struct timespec){ 0 }; /* stale: the next listing asks the server */
	listing_touched(m, id);
}

/* Looks for mailbox id in the metadata cache once per mount. Caller holds
 * the lock; it is released while reading the file. */
static void load_cached(struct model *m, uint32_t id, const char *wire)
{
	struct cached_mailbox *cm = NULL;
	int rc;

	if (!m->meta || m->mbox[id].cache_tried)
		return;
	m->mbox[id].cache_tried = true;
	pthread_mutex_unlock(&m->lock);
	rc = meta_cache_load(m->meta, wire, &cm);
	pthread_mutex_lock(&m->lock);
	if (rc == 0 && !m->mbox[id].loaded)
		install_cached(m, id, cm);
	if (cm)
		cached_mailbox_free(cm);
}

/* The envelope's strings (NULL when never fetched). */
static bool dup_env(struct cached_msg *c, const char *env)
{
	if (!env)
		return true;
	c->subject = strdup(env_subject(env));
	c->from = strdup(env_from(env));
	c->message_id = strdup(env_message_id(env));
	return c->subject && c->from && c->message_id;
}

/* A copy of mailbox b's table for the metadata cache, strings and all, so
 * that the file can be written without the lock. Caller holds the lock. */
static struct cached_mailbox *snapshot(const struct mbox *b)
{
	struct cached_mailbox *cm = calloc(1, sizeof(*cm));
	bool ok = cm != NULL;

	if (ok) {
		*cm = (struct cached_mailbox){
			.uidvalidity = b->uidvalidity, .uidnext = b->uidnext,
			.highestmodseq = b->highestmodseq, .n = b->nmsgs,
		};
		cm->msgs = calloc(b->nmsgs + 1, sizeof(*cm->msgs));
		ok = cm->msgs != NULL;
	}
	for (size_t i = 0; ok && i < b->nmsgs; i++) {
		const struct msg *msg = &b->msgs[i];
		struct cached_msg *c = &cm->msgs[i];
		const struct saved_detail *sd = msg->saved;
		const struct msg_detail *d = msg->detail;

		/* A structure is only of use with its envelope (install_cached). */
		const char *bs = !msg->env ? NULL
				 : d && msg_detail_bodystructure(d) ? msg_detail_bodystructure(d)
				 : sd ? sd->bodystructure : NULL;

		*c = (struct cached_msg){ .uid = msg->uid, .date = msg->date, .size = msg->size };
		c->flags = strdup(msg->flags ? msg->flags : "");
		ok = c->flags != NULL && dup_env(c, msg->env);
		if (ok && bs)
			ok = (c->bodystructure = strdup(bs)) != NULL;
	}
	if (!ok && cm) {
		cached_mailbox_free(cm);
		cm = NULL;
	}
	return cm;
}

/* A save handed to the saver thread. */
struct save_job {
	struct model *m;
	uint32_t id;
	char *wire;
	struct cached_mailbox *cm;
};

static void save_job_free(struct save_job *job)
{
	cached_mailbox_free(job->cm);
	free(job->wire);
	free(job);
}

/* What a save's end means to the table: saved, or still to be saved. */
static void saved(struct model *m, uint32_t id, int rc)
{
	struct mbox *b = &m->mbox[id];

	b->saving = false;
	if (rc < 0 && !b->gone) {
		b->dirty = true;
		log_msg(LOG_WARNING, "cannot save the metadata cache of %s", b->path);
	}
}

/* The saver thread (model.saver): writes and syncs without any lock. */
void save_run(void *ctx, void *item)
{
	struct save_job *job = item;
	int rc = meta_cache_save(job->m->meta, job->wire, job->cm);

	(void)ctx;
	pthread_mutex_lock(&job->m->lock);
	saved(job->m, job->id, rc);
	pthread_mutex_unlock(&job->m->lock);
	save_job_free(job);
}

/* A save the saver thread never ran (at unmount): still to be saved. */
void save_drop(void *item)
{
	struct save_job *job = item;

	pthread_mutex_lock(&job->m->lock);
	job->m->mbox[job->id].saving = false;
	job->m->mbox[job->id].dirty = true;
	pthread_mutex_unlock(&job->m->lock);
	save_job_free(job);
}

/*
 * Writes mailbox id's table to the metadata cache: copied under the lock
 * and handed to the saver thread, so that no request waits for the disk
 * (a save of a large mailbox takes milliseconds, a slow disk far more).
 * With wait (at unmount, when the saver is gone) it is written here, the
 * lock released meanwhile. Caller holds the lock.
 */
static void save_cached(struct model *m, uint32_t id, bool wait)
{
	struct mbox *b = &m->mbox[id];
	struct save_job *job;
	int rc;

	if (!m->meta || !b->wire || !b->loaded || b->saving || (!wait && !m->saver))
		return;
	clock_gettime(CLOCK_MONOTONIC, &b->saved_at);
	job = calloc(1, sizeof(*job));
	if (!job)
		return;
	*job = (struct save_job){ .m = m, .id = id, .cm = snapshot(b), .wire = strdup(b->wire) };
	if (!job->cm || !job->wire) {
		save_job_free(job);
		return;
	}
	/* A change made while the file is written marks it dirty again. */
	b->dirty = false;
	b->saving = true;
	if (!wait && work_queue_put(m->saver, job))
		return;
	pthread_mutex_unlock(&m->lock);
	rc = meta_cache_save(m->meta, job->wire, job->cm);
	pthread_mutex_lock(&m->lock);
	saved(m, id, rc);
	save_job_free(job);
}

void save_all(struct model *m)
{
	for (size_t i = 1; i < m->nmbox; i++)
		if (m->mbox[i].dirty)
			save_cached(m, (uint32_t)i, true);
}

/* ---- keeping a listing current ------------------------------------------- */

int wait_listing(struct model *m, uint32_t id)
{
	struct timespec until;

	request_deadline(&until);
	while (id ? m->mbox[id].loading : m->listing)
		if (pthread_cond_timedwait(&m->loaded, &m->lock, &until) == ETIMEDOUT)
			return -EIO;
	return 0;
}

/* Applies a finished sync to the table and saves it when it changed. */
static int apply(struct model *m, struct mbox *b, struct load_ctx *ctx)
{
	uint32_t id = (uint32_t)(b - m->mbox);
	int changed = 1;

	if (ctx->mode == SYNC_FULL && b->uidvalidity && b->uidvalidity != ctx->st.uidvalidity) {
		log_msg(LOG_WARNING, "UIDVALIDITY of %s changed: its messages are new ones",
			b->path);
		if (mbox_new_view(m, id) < 0)
			log_msg(LOG_WARNING, "no mailbox id left: the kernel may keep old pages");
		b = &m->mbox[id]; /* the table may have moved */
	}
	if (ctx->mode == SYNC_FULL)
		install(m, b, ctx);
	else if (ctx->mode == SYNC_NONE)
		changed = 0;
	else
		changed = merge(m, b, ctx);
	if (changed < 0)
		return changed;
	b->uidvalidity = ctx->st.uidvalidity;
	b->uidnext = ctx->st.uidnext;
	b->highestmodseq = ctx->st.highestmodseq;
	b->loaded = true;
	clock_gettime(CLOCK_MONOTONIC, &b->loaded_at);
	if (changed) {
		log_msg(LOG_DEBUG, "%s changed (sync mode %d)", b->path, ctx->mode);
		dir_changed(m, (uint32_t)(b - m->mbox));
		b->dirty = true;
	}
	/* Written at most every META_SAVE_MS (and at unmount): a save of a
	 * large mailbox costs milliseconds the listing should not wait for. */
	if (b->saved_at.tv_sec == 0 && b->saved_at.tv_nsec == 0)
		clock_gettime(CLOCK_MONOTONIC, &b->saved_at);
	else if (b->dirty && clock_ms_since(&b->saved_at) >= META_SAVE_MS)
		save_cached(m, (uint32_t)(b - m->mbox), false);
	return 0;
}

/* Whether b's table serves as it is: listed, and young enough when force. */
static bool listing_fresh(const struct mbox *b, bool force)
{
	return b->loaded && (!force || clock_ms_since(&b->loaded_at) < MODEL_FRESH_MS);
}

/* Ends this thread's listing of id: the threads waiting for it look again. */
static void loading_done(struct model *m, uint32_t id)
{
	m->mbox[id].loading = false;
	pthread_cond_broadcast(&m->loaded);
}

int ensure_loaded(struct model *m, uint32_t id, bool force)
{
	struct load_ctx ctx = { 0 };
	struct source_cmd cmd = { .flags = SOURCE_FRESH, .fn = run_load, .ud = &ctx };
	char *wire;
	int rc;

	rc = wait_listing(m, id);
	if (rc)
		return rc;
	if (!m->mbox[id].wire || listing_fresh(&m->mbox[id], force))
		return 0; /* fresh enough, or a level without messages */
	wire = strdup(m->mbox[id].wire);
	if (!wire)
		return -ENOMEM;
	/* From here until the broadcast below this thread alone lists id:
	 * load_cached drops the lock, and others must wait, not list too. */
	m->mbox[id].loading = true;
	if (!m->mbox[id].loaded)
		load_cached(m, id, wire);
	if (listing_fresh(&m->mbox[id], force)) {
		loading_done(m, id);
		free(wire);
		return 0;
	}
	ctx.wire = wire;
	ctx.source = m->source;
	ctx.want_rights = rights_wanted(m, id);
	if (m->mbox[id].loaded) {
		ctx.base_uidvalidity = m->mbox[id].uidvalidity;
		ctx.base_uidnext = m->mbox[id].uidnext;
		ctx.base_modseq = m->mbox[id].highestmodseq;
		ctx.base_count = m->mbox[id].nmsgs;
	}
	pthread_mutex_unlock(&m->lock);

	cmd.mailbox = wire;
	rc = source_run(m->source, &cmd);

	pthread_mutex_lock(&m->lock);
	loading_done(m, id);
	if (m->mbox[id].gone) {
		rc = 0; /* vanished meanwhile (tree.c): the listing goes with it */
		ctx.err = -ENOENT;
	} else if (rc == 0 && ctx.err == 0) {
		ctx.err = apply(m, &m->mbox[id], &ctx);
		rights_keep(m, id, &ctx.rights);
	}
	msgs_free(ctx.msgs, ctx.n);
	free(ctx.gone);
	if (rc) {
		log_msg(LOG_ERR, "cannot list messages of %s: %s", m->mbox[id].path,
			strerror(-rc));
		rc = m->mbox[id].loaded ? 0 : -EIO; /* stale beats nothing */
	}
	free(wire);
	return rc ? rc : ctx.err;
}

void mbox_stale(struct model *m, uint32_t id)
{
	pthread_mutex_lock(&m->lock);
	if (id < m->nmbox && m->mbox[id].view_of)
		id = m->mbox[id].view_of;
	if (id && id < m->nmbox && m->mbox[id].loaded) {
		log_msg(LOG_WARNING, "UIDVALIDITY of %s changed: listing it again", m->mbox[id].path);
		m->mbox[id].loaded = false;
	}
	pthread_mutex_unlock(&m->lock);
}
