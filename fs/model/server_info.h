/*
 * server_info — what the mount shows of the server itself: the account's
 * quota as statfs figures (model_statfs, model.h), its capabilities and
 * mailboxes' special use as xattrs (model_int.h). The part here is the
 * quota's conversion, kept apart so that it can be tested alone:
 *
 *   struct imap_quota q;                      // imap_getquotaroot's answer
 *   struct statvfs sv;
 *   quota_statvfs(&q, &sv);                   // what df shows
 */
#ifndef IMAPFS_SERVER_INFO_H
#define IMAPFS_SERVER_INFO_H

#include <sys/statvfs.h>

#include "client.h"

/* statfs's block size (f_bsize, f_frsize), quota or not. */
#define STATFS_BLOCK 4096

/*
 * The quota as statfs figures. STORAGE (KiB) becomes size and free space
 * in STATFS_BLOCK blocks, both rounded down (never more room shown than
 * there is; the used space df shows, size - free, is then the usage
 * rounded up to a block when the limit is a whole number of blocks), free
 * 0 past the limit, and at most UINT64_MAX / STATFS_BLOCK blocks so that
 * their bytes fit in 64 bits. MESSAGE becomes the inode figures. Without
 * them, zeros.
 */
void quota_statvfs(const struct imap_quota *q, struct statvfs *sv);

#endif
