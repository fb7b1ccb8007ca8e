/*
 * open_cache — reads without an open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content.h"
#include "inode.h"


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
	uint64_t tick;                    /* protected by lock */
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
		file_release(oc->e[i].f);
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

/* Keeps f in the least recently used slot; returns what was there, for the
 * caller to release once unlocked: the last release of a file joins its
 * fill's threads, which may be waiting on the server. Locked. */
static struct model_file *cache_file(struct open_cache *oc, struct model_file *f)
{
	struct model_file *evicted;
	size_t lru = 0;

	for (size_t i = 1; i < OPEN_CACHE; i++)
		if (oc->e[i].used < oc->e[lru].used)
			lru = i;
	evicted = oc->e[lru].f;
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
	oc->e[lru] = (struct open_entry){ .ino = f->ino, .f = f, .used = ++oc->tick };
	return evicted;
}

void keep_open(struct model *m, struct model_file *f)
{
	struct model_file *evicted;

	pthread_mutex_lock(&m->open_cache->lock);
	evicted = cache_file(m->open_cache, f);
	pthread_mutex_unlock(&m->open_cache->lock);
	file_release(evicted);
}

void forget_open(struct model *m, struct model_file *f)
{
	struct open_cache *oc = m->open_cache;
	struct model_file *dropped = NULL;

	pthread_mutex_lock(&oc->lock);
	for (size_t i = 0; i < OPEN_CACHE; i++) {
		if (oc->e[i].f == f) {
			dropped = f;
			oc->e[i] = (struct open_entry){ 0 };
		}
	}
	pthread_mutex_unlock(&oc->lock);
	file_release(dropped);
}

int file_get(struct model *m, uint64_t ino, bool keep, struct model_file **out)
{
	struct model_file *f;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&m->open_cache->lock);
	f = cached_file(m->open_cache, ino);
	pthread_mutex_unlock(&m->open_cache->lock);
	if (!f) {
		rc = file_open(m, ino, &f);
		if (rc)
			return rc;
		if (keep)
			keep_open(m, f);
	}
	*out = f;
	return 0;
}

int model_read_ino(struct model *m, uint64_t ino, uint64_t off, size_t size, char *buf,
		   size_t *n)
{
	struct model_file *f;
	int rc;

	if (ino_type(ino) == INO_STAGE)
		return append_read(m, ino, off, size, buf, n); /* a file being appended */
	if (ino_type(ino) == INO_SUMMARY)
		return summary_read(m, ino, off, size, buf, n);
	rc = file_get(m, ino, true, &f);
	if (rc)
		return rc;
	rc = file_read(m, f, off, size, buf, n);
	file_release(f);
	return rc;
}
