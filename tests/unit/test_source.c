/*
 * source — the retry policy, the UIDVALIDITY check and the one deadline,
 * against fake servers: every connection runs tests/fake/client/pick.py,
 * which plays <prefix>.N.txt for the Nth connection (a missing script
 * hangs up at once, as a refused connection does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_source.h"

static int noop_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	(void)st;
	(*(int *)ud)++;
	return imap_conn_cmd(c, NULL, NULL, "NOOP");
}

/* An idempotent command whose connection broke is sent again. */
static void test_lost_read_retried(void **state)
{
	struct fake_source f;
	int calls = 0;
	struct source_cmd cmd = { .mailbox = "INBOX", .fn = noop_fn, .ud = &calls };

	(void)state;
	fake_source_setup(&f, "source_retry");
	assert_int_equal(source_run(f.src, &cmd), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(opened(&f.servers), 2);
	assert_false(cmd.unknown);
	fake_source_teardown(&f);
}

/* A write whose answer was lost is never sent twice: its caller is told
 * the outcome is unknown. */
static void test_lost_write_not_retried(void **state)
{
	struct fake_source f;
	int calls = 0;
	struct source_cmd cmd = {
		.mailbox = "INBOX", .flags = SOURCE_WRITE, .fn = noop_fn, .ud = &calls,
	};

	(void)state;
	fake_source_setup(&f, "source_write");
	assert_int_equal(source_run(f.src, &cmd), -EIO);
	assert_int_equal(calls, 1);
	assert_int_equal(opened(&f.servers), 1);
	assert_true(cmd.unknown);
	fake_source_teardown(&f);
}

/* source_write's check: CHECK answers OK for "made", NO for "not made". */
static int check_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	int rc = imap_conn_cmd(c, NULL, NULL, "CHECK");

	(void)st, (void)ud;
	return rc == IMAP_OK ? 1 : rc == IMAP_ENO ? 0 : rc;
}

/* Runs source_write of a NOOP under the scripts prefix.N.txt: its result,
 * and how often the NOOP and the connections went out. */
static int write_under(const char *prefix, int *sent, unsigned *conns)
{
	struct fake_source f;
	struct source_cmd cmd = { .mailbox = "INBOX", .fn = noop_fn, .ud = sent };
	struct source_cmd check = { .mailbox = "INBOX", .fn = check_fn };
	int rc;

	*sent = 0;
	fake_source_setup(&f, prefix);
	rc = source_write(f.src, &cmd, &check);
	*conns = opened(&f.servers);
	fake_source_teardown(&f);
	return rc;
}

/* A lost answer is looked for: made, it is not sent again; not made, it is. */
static void test_write_checked(void **state)
{
	int sent;
	unsigned conns;

	(void)state;
	assert_int_equal(write_under("swrite_made", &sent, &conns), 0);
	assert_int_equal(sent, 1);
	assert_int_equal(conns, 2);
	assert_int_equal(write_under("swrite_resent", &sent, &conns), 0);
	assert_int_equal(sent, 2);
	assert_int_equal(conns, 2);
}

/* A server that loses every answer gets the change a bounded number of
 * times (the check says "not made" each time), whatever the deadline. */
static void test_write_rounds_bounded(void **state)
{
	int sent;
	unsigned conns;

	(void)state;
	assert_int_equal(write_under("swrite_lossy", &sent, &conns), -EIO);
	assert_int_equal(sent, 4);
	assert_int_equal(conns, 5);
}

/* -o ro: a change is refused before anything is sent. */
static void test_read_only_refuses_changes(void **state)
{
	struct fake_source f;
	int calls = 0;
	struct source_cmd cmd = { .mailbox = "INBOX", .flags = SOURCE_WRITE, .fn = noop_fn,
				  .ud = &calls };

	(void)state;
	fake_source_setup(&f, "source_write");
	source_set_read_only(f.src);
	assert_int_equal(source_run(f.src, &cmd), -EROFS);
	cmd.flags = SOURCE_SELECT;
	assert_int_equal(source_run(f.src, &cmd), -EROFS);
	assert_int_equal(calls, 0);
	assert_int_equal(opened(&f.servers), 0);
	fake_source_teardown(&f);
}

/* A change whose SELECT is refused (fn never runs) still has the refusal's
 * code and errno: READ-ONLY is EACCES, NONEXISTENT ENOENT, not EIO. */
static void test_select_refusal_has_code(void **state)
{
	struct fake_source f;
	int calls = 0;
	struct source_cmd cmd = {
		.mailbox = "Shared", .flags = SOURCE_SELECT | SOURCE_WRITE, .fn = noop_fn,
		.ud = &calls,
	};

	(void)state;
	fake_source_setup(&f, "source_readonly");
	assert_int_equal(source_run(f.src, &cmd), -EACCES);
	assert_string_equal(cmd.code, "READ-ONLY");
	assert_false(cmd.unknown);
	cmd.mailbox = "Gone";
	assert_int_equal(source_run(f.src, &cmd), -ENOENT);
	assert_string_equal(cmd.code, "NONEXISTENT");
	assert_int_equal(calls, 0);
	assert_int_equal(opened(&f.servers), 1);
	fake_source_teardown(&f);
}

