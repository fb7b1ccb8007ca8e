// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The parser works in two steps, in the manner of dovecot's lib-imap:
 *
 *  1. scan: decide whether a whole response is buffered. Lines are walked
 *     once (the scan position survives between calls, so byte-at-a-time
 *     input costs O(n) overall); a line that ends in a literal header has its
 *     literal skipped. Limits, bare CR/LF and NUL are enforced here, so an
 *     endless line or a huge literal is refused before it is buffered.
 *  2. parse: the complete response is parsed in one pass into a tree whose
 *     strings and lists all live in an arena (arena.h) owned by the response.
 *
 * Literal positions found by the scan are recorded and the parse accepts a
 * literal only where the scan saw one: the two steps cannot disagree about
 * where the response ends.
 *
 * max_line counts every byte of a response outside its literals, not just
 * one physical line: otherwise "{0}" lines could grow a response forever.
 * In a limits struct passed to imap_parser_new, a zero field means default.
 */
#include "parser.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define DEFAULT_MAX_LINE (1024 * 1024)
#define DEFAULT_MAX_LITERAL ((uint64_t)64 * 1024 * 1024)
#define DEFAULT_MAX_DEPTH 64
#define DEFAULT_MAX_ARGS 1000000
#define MIN_BUF 4096
#define KEEP_BUF (1024 * 1024) /* a bigger buffer is released once empty */

/* A literal seen by the scan; offsets are from the start of the response. */
struct literal {
	size_t hdr;   /* the '{' or '~' */
	size_t data;  /* first byte of the literal's content */
	uint64_t len;
};

struct imap_parser {
	struct imap_parser_limits lim;
	char *buf;           /* buf[start..len) is unconsumed input */
	size_t start, len, cap;

	/* scan state of the response at start (offsets from start) */
	size_t scan;         /* next byte to examine */
	size_t line;         /* where the current line began */
	size_t line_bytes;   /* bytes of the response outside literals */
	uint64_t lit_left;   /* literal bytes still to skip */
	uint64_t lit_total;  /* bytes of the response's literals so far */
	bool first_done;     /* the first line was classified */
	bool text_mode;      /* status/continuation: one line, no literals */
	struct literal *lits;
	size_t nlits, lits_cap;

	/* values of the lists being parsed, reused between responses */
	struct imap_arg *stack;
	size_t sp, stack_cap;

	bool failed;
	char err[160];
	size_t err_line;     /* where the line that failed began, from start */
};

/* A response and the arena that holds everything it points to, the box too. */
struct resp_box {
	struct imap_resp resp;
	struct arena *arena;
};

struct pctx {
	struct imap_parser *p;
	struct arena *arena;
	struct imap_resp *resp;
	const char *b;     /* the response */
	size_t pos, end;   /* end: just after its final CRLF */
	size_t lit_i;      /* next literal to consume */
	size_t nargs;
	unsigned depth;
	bool oom;
	char err[160];
};

void imap_resp_free(struct imap_resp *r)
{
	if (r != NULL)
		arena_free(((struct resp_box *)((char *)r - offsetof(struct resp_box, resp)))->arena);
}

static int fail(struct imap_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->failed = true;
	return -1;
}

