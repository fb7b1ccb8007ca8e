// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every case is fed whole, one byte at a time and in random pieces; each way
 * must give the same responses (written out by dump()) or the same error.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "parser.h"

struct out {
	char buf[8192];
	size_t len;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(o->buf) - o->len);
	o->len += (size_t)n;
}

static void put_bytes(struct out *o, const char *s, size_t len)
{
	size_t i;

	put(o, "\"");
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			put(o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			put(o, "\\x%02x", ch);
		else
			put(o, "%c", ch);
	}
	put(o, "\"");
}

/* atom: as is; string: "..."; literal: {n}"..."; list: (a b) */
static void dump_arg(struct out *o, const struct imap_arg *a)
{
	size_t i;

	switch (a->type) {
	case IMAP_ARG_ATOM:
		assert_int_equal(strlen(a->str), a->len);
		put(o, "%s", a->str);
		break;
	case IMAP_ARG_STRING:
		put_bytes(o, a->str, a->len);
		break;
	case IMAP_ARG_LITERAL:
		assert_int_equal(a->str[a->len], '\0');
		put(o, "{%zu}", a->len);
		put_bytes(o, a->str, a->len);
		break;
	case IMAP_ARG_NIL:
		put(o, "NIL");
		break;
	case IMAP_ARG_LIST:
		put(o, "(");
		for (i = 0; i < a->len; i++) {
			dump_arg(o, &a->items[i]);
			put(o, i + 1 < a->len ? " " : "");
		}
		put(o, ")");
		break;
	}
}

static const char *status_name(enum imap_status st)
{
	static const char *names[] = { "-", "OK", "NO", "BAD", "PREAUTH", "BYE" };

	return names[st];
}

/* kind/tag|number|name|status|code|code args|args|text, one per line */
static void dump(struct out *o, const struct imap_resp *r)
{
	assert_non_null(r->text);
	assert_non_null(r->name);
	assert_int_equal(r->args.type, IMAP_ARG_LIST);
	assert_int_equal(r->code_args.type, IMAP_ARG_LIST);
	if (r->kind == IMAP_RESP_TAGGED)
		put(o, "%s|", r->tag);
	else
		put(o, "%s|", r->kind == IMAP_RESP_CONTINUE ? "+" : "*");
	if (r->kind != IMAP_RESP_TAGGED)
		assert_null(r->tag);
	if (r->has_number)
		put(o, "%u|", r->number);
	else
		put(o, "-|");
	put(o, "%s|%s|%s|", r->name, status_name(r->status), r->code ? r->code : "-");
	dump_arg(o, &r->code_args);
	put(o, "|");
	dump_arg(o, &r->args);
	put(o, "|%s\n", r->text);
}

struct result {
	struct out out;
	bool error;
	char why[200];
	size_t max_buffered;
	size_t left;  /* bytes of an incomplete response at the end */
};

/* Feeds in pieces of size step(), or random 1..13 bytes when step is 0. */
static void run(const char *in, size_t len, const struct imap_parser_limits *lim,
		size_t step, unsigned seed, struct result *res)
{
	struct imap_parser *p = imap_parser_new(lim);
	struct imap_resp *r;
	size_t off = 0, n;
	enum imap_parse_result rc = IMAP_PARSE_MORE;

	assert_non_null(p);
	memset(res, 0, sizeof(*res));
	while (off < len && rc != IMAP_PARSE_ERROR) {
		seed = seed * 1103515245u + 12345u;
		n = step ? step : 1 + (seed >> 16) % 13;
		if (n > len - off)
			n = len - off;
		assert_int_equal(imap_parser_feed(p, in + off, n), 0);
		off += n;
		if (imap_parser_buffered(p) > res->max_buffered)
			res->max_buffered = imap_parser_buffered(p);
		while ((rc = imap_parser_next(p, &r)) == IMAP_PARSE_OK) {
			dump(&res->out, r);
			imap_resp_free(r);
		}
	}
	if (rc == IMAP_PARSE_ERROR) {
		res->error = true;
		snprintf(res->why, sizeof(res->why), "%s", imap_parser_error(p));
		/* an error is sticky */
		assert_int_equal(imap_parser_feed(p, "* OK\r\n", 6), -1);
		assert_int_equal(imap_parser_next(p, &r), IMAP_PARSE_ERROR);
		assert_null(r);
	} else {
		res->left = imap_parser_buffered(p);
	}
	imap_parser_free(p);
}

