/*
 * Tests of imap/conn and imap/transport against tests/fake/fakeimap.py,
 * which plays a scripted conversation over a tunnel (socketpair + /bin/sh).
 *
 *   IMAPFS_SOURCE_ROOT=/path/to/imapfs build/tests/test_conn
 *
 * Without IMAPFS_SOURCE_ROOT the fake is looked for relative to the current
 * directory (a build directory inside the source tree works).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "log.h"
#include "transport.h"

#define TIMEOUT_MS 3000
/* Ends a script whose connection is closed healthy (else close waits 1 s). */
#define LOGOUT "C: a\\d+ LOGOUT\nS: * BYE bye\nS: {TAG} OK\n"

static char fake_py[4096];

static int find_fake(void)
{
	static const char *const rel[] = { ".", "..", "../..", "../../.." };
	const char *root = getenv("IMAPFS_SOURCE_ROOT");

	if (root) {
		snprintf(fake_py, sizeof(fake_py), "%s/tests/fake/fakeimap.py", root);
		return access(fake_py, R_OK);
	}
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(fake_py, sizeof(fake_py), "%s/tests/fake/fakeimap.py", rel[i]);
		if (access(fake_py, R_OK) == 0)
			return 0;
	}
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct imap_conn_config base_cfg(bool preauth)
{
	struct imap_conn_config cfg = {
		.tls = TLS_NONE,
		.tls_params = { .verify = true },
		.tunnel = preauth ? "fake" : NULL,
		.user = "user",
		.password = "secret",
		.timeout_ms = TIMEOUT_MS,
	};
	return cfg;
}

/* Writes script to a file and opens a connection to fakeimap playing it. */
static struct imap_conn *open_fake_ex(const char *script, const struct imap_conn_config *cfg,
				      bool quiet, int *why, char *err, size_t errlen)
{
	char path[] = "/tmp/imapfs-test-conn-XXXXXX";
	char cmd[8192];
	struct imap_transport *t;
	struct imap_conn *c;
	int fd = mkstemp(path);
	size_t len = strlen(script);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, script, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "exec python3 '%s' '%s'%s", fake_py, path,
		 quiet ? " 2>/dev/null" : "");
	t = transport_tunnel(cmd, -1, err, errlen);
	assert_non_null(t);
	*why = 12345;
	c = imap_conn_open_transport(cfg, t, err, errlen, why);
	/* The fake reads its whole script before it sends the greeting. */
	unlink(path);
	return c;
}

static struct imap_conn *open_fake(const char *script, const struct imap_conn_config *cfg,
				   int *why, char *err, size_t errlen)
{
	return open_fake_ex(script, cfg, false, why, err, errlen);
}

static struct imap_conn *open_preauth(const char *script)
{
	struct imap_conn_config cfg = base_cfg(true);
	struct imap_conn *c;
	char err[256] = "";
	int why;

	c = open_fake(script, &cfg, &why, err, sizeof(err));
	if (!c)
		fail_msg("open failed: %d %s", why, err);
	return c;
}

struct seen {
	int n;
	uint32_t exists;
	char names[256];
};

static void on_untagged(void *ud, const struct imap_resp *r)
{
	struct seen *s = ud;

	s->n++;
	if (!strcmp(r->name, "EXISTS"))
		s->exists = r->number;
	strncat(s->names, r->name, sizeof(s->names) - strlen(s->names) - 2);
	strcat(s->names, " ");
}

