// SPDX-License-Identifier: GPL-2.0-or-later
#include "search_keys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "write.h"

#define DEPTH_MAX 32

enum argt { A_NONE, A_STRING, A_DATE, A_NUMBER, A_FLAG, A_FIELD, A_SEQSET, A_NZ, A_MODSEQ };
enum kind { N_KEY, N_NOT, N_OR, N_GROUP };

struct keydef {
	const char *name;
	enum argt a1, a2;
	unsigned needs;
};

static const struct keydef keydefs[] = {
	{ "ALL", A_NONE, A_NONE, 0 },          { "ANSWERED", A_NONE, A_NONE, 0 },
	{ "BCC", A_STRING, A_NONE, 0 },        { "BEFORE", A_DATE, A_NONE, 0 },
	{ "BODY", A_STRING, A_NONE, 0 },       { "CC", A_STRING, A_NONE, 0 },
	{ "DELETED", A_NONE, A_NONE, 0 },      { "DRAFT", A_NONE, A_NONE, 0 },
	{ "FLAGGED", A_NONE, A_NONE, 0 },      { "FROM", A_STRING, A_NONE, 0 },
	{ "HEADER", A_FIELD, A_STRING, 0 },    { "KEYWORD", A_FLAG, A_NONE, 0 },
	{ "LARGER", A_NUMBER, A_NONE, 0 },     { "NEW", A_NONE, A_NONE, 0 },
	{ "OLD", A_NONE, A_NONE, 0 },          { "ON", A_DATE, A_NONE, 0 },
	{ "RECENT", A_NONE, A_NONE, 0 },       { "SEEN", A_NONE, A_NONE, 0 },
	{ "SENTBEFORE", A_DATE, A_NONE, 0 },   { "SENTON", A_DATE, A_NONE, 0 },
	{ "SENTSINCE", A_DATE, A_NONE, 0 },    { "SINCE", A_DATE, A_NONE, 0 },
	{ "SMALLER", A_NUMBER, A_NONE, 0 },    { "SUBJECT", A_STRING, A_NONE, 0 },
	{ "TEXT", A_STRING, A_NONE, 0 },       { "TO", A_STRING, A_NONE, 0 },
	{ "UID", A_SEQSET, A_NONE, 0 },        { "UNANSWERED", A_NONE, A_NONE, 0 },
	{ "UNDELETED", A_NONE, A_NONE, 0 },    { "UNDRAFT", A_NONE, A_NONE, 0 },
	{ "UNFLAGGED", A_NONE, A_NONE, 0 },    { "UNKEYWORD", A_FLAG, A_NONE, 0 },
	{ "UNSEEN", A_NONE, A_NONE, 0 },
	{ "OLDER", A_NZ, A_NONE, SEARCH_NEEDS_WITHIN },
	{ "YOUNGER", A_NZ, A_NONE, SEARCH_NEEDS_WITHIN },
	{ "MODSEQ", A_MODSEQ, A_NONE, SEARCH_NEEDS_CONDSTORE },
};
/* A bare sequence set is a key too (message sequence numbers). */
static const struct keydef seqset_key = { "", A_SEQSET, A_NONE, 0 };

struct node {
	enum kind kind;
	const struct keydef *def;   /* N_KEY */
	char *arg[2];               /* canonical bytes, NUL-terminated */
	size_t arglen[2];
	struct node *kids;          /* N_NOT: 1, N_OR: 2, N_GROUP: 1 or more */
	struct node *next;
};

struct search_keys {
	struct node *first;
	unsigned needs;
};

struct parser {
	const char *s;
	size_t len, pos;
	char *why;
	size_t whylen;
	unsigned needs;
};

enum tok_kind { T_END, T_OPEN, T_CLOSE, T_ATOM, T_QUOTED };

struct tok {
	enum tok_kind kind;
	const char *p;   /* T_ATOM: the bytes; T_QUOTED: between the quotes, escaped */
	size_t len;
};

