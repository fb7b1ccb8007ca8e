#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "inode.h"
#include "log.h"
#include "request.h"

static const char *const kind_names[OPS_KINDS] = {
	[OPS_LOOKUP] = "LOOKUP", [OPS_GETATTR] = "GETATTR", [OPS_OPENDIR] = "OPENDIR",
	[OPS_READDIR] = "READDIR", [OPS_READDIRPLUS] = "READDIRPLUS", [OPS_OPEN] = "OPEN",
	[OPS_READ] = "READ", [OPS_READLINK] = "READLINK", [OPS_GETXATTR] = "GETXATTR",
	[OPS_LISTXATTR] = "LISTXATTR", [OPS_STATFS] = "STATFS", [OPS_FLUSH] = "FLUSH",
	[OPS_RELEASE] = "RELEASE", [OPS_CHANGE] = "changes",
};

/* Every operation starts here, as its request arrives: from now on it has
 * REQUEST_MS in all, whatever it waits for (request.h), however many calls
 * it makes. */
static struct imapfs_mount *begin_mount(fuse_req_t req, enum ops_kind kind)
{
	struct imapfs_mount *mnt = fuse_req_userdata(req);

	request_begin(REQUEST_MS);
	__atomic_add_fetch(&mnt->requests[kind], 1, __ATOMIC_RELAXED);
	return mnt;
}

static struct model *begin(fuse_req_t req, enum ops_kind kind)
{
	return begin_mount(req, kind)->model;
}

/* What the request's operation began with. */
static struct imapfs_mount *mount_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct model *model_of(fuse_req_t req)
{
	return mount_of(req)->model;
}

void ops_log_requests(const struct imapfs_mount *mnt)
{
	char line[512];
	size_t used = 0;
	uint64_t all = 0;

	for (int k = 0; k < OPS_KINDS; k++) {
		uint64_t n = __atomic_load_n(&mnt->requests[k], __ATOMIC_RELAXED);

		all += n;
		if (n && used < sizeof(line))
			used += (size_t)snprintf(line + used, sizeof(line) - used, " %s %llu",
						 kind_names[k], (unsigned long long)n);
	}
	log_msg(LOG_INFO, "served %llu requests:%s; handed the content of %llu files ahead (%llu not taken)",
		(unsigned long long)all, used ? line : " none",
		(unsigned long long)__atomic_load_n(&mnt->pushed, __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&mnt->push_refused, __ATOMIC_RELAXED));
}

static void reply_entry(fuse_req_t req, const struct stat *st)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = st->st_ino;
	e.attr = *st;
	e.attr_timeout = model_timeout(st->st_ino);
	e.entry_timeout = model_timeout(st->st_ino);
	fuse_reply_entry(req, &e);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct imapfs_mount *mnt = userdata;

	conn->want |= conn->capable & (FUSE_CAP_NO_OPEN_SUPPORT | FUSE_CAP_NO_OPENDIR_SUPPORT |
				       FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_READDIRPLUS);
	/* With no OPEN sent, an O_TRUNC the kernel left to OPEN would be lost:
	 * it must come as a SETATTR (a file being appended opened again). */
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	mnt->no_open = conn->capable & FUSE_CAP_NO_OPEN_SUPPORT;
	mnt->no_opendir = conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT;
	if (!mnt->no_opendir)
		log_msg(LOG_WARNING, "this kernel caches no directory listings: slower");
}

/* A mailbox directory's attributes (its mtime says whether its entries
 * changed) are worth a look at the server, at most every MODEL_FRESH_MS. */
static int refresh(fuse_req_t req, fuse_ino_t ino)
{
	int rc = model_refresh(model_of(req), ino);

	if (rc && rc != -ENOENT)
		log_msg(LOG_WARNING, "showing what was known: %s", strerror(-rc));
	return rc;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct model *m = begin(req, OPS_LOOKUP);
	struct stat st;
	int rc = model_lookup(m, parent, name, &st);

	if (rc == 0 && ino_type(st.st_ino) == INO_MBOX && refresh(req, st.st_ino) == 0)
		rc = model_getattr(m, st.st_ino, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, &st);
}

/* The kernel asks a directory's attributes before it uses its cached
 * listing (FUSE auto_inval_data): the moment to look for new mail. */
static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct model *m = begin(req, OPS_GETATTR);
	struct stat st;
	int rc;

	(void)fi;
	refresh(req, ino);
	rc = model_getattr(m, ino, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, model_timeout(ino));
}

