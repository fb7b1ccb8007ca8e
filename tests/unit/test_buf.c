/* Unit tests for imap/buf.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_append(void **state)
{
	struct buf b = { 0 };
	char big[1000];

	(void)state;
	buf_add(&b, "", 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_str(&b, "a1 ");
	buf_addf(&b, "UID FETCH %u (%s)", 42u, "FLAGS");
	buf_add(&b, "\r\n\0x", 4);
	assert_false(b.oom);
	assert_int_equal(b.len, 27);
	assert_memory_equal(b.data, "a1 UID FETCH 42 (FLAGS)\r\n\0x", 28);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 100; i++)
		buf_addf(&b, "%s", big);
	assert_int_equal(b.len, 27 + 100 * 999);
	assert_int_equal(b.data[b.len], '\0');
	assert_true(b.cap > b.len);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_take(void **state)
{
	struct buf b = { 0 };
	char *s;

	(void)state;
	s = buf_take(&b);
	assert_string_equal(s, "");
	free(s);
	buf_addf(&b, "%d-%s", 7, "x");
	s = buf_take(&b);
	assert_string_equal(s, "7-x");
	assert_null(b.data);
	free(s);
	/* After a failure nothing more is added, and take gives NULL. */
	buf_str(&b, "kept");
	b.oom = true;
	buf_str(&b, "dropped");
	assert_string_equal(b.data, "kept");
	assert_null(buf_take(&b));
	assert_false(b.oom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_take),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
