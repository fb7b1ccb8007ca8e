/*
 * model — the mount's picture of the server: the mailbox tree, each
 * mailbox's messages (UID, flags, date, size), and message content fetched
 * on demand through the source (the one door to the server). Everything here is named by inode number.
 *
 *   struct model *m = model_new(source, store, meta, 3);
 *   model_lookup(m, FUSE_ROOT_ID, "INBOX", &st);        // st.st_ino is the child
 *   model_readdir_at(m, st.st_ino, 0, &list);            // snapshot of the entries
 *   model_read_ino(m, eml_ino, 0, 4096, buf, &n);        // from the cache, or fetched
 *
 * Functions return 0 or a negative errno (-ENOENT, -EIO, -ERANGE...), ready
 * for fuse_reply_err(-rc). They are safe to call from many threads: a lock
 * guards the tree, and no lock is held while talking to the server.
 *
 * Mailbox lists and message lists are fetched on first use and again when a
 * directory is listed after MODEL_FRESH_MS; content never changes under a UID
 * and UIDVALIDITY, so it is fetched in chunks (growing while a reader goes
 * on in order) and left to the kernel's page cache.
 */
#ifndef IMAPFS_MODEL_H
#define IMAPFS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "source.h"
#include "store.h"
#include "meta_cache.h"

#define MODEL_FRESH_MS 2000
/* Ranged reads fetch MODEL_CHUNK aligned bytes; a reader that goes on where
 * the last fetch ended gets twice as much each time, up to MODEL_CHUNK_MAX. */
#define MODEL_CHUNK (128 * 1024)
#define MODEL_CHUNK_MAX (4 * 1024 * 1024)

struct model;

/* workers: threads that fetch messages ahead of readers (0: none); meta:
 * where listings persist across mounts (NULL: nowhere). */
struct model *model_new(struct source *source, struct store *store, struct meta_cache *meta,
			unsigned workers);
void model_free(struct model *m);

int model_lookup(struct model *m, uint64_t parent, const char *name, struct stat *st);
int model_getattr(struct model *m, uint64_t ino, struct stat *st);
/* Whether model_getattr of ino needs nothing from the server: a listing may
 * then hand the attributes over with the name (readdirplus). */
bool model_attr_cheap(struct model *m, uint64_t ino);

/* A directory's entries, taken at opendir time so offsets stay stable. */
struct model_dirent {
	char *name;
	uint64_t ino;
	mode_t type;     /* S_IFDIR, S_IFREG or S_IFLNK */
};
struct model_dir {
	size_t n;
	struct model_dirent *ents;
	int refs;        /* atomic; model_dir_free drops one */
};
/*
 * A directory's entries for a read at offset off with no open directory (the kernel
 * opens none: FUSE no_opendir, it caches listings and drops them when a
 * directory's mtime changes). A pass starting at 0 takes a new snapshot,
 * kept for the reads further on.
 */
int model_readdir_at(struct model *m, uint64_t ino, uint64_t off, struct model_dir **out);
void model_dir_free(struct model_dir *d);
/* Brings a mailbox directory (or the root) up to date when older than
 * MODEL_FRESH_MS: called when the kernel asks its attributes, which it does
 * before using a cached listing of it. */
int model_refresh(struct model *m, uint64_t ino);

/* File ino's whole content (malloc'd, *len bytes: its size) when it is a
 * small message's and here without the server: what ops.c hands the kernel
 * ahead of its reads. -EAGAIN when it is not (push.c). */
int model_content_local(struct model *m, uint64_t ino, char **data, size_t *len);

/* Reads up to size bytes at off into buf; *n is what was read (0 at EOF).
 * There is no open file: the kernel opens none (FUSE no_open), since files
 * never change; the open state of recent files is kept here. */
int model_read_ino(struct model *m, uint64_t ino, uint64_t off, size_t size, char *buf,
		   size_t *n);

/* A search hit's symlink target (malloc'd). */
int model_readlink(struct model *m, uint64_t ino, char **target);

