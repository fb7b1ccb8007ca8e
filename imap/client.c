#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quote.h"

/*
 * The partial origin and length are 32-bit numbers in RFC 3501; "everything
 * from offset" is asked for as the largest length the grammar allows, so the
 * server does the slicing and no bytes before offset cross the wire.
 */
#define PARTIAL_MAX 4294967295ULL

/* A mod-sequence is 1..2^63-1 (RFC 7162 7): a larger one from a server is
 * read as none, so it never reaches a CHANGEDSINCE that would be refused. */
#define MODSEQ_MAX 9223372036854775807ULL

/* Characters of an extension name pasted into ENABLE. */
#define EXT_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=."

static bool is_data(const struct imap_resp *r, const char *name)
{
	return r->kind == IMAP_RESP_UNTAGGED && r->status == IMAP_STATUS_NONE && r->name &&
	       strcmp(r->name, name) == 0;
}

/* The item list of "* n FETCH (...)". */
static bool fetch_items(const struct imap_resp *r, const struct imap_arg **items, size_t *n)
{
	if (!is_data(r, "FETCH") || r->args.len < 1)
		return false;
	return imap_arg_list(&r->args.items[0], items, n);
}

static bool arg_u32(const struct imap_arg *a, uint32_t *v)
{
	uint64_t n;

	if (!imap_arg_number(a, &n) || n > UINT32_MAX)
		return false;
	*v = (uint32_t)n;
	return true;
}

/* ---- LIST ---- */

static const struct {
	const char *name;
	unsigned bit;
} mbox_attrs[] = {
	{ "\\Noselect", IMAP_MBOX_NOSELECT },
	{ "\\NonExistent", IMAP_MBOX_NOSELECT },
	{ "\\NoInferiors", IMAP_MBOX_NOINFERIORS },
	{ "\\HasChildren", IMAP_MBOX_HASCHILDREN },
	{ "\\HasNoChildren", IMAP_MBOX_HASNOCHILDREN },
	{ "\\Trash", IMAP_MBOX_TRASH },
	{ "\\Sent", IMAP_MBOX_SENT },
	{ "\\Drafts", IMAP_MBOX_DRAFTS },
	{ "\\Junk", IMAP_MBOX_JUNK },
	{ "\\Archive", IMAP_MBOX_ARCHIVE },
	{ "\\All", IMAP_MBOX_ALL },
	{ "\\Flagged", IMAP_MBOX_FLAGGED },
};

struct list_ctx {
	imap_list_fn *fn;
	void *ud;
};

static unsigned list_attrs(const struct imap_arg *list)
{
	const struct imap_arg *items;
	unsigned attrs = 0;
	size_t n;

	if (!imap_arg_list(list, &items, &n))
		return 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < sizeof mbox_attrs / sizeof mbox_attrs[0]; j++)
			if (imap_arg_atom_eq(&items[i], mbox_attrs[j].name))
				attrs |= mbox_attrs[j].bit;
	return attrs;
}

static void on_list(void *ud, const struct imap_resp *r)
{
	struct list_ctx *ctx = ud;
	const struct imap_arg *args = r->args.items;
	const char *name, *d;
	size_t len, dlen;
	char delim = 0;

	if (!is_data(r, "LIST") || r->args.len < 3 || args[0].type != IMAP_ARG_LIST)
		return;
	if (!imap_arg_nstring(&args[1], &d, &dlen) || (d && dlen != 1))
		return;
	if (d)
		delim = d[0];
	/* A name with a NUL cannot be a C string, nor a file name: not shown. */
	if (!imap_arg_astring(&args[2], &name, &len) || len == 0 || strlen(name) != len)
		return;
	ctx->fn(ctx->ud, name, delim, list_attrs(&args[0]));
}

int imap_list(struct imap_conn *c, imap_list_fn *fn, void *ud)
{
	return imap_list_pattern(c, "*", fn, ud);
}

int imap_list_pattern(struct imap_conn *c, const char *pattern, imap_list_fn *fn, void *ud)
{
	struct list_ctx ctx = { fn, ud };
	char *q = imap_quote(pattern);
	int rc;

	if (!q)
		return errno == ENOMEM ? IMAP_ENOMEM
				       : imap_conn_refuse(c, IMAP_EBAD, "LIST pattern cannot be quoted");
	if (imap_conn_has_cap(c, "SPECIAL-USE"))
		rc = imap_conn_cmd(c, on_list, &ctx, "LIST \"\" %s RETURN (SPECIAL-USE)", q);
	else
		rc = imap_conn_cmd(c, on_list, &ctx, "LIST \"\" %s", q);
	free(q);
	return rc;
}

/* ---- EXAMINE ---- */

static void on_examine(void *ud, const struct imap_resp *r)
{
	struct imap_mailbox_status *st = ud;
	uint64_t v;

	if (is_data(r, "EXISTS") && r->has_number) {
		st->exists = r->number;
		return;
	}
	if (r->kind != IMAP_RESP_UNTAGGED || r->status != IMAP_STATUS_OK || !r->code)
		return;
	/* RFC 7162 3.1.2.2: this mailbox keeps no mod-sequences. */
	if (strcmp(r->code, "NOMODSEQ") == 0) {
		st->highestmodseq = 0;
		return;
	}
	if (r->code_args.len < 1 || !imap_arg_number(&r->code_args.items[0], &v))
		return;
	if (strcmp(r->code, "UIDVALIDITY") == 0 && v <= UINT32_MAX)
		st->uidvalidity = (uint32_t)v;
	else if (strcmp(r->code, "UIDNEXT") == 0 && v <= UINT32_MAX)
		st->uidnext = (uint32_t)v;
	else if (strcmp(r->code, "HIGHESTMODSEQ") == 0)
		st->highestmodseq = v <= MODSEQ_MAX ? v : 0;
}

