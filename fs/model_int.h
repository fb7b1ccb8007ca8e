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
#include "model.h"
#include "store.h"

/* Headers kept in memory, so that stat and read of `header` agree without a
 * second fetch; past this budget they are fetched again each time. */
#define HEADER_BUDGET (32u * 1024 * 1024)

struct msg {
	uint32_t uid;
	time_t date;
	uint64_t size;
	char *flags;              /* protected by model.lock */
	char *header;             /* protected by model.lock; NULL until fetched */
	size_t header_len;
	struct msg_detail *detail;  /* protected by model.lock; NULL until fetched */
};

struct mbox {
	char *path;               /* shown path from the root, levels joined by '/' */
	const char *leaf;         /* last level of path */
	uint32_t parent;          /* mailbox id, 0 for the root */
	char *wire;               /* server name, NULL for a level with no mailbox */
	bool present;             /* in the last LIST */
	uint32_t uidvalidity;
	struct msg *msgs;         /* sorted by uid */
	size_t nmsgs;
	bool loaded;
	bool loading;             /* a thread is fetching the message list */
	struct timespec loaded_at;
};

struct model {
	struct imap_pool *pool;
	struct store *store;
	pthread_mutex_t lock;
	pthread_cond_t loaded;    /* signalled when a listing finishes */
	struct mbox *mbox;        /* index = mailbox id; [0] unused (the root) */
	size_t nmbox;             /* ids in use, counting [0] */
	bool listed;
	bool listing;
	struct timespec listed_at;
	size_t header_bytes;      /* protected by lock */
	time_t mounted_at;
	uid_t uid;
	gid_t gid;
};

/* What a message inode needs, copied out of the table (flags, header and
 * detail are not copied). -ENOENT when gone. Caller holds the lock. */
int msg_facts(struct model *m, uint64_t ino, struct msg *facts);
struct msg *msg_find(const struct mbox *b, uint32_t uid);
/* Refreshes mailbox id's listing when stale (see model.c). Caller holds the lock. */
int ensure_loaded(struct model *m, uint32_t id, bool force);
/* The message's MIME detail, fetched on first need: a reference to drop. */
int detail_get(struct model *m, uint64_t ino, struct msg_detail **out);
/* The part sub of d, or NULL when it has no such part. */
const struct mime_part *detail_part(const struct msg_detail *d, uint32_t sub);

/* model_file.c: a header block (top-level, or an attached message's) and
 * the size of a content file, for getattr. */
int header_get(struct model *m, uint64_t ino, char **out, size_t *len);
int content_size(struct model *m, uint64_t ino, const struct msg_detail *d, uint64_t *size);

#endif
