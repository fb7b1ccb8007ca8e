/*
 * arena — memory handed out in pieces and given back all at once: the
 * values of a parsed response (parser.c), the strings of a part tree
 * (fs/model/bodystructure.c). One free for a whole tree, and no piece can
 * outlive the others or be freed twice.
 *
 *   struct arena *a = arena_new(256);                  // first chunk's bytes
 *   struct imap_arg *v = arena_alloc(a, n * sizeof(*v)); // NULL: out of memory
 *   char *s = arena_strndup(a, text, len);             // NUL-terminated copy
 *   arena_free(a);                                     // everything at once
 *
 * Chunks start at the size given and double up to ARENA_CHUNK_MAX, so that
 * a small tree costs little (a mount keeps thousands) and a large response
 * few allocations; a piece larger than that gets a chunk of its own. The
 * arena itself lives in its first chunk: arena_new is one malloc. It lives
 * in imap/ because the parser needs it; mime/ must not depend on imap/, and
 * does not need it (fs/ builds part trees).
 */
#ifndef IMAPFS_ARENA_H
#define IMAPFS_ARENA_H

#include <stddef.h>

#define ARENA_CHUNK_MAX 8192

struct arena;

/* NULL when out of memory. */
struct arena *arena_new(size_t first);
/* size bytes aligned for any type; NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);
/* A copy of s[0..len) and a NUL, packed (not aligned); NULL when out of memory. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
/* NULL is fine. */
void arena_free(struct arena *a);

#endif
