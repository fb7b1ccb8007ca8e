/*
 * b64map — generated attachments in several layouts, every decoded offset
 * read through a window and compared with the original; irregular parts
 * refused by the probe or by the window check.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64map.h"
#include "decode.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Deterministic bytes (all 256 values occur). */
static unsigned char *make_data(size_t n, unsigned seed)
{
	unsigned char *d = malloc(n ? n : 1);
	uint32_t x = seed * 2654435761u + 1;

	assert_non_null(d);
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		d[i] = (unsigned char)(x >> 16);
	}
	return d;
}

/* base64 of data in lines of `line` characters ending with CRLF (the last
 * one only when final_crlf); *len its size. NUL-terminated. */
static char *encode(const unsigned char *data, size_t n, size_t line, bool final_crlf, size_t *len)
{
	size_t chars = (n + 2) / 3 * 4, cap = chars + 2 * (chars / line + 2) + 1, o = 0, col = 0;
	char *e = malloc(cap);

	assert_non_null(e);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < n)
			v |= data[i + 2];
		q[0] = alphabet[v >> 18 & 63];
		q[1] = alphabet[v >> 12 & 63];
		q[2] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? alphabet[v & 63] : '=';
		for (int k = 0; k < 4; k++) {
			if (col == line) {
				e[o++] = '\r';
				e[o++] = '\n';
				col = 0;
			}
			e[o++] = q[k];
			col++;
		}
	}
	if (n && final_crlf) {
		e[o++] = '\r';
		e[o++] = '\n';
	}
	e[o] = '\0';
	*len = o;
	return e;
}

/* Probes enc as a server would answer the probe's fetches for a part
 * announced as `size` bytes (the real one is len). */
static int probe(struct b64map *m, const char *enc, size_t len, uint64_t size)
{
	uint64_t head_len, tail_off, head_n, tail_n;

	b64map_probe_ranges(size, &head_len, &tail_off);
	head_n = head_len < len ? head_len : len;
	/* the tail is asked with one byte more than the part should have */
	tail_n = tail_off < len ? len - tail_off : 0;
	if (tail_n > size - tail_off + 1)
		tail_n = size - tail_off + 1;
	return b64map_probe(m, size, enc, (size_t)head_n, tail_off, enc + tail_off, (size_t)tail_n);
}

/* Reads [off, off+len) through a window and compares it with data. */
static void read_range(const struct b64map *m, const char *enc, const unsigned char *data,
		       uint64_t off, uint64_t len)
{
	struct b64map_window w;
	uint64_t end = off + len > m->dec_size ? m->dec_size : off + len;
	char *out;

	b64map_window(m, off, len, &w);
	if (off >= m->dec_size || len == 0) {
		assert_int_equal(w.enc_len, 0);
		assert_int_equal(w.dec_len, 0);
		return;
	}
	assert_true(w.dec_off <= off);
	assert_true(w.dec_off + w.dec_len >= end);
	assert_true(w.enc_off + w.enc_len <= m->enc_size);
	/* whole lines, and no more than one line beyond each end */
	assert_true(off - w.dec_off < m->line / 4 * 3);
	out = malloc(w.dec_len + 1);
	assert_non_null(out);
	assert_int_equal(b64map_decode(m, &w, enc + w.enc_off, (size_t)w.enc_len, out), 0);
	assert_memory_equal(out, data + w.dec_off, (size_t)w.dec_len);
	/* one byte short, or one more: not what the window is */
	assert_int_equal(b64map_decode(m, &w, enc + w.enc_off, (size_t)w.enc_len - 1, out),
			 -EILSEQ);
	if (w.enc_off + w.enc_len < m->enc_size)
		assert_int_equal(b64map_decode(m, &w, enc + w.enc_off, (size_t)w.enc_len + 1, out),
				 -EILSEQ);
	free(out);
}

/* Every decoded offset, with lengths around quanta, lines and the end. */
static void every_offset(size_t n, size_t line, bool final_crlf)
{
	unsigned char *data = make_data(n, (unsigned)(n * 31 + line));
	size_t len, per_line = line / 4 * 3;
	char *enc = encode(data, n, line, final_crlf, &len);
	/* all of it too, while that stays cheap */
	const uint64_t lens[] = { 1, 2, 3, 4, 5, 57, per_line, per_line + 1, 2 * per_line + 2,
				  4096, n <= 2000 ? n : 3 };
	struct b64map m;

	assert_int_equal(probe(&m, enc, len, len), 0);
	assert_int_equal(m.dec_size, n);
	assert_int_equal(m.enc_size, len);
	if (n) {
		assert_int_equal(m.line, n > per_line ? line : (n + 2) / 3 * 4);
		assert_int_equal(m.pad, (3 - n % 3) % 3);
		assert_int_equal(m.final_crlf, final_crlf);
	}
	for (uint64_t off = 0; off <= n; off++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(*lens); k++)
			read_range(&m, enc, data, off, lens[k]);
	free(enc);
	free(data);
}

