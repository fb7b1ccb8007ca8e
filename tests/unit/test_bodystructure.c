// SPDX-License-Identifier: GPL-2.0-or-later
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "bodystructure.h"
#include "parser.h"

/*
 * The tree of a BODYSTRUCTURE as a server sends it. The response is freed
 * before the tree is used, so a tree that kept pointers into it fails
 * under ASan.
 */
static struct part_tree *tree_of_n(const char *bs, size_t n)
{
	static const char head[] = "* 1 FETCH (BODYSTRUCTURE ", tail[] = ")\r\n";
	struct imap_parser *p = imap_parser_new(NULL);
	struct imap_resp *r = NULL;
	struct part_tree *t;
	char err[128];

	assert_non_null(p);
	assert_int_equal(imap_parser_feed(p, head, strlen(head)), 0);
	assert_int_equal(imap_parser_feed(p, bs, n), 0);
	assert_int_equal(imap_parser_feed(p, tail, strlen(tail)), 0);
	assert_int_equal(imap_parser_next(p, &r), IMAP_PARSE_OK);
	assert_int_equal(r->args.len, 1);
	assert_int_equal(r->args.items[0].len, 2);
	t = bodystructure_tree(&r->args.items[0].items[1], err, sizeof(err));
	assert_non_null(t);
	imap_resp_free(r);
	imap_parser_free(p);
	return t;
}

static struct part_tree *tree_of(const char *bs)
{
	return tree_of_n(bs, strlen(bs));
}

static const struct mime_part *at(const struct part_tree *t, const char *section)
{
	size_t i = part_tree_find(t, section);

	assert_true(i > 0);
	return part_tree_get(t, i);
}

static void check_leaf(const struct part_tree *t, const char *section, const char *type,
		       const char *subtype, const char *filename)
{
	const struct mime_part *p = at(t, section);

	assert_string_equal(p->section, section);
	assert_string_equal(p->type, type);
	assert_string_equal(p->subtype, subtype);
	assert_true(p->is_leaf);
	assert_false(p->is_multipart);
	assert_false(p->is_message);
	assert_string_equal(p->filename, filename);
}

#define TEXT_PART(sub, cs) "(\"text\" \"" sub "\" (\"charset\" \"" cs "\") NIL NIL \"7bit\" 12 1 NIL NIL NIL NIL)"

static void test_single_text(void **state)
{
	struct part_tree *t = tree_of(TEXT_PART("plain", "utf-8"));
	const struct mime_part *root = part_tree_get(t, 0), *p;

	(void)state;
	assert_int_equal(part_tree_count(t), 2);
	assert_string_equal(root->section, "");
	assert_string_equal(root->dirname, "");
	assert_false(root->is_multipart);
	assert_false(root->is_leaf);
	assert_string_equal(root->type, "text");
	check_leaf(t, "1", "text", "plain", "body.txt");
	p = part_tree_get(t, 1);
	assert_string_equal(p->dirname, "1");
	assert_string_equal(p->charset, "utf-8");
	assert_int_equal(p->encoding, MIME_ENC_7BIT);
	assert_int_equal(p->size, 12);
	assert_int_equal(p->parent, 0);
	assert_int_equal(p->depth, 1);
	assert_int_equal(part_tree_child(t, 0, "1"), 1);
	assert_int_equal(part_tree_child(t, 0, "2"), 0);
	assert_int_equal(part_tree_find(t, ""), 0);
	assert_null(part_tree_get(t, 2));
	part_tree_free(t);
}

