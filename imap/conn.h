/*
 * conn — one logged-in IMAP connection: greeting, capabilities, STARTTLS,
 * login, and commands with their untagged responses.
 *
 *   struct imap_conn *c = imap_conn_open(&cfg, err, sizeof err, &why);  // ready to use
 *   rc = imap_conn_cmd(c, on_untagged, ctx, "UID FETCH %s (FLAGS)", set);
 *   if (rc == IMAP_ENET) ... the connection is broken: close it, open another
 *   imap_conn_close(c);
 *
 * A connection is used by one thread at a time (the pool sees to that);
 * only imap_conn_abort may be called from another thread meanwhile.
 *
 * Time: each command (all its writes and reads, up to its tagged reply) must
 * end by the deadline set with imap_conn_set_deadline, or when none is set
 * within timeout_ms of its start. A server that
 * trickles its answer a byte at a time cannot stretch that. Past it the
 * command returns IMAP_ETIMEOUT and the connection is broken.
 * With log debug on, every line sent and received is logged ("C: "/"S: "),
 * except that LOGIN and AUTHENTICATE arguments are replaced by "<secret>" and
 * literals longer than a line are summarised by their size.
 */
#ifndef IMAPFS_CONN_H
#define IMAPFS_CONN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "divert.h"
#include "parser.h"
#include "transport.h"

enum tls_mode { TLS_IMPLICIT, TLS_STARTTLS, TLS_NONE };

/* What went wrong; IMAP_ENET and IMAP_ETIMEOUT leave the connection broken. */
enum imap_err {
	IMAP_OK = 0,
	IMAP_ENET = -1,      /* connect failed, stream closed, transport error, BYE */
	IMAP_ETIMEOUT = -2,  /* no answer within the time limit */
	IMAP_ETLS = -3,      /* TLS handshake or certificate check failed; STARTTLS missing */
	IMAP_EAUTH = -4,     /* login refused, or no usable mechanism */
	IMAP_ENO = -5,       /* the server answered NO */
	IMAP_EBAD = -6,      /* the server answered BAD */
	IMAP_EPROTO = -7,    /* malformed or oversized response (connection broken) */
	IMAP_ENOMEM = -8,
	IMAP_ECONFIG = -9,   /* refused by policy: plaintext to a non-loopback host... */
	IMAP_EBUSY = -10,    /* pool_run_idle: no idle connection */
	IMAP_ESTOP = -11,    /* a sink refused a literal's bytes (connection broken) */
};

struct imap_conn_config {
	const char *host;
	const char *port;         /* "993", "143"... */
	enum tls_mode tls;
	struct tls_params tls_params;
	bool allow_plaintext;     /* tls=none to a host that is not loopback */
	const char *tunnel;       /* non-NULL: pre-authenticated command, no TLS/login */
	const char *user;
	const char *password;     /* or OAuth token for oauthbearer/xoauth2 */
	const char *auth;         /* NULL: best offered; "login", "plain", ... */
	int timeout_ms;           /* limit for connect, TLS, the greeting and each whole command (<0: none) */
	/* 0: none; else readable once every wait must end (transport.h): the
	 * pool's, so that pool_abort reaches connections still being opened. */
	int cancel_fd;
};

struct imap_conn;

/* Connects, reads the greeting, upgrades to TLS, logs in and learns the
 * capabilities. On failure returns NULL, *why is the imap_err and err one line. */
struct imap_conn *imap_conn_open(const struct imap_conn_config *cfg, char *err, size_t errlen,
				 int *why);
/* The same over a stream that is already open (tests use a tunnel to a fake
 * server); takes ownership of t, even on failure. cfg->tunnel set means
 * pre-authenticated: no STARTTLS and no login. */
struct imap_conn *imap_conn_open_transport(const struct imap_conn_config *cfg,
					   struct imap_transport *t, char *err, size_t errlen,
					   int *why);
