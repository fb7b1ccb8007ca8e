#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "dirs.h"
#include "keys.h"
#include "log.h"

#define NAME_LEN CACHE_NAME_LEN

struct stored {
	char name[NAME_LEN + 1];
	uint64_t size;
	uint64_t used;            /* store tick of the last open or commit */
};

struct store {
	char *dir;
	uint64_t limit;           /* protected by lock */
	pthread_mutex_t lock;
	void *index;              /* tsearch tree of struct stored, by name; protected by lock */
	uint64_t bytes;           /* protected by lock */
	uint64_t tick;            /* protected by lock */
	uint64_t evicted;         /* protected by lock: entries deleted to make room */
};

struct store_writer {
	struct store *s;
	char name[NAME_LEN + 1];
	char tmp[PATH_MAX];
	int fd;
	uint64_t size;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct stored *)a)->name, ((const struct stored *)b)->name);
}

static int path_of(const struct store *s, const char *name, char *path, size_t len)
{
	int n = snprintf(path, len, "%s/%s", s->dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}


/* Adds or refreshes an entry. Caller holds the lock. */
static int index_put(struct store *s, const char *name, uint64_t size, uint64_t used)
{
	struct stored key, *e, **slot;

	snprintf(key.name, sizeof(key.name), "%s", name);
	slot = tfind(&key, &s->index, cmp_entry);
	if (slot) {
		e = *slot;
		s->bytes -= e->size;
	} else {
		e = malloc(sizeof(*e));
		if (!e)
			return -ENOMEM;
		memcpy(e->name, key.name, sizeof(e->name));
		if (!tsearch(e, &s->index, cmp_entry)) {
			free(e);
			return -ENOMEM;
		}
	}
	e->size = size;
	e->used = used;
	s->bytes += size;
	return 0;
}

/* Forgets an entry whose file could not be put in place. Caller holds the lock. */
static void index_drop(struct store *s, const char *name)
{
	struct stored probe, **slot, *e;

	snprintf(probe.name, sizeof(probe.name), "%s", name);
	slot = tfind(&probe, &s->index, cmp_entry);
	if (!slot)
		return;
	e = *slot;
	s->bytes -= e->size;
	tdelete(e, &s->index, cmp_entry);
	free(e);
}

static bool is_entry_name(const char *name)
{
	if (strlen(name) != NAME_LEN)
		return false;
	return strspn(name, "0123456789abcdef") == NAME_LEN;
}

/* Takes up what an earlier mount stored; drops half-written leftovers. */
static void scan(struct store *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;
	struct stat st;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (path_of(s, de->d_name, path, sizeof(path)) < 0)
			continue;
		if (strncmp(de->d_name, "tmp.", 4) == 0)
			unlink(path);
		else if (is_entry_name(de->d_name) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			index_put(s, de->d_name, (uint64_t)st.st_size, (uint64_t)st.st_mtime);
	}
	closedir(d);
}

struct store *store_new(const char *dir, uint64_t limit)
{
	struct store *s;
	int rc = make_dirs(dir);

	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dir = strdup(dir);
	if (!s->dir) {
		free(s);
		return NULL;
	}
	s->limit = limit;
	s->tick = (uint64_t)time(NULL);
	pthread_mutex_init(&s->lock, NULL);
	scan(s);
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	/* What bench/run looks at: a cache too small for what is read refetches. */
	log_msg(LOG_INFO, "content cache: %llu entries evicted, %llu bytes held",
		(unsigned long long)s->evicted, (unsigned long long)s->bytes);
	tdestroy(s->index, free);
	pthread_mutex_destroy(&s->lock);
	free(s->dir);
	free(s);
}

int store_open(struct store *s, const char *key, int *fd, uint64_t *size)
{
	char name[NAME_LEN + 1], path[PATH_MAX];
	struct stored probe, **slot;
	struct stat st;
	int rc = cache_file_name(key, name);

	*fd = -1;
	*size = 0;
	if (rc == 0)
		rc = path_of(s, name, path, sizeof(path));
	if (rc)
		return rc;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (fstat(*fd, &st) < 0) {
		rc = -errno;
		close(*fd);
		*fd = -1;
		return rc;
	}
	*size = (uint64_t)st.st_size;
	memcpy(probe.name, name, sizeof(name));
	pthread_mutex_lock(&s->lock);
	slot = tfind(&probe, &s->index, cmp_entry);
	if (slot)
		(*slot)->used = ++s->tick;
	else
		index_put(s, name, *size, ++s->tick); /* put there behind our back: count it */
	pthread_mutex_unlock(&s->lock);
	return 0;
}

struct lru_walk {
	struct stored **all;
	size_t n;
};

static void collect(const void *node, VISIT v, void *ud)
{
	struct lru_walk *w = ud;

	if (v == postorder || v == leaf)
		w->all[w->n++] = *(struct stored *const *)node;
}

static int cmp_used(const void *a, const void *b)
{
	uint64_t x = (*(struct stored *const *)a)->used, y = (*(struct stored *const *)b)->used;

	return x < y ? -1 : x > y;
}

/* Deletes least recently used entries down to 90% of the limit, so that
 * eviction (a walk of the whole index) runs rarely; never keep, the entry
 * being committed (one larger than the limit stays until the next commit).
 * Caller holds the lock. */
static void evict(struct store *s, size_t count, const char *keep)
{
	struct lru_walk w = { .all = calloc(count ? count : 1, sizeof(*w.all)) };
	char path[PATH_MAX];

	if (!w.all)
		return;
	twalk_r(s->index, collect, &w);
	qsort(w.all, w.n, sizeof(*w.all), cmp_used);
	for (size_t i = 0; i < w.n && s->bytes > s->limit / 10 * 9; i++) {
		struct stored *e = w.all[i];

		if (strcmp(e->name, keep) == 0)
			continue;
		if (path_of(s, e->name, path, sizeof(path)) == 0)
			unlink(path);
		s->bytes -= e->size;
		s->evicted++;
		tdelete(e, &s->index, cmp_entry);
		free(e);
	}
	free(w.all);
}

static void count_node(const void *node, VISIT v, void *ud)
{
	(void)node;
	if (v == postorder || v == leaf)
		++*(size_t *)ud;
}

struct store_writer *store_begin(struct store *s, const char *key)
{
	struct store_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->s = s;
	w->fd = -1;
	if (cache_file_name(key, w->name) < 0 ||
	    snprintf(w->tmp, sizeof(w->tmp), "%s/tmp.XXXXXX", s->dir) >= (int)sizeof(w->tmp))
		goto fail;
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0)
		goto fail;
	return w;
fail:
	log_msg(LOG_ERR, "cannot write to the cache in %s: %s", s->dir, strerror(errno));
	free(w);
	return NULL;
}

