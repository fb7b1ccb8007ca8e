#include "message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "b64map.h"
#include "bodystructure.h"
#include "buf.h"
#include "client.h"
#include "decode.h"
#include "keys.h"
#include "log.h"
#include "source.h"
#include "parser.h"
#include "names.h"
#include "split.h"

/* Spooling fetches this much per command: one round trip per MiB keeps the
 * parser's buffers small whatever the part's size. */
#define SPOOL_CHUNK (1024 * 1024)

struct msg_detail {
	int refs;                 /* atomic */
	struct part_tree *tree;
	char *subject, *from, *message_id;
	uint64_t *binsize;        /* per part: BINARY.SIZE, or UINT64_MAX */
	char *bodystructure;      /* as IMAP text, for the metadata cache */
	uint64_t *local_size;     /* per part: size cut and decoded locally, or UINT64_MAX */
	/* Per part (NULL for a small message): a base64 part's verified layout
	 * (CONTENT_B64), NULL until probed; set once by compare-and-swap and
	 * kept until the detail goes, so that a copy taken is never torn. */
	struct b64map **map;
	/* Per part (with map): set (atomically, never cleared) when the part is
	 * read whole instead, its layout irregular or its content in the store. */
	bool *map_whole;
	bool small;               /* served from a whole copy of the message */
	bool binary;              /* the server offered BINARY when it was fetched */
};

