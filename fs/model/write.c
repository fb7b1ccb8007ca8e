/*
 * write — routes each change the kernel asks for to the file that makes
 * it, by what the name stands for (SPEC.md "Changing mail"):
 *
 *   mkdir in the root or a mailbox      mailbox_write.c  CREATE
 *   rmdir of a mailbox / a message      mailbox_write.c  DELETE / message_write.c
 *   rmdir of a part, unlink of a file   nothing: 0 (see below)
 *   rename of a mailbox / a message     mailbox_write.c  RENAME / message_write.c MOVE
 *   setxattr user.imap.flags            flags_write.c    UID STORE
 *   create, write, close, rename of     append.c         APPEND
 *     a new file in a mailbox
 *
 * A file or part directory of a message removed on its own changes nothing
 * and succeeds: `mv MSGDIR/2/report.pdf ~/` (a copy, then an unlink) must
 * keep the message, and `rm -r MSGDIR` (files first, then the directories)
 * must succeed and delete the message once, at its rmdir. The file shows
 * again at the next lookup.
 */
#include <errno.h>
#include <string.h>

#include "inode.h"
#include "model_int.h"

void model_set_read_only(struct model *m)
{
	m->read_only = true;
}

bool model_read_only(const struct model *m)
{
	return m->read_only;
}

/* What name in parent, about to be changed, is: -EROFS on a read-only
 * mount before anything is looked up. */
static int child_of(struct model *m, uint64_t parent, const char *name, uint64_t *ino)
{
	struct stat st;
	int rc = m->read_only ? -EROFS : model_lookup(m, parent, name, &st);

	*ino = rc ? 0 : st.st_ino;
	return rc;
}

static bool is_dir_of_mailboxes(uint64_t ino)
{
	return ino_type(ino) == INO_ROOT || ino_type(ino) == INO_MBOX;
}

int model_mkdir(struct model *m, uint64_t parent, const char *name, struct stat *st)
{
	if (m->read_only)
		return -EROFS;
	if (!is_dir_of_mailboxes(parent))
		return -EPERM; /* a message's parts are the server's */
	return mailbox_create(m, parent, name, st);
}

int model_rmdir(struct model *m, uint64_t parent, const char *name)
{
	uint64_t ino;
	int rc = child_of(m, parent, name, &ino);

	if (rc)
		return rc;
	switch (ino_type(ino)) {
	case INO_MBOX:
		return mailbox_delete(m, ino_mbox(ino));
	case INO_MSG:
		return message_delete(m, ino);
	case INO_PART:
		return 0;
	case INO_SEARCHES:
	case INO_SEARCH:
		return -EPERM; /* made by imapfs, not the server's */
	default:
		return -ENOTDIR;
	}
}

int model_unlink(struct model *m, uint64_t parent, const char *name)
{
	uint64_t ino;
	int rc = child_of(m, parent, name, &ino);

	if (rc)
		return rc;
	switch (ino_type(ino)) {
	case INO_STAGE:
		return append_unlink(m, ino);
	case INO_SUMMARY:
	case INO_LINK:
		return -EPERM; /* made by imapfs, not the server's to lose */
	case INO_EML:
	case INO_HEADER:
	case INO_CONTENT:
	case INO_PEML:
	case INO_PHEADER:
		return 0;
	default:
		return -EISDIR;
	}
}

int model_rename(struct model *m, uint64_t parent, const char *name, uint64_t newparent,
		 const char *newname, unsigned flags)
{
	uint64_t ino;
	int rc = child_of(m, parent, name, &ino);

	if (rc)
		return rc;
	if (ino_type(ino) == INO_SUMMARY ||
	    (ino_type(newparent) == INO_MBOX && strcmp(newname, SUMMARY_NAME) == 0))
		return -EPERM;
	if (ino_type(ino) == INO_SEARCHES || ino_type(ino) == INO_SEARCH ||
	    ino_type(ino) == INO_LINK || strcmp(newname, SEARCH_NAME) == 0)
		return -EPERM; /* imapfs's own names, never a mailbox's */
	switch (ino_type(ino)) {
	case INO_MBOX:
		return mailbox_rename(m, ino_mbox(ino), newparent, newname, flags);
	case INO_MSG:
		return message_move(m, ino, newparent, newname, flags);
	case INO_STAGE:
		return append_rename(m, ino, newparent, newname, flags);
	default:
		/* A part moved elsewhere is copied by mv (and never removed). */
		return -EXDEV;
	}
}

int model_setxattr(struct model *m, uint64_t ino, const char *name, const char *value,
		   size_t len, int flags)
{
	(void)flags;
	if (m->read_only)
		return -EROFS;
	if (ino_type(ino) == INO_MSG && strcmp(name, "user.imap.flags") == 0)
		return flags_set(m, ino, value, len);
	if (ino_type(ino) == INO_SUMMARY)
		return -EPERM;
	if (strncmp(name, "user.imap.", 10) == 0 || strncmp(name, "user.xdg.", 9) == 0 ||
	    strcmp(name, "user.mime_type") == 0 || strcmp(name, "user.charset") == 0)
		return -EPERM; /* facts from the server */
	return -ENOTSUP;
}

int model_removexattr(struct model *m, uint64_t ino, const char *name)
{
	if (m->read_only)
		return -EROFS;
	/* Removing the flags is setting none. */
	if (ino_type(ino) == INO_MSG && strcmp(name, "user.imap.flags") == 0)
		return flags_set(m, ino, "", 0);
	return model_setxattr(m, ino, name, "", 0, 0);
}

int model_create(struct model *m, uint64_t parent, const char *name, struct stat *st)
{
	if (m->read_only)
		return -EROFS;
	if (ino_type(parent) != INO_MBOX)
		return -EPERM;
	if (strcmp(name, SUMMARY_NAME) == 0)
		return -EEXIST;
	return append_create(m, ino_mbox(parent), name, st);
}

int model_write(struct model *m, uint64_t ino, uint64_t off, const char *buf, size_t size,
		size_t *written)
{
	*written = 0;
	if (m->read_only)
		return -EROFS;
	if (ino_type(ino) != INO_STAGE)
		return -EPERM;
	return append_write(m, ino, off, buf, size, written);
}

int model_flush(struct model *m, uint64_t ino, uint64_t fh)
{
	return ino_type(ino) == INO_STAGE ? append_flush(m, ino, fh) : 0;
}

void model_release(struct model *m, uint64_t ino)
{
	if (ino_type(ino) == INO_STAGE)
		append_release(m, ino);
}

int model_setattr(struct model *m, uint64_t ino, const struct stat *attr, int to_set,
		  struct stat *out)
{
	if (ino_type(ino) == INO_STAGE)
		return append_setattr(m, ino, attr, to_set, out);
	if (m->read_only)
		return -EROFS;
	return -EPERM; /* what the server holds has no mode or times to change */
}