struct open_ctx {
	struct imap_mailbox_status st;
	imap_untagged_fn *also;
	void *also_ud;
};

static void on_open(void *ud, const struct imap_resp *r)
{
	struct open_ctx *ctx = ud;

	on_examine(&ctx->st, r);
	if (ctx->also)
		ctx->also(ctx->also_ud, r);
}

int imap_open_mailbox(struct imap_conn *c, const char *verb, const char *mailbox,
		      struct imap_mailbox_status *st, imap_untagged_fn *also, void *also_ud)
{
	struct open_ctx ctx = { .also = also, .also_ud = also_ud };
	char *q;
	int rc;

	if (st)
		*st = (struct imap_mailbox_status){ 0 };
	if (!mailbox)
		return imap_conn_refuse(c, IMAP_EBAD, "no mailbox to %s", verb);
	/* Wire names are modified UTF-7, so quoting only fails on a caller bug
	 * (or no memory); nothing was sent, so the selection is unchanged. */
	q = imap_quote(mailbox);
	if (!q)
		return errno == ENOMEM ? IMAP_ENOMEM :
		       imap_conn_refuse(c, IMAP_EBAD, "mailbox name cannot be quoted");
	/* CONDSTORE makes the server report HIGHESTMODSEQ; QRESYNC implies it. */
	if (imap_conn_has_cap(c, "CONDSTORE") || imap_conn_has_cap(c, "QRESYNC"))
		rc = imap_conn_cmd(c, on_open, &ctx, "%s %s (CONDSTORE)", verb, q);
	else
		rc = imap_conn_cmd(c, on_open, &ctx, "%s %s", verb, q);
	free(q);
	if (rc == IMAP_OK)
		rc = imap_conn_set_selected(c, mailbox);
	/* A failed EXAMINE leaves no mailbox selected (RFC 3501 6.3.1); one
	 * that could not be noted must not leave the one before as if it
	 * still were (set_selected(NULL) cannot fail). */
	if (rc != IMAP_OK)
		imap_conn_set_selected(c, NULL);
	if (st && rc == IMAP_OK)
		*st = ctx.st;
	return rc;
}

int imap_examine(struct imap_conn *c, const char *mailbox, struct imap_mailbox_status *st)
{
	return imap_open_mailbox(c, "EXAMINE", mailbox, st, NULL, NULL);
}

/* ---- FETCH metadata ---- */

/* What the strings of one imap_msg_meta point into, freed after the callback. */
struct meta_scratch {
	char *flags;
	char *from;
};

static int item_uid(struct imap_msg_meta *m, const struct imap_arg *v, struct meta_scratch *s)
{
	(void)s;
	if (!arg_u32(v, &m->uid))
		m->uid = 0;
	return 0;
}

static int item_flags(struct imap_msg_meta *m, const struct imap_arg *v, struct meta_scratch *s)
{
	const struct imap_arg *items;
	size_t n, size = 1, off = 0;
	char *buf;

	if (!imap_arg_list(v, &items, &n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].type == IMAP_ARG_ATOM)
			size += items[i].len + 1;
	buf = malloc(size);
	if (!buf)
		return IMAP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (items[i].type != IMAP_ARG_ATOM)
			continue;
		if (off)
			buf[off++] = ' ';
		memcpy(buf + off, items[i].str, items[i].len);
		off += items[i].len;
	}
	buf[off] = '\0';
	free(s->flags);
	s->flags = buf;
	m->flags = buf;
	m->have |= IMAP_META_FLAGS;
	return 0;
}

static int item_internaldate(struct imap_msg_meta *m, const struct imap_arg *v,
			     struct meta_scratch *s)
{
	const char *str;
	size_t len;
	time_t t;

	(void)s;
	if (!imap_arg_astring(v, &str, &len))
		return 0;
	t = imap_parse_internaldate(str);
	if (t != -1) {
		m->internaldate = t;
		m->have |= IMAP_META_INTERNALDATE;
	}
	return 0;
}

static int item_size(struct imap_msg_meta *m, const struct imap_arg *v, struct meta_scratch *s)
{
	(void)s;
	if (imap_arg_size(v, &m->size))
		m->have |= IMAP_META_SIZE;
	return 0;
}

static const char *nstr(const struct imap_arg *a)
{
	const char *s;
	size_t len;

	return imap_arg_nstring(a, &s, &len) ? s : NULL;
}

