#include "model.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "inode.h"
#include "log.h"
#include "names.h"
#include "utf7.h"

/* Headers kept in memory, so that stat and read of `header` agree without a
 * second fetch; past this budget they are fetched again each time. */
#define HEADER_BUDGET (32u * 1024 * 1024)
/* How long one thread waits for another's listing of the same mailbox. */
#define LOAD_WAIT_MS 60000

struct msg {
	uint32_t uid;
	time_t date;
	uint64_t size;
	char *flags;              /* protected by model.lock */
	char *header;             /* protected by model.lock; NULL until fetched */
	size_t header_len;
};

struct mbox {
	char *path;               /* shown path from the root, levels joined by '/' */
	const char *leaf;         /* last level of path */
	uint32_t parent;          /* mailbox id, 0 for the root */
	char *wire;               /* server name, NULL for a level with no mailbox */
	bool present;             /* in the last LIST */
	uint32_t uidvalidity;
	struct msg *msgs;         /* sorted by uid */
	size_t nmsgs;
	bool loaded;
	bool loading;             /* a thread is fetching the message list */
	struct timespec loaded_at;
};

struct model {
	struct imap_pool *pool;
	pthread_mutex_t lock;
	pthread_cond_t loaded;    /* signalled when a listing finishes */
	struct mbox *mbox;        /* index = mailbox id; [0] unused (the root) */
	size_t nmbox;             /* ids in use, counting [0] */
	bool listed;
	bool listing;
	struct timespec listed_at;
	size_t header_bytes;
	time_t mounted_at;
	uid_t uid;
	gid_t gid;
};

struct model_file {
	uint64_t ino;
	uint64_t size;
	pthread_mutex_t lock;
	char *chunk;              /* protected by lock */
	uint64_t chunk_off;
	size_t chunk_len;
};

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void deadline_after(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

struct model *model_new(struct imap_pool *pool)
{
	struct model *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;

	if (!m)
		return NULL;
	m->mbox = calloc(1, sizeof(*m->mbox));
	if (!m->mbox) {
		free(m);
		return NULL;
	}
	m->nmbox = 1;
	m->pool = pool;
	m->mounted_at = time(NULL);
	m->uid = getuid();
	m->gid = getgid();
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->loaded, &ca);
	pthread_condattr_destroy(&ca);
	return m;
}

static void msgs_free(struct msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(msgs[i].flags);
		free(msgs[i].header);
	}
	free(msgs);
}

void model_free(struct model *m)
{
	if (!m)
		return;
	for (size_t i = 1; i < m->nmbox; i++) {
		free(m->mbox[i].path);
		free(m->mbox[i].wire);
		msgs_free(m->mbox[i].msgs, m->mbox[i].nmsgs);
	}
	free(m->mbox);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->loaded);
	free(m);
}

/* ---- the mailbox tree ---------------------------------------------------- */

static uint32_t mbox_find_path(struct model *m, const char *path)
{
	for (size_t i = 1; i < m->nmbox; i++)
		if (strcmp(m->mbox[i].path, path) == 0)
			return (uint32_t)i;
	return 0;
}

/* The id of the node for path, created (with its parents) if new. 0 when
 * out of ids or memory. Caller holds the lock. */
static uint32_t mbox_node(struct model *m, const char *path)
{
	uint32_t id = mbox_find_path(m, path), parent = 0;
	const char *slash = strrchr(path, '/');
	struct mbox *b, *grown;

	if (id)
		return id;
	if (slash) {
		char *up = strndup(path, (size_t)(slash - path));

		if (!up)
			return 0;
		parent = mbox_node(m, up);
		free(up);
		if (!parent)
			return 0;
	}
	if (m->nmbox > INO_MAX_MBOX)
		return 0;
	grown = realloc(m->mbox, (m->nmbox + 1) * sizeof(*m->mbox));
	if (!grown)
		return 0;
	m->mbox = grown;
	b = &m->mbox[m->nmbox];
	memset(b, 0, sizeof(*b));
	b->path = strdup(path);
	if (!b->path)
		return 0;
	b->leaf = slash ? b->path + (slash - path) + 1 : b->path;
	b->parent = parent;
	return (uint32_t)m->nmbox++;
}

