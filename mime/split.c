// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * split — cuts a part out of a whole message the way Dovecot's message
 * parser (lib-mail/message-parser.c) does, so that serving BODY[section]
 * locally gives the bytes the server would have sent.
 *
 * Cutting each multipart on its own boundary is not enough: Dovecot matches
 * a delimiter line by prefix against every boundary still open, the longest
 * one winning, so a line can end an enclosing part, and a part's extent
 * depends on the parts before it. So the whole message is parsed once, in
 * the same order and with the same rules, into a list of parts with their
 * header and body offsets; the tree from BODYSTRUCTURE only picks which
 * part is wanted, and any disagreement between the two gives -1.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"

#define NONE SIZE_MAX
#define SPLIT_MAX_NEST 100	/* Dovecot's max_nested_mime_parts */
#define SPLIT_MAX_PARTS 10000	/* Dovecot's max_total_mime_parts */
#define BOUNDARY_MAX 80		/* Dovecot cuts longer boundaries to this */

/* A part as Dovecot's parser sees it: an attached message is a part whose
 * only child is the embedded message, and the top message is part 0. */
struct dpart {
	size_t hdr, body, end;		/* header [hdr, body), body [body, end) */
	size_t first, last, next;	/* children; 0 is never a child, so 0 = none */
	bool multipart, digest, message;
};

struct bnd {
	char s[BOUNDARY_MAX];
	size_t len;
};

/* A "--boundary" line found at line, matching stack[level]. */
struct hit {
	bool found, close;
	size_t line, level;
};

struct parser {
	const unsigned char *raw;
	size_t len;
	struct dpart *parts;
	size_t n, cap;
	struct bnd stack[SPLIT_MAX_NEST];	/* open boundaries, innermost last */
	size_t nb;
	unsigned nest;
	bool fail;
};

struct ctype {
	bool seen, multipart, digest, message;
	char boundary[BOUNDARY_MAX];
	size_t blen;			/* 0: no boundary */
};

/* A cursor over an unfolded header value. */
struct cur {
	char *p, *e;
};

static bool ci_eq(const char *a, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++) {
		char c = a[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return false;
	}
	return true;
}

/* ---- lines and boundaries ------------------------------------------------ */

static size_t line_next(const struct parser *p, size_t pos)
{
	const unsigned char *nl = memchr(p->raw + pos, '\n', p->len - pos);

	return nl ? (size_t)(nl - p->raw) + 1 : p->len;
}

/* The [CR]LF before a boundary line belongs to the line, unless it is
 * before floor (the start of the part being cut). */
static size_t strip_nl(const struct parser *p, size_t line, size_t floor)
{
	size_t e = line;

	if (e > floor && p->raw[e - 1] == '\n') {
		e--;
		if (e > floor && p->raw[e - 1] == '\r')
			e--;
	}
	return e;
}

/* Dovecot compares the boundary against the rest of the input, not only
 * the line: a prefix match, the longest open boundary winning and, among
 * equals, the innermost. */
static bool boundary_at(const struct parser *p, size_t pos, struct hit *h)
{
	size_t rest = p->len - pos, i, best = NONE;
	const unsigned char *d = p->raw + pos + 2;

	if (rest < 2 || d[-2] != '-' || d[-1] != '-')
		return false;
	rest -= 2;
	for (i = p->nb; i-- > 0;) {
		const struct bnd *b = &p->stack[i];

		if (b->len <= rest && memcmp(b->s, d, b->len) == 0 &&
		    (best == NONE || p->stack[best].len < b->len))
			best = i;
	}
	if (best == NONE)
		return false;
	i = p->stack[best].len;
	h->found = true;
	h->line = pos;
	h->level = best;
	h->close = rest >= i + 2 && d[i] == '-' && d[i + 1] == '-';
	return true;
}

/* The first boundary line at or after from (a line start). */
static void find_boundary(const struct parser *p, size_t from, struct hit *h)
{
	size_t pos = from;

	h->found = false;
	if (p->nb == 0)
		return;
	while (pos < p->len) {
		if (boundary_at(p, pos, h))
			return;
		pos = line_next(p, pos);
	}
}

/* ---- Content-Type, as rfc822-parser.c and rfc2231-parser.c read it ------- */

