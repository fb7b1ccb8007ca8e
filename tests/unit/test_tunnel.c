/*
 * tunnel — -o tunnel=CMD gives the command pipes (not a socket), an abort
 * still ends any wait at once, and a malformed line is quoted in the error.
 * Against tests/fake/fakeimap.py with the scripts of tests/unit/write/.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "write.h"

static const char *root(void)
{
	const char *r = getenv("IMAPFS_SOURCE_ROOT");

	return r ? r : ".";
}

/* Opens script behind prefix (shell code run first); NULL with err set. */
static struct imap_conn *try_open(const char *prefix, const char *script, int timeout_ms,
				  char *err, size_t errlen, int *why)
{
	struct imap_conn_config cfg = { .host = "fake", .timeout_ms = timeout_ms };
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "%s exec python3 %s/tests/fake/fakeimap.py %s/tests/unit/write/%s",
		 prefix, root(), root(), script);
	cfg.tunnel = cmd;
	return imap_conn_open(&cfg, err, errlen, why);
}

/* The command's stdin and stdout are pipes, as a shell gives them: a
 * socket there makes Dovecot's imap refuse to run. */
static void test_pipes_not_socket(void **state)
{
	char err[256] = "";
	int why = 0;
	struct imap_conn *c = try_open(
		"if [ -S /dev/stdin ] || [ -S /dev/stdout ] || ! [ -p /dev/stdin ] ||"
		" ! [ -p /dev/stdout ]; then printf '* BYE not pipes\\r\\n'; exit 1; fi;",
		"noplus.txt", 10000, err, sizeof err, &why);

	(void)state;
	if (!c)
		fail_msg("cannot open: %s (%d)", err, why);
	assert_int_equal(imap_select(c, "INBOX", NULL), IMAP_OK);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	imap_conn_close(c);
}

static void test_bare_lf_greeting_quoted(void **state)
{
	char err[256] = "";
	int why = 0;
	struct imap_conn *c = try_open("", "greeting_lf.txt", 10000, err, sizeof err, &why);

	(void)state;
	assert_null(c);
	assert_int_equal(why, IMAP_EPROTO);
	assert_string_equal(err, "protocol error: bare LF in line in "
			    "\"* BAD [ALERT] Fatal: must not be started from inetd\\n\"");
}

static void test_not_a_greeting_quoted(void **state)
{
	char err[256] = "";
	int why = 0;
	struct imap_conn *c = try_open("", "greeting_data.txt", 10000, err, sizeof err, &why);

	(void)state;
	assert_null(c);
	assert_int_equal(why, IMAP_EPROTO);
	assert_string_equal(err, "protocol error: not an IMAP greeting: * 3 EXISTS");
}

/* Escaped and bounded: control bytes never reach a log raw. */
static void test_malformed_line_quoted(void **state)
{
	char err[256] = "";
	int why = 0;
	struct imap_conn *c = try_open("", "malformed_line.txt", 10000, err, sizeof err, &why);
	const char *text;

	(void)state;
	if (!c)
		fail_msg("cannot open: %s (%d)", err, why);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_EPROTO);
	text = imap_conn_last_text(c);
	assert_non_null(strstr(text, "protocol error: bare LF in line in "
				     "\"* OK \\\"\\x01\\xff\\x1b[31myyyy"));
	assert_true(strlen(text) < 250);
	assert_non_null(strstr(text, "yyy...\""));
	for (const char *p = text; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	imap_conn_close(c);
}

/* Whole but unparsable: the response is quoted from its start. */
static void test_unparsable_line_quoted(void **state)
{
	char err[256] = "";
	int why = 0;
	struct imap_conn *c = try_open("", "unbalanced.txt", 10000, err, sizeof err, &why);

	(void)state;
	if (!c)
		fail_msg("cannot open: %s (%d)", err, why);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_EPROTO);
	assert_string_equal(imap_conn_last_text(c),
			    "protocol error: unexpected ')' in \"* 1 FETCH (UID 1))\\r\\n\"");
	imap_conn_close(c);
}

static void *abort_later(void *ud)
{
	struct timespec pause = { 0, 300 * 1000000 };

	nanosleep(&pause, NULL);
	imap_conn_abort(ud);
	return NULL;
}

/* The server stops reading in the middle of a literal; nothing else would
 * end the wait for 20 s (no time limit): the abort must, at once. */
static void test_abort_blocked_write(void **state)
{
	char err[256] = "", tmpl[] = "/tmp/imapfs-test-tunnel-XXXXXX";
	int why = 0, fd = mkstemp(tmpl);
	struct imap_conn *c = try_open("", "append_slow.txt", -1, err, sizeof err, &why);
	struct imap_landed to;
	pthread_t th;

	(void)state;
	if (!c)
		fail_msg("cannot open: %s (%d)", err, why);
	assert_true(fd >= 0);
	unlink(tmpl);
	assert_int_equal(ftruncate(fd, 8388608), 0);
	assert_int_equal(pthread_create(&th, NULL, abort_later, c), 0);
	assert_int_equal(imap_append(c, "INBOX", "", fd, 8388608, &to), IMAP_ENET);
	pthread_join(th, NULL);
	assert_string_equal(imap_conn_last_text(c), "connection aborted");
	assert_true(imap_conn_broken(c));
	imap_conn_close(c);
	close(fd);
}

/* An abort that lands between two commands (a reader's cancel racing the
 * end of its fetch): c is broken at once (conn.h), so that pool_return
 * closes it instead of lending it to the next job, which would fail. */
static void test_abort_between_commands(void **state)
{
	char err[256] = "";
	int why = 0;
	struct imap_conn *c = try_open("", "abort_idle.txt", 10000, err, sizeof err, &why);

	(void)state;
	if (!c)
		fail_msg("cannot open: %s (%d)", err, why);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	assert_false(imap_conn_broken(c));
	imap_conn_abort(c);
	assert_true(imap_conn_broken(c));
	assert_int_equal(imap_select(c, "INBOX", NULL), IMAP_ENET);
	assert_true(imap_conn_broken(c));
	imap_conn_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipes_not_socket),
		cmocka_unit_test(test_bare_lf_greeting_quoted),
		cmocka_unit_test(test_not_a_greeting_quoted),
		cmocka_unit_test(test_malformed_line_quoted),
		cmocka_unit_test(test_unparsable_line_quoted),
		cmocka_unit_test(test_abort_blocked_write),
		cmocka_unit_test(test_abort_between_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