/* The shown path of a server name: decoded, split at delim, each level
 * escaped (SPEC.md). NULL for names that cannot be shown (empty levels). */
static char *shown_path(const char *wire, char delim)
{
	char *utf8 = imap_utf7_decode(wire), *out = NULL, *level, *save = NULL;
	size_t len = 0;
	char sep[2] = { delim, 0 };

	if (!utf8)
		utf8 = strdup(wire); /* not valid mUTF-7: show it as sent */
	if (!utf8)
		return NULL;
	if (delim && (utf8[0] == delim || strstr(utf8, (char[]){ delim, delim, 0 }) ||
		      utf8[strlen(utf8) - 1] == delim))
		goto fail; /* empty levels would alias other names */
	for (level = delim ? strtok_r(utf8, sep, &save) : utf8; level;
	     level = delim ? strtok_r(NULL, sep, &save) : NULL) {
		char *esc = names_escape(level), *grown;

		if (!esc)
			goto fail;
		grown = realloc(out, len + strlen(esc) + 2);
		if (!grown) {
			free(esc);
			goto fail;
		}
		out = grown;
		len += (size_t)sprintf(out + len, "%s%s", len ? "/" : "", esc);
		free(esc);
	}
	free(utf8);
	return out;
fail:
	free(utf8);
	free(out);
	return NULL;
}

struct list_ctx {
	struct model *m;
	int err;
};

static void on_list(void *ud, const char *wire, char delim, unsigned attrs)
{
	struct list_ctx *ctx = ud;
	struct model *m = ctx->m;
	char *path = shown_path(wire, delim);
	uint32_t id;

	if (!path) {
		log_msg(LOG_WARNING, "mailbox '%s' cannot be shown (empty level)", wire);
		return;
	}
	pthread_mutex_lock(&m->lock);
	id = mbox_node(m, path);
	if (!id) {
		ctx->err = -ENOMEM;
	} else if (!(attrs & IMAP_MBOX_NOSELECT)) {
		struct mbox *b = &m->mbox[id];

		if (!b->wire || strcmp(b->wire, wire) != 0) {
			free(b->wire);
			b->wire = strdup(wire);
			b->loaded = false;
		}
		b->present = b->wire != NULL;
	} else {
		/* A \Noselect level still shows as a directory. */
		m->mbox[id].present = true;
	}
	pthread_mutex_unlock(&m->lock);
	free(path);
}

static int run_list(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	(void)st;
	return imap_list(c, on_list, ud);
}

/* LISTs the server when never done or stale (force: on readdir). */
static int ensure_listed(struct model *m, bool force)
{
	struct list_ctx ctx = { .m = m, .err = 0 };
	int rc;

	pthread_mutex_lock(&m->lock);
	if (m->listed && (!force || ms_since(&m->listed_at) < MODEL_FRESH_MS || m->listing)) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	m->listing = true;
	for (size_t i = 1; i < m->nmbox; i++)
		m->mbox[i].present = false;
	pthread_mutex_unlock(&m->lock);

	rc = pool_run(m->pool, NULL, run_list, &ctx);

	pthread_mutex_lock(&m->lock);
	m->listing = false;
	if (rc == IMAP_OK && ctx.err == 0) {
		m->listed = true;
		clock_gettime(CLOCK_MONOTONIC, &m->listed_at);
	} else if (m->listed) {
		for (size_t i = 1; i < m->nmbox; i++)
			m->mbox[i].present = true; /* keep showing what we had */
	}
	pthread_mutex_unlock(&m->lock);
	if (rc != IMAP_OK) {
		log_msg(LOG_ERR, "cannot list mailboxes: %s", imap_strerror(rc));
		return -EIO;
	}
	return ctx.err;
}

/* A level shows while it is a mailbox or has a visible level below it. */
static bool mbox_visible(const struct model *m, uint32_t id)
{
	if (m->mbox[id].present)
		return true;
	for (size_t i = 1; i < m->nmbox; i++)
		if (m->mbox[i].parent == id && mbox_visible(m, (uint32_t)i))
			return true;
	return false;
}

