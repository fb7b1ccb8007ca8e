/*
 * client — each command against tests/fake/fakeimap.py over a tunnel. The
 * scripts in tests/fake/client/ assert the exact commands sent: a command
 * that does not match makes the fake server hang up, and the call fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "fake_script.h"

/* ---- LIST ---- */

struct listed {
	int n;
	char name[8][32];
	char delim[8];
	unsigned attrs[8];
};

static void on_mailbox(void *ud, const char *name, char delim, unsigned attrs)
{
	struct listed *l = ud;

	assert_true(l->n < 8);
	snprintf(l->name[l->n], sizeof l->name[0], "%s", name);
	l->delim[l->n] = delim;
	l->attrs[l->n] = attrs;
	l->n++;
}

static void test_list(void **state)
{
	struct imap_conn *c = open_script("list.txt");
	struct listed l = { 0 };

	(void)state;
	assert_int_equal(imap_list(c, on_mailbox, &l), IMAP_OK);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.name[0], "INBOX");
	assert_int_equal(l.delim[0], '/');
	assert_int_equal(l.attrs[0], IMAP_MBOX_HASNOCHILDREN);
	assert_string_equal(l.name[1], "Archive");
	assert_int_equal(l.attrs[1], IMAP_MBOX_HASCHILDREN | IMAP_MBOX_NOSELECT);
	assert_string_equal(l.name[2], "Trash");
	assert_int_equal(l.delim[2], '.');
	assert_int_equal(l.attrs[2], IMAP_MBOX_HASNOCHILDREN | IMAP_MBOX_TRASH);
	assert_string_equal(l.name[3], "Flat");
	assert_int_equal(l.delim[3], 0);
	assert_int_equal(l.attrs[3], IMAP_MBOX_NOINFERIORS);
	assert_string_equal(l.name[4], "&ZeVnLIqe-");
	assert_int_equal(l.attrs[4], IMAP_MBOX_SENT | IMAP_MBOX_DRAFTS | IMAP_MBOX_JUNK |
					     IMAP_MBOX_ARCHIVE | IMAP_MBOX_ALL | IMAP_MBOX_FLAGGED |
					     IMAP_MBOX_NOSELECT);
	assert_string_equal(l.name[5], "back");
	assert_int_equal(l.delim[5], '\\');
	imap_conn_close(c);
}

static void test_list_plain(void **state)
{
	struct imap_conn *c = open_script("list_plain.txt");
	struct listed l = { 0 };

	(void)state;
	assert_int_equal(imap_list(c, on_mailbox, &l), IMAP_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.name[0], "INBOX");
	imap_conn_close(c);
}

/* ---- EXAMINE ---- */

static void test_examine(void **state)
{
	struct imap_conn *c = open_script("examine.txt");
	struct imap_mailbox_status st;

	(void)state;
	assert_int_equal(imap_examine(c, "INBOX", &st), IMAP_OK);
	assert_int_equal(st.uidvalidity, 3857529045u);
	assert_int_equal(st.uidnext, 4392);
	assert_int_equal(st.exists, 172);
	assert_true(st.highestmodseq == 715194045007ull);
	assert_string_equal(imap_conn_selected(c), "INBOX");

	assert_int_equal(imap_examine(c, "a\"b", &st), IMAP_OK);
	assert_int_equal(st.exists, 0);
	assert_int_equal(st.uidvalidity, 0);
	assert_true(st.highestmodseq == 0);
	assert_string_equal(imap_conn_selected(c), "a\"b");

	assert_int_equal(imap_examine(c, "Gone", &st), IMAP_ENO);
	assert_null(imap_conn_selected(c));
	imap_conn_close(c);
}

/* ---- FETCH metadata ---- */

struct fetched {
	int n;
	struct {
		uint32_t uid;
		unsigned have;
		char flags[64];
		time_t date;
		uint64_t size;
		char from[64], subject[64], msgid[64], irt[64];
		bool date_nil, subject_nil, from_nil, irt_nil;
		size_t bs_len;
	} m[8];
};

static void copy_nullable(char *dst, size_t len, const char *s, bool *nil)
{
	*nil = s == NULL;
	snprintf(dst, len, "%s", s ? s : "");
}

