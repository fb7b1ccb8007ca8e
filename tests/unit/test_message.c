/*
 * message — a batch of details against a scripted fake server
 * (tests/fake/client/message_*.1.txt, played by pick.py).
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

#include "message.h"
#include "fake_source.h"

/* A NUL in one message's BODYSTRUCTURE fails no neighbour: all three come,
 * the odd one's structure still shows, only it is not kept as text. */
static void test_odd_message_alone(void **state)
{
	const uint32_t uids[] = { 1, 2, 3 };
	const bool small[] = { true, true, true };
	struct msg_detail *d[3];
	struct fake_source f;

	(void)state;
	fake_source_setup(&f, "message_batch");
	assert_int_equal(msg_details_fetch(f.src, "INBOX", 7, uids, small, 3, d), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_non_null(d[i]);
		assert_non_null(msg_detail_tree(d[i]));
	}
	assert_string_equal(msg_detail_subject(d[0]), "one");
	assert_string_equal(msg_detail_subject(d[1]), "two");
	assert_string_equal(msg_detail_subject(d[2]), "three");
	assert_non_null(msg_detail_bodystructure(d[0]));
	assert_null(msg_detail_bodystructure(d[1]));
	assert_non_null(msg_detail_bodystructure(d[2]));
	for (size_t i = 0; i < 3; i++)
		msg_detail_unref(d[i]);
	fake_source_teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_odd_message_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
