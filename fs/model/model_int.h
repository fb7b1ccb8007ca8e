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

#include "acl.h"
#include "message.h"
#include "clock.h"
#include "inval.h"
#include "prefetch.h"
#include "model.h"
#include "store.h"
#include "meta_cache.h"
#include "mbox_index.h"

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
	uint32_t mbox, uid;       /* protected by model.lock; uid 0: an empty slot */
};
/* Files whose open state is kept for reads that come without an open. */
#define OPEN_CACHE 16
/* Whole small messages kept in memory for the next file of the same one. */
#define RAW_CACHE 4

/* A small message's bytes, shared by the raw cache and its readers. */
struct raw_buf {
	int refs;                 /* atomic */
	size_t len;
	char data[];              /* len bytes and a NUL */
};
void raw_put(struct raw_buf *b);

struct raw_entry {
	uint64_t key;             /* protected by raw_cache.lock (both):
				   * the message directory's inode */
	struct raw_buf *buf;      /* a reference of the cache's own */
};

struct raw_cache {
	pthread_mutex_t lock;
	struct raw_entry e[RAW_CACHE];  /* protected by lock */
	size_t next;                    /* protected by lock: the slot to reuse */
};

/* Mailbox paths this mount removed or renamed away, kept out of LISTs for
 * a while (tree.c). */
#define GONE_NAMES 16

/* Directory snapshots kept for readdir calls that continue a pass. */
#define DIR_CACHE 8

struct dir_snapshot {
	uint64_t ino;             /* protected by model.dir_lock (all three) */
	struct model_dir *d;
	uint64_t used;
};

/* One message of a listing. Every field is protected by the model's lock
 * (struct model, lock), like the table that holds it. */
struct msg {
	uint32_t uid;             /* protected by model.lock (all fields below too) */
	time_t date;              /* INTERNALDATE */
	uint64_t size;            /* RFC822.SIZE */
	char *flags;              /* space-separated, \Recent left out */
	char *header;             /* readable form; NULL until fetched (header.c, HEADER_BUDGET) */
	size_t header_len;
	struct msg_detail *detail;  /* NULL until fetched; a reference of its own */
	struct saved_detail *saved; /* from the metadata cache, parsed on first use */
	/* The envelope, decoded (summary.h env_pack): NULL until fetched (with
	 * the detail, or alone for .summary and the message's xattrs). Kept
	 * apart from the detail, which is dropped and parsed again. */
	char *env;
};

/* A detail's structure as the metadata cache kept it (owned); its
 * envelope is msg.env. */
struct saved_detail {
	char *bodystructure;
};

/* A mailbox directory (or a level of names without a mailbox). Every
 * field is protected by the model's lock; the table (model.mbox) too. */
struct mbox {
	char *path;               /* protected by model.lock (all fields below too):
				   * shown path from the root, levels joined by '/' */
	const char *leaf;         /* last level of path */
	uint32_t parent;          /* mailbox id, 0 for the root */
	char *wire;               /* server name, NULL for a level with no mailbox */
	char delim;               /* its hierarchy delimiter (LIST), 0: none or not known */
	unsigned attrs;           /* LIST attributes (client.h imap_mbox_attr: \Trash...) */
	bool present;             /* in the last LIST */
	bool seen;                /* in the LIST being read */
	bool visible;             /* present, or a visible level below it (tree.c) */
	bool gone;                /* vanished: a tombstone, its id never reused (tree.c);
				   * path, leaf, wire and msgs are NULL, like a view's */
	uint32_t first_child;     /* levels below, in the order they came, tombstones */
	uint32_t last_child;      /* too (0: none); views are in no list */
	uint32_t next_sibling;
	struct timespec changed;  /* the directory's mtime: when its entries last changed */
	/* CLOCK_MONOTONIC: made or renamed by this mount; a LIST without it
	 * does not take it away before then (tree.c, PIN_MS). */
	struct timespec pinned_until;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;   /* 0: no CONDSTORE */
	/* The id that message inodes carry (inode.h's mailbox field): this
	 * mailbox's own until its UIDVALIDITY changes, then a new one each
	 * time, so that no inode, kernel page or cache entry of the old
	 * messages can stand for the new ones under the same UIDs. */
	uint32_t view;
	uint32_t view_of;         /* nonzero: this entry is only a view id of that mailbox */
	bool cache_tried;         /* the metadata cache was looked at */
	bool dirty;               /* what the metadata cache lacks */
	bool saving;              /* a thread writes it to the metadata cache */
	struct timespec saved_at; /* CLOCK_MONOTONIC of the last save (0: never looked) */
	struct msg *msgs;         /* sorted by uid */
	size_t nmsgs;
	bool loaded;
	bool loading;             /* a thread is fetching the message list (others wait
				   * on model.loaded) */
	struct timespec loaded_at;
	/* What .summary shows changed whenever gen changes (listing_touched). */
	uint64_t gen;
	struct summary_text *summary;  /* the last .summary made, or NULL */
	uint64_t summary_used;         /* model.summary_tick when last used */
	/* What the last text made showed, kept past its eviction: made again
	 * with nothing changed, it keeps its mtime (README: when its content
	 * last changed), and changes are still told to the kernel, which may
	 * hold its size. summary_mtime 0: none made. */
	struct timespec summary_mtime;
	uint64_t summary_gen;
	uint32_t summary_view;
	/* MYRIGHTS (rights.c), learned at rights_at (CLOCK_MONOTONIC; 0: not known). */
	char rights[IMAP_RIGHTS_MAX];
	struct timespec rights_at;
};

