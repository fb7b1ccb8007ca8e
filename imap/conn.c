#include "conn.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "quote.h"

#define TRACE_MAX 1000          /* bytes of one traced response */
#define TRACE_LITERAL_MAX 200   /* longer strings are traced as {N bytes} */
#define LOGOUT_TIMEOUT_MS 1000
#define SCRAM_MAX_ITER 1000000  /* PBKDF2 rounds a server may ask for */
#define SASL_CONT 1             /* await_reply: a continuation request arrived */

struct imap_conn {
	struct imap_transport *t;
	struct imap_parser *parser;
	unsigned next_tag;
	int timeout_ms;
	/* The running command ends by the earlier of these: its own limit
	 * (timeout_ms from its start) and the user's (imap_conn_set_deadline). */
	struct timespec cmd_until, user_until;
	bool cmd_limited, user_limited;
	atomic_bool aborted;    /* imap_conn_abort ran (maybe on another thread) */
	bool broken;
	bool logging_out;       /* BYE is expected, not an error */
	bool caps_known;        /* caps are current for this state */
	char **caps;
	size_t ncaps;
	char *last_text;
	char *last_code;
	char *last_code_args;   /* the code's arguments as text, NULL with no code */
	char *selected;
	bool read_write;        /* selected by SELECT, not [READ-ONLY] */
	char *permflags;        /* PERMANENTFLAGS of a read-write selection, or NULL */
	char **enabled;         /* ENABLEd extensions */
	size_t nenabled;
	uint64_t bytes_in;
	struct divert *divert;  /* during imap_conn_cmd_sink: large literals to a sink */
};

/* ---- protocol trace ---- */

/* Server bytes go to a log: control characters must not forge log lines. */
static void trace_clean(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n && b->len < TRACE_MAX; i++) {
		char ch = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];

		buf_add(b, &ch, 1);
	}
}

static void trace_arg(struct buf *b, const struct imap_arg *a)
{
	if (b->len >= TRACE_MAX)
		return;
	switch (a->type) {
	case IMAP_ARG_ATOM:
		trace_clean(b, a->str, a->len);
		break;
	case IMAP_ARG_NIL:
		buf_str(b, "NIL");
		break;
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		if (a->len > TRACE_LITERAL_MAX) {
			buf_addf(b, "{%zu bytes}", a->len);
			break;
		}
		buf_str(b, "\"");
		trace_clean(b, a->str, a->len);
		buf_str(b, "\"");
		break;
	case IMAP_ARG_LIST:
		buf_str(b, "(");
		for (size_t i = 0; i < a->len && b->len < TRACE_MAX; i++) {
			if (i)
				buf_str(b, " ");
			trace_arg(b, &a->items[i]);
		}
		buf_str(b, ")");
		break;
	}
}

static void trace_items(struct buf *b, const struct imap_arg *list)
{
	for (size_t i = 0; i < list->len && b->len < TRACE_MAX; i++) {
		buf_str(b, " ");
		trace_arg(b, &list->items[i]);
	}
}

/* r as text, control characters replaced, at most about TRACE_MAX bytes. */
static void resp_text(struct buf *b, const struct imap_resp *r)
{
	if (r->kind == IMAP_RESP_TAGGED)
		trace_clean(b, r->tag, strlen(r->tag));
	else
		buf_str(b, r->kind == IMAP_RESP_CONTINUE ? "+" : "*");
	if (r->has_number)
		buf_addf(b, " %u", (unsigned)r->number);
	if (r->name && *r->name) {
		buf_str(b, " ");
		trace_clean(b, r->name, strlen(r->name));
	}
	if (r->code) {
		buf_str(b, " [");
		trace_clean(b, r->code, strlen(r->code));
		trace_items(b, &r->code_args);
		buf_str(b, "]");
	}
	trace_items(b, &r->args);
	if (r->text && *r->text) {
		buf_str(b, " ");
		trace_clean(b, r->text, strlen(r->text));
	}
	if (b->len >= TRACE_MAX)
		buf_str(b, " ...");
}

static void trace_resp(const struct imap_resp *r)
{
	struct buf b = { 0 };

	resp_text(&b, r);
	if (!b.oom)
		log_msg(LOG_DEBUG, "S: %s", b.data);
	buf_free(&b);
}

/* ---- state ---- */

static int set_text(char **dst, const char *s)
{
	char *n = NULL;

	if (s) {
		n = strdup(s);
		if (!n)
			return IMAP_ENOMEM;
	}
	free(*dst);
	*dst = n;
	return IMAP_OK;
}

/* The text a command ends with, told by imapfs itself: no server code. */
static void set_own_text(struct imap_conn *c, const char *fmt, va_list ap)
{
	struct buf b = { 0 };
	char *text;

	buf_vaddf(&b, fmt, ap);
	text = buf_take(&b);
	if (text) {
		free(c->last_text);
		c->last_text = text;
	}
	free(c->last_code);
	free(c->last_code_args);
	c->last_code = c->last_code_args = NULL;
}