/* First real address of an address list; group markers have no host. */
static int first_address(const struct imap_arg *list, char **out)
{
	const struct imap_arg *addrs, *f;
	size_t n, nf;

	*out = NULL;
	if (!imap_arg_list(list, &addrs, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *name, *mbox, *host;
		int r;

		if (!imap_arg_list(&addrs[i], &f, &nf) || nf < 4)
			continue;
		name = nstr(&f[0]);
		mbox = nstr(&f[2]);
		host = nstr(&f[3]);
		if (!mbox || !host)
			continue;
		if (name && *name)
			r = asprintf(out, "%s <%s@%s>", name, mbox, host);
		else
			r = asprintf(out, "%s@%s", mbox, host);
		if (r < 0) {
			*out = NULL;
			return IMAP_ENOMEM;
		}
		return 0;
	}
	return 0;
}

static int item_envelope(struct imap_msg_meta *m, const struct imap_arg *v,
			 struct meta_scratch *s)
{
	const struct imap_arg *e;
	size_t n;
	char *from;
	int rc;

	/* date subject from sender reply-to to cc bcc in-reply-to message-id */
	if (!imap_arg_list(v, &e, &n) || n < 10)
		return 0;
	rc = first_address(&e[2], &from);
	if (rc)
		return rc;
	free(s->from);
	s->from = from;
	m->envelope.date = nstr(&e[0]);
	m->envelope.subject = nstr(&e[1]);
	m->envelope.from = from;
	m->envelope.in_reply_to = nstr(&e[8]);
	m->envelope.message_id = nstr(&e[9]);
	m->have |= IMAP_META_ENVELOPE;
	return 0;
}

static int item_bodystructure(struct imap_msg_meta *m, const struct imap_arg *v,
			      struct meta_scratch *s)
{
	(void)s;
	if (v->type == IMAP_ARG_LIST) {
		m->bodystructure = v;
		m->have |= IMAP_META_BODYSTRUCTURE;
	}
	return 0;
}

/* MODSEQ (n), RFC 7162 3.1.4. */
static int item_modseq(struct imap_msg_meta *m, const struct imap_arg *v, struct meta_scratch *s)
{
	const struct imap_arg *items;
	size_t n;

	(void)s;
	if (imap_arg_list(v, &items, &n) && n == 1 && imap_arg_number(&items[0], &m->modseq) &&
	    m->modseq != 0 && m->modseq <= MODSEQ_MAX)
		m->have |= IMAP_META_MODSEQ;
	else
		m->modseq = 0;
	return 0;
}

typedef int meta_item_fn(struct imap_msg_meta *m, const struct imap_arg *v,
			 struct meta_scratch *s);

static const struct {
	const char *name;
	meta_item_fn *fn;
} meta_items[] = {
	{ "UID", item_uid },
	{ "FLAGS", item_flags },
	{ "INTERNALDATE", item_internaldate },
	{ "RFC822.SIZE", item_size },
	{ "ENVELOPE", item_envelope },
	{ "BODYSTRUCTURE", item_bodystructure },
	{ "MODSEQ", item_modseq },
};

struct meta_ctx {
	imap_meta_fn *fn;
	void *ud;
	int err;
};

static int parse_meta(const struct imap_arg *items, size_t n, struct imap_msg_meta *m,
		      struct meta_scratch *s)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		for (size_t j = 0; j < sizeof meta_items / sizeof meta_items[0]; j++) {
			int rc;

			if (!imap_arg_atom_eq(&items[i], meta_items[j].name))
				continue;
			rc = meta_items[j].fn(m, &items[i + 1], s);
			if (rc)
				return rc;
			break;
		}
	}
	return 0;
}

static void on_fetch_meta(void *ud, const struct imap_resp *r)
{
	struct meta_ctx *ctx = ud;
	struct imap_msg_meta m = { .flags = "" };
	struct meta_scratch s = { 0 };
	const struct imap_arg *items;
	size_t n;
	int rc;

	/* After an allocation failure the command is read to its end but the
	 * caller gets no partial picture. */
	if (ctx->err || !fetch_items(r, &items, &n))
		return;
	rc = parse_meta(items, n, &m, &s);
	if (rc)
		ctx->err = rc;
	else if (m.uid != 0)    /* without a UID the data cannot be placed */
		ctx->fn(ctx->ud, &m);
	free(s.flags);
	free(s.from);
}

static bool uidset_ok(const char *set)
{
	return set && *set && strspn(set, "0123456789:,*") == strlen(set);
}

int imap_fetch_meta(struct imap_conn *c, const char *uidset, unsigned items, imap_meta_fn *fn,
		    void *ud)
{
	struct meta_ctx ctx = { fn, ud, 0 };
	char what[96] = "UID";
	int rc;

	/* The set is pasted into the command: a caller bug must not inject one. */
	if (!uidset_ok(uidset))
		return IMAP_EBAD;
	if (items & IMAP_META_FLAGS)
		strcat(what, " FLAGS");
	if (items & IMAP_META_INTERNALDATE)
		strcat(what, " INTERNALDATE");
	if (items & IMAP_META_SIZE)
		strcat(what, " RFC822.SIZE");
	if (items & IMAP_META_ENVELOPE)
		strcat(what, " ENVELOPE");
	if (items & IMAP_META_BODYSTRUCTURE)
		strcat(what, " BODYSTRUCTURE");
	if (items & IMAP_META_MODSEQ)
		strcat(what, " MODSEQ");
	rc = imap_conn_cmd(c, on_fetch_meta, &ctx, "%sFETCH %s (%s)",
			   items & IMAP_META_SEQSET ? "" : "UID ", uidset, what);
	if (rc == IMAP_OK && ctx.err)
		rc = ctx.err;
	return rc;
}

/* ---- ENABLE (RFC 5161) ---- */

struct enable_ctx {
	const char *ext;
	bool done;
};

static void on_enabled(void *ud, const struct imap_resp *r)
{
	struct enable_ctx *ctx = ud;

	if (!is_data(r, "ENABLED"))
		return;
	for (size_t i = 0; i < r->args.len; i++)
		if (imap_arg_atom_eq(&r->args.items[i], ctx->ext))
			ctx->done = true;
}

int imap_enable(struct imap_conn *c, const char *ext)
{
	struct enable_ctx ctx = { ext, false };
	int rc;

	/* Pasted into the command: a caller bug must not inject one. */
	if (!ext || !*ext || strspn(ext, EXT_CHARS) != strlen(ext))
		return IMAP_EBAD;
	if (imap_conn_enabled(c, ext))
		return IMAP_OK;
	rc = imap_conn_cmd(c, on_enabled, &ctx, "ENABLE %s", ext);
	if (rc != IMAP_OK)
		return rc;
	/* An OK without ENABLED means the server chose not to (RFC 5161 3.1). */
	if (!ctx.done)
		return IMAP_ENO;
	return imap_conn_set_enabled(c, ext);
}

/* ---- changes since a mod-sequence (RFC 7162) ---- */

struct changes_ctx {
	struct meta_ctx meta;
	imap_uids_fn *gone;
};