static bool is_token(unsigned char c)
{
	if (c >= 0x80)
		return true;	/* Dovecot takes 8-bit bytes as atext */
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"[]/?=", c) == NULL;
}

/* Skips white space and comments: -1 on an open comment, 0 at the end. */
static int lwsp(struct cur *c)
{
	unsigned depth;

	for (;;) {
		while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' ||
				       *c->p == '\r' || *c->p == '\n'))
			c->p++;
		if (c->p >= c->e)
			return 0;
		if (*c->p != '(')
			return 1;
		for (depth = 0; c->p < c->e; c->p++) {
			if (*c->p == '\\' && c->p + 1 < c->e)
				c->p++;
			else if (*c->p == '(')
				depth++;
			else if (*c->p == ')' && --depth == 0)
				break;
		}
		if (c->p >= c->e)
			return -1;
		c->p++;
	}
}

static int token(struct cur *c, char **s, size_t *n)
{
	*s = c->p;
	while (c->p < c->e && is_token((unsigned char)*c->p))
		c->p++;
	*n = (size_t)(c->p - *s);
	return lwsp(c);
}

/* Unescapes in place: the value is never longer than its quoted form. */
static int quoted(struct cur *c, char **s, size_t *n)
{
	char *w = c->p;

	*s = w;
	for (c->p++; c->p < c->e; c->p++) {
		if (*c->p == '"') {
			c->p++;
			*n = (size_t)(w - *s);
			return lwsp(c);
		}
		if (*c->p == '\\' && ++c->p >= c->e)
			break;
		*w++ = *c->p;
	}
	return -1;
}

/* One "; key=value": 1, 0 at the end, -1 on bad input. */
static int param(struct cur *c, char **k, size_t *kn, char **v, size_t *vn)
{
	int r;

	*vn = 0;
	*v = c->p;
	if (c->p >= c->e)
		return 0;
	if (*c->p != ';')
		return -1;
	c->p++;
	if (lwsp(c) <= 0 || token(c, k, kn) <= 0 || *c->p != '=')
		return -1;
	c->p++;
	r = lwsp(c);
	if (r <= 0) {
		/* no value */
	} else if (*c->p == '"') {
		r = quoted(c, v, vn);
	} else if (*c->p == '=') {
		/* Dovecot's workaround for name==?utf-8?b?...?= */
		*v = c->p;
		while (c->p < c->e && !strchr("; \t\r\n", *c->p))
			c->p++;
		*vn = (size_t)(c->p - *v);
	} else {
		r = token(c, v, vn);
	}
	return r < 0 ? -1 : 1;
}

/* Dovecot takes the first plain boundary; a boundary only in RFC 2231
 * pieces would be merged by rules not worth copying: -1. */
static int ctype_params(struct cur *c, struct ctype *ct)
{
	bool starred = false;
	char *k, *v;
	size_t kn, vn;
	int r;

	while ((r = param(c, &k, &kn, &v, &vn)) != 0) {
		if (r < 0) {
			/* Dovecot skips a byte and tries again */
			if (c->p >= c->e)
				break;
			c->p++;
			continue;
		}
		if (ci_eq(k, kn, "boundary") && ct->blen == 0) {
			if (vn == 0)
				return -1;	/* every "--" line would match */
			ct->blen = vn < BOUNDARY_MAX ? vn : BOUNDARY_MAX;
			memcpy(ct->boundary, v, ct->blen);
		} else if (kn >= 9 && ci_eq(k, 9, "boundary*")) {
			starred = true;
		}
	}
	return ct->blen == 0 && starred ? -1 : 0;
}

/*
 * type/subtype and the boundary. Dovecot versions differ on junk after the
 * subtype or an empty subtype (some still read the parameters), so those
 * give -1 for the types whose reading matters here, rather than a guess.
 */
static int ctype_parse(char *v, size_t n, struct ctype *ct)
{
	struct cur c = { v, v + n };
	char *t, *s;
	size_t tn, sn;
	bool msg, multi;
	int r;

	if (lwsp(&c) <= 0 || token(&c, &t, &tn) <= 0 || tn == 0 || *c.p != '/')
		return 0;
	c.p++;
	if (lwsp(&c) <= 0)
		return 0;
	r = token(&c, &s, &sn);
	msg = ci_eq(t, tn, "message") && ci_eq(s, sn, "rfc822");
	multi = ci_eq(t, tn, "multipart");
	if (r < 0 || sn == 0 || (r > 0 && *c.p != ';'))
		return msg || multi ? -1 : 0;
	ct->message = msg;
	if (!multi)
		return 0;
	ct->multipart = true;
	ct->digest = ci_eq(s, sn, "digest");
	return ctype_params(&c, ct);
}

