// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The part tree from BODYSTRUCTURE (RFC 3501 7.4.2, and "body" in 9).
 * Fields are read by position and every one is checked for its type: a
 * server may be broken or hostile, and any field that is not what the
 * grammar says is read as missing. Strings live in one arena per tree,
 * which the tree releases with itself, so parts can point into it.
 */
#include "bodystructure.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "names.h"

/* A mount keeps thousands of trees, most of them a few hundred bytes. */
#define STRINGS_FIRST 256

struct builder {
	struct part_tree *t;
	struct arena *strings;  /* the tree's, released with it */
	bool oom;
};

/* Positions in a non-multipart body (RFC 3501 9 "body-type-1part"). */
enum {
	F_TYPE, F_SUBTYPE, F_PARAMS, F_ID, F_DESC, F_ENCODING, F_SIZE,
	F_EXT,                 /* first field after body-fields */
};

static char *b_strndup(struct builder *b, const char *s, size_t len)
{
	char *d = arena_strndup(b->strings, s, len);

	if (d == NULL)
		b->oom = true;
	return d;
}

static char *b_strdup(struct builder *b, const char *s)
{
	return s ? b_strndup(b, s, strlen(s)) : NULL;
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
static const char *token_at(struct builder *b, const struct imap_arg *items, size_t n, size_t i)
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
	d = b_strndup(b, s, k);
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

/* A new part numbered number under parent, or 0 (no room, or out of memory). */
static size_t new_part(struct builder *b, size_t parent, size_t number)
{
	const char *up = part_tree_get(b->t, parent)->section, *section;
	char sec[16 * (PART_MAX_DEPTH + 1)];
	size_t idx;

	if (!part_tree_room(b->t, parent))
		return 0;
	if (*up == '\0')
		snprintf(sec, sizeof(sec), "%zu", number);
	else
		snprintf(sec, sizeof(sec), "%s.%zu", up, number);
	section = b_strdup(b, sec);
	if (section == NULL)
		return 0;
	idx = part_tree_add(b->t, parent, section);
	if (idx == 0)
		b->oom = true;
	return idx;
}

static void build(struct builder *b, size_t idx, const struct imap_arg *body);

/* bodies[0..n) become the parts numbered 1..n under idx. */
static void add_children(struct builder *b, size_t idx, const struct imap_arg *bodies, size_t n)
{
	size_t i, c;

	for (i = 0; i < n && !b->oom; i++) {
		c = new_part(b, idx, i + 1);
		if (c == 0)
			return;
		build(b, c, &bodies[i]);
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

static void build_multipart(struct builder *b, size_t idx, const struct imap_arg *it, size_t n)
{
	size_t k = leading_lists(it, n);
	const char *sub = token_at(b, it, n, k);
	struct mime_part *p = part_tree_edit(b->t, idx);

	p->type = "multipart";
	p->subtype = sub ? sub : "mixed";
	p->is_multipart = true;
	add_children(b, idx, it, k);
}

/* The fields every non-multipart body has; a type without subtype is no type. */
static void describe(struct builder *b, size_t idx, const struct imap_arg *it, size_t n,
		     const struct mime_param *tp, size_t ntp)
{
	const char *type = token_at(b, it, n, F_TYPE), *sub = token_at(b, it, n, F_SUBTYPE);
	struct mime_part *p = part_tree_edit(b->t, idx);
	uint64_t size;

	if (type != NULL && sub != NULL) {
		p->type = type;
		p->subtype = sub;
	}
	p->charset = b_strdup(b, param_value(tp, ntp, "charset"));
	p->encoding = mime_encoding_of(str_at(it, n, F_ENCODING));
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

static char *format_addr(struct builder *b, const char *name, const char *mbox,
			 const char *host)
{
	size_t len = strlen(mbox) + strlen(host) + (name ? strlen(name) : 0) + 5;
	char *s = arena_alloc(b->strings, len);

	if (s == NULL)
		b->oom = true;
	else if (name != NULL && *name != '\0')
		snprintf(s, len, "%s <%s@%s>", name, mbox, host);
	else
		snprintf(s, len, "%s@%s", mbox, host);
	return s;
}

/* "Name <mbox@host>" or "mbox@host" of the first address; group markers
 * (no host) are skipped. */
static const char *first_address(struct builder *b, const struct imap_arg *from)
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
			return format_addr(b, str_at(a->items, a->len, 0), mbox, host);
	}
	return NULL;
}

/* envelope: (date subject from sender reply-to to cc bcc in-reply-to message-id) */
static void build_message(struct builder *b, size_t idx, const struct imap_arg *env,
			  const struct imap_arg *inner)
{
	struct mime_part *p = part_tree_edit(b->t, idx);
	const struct imap_arg *it;
	size_t n;

	p->is_message = true;
	if (imap_arg_list(env, &it, &n)) {
		p->env_subject = b_strdup(b, str_at(it, n, 1));
		p->env_from = first_address(b, list_at(it, n, 2));
		p->env_message_id = b_strdup(b, str_at(it, n, 9));
	}
	/* IMAP numbers an embedded multipart's parts directly under S. */
	if (inner->items[0].type == IMAP_ARG_LIST)
		add_children(b, idx, inner->items, leading_lists(inner->items, inner->len));
	else
		add_children(b, idx, inner, 1);
}

static void build_leaf(struct builder *b, size_t idx, const struct imap_arg *it, size_t n,
		       const struct mime_param *tp, size_t ntp)
{
	struct mime_part *p = part_tree_edit(b->t, idx);
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
	p->filename = b_strdup(b, name);
	free(name);
	return;
fail:
	b->oom = true;
}

static void build_single(struct builder *b, size_t idx, const struct imap_arg *it, size_t n)
{
	const struct imap_arg *inner;
	struct mime_param *tp;
	size_t ntp;

	if (params_of(list_at(it, n, F_PARAMS), &tp, &ntp) < 0) {
		b->oom = true;
		return;
	}
	describe(b, idx, it, n, tp, ntp);
	inner = embedded_body(part_tree_get(b->t, idx), it, n);
	if (inner != NULL)
		build_message(b, idx, list_at(it, n, F_EXT), inner);
	else
		build_leaf(b, idx, it, n, tp, ntp);
	free(tp);
}

static void build(struct builder *b, size_t idx, const struct imap_arg *body)
{
	const struct imap_arg *it = NULL;
	size_t n = 0;

	/* Not a list, or an empty one: a part we know nothing about. */
	if (!imap_arg_list(body, &it, &n) || n == 0)
		build_single(b, idx, NULL, 0);
	else if (it[0].type == IMAP_ARG_LIST)
		build_multipart(b, idx, it, n);
	else
		build_single(b, idx, it, n);
}

/* Index 0 takes a single-part body's type too, and the body is part "1". */
static void build_root(struct builder *b, const struct imap_arg *bs)
{
	const struct imap_arg *it = bs->items;
	struct mime_param *tp;
	size_t n = bs->len, ntp;

	if (n > 0 && it[0].type == IMAP_ARG_LIST) {
		build_multipart(b, 0, it, n);
		return;
	}
	if (params_of(list_at(it, n, F_PARAMS), &tp, &ntp) < 0) {
		b->oom = true;
		return;
	}
	describe(b, 0, it, n, tp, ntp);
	free(tp);
	add_children(b, 0, bs, 1);
}

static void release_strings(void *strings)
{
	arena_free(strings);
}

struct part_tree *bodystructure_tree(const struct imap_arg *bs, char *err, size_t errlen)
{
	struct builder b = { 0 };

	if (bs == NULL || bs->type != IMAP_ARG_LIST) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "BODYSTRUCTURE is not a list");
		return NULL;
	}
	b.strings = arena_new(STRINGS_FIRST);
	b.t = b.strings ? part_tree_new(b.strings, release_strings) : NULL;
	if (b.t == NULL)
		arena_free(b.strings);
	else
		build_root(&b, bs);
	if (b.t != NULL && !b.oom) {
		part_tree_fit(b.t);
		return b.t;
	}
	part_tree_free(b.t);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "out of memory");
	return NULL;
}
