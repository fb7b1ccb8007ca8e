/*
 * chunk — large files are read in aligned chunks of MODEL_CHUNK, growing
 * while a reader goes on in order (up to MODEL_CHUNK_MAX).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content.h"
#include "inode.h"
#include "log.h"


/* Copies what the cached chunk holds of [off, off+size). Caller holds f->lock. */
size_t copy_cached(struct model_file *f, uint64_t off, size_t size, char *buf)
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
int fetch_chunk(struct model *m, struct model_file *f, uint64_t off)
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
