// SPDX-License-Identifier: GPL-2.0-or-later
#include "imap_search.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"

/* ---- the command ---- */

struct span {
	size_t off, len;
	bool literal;
};

struct cmd {
	struct buf bytes;      /* every piece's bytes, one after the other */
	struct span *spans;
	size_t n, cap;
};

static int add_span(void *ud, const char *data, size_t len, bool literal)
{
	struct cmd *m = ud;

	if (m->n && !literal && !m->spans[m->n - 1].literal) {
		m->spans[m->n - 1].len += len;
	} else {
		if (m->n == m->cap) {
			size_t cap = m->cap ? 2 * m->cap : 8;
			struct span *s = realloc(m->spans, cap * sizeof *s);

			if (!s)
				return -ENOMEM;
			m->spans = s;
			m->cap = cap;
		}
		m->spans[m->n++] = (struct span){ m->bytes.len, len, literal };
	}
	buf_add(&m->bytes, data, len);
	return m->bytes.oom ? -ENOMEM : 0;
}

/* head: the command up to the keys, e.g. "UID SEARCH CHARSET UTF-8 ". */
static int send_search(struct imap_conn *c, const char *head, const struct search_keys *k,
		       imap_untagged_fn *on, void *ud)
{
	struct cmd m = { 0 };
	struct imap_cmd_piece *p = NULL;
	int rc = add_span(&m, head, strlen(head), false);

	if (rc == 0)
		rc = search_keys_write(k, true, add_span, &m);
	if (rc == 0 && !(p = calloc(m.n, sizeof *p)))
		rc = -ENOMEM;
	if (rc == 0) {
		for (size_t i = 0; i < m.n; i++)
			p[i] = (struct imap_cmd_piece){ m.bytes.data + m.spans[i].off,
							m.spans[i].len, m.spans[i].literal };
		rc = imap_conn_cmd_pieces(c, on, ud, p, m.n);
	} else {
		rc = imap_conn_refuse(c, IMAP_ENOMEM, "out of memory");
	}
	free(p);
	free(m.spans);
	buf_free(&m.bytes);
	return rc;
}

/* ---- the answers ---- */

struct search_ctx {
	struct imap_conn *c;
	imap_uids_fn *fn;          /* imap_uid_search */
	imap_mbox_uids_fn *mfn;    /* imap_multisearch */
	void *ud;
	const char *mailbox;       /* imap_multisearch: of the answer being walked */
	bool bad;                  /* an answer to this search was malformed */
};

static bool is_data(const struct imap_resp *r, const char *name)
{
	return r->kind == IMAP_RESP_UNTAGGED && r->status == IMAP_STATUS_NONE && r->name &&
	       strcmp(r->name, name) == 0;
}

/*
 * "(TAG "a3" [MAILBOX "x" UIDVALIDITY n])": whether it names this command
 * (another's answer is not ours), and its mailbox (NULL when none, or one
 * that holds a NUL).
 */
static bool ours(struct search_ctx *ctx, const struct imap_arg *corr, const char **mailbox)
{
	const struct imap_arg *items;
	const char *s;
	char tag[16];
	size_t n, len;
	bool tagged = false;

	*mailbox = NULL;
	if (!imap_arg_list(corr, &items, &n) || n % 2)
		return false;
	imap_conn_tag(ctx->c, tag);
	for (size_t i = 0; i < n; i += 2) {
		if (!imap_arg_astring(&items[i + 1], &s, &len))
			return false;
		if (imap_arg_atom_eq(&items[i], "TAG"))
			tagged = len == strlen(tag) && memcmp(s, tag, len) == 0;
		else if (imap_arg_atom_eq(&items[i], "MAILBOX") && strlen(s) == len)
			*mailbox = s;
	}
	return tagged;
}

static void to_mbox_fn(void *ud, uint32_t first, uint32_t last)
{
	struct search_ctx *ctx = ud;

	ctx->mfn(ctx->ud, ctx->mailbox, first, last);
}

static void walk_hits(struct search_ctx *ctx, const char *set, const char *mailbox)
{
	bool ok;

	if (ctx->mfn) {
		ctx->mailbox = mailbox;
		ok = imap_uid_set_walk(set, to_mbox_fn, ctx);
	} else {
		ok = imap_uid_set_walk(set, ctx->fn, ctx->ud);
	}
	if (!ok)
		ctx->bad = true;
}

/* * ESEARCH [(TAG "x" ...)] [UID] *(name value): ALL's uid-set is the hits
 * (absent when none); MIN, MAX, COUNT, MODSEQ and others are skipped. */
