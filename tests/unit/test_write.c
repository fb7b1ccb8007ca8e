/*
 * write — the commands that change the server, against tests/fake/fakeimap.py
 * over a tunnel. The scripts in tests/unit/write/ assert the exact commands
 * sent: a command that does not match (or one sent when none should be)
 * makes the fake server hang up, and the next call fails.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_servers.h"
#include "pool.h"
#include "write.h"

static const char *root(void)
{
	const char *r = getenv("IMAPFS_SOURCE_ROOT");

	return r ? r : ".";
}

static struct imap_conn *open_script(const char *script)
{
	struct imap_conn_config cfg = { .host = "fake", .timeout_ms = 5000 };
	struct imap_conn *c;
	char cmd[1024], err[256] = "";
	int why = 0;

	snprintf(cmd, sizeof cmd, "python3 %s/tests/fake/fakeimap.py %s/tests/unit/write/%s",
		 root(), root(), script);
	cfg.tunnel = cmd;
	c = imap_conn_open(&cfg, err, sizeof err, &why);
	if (!c)
		fail_msg("cannot open %s: %s (%d)", script, err, why);
	return c;
}

/* Each test ends with a command that reached the server, so whatever was
 * (wrongly) sent before it would have broken the conversation. */
static void close_clean(struct imap_conn *c)
{
	assert_false(imap_conn_broken(c));
	imap_conn_close(c);
}

/* ---- SELECT ---- */

static void test_select(void **state)
{
	struct imap_conn *c = open_script("select.txt");
	struct imap_mailbox_status st;

	(void)state;
	assert_false(imap_selected_rw(c));
	assert_false(imap_flag_permanent(c, "\\Seen"));
	assert_int_equal(imap_select(c, "INBOX", &st), IMAP_OK);
	assert_int_equal(st.exists, 7);
	assert_int_equal(st.uidvalidity, 99);
	assert_int_equal(st.uidnext, 12);
	assert_true(st.highestmodseq == 44);
	assert_string_equal(imap_conn_selected(c), "INBOX");
	assert_true(imap_selected_rw(c));
	assert_true(imap_flag_permanent(c, "\\Seen"));
	assert_true(imap_flag_permanent(c, "\\seen"));
	assert_true(imap_flag_permanent(c, "$Label1"));
	assert_true(imap_flag_permanent(c, "$New"));       /* \* */
	assert_false(imap_flag_permanent(c, "\\Flagged")); /* system flags must be listed */
	assert_false(imap_flag_permanent(c, "a b"));
	assert_false(imap_flag_permanent(c, ""));

	assert_int_equal(imap_select(c, "a\"b\\c", &st), IMAP_OK);
	assert_true(imap_selected_rw(c));
	assert_true(imap_flag_permanent(c, "$Label1"));
	assert_false(imap_flag_permanent(c, "$New"));
	assert_false(imap_flag_permanent(c, "\\Deleted"));

	assert_int_equal(imap_select(c, "Plain", &st), IMAP_OK);
	assert_true(imap_flag_permanent(c, "\\Deleted"));
	assert_true(imap_flag_permanent(c, "$Anything"));

	/* Selected, but read-only: a refusal for a writer, a selection still. */
	assert_int_equal(imap_select(c, "Shared", &st), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "READ-ONLY");
	assert_int_equal(st.exists, 0);
	assert_string_equal(imap_conn_selected(c), "Shared");
	assert_false(imap_selected_rw(c));
	assert_false(imap_flag_permanent(c, "\\Seen"));
	assert_int_equal(imap_store_flags(c, 1, "\\Seen"), IMAP_EBAD);

	assert_int_equal(imap_select(c, "Gone", &st), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "NONEXISTENT");
	assert_null(imap_conn_selected(c));
	assert_false(imap_selected_rw(c));
	close_clean(c);
}

/* ---- STORE, EXPUNGE ---- */

static void test_store(void **state)
{
	struct imap_conn *c = open_script("store.txt");

	(void)state;
	/* Nothing selected yet: refused here, not sent. */
	assert_int_equal(imap_store_flags(c, 42, "\\Seen"), IMAP_EBAD);
	assert_int_equal(imap_select(c, "INBOX", NULL), IMAP_OK);
	assert_int_equal(imap_store_flags(c, 42, "\\Seen $Label2 \\Flagged"), IMAP_OK);
	/* Not atoms, or not a flag list: refused, nothing sent. */
	assert_int_equal(imap_store_flags(c, 42, "\\Seen) (x"), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 42, "a\"b"), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 42, "a{3}"), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 42, "\\Seen  $x"), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 42, " \\Seen"), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 42, "\\"), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 42, "\\*"), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 42, "caf\xc3\xa9"), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 42, "a\r\nb"), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 0, "\\Seen"), IMAP_EBAD);
	assert_null(imap_conn_last_code(c));
	assert_non_null(strstr(imap_conn_last_text(c), "not sent"));
	assert_int_equal(imap_store_flags(c, 42, ""), IMAP_OK);
	assert_int_equal(imap_store_deleted(c, 4294967295u), IMAP_OK);
	assert_int_equal(imap_uid_expunge(c, 4294967295u), IMAP_OK);
	assert_int_equal(imap_uid_expunge(c, 0), IMAP_EBAD);
	assert_int_equal(imap_store_flags(c, 7, "\\Seen"), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "CANNOT");
	assert_string_equal(imap_conn_last_text(c), "no");
	close_clean(c);
}

