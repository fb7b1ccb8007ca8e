/*
 * meta_cache — a mailbox's listing kept in cache_dir across mounts, so that
 * a remount lists at once and asks the server only what changed
 * (CONDSTORE/QRESYNC), and part trees need not be fetched again.
 *
 *   struct meta_cache *mc = meta_cache_open("/home/a/.cache/imapfs/a@host/meta");
 *   struct cached_mailbox *mb;
 *   if (meta_cache_load(mc, "INBOX", &mb) == 0) { ... mb->msgs[i].uid ...; cached_mailbox_free(mb); }
 *   meta_cache_save(mc, "INBOX", mb);          // atomic: tmp file + rename
 *
 * One file per mailbox (named by the SHA-256 of the wire name), a versioned
 * binary format with lengths checked on load: a truncated, corrupt or foreign
 * file loads as absent (-ENOENT), never as wrong data. Thread-safe for
 * different mailboxes; the model serialises saves of one mailbox.
 */
#ifndef IMAPFS_META_CACHE_H
#define IMAPFS_META_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cached_msg {
	uint32_t uid;
	time_t date;
	uint64_t size;
	char *flags;              /* never NULL */
	/* Optional (NULL when never fetched): the raw BODYSTRUCTURE as IMAP
	 * text, and the envelope facts decoded to UTF-8. */
	char *bodystructure;
	char *subject, *from, *message_id;
};

struct cached_mailbox {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;   /* 0: the server has no CONDSTORE */
	size_t n;
	struct cached_msg *msgs;  /* sorted by uid */
};

struct meta_cache;

/* Creates dir if needed. NULL with errno on failure. */
struct meta_cache *meta_cache_open(const char *dir);
void meta_cache_close(struct meta_cache *mc);
int meta_cache_load(struct meta_cache *mc, const char *mailbox, struct cached_mailbox **out);
int meta_cache_save(struct meta_cache *mc, const char *mailbox, const struct cached_mailbox *mb);
/* Forgets a mailbox (UIDVALIDITY changed, mailbox gone). */
int meta_cache_drop(struct meta_cache *mc, const char *mailbox);
void cached_mailbox_free(struct cached_mailbox *mb);

#endif
