/*
 * chunk — large files are read in aligned chunks of MODEL_CHUNK, growing
 * while a reader goes on in order (up to MODEL_CHUNK_MAX). A base64 part on
 * a server without BINARY is read the same way, each chunk the whole lines
 * of the stored part that hold it (mime/b64map.h).
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

/* Makes chunk (malloc'd) f's cached chunk. */
static void set_chunk(struct model_file *f, char *chunk, uint64_t off, size_t len)
{
	pthread_mutex_lock(&f->lock);
	free(f->chunk);
	f->chunk = chunk;
	f->chunk_off = off;
	f->chunk_len = len;
	pthread_mutex_unlock(&f->lock);
}

/* A base64 part without BINARY: the whole lines holding [start, start+want)
 * as stored, checked against the part's layout and decoded here. Decoded,
 * they make a chunk that may start and end a little outside the range. */
static int fetch_window(struct model *m, struct model_file *f, uint64_t start, uint64_t want)
{
	struct b64map_window w;
	struct fetch_req req;
	char *chunk;
	int rc;

	b64map_window(&f->map, start, want, &w);
	req = (struct fetch_req){ .section = f->section, .off = w.enc_off, .len = w.enc_len };
	rc = fetch_section(m, f->ino, &req);
	if (rc)
		return rc;
	chunk = malloc((size_t)w.dec_len + 1);
	rc = chunk ? b64map_decode(&f->map, &w, req.data, req.n, chunk) : -ENOMEM;
	free(req.data);
	if (rc) {
		free(chunk);
		if (rc == -EILSEQ)
			log_msg(LOG_WARNING, "UID %u part %s: bytes %llu-%llu do not fit the part's "
				"base64 lines", ino_uid(f->ino), f->section,
				(unsigned long long)w.enc_off,
				(unsigned long long)(w.enc_off + w.enc_len));
		return rc;
	}
	set_chunk(f, chunk, w.dec_off, (size_t)w.dec_len);
	return 0;
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
	if (f->mapped)
		return fetch_window(m, f, start, want);
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
	set_chunk(f, chunk, start, (size_t)want);
	return 0;
}