int store_write(struct store_writer *w, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		w->size += (uint64_t)n;
	}
	return 0;
}

int store_reader(struct store_writer *w)
{
	int fd = open(w->tmp, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int store_commit(struct store_writer *w, uint64_t *size)
{
	struct store *s = w->s;
	char path[PATH_MAX];
	size_t count = 0;
	int rc = path_of(s, w->name, path, sizeof(path));

	*size = 0;
	/* Closed whatever happens: store_abort closes what is still open. */
	if (rc == 0) {
		rc = close(w->fd) < 0 ? -errno : 0;
		w->fd = -1;
	}
	if (rc) {
		store_abort(w);
		return rc;
	}
	*size = w->size;
	/* Make room first and rename while holding the lock, so that the
	 * entries on disk never add up to more than the limit. */
	pthread_mutex_lock(&s->lock);
	rc = index_put(s, w->name, w->size, ++s->tick);
	if (rc == 0 && s->bytes > s->limit) {
		twalk_r(s->index, count_node, &count);
		evict(s, count, w->name);
	}
	if (rc == 0 && rename(w->tmp, path) < 0) {
		rc = -errno;
		index_drop(s, w->name);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc)
		unlink(w->tmp);
	free(w);
	return rc;
}

void store_abort(struct store_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp);
	free(w);
}

bool store_has(struct store *s, const char *key)
{
	struct stored probe;
	bool found;

	if (cache_file_name(key, probe.name) < 0)
		return false;
	pthread_mutex_lock(&s->lock);
	found = tfind(&probe, &s->index, cmp_entry) != NULL;
	pthread_mutex_unlock(&s->lock);
	return found;
}

uint64_t store_bytes(struct store *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->bytes;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void store_set_limit(struct store *s, uint64_t limit)
{
	size_t count = 0;

	pthread_mutex_lock(&s->lock);
	s->limit = limit;
	if (s->bytes > s->limit) {
		twalk_r(s->index, count_node, &count);
		evict(s, count, "");
	}
	pthread_mutex_unlock(&s->lock);
}