/* Whole, byte by byte and 5 random splittings must all agree. */
static void run_all_ways(const char *in, size_t len, const struct imap_parser_limits *lim,
			 struct result *res)
{
	struct result other;
	static const size_t steps[] = { 1, 2, 7, 0, 0, 0, 0, 0 };
	size_t i;

	run(in, len, lim, len ? len : 1, 0, res);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		run(in, len, lim, steps[i], (unsigned)i * 7919u, &other);
		assert_int_equal(other.error, res->error);
		assert_string_equal(other.out.buf, res->out.buf);
		assert_string_equal(other.why, res->why);
		assert_int_equal(other.left, res->left);
	}
}

struct good_case {
	const char *in;
	size_t len;  /* 0: strlen(in) */
	const char *want;
};

#define LIT(s) s, sizeof(s) - 1

static const struct good_case good[] = {
	/* token kinds */
	{ "* X atom \\Seen \\* $Label 12 nil NIL Nil\r\n", 0,
	  "*|-|X|-|-|()|(atom \\Seen \\* $Label 12 NIL NIL NIL)|\n" },
	{ "* X \"quoted\" \"\" \"a \\\"b\\\" \\\\c\" \"(x) [y\"\r\n", 0,
	  "*|-|X|-|-|()|(\"quoted\" \"\" \"a \\\"b\\\" \\\\c\" \"(x) [y\")|\n" },
	{ "* X \"caf\xc3\xa9\"\r\n", 0, "*|-|X|-|-|()|(\"caf\\xc3\\xa9\")|\n" },
	{ "* X {0}\r\n {3+}\r\nabc ~{2}\r\nde\r\n", 0,
	  "*|-|X|-|-|()|({0}\"\" {3}\"abc\" {2}\"de\")|\n" },
	{ LIT("* X {7}\r\na\r\nb\0c\n ({2}\r\n\r\n)\r\n"),
	  "*|-|X|-|-|()|({7}\"a\\x0d\\x0ab\\x00c\\x0a\" ({2}\"\\x0d\\x0a\"))|\n" },
	{ "* X ((a (b)) () NIL (\"c\" ((d))))\r\n", 0,
	  "*|-|X|-|-|()|(((a (b)) () NIL (\"c\" ((d)))))|\n" },
	{ "* X BODY[HEADER.FIELDS (FROM TO)]<0> BINARY.SIZE[1] BODY[1.2.MIME] a[b[c]d]e\r\n", 0,
	  "*|-|X|-|-|()|(BODY[HEADER.FIELDS (FROM TO)]<0> BINARY.SIZE[1] BODY[1.2.MIME] a[b[c]d]e)|\n" },
	{ "* X ~peter foo{5} a{\r\n", 0, "*|-|X|-|-|()|(~peter foo{5} a{)|\n" },
	/* A '[' never closed is a character: one mailbox so named must not
	 * fail a whole LIST. */
	{ "* LIST () \"/\" a[b\r\n* X BODY[TEXT (a)\r\n", 0,
	  "*|-|LIST|-|-|()|(() \"/\" a[b)|\n*|-|X|-|-|()|(BODY[TEXT (a))|\n" },
	{ "* SEARCH\r\n* SEARCH \r\n", 0, "*|-|SEARCH|-|-|()|()|\n*|-|SEARCH|-|-|()|()|\n" },
	/* realistic Dovecot lines */
	{ "* 1 FETCH (UID 5 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
	  "RFC822.SIZE 4286 BODY[]<0> {5}\r\nhello)\r\n", 0,
	  "*|1|FETCH|-|-|()|((UID 5 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
	  "RFC822.SIZE 4286 BODY[]<0> {5}\"hello\"))|\n" },
	{ "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
	  "* LIST (\\Noselect \\HasChildren) NIL \"&ZTZO9nux-\"\r\n"
	  "* list () \"/\" {6}\r\na\"b c)\r\n", 0,
	  "*|-|LIST|-|-|()|((\\HasNoChildren) \"/\" INBOX)|\n"
	  "*|-|LIST|-|-|()|((\\Noselect \\HasChildren) NIL \"&ZTZO9nux-\")|\n"
	  "*|-|LIST|-|-|()|(() \"/\" {6}\"a\\\"b c)\")|\n" },
	{ "* 2 FETCH (UID 7 BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	  "\"7bit\" 12 1 NIL NIL NIL NIL)(\"image\" \"png\" (\"name\" \"a.png\") NIL NIL \"base64\" "
	  "100 NIL (\"attachment\" (\"filename\" \"a.png\")) NIL NIL) \"mixed\" (\"boundary\" \"xy\") "
	  "NIL NIL NIL))\r\n", 0,
	  "*|2|FETCH|-|-|()|((UID 7 BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	  "\"7bit\" 12 1 NIL NIL NIL NIL) (\"image\" \"png\" (\"name\" \"a.png\") NIL NIL \"base64\" "
	  "100 NIL (\"attachment\" (\"filename\" \"a.png\")) NIL NIL) \"mixed\" (\"boundary\" \"xy\") "
	  "NIL NIL NIL)))|\n" },
	{ "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n", 0,
	  "*|-|OK|OK|UIDVALIDITY|(3857529045)|()|UIDs valid\n" },
	{ "a2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", 0,
	  "a2|-|NO|NO|AUTHENTICATIONFAILED|()|()|Authentication failed.\n" },
	{ "* BYE Logging out\r\n", 0, "*|-|BYE|BYE|-|()|()|Logging out\n" },
	{ "+ \r\n+\r\n+ eyJ=\r\n+ {5}\r\n", 0,
	  "+|-||-|-|()|()|\n+|-||-|-|()|()|\n+|-||-|-|()|()|eyJ=\n+|-||-|-|()|()|{5}\n" },
	{ "* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE AUTH=PLAIN\r\n", 0,
	  "*|-|CAPABILITY|-|-|()|(IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE AUTH=PLAIN)|\n" },
	{ "* 3 EXISTS\r\n* 0 RECENT\r\n* 4294967295 EXPUNGE\r\n", 0,
	  "*|3|EXISTS|-|-|()|()|\n*|0|RECENT|-|-|()|()|\n*|4294967295|EXPUNGE|-|-|()|()|\n" },
	{ "* ENABLED QRESYNC\r\n* VANISHED (EARLIER) 1:3,7\r\n", 0,
	  "*|-|ENABLED|-|-|()|(QRESYNC)|\n*|-|VANISHED|-|-|()|((EARLIER) 1:3,7)|\n" },
	{ "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n", 0,
	  "*|-|FLAGS|-|-|()|((\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded))|\n" },
	/* status responses and codes */
	{ "* OK [PERMANENTFLAGS (\\Seen \\*)] Flags permitted.\r\n", 0,
	  "*|-|OK|OK|PERMANENTFLAGS|((\\Seen \\*))|()|Flags permitted.\n" },
	{ "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot ready.\r\n", 0,
	  "*|-|OK|OK|CAPABILITY|(IMAP4rev1 AUTH=PLAIN)|()|Dovecot ready.\n" },
	{ "A7 ok [copyuid 1 1:3 5:7] Copied\r\n", 0,
	  "A7|-|OK|OK|COPYUID|(1 1:3 5:7)|()|Copied\n" },
	{ "a1 OK\r\na1 BAD \r\n* PREAUTH\r\n* no [ALERT]\r\n", 0,
	  "a1|-|OK|OK|-|()|()|\na1|-|BAD|BAD|-|()|()|\n*|-|PREAUTH|PREAUTH|-|()|()|\n"
	  "*|-|NO|NO|ALERT|()|()|\n" },
	{ "a3 OK text with ( unbalanced [brackets \"quote {5}\r\n", 0,
	  "a3|-|OK|OK|-|()|()|text with ( unbalanced [brackets \"quote {5}\n" },
	{ "* OK [X \"open] not a code\r\n* OK [X (a] b\r\n* OK [X {3}] c\r\n", 0,
	  "*|-|OK|OK|X|()|()|not a code\n*|-|OK|OK|X|()|()|b\n*|-|OK|OK|X|()|()|c\n" },
	{ "* OK [no closing bracket\r\n* OK [] x\r\n", 0,
	  "*|-|OK|OK|-|()|()|[no closing bracket\n*|-|OK|OK||()|()|x\n" },
	{ "* OK [BADCHARSET (UTF-8 \"X\")] no\r\n", 0,
	  "*|-|OK|OK|BADCHARSET|((UTF-8 \"X\"))|()|no\n" },
};

