/*
 * search_keys and imap_uid_search: which directory names are search keys
 * and the exact text each becomes on the wire; which are refused (nothing
 * of them can reach the server); and the commands and answers against the
 * scripted tests/fake/fakeimap.py (tests/fake/client/search_*.txt assert
 * the bytes sent, literals included).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "imap_search.h"
#include "search_keys.h"

/* ---- parsing and writing ---- */

/* The keys as imap_uid_search sends them with LITERAL+. */
static int to_wire(void *ud, const char *data, size_t len, bool literal)
{
	struct buf *b = ud;

	if (literal)
		buf_addf(b, "{%zu+}\r\n", len);
	buf_add(b, data, len);
	return 0;
}

static char *wire(const struct search_keys *k)
{
	struct buf b = { 0 };

	assert_int_equal(search_keys_write(k, true, to_wire, &b), 0);
	return buf_take(&b);
}

static struct search_keys *parse_ok(const char *name)
{
	struct search_keys *k = NULL;
	char why[160] = "x";
	int rc = search_keys_parse(name, strlen(name), &k, why, sizeof why);

	if (rc != 0)
		fail_msg("refused \"%s\": %s", name, why);
	assert_string_equal(why, "");
	assert_non_null(k);
	return k;
}

static const struct {
	const char *name, *wire;
} accepted[] = {
	{ "ALL", "ALL" },
	{ "all", "ALL" },
	{ "FROM alice UNSEEN", "FROM \"alice\" UNSEEN" },
	{ "from alice unseen", "FROM \"alice\" UNSEEN" },
	{ "FROM   alice    UNSEEN", "FROM \"alice\" UNSEEN" },
	{ " FROM alice ", "FROM \"alice\"" },
	{ "SUBJECT \"hóa đơn\" SINCE 1-Nov-2026",
	  "SUBJECT {10+}\r\nhóa đơn SINCE 1-Nov-2026" },
	{ "OR FROM a FROM b", "OR FROM \"a\" FROM \"b\"" },
	{ "BODY 北京", "BODY {6+}\r\n北京" },
	{ "NOT SEEN", "NOT SEEN" },
	{ "LARGER 1000000", "LARGER 1000000" },
	{ "LARGER 0", "LARGER 0" },
	{ "LARGER 007", "LARGER 7" },
	{ "SMALLER 4294967295", "SMALLER 4294967295" },
	{ "HEADER X-Spam yes", "HEADER \"X-Spam\" \"yes\"" },
	{ "HEADER \"List-Id\" \"\"", "HEADER \"List-Id\" \"\"" },
	{ "UID 100:200", "UID 100:200" },
	{ "UID 1,3:5,9:*,*", "UID 1,3:5,9:*,*" },
	{ "UID 4294967295", "UID 4294967295" },
	{ "1:5", "1:5" },
	{ "*", "*" },
	{ "(FROM a OR SEEN FLAGGED) NOT (LARGER 10)",
	  "(FROM \"a\" OR SEEN FLAGGED) NOT (LARGER 10)" },
	{ "(FROM a)(TO b)", "(FROM \"a\") (TO \"b\")" },
	{ "( ( SEEN ) )", "((SEEN))" },
	{ "NOT NOT SEEN", "NOT NOT SEEN" },
	{ "OR (FROM a TO b) NOT SEEN", "OR (FROM \"a\" TO \"b\") NOT SEEN" },
	{ "FROM \"a\\\"b\\\\c\"", "FROM \"a\\\"b\\\\c\"" },
	{ "FROM a\\b", "FROM \"a\\\\b\"" },
	{ "FROM {5}", "FROM \"{5}\"" },
	{ "FROM \"\"", "FROM \"\"" },
	{ "FROM \"a (b) c\"", "FROM \"a (b) c\"" },
	{ "SUBJECT \"%*]\"", "SUBJECT \"%*]\"" },
	{ "since 01-nov-2026", "SINCE 1-Nov-2026" },
	{ "SINCE \"29-Feb-2024\"", "SINCE 29-Feb-2024" },
	{ "BEFORE 31-Dec-1999", "BEFORE 31-Dec-1999" },
	{ "ON 1-Jan-2000 SENTON 2-Feb-2001", "ON 1-Jan-2000 SENTON 2-Feb-2001" },
	{ "SENTBEFORE 1-Mar-2000 SENTSINCE 29-Feb-2000",
	  "SENTBEFORE 1-Mar-2000 SENTSINCE 29-Feb-2000" },
	{ "KEYWORD $Junk UNKEYWORD NonJunk", "KEYWORD $Junk UNKEYWORD NonJunk" },
	{ "ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN",
	  "ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN" },
	{ "UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
	  "UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN" },
	{ "BCC x CC y TO z TEXT w", "BCC \"x\" CC \"y\" TO \"z\" TEXT \"w\"" },
	{ "OLDER 3600 YOUNGER 60", "OLDER 3600 YOUNGER 60" },
	{ "MODSEQ 9223372036854775807", "MODSEQ 9223372036854775807" },
	{ "TEXT Ωμέγα", "TEXT {10+}\r\nΩμέγα" },
	{ "OR BODY 北京 SUBJECT 東京", "OR BODY {6+}\r\n北京 SUBJECT {6+}\r\n東京" },
	{ "SUBJECT \"\\\"北京\\\"\"", "SUBJECT {8+}\r\n\"北京\"" },
	{ "FROM a\u00a0b", "FROM {4+}\r\na\u00a0b" },
};