static void on_meta(void *ud, const struct imap_msg_meta *m)
{
	struct fetched *f = ud;
	bool dummy;

	assert_true(f->n < 8);
	f->m[f->n].uid = m->uid;
	f->m[f->n].have = m->have;
	assert_non_null(m->flags);
	snprintf(f->m[f->n].flags, sizeof f->m[0].flags, "%s", m->flags);
	f->m[f->n].date = m->internaldate;
	f->m[f->n].size = m->size;
	if (m->have & IMAP_META_ENVELOPE) {
		copy_nullable(f->m[f->n].from, 64, m->envelope.from, &f->m[f->n].from_nil);
		copy_nullable(f->m[f->n].subject, 64, m->envelope.subject, &f->m[f->n].subject_nil);
		copy_nullable(f->m[f->n].msgid, 64, m->envelope.message_id, &dummy);
		copy_nullable(f->m[f->n].irt, 64, m->envelope.in_reply_to, &f->m[f->n].irt_nil);
		f->m[f->n].date_nil = m->envelope.date == NULL;
	}
	if (m->have & IMAP_META_BODYSTRUCTURE)
		f->m[f->n].bs_len = m->bodystructure->len;
	f->n++;
}

static void test_fetch_meta(void **state)
{
	struct imap_conn *c = open_script("fetch_meta.txt");
	unsigned all = IMAP_META_FLAGS | IMAP_META_INTERNALDATE | IMAP_META_SIZE |
		       IMAP_META_ENVELOPE | IMAP_META_BODYSTRUCTURE;
	struct fetched f = { 0 };

	(void)state;
	assert_int_equal(imap_fetch_meta(c, "1:*", all, on_meta, &f), IMAP_OK);
	assert_int_equal(f.n, 4);   /* the FETCH without UID is skipped */

	assert_int_equal(f.m[0].uid, 7);
	assert_int_equal(f.m[0].have, all);
	assert_string_equal(f.m[0].flags, "\\Seen $Label1");
	assert_int_equal(f.m[0].date, 837596665);
	assert_int_equal(f.m[0].size, 4286);
	assert_string_equal(f.m[0].from, "Terry Gray <gray@cac.washington.edu>");
	assert_string_equal(f.m[0].subject, "IMAP4rev1 WG mtg summary and minutes");
	assert_string_equal(f.m[0].msgid, "<B27397-0100000@cac.washington.edu>");
	assert_true(f.m[0].irt_nil);
	assert_int_equal(f.m[0].bs_len, 8);

	assert_int_equal(f.m[1].uid, 9);
	assert_int_equal(f.m[1].have, IMAP_META_FLAGS | IMAP_META_ENVELOPE | IMAP_META_SIZE |
					      IMAP_META_INTERNALDATE);
	assert_string_equal(f.m[1].flags, "");
	assert_int_equal(f.m[1].date, 946684800);
	assert_int_equal(f.m[1].size, 10);
	assert_true(f.m[1].from_nil && f.m[1].subject_nil && f.m[1].date_nil && f.m[1].irt_nil);

	assert_int_equal(f.m[2].uid, 12);   /* unsolicited: FLAGS only */
	assert_int_equal(f.m[2].have, IMAP_META_FLAGS);
	assert_string_equal(f.m[2].flags, "\\Flagged");

	assert_int_equal(f.m[3].uid, 13);
	assert_int_equal(f.m[3].have, IMAP_META_ENVELOPE);
	assert_string_equal(f.m[3].flags, "");
	assert_string_equal(f.m[3].from, "bob@example.org");
	assert_string_equal(f.m[3].subject, "subj");
	assert_string_equal(f.m[3].irt, "<x@y>");
	assert_string_equal(f.m[3].msgid, "<m@y>");

	memset(&f, 0, sizeof f);
	assert_int_equal(imap_fetch_meta(c, "5,7:9", IMAP_META_FLAGS, on_meta, &f), IMAP_OK);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.m[0].uid, 42);
	assert_string_equal(f.m[0].flags, "\\Seen");
	imap_conn_close(c);
}

/* ---- FETCH body part ---- */