static void test_good(void **state)
{
	struct result res;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = good[i].len ? good[i].len : strlen(good[i].in);

		run_all_ways(good[i].in, len, NULL, &res);
		if (res.error)
			fail_msg("case %zu: %s", i, res.why);
		assert_string_equal(res.out.buf, good[i].want);
		assert_int_equal(res.left, 0);
	}
}

struct bad_case {
	const char *in;
	size_t len;
	const char *why;  /* a part of the message */
};

static const struct bad_case bad[] = {
	{ LIT("* X a\rb\r\n"), "bare CR" },
	{ LIT("* X a\n"), "bare LF" },
	{ LIT("* OK a\r\r\n"), "bare CR" },
	{ LIT("* X a\0b\r\n"), "NUL" },
	{ LIT("* X (a\r\n"), "missing ')'" },
	{ LIT("* X ((a)\r\n"), "missing ')'" },
	{ LIT("* X a)\r\n"), "unexpected ')'" },
	{ LIT("* X (a))\r\n"), "unexpected ')'" },
	{ LIT("* X ]\r\n"), "unexpected ']'" },
	{ LIT(" OK hi\r\n"), "missing tag" },
	{ LIT("(x) OK hi\r\n"), "missing tag" },
	{ LIT("\r\n"), "missing tag" },
	{ LIT("a1 FETCH x\r\n"), "OK, NO or BAD" },
	{ LIT("a1\r\n"), "space" },
	{ LIT("*\r\n"), "space" },
	{ LIT("*OK\r\n"), "space" },
	{ LIT("* \r\n"), "missing response name" },
	{ LIT("* 4294967296 EXISTS\r\n"), "out of range" },
	{ LIT("* X \"abc\r\n"), "unterminated quoted" },
	{ LIT("* X \"a\\b\"\r\n"), "invalid escape" },
	{ LIT("* X {5} a\r\n"), "literal header" },
	{ LIT("* X (a){3}\r\nabc\r\n"), "literal header" },
	{ LIT("* X \"a {3}\r\nabc\"\r\n"), "unterminated quoted" },
	{ LIT("* 1 FETCH (BODY[] {1099511627776}\r\n"), "1099511627776 bytes exceeds limit" },
	{ LIT("* 1 FETCH (BODY[] {99999999999999999999999}\r\n"), "overflows" },
	{ LIT("* X ~{18446744073709551616}\r\n"), "overflows" },
};