static void test_no_uidplus(void **state)
{
	struct imap_conn *c = open_script("noplus.txt");
	struct imap_landed to = { 1, 1 };

	(void)state;
	assert_int_equal(imap_select(c, "INBOX", NULL), IMAP_OK);
	assert_int_equal(imap_uid_expunge(c, 5), IMAP_ECONFIG);
	assert_int_equal(imap_uid_move(c, 5, "Trash", &to), IMAP_ECONFIG);
	assert_int_equal(to.uid, 0);
	assert_int_equal(to.uidvalidity, 0);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	close_clean(c);
}

/* ---- mailboxes ---- */

static void test_mailboxes(void **state)
{
	struct imap_conn *c = open_script("mailboxes.txt");
	struct imap_mailbox_status st = { 1, 1, 1, 1 };
	bool exists = true;

	(void)state;
	assert_int_equal(imap_create(c, "B&AOE-o c&AOE-o"), IMAP_OK);
	assert_int_equal(imap_subscribe(c, "B&AOE-o c&AOE-o", true), IMAP_OK);
	assert_int_equal(imap_create(c, "a\"b\\c"), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "ALREADYEXISTS");
	/* 8-bit, CR/LF: not a wire name, refused before sending. */
	assert_int_equal(imap_create(c, "B\xc3\xa1o"), IMAP_EBAD);
	assert_int_equal(imap_delete(c, "a\r\nb"), IMAP_EBAD);
	assert_int_equal(imap_rename(c, "A", "b\xc3\xa1"), IMAP_EBAD);
	assert_int_equal(imap_rename(c, "A/(x)", "C/%*"), IMAP_OK);
	assert_int_equal(imap_subscribe(c, "{3}", false), IMAP_OK);
	assert_int_equal(imap_delete(c, "{3}"), IMAP_OK);
	/* Only an exact match counts, not what the name matches as a pattern. */
	assert_int_equal(imap_mailbox_exists(c, "A/%", &exists), IMAP_OK);
	assert_false(exists);
	exists = true;
	assert_int_equal(imap_mailbox_exists(c, "A/%", &exists), IMAP_OK);
	assert_false(exists);
	assert_int_equal(imap_mailbox_exists(c, "Archive", &exists), IMAP_OK);
	assert_true(exists);
	assert_int_equal(imap_status(c, "Archive", &st), IMAP_OK);
	assert_int_equal(st.exists, 17);
	assert_int_equal(st.uidnext, 4000000000u);
	assert_int_equal(st.uidvalidity, 5);
	assert_true(st.highestmodseq == 0);
	assert_int_equal(imap_status(c, "Archive", &st), IMAP_EPROTO);
	assert_int_equal(st.exists, 0);
	st.uidnext = 9;
	assert_int_equal(imap_status(c, "Gone", &st), IMAP_ENO);
	assert_int_equal(st.uidnext, 0);
	close_clean(c);
}

/* ---- pool: POOL_WRITE ---- */

struct noop {
	const char *expect;   /* the tagged OK's text */
	bool rw;              /* imap_selected_rw when fn runs */
};

static int noop_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct noop *n = ud;
	int rc = imap_conn_cmd(c, NULL, NULL, "NOOP");

	(void)st;
	n->rw = imap_selected_rw(c);
	if (rc == IMAP_OK && strcmp(imap_conn_last_text(c), n->expect))
		return IMAP_EPROTO;
	return rc;
}

static int run(struct imap_pool *p, const char *mailbox, unsigned flags, const char *expect,
	       bool *rw)
{
	struct noop n = { .expect = expect };
	struct pool_job job = { .mailbox = mailbox, .flags = flags, .fn = noop_fn, .ud = &n };
	int rc = pool_run(p, &job);

	*rw = n.rw;
	return rc;
}

static void test_pool_write(void **state)
{
	struct fake_servers f;
	struct imap_pool *p;
	bool rw;

	(void)state;
	fake_servers_setup(&f, "../../unit/write/pool_write");
	p = pool_new(&f.cfg, 1, 5000);
	assert_non_null(p);
	assert_int_equal(run(p, "INBOX", 0, "read", &rw), IMAP_OK);
	assert_false(rw);
	assert_int_equal(run(p, "INBOX", POOL_WRITE, "write", &rw), IMAP_OK);
	assert_true(rw);
	assert_int_equal(run(p, "INBOX", 0, "read again", &rw), IMAP_OK);
	assert_true(rw);
	assert_int_equal(run(p, "INBOX", POOL_WRITE, "write again", &rw), IMAP_OK);
	assert_int_equal(run(p, "Other", POOL_WRITE, "write other", &rw), IMAP_OK);
	assert_true(rw);
	/* Read-only for a writer: refused, fn never runs. */
	rw = true;
	assert_int_equal(run(p, "Shared", POOL_WRITE, "never", &rw), IMAP_ENO);
	assert_false(rw);
	assert_int_equal(opened(&f), 1);
	pool_free(p);
	fake_servers_teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_no_uidplus),
		cmocka_unit_test(test_mailboxes),
		cmocka_unit_test(test_pool_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
