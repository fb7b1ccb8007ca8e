/*
 * search_keys — IMAP search keys (RFC 3501/9051 6.4.4) parsed from a
 * directory name into a tree, and written out again from the tree only:
 * the name itself never reaches the wire.
 *
 *   struct search_keys *k; char why[128];
 *   if (search_keys_parse(name, strlen(name), &k, why, sizeof why) < 0) log(why);
 *   char *t = search_keys_text(k);          // "FROM \"alice\" UNSEEN"
 *   imap_uid_search(c, k, on_range, ctx);   // search.h
 *   free(t); search_keys_free(k);
 *
 * Accepted grammar (keys and month names case-insensitive):
 *   name     = keys, tokens separated by one or more spaces (leading and
 *              trailing spaces ignored; tab and every other control refused);
 *              "(" and ")" need no space around them
 *   keys     = key *(SP key)              (all must match)
 *   key      = ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN
 *              UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN
 *            / (BCC BODY CC FROM SUBJECT TEXT TO) string
 *            / (BEFORE ON SINCE SENTBEFORE SENTON SENTSINCE) date
 *            / (LARGER SMALLER) number     0..4294967295
 *            / (KEYWORD UNKEYWORD) flag    an atom, no backslash
 *            / HEADER field string         field: printable ASCII, no ':'
 *            / UID set / set               set: 1:5,7,9:*  (no 0, no leading 0)
 *            / NOT key / OR key key / "(" keys ")"
 *            / (OLDER YOUNGER) nz-number   RFC 5032 WITHIN, seconds
 *            / MODSEQ nz-number            RFC 7162, simple form
 *   string   = atom (any bytes but space, '(', ')', '"')
 *            / '"' UTF-8 with \\ and \" escapes '"'
 *   date     = d-Mon-yyyy or dd-Mon-yyyy (a real day), maybe quoted
 * All text must be valid UTF-8 without control characters (C0, DEL, C1).
 * Refused: unknown keys, CHARSET (imapfs sends CHARSET UTF-8 itself), "$"
 * (SEARCHRES), nesting (parentheses, NOT, OR) deeper than 32.
 * Written out: keys upper-case, strings quoted, numbers and dates canonical
 * (LARGER 010 -> LARGER 10, 01-nov-2026 -> 1-Nov-2026).
 */
#ifndef IMAPFS_SEARCH_KEYS_H
#define IMAPFS_SEARCH_KEYS_H

#include <stdbool.h>
#include <stddef.h>

struct search_keys;

/* Returns 0 and *out, or -EINVAL with a one-line reason in why (always
 * NUL-terminated when whylen > 0; *out NULL), or -ENOMEM. */
int search_keys_parse(const char *name, size_t len, struct search_keys **out, char *why,
		      size_t whylen);
void search_keys_free(struct search_keys *k);
/* Canonical one-line text of the tree (upper-case keys, strings quoted,
 * non-ASCII kept as UTF-8 in the quotes), malloc'd; NULL on ENOMEM. */
char *search_keys_text(const struct search_keys *k);

/*
 * Writes the tree out piece by piece, in order: text (7-bit printable
 * ASCII: keys, atoms, quoted strings) with literal false, or, when
 * literals is true, each string holding 8-bit bytes as its raw bytes with
 * literal true (to be sent as an IMAP literal). With literals false such
 * strings are quoted UTF-8 instead. Stops at the first non-zero fn
 * result and returns it; else 0.
 */
typedef int search_keys_emit_fn(void *ud, const char *data, size_t len, bool literal);
int search_keys_write(const struct search_keys *k, bool literals, search_keys_emit_fn *fn,
		      void *ud);

/* Extensions the keys need (for a check before sending). */
enum search_keys_needs {
	SEARCH_NEEDS_WITHIN = 1 << 0,    /* OLDER / YOUNGER */
	SEARCH_NEEDS_CONDSTORE = 1 << 1, /* MODSEQ */
};
unsigned search_keys_needs(const struct search_keys *k);

#endif
