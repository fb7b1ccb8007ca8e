/*
 * summary_file — a mailbox's `.summary` (README): one line per message from
 * the listing and the envelopes, never from bodies. Envelopes are fetched
 * alone (UID FETCH set (ENVELOPE)) for the messages that lack one, in
 * batches of ENV_BATCH named as UID ranges, kept on each message (msg.env)
 * and in the metadata cache, so a remount asks nothing again.
 *
 * The text is made at getattr, when what it shows changed (mbox.gen), and
 * kept whole until the next change: reads, which come without an open
 * (FUSE no_open), are served from the text the last getattr sized, so size
 * and bytes agree. Its mtime is when what it shows last changed: a new text
 * has a new mtime, from which the kernel drops the pages of the old
 * (auto_inval_data), and one made again after its eviction (SUMMARY_KEEP)
 * with nothing changed keeps the old; listing_touched drops the kernel's
 * attributes, so the next look asks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "client.h"
#include "inode.h"
#include "log.h"
#include "model_int.h"
#include "names.h"
#include "summary.h"

/* Envelopes one command asks for: few round trips, and a retry after a
 * broken connection repeats little. */
#define ENV_BATCH 5000
/* For a message directory's xattrs: it and the next ones lacking one (a
 * reader going through the mailbox wants them next). */
#define ENV_DIR_BATCH 256
/* Texts kept at once (the largest mailboxes' run to megabytes). */
#define SUMMARY_KEEP 4

struct summary_text {
	int refs;                 /* atomic; the mailbox's reference and readers' */
	uint32_t view;            /* the mailbox view it was made for */
	uint64_t gen;             /* mbox.gen it shows */
	struct timespec mtime;
	size_t len;
	char *data;
};

static struct summary_text *text_ref(struct summary_text *t)
{
	__atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
	return t;
}

static void text_unref(struct summary_text *t)
{
	if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(t->data);
	free(t);
}

void summary_forget(struct mbox *b)
{
	text_unref(b->summary);
	b->summary = NULL;
}

/* ---- envelopes ------------------------------------------------------------ */

struct env_got {
	uint32_t uid;
	char *env;
};

struct env_ctx {
	const char *set;
	struct env_got *got;
	size_t n, cap;
	int err;
};

static void env_ctx_clear(struct env_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n; i++)
		free(ctx->got[i].env);
	free(ctx->got);
	ctx->got = NULL;
	ctx->n = ctx->cap = 0;
	ctx->err = 0;
}

static void on_env(void *ud, const struct imap_msg_meta *meta)
{
	struct env_ctx *ctx = ud;
	char *subject, *from;

	if (ctx->err || !(meta->have & IMAP_META_ENVELOPE))
		return;
	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 256;
		struct env_got *got = realloc(ctx->got, cap * sizeof(*got));

		if (!got) {
			ctx->err = -ENOMEM;
			return;
		}
		ctx->got = got;
		ctx->cap = cap;
	}
	subject = mime_header_text(meta->envelope.subject);
	from = mime_header_text(meta->envelope.from);
	ctx->got[ctx->n].uid = meta->uid;
	ctx->got[ctx->n].env = subject && from ? env_pack(subject, from, meta->envelope.message_id)
					       : NULL;
	free(subject);
	free(from);
	if (!ctx->got[ctx->n++].env)
		ctx->err = -ENOMEM;
}

static int run_env(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct env_ctx *ctx = ud;

	(void)st;
	env_ctx_clear(ctx); /* a retry starts afresh */
	return imap_fetch_meta(c, ctx->set, IMAP_META_ENVELOPE, on_env, ctx);
}

