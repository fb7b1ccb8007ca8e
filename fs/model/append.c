/*
 * append — new files in a mailbox directory (INO_STAGE), APPENDed when
 * closed (model_int.h; append_send.c sends them).
 *
 * A file's bytes live in an anonymous file of the staging directory
 * (cache_dir/staging: never the whole message in memory), named by the
 * inode's mailbox and serial number. It shows in its directory until it is
 * appended; then the message directory APPENDUID names appears instead.
 * Tools go on using the name after their close: rsync renames its dot-named
 * temporary file, cp -p and rsync set times and modes. So an appended
 * file's name keeps answering (lookup, getattr, setattr, unlink, rename:
 * each 0, the last two making it go) for LINGER_S after its close,
 * hidden from readdir (at most LINGER_MAX of them, LINGER_BYTES of data).
 * A file whose close was refused goes with its data.
 *
 * Files have no open state (the kernel opens none: FUSE no_open), so a
 * file reopened by name (cp over a name still answering) gets no release:
 * each write keeps it LINGER_S longer, and what it wrote stays (pending)
 * until a close answered for it. Only its creator's handle is known
 * (MODEL_CREATED_FH): until its first close, the closes of other opens (a
 * file manager reading a new file) append nothing. That first close ends
 * it: once the kernel knows no_open it sends no RELEASE even for created
 * files; a release that does come, maybe after a new open by name wrote
 * again, keeps what was written after that close.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "append_send.h"
#include "dirs.h"
#include "inode.h"
#include "log.h"
#include "model_int.h"
#include "request.h"

#define LINGER_S 60
/* Names kept answering at most, and their bytes (the newest is kept
 * whatever its size); the oldest go first. Each holds its data open: `cp
 * *.eml` of thousands would run out of descriptors, of large ones fill the
 * disk. */
#define LINGER_MAX 128
#define LINGER_BYTES (64u << 20)

struct stage {
	/* Set at creation, never changed after: no lock. */
	uint32_t serial;          /* the inode's uid field */
	uint32_t mbox;            /* the mailbox's id (not a view id) */
	int fd;                   /* the bytes written */
	/* Protected by append_area.lock (all below). */
	char *name;
	uint64_t size;
	uint64_t gen;             /* counts changes of the bytes */
	mode_t mode;
	struct timespec atime, mtime, ctime;
	bool open;                /* its creator's handle is not released */
	bool creator_closed;      /* that handle was closed (flushed) once */
	uint64_t closed_gen;      /* gen at the last close that answered for the bytes
				   * (the creator's first, then any that appended or
				   * was refused): newer ones are pending() */
	bool unlinked;            /* its name is gone; dropped once unused */
	bool appended;            /* what it holds is on the server */
	struct imap_landed landed;   /* where its last APPEND went (uid 0: unknown) */
	/* An earlier APPEND of it that the next one replaces: the file grew
	 * after it without being truncated (a shell group whose child closed
	 * the descriptor before the last write). uid 0: none. */
	struct imap_landed supersedes;
	bool flushing;            /* a close appends it now */
	time_t keep_until;        /* CLOCK_MONOTONIC s: kept until then once not open */
	int refs;                 /* requests using it outside the lock */
	struct stage *next;
};

struct append_area {
	struct model *m;          /* set at creation: no lock */
	pthread_mutex_t lock;     /* a leaf lock: nothing is taken under it */
	pthread_cond_t done;      /* with lock: a flush ended */
	char *dir;                /* set before the mount serves; NULL: $TMPDIR */
	struct stage *list;       /* protected by lock */
	uint32_t serial;          /* protected by lock: the last one given */
};

static time_t now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