/* Extended attributes of a message directory (SPEC.md): the value, malloc'd. */
int model_getxattr(struct model *m, uint64_t ino, const char *name, char **value, size_t *len);
/* The NUL-separated list of names, malloc'd. */
int model_listxattr(struct model *m, uint64_t ino, char **list, size_t *len);

/* statfs: the account's quota (GETQUOTAROOT INBOX) as size and free space
 * (STORAGE) and inodes (MESSAGE), asked at most every few seconds; the
 * figures last known (zeros at first, and without QUOTA) when the server
 * fails or another thread asks it now. Never an error. */
struct statvfs;
void model_statfs(struct model *m, struct statvfs *sv);

/* Lists the mailboxes now, at mount, in a thread of its own, so that the
 * first look waits for one round trip less. This first LIST may take
 * LIST_AT_MOUNT_MS: Dovecot takes 15-30 s to LIST 70,000 folders (70-117 s
 * for 100,000); a request waits for it at most its own deadline, and later
 * listings, held to a request's time, show what it found if they fail. A
 * failure here is retried when needed. Call after fuse_daemonize (a thread). */
#define LIST_AT_MOUNT_MS 180000
void model_prime(struct model *m);

/* Where to tell the kernel of message directories that vanished (the
 * kernel keeps their names long: see model_timeout). */
struct inval;
void model_set_inval(struct model *m, struct inval *iv);

/* How long the kernel may trust a name or attributes of ino, in seconds. */
double model_timeout(uint64_t ino);

/*
 * Changes (README "Changing mail"). Each returns 0 or a negative errno;
 * -EROFS on a read-only mount (model_set_read_only) before anything is
 * sent. What changed is shown at once by this mount (no MODEL_FRESH_MS
 * wait): the listing is updated and the kernel told.
 */
void model_set_read_only(struct model *m);
bool model_read_only(const struct model *m);
/* In the root or a mailbox directory: CREATE (+ SUBSCRIBE). */
int model_mkdir(struct model *m, uint64_t parent, const char *name, struct stat *st);
/* A mailbox: DELETE (empty, no children); a message: to Trash or expunged;
 * a part directory: nothing is done (0). */
int model_rmdir(struct model *m, uint64_t parent, const char *name);
/* A file being appended: dropped; a file of a message: nothing is done (0). */
int model_unlink(struct model *m, uint64_t parent, const char *name);
/* A mailbox: RENAME; a message into another mailbox: MOVE; a file being
 * appended: renamed. flags: renameat2's (RENAME_NOREPLACE...). */
int model_rename(struct model *m, uint64_t parent, const char *name, uint64_t newparent,
		 const char *newname, unsigned flags);
/* user.imap.flags of a message directory: UID STORE FLAGS. */
int model_setxattr(struct model *m, uint64_t ino, const char *name, const char *value,
		   size_t len, int flags);
int model_removexattr(struct model *m, uint64_t ino, const char *name);

/* Where files being appended keep their bytes (cache_dir/staging): made if
 * needed, and emptied of what a crashed mount left. 0 or -errno; without
 * it they go to $TMPDIR. Call before the mount serves. */
int model_set_staging(struct model *m, const char *dir);
/* A new file in a mailbox directory: a message to append when closed. */
int model_create(struct model *m, uint64_t parent, const char *name, struct stat *st);
/* Bytes into a file being appended; *written of them. */
int model_write(struct model *m, uint64_t ino, uint64_t off, const char *buf, size_t size,
		size_t *written);
/* The handle create gives a new file (fi->fh): its closes append it; other
 * opens of it have none (0: the kernel sends no OPEN, FUSE no_open). */
#define MODEL_CREATED_FH 1
/* A close of a file being appended (FUSE flush) through handle fh: APPENDs
 * it if not done. */
int model_flush(struct model *m, uint64_t ino, uint64_t fh);
/* Its last close (FUSE release). */
void model_release(struct model *m, uint64_t ino);
/* chmod, utimes, truncate...: to_set is FUSE's FUSE_SET_ATTR_* mask; out
 * gets the attributes after. */
int model_setattr(struct model *m, uint64_t ino, const struct stat *attr, int to_set,
		  struct stat *out);

#endif
