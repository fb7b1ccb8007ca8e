#include "acl.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"

static bool is_data(const struct imap_resp *r, const char *name)
{
	return r->kind == IMAP_RESP_UNTAGGED && r->status == IMAP_STATUS_NONE && r->name &&
	       strcmp(r->name, name) == 0;
}

/* ---- NAMESPACE ---- */

struct ns_ctx {
	imap_ns_fn *fn;
	void *ud;
	bool got;
};

/* One kind's answer: NIL, or a list of (prefix delim extensions...). */
static void ns_kind(struct ns_ctx *ctx, enum imap_ns_kind kind, const struct imap_arg *a)
{
	const struct imap_arg *list, *one;
	size_t n, m, plen, dlen;
	const char *prefix, *d;

	if (!imap_arg_list(a, &list, &n))
		return; /* NIL: none of this kind */
	for (size_t i = 0; i < n; i++) {
		if (!imap_arg_list(&list[i], &one, &m) || m < 2 ||
		    !imap_arg_astring(&one[0], &prefix, &plen) || strlen(prefix) != plen ||
		    !imap_arg_nstring(&one[1], &d, &dlen) || (d && dlen != 1))
			continue;
		ctx->fn(ctx->ud, kind, prefix, d ? d[0] : 0);
	}
}

static void on_namespace(void *ud, const struct imap_resp *r)
{
	struct ns_ctx *ctx = ud;

	if (!is_data(r, "NAMESPACE") || r->args.len < 3)
		return;
	ctx->got = true;
	for (size_t k = 0; k < 3; k++)
		ns_kind(ctx, (enum imap_ns_kind)k, &r->args.items[k]);
}

int imap_namespace(struct imap_conn *c, imap_ns_fn *fn, void *ud)
{
	struct ns_ctx ctx = { .fn = fn, .ud = ud };
	int rc = imap_conn_cmd(c, on_namespace, &ctx, "NAMESPACE");

	if (rc == IMAP_OK && !ctx.got)
		return imap_conn_refuse(c, IMAP_EPROTO, "NAMESPACE answered without its data");
	return rc;
}

/* ---- MYRIGHTS ---- */

struct rights_ctx {
	const char *mailbox;
	char *rights;
	bool got;
};

static void on_myrights(void *ud, const struct imap_resp *r)
{
	struct rights_ctx *ctx = ud;
	const char *name, *v;
	size_t len, vlen, n = 0;

	if (!is_data(r, "MYRIGHTS") || r->args.len < 2 ||
	    !imap_arg_astring(&r->args.items[0], &name, &len) || len != strlen(ctx->mailbox) ||
	    memcmp(name, ctx->mailbox, len) || !imap_arg_astring(&r->args.items[1], &v, &vlen))
		return;
	ctx->got = true;
	/* Only what RFC 4314 rights are made of: the value is shown as is. */
	for (size_t i = 0; i < vlen && n + 1 < IMAP_RIGHTS_MAX; i++)
		if ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9'))
			ctx->rights[n++] = v[i];
	ctx->rights[n] = 0;
}

int imap_myrights(struct imap_conn *c, const char *mailbox, char rights[IMAP_RIGHTS_MAX])
{
	struct rights_ctx ctx = { .mailbox = mailbox, .rights = rights };
	char *q = imap_quote(mailbox);
	int rc;

	rights[0] = 0;
	if (!q)
		return errno == ENOMEM ? IMAP_ENOMEM
				       : imap_conn_refuse(c, IMAP_EBAD, "mailbox name cannot be quoted");
	rc = imap_conn_cmd(c, on_myrights, &ctx, "MYRIGHTS %s", q);
	free(q);
	if (rc == IMAP_OK && !ctx.got)
		return imap_conn_refuse(c, IMAP_EPROTO, "MYRIGHTS answered without its data");
	return rc;
}

/* ---- every namespace's LIST ---- */

/* The most namespaces LISTed by prefix: real servers have a handful, and
 * each costs a LIST at every listing; a server naming thousands would make
 * every listing outrun its deadline. The others are left out. */
#define NS_PREFIXES_MAX 32

struct imap_namespaces {
	pthread_mutex_t lock;
	bool asked;               /* protected by lock; once true, prefixes never change */
	char **prefixes;          /* the non-personal namespaces' (non-empty); NULL-terminated */
	size_t n;
};

struct imap_namespaces *imap_namespaces_new(void)
{
	struct imap_namespaces *ns = calloc(1, sizeof(*ns));

	if (ns)
		pthread_mutex_init(&ns->lock, NULL);
	return ns;
}

