// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The IMAP response parser (imap/parser.h) and divert (imap/divert.h) on
 * what a server may send, fed at split points the input chooses.
 *
 * Input: byte 0 flags, bytes 1..8 split sizes (see fuzz.h), then the stream.
 *   flags & 1      small limits (line 200, literal 300, literals 500, depth 4,
 *                  40 values)
 *   flags >> 1 & 3 divert: 0 none; else literals of at least 1, 16 or 256 bytes
 *   flags & 8      divert only literals after "BODY[" on their line
 *
 * Checks, besides the sanitizers:
 *  - the parser gives the same responses, and the same error, whether the
 *    stream comes in one piece or in the chosen pieces (parser.h: "input may
 *    be split anywhere");
 *  - through a divert, the parser, the sink and the accept callback see the
 *    same things for both ways of cutting the stream (divert.h: "input may
 *    be split anywhere");
 *  - imap_arg_to_text of a response's values parses back to the same tree,
 *    a string perhaps as a literal or the other way round (arg.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "divert.h"
#include "fuzz.h"
#include "parser.h"

#define HEAD 9
#define NSPLIT 8

static struct imap_parser_limits small_limits = {
	.max_line = 200, .max_literal = 300, .max_literals = 500, .max_depth = 4, .max_args = 40,
};

/* ---- a response as bytes, so that two runs can be compared ---- */

static void put_u64(struct fuzz_buf *b, uint64_t v)
{
	fuzz_buf_put(b, &v, sizeof(v));
}

static void put_str(struct fuzz_buf *b, const char *s, size_t len)
{
	put_u64(b, s ? len : UINT64_MAX);
	if (s)
		fuzz_buf_put(b, s, len);
}

static void put_arg(struct fuzz_buf *b, const struct imap_arg *a)
{
	put_u64(b, (uint64_t)a->type);
	put_u64(b, a->len);
	if (a->type == IMAP_ARG_LIST) {
		FUZZ_CHECK(a->len == 0 || a->items != NULL, "list of %zu without items", a->len);
		for (size_t i = 0; i < a->len; i++)
			put_arg(b, &a->items[i]);
	} else if (a->type != IMAP_ARG_NIL) {
		FUZZ_CHECK(a->str != NULL && a->str[a->len] == '\0', "string not terminated");
		fuzz_buf_put(b, a->str, a->len);
	}
}

static void put_resp(struct fuzz_buf *b, const struct imap_resp *r)
{
	FUZZ_CHECK(r->name != NULL && r->text != NULL, "response without name or text");
	FUZZ_CHECK(r->args.type == IMAP_ARG_LIST && r->code_args.type == IMAP_ARG_LIST,
		   "args not lists");
	FUZZ_CHECK((r->kind == IMAP_RESP_TAGGED) == (r->tag != NULL), "tag and kind disagree");
	put_u64(b, (uint64_t)r->kind);
	put_str(b, r->tag, r->tag ? strlen(r->tag) : 0);
	put_u64(b, (uint64_t)r->status);
	put_u64(b, r->has_number ? (uint64_t)r->number : UINT64_MAX);
	put_str(b, r->name, strlen(r->name));
	put_str(b, r->code, r->code ? strlen(r->code) : 0);
	put_str(b, r->text, strlen(r->text));
	put_arg(b, &r->code_args);
	put_arg(b, &r->args);
}

/* ---- imap_arg_to_text parses back to the same tree ---- */

static bool same_tree(const struct imap_arg *a, const struct imap_arg *b)
{
	bool as = a->type == IMAP_ARG_STRING || a->type == IMAP_ARG_LITERAL;
	bool bs = b->type == IMAP_ARG_STRING || b->type == IMAP_ARG_LITERAL;

	if (as && bs)
		return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
	if (a->type != b->type || a->len != b->len)
		return false;
	if (a->type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < a->len; i++)
			if (!same_tree(&a->items[i], &b->items[i]))
				return false;
		return true;
	}
	if (a->type == IMAP_ARG_ATOM)
		return memcmp(a->str, b->str, a->len) == 0;
	return true;
}

static void check_to_text(const struct imap_arg *list)
{
	static const struct imap_parser_limits big = {
		.max_line = (size_t)1 << 30, .max_literal = (uint64_t)1 << 30,
		.max_literals = (uint64_t)1 << 31, .max_depth = 1000, .max_args = (size_t)1 << 30,
	};
	const struct imap_arg *items;
	struct imap_parser *p;
	struct imap_resp *r = NULL;
	char *text;
	size_t n;

	if (list->len == 0)
		return;
	errno = 0;
	text = imap_arg_to_text(list);
	if (text == NULL) {
		FUZZ_CHECK(errno == EINVAL, "imap_arg_to_text: errno %d", errno);
		return;
	}
	p = imap_parser_new(&big);
	FUZZ_CHECK(p != NULL, "out of memory");
	FUZZ_CHECK(imap_parser_feed(p, "* 1 X ", 6) == 0 &&
			   imap_parser_feed(p, text, strlen(text)) == 0 &&
			   imap_parser_feed(p, "\r\n", 2) == 0,
		   "feed");
	FUZZ_CHECK(imap_parser_next(p, &r) == IMAP_PARSE_OK, "\"%s\" does not parse back: %s",
		   text, imap_parser_error(p));
	FUZZ_CHECK(imap_arg_list(&r->args, &items, &n) && n == 1 && same_tree(&items[0], list),
		   "\"%s\" parses back to another tree", text);
	imap_resp_free(r);
	imap_parser_free(p);
	free(text);
}

/* ---- one run ---- */

struct run {
	struct imap_parser *p;
	struct fuzz_buf resps;     /* put_resp of each response, then the end state */
	struct fuzz_buf sink;      /* bytes the divert's sink took */
	struct fuzz_buf tails;     /* what the accept callback was shown */
	bool body_only;
	bool to_text;              /* check imap_arg_to_text (one run is enough) */
	size_t fed;
};

static void drain(struct run *r)
{
	struct imap_resp *resp;
	enum imap_parse_result rc;

	while ((rc = imap_parser_next(r->p, &resp)) == IMAP_PARSE_OK) {
		FUZZ_CHECK(resp != NULL, "OK without a response");
		put_resp(&r->resps, resp);
		if (r->to_text) {
			check_to_text(&resp->args);
			check_to_text(&resp->code_args);
		}
		imap_resp_free(resp);
	}
	FUZZ_CHECK(resp == NULL, "a response with %d", (int)rc);
	FUZZ_CHECK(imap_parser_buffered(r->p) <= r->fed, "more buffered than fed");
}

static int to_parser(void *ud, const char *data, size_t len)
{
	struct run *r = ud;

	/* Once in error the parser takes nothing more; the divert goes on, so
	 * that what it does does not depend on when the error was seen. */
	if (imap_parser_feed(r->p, data, len) < 0) {
		FUZZ_CHECK(strcmp(imap_parser_error(r->p), "no error") != 0,
			   "feed refused without an error");
		return 0;
	}
	r->fed += len;
	drain(r);
	return 0;
}

static int to_sink(void *ud, const char *data, size_t len)
{
	struct run *r = ud;

	FUZZ_CHECK(len > 0, "empty sink call");
	fuzz_buf_put(&r->sink, data, len);
	return 0;
}

static bool accept_body(void *ud, const char *tail, size_t len)
{
	struct run *r = ud;

	FUZZ_CHECK(len <= DIVERT_TAIL, "tail of %zu bytes", len);
	put_u64(&r->tails, len);
	fuzz_buf_put(&r->tails, tail, len);
	if (!r->body_only)
		return true;
	for (size_t i = 0; i + 5 <= len; i++)
		if (memcmp(tail + i, "BODY[", 5) == 0)
			return true;
	return false;
}

static void finish(struct run *r, int divert_rc, bool idle)
{
	const char *err = imap_parser_error(r->p);
	struct imap_resp *resp;
	enum imap_parse_result rc = imap_parser_next(r->p, &resp);

	FUZZ_CHECK(rc != IMAP_PARSE_OK, "a response left after draining");
	put_u64(&r->resps, (uint64_t)(int64_t)rc);
	put_str(&r->resps, err, strlen(err));
	put_u64(&r->resps, (uint64_t)(int64_t)divert_rc);
	put_u64(&r->resps, idle);
	imap_parser_free(r->p);
}

/* The stream in pieces (sp) or whole (sp NULL), through a divert if min. */
static void run(struct run *r, const uint8_t *data, size_t size, struct fuzz_splits *sp,
		const struct imap_parser_limits *lim, uint64_t min)
{
	struct divert *d = NULL;
	int drc = 0;
	size_t off = 0, n;

	r->p = imap_parser_new(lim);
	FUZZ_CHECK(r->p != NULL, "out of memory");
	if (min) {
		d = divert_new(min, to_sink, r, to_parser, r);
		FUZZ_CHECK(d != NULL, "out of memory");
		divert_set_accept(d, accept_body, r);
	}
	while (off < size) {
		n = sp ? fuzz_splits_next(sp, size - off) : size - off;
		if (d) {
			drc = divert_push(d, (const char *)data + off, n);
			FUZZ_CHECK(drc == DIVERT_OK, "divert refused: %d", drc);
		} else {
			to_parser(r, (const char *)data + off, n);
		}
		off += n;
	}
	finish(r, drc, d ? divert_idle(d) : true);
	divert_free(d);
}

static void run_free(struct run *r)
{
	fuzz_buf_free(&r->resps);
	fuzz_buf_free(&r->sink);
	fuzz_buf_free(&r->tails);
}

static void compare(const struct run *a, const struct run *b, const char *what)
{
	FUZZ_CHECK(fuzz_buf_eq(&a->resps, &b->resps), "%s: responses differ when split", what);
	FUZZ_CHECK(fuzz_buf_eq(&a->sink, &b->sink), "%s: sink differs when split", what);
	FUZZ_CHECK(fuzz_buf_eq(&a->tails, &b->tails), "%s: tails differ when split", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t mins[4] = { 0, 1, 16, 256 };
	const struct imap_parser_limits *lim;
	struct fuzz_splits sp;
	struct run whole = { 0 }, split = { 0 };
	uint8_t flags;
	uint64_t min;

	if (size < HEAD)
		return 0;
	flags = data[0];
	lim = flags & 1 ? &small_limits : NULL;
	min = mins[flags >> 1 & 3];

	/* The parser alone. */
	whole.to_text = true;
	run(&whole, data + HEAD, size - HEAD, NULL, lim, 0);
	fuzz_splits_init(&sp, data + 1, NSPLIT);
	run(&split, data + HEAD, size - HEAD, &sp, lim, 0);
	compare(&whole, &split, "parser");
	run_free(&whole);
	run_free(&split);

	/* Through a divert. */
	if (min) {
		memset(&whole, 0, sizeof(whole));
		memset(&split, 0, sizeof(split));
		whole.body_only = split.body_only = flags & 8;
		run(&whole, data + HEAD, size - HEAD, NULL, lim, min);
		fuzz_splits_init(&sp, data + 1, NSPLIT);
		run(&split, data + HEAD, size - HEAD, &sp, lim, min);
		compare(&whole, &split, "divert");
		run_free(&whole);
		run_free(&split);
	}
	return 0;
}