static void test_mixed_pdf(void **state)
{
	/* Dovecot's own rendering. */
	struct part_tree *t = tree_of(
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL)"
		"(\"application\" \"pdf\" (\"name\" \"r.pdf\") NIL NIL \"base64\" 1000 NIL "
		"(\"attachment\" (\"filename\" \"r.pdf\")) NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	const struct mime_part *root = part_tree_get(t, 0), *pdf;

	(void)state;
	assert_int_equal(part_tree_count(t), 3);
	assert_true(root->is_multipart);
	assert_false(root->is_leaf);
	assert_string_equal(root->type, "multipart");
	assert_string_equal(root->subtype, "mixed");
	check_leaf(t, "1", "text", "plain", "body.txt");
	check_leaf(t, "2", "application", "pdf", "r.pdf");
	pdf = at(t, "2");
	assert_int_equal(pdf->encoding, MIME_ENC_BASE64);
	assert_int_equal(pdf->size, 1000);
	assert_null(pdf->charset);
	assert_int_equal(part_tree_child(t, 0, "2"), 2);
	part_tree_free(t);
}

static void test_alternative_in_mixed(void **state)
{
	struct part_tree *t = tree_of(
		"(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"QUOTED-PRINTABLE\" 10 1 NIL NIL NIL NIL)"
		"(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"base64\" 20 1 NIL NIL NIL NIL)"
		" \"ALTERNATIVE\" (\"boundary\" \"a\") NIL NIL NIL)"
		"(\"image\" \"png\" (\"name\" \"x.png\") \"<cid>\" NIL \"base64\" 30 NIL "
		"(\"inline\" (\"filename\" \"x.png\")) NIL NIL) \"mixed\" (\"boundary\" \"m\") NIL NIL NIL)");
	const struct mime_part *alt;
	size_t i;

	(void)state;
	assert_int_equal(part_tree_count(t), 5);
	alt = at(t, "1");
	assert_true(alt->is_multipart);
	assert_false(alt->is_leaf);
	assert_string_equal(alt->subtype, "alternative");
	assert_null(alt->filename);
	check_leaf(t, "1.1", "text", "plain", "body.txt");
	check_leaf(t, "1.2", "text", "html", "body.html");
	check_leaf(t, "2", "image", "png", "x.png");
	assert_string_equal(at(t, "1.1")->charset, "UTF-8");
	assert_int_equal(at(t, "1.1")->encoding, MIME_ENC_QP);
	assert_string_equal(at(t, "1.2")->dirname, "2");
	assert_int_equal(at(t, "1.2")->depth, 2);
	/* Depth-first: 1, 1.1, 1.2, 2. */
	assert_string_equal(part_tree_get(t, 2)->section, "1.1");
	assert_string_equal(part_tree_get(t, 4)->section, "2");
	i = part_tree_child(t, 0, "1");
	assert_int_equal(part_tree_child(t, i, "2"), part_tree_find(t, "1.2"));
	assert_int_equal(part_tree_child(t, i, "3"), 0);
	assert_int_equal(part_tree_child(t, 0, "01"), 0);
	assert_int_equal(part_tree_child(t, 99, "1"), 0);
	assert_int_equal(part_tree_child(t, 0, NULL), 0);
	assert_int_equal(part_tree_find(t, "3"), 0);
	assert_int_equal(part_tree_find(t, "1.2.1"), 0);
	assert_int_equal(part_tree_find(t, NULL), 0);
	part_tree_free(t);
}

static void test_attached_message(void **state)
{
	struct part_tree *t = tree_of(
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL)"
		"(\"message\" \"rfc822\" (\"name\" \"fwd.eml\") NIL NIL \"7bit\" 500 "
		"(\"Mon, 1 Jan 2024 00:00:00 +0000\" \"=?utf-8?B?SGk=?=\" ((\"Alice\" NIL \"alice\" \"example.com\")) "
		"((\"Alice\" NIL \"alice\" \"example.com\")) NIL ((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL "
		"\"<id1@example.com>\") "
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)"
		"(\"application\" \"zip\" (\"name\" \"a.zip\") NIL NIL \"base64\" 100 NIL "
		"(\"attachment\" (\"filename\" \"a.zip\")) NIL NIL) \"mixed\" (\"boundary\" \"x\") NIL NIL NIL) "
		"20 NIL (\"attachment\" (\"filename\" \"fwd.eml\")) NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	const struct mime_part *m;
	size_t mi;

	(void)state;
	assert_int_equal(part_tree_count(t), 5);
	mi = part_tree_find(t, "2");
	m = part_tree_get(t, mi);
	assert_true(m->is_message);
	assert_false(m->is_leaf);
	assert_false(m->is_multipart);
	assert_null(m->filename);
	assert_string_equal(m->type, "message");
	assert_string_equal(m->subtype, "rfc822");
	assert_string_equal(m->env_subject, "=?utf-8?B?SGk=?=");
	assert_string_equal(m->env_from, "Alice <alice@example.com>");
	assert_string_equal(m->env_message_id, "<id1@example.com>");
	check_leaf(t, "2.1", "text", "plain", "body.txt");
	check_leaf(t, "2.2", "application", "zip", "a.zip");
	assert_int_equal(at(t, "2.2")->parent, mi);
	assert_int_equal(at(t, "2.2")->depth, 2);
	assert_int_equal(part_tree_child(t, mi, "2"), part_tree_find(t, "2.2"));
	assert_null(at(t, "1")->env_subject);
	part_tree_free(t);
}