static void test_bad(void **state)
{
	struct result res;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_all_ways(bad[i].in, bad[i].len, NULL, &res);
		if (!res.error)
			fail_msg("case %zu accepted: %s", i, res.out.buf);
		if (strstr(res.why, bad[i].why) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, res.why, bad[i].why);
	}
}

/* Responses before the bad one are still delivered. */
static void test_error_after_good(void **state)
{
	static const char in[] = "* 1 EXISTS\r\na1 OK done\r\n* X )\r\n* 2 EXISTS\r\n";
	struct result res;

	(void)state;
	run_all_ways(in, sizeof(in) - 1, NULL, &res);
	assert_true(res.error);
	assert_string_equal(res.out.buf, "*|1|EXISTS|-|-|()|()|\na1|-|OK|OK|-|()|()|done\n");
}

static void test_limits(void **state)
{
	struct imap_parser_limits lim = {
		.max_line = 64, .max_literal = 10, .max_literals = 15, .max_depth = 3,
		.max_args = 8,
	};
	static const struct bad_case cases[] = {
		{ LIT("* X (((a)))\r\n"), "" },
		{ LIT("* X ((((a))))\r\n"), "nested deeper than 3" },
		{ LIT("* X 1 2 3 4 5 6 7 8\r\n"), "" },
		{ LIT("* X 1 2 3 4 5 6 7 8 9\r\n"), "more than 8 values" },
		{ LIT("* X (1 2 3 4 5 6 7)\r\n"), "" },
		{ LIT("* X (1 2 3 4 5 6 7 8)\r\n"), "more than 8 values" },
		{ LIT("* X {0}\r\n{0}\r\n{0}\r\n{0}\r\n{0}\r\n{0}\r\n{0}\r\n{0}\r\n{0}\r\n"),
		  "more than 8 values" },
		{ LIT("* X {10}\r\n0123456789\r\n"), "" },
		{ LIT("* X {11}\r\n"), "literal of 11 bytes exceeds limit of 10" },
		{ LIT("* X {10}\r\n0123456789 {5}\r\n01234\r\n"), "" },
		{ LIT("* X {10}\r\n0123456789 {5}\r\n01234 {1}\r\n"),
		  "literals of one response exceed 15 bytes" },
		{ LIT("* X {10}\r\n0123456789\r\n* X {10}\r\n0123456789\r\n"), "" },
		{ LIT("* OK 01234567890123456789012345678901234567890123456789012345678\r\n"), "" },
		{ LIT("* OK 012345678901234567890123456789012345678901234567890123456789\r\n"),
		  "line exceeds 64 bytes" },
	};
	struct result res;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_all_ways(cases[i].in, cases[i].len, &lim, &res);
		if (cases[i].why[0] == '\0') {
			if (res.error)
				fail_msg("case %zu refused: %s", i, res.why);
		} else if (!res.error || strstr(res.why, cases[i].why) == NULL) {
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, res.why, cases[i].why);
		}
	}
}