static void test_preauth_command(void **state)
{
	struct seen seen = { 0 };
	struct imap_conn *c;

	(void)state;
	c = open_preauth("S: * PREAUTH [CAPABILITY IMAP4rev1 IDLE] ready\n"
			 "C: a1 NOOP\n"
			 "S: * 3 EXISTS\n"
			 "S: * OK [UIDNEXT 5] hi\n"
			 "S: {TAG} OK [READ-WRITE] done\n"
			 "C: a2 SELECT \"INBOX\"\n"
			 "S: {TAG} OK fine\n"
			 "C: a3 LOGOUT\n"
			 "S: * BYE bye\n"
			 "S: {TAG} OK bye\n");
	assert_true(imap_conn_has_cap(c, "idle"));
	assert_false(imap_conn_has_cap(c, "BINARY"));
	assert_int_equal(imap_conn_cmd(c, on_untagged, &seen, "NOOP"), IMAP_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.exists, 3);
	assert_string_equal(seen.names, "EXISTS OK ");
	assert_string_equal(imap_conn_last_text(c), "done");
	assert_string_equal(imap_conn_last_code(c), "READ-WRITE");
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "SELECT \"%s\"", "INBOX"), IMAP_OK);
	assert_null(imap_conn_last_code(c));
	assert_true(imap_conn_bytes_in(c) > 60);
	assert_null(imap_conn_selected(c));
	assert_int_equal(imap_conn_set_selected(c, "INBOX"), 0);
	assert_string_equal(imap_conn_selected(c), "INBOX");
	assert_false(imap_conn_broken(c));
	imap_conn_close(c);
}

static void test_capability_command(void **state)
{
	struct imap_conn *c;

	(void)state;
	c = open_preauth("S: * PREAUTH ready\n"
			 "C: a1 CAPABILITY\n"
			 "S: * CAPABILITY IMAP4rev1 BINARY\n"
			 "S: {TAG} OK\n" LOGOUT);
	assert_true(imap_conn_has_cap(c, "BINARY"));
	assert_true(imap_conn_has_cap(c, "imap4rev1"));
	imap_conn_close(c);
}

static void test_bye_greeting(void **state)
{
	struct imap_conn_config cfg = base_cfg(true);
	char err[256];
	int why;

	(void)state;
	assert_null(open_fake("S: * BYE too many connections\n", &cfg, &why, err, sizeof(err)));
	assert_int_equal(why, IMAP_ENET);
	assert_non_null(strstr(err, "too many connections"));
}

static void test_no_and_bad(void **state)
{
	struct imap_conn *c;

	(void)state;
	c = open_preauth("S: * PREAUTH [CAPABILITY IMAP4rev1] ready\n"
			 "C: a1 SELECT nosuch\n"
			 "S: {TAG} NO [NONEXISTENT] Mailbox doesn't exist\n"
			 "C: a2 BOGUS\n"
			 "S: {TAG} BAD Unknown command\n"
			 "C: a3 NOOP\n"
			 "S: {TAG} OK\n" LOGOUT);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "SELECT nosuch"), IMAP_ENO);
	assert_string_equal(imap_conn_last_text(c), "Mailbox doesn't exist");
	assert_string_equal(imap_conn_last_code(c), "NONEXISTENT");
	assert_false(imap_conn_broken(c));
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "BOGUS"), IMAP_EBAD);
	assert_string_equal(imap_conn_last_text(c), "Unknown command");
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	/* CR/LF would let a caller's argument inject a command: never sent. */
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "SELECT %s", "x\r\na9 DELETE INBOX"),
			 IMAP_EBAD);
	assert_false(imap_conn_broken(c));
	imap_conn_close(c);
}

/* Runs one command that must break the connection with want. */
static void expect_broken_within(const char *script, int want, bool quiet, int timeout_ms)
{
	struct imap_conn_config cfg = base_cfg(true);
	struct imap_conn *c;
	char err[256];
	int why;

	/* The fake's start (a python3 on a loaded machine) gets the usual
	 * limit; the command under test the one given. */
	cfg.timeout_ms = TIMEOUT_MS;
	c = open_fake_ex(script, &cfg, quiet, &why, err, sizeof(err));
	if (!c)
		fail_msg("open failed: %d %s", why, err);
	imap_conn_set_timeout(c, timeout_ms);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), want);
	assert_true(imap_conn_broken(c));
	assert_true(imap_conn_last_text(c)[0] != '\0');
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_ENET);
	imap_conn_close(c);
}

