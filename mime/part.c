// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The part tree from BODYSTRUCTURE (RFC 3501 7.4.2, and "body" in 9).
 * Fields are read by position and every one is checked for its type: a
 * server may be broken or hostile, and any field that is not what the
 * grammar says is read as missing. Strings live in one arena per tree, so
 * a tree is freed in one go and parts can point into it.
 */
#include "part.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

#define CHUNK_FIRST 256
#define CHUNK_MIN 4096

struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

struct part_tree {
	struct mime_part *parts;
	size_t count, cap;
	struct chunk *chunks;
	bool oom;
};

/* Positions in a non-multipart body (RFC 3501 9 "body-type-1part"). */
enum {
	F_TYPE, F_SUBTYPE, F_PARAMS, F_ID, F_DESC, F_ENCODING, F_SIZE,
	F_EXT,                 /* first field after body-fields */
};

static char *arena_strndup(struct part_tree *t, const char *s, size_t len)
{
	struct chunk *c = t->chunks;
	char *d;

	if (c == NULL || c->cap - c->used < len + 1) {
		/* Start small and double: a mount keeps thousands of trees,
		 * most of them a few hundred bytes. */
		size_t want = c == NULL ? CHUNK_FIRST : (c->cap * 2 > CHUNK_MIN ? CHUNK_MIN : c->cap * 2);
		size_t cap = len + 1 > want ? len + 1 : want;

		c = malloc(sizeof(*c) + cap);
		if (c == NULL) {
			t->oom = true;
			return NULL;
		}
		c->cap = cap;
		c->used = 0;
		c->next = t->chunks;
		t->chunks = c;
	}
	d = c->data + c->used;
	memcpy(d, s, len);
	d[len] = '\0';
	c->used += len + 1;
	return d;
}

static char *arena_strdup(struct part_tree *t, const char *s)
{
	return s ? arena_strndup(t, s, strlen(s)) : NULL;
}


/* A string field's text, or NULL for NIL, a list or anything else. */
static const char *str_at(const struct imap_arg *items, size_t n, size_t i)
{
	const char *s;
	size_t len;

	if (i >= n || !imap_arg_astring(&items[i], &s, &len) || memchr(s, '\0', len))
		return NULL;
	return s;
}

static const struct imap_arg *list_at(const struct imap_arg *items, size_t n, size_t i)
{
	return i < n && items[i].type == IMAP_ARG_LIST ? &items[i] : NULL;
}

/* RFC 2045 token: what can be a media type name, lower-cased; else NULL. */
static const char *token_at(struct part_tree *t, const struct imap_arg *items, size_t n, size_t i)
{
	const char *s = str_at(items, n, i);
	char *d;
	size_t k;

	if (s == NULL || *s == '\0')
		return NULL;
	for (k = 0; s[k]; k++)
		if ((unsigned char)s[k] <= ' ' || (unsigned char)s[k] >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=", s[k]))
			return NULL;
	d = arena_strndup(t, s, k);
	for (k = 0; d && d[k]; k++)
		d[k] = mime_ascii_lower(d[k]);
	return d;
}

/*
 * A body-fld-param list as pairs; non-string names or values are skipped.
 * *out is NULL when there are none. -1 only if out of memory.
 */
static int params_of(const struct imap_arg *list, struct mime_param **out, size_t *n)
{
	const struct imap_arg *it;
	size_t len, i;

	*out = NULL;
	*n = 0;
	if (!imap_arg_list(list, &it, &len) || len < 2)
		return 0;
	*out = calloc(len / 2, sizeof(**out));
	if (*out == NULL)
		return -1;
	for (i = 0; i + 1 < len; i += 2) {
		const char *a = str_at(it, len, i), *v = str_at(it, len, i + 1);

		if (a != NULL && v != NULL)
			(*out)[(*n)++] = (struct mime_param){ a, v };
	}
	return 0;
}

static const char *param_value(const struct mime_param *p, size_t n, const char *attr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mime_ascii_eq(p[i].attr, attr))
			return p[i].value;
	return NULL;
}

