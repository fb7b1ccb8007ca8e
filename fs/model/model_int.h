/*
 * model_int — what the model's two files share: model.c (mailboxes,
 * listings, names, attributes) and model_file.c (content and xattrs).
 * Nothing outside fs/model*.c includes this; the interface is model.h.
 */
#ifndef IMAPFS_MODEL_INT_H
#define IMAPFS_MODEL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "message.h"
#include "clock.h"
#include "inval.h"
#include "prefetch.h"
#include "model.h"
#include "store.h"
#include "meta_cache.h"

/* Headers kept in memory, so that stat and read of `header` agree without a
 * second fetch; past this budget they are fetched again each time. */
#define HEADER_BUDGET (8u * 1024 * 1024)
/* Messages up to this size are fetched whole (ahead of the reader, by the
 * prefetcher) and all their files served from that copy; larger ones are
 * read in ranges. Part of the inode contract: it decides how sizes are had. */
#define SMALL_MAX (1024u * 1024)
/* How many small messages after the one being read are fetched ahead. */
#define PREFETCH_WINDOW 128
/* How many messages' structures one FETCH asks for. */
#define DETAIL_BATCH 64
/* Parsed details kept; older ones go back to their text (saved_detail) and
 * are parsed again when wanted, so memory stays bounded on 100,000-message
 * mailboxes. */
#define DETAIL_KEEP 4096

struct kept_detail {
	uint32_t mbox, uid;       /* uid 0: an empty slot */
};
/* Files whose open state is kept for reads that come without an open. */
#define OPEN_CACHE 16
/* Whole small messages kept in memory for the next file of the same one. */
#define RAW_CACHE 4

struct raw_entry {
	uint64_t key;             /* the message directory's inode */
	char *raw;
	size_t len;
};

struct raw_cache {
	pthread_mutex_t lock;
	struct raw_entry e[RAW_CACHE];  /* protected by lock */
	size_t next;                    /* protected by lock: the slot to reuse */
};

/* Directory snapshots kept for readdir calls that continue a pass. */
#define DIR_CACHE 8

struct dir_snapshot {
	uint64_t ino;
	struct model_dir *d;
	uint64_t used;
};

struct msg {
	uint32_t uid;
	time_t date;
	uint64_t size;
	char *flags;              /* protected by model.lock */
	char *header;             /* protected by model.lock; NULL until fetched */
	size_t header_len;
	struct msg_detail *detail;  /* protected by model.lock; NULL until fetched */
	struct saved_detail *saved; /* from the metadata cache, parsed on first use */
};

/* A detail as the metadata cache kept it (strings owned). */
struct saved_detail {
	char *bodystructure, *subject, *from, *message_id;
};

struct mbox {
	char *path;               /* shown path from the root, levels joined by '/' */
	const char *leaf;         /* last level of path */
	uint32_t parent;          /* mailbox id, 0 for the root */
	char *wire;               /* server name, NULL for a level with no mailbox */
	bool present;             /* in the last LIST */
	bool seen;                /* in the LIST being read */
	struct timespec changed;  /* the directory's mtime: when its entries last changed */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;   /* 0: no CONDSTORE */
	bool cache_tried;         /* the metadata cache was looked at */
	bool dirty;               /* what the metadata cache lacks */
	bool saving;              /* a thread writes it to the metadata cache */
	struct timespec saved_at; /* CLOCK_MONOTONIC of the last save (0: never looked) */
	struct msg *msgs;         /* sorted by uid */
	size_t nmsgs;
	bool loaded;
	bool loading;             /* a thread is fetching the message list */
	struct timespec loaded_at;
};

struct model {
	struct source *source;
	struct store *store;
	struct prefetch *prefetch;
	struct meta_cache *meta;  /* NULL: no persistent metadata */
	struct open_cache *open_cache;
	struct inval *inval;      /* NULL until the session runs */
	struct raw_cache raws;
	struct kept_detail kept[DETAIL_KEEP];  /* protected by lock: a ring, oldest next */
	size_t kept_next;                      /* protected by lock */
	pthread_mutex_t dir_lock;
	struct dir_snapshot dirs[DIR_CACHE];  /* protected by dir_lock */
	uint64_t dir_tick;                   /* protected by dir_lock */
	pthread_mutex_t lock;
	pthread_cond_t loaded;    /* signalled when a listing finishes */
	struct mbox *mbox;        /* index = mailbox id; [0] unused (the root) */
	size_t nmbox;             /* ids in use, counting [0] */
	bool listed;
	bool listing;
	struct timespec listed_at;
	struct timespec root_changed;  /* the root's mtime */
	size_t header_bytes;      /* protected by lock */
	time_t mounted_at;
	uid_t uid;
	gid_t gid;
};

/* Gives directory id (0: the root) a new mtime: its entries changed, and the
 * kernel's cached listing of it must go. Caller holds the lock. */
void dir_changed(struct model *m, uint32_t id);

/* A command about mailbox id's UIDs found its UIDVALIDITY changed: they
 * name other messages now, and the mailbox is listed again before any of
 * them is used. Takes the lock. */
void mbox_stale(struct model *m, uint32_t id);

/* Frees what one message holds, and a whole table. */
void msg_clear(struct msg *msg);
void msgs_free(struct msg *msgs, size_t n);

/* What a message inode needs, copied out of the table (flags, header and
 * detail are not copied). -ENOENT when gone. Caller holds the lock. */
int msg_facts(struct model *m, uint64_t ino, struct msg *facts);
struct msg *msg_find(const struct mbox *b, uint32_t uid);
int cmp_msg(const void *a, const void *b);
/* model_sync.c: fetches mailbox id's listing when never done, or when
 * force and older than MODEL_FRESH_MS: from the metadata cache first, then
 * only what changed (CONDSTORE/QRESYNC) or, without them, all flags.
 * Caller holds the lock; it is released while the server answers. */
int ensure_loaded(struct model *m, uint32_t id, bool force);
/* Saves what the metadata cache lacks (at unmount). Caller holds the lock;
 * it is released while each file is written. */
void save_all(struct model *m);
/* The message's MIME detail, fetched on first need: a reference to drop. */
int detail_get(struct model *m, uint64_t ino, struct msg_detail **out);
/* The part sub of d, or NULL when it has no such part. */
const struct mime_part *detail_part(const struct msg_detail *d, uint32_t sub);

/* model_file.c: the open state of files read lately. */
struct open_cache *open_cache_new(void);
void open_cache_free(struct open_cache *oc);

/* model_file.c: a header block (top-level, or an attached message's) and
 * the size of a content file, for getattr. */
int header_get(struct model *m, uint64_t ino, char **out, size_t *len);
int content_size(struct model *m, uint64_t ino, struct msg_detail *d, uint64_t *size);
/* The size of an attached message's message.eml. */
int embedded_size(struct model *m, uint64_t ino, struct msg_detail *d, uint64_t *size);
/* Whether message ino is served from a whole copy (SMALL_MAX). */
bool msg_is_small(struct model *m, uint64_t ino);
/* Whether that copy is here already (no fetch needed to read it). */
bool msg_whole_here(struct model *m, uint64_t ino);

#endif