/* The policy imap_conn_open applies before it connects (tls=none only to a
 * loopback host or with allow_plaintext): 0, or IMAP_ECONFIG with err set.
 * For callers that check before asking a password. */
int imap_conn_check_policy(const struct imap_conn_config *cfg, char *err, size_t errlen);
void imap_conn_close(struct imap_conn *c);

/* Called for every untagged response that arrives while a command runs. */
typedef void imap_untagged_fn(void *ud, const struct imap_resp *r);

/*
 * Sends one command (a tag and CRLF are added; fmt must not contain CR/LF) and
 * reads until its tagged reply. Returns IMAP_OK, IMAP_ENO/IMAP_EBAD (the
 * server's text via imap_conn_last_text), or a connection error.
 */
int imap_conn_cmd(struct imap_conn *c, imap_untagged_fn *fn, void *ud, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int imap_conn_vcmd(struct imap_conn *c, imap_untagged_fn *fn, void *ud, const char *fmt, va_list ap);

/*
 * imap_conn_cmd, but the content of each literal that follows the item key
 * ("BODY[2]<0>", any case) in the responses goes to sink as it arrives, and
 * the responses hold an empty literal in its place (see divert.h); other
 * literals are kept as usual. A sink that refuses breaks the connection
 * (the rest of a literal cannot be skipped): IMAP_ESTOP.
 */
int imap_conn_cmd_sink(struct imap_conn *c, const char *key, divert_fn *sink, void *sink_ud,
		       imap_untagged_fn *fn, void *ud, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* Fills buf with the len bytes of a literal that start at offset off:
 * 0, or -1 with errno. */
typedef int imap_literal_fn(void *ud, char *buf, size_t len, uint64_t off);

/*
 * A command that ends in one literal of size bytes: "head{size}", CRLF, the
 * bytes (asked of rd a piece of at most 64 KiB at a time, so any size passes
 * in bounded memory), CRLF. head must not contain CR/LF (IMAP_EBAD, nothing
 * sent). The literal is non-synchronising ({n+}) with LITERAL+, or with
 * LITERAL- when size <= 4096 (RFC 7888); else the server's "+" is awaited,
 * and a tagged reply in its place (NO [TOOBIG], [OVERQUOTA]...) is returned
 * as any reply is, the literal unsent and the connection usable. The whole
 * exchange, upload included, is one command for the time limits. A failing
 * rd breaks the connection (a literal cannot be cut short): IMAP_ESTOP. A
 * server that hangs up in the middle of the literal after a tagged NO/BAD
 * (as for a literal too large to take) gives that NO/BAD, its code
 * readable, the connection broken; without one, IMAP_ENET.
 */
int imap_conn_cmd_literal(struct imap_conn *c, imap_untagged_fn *fn, void *ud, const char *head,
			  uint64_t size, imap_literal_fn *rd, void *rd_ud);

/* One piece of a command for imap_conn_cmd_pieces: text (no CR, LF or NUL),
 * or, with literal true, bytes sent as one literal. */
struct imap_cmd_piece {
	const char *data;
	size_t len;
	bool literal;
};
/*
 * A command made of n pieces, with literals anywhere in it (SEARCH with
 * 8-bit strings): "tag text{len}CRLF bytes text ... CRLF". Each literal is
 * non-synchronising ({n+}) with LITERAL+, or with LITERAL- when its size is
 * at most 4096; else the server's "+" is awaited before its bytes, and a
 * tagged reply in its place ends the command with that reply (the rest
 * unsent, the connection usable). Text with CR, LF or NUL: IMAP_EBAD,
 * nothing sent. Literals are held in memory (meant for small ones).
 */
int imap_conn_cmd_pieces(struct imap_conn *c, imap_untagged_fn *fn, void *ud,
			 const struct imap_cmd_piece *p, size_t n);
/* The tag of the command running (or last run) on c, e.g. "a12". */
void imap_conn_tag(const struct imap_conn *c, char tag[16]);

/* Text of the last tagged reply, or of the error that broke the connection. */
const char *imap_conn_last_text(const struct imap_conn *c);
/* Response code of the last tagged reply (upper-case, e.g. "TRYCREATE"), or NULL. */
const char *imap_conn_last_code(const struct imap_conn *c);
/* Arguments of that response code as IMAP text, one value each separated by
 * single spaces as imap_arg_to_text writes them ("3857529045 42 57" for
 * COPYUID, "" when the code has none), or NULL when there is no code. */
const char *imap_conn_last_code_args(const struct imap_conn *c);
/* A command refused before anything was sent (bad argument, missing
 * capability): the last text becomes why, the code NULL; the connection
 * stays usable. Returns err. */
int imap_conn_refuse(struct imap_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Capability check, case-insensitive ("BINARY", "AUTH=PLAIN", "QRESYNC"). */
bool imap_conn_has_cap(const struct imap_conn *c, const char *cap);
/* The capabilities as the server last sent them, in its order and
 * spelling (after login: what it offers a logged-in client); *n of them.
 * Valid until the next command on c. */
const char *const *imap_conn_caps(const struct imap_conn *c, size_t *n);
/* c is unusable: a command broke it, or imap_conn_abort ran (even between
 * two commands, so that a pool never lends it again). */
bool imap_conn_broken(const struct imap_conn *c);

/* Until cleared (NULL), every command must end by *until (CLOCK_MONOTONIC, as
 * clock_deadline makes), later or sooner than timeout_ms: past it,
 * IMAP_ETIMEOUT and the connection is broken. *until is copied. */
void imap_conn_set_deadline(struct imap_conn *c, const struct timespec *until);
/*
 * Makes any wait on c end now (from another thread, e.g. at unmount):
 * transport_abort (a socket is shut down, a tunnel's pipes woken through
 * a wake pipe), so the command running on c, or the next one, gets
 * IMAP_ENET and c is broken.
 * The only function that may be called while another thread uses c: it
 * frees nothing and changes nothing but a flag; c must not be closed
 * before it returns.
 */
void imap_conn_abort(struct imap_conn *c);

/* The mailbox (modified UTF-7, as sent) that is EXAMINEd/SELECTed, or NULL.
 * Set by whoever runs EXAMINE or SELECT; cleared on failure. Setting it
 * (even to the same name) makes the selection read-only with no
 * PERMANENTFLAGS known, until imap_conn_set_read_write. */
const char *imap_conn_selected(const struct imap_conn *c);
int imap_conn_set_selected(struct imap_conn *c, const char *mailbox);
/* The selection is read-write (SELECT answered without [READ-ONLY]);
 * permflags: its PERMANENTFLAGS as space-separated flags ("\\Seen \\*"),
 * NULL when the server sent none. Set by imap_select (write.h). */
int imap_conn_set_read_write(struct imap_conn *c, const char *permflags);
bool imap_conn_read_write(const struct imap_conn *c);
/* The PERMANENTFLAGS of a read-write selection, or NULL (none sent, or
 * not read-write). */
const char *imap_conn_permanent_flags(const struct imap_conn *c);

/* Extensions the server confirmed with ENABLED (RFC 5161), remembered for the
 * connection's life; case-insensitive. Set by whoever runs ENABLE. */
bool imap_conn_enabled(const struct imap_conn *c, const char *ext);
int imap_conn_set_enabled(struct imap_conn *c, const char *ext);

/* The limit of each response from now on (the time limit given at open
 * may have been cut short to fit a request's deadline). */
void imap_conn_set_timeout(struct imap_conn *c, int timeout_ms);

/* Counts bytes received, for tests and benchmarks of partial fetches. */
uint64_t imap_conn_bytes_in(const struct imap_conn *c);

/* A short name for an imap_err, e.g. "network error". */
const char *imap_strerror(int err);

#endif
