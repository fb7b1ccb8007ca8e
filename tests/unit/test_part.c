// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mime/part: the part tree as a data structure, built by hand (no IMAP: the
 * mime library links without it). Trees from BODYSTRUCTURE are in
 * test_bodystructure.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "part.h"

static void count_release(void *strings)
{
	++*(int *)strings;
}

/* 1, 2 (2.1, 2.2), 3 */
static void test_build_and_find(void **state)
{
	int released = 0;
	struct part_tree *t = part_tree_new(&released, count_release);
	const struct mime_part *p;

	(void)state;
	assert_non_null(t);
	assert_int_equal(part_tree_count(t), 1);
	p = part_tree_get(t, 0);
	assert_string_equal(p->section, "");
	assert_string_equal(p->dirname, "");
	assert_string_equal(p->type, "application");
	assert_string_equal(p->subtype, "octet-stream");
	assert_int_equal(part_tree_add(t, 0, "1"), 1);
	assert_int_equal(part_tree_add(t, 0, "2"), 2);
	part_tree_edit(t, 2)->is_multipart = true;
	assert_int_equal(part_tree_add(t, 2, "2.1"), 3);
	assert_int_equal(part_tree_add(t, 2, "2.2"), 4);
	assert_int_equal(part_tree_add(t, 0, "3"), 5);
	assert_null(part_tree_edit(t, 6));
	part_tree_fit(t);
	assert_int_equal(part_tree_count(t), 6);
	p = part_tree_get(t, 4);
	assert_string_equal(p->dirname, "2");
	assert_int_equal(p->parent, 2);
	assert_int_equal(p->depth, 2);
	assert_string_equal(p->type, "application");
	assert_false(p->is_leaf);
	assert_int_equal(part_tree_find(t, "2.2"), 4);
	assert_int_equal(part_tree_find(t, "2.3"), 0);
	assert_int_equal(part_tree_find(t, ""), 0);
	assert_int_equal(part_tree_child(t, 2, "1"), 3);
	assert_int_equal(part_tree_child(t, 0, "3"), 5);
	assert_int_equal(part_tree_child(t, 5, "1"), 0);
	assert_null(part_tree_get(t, 6));
	assert_true(part_tree_get(t, 2)->is_multipart);
	part_tree_free(t);
	assert_int_equal(released, 1);
	part_tree_free(NULL);
	assert_int_equal(part_tree_count(NULL), 0);
}

static void test_room(void **state)
{
	struct part_tree *t = part_tree_new(NULL, NULL);
	size_t last = 0;

	(void)state;
	assert_non_null(t);
	for (unsigned d = 0; d < PART_MAX_DEPTH; d++) {
		assert_true(part_tree_room(t, last));
		last = part_tree_add(t, last, "1");
		assert_int_equal(part_tree_get(t, last)->depth, d + 1);
	}
	assert_false(part_tree_room(t, last));
	assert_int_equal(part_tree_add(t, last, "1"), 0);
	while (part_tree_count(t) <= PART_MAX_PARTS)
		assert_true(part_tree_add(t, 0, "2") > 0);
	assert_int_equal(part_tree_count(t), PART_MAX_PARTS + 1);
	assert_false(part_tree_room(t, 0));
	assert_false(part_tree_room(t, PART_MAX_PARTS + 1));
	part_tree_free(t);
}

static void test_encoding_of(void **state)
{
	(void)state;
	assert_int_equal(mime_encoding_of(NULL), MIME_ENC_7BIT);
	assert_int_equal(mime_encoding_of(""), MIME_ENC_7BIT);
	assert_int_equal(mime_encoding_of("8BIT"), MIME_ENC_7BIT);
	assert_int_equal(mime_encoding_of("Base64"), MIME_ENC_BASE64);
	assert_int_equal(mime_encoding_of("quoted-printable"), MIME_ENC_QP);
	assert_int_equal(mime_encoding_of("x-uue"), MIME_ENC_UUENCODE);
	assert_int_equal(mime_encoding_of("x-weird"), MIME_ENC_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_and_find),
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_encoding_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