static void expect_broken(const char *script, int want, bool quiet)
{
	expect_broken_within(script, want, quiet, TIMEOUT_MS);
}

#define GREETING "S: * PREAUTH [CAPABILITY IMAP4rev1] ready\nC: a1 NOOP\n"

static void test_bye_mid_command(void **state)
{
	(void)state;
	expect_broken(GREETING "S: * 2 EXISTS\nS: * BYE shutting down\n", IMAP_ENET, false);
}

static void test_close_mid_response(void **state)
{
	(void)state;
	expect_broken(GREETING "R: * 1 FETCH (UID 1 BODY[] {10}\\r\\nabc\nCLOSE\n",
		      IMAP_ENET, false);
}

static void test_silent_server(void **state)
{
	int64_t t0 = now_ms();

	(void)state;
	expect_broken_within(GREETING "SLEEP 6\n", IMAP_ETIMEOUT, false, 1500);
	/* 1.5 s to time out, then the sleeping fake is reaped. ETIMEOUT
	 * already says the client did not wait out the fake's 6 s (it would
	 * then see the connection close: ENET); the bound below only catches
	 * a gross wait, and leaves room for starting python3 on a loaded
	 * machine (seen at 1.9 s). */
	assert_true(now_ms() - t0 >= 1500);
	assert_true(now_ms() - t0 < 7500);
}

/* Opens a preauth connection with the given time limit; the fake's stderr
 * is quiet (it gets EPIPE when we hang up on it). */
static struct imap_conn *open_within(const char *script, int timeout_ms)
{
	struct imap_conn_config cfg = base_cfg(true);
	struct imap_conn *c;
	char err[256] = "";
	int why;

	cfg.timeout_ms = TIMEOUT_MS; /* the fake's start, as above */
	c = open_fake_ex(script, &cfg, true, &why, err, sizeof(err));
	if (!c)
		fail_msg("open failed: %d %s", why, err);
	imap_conn_set_timeout(c, timeout_ms);
	return c;
}

/* A byte every 300 ms resets no clock: the whole command has 1 s. */
static void test_trickling_server(void **state)
{
	struct imap_conn *c;
	int64_t t0, ms;

	(void)state;
	c = open_within(GREETING "TRICKLE 0.3 * OK still here, one byte at a time\n", 1000);
	t0 = now_ms();
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_ETIMEOUT);
	ms = now_ms() - t0;
	assert_true(ms >= 900);
	assert_true(ms < 1250);
	assert_true(imap_conn_broken(c));
	imap_conn_close(c);
}

static void test_external_deadline(void **state)
{
	struct timespec until;
	struct imap_conn *c;
	int64_t t0;

	(void)state;
	c = open_within(GREETING "S: {TAG} OK\nC: a2 NOOP\nSLEEP 3\n", TIMEOUT_MS);
	clock_deadline(&until, 60000);
	imap_conn_set_deadline(c, &until);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	clock_deadline(&until, 400);
	imap_conn_set_deadline(c, &until);
	t0 = now_ms();
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_ETIMEOUT);
	assert_true(now_ms() - t0 >= 350);
	assert_true(now_ms() - t0 < 1000);
	assert_true(imap_conn_broken(c));
	assert_non_null(strstr(imap_conn_last_text(c), "deadline"));
	imap_conn_close(c);
}

/* A deadline already past fails the command before it is sent. */
static void test_deadline_passed(void **state)
{
	struct timespec until;
	struct imap_conn *c;

	(void)state;
	c = open_within("S: * PREAUTH [CAPABILITY IMAP4rev1] ready\n", TIMEOUT_MS);
	clock_deadline(&until, 0);
	imap_conn_set_deadline(c, &until);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_ETIMEOUT);
	assert_true(imap_conn_broken(c));
	imap_conn_set_deadline(c, NULL);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_ENET);
	imap_conn_close(c);
}