/* By default one response's literals may hold max_literal + max_line bytes. */
static void test_literal_total_default(void **state)
{
	struct imap_parser_limits lim = { .max_line = 40, .max_literal = 10 };
	static const char ok[] = "* X {10}\r\n0123456789 {10}\r\n0123456789 {10}\r\n"
				 "0123456789 {10}\r\n0123456789 {10}\r\n0123456789\r\n";
	static const char over[] = "* X {10}\r\n0123456789 {10}\r\n0123456789 {10}\r\n"
				   "0123456789 {10}\r\n0123456789 {10}\r\n0123456789 {1}\r\n";
	struct result res;

	(void)state;
	run_all_ways(ok, sizeof(ok) - 1, &lim, &res);
	assert_false(res.error);
	run_all_ways(over, sizeof(over) - 1, &lim, &res);
	assert_true(res.error);
	assert_string_equal(res.why, "literals of one response exceed 50 bytes");
}

/* A line that never ends is refused once it passes max_line, CRLF or not. */
static void test_endless_line(void **state)
{
	struct imap_parser_limits lim = { .max_line = 4096 };
	struct imap_parser *p = imap_parser_new(&lim);
	struct imap_resp *r;
	char chunk[1000];
	int i;

	(void)state;
	assert_non_null(p);
	memset(chunk, 'a', sizeof(chunk));
	chunk[0] = '*';
	chunk[1] = ' ';
	for (i = 0; i < 100; i++) {
		assert_int_equal(imap_parser_feed(p, chunk, sizeof(chunk)), 0);
		if (imap_parser_next(p, &r) == IMAP_PARSE_ERROR)
			break;
		chunk[0] = chunk[1] = 'a';
	}
	assert_int_equal(i, 4);
	assert_true(imap_parser_buffered(p) <= lim.max_line + sizeof(chunk));
	assert_non_null(strstr(imap_parser_error(p), "line exceeds 4096 bytes"));
	imap_parser_free(p);
}

/* The literal header is refused before any of its content arrives. */
static void test_huge_literal_refused_early(void **state)
{
	static const char hdr[] = "* 1 FETCH (BODY[] {1099511627776}\r\n";
	struct imap_parser *p = imap_parser_new(NULL);
	struct imap_resp *r;

	(void)state;
	assert_non_null(p);
	assert_int_equal(imap_parser_feed(p, hdr, sizeof(hdr) - 1), 0);
	assert_int_equal(imap_parser_next(p, &r), IMAP_PARSE_ERROR);
	assert_string_equal(imap_parser_error(p),
			    "literal of 1099511627776 bytes exceeds limit of 67108864");
	imap_parser_free(p);
}

/* Within the limits, a big literal split anywhere comes out whole. */
static void test_big_literal(void **state)
{
	const size_t n = 300000;
	static const char hdr[] = "* 9 FETCH (UID 1 BODY[] {300000}\r\n";
	struct imap_parser *p = imap_parser_new(NULL);
	struct imap_resp *r = NULL;
	const struct imap_arg *items;
	size_t i, len = sizeof(hdr) - 1 + n + 3, off, k;
	char *in = malloc(len);
	uint64_t uid;

	(void)state;
	assert_non_null(p);
	assert_non_null(in);
	memcpy(in, hdr, sizeof(hdr) - 1);
	for (i = 0; i < n; i++)
		in[sizeof(hdr) - 1 + i] = (char)(i * 131 % 256);
	memcpy(in + len - 3, ")\r\n", 3);
	for (off = 0; off < len; off += k) {
		k = len - off < 4093 ? len - off : 4093;
		assert_int_equal(imap_parser_next(p, &r), IMAP_PARSE_MORE);
		assert_int_equal(imap_parser_buffered(p), off);
		assert_int_equal(imap_parser_feed(p, in + off, k), 0);
	}
	assert_int_equal(imap_parser_next(p, &r), IMAP_PARSE_OK);
	assert_int_equal(r->number, 9);
	assert_true(imap_arg_list(&r->args.items[0], &items, &k));
	assert_int_equal(k, 4);
	assert_true(imap_arg_atom_eq(&items[0], "uid"));
	assert_true(imap_arg_number(&items[1], &uid));
	assert_int_equal(uid, 1);
	assert_int_equal(items[3].type, IMAP_ARG_LITERAL);
	assert_int_equal(items[3].len, n);
	assert_memory_equal(items[3].str, in + sizeof(hdr) - 1, n);
	imap_resp_free(r);
	assert_int_equal(imap_parser_next(p, &r), IMAP_PARSE_MORE);
	assert_int_equal(imap_parser_buffered(p), 0);
	imap_parser_free(p);
	free(in);
}

