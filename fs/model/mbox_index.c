/*
 * mbox_index — open addressing with linear probing; deletion shifts the
 * entries after a hole back, so no tombstone slows later probes.
 */
#include "mbox_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define FIRST_CAP 64

struct slot {
	uint64_t hash;
	const char *name;     /* borrowed from the caller */
	uint32_t parent;
	uint32_t id;          /* 0: an empty slot */
};

struct mbox_index {
	struct slot *slots;
	size_t cap;           /* a power of two */
	size_t n;
	uint64_t k0, k1;      /* the SipHash key */
};

/* ---- SipHash-2-4 (Aumasson and Bernstein), fed byte by byte ------------- */

struct sip {
	uint64_t v[4];
	uint64_t tail;        /* bytes not yet in a whole 8-byte word */
	size_t len;
};

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sip_rounds(struct sip *s, int rounds)
{
	uint64_t *v = s->v;

	while (rounds-- > 0) {
		v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
		v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
		v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
		v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
	}
}

static void sip_word(struct sip *s, uint64_t m)
{
	s->v[3] ^= m;
	sip_rounds(s, 2);
	s->v[0] ^= m;
}

static void sip_bytes(struct sip *s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		s->tail |= (uint64_t)p[i] << (8 * (s->len % 8));
		if (++s->len % 8 == 0) {
			sip_word(s, s->tail);
			s->tail = 0;
		}
	}
}

static uint64_t key_hash(const struct mbox_index *x, uint32_t parent, const char *name,
			 size_t len)
{
	struct sip s = { .v = { x->k0 ^ 0x736f6d6570736575ull, x->k1 ^ 0x646f72616e646f6dull,
				x->k0 ^ 0x6c7967656e657261ull, x->k1 ^ 0x7465646279746573ull } };
	unsigned char p[4] = { parent & 0xff, (parent >> 8) & 0xff, (parent >> 16) & 0xff,
			       parent >> 24 };

	sip_bytes(&s, p, sizeof p);
	sip_bytes(&s, (const unsigned char *)name, len);
	sip_word(&s, s.tail | (uint64_t)s.len << 56);
	s.v[2] ^= 0xff;
	sip_rounds(&s, 4);
	return s.v[0] ^ s.v[1] ^ s.v[2] ^ s.v[3];
}

/* ---- the table ------------------------------------------------------------ */

struct mbox_index *mbox_index_new(void)
{
	struct mbox_index *x = calloc(1, sizeof(*x));
	uint64_t key[2];

	if (!x)
		return NULL;
	x->slots = calloc(FIRST_CAP, sizeof(*x->slots));
	if (!x->slots) {
		free(x);
		return NULL;
	}
	x->cap = FIRST_CAP;
	/* Without getrandom (never on Linux 3.17+) a weaker key still hashes
	 * well; it only becomes guessable. */
	if (getrandom(key, sizeof key, GRND_NONBLOCK) != (ssize_t)sizeof key) {
		key[0] = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
		key[1] = (uint64_t)(uintptr_t)x ^ (uint64_t)clock();
	}
	x->k0 = key[0];
	x->k1 = key[1];
	return x;
}

void mbox_index_free(struct mbox_index *x)
{
	if (!x)
		return;
	free(x->slots);
	free(x);
}

static bool same(const struct slot *s, uint64_t hash, uint32_t parent, const char *name,
		 size_t len)
{
	return s->hash == hash && s->parent == parent && strncmp(s->name, name, len) == 0 &&
	       s->name[len] == '\0';
}

/* The slot of the key, or the empty slot where it would go. */
static size_t find(const struct mbox_index *x, uint64_t hash, uint32_t parent,
		   const char *name, size_t len)
{
	size_t mask = x->cap - 1, i = hash & mask;

	while (x->slots[i].id && !same(&x->slots[i], hash, parent, name, len))
		i = (i + 1) & mask;
	return i;
}

uint32_t mbox_index_get(const struct mbox_index *x, uint32_t parent, const char *name,
			size_t len)
{
	return x->slots[find(x, key_hash(x, parent, name, len), parent, name, len)].id;
}

static int grow(struct mbox_index *x)
{
	struct slot *old = x->slots;
	size_t oldcap = x->cap;

	x->slots = calloc(2 * oldcap, sizeof(*x->slots));
	if (!x->slots) {
		x->slots = old;
		return -ENOMEM;
	}
	x->cap = 2 * oldcap;
	for (size_t i = 0; i < oldcap; i++) {
		size_t j = old[i].hash & (x->cap - 1);

		if (!old[i].id)
			continue;
		while (x->slots[j].id)
			j = (j + 1) & (x->cap - 1);
		x->slots[j] = old[i];
	}
	free(old);
	return 0;
}

int mbox_index_put(struct mbox_index *x, uint32_t parent, const char *name, uint32_t id)
{
	size_t len = strlen(name);
	uint64_t hash = key_hash(x, parent, name, len);

	/* At most half full: probes stay short. */
	if (2 * (x->n + 1) > x->cap && grow(x) < 0)
		return -ENOMEM;
	x->slots[find(x, hash, parent, name, len)] =
		(struct slot){ .hash = hash, .name = name, .parent = parent, .id = id };
	x->n++;
	return 0;
}

/* Whether home lies cyclically in (hole, j]: then the entry at j must stay. */
static bool stays(size_t home, size_t hole, size_t j)
{
	return hole < j ? home > hole && home <= j : home > hole || home <= j;
}

void mbox_index_del(struct mbox_index *x, uint32_t parent, const char *name)
{
	size_t len = strlen(name), mask = x->cap - 1;
	size_t hole = find(x, key_hash(x, parent, name, len), parent, name, len);

	if (!x->slots[hole].id)
		return;
	x->slots[hole].id = 0;
	x->n--;
	/* Entries after the hole that probed past it move back into it. */
	for (size_t j = (hole + 1) & mask; x->slots[j].id; j = (j + 1) & mask) {
		if (stays(x->slots[j].hash & mask, hole, j))
			continue;
		x->slots[hole] = x->slots[j];
		x->slots[j].id = 0;
		hole = j;
	}
}

size_t mbox_index_count(const struct mbox_index *x)
{
	return x->n;
}
