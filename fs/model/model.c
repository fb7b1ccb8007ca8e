#include "model_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "inode.h"
#include "log.h"
#include "mbox_names.h"
#include "request.h"
#include "summary.h"
#include "utf7.h"
#include "work_queue.h"




struct model *model_new(struct source *source, struct store *store, struct meta_cache *meta,
			unsigned workers)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (tree_init(m) != 0 || search_init(m) != 0 || clock_cond_init(&m->loaded) != 0) {
		search_free(m);
		tree_free(m);
		free(m);
		return NULL;
	}
	m->source = source;
	m->store = store;
	m->meta = meta;
	m->prefetch = prefetch_new(source, store, workers);
	m->open_cache = open_cache_new();
	m->appends = append_area_new(m);
	m->info = server_info_new();
	m->namespaces = imap_namespaces_new();
	if (!m->prefetch || !m->open_cache || !m->appends || !m->info || !m->namespaces) {
		imap_namespaces_free(m->namespaces);
		server_info_free(m->info);
		append_area_free(m->appends);
		prefetch_free(m->prefetch);
		open_cache_free(m->open_cache);
		pthread_cond_destroy(&m->loaded);
		search_free(m);
		tree_free(m);
		free(m);
		return NULL;
	}
	m->mounted_at = time(NULL);
	m->uid = getuid();
	m->gid = getgid();
	dir_changed(m, 0);
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->dir_lock, NULL);
	pthread_mutex_init(&m->raws.lock, NULL);
	/* One thread: saves of a mailbox go out in order. None: they wait. */
	m->saver = meta ? work_queue_new(1, save_run, NULL, save_drop) : NULL;
	return m;
}

void msg_clear(struct msg *msg)
{
	free(msg->flags);
	free(msg->header);
	msg_detail_unref(msg->detail);
	if (msg->saved) {
		free(msg->saved->bodystructure);
		free(msg->saved);
	}
	free(msg->env);
	msg->flags = msg->header = msg->env = NULL;
	msg->detail = NULL;
	msg->saved = NULL;
}

struct saved_detail *saved_of(const struct msg_detail *d)
{
	struct saved_detail *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->bodystructure = strdup(msg_detail_bodystructure(d));
	if (!s->bodystructure) {
		free(s);
		return NULL;
	}
	return s;
}

/* Puts a message's parsed detail back to its text form (or drops it, for a
 * large message, whose detail is fetched again when wanted). A request that
 * holds a reference keeps its copy. Caller holds the lock. */
static void demote(struct model *m, uint32_t id, uint32_t uid)
{
	struct msg *msg = id < m->nmbox ? msg_find(&m->mbox[id], uid) : NULL;

	if (!msg || !msg->detail)
		return;
	if (!msg->saved && msg_detail_bodystructure(msg->detail))
		msg->saved = saved_of(msg->detail);
	msg_detail_unref(msg->detail);
	msg->detail = NULL;
}

/* Notes that a message has a parsed detail; the oldest of DETAIL_KEEP goes
 * back to text. Caller holds the lock. */
static void detail_note(struct model *m, uint32_t id, uint32_t uid)
{
	struct kept_detail *k = &m->kept[m->kept_next];

	if (k->uid && !(k->mbox == id && k->uid == uid))
		demote(m, k->mbox, k->uid);
	*k = (struct kept_detail){ .mbox = id, .uid = uid };
	m->kept_next = (m->kept_next + 1) % DETAIL_KEEP;
}

/* A detail the metadata cache kept, parsed now that it is wanted. Caller
 * holds the lock. */
static void restore_detail(struct model *m, uint32_t id, struct msg *msg)
{
	struct saved_detail *s = msg->saved;
	uint32_t uid = msg->uid;

	if (msg->detail || !s)
		return;
	if (!msg->env) {
		/* Kept without its envelope (out of memory then): fetched again. */
		free(s->bodystructure);
		free(s);
		msg->saved = NULL;
		return;
	}
	msg->detail = msg_detail_restore(s->bodystructure, env_subject(msg->env),
					 env_from(msg->env), env_message_id(msg->env));
	if (msg->detail)
		detail_note(m, id, uid); /* may demote another message, never this one */
}

