// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * RFC 2231/2047 names (mime/names.h) and content decoding (mime/decode.h).
 *
 * Input: byte 0 chooses what is fuzzed (mod 3), byte 1 how, then the text.
 *   0  mime_header_text and mime_safe_name of the text;
 *   1  mime_filename: the text is NUL-separated strings: type, subtype, then
 *      attribute/value pairs; the first (byte 1 mod (pairs + 1)) pairs are
 *      the disposition's parameters, the others the type's;
 *   2  a decoder: byte 1 & 7 (mod 5) the encoding, & 8 type text, >> 5 the
 *      text buffer limit (none, 1, 5 or 64 bytes); bytes 2..9 split sizes;
 *      then the charset up to a NUL, then the content.
 *
 * Checks, besides the sanitizers: header text is valid UTF-8; file names
 * are safe (see fuzz.h); a decoder gives the same bytes and charset however
 * its input is pushed, and valid UTF-8 for text (decode.h).
 */
#include <stdint.h>
#include <string.h>

#include "decode.h"
#include "fuzz.h"
#include "names.h"
#include "part.h"

#define MAX_STRINGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mime_init();
	return 0;
}

static void fuzz_text(const char *s)
{
	char *text = mime_header_text(s), *name = mime_safe_name(s, NULL);

	FUZZ_CHECK(text != NULL, "out of memory");
	FUZZ_CHECK(fuzz_utf8_valid(text, strlen(text)), "header text not UTF-8");
	fuzz_check_safe_name(name, MIME_NAME_MAX);
	free(text);
	free(name);
}

static void fuzz_filename(const char *s, size_t len, uint8_t how)
{
	const char *str[MAX_STRINGS];
	struct mime_param params[MAX_STRINGS / 2];
	size_t n = 0, np, nd;
	char *name;

	for (size_t i = 0; i <= len && n < MAX_STRINGS; i += strlen(s + i) + 1)
		str[n++] = s + i;
	while (n < 2)
		str[n++] = "";
	np = (n - 2) / 2;
	for (size_t i = 0; i < np; i++)
		params[i] = (struct mime_param){ str[2 + 2 * i], str[3 + 2 * i] };
	nd = how % (np + 1);
	name = mime_filename(nd ? params : NULL, nd, np > nd ? params + nd : NULL, np - nd,
			     str[0], str[1]);
	fuzz_check_safe_name(name, MIME_NAME_MAX);
	FUZZ_CHECK(mime_extension(str[0], str[1])[0] != '\0', "no extension");
	free(name);
}

static int collect(void *ud, const char *data, size_t len)
{
	FUZZ_CHECK(len > 0, "empty output call");
	fuzz_buf_put(ud, data, len);
	return 0;
}

struct decoded {
	struct fuzz_buf out;
	char charset[64];
};

static void decode(struct decoded *r, enum mime_encoding enc, const char *type,
		   const char *charset, size_t max, const char *data, size_t len,
		   struct fuzz_splits *sp)
{
	struct mime_decoder *d = mime_decoder_new(enc, type, charset, collect, &r->out);
	const char *cs;
	size_t off = 0, n;

	FUZZ_CHECK(d != NULL, "no decoder");
	if (max)
		mime_decoder_set_text_max(d, max);
	while (off < len) {
		n = sp ? fuzz_splits_next(sp, len - off) : len - off;
		FUZZ_CHECK(mime_decoder_push(d, data + off, n) == 0, "push failed");
		off += n;
	}
	FUZZ_CHECK(mime_decoder_finish(d) == 0, "finish failed");
	FUZZ_CHECK(mime_decoder_push(d, "x", 1) == -1, "push after finish");
	cs = mime_decoder_charset(d);
	FUZZ_CHECK(!cs == !type, "charset %s for %s", cs ? cs : "none", type ? type : "no type");
	snprintf(r->charset, sizeof(r->charset), "%s", cs ? cs : "");
	mime_decoder_free(d);
}

static void fuzz_decode(const uint8_t *data, size_t size, uint8_t how)
{
	static const size_t maxes[4] = { 0, 1, 5, 64 };
	static const enum mime_encoding encs[5] = {
		MIME_ENC_7BIT, MIME_ENC_BASE64, MIME_ENC_QP, MIME_ENC_UUENCODE, MIME_ENC_OTHER,
	};
	struct decoded whole = { 0 }, split = { 0 };
	struct fuzz_splits sp;
	const char *type = how & 8 ? "text" : NULL, *charset, *content, *nul;
	enum mime_encoding enc = encs[(how & 7) % 5];
	size_t max = maxes[how >> 5 & 3], len;

	if (size < 8)
		return;
	fuzz_splits_init(&sp, data, 8);
	data += 8;
	size -= 8;
	nul = memchr(data, '\0', size);
	if (nul == NULL)
		return;
	charset = *data ? (const char *)data : NULL;
	content = nul + 1;
	len = size - (size_t)(content - (const char *)data);
	decode(&whole, enc, type, charset, max, content, len, NULL);
	decode(&split, enc, type, charset, max, content, len, &sp);
	FUZZ_CHECK(fuzz_buf_eq(&whole.out, &split.out),
		   "output differs when split (%zu vs %zu bytes)", whole.out.len, split.out.len);
	FUZZ_CHECK(!strcmp(whole.charset, split.charset), "charset %s whole, %s split",
		   whole.charset, split.charset);
	if (type)
		FUZZ_CHECK(fuzz_utf8_valid(whole.out.p, whole.out.len), "text not UTF-8");
	fuzz_buf_free(&whole.out);
	fuzz_buf_free(&split.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 2)
		return 0;
	if (data[0] % 3 == 2) {
		fuzz_decode(data + 2, size - 2, data[1]);
		return 0;
	}
	/* The names functions take C strings. */
	s = malloc(size - 1);
	FUZZ_CHECK(s != NULL, "out of memory");
	memcpy(s, data + 2, size - 2);
	s[size - 2] = '\0';
	if (data[0] % 3 == 0)
		fuzz_text(s);
	else
		fuzz_filename(s, size - 2, data[1]);
	free(s);
	return 0;
}