/*
 * Nothing is opened: ENOSYS tells the kernel to stop sending OPEN and
 * OPENDIR (FUSE no_open, no_opendir). Files then keep their page cache and
 * directories their cached listings, which the kernel drops when a
 * directory's mtime changes; this spares two requests per file and per
 * directory, which is most of what `grep -r` costs.
 */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct imapfs_mount *mnt = begin_mount(req, OPS_OPENDIR);

	(void)ino;
	if (mnt->no_opendir)
		fuse_reply_err(req, ENOSYS);
	else
		fuse_reply_open(req, fi); /* an older kernel: readdir needs no state */
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct imapfs_mount *mnt = begin_mount(req, OPS_OPEN);

	(void)ino;
	if (mnt->no_open) {
		fuse_reply_err(req, ENOSYS);
	} else {
		fi->keep_cache = 1; /* content never changes under a UID */
		fuse_reply_open(req, fi);
	}
}

/* One entry into buf; for readdirplus with attributes where they are cheap.
 * Returns the bytes used, or more than room when it did not fit. */
static size_t add_entry(fuse_req_t req, char *buf, size_t room, const struct model_dirent *ent,
			off_t next, bool plus)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr.st_ino = ent->ino;
	e.attr.st_mode = ent->type;
	if (!plus)
		return fuse_add_direntry(req, buf, room, ent->name, &e.attr, next);
	/* Dots and what is not cheap are left to lookup: ino 0 tells the
	 * kernel no entry is being handed over. */
	if (strcmp(ent->name, ".") != 0 && strcmp(ent->name, "..") != 0 &&
	    model_attr_cheap(model_of(req), ent->ino) &&
	    model_getattr(model_of(req), ent->ino, &e.attr) == 0) {
		e.ino = ent->ino;
		e.attr_timeout = e.entry_timeout = model_timeout(ent->ino);
	}
	return fuse_add_direntry_plus(req, buf, room, ent->name, &e, next);
}

/*
 * The end of a listing is asked by a READDIR of its own, after the kernel
 * made the inodes the listing before it handed over (READDIRPLUS) and before
 * the reader opens any file: the moment to put the files' content into the
 * kernel's page cache, where it is whole and here (a small message's, once
 * prefetched), so that their reads need no request (model_content_local).
 * The kernel takes it only for the inodes it has.
 */
#define PUSHING_MAX (OPS_WORKERS / 4)
static void push_files(fuse_req_t req, const struct model_dir *d)
{
	struct imapfs_mount *mnt = mount_of(req);
	size_t len;
	char *data;

	/* A store waits for the page locks of a READ in flight on that file,
	 * which another worker answers: never let the stores take them all. */
	if (__atomic_add_fetch(&mnt->pushing, 1, __ATOMIC_ACQ_REL) > PUSHING_MAX) {
		__atomic_sub_fetch(&mnt->pushing, 1, __ATOMIC_ACQ_REL);
		return;
	}
	for (size_t i = 0; i < d->n; i++) {
		if (!S_ISREG(d->ents[i].type) ||
		    model_content_local(mnt->model, d->ents[i].ino, &data, &len) != 0)
			continue;
		struct fuse_bufvec bufv = FUSE_BUFVEC_INIT(len);

		bufv.buf[0].mem = data;
		if (fuse_lowlevel_notify_store(mnt->se, d->ents[i].ino, 0, &bufv, 0) == 0)
			__atomic_add_fetch(&mnt->pushed, 1, __ATOMIC_RELAXED);
		else
			__atomic_add_fetch(&mnt->push_refused, 1, __ATOMIC_RELAXED);
		free(data);
	}
	__atomic_sub_fetch(&mnt->pushing, 1, __ATOMIC_ACQ_REL);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct model_dir *d;
	char *buf;
	size_t used = 0;
	int rc = model_readdir_at(model_of(req), ino, (uint64_t)off, &d);

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (off > 0 && (size_t)off >= d->n && mount_of(req)->se)
		push_files(req, d);
	buf = malloc(size);
	if (!buf) {
		model_dir_free(d);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < d->n; i++) {
		size_t n = add_entry(req, buf + used, size - used, &d->ents[i], (off_t)(i + 1), plus);

		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
	model_dir_free(d);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	begin_mount(req, OPS_READDIR);
	do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	begin_mount(req, OPS_READDIRPLUS);
	do_readdir(req, ino, size, off, true);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct model *m = begin(req, OPS_READ);
	char *buf = malloc(size ? size : 1);
	size_t n = 0;
	int rc;

	(void)fi;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = model_read_ino(m, ino, (uint64_t)off, size, buf, &n);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

/* A search hit (README "Searching"). */
static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct model *m = begin(req, OPS_READLINK);
	char *target = NULL;
	int rc = model_readlink(m, ino, &target);

	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_readlink(req, target);
	free(target);
}

/* getxattr and listxattr share the size protocol: 0 asks for the length. */
static void reply_xattr_value(fuse_req_t req, int rc, char *value, size_t len, size_t size)
{
	if (rc)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
	free(value);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct model *m = begin(req, OPS_GETXATTR);
	char *value = NULL;
	size_t len = 0;
	int rc = model_getxattr(m, ino, name, &value, &len);

	reply_xattr_value(req, rc, value, len, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct model *m = begin(req, OPS_LISTXATTR);
	char *list = NULL;
	size_t len = 0;
	int rc = model_listxattr(m, ino, &list, &len);

	reply_xattr_value(req, rc, list, len, size);
}

/* Never an error: df must not fail on a mount (model_statfs). */
static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct model *m = begin(req, OPS_STATFS);
	struct statvfs sv;

	(void)ino;
	model_statfs(m, &sv);
	fuse_reply_statfs(req, &sv);
}

/* ---- changes: fs/model/write.c routes them (README "Changing mail") ---- */

static void reply_err_or_zero(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc ? -rc : 0);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct model *m = begin(req, OPS_CHANGE);
	struct stat st;
	int rc = model_mkdir(m, parent, name, &st);

	(void)mode;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, &st);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct model *m = begin(req, OPS_CHANGE);

	reply_err_or_zero(req, model_rmdir(m, parent, name));
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct model *m = begin(req, OPS_CHANGE);

	reply_err_or_zero(req, model_unlink(m, parent, name));
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct model *m = begin(req, OPS_CHANGE);

	reply_err_or_zero(req, model_rename(m, parent, name, newparent, newname,
					    flags));
}

