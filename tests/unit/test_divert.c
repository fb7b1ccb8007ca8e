/*
 * divert — every input is pushed whole, a byte at a time and at random
 * splits; what the parser would see and what the sink got must not depend
 * on how the bytes came.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "divert.h"

struct buf {
	char data[4096];
	size_t len;
	int refuse_after;         /* refuse once this many bytes came (-1: never) */
};

static int take(void *ud, const char *data, size_t len)
{
	struct buf *b = ud;

	if (b->refuse_after >= 0 && b->len + len > (size_t)b->refuse_after)
		return -1;
	assert_true(b->len + len <= sizeof(b->data));
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

enum split { WHOLE, BYTES, RANDOM };

/* Pushes in, split as asked; returns the last result. */
static enum divert_result run(const char *in, size_t len, uint64_t min, enum split how,
			      struct buf *pass, struct buf *sink, bool *idle)
{
	struct divert *d = divert_new(min, take, sink, take, pass);
	enum divert_result rc = DIVERT_OK;
	size_t off = 0;

	assert_non_null(d);
	while (off < len && rc == DIVERT_OK) {
		size_t n = how == WHOLE ? len : how == BYTES ? 1 : 1 + (size_t)(rand() % 7);

		if (n > len - off)
			n = len - off;
		rc = divert_push(d, in + off, n);
		off += n;
	}
	*idle = divert_idle(d);
	divert_free(d);
	return rc;
}

/* in gives parser out and sink content, whatever the split. */
static void check(const char *in, uint64_t min, const char *parser, const char *content)
{
	for (int how = WHOLE; how <= RANDOM; how++) {
		for (int rep = 0; rep < (how == RANDOM ? 50 : 1); rep++) {
			struct buf pass = { .refuse_after = -1 }, sink = { .refuse_after = -1 };
			bool idle;

			assert_int_equal(run(in, strlen(in), min, how, &pass, &sink, &idle),
					 DIVERT_OK);
			assert_int_equal(pass.len, strlen(parser));
			assert_memory_equal(pass.data, parser, pass.len);
			assert_int_equal(sink.len, strlen(content));
			assert_memory_equal(sink.data, content, sink.len);
			assert_true(idle);
		}
	}
}

static void test_large_literal_diverted(void **state)
{
	(void)state;
	check("* 1 FETCH (UID 7 BODY[2]<0> {10}\r\n0123456789)\r\na1 OK done\r\n", 5,
	      "* 1 FETCH (UID 7 BODY[2]<0> {0}\r\n)\r\na1 OK done\r\n", "0123456789");
	/* literal8 and the non-synchronising form keep their prefix. */
	check("* 1 FETCH (BINARY[2] ~{6}\r\nab\r\ncd)\r\n", 1,
	      "* 1 FETCH (BINARY[2] ~{0}\r\n)\r\n", "ab\r\ncd");
	check("x {3+}\r\nabc\r\n", 1, "x {0}\r\n\r\n", "abc");
}

static void test_small_literal_kept(void **state)
{
	(void)state;
	check("* 1 FETCH (BODY[] {4}\r\n{9}\n)\r\n", 5, "* 1 FETCH (BODY[] {4}\r\n{9}\n)\r\n", "");
	/* Two literals in one response: only the large one goes. */
	check("* 1 FETCH (A {2}\r\nxy B {6}\r\n{1}\r\nz)\r\n", 3,
	      "* 1 FETCH (A {2}\r\nxy B {0}\r\n)\r\n", "{1}\r\nz");
}

static void test_braces_that_are_not_literals(void **state)
{
	(void)state;
	check("* OK {x} {} {12 {5}x {{7}y\r\n", 1, "* OK {x} {} {12 {5}x {{7}y\r\n", "");
	/* An endless run of digits is no header: passed on for the parser to refuse. */
	check("* {123456789012345678901234}\r\n", 1, "* {123456789012345678901234}\r\n", "");
	/* The bytes of a literal are never looked into. */
	check("* X {8}\r\n{2}\r\nab\r\n", 100, "* X {8}\r\n{2}\r\nab\r\n", "");
	check("* X {7}\r\n{2}\r\nab)\r\n", 3, "* X {0}\r\n)\r\n", "{2}\r\nab");
}

static void test_refusals(void **state)
{
	const char *in = "* 1 FETCH (BODY[1] {10}\r\n0123456789)\r\n";
	struct buf pass = { .refuse_after = -1 }, sink = { .refuse_after = 4 };
	struct divert *d;
	bool idle;

	(void)state;
	assert_int_equal(run(in, strlen(in), 1, BYTES, &pass, &sink, &idle), DIVERT_SINK);
	assert_int_equal(sink.len, 4);
	assert_false(idle);
	pass = (struct buf){ .refuse_after = 3 };
	sink = (struct buf){ .refuse_after = -1 };
	assert_int_equal(run(in, strlen(in), 1, WHOLE, &pass, &sink, &idle), DIVERT_PASS);
	/* Refused stays refused. */
	d = divert_new(1, take, &sink, take, &pass);
	assert_non_null(d);
	assert_int_equal(divert_push(d, in, strlen(in)), DIVERT_PASS);
	assert_int_equal(divert_push(d, "x", 1), DIVERT_PASS);
	divert_free(d);
}

static void test_header_held_until_line_end(void **state)
{
	struct buf pass = { .refuse_after = -1 }, sink = { .refuse_after = -1 };
	struct divert *d = divert_new(1, take, &sink, take, &pass);

	(void)state;
	assert_non_null(d);
	assert_int_equal(divert_push(d, "* 1 FETCH (BODY[] {1", 20), DIVERT_OK);
	/* "{1" may still become a header: not passed yet. */
	assert_int_equal(pass.len, 18);
	assert_false(divert_idle(d));
	assert_int_equal(divert_push(d, "2}\r\n", 4), DIVERT_OK);
	assert_false(divert_idle(d)); /* 12 bytes to come */
	assert_int_equal(divert_push(d, "hello world!)\r\n", 15), DIVERT_OK);
	assert_true(divert_idle(d));
	assert_int_equal(sink.len, 12);
	divert_free(d);
}

struct seen {
	char tail[DIVERT_TAIL + 1];
	int calls;
};

/* Accepts only a literal that follows "BODY[2] ", noting what it was shown. */
static bool body2_only(void *ud, const char *tail, size_t len)
{
	struct seen *s = ud;

	memcpy(s->tail, tail, len);
	s->tail[len] = '\0';
	s->calls++;
	return len >= 8 && memcmp(tail + len - 8, "BODY[2] ", 8) == 0;
}

static void test_accept_sees_the_line(void **state)
{
	static const char in[] = "* 1 FETCH (A {3}\r\nabc BODY[1] {2}\r\nxy BODY[2] {4}\r\n"
				 "wxyz)\r\n* 2 FETCH (BODY[2] ~{2}\r\nuv)\r\n";

	(void)state;
	for (int how = WHOLE; how <= RANDOM; how++) {
		struct buf pass = { .refuse_after = -1 }, sink = { .refuse_after = -1 };
		struct seen seen = { .calls = 0 };
		struct divert *d = divert_new(1, take, &sink, take, &pass);
		size_t off = 0;

		assert_non_null(d);
		divert_set_accept(d, body2_only, &seen);
		while (off < sizeof in - 1) {
			size_t n = how == WHOLE ? sizeof in - 1 : how == BYTES ? 1 : 1 + (size_t)(rand() % 5);

			if (n > sizeof in - 1 - off)
				n = sizeof in - 1 - off;
			assert_int_equal(divert_push(d, in + off, n), DIVERT_OK);
			off += n;
		}
		assert_true(divert_idle(d));
		divert_free(d);
		/* Each literal is judged by its line's text since the literal before. */
		assert_int_equal(seen.calls, 4);
		assert_string_equal(seen.tail, "* 2 FETCH (BODY[2] ~");
		assert_int_equal(sink.len, 4);
		assert_memory_equal(sink.data, "wxyz", 4);
		pass.data[pass.len] = '\0';
		assert_string_equal(pass.data, "* 1 FETCH (A {3}\r\nabc BODY[1] {2}\r\nxy BODY[2] {0}\r\n"
				    ")\r\n* 2 FETCH (BODY[2] ~{2}\r\nuv)\r\n");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_literal_diverted),
		cmocka_unit_test(test_small_literal_kept),
		cmocka_unit_test(test_braces_that_are_not_literals),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_header_held_until_line_end),
		cmocka_unit_test(test_accept_sees_the_line),
	};

	srand(7);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