static void on_esearch(struct search_ctx *ctx, const struct imap_resp *r)
{
	const struct imap_arg *a = r->args.items;
	size_t n = r->args.len, i = 0;
	const char *set = NULL, *mailbox = NULL;

	if (n && a[0].type == IMAP_ARG_LIST) {
		if (!ours(ctx, &a[0], &mailbox))
			return;
		i++;
	}
	/* Without UID the numbers are sequence numbers: not what was asked;
	 * a multisearch answer without its mailbox cannot be placed. */
	if (i == n || !imap_arg_atom_eq(&a[i], "UID") || (ctx->mfn && !mailbox)) {
		ctx->bad = true;
		return;
	}
	for (i++; i < n; i += 2) {
		if (i + 1 == n || !imap_arg_atom(&a[i])) {
			ctx->bad = true;
			return;
		}
		if (imap_arg_atom_eq(&a[i], "ALL")) {
			if (set || !(set = imap_arg_atom(&a[i + 1]))) {
				ctx->bad = true;
				return;
			}
		}
	}
	if (set)
		walk_hits(ctx, set, mailbox);
}

static bool uid_of(const struct imap_arg *a, uint32_t *uid)
{
	uint64_t v;

	if (!imap_arg_number(a, &v) || v == 0 || v > UINT32_MAX)
		return false;
	*uid = (uint32_t)v;
	return true;
}

/* * SEARCH n n n [(MODSEQ m)]: checked whole first; consecutive runs joined. */
static void on_search(struct search_ctx *ctx, const struct imap_resp *r)
{
	const struct imap_arg *a = r->args.items;
	size_t n = r->args.len;
	uint32_t uid, first = 0, last = 0;

	if (n && a[n - 1].type == IMAP_ARG_LIST)
		n--;          /* CONDSTORE's (MODSEQ m) */
	for (size_t i = 0; i < n; i++)
		if (!uid_of(&a[i], &uid)) {
			ctx->bad = true;
			return;
		}
	for (size_t i = 0; i < n; i++) {
		uid_of(&a[i], &uid);
		if (first && uid == last + 1 && last != UINT32_MAX) {
			last = uid;
			continue;
		}
		if (first)
			ctx->fn(ctx->ud, first, last);
		first = last = uid;
	}
	if (first)
		ctx->fn(ctx->ud, first, last);
}

static void on_untagged(void *ud, const struct imap_resp *r)
{
	struct search_ctx *ctx = ud;

	if (is_data(r, "ESEARCH"))
		on_esearch(ctx, r);
	else if (is_data(r, "SEARCH") && ctx->fn)
		on_search(ctx, r);
}

/* The keys need nothing the server lacks: IMAP_OK, else refused. */
static int check_needs(struct imap_conn *c, const struct search_keys *k)
{
	unsigned needs = search_keys_needs(k);

	if ((needs & SEARCH_NEEDS_WITHIN) && !imap_conn_has_cap(c, "WITHIN"))
		return imap_conn_refuse(c, IMAP_EBAD, "OLDER/YOUNGER need WITHIN, not offered");
	if ((needs & SEARCH_NEEDS_CONDSTORE) && !imap_conn_has_cap(c, "CONDSTORE"))
		return imap_conn_refuse(c, IMAP_EBAD, "MODSEQ needs CONDSTORE, not offered");
	return IMAP_OK;
}

static int finish(struct imap_conn *c, const struct search_ctx *ctx, int rc)
{
	if (rc == IMAP_OK && ctx->bad) {
		log_msg(LOG_WARNING, "malformed answer to a search: some hits not reported");
		rc = imap_conn_refuse(c, IMAP_EPROTO, "malformed answer to a search");
	}
	return rc;
}

int imap_uid_search(struct imap_conn *c, const struct search_keys *k, imap_uids_fn *fn,
		    void *ud)
{
	struct search_ctx ctx = { c, fn, NULL, ud, NULL, false };
	int rc = check_needs(c, k);

	if (rc)
		return rc;
	rc = send_search(c, imap_conn_has_cap(c, "ESEARCH") ?
				    "UID SEARCH RETURN (ALL) CHARSET UTF-8 " : "UID SEARCH CHARSET UTF-8 ",
			 k, on_untagged, &ctx);
	return finish(c, &ctx, rc);
}

bool imap_multisearch_offered(struct imap_conn *c)
{
	return imap_conn_has_cap(c, "MULTISEARCH");
}

/* RFC 7377 filters that take no mailbox list. */
static bool source_ok(const char *s)
{
	static const char *const ok[] = { "personal", "inboxes", "subscribed", "selected" };

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(s, ok[i]) == 0)
			return true;
	return false;
}

int imap_multisearch(struct imap_conn *c, const char *source_spec, const struct search_keys *k,
		     imap_mbox_uids_fn *fn, void *ud)
{
	struct search_ctx ctx = { c, NULL, fn, ud, NULL, false };
	char head[96];
	int rc;

	if (!source_spec || !source_ok(source_spec))
		return imap_conn_refuse(c, IMAP_EBAD, "unknown search source, not sent");
	if (!imap_multisearch_offered(c))
		return imap_conn_refuse(c, IMAP_EBAD, "MULTISEARCH not offered");
	rc = check_needs(c, k);
	if (rc)
		return rc;
	snprintf(head, sizeof head, "ESEARCH IN (%s) RETURN (ALL) CHARSET UTF-8 ", source_spec);
	rc = send_search(c, head, k, on_untagged, &ctx);
	return finish(c, &ctx, rc);
}