/* The field's value after the colon, line ends removed. */
static int content_type(struct parser *p, size_t from, size_t to, struct ctype *ct)
{
	char *v = malloc(to - from + 1);
	size_t i, n = 0;
	int r;

	if (v == NULL)
		return -1;
	for (i = from; i < to; i++) {
		unsigned char c = p->raw[i];

		if (c == '\n' || (c == '\r' && i + 1 < to && p->raw[i + 1] == '\n'))
			continue;
		v[n++] = (char)c;
	}
	r = ctype_parse(v, n, ct);
	free(v);
	return r;
}

/* ---- headers ---------------------------------------------------------------- */

/* A field runs over its continuation lines; *nl is its last line end's size. */
static size_t field_end(const struct parser *p, size_t pos, size_t *nl)
{
	size_t e = line_next(p, pos);

	while (e < p->len && (p->raw[e] == ' ' || p->raw[e] == '\t'))
		e = line_next(p, e);
	*nl = 0;
	if (e > pos && p->raw[e - 1] == '\n')
		*nl = e - 1 > pos && p->raw[e - 2] == '\r' ? 2 : 1;
	return e;
}

static int header_field(struct parser *p, size_t s, size_t e, struct ctype *ct, bool *mime)
{
	size_t line_end = line_next(p, s), colon, name_end;
	const unsigned char *c = memchr(p->raw + s, ':', line_end - s);

	if (c == NULL)
		return 0;
	colon = (size_t)(c - p->raw);
	for (name_end = colon; name_end > s && (p->raw[name_end - 1] == ' ' ||
						p->raw[name_end - 1] == '\t');)
		name_end--;
	if (ci_eq((const char *)p->raw + s, name_end - s, "mime-version")) {
		*mime = true;
	} else if (ci_eq((const char *)p->raw + s, name_end - s, "content-type")) {
		*mime = true;	/* Dovecot is not strict about MIME-Version */
		if (ct->seen)
			return 0;	/* the first one counts */
		ct->seen = true;
		return content_type(p, colon + 1, e, ct);
	}
	return 0;
}

/*
 * Reads the header block of part idx. True when it ends with an empty line;
 * false when it runs to the end or a boundary line cuts it (h->found), which
 * takes the line end before it, as in Dovecot.
 */
static bool parse_header(struct parser *p, size_t idx, struct ctype *ct, bool *mime,
			 struct hit *h)
{
	size_t pos = p->parts[idx].hdr, prev_nl = 0, e;
	const unsigned char *r = p->raw;

	h->found = false;
	for (;;) {
		if (pos >= p->len) {
			p->parts[idx].body = p->len;
			return false;
		}
		if (boundary_at(p, pos, h)) {
			p->parts[idx].body = pos - prev_nl;
			return false;
		}
		if (r[pos] == '\n' || (r[pos] == '\r' && pos + 1 < p->len && r[pos + 1] == '\n')) {
			p->parts[idx].body = line_next(p, pos);
			return true;
		}
		e = field_end(p, pos, &prev_nl);
		if (header_field(p, pos, e, ct, mime) < 0) {
			p->fail = true;
			return false;
		}
		pos = e;
	}
}

/* ---- parts ------------------------------------------------------------------ */

static size_t new_part(struct parser *p, size_t parent, size_t pos)
{
	struct dpart *d;

	if (p->n >= SPLIT_MAX_PARTS)
		goto fail;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct dpart *np = realloc(p->parts, cap * sizeof(*np));

		if (np == NULL)
			goto fail;
		p->parts = np;
		p->cap = cap;
	}
	d = &p->parts[p->n];
	memset(d, 0, sizeof(*d));
	d->hdr = d->body = d->end = pos;
	if (parent != NONE) {
		if (p->parts[parent].last)
			p->parts[p->parts[parent].last].next = p->n;
		else
			p->parts[parent].first = p->n;
		p->parts[parent].last = p->n;
	}
	return p->n++;
