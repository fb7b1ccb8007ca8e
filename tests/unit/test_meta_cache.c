/* Unit tests for fs/meta_cache.c: the persistent per-mailbox listing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "meta_cache.h"

/* The one cache file in dir (tests use one mailbox at a time). */
static void only_file(const char *dir, char *path, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		assert_int_equal(strlen(de->d_name), 64);
		snprintf(path, size, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	p = malloc((size_t)n);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void write_file(const char *path, const unsigned char *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static struct cached_msg msg(uint32_t uid, char *flags, char *bs, char *subj, char *from,
			     char *mid)
{
	return (struct cached_msg){ .uid = uid, .date = 1700000000 + uid, .size = 1000 + uid,
				    .flags = flags, .bodystructure = bs, .subject = subj,
				    .from = from, .message_id = mid };
}

static void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_same(const struct cached_mailbox *a, const struct cached_mailbox *b)
{
	assert_int_equal(a->uidvalidity, b->uidvalidity);
	assert_int_equal(a->uidnext, b->uidnext);
	assert_true(a->highestmodseq == b->highestmodseq);
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct cached_msg *x = &a->msgs[i], *y = &b->msgs[i];

		assert_int_equal(x->uid, y->uid);
		assert_true(x->date == y->date);
		assert_true(x->size == y->size);
		assert_string_equal(x->flags, y->flags);
		assert_str_or_null(x->bodystructure, y->bodystructure);
		assert_str_or_null(x->subject, y->subject);
		assert_str_or_null(x->from, y->from);
		assert_str_or_null(x->message_id, y->message_id);
	}
}

static struct cached_mailbox sample_msgs(struct cached_msg *m)
{
	m[0] = msg(3, "", NULL, NULL, NULL, NULL);
	m[1] = msg(7, "\\Seen $Label1", "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"8BIT\" 12 1)",
		   "Grüße", "Bob <bob@example.org>", "<a@b>");
	m[2] = msg(4000000000u, "\\Flagged", NULL, "", NULL, "<c@d>");
	m[2].date = -5;     /* before the epoch */
	return (struct cached_mailbox){ .uidvalidity = 3857529045u, .uidnext = 4000000001u,
					.highestmodseq = 715194045007ull, .n = 3, .msgs = m };
}

static void test_round_trip(void **state)
{
	char *dir = tmpdir_make("meta");
	struct meta_cache *mc = meta_cache_open(dir);
	struct cached_msg m[3];
	struct cached_mailbox mb = sample_msgs(m), empty = { .uidvalidity = 1 }, *got;

	(void)state;
	assert_non_null(mc);
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), -ENOENT);
	assert_null(got);
	assert_int_equal(meta_cache_save(mc, "INBOX", &mb), 0);
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), 0);
	assert_same(&mb, got);
	cached_mailbox_free(got);

	/* Saving again replaces; an empty mailbox is a valid listing. */
	assert_int_equal(meta_cache_save(mc, "INBOX", &empty), 0);
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), 0);
	assert_same(&empty, got);
	cached_mailbox_free(got);
	meta_cache_close(mc);
	tmpdir_remove(dir);
}

static void test_nested_dir(void **state)
{
	char *dir = tmpdir_make("meta"), sub[512];
	struct meta_cache *mc;
	struct stat st;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/a/b/meta", dir);
	mc = meta_cache_open(sub);
	assert_non_null(mc);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	meta_cache_close(mc);
	tmpdir_remove(dir);
}

static void test_two_mailboxes_and_drop(void **state)
{
	char *dir = tmpdir_make("meta");
	struct meta_cache *mc = meta_cache_open(dir);
	struct cached_msg m[3], one = msg(1, "x", NULL, NULL, NULL, NULL);
	struct cached_mailbox a = sample_msgs(m), b = { .uidvalidity = 9, .n = 1, .msgs = &one };
	struct cached_mailbox *got;

	(void)state;
	assert_int_equal(meta_cache_save(mc, "INBOX", &a), 0);
	assert_int_equal(meta_cache_save(mc, "&ZeVnLIqe-", &b), 0);
	assert_int_equal(meta_cache_load(mc, "&ZeVnLIqe-", &got), 0);
	assert_same(&b, got);
	cached_mailbox_free(got);
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), 0);
	assert_same(&a, got);
	cached_mailbox_free(got);
	/* Names differing only in case are different mailboxes. */
	assert_int_equal(meta_cache_load(mc, "inbox", &got), -ENOENT);

	assert_int_equal(meta_cache_drop(mc, "INBOX"), 0);
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), -ENOENT);
	assert_int_equal(meta_cache_drop(mc, "INBOX"), 0);
	assert_int_equal(meta_cache_load(mc, "&ZeVnLIqe-", &got), 0);
	cached_mailbox_free(got);
	meta_cache_close(mc);
	tmpdir_remove(dir);
}