/* The index of the first message with a UID of at least uid. */
static size_t index_from(const struct mbox *b, uint32_t uid)
{
	size_t lo = 0, hi = b->nmsgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The UID set of up to limit messages from UID *cursor on, below until,
 * that lack an envelope, as ranges of neighbours in the table; *cursor
 * moves past them (UINT32_MAX: the end). */
static void env_set(const struct mbox *b, uint32_t *cursor, uint32_t until, size_t limit,
		    struct buf *set)
{
	uint32_t first = 0, last = 0;
	size_t i = index_from(b, *cursor), taken = 0;

	for (; i < b->nmsgs && b->msgs[i].uid < until && taken < limit; i++) {
		if (b->msgs[i].env) {
			if (first)
				buf_addf(set, "%s%u:%u", set->len ? "," : "", first, last);
			first = 0;
			continue;
		}
		first = first ? first : b->msgs[i].uid;
		last = b->msgs[i].uid;
		taken++;
	}
	if (first)
		buf_addf(set, "%s%u:%u", set->len ? "," : "", first, last);
	*cursor = i < b->nmsgs && b->msgs[i].uid < until ? b->msgs[i].uid : UINT32_MAX;
}

bool env_keep(struct msg *msg, const char *subject, const char *from, const char *message_id)
{
	if (msg->env)
		return false;
	msg->env = env_pack(subject, from, message_id);
	return msg->env != NULL;
}

/* Fetches the envelopes env_set names from *cursor on. Caller holds the
 * lock; it is released while the server answers. */
static int fetch_envs(struct model *m, uint32_t id, uint32_t *cursor, uint32_t until,
		      size_t limit)
{
	struct env_ctx ctx = { 0 };
	/* A long answer on a server that never gave these envelopes: its
	 * running out of a request's time says nothing of the server's health
	 * (no unresponsive spell); the batches before it are kept. */
	struct source_cmd cmd = { .flags = SOURCE_STREAM, .fn = run_env, .ud = &ctx };
	struct buf set = { 0 };
	uint32_t uidvalidity = m->mbox[id].uidvalidity;
	bool got = false;
	char *wire;
	int rc;

	env_set(&m->mbox[id], cursor, until, limit, &set);
	if (set.oom)
		return -ENOMEM;
	if (!set.len)
		return 0;
	wire = strdup(m->mbox[id].wire);
	if (!wire) {
		buf_free(&set);
		return -ENOMEM;
	}
	ctx.set = set.data;
	cmd.mailbox = wire;
	cmd.uidvalidity = uidvalidity;
	pthread_mutex_unlock(&m->lock);
	rc = source_run(m->source, &cmd);
	pthread_mutex_lock(&m->lock);
	if (rc == 0)
		rc = ctx.err;
	/* Only into the generation they were fetched for. */
	for (size_t i = 0; rc == 0 && i < ctx.n && m->mbox[id].uidvalidity == uidvalidity; i++) {
		struct msg *msg = msg_find(&m->mbox[id], ctx.got[i].uid);

		if (msg && !msg->env) {
			msg->env = ctx.got[i].env;
			ctx.got[i].env = NULL;
			got = true;
		}
	}
	/* Once a batch: each touch tells the kernel to drop .summary's
	 * attributes, and the kernel ignores a size answered while one
	 * arrives (a read may then stop at the old size). */
	if (got) {
		m->mbox[id].dirty = true;
		listing_touched(m, id);
	}
	if (rc == -ESTALE)
		m->mbox[id].loaded = false; /* listed again before its UIDs are used */
	if (rc && rc != -ENOMEM)
		log_msg(LOG_ERR, "cannot fetch the envelopes of %s: %s", m->mbox[id].path,
			strerror(-rc));
	env_ctx_clear(&ctx);
	buf_free(&set);
	free(wire);
	return rc == -ESTALE ? -EIO : rc;
}

/* Fetches the envelopes missing from UID from up to until, batch after
 * batch. Caller holds the lock (released meanwhile). */
static int envelopes_range(struct model *m, uint32_t id, uint32_t from, uint32_t until)
{
	uint32_t cursor = from;
	int rc = 0;

	while (rc == 0 && cursor != UINT32_MAX && m->mbox[id].wire)
		rc = fetch_envs(m, id, &cursor, until, ENV_BATCH);
	return rc;
}

/* Every message's envelope. Caller holds the lock (released meanwhile).
 * One connection: two halves on two connections were slower on a server
 * asked these envelopes for the first time (Dovecot then writes them to
 * the one cache file of the mailbox from both processes). */
static int envelopes_all(struct model *m, uint32_t id)
{
	return envelopes_range(m, id, 0, UINT32_MAX);
}

int env_get(struct model *m, uint64_t ino, char **env)
{
	uint32_t id, cursor = ino_uid(ino);
	struct msg *msg;
	int rc = 0;

	*env = NULL;
	pthread_mutex_lock(&m->lock);
	id = msg_mbox(m, ino);
	msg = id ? msg_find(&m->mbox[id], ino_uid(ino)) : NULL;
	if (msg && !msg->env) {
		rc = fetch_envs(m, id, &cursor, UINT32_MAX, ENV_DIR_BATCH);
		msg = msg_mbox(m, ino) == id ? msg_find(&m->mbox[id], ino_uid(ino)) : NULL;
	}
	if (!msg)
		rc = rc ? rc : -ENOENT;
	else if (!msg->env)
		rc = rc ? rc : -EIO; /* the server sent none */
	else if (!(*env = env_pack(env_subject(msg->env), env_from(msg->env),
				   env_message_id(msg->env))))
		rc = -ENOMEM;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* ---- the text ------------------------------------------------------------- */

/* Drops the least recently used texts past SUMMARY_KEEP. Caller holds the lock. */
static void evict(struct model *m)
{
	for (;;) {
		size_t kept = 0, oldest = 0;

		for (size_t i = 1; i < m->nmbox; i++) {
			if (!m->mbox[i].summary)
				continue;
			kept++;
			if (!oldest || m->mbox[i].summary_used < m->mbox[oldest].summary_used)
				oldest = i;
		}
		if (kept <= SUMMARY_KEEP)
			return;
		summary_forget(&m->mbox[oldest]);
	}
}

/* Makes mailbox id's text from its table. Caller holds the lock. */
static int make(struct model *m, uint32_t id)
{
	struct mbox *b = &m->mbox[id];
	struct summary_text *t = calloc(1, sizeof(*t));
	struct buf out = { 0 };
	struct timespec last = b->summary_mtime;
	bool made = last.tv_sec || last.tv_nsec;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < b->nmsgs && !out.oom; i++) {
		const struct msg *msg = &b->msgs[i];
		struct summary_msg s = {
			.uid = msg->uid, .date = msg->date, .flags = msg->flags, .size = msg->size,
			.from = msg->env ? env_from(msg->env) : NULL,
			.subject = msg->env ? env_subject(msg->env) : NULL,
		};

		summary_line(&out, &s);
	}
	if (out.oom) {
		buf_free(&out);
		free(t);
		return -ENOMEM;
	}
	*t = (struct summary_text){ .refs = 1, .view = b->view, .gen = b->gen, .len = out.len };
	t->data = out.data; /* NULL for an empty mailbox */
	if (made && b->summary_view == b->view && b->summary_gen == b->gen) {
		t->mtime = last; /* made again after its eviction: the same bytes */
	} else {
		clock_gettime(CLOCK_REALTIME, &t->mtime);
		/* Strictly later than the last text, or the kernel keeps its pages. */
		if (made && (t->mtime.tv_sec < last.tv_sec ||
			     (t->mtime.tv_sec == last.tv_sec && t->mtime.tv_nsec <= last.tv_nsec))) {
			t->mtime = last;
			if (++t->mtime.tv_nsec == 1000000000) {
				t->mtime.tv_sec++;
				t->mtime.tv_nsec = 0;
			}
		}
	}
	b->summary_mtime = t->mtime;
	b->summary_gen = b->gen;
	b->summary_view = b->view;
	summary_forget(b);
	b->summary = t;
	b->summary_used = ++m->summary_tick;
	evict(m);
	return 0;
}

/* The text of .summary ino, with a reference. fresh (getattr): the listing
 * and envelopes brought up to date and the text made again if they changed;
 * else (read) the last text made, if any. Caller holds the lock. */
static int current(struct model *m, uint64_t ino, bool fresh, struct summary_text **out)
{
	uint32_t id = msg_mbox(m, ino);
	struct summary_text *t;
	int rc;

	*out = NULL;
	if (!id || !mbox_visible(m, id) || !m->mbox[id].wire)
		return -ENOENT;
	t = m->mbox[id].summary;
	if (fresh || !t || t->view != m->mbox[id].view) {
		rc = ensure_loaded(m, id, fresh);
		if (rc == 0)
			rc = envelopes_all(m, id);
		if (rc)
			return rc;
		if (msg_mbox(m, ino) != id || !m->mbox[id].wire)
			return -ENOENT; /* another UIDVALIDITY, or gone, meanwhile */
		t = m->mbox[id].summary;
		if (!t || t->gen != m->mbox[id].gen || t->view != m->mbox[id].view) {
			rc = make(m, id);
			if (rc)
				return rc;
		}
	}
	m->mbox[id].summary_used = ++m->summary_tick;
	*out = text_ref(m->mbox[id].summary);
	return 0;
}

int summary_getattr(struct model *m, uint64_t ino, struct stat *st)
{
	struct summary_text *t;
	int rc;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&m->lock);
	rc = current(m, ino, true, &t);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	st->st_ino = ino;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_size = (off_t)t->len;
	st->st_blocks = (blkcnt_t)((t->len + 511) / 512);
	st->st_mtim = st->st_ctim = st->st_atim = t->mtime;
	text_unref(t);
	return 0;
}

int summary_read(struct model *m, uint64_t ino, uint64_t off, size_t size, char *buf, size_t *n)
{
	struct summary_text *t;
	int rc;

	*n = 0;
	pthread_mutex_lock(&m->lock);
	rc = current(m, ino, false, &t);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	if (off < t->len) {
		*n = t->len - off < size ? (size_t)(t->len - off) : size;
		memcpy(buf, t->data + off, *n);
	}
	text_unref(t);
	return 0;
}