fail:
	p->fail = true;
	return NONE;
}

static size_t parse_entity(struct parser *p, size_t parent, size_t pos, bool mime,
			   struct hit *h);

static void parse_leaf(struct parser *p, size_t idx, struct hit *h)
{
	size_t body = p->parts[idx].body;

	find_boundary(p, body, h);
	p->parts[idx].end = h->found ? strip_nl(p, h->line, body) : p->len;
}

static void parse_message(struct parser *p, size_t idx, struct hit *h)
{
	size_t c = parse_entity(p, idx, p->parts[idx].body, false, h);

	if (c != NONE)
		p->parts[idx].end = p->parts[c].end;
}

/* After the close delimiter: the epilogue, up to an enclosing boundary. */
static void parse_epilogue(struct parser *p, size_t idx, struct hit *h)
{
	size_t from = line_next(p, h->line);

	find_boundary(p, from, h);
	p->parts[idx].end = h->found ? strip_nl(p, h->line, from) : p->len;
}

/*
 * The body of a multipart: preamble, then a part after each delimiter line.
 * A boundary of an enclosing multipart ends this one too, and is passed up.
 */
static void parse_multipart(struct parser *p, size_t idx, const struct ctype *ct,
			    struct hit *h)
{
	size_t level = p->nb, body = p->parts[idx].body, next;

	memcpy(p->stack[level].s, ct->boundary, ct->blen);
	p->stack[level].len = ct->blen;
	p->nb++;
	find_boundary(p, body, h);
	while (h->found && h->level == level && !p->fail) {
		if (h->close) {
			p->nb = level;
			parse_epilogue(p, idx, h);
			return;
		}
		p->nb = level + 1;
		next = line_next(p, h->line);
		if (p->raw[next - 1] != '\n') {
			h->found = false;	/* no line end: no part follows */
			break;
		}
		if (parse_entity(p, idx, next, true, h) == NONE)
			return;
	}
	if (!h->found) {
		p->parts[idx].end = p->len;
		return;
	}
	p->nb = h->level + 1;
	p->parts[idx].end = strip_nl(p, h->line, body);
}

/*
 * One entity: header, then a body read as its Content-Type says. mime: a
 * part of a multipart, whose Content-Type counts without MIME-Version.
 */
static size_t parse_entity(struct parser *p, size_t parent, size_t pos, bool mime,
			   struct hit *h)
{
	struct ctype ct = { 0 };
	size_t idx = new_part(p, parent, pos);
	struct dpart *d;
	bool digest_child = parent != NONE && p->parts[parent].digest;

	if (idx == NONE)
		return NONE;
	if (p->nest >= SPLIT_MAX_NEST) {
		p->fail = true;
		return NONE;
	}
	p->nest++;
	if (!parse_header(p, idx, &ct, &mime, h)) {
		/* no empty line: no body, and not a multipart either */
		p->parts[idx].end = p->parts[idx].body;
		goto out;
	}
	d = &p->parts[idx];
	if (!mime || !ct.seen) {
		/* RFC 2046: a digest's parts default to message/rfc822 */
		d->message = digest_child;
	} else {
		d->message = ct.message;
		d->multipart = ct.multipart && ct.blen > 0;
		d->digest = d->multipart && ct.digest;
	}
	if (d->multipart)
		parse_multipart(p, idx, &ct, h);
	else if (d->message)
		parse_message(p, idx, h);
	else
		parse_leaf(p, idx, h);
out:
	p->nest--;
	return p->fail ? NONE : idx;
}

/* ---- from IMAP sections to parts --------------------------------------------- */

/*
 * The parts IMAP numbers 1, 2... under dp: a multipart's parts; for an
 * attached message, its embedded message's parts, or the embedded message
 * itself when single-part. top: dp is the top message standing for itself
 * (section ""), whose single-part body is section 1: the message again.
 */