/*
 * The mount's model. Its locks are never held while waiting on the server,
 * the disk or another thread: lock (the mailbox table, listings, messages,
 * details, headers); dir_lock (directory snapshots); raws.lock (whole
 * messages in memory); the open cache's own. None of these is taken while
 * another of them is held; under lock only leaf locks are taken (a work
 * queue's, to hand over an invalidation).
 */
struct model {
	/* Set by model_new, never changed after: no lock. */
	struct source *source;
	struct store *store;      /* has its own lock */
	struct prefetch *prefetch;  /* has its own lock */
	struct meta_cache *meta;  /* NULL: no persistent metadata */
	struct work_queue *saver; /* writes the metadata cache; NULL: saves wait */
	pthread_t primer;         /* the first LIST (model_prime), joined at the end */
	bool primed;              /* primer runs */
	struct open_cache *open_cache;  /* has its own lock */
	time_t mounted_at;
	bool read_only;           /* -o ro: set before the mount serves */
	struct append_area *appends;  /* files being appended (append.c); own lock */
	struct server_info *info; /* quota, capabilities (server_info.c); own lock */
	uid_t uid;
	gid_t gid;

	struct raw_cache raws;    /* has its own lock */

	pthread_mutex_t dir_lock;
	struct dir_snapshot dirs[DIR_CACHE];  /* protected by dir_lock */
	uint64_t dir_tick;                   /* protected by dir_lock */

	pthread_mutex_t lock;
	pthread_cond_t loaded;    /* with lock: signalled when a listing finishes */
	struct inval *inval;      /* protected by lock; NULL until the session runs */
	struct kept_detail kept[DETAIL_KEEP];  /* protected by lock: a ring, oldest next */
	size_t kept_next;                      /* protected by lock */
	struct mbox *mbox;        /* protected by lock: index = mailbox id; [0] the root */
	size_t nmbox;             /* protected by lock: ids in use, counting [0] */
	size_t capmbox;           /* protected by lock: room in mbox */
	struct mbox_index *names; /* protected by lock: (parent, leaf) -> id of each level */
	bool ids_out_told;        /* protected by lock: "no mailbox id left" was logged */
	bool listed;              /* protected by lock: a LIST succeeded once */
	bool listing;             /* protected by lock: a thread runs LIST */
	uint64_t tree_gen;        /* protected by lock: changes made by this mount (tree_add...) */
	struct gone_name {
		char *path;
		struct timespec until;
	} gone[GONE_NAMES];       /* protected by lock: paths this mount removed (tree.c), a ring */
	size_t gone_next;         /* protected by lock */
	struct timespec listed_at;     /* protected by lock */
	struct timespec root_changed;  /* protected by lock: the root's mtime */
	size_t header_bytes;      /* protected by lock: of all msg.header */
	uint64_t summary_tick;    /* protected by lock: .summary snapshots' use */
	int acl;                  /* protected by lock: the server has ACL 1, has not -1, not known 0 */
	struct imap_namespaces *namespaces;  /* has its own lock (acl.h) */
	struct search_table *searches;  /* protected by lock (search.c) */
};