/* ---- message lists -------------------------------------------------------- */

struct load_ctx {
	struct msg *msgs;
	size_t n, cap;
	uint32_t uidvalidity;
	int err;
};

static void on_meta(void *ud, const struct imap_msg_meta *meta)
{
	struct load_ctx *ctx = ud;
	struct msg *msg;

	if (ctx->err || !(meta->have & IMAP_META_SIZE) || meta->uid == 0)
		return; /* an unsolicited FLAGS update, not part of the listing */
	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 256;
		struct msg *grown = realloc(ctx->msgs, cap * sizeof(*grown));

		if (!grown) {
			ctx->err = -ENOMEM;
			return;
		}
		ctx->msgs = grown;
		ctx->cap = cap;
	}
	msg = &ctx->msgs[ctx->n];
	memset(msg, 0, sizeof(*msg));
	msg->uid = meta->uid;
	msg->date = meta->internaldate;
	msg->size = meta->size;
	msg->flags = strdup(meta->flags ? meta->flags : "");
	if (!msg->flags) {
		ctx->err = -ENOMEM;
		return;
	}
	ctx->n++;
}

static int run_load(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct load_ctx *ctx = ud;
	int rc;

	/* A connection that examined the mailbox earlier has not been told
	 * about new mail yet; NOOP asks. */
	rc = imap_conn_cmd(c, NULL, NULL, "NOOP");
	if (rc != IMAP_OK)
		return rc;
	ctx->uidvalidity = st->uidvalidity;
	return imap_fetch_meta(c, "1:*", IMAP_META_FLAGS | IMAP_META_INTERNALDATE | IMAP_META_SIZE,
			       on_meta, ctx);
}

static int cmp_msg(const void *a, const void *b)
{
	uint32_t x = ((const struct msg *)a)->uid, y = ((const struct msg *)b)->uid;

	return x < y ? -1 : x > y;
}

static struct msg *msg_find(const struct mbox *b, uint32_t uid)
{
	struct msg key = { .uid = uid };

	if (!b->msgs)
		return NULL;
	return bsearch(&key, b->msgs, b->nmsgs, sizeof(*b->msgs), cmp_msg);
}

/* Installs a fresh listing; cached headers survive when UIDVALIDITY holds. */
static void install_msgs(struct model *m, struct mbox *b, struct load_ctx *ctx)
{
	if (ctx->n)
		qsort(ctx->msgs, ctx->n, sizeof(*ctx->msgs), cmp_msg);
	if (b->uidvalidity == ctx->uidvalidity) {
		for (size_t i = 0; i < ctx->n; i++) {
			struct msg *old = msg_find(b, ctx->msgs[i].uid);

			if (old && old->header) {
				ctx->msgs[i].header = old->header;
				ctx->msgs[i].header_len = old->header_len;
				old->header = NULL;
			}
		}
	}
	for (size_t i = 0; i < b->nmsgs; i++)
		if (b->msgs[i].header)
			m->header_bytes -= b->msgs[i].header_len;
	msgs_free(b->msgs, b->nmsgs);
	b->msgs = ctx->msgs;
	b->nmsgs = ctx->n;
	b->uidvalidity = ctx->uidvalidity;
	b->loaded = true;
	clock_gettime(CLOCK_MONOTONIC, &b->loaded_at);
	ctx->msgs = NULL;
	ctx->n = 0;
}

/* Waits while another thread lists mailbox id. Caller holds the lock. */
static int wait_loading(struct model *m, uint32_t id)
{
	struct timespec until;

	deadline_after(&until, LOAD_WAIT_MS);
	while (m->mbox[id].loading)
		if (pthread_cond_timedwait(&m->loaded, &m->lock, &until) == ETIMEDOUT)
			return -EIO;
	return 0;
}

/* Fetches the message list of mailbox id when never done, or when force and
 * stale. Caller holds the lock; it is released while the server answers. */
