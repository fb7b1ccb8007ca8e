/*
 * bodystructure — a message's part tree (mime/part.h) from IMAP's
 * BODYSTRUCTURE (RFC 3501 7.4.2), with each leaf's file name. It lives in
 * fs/ because it reads imap/ values to fill a mime/ structure, and mime/
 * must not depend on imap/.
 *
 *   struct part_tree *t = bodystructure_tree(meta->bodystructure, err, sizeof err);
 *   if (!t) log_msg(LOG_WARNING, "unreadable structure: %s", err);
 *   ... part_tree_get(t, i) ...
 *   part_tree_free(t);
 *
 * Malformed structures give the safest reading, never a failure: a missing
 * type is application/octet-stream, an unknown encoding is shown as is
 * (encoding MIME_ENC_OTHER), a size that is not a number up to
 * IMAP_SIZE_MAX is 0, and nesting deeper than PART_MAX_DEPTH or more than
 * PART_MAX_PARTS parts (besides index 0) are cut off: a part at the depth
 * limit is kept, its children are not. bodystructure_tree fails (NULL, err)
 * only when bs is not a list at all, or out of memory. The tree keeps
 * nothing of bs: the response may be freed first.
 */
#ifndef IMAPFS_BODYSTRUCTURE_H
#define IMAPFS_BODYSTRUCTURE_H

#include <stddef.h>

#include "arg.h"
#include "part.h"

struct part_tree *bodystructure_tree(const struct imap_arg *bs, char *err, size_t errlen);

#endif