/* Records why the connection is unusable; every later command fails at once. */
static int conn_fail(struct imap_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int conn_fail(struct imap_conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_own_text(c, fmt, ap);
	va_end(ap);
	if (err == IMAP_ENET || err == IMAP_ETIMEOUT || err == IMAP_EPROTO || err == IMAP_ENOMEM ||
	    err == IMAP_ETLS || err == IMAP_ESTOP)
		c->broken = true;
	return err;
}

int imap_conn_refuse(struct imap_conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_own_text(c, fmt, ap);
	va_end(ap);
	return err;
}

/* The code's arguments as text, so that they outlive the response
 * (COPYUID, APPENDUID); NULL when there is no code. */
static int set_code_args(struct imap_conn *c, const struct imap_resp *r)
{
	struct buf b = { 0 };

	free(c->last_code_args);
	c->last_code_args = NULL;
	if (!r->code)
		return IMAP_OK;
	buf_add(&b, "", 0);
	for (size_t i = 0; i < r->code_args.len; i++) {
		char *t = imap_arg_to_text(&r->code_args.items[i]);

		if (!t && errno == ENOMEM)
			b.oom = true;
		/* A string with a NUL has no text: a gap that no number reads as. */
		buf_addf(&b, "%s%s", i ? " " : "", t ? t : "\"\"");
		free(t);
	}
	c->last_code_args = buf_take(&b);
	return c->last_code_args ? IMAP_OK : IMAP_ENOMEM;
}

static void free_caps(char **caps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(caps[i]);
	free(caps);
}

static int set_caps(struct imap_conn *c, const struct imap_arg *list)
{
	char **caps = calloc(list->len + 1, sizeof(*caps));
	size_t n = 0;

	if (!caps)
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	for (size_t i = 0; i < list->len; i++) {
		const char *s = imap_arg_atom(&list->items[i]);

		if (!s)
			continue;
		caps[n] = strdup(s);
		if (!caps[n++]) {
			free_caps(caps, n);
			return conn_fail(c, IMAP_ENOMEM, "out of memory");
		}
	}
	free_caps(c->caps, c->ncaps);
	c->caps = caps;
	c->ncaps = n;
	c->caps_known = true;
	return IMAP_OK;
}

/* ---- time limits ---- */

/* A command (or the greeting, or a TLS handshake) starts: its own clock. */
static void start_clock(struct imap_conn *c)
{
	c->cmd_limited = c->timeout_ms >= 0;
	if (c->cmd_limited)
		clock_deadline(&c->cmd_until, c->timeout_ms);
}

/* The reply is lost mid-way, so the connection cannot go on. */
static int timed_out(struct imap_conn *c)
{
	if (c->user_limited && clock_ms_since(&c->user_until) >= 0)
		return conn_fail(c, IMAP_ETIMEOUT, "command cut off at its deadline");
	return conn_fail(c, IMAP_ETIMEOUT, "command not done within %d ms", c->timeout_ms);
}

/*
 * What one transport call may wait: *ms is the time the command has left
 * (-1: no limit). A command past its deadline fails here, before it waits:
 * a server that trickles a byte now and then must not stretch it.
 */
static int time_left(struct imap_conn *c, int *ms)
{
	long left = LONG_MAX, user;

	/* A deadline set from outside is the whole of the command's time:
	 * its caller knows how long the work may take (a request, or the
	 * first listing of a large account). */
	if (c->cmd_limited && !c->user_limited)
		left = -clock_ms_since(&c->cmd_until);
	if (c->user_limited) {
		user = -clock_ms_since(&c->user_until);
		left = user < left ? user : left;
	}
	*ms = left == LONG_MAX ? -1 : left > INT_MAX ? INT_MAX : (int)left;
	return left <= 0 ? timed_out(c) : IMAP_OK;
}

/* Why a transport call failed: the time ran out, imap_conn_abort, or the network. */
static int transport_failed(struct imap_conn *c, const char *doing)
{
	if (atomic_load(&c->aborted))
		return conn_fail(c, IMAP_ENET, "connection aborted");
	if (errno == ETIMEDOUT)
		return timed_out(c);
	return conn_fail(c, IMAP_ENET, "%s: %s", doing, strerror(errno));
}

/* ---- reading ---- */

#define EXCERPT_MAX 160   /* bytes of what the server sent, quoted in an error */

/* The parser refused what came: why, and the line it came in (escaped),
 * so that a server that writes an error of its own is understood. */
static int parse_failed(struct imap_conn *c)
{
	const char *why = imap_parser_error(c->parser);
	char seen[EXCERPT_MAX];

	imap_parser_excerpt(c->parser, seen, sizeof seen);
	return conn_fail(c, IMAP_EPROTO, "protocol error: %s in \"%s\"", why ? why : "?", seen);
}

static int feed_failed(struct imap_conn *c)
{
	const char *why = imap_parser_error(c->parser);

	if (why && *why && strcmp(why, "no error"))
		return parse_failed(c);
	return conn_fail(c, IMAP_ENOMEM, "out of memory");
}

static int read_resp(struct imap_conn *c, struct imap_resp **out)
{
	char buf[16384];
	ssize_t n;
	int ms, rc;

	for (;;) {
		switch (imap_parser_next(c->parser, out)) {
		case IMAP_PARSE_OK:
			if (log_debug_enabled())
				trace_resp(*out);
			return IMAP_OK;
		case IMAP_PARSE_ERROR:
			return parse_failed(c);
		case IMAP_PARSE_MORE:
			break;
		}
		rc = time_left(c, &ms);
		if (rc)
			return rc;
		n = transport_read(c->t, buf, sizeof(buf), ms);
		if (n == 0 && atomic_load(&c->aborted))
			return conn_fail(c, IMAP_ENET, "connection aborted");
		if (n == 0)
			return conn_fail(c, IMAP_ENET, "connection closed by server");
		if (n < 0)
			return transport_failed(c, "connection lost");
		c->bytes_in += (uint64_t)n;
		if (c->divert) {
			enum divert_result dr = divert_push(c->divert, buf, (size_t)n);

			if (dr == DIVERT_SINK)
				return conn_fail(c, IMAP_ESTOP, "stopped: the reader wants no more");
			if (dr != DIVERT_OK)
				return feed_failed(c);
		} else if (imap_parser_feed(c->parser, buf, (size_t)n) < 0) {
			return feed_failed(c);
		}
	}
}

static int handle_untagged(struct imap_conn *c, const struct imap_resp *r,
			   imap_untagged_fn *fn, void *ud)
{
	int rc = IMAP_OK;

	if (r->status == IMAP_STATUS_BYE) {
		if (c->logging_out)
			return IMAP_OK;
		return conn_fail(c, IMAP_ENET, "server closed the connection: %s", r->text);
	}
	if (r->status == IMAP_STATUS_NONE && !strcmp(r->name, "CAPABILITY"))
		rc = set_caps(c, &r->args);
	else if (r->status != IMAP_STATUS_NONE && r->code && !strcmp(r->code, "CAPABILITY"))
		rc = set_caps(c, &r->code_args);
	if (rc == IMAP_OK && fn)
		fn(ud, r);
	return rc;
}

static int handle_tagged(struct imap_conn *c, const char *tag, const struct imap_resp *r)
{
	int rc;

	if (strcmp(r->tag, tag))
		return conn_fail(c, IMAP_EPROTO, "protocol error: reply tagged %.40s, expected %s",
				 r->tag, tag);
	if (set_text(&c->last_text, r->text) || set_text(&c->last_code, r->code) ||
	    set_code_args(c, r))
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	switch (r->status) {
	case IMAP_STATUS_OK:
		if (r->code && !strcmp(r->code, "CAPABILITY")) {
			rc = set_caps(c, &r->code_args);
			if (rc)
				return rc;
		}
		return IMAP_OK;
	case IMAP_STATUS_NO:
		return IMAP_ENO;
	case IMAP_STATUS_BAD:
		return IMAP_EBAD;
	default:
		return conn_fail(c, IMAP_EPROTO, "protocol error: tagged %s reply", r->name);
	}
}

/*
 * Reads until the tagged reply to tag. With cont non-NULL a continuation
 * request is handed back there (SASL_CONT); without, it is a protocol error
 * because we never send anything that waits for one.
 */
static int await_reply(struct imap_conn *c, const char *tag, imap_untagged_fn *fn, void *ud,
		       struct imap_resp **cont)
{
	struct imap_resp *r;
	int rc;

	for (;;) {
		rc = read_resp(c, &r);
		if (rc)
			return rc;
		switch (r->kind) {
		case IMAP_RESP_UNTAGGED:
			rc = handle_untagged(c, r, fn, ud);
			imap_resp_free(r);
			if (rc)
				return rc;
			break;
		case IMAP_RESP_CONTINUE:
			if (cont) {
				*cont = r;
				return SASL_CONT;
			}
			imap_resp_free(r);
			return conn_fail(c, IMAP_EPROTO,
					 "protocol error: unexpected continuation request");
		case IMAP_RESP_TAGGED:
			rc = handle_tagged(c, tag, r);
			imap_resp_free(r);
			return rc;
		}
	}
}

/* ---- writing ---- */

/* trace: what the debug log shows instead of the bytes (NULL: nothing). */
static int send_raw(struct imap_conn *c, const char *data, size_t len, const char *trace)
{
	int ms, rc;

	if (trace && log_debug_enabled())
		log_msg(LOG_DEBUG, "C: %s", trace);
	rc = time_left(c, &ms);
	if (rc)
		return rc;
	if (transport_write(c->t, data, len, ms) == 0)
		return IMAP_OK;
	return transport_failed(c, "cannot send to server");
}

/* A command starts: its tag, and its clock for the whole exchange. */
static void begin_cmd(struct imap_conn *c, char tag[16])
{
	snprintf(tag, 16, "a%u", ++c->next_tag);
	start_clock(c);
}

int imap_conn_vcmd(struct imap_conn *c, imap_untagged_fn *fn, void *ud, const char *fmt, va_list ap)
{
	struct buf b = { 0 };
	char tag[16];
	int rc;

	if (c->broken)
		return IMAP_ENET;
	begin_cmd(c, tag);
	buf_addf(&b, "%s ", tag);
	buf_vaddf(&b, fmt, ap);
	if (b.oom) {
		buf_free(&b);
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	}
	if (strpbrk(b.data, "\r\n")) {
		buf_free(&b);
		return imap_conn_refuse(c, IMAP_EBAD, "command contains CR or LF, not sent");
	}
	if (log_debug_enabled())
		log_msg(LOG_DEBUG, "C: %s", b.data);
	buf_add(&b, "\r\n", 2);
	rc = b.oom ? conn_fail(c, IMAP_ENOMEM, "out of memory") : send_raw(c, b.data, b.len, NULL);
	buf_free(&b);
	if (rc)
		return rc;
	return await_reply(c, tag, fn, ud, NULL);
}

int imap_conn_cmd(struct imap_conn *c, imap_untagged_fn *fn, void *ud, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = imap_conn_vcmd(c, fn, ud, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- commands with a literal ---- */

#define LITERAL_PIECE 65536       /* bytes read and sent at a time */
#define LITERAL_MINUS_MAX 4096    /* RFC 7888: LITERAL- allows {n+} up to this */

static int send_literal(struct imap_conn *c, uint64_t size, imap_literal_fn *rd, void *rd_ud)
{
	char *piece = malloc(size < LITERAL_PIECE ? (size_t)size + 1 : LITERAL_PIECE);
	char trace[48];
	int rc = IMAP_OK;

	if (!piece)
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	snprintf(trace, sizeof trace, "<literal of %" PRIu64 " bytes>", size);
	for (uint64_t off = 0; off < size && rc == IMAP_OK;) {
		size_t n = size - off < LITERAL_PIECE ? (size_t)(size - off) : LITERAL_PIECE;

		if (rd(rd_ud, piece, n, off) < 0)
			rc = conn_fail(c, IMAP_ESTOP, "cannot read what is to be sent: %s",
				       strerror(errno));
		else
			rc = send_raw(c, piece, n, off == 0 ? trace : NULL);
		off += n;
	}
	free(piece);
	return rc;
}

/* After "{n}": the server's "+" (IMAP_OK), or its tagged answer instead. */
static int await_continuation(struct imap_conn *c, const char *tag, imap_untagged_fn *fn,
			      void *ud)
{
	struct imap_resp *cont = NULL;
	int rc = await_reply(c, tag, fn, ud, &cont);

	if (rc == SASL_CONT) {
		imap_resp_free(cont);
		return IMAP_OK;
	}
	if (rc == IMAP_OK)
		return conn_fail(c, IMAP_EPROTO, "protocol error: OK before the literal was sent");
	return rc;
}

/*
 * The stream broke in the middle of the literal. A server that will not
 * take it may say so and hang up (NO [TOOBIG] for a non-synchronising
 * literal, or a BYE): what it said before is read, and a NO or BAD is the
 * command's answer (not done, so not to be checked as a lost command); the
 * connection stays broken either way.
 */
static int literal_cut(struct imap_conn *c, const char *tag, int rc)
{
	int got;

	if (rc != IMAP_ENET || atomic_load(&c->aborted))
		return rc;
	got = await_reply(c, tag, NULL, NULL, NULL);
	c->broken = true;
	return got == IMAP_ENO || got == IMAP_EBAD ? got : rc;
}

int imap_conn_cmd_literal(struct imap_conn *c, imap_untagged_fn *fn, void *ud, const char *head,
			  uint64_t size, imap_literal_fn *rd, void *rd_ud)
{
	bool nonsync = imap_conn_has_cap(c, "LITERAL+") ||
		       (imap_conn_has_cap(c, "LITERAL-") && size <= LITERAL_MINUS_MAX);
	struct buf b = { 0 };
	char tag[16];
	int rc;

	if (c->broken)
		return IMAP_ENET;
	if (strpbrk(head, "\r\n"))
		return imap_conn_refuse(c, IMAP_EBAD, "command contains CR or LF, not sent");
	begin_cmd(c, tag);
	buf_addf(&b, "%s %s{%" PRIu64 "%s}", tag, head, size, nonsync ? "+" : "");
	if (!b.oom && log_debug_enabled())
		log_msg(LOG_DEBUG, "C: %s", b.data);
	buf_add(&b, "\r\n", 2);
	rc = b.oom ? conn_fail(c, IMAP_ENOMEM, "out of memory") : send_raw(c, b.data, b.len, NULL);
	buf_free(&b);
	if (rc == IMAP_OK && !nonsync)
		rc = await_continuation(c, tag, fn, ud);
	if (rc == IMAP_OK)
		rc = literal_cut(c, tag, send_literal(c, size, rd, rd_ud));
	if (rc == IMAP_OK)
		rc = send_raw(c, "\r\n", 2, NULL);
	return rc ? rc : await_reply(c, tag, fn, ud, NULL);
}

static bool piece_text_ok(const struct imap_cmd_piece *p)
{
	return p->literal || (!memchr(p->data, '\r', p->len) && !memchr(p->data, '\n', p->len) &&
			      !memchr(p->data, '\0', p->len));
}

/* Logs the command sent so far (literals summarised) and empties trace. */
static void trace_flush(struct buf *trace)
{
	if (trace->len && !trace->oom && log_debug_enabled())
		log_msg(LOG_DEBUG, "C: %s", trace->data);
	trace->len = 0;
}

/* Sends what b holds and empties it. */
static int send_buf(struct imap_conn *c, struct buf *b)
{
	int rc;

	if (b->oom)
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	rc = send_raw(c, b->data, b->len, NULL);
	b->len = 0;
	return rc;
}

int imap_conn_cmd_pieces(struct imap_conn *c, imap_untagged_fn *fn, void *ud,
			 const struct imap_cmd_piece *p, size_t n)
{
	bool plus = imap_conn_has_cap(c, "LITERAL+"), minus = imap_conn_has_cap(c, "LITERAL-");
	struct buf b = { 0 }, trace = { 0 };
	char tag[16];
	int rc = IMAP_OK;

	if (c->broken)
		return IMAP_ENET;
	for (size_t i = 0; i < n; i++)
		if (!piece_text_ok(&p[i]))
			return imap_conn_refuse(c, IMAP_EBAD, "command contains CR, LF or NUL, not sent");
	begin_cmd(c, tag);
	buf_addf(&b, "%s ", tag);
	buf_addf(&trace, "%s ", tag);
	for (size_t i = 0; i < n && rc == IMAP_OK; i++) {
		bool nonsync = plus || (minus && p[i].len <= LITERAL_MINUS_MAX);

		if (!p[i].literal) {
			buf_add(&b, p[i].data, p[i].len);
			buf_add(&trace, p[i].data, p[i].len);
			continue;
		}
		buf_addf(&b, "{%zu%s}\r\n", p[i].len, nonsync ? "+" : "");
		buf_addf(&trace, "{%zu%s}", p[i].len, nonsync ? "+" : "");
		if (!nonsync) {
			trace_flush(&trace);
			rc = send_buf(c, &b);
			if (rc == IMAP_OK)
				rc = await_continuation(c, tag, fn, ud);
		}
		buf_str(&trace, "<literal>");
		buf_add(&b, p[i].data, p[i].len);
	}
	if (rc == IMAP_OK) {
		trace_flush(&trace);
		buf_add(&b, "\r\n", 2);
		rc = send_buf(c, &b);
	}
	buf_free(&b);
	buf_free(&trace);
	return rc ? rc : await_reply(c, tag, fn, ud, NULL);
}

void imap_conn_tag(const struct imap_conn *c, char tag[16])
{
	snprintf(tag, 16, "a%u", c->next_tag);
}

static int to_parser(void *ud, const char *data, size_t len)
{
	return imap_parser_feed(ud, data, len);
}

/* Whether tail (what precedes a literal on its line) ends in the item key. */
static bool follows_key(void *ud, const char *tail, size_t len)
{
	const char *key = ud;
	size_t klen = strlen(key);

	while (len && (tail[len - 1] == ' ' || tail[len - 1] == '~'))
		len--;
	return len >= klen && strncasecmp(tail + len - klen, key, klen) == 0 &&
	       (len == klen || tail[len - klen - 1] == ' ' || tail[len - klen - 1] == '(');
}

int imap_conn_cmd_sink(struct imap_conn *c, const char *key, divert_fn *sink, void *sink_ud,
		       imap_untagged_fn *fn, void *ud, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (c->broken)
		return IMAP_ENET;
	c->divert = divert_new(1, sink, sink_ud, to_parser, c->parser);
	if (!c->divert)
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	divert_set_accept(c->divert, follows_key, (void *)key);
	va_start(ap, fmt);
	rc = imap_conn_vcmd(c, fn, ud, fmt, ap);
	va_end(ap);
	/* A status line that ends like a literal header ("{5}") is text to the
	 * parser but not to the divert: what follows is out of step. */
	if (rc != IMAP_ENET && !c->broken && !divert_idle(c->divert))
		rc = conn_fail(c, IMAP_EPROTO, "protocol error: a reply ended inside a literal");
	divert_free(c->divert);
	c->divert = NULL;
	return rc;
}

/* ---- login ---- */

/* Leaves room for a CRLF after the NUL-terminated text. */
static char *b64_encode(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 3);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* Decodes base64 text; NULL if it is not valid base64 or on ENOMEM. */
static unsigned char *b64_decode(const char *s, size_t *outlen)
{
	size_t len = strlen(s), pad = 0;
	unsigned char *out;
	int n;

	if (len % 4 || len > (size_t)INT32_MAX)
		return NULL;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the bytes that padding stands for. */
	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	*outlen = (size_t)n - pad;
	out[*outlen] = '\0';
	return out;
}

/* Sends base64(data) as one line: an answer to a SASL challenge. */
static int send_sasl_line(struct imap_conn *c, const void *data, size_t len)
{
	char *line = b64_encode(data, len);
	size_t n;
	int rc;

	if (!line)
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	n = strlen(line);
	memcpy(line + n, "\r\n", 3);
	rc = send_raw(c, line, n + 2, "<secret>");
	OPENSSL_cleanse(line, n + 2);
	free(line);
	return rc;
}

/*
 * Starts AUTHENTICATE mech with an initial response: inline with SASL-IR
 * (RFC 4959), else after the server's first "+". Returns IMAP_OK when the
 * initial response is sent, or the tagged result if the server answered early.
 */
static int sasl_start(struct imap_conn *c, const char *tag, const char *mech, bool sasl_ir,
		      const void *ir, size_t irlen)
{
	struct imap_resp *cont = NULL;
	struct buf b = { 0 };
	char trace[80];
	char *b64;
	int rc;

	snprintf(trace, sizeof(trace), "%s AUTHENTICATE %s%s", tag, mech,
		 sasl_ir ? " <secret>" : "");
	buf_addf(&b, "%s AUTHENTICATE %s", tag, mech);
	if (sasl_ir) {
		b64 = b64_encode(ir, irlen);
		if (!b64)
			b.oom = true;
		else
			buf_addf(&b, " %s", *b64 ? b64 : "=");
		free(b64);
	}
	buf_add(&b, "\r\n", 2);
	rc = b.oom ? conn_fail(c, IMAP_ENOMEM, "out of memory") : send_raw(c, b.data, b.len, trace);
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	if (rc || sasl_ir)
		return rc;
	rc = await_reply(c, tag, NULL, NULL, &cont);
	if (rc == IMAP_OK)
		return conn_fail(c, IMAP_EPROTO, "protocol error: login done without a response");
	if (rc != SASL_CONT)
		return rc;
	imap_resp_free(cont);
	return send_sasl_line(c, ir, irlen);
}

/* Waits for the end of an exchange whose client part is done: any further
 * challenge is cancelled ("*") and the tagged reply returned. */
static int sasl_finish(struct imap_conn *c, const char *tag, const void *answer, size_t alen)
{
	struct imap_resp *cont = NULL;
	int rc, rounds = 0;

	for (;;) {
		rc = await_reply(c, tag, NULL, NULL, &cont);
		if (rc != SASL_CONT)
			return rc;
		imap_resp_free(cont);
		if (answer && rounds++ == 0)
			rc = send_sasl_line(c, answer, alen);
		else
			rc = send_raw(c, "*\r\n", 3, "*");
		if (rc)
			return rc;
	}
}

/* The server's error challenge (OAUTHBEARER, XOAUTH2) is answered as each
 * mechanism requires so that the server sends its tagged NO. */
static int auth_sasl(struct imap_conn *c, const char *mech, const void *ir, size_t irlen,
		     const void *err_answer, size_t alen)
{
	char tag[16];
	int rc;

	begin_cmd(c, tag);
	rc = sasl_start(c, tag, mech, imap_conn_has_cap(c, "SASL-IR"), ir, irlen);
	c->caps_known = false;
	if (rc)
		return rc;
	return sasl_finish(c, tag, err_answer, alen);
}

static int auth_plain(struct imap_conn *c, const struct imap_conn_config *cfg)
{
	struct buf b = { 0 };
	int rc;

	buf_add(&b, "", 1);  /* empty authorization identity */
	buf_str(&b, cfg->user);
	buf_add(&b, "", 1);
	buf_str(&b, cfg->password);
	if (b.oom)
		rc = conn_fail(c, IMAP_ENOMEM, "out of memory");
	else
		rc = auth_sasl(c, "PLAIN", b.data, b.len, NULL, 0);
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	return rc;
}

/* RFC 7628: the token goes in a GS2 header; on failure the server sends a
 * JSON challenge that must be answered with a lone ^A. */
static int auth_oauthbearer(struct imap_conn *c, const struct imap_conn_config *cfg)
{
	struct buf b = { 0 };
	int rc;

	buf_addf(&b, "n,a=%s,\001", cfg->user);
	if (cfg->host)
		buf_addf(&b, "host=%s\001", cfg->host);
	if (cfg->port)
		buf_addf(&b, "port=%s\001", cfg->port);
	buf_addf(&b, "auth=Bearer %s\001\001", cfg->password);
	if (b.oom)
		rc = conn_fail(c, IMAP_ENOMEM, "out of memory");
	else
		rc = auth_sasl(c, "OAUTHBEARER", b.data, b.len, "\001", 1);
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	return rc;
}

/* Google's XOAUTH2: like OAUTHBEARER, the error challenge gets an empty answer. */
static int auth_xoauth2(struct imap_conn *c, const struct imap_conn_config *cfg)
{
	struct buf b = { 0 };
	int rc;

	buf_addf(&b, "user=%s\001auth=Bearer %s\001\001", cfg->user, cfg->password);
	if (b.oom)
		rc = conn_fail(c, IMAP_ENOMEM, "out of memory");
	else
		rc = auth_sasl(c, "XOAUTH2", b.data, b.len, "", 0);
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	return rc;
}

/* Cancels an exchange ("*") and reads the server's tagged answer to it, so
 * that the connection stays in step; returns EAUTH with why. */
static int sasl_abort(struct imap_conn *c, const char *tag, const char *why)
{
	struct imap_resp *cont = NULL;
	int rc = send_raw(c, "*\r\n", 3, "*");

	if (!rc && await_reply(c, tag, NULL, NULL, &cont) == SASL_CONT)
		imap_resp_free(cont);
	return conn_fail(c, IMAP_EAUTH, "%s", why);
}

/* ---- SCRAM-SHA-256 (RFC 5802, RFC 7677) ---- */

struct scram {
	char *client_first_bare;  /* "n=USER,r=CNONCE" */
	char *server_first;       /* as received */
	char *fields;             /* a copy of server_first cut at the commas */
	const char *nonce;        /* the combined nonce, in fields */
	unsigned char *salt;
	size_t saltlen;
	unsigned long iter;
	unsigned char server_sig[SHA256_DIGEST_LENGTH];
};

static void scram_free(struct scram *s)
{
	free(s->client_first_bare);
	free(s->server_first);
	free(s->fields);
	free(s->salt);
}

static char *scram_client_first(const char *user)
{
	unsigned char raw[18];
	struct buf b = { 0 };
	char *nonce;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return NULL;
	nonce = b64_encode(raw, sizeof(raw));
	if (!nonce)
		return NULL;
	buf_str(&b, "n=");
	for (const char *p = user; *p; p++) {
		if (*p == ',')
			buf_str(&b, "=2C");
		else if (*p == '=')
			buf_str(&b, "=3D");
		else
			buf_add(&b, p, 1);
	}
	buf_addf(&b, ",r=%s", nonce);
	free(nonce);
	return buf_take(&b);
}

/* Checks "r=...,s=...,i=..." and that the nonce extends ours; NULL or why not. */
static const char *scram_parse_first(struct scram *s)
{
	const char *cnonce = strstr(s->client_first_bare, ",r=") + 3;
	char *salt, *iter, *end;

	s->fields = strdup(s->server_first);
	if (!s->fields)
		return "out of memory";
	if (strncmp(s->fields, "r=", 2))
		return "no nonce in the server's SCRAM message";
	s->nonce = s->fields + 2;
	salt = strstr(s->fields, ",s=");
	iter = salt ? strstr(salt, ",i=") : NULL;
	if (!salt || !iter)
		return "no salt or iteration count in the server's SCRAM message";
	*salt = *iter = '\0';
	salt += 3;
	iter += 3;
	errno = 0;
	s->iter = strtoul(iter, &end, 10);
	if (errno || end == iter || (*end && *end != ',') || s->iter < 1 ||
	    s->iter > SCRAM_MAX_ITER)
		return "bad iteration count in the server's SCRAM message";
	if (strlen(s->nonce) <= strlen(cnonce) || strncmp(s->nonce, cnonce, strlen(cnonce)))
		return "the server's SCRAM nonce does not extend ours";
	s->salt = b64_decode(salt, &s->saltlen);
	if (!s->salt || !s->saltlen)
		return "bad salt in the server's SCRAM message";
	return NULL;
}

static bool hmac256(const void *key, size_t keylen, const char *msg, unsigned char *out)
{
	unsigned int outlen = SHA256_DIGEST_LENGTH;

	return HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out,
		    &outlen) != NULL;
}

/* The client-final message; remembers the signature the server must answer with. */
static char *scram_client_final(struct scram *s, const char *password)
{
	unsigned char salted[SHA256_DIGEST_LENGTH], ckey[SHA256_DIGEST_LENGTH];
	unsigned char stored[SHA256_DIGEST_LENGTH], proof[SHA256_DIGEST_LENGTH];
	unsigned char skey[SHA256_DIGEST_LENGTH];
	struct buf msg = { 0 }, out = { 0 };
	char *p64 = NULL;
	bool ok;

	/* "biws" is base64("n,,"): no channel binding. */
	buf_addf(&out, "c=biws,r=%s", s->nonce);
	buf_addf(&msg, "%s,%s,%s", s->client_first_bare, s->server_first, out.data ? out.data : "");
	ok = !msg.oom && !out.oom;
	ok = ok && PKCS5_PBKDF2_HMAC(password, (int)strlen(password), s->salt, (int)s->saltlen,
				     (int)s->iter, EVP_sha256(), sizeof(salted), salted) == 1;
	ok = ok && hmac256(salted, sizeof(salted), "Client Key", ckey);
	ok = ok && SHA256(ckey, sizeof(ckey), stored);
	ok = ok && hmac256(stored, sizeof(stored), msg.data, proof);
	for (size_t i = 0; ok && i < sizeof(proof); i++)
		proof[i] ^= ckey[i];
	ok = ok && hmac256(salted, sizeof(salted), "Server Key", skey);
	ok = ok && hmac256(skey, sizeof(skey), msg.data, s->server_sig);
	ok = ok && (p64 = b64_encode(proof, sizeof(proof)));
	if (ok)
		buf_addf(&out, ",p=%s", p64);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(skey, sizeof(skey));
	free(p64);
	buf_free(&msg);
	if (!ok) {
		buf_free(&out);
		return NULL; /* buf_take would hand out "" */
	}
	return buf_take(&out);
}

/* Reads the server's next SASL message into *msg (decoded), or returns the tagged result. */
static int scram_challenge(struct imap_conn *c, const char *tag, char **msg)
{
	struct imap_resp *cont = NULL;
	unsigned char *raw;
	size_t len;
	int rc;

	rc = await_reply(c, tag, NULL, NULL, &cont);
	if (rc != SASL_CONT)
		return rc == IMAP_OK ? conn_fail(c, IMAP_EAUTH, "server ended SCRAM early") : rc;
	raw = b64_decode(cont->text, &len);
	imap_resp_free(cont);
	if (!raw || memchr(raw, '\0', len)) {
		free(raw);
		return sasl_abort(c, tag, "server sent an invalid SCRAM message");
	}
	*msg = (char *)raw;
	return SASL_CONT;
}

/* Checks "v=<ServerSignature>": proof that the server knows the password too. */
static int scram_verify(struct imap_conn *c, const char *tag, struct scram *s, const char *final)
{
	char *want = b64_encode(s->server_sig, sizeof(s->server_sig));
	bool good;
	int rc;

	if (!want)
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	good = !strncmp(final, "v=", 2) && !strcmp(final + 2, want);
	free(want);
	if (!good)
		return sasl_abort(c, tag, !strncmp(final, "e=", 2) ? "login refused by SCRAM" :
				  "server failed to prove it knows the password (SCRAM)");
	rc = send_sasl_line(c, "", 0);
	return rc ? rc : sasl_finish(c, tag, NULL, 0);
}

static int auth_scram(struct imap_conn *c, const struct imap_conn_config *cfg)
{
	struct scram s = { 0 };
	char tag[16], *first = NULL, *final = NULL, *msg = NULL;
	const char *why;
	int rc;

	s.client_first_bare = scram_client_first(cfg->user);
	if (!s.client_first_bare || asprintf(&first, "n,,%s", s.client_first_bare) < 0) {
		first = NULL;
		rc = conn_fail(c, IMAP_ENOMEM, "out of memory");
		goto out;
	}
	begin_cmd(c, tag);
	rc = sasl_start(c, tag, "SCRAM-SHA-256", imap_conn_has_cap(c, "SASL-IR"), first,
			strlen(first));
	c->caps_known = false;
	if (!rc)
		rc = scram_challenge(c, tag, &s.server_first);
	if (rc != SASL_CONT)
		goto out;
	why = scram_parse_first(&s);
	if (why) {
		rc = sasl_abort(c, tag, why);
		goto out;
	}
	final = scram_client_final(&s, cfg->password);
	if (final)
		rc = send_sasl_line(c, final, strlen(final));
	else
		rc = conn_fail(c, IMAP_ENOMEM, "out of memory");
	if (!rc)
		rc = scram_challenge(c, tag, &msg);
	if (rc == SASL_CONT)
		rc = scram_verify(c, tag, &s, msg);
out:
	free(first);
	free(final);
	free(msg);
	scram_free(&s);
	return rc;
}

/*
 * Appends one LOGIN argument: quoted if possible, else a synchronising
 * literal, for which the part before it is sent and the "+" awaited.
 */
static int login_arg(struct imap_conn *c, const char *tag, struct buf *b, const char *arg)
{
	struct imap_resp *cont = NULL;
	char *q = imap_quote(arg);
	int rc;

	if (q) {
		buf_str(b, q);
		OPENSSL_cleanse(q, strlen(q));
		free(q);
		return b->oom ? conn_fail(c, IMAP_ENOMEM, "out of memory") : IMAP_OK;
	}
	if (errno != EINVAL)
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	buf_addf(b, "{%zu}\r\n", strlen(arg));
	if (b->oom)
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	rc = send_raw(c, b->data, b->len, NULL);
	OPENSSL_cleanse(b->data, b->len);
	b->len = 0;
	if (rc)
		return rc;
	rc = await_reply(c, tag, NULL, NULL, &cont);
	if (rc == IMAP_OK)
		return conn_fail(c, IMAP_EPROTO, "protocol error: LOGIN accepted early");
	if (rc != SASL_CONT)
		return rc;
	imap_resp_free(cont);
	buf_str(b, arg);
	return b->oom ? conn_fail(c, IMAP_ENOMEM, "out of memory") : IMAP_OK;
}

static int auth_login(struct imap_conn *c, const struct imap_conn_config *cfg)
{
	struct buf b = { 0 };
	char tag[16], trace[40];
	int rc;

	if (imap_conn_has_cap(c, "LOGINDISABLED"))
		return conn_fail(c, IMAP_EAUTH, "the server does not allow LOGIN (LOGINDISABLED)");
	begin_cmd(c, tag);
	snprintf(trace, sizeof(trace), "%s LOGIN <secret>", tag);
	if (log_debug_enabled())
		log_msg(LOG_DEBUG, "C: %s", trace);
	buf_addf(&b, "%s LOGIN ", tag);
	rc = login_arg(c, tag, &b, cfg->user);
	if (!rc) {
		buf_str(&b, " ");
		rc = login_arg(c, tag, &b, cfg->password);
	}
	if (!rc) {
		buf_add(&b, "\r\n", 2);
		if (b.oom)
			rc = conn_fail(c, IMAP_ENOMEM, "out of memory");
		else
			rc = send_raw(c, b.data, b.len, NULL);
	}
	if (b.data)
		OPENSSL_cleanse(b.data, b.cap);
	buf_free(&b);
	c->caps_known = false;
	return rc ? rc : await_reply(c, tag, NULL, NULL, NULL);
}

static const struct {
	const char *name;
	int (*fn)(struct imap_conn *c, const struct imap_conn_config *cfg);
} mechanisms[] = {
	{ "login", auth_login },
	{ "plain", auth_plain },
	{ "oauthbearer", auth_oauthbearer },
	{ "xoauth2", auth_xoauth2 },
	{ "scram-sha-256", auth_scram },
};

static int login(struct imap_conn *c, const struct imap_conn_config *cfg)
{
	const char *mech = cfg->auth;
	int rc;

	if (!cfg->user || !cfg->password)
		return conn_fail(c, IMAP_EAUTH, "no user name or password to log in with");
	if (!mech && imap_conn_has_cap(c, "AUTH=PLAIN"))
		mech = "plain";
	else if (!mech && imap_conn_has_cap(c, "LOGINDISABLED"))
		return conn_fail(c, IMAP_EAUTH,
				 "no usable login mechanism (LOGINDISABLED and no AUTH=PLAIN)");
	else if (!mech)
		mech = "login";
	for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++) {
		if (strcasecmp(mech, mechanisms[i].name))
			continue;
		rc = mechanisms[i].fn(c, cfg);
		if (rc == IMAP_ENO || rc == IMAP_EBAD)
			return conn_fail(c, IMAP_EAUTH, "login refused: %s",
					 imap_conn_last_text(c));
		return rc;
	}
	return conn_fail(c, IMAP_ECONFIG, "unknown authentication mechanism %s", mech);
}

/* ---- opening ---- */

static int read_greeting(struct imap_conn *c, bool *preauth)
{
	struct imap_resp *r;
	int rc;

	rc = read_resp(c, &r);
	if (rc)
		return rc;
	if (r->kind != IMAP_RESP_UNTAGGED || (r->status != IMAP_STATUS_OK &&
	    r->status != IMAP_STATUS_PREAUTH && r->status != IMAP_STATUS_BYE)) {
		struct buf b = { 0 };

		resp_text(&b, r);
		imap_resp_free(r);
		rc = conn_fail(c, IMAP_EPROTO, "protocol error: not an IMAP greeting: %s",
			       b.oom ? "?" : b.data);
		buf_free(&b);
		return rc;
	}
	*preauth = r->status == IMAP_STATUS_PREAUTH;
	if (r->status == IMAP_STATUS_BYE)
		rc = conn_fail(c, IMAP_ENET, "server refused the connection: %s", r->text);
	else if (r->code && !strcmp(r->code, "CAPABILITY"))
		rc = set_caps(c, &r->code_args);
	imap_resp_free(r);
	return rc;
}

static int ensure_caps(struct imap_conn *c)
{
	int rc;

	if (c->caps_known)
		return IMAP_OK;
	rc = imap_conn_cmd(c, NULL, NULL, "CAPABILITY");
	if (rc == IMAP_OK && !c->caps_known)
		rc = conn_fail(c, IMAP_EPROTO, "protocol error: no CAPABILITY response");
	return rc;
}

static int start_tls(struct imap_conn *c, const struct imap_conn_config *cfg, bool preauth)
{
	struct imap_parser *fresh;
	char err[256];
	int rc, ms;

	if (preauth)
		return conn_fail(c, IMAP_ETLS, "server sent PREAUTH, so STARTTLS is impossible");
	rc = ensure_caps(c);
	if (rc)
		return rc;
	if (!imap_conn_has_cap(c, "STARTTLS"))
		return conn_fail(c, IMAP_ETLS, "server does not offer STARTTLS");
	rc = imap_conn_cmd(c, NULL, NULL, "STARTTLS");
	if (rc == IMAP_ENO || rc == IMAP_EBAD)
		return conn_fail(c, IMAP_ETLS, "STARTTLS refused: %s", c->last_text);
	if (rc)
		return rc;
	/* Bytes after the OK came in clear text, maybe from an attacker
	 * (CVE-2011-0411): they must not be read as if protected by TLS. */
	if (imap_parser_buffered(c->parser) > 0)
		return conn_fail(c, IMAP_ETLS, "server sent data after STARTTLS");
	fresh = imap_parser_new(NULL);
	if (!fresh)
		return conn_fail(c, IMAP_ENOMEM, "out of memory");
	imap_parser_free(c->parser);
	c->parser = fresh;
	/* The handshake has a time limit of its own, as the connect had. */
	start_clock(c);
	rc = time_left(c, &ms);
	if (rc)
		return rc;
	if (transport_tls(c->t, cfg->host, &cfg->tls_params, ms, err, sizeof(err)) < 0)
		return conn_fail(c, IMAP_ETLS, "%s", err);
	c->caps_known = false;
	return ensure_caps(c);
}

static void conn_free(struct imap_conn *c)
{
	if (!c)
		return;
	transport_free(c->t);
	imap_parser_free(c->parser);
	free_caps(c->caps, c->ncaps);
	free(c->last_text);
	free(c->last_code);
	free(c->last_code_args);
	free(c->selected);
	free(c->permflags);
	free_caps(c->enabled, c->nenabled);
	free(c);
}

static void set_err(char *err, size_t errlen, const char *s)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", s);
}