void msgs_free(struct msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		msg_clear(&msgs[i]);
	free(msgs);
}

void model_free(struct model *m)
{
	if (!m)
		return;
	if (m->primed)
		pthread_join(m->primer, NULL); /* ends at once once the source stopped */
	prefetch_free(m->prefetch);
	open_cache_free(m->open_cache);
	append_area_free(m->appends);
	server_info_free(m->info);
	imap_namespaces_free(m->namespaces);
	for (size_t i = 0; i < DIR_CACHE; i++)
		model_dir_free(m->dirs[i].d);
	pthread_mutex_destroy(&m->dir_lock);
	for (size_t i = 0; i < RAW_CACHE; i++)
		raw_put(m->raws.e[i].buf);
	pthread_mutex_destroy(&m->raws.lock);
	work_queue_free(m->saver); /* a save it did not run is written below */
	pthread_mutex_lock(&m->lock);
	save_all(m);
	pthread_mutex_unlock(&m->lock);
	search_free(m);
	tree_free(m);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->loaded);
	free(m);
}

/* ---- listing the mailboxes (tree.c keeps the tree) ------------------------ */

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
	if (!utf8[0])
		goto fail; /* an empty name (a server's NIL-like answer) is no level */
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
	size_t unshown;           /* mailboxes past the last mailbox id */
};

static void on_list(void *ud, const char *wire, char delim, unsigned attrs)
{
	struct list_ctx *ctx = ud;
	struct model *m = ctx->m;
	char *path = shown_path(wire, delim);
	uint32_t id;
	int rc;

	if (!path) {
		log_msg(LOG_WARNING, "mailbox '%s' cannot be shown (empty level)", wire);
		return;
	}
	pthread_mutex_lock(&m->lock);
	rc = tree_recently_gone(m, path) ? 1 : mbox_node(m, path, &id);
	if (rc == 1) {
		/* removed here; the server's list may lag behind */
	} else if (rc == -ENOSPC) {
		ctx->unshown++;
	} else if (rc) {
		ctx->err = rc;
	} else if (!(attrs & IMAP_MBOX_NOSELECT)) {
		struct mbox *b = &m->mbox[id];

		if (!b->wire || strcmp(b->wire, wire) != 0) {
			free(b->wire);
			b->wire = strdup(wire);
			b->loaded = false;
			rights_forget(b);
		}
		b->seen = b->wire != NULL;
		b->delim = delim;
		b->attrs = attrs;
	} else {
		/* A \Noselect level still shows as a directory. */
		m->mbox[id].seen = true;
		m->mbox[id].delim = delim;
		m->mbox[id].attrs = attrs;
	}
	pthread_mutex_unlock(&m->lock);
	free(path);
}

static int run_list(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	(void)st;
	/* Other users' and public mailboxes too (acl.h), where "*" leaves them out. */
	return imap_list_all(((struct list_ctx *)ud)->m->namespaces, c, on_list, ud);
}