struct append_area *append_area_new(struct model *m)
{
	struct append_area *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (clock_cond_init(&a->done) != 0) {
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	a->m = m;
	return a;
}

static void stage_free(struct stage *st)
{
	close(st->fd);
	free(st->name);
	free(st);
}

void append_area_free(struct append_area *a)
{
	if (!a)
		return;
	while (a->list) {
		struct stage *next = a->list->next;

		stage_free(a->list);
		a->list = next;
	}
	pthread_cond_destroy(&a->done);
	pthread_mutex_destroy(&a->lock);
	free(a->dir);
	free(a);
}

/* Leftovers of a mount that crashed between making a file and unlinking it. */
static void clean_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "stage-", 6) == 0 && unlinkat(dirfd(d), e->d_name, 0) == 0)
			log_msg(LOG_INFO, "removed %s/%s, left by an earlier mount", dir, e->d_name);
	if (d)
		closedir(d);
}

int model_set_staging(struct model *m, const char *dir)
{
	int rc = make_dirs(dir);

	if (rc)
		return rc;
	free(m->appends->dir);
	m->appends->dir = strdup(dir);
	if (!m->appends->dir)
		return -ENOMEM;
	clean_dir(dir);
	return 0;
}

int staging_fd(struct model *m)
{
	const char *dir = m->appends->dir ? m->appends->dir : getenv("TMPDIR");
	char *path = NULL;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* No O_TMPFILE there: a named file, unlinked at once. */
	if (asprintf(&path, "%s/stage-XXXXXX", dir) < 0)
		return -ENOMEM;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	else
		fd = -errno;
	free(path);
	return fd;
}

/* ---- the table ------------------------------------------------------------ */

/* Whether st holds bytes no close has answered for yet: an open by name
 * (which the area does not see) may still write them, and its close must
 * append them; they go only with their name. Locked. */
static bool pending(const struct stage *st)
{
	return !st->appended && !st->unlinked && st->gen != st->closed_gen;
}

/* Whether st is kept only for its name: nobody uses it. Locked. */
static bool idle(const struct stage *st)
{
	return !st->open && !st->flushing && st->refs == 0 && !pending(st);
}

/* Whether st goes now: unused and not worth keeping. Locked. */
static bool droppable(const struct stage *st, time_t now)
{
	return idle(st) && (st->unlinked || now >= st->keep_until);
}

/* Drops what is no longer wanted. Locked. */
static void sweep(struct append_area *a)
{
	time_t now = now_s();
	uint64_t bytes = 0;
	size_t kept = 0;

	/* Newest first: the list is in the order of creation, reversed. */
	for (struct stage **p = &a->list; *p;) {
		struct stage *st = *p;
		bool over = false;

		if (idle(st) && !droppable(st, now)) {
			bytes += st->size;
			over = ++kept > 1 && (kept > LINGER_MAX || bytes > LINGER_BYTES);
		}
		if (over || droppable(st, now)) {
			*p = st->next;
			stage_free(st);
		} else {
			p = &st->next;
		}
	}
}

/* The file inode ino names (unlinked ones too: open descriptors still
 * write and close them). Locked. */
static struct stage *by_ino(struct append_area *a, uint64_t ino)
{
	if (ino_type(ino) != INO_STAGE)
		return NULL;
	for (struct stage *st = a->list; st; st = st->next)
		if (st->serial == ino_uid(ino) && st->mbox == ino_mbox(ino))
			return st;
	return NULL;
}

/* The file called name in mailbox id. Locked. */
static struct stage *by_name(struct append_area *a, uint32_t id, const char *name)
{
	time_t now = now_s();

	for (struct stage *st = a->list; st; st = st->next)
		if (st->mbox == id && !st->unlinked && strcmp(st->name, name) == 0 &&
		    !droppable(st, now))
			return st;
	return NULL;
}

static uint64_t ino_of(const struct stage *st)
{
	return ino_make(INO_STAGE, st->mbox, st->serial, 0);
}