/* One uid-set number: 1..2^32-1, at most 10 digits so it cannot overflow. */
static bool take_uid(const char **s, uint32_t *uid)
{
	uint64_t v = 0;
	size_t n = strspn(*s, "0123456789");

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)((*s)[i] - '0');
	if (v == 0 || v > UINT32_MAX)
		return false;
	*uid = (uint32_t)v;
	*s += n;
	return true;
}

/* Checks the whole set first, so a malformed one reports nothing. */
static bool walk_uid_set(const char *s, imap_uids_fn *fn, void *ud)
{
	uint32_t a, b;

	for (;;) {
		if (!take_uid(&s, &a))
			return false;
		b = a;
		if (*s == ':') {
			s++;
			if (!take_uid(&s, &b))
				return false;
		}
		/* "7:3" is the same range as "3:7" (RFC 3501 9, seq-range). */
		if (fn)
			fn(ud, a < b ? a : b, a < b ? b : a);
		if (*s == '\0')
			return true;
		if (*s++ != ',')
			return false;
	}
}

bool imap_uid_set_walk(const char *set, imap_uids_fn *fn, void *ud)
{
	return walk_uid_set(set, NULL, NULL) && walk_uid_set(set, fn, ud);
}

static void on_vanished(struct changes_ctx *ctx, const struct imap_resp *r)
{
	const struct imap_arg *set = &r->args.items[r->args.len - 1];

	/* "(EARLIER) set" answers our command; a bare "set" is an expunge that
	 * happened meanwhile: gone all the same. */
	if (r->args.len > 2 || set->type != IMAP_ARG_ATOM)
		return;
	if (!walk_uid_set(set->str, NULL, NULL))
		return;
	walk_uid_set(set->str, ctx->gone, ctx->meta.ud);
}

static void on_changes(void *ud, const struct imap_resp *r)
{
	struct changes_ctx *ctx = ud;

	if (is_data(r, "VANISHED") && r->args.len >= 1)
		on_vanished(ctx, r);
	else
		on_fetch_meta(&ctx->meta, r);
}

/* mod-sequence-value is a positive 63-bit number (RFC 7162 7). */
int imap_fetch_changes(struct imap_conn *c, uint64_t modseq, bool vanished, imap_meta_fn *fn,
		       imap_uids_fn *gone, void *ud)
{
	struct changes_ctx ctx = { { fn, ud, 0 }, gone };
	int rc;

	if (modseq == 0 || modseq > MODSEQ_MAX || !fn || (vanished && !gone))
		return IMAP_EBAD;
	/* The server would answer BAD: VANISHED needs QRESYNC enabled. */
	if (vanished && !imap_conn_enabled(c, "QRESYNC"))
		return IMAP_EBAD;
	rc = imap_conn_cmd(c, on_changes, &ctx, "UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE %llu%s)",
			   (unsigned long long)modseq, vanished ? " VANISHED" : "");
	if (rc == IMAP_OK && ctx.meta.err)
		rc = ctx.meta.err;
	return rc;
}

/* ---- FETCH body part ---- */

/* Header field names that need no quoting; anything else is refused. */
#define FIELD_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static bool header_list_ok(const char *s)
{
	for (;;) {
		size_t n = strspn(s, FIELD_CHARS);

		if (n == 0)
			return false;
		s += n;
		if (*s == ')')
			return s[1] == '\0';
		if (*s != ' ')
			return false;
		s++;
	}
}

static bool msgtext_ok(const char *s)
{
	if (strcasecmp(s, "HEADER") == 0 || strcasecmp(s, "TEXT") == 0)
		return true;
	if (strncasecmp(s, "HEADER.FIELDS.NOT (", 19) == 0)
		return header_list_ok(s + 19);
	if (strncasecmp(s, "HEADER.FIELDS (", 15) == 0)
		return header_list_ok(s + 15);
	return false;
}

/* section-spec of RFC 3501: "", part numbers, then HEADER/TEXT/MIME/HEADER.FIELDS. */
static bool section_ok(const char *s)
{
	bool part = false;

	while (*s >= '1' && *s <= '9') {
		s += strspn(s, "0123456789");
		part = true;
		if (*s == '\0')
			return true;
		if (*s != '.')
			return false;
		s++;
	}
	if (*s == '\0')
		return !part;
	if (part && strcasecmp(s, "MIME") == 0)
		return true;
	return msgtext_ok(s);
}

/* A part number ("1", "2.1"): the only sections BINARY takes (RFC 3516). */
static bool part_number_ok(const char *s)
{
	for (;;) {
		if (*s < '1' || *s > '9')
			return false;
		s += strspn(s, "0123456789");
		if (*s == '\0')
			return true;
		if (*s != '.')
			return false;
		s++;
	}
}

/* Length of the part of a section the server echoes verbatim: it may respell
 * a HEADER.FIELDS list (case, quoting), so only what precedes it is compared. */
static size_t section_key_len(const char *s, size_t len)
{
	const char *sp = memchr(s, ' ', len);

	return sp ? (size_t)(sp - s) : len;
}

/*
 * key is "<item>[section]" or "<item>[section]<origin>" for the section asked
 * for; item is "BODY" or "BINARY". Servers may leave out the origin.
 */
static bool section_key_matches(const char *key, const char *item, const char *section)
{
	const char *end;
	size_t ilen = strlen(item), klen, olen, slen = strlen(section);

	if (!key || strncasecmp(key, item, ilen) != 0 || key[ilen] != '[')
		return false;
	key += ilen + 1;
	end = strchr(key, ']');
	if (!end)
		return false;
	klen = section_key_len(key, (size_t)(end - key));
	if (klen != section_key_len(section, slen) || strncasecmp(key, section, klen) != 0)
		return false;
	if ((klen == slen) != (key + klen == end))
		return false;
	end++;
	olen = strlen(end);
	/* No origin, or "<digits>". */
	return olen == 0 || (olen >= 3 && end[0] == '<' && end[olen - 1] == '>' &&
			     strspn(end + 1, "0123456789") == olen - 2);
}

