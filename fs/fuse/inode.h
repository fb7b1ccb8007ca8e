/*
 * inode — every file of the mount has an inode number computed from what it
 * is, so no table maps numbers to objects (plan9port upas packs its ids the
 * same way) and a number the kernel still holds after the object vanished is
 * simply looked up again and answers ENOENT.
 *
 *   fuse_ino_t ino = ino_make(INO_EML, mbox_id, uid, 0);
 *   if (ino_type(ino) == INO_EML) ... ino_mbox(ino), ino_uid(ino)
 *
 *   bits 63..60 type, 59..44 mailbox id (1..65535), 43..12 UID, 11..0 sub
 *   (the sub field is for MIME parts). The root is FUSE_ROOT_ID (type 0).
 *
 * Below a mailbox directory the mailbox field holds the mailbox's view id
 * (model_int.h, struct mbox): a new one each time its UIDVALIDITY changes,
 * so that the same UID under a new UIDVALIDITY is another inode.
 */
#ifndef IMAPFS_INODE_H
#define IMAPFS_INODE_H

#include <stdint.h>

enum ino_type {
	INO_ROOT = 0,
	INO_MBOX = 1,     /* a mailbox directory (or a parent level without a mailbox) */
	INO_MSG = 2,      /* a message directory, named by UID */
	INO_EML = 3,      /* message.eml */
	INO_HEADER = 4,   /* header */
	INO_PART = 5,     /* a MIME part's directory; sub is its index in the part tree */
	INO_CONTENT = 6,  /* a leaf part's content file */
	INO_PEML = 7,     /* message.eml of an attached message (message/rfc822 part) */
	INO_PHEADER = 8,  /* header of an attached message */
	INO_STAGE = 9,    /* a file being appended to mailbox (its own id, not a view);
			   * uid holds the file's serial number (fs/model/append.c) */
	INO_SUMMARY = 10, /* a mailbox's .summary (fs/model/summary_file.c); mailbox field:
			   * its view id, uid and sub 0 */
	/* fs/model/search.c (README "Searching"): */
	INO_SEARCHES = 11, /* a .search directory: mailbox field its mailbox id (0: the
			    * root's), uid and sub 0 */
	INO_SEARCH = 12,  /* .search/<keys>: mailbox field the mailbox id (0: the
			   * top-level search), uid a search id never reused, sub 0; a
			   * mailbox level inside a top-level search: mailbox field the
			   * level's id, sub 1 */
	INO_LINK = 13,    /* a search hit (symlink): mailbox field the view id, uid the
			   * UID; sub 0 in a mailbox's search, 1 in a top-level one */
};

#define INO_MAX_MBOX 0xffffu

static inline uint64_t ino_make(enum ino_type type, uint32_t mbox, uint32_t uid, uint32_t sub)
{
	return ((uint64_t)type << 60) | ((uint64_t)(mbox & 0xffff) << 44) |
	       ((uint64_t)uid << 12) | (sub & 0xfff);
}

static inline enum ino_type ino_type(uint64_t ino)
{
	return (enum ino_type)(ino >> 60);
}

static inline uint32_t ino_mbox(uint64_t ino)
{
	return (uint32_t)(ino >> 44) & 0xffff;
}

static inline uint32_t ino_uid(uint64_t ino)
{
	return (uint32_t)(ino >> 12);
}

static inline uint32_t ino_sub(uint64_t ino)
{
	return (uint32_t)ino & 0xfff;
}

/* The same message's inode of another type and part. */
static inline uint64_t ino_sibling(uint64_t ino, enum ino_type type, uint32_t sub)
{
	return ino_make(type, ino_mbox(ino), ino_uid(ino), sub);
}

#endif
