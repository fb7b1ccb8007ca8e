/*
 * server_info — the quota as statfs figures (what df shows): rounding,
 * resources missing, usage past the limit, numbers as large as a server
 * may send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server_info.h"

static struct imap_quota quota(bool storage, uint64_t kused, uint64_t klimit, bool messages,
			       uint64_t mused, uint64_t mlimit)
{
	struct imap_quota q = {
		.storage = { storage, kused, klimit },
		.messages = { messages, mused, mlimit },
	};

	return q;
}

/* df's 1K-blocks, Used and Available columns. */
static void assert_df(const struct statvfs *sv, uint64_t size_k, uint64_t used_k, uint64_t avail_k)
{
	assert_int_equal(sv->f_bsize, STATFS_BLOCK);
	assert_int_equal(sv->f_frsize, STATFS_BLOCK);
	assert_int_equal(sv->f_namemax, 255);
	assert_true(sv->f_bfree <= sv->f_blocks);
	assert_true(sv->f_bavail == sv->f_bfree);
	assert_true((uint64_t)sv->f_blocks * 4 == size_k);
	assert_true((uint64_t)(sv->f_blocks - sv->f_bfree) * 4 == used_k);
	assert_true((uint64_t)sv->f_bavail * 4 == avail_k);
}

static void test_storage(void **state)
{
	struct imap_quota q = quota(true, 0, 10240, false, 0, 0);
	struct statvfs sv;

	(void)state;
	quota_statvfs(&q, &sv);
	assert_df(&sv, 10240, 0, 10240);
	assert_int_equal(sv.f_files, 0);
	assert_int_equal(sv.f_ffree, 0);

	/* Usage rounds up to a block; what is free, down. */
	q = quota(true, 103, 10240, false, 0, 0);
	quota_statvfs(&q, &sv);
	assert_df(&sv, 10240, 104, 10136);
	q = quota(true, 100, 10240, false, 0, 0);
	quota_statvfs(&q, &sv);
	assert_df(&sv, 10240, 100, 10140);

	/* A limit of no whole number of blocks: never more size or room than there is. */
	q = quota(true, 0, 10243, false, 0, 0);
	quota_statvfs(&q, &sv);
	assert_df(&sv, 10240, 0, 10240);
	q = quota(true, 3, 3, false, 0, 0);
	quota_statvfs(&q, &sv);
	assert_df(&sv, 0, 0, 0);
}

static void test_over_limit(void **state)
{
	struct imap_quota q = quota(true, 20000, 10240, true, 1200, 1000);
	struct statvfs sv;

	(void)state;
	quota_statvfs(&q, &sv);
	assert_df(&sv, 10240, 10240, 0);
	assert_int_equal(sv.f_files, 1000);
	assert_int_equal(sv.f_ffree, 0);
	assert_int_equal(sv.f_favail, 0);
}

static void test_messages_only(void **state)
{
	struct imap_quota q = quota(false, 0, 0, true, 17, 1000);
	struct statvfs sv;

	(void)state;
	quota_statvfs(&q, &sv);
	assert_df(&sv, 0, 0, 0);
	assert_int_equal(sv.f_files, 1000);
	assert_int_equal(sv.f_ffree, 983);
	assert_int_equal(sv.f_favail, 983);
}

static void test_none(void **state)
{
	struct imap_quota q = quota(false, 5, 10, false, 5, 10);
	struct statvfs sv;

	(void)state;
	memset(&sv, 0xff, sizeof(sv));
	quota_statvfs(&q, &sv);
	assert_df(&sv, 0, 0, 0);
	assert_int_equal(sv.f_files, 0);
	assert_int_equal(sv.f_ffree, 0);
}

/* The largest figures taken (63 bits): bytes still fit in 64 bits. */
static void test_huge(void **state)
{
	struct imap_quota q = quota(true, 0, IMAP_QUOTA_MAX, true, 0, IMAP_QUOTA_MAX);
	struct statvfs sv;

	(void)state;
	quota_statvfs(&q, &sv);
	assert_true(sv.f_blocks == UINT64_MAX / STATFS_BLOCK);
	assert_true(sv.f_bfree == sv.f_blocks);
	assert_true((uint64_t)sv.f_blocks * STATFS_BLOCK / STATFS_BLOCK == sv.f_blocks);
	assert_true(sv.f_files == IMAP_QUOTA_MAX);
	assert_true(sv.f_ffree == IMAP_QUOTA_MAX);

	q = quota(true, IMAP_QUOTA_MAX, IMAP_QUOTA_MAX - 1, true, IMAP_QUOTA_MAX, 1);
	quota_statvfs(&q, &sv);
	assert_true(sv.f_bfree == 0);
	assert_true(sv.f_ffree == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storage),
		cmocka_unit_test(test_over_limit),
		cmocka_unit_test(test_messages_only),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_huge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
