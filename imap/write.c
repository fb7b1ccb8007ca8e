#include "write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "quote.h"

static bool is_data(const struct imap_resp *r, const char *name)
{
	return r->kind == IMAP_RESP_UNTAGGED && r->status == IMAP_STATUS_NONE && r->name &&
	       strcmp(r->name, name) == 0;
}

static bool code_is(const char *code, const char *name)
{
	return code && strcmp(code, name) == 0;
}

/* A wire name goes quoted, never pasted: *q malloc'd, or the refusal
 * (nothing sent). Wire names are 7-bit, so only a caller's bug fails. */
static int quote_name(struct imap_conn *c, const char *mailbox, char **q)
{
	*q = mailbox ? imap_quote(mailbox) : NULL;
	if (*q)
		return IMAP_OK;
	if (mailbox && errno == ENOMEM)
		return IMAP_ENOMEM;
	return imap_conn_refuse(c, IMAP_EBAD, "mailbox name cannot be quoted: not sent");
}

/* ---- flags ---- */

/* ATOM-CHAR (RFC 3501 9): CHAR except ( ) { SP CTL % * " \ ] */
static bool atom_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && !strchr("(){%*\"\\]", ch);
}

bool imap_flag_syntax_ok(const char *s, size_t len)
{
	if (len && *s == '\\')
		s++, len--;
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!atom_char((unsigned char)s[i]))
			return false;
	return true;
}

/* "" or flags separated by single spaces. */
static bool flags_ok(const char *flags)
{
	const char *p = flags, *sp;

	if (!*p)
		return true;
	for (;;) {
		sp = strchr(p, ' ');
		if (!imap_flag_syntax_ok(p, sp ? (size_t)(sp - p) : strlen(p)))
			return false;
		if (!sp)
			return true;
		p = sp + 1;
	}
}

bool imap_flags_has(const char *list, const char *flag, size_t n)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " ");

		if (len == n && strncasecmp(p, flag, n) == 0)
			return true;
		p += len + (p[len] == ' ');
	}
	return false;
}

bool imap_flag_permanent(const struct imap_conn *c, const char *flag)
{
	const char *perm = imap_conn_permanent_flags(c);

	if (!imap_conn_read_write(c) || !imap_flag_syntax_ok(flag, strlen(flag)))
		return false;
	if (!perm)
		return true;
	/* "\*": new keywords may be created; system flags must be listed. */
	return imap_flags_has(perm, flag, strlen(flag)) ||
	       (flag[0] != '\\' && imap_flags_has(perm, "\\*", 2));
}

/* ---- SELECT ---- */

struct select_ctx {
	struct buf perm;   /* PERMANENTFLAGS, space separated */
	bool got_perm;
};

static void on_select(void *ud, const struct imap_resp *r)
{
	struct select_ctx *ctx = ud;
	const struct imap_arg *items;
	size_t n;

	if (r->kind != IMAP_RESP_UNTAGGED || r->status != IMAP_STATUS_OK ||
	    !code_is(r->code, "PERMANENTFLAGS") || r->code_args.len < 1 ||
	    !imap_arg_list(&r->code_args.items[0], &items, &n))
		return;
	ctx->got_perm = true;
	ctx->perm.len = 0;
	buf_add(&ctx->perm, "", 0);
	for (size_t i = 0; i < n; i++) {
		const char *f = imap_arg_atom(&items[i]);

		/* "\*" is kept: it says keywords may be made up. */
		if (f && (strcmp(f, "\\*") == 0 || imap_flag_syntax_ok(f, strlen(f))))
			buf_addf(&ctx->perm, "%s%s", ctx->perm.len ? " " : "", f);
	}
}