static void test_accepted(void **state)
{
	(void)state;
	assert_true(sizeof accepted / sizeof accepted[0] >= 40);
	for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
		struct search_keys *k = parse_ok(accepted[i].name);
		char *w = wire(k);

		if (strcmp(w, accepted[i].wire) != 0)
			fail_msg("\"%s\": wire \"%s\", expected \"%s\"", accepted[i].name, w,
				 accepted[i].wire);
		free(w);
		search_keys_free(k);
	}
}

/* n parentheses around ALL. */
static char *nested(int n)
{
	struct buf b = { 0 };

	for (int i = 0; i < n; i++)
		buf_add(&b, "(", 1);
	buf_str(&b, "ALL");
	for (int i = 0; i < n; i++)
		buf_add(&b, ")", 1);
	return buf_take(&b);
}

/* 32 levels are the most: parentheses, NOT and OR all count. */
static void test_depth(void **state)
{
	char *s = nested(32), *w;
	struct search_keys *k = parse_ok(s), *k2;
	struct buf deep = { 0 };
	char why[80];

	(void)state;
	w = wire(k);
	assert_string_equal(w, s);
	free(w);
	free(s);
	search_keys_free(k);
	s = nested(33);
	assert_int_equal(search_keys_parse(s, strlen(s), &k2, why, sizeof why), -EINVAL);
	assert_string_equal(why, "nested deeper than 32");
	free(s);
	for (int i = 0; i < 32; i++)
		buf_str(&deep, "OR SEEN ");
	buf_str(&deep, "SEEN");
	k = parse_ok(deep.data);
	search_keys_free(k);
	buf_str(&deep, " NOT (SEEN)");
	assert_int_equal(search_keys_parse(deep.data + 8, deep.len - 8, &k2, why, sizeof why), 0);
	search_keys_free(k2);
	buf_free(&deep);
}

/* The text for logs keeps 8-bit strings quoted, and reads back the same. */
static void test_text(void **state)
{
	struct search_keys *k = parse_ok("or body 北京 (subject \"a\\\"b\" since 1-nov-2026)");
	char *t = search_keys_text(k), *t2;
	struct search_keys *k2;

	(void)state;
	assert_string_equal(t, "OR BODY \"北京\" (SUBJECT \"a\\\"b\" SINCE 1-Nov-2026)");
	k2 = parse_ok(t);
	t2 = search_keys_text(k2);
	assert_string_equal(t, t2);
	free(t);
	free(t2);
	search_keys_free(k);
	search_keys_free(k2);
}

