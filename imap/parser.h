/*
 * parser — turns the bytes a server sends into whole responses.
 *
 *   struct imap_parser *p = imap_parser_new(NULL);      // default limits
 *   imap_parser_feed(p, buf, n);                        // bytes as they arrive
 *   while ((rc = imap_parser_next(p, &resp)) == IMAP_PARSE_OK) { ...; imap_resp_free(resp); }
 *   if (rc == IMAP_PARSE_ERROR) fail(imap_parser_error(p));   // connection is unusable
 *
 * Push model: input may be split anywhere (inside a literal, between CR and
 * LF, one byte at a time). Memory is bounded by the limits: a line longer than
 * max_line, a literal announced larger than max_literal, literals adding up
 * to more than max_literals in one response, lists nested deeper than
 * max_depth or a response with more than max_args values is an error,
 * reported as soon as it is seen (a {1099511627776} literal is refused before
 * any of it is read). Bare CR or LF, NUL outside literals and unbalanced
 * parentheses are errors too. After an error the parser stays in error.
 */
#ifndef IMAPFS_PARSER_H
#define IMAPFS_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "arg.h"

enum imap_resp_kind {
	IMAP_RESP_UNTAGGED,  /* "* ..." */
	IMAP_RESP_TAGGED,    /* "A12 OK ..." */
	IMAP_RESP_CONTINUE,  /* "+ ..." */
};

enum imap_status {
	IMAP_STATUS_NONE,    /* a data response such as "* 3 FETCH (...)" */
	IMAP_STATUS_OK,
	IMAP_STATUS_NO,
	IMAP_STATUS_BAD,
	IMAP_STATUS_PREAUTH,
	IMAP_STATUS_BYE,
};

/*
 * One response. Status responses (tagged, or untagged OK/NO/BAD/PREAUTH/BYE)
 * have status, an optional response code and free text; data responses have
 * name and args. Examples:
 *   "* 23 EXISTS"             number 23, name "EXISTS", no args
 *   "* 4 FETCH (UID 9 ...)"   number 4, name "FETCH", args = [ (UID 9 ...) ]
 *   "* LIST (\\HasNoChildren) \"/\" INBOX"  name "LIST", args = [ (...), "/", INBOX ]
 *   "* OK [UIDVALIDITY 7] ok" status OK, name "OK", code "UIDVALIDITY", code_args [7], text "ok"
 *   "a1 NO [AUTHENTICATIONFAILED] bad"  tag "a1", status NO, code "AUTHENTICATIONFAILED"
 *   "+ eyJ="                  kind CONTINUE, text "eyJ="
 */
struct imap_resp {
	enum imap_resp_kind kind;
	char *tag;                  /* TAGGED only, else NULL */
	enum imap_status status;
	bool has_number;
	uint32_t number;            /* "* 23 EXISTS" */
	char *name;                 /* keyword, upper-cased: OK, EXISTS, FETCH, LIST, CAPABILITY... ("" for CONTINUE) */
	char *code;                 /* response code name upper-cased, or NULL */
	struct imap_arg code_args;  /* always a LIST (maybe empty): the code's arguments */
	char *text;                 /* status or continuation text, never NULL */
	struct imap_arg args;       /* always a LIST (maybe empty): a data response's values */
};

void imap_resp_free(struct imap_resp *r);

struct imap_parser_limits {
	size_t max_line;       /* bytes of one line, excluding literals (default 1 MiB) */
	uint64_t max_literal;  /* bytes of one literal (default 64 MiB) */
	/* Bytes of all the literals of one response (default max_literal +
	 * max_line): a whole response is buffered before it is parsed, so
	 * without it 1,000,000 literals of 64 MiB would be. imapfs asks for one
	 * large item (a body or a part) per FETCH response at most; its other
	 * literals (envelope, header fields) are as small as lines. Literals
	 * diverted to a sink (divert.h) reach the parser as {0} and do not count. */
	uint64_t max_literals;
	unsigned max_depth;    /* list nesting (default 64) */
	size_t max_args;       /* values in one response (default 1,000,000) */
};

enum imap_parse_result {
	IMAP_PARSE_OK = 0,
	IMAP_PARSE_MORE = 1,     /* need more input */
	IMAP_PARSE_ERROR = -1,
};

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser *p);
/* Buffers len bytes. Returns 0, or -1 if out of memory or already in error. */
int imap_parser_feed(struct imap_parser *p, const void *data, size_t len);
/* The next whole response, which the caller frees. */
enum imap_parse_result imap_parser_next(struct imap_parser *p, struct imap_resp **out);
/* Why the parser failed, e.g. "literal of 1099511627776 bytes exceeds limit". */
const char *imap_parser_error(const struct imap_parser *p);
/* What the server sent, for an error message: after a failure the line
 * that failed from its start (else the response being received), with
 * CR, LF, TAB, \ and " written \r \n \t \\ \" and other bytes outside
 * printable ASCII \xNN, cut to fit outlen with "...". Returns its length. */
size_t imap_parser_excerpt(const struct imap_parser *p, char *out, size_t outlen);
/* Bytes of the response being received that are buffered (for progress/limits). */
size_t imap_parser_buffered(const struct imap_parser *p);

struct arena;
/*
 * One value from text, as imap_arg_to_text writes it (a BODYSTRUCTURE kept
 * in a cache, say): the grammar and default limits of a response, literals
 * included, and the whole text must be that one value. *out and all it
 * points to live in a (arena.h). 0, or -1 with errno EINVAL (malformed or
 * over a limit) or ENOMEM, and *out NULL.
 */
int imap_arg_parse_text(const char *text, size_t len, struct arena *a, struct imap_arg **out);

#endif
