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
		here = rc->e[i].raw && rc->e[i].key == key;
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
int whole_read(struct model *m, uint64_t ino, char **raw, size_t *len)
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
int part_header_local(struct model *m, uint64_t ino, const struct msg_detail *d,
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


/* A small message's part file, cut from its whole copy. -EAGAIN: it must
 * come from the server instead. */
int part_local(struct model *m, uint64_t ino, struct msg_detail *d, char **out,
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