static int pfail(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int poom(struct pctx *c)
{
	c->oom = true;
	return pfail(c, "out of memory");
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (limits != NULL)
		p->lim = *limits;
	if (p->lim.max_line == 0)
		p->lim.max_line = DEFAULT_MAX_LINE;
	if (p->lim.max_literal == 0)
		p->lim.max_literal = DEFAULT_MAX_LITERAL;
	if (p->lim.max_literals == 0)
		p->lim.max_literals = p->lim.max_literal > UINT64_MAX - p->lim.max_line ?
				      UINT64_MAX : p->lim.max_literal + p->lim.max_line;
	if (p->lim.max_depth == 0)
		p->lim.max_depth = DEFAULT_MAX_DEPTH;
	if (p->lim.max_args == 0)
		p->lim.max_args = DEFAULT_MAX_ARGS;
	return p;
}

void imap_parser_free(struct imap_parser *p)
{
	if (p == NULL)
		return;
	free(p->buf);
	free(p->lits);
	free(p->stack);
	free(p);
}

const char *imap_parser_error(const struct imap_parser *p)
{
	return p->failed ? p->err : "no error";
}

size_t imap_parser_excerpt(const struct imap_parser *p, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t from = p->start + (p->failed ? p->err_line : 0), o = 0;

	if (outlen == 0)
		return 0;
	for (size_t i = from; i < p->len; i++) {
		unsigned char ch = (unsigned char)p->buf[i];
		char e[5] = { (char)ch, 0 };

		if (ch == '\r' || ch == '\n' || ch == '\t' || ch == '\\' || ch == '"')
			snprintf(e, sizeof e, "\\%c", ch == '\r' ? 'r' : ch == '\n' ? 'n' :
				 ch == '\t' ? 't' : (char)ch);
		else if (ch < 0x20 || ch >= 0x7f)
			snprintf(e, sizeof e, "\\x%c%c", hex[ch >> 4], hex[ch & 15]);
		/* Room for this and "..." after it, or stop with "...". */
		if (o + strlen(e) + 4 > outlen) {
			snprintf(out + o, outlen - o, "%s", outlen - o > 3 ? "..." : "");
			return strlen(out);
		}
		memcpy(out + o, e, strlen(e));
		o += strlen(e);
	}
	out[o] = '\0';
	return o;
}

size_t imap_parser_buffered(const struct imap_parser *p)
{
	return p->len - p->start;
}

int imap_parser_feed(struct imap_parser *p, const void *data, size_t len)
{
	size_t need;

	if (p->failed)
		return -1;
	/* Compact once per feed, not once per response: many small responses
	 * in one read must not cost a memmove each. */
	if (p->start > 0) {
		memmove(p->buf, p->buf + p->start, p->len - p->start);
		p->len -= p->start;
		p->start = 0;
	}
	if (len > SIZE_MAX - p->len) {
		errno = ENOMEM;
		return -1;
	}
	need = p->len + len;
	if (need > p->cap) {
		size_t cap = p->cap ? p->cap : MIN_BUF;
		char *nb;

		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		nb = realloc(p->buf, cap);
		if (nb == NULL)
			return -1;
		p->buf = nb;
		p->cap = cap;
	}
	if (len > 0)
		memcpy(p->buf + p->len, data, len);
	p->len += len;
	return 0;
}

/* ---- step 1: scan ---- */

static bool ascii_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	if (alen != strlen(b))
		return false;
	for (i = 0; i < alen; i++) {
		char x = a[i], y = b[i];

		if (x >= 'a' && x <= 'z')
			x = (char)(x - 'a' + 'A');
		if (x != y)
			return false;
	}
	return true;
}

static enum imap_status status_of(const char *w, size_t len)
{
	static const struct {
		const char *name;
		enum imap_status st;
	} tab[] = {
		{ "OK", IMAP_STATUS_OK },   { "NO", IMAP_STATUS_NO },
		{ "BAD", IMAP_STATUS_BAD }, { "PREAUTH", IMAP_STATUS_PREAUTH },
		{ "BYE", IMAP_STATUS_BYE },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (ascii_ieq(w, len, tab[i].name))
			return tab[i].st;
	return IMAP_STATUS_NONE;
}

/*
 * Status responses and continuations are a single line of free text, which
 * may well end in something like "{5}": it must not be taken for a literal.
 */
static bool is_text_line(const char *b, size_t len)
{
	const char *sp, *w, *end = b + len;

	if (len > 0 && b[0] == '+')
		return true;
	sp = memchr(b, ' ', len);
	if (sp == NULL)
		return false;
	w = sp + 1;
	sp = memchr(w, ' ', (size_t)(end - w));
	if (sp == NULL)
		sp = end;
	return status_of(w, (size_t)(sp - w)) != IMAP_STATUS_NONE;
}

/*
 * Does the line end in a literal header "{n}", "{n+}" or "~{n}" that starts
 * a token? 1 and *lit filled in, 0 if not, -1 if its size is refused.
 */
static int literal_at_end(struct imap_parser *p, const char *l, size_t len,
			  struct literal *lit)
{
	size_t i, digits;
	uint64_t v = 0;

