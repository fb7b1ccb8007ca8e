// SPDX-License-Identifier: GPL-2.0-or-later
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct chunk *head;  /* being filled; chunks of one big piece sit behind it */
	size_t next_cap;     /* the size of the next chunk */
};

/* Room taken by the arena itself at the start of its first chunk. */
#define SELF ((sizeof(struct arena) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

static struct chunk *chunk_new(size_t cap)
{
	struct chunk *c;

	if (cap > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + cap);
	if (c) {
		c->next = NULL;
		c->used = 0;
		c->cap = cap;
	}
	return c;
}

struct arena *arena_new(size_t first)
{
	struct chunk *c;
	struct arena *a;

	if (first == 0)
		first = 1;
	if (first > ARENA_CHUNK_MAX)
		first = ARENA_CHUNK_MAX;
	c = chunk_new(SELF + first);
	if (!c)
		return NULL;
	a = (struct arena *)c->data;
	c->used = SELF;
	a->head = c;
	a->next_cap = first > ARENA_CHUNK_MAX / 2 ? ARENA_CHUNK_MAX : first * 2;
	return a;
}

/* A new chunk for a piece that does not fit the head: the piece's own when
 * it is big (the head keeps being filled), else the next head. */
static void *take_new(struct arena *a, size_t size)
{
	struct chunk *c = chunk_new(size > a->next_cap ? size : a->next_cap);

	if (!c)
		return NULL;
	if (size > a->next_cap) {
		c->next = a->head->next;
		a->head->next = c;
	} else {
		c->next = a->head;
		a->head = c;
		a->next_cap = a->next_cap > ARENA_CHUNK_MAX / 2 ? ARENA_CHUNK_MAX : a->next_cap * 2;
	}
	c->used = size;
	return c->data;
}

/* size bytes at a multiple of align (a power of two, at most max_align_t's). */
static void *take(struct arena *a, size_t size, size_t align)
{
	struct chunk *c = a->head;
	size_t at = (c->used + align - 1) & ~(align - 1);

	if (at <= c->cap && c->cap - at >= size) {
		c->used = at + size;
		return (char *)c->data + at;
	}
	return take_new(a, size);
}

void *arena_alloc(struct arena *a, size_t size)
{
	return take(a, size, alignof(max_align_t));
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *d;

	if (len == SIZE_MAX)
		return NULL;
	d = take(a, len + 1, 1);
	if (d) {
		if (len)
			memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

void arena_free(struct arena *a)
{
	struct chunk *c, *next;

	if (!a)
		return;
	/* a lives in the oldest chunk: nothing of it is read once that is freed. */
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
}
