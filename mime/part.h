/*
 * part — a message's MIME structure as a tree, with the file name each leaf
 * part shows under. fs/model/bodystructure.c builds it from IMAP's
 * BODYSTRUCTURE (and says how malformed structures are read); split.c and
 * decode.c use it. It knows nothing of IMAP.
 *
 *   struct part_tree *t = bodystructure_tree(bodystructure_arg, err, sizeof err);
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
 * part, "1". A tree holds at most PART_MAX_PARTS parts besides index 0, at
 * most PART_MAX_DEPTH deep: the builder stops there (part_tree_room).
 *
 * Building: part_tree_new makes index 0 alone and part_tree_add appends
 * parts in depth-first order. The strings the parts point to belong to the
 * builder, which hands their storage to part_tree_new: the tree releases it
 * when it is freed, so a whole tree goes in one part_tree_free.
 */
#ifndef IMAPFS_MIME_PART_H
#define IMAPFS_MIME_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

void part_tree_free(struct part_tree *t);
size_t part_tree_count(const struct part_tree *t);
const struct mime_part *part_tree_get(const struct part_tree *t, size_t index);
/* The index of the direct child of part parent whose dirname is name, or 0. */
size_t part_tree_child(const struct part_tree *t, size_t parent, const char *name);
/* The index of the part with this section, or 0 (also for ""). */
size_t part_tree_find(const struct part_tree *t, const char *section);

/* The encoding a Content-Transfer-Encoding name stands for (any case; NULL
 * or "" is 7bit, an unknown one MIME_ENC_OTHER). */
enum mime_encoding mime_encoding_of(const char *name);

/* ---- for the builder ---- */

/* Frees a builder's string storage along with its tree. */
typedef void part_release_fn(void *strings);
/*
 * A tree of index 0 alone: section "", application/octet-stream, all else
 * zero. part_tree_free calls release(strings) (release may be NULL). NULL
 * when out of memory; strings are then still the caller's.
 */
struct part_tree *part_tree_new(void *strings, part_release_fn *release);
/* Whether a part may be added under parent: the tree is not full and parent
 * is less than PART_MAX_DEPTH deep. */
bool part_tree_room(const struct part_tree *t, size_t parent);
/*
 * Appends a part under parent, which must be the last part or one of its
 * ancestors (the order stays depth-first) and have room. section is the
 * part's IMAP section, in the builder's strings; dirname, parent and depth
 * are set from it, the type is application/octet-stream and all else zero.
 * Its index, or 0 when out of memory.
 */
size_t part_tree_add(struct part_tree *t, size_t parent, const char *section);
/* A part to fill in: valid until the next part_tree_add. */
struct mime_part *part_tree_edit(struct part_tree *t, size_t index);
/* Gives back the room not used, once built: a mount keeps many trees. */
void part_tree_fit(struct part_tree *t);

#endif