static void test_fetch_part(void **state)
{
	struct imap_conn *c = open_script("fetch_part.txt");
	char *data;
	size_t len;

	(void)state;
	assert_int_equal(imap_fetch_part(c, 42, "", 0, 65536, &data, &len), IMAP_OK);
	assert_int_equal(len, 11);
	assert_memory_equal(data, "ab\r\ncd\0ef\r\n", 11);
	free(data);

	assert_int_equal(imap_fetch_part(c, 42, "HEADER", 0, 0, &data, &len), IMAP_OK);
	assert_non_null(data);
	assert_int_equal(len, 0);
	free(data);

	assert_int_equal(imap_fetch_part(c, 42, "1.2.mime", 100, 0, &data, &len), IMAP_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "xyz", 3);
	free(data);

	/* More than asked for is cut to the length. */
	assert_int_equal(imap_fetch_part(c, 42, "TEXT", 7, 5, &data, &len), IMAP_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "abcde", 5);
	free(data);

	assert_int_equal(imap_fetch_part(c, 42, "HEADER.FIELDS (From Subject)", 0, 0, &data, &len),
			 IMAP_OK);
	assert_int_equal(len, 9);
	assert_memory_equal(data, "From: a\r\n", 9);
	free(data);

	assert_int_equal(imap_fetch_part(c, 99, "", 0, 0, &data, &len), IMAP_ENO);
	assert_null(data);
	assert_int_equal(len, 0);
	imap_conn_close(c);
}

/* Several ranges of one part in one command. */
static void test_fetch_ranges(void **state)
{
	struct imap_conn *c = open_script("fetch_ranges.txt");
	const uint64_t off[] = { 0, 96 }, len[] = { 4, 5 }, off2[] = { 0, 9 }, len2[] = { 4, 9 };
	char *data[2];
	size_t n[2];

	(void)state;
	assert_int_equal(imap_fetch_ranges(c, 42, "2", off, len, 2, data, n), IMAP_OK);
	assert_int_equal(n[0], 4);
	assert_memory_equal(data[0], "head", 4);
	assert_int_equal(n[1], 4);
	assert_memory_equal(data[1], "t\r\nl", 4);
	free(data[0]);
	free(data[1]);
	/* a range not answered: the message is gone */
	assert_int_equal(imap_fetch_ranges(c, 42, "2", off, len, 2, data, n), IMAP_ENO);
	assert_null(data[0]);
	assert_null(data[1]);
	/* no origins: in the order asked */
	assert_int_equal(imap_fetch_ranges(c, 7, "1.2", off2, len2, 2, data, n), IMAP_OK);
	assert_memory_equal(data[0], "aaaa", 4);
	assert_int_equal(n[1], 2);
	assert_memory_equal(data[1], "bb", 2);
	free(data[0]);
	free(data[1]);
	/* refused before anything is sent */
	assert_int_equal(imap_fetch_ranges(c, 7, "1 BODY[]", off2, len2, 2, data, n), IMAP_EBAD);
	assert_int_equal(imap_fetch_ranges(c, 7, "1", off2, len2, 0, data, n), IMAP_EBAD);
	assert_int_equal(imap_fetch_ranges(c, 7, "1", off2, (const uint64_t[]){ 4, 0 }, 2, data, n),
			 IMAP_EBAD);
	imap_conn_close(c);
}

struct sunk {
	char data[64];
	size_t len;
	size_t refuse_after;      /* bytes taken before it refuses (0: never) */
};

static int sink_into(void *ud, const char *data, size_t len)
{
	struct sunk *k = ud;

	if (k->refuse_after && k->len + len > k->refuse_after)
		return -1;
	assert_true(k->len + len <= sizeof k->data);
	memcpy(k->data + k->len, data, len);
	k->len += len;
	return 0;
}