struct imap_conn *imap_conn_open_transport(const struct imap_conn_config *cfg,
					   struct imap_transport *t, char *err, size_t errlen,
					   int *why)
{
	struct imap_conn *c = calloc(1, sizeof(*c));
	bool preauth = false;
	int rc;

	if (!c || !(c->parser = imap_parser_new(NULL))) {
		free(c);
		transport_free(t);
		set_err(err, errlen, "out of memory");
		*why = IMAP_ENOMEM;
		return NULL;
	}
	c->t = t;
	c->timeout_ms = cfg->timeout_ms;
	start_clock(c);
	rc = read_greeting(c, &preauth);
	if (!rc && cfg->tls == TLS_STARTTLS && !cfg->tunnel)
		rc = start_tls(c, cfg, preauth);
	if (!rc && !preauth && !cfg->tunnel)
		rc = login(c, cfg);
	if (!rc)
		rc = ensure_caps(c);
	if (rc) {
		set_err(err, errlen, c->last_text ? c->last_text : imap_strerror(rc));
		*why = rc;
		conn_free(c);
		return NULL;
	}
	return c;
}

int imap_conn_check_policy(const struct imap_conn_config *cfg, char *err, size_t errlen)
{
	if (cfg->tunnel || cfg->tls != TLS_NONE || cfg->allow_plaintext ||
	    transport_host_is_loopback(cfg->host))
		return 0;
	snprintf(err, errlen, "refusing tls=none to %s: the password would cross the "
		 "network in clear text (use tls=starttls, or -o allow_plaintext)", cfg->host);
	return IMAP_ECONFIG;
}

