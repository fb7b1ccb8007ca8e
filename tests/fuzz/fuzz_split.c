// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mime/split.h: a part cut out of a whole message, given the part tree.
 *
 * Input: a FETCH response carrying BODYSTRUCTURE (as in tests/data/split/
 * *.bs), then the raw message (*.eml). The tree comes from the response;
 * every part of it (the first MAX_CUT) is cut as BODY and as HEADER.
 *
 * Checks, besides the sanitizers (the message ends where the input does, so
 * a read past it is caught): a cut lies inside the message, and inside its
 * parent's cut unless it is empty; HEADER is given only for the message and
 * attached messages; the message's header ends where its body (BODY[TEXT])
 * begins; an attached message's header begins where its BODY does.
 */
#include <stdint.h>
#include <string.h>

#include "bodystructure.h"
#include "decode.h"
#include "fuzz.h"
#include "parser.h"
#include "part.h"
#include "split.h"

#define MAX_CUT 256

struct cut {
	int rc;
	size_t off, len;
};

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
	struct part_tree *t = NULL;
	struct cut body[MAX_CUT], head[MAX_CUT];
	const char *raw;
	size_t n, count, len;

	FUZZ_CHECK(p != NULL, "out of memory");
	imap_parser_feed(p, data, size);
	if (imap_parser_next(p, &r) != IMAP_PARSE_OK)
		goto out;
	len = imap_parser_buffered(p);
	FUZZ_CHECK(len <= size, "buffered %zu of %zu", len, size);
	raw = (const char *)data + (size - len);
	if (r->args.len >= 1 && imap_arg_list(&r->args.items[0], &items, &n))
		for (size_t i = 0; i + 1 < n && !bs; i += 2)
			if (imap_arg_atom_eq(&items[i], "BODYSTRUCTURE"))
				bs = &items[i + 1];
	if (bs == NULL || (t = bodystructure_tree(bs, NULL, 0)) == NULL)
		goto out;
	count = part_tree_count(t);
	if (count > MAX_CUT)
		count = MAX_CUT;
	for (size_t i = 0; i < count; i++) {
		const struct mime_part *mp = part_tree_get(t, i);
		struct cut *b = &body[i], *h = &head[i];

		b->rc = mime_split(raw, len, t, i, MIME_SPLIT_BODY, &b->off, &b->len);
		h->rc = mime_split(raw, len, t, i, MIME_SPLIT_HEADER, &h->off, &h->len);
		FUZZ_CHECK(b->rc == 0 || b->rc == -1, "rc %d", b->rc);
		FUZZ_CHECK(h->rc == 0 || h->rc == -1, "rc %d", h->rc);
		if (b->rc == 0)
			FUZZ_CHECK(b->off <= len && b->len <= len - b->off,
				   "BODY[%s] = [%zu, +%zu) of %zu", mp->section, b->off, b->len, len);
		if (h->rc == 0) {
			FUZZ_CHECK(i == 0 || mp->is_message, "HEADER of %s, no message", mp->section);
			FUZZ_CHECK(h->off <= len && h->len <= len - h->off,
				   "HEADER[%s] = [%zu, +%zu) of %zu", mp->section, h->off, h->len, len);
		}
		if (i == 0 && b->rc == 0 && h->rc == 0)
			FUZZ_CHECK(h->off == 0 && h->off + h->len == b->off,
				   "header [%zu, +%zu), text at %zu", h->off, h->len, b->off);
		if (i > 0 && b->rc == 0 && h->rc == 0)
			FUZZ_CHECK(h->off == b->off && h->len <= b->len,
				   "attached %s: header [%zu, +%zu), body [%zu, +%zu)", mp->section,
				   h->off, h->len, b->off, b->len);
		/* An empty cut is the same bytes wherever it is: Dovecot puts the
		 * empty body of a part cut short by an outer boundary after the
		 * CRLF that its parent's body leaves out. */
		if (i > 0 && b->rc == 0 && b->len > 0 && body[mp->parent].rc == 0) {
			const struct cut *pb = &body[mp->parent];

			FUZZ_CHECK(b->off >= pb->off && b->off + b->len <= pb->off + pb->len,
				   "%s [%zu, +%zu) outside its parent [%zu, +%zu)", mp->section,
				   b->off, b->len, pb->off, pb->len);
		}
	}
	/* A part that is not there. */
	FUZZ_CHECK(mime_split(raw, len, t, part_tree_count(t), MIME_SPLIT_BODY, &n, &n) == -1,
		   "a part past the end");
out:
	part_tree_free(t);
	imap_resp_free(r);
	imap_parser_free(p);
	return 0;
}