static int ensure_loaded(struct model *m, uint32_t id, bool force)
{
	struct load_ctx ctx = { 0 };
	char *wire;
	int rc;

	rc = wait_loading(m, id);
	if (rc)
		return rc;
	if (!m->mbox[id].wire)
		return 0; /* a level without messages */
	if (m->mbox[id].loaded && (!force || ms_since(&m->mbox[id].loaded_at) < MODEL_FRESH_MS))
		return 0;
	wire = strdup(m->mbox[id].wire);
	if (!wire)
		return -ENOMEM;
	m->mbox[id].loading = true;
	pthread_mutex_unlock(&m->lock);

	rc = pool_run(m->pool, wire, run_load, &ctx);

	pthread_mutex_lock(&m->lock);
	m->mbox[id].loading = false;
	pthread_cond_broadcast(&m->loaded);
	if (rc == IMAP_OK && ctx.err == 0)
		install_msgs(m, &m->mbox[id], &ctx);
	msgs_free(ctx.msgs, ctx.n);
	if (rc != IMAP_OK) {
		log_msg(LOG_ERR, "cannot list messages of %s: %s", m->mbox[id].path,
			imap_strerror(rc));
		rc = m->mbox[id].loaded ? 0 : -EIO; /* stale beats nothing */
	}
	free(wire);
	return rc ? rc : ctx.err;
}

/* ---- names and attributes ------------------------------------------------- */

static bool parse_uid(const char *name, uint32_t *uid)
{
	unsigned long v = 0;

	if (name[0] < '1' || name[0] > '9')
		return false;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*uid = (uint32_t)v;
	return true;
}

static void stat_dir(const struct model *m, struct stat *st, uint64_t ino, time_t t)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_mtime = st->st_ctime = st->st_atime = t;
}

static void stat_file(const struct model *m, struct stat *st, uint64_t ino, time_t t,
		      uint64_t size)
{
	stat_dir(m, st, ino, t);
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
}

/* The mailbox a directory inode stands for, checked to exist. Caller holds
 * the lock. */
static int mbox_of(struct model *m, uint64_t ino, uint32_t *id)
{
	*id = ino_mbox(ino);
	if (*id == 0 || *id >= m->nmbox || !mbox_visible(m, *id))
		return -ENOENT;
	return 0;
}

/* ---- content --------------------------------------------------------------- */

struct fetch_req {
	uint32_t uid;
	uint32_t uidvalidity;
	const char *section;
	uint64_t off, len;
	char *data;
	size_t n;
	bool stale;               /* the mailbox's UIDVALIDITY changed under us */
};

static int run_fetch(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct fetch_req *req = ud;

	if (st->uidvalidity != req->uidvalidity) {
		req->stale = true;
		return IMAP_ENO;
	}
	free(req->data);
	req->data = NULL;
	return imap_fetch_part(c, req->uid, req->section, req->off, req->len, &req->data, &req->n);
}

/* Fetches a section of message ino's mailbox/UID into req (no lock held). */
static int fetch_section(struct model *m, uint64_t ino, struct fetch_req *req)
{
	uint32_t id = ino_mbox(ino);
	char *wire = NULL;
	int rc;

	pthread_mutex_lock(&m->lock);
	if (id < m->nmbox && m->mbox[id].wire) {
		wire = strdup(m->mbox[id].wire);
		req->uidvalidity = m->mbox[id].uidvalidity;
	}
	pthread_mutex_unlock(&m->lock);
	if (!wire)
		return -ENOENT;
	req->uid = ino_uid(ino);
	rc = pool_run(m->pool, wire, run_fetch, req);
	if (req->stale) {
		log_msg(LOG_WARNING, "UIDVALIDITY of %s changed: listing it again", wire);
		pthread_mutex_lock(&m->lock);
		if (id < m->nmbox)
			m->mbox[id].loaded = false;
		pthread_mutex_unlock(&m->lock);
	}
	free(wire);
	if (rc == IMAP_OK)
		return 0;
	free(req->data);
	req->data = NULL;
	if (rc == IMAP_ENO)
		return -ENOENT;
	log_msg(LOG_ERR, "cannot fetch UID %u: %s", ino_uid(ino), imap_strerror(rc));
	return -EIO;
}