static int refuse(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->whylen) {
		va_start(ap, fmt);
		vsnprintf(p->why, p->whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static void node_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;

		node_free(n->kids);
		free(n->arg[0]);
		free(n->arg[1]);
		free(n);
		n = next;
	}
}

void search_keys_free(struct search_keys *k)
{
	if (!k)
		return;
	node_free(k->first);
	free(k);
}

/* ---- the name as a whole: UTF-8 without controls ---- */

static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t need;
	uint32_t v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		need = 2, v = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		need = 3, v = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		need = 4, v = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need;
}

static int check_text(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->s;

	for (size_t i = 0; i < p->len;) {
		uint32_t cp;
		size_t n = utf8_seq(s + i, p->len - i, &cp);

		if (n == 0)
			return refuse(p, "invalid UTF-8 at byte %zu", i);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return refuse(p, "control character U+%04X at byte %zu", (unsigned)cp, i);
		i += n;
	}
	return 0;
}

/* ---- tokens ---- */

static int next_token(struct parser *p, struct tok *t)
{
	while (p->pos < p->len && p->s[p->pos] == ' ')
		p->pos++;
	t->p = p->s + p->pos;
	t->len = 0;
	if (p->pos == p->len) {
		t->kind = T_END;
		return 0;
	}
	switch (p->s[p->pos]) {
	case '(':
		p->pos++;
		t->kind = T_OPEN;
		return 0;
	case ')':
		p->pos++;
		t->kind = T_CLOSE;
		return 0;
	case '"':
		t->kind = T_QUOTED;
		t->p++;
		for (size_t i = p->pos + 1; i < p->len; i++) {
			if (p->s[i] == '\\') {
				if (i + 1 == p->len || (p->s[i + 1] != '\\' && p->s[i + 1] != '"'))
					return refuse(p, "bad escape in a quoted string (only \\\\ and \\\")");
				i++;
			} else if (p->s[i] == '"') {
				t->len = i - p->pos - 1;
				p->pos = i + 1;
				return 0;
			}
		}
		return refuse(p, "unbalanced quote");
	default:
		t->kind = T_ATOM;
		while (p->pos < p->len && !strchr(" ()\"", p->s[p->pos]))
			p->pos++;
		t->len = (size_t)(p->s + p->pos - t->p);
		if (p->pos < p->len && p->s[p->pos] == '"')
			return refuse(p, "quote inside a word");
		return 0;
	}
}

/* The token's bytes, escapes removed, malloc'd and NUL-terminated. */
static char *tok_bytes(const struct tok *t, size_t *len)
{
	char *d = malloc(t->len + 1);
	size_t n = 0;

	if (!d)
		return NULL;
	for (size_t i = 0; i < t->len; i++) {
		if (t->kind == T_QUOTED && t->p[i] == '\\')
			i++;
		d[n++] = t->p[i];
	}
	d[n] = '\0';
	*len = n;
	return d;
}

/* How much of a token a reason quotes: 40 bytes at most, whole characters. */
static int shown(const struct tok *t)
{
	size_t n = t->len;

	if (n > 40) {
		n = 40;
		while (n && ((unsigned char)t->p[n] & 0xc0) == 0x80)
			n--;
	}
	return (int)n;
}