static void stat_of(const struct model *m, const struct stage *st, struct stat *out)
{
	memset(out, 0, sizeof(*out));
	out->st_ino = ino_of(st);
	out->st_mode = S_IFREG | st->mode;
	out->st_nlink = 1;
	out->st_uid = m->uid;
	out->st_gid = m->gid;
	out->st_size = (off_t)st->size;
	out->st_blocks = (blkcnt_t)((st->size + 511) / 512);
	out->st_atim = st->atime;
	out->st_mtim = st->mtime;
	out->st_ctim = st->ctime;
}

/* Its bytes changed: not on the server as they are now. A file truncated
 * is a new one (cp over a name still answering): its earlier APPEND stays;
 * one written on is the same message, whole at last: its next APPEND
 * replaces the earlier one. Locked. */
static void changed(struct stage *st, bool truncated)
{
	if (truncated)
		st->supersedes = (struct imap_landed){ 0 };
	else if (st->appended)
		st->supersedes = st->landed;
	st->gen++;
	st->appended = false;
	clock_gettime(CLOCK_REALTIME, &st->mtime);
	st->ctime = st->mtime;
	st->keep_until = now_s() + LINGER_S; /* reopened by name: no release comes */
}

/* A name that would read as a UID (or is none). */
static bool uid_like(const char *name)
{
	size_t i = 0;

	while (name[i] >= '0' && name[i] <= '9')
		i++;
	return name[i] == 0;
}

int append_lookup(struct model *m, uint32_t id, const char *name, uint64_t *ino)
{
	struct append_area *a = m->appends;
	struct stage *st;

	pthread_mutex_lock(&a->lock);
	st = by_name(a, id, name);
	*ino = st ? ino_of(st) : 0;
	pthread_mutex_unlock(&a->lock);
	return st ? 0 : -ENOENT;
}

int append_getattr(struct model *m, uint64_t ino, struct stat *out)
{
	struct append_area *a = m->appends;
	struct stage *st;

	pthread_mutex_lock(&a->lock);
	st = by_ino(a, ino);
	if (st && !droppable(st, now_s()))
		stat_of(m, st, out);
	else
		st = NULL;
	pthread_mutex_unlock(&a->lock);
	return st ? 0 : -ENOENT;
}