static void *abort_later(void *ud)
{
	struct timespec pause = { 0, 300 * 1000000 };

	nanosleep(&pause, NULL);
	imap_conn_abort(ud);
	return NULL;
}

static void test_abort_from_another_thread(void **state)
{
	struct imap_conn *c;
	pthread_t th;
	int64_t t0;

	(void)state;
	c = open_within(GREETING "SLEEP 5\n", TIMEOUT_MS);
	t0 = now_ms();
	assert_int_equal(pthread_create(&th, NULL, abort_later, c), 0);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_ENET);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(imap_conn_broken(c));
	assert_string_equal(imap_conn_last_text(c), "connection aborted");
	imap_conn_close(c);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_broken(GREETING "R: * 1 FETCH (UID 1))\\r\\n\n", IMAP_EPROTO, false);
	expect_broken(GREETING "S: a7 OK wrong tag\n", IMAP_EPROTO, false);
	expect_broken(GREETING "S: + unexpected\n", IMAP_EPROTO, false);
}

static void test_huge_literal(void **state)
{
	int64_t t0 = now_ms();

	(void)state;
	expect_broken(GREETING "R: * 1 FETCH (BODY[] {1099511627776}\\r\\nxxxx\n", IMAP_EPROTO,
		      false);
	/* EPROTO says the literal was refused, not waited for (that ends in
	 * ETIMEOUT); the bound includes the fake's start on a loaded machine. */
	assert_true(now_ms() - t0 < TIMEOUT_MS);
}

static void test_huge_line(void **state)
{
	size_t n = 3u << 20;
	char *script = malloc(strlen(GREETING) + n + 8);

	(void)state;
	assert_non_null(script);
	strcpy(script, GREETING "R: ");
	memset(script + strlen(script), 'x', n);
	strcpy(script + strlen(GREETING) + 3 + n, "\n");
	/* The fake gets EPIPE when we hang up mid-line: keep its stderr quiet. */
	expect_broken(script, IMAP_EPROTO, true);
	free(script);
}

/* ---- login ---- */

static int expect_login(const char *script, const char *auth, char *err, size_t errlen,
			struct imap_conn **out)
{
	struct imap_conn_config cfg = base_cfg(false);
	int why = IMAP_OK;

	cfg.auth = auth;
	*out = open_fake(script, &cfg, &why, err, errlen);
	return *out ? IMAP_OK : why;
}

static void test_login_plain_sasl_ir(void **state)
{
	struct imap_conn *c;
	char err[256];

	(void)state;
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\n"
				      "C: a1 AUTHENTICATE PLAIN AHVzZXIAc2VjcmV0\n"
				      "S: {TAG} OK [CAPABILITY IMAP4rev1 IDLE] logged in\n" LOGOUT,
				      NULL, err, sizeof(err), &c), IMAP_OK);
	/* The capabilities after login replace those of the greeting. */
	assert_true(imap_conn_has_cap(c, "IDLE"));
	assert_false(imap_conn_has_cap(c, "AUTH=PLAIN"));
	imap_conn_close(c);
}

static void test_login_plain_continuation(void **state)
{
	struct imap_conn *c;
	char err[256];

	(void)state;
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\n"
				      "C: a1 AUTHENTICATE PLAIN\n"
				      "S: + \n"
				      "C: AHVzZXIAc2VjcmV0\n"
				      "S: a1 OK done\n"
				      "C: a2 CAPABILITY\n"
				      "S: * CAPABILITY IMAP4rev1 X-AFTER\n"
				      "S: {TAG} OK\n" LOGOUT,
				      NULL, err, sizeof(err), &c), IMAP_OK);
	assert_true(imap_conn_has_cap(c, "X-AFTER"));
	imap_conn_close(c);
}