/* The origin of "BODY[s]<123>", or UINT64_MAX for a key without one. */
static uint64_t key_origin(const char *key)
{
	const char *end = strrchr(key, ']');

	return end && end[1] == '<' ? strtoull(end + 2, NULL, 10) : UINT64_MAX;
}

struct part_ctx {
	uint32_t uid;
	const char *item;       /* "BODY" or "BINARY" */
	const char *section;
	uint64_t origin;        /* the offset asked; UINT64_MAX: the whole section */
	uint64_t max;
	bool found;
	char *data;
	size_t len;
	int err;
};

static uint32_t fetch_uid(const struct imap_arg *items, size_t n)
{
	uint32_t uid = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		if (imap_arg_atom_eq(&items[i], "UID") && arg_u32(&items[i + 1], &uid))
			return uid;
	return 0;
}

/*
 * Whether an answer keyed key is the range ctx asked: its origin must be the
 * offset asked. A server may leave the origin out; then only an answer no
 * longer than asked is taken, since one that ignored the range (the section
 * from its start) would put its first bytes where the range's belong.
 */
static bool is_range_asked(const struct part_ctx *ctx, const char *key, size_t len)
{
	uint64_t origin = key_origin(key);

	if (ctx->origin == UINT64_MAX || origin != UINT64_MAX)
		return origin == ctx->origin;
	return len <= ctx->max;
}

static void take_body(struct part_ctx *ctx, const char *key, const struct imap_arg *v)
{
	const char *s;
	size_t len;

	/* literal8 (BINARY) arrives as a literal, so nstring covers both. */
	if (!imap_arg_nstring(v, &s, &len))
		return;
	if (!is_range_asked(ctx, key, s ? len : 0)) {
		ctx->err = IMAP_EBAD; /* not what was asked: nothing of it is used */
		return;
	}
	/* NIL: the server has no such part content; read as empty. */
	if (!s)
		len = 0;
	/* A server sending more than asked must not make the caller overrun. */
	if (len > ctx->max)
		len = (size_t)ctx->max;
	ctx->data = malloc(len + 1);
	if (!ctx->data) {
		ctx->err = IMAP_ENOMEM;
		return;
	}
	if (len)
		memcpy(ctx->data, s, len);
	ctx->data[len] = '\0';
	ctx->len = len;
	ctx->found = true;
}

static void on_fetch_part(void *ud, const struct imap_resp *r)
{
	struct part_ctx *ctx = ud;
	const struct imap_arg *items;
	size_t n;

	if (ctx->found || ctx->err || !fetch_items(r, &items, &n))
		return;
	if (fetch_uid(items, n) != ctx->uid)
		return;
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (section_key_matches(imap_arg_atom(&items[i]), ctx->item, ctx->section)) {
			take_body(ctx, imap_arg_atom(&items[i]), &items[i + 1]);
			return;
		}
	}
}

/* UID FETCH uid (<item>.PEEK[section]<offset.length>); section already checked. */
static int fetch_section(struct imap_conn *c, uint32_t uid, const char *item,
			 const char *section, uint64_t offset, uint64_t length, char **data,
			 size_t *len)
{
	struct part_ctx ctx = { .uid = uid, .item = item, .section = section,
				.origin = offset, .max = SIZE_MAX - 1 };
	int rc;

	if (offset == 0 && length == 0) {
		ctx.origin = UINT64_MAX;
		rc = imap_conn_cmd(c, on_fetch_part, &ctx, "UID FETCH %u (%s.PEEK[%s])", uid, item,
				   section);
	} else {
		if (length == 0 || length > PARTIAL_MAX)
			length = PARTIAL_MAX;
		if (length < ctx.max)
			ctx.max = length;
		rc = imap_conn_cmd(c, on_fetch_part, &ctx, "UID FETCH %u (%s.PEEK[%s]<%llu.%llu>)",
				   uid, item, section, (unsigned long long)offset,
				   (unsigned long long)length);
	}
	if (rc == IMAP_OK && ctx.err)
		rc = ctx.err;
	/* No answer for the UID: it was expunged meanwhile. */
	if (rc == IMAP_OK && !ctx.found)
		rc = IMAP_ENO;
	if (rc != IMAP_OK) {
		free(ctx.data);
		return rc;
	}
	*data = ctx.data;
	*len = ctx.len;
	return IMAP_OK;
}

int imap_fetch_part(struct imap_conn *c, uint32_t uid, const char *section, uint64_t offset,
		    uint64_t length, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	/* section is pasted into the command: only RFC 3501 sections get through. */
	if (uid == 0 || !section || !section_ok(section) || offset > PARTIAL_MAX)
		return IMAP_EBAD;
	return fetch_section(c, uid, "BODY", section, offset, length, data, len);
}

/* ---- several ranges of one section ---- */

struct ranges_ctx {
	uint32_t uid;
	const char *section;
	size_t n;
	const uint64_t *off;
	struct part_ctx *r;       /* one per range */
};

/* Each range is matched by its origin; one without (servers may leave it
 * out) goes to the first range still missing, in the order asked. */
static void on_fetch_ranges(void *ud, const struct imap_resp *r)
{
	struct ranges_ctx *ctx = ud;
	const struct imap_arg *items;
	size_t n;

	if (!fetch_items(r, &items, &n) || fetch_uid(items, n) != ctx->uid)
		return;
	for (size_t i = 0; i + 1 < n; i += 2) {
		const char *key = imap_arg_atom(&items[i]);
		uint64_t origin;
		size_t k;

		if (!section_key_matches(key, "BODY", ctx->section))
			continue;
		origin = key_origin(key);
		for (k = 0; k < ctx->n; k++)
			if (!ctx->r[k].found && (origin == UINT64_MAX || ctx->off[k] == origin))
				break;
		if (k < ctx->n)
			take_body(&ctx->r[k], key, &items[i + 1]);
	}
}