int imap_select(struct imap_conn *c, const char *mailbox, struct imap_mailbox_status *st)
{
	struct select_ctx ctx = { 0 };
	struct imap_mailbox_status got;
	int rc;

	rc = imap_open_mailbox(c, "SELECT", mailbox, &got, on_select, &ctx);
	/* Selected, but read-only: for a writer that is a refusal. */
	if (rc == IMAP_OK && code_is(imap_conn_last_code(c), "READ-ONLY"))
		rc = IMAP_ENO;
	else if (rc == IMAP_OK && ctx.perm.oom)
		rc = IMAP_ENOMEM;
	else if (rc == IMAP_OK)
		rc = imap_conn_set_read_write(c, ctx.got_perm ? ctx.perm.data : NULL);
	if (st)
		*st = rc == IMAP_OK ? got : (struct imap_mailbox_status){ 0 };
	buf_free(&ctx.perm);
	return rc;
}

bool imap_selected_rw(const struct imap_conn *c)
{
	return imap_conn_read_write(c);
}

/* ---- STATUS ---- */

struct status_ctx {
	const char *mailbox;
	struct imap_mailbox_status st;
	bool got;
};

static bool arg_u32(const struct imap_arg *a, uint32_t *v)
{
	uint64_t n;

	if (!imap_arg_number(a, &n) || n > UINT32_MAX)
		return false;
	*v = (uint32_t)n;
	return true;
}

static void on_status(void *ud, const struct imap_resp *r)
{
	struct status_ctx *ctx = ud;
	const struct imap_arg *items;
	const char *name;
	size_t len, n;
	uint64_t v;

	/* Other mailboxes' STATUS may come unasked (NOTIFY): only ours counts. */
	if (!is_data(r, "STATUS") || r->args.len < 2 ||
	    !imap_arg_astring(&r->args.items[0], &name, &len) || len != strlen(ctx->mailbox) ||
	    memcmp(name, ctx->mailbox, len) || !imap_arg_list(&r->args.items[1], &items, &n))
		return;
	ctx->got = true;
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (imap_arg_atom_eq(&items[i], "MESSAGES"))
			arg_u32(&items[i + 1], &ctx->st.exists);
		else if (imap_arg_atom_eq(&items[i], "UIDNEXT"))
			arg_u32(&items[i + 1], &ctx->st.uidnext);
		else if (imap_arg_atom_eq(&items[i], "UIDVALIDITY"))
			arg_u32(&items[i + 1], &ctx->st.uidvalidity);
		else if (imap_arg_atom_eq(&items[i], "HIGHESTMODSEQ") &&
			 imap_arg_number(&items[i + 1], &v) && v < (1ULL << 63))
			ctx->st.highestmodseq = v;
	}
}

int imap_status(struct imap_conn *c, const char *mailbox, struct imap_mailbox_status *st)
{
	struct status_ctx ctx = { .mailbox = mailbox };
	bool modseq = imap_conn_has_cap(c, "CONDSTORE") || imap_conn_has_cap(c, "QRESYNC");
	char *q;
	int rc;

	*st = (struct imap_mailbox_status){ 0 };
	rc = quote_name(c, mailbox, &q);
	if (rc)
		return rc;
	rc = imap_conn_cmd(c, on_status, &ctx, "STATUS %s (MESSAGES UIDNEXT UIDVALIDITY%s)", q,
			   modseq ? " HIGHESTMODSEQ" : "");
	free(q);
	if (rc == IMAP_OK && !ctx.got)
		return imap_conn_refuse(c, IMAP_EPROTO, "STATUS answered without its data");
	if (rc == IMAP_OK)
		*st = ctx.st;
	return rc;
}

/* ---- mailboxes ---- */

/* verb "mailbox": CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE. */
static int mailbox_cmd(struct imap_conn *c, const char *verb, const char *mailbox)
{
	char *q;
	int rc = quote_name(c, mailbox, &q);

	if (rc)
		return rc;
	rc = imap_conn_cmd(c, NULL, NULL, "%s %s", verb, q);
	free(q);
	return rc;
}

int imap_create(struct imap_conn *c, const char *mailbox)
{
	return mailbox_cmd(c, "CREATE", mailbox);
}

int imap_delete(struct imap_conn *c, const char *mailbox)
{
	return mailbox_cmd(c, "DELETE", mailbox);
}

