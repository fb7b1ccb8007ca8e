#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "inode.h"
#include "log.h"
#include "request.h"

/* Every operation starts here, as its request arrives: from now on it has
 * REQUEST_MS in all, whatever it waits for (request.h). */
static struct imapfs_mount *mount_of(fuse_req_t req)
{
	request_begin(REQUEST_MS);
	return fuse_req_userdata(req);
}

static struct model *model_of(fuse_req_t req)
{
	return mount_of(req)->model;
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
	struct stat st;
	int rc = model_lookup(model_of(req), parent, name, &st);

	if (rc == 0 && ino_type(st.st_ino) == INO_MBOX && refresh(req, st.st_ino) == 0)
		rc = model_getattr(model_of(req), st.st_ino, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, &st);
}

/* The kernel asks a directory's attributes before it uses its cached
 * listing (FUSE auto_inval_data): the moment to look for new mail. */
static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int rc;

	(void)fi;
	refresh(req, ino);
	rc = model_getattr(model_of(req), ino, &st);
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
	(void)ino;
	if (mount_of(req)->no_opendir)
		fuse_reply_err(req, ENOSYS);
	else
		fuse_reply_open(req, fi); /* an older kernel: readdir needs no state */
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if (mount_of(req)->no_open) {
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
	do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, true);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf = malloc(size ? size : 1);
	size_t n = 0;
	int rc;

	(void)fi;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = model_read_ino(model_of(req), ino, (uint64_t)off, size, buf, &n);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
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
	char *value = NULL;
	size_t len = 0;
	int rc = model_getxattr(model_of(req), ino, name, &value, &len);

	reply_xattr_value(req, rc, value, len, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *list = NULL;
	size_t len = 0;
	int rc = model_listxattr(model_of(req), ino, &list, &len);

	reply_xattr_value(req, rc, list, len, size);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

/* Writing to the server comes with a later issue; until then every change
 * is refused the way a read-only mount refuses it. */
static void op_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m)
{
	(void)p, (void)n, (void)m;
	fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t p, const char *n)
{
	(void)p, (void)n;
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np, const char *nn,
		      unsigned int flags)
{
	(void)p, (void)n, (void)np, (void)nn, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{
	(void)l, (void)p, (void)n;
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t p, const char *n)
{
	(void)i, (void)p, (void)n;
	fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d)
{
	(void)p, (void)n, (void)m, (void)d;
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m,
		      struct fuse_file_info *fi)
{
	(void)p, (void)n, (void)m, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_setattr(fuse_req_t req, fuse_ino_t i, struct stat *a, int s,
		       struct fuse_file_info *fi)
{
	(void)i, (void)a, (void)s, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t i, const char *n, const char *v, size_t s,
			int f)
{
	(void)i, (void)n, (void)v, (void)s, (void)f;
	fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t i, const char *n)
{
	(void)i, (void)n;
	fuse_reply_err(req, EROFS);
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
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.statfs = op_statfs,
	.mkdir = op_mkdir,
	.rmdir = op_unlink,
	.unlink = op_unlink,
	.rename = op_rename,
	.symlink = op_symlink,
	.link = op_link,
	.mknod = op_mknod,
	.create = op_create,
	.setattr = op_setattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
};