/* "BODY.PEEK[s]<o.l> BODY.PEEK[s]<o.l> ...", or NULL. */
static char *ranges_items(const char *section, const uint64_t *off, const uint64_t *len, size_t n)
{
	size_t cap = n * (strlen(section) + 56) + 1, used = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%sBODY.PEEK[%s]<%llu.%llu>",
					 i ? " " : "", section, (unsigned long long)off[i],
					 (unsigned long long)len[i]);
	return buf;
}

int imap_fetch_ranges(struct imap_conn *c, uint32_t uid, const char *section, const uint64_t *off,
		      const uint64_t *len, size_t n, char **data, size_t *lens)
{
	struct part_ctx r[IMAP_RANGES_MAX];
	struct ranges_ctx ctx = { .uid = uid, .section = section, .n = n, .off = off, .r = r };
	char *items;
	int rc;

	for (size_t i = 0; i < n && i < IMAP_RANGES_MAX; i++) {
		data[i] = NULL;
		lens[i] = 0;
	}
	if (uid == 0 || !section || !section_ok(section) || n == 0 || n > IMAP_RANGES_MAX)
		return IMAP_EBAD;
	for (size_t i = 0; i < n; i++) {
		if (off[i] > PARTIAL_MAX || len[i] == 0 || len[i] > PARTIAL_MAX)
			return IMAP_EBAD;
		r[i] = (struct part_ctx){ .uid = uid, .item = "BODY", .section = section,
					  .origin = off[i], .max = len[i] };
	}
	items = ranges_items(section, off, len, n);
	if (!items)
		return IMAP_ENOMEM;
	rc = imap_conn_cmd(c, on_fetch_ranges, &ctx, "UID FETCH %u (%s)", uid, items);
	free(items);
	for (size_t i = 0; i < n; i++) {
		if (rc == IMAP_OK && r[i].err)
			rc = r[i].err;
		/* A range missing: the message was expunged meanwhile. */
		if (rc == IMAP_OK && !r[i].found)
			rc = IMAP_ENO;
	}
	for (size_t i = 0; i < n; i++) {
		if (rc == IMAP_OK) {
			data[i] = r[i].data;
			lens[i] = r[i].len;
		} else {
			free(r[i].data);
		}
	}
	return rc;
}

/* Counts what goes to the caller's sink, and stops at what was asked. */
struct stream_ctx {
	imap_sink_fn *fn;
	void *ud;
	uint64_t n, max;
};

static int count_to_sink(void *ud, const char *data, size_t len)
{
	struct stream_ctx *sc = ud;

	/* What a server sends beyond what was asked is dropped, as in take_body. */
	if (len > sc->max - sc->n)
		len = (size_t)(sc->max - sc->n);
	if (len && sc->fn(sc->ud, data, len) != 0)
		return -1;
	sc->n += len;
	return 0;
}

int imap_fetch_part_to(struct imap_conn *c, uint32_t uid, const char *section, uint64_t offset,
		       uint64_t length, imap_sink_fn *sink, void *sink_ud, uint64_t *len)
{
	struct part_ctx ctx = { .uid = uid, .item = "BODY", .section = section, .origin = offset };
	struct stream_ctx sc = { sink, sink_ud, 0, 0 };
	char *key;
	int rc;

	*len = 0;
	if (uid == 0 || !section || !section_ok(section) || offset > PARTIAL_MAX || length == 0)
		return IMAP_EBAD;
	if (length > PARTIAL_MAX)
		length = PARTIAL_MAX;
	sc.max = ctx.max = length;
	/* Only our message's literal streams (servers put UID first, as asked;
	 * one that does not gets its literal kept, within the parser's limit). */
	if (asprintf(&key, "UID %u BODY[%s]<%llu>", uid, section, (unsigned long long)offset) < 0)
		return IMAP_ENOMEM;
	rc = imap_conn_cmd_sink(c, key, count_to_sink, &sc, on_fetch_part, &ctx,
				"UID FETCH %u (BODY.PEEK[%s]<%llu.%llu>)", uid, section,
				(unsigned long long)offset, (unsigned long long)length);
	free(key);
	if (rc == IMAP_OK && ctx.err)
		rc = ctx.err;
	if (rc == IMAP_OK && !ctx.found)
		rc = IMAP_ENO;
	/* Content sent as a quoted string stayed in the response. */
	if (rc == IMAP_OK && ctx.len && count_to_sink(&sc, ctx.data, ctx.len) != 0)
		rc = IMAP_ESTOP;
	free(ctx.data);
	*len = sc.n;
	return rc;
}

/* ---- whole messages ---- */

struct bodies_ctx {
	imap_body_fn *fn;
	void *ud;
};

static void on_fetch_body(void *ud, const struct imap_resp *r)
{
	struct bodies_ctx *ctx = ud;
	const struct imap_arg *items;
	const char *s;
	uint32_t uid;
	size_t n, len;

	if (!fetch_items(r, &items, &n) || (uid = fetch_uid(items, n)) == 0)
		return;
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (!section_key_matches(imap_arg_atom(&items[i]), "BODY", ""))
			continue;
		if (imap_arg_nstring(&items[i + 1], &s, &len) && s)
			ctx->fn(ctx->ud, uid, s, len);
		return;
	}
}

int imap_fetch_bodies(struct imap_conn *c, const char *uidset, imap_body_fn *fn, void *ud)
{
	struct bodies_ctx ctx = { fn, ud };

	if (!uidset_ok(uidset) || !fn)
		return IMAP_EBAD;
	return imap_conn_cmd(c, on_fetch_body, &ctx, "UID FETCH %s (UID BODY.PEEK[])", uidset);
}