struct imap_conn *imap_conn_open(const struct imap_conn_config *cfg, char *err, size_t errlen,
				 int *why)
{
	struct imap_transport *t;

	if (cfg->tunnel) {
		t = transport_tunnel(cfg->tunnel, cfg->cancel_fd ? cfg->cancel_fd : -1, err, errlen);
		*why = IMAP_ENET;
		return t ? imap_conn_open_transport(cfg, t, err, errlen, why) : NULL;
	}
	if (imap_conn_check_policy(cfg, err, errlen) != 0) {
		*why = IMAP_ECONFIG;
		return NULL;
	}
	t = transport_tcp(cfg->host, cfg->port, cfg->timeout_ms,
			  cfg->cancel_fd ? cfg->cancel_fd : -1, err, errlen);
	if (!t) {
		*why = errno == ETIMEDOUT ? IMAP_ETIMEOUT : IMAP_ENET;
		return NULL;
	}
	if (cfg->tls == TLS_IMPLICIT &&
	    transport_tls(t, cfg->host, &cfg->tls_params, cfg->timeout_ms, err, errlen) < 0) {
		transport_free(t);
		*why = IMAP_ETLS;
		return NULL;
	}
	return imap_conn_open_transport(cfg, t, err, errlen, why);
}

void imap_conn_close(struct imap_conn *c)
{
	if (!c)
		return;
	if (!c->broken) {
		/* A courtesy to the server: never wait long for it. */
		if (c->timeout_ms < 0 || c->timeout_ms > LOGOUT_TIMEOUT_MS)
			c->timeout_ms = LOGOUT_TIMEOUT_MS;
		c->logging_out = true;
		imap_conn_cmd(c, NULL, NULL, "LOGOUT");
	}
	conn_free(c);
}

