/*
 * split — finds a MIME part's bytes inside a whole message held locally, as
 * the server would cut them for BODY[section], so that a message fetched
 * once (BODY.PEEK[]) serves all its parts without more round trips.
 *
 *   size_t off, len;
 *   if (mime_split(raw, raw_len, tree, part, MIME_SPLIT_BODY, &off, &len) == 0)
 *       decode(raw + off, len);          // the same bytes as BODY.PEEK[2.1]
 *   mime_split(raw, raw_len, tree, 0, MIME_SPLIT_HEADER, &off, &len);   // BODY[HEADER]
 *
 * The part tree (part.h, from the server's BODYSTRUCTURE) says which parts
 * are multiparts and attached messages; the raw bytes say where boundaries
 * and header ends are. The cut follows RFC 2045/2046 as IMAP servers do: a
 * part's body ends before the CRLF that precedes the next delimiter line;
 * a header block ends with its empty line (included in MIME_SPLIT_HEADER).
 * Boundaries are matched as Dovecot does (by prefix, the longest open one
 * winning; boundaries over 80 bytes cut to 80), and a multipart with no
 * parts has one empty part "N.1", as Dovecot's BODYSTRUCTURE shows.
 * Returns 0, or -1 when the bytes do not fit the tree (a boundary missing,
 * fewer parts than the tree has...), for MIME_SPLIT_HEADER of a part that is
 * not a message, or where Dovecot versions read a header differently
 * (RFC 2231 boundary*0=, junk after a multipart's subtype): the caller then
 * asks the server.
 */
#ifndef IMAPFS_MIME_SPLIT_H
#define IMAPFS_MIME_SPLIT_H

#include <stddef.h>

#include "part.h"

enum mime_split_what {
	MIME_SPLIT_BODY,    /* BODY[section]: part 0 gives BODY[TEXT]; an attached message gives the whole embedded message */
	MIME_SPLIT_HEADER,  /* BODY[HEADER] (part 0) or BODY[section.HEADER] (an attached message) */
};

int mime_split(const char *raw, size_t len, const struct part_tree *t, size_t part,
	       enum mime_split_what what, size_t *off, size_t *out_len);

#endif