static enum mime_encoding encoding_of(const char *s)
{
	static const struct {
		const char *name;
		enum mime_encoding enc;
	} names[] = {
		{ "7bit", MIME_ENC_7BIT }, { "8bit", MIME_ENC_7BIT },
		{ "binary", MIME_ENC_7BIT }, { "base64", MIME_ENC_BASE64 },
		{ "quoted-printable", MIME_ENC_QP }, { "x-uuencode", MIME_ENC_UUENCODE },
		{ "x-uue", MIME_ENC_UUENCODE }, { "uuencode", MIME_ENC_UUENCODE },
	};
	size_t i;

	if (s == NULL || *s == '\0')
		return MIME_ENC_7BIT;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mime_ascii_eq(s, names[i].name))
			return names[i].enc;
	return MIME_ENC_OTHER;
}

static size_t new_part(struct part_tree *t, size_t parent, size_t number)
{
	const struct mime_part *pp = &t->parts[parent];
	struct mime_part *p;
	char sec[16 * (PART_MAX_DEPTH + 1)];
	const char *dot;

	if (t->count > PART_MAX_PARTS || pp->depth >= PART_MAX_DEPTH)
		return 0;
	if (*pp->section == '\0')
		snprintf(sec, sizeof(sec), "%zu", number);
	else
		snprintf(sec, sizeof(sec), "%s.%zu", pp->section, number);
	if (t->count == t->cap) {
		size_t cap = t->cap * 2;
		struct mime_part *np = realloc(t->parts, cap * sizeof(*np));

		if (np == NULL) {
			t->oom = true;
			return 0;
		}
		t->parts = np;
		t->cap = cap;
		pp = &t->parts[parent];
	}
	p = &t->parts[t->count];
	memset(p, 0, sizeof(*p));
	p->section = arena_strdup(t, sec);
	if (p->section == NULL)
		return 0;
	dot = strrchr(p->section, '.');
	p->dirname = dot ? dot + 1 : p->section;
	p->parent = parent;
	p->depth = pp->depth + 1;
	p->type = "application";
	p->subtype = "octet-stream";
	return t->count++;
}

static void build(struct part_tree *t, size_t idx, const struct imap_arg *body);

/* bodies[0..n) become the parts numbered 1..n under idx. */
static void add_children(struct part_tree *t, size_t idx, const struct imap_arg *bodies, size_t n)
{
	size_t i, c;

	for (i = 0; i < n && !t->oom; i++) {
		c = new_part(t, idx, i + 1);
		if (c == 0)
			return;
		build(t, c, &bodies[i]);
	}
}

/* A multipart body is its parts (lists), then its subtype and extensions. */
static size_t leading_lists(const struct imap_arg *it, size_t n)
{
	size_t k = 0;

	while (k < n && it[k].type == IMAP_ARG_LIST)
		k++;
	return k;
}

static void build_multipart(struct part_tree *t, size_t idx, const struct imap_arg *it, size_t n)
{
	size_t k = leading_lists(it, n);
	const char *sub = token_at(t, it, n, k);
	struct mime_part *p = &t->parts[idx];

	p->type = "multipart";
	p->subtype = sub ? sub : "mixed";
	p->is_multipart = true;
	add_children(t, idx, it, k);
}

/* The fields every non-multipart body has; a type without subtype is no type. */
static void describe(struct part_tree *t, size_t idx, const struct imap_arg *it, size_t n,
		     const struct mime_param *tp, size_t ntp)
{
	const char *type = token_at(t, it, n, F_TYPE), *sub = token_at(t, it, n, F_SUBTYPE);
	struct mime_part *p = &t->parts[idx];
	uint64_t size;

	if (type != NULL && sub != NULL) {
		p->type = type;
		p->subtype = sub;
	}
	p->charset = arena_strdup(t, param_value(tp, ntp, "charset"));
	p->encoding = encoding_of(str_at(it, n, F_ENCODING));
	if (F_SIZE < n && imap_arg_size(&it[F_SIZE], &size))
		p->size = size;
}