static const char *const refused[] = {
	"ALL\r\nA1 DELETE INBOX",
	"ALL\nX",
	"ALL\rX",
	"FROM \"alice",
	"FROM alice\"",
	"FROM a\"b\"",
	"(FROM a",
	"FROM a)",
	"()",
	"FROO a",
	"LARGER x",
	"LARGER",
	"LARGER 99999999999",
	"LARGER 4294967296",
	"LARGER -1",
	"LARGER \"5\"",
	"SINCE 32-Nov-2026",
	"SINCE 31-Nov-2026",
	"SINCE 29-Feb-2025",
	"SINCE 29-Feb-1900",
	"SINCE 0-Nov-2026",
	"SINCE 1-Foo-2026",
	"SINCE 1-Nov-26",
	"SINCE 1-Nov-2026x",
	"SINCE 001-Nov-2026",
	"SINCE 2026-11-01",
	"UID 0",
	"UID 1:",
	"UID :5",
	"UID 1,,2",
	"UID 1,",
	"UID 01",
	"UID 4294967296",
	"UID 1:0",
	"UID a",
	"0",
	"HEADER \"X:Y\" z",
	"HEADER \"X Y\" z",
	"HEADER \"\" z",
	"HEADER X-Spam",
	"HEADER 北京 x",
	"KEYWORD \\Seen",
	"KEYWORD a]b",
	"KEYWORD \"$Junk\"",
	"KEYWORD a*",
	"",
	"   ",
	"$",
	"UID $",
	"CHARSET UTF-8 ALL",
	"charset UTF-8 ALL",
	"OR FROM a",
	"OR",
	"NOT",
	"NOT (",
	"\"ALL\"",
	"FROM \"a\\x\"",
	"FROM \"a\\",
	"FROM \xff",
	"FROM \xc0\xaf",
	"FROM \xed\xa0\x80",
	"FROM \xe5\x8c",
	"FROM a\x7f",
	"FROM a\xc2\x85",
	"FROM\ta",
	"ALL\t",
	"FROM \x1b[2J",
	"((((((((((((((((((((((((((((((((((((((((ALL))))))))))))))))))))))))))))))))))))))))",
	"OLDER 0",
	"YOUNGER x",
	"MODSEQ 0",
	"MODSEQ 9223372036854775808",
	"MODSEQ \"modseq/flags/\\\\Seen\" all 5",
	"SEARCH ALL",
	"RETURN (ALL) ALL",
	"ALL junk",
};

static void check_refused(const char *name, size_t len)
{
	struct search_keys *k = (struct search_keys *)1;
	char why[160] = "";

	if (search_keys_parse(name, len, &k, why, sizeof why) != -EINVAL)
		fail_msg("accepted \"%.*s\"", (int)len, name);
	assert_null(k);
	assert_true(why[0] != '\0');
	assert_non_null(memchr(why, '\0', sizeof why));
	assert_null(strpbrk(why, "\r\n"));
}

static void test_refused(void **state)
{
	(void)state;
	assert_true(sizeof refused / sizeof refused[0] >= 25);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		check_refused(refused[i], strlen(refused[i]));
	check_refused("FROM a\0b", 8);
	check_refused("ALL\0", 4);
	/* "NOT " 40 times is 40 deep too. */
	{
		char deep[200] = "";

		for (int i = 0; i < 40; i++)
			strcat(deep, "NOT ");
		strcat(deep, "SEEN");
		check_refused(deep, strlen(deep));
	}
}

/* Only len bytes are read: a name need not end in a NUL. */
static void test_len(void **state)
{
	struct search_keys *k;
	char why[80], *t;

	(void)state;
	assert_int_equal(search_keys_parse("SEENjunk", 4, &k, why, sizeof why), 0);
	t = search_keys_text(k);
	assert_string_equal(t, "SEEN");
	free(t);
	search_keys_free(k);
	/* A tiny why is cut, still terminated; none at all is allowed. */
	assert_int_equal(search_keys_parse("FROO", 4, &k, why, 4), -EINVAL);
	assert_int_equal(strlen(why), 3);
	assert_int_equal(search_keys_parse("FROO", 4, &k, NULL, 0), -EINVAL);
}