	if (len < 3 || l[len - 1] != '}')
		return 0;
	i = len - 1;
	if (l[i - 1] == '+')
		i--;
	digits = i;
	while (i > 0 && l[i - 1] >= '0' && l[i - 1] <= '9')
		i--;
	if (i == digits || i == 0 || l[i - 1] != '{')
		return 0;
	lit->hdr = i - 1;
	if (lit->hdr > 0 && l[lit->hdr - 1] == '~')
		lit->hdr--;
	if (lit->hdr > 0 && l[lit->hdr - 1] != ' ' && l[lit->hdr - 1] != '(')
		return 0;
	for (; i < digits; i++) {
		unsigned d = (unsigned)(l[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return fail(p, "literal size %.*s overflows",
				    (int)(digits - lit->hdr), l + lit->hdr);
		v = v * 10 + d;
	}
	if (v > p->lim.max_literal)
		return fail(p, "literal of %" PRIu64 " bytes exceeds limit of %" PRIu64,
			    v, p->lim.max_literal);
	if (v > p->lim.max_literals - p->lit_total)
		return fail(p, "literals of one response exceed %" PRIu64 " bytes",
			    p->lim.max_literals);
	p->lit_total += v;
	lit->len = v;
	return 1;
}

static int push_literal(struct imap_parser *p, const struct literal *lit)
{
	if (p->nlits >= p->lim.max_args)
		return fail(p, "more than %zu values in a response", p->lim.max_args);
	if (p->nlits == p->lits_cap) {
		size_t cap = p->lits_cap ? p->lits_cap * 2 : 8;
		struct literal *nl;

		if (cap > SIZE_MAX / sizeof(*nl))
			return fail(p, "out of memory");
		nl = realloc(p->lits, cap * sizeof(*nl));
		if (nl == NULL)
			return fail(p, "out of memory");
		p->lits = nl;
		p->lits_cap = cap;
	}
	p->lits[p->nlits++] = *lit;
	return 0;
}

/* A CRLF is at p->scan. 1: the response ends there (*end), 0: it goes on. */
static int line_end(struct imap_parser *p, size_t *end)
{
	const char *b = p->buf + p->start;
	size_t eol = p->scan;
	struct literal lit;
	int rc;

	if (!p->first_done) {
		p->first_done = true;
		p->text_mode = is_text_line(b, eol);
	}
	p->scan = eol + 2;
	if (!p->text_mode) {
		rc = literal_at_end(p, b + p->line, eol - p->line, &lit);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			lit.hdr += p->line;
			lit.data = p->scan;
			if (push_literal(p, &lit) < 0)
				return -1;
			p->lit_left = lit.len;
			p->line = p->scan + lit.len;
			return 0;
		}
	}
	*end = p->scan;
	return 1;
}

static int scan_response(struct imap_parser *p, size_t *end)
{
	const char *b = p->buf + p->start;
	size_t n = p->len - p->start;
	int rc;

	while (p->scan < n) {
		if (p->lit_left > 0) {
			size_t k = n - p->scan;

			if (k > p->lit_left)
				k = (size_t)p->lit_left;
			p->scan += k;
			p->lit_left -= k;
			continue;
		}
		switch (b[p->scan]) {
		case '\r':
			if (p->scan + 1 == n)
				return 0;
			if (b[p->scan + 1] != '\n')
				return fail(p, "bare CR in line");
			rc = line_end(p, end);
			if (rc != 0)
				return rc;
			continue;
		case '\n':
			return fail(p, "bare LF in line");
		case '\0':
			return fail(p, "NUL byte outside a literal");
		}
		if (++p->line_bytes > p->lim.max_line)
			return fail(p, "line exceeds %zu bytes", p->lim.max_line);
		p->scan++;
	}
	return 0;
}

/* ---- step 2: parse ---- */

static char *upper_dup(struct pctx *c, const char *s, size_t len)
{
	char *d = arena_strndup(c->arena, s, len);
	size_t i;

	for (i = 0; d != NULL && i < len; i++)
		if (d[i] >= 'a' && d[i] <= 'z')
			d[i] = (char)(d[i] - 'a' + 'A');
	return d;
}

static int push_value(struct pctx *c, const struct imap_arg *v)
{
	struct imap_parser *p = c->p;

	if (p->sp == p->stack_cap) {
		size_t cap = p->stack_cap ? p->stack_cap * 2 : 64;
		struct imap_arg *ns;

		if (cap > SIZE_MAX / sizeof(*ns))
			return poom(c);
		ns = realloc(p->stack, cap * sizeof(*ns));
		if (ns == NULL)
			return poom(c);
		p->stack = ns;
		p->stack_cap = cap;
	}
	p->stack[p->sp++] = *v;
	return 0;
}

static int count_value(struct pctx *c)
{
	if (++c->nargs > c->p->lim.max_args)
		return pfail(c, "more than %zu values in a response", c->p->lim.max_args);
	return 0;
}

static bool is_atom_end(char ch)
{
	return ch == ' ' || ch == '(' || ch == ')' || ch == '"' || ch == ']' ||
	       ch == '\r';
}

/* Where the atom at s ends: a '[' section (BODY[HEADER.FIELDS (A B)])
 * spans spaces and parentheses to its ']'; one never closed on the line is
 * an ordinary character (a mailbox may be named a[b). */
static size_t atom_end(const struct pctx *c, size_t s, bool sections)
{
	unsigned long br = 0;
	size_t i = s;

	for (; i < c->end; i++) {
		char ch = c->b[i];

		if (ch == '\r')
			break;
		if (br > 0) {
			br += ch == '[';
			br -= ch == ']';
		} else if (is_atom_end(ch)) {
			break;
		} else if (ch == '[' && sections) {
			br++;
		}
	}
	return br > 0 ? atom_end(c, s, false) : i;
}

static int parse_atom(struct pctx *c, struct imap_arg *out)
{
	size_t s = c->pos, i = atom_end(c, s, true);

	if (i == s)
		return pfail(c, "unexpected '%c'", c->b[s]);
	c->pos = i;
	if (ascii_ieq(c->b + s, i - s, "NIL")) {
		*out = (struct imap_arg){ .type = IMAP_ARG_NIL };
		return 0;
	}
	out->type = IMAP_ARG_ATOM;
	out->len = i - s;
	out->items = NULL;
	out->str = arena_strndup(c->arena, c->b + s, i - s);
	return out->str ? 0 : poom(c);
}

static int parse_quoted(struct pctx *c, struct imap_arg *out)
{
	size_t i, n = 0, s = c->pos + 1;
	char *d;

	for (i = s; i < c->end && c->b[i] != '"'; i++, n++) {
		if (c->b[i] == '\r')
			break;
		if (c->b[i] == '\\') {
			i++;
			if (c->b[i] != '"' && c->b[i] != '\\')
				return pfail(c, "invalid escape in quoted string");
		}
	}
	if (i >= c->end || c->b[i] != '"')
		return pfail(c, "unterminated quoted string");
	d = arena_alloc(c->arena, n + 1);
	if (d == NULL)
		return poom(c);
	out->type = IMAP_ARG_STRING;
	out->len = n;
	out->str = d;
	out->items = NULL;
	for (i = s; c->b[i] != '"'; i++) {
		if (c->b[i] == '\\')
			i++;
		*d++ = c->b[i];
	}
	*d = '\0';
	c->pos = i + 1;
	return 0;
}

static int parse_literal(struct pctx *c, struct imap_arg *out)
{
	const struct literal *lit;

	if (c->lit_i >= c->p->nlits || c->p->lits[c->lit_i].hdr != c->pos)
		return pfail(c, "literal header not at the end of a line");
	lit = &c->p->lits[c->lit_i++];
	out->type = IMAP_ARG_LITERAL;
	out->len = (size_t)lit->len;
	out->items = NULL;
	out->str = arena_strndup(c->arena, c->b + lit->data, out->len);
	if (out->str == NULL)
		return poom(c);
	c->pos = lit->data + out->len;
	return 0;
}

static int parse_values(struct pctx *c, char close, struct imap_arg *out);

static int parse_value(struct pctx *c, struct imap_arg *out)
{
	const char *b = c->b;
	int rc;

	if (count_value(c) < 0)
		return -1;
	switch (b[c->pos]) {
	case '(':
		if (++c->depth > c->p->lim.max_depth)
			return pfail(c, "lists nested deeper than %u", c->p->lim.max_depth);
		c->pos++;
		rc = parse_values(c, ')', out);
		if (rc == 0)
			c->pos++;
		c->depth--;
		return rc;
	case '"':
		return parse_quoted(c, out);
	case '{':
		return parse_literal(c, out);
	case '~':
		if (b[c->pos + 1] == '{')
			return parse_literal(c, out);
		break;
	}
	return parse_atom(c, out);
}

static const char *missing_close(char close)
{
	return close == ')' ? "missing ')' at end of line" : "missing ']' at end of line";
}

/* Values up to close (')', ']' or '\r'), left at c->pos; *out is their list. */
static int parse_values(struct pctx *c, char close, struct imap_arg *out)
{
	struct imap_parser *p = c->p;
	size_t base = p->sp, n;
	struct imap_arg v;

	for (;;) {
		while (c->b[c->pos] == ' ')
			c->pos++;
		if (c->b[c->pos] == close)
			break;
		if (c->b[c->pos] == '\r')
			return pfail(c, "%s", missing_close(close));
		if (c->b[c->pos] == ')')
			return pfail(c, "unexpected ')'");
		if (parse_value(c, &v) < 0 || push_value(c, &v) < 0)
			return -1;
	}
	n = p->sp - base;
	*out = (struct imap_arg){ .type = IMAP_ARG_LIST, .len = n };
	if (n > 0) {
		if (n > SIZE_MAX / sizeof(v))
			return poom(c);
		out->items = arena_alloc(c->arena, n * sizeof(v));
		if (out->items == NULL)
			return poom(c);
		memcpy(out->items, p->stack + base, n * sizeof(v));
	}
	p->sp = base;
	return 0;
}

/* A tag, "*" follow-up or keyword: an atom without brackets. */
static size_t word_len(const struct pctx *c)
{
	size_t i = c->pos;

	while (!is_atom_end(c->b[i]) && c->b[i] != '[' && c->b[i] != '{' &&
	       c->b[i] != '\\')
		i++;
	return i - c->pos;
}

static int expect_sp(struct pctx *c, const char *what)
{
	if (c->b[c->pos] != ' ')
		return pfail(c, "expected a space after %s", what);
	c->pos++;
	return 0;
}

static int set_text(struct pctx *c)
{
	size_t eol = c->end - 2;

	c->resp->text = arena_strndup(c->arena, c->b + c->pos, eol - c->pos);
	if (c->resp->text == NULL)
		return poom(c);
	c->pos = eol;
	return 0;
}

/* "[CODE args]": args that do not parse are dropped, not fatal. */
static int parse_code(struct pctx *c)
{
	struct imap_resp *r = c->resp;
	const char *close = memchr(c->b + c->pos, ']', c->end - 2 - c->pos);
	size_t n, save_sp = c->p->sp, save_nargs = c->nargs;

	if (close == NULL)
		return 0; /* not a code after all: all of it is text */
	c->pos++;
	n = 0;
	while (c->b[c->pos + n] != ' ' && c->b[c->pos + n] != ']')
		n++;
	r->code = upper_dup(c, c->b + c->pos, n);
	if (r->code == NULL)
		return poom(c);
	c->pos += n;
	if (c->b[c->pos] == ' ') {
		c->pos++;
		if (parse_values(c, ']', &r->code_args) < 0) {
			if (c->oom)
				return -1;
			c->p->sp = save_sp;
			c->nargs = save_nargs;
			c->depth = 0;
			c->lit_i = 0;
			r->code_args = (struct imap_arg){ .type = IMAP_ARG_LIST };
			c->pos = (size_t)(close - c->b);
		}
	}
	c->pos++;
	if (c->b[c->pos] == ' ')
		c->pos++;
	return 0;
}

static int parse_status_tail(struct pctx *c)
{
	if (c->b[c->pos] == '\r')
		return 0;
	if (expect_sp(c, "the status") < 0)
		return -1;
	if (c->b[c->pos] == '[' && parse_code(c) < 0)
		return -1;
	return set_text(c);
}

static int parse_number(struct pctx *c, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		v = v * 10 + (uint64_t)(c->b[c->pos + i] - '0');
		if (v > UINT32_MAX)
			return pfail(c, "message number %.*s out of range",
				     (int)(n > 40 ? 40 : n), c->b + c->pos);
	}
	c->resp->has_number = true;
	c->resp->number = (uint32_t)v;
	c->pos += n;
	return 0;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static int parse_untagged(struct pctx *c)
{
	struct imap_resp *r = c->resp;
	size_t n;

	c->pos = 1;
	if (expect_sp(c, "'*'") < 0)
		return -1;
	n = word_len(c);
	if (all_digits(c->b + c->pos, n)) {
		if (parse_number(c, n) < 0 || expect_sp(c, "the number") < 0)
			return -1;
		n = word_len(c);
	}
	if (n == 0)
		return pfail(c, "missing response name");
	r->name = upper_dup(c, c->b + c->pos, n);
	if (r->name == NULL)
		return poom(c);
	if (!r->has_number)
		r->status = status_of(r->name, n);
	c->pos += n;
	if (r->status != IMAP_STATUS_NONE)
		return parse_status_tail(c);
	if (c->b[c->pos] != '\r' && expect_sp(c, r->name) < 0)
		return -1;
	return parse_values(c, '\r', &r->args);
}

static int parse_tagged(struct pctx *c)
{
	struct imap_resp *r = c->resp;
	size_t n = word_len(c);

	if (n == 0)
		return pfail(c, "missing tag");
	r->kind = IMAP_RESP_TAGGED;
	r->tag = arena_strndup(c->arena, c->b, n);
	if (r->tag == NULL)
		return poom(c);
	c->pos = n;
	if (expect_sp(c, "the tag") < 0)
		return -1;
	n = word_len(c);
	r->status = status_of(c->b + c->pos, n);
	if (r->status != IMAP_STATUS_OK && r->status != IMAP_STATUS_NO &&
	    r->status != IMAP_STATUS_BAD)
		return pfail(c, "tagged response without OK, NO or BAD");
	r->name = upper_dup(c, c->b + c->pos, n);
	if (r->name == NULL)
		return poom(c);
	c->pos += n;
	return parse_status_tail(c);
}

static int parse_continue(struct pctx *c)
{
	struct imap_resp *r = c->resp;

	r->kind = IMAP_RESP_CONTINUE;
	c->pos = 1;
	if (c->b[c->pos] == ' ')
		c->pos++;
	return set_text(c);
}

static int parse_resp(struct pctx *c)
{
	struct imap_resp *r = c->resp;
	int rc;

	r->args.type = IMAP_ARG_LIST;
	r->code_args.type = IMAP_ARG_LIST;
	r->name = r->text = arena_strndup(c->arena, "", 0);
	if (r->text == NULL)
		return poom(c);
	if (c->b[0] == '+')
		rc = parse_continue(c);
	else if (c->b[0] == '*')
		rc = parse_untagged(c);
	else
		rc = parse_tagged(c);
	if (rc < 0)
		return -1;
	/* The scan put every CRLF either after a literal or at the end. */
	if (c->pos != c->end - 2 || c->lit_i != c->p->nlits)
		return pfail(c, "malformed literal");
	return 0;
}

static int parse_one(struct imap_parser *p, size_t end, struct imap_resp **out)
{
	struct pctx c = {
		.p = p, .b = p->buf + p->start, .end = end,
	};
	struct resp_box *box;

	c.arena = arena_new(ARENA_CHUNK_MAX);
	box = c.arena ? arena_alloc(c.arena, sizeof(*box)) : NULL;
	if (box == NULL) {
		arena_free(c.arena);
		return fail(p, "out of memory");
	}
	memset(box, 0, sizeof(*box));
	box->arena = c.arena;
	c.resp = &box->resp;
	p->sp = 0;
	if (parse_resp(&c) < 0) {
		arena_free(c.arena);
		return fail(p, "%s", c.err);
	}
	*out = c.resp;
	return 0;
}

/* The one value of the line p holds whole (end just after its CRLF). */
static int parse_lone_value(struct imap_parser *p, size_t end, struct arena *a,
			    struct imap_arg **out)
{
	struct pctx c = { .p = p, .arena = a, .b = p->buf + p->start, .end = end };
	struct imap_arg list;