/* The message's header block: a malloc'd copy in *out. */
static int header_get(struct model *m, uint64_t ino, char **out, size_t *len)
{
	struct fetch_req req = { .section = "HEADER" };
	struct msg *msg;
	int rc;

	pthread_mutex_lock(&m->lock);
	msg = ino_mbox(ino) < m->nmbox ? msg_find(&m->mbox[ino_mbox(ino)], ino_uid(ino)) : NULL;
	if (msg && msg->header) {
		*out = malloc(msg->header_len + 1);
		if (*out) {
			memcpy(*out, msg->header, msg->header_len);
			*len = msg->header_len;
		}
		pthread_mutex_unlock(&m->lock);
		return *out ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&m->lock);

	rc = fetch_section(m, ino, &req);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	/* Look again: the message may have gone while we fetched. */
	msg = ino_mbox(ino) < m->nmbox ? msg_find(&m->mbox[ino_mbox(ino)], ino_uid(ino)) : NULL;
	if (msg && !msg->header && m->header_bytes + req.n <= HEADER_BUDGET) {
		msg->header = malloc(req.n + 1);
		if (msg->header) {
			memcpy(msg->header, req.data, req.n);
			msg->header_len = req.n;
			m->header_bytes += req.n;
		}
	}
	pthread_mutex_unlock(&m->lock);
	*out = req.data;
	*len = req.n;
	if (!*out) {
		*out = malloc(1); /* an empty header is still a file */
		if (!*out)
			return -ENOMEM;
	}
	return 0;
}

/* ---- the inode operations ------------------------------------------------- */

/* Copies what a message inode needs out of the table. Caller holds the lock. */
static int msg_facts(struct model *m, uint64_t ino, struct msg *facts)
{
	uint32_t id;
	struct msg *msg;

	if (mbox_of(m, ino, &id))
		return -ENOENT;
	msg = msg_find(&m->mbox[id], ino_uid(ino));
	if (!msg)
		return -ENOENT;
	*facts = *msg;
	facts->flags = NULL;
	facts->header = NULL;
	return 0;
}

static int attr_locked(struct model *m, uint64_t ino, struct stat *st, bool *need_header)
{
	struct msg facts;
	uint32_t id;
	int rc;

	*need_header = false;
	switch (ino_type(ino)) {
	case INO_ROOT:
		stat_dir(m, st, ino, m->mounted_at);
		return ino == 1 ? 0 : -ENOENT;
	case INO_MBOX:
		rc = mbox_of(m, ino, &id);
		if (rc == 0)
			stat_dir(m, st, ino, m->mounted_at);
		return rc;
	case INO_MSG:
	case INO_EML:
	case INO_HEADER:
		break;
	default:
		return -ENOENT;
	}
	rc = msg_facts(m, ino, &facts);
	if (rc)
		return rc;
	if (ino_type(ino) == INO_MSG)
		stat_dir(m, st, ino, facts.date);
	else if (ino_type(ino) == INO_EML)
		stat_file(m, st, ino, facts.date, facts.size);
	else
		*need_header = true;
	return 0;
}

int model_getattr(struct model *m, uint64_t ino, struct stat *st)
{
	bool need_header;
	char *header;
	size_t len;
	time_t date = 0;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = attr_locked(m, ino, st, &need_header);
	if (rc == 0 && need_header) {
		struct msg facts;

		rc = msg_facts(m, ino, &facts);
		date = facts.date;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc || !need_header)
		return rc;
	rc = header_get(m, ino, &header, &len);
	if (rc)
		return rc;
	free(header);
	stat_file(m, st, ino, date, len);
	return 0;
}

/* The child mailbox level of parent called name, or 0. Caller holds the lock. */
static uint32_t mbox_child(struct model *m, uint32_t parent, const char *name)
{
	for (size_t i = 1; i < m->nmbox; i++)
		if (m->mbox[i].parent == parent && strcmp(m->mbox[i].leaf, name) == 0 &&
		    mbox_visible(m, (uint32_t)i))
			return (uint32_t)i;
	return 0;
}