/* ---- arguments ---- */

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static bool digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Decimal, at most max, any number of leading zeros. */
static bool number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!digits(s, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int canon_date(const char *s, size_t n, char out[16])
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t dl = n > 0 && s[1] == '-' ? 1 : 2;
	uint64_t day, year;
	int m;

	if (n != dl + 9 || !number(s, dl, 31, &day) || s[dl] != '-' || s[dl + 4] != '-' ||
	    !digits(s + dl + 5, 4) || !number(s + dl + 5, 4, 9999, &year))
		return -1;
	for (m = 0; m < 12; m++)
		if (strncasecmp(s + dl + 1, months[m], 3) == 0)
			break;
	if (m == 12 || day == 0 || (int)day > mdays[m])
		return -1;
	if (m == 1 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return -1;
	snprintf(out, 16, "%u-%s-%04u", (unsigned)day, months[m], (unsigned)year);
	return 0;
}

static bool seq_number(const char **s, const char *end)
{
	uint64_t v;
	size_t n = 0;

	if (*s < end && **s == '*') {
		(*s)++;
		return true;
	}
	while (*s + n < end && (*s)[n] >= '0' && (*s)[n] <= '9')
		n++;
	/* nz-number: no leading zero, 1..2^32-1. */
	if (n == 0 || **s == '0' || !number(*s, n, UINT32_MAX, &v))
		return false;
	*s += n;
	return true;
}

static bool seqset_ok(const char *s, size_t n)
{
	const char *end = s + n;

	for (;;) {
		if (!seq_number(&s, end))
			return false;
		if (s < end && *s == ':') {
			s++;
			if (!seq_number(&s, end))
				return false;
		}
		if (s == end)
			return true;
		if (*s++ != ',')
			return false;
	}
}

static bool field_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
			return false;
	return true;
}

static const char *argt_name(enum argt a)
{
	switch (a) {
	case A_STRING: return "a string";
	case A_DATE: return "a date (d-Mon-yyyy)";
	case A_NUMBER: return "a number (0 to 4294967295)";
	case A_FLAG: return "a keyword (an atom)";
	case A_FIELD: return "a header field name";
	case A_SEQSET: return "a set (1:5,7,9:*)";
	case A_NZ: return "a number of seconds (1 to 4294967295)";
	case A_MODSEQ: return "a mod-sequence (1 to 2^63-1)";
	default: return "nothing";
	}
}

/* Checks the argument's bytes (escapes removed) and makes them canonical. */
static int check_arg(struct parser *p, enum argt a, const struct tok *t, char **bytes,
		     size_t *len)
{
	char tmp[24];
	uint64_t v;
	bool ok;

	switch (a) {
	case A_STRING:
		return 0;
	case A_FIELD:
		ok = field_ok(*bytes, *len);
		break;
	case A_DATE:
		ok = canon_date(*bytes, *len, tmp) == 0;
		break;
	case A_FLAG:
		ok = t->kind == T_ATOM && **bytes != '\\' && imap_flag_syntax_ok(*bytes, *len);
		break;
	case A_SEQSET:
		ok = t->kind == T_ATOM && seqset_ok(*bytes, *len);
		break;
	default:
		ok = t->kind == T_ATOM &&
		     number(*bytes, *len, a == A_MODSEQ ? INT64_MAX : UINT32_MAX, &v) &&
		     (a == A_NUMBER || v > 0);
		if (ok)
			snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
		break;
	}
	if (!ok)
		return refuse(p, "expected %s, not \"%.*s\"", argt_name(a), shown(t), t->p);
	if (a == A_DATE || a == A_NUMBER || a == A_NZ || a == A_MODSEQ) {
		char *c = strdup(tmp);

		if (!c)
			return -ENOMEM;
		free(*bytes);
		*bytes = c;
		*len = strlen(c);
	}
	return 0;
}

static int parse_arg(struct parser *p, const struct keydef *d, enum argt a, struct node *n,
		     int i)
{
	struct tok t;
	int rc = next_token(p, &t);

	if (rc)
		return rc;
	if (t.kind != T_ATOM && t.kind != T_QUOTED)
		return refuse(p, "%s needs %s", d->name[0] ? d->name : "set", argt_name(a));
	n->arg[i] = tok_bytes(&t, &n->arglen[i]);
	if (!n->arg[i])
		return -ENOMEM;
	return check_arg(p, a, &t, &n->arg[i], &n->arglen[i]);
}

/* ---- keys ---- */

static int parse_key(struct parser *p, unsigned depth, struct node **out);