int append_list(struct model *m, uint32_t id, int (*add)(void *, const char *, uint64_t),
		void *ud)
{
	struct append_area *a = m->appends;
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	sweep(a);
	/* Appended ones show as their message directory instead. */
	for (struct stage *st = a->list; st && rc == 0; st = st->next)
		if (st->mbox == id && !st->unlinked && !st->appended)
			rc = add(ud, st->name, ino_of(st));
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* ---- what the kernel asks ---------------------------------------------------- */

/* The mailbox takes files: listed, selectable, no mailbox of that name. */
static int may_create(struct model *m, uint32_t id, const char *name)
{
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	if (id == 0 || id >= m->nmbox || !mbox_visible(m, id))
		rc = -ENOENT;
	else if (!m->mbox[id].wire)
		rc = -EPERM; /* a level without a mailbox (\Noselect) holds no mail */
	else if (mbox_child(m, id, name))
		rc = -EEXIST;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int append_create(struct model *m, uint32_t id, const char *name, struct stat *out)
{
	struct append_area *a = m->appends;
	struct stage *st, *old;
	int rc, fd;

	memset(out, 0, sizeof(*out));
	if (uid_like(name))
		return -EINVAL; /* it would read as a message's UID */
	rc = may_create(m, id, name);
	if (rc == 0)
		rc = rights_need(m, id, "i"); /* refused at once, not at close */
	if (rc)
		return rc;
	fd = staging_fd(m);
	if (fd < 0) {
		log_msg(LOG_ERR, "cannot make a staging file: %s", strerror(-fd));
		return fd;
	}
	st = calloc(1, sizeof(*st));
	if (!st || !(st->name = strdup(name))) {
		free(st);
		close(fd);
		return -ENOMEM;
	}
	st->fd = fd;
	st->mbox = id;
	st->mode = 0644;
	st->open = true;
	clock_gettime(CLOCK_REALTIME, &st->mtime);
	st->atime = st->ctime = st->mtime;
	pthread_mutex_lock(&a->lock);
	sweep(a);
	old = by_name(a, id, name);
	if (old && old->open) {
		pthread_mutex_unlock(&a->lock);
		stage_free(st);
		return -EEXIST;
	}
	if (old)
		old->unlinked = true; /* replaced: a name still answering after its append */
	if (++a->serial == 0)
		a->serial = 1;
	st->serial = a->serial;
	st->next = a->list;
	a->list = st;
	stat_of(m, st, out);
	sweep(a);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/* st by ino with a reference, for use outside the lock; NULL: none. */
static struct stage *get(struct append_area *a, uint64_t ino)
{
	struct stage *st;

	pthread_mutex_lock(&a->lock);
	st = by_ino(a, ino);
	if (st)
		st->refs++;
	pthread_mutex_unlock(&a->lock);
	return st;
}

static void put(struct append_area *a, struct stage *st)
{
	pthread_mutex_lock(&a->lock);
	st->refs--;
	sweep(a);
	pthread_mutex_unlock(&a->lock);
}

int append_write(struct model *m, uint64_t ino, uint64_t off, const char *buf, size_t size,
		 size_t *written)
{
	struct append_area *a = m->appends;
	struct stage *st = get(a, ino);
	ssize_t n;

	*written = 0;
	if (!st)
		return -ENOENT;
	n = pwrite(st->fd, buf, size, (off_t)off);
	pthread_mutex_lock(&a->lock);
	if (n > 0) {
		*written = (size_t)n;
		if (off + (uint64_t)n > st->size)
			st->size = off + (uint64_t)n;
		changed(st, false);
	}
	pthread_mutex_unlock(&a->lock);
	n = n < 0 ? -errno : n;
	put(a, st);
	return n < 0 ? (int)n : 0;
}

int append_read(struct model *m, uint64_t ino, uint64_t off, size_t size, char *buf, size_t *n)
{
	struct append_area *a = m->appends;
	struct stage *st = get(a, ino);
	ssize_t got;

	*n = 0;
	if (!st)
		return -ENOENT;
	do
		got = pread(st->fd, buf, size, (off_t)off);
	while (got < 0 && errno == EINTR);
	*n = got > 0 ? (size_t)got : 0;
	got = got < 0 ? -errno : 0;
	put(a, st);
	return (int)got;
}

int append_setattr(struct model *m, uint64_t ino, const struct stat *attr, int to_set,
		   struct stat *out)
{
	struct append_area *a = m->appends;
	struct stage *st = get(a, ino);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!st)
		return m->read_only ? -EROFS : -ENOENT;
	if ((to_set & FUSE_SET_ATTR_SIZE) && ftruncate(st->fd, attr->st_size) != 0)
		rc = -errno;
	pthread_mutex_lock(&a->lock);
	if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE) && (uint64_t)attr->st_size != st->size) {
		bool truncated = (uint64_t)attr->st_size < st->size;

		st->size = (uint64_t)attr->st_size;
		changed(st, truncated);
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		st->mode = attr->st_mode & 07777;
	if (to_set & FUSE_SET_ATTR_ATIME)
		st->atime = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME)
		st->mtime = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		clock_gettime(CLOCK_REALTIME, &st->atime);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &st->mtime);
	/* Owners are the mount's: a chown (rsync -a as root) is taken and
	 * changes nothing, like the mode of a message that is only on a server. */
	clock_gettime(CLOCK_REALTIME, &st->ctime);
	stat_of(m, st, out);
	pthread_mutex_unlock(&a->lock);
	put(a, st);
	return rc;
}

/* The model shows the new message at once: its listing is fetched again at
 * the next look (no MODEL_FRESH_MS wait) and the kernel drops its cached
 * one (and the file's name, which now answers only a lookup). */
