/*
 * summary — the `.summary` line formatter and the packed envelope.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "summary.h"

/* 2026-11-03T07:05:00Z */
#define T0 ((time_t)1793689500)

static char *line_of(const struct summary_msg *s)
{
	struct buf b = { 0 };

	summary_line(&b, s);
	assert_false(b.oom);
	return buf_take(&b);
}

static void test_plain_line(void **state)
{
	struct summary_msg s = { .uid = 42, .date = T0, .flags = "\\Seen \\Flagged", .size = 4096,
				 .from = "Nguyễn Văn A <a@example.vn>", .subject = "Báo cáo" };
	char *l;

	(void)state;
	setenv("TZ", "ICT-7", 1);
	tzset();
	l = line_of(&s);
	assert_string_equal(l, "42\t2026-11-03T14:05:00+07:00\t\\Seen \\Flagged\t4096\t"
			       "Nguyễn Văn A <a@example.vn>\tBáo cáo\n");
	free(l);
}

static void test_negative_offset_and_empty(void **state)
{
	struct summary_msg s = { .uid = 1, .date = T0, .size = 0 };
	char *l;

	(void)state;
	setenv("TZ", "NST+3:30", 1);
	tzset();
	l = line_of(&s);
	assert_string_equal(l, "1\t2026-11-03T03:35:00-03:30\t\t0\t\t\n");
	free(l);
	setenv("TZ", "UTC0", 1);
	tzset();
	s.flags = "";
	s.from = "";
	s.subject = "";
	l = line_of(&s);
	assert_string_equal(l, "1\t2026-11-03T07:05:00+00:00\t\t0\t\t\n");
	free(l);
}

/* Tabs, newlines, CR, DEL, C1 and U+2028 would break the line or a field. */
static void test_controls_become_spaces(void **state)
{
	struct summary_msg s = { .uid = 5, .date = T0, .flags = "",
				 .from = "a\tb", .subject = "x\r\ny\x7fz\xc2\x85w\xe2\x80\xa8v" };
	char *l;

	(void)state;
	setenv("TZ", "UTC0", 1);
	tzset();
	l = line_of(&s);
	assert_string_equal(l, "5\t2026-11-03T07:05:00+00:00\t\t0\ta b\tx  y z w v\n");
	free(l);
}

/* 8-bit junk (latin-1 bytes, a truncated sequence, an overlong form, a
 * surrogate) comes out as valid UTF-8: U+FFFD per bad byte. */
static void test_junk_is_valid_utf8(void **state)
{
	struct summary_msg s = { .uid = 9, .date = T0,
				 .from = "caf\xe9", .subject = "\xe2\x82 \xc0\xaf \xed\xa0\x80 ok" };
	char *l;

	(void)state;
	setenv("TZ", "UTC0", 1);
	tzset();
	l = line_of(&s);
	assert_string_equal(l, "9\t2026-11-03T07:05:00+00:00\t\t0\tcaf\xef\xbf\xbd\t"
			       "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
			       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ok\n");
	free(l);
}

/* A huge subject stays whole, on one line. */
static void test_huge_subject(void **state)
{
	size_t n = 1 << 20;
	char *subject = malloc(n + 1), *l;
	struct summary_msg s = { .uid = 3, .date = T0, .subject = subject };

	(void)state;
	assert_non_null(subject);
	for (size_t i = 0; i < n; i++)
		subject[i] = i % 1000 == 999 ? '\n' : 'a' + (char)(i % 26);
	subject[n] = '\0';
	l = line_of(&s);
	assert_int_equal(strlen(l), strlen("3\t2026-11-03T07:05:00+00:00\t\t0\t\t") + n + 1);
	assert_ptr_equal(strchr(l, '\n'), l + strlen(l) - 1);
	free(l);
	free(subject);
}

static void test_env_pack(void **state)
{
	char *env = env_pack("Subj", NULL, "<id@x>");

	(void)state;
	assert_non_null(env);
	assert_string_equal(env_subject(env), "Subj");
	assert_string_equal(env_from(env), "");
	assert_string_equal(env_message_id(env), "<id@x>");
	free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_line),
		cmocka_unit_test(test_negative_offset_and_empty),
		cmocka_unit_test(test_controls_become_spaces),
		cmocka_unit_test(test_junk_is_valid_utf8),
		cmocka_unit_test(test_huge_subject),
		cmocka_unit_test(test_env_pack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