	if (parse_values(&c, '\r', &list) < 0) {
		errno = c.oom ? ENOMEM : EINVAL;
		return -1;
	}
	if (c.pos != end - 2 || c.lit_i != p->nlits || list.len != 1) {
		errno = EINVAL;
		return -1;
	}
	*out = &list.items[0];
	return 0;
}

int imap_arg_parse_text(const char *text, size_t len, struct arena *a, struct imap_arg **out)
{
	struct imap_parser *p = imap_parser_new(NULL);
	size_t end = 0;
	int rc = -1;

	*out = NULL;
	if (p == NULL || imap_parser_feed(p, text, len) < 0 || imap_parser_feed(p, "\r\n", 2) < 0) {
		errno = ENOMEM;
		goto done;
	}
	/* A value, never a status line's free text: a literal is a literal. */
	p->first_done = true;
	if (scan_response(p, &end) == 1 && end == p->len) {
		rc = parse_lone_value(p, end, a, out);
	} else {
		/* Malformed, over a limit, a literal cut short, more than one
		 * line; or no memory for the scan. */
		errno = p->failed && strcmp(p->err, "out of memory") == 0 ? ENOMEM : EINVAL;
	}
done:
	imap_parser_free(p);
	return rc;
}

static void consume(struct imap_parser *p, size_t end)
{
	p->start += end;
	if (p->start == p->len) {
		p->start = p->len = 0;
		if (p->cap > KEEP_BUF) {
			free(p->buf);
			p->buf = NULL;
			p->cap = 0;
		}
	}
	p->scan = p->line = p->line_bytes = 0;
	p->lit_left = p->lit_total = 0;
	p->first_done = p->text_mode = false;
	p->nlits = 0;
}

enum imap_parse_result imap_parser_next(struct imap_parser *p, struct imap_resp **out)
{
	size_t end = 0;
	int rc;

	*out = NULL;
	if (p->failed)
		return IMAP_PARSE_ERROR;
	if (p->start == p->len)
		return IMAP_PARSE_MORE; /* p->buf may be NULL */
	rc = scan_response(p, &end);
	if (rc < 0) {
		p->err_line = p->line;
		return IMAP_PARSE_ERROR;
	}
	if (rc == 0)
		return IMAP_PARSE_MORE;
	if (parse_one(p, end, out) < 0) {
		p->err_line = 0;   /* the parse sees the response whole */
		return IMAP_PARSE_ERROR;
	}
	consume(p, end);
	return IMAP_PARSE_OK;
}