/* Lengths whose last line is short or full, with 0, 1 and 2 '=', small
 * (one fetch probes) and large (head and tail apart). */
static void layouts(size_t line)
{
	size_t per_line = line / 4 * 3;
	const size_t lines[] = { 1, 2, 7, 40 };

	for (size_t n = 0; n <= 7; n++)
		for (int crlf = 0; crlf < 2; crlf++)
			every_offset(n, line, crlf);
	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
		for (size_t n = lines[i] * per_line - 3; n <= lines[i] * per_line + 4; n++)
			for (int crlf = 0; crlf < 2; crlf++)
				every_offset(n, line, crlf);
	/* head and tail fetched apart: a full last line without '=', a short one with '=' */
	every_offset(100 * per_line, line, true);
	every_offset(100 * per_line + 2, line, false);
}

static void test_line_76(void **state)
{
	(void)state;
	layouts(76);
	every_offset(9000, 76, true);
}

static void test_line_64(void **state)
{
	(void)state;
	layouts(64);
}

static void test_line_72(void **state)
{
	(void)state;
	layouts(72);
	every_offset(9001, 72, false);
}

static void test_line_4(void **state)
{
	(void)state;
	layouts(4);
	every_offset(4000, 4, true);
}

static void test_line_100(void **state)
{
	(void)state;
	layouts(100);
}

/* A large regular part; *len its size. */
static char *big(size_t n, size_t line, bool crlf, size_t *len, unsigned char **data)
{
	*data = make_data(n, 7);
	return encode(*data, n, line, crlf, len);
}

static int probe_text(const char *enc, size_t len)
{
	struct b64map m;

	return probe(&m, enc, len, len);
}

/* A line one quantum short: in the head, in the tail, in the middle (the
 * grid is off at the end). */
static void test_short_line(void **state)
{
	const size_t where[] = { 2, 60, 130 };
	unsigned char *data;
	size_t len;
	char *enc = big(10000, 76, true, &len, &data);

	(void)state;
	assert_int_equal(probe_text(enc, len), 0);
	for (size_t i = 0; i < sizeof(where) / sizeof(*where); i++) {
		char *e = strdup(enc);
		size_t at = where[i] * 78;

		assert_non_null(e);
		memmove(e + at, e + at + 4, len - at - 4);
		assert_int_equal(probe_text(e, len - 4), -EILSEQ);
		free(e);
	}
	free(enc);
	free(data);
}

/* One line short and one long: the grid fits at the end again, so the probe
 * passes, and the windows over them are refused. */
static void test_irregular_middle(void **state)
{
	unsigned char *data;
	size_t len;
	char *enc = big(10000, 76, false, &len, &data), *e = malloc(len + 1);
	struct b64map m;
	struct b64map_window w;
	char out[200];
	size_t a = 70 * 78, b = 71 * 78;

	(void)state;
	assert_non_null(e);
	/* line 70 loses its last quantum to line 71: same bytes, other lines */
	memcpy(e, enc, a + 72);
	memcpy(e + a + 72, "\r\n", 2);
	memcpy(e + a + 74, enc + a + 72, 4);
	memcpy(e + a + 78, enc + b, len - b);
	e[len] = '\0';
	assert_int_equal(probe_text(e, len), 0);
	for (uint64_t off = 69 * 57; off < 72 * 57; off += 19) {
		assert_int_equal(probe(&m, e, len, len), 0);
		b64map_window(&m, off, 4, &w);
		assert_true(w.dec_len <= sizeof(out));
		if (w.enc_off <= a && a < w.enc_off + w.enc_len) {
			assert_int_equal(b64map_decode(&m, &w, e + w.enc_off, (size_t)w.enc_len, out),
					 -EILSEQ);
		} else {
			/* line 71 holds its own characters where the grid says */
			assert_int_equal(b64map_decode(&m, &w, e + w.enc_off, (size_t)w.enc_len, out),
					 0);
			assert_memory_equal(out, data + w.dec_off, (size_t)w.dec_len);
		}
	}
	/* the lines around are still read right */
	b64map_window(&m, 10 * 57, 57, &w);
	assert_int_equal(b64map_decode(&m, &w, e + w.enc_off, (size_t)w.enc_len, out), 0);
	assert_memory_equal(out, data + 10 * 57, 57);
	free(e);
	free(enc);
	free(data);
}

