#include "message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "decode.h"
#include "log.h"
#include "names.h"

/* Spooling fetches this much per command: one round trip per MiB keeps the
 * parser's buffers small whatever the part's size. */
#define SPOOL_CHUNK (1024 * 1024)

struct msg_detail {
	int refs;                 /* atomic */
	struct part_tree *tree;
	char *subject, *from, *message_id;
	uint64_t *binsize;        /* per part: BINARY.SIZE, or UINT64_MAX */
};

struct detail_ctx {
	uint32_t uid;
	uint32_t uidvalidity;
	struct msg_detail *d;
	bool seen;
	int err;
};

struct msg_detail *msg_detail_ref(struct msg_detail *d)
{
	if (d)
		__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

void msg_detail_unref(struct msg_detail *d)
{
	if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	part_tree_free(d->tree);
	free(d->subject);
	free(d->from);
	free(d->message_id);
	free(d->binsize);
	free(d);
}

/* Whether BINARY may be asked for a part: Dovecot refuses encodings it does
 * not know (x-uuencode too) with NO [UNKNOWN-CTE], and then refuses the
 * BINARY.SIZE of every part asked in the same command. */
static bool server_decodes(const struct mime_part *p)
{
	return p->encoding == MIME_ENC_7BIT || p->encoding == MIME_ENC_BASE64 ||
	       p->encoding == MIME_ENC_QP;
}

static char *text_or_empty(const char *raw)
{
	return raw ? mime_header_text(raw) : strdup("");
}

static void on_detail(void *ud, const struct imap_msg_meta *meta)
{
	struct detail_ctx *ctx = ud;
	struct msg_detail *d = ctx->d;
	char err[128];

	if (meta->uid != ctx->uid || ctx->seen)
		return;
	ctx->seen = true;
	if (meta->have & IMAP_META_BODYSTRUCTURE) {
		d->tree = part_tree_new(meta->bodystructure, err, sizeof(err));
		if (!d->tree)
			log_msg(LOG_WARNING, "UID %u: unreadable structure (%s): no parts shown",
				ctx->uid, err);
	}
	d->subject = text_or_empty(meta->envelope.subject);
	d->from = text_or_empty(meta->envelope.from);
	d->message_id = strdup(meta->envelope.message_id ? meta->envelope.message_id : "");
	if (!d->subject || !d->from || !d->message_id)
		ctx->err = -ENOMEM;
}

/*
 * Dovecot 2.3.19 can answer a BINARY.SIZE that is not the length of what
 * BINARY.PEEK returns (4948 for a 6058-byte base64 PDF, seen here), and a
 * wrong size would cut or pad the file. So each size is checked by reading
 * two bytes across its end: exactly one must come back. A wrong one is
 * dropped and the part is decoded whole instead.
 */
static int check_binary_size(struct imap_conn *c, uint32_t uid, const struct mime_part *p,
			     uint64_t *size)
{
	uint64_t off = *size ? *size - 1 : 0;
	size_t want = *size ? 1 : 0, n = 0;
	char *data = NULL;
	int rc = imap_fetch_binary(c, uid, p->section, off, 2, &data, &n);

	free(data);
	if (rc == IMAP_ENO || (rc == IMAP_OK && n != want)) {
		log_msg(LOG_INFO, "UID %u part %s: the server's BINARY.SIZE %llu is wrong; "
			"decoding the part here", uid, p->section, (unsigned long long)*size);
		*size = UINT64_MAX;
	}
	return rc == IMAP_ENO ? IMAP_OK : rc;
}

/* Asks BINARY.SIZE of the leaves the server can decode for us; text is left
 * out, it is converted to UTF-8 and so spooled anyway. */
static int fetch_binary_sizes(struct imap_conn *c, struct detail_ctx *ctx)
{
	struct msg_detail *d = ctx->d;
	size_t n = d->tree ? part_tree_count(d->tree) : 0, k = 0;
	const char **sections = calloc(n ? n : 1, sizeof(*sections));
	size_t *which = calloc(n ? n : 1, sizeof(*which));
	uint64_t *sizes = calloc(n ? n : 1, sizeof(*sizes));
	int rc = IMAP_ENOMEM;

	d->binsize = malloc((n ? n : 1) * sizeof(*d->binsize));
	if (!sections || !which || !sizes || !d->binsize)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct mime_part *p = part_tree_get(d->tree, i);

		d->binsize[i] = UINT64_MAX;
		if (p->is_leaf && strcmp(p->type, "text") != 0 && server_decodes(p)) {
			sections[k] = p->section;
			which[k++] = i;
		}
	}
	rc = IMAP_OK;
	if (k && imap_conn_has_cap(c, "BINARY")) {
		rc = imap_fetch_binary_sizes(c, ctx->uid, sections, k, sizes);
		for (size_t j = 0; rc == IMAP_OK && j < k; j++) {
			if (sizes[j] != UINT64_MAX)
				rc = check_binary_size(c, ctx->uid,
						       part_tree_get(d->tree, which[j]), &sizes[j]);
			d->binsize[which[j]] = sizes[j];
		}
		/* NO [PARSE] (bad base64, say): every part is then fetched as
		 * stored and decoded here. */
		if (rc == IMAP_ENO || rc == IMAP_EBAD)
			rc = IMAP_OK;
	}
out:
	free(sections);
	free(which);
	free(sizes);
	return rc;
}

