// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bodystructure.h"
#include "parser.h"
#include "split.h"

/*
 * The expectations come from Dovecot (tests/data/split/make.py): each
 * message's BODY[], its BODYSTRUCTURE response and, in expected.txt, where
 * in BODY[] the bytes of each BODY[section] and BODY[section.HEADER] are.
 */

struct blob {
	char *data;
	size_t len;
};

static struct blob load(const char *name)
{
	const char *root = getenv("IMAPFS_SOURCE_ROOT");
	char path[4096];
	struct blob b = { 0 };
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/split/%s", root ? root : ".", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	/* exactly n bytes, so that ASan sees any read past the end */
	b.data = malloc(n > 0 ? (size_t)n : 1);
	assert_non_null(b.data);
	b.len = fread(b.data, 1, (size_t)n, f);
	assert_int_equal(b.len, (size_t)n);
	fclose(f);
	return b;
}

/* The tree of a FETCH response line carrying BODYSTRUCTURE. */
static struct part_tree *tree_of_fetch(const char *line, size_t len)
{
	struct imap_parser *p = imap_parser_new(NULL);
	struct imap_resp *r = NULL;
	const struct imap_arg *it;
	struct part_tree *t = NULL;
	char err[128];
	size_t n, i;

	assert_non_null(p);
	assert_int_equal(imap_parser_feed(p, line, len), 0);
	assert_int_equal(imap_parser_next(p, &r), IMAP_PARSE_OK);
	assert_true(imap_arg_list(&r->args.items[0], &it, &n));
	for (i = 0; i + 1 < n; i += 2)
		if (imap_arg_atom_eq(&it[i], "BODYSTRUCTURE"))
			t = bodystructure_tree(&it[i + 1], err, sizeof(err));
	assert_non_null(t);
	imap_resp_free(r);
	imap_parser_free(p);
	return t;
}

static struct part_tree *tree_of(const char *bs)
{
	char line[8192];
	int n = snprintf(line, sizeof(line), "* 1 FETCH (BODYSTRUCTURE %s)\r\n", bs);

	assert_true(n > 0 && (size_t)n < sizeof(line));
	return tree_of_fetch(line, (size_t)n);
}

struct message {
	char key[64];
	struct blob raw;
	struct part_tree *tree;
	size_t body_cuts;
};

static void message_load(struct message *m, const char *key)
{
	char name[128];
	struct blob bs;

	snprintf(m->key, sizeof(m->key), "%s", key);
	snprintf(name, sizeof(name), "%s.eml", key);
	m->raw = load(name);
	snprintf(name, sizeof(name), "%s.bs", key);
	bs = load(name);
	m->tree = tree_of_fetch(bs.data, bs.len);
	free(bs.data);
	m->body_cuts = 0;
}

/* Every part was checked: make.py numbers parts as part.c does. */
static void message_done(struct message *m)
{
	if (m->tree == NULL)
		return;
	assert_int_equal(m->body_cuts, part_tree_count(m->tree) - 1);
	part_tree_free(m->tree);
	free(m->raw.data);
	m->tree = NULL;
}

static void check_cut(struct message *m, const char *sec, const char *what, const char *where,
		      const char *lenstr)
{
	enum mime_split_what w = strcmp(what, "header") == 0 ? MIME_SPLIT_HEADER : MIME_SPLIT_BODY;
	size_t part = 0, off = SIZE_MAX, len = SIZE_MAX;
	struct blob want = { 0 };
	const char *wdata;
	int rc;

	if (strcmp(sec, "-") != 0) {
		part = part_tree_find(m->tree, sec);
		assert_true(part > 0);
		if (w == MIME_SPLIT_BODY)
			m->body_cuts++;
	}
	if (strcmp(where, "file") == 0) {
		want = load(lenstr);
		wdata = want.data;
	} else {
		want.len = strtoul(lenstr, NULL, 10);
		wdata = m->raw.data + strtoul(where, NULL, 10);
	}
	rc = mime_split(m->raw.data, m->raw.len, m->tree, part, w, &off, &len);
	if (rc != 0 || len != want.len || off + len > m->raw.len ||
	    memcmp(m->raw.data + off, wdata, len) != 0)
		fail_msg("%s %s %s: rc %d, got %zu+%zu, Dovecot has %zu bytes", m->key, sec,
			 what, rc, off, len, want.len);
	free(want.data);
}