static void prefixes_free(char **p)
{
	for (size_t i = 0; p && p[i]; i++)
		free(p[i]);
	free(p);
}

void imap_namespaces_free(struct imap_namespaces *ns)
{
	if (!ns)
		return;
	prefixes_free(ns->prefixes);
	pthread_mutex_destroy(&ns->lock);
	free(ns);
}

struct collect {
	char **p;
	size_t n;
	bool nomem;
};

static void on_ns(void *ud, enum imap_ns_kind kind, const char *prefix, char delim)
{
	struct collect *col = ud;
	char **grown;

	(void)delim; /* each LISTed mailbox brings its own */
	if (kind == IMAP_NS_PERSONAL || !prefix[0] || col->nomem || col->n == NS_PREFIXES_MAX)
		return; /* "" would be "*" again */
	grown = realloc(col->p, (col->n + 2) * sizeof(*grown));
	if (grown)
		col->p = grown;
	if (!grown || !(col->p[col->n] = strdup(prefix))) {
		col->nomem = true;
		return;
	}
	col->p[++col->n] = NULL;
}

/* Asks NAMESPACE once; afterwards ns->prefixes may be read without the lock. */
static int learn(struct imap_namespaces *ns, struct imap_conn *c)
{
	struct collect col = { 0 };
	bool asked;
	int rc = IMAP_OK;

	pthread_mutex_lock(&ns->lock);
	asked = ns->asked;
	pthread_mutex_unlock(&ns->lock);
	if (asked)
		return IMAP_OK;
	if (imap_conn_has_cap(c, "NAMESPACE"))
		rc = imap_namespace(c, on_ns, &col);
	if (rc == IMAP_OK && col.nomem)
		rc = IMAP_ENOMEM;
	/* Refused, or answered with nothing usable on a connection still
	 * sound: "*" alone, as without NAMESPACE (asking again would get the
	 * same, and failing would leave the mount without any mailbox). */
	if (rc == IMAP_ENO || rc == IMAP_EBAD || (rc == IMAP_EPROTO && !imap_conn_broken(c)))
		rc = IMAP_OK;
	pthread_mutex_lock(&ns->lock);
	if (rc == IMAP_OK && !ns->asked) {
		ns->prefixes = col.p;
		ns->n = col.n;
		ns->asked = true;
		col.p = NULL;
	}
	pthread_mutex_unlock(&ns->lock);
	prefixes_free(col.p);
	return rc;
}

bool imap_namespaces_other(struct imap_namespaces *ns, const char *name)
{
	bool other = false;

	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; ns->asked && i < ns->n && !other; i++)
		other = strncmp(name, ns->prefixes[i], strlen(ns->prefixes[i])) == 0;
	pthread_mutex_unlock(&ns->lock);
	return other;
}

struct list_all {
	const struct imap_namespaces *ns;
	bool *hit;                /* per prefix: "*" returned a mailbox in it */
	imap_list_fn *fn;
	void *ud;
};

static void on_mailbox(void *ud, const char *name, char delim, unsigned attrs)
{
	struct list_all *l = ud;

	for (size_t i = 0; i < l->ns->n; i++)
		if (strncmp(name, l->ns->prefixes[i], strlen(l->ns->prefixes[i])) == 0)
			l->hit[i] = true;
	l->fn(l->ud, name, delim, attrs);
}

int imap_list_all(struct imap_namespaces *ns, struct imap_conn *c, imap_list_fn *fn, void *ud)
{
	struct list_all l = { .ns = ns, .fn = fn, .ud = ud };
	int rc = learn(ns, c);
	char *pattern;

	if (rc != IMAP_OK)
		return rc;
	l.hit = calloc(ns->n + 1, sizeof(*l.hit));
	if (!l.hit)
		return IMAP_ENOMEM;
	rc = imap_list(c, on_mailbox, &l);
	for (size_t i = 0; rc == IMAP_OK && i < ns->n; i++) {
		if (l.hit[i])
			continue;
		pattern = malloc(strlen(ns->prefixes[i]) + 2);
		if (!pattern) {
			rc = IMAP_ENOMEM;
			break;
		}
		strcpy(pattern, ns->prefixes[i]);
		strcat(pattern, "*");
		rc = imap_list_pattern(c, pattern, fn, ud);
		free(pattern);
		if (rc == IMAP_ENO || rc == IMAP_EBAD)
			rc = IMAP_OK; /* refused: that namespace shows nothing */
	}
	free(l.hit);
	return rc;
}