static void test_fetch_part_to(void **state)
{
	struct imap_conn *c = open_script("fetch_part_to.txt");
	struct sunk k = { 0 };
	uint64_t n;

	(void)state;
	/* A literal goes to the sink, not into the response (which ends as it should);
	 * another message's does not. */
	assert_int_equal(imap_fetch_part_to(c, 42, "2", 0, 262144, sink_into, &k, &n), IMAP_OK);
	assert_int_equal(n, 14);
	assert_memory_equal(k.data, "ab\r\ncd\0ef{3}\r\n", 14);
	/* A quoted string too; another UID's answer is not ours. */
	k.len = 0;
	assert_int_equal(imap_fetch_part_to(c, 42, "2", 12, UINT64_MAX, sink_into, &k, &n),
			 IMAP_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(k.data, "xyz", 3);
	/* More than asked is dropped. */
	k.len = 0;
	assert_int_equal(imap_fetch_part_to(c, 42, "1", 0, 4, sink_into, &k, &n), IMAP_OK);
	assert_int_equal(n, 4);
	assert_memory_equal(k.data, "abcd", 4);
	/* No answer: gone. */
	assert_int_equal(imap_fetch_part_to(c, 99, "1", 0, 4, sink_into, &k, &n), IMAP_ENO);
	assert_int_equal(imap_fetch_part_to(c, 42, "1;", 0, 4, sink_into, &k, &n), IMAP_EBAD);
	assert_int_equal(imap_fetch_part_to(c, 42, "1", 0, 0, sink_into, &k, &n), IMAP_EBAD);
	/* A sink that refuses stops the fetch and breaks the connection. */
	k = (struct sunk){ .refuse_after = 5 };
	assert_int_equal(imap_fetch_part_to(c, 42, "3", 0, 100, sink_into, &k, &n), IMAP_ESTOP);
	assert_true(imap_conn_broken(c));
	assert_true(n <= 5);
	imap_conn_close(c);
}

static void test_fetch_wrong_range(void **state)
{
	struct imap_conn *c = open_script("fetch_wrong_range.txt");
	uint64_t off[2] = { 0, 8 }, len[2] = { 4, 4 };
	char *data = (char *)"x", *datas[2];
	size_t n = 1, lens[2];

	(void)state;
	assert_int_equal(imap_fetch_part(c, 42, "2", 8, 4, &data, &n), IMAP_EBAD);
	assert_null(data);
	assert_int_equal(n, 0);
	assert_int_equal(imap_fetch_part(c, 42, "2", 8, 4, &data, &n), IMAP_EBAD);
	assert_null(data);
	assert_int_equal(imap_fetch_part(c, 42, "2", 8, 4, &data, &n), IMAP_OK);
	assert_int_equal(n, 4);
	assert_memory_equal(data, "ijkl", 4);
	free(data);
	/* The second range answered from another origin: not taken, so missing. */
	assert_int_not_equal(imap_fetch_ranges(c, 42, "2", off, len, 2, datas, lens), IMAP_OK);
	assert_null(datas[0]);
	assert_null(datas[1]);
	imap_conn_close(c);
}

static void test_reject(void **state)
{
	static const char *bad[] = {
		"0", "1.0", "1.", ".1", "01", "MIME", "HEADER\r\n", "TEXT] RFC822", "BODY",
		"HEADER.FIELDS ()", "HEADER.FIELDS (A\"B)", "HEADER.FIELDS (A) X",
		"HEADER.FIELDS  (A)", "HEADER.FIELDS (A", "1.HEADERX", "TEXT)", "1 2",
	};
	struct imap_conn *c = open_script("reject.txt");
	struct fetched f = { 0 };
	char *data;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		data = (char *)"x";
		assert_int_equal(imap_fetch_part(c, 42, bad[i], 0, 0, &data, &len), IMAP_EBAD);
		assert_null(data);
	}
	assert_int_equal(imap_fetch_part(c, 0, "", 0, 0, &data, &len), IMAP_EBAD);
	assert_int_equal(imap_fetch_part(c, 1, "", 1ull << 32, 0, &data, &len), IMAP_EBAD);
	assert_int_equal(imap_fetch_meta(c, "1:* (BODY[])", 0, on_meta, &f), IMAP_EBAD);
	assert_int_equal(imap_fetch_meta(c, "", 0, on_meta, &f), IMAP_EBAD);
	/* Nothing reached the server: the next command is what the script expects. */
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	imap_conn_close(c);
}

/* ---- FETCH BINARY ---- */