/* Several responses in one feed, and a partial one kept for later. */
static void test_many_in_one_feed(void **state)
{
	static const char in[] = "* 1 EXISTS\r\n* 2 EXISTS\r\n* 3 EXISTS\r\n* 4 EXI";
	struct imap_parser *p = imap_parser_new(NULL);
	struct imap_resp *r;
	uint32_t want = 1;

	(void)state;
	assert_non_null(p);
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1), 0);
	while (imap_parser_next(p, &r) == IMAP_PARSE_OK) {
		assert_int_equal(r->number, want++);
		imap_resp_free(r);
	}
	assert_int_equal(want, 4);
	assert_int_equal(imap_parser_buffered(p), 7);
	assert_int_equal(imap_parser_feed(p, "STS\r\n", 5), 0);
	assert_int_equal(imap_parser_next(p, &r), IMAP_PARSE_OK);
	assert_int_equal(r->number, 4);
	assert_string_equal(r->name, "EXISTS");
	imap_resp_free(r);
	imap_parser_free(p);
}

/* Random token soup must never crash and must parse alike however split. */
static void test_random_soup(void **state)
{
	static const char *pieces[] = {
		"* ", "a1 ", "OK ", "FETCH ", "(", ")", "\"", "\\", "[", "]", "{3}\r\n",
		"~{0}\r\n", "{2+}\r\n", "abc", " ", "\r\n", "NIL", "\r", "\n", "1",
		"+ ", "BODY[", "{99999999999999999999}\r\n",
	};
	const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
	struct imap_parser_limits lim = {
		.max_line = 40, .max_literal = 4, .max_depth = 3, .max_args = 10,
	};
	struct result res;
	char in[12 * 32 + 8];
	unsigned seed = 1;
	size_t len, k;
	int i, j;

	(void)state;
	for (i = 0; i < 3000; i++) {
		len = 0;
		if (i % 3 == 0) {
			memcpy(in, "* X (", 5);
			len = 5;
		}
		for (j = 0; j < 12; j++) {
			seed = seed * 1103515245u + 12345u;
			k = strlen(pieces[(seed >> 16) % npieces]);
			memcpy(in + len, pieces[(seed >> 16) % npieces], k);
			len += k;
		}
		if (seed & 0x100)
			in[len++] = '\0';
		run_all_ways(in, len, (i & 1) ? &lim : NULL, &res);
	}
}

static void test_arg_helpers(void **state)
{
	char a_num[] = "18446744073709551615", a_big[] = "18446744073709551616";
	char a_x[] = "12a", a_neg[] = "-1", a_s[] = "str", a_empty[] = "";
	struct imap_arg num = { IMAP_ARG_ATOM, 20, a_num, NULL };
	struct imap_arg big = { IMAP_ARG_ATOM, 20, a_big, NULL };
	struct imap_arg x = { IMAP_ARG_ATOM, 3, a_x, NULL };
	struct imap_arg neg = { IMAP_ARG_ATOM, 2, a_neg, NULL };
	struct imap_arg empty = { IMAP_ARG_ATOM, 0, a_empty, NULL };
	struct imap_arg str = { IMAP_ARG_STRING, 3, a_s, NULL };
	struct imap_arg nil = { IMAP_ARG_NIL, 0, NULL, NULL };
	struct imap_arg list = { IMAP_ARG_LIST, 2, NULL, (struct imap_arg[]){ num, str } };
	const struct imap_arg *items;
	const char *s;
	size_t len;
	uint64_t n;

	(void)state;
	assert_true(imap_arg_number(&num, &n));
	assert_true(n == UINT64_MAX);
	assert_false(imap_arg_number(&big, &n));
	assert_false(imap_arg_number(&x, &n));
	assert_false(imap_arg_number(&neg, &n));
	assert_false(imap_arg_number(&empty, &n));
	assert_false(imap_arg_number(&str, &n));
	assert_string_equal(imap_arg_atom(&x), "12a");
	assert_null(imap_arg_atom(&str));
	assert_true(imap_arg_atom_eq(&x, "12A"));
	assert_false(imap_arg_atom_eq(&x, "12"));
	assert_false(imap_arg_atom_eq(&str, "str"));
	assert_true(imap_arg_astring(&str, &s, &len));
	assert_int_equal(len, 3);
	assert_true(imap_arg_astring(&x, &s, &len));
	assert_false(imap_arg_astring(&nil, &s, &len));
	assert_true(imap_arg_nstring(&nil, &s, &len));
	assert_null(s);
	assert_int_equal(len, 0);
	assert_true(imap_arg_nstring(&str, &s, &len));
	assert_string_equal(s, "str");
	assert_false(imap_arg_nstring(&list, &s, &len));
	assert_true(imap_arg_list(&list, &items, &len));
	assert_int_equal(len, 2);
	assert_false(imap_arg_list(&str, &items, &len));
}