/* A mailbox directory's summary file (README). A mailbox named so shows
 * as %2Esummary (mbox_names.c), a message by its UID: no name clashes. */
#define SUMMARY_NAME ".summary"

/* Sets t to now, or just after what it holds when the clock has not moved
 * past it: an mtime the kernel must see change. */
void mtime_bump(struct timespec *t);

/* Gives directory id (0: the root) a new mtime: its entries changed, and the
 * kernel's cached listing of it must go. Caller holds the lock. */
void dir_changed(struct model *m, uint32_t id);

/* What mailbox id's .summary shows changed (flags, messages, envelopes):
 * its next getattr makes it again, and the kernel is told to drop its
 * attributes and pages. Caller holds the lock; dir_changed calls it. */
void listing_touched(struct model *m, uint32_t id);

/* summary_file.c: mailbox .summary files (INO_SUMMARY). getattr brings the
 * listing and every envelope up to date and makes the text when it changed;
 * read serves the text the last getattr made, so that size and bytes
 * agree. summary_forget frees a mailbox's text (caller holds the lock). */
int summary_getattr(struct model *m, uint64_t ino, struct stat *st);
int summary_read(struct model *m, uint64_t ino, uint64_t off, size_t size, char *buf, size_t *n);
void summary_forget(struct mbox *b);
/* A copy of message ino's envelope (env_pack form), fetched with the
 * envelopes of the messages after it when not known: never a body. */
int env_get(struct model *m, uint64_t ino, char **env);
/* Keeps an envelope for msg if it has none: whether it did (then the
 * caller marks the mailbox dirty and touched, once for a batch). Caller
 * holds the lock. */
bool env_keep(struct msg *msg, const char *subject, const char *from, const char *message_id);

/* search.c: `.search` directories (INO_SEARCHES, INO_SEARCH, INO_LINK).
 * A mailbox named so shows as %2Esearch (mbox_names.c). search_lookup:
 * a name in one of them (the first look at a search sends it; a name that
 * is no search answers -ENOENT); search_list: their entries (fresh: send
 * the search again when old, as at readdir's start); search_refresh: the
 * same at getattr. None is called with the lock held. */
#define SEARCH_NAME ".search"
struct search_table;
int search_init(struct model *m);
void search_free(struct model *m);
int search_lookup(struct model *m, uint64_t parent, const char *name, uint64_t *ino);
int search_getattr(struct model *m, uint64_t ino, struct stat *st);
int search_list(struct model *m, uint64_t ino, bool fresh, struct model_dir *d, size_t *cap);
int search_refresh(struct model *m, uint64_t ino);
int search_readlink(struct model *m, uint64_t ino, char **target);
/* model.c: one entry more in d (cap its room). */
int dir_add(struct model_dir *d, size_t *cap, const char *name, uint64_t ino, mode_t type);

/* tree.c: the mailbox table and its name index (0, -ENOMEM), and their end
 * (every entry's strings and messages too). */
int tree_init(struct model *m);
void tree_free(struct model *m);
/* The id of the level for a shown path ("Archive/Projects"), made with the
 * levels above it when new: 0, -ENOSPC when no mailbox id is left, -ENOMEM.
 * The table may move. Caller holds the lock (all of tree.c's callers do). */
int mbox_node(struct model *m, const char *path, uint32_t *id);
/* The visible level called name below parent, or 0. */
uint32_t mbox_child(const struct model *m, uint32_t parent, const char *name);
/* Whether level id shows: listed, or a level below it is. */
bool mbox_visible(const struct model *m, uint32_t id);
/* Shows what the last LIST saw (mbox.seen): a directory whose entries
 * changed gets a new mtime, which tells the kernel to drop its cached
 * listing; a level that no longer shows becomes a tombstone (tree.c). */
void tree_apply(struct model *m);
/* What this mount changed itself (mailbox_write.c), shown at once: each
 * bumps model.tree_gen, so that a LIST sent before it is not applied.
 * tree_add: a new mailbox wire at shown path (its levels made as
 * mbox_node's), 0 or -ENOSPC, -ENOMEM. tree_remove: mailbox id deleted.
 * tree_move: level id with the levels below it renamed to path below to
 * (wire its new server name; the levels below are renamed with it, as
 * RENAME does), 0 or -ENOMEM with nothing changed; ids stay, so the
 * kernel's inodes stay right. */
