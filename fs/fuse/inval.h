/*
 * inval — tells the kernel to forget a name that vanished on the server (an
 * expunged message's directory), so that long entry timeouts stay correct.
 *
 *   struct inval *iv = inval_new(se);        // after fuse_daemonize: it starts a thread
 *   inval_entry(iv, mailbox_ino, "4711");    // from anywhere, never blocks on the kernel
 *   inval_dir(iv, mailbox_ino);              // its listing and attributes, the same way
 *   inval_free(iv);                          // before fuse_session_destroy
 *
 * Notifications go out from a thread of their own: sent from inside a
 * request handler they could wait on the very lookup being handled
 * (libfuse's notify_inval_entry example). Errors at unmount (ENOENT, EBADF,
 * ENODEV) are expected and ignored.
 */
#ifndef IMAPFS_INVAL_H
#define IMAPFS_INVAL_H

#include <stdint.h>

#include <fuse_lowlevel.h>

struct inval;

struct inval *inval_new(struct fuse_session *se);
void inval_entry(struct inval *iv, uint64_t parent, const char *name);
/* Directory dir's attributes and cached listing go: entries came into it
 * that the kernel did not make (a message moved there by an rmdir). */
void inval_dir(struct inval *iv, uint64_t dir);
/* A file's attributes and cached pages go: its content changed (.summary). */
void inval_inode(struct inval *iv, uint64_t ino);
void inval_free(struct inval *iv);

#endif