static void shown(struct model *m, uint32_t id, const char *name)
{
	pthread_mutex_lock(&m->lock);
	if (id < m->nmbox && !m->mbox[id].gone) {
		m->mbox[id].loaded_at = (struct timespec){ 0 };
		dir_changed(m, id);
		if (m->inval)
			inval_entry(m->inval, ino_make(INO_MBOX, id, 0, 0), name);
	}
	pthread_mutex_unlock(&m->lock);
}

/* Waits while another close appends st. Locked; false past the deadline. */
static bool wait_flush(struct append_area *a, struct stage *st)
{
	struct timespec until;
	bool done = true;

	request_deadline(&until);
	/* The lock is let go while waiting: the other close's sweep must not
	 * free st (unlinked, or past the lingering bounds) under this one. */
	st->refs++;
	while (st->flushing) {
		if (pthread_cond_timedwait(&a->done, &a->lock, &until) == ETIMEDOUT) {
			done = !st->flushing;
			break;
		}
	}
	st->refs--;
	return done;
}

/* The earlier APPEND sup of a file that grew since is replaced by its
 * whole message, just appended as to: that UID alone is expunged (only
 * when both are known, in the same generation of the mailbox). Failing,
 * both stay: nothing is lost. */
static void replace_earlier(struct model *m, uint32_t id, const char *name,
			    const struct imap_landed *sup, const struct imap_landed *to)
{
	int rc;

	if (!sup->uid || !to->uid || sup->uid == to->uid || !sup->uidvalidity ||
	    sup->uidvalidity != to->uidvalidity)
		return;
	rc = message_expunge(m, id, sup);
	if (rc)
		log_msg(LOG_WARNING, "%s: its earlier, partial APPEND (UID %u) stays: %s", name,
			sup->uid, strerror(-rc));
	else
		log_msg(LOG_INFO, "%s: its earlier, partial APPEND (UID %u) expunged", name,
			sup->uid);
}

int append_flush(struct model *m, uint64_t ino, uint64_t fh)
{
	struct append_area *a = m->appends;
	struct stage *st;
	uint64_t size = 0, gen = 0;
	struct imap_landed to = { 0 }, sup = { 0 };
	char *name = NULL;
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	st = by_ino(a, ino);
	if (st && !wait_flush(a, st))
		rc = -EIO;
	if (st && fh == MODEL_CREATED_FH && !st->creator_closed) {
		st->creator_closed = true;
		st->closed_gen = st->gen;
		/* Its release may never come: once an OPEN was answered
		 * ENOSYS (no_open: the first read of any file), the kernel
		 * sends no RELEASE for created files either (Linux 6.18).
		 * Kept open, it would hold its data and descriptor until
		 * unmount. Its first close ends it; a dup still writing is
		 * then like an open by name. */
		st->open = false;
		/* An empty one is a shell's redirection (open, dup2, close
		 * the first descriptor): its writes are still to come. */
		if (st->size == 0)
			st->keep_until = now_s() + LINGER_S;
	}
	/* Nothing new to append (an empty file is no message); or the close of
	 * another open while its creator still writes (a file manager's look
	 * at a new file): the creator's close appends it, whole. */
	if (rc || !st || st->appended || st->unlinked || st->size == 0 ||
	    (fh != MODEL_CREATED_FH && st->open && !st->creator_closed)) {
		if (rc == 0 && st && st->creator_closed)
			st->closed_gen = st->gen; /* nothing to send: answered */
		pthread_mutex_unlock(&a->lock);
		return rc;
	}
	st->flushing = true;
	st->refs++;
	size = st->size;
	gen = st->gen;
	sup = st->supersedes;
	name = strdup(st->name);
	pthread_mutex_unlock(&a->lock);

	rc = name ? append_send(m, st->mbox, st->fd, size, &to) : -ENOMEM;
	if (rc == -EINVAL)
		log_msg(LOG_WARNING, "%s: not a message (no header at its start): not appended",
			name);
	else if (rc)
		log_msg(LOG_WARNING, "%s: not appended: %s", name, strerror(-rc));

	pthread_mutex_lock(&a->lock);
	st->flushing = false;
	st->closed_gen = gen; /* this close answered for those bytes */
	if (rc == 0 && st->gen == gen) {
		st->appended = true;
		st->landed = to;
		st->supersedes = (struct imap_landed){ 0 };
		st->keep_until = now_s() + LINGER_S;
	} else if (!st->open && st->gen == st->closed_gen) {
		st->keep_until = 0; /* refused, its writer told: as at its release */
	}
	pthread_cond_broadcast(&a->done);
	st->refs--;
	sweep(a);
	pthread_mutex_unlock(&a->lock);
	if (rc == 0) {
		log_msg(LOG_INFO, "%s appended (UID %u, %llu bytes)", name, to.uid,
			(unsigned long long)size);
		replace_earlier(m, ino_mbox(ino), name, &sup, &to);
		shown(m, ino_mbox(ino), name);
	}
	free(name);
	return rc;
}