/* ---- accessors ---- */

const char *imap_conn_last_text(const struct imap_conn *c)
{
	return c->last_text ? c->last_text : "";
}

const char *imap_conn_last_code(const struct imap_conn *c)
{
	return c->last_code;
}

const char *imap_conn_last_code_args(const struct imap_conn *c)
{
	return c->last_code_args;
}

bool imap_conn_has_cap(const struct imap_conn *c, const char *cap)
{
	for (size_t i = 0; i < c->ncaps; i++)
		if (!strcasecmp(c->caps[i], cap))
			return true;
	return false;
}

const char *const *imap_conn_caps(const struct imap_conn *c, size_t *n)
{
	*n = c->ncaps;
	return (const char *const *)c->caps;
}

bool imap_conn_broken(const struct imap_conn *c)
{
	/* Aborted between two commands, c is no better than broken: the next
	 * command would fail at once (and whoever holds c must not lend it). */
	return c->broken || atomic_load(&c->aborted);
}

void imap_conn_set_deadline(struct imap_conn *c, const struct timespec *until)
{
	c->user_limited = until != NULL;
	if (until)
		c->user_until = *until;
}

/* Only what is safe beside a running command: the transport's shutdown and
 * an atomic flag, nothing freed or reallocated. */
void imap_conn_abort(struct imap_conn *c)
{
	atomic_store(&c->aborted, true);
	transport_abort(c->t);
}