int imap_subscribe(struct imap_conn *c, const char *mailbox, bool on)
{
	return mailbox_cmd(c, on ? "SUBSCRIBE" : "UNSUBSCRIBE", mailbox);
}

int imap_rename(struct imap_conn *c, const char *from, const char *to)
{
	char *qf, *qt = NULL;
	int rc = quote_name(c, from, &qf);

	if (rc == IMAP_OK)
		rc = quote_name(c, to, &qt);
	if (rc == IMAP_OK)
		rc = imap_conn_cmd(c, NULL, NULL, "RENAME %s %s", qf, qt);
	free(qf);
	free(qt);
	return rc;
}

struct exists_ctx {
	const char *mailbox;
	bool exists;
};

static void on_list_exact(void *ud, const struct imap_resp *r)
{
	struct exists_ctx *ctx = ud;
	const struct imap_arg *attrs;
	const char *name;
	size_t len, n;

	if (!is_data(r, "LIST") || r->args.len < 3 ||
	    !imap_arg_list(&r->args.items[0], &attrs, &n) ||
	    !imap_arg_astring(&r->args.items[2], &name, &len) ||
	    len != strlen(ctx->mailbox) || memcmp(name, ctx->mailbox, len))
		return;
	for (size_t i = 0; i < n; i++)
		if (imap_arg_atom_eq(&attrs[i], "\\NonExistent"))
			return;
	ctx->exists = true;
}

int imap_mailbox_exists(struct imap_conn *c, const char *mailbox, bool *exists)
{
	struct exists_ctx ctx = { .mailbox = mailbox };
	char *q;
	int rc;

	*exists = false;
	rc = quote_name(c, mailbox, &q);
	if (rc)
		return rc;
	/* A name holding % or * is a pattern to LIST: only an exact match counts. */
	rc = imap_conn_cmd(c, on_list_exact, &ctx, "LIST \"\" %s", q);
	free(q);
	if (rc == IMAP_OK)
		*exists = ctx.exists;
	return rc;
}

int imap_unselect(struct imap_conn *c)
{
	struct imap_mailbox_status st;
	int rc;

	if (imap_conn_has_cap(c, "UNSELECT"))
		rc = imap_conn_cmd(c, NULL, NULL, "UNSELECT");
	else
		rc = imap_examine(c, "INBOX", &st);
	/* Either way no selection is recorded: whoever next wants a mailbox
	 * here selects it again, and no status is kept for INBOX. */
	if (rc == IMAP_OK)
		rc = imap_conn_set_selected(c, NULL);
	return rc;
}

static void on_any_list(void *ud, const struct imap_resp *r)
{
	bool *found = ud;

	if (is_data(r, "LIST"))
		*found = true;
}

int imap_has_children(struct imap_conn *c, const char *mailbox, char delim, bool *found)
{
	char *pattern, *q;
	int rc;

	*found = false;
	if (!delim || strpbrk(mailbox, "%*"))
		return IMAP_OK;
	pattern = malloc(strlen(mailbox) + 3);
	if (!pattern)
		return IMAP_ENOMEM;
	sprintf(pattern, "%s%c%%", mailbox, delim);
	rc = quote_name(c, pattern, &q);
	free(pattern);
	if (rc)
		return rc;
	rc = imap_conn_cmd(c, on_any_list, found, "LIST \"\" %s", q);
	free(q);
	return rc;
}

/* ---- flags and expunge on the selected mailbox ---- */

/* What a change on the selected mailbox needs before it is sent. */
static int check_rw(struct imap_conn *c, uint32_t uid)
{
	if (uid == 0)
		return imap_conn_refuse(c, IMAP_EBAD, "UID 0: not sent");
	if (!imap_conn_read_write(c))
		return imap_conn_refuse(c, IMAP_EBAD, "no mailbox selected read-write: not sent");
	return IMAP_OK;
}

