/*
 * search — `.search/<keys>/` directories (README "Searching"): the server
 * runs UID SEARCH of the keys the name holds (imap/search.h, parsed first
 * by imap/search_keys.h: a name that does not parse answers ENOENT and is
 * never sent), and the directory shows a symlink per hit. In a mailbox,
 * `.search/<keys>/UID` points at `../../UID`; at the top, every mailbox is
 * searched (one command per mailbox, several connections at once) and the
 * hits show nested like the mount, `.search/<keys>/A/B/UID` pointing up to
 * the root and down to `A/B/UID`.
 *
 * The searches looked up lately are kept (SEARCH_KEEP, the least used
 * goes), each with its hits; a search older than SEARCH_FRESH_MS is sent
 * again when the kernel asks the directory's attributes or lists it from
 * the start. Hits are shown only while the listing holds them, so an
 * expunged message never shows; a hit the listing lacks brings it up to
 * date. One thread runs a search, others wait for its answer.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "model_int.h"
#include "request.h"
#include "imap_search.h"
#include "search_keys.h"

/* Searches kept: their directories stay valid while kept. */
#define SEARCH_KEEP 64
/* A search older than this is sent again when looked at. */
#define SEARCH_FRESH_MS 2000
/* A link's target: up to the root, the path, the UID. */
#define TARGET_MAX 4096
/* Hits one search may have in all its mailboxes: an answer with more
 * (a hostile "1:4294967295" would be 16 GiB of UIDs) fails with EIO. */
#define SEARCH_HITS_MAX (1u << 20)

struct hit {
	uint32_t mbox;            /* mailbox id (not a view id) */
	uint32_t uid;
	uint32_t uidvalidity;     /* the generation the server answered for */
};

struct search {
	uint32_t id;              /* never reused; 0: an empty slot */
	uint32_t mbox;            /* the mailbox searched; 0: every mailbox */
	char *name;               /* the directory's name, as looked up */
	struct search_keys *keys;
	struct hit *hits;         /* sorted by mailbox, then UID */
	size_t nhits;
	bool computed;
	bool running;             /* a thread asks the server (others wait) */
	struct timespec computed_at;  /* CLOCK_MONOTONIC */
	struct timespec changed;      /* the directory's mtime: what it shows last changed */
	uint64_t shown;               /* shown_digest when last sent */
	uint64_t used;
};

/* Protected by model.lock, every field and every search. */
struct search_table {
	struct search s[SEARCH_KEEP];
	uint32_t last_id;
	uint64_t tick;
	struct timespec changed;  /* the .search directories' mtime */
};

int search_init(struct model *m)
{
	m->searches = calloc(1, sizeof(*m->searches));
	if (!m->searches)
		return -ENOMEM;
	mtime_bump(&m->searches->changed);
	return 0;
}

static void search_clear(struct search *s)
{
	free(s->name);
	search_keys_free(s->keys);
	free(s->hits);
	memset(s, 0, sizeof(*s));
}

void search_free(struct model *m)
{
	if (!m->searches)
		return;
	for (size_t i = 0; i < SEARCH_KEEP; i++)
		search_clear(&m->searches->s[i]);
	free(m->searches);
	m->searches = NULL;
}

/* The search of id, or NULL when no longer kept. Caller holds the lock. */
static struct search *search_by_id(struct model *m, uint32_t id)
{
	for (size_t i = 0; id && i < SEARCH_KEEP; i++)
		if (m->searches->s[i].id == id)
			return &m->searches->s[i];
	return NULL;
}

