/*
 * ops — the FUSE low-level operations: kernel requests in, model calls out.
 *
 *   struct imapfs_mount mnt = { .model = model_new(pool) };
 *   se = fuse_session_new(&args, &imapfs_ll_ops, sizeof(imapfs_ll_ops), &mnt);
 *
 * Message files are immutable, so opens set keep_cache and entries carry
 * long timeouts (model_timeout). Every request that would change the server
 * answers EROFS: writing arrives with a later issue.
 */
#ifndef IMAPFS_OPS_H
#define IMAPFS_OPS_H

#include <fuse_lowlevel.h>

#include "model.h"

struct imapfs_mount {
	struct model *model;
};

extern const struct fuse_lowlevel_ops imapfs_ll_ops;

#endif
