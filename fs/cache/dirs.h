/*
 * dirs — the directories on the way to a cache, made as needed.
 *
 *   int rc = make_dirs("/home/a/.cache/imapfs/a@host/meta");   // 0, or -errno
 *   if (rc < 0) log_msg(LOG_ERR, "cannot create %s: %s", dir, strerror(-rc));
 *
 * Each missing level is made with mode 0700: a cache holds mail. Levels that
 * exist are left as they are.
 */
#ifndef IMAPFS_DIRS_H
#define IMAPFS_DIRS_H

/* mkdir -p with mode 0700: 0, or -errno (-ENAMETOOLONG past PATH_MAX). */
int make_dirs(const char *dir);

#endif