int tree_add(struct model *m, const char *path, const char *wire, char delim, uint32_t *id);
void tree_remove(struct model *m, uint32_t id);
int tree_move(struct model *m, uint32_t id, uint32_t to, const char *path, const char *wire);
/* Whether a LIST's path is one this mount removed or renamed away lately
 * (or below one): not shown again yet. */
bool tree_recently_gone(const struct model *m, const char *path);

/* The mailbox of a message-level inode (a message directory or one of its
 * files), or 0 when it belongs to a past generation (see mbox.view): those
 * UIDs name other messages now. Caller holds the lock. */
uint32_t msg_mbox(const struct model *m, uint64_t ino);
/* Gives mailbox id a new view id (its UIDVALIDITY changed): -ENOSPC when no
 * id is left, -ENOMEM. The table may move: pointers into it are stale after.
 * Caller holds the lock. */
int mbox_new_view(struct model *m, uint32_t id);

/* A command about mailbox id's UIDs (id may be a view id, ino_mbox of a
 * message inode) found its UIDVALIDITY changed: they name other messages
 * now, and the mailbox is listed again before any of them is used. Takes
 * the lock. */
void mbox_stale(struct model *m, uint32_t id);

/* Frees what one message holds, and a whole table. */
void msg_clear(struct msg *msg);
void msgs_free(struct msg *msgs, size_t n);

/* What a message inode needs, copied out of the table (flags, header and
 * detail are not copied). -ENOENT when gone. Caller holds the lock. */
int msg_facts(struct model *m, uint64_t ino, struct msg *facts);
struct msg *msg_find(const struct mbox *b, uint32_t uid);
int cmp_msg(const void *a, const void *b);
/* A detail's text form, to keep instead of its parsed form (NULL: no memory). */
struct saved_detail *saved_of(const struct msg_detail *d);
/* listing.c: message uid left mailbox id on the server (moved, expunged by
 * this mount): out of the table, its name told gone to the kernel, the
 * directory's mtime new. With out, its facts, flags, header and detail (as
 * text) move there (msg_clear them); else they are freed. false when the
 * table does not hold it. Caller holds the lock. */
bool msg_take(struct model *m, uint32_t id, uint32_t uid, struct msg *out);
/* Message msg (uid its UID there) arrived in mailbox id of uidvalidity by
 * this mount's doing: into the table, taking what msg holds (then zeroed),
 * when the table is listed and of that generation; else false and the
 * table is listed again at the next readdir or lookup miss (msg untouched).
 * Caller holds the lock. */
bool msg_put(struct model *m, uint32_t id, uint32_t uidvalidity, struct msg *msg);
/* model_sync.c: fetches mailbox id's listing when never done, or when
 * force and older than MODEL_FRESH_MS: from the metadata cache first, then
 * only what changed (CONDSTORE/QRESYNC) or, without them, all flags.
 * Caller holds the lock; it is released while the server answers. */
int ensure_loaded(struct model *m, uint32_t id, bool force);
/* Waits while another thread lists directory id: the mailboxes for the root
 * (0), mailbox id's messages otherwise. -EIO when that outlasts a request's
 * deadline. Caller holds the lock; it is released while waiting. */
int wait_listing(struct model *m, uint32_t id);
/* Saves what the metadata cache lacks (at unmount, once the saver thread
 * is gone). Caller holds the lock; it is released while each file is
 * written. */
void save_all(struct model *m);
/* The saver thread's work (work_queue.h): a save, or a save never run. */
void save_run(void *ctx, void *item);
void save_drop(void *item);
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

/* ---- changes (write.c routes them to the files below) ------------------- */

/* mailbox_write.c: CREATE (+ SUBSCRIBE) of name below directory parent
 * (the root or a mailbox level); DELETE (+ UNSUBSCRIBE) of mailbox id;
 * RENAME of id to newname below newparent. */
int mailbox_create(struct model *m, uint64_t parent, const char *name, struct stat *st);
int mailbox_delete(struct model *m, uint32_t id);
int mailbox_rename(struct model *m, uint32_t id, uint64_t newparent, const char *newname,
		   unsigned flags);
/* flags_write.c: user.imap.flags of message directory ino set to value. */
int flags_set(struct model *m, uint64_t ino, const char *value, size_t len);
/* message_write.c: message ino to Trash, or expunged (UIDPLUS); moved into
 * mailbox directory newparent. */
