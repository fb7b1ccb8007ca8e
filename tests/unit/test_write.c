/*
 * write — the commands that change the server, against tests/fake/fakeimap.py
 * over a tunnel. The scripts in tests/unit/write/ assert the exact commands
 * sent: a command that does not match (or one sent when none should be)
 * makes the fake server hang up, and the next call fails.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_servers.h"
#include "pool.h"
#include "write.h"

/* strdup of this string fails (ENOMEM): the library's strdup is this one. */
static const char *fail_strdup_of;

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d;

	if (fail_strdup_of && strcmp(s, fail_strdup_of) == 0) {
		errno = ENOMEM;
		return NULL;
	}
	d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static const char *root(void)
{
	const char *r = getenv("IMAPFS_SOURCE_ROOT");

	return r ? r : ".";
}

static struct imap_conn *open_script_timeout(const char *script, int timeout_ms)
{
	struct imap_conn_config cfg = { .host = "fake", .timeout_ms = timeout_ms };
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

static struct imap_conn *open_script(const char *script)
{
	return open_script_timeout(script, 5000);
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

/* The server selected "Other" but the client could not note it: no
 * mailbox may be taken as selected, least of all the one before (a reader
 * would fetch UIDs of INBOX from Other). */
static void test_select_oom_forgets_selection(void **state)
{
	struct imap_conn *c = open_script("select_oom.txt");
	struct imap_mailbox_status st;

	(void)state;
	assert_int_equal(imap_examine(c, "INBOX", NULL), IMAP_OK);
	assert_string_equal(imap_conn_selected(c), "INBOX");
	fail_strdup_of = "Other";
	assert_int_equal(imap_select(c, "Other", &st), IMAP_ENOMEM);
	fail_strdup_of = NULL;
	assert_null(imap_conn_selected(c));
	assert_false(imap_selected_rw(c));
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
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

static void test_unselect(void **state)
{
	struct imap_conn *c = open_script("unselect.txt");
	bool found = false;

	(void)state;
	assert_int_equal(imap_examine(c, "Box", NULL), IMAP_OK);
	assert_int_equal(imap_unselect(c), IMAP_OK);
	assert_null(imap_conn_selected(c));
	assert_int_equal(imap_has_children(c, "A", '/', &found), IMAP_OK);
	assert_true(found);
	found = true;
	assert_int_equal(imap_has_children(c, "B", '.', &found), IMAP_OK);
	assert_false(found);
	/* A wildcard in the name would widen the pattern; no delimiter, no
	 * levels: nothing is sent (the script has no third LIST). */
	found = true;
	assert_int_equal(imap_has_children(c, "C%", '/', &found), IMAP_OK);
	assert_false(found);
	assert_int_equal(imap_has_children(c, "C", 0, &found), IMAP_OK);
	assert_false(found);
	close_clean(c);
}

static void test_unselect_without_extension(void **state)
{
	struct imap_conn *c = open_script("unselect_examine.txt");

	(void)state;
	assert_int_equal(imap_select(c, "Box", NULL), IMAP_OK);
	assert_int_equal(imap_unselect(c), IMAP_OK);
	assert_null(imap_conn_selected(c));
	assert_false(imap_selected_rw(c));
	close_clean(c);
}

/* ---- COPY, MOVE ---- */

static struct imap_landed copy44(struct imap_conn *c)
{
	struct imap_landed to = { 7, 7 };

	assert_int_equal(imap_uid_copy(c, 44, "Archive", &to), IMAP_OK);
	return to;
}

static void test_copy_move(void **state)
{
	struct imap_conn *c = open_script("copymove.txt");
	struct imap_landed to = { 7, 7 };

	(void)state;
	/* MOVE expunges: not on a read-only selection (nothing sent). */
	assert_int_equal(imap_uid_move(c, 42, "Archive", &to), IMAP_EBAD);
	assert_int_equal(to.uid, 0);
	assert_int_equal(imap_select(c, "INBOX", NULL), IMAP_OK);
	assert_int_equal(imap_uid_copy(c, 42, "Archive", &to), IMAP_OK);
	assert_int_equal(to.uidvalidity, 38505);
	assert_int_equal(to.uid, 3956);
	assert_string_equal(imap_conn_last_code_args(c), "38505 42 3956");
	assert_int_equal(imap_uid_move(c, 42, "B&AOE-o \"x\"", &to), IMAP_OK);
	assert_int_equal(to.uidvalidity, 38505);
	assert_int_equal(to.uid, 3957);
	assert_int_equal(imap_uid_move(c, 43, "Trash", &to), IMAP_OK);
	assert_int_equal(to.uidvalidity, 1);
	assert_int_equal(to.uid, 4294967295u);
	assert_string_equal(imap_conn_last_code(c), "COPYUID");

	/* Missing, sets, too big, not numbers, wrong source: uid 0. */
	for (int i = 0; i < 14; i++) {
		to = copy44(c);
		assert_int_equal(to.uid, 0);
		assert_int_equal(to.uidvalidity, 0);
	}
	assert_int_equal(imap_uid_move(c, 45, "Trash", &to), IMAP_OK);
	assert_int_equal(to.uid, 0);
	assert_int_equal(imap_uid_copy(c, 0, "Trash", &to), IMAP_EBAD);
	assert_int_equal(imap_uid_copy(c, 1, "Tr\xc3\xa4sh", &to), IMAP_EBAD);
	to.uid = 5;
	assert_int_equal(imap_uid_copy(c, 46, "Gone", &to), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "TRYCREATE");
	assert_string_equal(imap_conn_last_code_args(c), "");
	assert_int_equal(to.uid, 0);
	to.uid = 5;
	assert_int_equal(imap_uid_move(c, 47, "Gone", &to), IMAP_ENO);
	assert_int_equal(to.uid, 0);
	close_clean(c);
}

/* ---- SEARCH ---- */

static void test_search(void **state)
{
	struct imap_conn *c = open_script("search.txt");
	struct imap_mailbox_status st = { 1, 1, 1, 1 };
	struct imap_uids u = { (uint32_t *)1, 9 };
	bool present = false;

	(void)state;
	/* Refused before sending: *st is still defined (zeroed). */
	assert_int_equal(imap_examine(c, NULL, &st), IMAP_EBAD);
	assert_true(st.exists == 0 && st.uidnext == 0 && st.uidvalidity == 0 &&
		    st.highestmodseq == 0);
	st = (struct imap_mailbox_status){ 1, 1, 1, 1 };
	assert_int_equal(imap_examine(c, "IN\xc3\x9fOX", &st), IMAP_EBAD);
	assert_true(st.exists == 0 && st.uidnext == 0 && st.uidvalidity == 0 &&
		    st.highestmodseq == 0);
	assert_int_equal(imap_examine(c, "INBOX", NULL), IMAP_OK);
	assert_int_equal(imap_search_uids_from(c, 100, &u), IMAP_OK);
	assert_null(u.uids);
	assert_int_equal(u.n, 0);
	assert_int_equal(imap_search_uids_from(c, 100, &u), IMAP_OK);
	assert_int_equal(u.n, 3);
	assert_int_equal(u.uids[0], 100);
	assert_int_equal(u.uids[1], 4294967295u);
	assert_int_equal(u.uids[2], 101);
	free(u.uids);
	assert_int_equal(imap_search_message_id(c, 0, "<a\"b@c>", &u), IMAP_OK);
	assert_int_equal(u.n, 1);
	assert_int_equal(u.uids[0], 7);
	free(u.uids);
	assert_int_equal(imap_search_message_id(c, 7, "<x@y>", &u), IMAP_OK);
	assert_int_equal(u.n, 0);
	assert_int_equal(imap_uid_present(c, 42, &present), IMAP_OK);
	assert_true(present);
	assert_int_equal(imap_uid_present(c, 43, &present), IMAP_OK);
	assert_false(present);
	present = true;
	assert_int_equal(imap_uid_present(c, 44, &present), IMAP_OK);
	assert_false(present);
	present = true;
	assert_int_equal(imap_uid_present(c, 45, &present), IMAP_EBAD);
	assert_false(present);
	assert_int_equal(imap_uid_present(c, 0, &present), IMAP_EBAD);
	/* HEADER Message-ID "" (or " ") matches every message that has the
	 * header: a lost APPEND or COPY would be "found". Refused, not sent. */
	u = (struct imap_uids){ (uint32_t *)1, 9 };
	assert_int_equal(imap_search_message_id(c, 1, "", &u), IMAP_EBAD);
	assert_null(u.uids);
	assert_int_equal(u.n, 0);
	assert_int_equal(imap_search_message_id(c, 1, " \t ", &u), IMAP_EBAD);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	close_clean(c);
}

/* ---- APPEND ---- */

/* A file of size bytes: text when given, else `fill` repeated (a sparse
 * file of zeros when fill is 0). The offset is left at the end, so the
 * append must not depend on it. */
static int message_file(const char *text, char fill, uint64_t size)
{
	char tmpl[] = "/tmp/imapfs-test-append-XXXXXX";
	int fd = mkstemp(tmpl);
	char piece[4096];

	assert_true(fd >= 0);
	unlink(tmpl);
	if (text) {
		assert_int_equal(write(fd, text, size), (ssize_t)size);
		return fd;
	}
	if (fill == 0) {
		assert_int_equal(ftruncate(fd, (off_t)size), 0);
		assert_true(lseek(fd, 0, SEEK_END) == (off_t)size);
		return fd;
	}
	memset(piece, fill, sizeof piece);
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < sizeof piece ? (size_t)(size - done) : sizeof piece;

		assert_int_equal(write(fd, piece, n), (ssize_t)n);
		done += n;
	}
	return fd;
}

static void test_append_literal_plus(void **state)
{
	struct imap_conn *c = open_script("append_plus.txt");
	int fd = message_file("Hello\r\nWorld", 0, 12), empty = message_file("", 0, 0);
	struct imap_landed to = { 7, 7 };

	(void)state;
	assert_int_equal(imap_append(c, "INBOX", "\\Seen $x", fd, 12, &to), IMAP_OK);
	assert_int_equal(to.uidvalidity, 38505);
	assert_int_equal(to.uid, 3955);
	assert_int_equal(imap_append(c, "a\"b", "", fd, 12, &to), IMAP_OK);
	assert_int_equal(to.uidvalidity, 1);
	assert_int_equal(to.uid, 4294967295u);
	/* Refused before sending: bad flags, a name that cannot be quoted. */
	assert_int_equal(imap_append(c, "INBOX", "(\\Seen)", fd, 12, &to), IMAP_EBAD);
	assert_int_equal(imap_append(c, "IN\xc3\x9fOX", "", fd, 12, &to), IMAP_EBAD);
	/* A set, missing, not a number, too big, 0, too many, none: uid 0. */
	for (int i = 0; i < 7; i++) {
		to = (struct imap_landed){ 7, 7 };
		assert_int_equal(imap_append(c, "INBOX", "", fd, 12, &to), IMAP_OK);
		assert_int_equal(to.uid, 0);
		assert_int_equal(to.uidvalidity, 0);
	}
	to.uid = 7;
	assert_int_equal(imap_append(c, "INBOX", "", fd, 12, &to), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "OVERQUOTA");
	assert_string_equal(imap_conn_last_text(c), "Quota exceeded");
	assert_int_equal(to.uid, 0);
	assert_int_equal(imap_append(c, "INBOX", "", empty, 0, &to), IMAP_ENO);
	assert_null(imap_conn_last_code(c));
	close(fd);
	close(empty);
	close_clean(c);
}

static void test_append_literal_minus(void **state)
{
	struct imap_conn *c = open_script("append_minus.txt");
	int fd = message_file(NULL, 'x', 4097);
	struct imap_landed to;

	(void)state;
	assert_int_equal(imap_append(c, "INBOX", "", fd, 4096, &to), IMAP_OK);
	assert_int_equal(to.uid, 1);
	assert_int_equal(imap_append(c, "INBOX", "", fd, 4097, &to), IMAP_OK);
	assert_int_equal(to.uid, 2);
	assert_int_equal(imap_append(c, "INBOX", "", fd, 4097, &to), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "TOOBIG");
	assert_false(imap_conn_broken(c));
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	close(fd);
	close_clean(c);
}

static void test_append_sync(void **state)
{
	struct imap_conn *c = open_script("append_sync.txt");
	int fd = message_file("Hello\r\nWorld", 0, 12);
	struct imap_landed to;

	(void)state;
	assert_int_equal(imap_append(c, "INBOX", "\\Draft", fd, 12, &to), IMAP_OK);
	assert_int_equal(to.uidvalidity, 9);
	assert_int_equal(to.uid, 10);
	assert_int_equal(imap_append(c, "INBOX", "", fd, 12, &to), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "OVERQUOTA");
	assert_int_equal(to.uid, 0);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	assert_int_equal(imap_append(c, "INBOX", "", fd, 12, &to), IMAP_OK);
	assert_int_equal(to.uid, 11);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	close(fd);
	close_clean(c);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_append_cut(void **state)
{
	int before = count_fds();
	struct imap_conn *c = open_script("append_cut.txt");
	int fd = message_file(NULL, 0, 1048576);
	struct imap_landed to = { 7, 7 };

	(void)state;
	assert_int_equal(imap_append(c, "INBOX", "", fd, 1048576, &to), IMAP_ENET);
	assert_int_equal(to.uid, 0);
	assert_true(imap_conn_broken(c));
	assert_int_equal(imap_append(c, "INBOX", "", fd, 10, &to), IMAP_ENET);
	imap_conn_close(c);
	close(fd);
	assert_int_equal(count_fds(), before);
}

/* A NO said before hanging up mid-literal is the answer: not done. */
static void test_append_cut_toobig(void **state)
{
	struct imap_conn *c = open_script("append_toobig.txt");
	int fd = message_file(NULL, 0, 1048576);
	struct imap_landed to = { 7, 7 };

	(void)state;
	assert_int_equal(imap_append(c, "INBOX", "", fd, 1048576, &to), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "TOOBIG");
	assert_string_equal(imap_conn_last_text(c), "Too long literal");
	assert_int_equal(to.uid, 0);
	assert_true(imap_conn_broken(c));
	imap_conn_close(c);
	close(fd);
}

static void test_append_cut_bye(void **state)
{
	struct imap_conn *c = open_script("append_bye.txt");
	int fd = message_file(NULL, 0, 1048576);
	struct imap_landed to;

	(void)state;
	assert_int_equal(imap_append(c, "INBOX", "", fd, 1048576, &to), IMAP_ENET);
	assert_string_equal(imap_conn_last_text(c),
			    "server closed the connection: Disconnected for inactivity");
	assert_true(imap_conn_broken(c));
	imap_conn_close(c);
	close(fd);
}

/* The file shrinks under the upload: the literal cannot be made whole. */
static void test_append_short_file(void **state)
{
	struct imap_conn *c = open_script("append_cut.txt");
	int fd = message_file(NULL, 0, 1000);
	struct imap_landed to;

	(void)state;
	assert_int_equal(imap_append(c, "INBOX", "", fd, 1048576, &to), IMAP_ESTOP);
	assert_true(imap_conn_broken(c));
	imap_conn_close(c);
	close(fd);
}

static void test_append_deadline(void **state)
{
	/* No time limit of its own: only the deadline can end the upload
	 * before the server hangs up (then it would be IMAP_ENET). */
	struct imap_conn *c = open_script_timeout("append_slow.txt", -1);
	int fd = message_file(NULL, 0, 8388608);
	struct imap_landed to;
	struct timespec until;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 1;
	imap_conn_set_deadline(c, &until);
	assert_int_equal(imap_append(c, "INBOX", "", fd, 8388608, &to), IMAP_ETIMEOUT);
	assert_true(imap_conn_broken(c));
	imap_conn_close(c);
	close(fd);
}

static long max_rss_kb(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

static void test_append_50mb(void **state)
{
	struct imap_conn *c = open_script("append_big.txt");
	uint64_t size = 50ULL << 20;
	int fd = message_file(NULL, 0, size);
	long before = max_rss_kb();
	struct imap_landed to;

	(void)state;
	assert_int_equal(imap_append(c, "INBOX", "", fd, size, &to), IMAP_OK);
	assert_int_equal(to.uid, 4);
	/* Streamed: far less than the message ever held in memory. */
	assert_true(max_rss_kb() - before < 8 * 1024);
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	close(fd);
	close_clean(c);
}

static void test_search_literal(void **state)
{
	struct imap_conn *c = open_script("search_literal.txt");
	struct imap_uids u;

	(void)state;
	assert_int_equal(imap_examine(c, "INBOX", NULL), IMAP_OK);
	assert_int_equal(imap_search_message_id(c, 5, "<caf\xc3\xa9@x>", &u), IMAP_OK);
	assert_int_equal(u.n, 1);
	assert_int_equal(u.uids[0], 6);
	free(u.uids);
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

struct outer {
	struct imap_pool *p;
	int inner_rc;
	bool inner_rw;
};

/* Holds connection 1 (INBOX EXAMINEd) while a writer needs INBOX. */
static int outer_fn(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct outer *o = ud;
	struct noop n = { .expect = "outer" };

	o->inner_rc = run(o->p, "INBOX", POOL_WRITE, "inner", &o->inner_rw);
	return noop_fn(c, st, &n);
}

static void test_pool_write_prefers_selected(void **state)
{
	struct fake_servers f;
	struct outer o = { 0 };
	struct pool_job job = { .mailbox = "INBOX", .fn = outer_fn, .ud = &o };
	bool rw;

	(void)state;
	fake_servers_setup(&f, "../../unit/write/pool_pick");
	o.p = pool_new(&f.cfg, 2, 5000);
	assert_non_null(o.p);
	assert_int_equal(pool_run(o.p, &job), IMAP_OK);
	assert_int_equal(o.inner_rc, IMAP_OK);
	assert_true(o.inner_rw);
	assert_int_equal(run(o.p, "INBOX", POOL_WRITE, "write again", &rw), IMAP_OK);
	assert_true(rw);
	assert_int_equal(opened(&f), 2);
	pool_free(o.p);
	fake_servers_teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_select_oom_forgets_selection),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_no_uidplus),
		cmocka_unit_test(test_mailboxes),
		cmocka_unit_test(test_unselect),
		cmocka_unit_test(test_unselect_without_extension),
		cmocka_unit_test(test_copy_move),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_append_literal_plus),
		cmocka_unit_test(test_append_literal_minus),
		cmocka_unit_test(test_append_sync),
		cmocka_unit_test(test_append_cut),
		cmocka_unit_test(test_append_cut_toobig),
		cmocka_unit_test(test_append_cut_bye),
		cmocka_unit_test(test_append_short_file),
		cmocka_unit_test(test_append_deadline),
		cmocka_unit_test(test_append_50mb),
		cmocka_unit_test(test_search_literal),
		cmocka_unit_test(test_pool_write),
		cmocka_unit_test(test_pool_write_prefers_selected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
