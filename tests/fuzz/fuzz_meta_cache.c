// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * meta_cache_load (fs/meta_cache.h) of a damaged or hostile file.
 *
 * Input: byte 0 chooses how the rest becomes the mailbox's file:
 *   even  the file is the rest as it is (magic, version, length, SHA-256
 *         and payload all fuzzed: nearly always refused by the checksum);
 *   odd   the rest is the payload, behind a correct header, so the decoder
 *         itself is fuzzed as if the damage had a valid checksum.
 *
 * Checks, besides the sanitizers (and LeakSanitizer for what a refused
 * load leaves behind): a load gives 0 or -ENOENT, never another error; a
 * loaded listing keeps meta_cache.h's promises (UIDs non-zero, unique and
 * sorted; flags never NULL); saved again it loads back the same.
 *
 * Files live in a directory made at start under $FUZZ_TMPDIR, /dev/shm or
 * /tmp, and removed at exit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fuzz.h"
#include "keys.h"
#include "meta_cache.h"

#define HEADER_LEN (8 + 4 + 8 + 32)

static char dir[256];
static char path[512];    /* the file of mailbox "INBOX" */
static struct meta_cache *mc;

static void cleanup(void)
{
	char p[600];

	meta_cache_close(mc);
	mc = NULL;
	if (dir[0]) {
		snprintf(p, sizeof(p), "rm -rf '%s'", dir);
		if (system(p) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
		dir[0] = '\0';
	}
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The header meta_cache.c puts in front of a payload (its layout comment). */
static void make_header(unsigned char h[HEADER_LEN], const void *payload, size_t len)
{
	unsigned int n = 0;

	memcpy(h, "IMFSMETA", 8);
	put_le(h + 8, 1, 4);
	put_le(h + 12, len, 8);
	FUZZ_CHECK(EVP_Digest(payload, len, h + 20, &n, EVP_sha256(), NULL) && n == 32, "sha256");
}

/* What meta_cache_save wrote has the header made here: the format is known. */
static void check_format(void)
{
	unsigned char file[4096], h[HEADER_LEN];
	FILE *f = fopen(path, "rb");
	size_t n;

	FUZZ_CHECK(f != NULL, "%s: %s", path, strerror(errno));
	n = fread(file, 1, sizeof(file), f);
	fclose(f);
	FUZZ_CHECK(n >= HEADER_LEN, "a listing of %zu bytes", n);
	make_header(h, file + HEADER_LEN, n - HEADER_LEN);
	FUZZ_CHECK(memcmp(h, file, HEADER_LEN) == 0, "meta_cache's file format has changed");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("FUZZ_TMPDIR");
	struct cached_mailbox empty = { .uidvalidity = 1 };
	char name[CACHE_NAME_LEN + 1];

	(void)argc;
	(void)argv;
	if (base == NULL || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/imapfs-fuzz-meta-XXXXXX", base);
	FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	atexit(cleanup);
	mc = meta_cache_open(dir);
	FUZZ_CHECK(mc != NULL, "meta_cache_open: %s", strerror(errno));
	/* One file per mailbox (keys.h names it); a listing saved must be
	 * there, or every input would load as absent and test nothing. */
	FUZZ_CHECK(cache_file_name("INBOX", name) == 0, "cache_file_name");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FUZZ_CHECK(meta_cache_save(mc, "INBOX", &empty) == 0 && access(path, F_OK) == 0,
		   "the listing of INBOX is not %s", path);
	check_format();
	return 0;
}

static void write_file(const uint8_t *data, size_t size, bool with_header)
{
	FILE *f = fopen(path, "wb");

	FUZZ_CHECK(f != NULL, "%s: %s", path, strerror(errno));
	if (with_header) {
		unsigned char h[HEADER_LEN];

		make_header(h, data, size);
		FUZZ_CHECK(fwrite(h, 1, sizeof(h), f) == sizeof(h), "write");
	}
	FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size, "write");
	FUZZ_CHECK(fclose(f) == 0, "close");
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check(const struct cached_mailbox *mb)
{
	for (size_t i = 0; i < mb->n; i++) {
		FUZZ_CHECK(mb->msgs[i].uid != 0, "UID 0");
		FUZZ_CHECK(i == 0 || mb->msgs[i].uid > mb->msgs[i - 1].uid, "UIDs not sorted");
		FUZZ_CHECK(mb->msgs[i].flags != NULL, "flags NULL");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cached_mailbox *mb = NULL, *again = NULL;
	int rc;

	if (size < 1)
		return 0;
	write_file(data + 1, size - 1, data[0] & 1);
	rc = meta_cache_load(mc, "INBOX", &mb);
	FUZZ_CHECK(rc == 0 || rc == -ENOENT, "load: %d", rc);
	FUZZ_CHECK((rc == 0) == (mb != NULL), "load %d with listing %p", rc, (void *)mb);
	if (rc == 0) {
		check(mb);
		/* Strings are C strings: a NUL inside one ends it, here and saved. */
		FUZZ_CHECK(meta_cache_save(mc, "INBOX", mb) == 0, "save");
		FUZZ_CHECK(meta_cache_load(mc, "INBOX", &again) == 0, "load after save");
		FUZZ_CHECK(again->uidvalidity == mb->uidvalidity && again->uidnext == mb->uidnext &&
				   again->highestmodseq == mb->highestmodseq && again->n == mb->n,
			   "listing differs after save");
		for (size_t i = 0; i < mb->n; i++) {
			const struct cached_msg *a = &mb->msgs[i], *b = &again->msgs[i];

			FUZZ_CHECK(a->uid == b->uid && a->date == b->date && a->size == b->size &&
					   same(a->flags, b->flags) &&
					   same(a->bodystructure, b->bodystructure) &&
					   same(a->subject, b->subject) && same(a->from, b->from) &&
					   same(a->message_id, b->message_id),
				   "message %zu differs after save", i);
		}
		cached_mailbox_free(again);
	}
	cached_mailbox_free(mb);
	return 0;
}