static void test_fetch_binary(void **state)
{
	struct imap_conn *c = open_script("fetch_binary.txt");
	char *data;
	size_t len;

	(void)state;
	assert_int_equal(imap_fetch_binary(c, 42, "2", 0, 0, &data, &len), IMAP_OK);
	assert_int_equal(len, 9);
	assert_memory_equal(data, "\0\r\n\xff\nab\r\0", 9);
	free(data);

	/* More than asked for is cut to the length. */
	assert_int_equal(imap_fetch_binary(c, 42, "1.2", 100, 5, &data, &len), IMAP_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "vwxyz", 5);
	free(data);

	assert_int_equal(imap_fetch_binary(c, 42, "1", 4096, 0, &data, &len), IMAP_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "xyz", 3);
	free(data);

	assert_int_equal(imap_fetch_binary(c, 42, "3", 0, 10, &data, &len), IMAP_OK);
	assert_non_null(data);
	assert_int_equal(len, 0);
	free(data);

	data = (char *)"x";
	assert_int_equal(imap_fetch_binary(c, 42, "4", 0, 0, &data, &len), IMAP_ENO);
	assert_null(data);
	assert_string_equal(imap_conn_last_code(c), "UNKNOWN-CTE");

	assert_int_equal(imap_fetch_binary(c, 99, "1", 0, 0, &data, &len), IMAP_ENO);
	assert_null(data);
	assert_int_equal(len, 0);
	imap_conn_close(c);
}

static void test_fetch_binary_sizes(void **state)
{
	static const char *const three[] = { "1", "2.1", "3" };
	static const char *const two[] = { "2" };
	static const char *const cte[] = { "1", "4" };
	struct imap_conn *c = open_script("fetch_binary_sizes.txt");
	uint64_t sizes[3];

	(void)state;
	assert_int_equal(imap_fetch_binary_sizes(c, 42, three, 3, sizes), IMAP_OK);
	assert_true(sizes[0] == 12345);
	assert_true(sizes[1] == 0);
	assert_true(sizes[2] == UINT64_MAX);

	/* Nothing to ask: nothing is sent. */
	assert_int_equal(imap_fetch_binary_sizes(c, 42, three, 0, sizes), IMAP_OK);

	assert_int_equal(imap_fetch_binary_sizes(c, 42, two, 1, sizes), IMAP_OK);
	assert_true(sizes[0] == 20971520);

	assert_int_equal(imap_fetch_binary_sizes(c, 99, three, 1, sizes), IMAP_ENO);
	assert_true(sizes[0] == UINT64_MAX);

	assert_int_equal(imap_fetch_binary_sizes(c, 42, cte, 2, sizes), IMAP_ENO);
	assert_string_equal(imap_conn_last_code(c), "UNKNOWN-CTE");
	assert_true(sizes[0] == UINT64_MAX && sizes[1] == UINT64_MAX);
	imap_conn_close(c);
}

static void test_reject_binary(void **state)
{
	static const char *bad[] = {
		"", "HEADER", "TEXT", "MIME", "1.MIME", "1.HEADER", "1.TEXT", "0", "1.0", "1.",
		".1", "01", "1 2", "1]", "1]<0>", "2.1\r\n", "HEADER.FIELDS (From)",
	};
	const char *mixed[] = { "1", NULL };
	struct imap_conn *c = open_script("reject.txt");
	uint64_t sizes[2];
	char *data;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		data = (char *)"x";
		assert_int_equal(imap_fetch_binary(c, 42, bad[i], 0, 0, &data, &len), IMAP_EBAD);
		assert_null(data);
		mixed[1] = bad[i];
		sizes[0] = 0;
		assert_int_equal(imap_fetch_binary_sizes(c, 42, mixed, 2, sizes), IMAP_EBAD);
		assert_true(sizes[0] == UINT64_MAX);
	}
	mixed[1] = NULL;
	assert_int_equal(imap_fetch_binary_sizes(c, 42, mixed, 2, sizes), IMAP_EBAD);
	assert_int_equal(imap_fetch_binary_sizes(c, 0, mixed, 1, sizes), IMAP_EBAD);
	assert_int_equal(imap_fetch_binary_sizes(c, 42, NULL, 1, sizes), IMAP_EBAD);
	assert_int_equal(imap_fetch_binary(c, 42, NULL, 0, 0, &data, &len), IMAP_EBAD);
	assert_int_equal(imap_fetch_binary(c, 0, "1", 0, 0, &data, &len), IMAP_EBAD);
	assert_int_equal(imap_fetch_binary(c, 1, "1", 1ull << 32, 0, &data, &len), IMAP_EBAD);
	/* Nothing reached the server: the next command is what the script expects. */
	assert_int_equal(imap_conn_cmd(c, NULL, NULL, "NOOP"), IMAP_OK);
	imap_conn_close(c);
}