static struct search *search_by_name(struct model *m, uint32_t mbox, const char *name)
{
	for (size_t i = 0; i < SEARCH_KEEP; i++) {
		struct search *s = &m->searches->s[i];

		if (s->id && s->mbox == mbox && strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

/* A slot for a new search: an empty one, or the least used not running. */
static struct search *search_slot(struct model *m)
{
	struct search *best = NULL;

	for (size_t i = 0; i < SEARCH_KEEP; i++) {
		struct search *s = &m->searches->s[i];

		if (!s->id)
			return s;
		if (!s->running && (!best || s->used < best->used))
			best = s;
	}
	if (best)
		search_clear(best);
	return best;
}

/* Whether mailbox id can be searched (listed, selectable). Locked. */
static bool searchable(const struct model *m, uint32_t id)
{
	return id && id < m->nmbox && !m->mbox[id].gone && !m->mbox[id].view_of &&
	       m->mbox[id].wire && mbox_visible(m, id);
}

/* ---- asking the server ------------------------------------------------------ */

struct one_search {
	uint32_t mbox;
	char *wire;
	uint32_t uidvalidity;     /* out: the generation searched */
	uint32_t *uids;           /* out */
	size_t n, cap;
	size_t counted;           /* UIDs answered, added to *total (even those refused) */
	size_t *total;            /* atomic: the run's UIDs in all its boxes */
	int err;                  /* out: 0 or -errno */
	char why[160];            /* the server's text of a NO or BAD */
	bool bad;                 /* it answered BAD: it refuses these keys */
};

struct search_run {
	const struct search_keys *keys;
	struct source *source;
	struct one_search *boxes;
	size_t nboxes;
	size_t next;              /* atomic: the next box a worker takes */
	size_t total;             /* atomic: UIDs answered, every box (SEARCH_HITS_MAX) */
	long ms;                  /* the request's time left, for workers */
};

static void on_uids(void *ud, uint32_t first, uint32_t last)
{
	struct one_search *o = ud;
	size_t want;

	if (first > last || o->err)
		return;
	want = (size_t)last - first + 1;
	if (want <= SEARCH_HITS_MAX)  /* else the sum might wrap where size_t is 32 bits */
		o->counted += want;
	if (want > SEARCH_HITS_MAX ||
	    __atomic_add_fetch(o->total, want, __ATOMIC_RELAXED) > SEARCH_HITS_MAX) {
		o->err = -EIO;
		snprintf(o->why, sizeof(o->why), "more than %u hits", SEARCH_HITS_MAX);
		return;
	}
	for (uint64_t u = first; u <= last; u++) {
		if (o->n == o->cap) {
			size_t cap = o->cap ? o->cap * 2 : 64;
			uint32_t *grown = realloc(o->uids, cap * sizeof(*grown));

			if (!grown) {
				o->err = -ENOMEM;
				return;
			}
			o->uids = grown;
			o->cap = cap;
		}
		o->uids[o->n++] = (uint32_t)u;
	}
}

struct run_ud {
	struct one_search *o;
	const struct search_keys *keys;
};

static int run_one(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct run_ud *r = ud;
	int rc;

	r->o->n = 0; /* a retry starts afresh */
	r->o->err = 0;
	r->o->why[0] = '\0';
	__atomic_sub_fetch(r->o->total, r->o->counted, __ATOMIC_RELAXED);
	r->o->counted = 0;
	r->o->uidvalidity = st ? st->uidvalidity : 0;
	rc = imap_uid_search(c, r->keys, on_uids, r->o);
	if ((rc == IMAP_ENO || rc == IMAP_EBAD) && !r->o->why[0])
		snprintf(r->o->why, sizeof(r->o->why), "%s", imap_conn_last_text(c));
	r->o->bad = rc == IMAP_EBAD;
	return rc;
}

static void search_box(struct search_run *run, struct one_search *o)
{
	struct run_ud r = { .o = o, .keys = run->keys };
	struct source_cmd cmd = { .mailbox = o->wire, .fn = run_one, .ud = &r };
	int rc = source_run(run->source, &cmd);

	if (rc == 0 && o->err == 0)
		return;
	o->err = rc ? rc : o->err;
	if (o->bad || (rc == -ENOENT && !o->why[0]))
		o->err = -EINVAL; /* the server refused the keys, or the mailbox is gone */
	else if (rc == -ENOENT)
		o->err = -EIO; /* a NO: it cannot search now ([UNAVAILABLE]...) */
}

static void *search_worker(void *arg)
{
	struct search_run *run = arg;
	size_t i;

	request_begin(run->ms);
	while ((i = __atomic_fetch_add(&run->next, 1, __ATOMIC_RELAXED)) < run->nboxes)
		search_box(run, &run->boxes[i]);
	return NULL;
}

/* A worker of its own: signals go to the FUSE session's threads. */
static void *search_thread(void *arg)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	return search_worker(arg);
}

/* Runs every box's search, on up to source_connections() threads. */
static void search_all(struct search_run *run)
{
	unsigned want = source_connections(run->source);
	pthread_t threads[64];
	size_t started = 0;

	run->ms = request_ms_left();
	if (want > 64)
		want = 64;
	if (want > run->nboxes)
		want = (unsigned)run->nboxes;
	/* This thread is one of the workers. */
	while (started + 1 < want &&
	       pthread_create(&threads[started], NULL, search_thread, run) == 0)
		started++;
	search_worker(run);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

/* ---- keeping the answer ------------------------------------------------------ */

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->mbox != y->mbox)
		return x->mbox < y->mbox ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Whether message uid of mailbox id shows: a hit of the generation the
 * listing holds, and in the listing. Locked. */
static bool hit_shows(struct model *m, const struct search *s, uint32_t id, uint32_t uid)
{
	struct hit key = { .mbox = id, .uid = uid }, *h;

	if (!searchable(m, id) || !s->hits)
		return false;
	h = bsearch(&key, s->hits, s->nhits, sizeof(key), cmp_hit);
	return h && (!h->uidvalidity || h->uidvalidity == m->mbox[id].uidvalidity) &&
	       msg_find(&m->mbox[id], uid);
}

/* A digest of the hits that show: when it changes, so does the
 * directory's mtime, and the kernel drops its cached listing (a hit the
 * listing lacked may show now though the server's answer is the same). */
static uint64_t shown_digest(struct model *m, const struct search *s)
{
	uint64_t d = 1469598103934665603u;

	for (size_t i = 0; i < s->nhits; i++) {
		if (!hit_shows(m, s, s->hits[i].mbox, s->hits[i].uid))
			continue;
		d = (d ^ s->hits[i].mbox) * 1099511628211u;
		d = (d ^ s->hits[i].uid) * 1099511628211u;
	}
	return d;
}

/* Sorted hits without repeats (an answer may name a UID twice: "1:5,3",
 * "7 7"; a directory lists each name once); their new count. */
static size_t hits_unique(struct hit *h, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (k == 0 || cmp_hit(&h[k - 1], &h[i]) != 0)
			h[k++] = h[i];
	return k;
}

/* The hits of every box that answered; a box that failed for an outage
 * keeps what it had. -EINVAL when the server refused the keys (every box
 * did), or a box's error when none answered the first time. Locked. */
static int install(struct search *s, struct search_run *run)
{
	size_t cap = s->nhits, n = 0, ok = 0, refused = 0;
	struct hit *hits;
	int err = 0;

	for (size_t i = 0; i < run->nboxes; i++) {
		struct one_search *o = &run->boxes[i];

		if (!o->err) {
			ok++;
			cap += o->n;
			continue;
		}
		refused += o->err == -EINVAL;
		err = o->err;
		log_msg(LOG_NOTICE, "search '%s' in %s failed: %s", s->name, o->wire,
			o->why[0] ? o->why : strerror(-o->err));
	}
	if (run->nboxes && !ok && (refused == run->nboxes || !s->computed))
		return refused == run->nboxes ? -EINVAL : err;
	hits = malloc((cap ? cap : 1) * sizeof(*hits));
	if (!hits)
		return -ENOMEM;
	for (size_t i = 0; i < run->nboxes; i++) {
		struct one_search *o = &run->boxes[i];

		for (size_t j = 0; o->err && o->err != -EINVAL && j < s->nhits; j++)
			if (s->hits[j].mbox == o->mbox)
				hits[n++] = s->hits[j];
		for (size_t j = 0; !o->err && j < o->n; j++)
			hits[n++] = (struct hit){ o->mbox, o->uids[j], o->uidvalidity };
	}
	qsort(hits, n, sizeof(*hits), cmp_hit);
	free(s->hits);
	s->hits = hits;
	s->nhits = hits_unique(hits, n);
	return 0;
}

/* Brings the listing of every mailbox with a hit it lacks (or of another
 * generation) up to date. Locked; released while the server answers. */
static void listings_follow(struct model *m, struct search *s)
{
	uint32_t last = 0;

	for (size_t i = 0; i < s->nhits; i++) {
		uint32_t id = s->hits[i].mbox;

		if (id == last || !searchable(m, id))
			continue;
		if (m->mbox[id].loaded && m->mbox[id].uidvalidity == s->hits[i].uidvalidity &&
		    msg_find(&m->mbox[id], s->hits[i].uid))
			continue;
		last = id;
		ensure_loaded(m, id, true);
		/* The table of hits stays: s is running, so kept. */
	}
}

static void run_free(struct search_run *run)
{
	for (size_t i = 0; i < run->nboxes; i++) {
		free(run->boxes[i].wire);
		free(run->boxes[i].uids);
	}
	free(run->boxes);
}

/* The boxes s searches. Locked. */
static int run_prepare(struct model *m, const struct search *s, struct search_run *run)
{
	size_t n = 0;

	run->keys = s->keys;
	run->source = m->source;
	run->boxes = calloc(m->nmbox ? m->nmbox : 1, sizeof(*run->boxes));
	if (!run->boxes)
		return -ENOMEM;
	for (uint32_t id = s->mbox ? s->mbox : 1; id < m->nmbox; id++) {
		if (searchable(m, id)) {
			run->boxes[n].mbox = id;
			run->boxes[n].total = &run->total;
			run->boxes[n].wire = strdup(m->mbox[id].wire);
			if (!run->boxes[n++].wire) {
				run->nboxes = n;
				return -ENOMEM;
			}
		}
		if (s->mbox)
			break;
	}
	run->nboxes = n;
	return 0;
}

/* Sends search s when never done or older than SEARCH_FRESH_MS (when
 * stale), or waits for the thread that does. Locked; released while the
 * server answers. -ENOENT when s is no longer kept. */
static int search_ensure(struct model *m, uint32_t sid, bool stale)
{
	struct search_run run = { 0 };
	struct timespec until;
	uint64_t digest;
	struct search *s;
	int rc;

	request_deadline(&until);
	while ((s = search_by_id(m, sid)) && s->running)
		if (pthread_cond_timedwait(&m->loaded, &m->lock, &until) == ETIMEDOUT)
			return -EIO;
	if (!s)
		return -ENOENT;
	if (s->computed && (!stale || clock_ms_since(&s->computed_at) < SEARCH_FRESH_MS))
		return 0;
	rc = run_prepare(m, s, &run);
	if (rc) {
		run_free(&run);
		return rc;
	}
	s->running = true;
	pthread_mutex_unlock(&m->lock);
	search_all(&run);
	pthread_mutex_lock(&m->lock);
	rc = install(s, &run);
	if (rc == 0) {
		s->computed = true;
		clock_gettime(CLOCK_MONOTONIC, &s->computed_at);
		listings_follow(m, s);
		digest = shown_digest(m, s);
		if (digest != s->shown)
			mtime_bump(&s->changed);
		s->shown = digest;
	}
	s->running = false;
	pthread_cond_broadcast(&m->loaded);
	run_free(&run);
	return rc;
}

/* ---- names ------------------------------------------------------------------- */

/* Whether directory id (0: the root) has a .search. Locked. */
static bool has_searches(const struct model *m, uint32_t id)
{
	return id == 0 || searchable(m, id);
}

/* A new search called name in mailbox id (0: every one), or the one kept.
 * Locked. */
static int search_make(struct model *m, uint32_t id, const char *name, uint32_t *sid)
{
	struct search_keys *keys = NULL;
	struct search *s = search_by_name(m, id, name);
	char why[160] = "";
	int rc;

	if (s) {
		*sid = s->id;
		return 0;
	}
	rc = search_keys_parse(name, strlen(name), &keys, why, sizeof(why));
	if (rc == -EINVAL) {
		log_msg(LOG_NOTICE, "search '%s' refused: %s", name, why);
		return -ENOENT;
	}
	if (rc)
		return rc;
	s = search_slot(m);
	if (!s) {
		search_keys_free(keys);
		return -EBUSY;
	}
	s->name = strdup(name);
	if (!s->name) {
		search_keys_free(keys);
		return -ENOMEM;
	}
	s->keys = keys;
	s->mbox = id;
	s->id = ++m->searches->last_id;
	s->used = ++m->searches->tick;
	mtime_bump(&s->changed);
	mtime_bump(&m->searches->changed);
	*sid = s->id;
	return 0;
}

/* The search a search directory's inode belongs to, checked: a mailbox
 * level of a top-level search (sub 1) must hold hits. Locked. */
static struct search *search_of(struct model *m, uint64_t ino);

/* The end of the run of hits in the mailbox of hit i. */
static size_t run_end(const struct search *s, size_t i)
{
	size_t lo = i + 1, hi = s->nhits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->hits[mid].mbox == s->hits[i].mbox)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether level id of top-level search s holds hits that show, at it or
 * below: a look at each mailbox with hits, not at each hit. */
static bool level_has_hits(struct model *m, const struct search *s, uint32_t id)
{
	for (size_t i = 0, end; i < s->nhits; i = end) {
		uint32_t p = s->hits[i].mbox;

		end = run_end(s, i);
		while (p && p != id && p < m->nmbox)
			p = m->mbox[p].parent;
		for (size_t j = i; p == id && j < end; j++)
			if (hit_shows(m, s, s->hits[j].mbox, s->hits[j].uid))
				return true;
	}
	return false;
}

static struct search *search_of(struct model *m, uint64_t ino)
{
	struct search *s = search_by_id(m, ino_uid(ino));

	if (!s)
		return NULL;
	if (ino_sub(ino) == 0)
		return s->mbox == ino_mbox(ino) && has_searches(m, s->mbox) ? s : NULL;
	if (s->mbox || ino_mbox(ino) == 0 || ino_mbox(ino) >= m->nmbox ||
	    !mbox_visible(m, ino_mbox(ino)) || !level_has_hits(m, s, ino_mbox(ino)))
		return NULL;
	return s;
}

static bool parse_uid(const char *name, uint32_t *uid)
{
	unsigned long v = 0;

	if (name[0] < '1' || name[0] > '9')
		return false;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9' || (v = v * 10 + (unsigned long)(*p - '0')) > UINT32_MAX)
			return false;
	}
	*uid = (uint32_t)v;
	return true;
}

/* A name in a search directory: a hit's link, or (at the top) a level. */
static int lookup_in_search(struct model *m, uint64_t parent, const char *name, uint64_t *ino)
{
	struct search *s = search_of(m, parent);
	uint32_t level = ino_sub(parent) ? ino_mbox(parent) : 0, id, uid;

	if (!s)
		return -ENOENT;
	s->used = ++m->searches->tick;
	if (!s->mbox && (id = mbox_child(m, level, name)) != 0) {
		if (!level_has_hits(m, s, id))
			return -ENOENT;
		*ino = ino_make(INO_SEARCH, id, s->id, 1);
		return 0;
	}
	id = s->mbox ? s->mbox : level;
	if (!parse_uid(name, &uid) || !hit_shows(m, s, id, uid))
		return -ENOENT;
	*ino = ino_make(INO_LINK, m->mbox[id].view, uid, s->mbox ? 0 : 1);
	return 0;
}

int search_lookup(struct model *m, uint64_t parent, const char *name, uint64_t *ino)
{
	uint32_t id = ino_mbox(parent), sid = 0;
	int rc;

	pthread_mutex_lock(&m->lock);
	if (ino_type(parent) == INO_SEARCH) {
		rc = lookup_in_search(m, parent, name, ino);
		pthread_mutex_unlock(&m->lock);
		return rc;
	}
	rc = has_searches(m, id) ? search_make(m, id, name, &sid) : -ENOENT;
	if (rc == 0)
		rc = search_ensure(m, sid, true);
	if (rc == -EINVAL) {
		/* The server refused these keys: no directory. */
		struct search *s = search_by_id(m, sid);

		if (s && !s->running)
			search_clear(s);
		mtime_bump(&m->searches->changed);
		rc = -ENOENT;
	}
	if (rc == 0)
		*ino = ino_make(INO_SEARCH, id, sid, 0);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int search_refresh(struct model *m, uint64_t ino)
{
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	if (ino_type(ino) == INO_SEARCH && search_of(m, ino))
		rc = search_ensure(m, ino_uid(ino), true);
	pthread_mutex_unlock(&m->lock);
	return rc == -EINVAL ? -ENOENT : rc;
}

/* ---- attributes -------------------------------------------------------------- */

static void stat_of(const struct model *m, struct stat *st, uint64_t ino, mode_t mode,
		    const struct timespec *t)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_mtim = st->st_ctim = st->st_atim = *t;
}

/* A link's target into buf (TARGET_MAX). Locked. */
static int link_target(struct model *m, uint64_t ino, char *buf, time_t *date)
{
	uint32_t id = msg_mbox(m, ino);
	struct buf b = { 0 };
	struct msg *msg;
	int rc = 0;

	if (!id || !mbox_visible(m, id) || !(msg = msg_find(&m->mbox[id], ino_uid(ino))))
		return -ENOENT;
	*date = msg->date;
	if (ino_sub(ino) == 0) {
		snprintf(buf, TARGET_MAX, "../../%u", ino_uid(ino));
		return 0;
	}
	buf_addf(&b, "../../");
	for (const char *p = m->mbox[id].path; *p; p++)
		if (*p == '/')
			buf_addf(&b, "../");
	buf_addf(&b, "../%s/%u", m->mbox[id].path, ino_uid(ino));
	if (b.oom || b.len >= TARGET_MAX)
		rc = b.oom ? -ENOMEM : -ENAMETOOLONG;
	else
		memcpy(buf, b.data, b.len + 1);
	buf_free(&b);
	return rc;
}

int search_getattr(struct model *m, uint64_t ino, struct stat *st)
{
	char target[TARGET_MAX];
	struct search *s;
	time_t date = 0;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	switch (ino_type(ino)) {
	case INO_SEARCHES:
		if (ino_sub(ino) || ino_uid(ino) || !has_searches(m, ino_mbox(ino)))
			rc = -ENOENT;
		else
			stat_of(m, st, ino, S_IFDIR | 0555, &m->searches->changed);
		break;
	case INO_SEARCH:
		s = search_of(m, ino);
		if (s)
			stat_of(m, st, ino, S_IFDIR | 0555, &s->changed);
		rc = s ? 0 : -ENOENT;
		break;
	default:
		rc = link_target(m, ino, target, &date);
		if (rc == 0) {
			stat_of(m, st, ino, S_IFLNK | 0777, &(struct timespec){ .tv_sec = date });
			st->st_size = (off_t)strlen(target);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int search_readlink(struct model *m, uint64_t ino, char **target)
{
	char buf[TARGET_MAX];
	time_t date;
	int rc;

	*target = NULL;
	if (ino_type(ino) != INO_LINK)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	rc = link_target(m, ino, buf, &date);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	*target = strdup(buf);
	return *target ? 0 : -ENOMEM;
}

/* ---- listings ---------------------------------------------------------------- */

static int list_searches(struct model *m, uint32_t id, struct model_dir *d, size_t *cap)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < SEARCH_KEEP; i++) {
		struct search *s = &m->searches->s[i];

		if (s->id && s->mbox == id && s->computed)
			rc = dir_add(d, cap, s->name, ino_make(INO_SEARCH, id, s->id, 0), S_IFDIR);
	}
	return rc;
}

/* Level level's entries in search s: the levels below with hits, then
 * the hits of its own mailbox. Locked. */
static int list_hits(struct model *m, struct search *s, uint32_t level, struct model_dir *d,
		     size_t *cap)
{
	uint32_t id = s->mbox ? s->mbox : level;
	char name[16];
	int rc = 0;

	for (uint32_t c = s->mbox ? 0 : m->mbox[level].first_child; c && rc == 0;
	     c = m->mbox[c].next_sibling)
		if (mbox_visible(m, c) && level_has_hits(m, s, c))
			rc = dir_add(d, cap, m->mbox[c].leaf, ino_make(INO_SEARCH, c, s->id, 1),
				     S_IFDIR);
	for (size_t i = 0; rc == 0 && id && i < s->nhits; i++) {
		if (s->hits[i].mbox != id || !hit_shows(m, s, id, s->hits[i].uid))
			continue;
		snprintf(name, sizeof(name), "%u", s->hits[i].uid);
		rc = dir_add(d, cap, name,
			     ino_make(INO_LINK, m->mbox[id].view, s->hits[i].uid, s->mbox ? 0 : 1),
			     S_IFLNK);
	}
	return rc;
}

int search_list(struct model *m, uint64_t ino, bool fresh, struct model_dir *d, size_t *cap)
{
	struct search *s;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	if (ino_type(ino) == INO_SEARCHES) {
		rc = has_searches(m, ino_mbox(ino)) ? list_searches(m, ino_mbox(ino), d, cap)
						    : -ENOENT;
		pthread_mutex_unlock(&m->lock);
		return rc;
	}
	s = search_of(m, ino);
	if (s && fresh)
		rc = search_ensure(m, ino_uid(ino), true);
	s = rc ? NULL : search_of(m, ino);
	if (s) {
		s->used = ++m->searches->tick;
		rc = list_hits(m, s, ino_sub(ino) ? ino_mbox(ino) : 0, d, cap);
	} else if (rc == 0 || rc == -EINVAL) {
		rc = -ENOENT;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}
