/*
 * file — an open file: where its bytes come from (a whole copy, the store,
 * a fill, or chunks) and reading it so that it reads exactly its size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content.h"
#include "fill.h"
#include "inode.h"
#include "inval.h"
#include "keys.h"
#include "log.h"
#include "request.h"


/* msg_content_map's answer for ino's part (map), else msg_content_spool's:
 * the decoded content in the store, fetched there first if needed. */
static int part_content(struct model *m, uint64_t ino, struct msg_detail *d, struct b64map *map,
			int *fd, uint64_t *size)
{
	uint32_t uidvalidity = 0;
	char *wire = mbox_wire(m, ino, &uidvalidity);
	int rc;

	if (!wire)
		return -ENOENT;
	if (map)
		rc = msg_content_map(m->source, m->store, wire, uidvalidity, ino_uid(ino), d,
				     ino_sub(ino), map);
	else
		rc = msg_content_spool(m->source, m->store, wire, uidvalidity, ino_uid(ino), d,
				       ino_sub(ino), fd, size);
	free(wire);
	if (rc == -ESTALE) {
		mbox_stale(m, ino_mbox(ino));
		rc = -ENOENT;
	}
	return rc;
}

static int spool(struct model *m, uint64_t ino, struct msg_detail *d, int *fd, uint64_t *size)
{
	return part_content(m, ino, d, NULL, fd, size);
}

/* A base64 part's layout (CONTENT_B64); -EILSEQ: read it whole (spool). */
static int part_map(struct model *m, uint64_t ino, struct msg_detail *d, struct b64map *map)
{
	return part_content(m, ino, d, map, NULL, NULL);
}

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
	file_release(f);
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
	if (msg_content_mode(d, ino_sub(ino)) == CONTENT_B64) {
		struct b64map map;

		rc = part_map(m, ino, d, &map);
		if (rc != -EILSEQ) {
			*size = rc == 0 ? map.dec_size : 0;
			return rc;
		}
	} else if (msg_content_mode(d, ino_sub(ino)) != CONTENT_SPOOL) {
		*size = msg_content_size(d, ino_sub(ino));
		return 0;
	}
	rc = spool(m, ino, d, &fd, size);
	if (rc == 0)
		close(fd);
	return rc;
}

/* ---- open files ----------------------------------------------------------- */

struct model_file *file_new(uint64_t ino)
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
	key = cache_key_part(kind, *wire, *uidvalidity, ino_uid(f->ino), f->section);
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

/* Takes f->fetching, waiting for another reader's fetch at most until this
 * request's deadline: -EIO past it. (pthread_mutex_timedlock's clock is the
 * wall clock: the time left is taken from the monotonic one just before.
 * ThreadSanitizer does not see pthread_mutex_clocklock.) */
static int lock_fetching(struct model_file *f)
{
	long left = request_ms_left();
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += left / 1000;
	until.tv_nsec += (left % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	return pthread_mutex_timedlock(&f->fetching, &until) ? -EIO : 0;
}

/* Starts f's fill, once. Caller holds f->fetching. */
static void start_fill(struct model *m, struct model_file *f)
{
	struct fill_source src = {
		.source = m->source, .store = m->store, .uid = ino_uid(f->ino),
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
	} else if (msg_content_mode(d, sub) == CONTENT_B64 &&
		   (rc = part_map(m, f->ino, d, &f->map)) != -EILSEQ) {
		/* Ranges of whole lines, decoded here; read from its start, a
		 * fill as for BINARY's. */
		f->mapped = rc == 0;
		f->size = f->map.dec_size;
		f->fillable = true;
		f->encoding = MIME_ENC_BASE64;
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

int file_open(struct model *m, uint64_t ino, struct model_file **out)
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
		file_release(f);
		return rc;
	}
	*out = f;
	return 0;
}


/* Reads decoded content from the store (fd: f's). */
static int read_stored(int fd, uint64_t off, size_t size, char *buf, size_t *n)
{
	size_t done = 0;

	while (done < size) {
		ssize_t got = pread(fd, buf + done, size - done, (off_t)(off + done));

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

/*
 * A window of a mapped file did not fit the part's layout, so none of its
 * bytes are shown: the part is read whole from now on, by this file (its
 * store descriptor) and by every later open and stat. The size stat gave
 * stays this file's; if the whole part decodes to another, the kernel is
 * told to ask again. Caller holds f->fetching.
 */
static int to_whole(struct model *m, struct model_file *f)
{
	struct msg_detail *d;
	uint64_t size;
	int fd, rc;

	if (__atomic_load_n(&f->fd, __ATOMIC_ACQUIRE) >= 0)
		return 0; /* done by a reader before */
	rc = detail_get(m, f->ino, &d);
	if (rc)
		return rc;
	log_msg(LOG_WARNING, "UID %u part %s: base64 lines not regular after all; reading it whole",
		ino_uid(f->ino), f->section);
	msg_content_map_drop(d, ino_sub(f->ino));
	rc = spool(m, f->ino, d, &fd, &size);
	msg_detail_unref(d);
	if (rc)
		return rc;
	if (size != f->size) {
		log_msg(LOG_WARNING, "UID %u part %s: %llu bytes decoded whole, %llu from its lines",
			ino_uid(f->ino), f->section, (unsigned long long)size,
			(unsigned long long)f->size);
		/* This open state keeps its size for the reads under way; the
		 * next open takes the new one. */
		forget_open(m, f);
		pthread_mutex_lock(&m->lock);
		inval_inode(m->inval, f->ino);
		pthread_mutex_unlock(&m->lock);
	}
	__atomic_store_n(&f->fd, fd, __ATOMIC_RELEASE);
	return 0;
}

int file_read(struct model *m, struct model_file *f, uint64_t off, size_t size,
	      char *buf, size_t *n)
{
	size_t done = 0, got;
	int rc, fd;

	*n = 0;
	if (off >= f->size)
		return 0;
	if (size > f->size - off)
		size = (size_t)(f->size - off);
	if ((fd = __atomic_load_n(&f->fd, __ATOMIC_ACQUIRE)) >= 0)
		return read_stored(fd, off, size, buf, n);
	if (off == 0 && f->size >= FILL_MIN && __atomic_load_n(&f->fillable, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&f->fetching);
		if (f->fillable)
			start_fill(m, f);
		pthread_mutex_unlock(&f->fetching);
	}
	while (done < size) {
		/* A mapped file gone over to the whole part (to_whole). */
		if ((fd = __atomic_load_n(&f->fd, __ATOMIC_ACQUIRE)) >= 0) {
			rc = read_stored(fd, off + done, size - done, buf + done, &got);
			if (rc && done == 0)
				return rc;
			done += rc ? 0 : got;
			break;
		}
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
		rc = lock_fetching(f);
		if (rc && done == 0)
			return rc;
		if (rc)
			break;
		/* Another reader may have fetched it while we waited, or sent the
		 * file to the whole part. */
		if (__atomic_load_n(&f->fd, __ATOMIC_ACQUIRE) >= 0) {
			pthread_mutex_unlock(&f->fetching);
			continue;
		}
		pthread_mutex_lock(&f->lock);
		got = copy_cached(f, off + done, size - done, buf + done);
		pthread_mutex_unlock(&f->lock);
		rc = got ? 0 : fetch_chunk(m, f, off + done);
		if (rc == -EILSEQ && f->mapped)
			rc = to_whole(m, f);
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

void file_release(struct model_file *f)
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
