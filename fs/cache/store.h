/*
 * store — decoded content kept on disk in cache_dir, so that a part fetched
 * and decoded once is read locally afterwards, and its exact size is known.
 *
 *   struct store *s = store_new("/home/a/.cache/imapfs/a@host/content", 1 << 30);
 *   if (store_open(s, key, &fd, &size) == -ENOENT) {
 *       struct store_writer *w = store_begin(s, key);
 *       store_write(w, buf, n); ...
 *       store_commit(w, &size);            // atomically visible under key
 *   }
 *
 * A key is any string naming immutable content (mailbox, UIDVALIDITY, UID,
 * section); files are named by its SHA-256. Entries are written to a
 * temporary file and renamed, so a crash leaves no half entry; leftovers are
 * removed by store_new, which also takes up what an earlier mount stored.
 * Past limit bytes the least recently used entries are deleted when an entry
 * is committed, before it appears, so the files never add up to more than
 * limit (but for one entry larger than limit by itself, kept until the next
 * commit); an open descriptor keeps reading a deleted entry. Thread-safe.
 */
#ifndef IMAPFS_STORE_H
#define IMAPFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_writer;

/* Creates dir (and its parents) if needed. NULL with errno on failure. */
struct store *store_new(const char *dir, uint64_t limit);
void store_free(struct store *s);

/* A read-only descriptor of key's content and its size; -ENOENT if absent. */
int store_open(struct store *s, const char *key, int *fd, uint64_t *size);

struct store_writer *store_begin(struct store *s, const char *key);
int store_write(struct store_writer *w, const void *data, size_t len);
/* A new read-only descriptor of what w writes, valid after commit or abort
 * too; -errno on failure. */
int store_reader(struct store_writer *w);
/* Makes the content visible under its key and frees w; 0 or -errno. */
int store_commit(struct store_writer *w, uint64_t *size);
/* Throws the content away and frees w. NULL is fine. */
void store_abort(struct store_writer *w);

/* Whether key is stored, by the index alone (no file is opened). */
bool store_has(struct store *s, const char *key);

/* Bytes the store holds now. */
uint64_t store_bytes(struct store *s);

/* A new bound, e.g. one sized from the disk once store_bytes is known; past
 * it, least recently used entries are deleted at once. */
void store_set_limit(struct store *s, uint64_t limit);

#endif