void append_release(struct model *m, uint64_t ino)
{
	struct append_area *a = m->appends;
	struct stage *st;

	pthread_mutex_lock(&a->lock);
	st = by_ino(a, ino);
	if (st) {
		st->open = false;
		/* Appended, or written again since its creator's close: its
		 * name answers a while (rsync renames it now); else its data
		 * goes (a copy that failed, an empty file). */
		if (!st->appended && st->gen == st->closed_gen)
			st->keep_until = 0;
	}
	sweep(a);
	pthread_mutex_unlock(&a->lock);
}

int append_unlink(struct model *m, uint64_t ino)
{
	struct append_area *a = m->appends;
	struct stage *st;

	pthread_mutex_lock(&a->lock);
	st = by_ino(a, ino);
	if (st)
		st->unlinked = true;
	sweep(a);
	pthread_mutex_unlock(&a->lock);
	return st ? 0 : -ENOENT;
}

/* rsync's rename of its temporary file after its close: the message is in,
 * whatever the new name; the name goes. Whether it was so. */
static bool rename_appended(struct append_area *a, uint64_t ino)
{
	struct stage *st;
	bool done;

	pthread_mutex_lock(&a->lock);
	st = by_ino(a, ino);
	done = st && !st->unlinked && st->appended;
	if (done)
		st->unlinked = true;
	sweep(a);
	pthread_mutex_unlock(&a->lock);
	return done;
}

int append_rename(struct model *m, uint64_t ino, uint64_t newparent, const char *newname,
		  unsigned flags)
{
	struct append_area *a = m->appends;
	struct stage *st, *other;
	char *copy = NULL;
	int rc = 0;

	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if (ino_type(newparent) != INO_MBOX || ino_mbox(newparent) != ino_mbox(ino))
		return -EXDEV; /* mv copies it: its bytes go to that mailbox too */
	if (rename_appended(a, ino))
		return 0;
	if (uid_like(newname))
		return -EINVAL;
	rc = may_create(m, ino_mbox(ino), newname);
	if (rc)
		return rc;
	copy = strdup(newname);
	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&a->lock);
	st = by_ino(a, ino);
	other = st ? by_name(a, st->mbox, newname) : NULL;
	if (!st || st->unlinked) {
		rc = -ENOENT;
	} else if (other && other != st && (flags & RENAME_NOREPLACE)) {
		rc = -EEXIST;
	} else {
		if (other && other != st)
			other->unlinked = true;
		free(st->name);
		st->name = copy;
		copy = NULL;
		clock_gettime(CLOCK_REALTIME, &st->ctime);
	}
	sweep(a);
	pthread_mutex_unlock(&a->lock);
	free(copy);
	return rc;
}