static void test_needs(void **state)
{
	struct search_keys *k;

	(void)state;
	k = parse_ok("FROM a");
	assert_int_equal(search_keys_needs(k), 0);
	search_keys_free(k);
	k = parse_ok("OR YOUNGER 5 (MODSEQ 3)");
	assert_int_equal(search_keys_needs(k), SEARCH_NEEDS_WITHIN | SEARCH_NEEDS_CONDSTORE);
	search_keys_free(k);
}

/* ---- imap_uid_search ---- */

struct hits {
	int n;
	uint32_t first[16], last[16];
	uint64_t calls;
};

static void on_hit(void *ud, uint32_t first, uint32_t last)
{
	struct hits *h = ud;

	h->calls++;
	assert_true(first <= last);
	if (h->n < 16) {
		h->first[h->n] = first;
		h->last[h->n] = last;
		h->n++;
	}
}

static struct imap_conn *open_cmd(const char *script_path)
{
	const char *root = getenv("IMAPFS_SOURCE_ROOT");
	struct imap_conn_config cfg = { .host = "fake", .timeout_ms = 10000 };
	struct imap_conn *c;
	char cmd[1024], err[256] = "";
	int why = 0;

	if (!root)
		root = ".";
	snprintf(cmd, sizeof cmd, "python3 %s/tests/fake/fakeimap.py %s", root, script_path);
	cfg.tunnel = cmd;
	c = imap_conn_open(&cfg, err, sizeof err, &why);
	if (!c)
		fail_msg("cannot open %s: %s (%d)", script_path, err, why);
	return c;
}

static struct imap_conn *open_script(const char *script)
{
	const char *root = getenv("IMAPFS_SOURCE_ROOT");
	char path[1024];

	snprintf(path, sizeof path, "%s/tests/fake/client/%s", root ? root : ".", script);
	return open_cmd(path);
}

static int search(struct imap_conn *c, const char *name, struct hits *h)
{
	struct search_keys *k = parse_ok(name);
	int rc;

	memset(h, 0, sizeof *h);
	rc = imap_uid_search(c, k, on_hit, h);
	search_keys_free(k);
	return rc;
}

static void assert_hit(const struct hits *h, int i, uint32_t first, uint32_t last)
{
	assert_true(i < h->n);
	assert_int_equal(h->first[i], first);
	assert_int_equal(h->last[i], last);
}

static void test_esearch(void **state)
{
	struct imap_conn *c = open_script("search_esearch.txt");
	struct hits h;

	(void)state;
	assert_int_equal(search(c, "FROM alice UNSEEN", &h), IMAP_OK);
	assert_int_equal(h.n, 2);
	assert_hit(&h, 0, 1, 3);
	assert_hit(&h, 1, 5, 5);

	assert_int_equal(search(c, "SUBJECT nothing", &h), IMAP_OK);
	assert_int_equal(h.n, 0);

	assert_int_equal(search(c, "(OR SEEN FLAGGED) NOT LARGER 10", &h), IMAP_OK);
	assert_int_equal(h.n, 3);
	assert_hit(&h, 0, 1, 1);
	assert_hit(&h, 1, 5, 5);
	assert_hit(&h, 2, 9, 9);

	assert_int_equal(search(c, "BODY 北京 SUBJECT \"hóa đơn\" HEADER X-Spam \"a\\\"b\"", &h),
			 IMAP_OK);
	assert_int_equal(h.n, 1);
	assert_hit(&h, 0, 4, 4);

	assert_int_equal(search(c, "ALL", &h), IMAP_OK);
	assert_int_equal(h.calls, 1);
	assert_hit(&h, 0, 1, UINT32_MAX);

	assert_int_equal(search(c, "ALL", &h), IMAP_EPROTO);
	assert_int_equal(h.calls, 0);
	assert_int_equal(search(c, "SEEN", &h), IMAP_EPROTO);
	assert_int_equal(h.calls, 0);
	assert_int_equal(search(c, "DRAFT", &h), IMAP_EPROTO);
	assert_int_equal(h.calls, 0);

	assert_int_equal(search(c, "TEXT x", &h), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "BADCHARSET");
	assert_int_equal(search(c, "MODSEQ 5 1:*", &h), IMAP_OK);
	assert_int_equal(h.n, 1);
	assert_hit(&h, 0, 8, 8);
	assert_false(imap_conn_broken(c));
	imap_conn_close(c);
}