/* Keys up to ")" (closing) or the end; at least one. */
static int parse_list(struct parser *p, unsigned depth, bool closing, struct node **out)
{
	struct node **tail = out;
	struct tok t;
	size_t save;
	int rc;

	*out = NULL;
	for (;;) {
		save = p->pos;
		rc = next_token(p, &t);
		if (rc)
			return rc;
		if (t.kind == T_END || t.kind == T_CLOSE) {
			if ((t.kind == T_CLOSE) != closing)
				return refuse(p, closing ? "unbalanced \"(\"" : "unbalanced \")\"");
			if (!*out)
				return refuse(p, closing ? "empty parentheses" : "no search key");
			return 0;
		}
		p->pos = save;
		rc = parse_key(p, depth, tail);
		if (rc)
			return rc;
		tail = &(*tail)->next;
	}
}

static const struct keydef *find_key(const struct tok *t)
{
	for (size_t i = 0; i < sizeof keydefs / sizeof keydefs[0]; i++)
		if (strlen(keydefs[i].name) == t->len &&
		    strncasecmp(keydefs[i].name, t->p, t->len) == 0)
			return &keydefs[i];
	return NULL;
}

static int parse_named(struct parser *p, unsigned depth, const struct tok *t, struct node *n)
{
	const struct keydef *d;
	int rc;

	if (t->len == 3 && strncasecmp(t->p, "NOT", 3) == 0) {
		n->kind = N_NOT;
		return parse_key(p, depth + 1, &n->kids);
	}
	if (t->len == 2 && strncasecmp(t->p, "OR", 2) == 0) {
		n->kind = N_OR;
		rc = parse_key(p, depth + 1, &n->kids);
		return rc ? rc : parse_key(p, depth + 1, &n->kids->next);
	}
	if ((t->p[0] >= '0' && t->p[0] <= '9') || t->p[0] == '*')
		d = &seqset_key;
	else if (t->len == 1 && t->p[0] == '$')
		return refuse(p, "\"$\" (a saved search result) is not supported");
	else if (t->len == 7 && strncasecmp(t->p, "CHARSET", 7) == 0)
		return refuse(p, "CHARSET is not to be given: imapfs sends CHARSET UTF-8");
	else if (!(d = find_key(t)))
		return refuse(p, "unknown search key \"%.*s\"", shown(t), t->p);
	n->kind = N_KEY;
	n->def = d;
	p->needs |= d->needs;
	if (d == &seqset_key) {
		struct tok st = *t;

		n->arg[0] = tok_bytes(&st, &n->arglen[0]);
		if (!n->arg[0])
			return -ENOMEM;
		return check_arg(p, A_SEQSET, &st, &n->arg[0], &n->arglen[0]);
	}
	if (d->a1 != A_NONE && (rc = parse_arg(p, d, d->a1, n, 0)))
		return rc;
	if (d->a2 != A_NONE && (rc = parse_arg(p, d, d->a2, n, 1)))
		return rc;
	return 0;
}

static int parse_key(struct parser *p, unsigned depth, struct node **out)
{
	struct node *n;
	struct tok t;
	int rc;

	if (depth > DEPTH_MAX)
		return refuse(p, "nested deeper than %d", DEPTH_MAX);
	rc = next_token(p, &t);
	if (rc)
		return rc;
	if (t.kind == T_END)
		return refuse(p, "a search key is missing at the end");
	if (t.kind == T_CLOSE)
		return refuse(p, "a search key is missing before \")\"");
	if (t.kind == T_QUOTED)
		return refuse(p, "a string where a search key was expected");
	n = calloc(1, sizeof *n);
	if (!n)
		return -ENOMEM;
	*out = n;
	if (t.kind == T_OPEN) {
		n->kind = N_GROUP;
		return parse_list(p, depth + 1, true, &n->kids);
	}
	return parse_named(p, depth, &t, n);
}