/* LF-only line ends, in the whole part or from the middle on. */
static void test_lf_lines(void **state)
{
	unsigned char *data;
	size_t len, o = 0;
	char *enc = big(10000, 76, true, &len, &data), *e = malloc(len + 1);

	(void)state;
	assert_non_null(e);
	for (size_t i = 0; i < len; i++)
		if (enc[i] != '\r')
			e[o++] = enc[i];
	assert_int_equal(probe_text(e, o), -EILSEQ);
	/* only the second half */
	o = len / 2 / 78 * 78;
	memcpy(e, enc, o);
	for (size_t i = o; i < len; i++)
		if (enc[i] != '\r')
			e[o++] = enc[i];
	assert_int_equal(probe_text(e, o), -EILSEQ);
	free(e);
	free(enc);
	free(data);
}

/* A blank on a line, a blank line, '=' inside, a character not base64. */
static void test_whitespace_and_junk(void **state)
{
	unsigned char *data;
	size_t len;
	char *enc = big(10000, 76, true, &len, &data), *e;
	struct b64map m;
	struct b64map_window w;
	char out[200];
	const size_t mid = 60 * 78 + 10;
	const char bad[] = { ' ', '\t', '=', '-', '\n', '\r', '\0', (char)0xC3 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad); i++) {
		e = strdup(enc);
		assert_non_null(e);
		/* in the head: the probe refuses */
		e[100] = bad[i];
		assert_int_equal(probe_text(e, len), -EILSEQ);
		/* in the middle: the window refuses */
		memcpy(e, enc, len);
		e[mid] = bad[i];
		assert_int_equal(probe(&m, e, len, len), 0);
		b64map_window(&m, 60 * 57 + 3, 1, &w);
		assert_int_equal(b64map_decode(&m, &w, e + w.enc_off, (size_t)w.enc_len, out),
				 -EILSEQ);
		/* in the tail */
		memcpy(e, enc, len);
		e[len - 45] = bad[i]; /* on the line before the last */
		assert_int_equal(probe_text(e, len), -EILSEQ);
		free(e);
	}
	/* a trailing blank line, a blank after the last line, blanks on every line */
	e = malloc(len + 3);
	assert_non_null(e);
	memcpy(e, enc, len);
	memcpy(e + len, "\r\n", 2);
	assert_int_equal(probe_text(e, len + 2), -EILSEQ);
	memcpy(e + len - 2, " \r\n", 3);
	assert_int_equal(probe_text(e, len + 1), -EILSEQ);
	free(e);
	free(enc);
	free(data);
	data = make_data(3000, 3);
	enc = encode(data, 3000, 76, true, &len);
	e = malloc(len * 2);
	assert_non_null(e);
	for (size_t i = 0, o = 0; i <= len; i++) {
		if (i < len && enc[i] == '\r')
			e[o++] = ' ';
		e[o++] = i < len ? enc[i] : '\0';
		if (i == len)
			assert_int_equal(probe_text(e, o - 1), -EILSEQ);
	}
	free(e);
	free(enc);
	free(data);
}

/* A size other than the part's: refused, whether larger or smaller, and a
 * line length that is not a multiple of 4. */
static void test_wrong_size(void **state)
{
	const size_t ns[] = { 10, 200, 10000 };
	struct b64map m;

	(void)state;
	for (size_t i = 0; i < sizeof(ns) / sizeof(*ns); i++) {
		unsigned char *data = make_data(ns[i], 5);
		size_t len;
		char *enc = encode(data, ns[i], 76, true, &len);

		assert_int_equal(probe(&m, enc, len, len), 0);
		for (int d = -5; d <= 5; d++)
			if (d)
				assert_int_equal(probe(&m, enc, len, len + (size_t)d), -EILSEQ);
		free(enc);
		enc = encode(data, ns[i], 78, true, &len);
		if (ns[i] > 58)
			assert_int_equal(probe(&m, enc, len, len), -EILSEQ);
		free(enc);
		free(data);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_76),
		cmocka_unit_test(test_line_64),
		cmocka_unit_test(test_line_72),
		cmocka_unit_test(test_line_4),
		cmocka_unit_test(test_line_100),
		cmocka_unit_test(test_short_line),
		cmocka_unit_test(test_irregular_middle),
		cmocka_unit_test(test_lf_lines),
		cmocka_unit_test(test_whitespace_and_junk),
		cmocka_unit_test(test_wrong_size),
	};

	mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
