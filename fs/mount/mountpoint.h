/*
 * mountpoint — is MOUNTPOINT fit to mount on? Asked before any password or
 * server, so that a typo costs nothing: it must exist, be a directory (it
 * may hold files: fuse3 mounts over them) and not be a mount point already
 * (a second imapfs would stack on the first). A crashed mount (ENOTCONN)
 * gets the command that clears it.
 *
 *   char err[512];
 *   if (mountpoint_check(o.mountpoint, err, sizeof err) < 0)
 *           fprintf(stderr, "imapfs: %s\n", err);   // "/m: Not a directory"
 *
 * /dev/fd/N (a descriptor mount.fuse3's drop_privileges opened) passes as is.
 */
#ifndef IMAPFS_MOUNTPOINT_H
#define IMAPFS_MOUNTPOINT_H

#include <stdbool.h>
#include <stddef.h>

/* 0, or -1 with err "PATH: reason". */
int mountpoint_check(const char *path, char *err, size_t errlen);
/* Whether PATH is "/dev/fd/N", which libfuse takes as an open /dev/fuse. */
bool mountpoint_is_fd(const char *path);

#endif