/* The embedded message's body, if this is a message/rfc822 part that has one. */
static const struct imap_arg *embedded_body(const struct mime_part *p, const struct imap_arg *it,
					    size_t n)
{
	const struct imap_arg *body = list_at(it, n, F_EXT + 1);

	if (strcmp(p->type, "message") != 0 ||
	    (strcmp(p->subtype, "rfc822") != 0 && strcmp(p->subtype, "global") != 0))
		return NULL;
	if (F_EXT >= n || (it[F_EXT].type != IMAP_ARG_LIST && it[F_EXT].type != IMAP_ARG_NIL))
		return NULL;
	return body != NULL && body->len > 0 ? body : NULL;
}

/* ("attachment" (params)): the params list, or NULL. */
static const struct imap_arg *disposition_at(const struct imap_arg *it, size_t n, size_t i)
{
	const struct imap_arg *d = list_at(it, n, i);

	if (d == NULL || d->len < 2 || str_at(d->items, d->len, 0) == NULL)
		return NULL;
	return list_at(d->items, d->len, 1);
}

/* Where the disposition is depends on the type: text has a line count
 * first. Some servers leave the count out, so text looks one field early too. */
static const struct imap_arg *disposition_params(const struct mime_part *p,
						 const struct imap_arg *it, size_t n)
{
	const struct imap_arg *d;

	if (strcmp(p->type, "text") != 0)
		return disposition_at(it, n, F_EXT + 1);
	d = disposition_at(it, n, F_EXT + 2);
	return d ? d : disposition_at(it, n, F_EXT + 1);
}

static char *arena_printf_addr(struct part_tree *t, const char *name, const char *mbox,
			       const char *host)
{
	size_t len = strlen(mbox) + strlen(host) + (name ? strlen(name) : 0) + 5;
	char *tmp = malloc(len), *s;

	if (tmp == NULL) {
		t->oom = true;
		return NULL;
	}
	if (name != NULL && *name != '\0')
		snprintf(tmp, len, "%s <%s@%s>", name, mbox, host);
	else
		snprintf(tmp, len, "%s@%s", mbox, host);
	s = arena_strdup(t, tmp);
	free(tmp);
	return s;
}

/* "Name <mbox@host>" or "mbox@host" of the first address; group markers
 * (no host) are skipped. */
static const char *first_address(struct part_tree *t, const struct imap_arg *from)
{
	const struct imap_arg *a;
	const char *mbox, *host;
	size_t i;

	for (i = 0; from != NULL && i < from->len; i++) {
		a = list_at(from->items, from->len, i);
		if (a == NULL)
			continue;
		mbox = str_at(a->items, a->len, 2);
		host = str_at(a->items, a->len, 3);
		if (mbox != NULL && host != NULL)
			return arena_printf_addr(t, str_at(a->items, a->len, 0), mbox, host);
	}
	return NULL;
}

/* envelope: (date subject from sender reply-to to cc bcc in-reply-to message-id) */
static void build_message(struct part_tree *t, size_t idx, const struct imap_arg *env,
			  const struct imap_arg *inner)
{
	struct mime_part *p = &t->parts[idx];
	const struct imap_arg *it;
	size_t n;

	p->is_message = true;
	if (imap_arg_list(env, &it, &n)) {
		p->env_subject = arena_strdup(t, str_at(it, n, 1));
		p->env_from = first_address(t, list_at(it, n, 2));
		p->env_message_id = arena_strdup(t, str_at(it, n, 9));
	}
	/* IMAP numbers an embedded multipart's parts directly under S. */
	if (inner->items[0].type == IMAP_ARG_LIST)
		add_children(t, idx, inner->items, leading_lists(inner->items, inner->len));
	else
		add_children(t, idx, inner, 1);
}

static void build_leaf(struct part_tree *t, size_t idx, const struct imap_arg *it, size_t n,
		       const struct mime_param *tp, size_t ntp)
{
	struct mime_part *p = &t->parts[idx];
	struct mime_param *dp;
	size_t ndp;
	char *name;

	p->is_leaf = true;
	if (params_of(disposition_params(p, it, n), &dp, &ndp) < 0)
		goto fail;
	name = mime_filename(dp, ndp, tp, ntp, p->type, p->subtype);
	free(dp);
	if (name == NULL)
		goto fail;
	p->filename = arena_strdup(t, name);
	free(name);
	return;
fail:
	t->oom = true;
}

