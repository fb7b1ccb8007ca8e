/*
 * acl — NAMESPACE, MYRIGHTS and the LIST of every namespace against
 * tests/fake/fakeimap.py: the scripts in tests/fake/client/ assert the
 * exact commands sent (an unexpected one makes the fake hang up).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acl.h"
#include "fake_script.h"

struct listed {
	int n;
	char name[8][32];
	char delim[8];
};

static void on_mailbox(void *ud, const char *name, char delim, unsigned attrs)
{
	struct listed *l = ud;

	(void)attrs;
	assert_true(l->n < 8);
	snprintf(l->name[l->n], sizeof l->name[0], "%s", name);
	l->delim[l->n] = delim;
	l->n++;
}

static void test_list_all(void **state)
{
	struct imap_conn *c = open_script("acl_list_all.txt");
	struct imap_namespaces *ns = imap_namespaces_new();
	struct listed l = { 0 };
	char rights[IMAP_RIGHTS_MAX];

	(void)state;
	assert_non_null(ns);
	assert_int_equal(imap_list_all(ns, c, on_mailbox, &l), IMAP_OK);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.name[2], "Public/Announcements");
	assert_string_equal(l.name[3], "shared/bob");
	assert_string_equal(l.name[4], "shared/bob/Projects");
	assert_int_equal(l.delim[4], '/');
	memset(&l, 0, sizeof(l));
	assert_int_equal(imap_list_all(ns, c, on_mailbox, &l), IMAP_OK);
	assert_int_equal(l.n, 4);
	assert_int_equal(imap_myrights(c, "shared/bob/Projects", rights), IMAP_OK);
	assert_string_equal(rights, "lr");
	/* An OK without the data is no answer. */
	assert_int_equal(imap_myrights(c, "Public/Announcements", rights), IMAP_EPROTO);
	assert_string_equal(rights, "");
	imap_namespaces_free(ns);
	imap_conn_close(c);
}

static void test_no_namespace(void **state)
{
	struct imap_conn *c = open_script("acl_no_namespace.txt");
	struct imap_namespaces *ns = imap_namespaces_new();
	struct listed l = { 0 };

	(void)state;
	assert_int_equal(imap_list_all(ns, c, on_mailbox, &l), IMAP_OK);
	assert_int_equal(l.n, 1);
	imap_namespaces_free(ns);
	imap_conn_close(c);
}

/* A NAMESPACE without its data leaves the listing whole ("*" alone, not
 * asked again); a server naming many namespaces gets a LIST for 32. */
static void test_namespace_odd(void **state)
{
	struct imap_conn *c = open_script("acl_namespace_odd.txt");
	struct imap_namespaces *ns = imap_namespaces_new();
	struct listed l = { 0 };

	(void)state;
	assert_int_equal(imap_list_all(ns, c, on_mailbox, &l), IMAP_OK);
	assert_int_equal(l.n, 1);
	memset(&l, 0, sizeof(l));
	assert_int_equal(imap_list_all(ns, c, on_mailbox, &l), IMAP_OK);
	assert_int_equal(l.n, 1);
	imap_namespaces_free(ns);
	ns = imap_namespaces_new();
	memset(&l, 0, sizeof(l));
	assert_int_equal(imap_list_all(ns, c, on_mailbox, &l), IMAP_OK);
	assert_int_equal(l.n, 1);
	imap_namespaces_free(ns);
	imap_conn_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_all),
		cmocka_unit_test(test_no_namespace),
		cmocka_unit_test(test_namespace_odd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