static void test_plain(void **state)
{
	struct imap_conn *c = open_script("search_plain.txt");
	struct hits h;

	(void)state;
	assert_int_equal(search(c, "FROM alice", &h), IMAP_OK);
	assert_int_equal(h.n, 4);
	assert_hit(&h, 0, 1, 3);
	assert_hit(&h, 1, 7, 7);
	assert_hit(&h, 2, 9, 10);
	assert_hit(&h, 3, UINT32_MAX, UINT32_MAX);

	assert_int_equal(search(c, "SEEN", &h), IMAP_OK);
	assert_int_equal(h.n, 0);

	assert_int_equal(search(c, "OR BODY 北京 SUBJECT \"hóa đơn\" UNSEEN", &h), IMAP_OK);
	assert_int_equal(h.n, 1);
	assert_hit(&h, 0, 5, 5);

	assert_int_equal(search(c, "ALL", &h), IMAP_EPROTO);
	assert_int_equal(h.calls, 0);

	assert_int_equal(search(c, "BODY 北京", &h), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "BADCHARSET");
	assert_false(imap_conn_broken(c));

	/* Neither WITHIN nor CONDSTORE offered: refused, nothing sent (the
	 * script would hang up on it and the next search fail). */
	assert_int_equal(search(c, "OLDER 60", &h), IMAP_EBAD);
	assert_int_equal(search(c, "MODSEQ 60", &h), IMAP_EBAD);

	assert_int_equal(search(c, "UID 3:4", &h), IMAP_OK);
	assert_int_equal(h.n, 2);
	assert_hit(&h, 0, 4, 4);
	assert_hit(&h, 1, 3, 3);
	imap_conn_close(c);
}

/* Also: imap_conn_cmd_pieces refuses text with CR, LF or NUL before
 * sending anything (the script would hang up on it). */
static void test_literal_minus(void **state)
{
	struct imap_conn *c = open_script("search_literal_minus.txt");
	struct imap_cmd_piece bad[] = { { "UID SEARCH ", 11, false }, { "ALL\r\nX", 6, false } };
	struct imap_cmd_piece nul[] = { { "UID SEARCH A\0L", 14, false } };
	char name[4200] = "BODY ";
	struct hits h;

	(void)state;
	assert_int_equal(imap_conn_cmd_pieces(c, NULL, NULL, bad, 2), IMAP_EBAD);
	assert_int_equal(imap_conn_cmd_pieces(c, NULL, NULL, nul, 1), IMAP_EBAD);
	assert_false(imap_conn_broken(c));
	assert_int_equal(search(c, "BODY 北京", &h), IMAP_OK);
	assert_hit(&h, 0, 2, 2);
	for (int i = 0; i < 2050; i++)
		strcat(name, "é");
	assert_int_equal(search(c, name, &h), IMAP_OK);
	assert_hit(&h, 0, 3, 3);
	imap_conn_close(c);
}

/* A script made at run time: a long * SEARCH line, then one too long. */
static void test_huge_answers(void **state)
{
	char path[] = "/tmp/imapfs-search-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct imap_conn *c;
	struct hits h;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "S: * PREAUTH [CAPABILITY IMAP4rev1] hi\n");
	fprintf(f, "C: \\S+ UID SEARCH CHARSET UTF-8 ALL\nS: * SEARCH");
	for (uint32_t i = 1; i <= 150000; i++)
		fprintf(f, " %u", i % 50000 == 0 ? i + 7 : i);
	fprintf(f, "\nS: {TAG} OK done\n");
	/* A million numbers: past the parser's line limit, a protocol error. */
	fprintf(f, "C: \\S+ UID SEARCH CHARSET UTF-8 ALL\nS: * SEARCH");
	for (uint32_t i = 1; i <= 1000000; i++)
		fprintf(f, " %u", 4000000000u + i);
	fprintf(f, "\nS: {TAG} OK done\nCLOSE\n");
	assert_int_equal(fclose(f), 0);
	c = open_cmd(path);

	assert_int_equal(search(c, "ALL", &h), IMAP_OK);
	assert_int_equal(h.calls, 6);
	assert_hit(&h, 0, 1, 49999);
	assert_hit(&h, 1, 50007, 50007);
	assert_hit(&h, 2, 50001, 99999);
	assert_hit(&h, 5, 150007, 150007);

	assert_int_equal(search(c, "ALL", &h), IMAP_EPROTO);
	assert_int_equal(h.calls, 0);
	assert_true(imap_conn_broken(c));
	imap_conn_close(c);
	unlink(path);
}