static void test_login_fallback_and_forced(void **state)
{
	struct imap_conn *c;
	char err[256];

	(void)state;
	/* No AUTH=PLAIN: LOGIN with quoted strings. */
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1] hi\n"
				      "C: a1 LOGIN \"user\" \"secret\"\n"
				      "S: {TAG} OK [CAPABILITY IMAP4rev1] in\n" LOGOUT,
				      NULL, err, sizeof(err), &c), IMAP_OK);
	imap_conn_close(c);
	/* auth=login wins over an offered AUTH=PLAIN. */
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\n"
				      "C: a1 LOGIN \"user\" \"secret\"\n"
				      "S: {TAG} OK [CAPABILITY IMAP4rev1] in\n" LOGOUT,
				      "login", err, sizeof(err), &c), IMAP_OK);
	imap_conn_close(c);
	/* auth=plain is tried even when not offered. */
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1] hi\n"
				      "C: a1 AUTHENTICATE PLAIN\n"
				      "S: + \n"
				      "C: AHVzZXIAc2VjcmV0\n"
				      "S: a1 OK [CAPABILITY IMAP4rev1] in\n" LOGOUT,
				      "plain", err, sizeof(err), &c), IMAP_OK);
	imap_conn_close(c);
}

static void test_login_literal(void **state)
{
	struct imap_conn_config cfg = base_cfg(false);
	struct imap_conn *c;
	char err[256];
	int why;

	(void)state;
	cfg.password = "p\xc3\xa4ss\"word";
	c = open_fake("S: * OK [CAPABILITY IMAP4rev1] hi\n"
		      "C: a1 LOGIN \"user\" \\{10\\}\\r\\np..ss\"word\n"
		      "S: a1 OK [CAPABILITY IMAP4rev1] in\n" LOGOUT, &cfg, &why, err, sizeof(err));
	if (!c)
		fail_msg("open failed: %d %s", why, err);
	imap_conn_close(c);
}

static void test_login_refused(void **state)
{
	struct imap_conn *c;
	char err[256];

	(void)state;
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\n"
				      "C: a1 AUTHENTICATE PLAIN \\S+\n"
				      "S: {TAG} NO [AUTHENTICATIONFAILED] Authentication failed.\n",
				      NULL, err, sizeof(err), &c), IMAP_EAUTH);
	assert_string_equal(err, "login refused: Authentication failed.");
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\n",
				      NULL, err, sizeof(err), &c), IMAP_EAUTH);
	assert_non_null(strstr(err, "LOGINDISABLED"));
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\n",
				      "bogus", err, sizeof(err), &c), IMAP_ECONFIG);
}

static void test_login_oauth(void **state)
{
	struct imap_conn_config cfg = base_cfg(false);
	struct imap_conn *c;
	char err[256];
	int why;

	(void)state;
	cfg.password = "tok";
	cfg.auth = "oauthbearer";
	c = open_fake("S: * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=OAUTHBEARER] hi\n"
		      "C: a1 AUTHENTICATE OAUTHBEARER bixhPXVzZXIsAWF1dGg9QmVhcmVyIHRvawEB\n"
		      "S: + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\n"
		      "C: AQ==\n"
		      "S: a1 NO token expired\n", &cfg, &why, err, sizeof(err));
	assert_null(c);
	assert_int_equal(why, IMAP_EAUTH);
	assert_string_equal(err, "login refused: token expired");
	cfg.auth = "xoauth2";
	c = open_fake("S: * OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] hi\n"
		      "C: a1 AUTHENTICATE XOAUTH2\n"
		      "S: + \n"
		      "C: dXNlcj11c2VyAWF1dGg9QmVhcmVyIHRvawEB\n"
		      "S: a1 OK [CAPABILITY IMAP4rev1] in\n" LOGOUT, &cfg, &why, err, sizeof(err));
	if (!c)
		fail_msg("open failed: %d %s", why, err);
	imap_conn_close(c);
}

