// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The part tree: an array in depth-first order, so a part's subtree is the
 * run after it that is deeper. Its strings are the builder's (see part.h).
 */
#include "part.h"

#include <stdlib.h>
#include <string.h>

#include "names.h"

struct part_tree {
	struct mime_part *parts;
	size_t count, cap;
	void *strings;             /* the builder's, released with the tree */
	part_release_fn *release;
};

struct part_tree *part_tree_new(void *strings, part_release_fn *release)
{
	struct part_tree *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->cap = 4;
	t->parts = calloc(t->cap, sizeof(*t->parts));
	if (t->parts == NULL) {
		free(t);
		return NULL;
	}
	t->count = 1;
	t->parts[0].section = "";
	t->parts[0].dirname = "";
	t->parts[0].type = "application";
	t->parts[0].subtype = "octet-stream";
	t->strings = strings;
	t->release = release;
	return t;
}

bool part_tree_room(const struct part_tree *t, size_t parent)
{
	return t->count <= PART_MAX_PARTS && parent < t->count &&
	       t->parts[parent].depth < PART_MAX_DEPTH;
}

size_t part_tree_add(struct part_tree *t, size_t parent, const char *section)
{
	struct mime_part *p;
	const char *dot;

	if (!part_tree_room(t, parent))
		return 0;
	if (t->count == t->cap) {
		size_t cap = t->cap * 2;
		struct mime_part *np = realloc(t->parts, cap * sizeof(*np));

		if (np == NULL)
			return 0;
		t->parts = np;
		t->cap = cap;
	}
	p = &t->parts[t->count];
	memset(p, 0, sizeof(*p));
	p->section = section;
	dot = strrchr(section, '.');
	p->dirname = dot ? dot + 1 : section;
	p->parent = parent;
	p->depth = t->parts[parent].depth + 1;
	p->type = "application";
	p->subtype = "octet-stream";
	return t->count++;
}

struct mime_part *part_tree_edit(struct part_tree *t, size_t index)
{
	return index < t->count ? &t->parts[index] : NULL;
}

void part_tree_fit(struct part_tree *t)
{
	struct mime_part *fit;

	if (t->count == t->cap)
		return;
	fit = realloc(t->parts, t->count * sizeof(*fit));
	if (fit != NULL) {
		t->parts = fit;
		t->cap = t->count;
	}
}

enum mime_encoding mime_encoding_of(const char *s)
{
	static const struct {
		const char *name;
		enum mime_encoding enc;
	} names[] = {
		{ "7bit", MIME_ENC_7BIT }, { "8bit", MIME_ENC_7BIT },
		{ "binary", MIME_ENC_7BIT }, { "base64", MIME_ENC_BASE64 },
		{ "quoted-printable", MIME_ENC_QP }, { "x-uuencode", MIME_ENC_UUENCODE },
		{ "x-uue", MIME_ENC_UUENCODE }, { "uuencode", MIME_ENC_UUENCODE },
	};
	size_t i;

	if (s == NULL || *s == '\0')
		return MIME_ENC_7BIT;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mime_ascii_eq(s, names[i].name))
			return names[i].enc;
	return MIME_ENC_OTHER;
}

void part_tree_free(struct part_tree *t)
{
	if (t == NULL)
		return;
	if (t->release != NULL)
		t->release(t->strings);
	free(t->parts);
	free(t);
}

size_t part_tree_count(const struct part_tree *t)
{
	return t ? t->count : 0;
}

const struct mime_part *part_tree_get(const struct part_tree *t, size_t index)
{
	return t && index < t->count ? &t->parts[index] : NULL;
}

size_t part_tree_child(const struct part_tree *t, size_t parent, const char *name)
{
	size_t i;

	if (t == NULL || name == NULL || parent >= t->count)
		return 0;
	/* Depth-first order: parent's subtree is the run after it that is deeper. */
	for (i = parent + 1; i < t->count && t->parts[i].depth > t->parts[parent].depth; i++)
		if (t->parts[i].parent == parent && strcmp(t->parts[i].dirname, name) == 0)
			return i;
	return 0;
}

size_t part_tree_find(const struct part_tree *t, const char *section)
{
	size_t i;

	if (t == NULL || section == NULL || *section == '\0')
		return 0;
	for (i = 1; i < t->count; i++)
		if (strcmp(t->parts[i].section, section) == 0)
			return i;
	return 0;
}