static void build_single(struct part_tree *t, size_t idx, const struct imap_arg *it, size_t n)
{
	const struct imap_arg *inner;
	struct mime_param *tp;
	size_t ntp;

	if (params_of(list_at(it, n, F_PARAMS), &tp, &ntp) < 0) {
		t->oom = true;
		return;
	}
	describe(t, idx, it, n, tp, ntp);
	inner = embedded_body(&t->parts[idx], it, n);
	if (inner != NULL)
		build_message(t, idx, list_at(it, n, F_EXT), inner);
	else
		build_leaf(t, idx, it, n, tp, ntp);
	free(tp);
}

static void build(struct part_tree *t, size_t idx, const struct imap_arg *body)
{
	const struct imap_arg *it = NULL;
	size_t n = 0;

	/* Not a list, or an empty one: a part we know nothing about. */
	if (!imap_arg_list(body, &it, &n) || n == 0)
		build_single(t, idx, NULL, 0);
	else if (it[0].type == IMAP_ARG_LIST)
		build_multipart(t, idx, it, n);
	else
		build_single(t, idx, it, n);
}

/* Index 0 takes a single-part body's type too, and the body is part "1". */
static void build_root(struct part_tree *t, const struct imap_arg *bs)
{
	const struct imap_arg *it = bs->items;
	struct mime_param *tp;
	size_t n = bs->len, ntp;

	if (n > 0 && it[0].type == IMAP_ARG_LIST) {
		build_multipart(t, 0, it, n);
		return;
	}
	if (params_of(list_at(it, n, F_PARAMS), &tp, &ntp) < 0) {
		t->oom = true;
		return;
	}
	describe(t, 0, it, n, tp, ntp);
	free(tp);
	add_children(t, 0, bs, 1);
}

struct part_tree *part_tree_new(const struct imap_arg *bs, char *err, size_t errlen)
{
	struct part_tree *t = NULL;

	if (bs == NULL || bs->type != IMAP_ARG_LIST) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "BODYSTRUCTURE is not a list");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto fail;
	t->cap = 4;
	t->parts = calloc(t->cap, sizeof(*t->parts));
	if (t->parts == NULL)
		goto fail;
	t->count = 1;
	t->parts[0].section = "";
	t->parts[0].dirname = "";
	t->parts[0].type = "application";
	t->parts[0].subtype = "octet-stream";
	build_root(t, bs);
	if (t->oom)
		goto fail;
	/* A mount keeps many trees: give back the room not used. */
	if (t->count < t->cap) {
		struct mime_part *fit = realloc(t->parts, t->count * sizeof(*fit));

		if (fit != NULL) {
			t->parts = fit;
			t->cap = t->count;
		}
	}
	return t;
fail:
	part_tree_free(t);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "out of memory");
	return NULL;
}

void part_tree_free(struct part_tree *t)
{
	struct chunk *c, *next;

	if (t == NULL)
		return;
	for (c = t->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(t->parts);
	free(t);
}

size_t part_tree_count(const struct part_tree *t)
{
	return t ? t->count : 0;
}

const struct mime_part *part_tree_get(const struct part_tree *t, size_t index)
{
	return t && index < t->count ? &t->parts[index] : NULL;
}

size_t part_tree_child(const struct part_tree *t, size_t parent, const char *name)
{
	size_t i;

	if (t == NULL || name == NULL || parent >= t->count)
		return 0;
	/* Depth-first order: parent's subtree is the run after it that is deeper. */
	for (i = parent + 1; i < t->count && t->parts[i].depth > t->parts[parent].depth; i++)
		if (t->parts[i].parent == parent && strcmp(t->parts[i].dirname, name) == 0)
			return i;
	return 0;
}

size_t part_tree_find(const struct part_tree *t, const char *section)
{
	size_t i;

	if (t == NULL || section == NULL || *section == '\0')
		return 0;
	for (i = 1; i < t->count; i++)
		if (strcmp(t->parts[i].section, section) == 0)
			return i;
	return 0;
}