static int run_detail(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct detail_ctx *ctx = ud;
	char uid[16];
	int rc;

	if (st->uidvalidity != ctx->uidvalidity) {
		ctx->err = -ESTALE;
		return IMAP_ENO;
	}
	snprintf(uid, sizeof(uid), "%u", ctx->uid);
	rc = imap_fetch_meta(c, uid, IMAP_META_ENVELOPE | IMAP_META_BODYSTRUCTURE, on_detail, ctx);
	if (rc != IMAP_OK || ctx->err)
		return rc;
	if (!ctx->seen) {
		ctx->err = -ENOENT;
		return IMAP_ENO;
	}
	return fetch_binary_sizes(c, ctx);
}

static int errno_of(int rc, int err)
{
	if (err)
		return err;
	switch (rc) {
	case IMAP_OK:
		return 0;
	case IMAP_ENO:
		return -ENOENT;
	case IMAP_ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

int msg_detail_fetch(struct imap_pool *pool, const char *mailbox, uint32_t uidvalidity,
		     uint32_t uid, struct msg_detail **out)
{
	struct detail_ctx ctx = { .uid = uid, .uidvalidity = uidvalidity };
	int rc;

	ctx.d = calloc(1, sizeof(*ctx.d));
	if (!ctx.d)
		return -ENOMEM;
	ctx.d->refs = 1;
	rc = pool_run(pool, mailbox, run_detail, &ctx);
	rc = errno_of(rc, ctx.err);
	if (rc) {
		if (rc == -EIO)
			log_msg(LOG_ERR, "cannot fetch the structure of UID %u", uid);
		msg_detail_unref(ctx.d);
		return rc;
	}
	*out = ctx.d;
	return 0;
}

const struct part_tree *msg_detail_tree(const struct msg_detail *d)
{
	return d->tree;
}

const char *msg_detail_subject(const struct msg_detail *d)
{
	return d->subject;
}

const char *msg_detail_from(const struct msg_detail *d)
{
	return d->from;
}

const char *msg_detail_message_id(const struct msg_detail *d)
{
	return d->message_id;
}

enum content_mode msg_content_mode(const struct msg_detail *d, size_t part)
{
	const struct mime_part *p = part_tree_get(d->tree, part);

	if (strcmp(p->type, "text") == 0)
		return CONTENT_SPOOL; /* converted to UTF-8: only the result has a size */
	if (d->binsize && d->binsize[part] != UINT64_MAX)
		return CONTENT_BINARY;
	if (p->encoding == MIME_ENC_7BIT || p->encoding == MIME_ENC_OTHER)
		return CONTENT_RAW;
	return CONTENT_SPOOL;
}

uint64_t msg_content_size(const struct msg_detail *d, size_t part)
{
	if (msg_content_mode(d, part) == CONTENT_BINARY)
		return d->binsize[part];
	return part_tree_get(d->tree, part)->size;
}

struct spool_ctx {
	uint32_t uid, uidvalidity;
	const struct mime_part *p;
	struct store *store;
	const char *key;
	int err;
};

static int to_store(void *ud, const char *data, size_t len)
{
	return store_write(ud, data, len) < 0 ? -1 : 0;
}

/* Streams the part through dec, a chunk per command. */
static int spool_fetch(struct imap_conn *c, struct spool_ctx *ctx, bool binary,
		       struct mime_decoder *dec)
{
	uint64_t off = 0;

	for (;;) {
		char *data = NULL;
		size_t n = 0;
		int rc = binary ? imap_fetch_binary(c, ctx->uid, ctx->p->section, off, SPOOL_CHUNK,
						    &data, &n)
				: imap_fetch_part(c, ctx->uid, ctx->p->section, off, SPOOL_CHUNK,
						  &data, &n);

		if (rc != IMAP_OK)
			return rc;
		if (n && mime_decoder_push(dec, data, n) < 0)
			ctx->err = -EIO;
		free(data);
		if (ctx->err || n < SPOOL_CHUNK)
			return IMAP_OK;
		off += n;
	}
}

/* One attempt: everything into a new store entry, committed only if whole. */
static int spool_once(struct imap_conn *c, struct spool_ctx *ctx, bool binary)
{
	const struct mime_part *p = ctx->p;
	struct store_writer *w = store_begin(ctx->store, ctx->key);
	struct mime_decoder *dec;
	uint64_t size;
	int rc;

	if (!w) {
		ctx->err = -EIO;
		return IMAP_OK;
	}
	dec = mime_decoder_new(binary ? MIME_ENC_7BIT : p->encoding, p->type, p->charset, to_store,
			       w);
	if (!dec) {
		store_abort(w);
		ctx->err = -ENOMEM;
		return IMAP_OK;
	}
	rc = spool_fetch(c, ctx, binary, dec);
	if (rc == IMAP_OK && !ctx->err && mime_decoder_finish(dec) < 0)
		ctx->err = -EIO;
	mime_decoder_free(dec);
	if (rc == IMAP_OK && !ctx->err)
		ctx->err = store_commit(w, &size);
	else
		store_abort(w);
	return rc;
}

static int run_spool(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct spool_ctx *ctx = ud;
	bool binary = imap_conn_has_cap(c, "BINARY") && server_decodes(ctx->p);
	const char *code;
	int rc;

	ctx->err = 0;
	if (st->uidvalidity != ctx->uidvalidity) {
		ctx->err = -ESTALE;
		return IMAP_ENO;
	}
	rc = spool_once(c, ctx, binary);
	code = imap_conn_last_code(c);
	if (binary && rc == IMAP_ENO && code &&
	    (strcmp(code, "UNKNOWN-CTE") == 0 || strcmp(code, "PARSE") == 0)) {
		log_msg(LOG_INFO, "UID %u part %s: server cannot decode it; decoding here",
			ctx->uid, ctx->p->section);
		rc = spool_once(c, ctx, false);
	}
	return rc;
}

int msg_content_spool(struct imap_pool *pool, struct store *store, const char *mailbox,
		      uint32_t uidvalidity, uint32_t uid, const struct msg_detail *d, size_t part,
		      int *fd, uint64_t *size)
{
	struct spool_ctx ctx = { .uid = uid, .uidvalidity = uidvalidity, .store = store };
	char *key;
	int rc;

	ctx.p = part_tree_get(d->tree, part);
	if (asprintf(&key, "v1\ncontent\n%s\n%u\n%u\n%s", mailbox, uidvalidity, uid,
		     ctx.p->section) < 0)
		return -ENOMEM;
	ctx.key = key;
	rc = store_open(store, key, fd, size);
	if (rc == -ENOENT) {
		rc = errno_of(pool_run(pool, mailbox, run_spool, &ctx), ctx.err);
		if (rc == 0)
			rc = store_open(store, key, fd, size);
		if (rc == -EIO)
			log_msg(LOG_ERR, "cannot fetch UID %u part %s", uid, ctx.p->section);
	}
	free(key);
	return rc;
}
