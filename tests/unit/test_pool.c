/*
 * pool — against fake servers: every connection the pool opens runs
 * tests/fake/client/pick.py, which plays <prefix>.N.txt for the Nth
 * connection, so each script asserts what one connection was sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_servers.h"
#include "pool.h"

/* One attempt of fn on mailbox, as fs/source makes them. */
static int run(struct imap_pool *p, const char *mailbox, unsigned flags, pool_fn *fn, void *ud)
{
	struct pool_job job = { .mailbox = mailbox, .flags = flags, .fn = fn, .ud = ud };

	return pool_run(p, &job);
}

struct run {
	struct imap_pool *p;
	int calls;
	int inner_rc;
	int result;            /* what fn returns after its NOOP */
};

static int noop_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct run *r = ud;
	int rc;

	(void)st;
	r->calls++;
	rc = imap_conn_cmd(c, NULL, NULL, "NOOP");
	return rc == IMAP_OK ? r->result : rc;
}

/* Runs on INBOX's connection and needs Other meanwhile: a second connection. */
static int outer_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct run *r = ud;

	assert_non_null(st);
	assert_int_equal(st->uidvalidity, 5);
	assert_int_equal(st->exists, 3);
	r->inner_rc = run(r->p, "Other", 0, noop_fn, r);
	assert_int_equal(st->uidvalidity, 5); /* the other run has its own slot */
	return noop_fn(c, st, ud);
}

static int check_other_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	assert_non_null(st);
	assert_int_equal(st->uidvalidity, 6);
	return noop_fn(c, st, ud);
}

static int exists_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct run *r = ud;

	r->inner_rc = (int)st->exists;
	return noop_fn(c, st, ud);
}

/* pool_run_idle never opens a connection and never waits for one. */
static void test_run_idle(void **state)
{
	struct fake_servers f;
	struct imap_pool *p;
	struct run r = { 0 };
	long t0;

	(void)state;
	fake_servers_setup(&f, "pool_idle");
	p = pool_new(&f.cfg, 2, 5000);
	assert_non_null(p);
	r.p = p;
	assert_int_equal(run(p, "INBOX", POOL_IDLE, noop_fn, &r), IMAP_EBUSY);
	assert_int_equal(opened(&f), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(run(p, "INBOX", 0, exists_fn, &r), IMAP_OK);
	assert_int_equal(r.inner_rc, 3);
	/* The open one is idle now: used, and EXAMINEd afresh. */
	assert_int_equal(run(p, "INBOX", POOL_IDLE, exists_fn, &r), IMAP_OK);
	assert_int_equal(r.inner_rc, 4);
	assert_int_equal(opened(&f), 1);
	/* Lent out: no waiting for it. */
	t0 = now_ms();
	assert_non_null(pool_borrow(p, "INBOX", NULL));
	assert_int_equal(run(p, "INBOX", POOL_IDLE, noop_fn, &r), IMAP_EBUSY);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(r.calls, 2);
	pool_free(p);
	fake_servers_teardown(&f);
}

/* A connection lost under pool_run_idle: no retry, no use after it is closed. */
static void test_run_idle_lost(void **state)
{
	struct fake_servers f;
	struct imap_pool *p;
	struct run r = { 0 };
	int rc;

	(void)state;
	fake_servers_setup(&f, "pool_idle_lost");
	p = pool_new(&f.cfg, 2, 5000);
	assert_non_null(p);
	assert_int_equal(run(p, "INBOX", 0, noop_fn, &r), IMAP_OK);
	rc = run(p, "INBOX", POOL_IDLE, noop_fn, &r);
	assert_true(rc == IMAP_ENET || rc == IMAP_EPROTO);
	assert_int_equal(r.calls, 2);
	/* The broken one was closed: the next run opens another. */
	assert_int_equal(run(p, "INBOX", POOL_IDLE, noop_fn, &r), IMAP_EBUSY);
	assert_int_equal(run(p, "INBOX", 0, noop_fn, &r), IMAP_OK);
	assert_int_equal(opened(&f), 2);
	pool_free(p);
	fake_servers_teardown(&f);
}

static void test_lazy_and_reuse(void **state)
{
	struct fake_servers f;
	struct imap_pool *p;
	struct run r = { 0 };

	(void)state;
	fake_servers_setup(&f, "pool_reuse");
	p = pool_new(&f.cfg, 2, 5000);
	assert_non_null(p);
	assert_int_equal(opened(&f), 0);
	assert_true(pool_bytes_in(p) == 0);
	r.p = p;
	assert_int_equal(run(p, "INBOX", 0, outer_fn, &r), IMAP_OK);
	assert_int_equal(r.inner_rc, IMAP_OK);
	assert_int_equal(opened(&f), 2);
	/* Both idle now: each mailbox goes to the connection that has it. */
	assert_int_equal(run(p, "Other", 0, check_other_fn, &r), IMAP_OK);
	assert_int_equal(run(p, "INBOX", 0, noop_fn, &r), IMAP_OK);
	assert_int_equal(r.calls, 4);
	assert_int_equal(opened(&f), 2);
	assert_true(pool_bytes_in(p) > 0);
	pool_free(p);
	fake_servers_teardown(&f);
}

struct waiter {
	struct imap_pool *p;
	struct imap_conn *got;
	int err;
};

static void *borrow_thread(void *arg)
{
	struct waiter *w = arg;

	w->got = pool_borrow(w->p, NULL, &w->err);
	return NULL;
}

static void test_busy_timeout(void **state)
{
	struct fake_servers f;
	struct imap_pool *p;
	struct imap_conn *a, *b, *c;
	struct waiter w = { 0 };
	pthread_t t;
	long start, took;
	int err = 0;

	(void)state;
	fake_servers_setup(&f, "pool_busy");
	p = pool_new(&f.cfg, 2, 200);
	assert_non_null(p);
	a = pool_borrow(p, NULL, &err);
	assert_non_null(a);
	b = pool_borrow(p, NULL, &err);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);

	start = now_ms();
	c = pool_borrow(p, NULL, &err);
	took = now_ms() - start;
	assert_null(c);
	assert_int_equal(err, IMAP_ETIMEOUT);
	assert_in_range(took, 190, 1500);

	/* A waiter gets the connection given back meanwhile. */
	w.p = p;
	assert_int_equal(pthread_create(&t, NULL, borrow_thread, &w), 0);
	usleep(50 * 1000);
	pool_return(p, a);
	pthread_join(t, NULL);
	assert_ptr_equal(w.got, a);
	assert_int_equal(w.err, IMAP_OK);
	pool_return(p, a);
	pool_return(p, b);
	assert_int_equal(opened(&f), 2);
	pool_free(p);
	fake_servers_teardown(&f);
}