/* ---- imap_arg_to_text ---- */

static struct imap_resp *parse_one(const char *in, size_t len)
{
	struct imap_parser *p = imap_parser_new(NULL);
	struct imap_resp *r = NULL;

	assert_non_null(p);
	assert_int_equal(imap_parser_feed(p, in, len), 0);
	if (imap_parser_next(p, &r) != IMAP_PARSE_OK)
		fail_msg("%s: %.*s", imap_parser_error(p), (int)len, in);
	assert_int_equal(imap_parser_next(p, &(struct imap_resp *){ NULL }), IMAP_PARSE_MORE);
	imap_parser_free(p);
	return r;
}

static bool is_string(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_STRING || a->type == IMAP_ARG_LITERAL;
}

/* Equal trees; a string may have become a literal or the other way round. */
static void assert_same_arg(const struct imap_arg *a, const struct imap_arg *b)
{
	if (!is_string(a) || !is_string(b))
		assert_int_equal(a->type, b->type);
	assert_int_equal(a->len, b->len);
	if (a->type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < a->len; i++)
			assert_same_arg(&a->items[i], &b->items[i]);
	} else if (a->type != IMAP_ARG_NIL) {
		assert_memory_equal(a->str, b->str, a->len);
	}
}

/* The BODYSTRUCTURE of "* 1 FETCH (BODYSTRUCTURE <text>)". */
static struct imap_resp *parse_bs(const char *text, size_t len, const struct imap_arg **bs)
{
	static const char head[] = "* 1 FETCH (BODYSTRUCTURE ";
	size_t hlen = sizeof(head) - 1, n = hlen + len + 3;
	char *buf = malloc(n);
	struct imap_resp *r;

	assert_non_null(buf);
	memcpy(buf, head, hlen);
	/* (GCC's -Warray-bounds thinks n may have wrapped to 0 otherwise.) */
	if (len > 0 && len < n)
		memcpy(buf + hlen, text, len);
	memcpy(buf + hlen + len, ")\r\n", 3);
	r = parse_one(buf, n);
	free(buf);
	assert_int_equal(r->args.len, 1);
	assert_int_equal(r->args.items[0].type, IMAP_ARG_LIST);
	assert_int_equal(r->args.items[0].len, 2);
	*bs = &r->args.items[0].items[1];
	return r;
}

/* Written as text, then read back as imap_arg_parse_text reads a cache. */
static void round_trip(const char *text, size_t len, const char *expect)
{
	const struct imap_arg *a;
	struct imap_resp *ra = parse_bs(text, len, &a);
	struct arena *arena = arena_new(64);
	char *t = imap_arg_to_text(a), *t2;
	struct imap_arg *b;

	assert_non_null(t);
	assert_non_null(arena);
	if (expect)
		assert_string_equal(t, expect);
	assert_int_equal(imap_arg_parse_text(t, strlen(t), arena, &b), 0);
	assert_same_arg(a, b);
	/* Writing is a fixed point: the text of the text is the same. */
	t2 = imap_arg_to_text(b);
	assert_non_null(t2);
	assert_string_equal(t, t2);
	free(t);
	free(t2);
	imap_resp_free(ra);
	arena_free(arena);
}

#define RT(s, expect) round_trip(s, sizeof(s) - 1, expect)