static void test_login_scram_bad_nonce(void **state)
{
	struct imap_conn *c;
	char err[256];

	(void)state;
	/* server-first "r=abc,s=c2FsdA==,i=4096" does not extend our nonce */
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1 SASL-IR "
				      "AUTH=SCRAM-SHA-256] hi\n"
				      "C: a1 AUTHENTICATE SCRAM-SHA-256 \\S+\n"
				      "S: + cj1hYmMscz1jMkZzZEE9PSxpPTQwOTY=\n"
				      "C: \\*\n"
				      "S: a1 BAD cancelled\n",
				      "scram-sha-256", err, sizeof(err), &c), IMAP_EAUTH);
	assert_non_null(strstr(err, "nonce"));
}

static void test_starttls_policy(void **state)
{
	struct imap_conn_config cfg = base_cfg(false);
	char err[256];
	int why;

	(void)state;
	cfg.tls = TLS_STARTTLS;
	assert_null(open_fake("S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\n",
			      &cfg, &why, err, sizeof(err)));
	assert_int_equal(why, IMAP_ETLS);
	assert_string_equal(err, "server does not offer STARTTLS");
	/* What follows the OK in clear text could be an attacker's (CVE-2011-0411). */
	assert_null(open_fake("S: * OK [CAPABILITY IMAP4rev1 STARTTLS] hi\n"
			      "C: a1 STARTTLS\n"
			      "R: a1 OK begin\\r\\n* OK injected\\r\\n\n",
			      &cfg, &why, err, sizeof(err)));
	assert_int_equal(why, IMAP_ETLS);
	assert_non_null(strstr(err, "after STARTTLS"));
}

static void test_plaintext_policy(void **state)
{
	struct imap_conn_config cfg = base_cfg(false);
	char err[256];
	int why;

	(void)state;
	cfg.host = "mail.example.org";
	cfg.port = "143";
	assert_null(imap_conn_open(&cfg, err, sizeof(err), &why));
	assert_int_equal(why, IMAP_ECONFIG);
	assert_non_null(strstr(err, "allow_plaintext"));
	/* Loopback is allowed: the refused connection shows it was tried. */
	cfg.host = "127.0.0.1";
	cfg.port = "1";
	assert_null(imap_conn_open(&cfg, err, sizeof(err), &why));
	assert_int_equal(why, IMAP_ENET);
	assert_string_equal(err, "cannot connect to 127.0.0.1:1: Connection refused");
}

static void test_loopback(void **state)
{
	(void)state;
	assert_true(transport_host_is_loopback("localhost"));
	assert_true(transport_host_is_loopback("LocalHost"));
	assert_true(transport_host_is_loopback("127.0.0.1"));
	assert_true(transport_host_is_loopback("127.255.3.4"));
	assert_true(transport_host_is_loopback("::1"));
	assert_true(transport_host_is_loopback("::ffff:127.0.0.1"));
	assert_false(transport_host_is_loopback("128.0.0.1"));
	assert_false(transport_host_is_loopback("::ffff:10.0.0.1"));
	assert_false(transport_host_is_loopback("localhost.example.org"));
	assert_false(transport_host_is_loopback("::2"));
	assert_false(transport_host_is_loopback(""));
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = IMAP_ECONFIG; e <= IMAP_OK; e++) {
		assert_string_not_equal(imap_strerror(e), "unknown error");
		for (int f = e + 1; f <= IMAP_OK; f++)
			assert_string_not_equal(imap_strerror(e), imap_strerror(f));
	}
	assert_string_equal(imap_strerror(42), "unknown error");
}

/* ---- the protocol trace ---- */

static char *read_all(FILE *f)
{
	long n;
	char *s;

	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	return s;
}