/* ---- INTERNALDATE ---- */

static void test_internaldate(void **state)
{
	static const char *bad[] = {
		"", "17-Jul-1996 02:44:25", "17-Jly-1996 02:44:25 -0700",
		"32-Jul-1996 02:44:25 -0700", "31-Feb-2001 00:00:00 +0000",
		"17-Jul-1996 24:00:00 +0000", "17-Jul-1996 02:60:00 +0000",
		"17-Jul-1996 02:44:25 0700", "17-Jul-1996 02:44:25 -07000",
		"17-Jul-96 02:44:25 -0700", "17-Jul-1996  2:44:25 -0700",
		"17-Jul-1996 02:44:25 +2400", "17-Jul-1996 02:44:25 +0060", "x",
	};

	(void)state;
	assert_int_equal(imap_parse_internaldate("17-Jul-1996 02:44:25 -0700"), 837596665);
	assert_int_equal(imap_parse_internaldate("17-jul-1996 16:14:25 +0630"), 837596665);
	assert_int_equal(imap_parse_internaldate(" 1-Jan-2000 00:00:00 +0000"), 946684800);
	assert_int_equal(imap_parse_internaldate("01-Jan-2000 01:00:00 +0100"), 946684800);
	assert_int_equal(imap_parse_internaldate("29-Feb-2024 12:00:00 +0530"), 1709188200);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(imap_parse_internaldate(bad[i]), -1);
	assert_int_equal(imap_parse_internaldate(NULL), -1);
}

/* ---- CONDSTORE / QRESYNC ---- */

static void test_examine_condstore(void **state)
{
	struct imap_conn *c = open_script("examine_condstore.txt");
	struct imap_mailbox_status st;

	(void)state;
	assert_int_equal(imap_examine(c, "INBOX", &st), IMAP_OK);
	assert_int_equal(st.uidvalidity, 1700000000u);
	assert_int_equal(st.uidnext, 10);
	assert_int_equal(st.exists, 3);
	assert_true(st.highestmodseq == 9223372036854775807ull);
	assert_int_equal(imap_examine(c, "Plain", &st), IMAP_OK);
	assert_int_equal(st.uidnext, 2);
	assert_true(st.highestmodseq == 0);
	imap_conn_close(c);
}

struct changes {
	int n;
	uint32_t uid[8];
	char flags[8][32];
	uint64_t modseq[8];
	unsigned have[8];
	int ngone;
	uint32_t first[8], last[8];
};

static void on_change(void *ud, const struct imap_msg_meta *m)
{
	struct changes *ch = ud;

	assert_true(ch->n < 8);
	ch->uid[ch->n] = m->uid;
	snprintf(ch->flags[ch->n], sizeof ch->flags[0], "%s", m->flags);
	ch->modseq[ch->n] = m->modseq;
	ch->have[ch->n] = m->have;
	ch->n++;
}

static void on_gone(void *ud, uint32_t first, uint32_t last)
{
	struct changes *ch = ud;

	assert_true(ch->ngone < 8);
	ch->first[ch->ngone] = first;
	ch->last[ch->ngone] = last;
	ch->ngone++;
}

