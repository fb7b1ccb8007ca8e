/* Unit tests for fs/store.c: the on-disk content store. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "keys.h"
#include "store.h"

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void put(struct store *s, const char *key, size_t size, char fill)
{
	struct store_writer *w = store_begin(s, key);
	char buf[1000];
	uint64_t got = 0;

	assert_non_null(w);
	memset(buf, fill, sizeof(buf));
	for (size_t done = 0; done < size; done += sizeof(buf))
		assert_int_equal(store_write(w, buf, size - done < sizeof(buf) ? size - done
									      : sizeof(buf)), 0);
	assert_int_equal(store_commit(w, &got), 0);
	assert_int_equal(got, size);
}

static bool has(struct store *s, const char *key, uint64_t *size)
{
	int fd;
	int rc = store_open(s, key, &fd, size);

	if (rc == -ENOENT)
		return false;
	assert_int_equal(rc, 0);
	close(fd);
	return true;
}

static void test_put_and_open(void **state)
{
	char *dir = tmpdir_make("store"), sub[600], buf[16];
	struct store *s;
	uint64_t size;
	int fd;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/a/b/content", dir);
	s = store_new(sub, 1 << 20);
	assert_non_null(s);
	assert_int_equal(store_open(s, "k1", &fd, &size), -ENOENT);
	put(s, "k1", 2500, 'x');
	assert_int_equal(store_open(s, "k1", &fd, &size), 0);
	assert_int_equal(size, 2500);
	assert_int_equal(pread(fd, buf, sizeof(buf), 2490), 10);
	assert_memory_equal(buf, "xxxxxxxxxx", 10);
	close(fd);
	assert_false(has(s, "k2", &size));
	assert_int_equal(store_bytes(s), 2500);
	store_free(s);
	tmpdir_remove(dir);
}

static void test_abort_leaves_nothing(void **state)
{
	char *dir = tmpdir_make("store");
	struct store *s = store_new(dir, 1 << 20);
	struct store_writer *w;
	uint64_t size;

	(void)state;
	assert_non_null(s);
	w = store_begin(s, "gone");
	assert_non_null(w);
	assert_int_equal(store_write(w, "abc", 3), 0);
	store_abort(w);
	store_abort(NULL);
	assert_false(has(s, "gone", &size));
	assert_int_equal(count_files(dir), 0);
	store_free(s);
	tmpdir_remove(dir);
}

/* A later mount takes up the entries, and drops a crash's leftovers. */
static void test_reopen(void **state)
{
	char *dir = tmpdir_make("store"), path[600];
	struct store *s = store_new(dir, 1 << 20);
	uint64_t size;
	int fd;

	(void)state;
	put(s, "kept", 123, 'k');
	store_free(s);
	snprintf(path, sizeof(path), "%s/tmp.half", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	s = store_new(dir, 1 << 20);
	assert_non_null(s);
	assert_true(has(s, "kept", &size));
	assert_int_equal(size, 123);
	assert_int_equal(store_bytes(s), 123);
	assert_int_equal(access(path, F_OK), -1);
	store_free(s);
	tmpdir_remove(dir);
}

/* Past the limit the least recently used entries go; the total stays under. */
static void test_eviction(void **state)
{
	char *dir = tmpdir_make("store"), key[32];
	struct store *s = store_new(dir, 10000);
	uint64_t size;

	(void)state;
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "e%d", i);
		put(s, key, 1000, (char)('a' + i));
	}
	assert_true(has(s, "e0", &size)); /* e0 is now the most recently used */
	for (int i = 8; i < 12; i++) {
		snprintf(key, sizeof(key), "e%d", i);
		put(s, key, 1000, (char)('a' + i));
		assert_true(store_bytes(s) <= 10000);
	}
	assert_true(has(s, "e0", &size));
	assert_false(has(s, "e1", &size));
	assert_true(has(s, "e11", &size));
	assert_int_equal(count_files(dir) * 1000, store_bytes(s));
	store_free(s);
	tmpdir_remove(dir);
}