static size_t imap_children(const struct parser *p, size_t dp, bool top, size_t *first)
{
	const struct dpart *d = &p->parts[dp];
	size_t n = 0, c;

	*first = d->first;
	if (top && !d->multipart) {
		*first = dp;
		return 1;
	}
	if (d->message && d->first) {
		if (!p->parts[d->first].multipart)
			return 1;
		*first = p->parts[d->first].first;
	} else if (!d->multipart) {
		return 0;
	}
	for (c = *first; c; c = p->parts[c].next)
		n++;
	if (n == 0 && p->parts[dp].multipart) {
		/* Dovecot shows a multipart without parts as having one empty part */
		*first = NONE;
		return 1;
	}
	return n;
}

static size_t tree_children(const struct part_tree *t, size_t idx)
{
	size_t i, n = 0, count = part_tree_count(t);
	unsigned depth = part_tree_get(t, idx)->depth;

	for (i = idx + 1; i < count && part_tree_get(t, i)->depth > depth; i++)
		if (part_tree_get(t, i)->parent == idx)
			n++;
	return n;
}

static bool number_of(const char *s, size_t *k)
{
	size_t v = 0;

	if (s == NULL || *s < '1' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(*s - '0');
	}
	*k = v;
	return *s == '\0';
}

/* The parts from 0 down to part, in path[0..*n). */
static bool tree_path(const struct part_tree *t, size_t part, size_t *path, size_t *n)
{
	size_t i = part, len = 0, j;

	for (;;) {
		if (len > PART_MAX_DEPTH + 1)
			return false;
		path[len++] = i;
		if (i == 0)
			break;
		j = part_tree_get(t, i)->parent;
		if (j >= i)
			return false;	/* not depth-first: no cycles */
		i = j;
	}
	for (i = 0; i < len / 2; i++) {
		j = path[i];
		path[i] = path[len - 1 - i];
		path[len - 1 - i] = j;
	}
	*n = len;
	return true;
}

/* The parsed part that is tree part path[n - 1], checked on the way down. */
static size_t resolve(const struct parser *p, const struct part_tree *t, const size_t *path,
		      size_t n, bool *empty)
{
	bool truncated = part_tree_count(t) > PART_MAX_PARTS;
	size_t i, dp = 0, k, c, count, have;
	const struct mime_part *tp;

	if (part_tree_get(t, 0)->is_multipart != p->parts[0].multipart)
		return NONE;
	for (i = 1; i < n; i++) {
		tp = part_tree_get(t, path[i]);
		count = imap_children(p, dp, i == 1, &c);
		have = tree_children(t, path[i - 1]);
		if (!number_of(tp->dirname, &k) || k > count ||
		    (have != count && !(truncated && have < count)))
			return NONE;
		if (c == NONE) {
			/* the empty part: a leaf, cut at its multipart's body */
			if (i + 1 < n || tp->is_multipart || tp->is_message)
				return NONE;
			*empty = true;
			return dp;
		}
		while (--k > 0)
			c = p->parts[c].next;
		dp = c;
		if (tp->is_multipart != p->parts[dp].multipart ||
		    (tp->is_message && !(p->parts[dp].message && p->parts[dp].first)))
			return NONE;
	}
	return dp;
}

int mime_split(const char *raw, size_t len, const struct part_tree *t, size_t part,
	       enum mime_split_what what, size_t *off, size_t *out_len)
{
	struct parser p = { .raw = (const unsigned char *)raw, .len = len };
	size_t path[PART_MAX_DEPTH + 2], n, dp;
	const struct dpart *d;
	struct hit h;
	bool empty = false;
	int ret = -1;

	if ((raw == NULL && len > 0) || t == NULL || part >= part_tree_count(t) ||
	    !tree_path(t, part, path, &n))
		return -1;
	if (parse_entity(&p, NONE, 0, false, &h) == NONE || p.fail)
		goto out;
	dp = resolve(&p, t, path, n, &empty);
	if (dp == NONE)
		goto out;
	d = &p.parts[dp];
	if (what == MIME_SPLIT_BODY) {
		*off = d->body;
		*out_len = empty ? 0 : d->end - d->body;
	} else if (!empty && (part == 0 || part_tree_get(t, part)->is_message)) {
		if (part != 0)
			d = &p.parts[d->first];
		*off = d->hdr;
		*out_len = d->body - d->hdr;
	} else {
		goto out;	/* only messages have a HEADER section */
	}
	ret = 0;
out:
	free(p.parts);
	return ret;
}