/* A cache file saved from the sample listing, read back into memory. */
static unsigned char *saved_sample(const char *dir, struct meta_cache *mc, char *path,
				   size_t size, size_t *len)
{
	struct cached_msg m[3];
	struct cached_mailbox mb = sample_msgs(m);

	assert_int_equal(meta_cache_save(mc, "INBOX", &mb), 0);
	only_file(dir, path, size);
	return read_file(path, len);
}

static void test_truncated(void **state)
{
	char *dir = tmpdir_make("meta"), path[512];
	struct meta_cache *mc = meta_cache_open(dir);
	struct cached_mailbox *got;
	unsigned char *data;
	size_t len;

	(void)state;
	data = saved_sample(dir, mc, path, sizeof(path), &len);
	for (size_t cut = 0; cut < len; cut++) {
		write_file(path, data, cut);
		assert_int_equal(meta_cache_load(mc, "INBOX", &got), -ENOENT);
		assert_null(got);
	}
	write_file(path, data, len);
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), 0);
	cached_mailbox_free(got);
	free(data);
	meta_cache_close(mc);
	tmpdir_remove(dir);
}

static void test_corrupt(void **state)
{
	char *dir = tmpdir_make("meta"), path[512];
	struct meta_cache *mc = meta_cache_open(dir);
	struct cached_mailbox *got;
	unsigned char *data;
	size_t len;

	(void)state;
	data = saved_sample(dir, mc, path, sizeof(path), &len);
	/* Every byte, header or payload, is covered by a check. */
	for (size_t i = 0; i < len; i++) {
		data[i] ^= 0x01;
		write_file(path, data, len);
		assert_int_equal(meta_cache_load(mc, "INBOX", &got), -ENOENT);
		data[i] ^= 0x01;
	}
	/* Trailing garbage too. */
	data = realloc(data, len + 1);
	assert_non_null(data);
	data[len] = 0;
	write_file(path, data, len + 1);
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), -ENOENT);
	free(data);
	meta_cache_close(mc);
	tmpdir_remove(dir);
}

static void test_wrong_version(void **state)
{
	char *dir = tmpdir_make("meta"), path[512];
	struct meta_cache *mc = meta_cache_open(dir);
	struct cached_mailbox *got;
	unsigned char *data;
	size_t len;

	(void)state;
	data = saved_sample(dir, mc, path, sizeof(path), &len);
	/* The version follows the 8-byte magic, little-endian. */
	assert_int_equal(data[8], 1);
	data[8] = 2;
	write_file(path, data, len);
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), -ENOENT);
	/* A foreign file of a plausible size. */
	memset(data, 'x', len);
	write_file(path, data, len);
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), -ENOENT);
	free(data);
	meta_cache_close(mc);
	tmpdir_remove(dir);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BIG 100000

static void test_large(void **state)
{
	static const char bs[] = "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"8BIT\" "
				 "1234 40 NIL NIL NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" "
				 "\"a.pdf\") NIL NIL \"BASE64\" 300000 NIL NIL NIL NIL) \"MIXED\" "
				 "(\"BOUNDARY\" \"xyz\") NIL NIL NIL)";
	char *dir = tmpdir_make("meta");
	struct meta_cache *mc = meta_cache_open(dir);
	struct cached_mailbox mb = { .uidvalidity = 1, .uidnext = BIG + 1, .n = BIG };
	struct cached_mailbox *got;
	double t0, t_save, t_load;

	(void)state;
	mb.msgs = calloc(BIG, sizeof(*mb.msgs));
	assert_non_null(mb.msgs);
	for (uint32_t i = 0; i < BIG; i++)
		mb.msgs[i] = msg(i + 1, "\\Seen", (char *)bs, "A subject of some length here",
				 "Some One <some.one@example.org>", "<1234567890@example.org>");
	t0 = now();
	assert_int_equal(meta_cache_save(mc, "INBOX", &mb), 0);
	t_save = now() - t0;
	t0 = now();
	assert_int_equal(meta_cache_load(mc, "INBOX", &got), 0);
	t_load = now() - t0;
	print_message("100k messages: save %.3f s, load %.3f s\n", t_save, t_load);
	assert_same(&mb, got);
	/* Generous for sanitizer builds; an optimised build is far below. */
	assert_true(t_load < 1.0);
	cached_mailbox_free(got);
	free(mb.msgs);
	meta_cache_close(mc);
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_nested_dir),
		cmocka_unit_test(test_two_mailboxes_and_drop),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