static void test_fetch_changes(void **state)
{
	struct imap_conn *c = open_script("changes.txt");
	struct changes ch = { 0 };
	static const uint32_t first[] = { 41, 43, 48, 4294967295u, 52 };
	static const uint32_t last[] = { 41, 45, 50, 4294967295u, 52 };

	(void)state;
	assert_false(imap_conn_enabled(c, "QRESYNC"));
	assert_int_equal(imap_enable(c, "QRESYNC"), IMAP_OK);
	assert_true(imap_conn_enabled(c, "qresync"));
	/* Once per connection: the script has no second ENABLE. */
	assert_int_equal(imap_enable(c, "QRESYNC"), IMAP_OK);
	assert_int_equal(imap_examine(c, "INBOX", NULL), IMAP_OK);
	assert_int_equal(imap_fetch_changes(c, 0, true, on_change, on_gone, &ch), IMAP_EBAD);
	assert_int_equal(imap_fetch_changes(c, 12345, true, on_change, on_gone, &ch), IMAP_OK);
	assert_int_equal(ch.n, 2);
	assert_int_equal(ch.uid[0], 4);
	assert_string_equal(ch.flags[0], "\\Seen");
	assert_true(ch.modseq[0] == 12346);
	assert_int_equal(ch.have[0], IMAP_META_FLAGS | IMAP_META_MODSEQ);
	assert_int_equal(ch.uid[1], 7);
	assert_string_equal(ch.flags[1], "");
	assert_true(ch.modseq[1] == 12350);
	assert_int_equal(ch.ngone, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ch.first[i], first[i]);
		assert_int_equal(ch.last[i], last[i]);
	}

	memset(&ch, 0, sizeof ch);
	assert_int_equal(imap_fetch_changes(c, 7, false, on_change, NULL, &ch), IMAP_OK);
	assert_int_equal(ch.n, 1);
	assert_int_equal(ch.uid[0], 9);
	assert_string_equal(ch.flags[0], "\\Flagged \\Seen");
	assert_true(ch.modseq[0] == 8);
	imap_conn_close(c);
}

/* Sizes over IMAP_SIZE_MAX, UIDs outside 1..2^32-1 and mod-sequences over
 * 2^63-1 are read as absent. */
static void test_bounds(void **state)
{
	static const char *const three[] = { "1", "2", "3" };
	struct imap_conn *c = open_script("bounds.txt");
	unsigned items = IMAP_META_SIZE | IMAP_META_MODSEQ;
	struct imap_mailbox_status st;
	struct fetched f = { 0 };
	uint64_t sizes[3];

	(void)state;
	assert_int_equal(imap_examine(c, "INBOX", &st), IMAP_OK);
	assert_int_equal(st.uidvalidity, 7);
	assert_true(st.highestmodseq == 0);
	assert_int_equal(imap_fetch_meta(c, "1:*", items, on_meta, &f), IMAP_OK);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.m[0].have, IMAP_META_SIZE | IMAP_META_MODSEQ);
	assert_true(f.m[0].size == IMAP_SIZE_MAX);
	assert_int_equal(f.m[1].uid, 2);
	assert_int_equal(f.m[1].have, 0);
	assert_int_equal(f.m[2].uid, 3);
	assert_int_equal(f.m[2].have, 0);
	assert_int_equal(imap_fetch_binary_sizes(c, 42, three, 3, sizes), IMAP_OK);
	assert_true(sizes[0] == UINT64_MAX);
	assert_true(sizes[1] == UINT64_MAX);
	assert_true(sizes[2] == IMAP_SIZE_MAX);
	imap_conn_close(c);
}

static void test_enable_refused(void **state)
{
	struct imap_conn *c = open_script("enable_refused.txt");
	struct changes ch = { 0 };

	(void)state;
	assert_int_equal(imap_enable(c, "QRESYNC"), IMAP_ENO);
	assert_false(imap_conn_enabled(c, "QRESYNC"));
	assert_int_equal(imap_enable(c, "QRESYNC"), IMAP_ENO);
	/* Refused before anything is sent: the script expects LOGOUT next. */
	assert_int_equal(imap_enable(c, "QRESYNC\r\nX"), IMAP_EBAD);
	assert_int_equal(imap_fetch_changes(c, 5, true, on_change, on_gone, &ch), IMAP_EBAD);
	assert_int_equal(imap_fetch_changes(c, 1ull << 63, false, on_change, NULL, &ch),
			 IMAP_EBAD);
	imap_conn_close(c);
}

struct bodies {
	int n;
	uint32_t uid[4];
	char data[4][32];
	size_t len[4];
};