/* A bound set after the store found its entries (the default sized to the
 * disk) deletes the least recently used at once; a larger one deletes none. */
static void test_set_limit(void **state)
{
	char *dir = tmpdir_make("store"), key[32];
	struct store *s = store_new(dir, 1 << 20);
	uint64_t size;

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "e%d", i);
		put(s, key, 1000, (char)('a' + i));
	}
	assert_true(has(s, "e0", &size));
	store_set_limit(s, 20000);
	assert_int_equal(store_bytes(s), 10000);
	assert_int_equal(count_files(dir), 10);
	store_set_limit(s, 5000);
	assert_true(store_bytes(s) <= 5000);
	assert_int_equal(count_files(dir) * 1000, store_bytes(s));
	assert_true(has(s, "e0", &size));
	assert_false(has(s, "e1", &size));
	assert_true(has(s, "e9", &size));
	put(s, "new", 1000, 'n');
	assert_true(store_bytes(s) <= 5000);
	store_free(s);
	tmpdir_remove(dir);
}

static size_t open_fds(void)
{
	return count_files("/proc/self/fd");
}

/* A dir so long that an entry's path does not fit PATH_MAX (its temporary
 * file's, shorter, does): commit fails without leaking the descriptor. */
static void test_name_too_long(void **state)
{
	char *dir = tmpdir_make("store"), *deep = malloc(PATH_MAX);
	size_t len, before;
	struct store_writer *w;
	struct store *s;
	uint64_t size = 1;
	int fd = 0;

	(void)state;
	assert_non_null(deep);
	/* PATH_MAX - 50: "/tmp.XXXXXX" fits after it, "/" + 64 hex digits do not. */
	len = strlen(dir);
	memcpy(deep, dir, len);
	while (len < PATH_MAX - 50) {
		size_t k = PATH_MAX - 50 - len > 201 ? 100 : PATH_MAX - 50 - len - 1;

		deep[len++] = '/';
		memset(deep + len, 'd', k);
		len += k;
	}
	deep[len] = '\0';
	assert_int_equal(len, PATH_MAX - 50);
	s = store_new(deep, 1 << 20);
	assert_non_null(s);
	before = open_fds();
	w = store_begin(s, "k");
	assert_non_null(w);
	assert_int_equal(store_write(w, "abc", 3), 0);
	assert_int_equal(store_commit(w, &size), -ENAMETOOLONG);
	assert_int_equal(size, 0);
	assert_int_equal(open_fds(), before);
	assert_int_equal(store_open(s, "k", &fd, &size), -ENAMETOOLONG);
	assert_int_equal(fd, -1);
	assert_int_equal(open_fds(), before);
	store_free(s);
	free(deep);
	tmpdir_remove(dir);
}

/* Decoded content stored by a version that kept CRLF in text (its keys
 * began "v1") is never found: the "content" keys changed; raw ones did not. */
static void test_content_key_version(void **state)
{
	char *content = cache_key_part("content", "INBOX", 7, 42, "1");
	char *raw = cache_key_part("raw", "INBOX", 7, 42, "");
	char *message = cache_key_message("INBOX", 7, 42);

	(void)state;
	assert_non_null(content);
	assert_non_null(raw);
	assert_non_null(message);
	assert_string_equal(content, "v2\ncontent\nINBOX\n7\n42\n1");
	assert_string_equal(raw, "v1\nraw\nINBOX\n7\n42\n");
	assert_string_equal(message, "v1\nmessage\nINBOX\n7\n42");
	free(content);
	free(raw);
	free(message);
}

static void test_bad_dir(void **state)
{
	(void)state;
	assert_null(store_new("/proc/imapfs-cannot-be-here", 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_and_open),
		cmocka_unit_test(test_abort_leaves_nothing),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_set_limit),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_bad_dir),
		cmocka_unit_test(test_content_key_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
