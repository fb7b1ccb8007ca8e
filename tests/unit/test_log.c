/*
 * log — control characters in a line come out as \xNN, so that text from a
 * server can neither start a log line of its own nor drive a terminal.
 * Lines go to stderr here, which each test points at a file of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* Everything logged while fn runs. */
static char *logged(void (*fn)(void))
{
	char path[] = "/tmp/imapfs-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *out = calloc(1, 1 << 16);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0 && out);
	unlink(path);
	fflush(stderr);
	assert_int_equal(dup2(fd, 2), 2);
	fn();
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, out, (1 << 16) - 1, 0);
	assert_true(n >= 0);
	close(fd);
	return out;
}

static void log_forgery(void)
{
	log_msg(LOG_WARNING, "mailbox '%s' cannot be shown", "x//\nimapfs: forged\r\x1b[2J");
}

static void test_line_feed_and_escape(void **state)
{
	char *out;

	(void)state;
	log_open(LOG_TO_STDERR, false);
	out = logged(log_forgery);
	assert_string_equal(out, "imapfs: mailbox 'x//\\x0Aimapfs: forged\\x0D\\x1B[2J' "
				 "cannot be shown\n");
	free(out);
}

static void log_every_kind(void)
{
	log_msg(LOG_ERR, "%s", "tab\tdel\x7f nel\xc2\x85 csi\xc2\x9b" "31m nbsp\xc2\xa0 é \\x0A ok");
}

static void test_c0_del_c1_only(void **state)
{
	char *out;

	(void)state;
	log_open(LOG_TO_STDERR, false);
	out = logged(log_every_kind);
	/* UTF-8 text and backslashes are left as they are. */
	assert_string_equal(out, "imapfs: tab\\x09del\\x7F nel\\xC2\\x85 csi\\xC2\\x9B31m "
				 "nbsp\xc2\xa0 é \\x0A ok\n");
	free(out);
}

static void log_long(void)
{
	char line[5000];

	memset(line, 'a', sizeof line - 1);
	line[sizeof line - 1] = '\0';
	line[2500] = '\n';
	log_msg(LOG_INFO, "%s", line);
}

static void test_long_line_whole(void **state)
{
	char *out;

	(void)state;
	log_open(LOG_TO_STDERR, false);
	out = logged(log_long);
	assert_int_equal(strlen(out), strlen("imapfs: ") + 4999 - 1 + 4 + 1);
	assert_memory_equal(out + strlen("imapfs: ") + 2500, "\\x0Aaaa", 7);
	free(out);
}

static void log_debug_line(void)
{
	log_msg(LOG_DEBUG, "S: %s", "* 1 EXISTS\x1b");
}

static void test_debug_only_with_debug(void **state)
{
	char *out;

	(void)state;
	log_open(LOG_TO_STDERR, false);
	out = logged(log_debug_line);
	assert_string_equal(out, "");
	free(out);
	log_open(LOG_TO_STDERR, true);
	out = logged(log_debug_line);
	assert_string_equal(out, "imapfs: S: * 1 EXISTS\\x1B\n");
	free(out);
}

static void test_control_len(void **state)
{
	(void)state;
	assert_int_equal(log_control_len(""), 0);
	assert_int_equal(log_control_len("a"), 0);
	assert_int_equal(log_control_len("\x01"), 1);
	assert_int_equal(log_control_len("\n"), 1);
	assert_int_equal(log_control_len("\x1f"), 1);
	assert_int_equal(log_control_len(" "), 0);
	assert_int_equal(log_control_len("\x7f"), 1);
	assert_int_equal(log_control_len("\xc2\x80"), 2);
	assert_int_equal(log_control_len("\xc2\x9f"), 2);
	assert_int_equal(log_control_len("\xc2\xa0"), 0);
	assert_int_equal(log_control_len("\xc2"), 0);
	assert_int_equal(log_control_len("\x85"), 0);  /* a lone continuation byte */
	assert_int_equal(log_control_len("é"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_feed_and_escape),
		cmocka_unit_test(test_c0_del_c1_only),
		cmocka_unit_test(test_long_line_whole),
		cmocka_unit_test(test_debug_only_with_debug),
		cmocka_unit_test(test_control_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