int message_delete(struct model *m, uint64_t ino);
int message_move(struct model *m, uint64_t ino, uint64_t newparent, const char *newname,
		 unsigned flags);
struct imap_landed;
/* UID which->uid of mailbox id (in generation which->uidvalidity) expunged
 * for good, not moved to Trash: an append's partial copy, replaced. */
int message_expunge(struct model *m, uint32_t id, const struct imap_landed *which);
/* append.c: files being appended (INO_STAGE). The area is made by
 * model_new and freed by model_free; lookup, readdir and getattr of
 * mailbox directories show its files. */
struct append_area;
struct append_area *append_area_new(struct model *m);
void append_area_free(struct append_area *a);
int append_create(struct model *m, uint32_t mbox, const char *name, struct stat *st);
int append_write(struct model *m, uint64_t ino, uint64_t off, const char *buf, size_t size,
		 size_t *written);
int append_flush(struct model *m, uint64_t ino, uint64_t fh);
void append_release(struct model *m, uint64_t ino);
int append_setattr(struct model *m, uint64_t ino, const struct stat *attr, int to_set,
		   struct stat *out);
int append_unlink(struct model *m, uint64_t ino);
int append_rename(struct model *m, uint64_t ino, uint64_t newparent, const char *newname,
		  unsigned flags);
/* What model.c and model_read_ino show of them: the file called name in
 * mailbox id (-ENOENT), its attributes, its bytes, and the names readdir
 * lists (add is called with each; those appended are left out). The
 * area's lock is a leaf: these may be called with the model's lock held. */
int append_lookup(struct model *m, uint32_t id, const char *name, uint64_t *ino);
int append_getattr(struct model *m, uint64_t ino, struct stat *st);
int append_read(struct model *m, uint64_t ino, uint64_t off, size_t size, char *buf, size_t *n);
int append_list(struct model *m, uint32_t id, int (*add)(void *, const char *, uint64_t),
		void *ud);

/* server_info.c: what the mount shows of the server (quota for statfs,
 * capabilities) and the xattrs of the root and of mailbox directories:
 * 0, -ENODATA (no such attribute), or the source's errno; names are
 * added NUL-terminated to b. */
struct buf;
struct server_info *server_info_new(void);
void server_info_free(struct server_info *si);
int root_xattr(struct model *m, const char *name, char **value);
void root_xattr_names(struct buf *b);
int mbox_xattr(struct model *m, uint64_t ino, const char *name, char **value);
void mbox_xattr_names(struct model *m, uint64_t ino, struct buf *b);
/* ---- rights (rights.c) ------------------------------------------------------ */

/* What MYRIGHTS answered on a connection: acl 1 when it offers ACL (-1 not);
 * got: rights holds the answer. */
struct rights_answer {
	int acl;
	bool got;
	char rights[IMAP_RIGHTS_MAX];
};
/* Whether mailbox id's rights are worth asking: not known or old, and the
 * server may have ACL. Caller holds the lock. */
bool rights_wanted(const struct model *m, uint32_t id);
/* On the pool's side: MYRIGHTS wire when c offers ACL (nothing sent
 * otherwise). A refusal is no error (unknown rights); an imap_err else. */
int rights_ask(struct imap_conn *c, const char *wire, struct rights_answer *a);
/* Keeps an answer for mailbox id. Caller holds the lock. */
void rights_keep(struct model *m, uint32_t id, const struct rights_answer *a);
/* Forgets a mailbox's rights (its wire name changed). Caller holds the lock. */
void rights_forget(struct mbox *b);
/* 0 when mailbox id's rights hold every letter of need (or are not
 * known: the server decides), else -EACCES; asked first when wanted.
 * Takes the lock; no lock held. */
int rights_need(struct model *m, uint32_t id, const char *need);
/* A change in mailbox id ended with rc: after -EACCES (NOPERM) the rights
 * are asked again. Takes the lock. */
void rights_refused(struct model *m, uint32_t id, int rc);
/* The permission bits of mailbox id's directory. Caller holds the lock. */
mode_t rights_mode(const struct model *m, uint32_t id);
/* user.imap.rights of mailbox id (-ENODATA without ACL), and its name
 * added NUL-terminated to b when the server has ACL. */
int rights_xattr(struct model *m, uint32_t id, char **value);
void rights_xattr_name(struct model *m, uint32_t id, struct buf *b);

#endif