int imap_store_flags(struct imap_conn *c, uint32_t uid, const char *flags)
{
	int rc = check_rw(c, uid);

	if (rc)
		return rc;
	if (!flags || !flags_ok(flags))
		return imap_conn_refuse(c, IMAP_EBAD, "flags are not atoms: not sent");
	return imap_conn_cmd(c, NULL, NULL, "UID STORE %u FLAGS.SILENT (%s)", (unsigned)uid, flags);
}

int imap_store_deleted(struct imap_conn *c, uint32_t uid)
{
	int rc = check_rw(c, uid);

	if (rc)
		return rc;
	return imap_conn_cmd(c, NULL, NULL, "UID STORE %u +FLAGS.SILENT (\\Deleted)", (unsigned)uid);
}

int imap_uid_expunge(struct imap_conn *c, uint32_t uid)
{
	int rc = check_rw(c, uid);

	if (rc)
		return rc;
	/* A plain EXPUNGE would take other clients' \Deleted messages too. */
	if (!imap_conn_has_cap(c, "UIDPLUS"))
		return imap_conn_refuse(c, IMAP_ECONFIG, "no UIDPLUS, so no UID EXPUNGE: not sent");
	return imap_conn_cmd(c, NULL, NULL, "UID EXPUNGE %u", (unsigned)uid);
}

/* ---- COPYUID / APPENDUID (RFC 4315) ---- */

#define MAX_TOKENS 4

/* A response code's arguments, each an atom (s NULL when not one). */
struct tokens {
	const char *s[MAX_TOKENS];
	size_t len[MAX_TOKENS];
	size_t n;              /* how many there are, even beyond MAX_TOKENS */
};

static void tokens_of_text(const char *t, struct tokens *tk)
{
	*tk = (struct tokens){ 0 };
	for (const char *p = t; p && *p;) {
		size_t len = strcspn(p, " ");

		if (tk->n < MAX_TOKENS) {
			tk->s[tk->n] = p;
			tk->len[tk->n] = len;
		}
		tk->n++;
		p += len + (p[len] == ' ');
	}
}

static void tokens_of_args(const struct imap_arg *list, struct tokens *tk)
{
	*tk = (struct tokens){ .n = list->len };
	for (size_t i = 0; i < list->len && i < MAX_TOKENS; i++) {
		tk->s[i] = imap_arg_atom(&list->items[i]);
		tk->len[i] = tk->s[i] ? list->items[i].len : 0;
	}
}

/* Token i is one number 1..2^32-1: a set ("5:7", "5,6") is not. */
static bool token_u32(const struct tokens *tk, size_t i, uint32_t *v)
{
	uint64_t n = 0;

	if (i >= tk->n || i >= MAX_TOKENS || !tk->s[i] || tk->len[i] == 0 || tk->len[i] > 10)
		return false;
	for (size_t k = 0; k < tk->len[i]; k++) {
		if (tk->s[i][k] < '0' || tk->s[i][k] > '9')
			return false;
		n = n * 10 + (uint64_t)(tk->s[i][k] - '0');
	}
	if (n == 0 || n > UINT32_MAX)
		return false;
	*v = (uint32_t)n;
	return true;
}

/* COPYUID validity src dst for the one uid sent, or (uid 0) APPENDUID
 * validity uid; anything else is "the server did not say". */
static struct imap_landed landed_from(const struct tokens *tk, uint32_t uid)
{
	struct imap_landed to = { 0 };
	uint32_t src;

	if (uid == 0 && tk->n == 2 && token_u32(tk, 0, &to.uidvalidity) &&
	    token_u32(tk, 1, &to.uid))
		return to;
	if (uid != 0 && tk->n == 3 && token_u32(tk, 0, &to.uidvalidity) &&
	    token_u32(tk, 1, &src) && src == uid && token_u32(tk, 2, &to.uid))
		return to;
	return (struct imap_landed){ 0 };
}

/* From the last tagged reply's code, if it is code. */
static struct imap_landed landed_tagged(const struct imap_conn *c, const char *code, uint32_t uid)
{
	struct tokens tk;

