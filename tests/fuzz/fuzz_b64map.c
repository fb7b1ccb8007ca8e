// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * base64 layouts (mime/b64map.h).
 *
 * Input: byte 0 and 1 choose a decoded offset and length (as fractions of
 * the decoded size), the rest is a part as stored; it is probed as the
 * server would answer the probe's fetches, with its own size announced.
 *
 * Checks, besides the sanitizers: every window lies inside the part and
 * holds the range asked; when the whole part decodes as one window (all its
 * lines fit the layout), that is exactly what decoding the whole part gives
 * (decode.h), and every window that decodes is the same bytes at the same
 * offsets. A part that fits nowhere never decodes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64map.h"
#include "decode.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mime_init();
	return 0;
}

struct out {
	char *buf;
	size_t len, cap;
};

static int collect(void *ud, const char *data, size_t len)
{
	struct out *o = ud;

	if (o->len + len > o->cap) {
		o->cap = (o->len + len) * 2;
		o->buf = realloc(o->buf, o->cap);
		FUZZ_CHECK(o->buf != NULL, "out of memory");
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

/* Decodes w; 0 and *out (malloc'd) when it fits. */
static int window(const struct b64map *m, const struct b64map_window *w, const char *part,
		  char **out)
{
	int rc;

	FUZZ_CHECK(w->enc_off + w->enc_len <= m->enc_size, "window past the part");
	FUZZ_CHECK(w->dec_off + w->dec_len <= m->dec_size, "window past the content");
	*out = malloc(w->dec_len + 1);
	FUZZ_CHECK(*out != NULL, "out of memory");
	rc = b64map_decode(m, w, part + w->enc_off, (size_t)w->enc_len, *out);
	FUZZ_CHECK(rc == 0 || rc == -EILSEQ, "decode: %d", rc);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part = (const char *)data + 2;
	struct out whole = { 0 };
	struct mime_decoder *dec;
	struct b64map m;
	struct b64map_window w;
	uint64_t head_len, tail_off, off, len;
	char *all = NULL, *some = NULL;
	size_t n;

	if (size < 2)
		return 0;
	n = size - 2;
	b64map_probe_ranges(n, &head_len, &tail_off);
	if (b64map_probe(&m, n, part, (size_t)head_len, tail_off, part + tail_off,
			 n - (size_t)tail_off) < 0)
		return 0;
	FUZZ_CHECK(m.enc_size == n, "size");
	off = m.dec_size * data[0] / 256;
	len = 1 + m.dec_size * data[1] / 256;
	b64map_window(&m, off, len, &w);
	if (off < m.dec_size)
		FUZZ_CHECK(w.dec_off <= off && w.dec_off + w.dec_len >= off + 1, "range not held");
	(void)window(&m, &w, part, &some);
	b64map_window(&m, 0, m.dec_size, &w);
	if (window(&m, &w, part, &all) == 0) {
		dec = mime_decoder_new(MIME_ENC_BASE64, NULL, NULL, collect, &whole);
		FUZZ_CHECK(dec != NULL, "out of memory");
		FUZZ_CHECK(mime_decoder_push(dec, part, n) == 0 && mime_decoder_finish(dec) == 0,
			   "decoding");
		mime_decoder_free(dec);
		FUZZ_CHECK(whole.len == m.dec_size &&
				   (!whole.len || memcmp(whole.buf, all, whole.len) == 0),
			   "the windows are not the part");
		b64map_window(&m, off, len, &w);
		FUZZ_CHECK(!some || !w.dec_len || memcmp(some, all + w.dec_off, w.dec_len) == 0,
			   "a window is not its part of the whole");
	}
	free(whole.buf);
	free(all);
	free(some);
	return 0;
}