/* ---- imap_multisearch ---- */

struct mhits {
	int n;
	char mailbox[8][32];
	uint32_t first[8], last[8];
};

static void on_mhit(void *ud, const char *mailbox, uint32_t first, uint32_t last)
{
	struct mhits *h = ud;

	assert_true(first <= last);
	assert_true(h->n < 8);
	snprintf(h->mailbox[h->n], sizeof h->mailbox[0], "%s", mailbox);
	h->first[h->n] = first;
	h->last[h->n] = last;
	h->n++;
}

static int msearch(struct imap_conn *c, const char *source, const char *name, struct mhits *h)
{
	struct search_keys *k = parse_ok(name);
	int rc;

	memset(h, 0, sizeof *h);
	rc = imap_multisearch(c, source, k, on_mhit, h);
	search_keys_free(k);
	return rc;
}

static void test_multisearch(void **state)
{
	struct imap_conn *c = open_script("search_multi.txt");
	struct mhits h;

	(void)state;
	assert_true(imap_multisearch_offered(c));
	/* Refused before sending (the script would hang up on them). */
	assert_int_equal(msearch(c, "subtree INBOX", "ALL", &h), IMAP_EBAD);
	assert_int_equal(msearch(c, "personal) X (", "ALL", &h), IMAP_EBAD);
	assert_int_equal(msearch(c, NULL, "ALL", &h), IMAP_EBAD);
	assert_int_equal(msearch(c, "personal", "OLDER 5", &h), IMAP_EBAD);

	assert_int_equal(msearch(c, "personal", "FROM alice BODY 北京", &h), IMAP_EPROTO);
	assert_int_equal(h.n, 3);
	assert_string_equal(h.mailbox[0], "INBOX");
	assert_int_equal(h.first[0], 1);
	assert_int_equal(h.last[0], 3);
	assert_string_equal(h.mailbox[1], "INBOX");
	assert_int_equal(h.first[1], 9);
	assert_string_equal(h.mailbox[2], "Archive/&ZeVnLIqe-");
	assert_int_equal(h.first[2], 5);
	assert_int_equal(h.last[2], 5);

	assert_int_equal(msearch(c, "inboxes", "SEEN", &h), IMAP_OK);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.first[0], 2);
	assert_int_equal(h.last[0], UINT32_MAX);

	assert_int_equal(msearch(c, "personal", "ALL", &h), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "LIMIT");
	assert_false(imap_conn_broken(c));
	imap_conn_close(c);
}

/* Without MULTISEARCH offered, nothing is sent. */
static void test_multisearch_not_offered(void **state)
{
	struct imap_conn *c = open_script("search_no_multi.txt");
	struct mhits h;
	struct hits uh;

	(void)state;
	assert_false(imap_multisearch_offered(c));
	assert_int_equal(msearch(c, "personal", "ALL", &h), IMAP_EBAD);
	assert_int_equal(search(c, "BODY 北京", &uh), IMAP_OK);
	imap_conn_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_len),
		cmocka_unit_test(test_needs),
		cmocka_unit_test(test_esearch),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_literal_minus),
		cmocka_unit_test(test_huge_answers),
		cmocka_unit_test(test_multisearch),
		cmocka_unit_test(test_multisearch_not_offered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