	if (!code_is(imap_conn_last_code(c), code))
		return (struct imap_landed){ 0 };
	tokens_of_text(imap_conn_last_code_args(c), &tk);
	return landed_from(&tk, uid);
}

/* ---- COPY and MOVE ---- */

int imap_uid_copy(struct imap_conn *c, uint32_t uid, const char *dest, struct imap_landed *to)
{
	char *q;
	int rc;

	*to = (struct imap_landed){ 0 };
	if (uid == 0)
		return imap_conn_refuse(c, IMAP_EBAD, "UID 0: not sent");
	rc = quote_name(c, dest, &q);
	if (rc)
		return rc;
	rc = imap_conn_cmd(c, NULL, NULL, "UID COPY %u %s", (unsigned)uid, q);
	free(q);
	if (rc == IMAP_OK)
		*to = landed_tagged(c, "COPYUID", uid);
	return rc;
}

struct move_ctx {
	uint32_t uid;
	struct imap_landed to;
	bool got;
};

/* RFC 6851 4.3: COPYUID comes in an untagged OK before the EXPUNGEs. */
static void on_move(void *ud, const struct imap_resp *r)
{
	struct move_ctx *ctx = ud;
	struct tokens tk;

	if (r->kind != IMAP_RESP_UNTAGGED || r->status != IMAP_STATUS_OK ||
	    !code_is(r->code, "COPYUID") || ctx->got)
		return;
	tokens_of_args(&r->code_args, &tk);
	ctx->to = landed_from(&tk, ctx->uid);
	ctx->got = true;
}

int imap_uid_move(struct imap_conn *c, uint32_t uid, const char *dest, struct imap_landed *to)
{
	struct move_ctx ctx = { .uid = uid };
	char *q;
	int rc = check_rw(c, uid);

	*to = (struct imap_landed){ 0 };
	if (rc)
		return rc;
	if (!imap_conn_has_cap(c, "MOVE"))
		return imap_conn_refuse(c, IMAP_ECONFIG, "no MOVE: not sent");
	rc = quote_name(c, dest, &q);
	if (rc)
		return rc;
	rc = imap_conn_cmd(c, on_move, &ctx, "UID MOVE %u %s", (unsigned)uid, q);
	free(q);
	if (rc == IMAP_OK)
		*to = ctx.got ? ctx.to : landed_tagged(c, "COPYUID", uid);
	return rc;
}

/* ---- APPEND ---- */