/* LISTs the server when never done or stale (force: on readdir). */
static int ensure_listed(struct model *m, bool force)
{
	struct list_ctx ctx = { .m = m, .err = 0 };
	struct source_cmd cmd = { .fn = run_list, .ud = &ctx };
	bool listed, waited, tell;
	uint64_t gen;
	int rc;

	pthread_mutex_lock(&m->lock);
	/* A first listing under way is waited for (it brings what this thread
	 * would fetch); a refresh under way is not: the names known serve. */
	waited = !m->listed && m->listing;
	rc = waited ? wait_listing(m, 0) : 0;
	if (rc == 0 && waited && !m->listed)
		rc = -EIO; /* the listing waited for failed: not tried again at once */
	if (rc || (m->listed && (!force || clock_ms_since(&m->listed_at) < MODEL_FRESH_MS ||
				 m->listing))) {
		pthread_mutex_unlock(&m->lock);
		return rc;
	}
	m->listing = true;
	for (size_t i = 1; i < m->nmbox; i++)
		m->mbox[i].seen = false;
	gen = m->tree_gen;
	pthread_mutex_unlock(&m->lock);

	rc = source_run(m->source, &cmd);

	pthread_mutex_lock(&m->lock);
	m->listing = false;
	/* A mailbox this mount created, deleted or renamed meanwhile may be
	 * missing from (or still in) the answer: the next LIST shows it. */
	if (rc == 0 && ctx.err == 0 && (gen == m->tree_gen || !m->listed)) {
		m->listed = true;
		clock_gettime(CLOCK_MONOTONIC, &m->listed_at);
		tree_apply(m);
	}
	listed = m->listed;
	tell = ctx.unshown && !m->ids_out_told; /* once a mount */
	m->ids_out_told = m->ids_out_told || tell;
	pthread_cond_broadcast(&m->loaded);
	pthread_mutex_unlock(&m->lock);
	if (tell)
		log_msg(LOG_WARNING, "%zu mailboxes not shown: a mount shows %u mailbox ids at most",
			ctx.unshown, INO_MAX_MBOX);
	if (rc) {
		log_msg(LOG_ERR, "cannot list mailboxes: %s", strerror(-rc));
		return listed ? 0 : -EIO; /* stale beats nothing */
	}
	return ctx.err;
}

/* ---- message lists (see model_sync.c for how they are fetched) ---------- */

int cmp_msg(const void *a, const void *b)
{
	uint32_t x = ((const struct msg *)a)->uid, y = ((const struct msg *)b)->uid;

	return x < y ? -1 : x > y;
}

struct msg *msg_find(const struct mbox *b, uint32_t uid)
{
	struct msg key = { .uid = uid };

	if (!b->msgs)
		return NULL;
	return bsearch(&key, b->msgs, b->nmsgs, sizeof(*b->msgs), cmp_msg);
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

static void stat_dir_ts(const struct model *m, struct stat *st, uint64_t ino,
			const struct timespec *t)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFDIR | (m->read_only ? 0555 : 0755);
	st->st_nlink = 2;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_mtim = st->st_ctim = st->st_atim = *t;
}

static void stat_dir(const struct model *m, struct stat *st, uint64_t ino, time_t t)
{
	struct timespec ts = { .tv_sec = t };

	stat_dir_ts(m, st, ino, &ts);
}

void mtime_bump(struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	/* Strictly later, or the kernel would not see a change. */
	if (now.tv_sec < t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec <= t->tv_nsec)) {
		now = *t;
		if (++now.tv_nsec == 1000000000) {
			now.tv_sec++;
			now.tv_nsec = 0;
		}
	}
	*t = now;
}

void dir_changed(struct model *m, uint32_t id)
{
	mtime_bump(id ? &m->mbox[id].changed : &m->root_changed);
	if (id)
		listing_touched(m, id);
}

