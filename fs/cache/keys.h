/*
 * keys — every key of the caches on disk, made in one place, so that what
 * makes two entries the same is decided once: the mailbox (wire name), its
 * UIDVALIDITY, the UID, and the section. A UIDVALIDITY change thus never
 * finds the old mailbox's bytes.
 *
 *   char *k = cache_key_message("INBOX", 1700000000, 42);      // a whole message
 *   char *k = cache_key_part("content", "INBOX", uv, 42, "2"); // a part, decoded
 *   char name[CACHE_NAME_LEN + 1];
 *   cache_file_name(k, name);                                  // its file's name
 *
 * Keys are malloc'd (NULL when out of memory). The strings are part of the
 * caches' format: changing one orphans what earlier mounts stored (the
 * content store then evicts it as it ages).
 */
#ifndef IMAPFS_KEYS_H
#define IMAPFS_KEYS_H

#include <stdint.h>

/* Hex SHA-256: a file name of fixed length whatever the key holds. */
#define CACHE_NAME_LEN 64

/* A small message whole, as the prefetcher stores it. */
char *cache_key_message(const char *mailbox, uint32_t uidvalidity, uint32_t uid);
/* A section's content: kind "content" (decoded and converted) or "raw"
 * (message.eml's bytes as they are; section "": the message's own). */
char *cache_key_part(const char *kind, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		     const char *section);
/* The file name of key (or of a mailbox's metadata: its wire name). 0, or
 * -EIO when the digest fails. */
int cache_file_name(const char *key, char name[CACHE_NAME_LEN + 1]);

#endif
