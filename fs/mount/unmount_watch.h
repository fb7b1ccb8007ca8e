/*
 * unmount_watch — notices the unmount within 100 ms of the kernel dropping
 * the FUSE connection, while requests may still be running.
 *
 *   struct unmount_watch *w = unmount_watch_start(fuse_session_fd(se), stop, source);
 *   fuse_session_loop_mt(se, cfg);   // returns once its workers are joined
 *   unmount_watch_stop(w);
 *
 * At unmount libfuse joins its worker threads before the loop returns, and
 * a worker may be waiting on the server (up to a request's deadline): main
 * would only then stop what they wait on. The watch sees the connection end
 * (poll reports POLLERR on /dev/fuse; it looks 10 times a second) and calls
 * on_unmount from its own thread, so that those waits end and the process
 * exits within moments.
 */
#ifndef IMAPFS_UNMOUNT_WATCH_H
#define IMAPFS_UNMOUNT_WATCH_H

struct unmount_watch;

/* NULL when the thread cannot start (the mount works; unmounts are slower). */
struct unmount_watch *unmount_watch_start(int fuse_fd, void (*on_unmount)(void *ud), void *ud);
/* Ends the watch (whether or not it fired) and frees it. NULL is fine. */
void unmount_watch_stop(struct unmount_watch *w);

#endif