/* ---- FETCH BINARY (RFC 3516) ---- */

int imap_fetch_binary(struct imap_conn *c, uint32_t uid, const char *section, uint64_t offset,
		      uint64_t length, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	if (uid == 0 || !section || !part_number_ok(section) || offset > PARTIAL_MAX)
		return IMAP_EBAD;
	return fetch_section(c, uid, "BINARY", section, offset, length, data, len);
}

struct sizes_ctx {
	uint32_t uid;
	const char *const *sections;
	size_t n;
	uint64_t *sizes;
	bool found;
};

/* Which requested section "BINARY.SIZE[s]" names, or ctx->n. A size has no
 * origin, so a key with one is not taken. */
static size_t size_key_index(const struct sizes_ctx *ctx, const char *key)
{
	if (!key)
		return ctx->n;
	for (size_t i = 0; i < ctx->n; i++)
		if (section_key_matches(key, "BINARY.SIZE", ctx->sections[i]) &&
		    key[strlen(key) - 1] == ']')
			return i;
	return ctx->n;
}

/* A server may split the items over several FETCH responses: all are read. */
static void on_fetch_sizes(void *ud, const struct imap_resp *r)
{
	struct sizes_ctx *ctx = ud;
	const struct imap_arg *items;
	size_t n, i;
	uint64_t v;

	if (!fetch_items(r, &items, &n) || fetch_uid(items, n) != ctx->uid)
		return;
	ctx->found = true;
	for (size_t k = 0; k + 1 < n; k += 2) {
		i = size_key_index(ctx, imap_arg_atom(&items[k]));
		if (i < ctx->n && imap_arg_size(&items[k + 1], &v))
			ctx->sizes[i] = v;
	}
}

/* "BINARY.SIZE[s1] BINARY.SIZE[s2] ...", or NULL (a bad section or no memory). */
static char *sizes_items(const char *const *sections, size_t n, int *err)
{
	static const char item[] = " BINARY.SIZE[";
	size_t total = 1, off = 0, len;
	char *buf;

	*err = IMAP_EBAD;
	for (size_t i = 0; i < n; i++) {
		/* pasted into the command: part numbers only */
		if (!sections[i] || !part_number_ok(sections[i]))
			return NULL;
		total += sizeof item + strlen(sections[i]);     /* the NUL's byte is the ']' */
	}
	*err = IMAP_ENOMEM;
	buf = malloc(total);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		/* the first item has no separating space */
		len = sizeof item - (i ? 1 : 2);
		memcpy(buf + off, item + (i ? 0 : 1), len);
		off += len;
		len = strlen(sections[i]);
		memcpy(buf + off, sections[i], len);
		off += len;
		buf[off++] = ']';
	}
	buf[off] = '\0';
	return buf;
}

int imap_fetch_binary_sizes(struct imap_conn *c, uint32_t uid, const char *const *sections,
			    size_t n, uint64_t *sizes)
{
	struct sizes_ctx ctx = { uid, sections, n, sizes, false };
	char *what;
	int rc;

	for (size_t i = 0; i < n; i++)
		sizes[i] = UINT64_MAX;
	if (uid == 0 || (n && !sections))
		return IMAP_EBAD;
	if (n == 0)
		return IMAP_OK;
	what = sizes_items(sections, n, &rc);
	if (!what)
		return rc;
	rc = imap_conn_cmd(c, on_fetch_sizes, &ctx, "UID FETCH %u (%s)", uid, what);
	free(what);
	/* No answer for the UID: it was expunged meanwhile. */
	if (rc == IMAP_OK && !ctx.found)
		rc = IMAP_ENO;
	/* Sizes from a command that failed are not trusted. */
	for (size_t i = 0; rc != IMAP_OK && i < n; i++)
		sizes[i] = UINT64_MAX;
	return rc;
}

/* ---- GETQUOTAROOT (RFC 9208) ---- */

/* Roots kept of one answer; more is no real server's (Dovecot sends one
 * per quota rule set) and is left out. */
#define QUOTA_ROOTS 16

struct quota_got {
	char *root;
	struct imap_quota q;
};

struct quota_ctx {
	const char *mailbox;
	char *roots[QUOTA_ROOTS];     /* mailbox's, from QUOTAROOT */
	size_t nroots;
	struct quota_got got[QUOTA_ROOTS];  /* QUOTA responses, in any order */
	size_t ngot;
	bool oom;
};

/* An astring that is a C string (no NUL inside): malloc'd, or NULL. */
static char *astring_dup(const struct imap_arg *a, bool *oom)
{
	const char *s;
	size_t len;
	char *out;

	if (!imap_arg_astring(a, &s, &len) || strlen(s) != len)
		return NULL;
	out = strdup(s);
	if (!out)
		*oom = true;
	return out;
}

static bool same_mailbox(const char *a, const char *b)
{
	return strcmp(a, b) == 0 || (strcasecmp(a, "INBOX") == 0 && strcasecmp(b, "INBOX") == 0);
}

/* "* QUOTAROOT mailbox root...": the roots, when it is about our mailbox. */
static void on_quotaroot(struct quota_ctx *ctx, const struct imap_resp *r)
{
	const char *name;
	size_t len;

	if (r->args.len < 1 || !imap_arg_astring(&r->args.items[0], &name, &len) ||
	    strlen(name) != len || !same_mailbox(name, ctx->mailbox))
		return;
	for (size_t i = 1; i < r->args.len && ctx->nroots < QUOTA_ROOTS; i++) {
		char *root = astring_dup(&r->args.items[i], &ctx->oom);

		if (root)
			ctx->roots[ctx->nroots++] = root;
	}
}

/* The list of "* QUOTA root (STORAGE 10 512 MESSAGE 1 100)" into *q;
 * false when it does not parse. */