/* Links and device files have no meaning in a mailbox. */
static void op_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{
	struct model *m = begin(req, OPS_CHANGE);

	(void)l, (void)p, (void)n;
	fuse_reply_err(req, model_read_only(m) ? EROFS : EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t p, const char *n)
{
	struct model *m = begin(req, OPS_CHANGE);

	(void)i, (void)p, (void)n;
	fuse_reply_err(req, model_read_only(m) ? EROFS : EPERM);
}

static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t mode, dev_t d)
{
	struct model *m = begin(req, OPS_CHANGE);

	(void)p, (void)n, (void)mode, (void)d;
	fuse_reply_err(req, model_read_only(m) ? EROFS : EPERM);
}

/* A new file in a mailbox: a message to append when it is closed. Its
 * inode is its handle: writes, flush and release name it by ino. */
static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct model *m = begin(req, OPS_CHANGE);
	struct fuse_entry_param e;
	int rc;

	(void)mode;
	memset(&e, 0, sizeof(e));
	rc = model_create(m, parent, name, &e.attr);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = e.attr.st_ino;
	/* Its size changes while written: the kernel asks again. */
	e.attr_timeout = e.entry_timeout = 0;
	fi->direct_io = 1;
	fi->fh = MODEL_CREATED_FH;
	fuse_reply_create(req, &e, fi);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct model *m = begin(req, OPS_CHANGE);
	size_t written = 0;
	int rc = model_write(m, ino, (uint64_t)off, buf, size, &written);

	(void)fi;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, written);
}

/* Every close() sends a FLUSH, needed only to append a created file: on a
 * read-only mount, ENOSYS tells the kernel to send no more. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct model *m = begin(req, OPS_FLUSH);

	if (model_read_only(m))
		fuse_reply_err(req, ENOSYS);
	else
		reply_err_or_zero(req, model_flush(m, ino, fi->fh));
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct model *m = begin(req, OPS_RELEASE);

	(void)fi;
	model_release(m, ino);
	fuse_reply_err(req, 0);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct model *m = begin(req, OPS_CHANGE);
	struct stat st;
	int rc = model_setattr(m, ino, attr, to_set, &st);

	(void)fi;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, model_timeout(ino));
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct model *m = begin(req, OPS_CHANGE);

	reply_err_or_zero(req, model_setxattr(m, ino, name, value, size, flags));
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct model *m = begin(req, OPS_CHANGE);

	reply_err_or_zero(req, model_removexattr(m, ino, name));
}

const struct fuse_lowlevel_ops imapfs_ll_ops = {
	.lookup = op_lookup,
	.getattr = op_getattr,
	.init = op_init,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.open = op_open,
	.read = op_read,
	.readlink = op_readlink,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.statfs = op_statfs,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.unlink = op_unlink,
	.rename = op_rename,
	.symlink = op_symlink,
	.link = op_link,
	.mknod = op_mknod,
	.create = op_create,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.setattr = op_setattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
};