struct detail_ctx {
	const uint32_t *uids;     /* sorted */
	const bool *small;
	size_t n;
	struct msg_detail **d;    /* d[i] for uids[i], NULL until it comes */
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
	for (size_t i = 0; d->map && i < part_tree_count(d->tree); i++)
		free(d->map[i]);
	part_tree_free(d->tree);
	free(d->subject);
	free(d->from);
	free(d->message_id);
	free(d->binsize);
	free(d->bodystructure);
	free(d->local_size);
	free(d->map);
	free(d->map_whole);
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


/*
 * Dovecot 2.3.19 can answer a BINARY.SIZE that is not the length of what
 * BINARY.PEEK returns (4948 for a 6058-byte base64 PDF, seen here; see
 * size_trusted), and a wrong size would cut or pad the file. So a size that
 * may be wrong is checked by reading two bytes across its end: exactly one
 * must come back. A wrong one is dropped and the part is decoded here.
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

/*
 * Whether Dovecot's BINARY.SIZE of part i can be taken as it is. It derives
 * a part's size from sizes that count a bare LF as CRLF while it bounds the
 * part by physical offsets, so on a message with bare LFs the part reaches
 * into the parts after it, and the decoding of those changes its size
 * (reproduced here: 4954 for a 6058-byte part followed by a base64 one; the
 * same part followed by plain text, or last, is right). Only parts that
 * Dovecot converts count, and part indices are in document order.
 */
static bool size_trusted(const struct part_tree *t, size_t i)
{
	for (size_t j = i + 1; j < part_tree_count(t); j++) {
		enum mime_encoding e = part_tree_get(t, j)->encoding;

		if (e == MIME_ENC_BASE64 || e == MIME_ENC_QP)
			return false;
	}
	return true;
}

/* Asks BINARY.SIZE of the leaves the server can decode for us; text is left
 * out, it is converted to UTF-8 and so spooled anyway. */
static int fetch_binary_sizes(struct imap_conn *c, uint32_t uid, struct msg_detail *d)
{
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
	d->binary = imap_conn_has_cap(c, "BINARY");
	if (k && d->binary) {
		rc = imap_fetch_binary_sizes(c, uid, sections, k, sizes);
		for (size_t j = 0; rc == IMAP_OK && j < k; j++) {
			if (sizes[j] != UINT64_MAX && !size_trusted(d->tree, which[j]))
				rc = check_binary_size(c, uid, part_tree_get(d->tree, which[j]),
						       &sizes[j]);
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

static struct msg_detail *detail_new(bool small)
{
	struct msg_detail *d = calloc(1, sizeof(*d));

	if (d) {
		d->refs = 1;
		d->small = small;
	}
	return d;
}

/* Room for the sizes of parts decoded locally, none known yet. */
static int detail_sizes(struct msg_detail *d)
{
	size_t n = d->tree ? part_tree_count(d->tree) : 1;

	d->local_size = malloc(n * sizeof(*d->local_size));
	if (!d->local_size)
		return -ENOMEM;
	if (!d->small && d->tree) {
		d->map = calloc(n, sizeof(*d->map));
		d->map_whole = calloc(n, sizeof(*d->map_whole));
		if (!d->map || !d->map_whole)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		d->local_size[i] = UINT64_MAX;
	return 0;
}

/* Fills a detail from a FETCH's ENVELOPE and BODYSTRUCTURE. */
static int detail_fill(struct msg_detail *d, const struct imap_msg_meta *meta)
{
	char err[128];

	if (meta->have & IMAP_META_BODYSTRUCTURE) {
		d->tree = bodystructure_tree(meta->bodystructure, err, sizeof(err));
		if (!d->tree)
			log_msg(LOG_WARNING, "UID %u: unreadable structure (%s): no parts shown",
				meta->uid, err);
		d->bodystructure = imap_arg_to_text(meta->bodystructure);
		/* EINVAL: a NUL inside, which no C string holds. The parts
		 * still show; only the metadata cache cannot keep them. */
		if (!d->bodystructure && errno != EINVAL)
			return -ENOMEM;
	}
	if (detail_sizes(d) < 0)
		return -ENOMEM;
	d->subject = text_or_empty(meta->envelope.subject);
	d->from = text_or_empty(meta->envelope.from);
	d->message_id = strdup(meta->envelope.message_id ? meta->envelope.message_id : "");
	return d->subject && d->from && d->message_id ? 0 : -ENOMEM;
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void on_detail(void *ud, const struct imap_msg_meta *meta)
{
	struct detail_ctx *ctx = ud;
	const uint32_t *at = bsearch(&meta->uid, ctx->uids, ctx->n, sizeof(*ctx->uids), cmp_uid);
	size_t i;

	if (!at || ctx->err || !(meta->have & IMAP_META_ENVELOPE))
		return;
	i = (size_t)(at - ctx->uids);
	if (ctx->d[i])
		return;
	ctx->d[i] = detail_new(ctx->small[i]);
	if (!ctx->d[i] || detail_fill(ctx->d[i], meta) < 0)
		ctx->err = -ENOMEM;
}

static int run_detail(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct detail_ctx *ctx = ud;
	char *set = malloc(ctx->n * 11 + 1);
	size_t len = 0;
	int rc;

	(void)st;
	if (!set)
		return IMAP_ENOMEM;
	for (size_t i = 0; i < ctx->n; i++) {
		msg_detail_unref(ctx->d[i]); /* a retry starts afresh */
		ctx->d[i] = NULL;
		len += (size_t)sprintf(set + len, "%s%u", i ? "," : "", ctx->uids[i]);
	}
	rc = imap_fetch_meta(c, set, IMAP_META_ENVELOPE | IMAP_META_BODYSTRUCTURE, on_detail, ctx);
	free(set);
	/* A small message's parts come from its whole copy, never by BINARY. */
	for (size_t i = 0; rc == IMAP_OK && !ctx->err && i < ctx->n; i++)
		if (ctx->d[i] && !ctx->d[i]->small)
			rc = fetch_binary_sizes(c, ctx->uids[i], ctx->d[i]);
	return rc;
}

int msg_details_fetch(struct source *src, const char *mailbox, uint32_t uidvalidity,
		      const uint32_t *uids, const bool *small, size_t n, struct msg_detail **out)
{
	struct detail_ctx ctx = { .uids = uids, .small = small, .n = n, .d = out };
	struct source_cmd cmd = {
		.mailbox = mailbox, .uidvalidity = uidvalidity, .fn = run_detail, .ud = &ctx,
	};
	int rc;

	memset(out, 0, n * sizeof(*out));
	rc = source_run(src, &cmd);
	if (ctx.err)
		rc = ctx.err;
	if (rc) {
		if (rc == -EIO)
			log_msg(LOG_ERR, "cannot fetch the structure of UID %u...", uids[0]);
		for (size_t i = 0; i < n; i++) {
			msg_detail_unref(out[i]);
			out[i] = NULL;
		}
	}
	return rc;
}

/* A BODYSTRUCTURE kept as text (imap_arg_to_text) back as a tree. */
static struct part_tree *tree_from_text(const char *text)
{
	struct arena *a = arena_new(ARENA_CHUNK_MAX);
	struct part_tree *t = NULL;
	struct imap_arg *bs;
	char err[64];

	if (a && imap_arg_parse_text(text, strlen(text), a, &bs) == 0)
		t = bodystructure_tree(bs, err, sizeof(err));
	arena_free(a);
	return t;
}

struct msg_detail *msg_detail_restore(const char *bodystructure, const char *subject,
				      const char *from, const char *message_id)
{
	struct msg_detail *d = detail_new(true);

	if (!d)
		return NULL;
	d->tree = tree_from_text(bodystructure);
	if (d->tree && detail_sizes(d) < 0) {
		msg_detail_unref(d);
		return NULL;
	}
	d->bodystructure = strdup(bodystructure);
	d->subject = strdup(subject ? subject : "");
	d->from = strdup(from ? from : "");
	d->message_id = strdup(message_id ? message_id : "");
	if (!d->tree || !d->bodystructure || !d->subject || !d->from || !d->message_id) {
		msg_detail_unref(d);
		return NULL;
	}
	return d;
}

const char *msg_detail_bodystructure(const struct msg_detail *d)
{
	return d->small && d->tree ? d->bodystructure : NULL;
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

	if (d->small)
		return CONTENT_SPOOL;
	if (strcmp(p->type, "text") == 0)
		return CONTENT_SPOOL; /* converted to UTF-8: only the result has a size */
	if (d->binsize && d->binsize[part] != UINT64_MAX)
		return CONTENT_BINARY;
	if (p->encoding == MIME_ENC_7BIT || p->encoding == MIME_ENC_OTHER)
		return CONTENT_RAW;
	/* Without BINARY a base64 part is read in ranges when its lines are
	 * regular: known once probed (msg_content_map). With BINARY offered, a
	 * part whose BINARY.SIZE was wrong keeps the whole-part path. */
	if (p->encoding == MIME_ENC_BASE64 && !d->binary && d->map &&
	    !__atomic_load_n(&d->map_whole[part], __ATOMIC_ACQUIRE))
		return CONTENT_B64;
	return CONTENT_SPOOL;
}

uint64_t msg_content_size(const struct msg_detail *d, size_t part)
{
	if (msg_content_mode(d, part) == CONTENT_BINARY)
		return d->binsize[part];
	return part_tree_get(d->tree, part)->size;
}

struct spool_ctx {
	uint32_t uid;
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

	(void)st;
	ctx->err = 0;
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


int msg_content_spool(struct source *src, struct store *store, const char *mailbox,
		      uint32_t uidvalidity, uint32_t uid, const struct msg_detail *d, size_t part,
		      int *fd, uint64_t *size)
{
	struct spool_ctx ctx = { .uid = uid, .store = store };
	char *key;
	int rc;

	*fd = -1;
	*size = 0;
	ctx.p = part_tree_get(d->tree, part);
	key = cache_key_part("content", mailbox, uidvalidity, uid, ctx.p->section);
	if (!key)
		return -ENOMEM;
	ctx.key = key;
	rc = store_open(store, key, fd, size);
	if (rc == -ENOENT) {
		struct source_cmd cmd = {
			.mailbox = mailbox, .uidvalidity = uidvalidity, .fn = run_spool, .ud = &ctx,
		};

		rc = source_run(src, &cmd);
		if (ctx.err)
			rc = ctx.err;
		if (rc == 0)
			rc = store_open(store, key, fd, size);
		if (rc == -EIO)
			log_msg(LOG_ERR, "cannot fetch UID %u part %s", uid, ctx.p->section);
	}
	free(key);
	return rc;
}

/* ---- small messages: parts cut from the whole copy ------------------------- */

static int to_memory(void *ud, const char *data, size_t len)
{
	struct buf *b = ud;

	buf_add(b, data, len);
	return b->oom ? -1 : 0;
}

int msg_part_local(struct msg_detail *d, size_t part, const char *raw, size_t len, char **out,
		   size_t *out_len)
{
	const struct mime_part *p = part_tree_get(d->tree, part);
	struct buf b = { 0 };
	struct mime_decoder *dec;
	size_t off, n, got = 0;
	int rc = -ENOMEM;

	*out = NULL;
	*out_len = 0;
	if (mime_split(raw, len, d->tree, part, MIME_SPLIT_BODY, &off, &n) < 0)
		return -EAGAIN;
	/* An attached message's message.eml is its bytes as they are. */
	dec = p->is_message ? mime_decoder_new(MIME_ENC_7BIT, NULL, NULL, to_memory, &b)
			    : mime_decoder_new(p->encoding, p->type, p->charset, to_memory, &b);
	if (dec && mime_decoder_push(dec, raw + off, n) == 0 && mime_decoder_finish(dec) == 0) {
		got = b.len;
		*out = buf_take(&b);
	}
	if (*out) {
		__atomic_store_n(&d->local_size[part], (uint64_t)got, __ATOMIC_RELAXED);
		*out_len = got;
		rc = 0;
	}
	mime_decoder_free(dec);
	buf_free(&b);
	return rc;
}

uint64_t msg_part_local_size(const struct msg_detail *d, size_t part)
{
	return __atomic_load_n(&d->local_size[part], __ATOMIC_RELAXED);
}

/* ---- base64 parts read in ranges (CONTENT_B64) ----------------------------- */

struct probe_ctx {
	uint32_t uid;
	const struct mime_part *p;
	struct b64map map;
	int verdict;              /* 0, or -EILSEQ: not regular */
};

/* The part's head and tail in one FETCH (one range when they meet), each
 * asked with one byte more than the part should have: a longer part shows. */
static int run_probe(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct probe_ctx *ctx = ud;
	const struct mime_part *p = ctx->p;
	uint64_t off[2] = { 0 }, len[2];
	char *data[2] = { NULL, NULL };
	size_t n[2] = { 0, 0 };
	int rc;

	(void)st;
	b64map_probe_ranges(p->size, &len[0], &off[1]);
	len[1] = p->size - off[1] + 1;
	if (off[1] == 0)
		len[0]++;
	rc = imap_fetch_ranges(c, ctx->uid, p->section, off, len, off[1] ? 2 : 1, data, n);
	if (rc == IMAP_ENO || rc == IMAP_EBAD) {
		/* Refused or answered otherwise than asked: the part is read
		 * whole, as without this probe (a message gone shows there). */
		ctx->verdict = -EILSEQ;
		rc = IMAP_OK;
	} else if (rc == IMAP_OK)
		ctx->verdict = off[1] ? b64map_probe(&ctx->map, p->size, data[0], n[0], off[1],
						     data[1], n[1])
				      : b64map_probe(&ctx->map, p->size, data[0], n[0], 0, data[0],
						     n[0]);
	free(data[0]);
	free(data[1]);
	return rc;
}

void msg_content_map_drop(struct msg_detail *d, size_t part)
{
	if (d->map_whole)
		__atomic_store_n(&d->map_whole[part], true, __ATOMIC_RELEASE);
}

/* Whether the store holds the part's decoded content already: a whole read
 * or a complete fill, in this mount or an earlier one. It is read from
 * there, with the size it had then. */
static bool in_store(struct store *store, const char *mailbox, uint32_t uidvalidity,
		     uint32_t uid, const struct mime_part *p)
{
	char *key = cache_key_part("content", mailbox, uidvalidity, uid, p->section);
	bool found = key && store_has(store, key);

	free(key);
	return found;
}

/* Keeps map as part's layout (the first of racing probes wins). */
static const struct b64map *keep_map(struct msg_detail *d, size_t part, const struct b64map *map)
{
	struct b64map *copy = malloc(sizeof(*copy)), *none = NULL;

	if (!copy)
		return NULL;
	*copy = *map;
	if (!__atomic_compare_exchange_n(&d->map[part], &none, copy, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		free(copy);
		return none;
	}
	return copy;
}

int msg_content_map(struct source *src, struct store *store, const char *mailbox,
		    uint32_t uidvalidity, uint32_t uid, struct msg_detail *d, size_t part,
		    struct b64map *out)
{
	struct probe_ctx ctx = { .uid = uid, .p = part_tree_get(d->tree, part) };
	struct source_cmd cmd = {
		.mailbox = mailbox, .uidvalidity = uidvalidity, .fn = run_probe, .ud = &ctx,
	};
	const struct b64map *map;
	int rc;

	if (msg_content_mode(d, part) != CONTENT_B64)
		return -EILSEQ;
	map = __atomic_load_n(&d->map[part], __ATOMIC_ACQUIRE);
	if (!map) {
		if (in_store(store, mailbox, uidvalidity, uid, ctx.p)) {
			msg_content_map_drop(d, part);
			return -EILSEQ;
		}
		rc = source_run(src, &cmd);
		if (rc)
			return rc;
		if (ctx.verdict) {
			log_msg(LOG_INFO, "UID %u part %s: base64 lines not regular; reading it whole",
				uid, ctx.p->section);
			msg_content_map_drop(d, part);
			return -EILSEQ;
		}
		map = keep_map(d, part, &ctx.map);
		if (!map)
			return -ENOMEM;
	}
	*out = *map;
	return 0;
}