int search_keys_parse(const char *name, size_t len, struct search_keys **out, char *why,
		      size_t whylen)
{
	struct parser p = { name, len, 0, why, whylen, 0 };
	struct search_keys *k;
	int rc;

	*out = NULL;
	if (whylen)
		why[0] = '\0';
	k = calloc(1, sizeof *k);
	if (!k)
		return -ENOMEM;
	rc = check_text(&p);
	if (rc == 0)
		rc = parse_list(&p, 0, false, &k->first);
	if (rc) {
		search_keys_free(k);
		if (rc == -ENOMEM && whylen)
			snprintf(why, whylen, "out of memory");
		return rc;
	}
	k->needs = p.needs;
	*out = k;
	return 0;
}

unsigned search_keys_needs(const struct search_keys *k)
{
	return k->needs;
}

/* ---- writing ---- */

struct writer {
	search_keys_emit_fn *fn;
	void *ud;
	bool literals;
	bool space;      /* a space goes before the next token */
};

static int w_text(struct writer *w, const char *s, size_t n)
{
	int rc = 0;

	if (w->space)
		rc = w->fn(w->ud, " ", 1, false);
	w->space = true;
	return rc ? rc : w->fn(w->ud, s, n, false);
}

static bool ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static int w_string(struct writer *w, const char *s, size_t n)
{
	struct buf b = { 0 };
	int rc;

	if (!ascii(s, n) && w->literals) {
		rc = w->space ? w->fn(w->ud, " ", 1, false) : 0;
		w->space = true;
		return rc ? rc : w->fn(w->ud, s, n, true);
	}
	/* Controls were refused at parse time; only " and \ need escapes. */
	buf_add(&b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_add(&b, "\\", 1);
		buf_add(&b, s + i, 1);
	}
	buf_add(&b, "\"", 1);
	rc = b.oom ? -ENOMEM : w_text(w, b.data, b.len);
	buf_free(&b);
	return rc;
}

static int w_arg(struct writer *w, enum argt a, const char *s, size_t n)
{
	return a == A_STRING || a == A_FIELD ? w_string(w, s, n) : w_text(w, s, n);
}

static int w_nodes(struct writer *w, const struct node *n, bool all);

static int w_node(struct writer *w, const struct node *n)
{
	int rc;

	switch (n->kind) {
	case N_NOT:
		rc = w_text(w, "NOT", 3);
		return rc ? rc : w_nodes(w, n->kids, false);
	case N_OR:
		rc = w_text(w, "OR", 2);
		return rc ? rc : w_nodes(w, n->kids, true);
	case N_GROUP:
		rc = w_text(w, "(", 1);
		w->space = false;
		if (!rc)
			rc = w_nodes(w, n->kids, true);
		w->space = false;
		return rc ? rc : w_text(w, ")", 1);
	case N_KEY:
		if (n->def == &seqset_key)
			return w_text(w, n->arg[0], n->arglen[0]);
		rc = w_text(w, n->def->name, strlen(n->def->name));
		if (!rc && n->def->a1 != A_NONE)
			rc = w_arg(w, n->def->a1, n->arg[0], n->arglen[0]);
		if (!rc && n->def->a2 != A_NONE)
			rc = w_arg(w, n->def->a2, n->arg[1], n->arglen[1]);
		return rc;
	}
	return 0;
}

/* all: n and its siblings; else n alone. */
static int w_nodes(struct writer *w, const struct node *n, bool all)
{
	int rc = 0;

	for (; n && !rc; n = all ? n->next : NULL)
		rc = w_node(w, n);
	return rc;
}

int search_keys_write(const struct search_keys *k, bool literals, search_keys_emit_fn *fn,
		      void *ud)
{
	struct writer w = { fn, ud, literals, false };

	return w_nodes(&w, k->first, true);
}

static int to_buf(void *ud, const char *data, size_t len, bool literal)
{
	struct buf *b = ud;

	(void)literal;
	buf_add(b, data, len);
	return b->oom ? -ENOMEM : 0;
}

char *search_keys_text(const struct search_keys *k)
{
	struct buf b = { 0 };

	if (search_keys_write(k, false, to_buf, &b)) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}