const char *imap_conn_selected(const struct imap_conn *c)
{
	return c->selected;
}

int imap_conn_set_selected(struct imap_conn *c, const char *mailbox)
{
	c->read_write = false;
	free(c->permflags);
	c->permflags = NULL;
	return set_text(&c->selected, mailbox);
}

int imap_conn_set_read_write(struct imap_conn *c, const char *permflags)
{
	if (!c->selected)
		return IMAP_EBAD;
	if (set_text(&c->permflags, permflags))
		return IMAP_ENOMEM;
	c->read_write = true;
	return IMAP_OK;
}

bool imap_conn_read_write(const struct imap_conn *c)
{
	return c->selected && c->read_write;
}

const char *imap_conn_permanent_flags(const struct imap_conn *c)
{
	return imap_conn_read_write(c) ? c->permflags : NULL;
}

bool imap_conn_enabled(const struct imap_conn *c, const char *ext)
{
	for (size_t i = 0; i < c->nenabled; i++)
		if (!strcasecmp(c->enabled[i], ext))
			return true;
	return false;
}

int imap_conn_set_enabled(struct imap_conn *c, const char *ext)
{
	char **e, *dup;

	if (imap_conn_enabled(c, ext))
		return IMAP_OK;
	dup = strdup(ext);
	if (!dup)
		return IMAP_ENOMEM;
	e = realloc(c->enabled, (c->nenabled + 1) * sizeof(*e));
	if (!e) {
		free(dup);
		return IMAP_ENOMEM;
	}
	e[c->nenabled++] = dup;
	c->enabled = e;
	return IMAP_OK;
}

uint64_t imap_conn_bytes_in(const struct imap_conn *c)
{
	return c->bytes_in;
}

const char *imap_strerror(int err)
{
	switch (err) {
	case IMAP_OK: return "success";
	case IMAP_ENET: return "network error";
	case IMAP_ETIMEOUT: return "timed out";
	case IMAP_ETLS: return "TLS error";
	case IMAP_EAUTH: return "authentication failed";
	case IMAP_ENO: return "refused by server";
	case IMAP_EBAD: return "rejected by server as invalid";
	case IMAP_EPROTO: return "protocol error";
	case IMAP_ENOMEM: return "out of memory";
	case IMAP_ECONFIG: return "refused by configuration";
	case IMAP_EBUSY: return "no idle connection";
	case IMAP_ESTOP: return "stopped by the reader";
	}
	return "unknown error";
}

void imap_conn_set_timeout(struct imap_conn *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}