/* A connection lost under a command: no retry here (fs/source decides);
 * the next attempt opens another connection. */
static void test_lost_not_retried(void **state)
{
	struct fake_servers f;
	struct imap_pool *p;
	struct run r = { 0 };
	struct pool_job job = { .mailbox = "INBOX", .fn = noop_fn, .ud = &r };
	int rc;

	(void)state;
	fake_servers_setup(&f, "pool_retry");
	p = pool_new(&f.cfg, 2, 5000);
	assert_non_null(p);
	rc = pool_run(p, &job);
	assert_true(rc == IMAP_ENET || rc == IMAP_EPROTO);
	assert_true(job.connected);
	assert_true(job.lost);
	assert_int_equal(r.calls, 1);
	assert_int_equal(pool_run(p, &job), IMAP_OK);
	assert_false(job.lost);
	assert_int_equal(r.calls, 2);
	assert_int_equal(opened(&f), 2);
	pool_free(p);
	fake_servers_teardown(&f);
}

static void test_failures_do_not_wedge(void **state)
{
	struct fake_servers f;
	struct imap_pool *p;
	struct run r = { 0 };
	int rc;

	(void)state;
	fake_servers_setup(&f, "pool_fail");
	p = pool_new(&f.cfg, 1, 5000);
	assert_non_null(p);
	for (int i = 0; i < 2; i++) {
		rc = run(p, NULL, 0, noop_fn, &r);
		assert_true(rc == IMAP_ENET || rc == IMAP_EPROTO);
	}
	assert_int_equal(r.calls, 2);
	assert_int_equal(opened(&f), 2);
	/* Nothing wedged: the next call opens a third connection. */
	assert_int_equal(run(p, NULL, 0, noop_fn, &r), IMAP_OK);
	assert_int_equal(opened(&f), 3);
	pool_free(p);
	fake_servers_teardown(&f);
}

static void test_open_failure(void **state)
{
	struct fake_servers f;
	struct imap_pool *p;
	struct run r = { 0 };
	char err[256];

	(void)state;
	fake_servers_setup(&f, "pool_open");
	p = pool_new(&f.cfg, 1, 5000);
	assert_non_null(p);
	assert_int_not_equal(pool_prime(p, err, sizeof err), IMAP_OK);
	assert_true(err[0] != '\0');
	assert_int_equal(pool_prime(p, err, sizeof err), IMAP_OK);
	/* A mailbox that cannot be examined: fn does not run, nothing retried. */
	assert_int_equal(run(p, "Gone", 0, noop_fn, &r), IMAP_ENO);
	assert_int_equal(r.calls, 0);
	/* A refusal is an answer, not a broken connection: not retried. */
	assert_int_equal(run(p, NULL, 0, noop_fn, &r), IMAP_ENO);
	assert_int_equal(r.calls, 1);
	assert_int_equal(opened(&f), 2);
	pool_free(p);
	fake_servers_teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazy_and_reuse),
		cmocka_unit_test(test_run_idle),
		cmocka_unit_test(test_run_idle_lost),
		cmocka_unit_test(test_busy_timeout),
		cmocka_unit_test(test_lost_not_retried),
		cmocka_unit_test(test_failures_do_not_wedge),
		cmocka_unit_test(test_open_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