static int lookup_in_mbox(struct model *m, uint32_t parent, const char *name, uint64_t *ino)
{
	uint32_t child = mbox_child(m, parent, name), uid;
	int rc;

	if (child) {
		*ino = ino_make(INO_MBOX, child, 0, 0);
		return 0;
	}
	if (parent == 0 || !parse_uid(name, &uid))
		return -ENOENT;
	rc = ensure_loaded(m, parent, false);
	if (rc)
		return rc;
	if (!msg_find(&m->mbox[parent], uid)) {
		/* Perhaps it just arrived: look once more if the list is old. */
		rc = ensure_loaded(m, parent, true);
		if (rc || !msg_find(&m->mbox[parent], uid))
			return rc ? rc : -ENOENT;
	}
	*ino = ino_make(INO_MSG, parent, uid, 0);
	return 0;
}

int model_lookup(struct model *m, uint64_t parent, const char *name, struct stat *st)
{
	uint64_t ino = 0;
	uint32_t id = 0;
	int rc;

	rc = ensure_listed(m, false);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	switch (ino_type(parent)) {
	case INO_ROOT:
		rc = parent == 1 ? lookup_in_mbox(m, 0, name, &ino) : -ENOENT;
		break;
	case INO_MBOX:
		rc = mbox_of(m, parent, &id);
		if (rc == 0)
			rc = lookup_in_mbox(m, id, name, &ino);
		break;
	case INO_MSG:
		if (strcmp(name, "message.eml") == 0)
			ino = ino_make(INO_EML, ino_mbox(parent), ino_uid(parent), 0);
		else if (strcmp(name, "header") == 0)
			ino = ino_make(INO_HEADER, ino_mbox(parent), ino_uid(parent), 0);
		else
			rc = -ENOENT;
		break;
	default:
		rc = -ENOTDIR;
	}
	pthread_mutex_unlock(&m->lock);
	return rc ? rc : model_getattr(m, ino, st);
}

/* ---- directories ---------------------------------------------------------- */

static int dir_add(struct model_dir *d, size_t *cap, const char *name, uint64_t ino, mode_t type)
{
	if (d->n == *cap) {
		size_t grow = *cap ? *cap * 2 : 32;
		struct model_dirent *ents = realloc(d->ents, grow * sizeof(*ents));

		if (!ents)
			return -ENOMEM;
		d->ents = ents;
		*cap = grow;
	}
	d->ents[d->n].name = strdup(name);
	if (!d->ents[d->n].name)
		return -ENOMEM;
	d->ents[d->n].ino = ino;
	d->ents[d->n].type = type;
	d->n++;
	return 0;
}

/* Child mailboxes, then messages. Caller holds the lock. */
static int list_mbox(struct model *m, uint32_t id, struct model_dir *d, size_t *cap)
{
	char uid[16];
	int rc = 0;

	for (size_t i = 1; i < m->nmbox && rc == 0; i++)
		if (m->mbox[i].parent == id && mbox_visible(m, (uint32_t)i))
			rc = dir_add(d, cap, m->mbox[i].leaf, ino_make(INO_MBOX, (uint32_t)i, 0, 0),
				     S_IFDIR);
	if (id == 0 || rc)
		return rc;
	rc = ensure_loaded(m, id, true);
	for (size_t i = 0; rc == 0 && i < m->mbox[id].nmsgs; i++) {
		uint32_t u = m->mbox[id].msgs[i].uid;

		snprintf(uid, sizeof(uid), "%u", u);
		rc = dir_add(d, cap, uid, ino_make(INO_MSG, id, u, 0), S_IFDIR);
	}
	return rc;
}

