/*
 * ops — the FUSE low-level operations: kernel requests in, model calls out.
 *
 *   struct imapfs_mount mnt = { .model = model_new(source, store, meta, 3) };
 *   se = fuse_session_new(&args, &imapfs_ll_ops, sizeof(imapfs_ll_ops), &mnt);
 *
 * Message files are immutable: the kernel keeps their pages and entries
 * (long timeouts, model_timeout), sends no OPEN or OPENDIR (no_open,
 * no_opendir) and keeps directory listings until a directory's mtime
 * changes. The mount is read-only (the kernel refuses writes with EROFS;
 * these handlers do too): writing arrives with a later issue.
 */
#ifndef IMAPFS_OPS_H
#define IMAPFS_OPS_H

#include <stdbool.h>

#include <fuse_lowlevel.h>

#include "model.h"

struct imapfs_mount {
	struct model *model;
	bool no_open, no_opendir;  /* the kernel can do without OPEN / OPENDIR */
};

extern const struct fuse_lowlevel_ops imapfs_ll_ops;

#endif