/* A server that refuses connections for a while (a restart) costs no error. */
static void test_outage_waited_out(void **state)
{
	struct fake_source f;
	int calls = 0;
	struct source_cmd cmd = { .fn = noop_fn, .ud = &calls };

	(void)state;
	fake_source_setup(&f, "source_outage");
	assert_int_equal(source_run(f.src, &cmd), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(opened(&f.servers), 3);
	fake_source_teardown(&f);
}

/* ...but not past the request's deadline. */
static void test_outage_within_deadline(void **state)
{
	struct fake_source f;
	int calls = 0;
	struct source_cmd cmd = { .fn = noop_fn, .ud = &calls };
	long start;

	(void)state;
	fake_source_setup(&f, "source_nothing");
	/* Each attempt starts a python fake: slow (~0.5 s) on a loaded machine. */
	request_begin(4000);
	start = now_ms();
	assert_int_equal(source_run(f.src, &cmd), -EIO);
	assert_true(now_ms() - start < 6000);
	assert_true(opened(&f.servers) >= 2);
	assert_int_equal(calls, 0);
	fake_source_teardown(&f);
}

/* A silent server: the request's deadline cuts the command, and a timeout
 * is not retried. */
static void test_silence_within_deadline(void **state)
{
	struct fake_source f;
	int calls = 0;
	struct source_cmd cmd = { .fn = noop_fn, .ud = &calls };
	long start;

	(void)state;
	fake_source_setup(&f, "source_silent");
	/* Connected first: the fake's start (a python3 on a loaded machine)
	 * is no part of the 1 s under test. */
	assert_int_equal(pool_prime(f.pool, NULL, 0), IMAP_OK);
	request_begin(1000);
	start = now_ms();
	assert_int_equal(source_run(f.src, &cmd), -EIO);
	assert_true(now_ms() - start < 3000);
	assert_int_equal(calls, 1);
	assert_int_equal(opened(&f.servers), 1);
	/* Unresponsive: the next request fails at once, without a connection. */
	request_begin(REQUEST_MS);
	start = now_ms();
	assert_int_equal(source_run(f.src, &cmd), -EIO);
	assert_true(now_ms() - start < 100);
	assert_int_equal(calls, 1);
	assert_int_equal(opened(&f.servers), 1);
	fake_source_teardown(&f);
}

/* No connection free in time: that request fails, but it says nothing of
 * the server, so the next one is not failed at once. */
static void test_all_busy_is_no_silence(void **state)
{
	struct fake_source f;
	int calls = 0;
	struct source_cmd cmd = { .fn = noop_fn, .ud = &calls };
	struct imap_conn *lent;

	(void)state;
	fake_source_setup(&f, "source_busy");
	lent = pool_borrow(f.pool, NULL, NULL);
	assert_non_null(lent);
	request_begin(300);
	assert_int_equal(source_run(f.src, &cmd), -EIO);
	assert_int_equal(calls, 0);
	pool_return(f.pool, lent);
	request_begin(REQUEST_MS);
	assert_int_equal(source_run(f.src, &cmd), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(opened(&f.servers), 1);
	fake_source_teardown(&f);
}

static void test_stale_uidvalidity(void **state)
{
	struct fake_source f;
	int calls = 0;
	struct source_cmd cmd = { .mailbox = "INBOX", .uidvalidity = 4, .fn = noop_fn, .ud = &calls };

	(void)state;
	fake_source_setup(&f, "source_stale");
	assert_int_equal(source_run(f.src, &cmd), -ESTALE);
	assert_int_equal(calls, 0);
	fake_source_teardown(&f);
}

struct waiter {
	struct source *src;
	int calls;         /* atomic: how often the command was sent */
	int rc;
	long ended;
};

static int counted_noop(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	(void)st;
	__atomic_add_fetch((int *)ud, 1, __ATOMIC_SEQ_CST);
	return imap_conn_cmd(c, NULL, NULL, "NOOP");
}

static void *wait_out(void *arg)
{
	struct waiter *w = arg;
	struct source_cmd cmd = { .fn = counted_noop, .ud = &w->calls };

	request_begin(REQUEST_MS);
	w->rc = source_run(w->src, &cmd);
	w->ended = now_ms();
	return NULL;
}

/* At unmount every wait ends at once: a backoff between refused connections,
 * a connection still being opened (no greeting), a command with no answer. */
static void test_stop_ends_waits(void **state)
{
	const char *prefixes[] = { "source_nothing", "source_mute", "source_silent" };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct fake_source f;
		struct waiter w = { 0 };
		pthread_t t;
		long stopped;

		fake_source_setup(&f, prefixes[i]);
		w.src = f.src;
		assert_int_equal(pthread_create(&t, NULL, wait_out, &w), 0);
		usleep(500 * 1000);
		/* The silent server: only once the command is out. */
		while (i == 2 && __atomic_load_n(&w.calls, __ATOMIC_SEQ_CST) == 0)
			usleep(10 * 1000);
		if (i == 2)
			usleep(100 * 1000);
		stopped = now_ms();
		source_stop(f.src);
		pthread_join(t, NULL);
		assert_int_equal(w.rc, -EIO);
		/* A tunnel's child gets a second to end before it is killed. */
		assert_true(w.ended - stopped < 1500);
		assert_int_equal(w.calls, i == 2 ? 1 : 0);
		fake_source_teardown(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_read_retried),
		cmocka_unit_test(test_lost_write_not_retried),
		cmocka_unit_test(test_write_checked),
		cmocka_unit_test(test_write_rounds_bounded),
		cmocka_unit_test(test_read_only_refuses_changes),
		cmocka_unit_test(test_select_refusal_has_code),
		cmocka_unit_test(test_outage_waited_out),
		cmocka_unit_test(test_outage_within_deadline),
		cmocka_unit_test(test_silence_within_deadline),
		cmocka_unit_test(test_all_busy_is_no_silence),
		cmocka_unit_test(test_stale_uidvalidity),
		cmocka_unit_test(test_stop_ends_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