static void on_body(void *ud, uint32_t uid, const char *data, size_t len)
{
	struct bodies *b = ud;

	assert_true(b->n < 4 && len < sizeof b->data[0]);
	b->uid[b->n] = uid;
	memcpy(b->data[b->n], data, len);
	b->len[b->n] = len;
	b->n++;
}

static void test_fetch_bodies(void **state)
{
	struct imap_conn *c = open_script("fetch_bodies.txt");
	struct bodies b = { 0 };

	(void)state;
	assert_int_equal(imap_fetch_bodies(c, "3 x", on_body, &b), IMAP_EBAD);
	assert_int_equal(imap_fetch_bodies(c, "3,5:7", on_body, &b), IMAP_OK);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.uid[0], 3);
	assert_int_equal(b.len[0], 14);
	assert_memory_equal(b.data[0], "Subject: x\r\n\r\n", 14);
	assert_int_equal(b.uid[1], 5);
	assert_int_equal(b.len[1], 4);
	assert_memory_equal(b.data[1], "\xc3\xa9\r\n", 4);
	assert_int_equal(b.uid[2], 7);
	assert_int_equal(b.len[2], 0);
	imap_conn_close(c);
}

/* ---- GETQUOTAROOT ---- */

static void assert_resource(const struct imap_quota_resource *r, bool known, uint64_t usage,
			    uint64_t limit)
{
	assert_int_equal(r->known, known);
	assert_true(r->usage == usage);
	assert_true(r->limit == limit);
}

static void test_quota(void **state)
{
	struct imap_conn *c = open_script("quota.txt");
	struct imap_quota q;

	(void)state;
	assert_int_equal(imap_getquotaroot(c, "INBOX", &q), IMAP_OK);
	assert_resource(&q.storage, true, 0, 10240);
	assert_resource(&q.messages, true, 0, 1000);

	assert_int_equal(imap_getquotaroot(c, "INBOX", &q), IMAP_OK);
	assert_resource(&q.storage, true, 50, 200);    /* b: 150 left, a: 900 */
	assert_resource(&q.messages, true, 1, 2);      /* a: 1 left, b: 7 */

	assert_int_equal(imap_getquotaroot(c, "INBOX", &q), IMAP_OK);
	assert_resource(&q.storage, false, 0, 0);
	assert_resource(&q.messages, true, 5, 4);

	assert_int_equal(imap_getquotaroot(c, "INBOX", &q), IMAP_OK);
	assert_resource(&q.storage, false, 0, 0);
	assert_resource(&q.messages, true, 1, IMAP_QUOTA_MAX);

	assert_int_equal(imap_getquotaroot(c, "INBOX", &q), IMAP_OK);
	assert_resource(&q.storage, false, 0, 0);
	assert_resource(&q.messages, false, 0, 0);

	memset(&q, 0xff, sizeof(q));
	assert_int_equal(imap_getquotaroot(c, "INBOX", &q), IMAP_ENO);
	assert_resource(&q.storage, false, 0, 0);
	assert_resource(&q.messages, false, 0, 0);
	imap_conn_close(c);
}

static void test_quota_none(void **state)
{
	struct imap_conn *c = open_script("quota_none.txt");
	struct imap_quota q;

	(void)state;
	memset(&q, 0xff, sizeof(q));
	assert_int_equal(imap_getquotaroot(c, "INBOX", &q), IMAP_ENO);
	assert_resource(&q.storage, false, 0, 0);
	assert_false(imap_conn_broken(c));
	imap_conn_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_plain),
		cmocka_unit_test(test_examine),
		cmocka_unit_test(test_fetch_meta),
		cmocka_unit_test(test_fetch_part),
		cmocka_unit_test(test_fetch_ranges),
		cmocka_unit_test(test_fetch_part_to),
		cmocka_unit_test(test_fetch_wrong_range),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_fetch_binary),
		cmocka_unit_test(test_fetch_binary_sizes),
		cmocka_unit_test(test_reject_binary),
		cmocka_unit_test(test_internaldate),
		cmocka_unit_test(test_examine_condstore),
		cmocka_unit_test(test_fetch_changes),
		cmocka_unit_test(test_enable_refused),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_fetch_bodies),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_quota_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
