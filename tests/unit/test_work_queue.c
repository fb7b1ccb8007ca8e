/* work_queue — order, several threads, and what happens at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "work_queue.h"

struct seen {
	pthread_mutex_t lock;
	int order[64];
	int n;
	int dropped;
	int delay_us;
	pthread_t ran_on[64];
};

static void record(void *ctx, void *item)
{
	struct seen *s = ctx;

	if (s->delay_us)
		usleep((useconds_t)s->delay_us);
	pthread_mutex_lock(&s->lock);
	s->ran_on[s->n] = pthread_self();
	s->order[s->n++] = *(int *)item;
	pthread_mutex_unlock(&s->lock);
	free(item);
}

static struct seen *dropped_into;

static void drop(void *item)
{
	dropped_into->dropped++;
	free(item);
}

static int *item(int v)
{
	int *p = malloc(sizeof(*p));

	assert_non_null(p);
	*p = v;
	return p;
}

/* One thread runs items in the order they were put. */
static void test_one_thread_in_order(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct work_queue *q;

	(void)state;
	dropped_into = &s;
	q = work_queue_new(1, record, &s, drop);
	assert_non_null(q);
	assert_int_equal(work_queue_threads(q), 1);
	for (int i = 0; i < 20; i++)
		assert_true(work_queue_put(q, item(i)));
	while (__atomic_load_n(&s.n, __ATOMIC_SEQ_CST) < 20)
		usleep(1000);
	work_queue_free(q);
	for (int i = 0; i < 20; i++)
		assert_int_equal(s.order[i], i);
	assert_int_equal(s.dropped, 0);
}

/* Several threads run them all; what is left at the end is dropped, not run. */
static void test_threads_and_the_end(void **state)
{
	struct seen s = { .lock = PTHREAD_MUTEX_INITIALIZER, .delay_us = 20000 };
	struct work_queue *q;

	(void)state;
	dropped_into = &s;
	q = work_queue_new(3, record, &s, drop);
	assert_non_null(q);
	assert_int_equal(work_queue_threads(q), 3);
	for (int i = 0; i < 30; i++)
		assert_true(work_queue_put(q, item(i)));
	/* Let each thread take one (20 ms each) before the end comes. */
	while (__atomic_load_n(&s.n, __ATOMIC_SEQ_CST) < 3)
		usleep(1000);
	work_queue_free(q);
	assert_int_equal(s.n + s.dropped, 30);
	assert_true(s.dropped > 0);
	int threads = 1;

	for (int i = 1; i < s.n; i++) {
		bool seen = false;

		for (int j = 0; j < i; j++)
			seen |= pthread_equal(s.ran_on[i], s.ran_on[j]) != 0;
		threads += !seen;
	}
	assert_true(threads > 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_thread_in_order),
		cmocka_unit_test(test_threads_and_the_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
