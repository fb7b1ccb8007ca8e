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
#include <stdint.h>

#include <fuse_lowlevel.h>

#include "model.h"

/* The most threads serving requests at once (the loop's, main.c). */
#define OPS_WORKERS 16

/* The requests served, by kind: what bench/run counts. */
enum ops_kind {
	OPS_LOOKUP, OPS_GETATTR, OPS_OPENDIR, OPS_READDIR, OPS_READDIRPLUS, OPS_OPEN, OPS_READ,
	OPS_READLINK, OPS_GETXATTR, OPS_LISTXATTR, OPS_STATFS, OPS_FLUSH, OPS_RELEASE, OPS_CHANGE,
	OPS_KINDS
};

struct imapfs_mount {
	struct model *model;
	bool no_open, no_opendir;  /* the kernel can do without OPEN / OPENDIR */
	struct fuse_session *se;   /* set before the session runs */
	uint64_t requests[OPS_KINDS];        /* atomic */
	uint64_t pushed, push_refused;       /* atomic: files put in the page cache */
	unsigned pushing;                    /* atomic: requests putting them now */
};

/* Logs (LOG_INFO) how many requests of each kind were served: at unmount. */
void ops_log_requests(const struct imapfs_mount *mnt);

extern const struct fuse_lowlevel_ops imapfs_ll_ops;

#endif