static void test_arg_to_text(void **state)
{
	(void)state;
	RT("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)",
	   "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)");
	/* Extra spaces go, escapes stay, a quotable literal is quoted. */
	RT("(  \"a\\\"b\\\\c\"   {3}\r\nx y  nil ( ) ATOM[1]<0>)",
	   "(\"a\\\"b\\\\c\" \"x y\" NIL () ATOM[1]<0>)");
	/* 8-bit and CR/LF can only be literals. */
	RT("({6}\r\nGr\xc3\xbc\xc3\x9f \"ok\" {4}\r\na\r\nb \"\")",
	   "({6}\r\nGr\xc3\xbc\xc3\x9f \"ok\" {4}\r\na\r\nb \"\")");
	/* A multipart with an 8-bit file name (as Dovecot sends it) and nested
	 * message/rfc822 with its envelope. */
	RT("((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 1234 40 NIL "
	   "NIL NIL NIL)(\"application\" \"pdf\" (\"name\" {10}\r\nR\xc3\xa9sum\xc3\xa9.pdf) NIL "
	   "NIL \"base64\" 300000 NIL (\"attachment\" (\"filename\" {10}\r\nR\xc3\xa9sum\xc3\xa9"
	   ".pdf)) NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 512 (\"Mon, 1 Jan 2024 "
	   "00:00:00 +0000\" \"Fwd: \\\"hi\\\"\" ((\"Al\" NIL \"al\" \"example.org\")) NIL NIL "
	   "NIL NIL NIL NIL \"<x@y>\") (\"text\" \"plain\" NIL NIL NIL \"7bit\" 10 1 NIL NIL NIL "
	   "NIL) 20 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"=_xyz\") NIL (\"fr\" \"en\") NIL)",
	   NULL);
}

static int parse_text(const char *text, size_t len, const char *want)
{
	struct arena *a = arena_new(64);
	struct imap_arg *v = (struct imap_arg *)&v;
	char *t;
	int rc;

	assert_non_null(a);
	errno = 0;
	rc = imap_arg_parse_text(text, len, a, &v);
	if (rc == 0) {
		t = imap_arg_to_text(v);
		assert_string_equal(t, want);
		free(t);
	} else {
		assert_null(v);
		assert_int_equal(errno, EINVAL);
	}
	arena_free(a);
	return rc;
}

#define PT(s, want) parse_text(s, sizeof(s) - 1, want)

static void test_arg_parse_text(void **state)
{
	(void)state;
	assert_int_equal(PT("atom", "atom"), 0);
	assert_int_equal(PT("nil", "NIL"), 0);
	assert_int_equal(PT("{3}\r\na\r\n", "{3}\r\na\r\n"), 0);
	/* Not a status line's text: "OK" in second place changes nothing. */
	assert_int_equal(PT("(x OK {2}\r\nab)", "(x OK \"ab\")"), 0);
	assert_int_equal(PT("", NULL), -1);
	assert_int_equal(PT("  ", NULL), -1);
	assert_int_equal(PT("a b", NULL), -1);
	assert_int_equal(PT("(a", NULL), -1);
	assert_int_equal(PT("(a))", NULL), -1);
	assert_int_equal(PT("(a)\r\n(b)", NULL), -1);
	assert_int_equal(PT("(a {5}\r\nab)", NULL), -1);
	assert_int_equal(PT("(a {99999999999}\r\n)", NULL), -1);
	assert_int_equal(PT("\"a\0b\"", NULL), -1);
}

static void test_arg_to_text_nul(void **state)
{
	static const char text[] = "(\"x\" {3}\r\na\0b)";
	const struct imap_arg *a;
	struct imap_resp *r = parse_bs(text, sizeof(text) - 1, &a);

	(void)state;
	/* A C string cannot carry it: refused, never cut short. */
	assert_null(imap_arg_to_text(a));
	imap_resp_free(r);
	assert_null(imap_arg_to_text(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_error_after_good),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_literal_total_default),
		cmocka_unit_test(test_endless_line),
		cmocka_unit_test(test_huge_literal_refused_early),
		cmocka_unit_test(test_big_literal),
		cmocka_unit_test(test_many_in_one_feed),
		cmocka_unit_test(test_random_soup),
		cmocka_unit_test(test_arg_helpers),
		cmocka_unit_test(test_arg_to_text),
		cmocka_unit_test(test_arg_to_text_nul),
		cmocka_unit_test(test_arg_parse_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
