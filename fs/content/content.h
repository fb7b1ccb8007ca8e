/*
 * content — how a file's bytes are got: what the files of fs/content share. The
 * interface is model.h (model_read_ino) and model_int.h; nothing outside
 * fs/content includes this.
 *
 *   fetch.c       one section or range of a message from the server
 *   whole.c       small messages' whole copies (prefetched), cut into files
 *   header.c      header files, and the header cache
 *   chunk.c       large files read in growing aligned chunks
 *   file.c        an open file: where its bytes come from, and reading it
 *   open_cache.c  the open state of the files read lately (FUSE no_open)
 *   fill.c        a large file read from its start, streamed ahead
 *   prefetch.c    small messages fetched whole ahead of the reader
 *   push.c        small messages' files handed to the kernel's page cache
 */
#ifndef IMAPFS_CONTENT_H
#define IMAPFS_CONTENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "b64map.h"
#include "decode.h"
#include "model_int.h"

/* Files at least this large read from their start are fetched ahead by a
 * fill (fill.h); smaller ones are done in a few chunks anyway. */
#define FILL_MIN (4u * 1024 * 1024)

/* An open file (file.c), shared by the readers of one inode. */
struct model_file {
	/* Set by file_open before the file is shared, never changed after. */
	uint64_t ino;
	uint64_t size;
	char *section;            /* what chunks fetch: "" (message), "2" (part)... */
	bool binary;              /* chunks via BINARY.PEEK */
	bool whole;               /* all content is in chunk (headers) */
	bool mapped;              /* base64 without BINARY: chunks are windows of map */
	struct b64map map;        /* mapped: the part's verified layout */
	enum mime_encoding encoding;  /* of what the fill fetches */
	/* Decoded content in the store, or -1. Set before the file is shared,
	 * or once, under fetching, when a mapped file falls back to the whole
	 * part (a window did not fit its layout): loaded atomically. */
	int fd;

	pthread_mutex_t lock;
	char *chunk;              /* protected by lock */
	uint64_t chunk_off;       /* protected by lock */
	size_t chunk_len;         /* protected by lock */
	int refs;                 /* atomic: the open cache's and readers' */
	/* One fetch at a time: the kernel's readahead sends reads of one file
	 * in parallel, and they should find what the fetch before brought. */
	pthread_mutex_t fetching;
	/* Read from its start, a large file is fetched ahead by a fill (fill.h):
	 * started once, under fetching; read without it atomically. */
	bool fillable;            /* written under fetching, atomic loads */
	struct fill *fill;        /* written under fetching, atomic loads */
};

/* fetch.c */
struct fetch_req {
	uint32_t uid;
	const char *section;
	bool binary;
	uint64_t off, len;
	char *data;
	size_t n;
};
/* A copy of the server name and the UIDVALIDITY of ino's mailbox, for a
 * request that talks to the server without the lock; NULL when it is gone. */
char *mbox_wire(struct model *m, uint64_t ino, uint32_t *uidvalidity);
/* Fetches a section of message ino's mailbox/UID into req (no lock held). */
int fetch_section(struct model *m, uint64_t ino, struct fetch_req *req);

/* whole.c: a small message's whole copy, as a store descriptor or in memory
 * (shared, NUL-terminated: raw_put it), and files cut from it. */
int whole_open(struct model *m, uint64_t ino, int *fd, uint64_t *size);
int whole_read(struct model *m, uint64_t ino, struct raw_buf **raw);
int copy_out(const char *raw, size_t off, size_t len, char **out, size_t *out_len);
int header_local(struct model *m, uint64_t ino, char **out, size_t *len);
int part_header_local(struct model *m, uint64_t ino, const struct msg_detail *d, char **out,
		      size_t *len);
/* -EAGAIN: the part must come from the server instead. */
int part_local(struct model *m, uint64_t ino, struct msg_detail *d, char **out, size_t *len);

/* chunk.c: copies what f's cached chunk holds of [off, off+size) (caller
 * holds f->lock); fetches the chunk holding off (a mapped file: -EILSEQ
 * when its window does not fit the layout; nothing of it is kept). */
size_t copy_cached(struct model_file *f, uint64_t off, size_t size, char *buf);
int fetch_chunk(struct model *m, struct model_file *f, uint64_t off);

/* file.c */
struct model_file *file_new(uint64_t ino);
int file_open(struct model *m, uint64_t ino, struct model_file **out);
int file_read(struct model *m, struct model_file *f, uint64_t off, size_t size, char *buf,
	      size_t *n);
void file_release(struct model_file *f);

/* open_cache.c: keeps f (a reference of its own) for the reads to come. */
void keep_open(struct model *m, struct model_file *f);
/* Drops f from the open files kept (its state is out of date); the
 * caller's reference stays. */
void forget_open(struct model *m, struct model_file *f);
/* ino's open state, a reference for the caller: the kept one, or opened now
 * (and kept if keep). */
int file_get(struct model *m, uint64_t ino, bool keep, struct model_file **out);

#endif
