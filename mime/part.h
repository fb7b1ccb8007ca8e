/*
 * part — a message's MIME structure as a tree, built from IMAP's
 * BODYSTRUCTURE, with the file name each leaf part shows under.
 *
 *   struct part_tree *t = part_tree_new(bodystructure_arg, err, sizeof err);
 *   for (size_t i = 1; i < part_tree_count(t); i++) {
 *       const struct mime_part *p = part_tree_get(t, i);
 *       printf("%s  %s/%s  %s\n", p->section, p->type, p->subtype, p->filename);
 *   }
 *
 * Index 0 is the message itself (section ""): it carries the top body's
 * type (multipart/..., or for a single-part message that part's type, the
 * part being "1"), is_multipart as that body, is_leaf and is_message false.
 * The others follow in
 * depth-first order, so a part's children come after it. Sections are
 * IMAP's ("1", "2.1", "2.1.3"); a part's directory name is the last number
 * of its section. A message/rfc822 (or message/global) part with a
 * structure of its own has is_message set and its parts below it: the
 * embedded message's body parts are "S.1", "S.2"... as IMAP numbers them,
 * and a single-part embedded body is "S.1". A single-part message has one
 * part, "1".
 *
 * Malformed structures give the safest reading, never a failure: a missing
 * type is application/octet-stream, an unknown encoding is shown as is
 * (encoding MIME_ENC_OTHER), and nesting deeper than PART_MAX_DEPTH or more
 * than PART_MAX_PARTS parts (besides index 0) are cut off: a part at the
 * depth limit is kept, its children are not. part_tree_new fails (NULL, err)
 * only when bs is not a list at all, or out of memory.
 */
#ifndef IMAPFS_MIME_PART_H
#define IMAPFS_MIME_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arg.h"

#define PART_MAX_DEPTH 32
#define PART_MAX_PARTS 4095

enum mime_encoding {
	MIME_ENC_7BIT,       /* also 8bit, binary and a missing encoding: bytes as they are */
	MIME_ENC_BASE64,
	MIME_ENC_QP,
	MIME_ENC_UUENCODE,   /* x-uuencode, x-uue, uuencode */
	MIME_ENC_OTHER,      /* unknown: shown as it is */
};

struct mime_part {
	const char *section;      /* "" for the message itself */
	const char *dirname;      /* last number of section ("" for index 0) */
	size_t parent;            /* index of the enclosing part (0 for top-level parts and for 0 itself) */
	unsigned depth;           /* 0 for the message itself */
	const char *type;         /* lower-case: "text", "multipart", "application"... */
	const char *subtype;      /* lower-case: "plain", "mixed", "pdf"... */
	const char *charset;      /* the charset parameter as sent, or NULL */
	enum mime_encoding encoding;
	uint64_t size;            /* octets of the encoded body (BODYSTRUCTURE) */
	bool is_multipart;        /* children are its parts; no content file */
	bool is_message;          /* message/rfc822 with its own structure: message.eml, header, parts */
	bool is_leaf;             /* has a content file, named filename */
	const char *filename;     /* leaf only: safe UTF-8 name (see mime/names.h) */
	/* The embedded message's envelope (is_message only), raw as sent, or NULL;
	 * from is the first address as "Name <mbox@host>" or "mbox@host". */
	const char *env_subject, *env_from, *env_message_id;
};

struct part_tree;

struct part_tree *part_tree_new(const struct imap_arg *bodystructure, char *err, size_t errlen);
void part_tree_free(struct part_tree *t);
size_t part_tree_count(const struct part_tree *t);
const struct mime_part *part_tree_get(const struct part_tree *t, size_t index);
/* The index of the direct child of part parent whose dirname is name, or 0. */
size_t part_tree_child(const struct part_tree *t, size_t parent, const char *name);
/* The index of the part with this section, or 0 (also for ""). */
size_t part_tree_find(const struct part_tree *t, const char *section);

#endif
