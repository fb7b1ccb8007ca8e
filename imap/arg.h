/*
 * arg — the values an IMAP server sends: atoms, strings, NIL and lists.
 *
 *   const struct imap_arg *items; size_t n;
 *   if (imap_arg_list(&resp->args.items[0], &items, &n))   // FETCH (...)
 *       for (size_t i = 0; i + 1 < n; i += 2)
 *           if (imap_arg_atom_eq(&items[i], "UID")) imap_arg_number(&items[i + 1], &uid);
 *
 * A parsed response owns its whole tree (see parser.h); these helpers never
 * allocate. Strings are binary-safe: use len, although str is NUL-terminated.
 */
#ifndef IMAPFS_ARG_H
#define IMAPFS_ARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* OK, \Seen, BODY[HEADER.FIELDS (FROM)]<0>, 12 */
	IMAP_ARG_STRING,  /* "quoted", escapes removed */
	IMAP_ARG_LITERAL, /* {n} / {n+} / ~{n} */
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,    /* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	size_t len;              /* bytes of str, or number of items */
	char *str;               /* ATOM/STRING/LITERAL: NUL-terminated */
	struct imap_arg *items;  /* LIST: len items */
};

/* The atom's text if a is an atom, else NULL. */
const char *imap_arg_atom(const struct imap_arg *a);
/* a is an atom equal to s, ignoring ASCII case. */
bool imap_arg_atom_eq(const struct imap_arg *a, const char *s);
/* a is a string, literal or atom (astring): its bytes. */
bool imap_arg_astring(const struct imap_arg *a, const char **s, size_t *len);
/* nstring: like astring but also NIL, which gives *s == NULL, *len == 0. */
bool imap_arg_nstring(const struct imap_arg *a, const char **s, size_t *len);
/* a is an atom of decimal digits that fits in 64 bits. */
bool imap_arg_number(const struct imap_arg *a, uint64_t *n);

/*
 * The largest size taken from a server (RFC822.SIZE, BINARY.SIZE, a
 * BODYSTRUCTURE part's size): 1 TiB, far beyond any real mail. Below it a
 * size can become an off_t file size, be added to an offset or rounded up
 * to a chunk without overflow; a bigger one is treated as unknown.
 */
#define IMAP_SIZE_MAX ((uint64_t)1 << 40)
/* a is a number that can be a size: at most IMAP_SIZE_MAX. */
bool imap_arg_size(const struct imap_arg *a, uint64_t *n);
/* a is a list: its items. */
bool imap_arg_list(const struct imap_arg *a, const struct imap_arg **items, size_t *n);

/*
 * a written back as IMAP text, malloc'd and NUL-terminated: atoms as they
 * are, strings quoted, or as {n}\r\n literals when they hold 8-bit bytes,
 * CR or LF; lists in parentheses with single spaces. Parsing it as a value
 * (imap_arg_parse_text, parser.h) gives the same tree, except that a string
 * may come back as a literal or the other way round. NULL with errno ENOMEM, or EINVAL when a string holds
 * a NUL (the text could not be a C string).
 */
char *imap_arg_to_text(const struct imap_arg *a);

#endif