static bool quota_list(const struct imap_arg *list, struct imap_quota *q)
{
	const struct imap_arg *items;
	size_t n;

	memset(q, 0, sizeof(*q));
	if (!imap_arg_list(list, &items, &n) || n % 3 != 0)
		return false;
	for (size_t i = 0; i < n; i += 3) {
		struct imap_quota_resource res = { .known = true }, *to = NULL;

		if (!imap_arg_atom(&items[i]) || !imap_arg_number(&items[i + 1], &res.usage) ||
		    !imap_arg_number(&items[i + 2], &res.limit))
			return false;
		if (imap_arg_atom_eq(&items[i], "STORAGE"))
			to = &q->storage;
		else if (imap_arg_atom_eq(&items[i], "MESSAGE"))
			to = &q->messages;
		if (to && res.usage <= IMAP_QUOTA_MAX && res.limit <= IMAP_QUOTA_MAX)
			*to = res;
	}
	return true;
}

static void on_quota(struct quota_ctx *ctx, const struct imap_resp *r)
{
	struct quota_got *g = &ctx->got[ctx->ngot];

	if (ctx->ngot == QUOTA_ROOTS || r->args.len != 2 || !quota_list(&r->args.items[1], &g->q))
		return;
	g->root = astring_dup(&r->args.items[0], &ctx->oom);
	if (g->root)
		ctx->ngot++;
}

static void on_getquotaroot(void *ud, const struct imap_resp *r)
{
	if (is_data(r, "QUOTAROOT"))
		on_quotaroot(ud, r);
	else if (is_data(r, "QUOTA"))
		on_quota(ud, r);
}

static uint64_t room(const struct imap_quota_resource *res)
{
	return res->limit > res->usage ? res->limit - res->usage : 0;
}

/* Takes from, when it binds more than *into. */
static void tighter(struct imap_quota_resource *into, const struct imap_quota_resource *from)
{
	if (from->known && (!into->known || room(from) < room(into)))
		*into = *from;
}

int imap_getquotaroot(struct imap_conn *c, const char *mailbox, struct imap_quota *q)
{
	struct quota_ctx ctx = { .mailbox = mailbox };
	char *quoted;
	int rc;

	memset(q, 0, sizeof(*q));
	if (!imap_conn_has_cap(c, "QUOTA"))
		return imap_conn_refuse(c, IMAP_ENO, "the server has no QUOTA");
	quoted = imap_quote(mailbox);
	if (!quoted)
		return imap_conn_refuse(c, errno == ENOMEM ? IMAP_ENOMEM : IMAP_EBAD,
					"mailbox name cannot be quoted");
	rc = imap_conn_cmd(c, on_getquotaroot, &ctx, "GETQUOTAROOT %s", quoted);
	free(quoted);
	if (rc == IMAP_OK && ctx.oom)
		rc = IMAP_ENOMEM;
	for (size_t i = 0; i < ctx.ngot; i++) {
		for (size_t j = 0; rc == IMAP_OK && j < ctx.nroots; j++) {
			if (strcmp(ctx.got[i].root, ctx.roots[j]) != 0)
				continue;
			tighter(&q->storage, &ctx.got[i].q.storage);
			tighter(&q->messages, &ctx.got[i].q.messages);
			break;
		}
		free(ctx.got[i].root);
	}
	for (size_t j = 0; j < ctx.nroots; j++)
		free(ctx.roots[j]);
	if (rc != IMAP_OK)
		memset(q, 0, sizeof(*q));
	return rc;
}

/* ---- INTERNALDATE ---- */

/* Exactly n decimal digits, or -1. */
static int take_digits(const char **s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char ch = (*s)[i];

		if (ch < '0' || ch > '9')
			return -1;
		v = v * 10 + (ch - '0');
	}
	*s += n;
	return v;
}

static bool take_char(const char **s, char ch)
{
	if (**s != ch)
		return false;
	(*s)++;
	return true;
}

static int take_month(const char **s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++) {
		if (strncasecmp(*s, months + 3 * i, 3) == 0) {
			*s += 3;
			return i;
		}
	}
	return -1;
}

time_t imap_parse_internaldate(const char *s)
{
	struct tm tm = { 0 };
	int day, mon, zh, zm, sign;
	time_t t;

	if (!s)
		return -1;
	/* date-day-fixed: " 7" or "07"; a bare "7" is accepted too. */
	if (*s == ' ')
		s++;
	day = s[0] && s[1] == '-' ? take_digits(&s, 1) : take_digits(&s, 2);
	if (day < 1 || day > 31 || !take_char(&s, '-') || (mon = take_month(&s)) < 0 ||
	    !take_char(&s, '-') || (tm.tm_year = take_digits(&s, 4)) < 0 || !take_char(&s, ' '))
		return -1;
	tm.tm_hour = take_digits(&s, 2);
	if (tm.tm_hour < 0 || tm.tm_hour > 23 || !take_char(&s, ':'))
		return -1;
	tm.tm_min = take_digits(&s, 2);
	if (tm.tm_min < 0 || tm.tm_min > 59 || !take_char(&s, ':'))
		return -1;
	tm.tm_sec = take_digits(&s, 2);
	if (tm.tm_sec < 0 || tm.tm_sec > 60 || !take_char(&s, ' '))
		return -1;
	sign = take_char(&s, '+') ? 1 : take_char(&s, '-') ? -1 : 0;
	zh = take_digits(&s, 2);
	zm = take_digits(&s, 2);
	if (!sign || zh < 0 || zh > 23 || zm < 0 || zm > 59 || *s != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	t = timegm(&tm);
	/* timegm normalises 31-Feb into March: such a date is malformed. */
	if (t == (time_t)-1 || tm.tm_mday != day || tm.tm_mon != mon)
		return -1;
	return t - sign * (zh * 3600 + zm * 60);
}
