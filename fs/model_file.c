/*
 * The model's files: fetching content in chunks, headers, decoded parts
 * from the store, and extended attributes (see model.h for the interface).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "inode.h"
#include "log.h"
#include "fill.h"
#include "model_int.h"
#include "split.h"

struct model_file {
	uint64_t ino;
	uint64_t size;
	char *section;            /* what chunks fetch: "" (message), "2" (part)... */
	bool binary;              /* chunks via BINARY.PEEK */
	bool whole;               /* all content is in chunk (headers) */
	int fd;                   /* decoded content in the store, or -1 */
	pthread_mutex_t lock;
	char *chunk;              /* protected by lock */
	uint64_t chunk_off;
	size_t chunk_len;
	int refs;                 /* atomic: the open cache's and readers' */
	/* One fetch at a time: the kernel's readahead sends reads of one file
	 * in parallel, and they should find what the fetch before brought. */
	pthread_mutex_t fetching;
	/* Read from its start, a large file is fetched ahead by a fill (fill.h):
	 * started once, under fetching. */
	bool fillable;
	enum mime_encoding encoding;  /* of what the fill fetches */
	struct fill *fill;
};

/* An open file: remembers the last chunk fetched, for sequential readers. */
struct model_file;
static struct model_file *file_new(uint64_t ino);
static void model_release(struct model_file *f);

/* Files at least this large read from their start are fetched ahead by a
 * fill (fill.h); smaller ones are done in a few chunks anyway. */
#define FILL_MIN (4u * 1024 * 1024)

/* ---- fetching ------------------------------------------------------------- */

struct fetch_req {
	uint32_t uid;
	uint32_t uidvalidity;
	const char *section;
	bool binary;
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
	if (req->binary)
		return imap_fetch_binary(c, req->uid, req->section, req->off, req->len, &req->data,
					 &req->n);
	return imap_fetch_part(c, req->uid, req->section, req->off, req->len, &req->data, &req->n);
}

/* A copy of the server name and the UIDVALIDITY of ino's mailbox, for a
 * request that talks to the server without the lock; NULL when it is gone. */
static char *mbox_wire(struct model *m, uint64_t ino, uint32_t *uidvalidity)
{
	uint32_t id = ino_mbox(ino);
	char *wire = NULL;

	pthread_mutex_lock(&m->lock);
	if (id < m->nmbox && m->mbox[id].wire) {
		wire = strdup(m->mbox[id].wire);
		*uidvalidity = m->mbox[id].uidvalidity;
	}
	pthread_mutex_unlock(&m->lock);
	return wire;
}