/* pread: the caller's file offset is not used, nor moved. */
static int read_fd(void *ud, char *buf, size_t len, uint64_t off)
{
	const int *fd = ud;

	while (len > 0) {
		ssize_t n = pread(*fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The file shrank under us: the literal cannot be made whole. */
			if (n == 0)
				errno = EIO;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int imap_append(struct imap_conn *c, const char *mailbox, const char *flags, int fd,
		uint64_t size, struct imap_landed *to)
{
	struct buf head = { 0 };
	char *q;
	int rc;

	*to = (struct imap_landed){ 0 };
	if (!flags || !flags_ok(flags))
		return imap_conn_refuse(c, IMAP_EBAD, "flags are not atoms: not sent");
	if (size > IMAP_SIZE_MAX)
		return imap_conn_refuse(c, IMAP_EBAD, "message too large: not sent");
	rc = quote_name(c, mailbox, &q);
	if (rc)
		return rc;
	buf_addf(&head, "APPEND %s ", q);
	if (*flags)
		buf_addf(&head, "(%s) ", flags);
	free(q);
	if (head.oom)
		rc = IMAP_ENOMEM;
	else
		rc = imap_conn_cmd_literal(c, NULL, NULL, head.data, size, read_fd, &fd);
	buf_free(&head);
	if (rc == IMAP_OK)
		*to = landed_tagged(c, "APPENDUID", 0);
	return rc;
}

/* ---- SEARCH ---- */

struct search_ctx {
	uint32_t first;   /* UIDs below are dropped */
	struct imap_uids got;
	size_t cap;
	bool oom;
};

static void on_search(void *ud, const struct imap_resp *r)
{
	struct search_ctx *ctx = ud;
	uint32_t uid;

	if (!is_data(r, "SEARCH"))
		return;
	for (size_t i = 0; i < r->args.len && !ctx->oom; i++) {
		/* (MODSEQ n) and garbage are skipped; so is 0, never a UID. */
		if (!arg_u32(&r->args.items[i], &uid) || uid == 0 || uid < ctx->first)
			continue;
		if (ctx->got.n == ctx->cap) {
			size_t cap = ctx->cap ? ctx->cap * 2 : 16;
			uint32_t *n = realloc(ctx->got.uids, cap * sizeof(*n));

			if (!n) {
				ctx->oom = true;
				break;
			}
			ctx->got.uids = n;
			ctx->cap = cap;
		}
		ctx->got.uids[ctx->got.n++] = uid;
	}
}

/* Hands the result over, or frees it: out is defined either way. */
static int search_done(struct search_ctx *ctx, int rc, struct imap_uids *out)
{
	if (rc == IMAP_OK && ctx->oom)
		rc = IMAP_ENOMEM;
	if (rc == IMAP_OK && ctx->got.n > 0) {
		*out = ctx->got;
		return rc;
	}
	free(ctx->got.uids);
	*out = (struct imap_uids){ 0 };
	return rc;
}

int imap_search_uids_from(struct imap_conn *c, uint32_t first, struct imap_uids *out)
{
	struct search_ctx ctx = { .first = first ? first : 1 };
	int rc;

	rc = imap_conn_cmd(c, on_search, &ctx, "UID SEARCH UID %u:*", (unsigned)ctx.first);
	return search_done(&ctx, rc, out);
}

static int read_mem(void *ud, char *buf, size_t len, uint64_t off)
{
	memcpy(buf, (const char *)ud + off, len);
	return 0;
}

int imap_search_message_id(struct imap_conn *c, uint32_t first, const char *message_id,
			   struct imap_uids *out)
{
	struct search_ctx ctx = { .first = first ? first : 1 };
	char head[80], *q;
	int rc;

	*out = (struct imap_uids){ 0 };
	/* HEADER is a substring search: "" or blanks match every message
	 * that has the header, and a lost change would be "found". */
	if (!message_id || !message_id[strspn(message_id, " \t")])
		return imap_conn_refuse(c, IMAP_EBAD, "no Message-ID: not sent");
	q = imap_quote(message_id);
	if (q) {
		rc = imap_conn_cmd(c, on_search, &ctx, "UID SEARCH UID %u:* HEADER Message-ID %s",
				   (unsigned)ctx.first, q);
		free(q);
		return search_done(&ctx, rc, out);
	}
	if (errno == ENOMEM)
		return IMAP_ENOMEM;
	/* 8-bit or CR/LF: as a literal, and 8-bit is UTF-8 to the server. */
	snprintf(head, sizeof head, "UID SEARCH CHARSET UTF-8 UID %u:* HEADER Message-ID ",
		 (unsigned)ctx.first);
	rc = imap_conn_cmd_literal(c, on_search, &ctx, head, strlen(message_id), read_mem,
				   (void *)message_id);
	return search_done(&ctx, rc, out);
}

int imap_uid_present(struct imap_conn *c, uint32_t uid, bool *present)
{
	struct search_ctx ctx = { .first = uid };
	struct imap_uids got;
	int rc;

	*present = false;
	if (uid == 0)
		return imap_conn_refuse(c, IMAP_EBAD, "UID 0: not sent");
	rc = imap_conn_cmd(c, on_search, &ctx, "UID SEARCH UID %u", (unsigned)uid);
	rc = search_done(&ctx, rc, &got);
	for (size_t i = 0; i < got.n; i++)
		*present = *present || got.uids[i] == uid;
	free(got.uids);
	return rc;
}
