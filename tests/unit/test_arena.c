/* Unit tests for imap/arena.c (run under ASan too: every piece must be usable whole). */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

static void test_pieces(void **state)
{
	struct arena *a = arena_new(64);
	char *s[1000];
	char want[32];

	(void)state;
	assert_non_null(a);
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(want, sizeof(want), "string %d", i);

		s[i] = arena_strndup(a, want, (size_t)n);
		assert_non_null(s[i]);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(want, sizeof(want), "string %d", i);
		assert_string_equal(s[i], want);
	}
	assert_string_equal(arena_strndup(a, "abc", 0), "");
	arena_free(a);
	arena_free(NULL);
}

static void test_alignment(void **state)
{
	struct arena *a = arena_new(100);

	(void)state;
	assert_non_null(a);
	for (size_t i = 0; i < 500; i++) {
		uint64_t *v;

		assert_non_null(arena_strndup(a, "x", i % 3));
		v = arena_alloc(a, (i % 7 + 1) * sizeof(*v));
		assert_non_null(v);
		assert_true((uintptr_t)v % alignof(max_align_t) == 0);
		memset(v, 0xab, (i % 7 + 1) * sizeof(*v));
	}
	arena_free(a);
}

/* A piece bigger than any chunk gets its own; the smaller ones go on filling. */
static void test_big_piece(void **state)
{
	struct arena *a = arena_new(ARENA_CHUNK_MAX);
	char *small1, *big, *small2;

	(void)state;
	assert_non_null(a);
	small1 = arena_strndup(a, "before", 6);
	big = arena_alloc(a, 10 * ARENA_CHUNK_MAX);
	assert_non_null(big);
	memset(big, 'b', 10 * ARENA_CHUNK_MAX);
	small2 = arena_strndup(a, "after", 5);
	assert_non_null(small1);
	assert_non_null(small2);
	/* The head chunk took both small strings. */
	assert_true(small2 > small1 && small2 - small1 < 64);
	assert_string_equal(small1, "before");
	assert_null(arena_alloc(a, SIZE_MAX - 8));
	assert_null(arena_strndup(a, "x", SIZE_MAX));
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_big_piece),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