/* Fetches a section of message ino's mailbox/UID into req (no lock held). */
static int fetch_section(struct model *m, uint64_t ino, struct fetch_req *req)
{
	uint32_t id = ino_mbox(ino);
	char *wire = mbox_wire(m, ino, &req->uidvalidity);
	int rc;

	if (!wire)
		return -ENOENT;
	req->uid = ino_uid(ino);
	rc = pool_run(m->pool, wire, run_fetch, req);
	if (req->stale) {
		log_msg(LOG_WARNING, "UIDVALIDITY of %s changed: listing it again", wire);
		pthread_mutex_lock(&m->lock);
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

/* ---- whole small messages -------------------------------------------------- */

bool msg_is_small(struct model *m, uint64_t ino)
{
	struct msg facts;
	bool small;

	pthread_mutex_lock(&m->lock);
	small = msg_facts(m, ino, &facts) == 0 && facts.size <= SMALL_MAX;
	pthread_mutex_unlock(&m->lock);
	return small;
}

/* Whether the whole copy of small message ino is here (memory or store), so
 * that its header's size costs no fetch. */
bool msg_whole_here(struct model *m, uint64_t ino)
{
	uint64_t key = ino_make(INO_MSG, ino_mbox(ino), ino_uid(ino), 0);
	struct raw_cache *rc = &m->raws;
	uint32_t uidvalidity;
	char *wire, *skey;
	bool here = false;

	if (!msg_is_small(m, ino))
		return false;
	pthread_mutex_lock(&rc->lock);
	for (size_t i = 0; i < RAW_CACHE && !here; i++)
		here = rc->e[i].raw && rc->e[i].key == key;
	pthread_mutex_unlock(&rc->lock);
	if (here || !(wire = mbox_wire(m, ino, &uidvalidity)))
		return here;
	skey = prefetch_key(wire, uidvalidity, ino_uid(ino));
	here = skey && store_has(m->store, skey);
	free(skey);
	free(wire);
	return here;
}

struct window {
	char *wire;
	uint32_t uidvalidity;
	uint32_t uids[PREFETCH_WINDOW];
	uint64_t sizes[PREFETCH_WINDOW];
	size_t n;
	bool last;                /* the window reaches the mailbox's end */
};

/* The message and the small ones after it, which a reader walking the
 * mailbox will want next. Caller holds the lock. */
static int window_of(struct model *m, uint64_t ino, struct window *w)
{
	uint32_t id = ino_mbox(ino);
	struct mbox *b = id && id < m->nmbox ? &m->mbox[id] : NULL;
	struct msg *msg = b ? msg_find(b, ino_uid(ino)) : NULL;

	if (!msg || !b->wire)
		return -ENOENT;
	w->wire = strdup(b->wire);
	if (!w->wire)
		return -ENOMEM;
	w->uidvalidity = b->uidvalidity;
	size_t i;

	for (i = (size_t)(msg - b->msgs); i < b->nmsgs && w->n < PREFETCH_WINDOW; i++) {
		if (b->msgs[i].size > SMALL_MAX)
			continue;
		w->uids[w->n] = b->msgs[i].uid;
		w->sizes[w->n++] = b->msgs[i].size;
	}
	w->last = i == b->nmsgs;
	return 0;
}

/* A descriptor of the whole message from the store, fetched (with the
 * messages after it) when not there yet. */
static int whole_open(struct model *m, uint64_t ino, int *fd, uint64_t *size)
{
	struct window *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	rc = window_of(m, ino, w);
	pthread_mutex_unlock(&m->lock);
	if (rc == 0)
		rc = prefetch_get(m->prefetch, w->wire, w->uidvalidity, w->uids, w->sizes, w->n,
				  w->last, fd, size);
	free(w->wire);
	free(w);
	return rc;
}

/* The whole message in memory (it is small). */
/* A copy of a recently read whole message, or -ENOENT. */
static int raw_cached(struct model *m, uint64_t key, char **raw, size_t *len)
{
	struct raw_cache *rc = &m->raws;
	int found = -ENOENT;

	pthread_mutex_lock(&rc->lock);
	for (size_t i = 0; i < RAW_CACHE; i++) {
		if (!rc->e[i].raw || rc->e[i].key != key)
			continue;
		*raw = malloc(rc->e[i].len + 1);
		if (*raw) {
			memcpy(*raw, rc->e[i].raw, rc->e[i].len + 1);
			*len = rc->e[i].len;
		}
		found = *raw ? 0 : -ENOMEM;
		break;
	}
	pthread_mutex_unlock(&rc->lock);
	return found;
}

/* Keeps a copy of raw: the next file of the same message will want it. */
static void raw_keep(struct model *m, uint64_t key, const char *raw, size_t len)
{
	struct raw_cache *rc = &m->raws;
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, raw, len + 1);
	pthread_mutex_lock(&rc->lock);
	free(rc->e[rc->next].raw);
	rc->e[rc->next] = (struct raw_entry){ .key = key, .raw = copy, .len = len };
	rc->next = (rc->next + 1) % RAW_CACHE;
	pthread_mutex_unlock(&rc->lock);
}

/* The whole message in memory (it is small). A message's files are read one
 * after another (header, parts...), so the last few are kept. */
static int whole_read(struct model *m, uint64_t ino, char **raw, size_t *len)
{
	uint64_t size, key = ino_make(INO_MSG, ino_mbox(ino), ino_uid(ino), 0);
	ssize_t got;
	int fd, rc;

	*raw = NULL;
	*len = 0;
	rc = raw_cached(m, key, raw, len);
	if (rc != -ENOENT)
		return rc;
	rc = whole_open(m, ino, &fd, &size);
	if (rc)
		return rc;
	*raw = malloc(size + 1);
	got = *raw ? pread(fd, *raw, size, 0) : -1;
	close(fd);
	if (got < 0 || (uint64_t)got != size) {
		free(*raw);
		*raw = NULL;
		return -EIO;
	}
	(*raw)[size] = '\0';
	*len = size;
	raw_keep(m, key, *raw, size);
	return 0;
}

/* A copy of raw[off, off+len) as a header file's bytes. */
static int copy_out(const char *raw, size_t off, size_t len, char **out, size_t *out_len)
{
	*out = malloc(len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, raw + off, len);
	*out_len = len;
	return 0;
}

/* The header block cut from the whole message: up to and including the
 * empty line, as BODY[HEADER] is; all of it when there is no body. */
static int header_local(struct model *m, uint64_t ino, char **out, size_t *len)
{
	char *raw, *end;
	size_t n;
	int rc = whole_read(m, ino, &raw, &n);

	if (rc)
		return rc;
	end = memmem(raw, n, "\r\n\r\n", 4);
	rc = copy_out(raw, 0, end ? (size_t)(end - raw) + 4 : n, out, len);
	free(raw);
	return rc;
}

/* An attached message's header block, cut from the whole message. */
static int part_header_local(struct model *m, uint64_t ino, const struct msg_detail *d,
			     char **out, size_t *len)
{
	size_t n, off, hlen;
	char *raw;
	int rc = whole_read(m, ino, &raw, &n);

	if (rc)
		return rc;
	if (mime_split(raw, n, msg_detail_tree(d), ino_sub(ino), MIME_SPLIT_HEADER, &off,
		       &hlen) == 0)
		rc = copy_out(raw, off, hlen, out, len);
	else
		rc = -EIO;
	free(raw);
	return rc;
}

/* An attached message's header block ("2.HEADER"), fetched whole. */
static int part_header_get(struct model *m, uint64_t ino, char **out, size_t *len)
{
	struct fetch_req req = { 0 };
	const struct mime_part *p;
	struct msg_detail *d;
	char *section = NULL;
	int rc = detail_get(m, ino, &d);

	if (rc)
		return rc;
	p = detail_part(d, ino_sub(ino));
	if (!p || !p->is_message)
		rc = -ENOENT;
	else if (msg_is_small(m, ino))
		rc = part_header_local(m, ino, d, out, len);
	else if (asprintf(&section, "%s.HEADER", p->section) < 0)
		rc = -ENOMEM;
	msg_detail_unref(d);
	if (rc || !section)
		return rc;
	req.section = section;
	rc = fetch_section(m, ino, &req);
	free(section);
	if (rc)
		return rc;
	*out = req.data ? req.data : calloc(1, 1);
	*len = req.n;
	return *out ? 0 : -ENOMEM;
}

/* Copies the message's cached header out. Caller holds the lock. */
static int header_cached(struct model *m, uint64_t ino, char **out, size_t *len)
{
	uint32_t id = ino_mbox(ino);
	struct msg *msg = id < m->nmbox ? msg_find(&m->mbox[id], ino_uid(ino)) : NULL;

	if (!msg || !msg->header)
		return 1;
	*out = malloc(msg->header_len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, msg->header, msg->header_len);
	*len = msg->header_len;
	return 0;
}

int header_get(struct model *m, uint64_t ino, char **out, size_t *len)
{
	struct fetch_req req = { .section = "HEADER" };
	struct msg *msg;
	int rc;

	/* Defined on every path: callers free *out whatever the result. */
	*out = NULL;
	*len = 0;
	if (ino_type(ino) == INO_PHEADER)
		return part_header_get(m, ino, out, len);
	if (msg_is_small(m, ino))
		return header_local(m, ino, out, len);
	pthread_mutex_lock(&m->lock);
	rc = header_cached(m, ino, out, len);
	pthread_mutex_unlock(&m->lock);
	if (rc <= 0)
		return rc;
	rc = fetch_section(m, ino, &req);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	/* Look again: the message may have gone while we fetched. */
	msg = msg_find(&m->mbox[ino_mbox(ino)], ino_uid(ino));
	if (msg && !msg->header && m->header_bytes + req.n <= HEADER_BUDGET) {
		msg->header = malloc(req.n + 1);
		if (msg->header) {
			memcpy(msg->header, req.data, req.n);
			msg->header_len = req.n;
			m->header_bytes += req.n;
		}
	}
	pthread_mutex_unlock(&m->lock);
	*out = req.data ? req.data : calloc(1, 1); /* an empty header is still a file */
	*len = req.n;
	return *out ? 0 : -ENOMEM;
}

/* Decoded content in the store, fetched there first if needed. */
static int spool(struct model *m, uint64_t ino, const struct msg_detail *d, int *fd,
		 uint64_t *size)
{
	uint32_t uidvalidity = 0;
	char *wire = mbox_wire(m, ino, &uidvalidity);
	int rc;

	if (!wire)
		return -ENOENT;
	rc = msg_content_spool(m->pool, m->store, wire, uidvalidity, ino_uid(ino), d,
			       ino_sub(ino), fd, size);
	free(wire);
	return rc == -ESTALE ? -EIO : rc;
}

/* A small message's part file, cut from its whole copy. -EAGAIN: it must
 * come from the server instead. */
static int part_local(struct model *m, uint64_t ino, struct msg_detail *d, char **out,
		      size_t *len)
{
	char *raw;
	size_t n;
	int rc = whole_read(m, ino, &raw, &n);

	if (rc)
		return rc == -ENOMEM ? rc : -EAGAIN;
	rc = msg_part_local(d, ino_sub(ino), raw, n, out, len);
	free(raw);
	return rc;
}

static void keep_open(struct model *m, struct model_file *f);

/* The size of a small message's part file: remembered, or cut once to know;
 * what was cut is kept as the file's open state, for the read that follows
 * a stat. */
static int part_local_size(struct model *m, uint64_t ino, struct msg_detail *d, uint64_t *size)
{
	struct model_file *f;
	int rc;

	*size = msg_part_local_size(d, ino_sub(ino));
	if (*size != UINT64_MAX)
		return 0;
	f = file_new(ino);
	if (!f)
		return -ENOMEM;
	rc = part_local(m, ino, d, &f->chunk, &f->chunk_len);
	if (rc == 0) {
		f->whole = true;
		f->size = *size = f->chunk_len;
		keep_open(m, f);
	}
	model_release(f);
	return rc;
}

int embedded_size(struct model *m, uint64_t ino, struct msg_detail *d, uint64_t *size)
{
	if (msg_is_small(m, ino) && part_local_size(m, ino, d, size) == 0)
		return 0;
	*size = detail_part(d, ino_sub(ino))->size;
	return 0;
}

int content_size(struct model *m, uint64_t ino, struct msg_detail *d, uint64_t *size)
{
	int fd, rc;

	if (msg_is_small(m, ino)) {
		rc = part_local_size(m, ino, d, size);
		if (rc != -EAGAIN)
			return rc;
	}
	if (msg_content_mode(d, ino_sub(ino)) != CONTENT_SPOOL) {
		*size = msg_content_size(d, ino_sub(ino));
		return 0;
	}
	rc = spool(m, ino, d, &fd, size);
	if (rc == 0)
		close(fd);
	return rc;
}

/* ---- open files ----------------------------------------------------------- */

static struct model_file *file_new(uint64_t ino)
{
	struct model_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->ino = ino;
	f->fd = -1;
	f->refs = 1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_init(&f->fetching, NULL);
	return f;
}

/* The store key of what a fill of f makes; malloc'd, NULL when f's mailbox is gone. */
static char *fill_key(struct model *m, const struct model_file *f, uint32_t *uidvalidity,
		      char **wire)
{
	const char *kind = ino_type(f->ino) == INO_CONTENT ? "content" : "raw";
	char *key;

	*wire = mbox_wire(m, f->ino, uidvalidity);
	if (!*wire)
		return NULL;
	key = msg_store_key(kind, *wire, *uidvalidity, ino_uid(f->ino), f->section);
	if (!key) {
		free(*wire);
		*wire = NULL;
	}
	return key;
}

/* Reads a file that an earlier fill brought whole from the store. */
static void use_filled(struct model *m, struct model_file *f)
{
	uint32_t uidvalidity;
	uint64_t size;
	char *wire, *key;
	int fd;

	if (!f->fillable || f->size < FILL_MIN || !(key = fill_key(m, f, &uidvalidity, &wire)))
		return;
	if (store_open(m->store, key, &fd, &size) == 0) {
		if (size == f->size) {
			f->fd = fd;
			f->fillable = false;
		} else {
			close(fd);
		}
	}
	free(key);
	free(wire);
}

/* Starts f's fill, once. Caller holds f->fetching. */
static void start_fill(struct model *m, struct model_file *f)
{
	struct fill_source src = {
		.pool = m->pool, .store = m->store, .uid = ino_uid(f->ino),
		.section = f->section, .encoding = f->encoding, .size = f->size,
	};
	char *wire, *key = fill_key(m, f, &src.uidvalidity, &wire);

	__atomic_store_n(&f->fillable, false, __ATOMIC_RELEASE);
	if (!key)
		return;
	src.mailbox = wire;
	src.key = key;
	__atomic_store_n(&f->fill, fill_start(&src), __ATOMIC_RELEASE);
	free(key);
	free(wire);
}

/* A part's file: an attached message.eml, or a leaf's content. */
static int open_part(struct model *m, struct model_file *f)
{
	const struct mime_part *p;
	struct msg_detail *d;
	uint32_t sub = ino_sub(f->ino);
	int rc = detail_get(m, f->ino, &d);

	if (rc)
		return rc;
	p = sub ? detail_part(d, sub) : NULL;
	if (!p || (ino_type(f->ino) == INO_PEML ? !p->is_message : !p->is_leaf)) {
		rc = -ENOENT;
	} else if (msg_is_small(m, f->ino) &&
		   (rc = part_local(m, f->ino, d, &f->chunk, &f->chunk_len)) != -EAGAIN) {
		f->whole = true; /* all of it is in chunk */
		f->size = f->chunk_len;
	} else if (ino_type(f->ino) == INO_PEML) {
		rc = 0;
		f->size = p->size;
		f->fillable = true;
	} else if (msg_content_mode(d, sub) == CONTENT_SPOOL) {
		rc = spool(m, f->ino, d, &f->fd, &f->size);
	} else {
		rc = 0;
		f->binary = msg_content_mode(d, sub) == CONTENT_BINARY;
		f->size = msg_content_size(d, sub);
		/* The fill decodes base64 as Dovecot does; its QP decoding may
		 * differ in corner cases, so QP stays with ranges. */
		f->fillable = p->encoding == MIME_ENC_BASE64 || p->encoding == MIME_ENC_7BIT;
		f->encoding = p->encoding;
	}
	if (rc == 0 && f->fd < 0 && !f->whole) {
		f->section = strdup(p->section);
		if (!f->section)
			rc = -ENOMEM;
	}
	msg_detail_unref(d);
	if (rc == 0 && f->section)
		use_filled(m, f);
	return rc;
}

/* message.eml: a small one from its whole copy (its size stays RFC822.SIZE,
 * what stat said), a large one in ranges. */
static int open_message(struct model *m, struct model_file *f)
{
	struct stat st;
	uint64_t stored;
	int rc = model_getattr(m, f->ino, &st);

	if (rc)
		return rc;
	f->size = (uint64_t)st.st_size;
	if (f->size <= SMALL_MAX && whole_open(m, f->ino, &f->fd, &stored) == 0) {
		if (stored != f->size)
			log_msg(LOG_WARNING, "UID %u: %llu bytes stored, RFC822.SIZE %llu",
				ino_uid(f->ino), (unsigned long long)stored,
				(unsigned long long)f->size);
		return 0;
	}
	f->section = strdup("");
	if (!f->section)
		return -ENOMEM;
	f->fillable = true;
	use_filled(m, f);
	return 0;
}

static int model_open(struct model *m, uint64_t ino, struct model_file **out)
{
	struct model_file *f;
	int rc;

	switch (ino_type(ino)) {
	case INO_ROOT:
	case INO_MBOX:
	case INO_MSG:
	case INO_PART:
		return -EISDIR;
	case INO_EML:
	case INO_HEADER:
	case INO_CONTENT:
	case INO_PEML:
	case INO_PHEADER:
		break;
	default:
		return -ENOENT;
	}
	f = file_new(ino);
	if (!f)
		return -ENOMEM;
	if (ino_type(ino) == INO_HEADER || ino_type(ino) == INO_PHEADER) {
		/* Headers are small: keep all of it with the open file. */
		f->whole = true;
		rc = header_get(m, ino, &f->chunk, &f->chunk_len);
		f->size = f->chunk_len;
	} else if (ino_type(ino) == INO_EML) {
		rc = open_message(m, f);
	} else {
		rc = open_part(m, f);
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
 * server that sends less than it said the size was gets zeros, so that a
 * file always reads as many bytes as stat says. */
static int fetch_chunk(struct model *m, struct model_file *f, uint64_t off)
{
	uint64_t start, want, span;
	struct fetch_req req;
	char *chunk;
	int rc;

	pthread_mutex_lock(&f->lock);
	if (f->chunk && off == f->chunk_off + f->chunk_len) {
		/* Reading on in order: fewer, larger fetches. */
		span = f->chunk_len * 2 > MODEL_CHUNK_MAX ? MODEL_CHUNK_MAX : f->chunk_len * 2;
		start = off;
	} else {
		span = MODEL_CHUNK;
		start = off - off % MODEL_CHUNK;
	}
	pthread_mutex_unlock(&f->lock);
	if (span < MODEL_CHUNK)
		span = MODEL_CHUNK;
	want = f->size - start < span ? f->size - start : span;
	req = (struct fetch_req){
		.section = f->section, .binary = f->binary, .off = start, .len = want,
	};
	rc = fetch_section(m, f->ino, &req);
	if (rc)
		return rc;
	chunk = calloc(1, (size_t)want + 1);
	if (!chunk) {
		free(req.data);
		return -ENOMEM;
	}
	if (req.n != want)
		log_msg(LOG_WARNING, "UID %u section '%s': server sent %zu bytes at %llu, expected %llu",
			ino_uid(f->ino), f->section, req.n, (unsigned long long)start,
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

/* Reads decoded content from the store. */
static int read_stored(struct model_file *f, uint64_t off, size_t size, char *buf, size_t *n)
{
	size_t done = 0;

	while (done < size) {
		ssize_t got = pread(f->fd, buf + done, size - done, (off_t)(off + done));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		done += (size_t)got;
	}
	/* The store's file never shrinks under an open descriptor; pad anyway
	 * so that size and bytes read always agree. */
	memset(buf + done, 0, size - done);
	*n = size;
	return 0;
}

/* Bytes from f's fill, if it has or will have them (-EAGAIN if not). Past
 * the end of what it decoded the file reads as zeros, as stat said. */
static int read_filled(struct model_file *f, uint64_t off, size_t size, char *buf, size_t *n)
{
	struct fill *fill = __atomic_load_n(&f->fill, __ATOMIC_ACQUIRE);
	int rc;

	if (!fill)
		return -EAGAIN;
	rc = fill_read(fill, off, size, buf, n);
	if (rc == 0 && *n == 0) {
		memset(buf, 0, size);
		*n = size;
	}
	return rc;
}

static int model_read(struct model *m, struct model_file *f, uint64_t off, size_t size,
		      char *buf, size_t *n)
{
	size_t done = 0, got;
	int rc;

	*n = 0;
	if (off >= f->size)
		return 0;
	if (size > f->size - off)
		size = (size_t)(f->size - off);
	if (f->fd >= 0)
		return read_stored(f, off, size, buf, n);
	if (off == 0 && f->size >= FILL_MIN && __atomic_load_n(&f->fillable, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&f->fetching);
		if (f->fillable)
			start_fill(m, f);
		pthread_mutex_unlock(&f->fetching);
	}
	while (done < size) {
		rc = read_filled(f, off + done, size - done, buf + done, &got);
		if (rc == 0) {
			done += got;
			continue;
		}
		if (rc != -EAGAIN && done == 0)
			return rc;
		if (rc != -EAGAIN)
			break; /* a short read; the next read reports the error */
		pthread_mutex_lock(&f->lock);
		got = copy_cached(f, off + done, size - done, buf + done);
		pthread_mutex_unlock(&f->lock);
		if (got) {
			done += got;
			continue;
		}
		if (f->whole)
			break; /* all of it is cached; nothing more to fetch */
		pthread_mutex_lock(&f->fetching);
		/* Another reader may have fetched it while we waited. */
		pthread_mutex_lock(&f->lock);
		got = copy_cached(f, off + done, size - done, buf + done);
		pthread_mutex_unlock(&f->lock);
		rc = got ? 0 : fetch_chunk(m, f, off + done);
		pthread_mutex_unlock(&f->fetching);
		done += got;
		if (rc && done == 0)
			return rc;
		if (rc)
			break; /* a short read; the next read reports the error */
	}
	*n = done;
	return 0;
}

static void model_release(struct model_file *f)
{
	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	fill_free(f->fill);
	if (f->fd >= 0)
		close(f->fd);
	free(f->section);
	free(f->chunk);
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->fetching);
	free(f);
}

/* ---- reads without an open ---------------------------------------------------- */

/*
 * The kernel sends no OPEN for files (FUSE no_open: they never change, so
 * its page cache keeps them), so reads come with no file handle. The open
 * state (a store descriptor, the last chunk) is kept here for the files read
 * lately, so that a large file read in 128 KiB pieces still fetches each
 * chunk once.
 */
struct open_entry {
	uint64_t ino;
	struct model_file *f;
	uint64_t used;
};

struct open_cache {
	pthread_mutex_t lock;
	struct open_entry e[OPEN_CACHE];  /* protected by lock */
	uint64_t tick;
};

struct open_cache *open_cache_new(void)
{
	struct open_cache *oc = calloc(1, sizeof(*oc));

	if (oc)
		pthread_mutex_init(&oc->lock, NULL);
	return oc;
}

void open_cache_free(struct open_cache *oc)
{
	if (!oc)
		return;
	for (size_t i = 0; i < OPEN_CACHE; i++)
		model_release(oc->e[i].f);
	pthread_mutex_destroy(&oc->lock);
	free(oc);
}

/* f for ino with a reference for the caller, or NULL. Locked. */
static struct model_file *cached_file(struct open_cache *oc, uint64_t ino)
{
	for (size_t i = 0; i < OPEN_CACHE; i++) {
		if (oc->e[i].f && oc->e[i].ino == ino) {
			oc->e[i].used = ++oc->tick;
			__atomic_add_fetch(&oc->e[i].f->refs, 1, __ATOMIC_RELAXED);
			return oc->e[i].f;
		}
	}
	return NULL;
}

/* Keeps f in the least recently used slot. Locked. */
static void cache_file(struct open_cache *oc, struct model_file *f)
{
	size_t lru = 0;

	for (size_t i = 1; i < OPEN_CACHE; i++)
		if (oc->e[i].used < oc->e[lru].used)
			lru = i;
	model_release(oc->e[lru].f);
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
	oc->e[lru] = (struct open_entry){ .ino = f->ino, .f = f, .used = ++oc->tick };
}

static void keep_open(struct model *m, struct model_file *f)
{
	pthread_mutex_lock(&m->open_cache->lock);
	cache_file(m->open_cache, f);
	pthread_mutex_unlock(&m->open_cache->lock);
}

int model_read_ino(struct model *m, uint64_t ino, uint64_t off, size_t size, char *buf,
		   size_t *n)
{
	struct open_cache *oc = m->open_cache;
	struct model_file *f;
	int rc;

	pthread_mutex_lock(&oc->lock);
	f = cached_file(oc, ino);
	pthread_mutex_unlock(&oc->lock);
	if (!f) {
		rc = model_open(m, ino, &f);
		if (rc)
			return rc;
		pthread_mutex_lock(&oc->lock);
		cache_file(oc, f);
		pthread_mutex_unlock(&oc->lock);
	}
	rc = model_read(m, f, off, size, buf, n);
	model_release(f);
	return rc;
}

/* ---- extended attributes -------------------------------------------------- */

static const char *const msg_xattrs[] = {
	"user.imap.flags", "user.imap.uid", "user.imap.internaldate", "user.imap.size", NULL,
};

/* On message.eml files and content files (freedesktop conventions). */
static const char *const file_xattrs[] = {
	"user.mime_type", "user.xdg.origin.email.subject", "user.xdg.origin.email.from",
	"user.xdg.origin.email.message-id", NULL,
};

/* The NUL-separated list of names, plus user.charset if charset. */
static int name_list(const char *const *names, bool charset, char **list, size_t *len)
{
	size_t total = charset ? sizeof("user.charset") : 0;

	for (size_t i = 0; names[i]; i++)
		total += strlen(names[i]) + 1;
	*list = malloc(total ? total : 1);
	if (!*list)
		return -ENOMEM;
	*len = 0;
	for (size_t i = 0; names[i]; i++) {
		memcpy(*list + *len, names[i], strlen(names[i]) + 1);
		*len += strlen(names[i]) + 1;
	}
	if (charset) {
		memcpy(*list + *len, "user.charset", sizeof("user.charset"));
		*len += sizeof("user.charset");
	}
	return 0;
}

/* A content file's part, when it is text. */
static bool is_text_content(const struct msg_detail *d, uint64_t ino)
{
	const struct mime_part *p = ino_type(ino) == INO_CONTENT ? detail_part(d, ino_sub(ino)) : NULL;

	return p && strcmp(p->type, "text") == 0;
}

int model_listxattr(struct model *m, uint64_t ino, char **list, size_t *len)
{
	struct msg_detail *d;
	struct stat st;
	bool text;
	int rc = model_getattr(m, ino, &st);

	*list = NULL;
	*len = 0;
	if (rc)
		return rc;
	switch (ino_type(ino)) {
	case INO_MSG:
		return name_list(msg_xattrs, false, list, len);
	case INO_EML:
	case INO_PEML:
	case INO_CONTENT:
		rc = detail_get(m, ino, &d);
		if (rc)
			return rc;
		text = is_text_content(d, ino);
		msg_detail_unref(d);
		return name_list(file_xattrs, text, list, len);
	default:
		return 0;
	}
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

/* A file's xattr value from the message's detail. */
static int file_xattr(const struct msg_detail *d, uint64_t ino, const char *name, char **value)
{
	const struct mime_part *p = detail_part(d, ino_sub(ino));

	if (strcmp(name, "user.mime_type") == 0) {
		if (ino_type(ino) != INO_CONTENT)
			*value = strdup("message/rfc822");
		else if (asprintf(value, "%s/%s", p->type, p->subtype) < 0)
			*value = NULL;
	} else if (strcmp(name, "user.charset") == 0) {
		if (!is_text_content(d, ino))
			return -ENODATA;
		*value = strdup("utf-8");
	} else if (strcmp(name, "user.xdg.origin.email.subject") == 0) {
		*value = strdup(msg_detail_subject(d));
	} else if (strcmp(name, "user.xdg.origin.email.from") == 0) {
		*value = strdup(msg_detail_from(d));
	} else if (strcmp(name, "user.xdg.origin.email.message-id") == 0) {
		*value = strdup(msg_detail_message_id(d));
	} else {
		return -ENODATA;
	}
	return *value ? 0 : -ENOMEM;
}

/* A message directory's xattr from the table. */
static int msg_xattr(struct model *m, uint64_t ino, const char *name, char **value)
{
	uint32_t id = ino_mbox(ino);
	struct msg *msg;
	int rc = 0;

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
	return rc;
}

int model_getxattr(struct model *m, uint64_t ino, const char *name, char **value, size_t *len)
{
	struct msg_detail *d;
	struct stat st;
	int rc = model_getattr(m, ino, &st);

	*value = NULL;
	if (rc)
		return rc;
	switch (ino_type(ino)) {
	case INO_MSG:
		rc = msg_xattr(m, ino, name, value);
		break;
	case INO_EML:
	case INO_PEML:
	case INO_CONTENT:
		rc = detail_get(m, ino, &d);
		if (rc == 0) {
			rc = file_xattr(d, ino, name, value);
			msg_detail_unref(d);
		}
		break;
	default:
		rc = -ENODATA;
	}
	if (rc == 0)
		*len = strlen(*value);
	return rc;
}
