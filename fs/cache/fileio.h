/*
 * fileio — whole writes to a file descriptor, for the files the mount keeps
 * (the metadata cache, files being appended).
 *
 *   int rc = fd_write_all(fd, buf, len);   // 0, or -errno (EINTR retried)
 */
#ifndef IMAPFS_FILEIO_H
#define IMAPFS_FILEIO_H

#include <stddef.h>

/* Writes all len bytes (a short write goes on): 0, or -errno. */
int fd_write_all(int fd, const void *buf, size_t len);

#endif