void listing_touched(struct model *m, uint32_t id)
{
	struct mbox *b = &m->mbox[id];

	b->gen++;
	if (b->summary_mtime.tv_sec || b->summary_mtime.tv_nsec)
		inval_inode(m->inval, ino_make(INO_SUMMARY, b->view, 0, 0));
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

uint32_t msg_mbox(const struct model *m, uint64_t ino)
{
	uint32_t v = ino_mbox(ino), id;

	if (v == 0 || v >= m->nmbox)
		return 0;
	id = m->mbox[v].view_of ? m->mbox[v].view_of : v;
	return m->mbox[id].view == v ? id : 0;
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

/* ---- message details ------------------------------------------------------ */

/* Which messages to ask details of with ino's: it and the ones after it
 * that have none yet (a reader walking the mailbox wants them next). Caller
 * holds the lock; msg is ino's. */
static size_t detail_batch(struct mbox *b, struct msg *msg, uint32_t *uids, bool *small)
{
	size_t n = 0;

	for (size_t i = (size_t)(msg - b->msgs); i < b->nmsgs && n < DETAIL_BATCH; i++) {
		if (b->msgs[i].detail || b->msgs[i].saved)
			continue;
		uids[n] = b->msgs[i].uid;
		small[n++] = b->msgs[i].size <= SMALL_MAX;
	}
	return n;
}

/* Hands the fetched details to their messages (those still there). */
static void detail_install(struct model *m, uint32_t id, const uint32_t *uids,
			   struct msg_detail **ds, size_t n)
{
	bool envs = false;

	for (size_t i = 0; i < n; i++) {
		struct msg *msg = ds[i] ? msg_find(&m->mbox[id], uids[i]) : NULL;

		if (msg && !msg->detail) {
			msg->detail = msg_detail_ref(ds[i]);
			detail_note(m, id, uids[i]);
		}
		if (msg && env_keep(msg, msg_detail_subject(ds[i]), msg_detail_from(ds[i]),
				    msg_detail_message_id(ds[i])))
			envs = true;
		if (i > 0)
			msg_detail_unref(ds[i]);
	}
	if (envs)
		listing_touched(m, id); /* once: see fetch_envs */
}

int detail_get(struct model *m, uint64_t ino, struct msg_detail **out)
{
	uint32_t id, uidvalidity, uids[DETAIL_BATCH];
	struct msg_detail *ds[DETAIL_BATCH];
	bool small[DETAIL_BATCH];
	struct msg *msg;
	char *wire = NULL;
	size_t n = 0;
	bool fresh;
	int rc;

	pthread_mutex_lock(&m->lock);
	id = msg_mbox(m, ino);
	msg = id ? msg_find(&m->mbox[id], ino_uid(ino)) : NULL;
	if (msg) {
		restore_detail(m, id, msg);
		msg = msg_find(&m->mbox[id], ino_uid(ino));
	}
	*out = msg ? msg_detail_ref(msg->detail) : NULL;
	if (msg && !*out) {
		n = detail_batch(&m->mbox[id], msg, uids, small);
		wire = strdup(m->mbox[id].wire);
	}
	uidvalidity = msg ? m->mbox[id].uidvalidity : 0;
	pthread_mutex_unlock(&m->lock);
	if (*out || !msg)
		return *out ? 0 : -ENOENT;
	if (!wire)
		return -ENOMEM;
	rc = msg_details_fetch(m->source, wire, uidvalidity, uids, small, n, ds);
	free(wire);
	pthread_mutex_lock(&m->lock);
	/* Only into the generation they were fetched for: the mailbox may have
	 * been listed again under another UIDVALIDITY meanwhile. */
	fresh = rc == 0 && m->mbox[id].uidvalidity == uidvalidity;
	if (fresh) {
		detail_install(m, id, uids, ds, n);
		m->mbox[id].dirty = true;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc == 0 && !fresh) {
		for (size_t i = 0; i < n; i++)
			msg_detail_unref(ds[i]);
		return -ENOENT;
	}
	if (rc == -ESTALE) {
		mbox_stale(m, id);
		return -ENOENT;
	}
	if (rc)
		return rc;
	*out = ds[0];
	return ds[0] ? 0 : -ENOENT;
}

_Static_assert(PART_MAX_PARTS <= 0xfff, "a part's index must fit the inode's 12-bit sub field");
const struct mime_part *detail_part(const struct msg_detail *d, uint32_t sub)
{
	const struct part_tree *t = msg_detail_tree(d);

	if (!t || sub >= part_tree_count(t))
		return NULL;
	return part_tree_get(t, sub);
}

/* ---- attributes ----------------------------------------------------------- */

int msg_facts(struct model *m, uint64_t ino, struct msg *facts)
{
	uint32_t id = msg_mbox(m, ino);
	struct msg *msg;

	if (!id || !mbox_visible(m, id))
		return -ENOENT;
	msg = msg_find(&m->mbox[id], ino_uid(ino));
	if (!msg)
		return -ENOENT;
	*facts = *msg;
	facts->flags = NULL;
	facts->header = NULL;
	facts->detail = NULL;
	return 0;
}

/* Attributes known from the tables alone; 1 when a message file needs more
 * (a fetch, a part tree), with its facts in *facts. Caller holds the lock. */
static int attr_locked(struct model *m, uint64_t ino, struct stat *st, struct msg *facts)
{
	uint32_t id;
	int rc;

	switch (ino_type(ino)) {
	case INO_ROOT:
		stat_dir_ts(m, st, ino, &m->root_changed);
		return ino == 1 ? 0 : -ENOENT;
	case INO_MBOX:
		rc = mbox_of(m, ino, &id);
		if (rc == 0) {
			stat_dir_ts(m, st, ino, &m->mbox[id].changed);
			st->st_mode = S_IFDIR | rights_mode(m, id);
		}
		return rc;
	case INO_MSG:
	case INO_EML:
		rc = msg_facts(m, ino, facts);
		if (rc == 0 && ino_type(ino) == INO_MSG)
			stat_dir(m, st, ino, facts->date);
		else if (rc == 0)
			stat_file(m, st, ino, facts->date, facts->size);
		return rc;
	case INO_HEADER:
	case INO_PART:
	case INO_CONTENT:
	case INO_PEML:
	case INO_PHEADER:
		rc = msg_facts(m, ino, facts);
		return rc ? rc : 1;
	default:
		return -ENOENT;
	}
}

/* Attributes of the files below a message that need its part tree or a fetch. */
static int attr_fetched(struct model *m, uint64_t ino, struct stat *st, time_t date)
{
	const struct mime_part *p;
	struct msg_detail *d;
	uint64_t size = 0;
	char *header = NULL;
	size_t len = 0;
	int rc;

	if (ino_type(ino) == INO_HEADER || ino_type(ino) == INO_PHEADER) {
		rc = header_get(m, ino, &header, &len);
		if (rc == 0)
			stat_file(m, st, ino, date, len);
		free(header);
		return rc;
	}
	rc = detail_get(m, ino, &d);
	if (rc)
		return rc;
	p = ino_sub(ino) ? detail_part(d, ino_sub(ino)) : NULL;
	if (!p)
		rc = -ENOENT;
	else if (ino_type(ino) == INO_PART)
		stat_dir(m, st, ino, date);
	else if (ino_type(ino) == INO_PEML && p->is_message &&
		 (rc = embedded_size(m, ino, d, &size)) == 0)
		stat_file(m, st, ino, date, size);
	else if (ino_type(ino) == INO_CONTENT && p->is_leaf &&
		 (rc = content_size(m, ino, d, &size)) == 0)
		stat_file(m, st, ino, date, size);
	else if (rc == 0)
		rc = -ENOENT;
	msg_detail_unref(d);
	return rc;
}

int model_getattr(struct model *m, uint64_t ino, struct stat *st)
{
	struct msg facts;
	int rc;

	if (ino_type(ino) == INO_STAGE)
		return append_getattr(m, ino, st);
	if (ino_type(ino) == INO_SUMMARY)
		return summary_getattr(m, ino, st);
	if (ino_type(ino) == INO_SEARCHES || ino_type(ino) == INO_SEARCH ||
	    ino_type(ino) == INO_LINK)
		return search_getattr(m, ino, st);
	pthread_mutex_lock(&m->lock);
	rc = attr_locked(m, ino, st, &facts);
	pthread_mutex_unlock(&m->lock);
	return rc == 1 ? attr_fetched(m, ino, st, facts.date) : rc;
}

bool model_attr_cheap(struct model *m, uint64_t ino)
{
	switch (ino_type(ino)) {
	case INO_MSG:
		/* Cheap, but 10,000 of them make the kernel build as many inodes
		 * for a plain ls: left to lookup. */
		return false;
	case INO_HEADER:
		return msg_whole_here(m, ino);
	case INO_SUMMARY:
		return false; /* it needs every envelope: left to lookup */
	case INO_SEARCH:
		return false; /* it may need the server */
	default:
		return true;
	}
}

/* ---- names ---------------------------------------------------------------- */

static int lookup_in_mbox(struct model *m, uint32_t parent, const char *name, uint64_t *ino)
{
	uint32_t child = mbox_child(m, parent, name), uid;
	int rc;

	if (child) {
		*ino = ino_make(INO_MBOX, child, 0, 0);
		return 0;
	}
	if (strcmp(name, SEARCH_NAME) == 0 && (parent == 0 || m->mbox[parent].wire)) {
		*ino = ino_make(INO_SEARCHES, parent, 0, 0);
		return 0;
	}
	if (parent && m->mbox[parent].wire && strcmp(name, SUMMARY_NAME) == 0) {
		*ino = ino_make(INO_SUMMARY, m->mbox[parent].view, 0, 0);
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
	*ino = ino_make(INO_MSG, m->mbox[parent].view, uid, 0);
	return 0;
}

/* The index of the part a message or part directory stands for (0: the
 * message itself). */
static uint32_t part_index(uint64_t ino)
{
	return ino_type(ino) == INO_MSG ? 0 : ino_sub(ino);
}

/* Names inside a message or part directory: message.eml and header of a
 * message, the content file of a leaf, and part directories. */
static int lookup_in_part(struct model *m, uint64_t parent, const char *name, uint64_t *ino)
{
	uint32_t i = part_index(parent);
	const struct mime_part *p;
	struct msg_detail *d;
	size_t child;
	int rc;

	if (i == 0 && (strcmp(name, "message.eml") == 0 || strcmp(name, "header") == 0)) {
		/* No part tree needed: these are the message's own. */
		*ino = ino_sibling(parent, name[0] == 'm' ? INO_EML : INO_HEADER, 0);
		return 0;
	}
	if (ino_type(parent) == INO_PART && i == 0)
		return -ENOENT;
	rc = detail_get(m, parent, &d);
	if (rc)
		return rc;
	p = detail_part(d, i);
	rc = 0;
	if (p && i && p->is_message && strcmp(name, "message.eml") == 0)
		*ino = ino_sibling(parent, INO_PEML, i);
	else if (p && i && p->is_message && strcmp(name, "header") == 0)
		*ino = ino_sibling(parent, INO_PHEADER, i);
	else if (p && p->is_leaf && strcmp(name, p->filename) == 0)
		*ino = ino_sibling(parent, INO_CONTENT, i);
	else if (p && (child = part_tree_child(msg_detail_tree(d), i, name)) != 0)
		*ino = ino_sibling(parent, INO_PART, (uint32_t)child);
	else
		rc = -ENOENT;
	msg_detail_unref(d);
	return rc;
}

int model_lookup(struct model *m, uint64_t parent, const char *name, struct stat *st)
{
	uint64_t ino = 0;
	uint32_t id = 0;
	int rc;

	rc = ensure_listed(m, false);
	if (rc)
		return rc;
	/* A file being appended (append.c). */
	if (ino_type(parent) == INO_MBOX && append_lookup(m, ino_mbox(parent), name, &ino) == 0)
		return append_getattr(m, ino, st);
	switch (ino_type(parent)) {
	case INO_ROOT:
	case INO_MBOX:
		pthread_mutex_lock(&m->lock);
		if (ino_type(parent) == INO_ROOT)
			rc = parent == 1 ? 0 : -ENOENT;
		else
			rc = mbox_of(m, parent, &id);
		if (rc == 0)
			rc = lookup_in_mbox(m, id, name, &ino);
		pthread_mutex_unlock(&m->lock);
		break;
	case INO_MSG:
	case INO_PART:
		rc = lookup_in_part(m, parent, name, &ino);
		break;
	case INO_SEARCHES:
	case INO_SEARCH:
		rc = search_lookup(m, parent, name, &ino);
		break;
	default:
		rc = -ENOTDIR;
	}
	return rc ? rc : model_getattr(m, ino, st);
}

/* ---- directories ---------------------------------------------------------- */

int dir_add(struct model_dir *d, size_t *cap, const char *name, uint64_t ino, mode_t type)
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

	for (uint32_t c = m->mbox[id].first_child; c && rc == 0; c = m->mbox[c].next_sibling)
		if (mbox_visible(m, c))
			rc = dir_add(d, cap, m->mbox[c].leaf, ino_make(INO_MBOX, c, 0, 0), S_IFDIR);
	if (rc == 0 && (id == 0 || m->mbox[id].wire))
		rc = dir_add(d, cap, SEARCH_NAME, ino_make(INO_SEARCHES, id, 0, 0), S_IFDIR);
	if (id == 0 || rc)
		return rc;
	rc = ensure_loaded(m, id, true);
	if (rc == 0 && m->mbox[id].wire)
		rc = dir_add(d, cap, SUMMARY_NAME, ino_make(INO_SUMMARY, m->mbox[id].view, 0, 0),
			     S_IFREG);
	for (size_t i = 0; rc == 0 && i < m->mbox[id].nmsgs; i++) {
		uint32_t u = m->mbox[id].msgs[i].uid;

		snprintf(uid, sizeof(uid), "%u", u);
		rc = dir_add(d, cap, uid, ino_make(INO_MSG, m->mbox[id].view, u, 0), S_IFDIR);
	}
	return rc;
}

static int list_part(struct model *m, uint64_t ino, struct model_dir *dir, size_t *cap)
{
	uint32_t i = part_index(ino);
	const struct part_tree *t;
	const struct mime_part *p;
	struct msg_detail *d;
	int rc;

	if (ino_type(ino) == INO_PART && i == 0)
		return -ENOENT;
	rc = detail_get(m, ino, &d);
	if (rc)
		return rc;
	t = msg_detail_tree(d);
	p = detail_part(d, i);
	if (i == 0 || (p && p->is_message)) {
		rc = dir_add(dir, cap, "message.eml", ino_sibling(ino, i ? INO_PEML : INO_EML, i),
			     S_IFREG);
		if (rc == 0)
			rc = dir_add(dir, cap, "header",
				     ino_sibling(ino, i ? INO_PHEADER : INO_HEADER, i), S_IFREG);
	} else if (!p) {
		rc = -ENOENT;
	}
	if (rc == 0 && p && p->is_leaf)
		rc = dir_add(dir, cap, p->filename, ino_sibling(ino, INO_CONTENT, i), S_IFREG);
	for (size_t j = 1; rc == 0 && p && j < part_tree_count(t); j++)
		if (part_tree_get(t, j)->parent == i)
			rc = dir_add(dir, cap, part_tree_get(t, j)->dirname,
				     ino_sibling(ino, INO_PART, (uint32_t)j), S_IFDIR);
	msg_detail_unref(d);
	return rc;
}

struct dir_fill {
	struct model_dir *d;
	size_t *cap;
};

static int add_file(void *ud, const char *name, uint64_t ino)
{
	struct dir_fill *f = ud;

	return dir_add(f->d, f->cap, name, ino, S_IFREG);
}

/* Mailbox levels and the root, from the tables; files being appended. */
static int list_locked(struct model *m, uint64_t ino, struct model_dir *d, size_t *cap)
{
	struct dir_fill fill = { .d = d, .cap = cap };
	uint32_t id = 0;
	int rc;

	pthread_mutex_lock(&m->lock);
	if (ino_type(ino) == INO_ROOT)
		rc = ino == 1 ? 0 : -ENOENT;
	else
		rc = mbox_of(m, ino, &id);
	if (rc == 0)
		rc = list_mbox(m, id, d, cap);
	pthread_mutex_unlock(&m->lock);
	if (rc == 0 && id)
		rc = append_list(m, id, add_file, &fill);
	return rc;
}

static int model_readdir(struct model *m, uint64_t ino, bool fresh, struct model_dir **out)
{
	struct model_dir *d = calloc(1, sizeof(*d));
	size_t cap = 0;
	int rc;

	if (!d)
		return -ENOMEM;
	d->refs = 1;
	rc = ensure_listed(m, ino_type(ino) == INO_ROOT);
	if (rc == 0)
		rc = dir_add(d, &cap, ".", ino, S_IFDIR);
	if (rc == 0)
		rc = dir_add(d, &cap, "..", 1, S_IFDIR);
	if (rc == 0) {
		switch (ino_type(ino)) {
		case INO_ROOT:
		case INO_MBOX:
			rc = list_locked(m, ino, d, &cap);
			break;
		case INO_MSG:
		case INO_PART:
			rc = list_part(m, ino, d, &cap);
			break;
		case INO_SEARCHES:
		case INO_SEARCH:
			rc = search_list(m, ino, fresh, d, &cap);
			break;
		default:
			rc = -ENOTDIR;
		}
	}
	if (rc) {
		model_dir_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void model_dir_free(struct model_dir *d)
{
	if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	free(d);
}

/* The first LIST, in a thread of its own: requests wait for it at most
 * their own deadline (wait_listing) while it may take LIST_AT_MOUNT_MS. */
static void *prime(void *arg)
{
	struct model *m = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	request_begin(LIST_AT_MOUNT_MS);
	ensure_listed(m, false);
	return NULL;
}

void model_prime(struct model *m)
{
	m->primed = pthread_create(&m->primer, NULL, prime, m) == 0;
	if (!m->primed)
		ensure_listed(m, false); /* the first request's time, then */
}

void model_set_inval(struct model *m, struct inval *iv)
{
	pthread_mutex_lock(&m->lock);
	m->inval = iv;
	pthread_mutex_unlock(&m->lock);
}

double model_timeout(uint64_t ino)
{
	switch (ino_type(ino)) {
	case INO_MSG:     /* its mtime is INTERNALDATE; an expunge is told (inval) */
	case INO_EML:
	case INO_HEADER:
	case INO_PART:
	case INO_CONTENT:
	case INO_PEML:
	case INO_PHEADER:
		return 86400.0; /* content and structure never change under a UID */
	case INO_STAGE:
		return 0.0;     /* written, renamed, gone once appended */
	default:
		return 1.0;     /* listings and flags do */
	}
}

/* ---- reads without an open directory ----------------------------------------- */

/* A snapshot for ino with a reference for the caller, or NULL. Locked. */
static struct model_dir *snapshot_find(struct model *m, uint64_t ino)
{
	for (size_t i = 0; i < DIR_CACHE; i++) {
		if (m->dirs[i].d && m->dirs[i].ino == ino) {
			m->dirs[i].used = ++m->dir_tick;
			__atomic_add_fetch(&m->dirs[i].d->refs, 1, __ATOMIC_RELAXED);
			return m->dirs[i].d;
		}
	}
	return NULL;
}

/* Keeps d as ino's snapshot, in its old slot or the least recently used. Locked. */
static void snapshot_keep(struct model *m, uint64_t ino, struct model_dir *d)
{
	size_t at = 0;

	for (size_t i = 0; i < DIR_CACHE; i++) {
		if (m->dirs[i].d && m->dirs[i].ino == ino) {
			at = i;
			break;
		}
		if (m->dirs[i].used < m->dirs[at].used)
			at = i;
	}
	model_dir_free(m->dirs[at].d);
	__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	m->dirs[at] = (struct dir_snapshot){ .ino = ino, .d = d, .used = ++m->dir_tick };
}

int model_readdir_at(struct model *m, uint64_t ino, uint64_t off, struct model_dir **out)
{
	struct model_dir *d = NULL;
	int rc;

	if (off > 0) {
		pthread_mutex_lock(&m->dir_lock);
		d = snapshot_find(m, ino);
		pthread_mutex_unlock(&m->dir_lock);
	}
	if (!d) {
		rc = model_readdir(m, ino, off == 0, &d);
		if (rc)
			return rc;
		pthread_mutex_lock(&m->dir_lock);
		snapshot_keep(m, ino, d);
		pthread_mutex_unlock(&m->dir_lock);
	}
	*out = d;
	return 0;
}

int model_refresh(struct model *m, uint64_t ino)
{
	uint32_t id;
	int rc;

	if (ino_type(ino) == INO_ROOT)
		return ensure_listed(m, true);
	if (ino_type(ino) == INO_SEARCH)
		return search_refresh(m, ino);
	if (ino_type(ino) != INO_MBOX)
		return 0;
	rc = ensure_listed(m, false);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	rc = mbox_of(m, ino, &id);
	if (rc == 0)
		rc = ensure_loaded(m, id, true);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int model_readlink(struct model *m, uint64_t ino, char **target)
{
	return search_readlink(m, ino, target);
}