int model_readdir(struct model *m, uint64_t ino, struct model_dir **out)
{
	struct model_dir *d = calloc(1, sizeof(*d));
	size_t cap = 0;
	uint32_t id = 0;
	int rc;

	if (!d)
		return -ENOMEM;
	rc = ensure_listed(m, ino_type(ino) == INO_ROOT);
	pthread_mutex_lock(&m->lock);
	if (rc == 0)
		rc = dir_add(d, &cap, ".", ino, S_IFDIR);
	if (rc == 0)
		rc = dir_add(d, &cap, "..", 1, S_IFDIR);
	if (rc == 0) {
		switch (ino_type(ino)) {
		case INO_ROOT:
			rc = ino == 1 ? list_mbox(m, 0, d, &cap) : -ENOENT;
			break;
		case INO_MBOX:
			rc = mbox_of(m, ino, &id);
			if (rc == 0)
				rc = list_mbox(m, id, d, &cap);
			break;
		case INO_MSG: {
			struct msg facts;

			rc = msg_facts(m, ino, &facts);
			if (rc == 0)
				rc = dir_add(d, &cap, "message.eml",
					     ino_make(INO_EML, ino_mbox(ino), ino_uid(ino), 0), S_IFREG);
			if (rc == 0)
				rc = dir_add(d, &cap, "header",
					     ino_make(INO_HEADER, ino_mbox(ino), ino_uid(ino), 0),
					     S_IFREG);
			break;
		}
		default:
			rc = -ENOTDIR;
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (rc) {
		model_dir_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void model_dir_free(struct model_dir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	free(d);
}

/* ---- files ---------------------------------------------------------------- */

int model_open(struct model *m, uint64_t ino, struct model_file **out)
{
	struct model_file *f;
	struct stat st;
	int rc;

	if (ino_type(ino) != INO_EML && ino_type(ino) != INO_HEADER)
		return ino_type(ino) == INO_ROOT || ino_type(ino) <= INO_MSG ? -EISDIR : -ENOENT;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ino = ino;
	pthread_mutex_init(&f->lock, NULL);
	if (ino_type(ino) == INO_HEADER) {
		/* The header is small: keep all of it with the open file. */
		rc = header_get(m, ino, &f->chunk, &f->chunk_len);
		f->size = f->chunk_len;
	} else {
		rc = model_getattr(m, ino, &st);
		f->size = (uint64_t)st.st_size;
	}
	if (rc) {
		model_release(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* Copies what the cached chunk holds of [off, off+size). Caller holds f->lock. */
static size_t copy_cached(struct model_file *f, uint64_t off, size_t size, char *buf)
{
	size_t n;

	if (!f->chunk || off < f->chunk_off || off >= f->chunk_off + f->chunk_len)
		return 0;
	n = (size_t)(f->chunk_off + f->chunk_len - off);
	if (n > size)
		n = size;
	memcpy(buf, f->chunk + (off - f->chunk_off), n);
	return n;
}

/* Fetches the aligned chunk holding off and makes it f's cached chunk. A
 * server that sends less than RFC822.SIZE promised gets zeros, so that a
 * file always reads as many bytes as stat says. */
static int fetch_chunk(struct model *m, struct model_file *f, uint64_t off)
{
	uint64_t start = off - off % MODEL_CHUNK;
	uint64_t want = f->size - start < MODEL_CHUNK ? f->size - start : MODEL_CHUNK;
	struct fetch_req req = { .section = "", .off = start, .len = want };
	char *chunk;
	int rc;

	rc = fetch_section(m, f->ino, &req);
	if (rc)
		return rc;
	chunk = calloc(1, (size_t)want + 1);
	if (!chunk) {
		free(req.data);
		return -ENOMEM;
	}
	if (req.n != want)
		log_msg(LOG_WARNING, "UID %u: server sent %zu bytes at %llu, expected %llu",
			ino_uid(f->ino), req.n, (unsigned long long)start,
			(unsigned long long)want);
	memcpy(chunk, req.data, req.n < want ? req.n : (size_t)want);
	free(req.data);
	pthread_mutex_lock(&f->lock);
	free(f->chunk);
	f->chunk = chunk;
	f->chunk_off = start;
	f->chunk_len = (size_t)want;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int model_read(struct model *m, struct model_file *f, uint64_t off, size_t size, char *buf,
	       size_t *n)
{
	size_t done = 0, got;
	int rc;

	if (off >= f->size) {
		*n = 0;
		return 0;
	}
	if (size > f->size - off)
		size = (size_t)(f->size - off);
	while (done < size) {
		pthread_mutex_lock(&f->lock);
		got = copy_cached(f, off + done, size - done, buf + done);
		pthread_mutex_unlock(&f->lock);
		if (got) {
			done += got;
			continue;
		}
		if (ino_type(f->ino) == INO_HEADER)
			break; /* all of it is cached; nothing more to fetch */
		rc = fetch_chunk(m, f, off + done);
		if (rc)
			return done ? (*n = done, 0) : rc;
	}
	*n = done;
	return 0;
}

void model_release(struct model_file *f)
{
	if (!f)
		return;
	free(f->chunk);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* ---- extended attributes -------------------------------------------------- */

static const char *const msg_xattrs[] = {
	"user.imap.flags", "user.imap.uid", "user.imap.internaldate", "user.imap.size",
};

int model_listxattr(struct model *m, uint64_t ino, char **list, size_t *len)
{
	struct stat st;
	size_t total = 0;
	int rc = model_getattr(m, ino, &st);

	if (rc)
		return rc;
	*len = 0;
	*list = NULL;
	if (ino_type(ino) != INO_MSG)
		return 0;
	for (size_t i = 0; i < sizeof(msg_xattrs) / sizeof(*msg_xattrs); i++)
		total += strlen(msg_xattrs[i]) + 1;
	*list = malloc(total);
	if (!*list)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(msg_xattrs) / sizeof(*msg_xattrs); i++) {
		memcpy(*list + *len, msg_xattrs[i], strlen(msg_xattrs[i]) + 1);
		*len += strlen(msg_xattrs[i]) + 1;
	}
	return 0;
}

/* The text of one message xattr. Caller holds the lock; msg is current. */
static char *xattr_text(const struct msg *msg, const char *name)
{
	char buf[64];
	struct tm tm;

	if (strcmp(name, "user.imap.flags") == 0)
		return strdup(msg->flags ? msg->flags : "");
	if (strcmp(name, "user.imap.uid") == 0) {
		snprintf(buf, sizeof(buf), "%u", msg->uid);
	} else if (strcmp(name, "user.imap.size") == 0) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)msg->size);
	} else if (strcmp(name, "user.imap.internaldate") == 0) {
		/* IMAP's own date-time spelling, in UTC. */
		if (!gmtime_r(&msg->date, &tm) ||
		    !strftime(buf, sizeof(buf), "%d-%b-%Y %H:%M:%S +0000", &tm))
			return NULL;
	} else {
		errno = ENODATA;
		return NULL;
	}
	return strdup(buf);
}

int model_getxattr(struct model *m, uint64_t ino, const char *name, char **value, size_t *len)
{
	struct stat st;
	struct msg *msg;
	uint32_t id = ino_mbox(ino);
	int rc = model_getattr(m, ino, &st);

	if (rc)
		return rc;
	if (ino_type(ino) != INO_MSG)
		return -ENODATA;
	pthread_mutex_lock(&m->lock);
	/* Flags are the one thing other clients change: answer from a listing
	 * no older than MODEL_FRESH_MS. */
	if (strcmp(name, "user.imap.flags") == 0)
		rc = ensure_loaded(m, id, true);
	msg = rc == 0 ? msg_find(&m->mbox[id], ino_uid(ino)) : NULL;
	if (!msg) {
		pthread_mutex_unlock(&m->lock);
		return rc ? rc : -ENOENT;
	}
	errno = ENOMEM;
	*value = xattr_text(msg, name);
	rc = *value ? 0 : -errno;
	pthread_mutex_unlock(&m->lock);
	if (rc == 0)
		*len = strlen(*value);
	return rc;
}

double model_timeout(uint64_t ino)
{
	switch (ino_type(ino)) {
	case INO_EML:
	case INO_HEADER:
		return 86400.0; /* content never changes under a UID */
	default:
		return 1.0;     /* listings and flags do */
	}
}
