// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * BODYSTRUCTURE → part tree (fs/model/bodystructure.h, mime/part.h), on what
 * a server may send.
 *
 * Input: a BODYSTRUCTURE value as IMAP text; it goes to the parser as
 * "* 1 FETCH (UID 1 BODYSTRUCTURE <input>)\r\n", and the value found there
 * to bodystructure_tree.
 *
 * Checks, besides the sanitizers, what bodystructure.h and part.h promise:
 * a list always gives a tree (only memory can fail) and anything else none;
 * index 0 is the message with section ""; the others in depth-first order,
 * each under a multipart, an attached message or 0, numbered 1, 2... under
 * its parent, with its section its parent's plus its number; depth and
 * count within PART_MAX_DEPTH and PART_MAX_PARTS; sizes up to IMAP_SIZE_MAX; part_tree_find and
 * part_tree_child find every part; types are lower-case tokens; each part
 * is exactly one of multipart, attached message or leaf, and a leaf has a
 * safe file name.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bodystructure.h"
#include "decode.h"
#include "fuzz.h"
#include "names.h"
#include "parser.h"
#include "part.h"

static const char prefix[] = "* 1 FETCH (UID 1 BODYSTRUCTURE ";
static const char suffix[] = ")\r\n";

static void check_token(const char *s, const char *what)
{
	FUZZ_CHECK(s != NULL && *s != '\0', "%s missing", what);
	for (const char *c = s; *c; c++)
		FUZZ_CHECK((unsigned char)*c > ' ' && (unsigned char)*c < 0x7f &&
				   !(*c >= 'A' && *c <= 'Z') && !strchr("()<>@,;:\\\"/[]?=", *c),
			   "%s \"%s\" is not a lower-case token", what, s);
}

static void check_tree(const struct part_tree *t)
{
	size_t count = part_tree_count(t), *next, last[PART_MAX_DEPTH + 1] = { 0 };
	const struct mime_part *p0 = part_tree_get(t, 0);

	FUZZ_CHECK(count >= 1 && count <= PART_MAX_PARTS + 1, "%zu parts", count);
	FUZZ_CHECK(part_tree_get(t, count) == NULL, "a part past the end");
	FUZZ_CHECK(!strcmp(p0->section, "") && !strcmp(p0->dirname, "") && p0->depth == 0 &&
			   p0->parent == 0 && !p0->is_leaf && !p0->is_message && !p0->filename,
		   "part 0 is not the message");
	check_token(p0->type, "type");
	check_token(p0->subtype, "subtype");
	FUZZ_CHECK(part_tree_find(t, "") == 0, "find \"\"");
	next = calloc(count, sizeof(*next));
	FUZZ_CHECK(next != NULL, "out of memory");
	for (size_t i = 0; i < count; i++)
		next[i] = 1;
	for (size_t i = 1; i < count; i++) {
		const struct mime_part *p = part_tree_get(t, i), *pp;
		char want[16 * (PART_MAX_DEPTH + 2)], num[24];

		FUZZ_CHECK(p->parent < i, "part %zu under later part %zu", i, p->parent);
		pp = part_tree_get(t, p->parent);
		FUZZ_CHECK(p->parent == 0 || pp->is_multipart || pp->is_message,
			   "part %s under a leaf", p->section);
		FUZZ_CHECK(p->depth == pp->depth + 1 && p->depth <= PART_MAX_DEPTH,
			   "part %s at depth %u", p->section, p->depth);
		/* Depth-first: the parent is the last part seen one level up. */
		FUZZ_CHECK(last[p->depth - 1] == p->parent, "part %s not depth-first", p->section);
		last[p->depth] = i;
		snprintf(num, sizeof(num), "%zu", next[p->parent]++);
		FUZZ_CHECK(!strcmp(p->dirname, num), "part %s is number %s", p->section, num);
		if (*pp->section)
			snprintf(want, sizeof(want), "%s.%s", pp->section, num);
		else
			snprintf(want, sizeof(want), "%s", num);
		FUZZ_CHECK(!strcmp(p->section, want), "section %s, not %s", p->section, want);
		/* Both search linearly: a sample of a large tree, or it is quadratic. */
		if (count <= 256 || i % (count / 128) == 0) {
			FUZZ_CHECK(part_tree_find(t, p->section) == i, "find %s", p->section);
			FUZZ_CHECK(part_tree_child(t, p->parent, p->dirname) == i, "child %s",
				   p->section);
		}
		check_token(p->type, "type");
		check_token(p->subtype, "subtype");
		FUZZ_CHECK((int)p->is_multipart + (int)p->is_message + (int)p->is_leaf == 1,
			   "part %s: multipart %d message %d leaf %d", p->section,
			   p->is_multipart, p->is_message, p->is_leaf);
		FUZZ_CHECK(!p->is_multipart || !strcmp(p->type, "multipart"),
			   "multipart %s of type %s", p->section, p->type);
		if (p->is_leaf)
			fuzz_check_safe_name(p->filename, MIME_NAME_MAX);
		else
			FUZZ_CHECK(p->filename == NULL, "file name on a non-leaf");
		if (!p->is_message)
			FUZZ_CHECK(!p->env_subject && !p->env_from && !p->env_message_id,
				   "envelope on a part that is no message");
		FUZZ_CHECK(p->encoding <= MIME_ENC_OTHER, "encoding %d", (int)p->encoding);
		FUZZ_CHECK(p->size <= IMAP_SIZE_MAX, "size %llu", (unsigned long long)p->size);
	}
	FUZZ_CHECK(part_tree_child(t, 0, "0") == 0 && part_tree_find(t, "0") == 0,
		   "a part 0 found");
	free(next);
}

/* GMime's charset tables, which file names use (as fs/main.c does). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mime_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser *p = imap_parser_new(NULL);
	struct imap_resp *r = NULL;
	const struct imap_arg *items, *bs = NULL;
	struct part_tree *t;
	char err[128];
	size_t n;

	FUZZ_CHECK(p != NULL, "out of memory");
	imap_parser_feed(p, prefix, sizeof(prefix) - 1);
	imap_parser_feed(p, data, size);
	imap_parser_feed(p, suffix, sizeof(suffix) - 1);
	if (imap_parser_next(p, &r) != IMAP_PARSE_OK)
		goto out;
	if (r->args.len == 1 && imap_arg_list(&r->args.items[0], &items, &n))
		for (size_t i = 0; i + 1 < n && !bs; i += 2)
			if (imap_arg_atom_eq(&items[i], "BODYSTRUCTURE"))
				bs = &items[i + 1];
	if (bs == NULL)
		goto out;
	err[0] = '\0';
	t = bodystructure_tree(bs, err, sizeof(err));
	if (bs->type != IMAP_ARG_LIST) {
		FUZZ_CHECK(t == NULL && err[0] != '\0', "a tree from a non-list");
		goto out;
	}
	FUZZ_CHECK(t != NULL, "no tree from a list: %s", err);
	check_tree(t);
	part_tree_free(t);
out:
	imap_resp_free(r);
	imap_parser_free(p);
	return 0;
}
