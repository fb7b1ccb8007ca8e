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

#include "fake_servers.h"
#include "request.h"
#include "source.h"

struct fixture {
	struct fake_servers servers;
	struct imap_pool *pool;
	struct source *src;
};

static void setup_fixture(struct fixture *f, const char *prefix)
{
	fake_servers_setup(&f->servers, prefix);
	f->pool = pool_new(&f->servers.cfg, 1, 5000);
	assert_non_null(f->pool);
	f->src = source_new(f->pool);
	assert_non_null(f->src);
	request_begin(REQUEST_MS);
}

static void teardown_fixture(struct fixture *f)
{
	source_free(f->src);
	pool_free(f->pool);
	fake_servers_teardown(&f->servers);
}

static int noop_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	(void)st;
	(*(int *)ud)++;
	return imap_conn_cmd(c, NULL, NULL, "NOOP");
}

/* An idempotent command whose connection broke is sent again. */
static void test_lost_read_retried(void **state)
{
	struct fixture f;
	int calls = 0;
	struct source_cmd cmd = { .mailbox = "INBOX", .fn = noop_fn, .ud = &calls };

	(void)state;
	setup_fixture(&f, "source_retry");
	assert_int_equal(source_run(f.src, &cmd), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(opened(&f.servers), 2);
	assert_false(cmd.unknown);
	teardown_fixture(&f);
}

/* A write whose answer was lost is never sent twice: its caller is told
 * the outcome is unknown. */
static void test_lost_write_not_retried(void **state)
{
	struct fixture f;
	int calls = 0;
	struct source_cmd cmd = {
		.mailbox = "INBOX", .flags = SOURCE_WRITE, .fn = noop_fn, .ud = &calls,
	};

	(void)state;
	setup_fixture(&f, "source_write");
	assert_int_equal(source_run(f.src, &cmd), -EIO);
	assert_int_equal(calls, 1);
	assert_int_equal(opened(&f.servers), 1);
	assert_true(cmd.unknown);
	teardown_fixture(&f);
}

/* A server that refuses connections for a while (a restart) costs no error. */
static void test_outage_waited_out(void **state)
{
	struct fixture f;
	int calls = 0;
	struct source_cmd cmd = { .fn = noop_fn, .ud = &calls };

	(void)state;
	setup_fixture(&f, "source_outage");
	assert_int_equal(source_run(f.src, &cmd), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(opened(&f.servers), 3);
	teardown_fixture(&f);
}

/* ...but not past the request's deadline. */
static void test_outage_within_deadline(void **state)
{
	struct fixture f;
	int calls = 0;
	struct source_cmd cmd = { .fn = noop_fn, .ud = &calls };
	long start;

	(void)state;
	setup_fixture(&f, "source_nothing");
	request_begin(600);
	start = now_ms();
	assert_int_equal(source_run(f.src, &cmd), -EIO);
	assert_true(now_ms() - start < 1500);
	assert_true(opened(&f.servers) >= 2);
	assert_int_equal(calls, 0);
	teardown_fixture(&f);
}

/* A silent server: the request's deadline cuts the command, and a timeout
 * is not retried. */
static void test_silence_within_deadline(void **state)
{
	struct fixture f;
	int calls = 0;
	struct source_cmd cmd = { .fn = noop_fn, .ud = &calls };
	long start;

	(void)state;
	setup_fixture(&f, "source_silent");
	request_begin(700);
	start = now_ms();
	assert_int_equal(source_run(f.src, &cmd), -EIO);
	assert_true(now_ms() - start < 2000);
	assert_int_equal(calls, 1);
	assert_int_equal(opened(&f.servers), 1);
	/* Unresponsive: the next request fails at once, without a connection. */
	request_begin(REQUEST_MS);
	start = now_ms();
	assert_int_equal(source_run(f.src, &cmd), -EIO);
	assert_true(now_ms() - start < 100);
	assert_int_equal(calls, 1);
	assert_int_equal(opened(&f.servers), 1);
	teardown_fixture(&f);
}

static void test_stale_uidvalidity(void **state)
{
	struct fixture f;
	int calls = 0;
	struct source_cmd cmd = { .mailbox = "INBOX", .uidvalidity = 4, .fn = noop_fn, .ud = &calls };

	(void)state;
	setup_fixture(&f, "source_stale");
	assert_int_equal(source_run(f.src, &cmd), -ESTALE);
	assert_int_equal(calls, 0);
	teardown_fixture(&f);
}

struct waiter {
	struct source *src;
	int rc;
	long ended;
};

static void *wait_out(void *arg)
{
	struct waiter *w = arg;
	int calls = 0;
	struct source_cmd cmd = { .fn = noop_fn, .ud = &calls };

	request_begin(REQUEST_MS);
	w->rc = source_run(w->src, &cmd);
	w->ended = now_ms();
	return NULL;
}

/* At unmount every wait ends at once: a backoff, and a silent command. */
static void test_stop_ends_waits(void **state)
{
	const char *prefixes[] = { "source_nothing", "source_silent" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct fixture f;
		struct waiter w = { 0 };
		pthread_t t;
		long stopped;

		setup_fixture(&f, prefixes[i]);
		w.src = f.src;
		assert_int_equal(pthread_create(&t, NULL, wait_out, &w), 0);
		usleep(500 * 1000);
		stopped = now_ms();
		source_stop(f.src);
		pthread_join(t, NULL);
		assert_int_equal(w.rc, -EIO);
		/* A tunnel's child gets a second to end before it is killed. */
		assert_true(w.ended - stopped < 1500);
		teardown_fixture(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_read_retried),
		cmocka_unit_test(test_lost_write_not_retried),
		cmocka_unit_test(test_outage_waited_out),
		cmocka_unit_test(test_outage_within_deadline),
		cmocka_unit_test(test_silence_within_deadline),
		cmocka_unit_test(test_stale_uidvalidity),
		cmocka_unit_test(test_stop_ends_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