/* Runs fn with stderr (where the log goes) captured; returns what was written. */
static char *capture_log(void (*fn)(void))
{
	FILE *f = tmpfile();
	int saved;
	char *s;

	assert_non_null(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	dup2(fileno(f), STDERR_FILENO);
	log_open(LOG_TO_STDERR, true);
	fn();
	log_open(LOG_TO_STDERR, false);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	s = read_all(f);
	fclose(f);
	return s;
}

static void logins_for_trace(void)
{
	struct imap_conn *c;
	char err[256], lit[400], script[1024];

	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\n"
				      "C: a1 AUTHENTICATE PLAIN AHVzZXIAc2VjcmV0\n"
				      "S: {TAG} OK [CAPABILITY IMAP4rev1] in\n" LOGOUT,
				      NULL, err, sizeof(err), &c), IMAP_OK);
	imap_conn_close(c);
	assert_int_equal(expect_login("S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\n"
				      "C: a1 AUTHENTICATE PLAIN\n"
				      "S: + \n"
				      "C: AHVzZXIAc2VjcmV0\n"
				      "S: a1 OK [CAPABILITY IMAP4rev1] in\n" LOGOUT,
				      NULL, err, sizeof(err), &c), IMAP_OK);
	imap_conn_close(c);
	memset(lit, 'q', 300);
	lit[300] = '\0';
	snprintf(script, sizeof(script), "S: * OK [CAPABILITY IMAP4rev1] hi\n"
		 "C: a1 LOGIN \"user\" \"secret\"\n"
		 "S: {TAG} OK [CAPABILITY IMAP4rev1] in\n"
		 "C: a2 UID FETCH 7 BODY.PEEK\\[\\]\n"
		 "S: * 1 FETCH (UID 7 BODY[] {300}\n"
		 "R: %s)\\r\\n\n"
		 "S: {TAG} OK fetched\n" LOGOUT, lit);
	assert_int_equal(expect_login(script, NULL, err, sizeof(err), &c), IMAP_OK);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "UID FETCH 7 BODY.PEEK[]"), IMAP_OK);
	imap_conn_close(c);
}

static void test_trace_hides_secrets(void **state)
{
	char *log = capture_log(logins_for_trace);

	(void)state;
	assert_null(strstr(log, "secret\""));
	assert_null(strstr(log, "AHVzZXIAc2VjcmV0"));
	assert_null(strstr(log, "qqqqqqqqqq"));
	assert_non_null(strstr(log, "C: a1 AUTHENTICATE PLAIN <secret>"));
	assert_non_null(strstr(log, "C: a1 LOGIN <secret>"));
	assert_non_null(strstr(log, "C: <secret>"));
	assert_non_null(strstr(log, "C: a2 UID FETCH 7 BODY.PEEK[]"));
	assert_non_null(strstr(log, "S: * 1 FETCH (UID 7 BODY[] {300 bytes})"));
	assert_non_null(strstr(log, "S: a2 OK fetched"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preauth_command),
		cmocka_unit_test(test_capability_command),
		cmocka_unit_test(test_bye_greeting),
		cmocka_unit_test(test_no_and_bad),
		cmocka_unit_test(test_bye_mid_command),
		cmocka_unit_test(test_close_mid_response),
		cmocka_unit_test(test_silent_server),
		cmocka_unit_test(test_trickling_server),
		cmocka_unit_test(test_external_deadline),
		cmocka_unit_test(test_deadline_passed),
		cmocka_unit_test(test_abort_from_another_thread),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_huge_literal),
		cmocka_unit_test(test_huge_line),
		cmocka_unit_test(test_login_plain_sasl_ir),
		cmocka_unit_test(test_login_plain_continuation),
		cmocka_unit_test(test_login_fallback_and_forced),
		cmocka_unit_test(test_login_literal),
		cmocka_unit_test(test_login_refused),
		cmocka_unit_test(test_login_oauth),
		cmocka_unit_test(test_login_scram_bad_nonce),
		cmocka_unit_test(test_starttls_policy),
		cmocka_unit_test(test_plaintext_policy),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_trace_hides_secrets),
	};

	if (find_fake() < 0) {
		fprintf(stderr, "fakeimap.py not found: set IMAPFS_SOURCE_ROOT\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
