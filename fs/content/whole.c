/*
 * whole — small messages (SMALL_MAX) are fetched whole, ahead of the reader
 * (prefetch.h), and their files cut from that copy; the last few copies
 * stay in memory, since a message's files are read one after another.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content.h"
#include "inode.h"
#include "keys.h"
#include "split.h"


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
		here = rc->e[i].buf && rc->e[i].key == key;
	pthread_mutex_unlock(&rc->lock);
	if (here || !(wire = mbox_wire(m, ino, &uidvalidity)))
		return here;
	skey = cache_key_message(wire, uidvalidity, ino_uid(ino));
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
	uint32_t id = msg_mbox(m, ino);
	struct mbox *b = id ? &m->mbox[id] : NULL;
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
int whole_open(struct model *m, uint64_t ino, int *fd, uint64_t *size)
{
	struct window *w = calloc(1, sizeof(*w));
	int rc;

	*fd = -1;
	*size = 0;
	if (!w)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	rc = window_of(m, ino, w);
	pthread_mutex_unlock(&m->lock);
	if (rc == 0)
		rc = prefetch_get(m->prefetch, w->wire, w->uidvalidity, w->uids, w->sizes, w->n,
				  w->last, fd, size);
	if (rc == -ESTALE) {
		mbox_stale(m, ino_mbox(ino));
		rc = -ENOENT;
	}
	free(w->wire);
	free(w);
	return rc;
}

void raw_put(struct raw_buf *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

/* A recently read whole message (a reference for the caller), or NULL. */
static struct raw_buf *raw_cached(struct model *m, uint64_t key)
{
	struct raw_cache *rc = &m->raws;
	struct raw_buf *b = NULL;

	pthread_mutex_lock(&rc->lock);
	for (size_t i = 0; i < RAW_CACHE && !b; i++) {
		if (rc->e[i].buf && rc->e[i].key == key) {
			b = rc->e[i].buf;
			__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&rc->lock);
	return b;
}

/* Keeps b (a reference of its own): the next file of the same message will
 * want it. */
static void raw_keep(struct model *m, uint64_t key, struct raw_buf *b)
{
	struct raw_cache *rc = &m->raws;
	struct raw_buf *old;

	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&rc->lock);
	old = rc->e[rc->next].buf;
	rc->e[rc->next] = (struct raw_entry){ .key = key, .buf = b };
	rc->next = (rc->next + 1) % RAW_CACHE;
	pthread_mutex_unlock(&rc->lock);
	raw_put(old);
}

/* The whole message in memory (it is small), shared, not copied: a
 * message's files are read one after another (header, parts...), so the
 * last few are kept. */
int whole_read(struct model *m, uint64_t ino, struct raw_buf **raw)
{
	uint64_t size, key = ino_make(INO_MSG, ino_mbox(ino), ino_uid(ino), 0);
	struct raw_buf *b;
	ssize_t got;
	int fd, rc;

	*raw = raw_cached(m, key);
	if (*raw)
		return 0;
	rc = whole_open(m, ino, &fd, &size);
	if (rc)
		return rc;
	b = size < SIZE_MAX - sizeof(*b) - 1 ? malloc(sizeof(*b) + size + 1) : NULL;
	got = b ? pread(fd, b->data, size, 0) : -1;
	close(fd);
	if (!b)
		return -ENOMEM;
	if (got < 0 || (uint64_t)got != size) {
		free(b);
		return -EIO;
	}
	b->refs = 1;
	b->len = size;
	b->data[size] = '\0';
	raw_keep(m, key, b);
	*raw = b;
	return 0;
}

/* A copy of raw[off, off+len) as a header file's bytes. */
int copy_out(const char *raw, size_t off, size_t len, char **out, size_t *out_len)
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
int header_local(struct model *m, uint64_t ino, char **out, size_t *len)
{
	struct raw_buf *raw;
	char *end;
	int rc = whole_read(m, ino, &raw);

	if (rc)
		return rc;
	end = memmem(raw->data, raw->len, "\r\n\r\n", 4);
	rc = copy_out(raw->data, 0, end ? (size_t)(end - raw->data) + 4 : raw->len, out, len);
	raw_put(raw);
	return rc;
}

/* An attached message's header block, cut from the whole message. */
int part_header_local(struct model *m, uint64_t ino, const struct msg_detail *d,
		      char **out, size_t *len)
{
	size_t off, hlen;
	struct raw_buf *raw;
	int rc = whole_read(m, ino, &raw);

	if (rc)
		return rc;
	if (mime_split(raw->data, raw->len, msg_detail_tree(d), ino_sub(ino), MIME_SPLIT_HEADER,
		       &off, &hlen) == 0)
		rc = copy_out(raw->data, off, hlen, out, len);
	else
		rc = -EIO;
	raw_put(raw);
	return rc;
}


/* A small message's part file, cut from its whole copy. -EAGAIN: it must
 * come from the server instead. */
int part_local(struct model *m, uint64_t ino, struct msg_detail *d, char **out,
	       size_t *len)
{
	struct raw_buf *raw;
	int rc = whole_read(m, ino, &raw);

	if (rc)
		return rc == -ENOMEM ? rc : -EAGAIN;
	rc = msg_part_local(d, ino_sub(ino), raw->data, raw->len, out, len);
	raw_put(raw);
	return rc;
}