static void test_dovecot_cuts(void **state)
{
	struct blob exp = load("expected.txt");
	struct message m = { 0 };
	char *save = NULL, *line, key[64], sec[64], what[16], where[128], lenstr[128];
	size_t cuts = 0, messages = 0;

	(void)state;
	exp.data = realloc(exp.data, exp.len + 1);
	assert_non_null(exp.data);
	exp.data[exp.len] = '\0';
	for (line = strtok_r(exp.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_int_equal(sscanf(line, "%63s %63s %15s %127s %127s", key, sec, what, where,
					lenstr), 5);
		if (strcmp(key, m.key) != 0) {
			message_done(&m);
			message_load(&m, key);
			messages++;
		}
		check_cut(&m, sec, what, where, lenstr);
		cuts++;
	}
	message_done(&m);
	print_message("%zu cuts in %zu messages match Dovecot\n", cuts, messages);
	assert_true(messages >= 20);
	free(exp.data);
}

/* ---- against the tree ------------------------------------------------------- */

#define TEXT "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)"
#define MIXED2 "(" TEXT TEXT " \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)"
#define MIXED3 "(" TEXT TEXT TEXT " \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)"

static const char two_parts[] =
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	"--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n";

static int split(const char *raw, const char *bs, const char *sec, enum mime_split_what w,
		 size_t *off, size_t *len)
{
	struct part_tree *t = tree_of(bs);
	size_t part = *sec ? part_tree_find(t, sec) : 0;
	int rc;

	assert_true(*sec == '\0' || part > 0);
	rc = mime_split(raw, strlen(raw), t, part, w, off, len);
	part_tree_free(t);
	return rc;
}

static void test_simple(void **state)
{
	size_t off, len;

	(void)state;
	assert_int_equal(split(two_parts, MIXED2, "2", MIME_SPLIT_BODY, &off, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(two_parts + off, "two", 3);
	assert_int_equal(split(two_parts, MIXED2, "", MIME_SPLIT_HEADER, &off, &len), 0);
	assert_int_equal(off, 0);
	assert_int_equal(len, 45);
}

/* Dovecot keeps bare LF as it is when it reads; the cut is the same. */
static void test_bare_lf(void **state)
{
	static const char raw[] = "Content-Type: multipart/mixed; boundary=b\n\n"
				  "--b\n\none\n--b\n\ntwo\n--b--\n";
	size_t off, len;

	(void)state;
	assert_int_equal(split(raw, MIXED2, "1", MIME_SPLIT_BODY, &off, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(raw + off, "one", 3);
	assert_int_equal(split(raw, MIXED2, "", MIME_SPLIT_HEADER, &off, &len), 0);
	assert_int_equal(len, 43);
}

static void test_mismatch(void **state)
{
	static const char no_boundary[] = "Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\none\r\n";
	static const char single[] = "Content-Type: text/plain\r\n\r\nhello\r\n";
	static const char starred[] = "Content-Type: multipart/mixed; boundary*0=b\r\n\r\n"
				      "--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n";
	static const char junk[] = "Content-Type: multipart/mixed junk; boundary=b\r\n\r\n"
				   "--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n";
	size_t off, len;

	(void)state;
	assert_int_equal(split(no_boundary, MIXED2, "1", MIME_SPLIT_BODY, &off, &len), -1);
	assert_int_equal(split(two_parts, MIXED3, "1", MIME_SPLIT_BODY, &off, &len), -1);
	assert_int_equal(split(single, MIXED2, "1", MIME_SPLIT_BODY, &off, &len), -1);
	assert_int_equal(split(two_parts, TEXT, "1", MIME_SPLIT_BODY, &off, &len), -1);
	/* a leaf has no HEADER section */
	assert_int_equal(split(two_parts, MIXED2, "1", MIME_SPLIT_HEADER, &off, &len), -1);
	/* readings that differ between Dovecot versions are not guessed */
	assert_int_equal(split(starred, MIXED2, "1", MIME_SPLIT_BODY, &off, &len), -1);
	assert_int_equal(split(junk, MIXED2, "1", MIME_SPLIT_BODY, &off, &len), -1);
}

static void test_bad_args(void **state)
{
	struct part_tree *t = tree_of(MIXED2);
	size_t off, len;

	(void)state;
	assert_int_equal(mime_split(two_parts, strlen(two_parts), t, part_tree_count(t),
				    MIME_SPLIT_BODY, &off, &len), -1);
	assert_int_equal(mime_split(two_parts, strlen(two_parts), NULL, 0, MIME_SPLIT_BODY,
				    &off, &len), -1);
	assert_int_equal(mime_split(NULL, 5, t, 1, MIME_SPLIT_BODY, &off, &len), -1);
	assert_int_equal(mime_split("", 0, t, 1, MIME_SPLIT_BODY, &off, &len), -1);
	part_tree_free(t);
}

/* ---- bounds ------------------------------------------------------------------- */

/* Every part of t, both cuts, on raw[0..len) in a buffer of exactly len. */
static void cut_all(const char *raw, size_t len, const struct part_tree *t)
{
	char *copy = malloc(len ? len : 1);
	size_t i, off, n;

	assert_non_null(copy);
	memcpy(copy, raw, len);
	for (i = 0; i < part_tree_count(t); i++) {
		if (mime_split(copy, len, t, i, MIME_SPLIT_BODY, &off, &n) == 0)
			assert_true(off <= len && n <= len - off);
		if (mime_split(copy, len, t, i, MIME_SPLIT_HEADER, &off, &n) == 0)
			assert_true(off <= len && n <= len - off);
	}
	free(copy);
}

static const char *const small[] = {
	"pre-epi", "padding", "deep3", "rfc822-single", "empty-parts", "inner-no-close",
	"prefix-bounds", "same-bound", "folded-ct", "digest", "top-rfc822", "no-final-crlf",
};

static void test_truncated(void **state)
{
	struct message m = { 0 };
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		message_load(&m, small[i]);
		for (n = 0; n <= m.raw.len; n++)
			cut_all(m.raw.data, n, m.tree);
		part_tree_free(m.tree);
		free(m.raw.data);
	}
}

static void test_mutated(void **state)
{
	static const char alphabet[] = "-\r\n \"=;:b\\(";
	struct message m = { 0 };
	uint32_t seed = 12345;
	size_t i, round, k;
	char *buf;

	(void)state;
	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		message_load(&m, small[i]);
		buf = malloc(m.raw.len);
		assert_non_null(buf);
		for (round = 0; round < 300; round++) {
			memcpy(buf, m.raw.data, m.raw.len);
			for (k = 0; k < 4; k++) {
				seed = seed * 1103515245u + 12345u;
				buf[(seed >> 8) % m.raw.len] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
			}
			cut_all(buf, m.raw.len, m.tree);
		}
		free(buf);
		part_tree_free(m.tree);
		free(m.raw.data);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dovecot_cuts),
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mutated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