static void test_attached_message_single(void **state)
{
	struct part_tree *t = tree_of(
		"(" TEXT_PART("plain", "utf-8")
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 "
		"(NIL \"s\" ((NIL NIL \"x\" \"y.z\")) NIL NIL NIL NIL NIL NIL NIL) "
		"(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL)"
		" \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	const struct mime_part *m;

	(void)state;
	assert_int_equal(part_tree_count(t), 4);
	m = at(t, "2");
	assert_true(m->is_message);
	assert_string_equal(m->env_subject, "s");
	assert_string_equal(m->env_from, "x@y.z");
	assert_null(m->env_message_id);
	check_leaf(t, "2.1", "text", "html", "body.html");
	part_tree_free(t);

	/* A message whose own body is message/rfc822: 1 and 1.1. */
	t = tree_of("(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 NIL "
		    "(\"image\" \"gif\" NIL NIL NIL \"base64\" 10 NIL NIL NIL NIL) 5)");
	assert_int_equal(part_tree_count(t), 3);
	assert_true(at(t, "1")->is_message);
	assert_null(at(t, "1")->env_from);
	check_leaf(t, "1.1", "image", "gif", "body.gif");
	part_tree_free(t);

	/* Without its envelope and body it is just content. */
	t = tree_of("(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 NIL NIL NIL NIL)");
	assert_int_equal(part_tree_count(t), 2);
	check_leaf(t, "1", "message", "rfc822", "body.eml");
	part_tree_free(t);
	t = tree_of("(\"message\" \"global\" NIL NIL NIL \"7bit\" 100 \"x\" (\"text\" \"plain\"))");
	check_leaf(t, "1", "message", "global", "body.eml");
	part_tree_free(t);
}

static void test_missing_fields(void **state)
{
	struct part_tree *t;
	const struct mime_part *p;

	(void)state;
	t = tree_of("(NIL NIL NIL NIL NIL NIL NIL)");
	check_leaf(t, "1", "application", "octet-stream", "body.bin");
	p = at(t, "1");
	assert_int_equal(p->size, 0);
	assert_int_equal(p->encoding, MIME_ENC_7BIT);
	assert_null(p->charset);
	part_tree_free(t);

	t = tree_of("(\"text\")");
	check_leaf(t, "1", "application", "octet-stream", "body.bin");
	part_tree_free(t);

	t = tree_of("()");
	assert_int_equal(part_tree_count(t), 2);
	check_leaf(t, "1", "application", "octet-stream", "body.bin");
	part_tree_free(t);

	t = tree_of("(\"TEXT\" \"PLAIN\" NIL NIL NIL \"BASE64\" 12)");
	check_leaf(t, "1", "text", "plain", "body.txt");
	assert_int_equal(at(t, "1")->encoding, MIME_ENC_BASE64);
	part_tree_free(t);

	/* Odd parameter list, unknown encoding, a size that is not a number. */
	t = tree_of("(\"application\" \"x-foo\" (\"name\") NIL NIL \"x-weird\" \"huge\")");
	check_leaf(t, "1", "application", "x-foo", "body.bin");
	assert_int_equal(at(t, "1")->encoding, MIME_ENC_OTHER);
	assert_int_equal(at(t, "1")->size, 0);
	part_tree_free(t);

	/* Sizes above IMAP_SIZE_MAX (2^40) are no sizes: read as missing. */
	t = tree_of("(\"image\" \"jpeg\" NIL NIL NIL x-uuencode 18446744073709551615)");
	assert_int_equal(at(t, "1")->encoding, MIME_ENC_UUENCODE);
	assert_int_equal(at(t, "1")->size, 0);
	part_tree_free(t);
	t = tree_of("(\"image\" \"jpeg\" NIL NIL NIL NIL 1099511627777)");
	assert_int_equal(at(t, "1")->size, 0);
	part_tree_free(t);
	t = tree_of("(\"image\" \"jpeg\" NIL NIL NIL NIL 1099511627776)");
	assert_true(at(t, "1")->size == IMAP_SIZE_MAX);
	part_tree_free(t);
	t = tree_of("(\"image\" \"jpeg\" NIL NIL NIL NIL 18446744073709551616)");
	assert_int_equal(at(t, "1")->size, 0);
	part_tree_free(t);
	t = tree_of("(\"image\" \"jpeg\" NIL NIL NIL NIL -5)");
	assert_int_equal(at(t, "1")->size, 0);
	part_tree_free(t);

	/* A text part without its line count (md5 NIL): disposition one field early. */
	t = tree_of("(\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 NIL (\"attachment\" (\"filename\" \"n.txt\")))");
	check_leaf(t, "1", "text", "plain", "n.txt");
	part_tree_free(t);
}

static void test_hostile_types(void **state)
{
	struct part_tree *t;

	(void)state;
	/* Lists where strings belong and strings where lists belong. */
	t = tree_of("((\"text\" \"plain\" \"notalist\" NIL NIL \"7bit\" 1 1 NIL \"notdisp\" NIL NIL)"
		    "(\"image\" (\"png\") ((\"x\")) NIL NIL (\"base64\") (12) NIL "
		    "(\"attachment\" \"notparams\") NIL NIL) (\"mixed\"))");
	assert_int_equal(part_tree_count(t), 4);
	assert_string_equal(part_tree_get(t, 0)->subtype, "mixed");
	check_leaf(t, "1", "text", "plain", "body.txt");
	check_leaf(t, "2", "application", "octet-stream", "body.bin");
	check_leaf(t, "3", "application", "octet-stream", "body.bin");
	part_tree_free(t);

	/* Not tokens: '/', spaces, NUL in a literal. */
	t = tree_of("(\"text/plain\" \"x y\" NIL NIL NIL NIL 1)");
	check_leaf(t, "1", "application", "octet-stream", "body.bin");
	part_tree_free(t);
	{
		static const char bin[] = "({5}\r\nte\0xt \"plain\" (\"charset\" {3}\r\na\0b) NIL NIL NIL 1)";

		t = tree_of_n(bin, sizeof(bin) - 1);
	}
	check_leaf(t, "1", "application", "octet-stream", "body.bin");
	part_tree_free(t);

	/* Literal strings are strings; hostile names are made safe. */
	t = tree_of("({4}\r\ntext {5}\r\nplain NIL NIL NIL NIL 1 1 NIL "
		    "(\"attachment\" (\"filename\" \"../../etc/passwd\")) NIL NIL)");
	check_leaf(t, "1", "text", "plain", "_._.._etc_passwd");
	part_tree_free(t);

	/* RFC 2231 through the structure. */
	t = tree_of("(\"application\" \"pdf\" (\"name\" \"x.pdf\") NIL NIL \"base64\" 10 NIL "
		    "(\"attachment\" (\"filename*0*\" \"utf-8''B%C3%A1o%20\" \"filename*1*\" \"c%C3%A1o.pdf\")) NIL NIL)");
	check_leaf(t, "1", "application", "pdf", "B\xc3\xa1o c\xc3\xa1o.pdf");
	part_tree_free(t);

	/* A multipart with no subtype at all. */
	t = tree_of("((\"text\" \"plain\" NIL NIL NIL NIL 1 1))");
	assert_string_equal(part_tree_get(t, 0)->subtype, "mixed");
	check_leaf(t, "1", "text", "plain", "body.txt");
	part_tree_free(t);
}

static void test_not_a_list(void **state)
{
	struct imap_arg atom = { IMAP_ARG_ATOM, 3, (char *)"abc", NULL };
	struct imap_arg nil = { IMAP_ARG_NIL, 0, NULL, NULL };
	char err[64] = "";

	(void)state;
	assert_null(bodystructure_tree(NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_null(bodystructure_tree(&atom, err, sizeof(err)));
	assert_null(bodystructure_tree(&nil, NULL, 0));
	assert_int_equal(part_tree_count(NULL), 0);
	assert_null(part_tree_get(NULL, 0));
	assert_int_equal(part_tree_find(NULL, "1"), 0);
	assert_int_equal(part_tree_child(NULL, 0, "1"), 0);
	part_tree_free(NULL);
}

static char *nested(unsigned levels, const char *open, const char *close, const char *leaf)
{
	size_t len = strlen(leaf) + levels * (strlen(open) + strlen(close)) + 1;
	char *s = malloc(len), *d = s;
	unsigned i;

	assert_non_null(s);
	for (i = 0; i < levels; i++)
		d = stpcpy(d, open);
	d = stpcpy(d, leaf);
	for (i = 0; i < levels; i++)
		d = stpcpy(d, close);
	return s;
}

static void test_depth_limit(void **state)
{
	char *bs = nested(40, "(", " \"mixed\")", TEXT_PART("plain", "utf-8"));
	struct part_tree *t = tree_of(bs);
	size_t i;

	(void)state;
	assert_int_equal(part_tree_count(t), PART_MAX_DEPTH + 1);
	for (i = 1; i < part_tree_count(t); i++) {
		assert_int_equal(part_tree_get(t, i)->depth, i);
		assert_true(part_tree_get(t, i)->is_multipart);
	}
	assert_string_equal(part_tree_get(t, 3)->section, "1.1.1");
	part_tree_free(t);
	free(bs);

	/* Messages inside messages: each is one level. */
	bs = nested(40, "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 1 NIL ", " 1)",
		    TEXT_PART("plain", "utf-8"));
	t = tree_of(bs);
	assert_int_equal(part_tree_count(t), PART_MAX_DEPTH + 1);
	assert_true(part_tree_get(t, PART_MAX_DEPTH)->is_message);
	assert_int_equal(part_tree_get(t, PART_MAX_DEPTH)->depth, PART_MAX_DEPTH);
	part_tree_free(t);
	free(bs);
}

static void test_parts_limit(void **state)
{
	const char *leaf = "(\"text\" \"plain\" NIL NIL NIL NIL 1 1)";
	size_t n = 5000, len = n * strlen(leaf) + 64, i;
	char *bs = malloc(len), *d = bs;
	struct part_tree *t;

	(void)state;
	assert_non_null(bs);
	d = stpcpy(d, "(");
	for (i = 0; i < n; i++)
		d = stpcpy(d, leaf);
	stpcpy(d, " \"mixed\")");
	t = tree_of(bs);
	assert_int_equal(part_tree_count(t), PART_MAX_PARTS + 1);
	assert_string_equal(part_tree_get(t, PART_MAX_PARTS)->section, "4095");
	assert_int_equal(part_tree_child(t, 0, "4095"), PART_MAX_PARTS);
	assert_int_equal(part_tree_find(t, "4096"), 0);
	part_tree_free(t);
	free(bs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_text),
		cmocka_unit_test(test_mixed_pdf),
		cmocka_unit_test(test_alternative_in_mixed),
		cmocka_unit_test(test_attached_message),
		cmocka_unit_test(test_attached_message_single),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_hostile_types),
		cmocka_unit_test(test_not_a_list),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_parts_limit),
	};

	g_mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
