#include "b64map.h"

#include <errno.h>
#include <string.h>

#include "decode.h"

static bool b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static uint64_t stride(const struct b64map *m)
{
	return (uint64_t)m->line + 2;
}

/* Where the last line's characters end (its CRLF, if any, after). */
static uint64_t content_end(const struct b64map *m)
{
	return m->lines ? (m->lines - 1) * stride(m) + m->last : 0;
}

/*
 * Whether data (n bytes at encoded offset off) is what the layout says is
 * there: per line its characters (the alphabet; '=' exactly on the final
 * padding) then CRLF (not after a last line without one); nothing past the
 * end. A line at a time, so that a window of megabytes is checked quickly.
 */
static int check(const struct b64map *m, uint64_t off, const char *data, size_t n)
{
	uint64_t pad_from = content_end(m) - m->pad;
	size_t i = 0;

	while (i < n) {
		uint64_t p = off + i, li = p / stride(m), col = p % stride(m);
		bool is_last = li + 1 == m->lines;
		uint64_t llen = is_last ? m->last : m->line;
		uint64_t lend = llen + (!is_last || m->final_crlf ? 2 : 0);
		size_t k;

		if (li >= m->lines || col >= lend)
			return -EILSEQ;
		k = n - i < lend - col ? n - i : (size_t)(lend - col);
		for (size_t j = 0; j < k; j++, col++) {
			unsigned char c = (unsigned char)data[i + j];
			bool ok;

			if (col < llen)
				ok = p + j >= pad_from ? c == '=' : b64_char(c);
			else
				ok = c == (col == llen ? '\r' : '\n');
			if (!ok)
				return -EILSEQ;
		}
		i += k;
	}
	return 0;
}

void b64map_probe_ranges(uint64_t enc_size, uint64_t *head_len, uint64_t *tail_off)
{
	if (enc_size <= (uint64_t)B64MAP_HEAD + B64MAP_TAIL) {
		*head_len = enc_size;
		*tail_off = 0;
	} else {
		*head_len = B64MAP_HEAD;
		*tail_off = enc_size - B64MAP_TAIL;
	}
}

/* Where the last line starts: after the last CRLF before end (an encoded
 * offset) in the tail; 0 when the tail is the whole part and has none. */
static int last_line_start(uint64_t end, uint64_t tail_off, const char *tail, uint64_t *start)
{
	for (uint64_t j = end - tail_off; j >= 2; j--) {
		if (tail[j - 2] == '\r' && tail[j - 1] == '\n') {
			*start = tail_off + j;
			return 0;
		}
	}
	*start = 0;
	return tail_off == 0 ? 0 : -EILSEQ;
}

/* The line length from the head's first CRLF. */
static int first_line(const char *head, size_t head_len, uint32_t *line)
{
	for (size_t i = 0; i + 1 < head_len; i++) {
		if (head[i] == '\r' && head[i + 1] == '\n') {
			if (i == 0 || i % 4 || i > UINT32_MAX - 2)
				return -EILSEQ;
			*line = (uint32_t)i;
			return 0;
		}
	}
	return -EILSEQ;
}

/* The layout from the part's end: the last line and how it ends. */
static int read_layout(struct b64map *m, const char *head, size_t head_len, uint64_t tail_off,
		       const char *tail, size_t tail_len)
{
	uint64_t end, start, last;

	m->final_crlf = tail_len >= 2 && tail[tail_len - 2] == '\r' && tail[tail_len - 1] == '\n';
	end = m->enc_size - (m->final_crlf ? 2 : 0);
	if (end <= tail_off || last_line_start(end, tail_off, tail, &start) < 0)
		return -EILSEQ;
	last = end - start;
	if (last == 0 || last % 4 || last > UINT32_MAX - 2)
		return -EILSEQ;
	m->last = (uint32_t)last;
	if (start == 0) {
		m->line = m->last;
		m->lines = 1;
	} else if (first_line(head, head_len, &m->line) < 0 || start % stride(m) ||
		   m->last > m->line) {
		return -EILSEQ;
	} else {
		m->lines = start / stride(m) + 1;
	}
	while (m->pad < 2 && tail[end - tail_off - 1 - m->pad] == '=')
		m->pad++;
	m->dec_size = ((m->lines - 1) * m->line + m->last) / 4 * 3 - m->pad;
	return 0;
}

int b64map_probe(struct b64map *map, uint64_t enc_size, const char *head, size_t head_len,
		 uint64_t tail_off, const char *tail, size_t tail_len)
{
	uint64_t want_head, want_tail_off;

	memset(map, 0, sizeof(*map));
	map->enc_size = enc_size;
	b64map_probe_ranges(enc_size, &want_head, &want_tail_off);
	/* Exactly what was asked: more or less means the size is not the part's. */
	if (tail_off != want_tail_off || head_len != want_head || tail_off + tail_len != enc_size)
		return -EILSEQ;
	if (enc_size == 0)
		return 0;
	if (read_layout(map, head, head_len, tail_off, tail, tail_len) < 0 ||
	    check(map, 0, head, head_len) < 0 || check(map, tail_off, tail, tail_len) < 0) {
		memset(map, 0, sizeof(*map));
		return -EILSEQ;
	}
	return 0;
}

void b64map_window(const struct b64map *map, uint64_t off, uint64_t len, struct b64map_window *w)
{
	uint64_t per_line = (uint64_t)map->line / 4 * 3, l0, l1;

	memset(w, 0, sizeof(*w));
	if (off >= map->dec_size || len == 0) {
		w->enc_off = map->enc_size;
		w->dec_off = map->dec_size;
		return;
	}
	if (len > map->dec_size - off)
		len = map->dec_size - off;
	/* Only the last line is short: decoded byte d is on line d / per_line. */
	l0 = off / per_line;
	l1 = (off + len - 1) / per_line;
	w->enc_off = l0 * stride(map);
	w->enc_len = (l1 + 1 == map->lines ? map->enc_size : (l1 + 1) * stride(map)) - w->enc_off;
	w->dec_off = l0 * per_line;
	w->dec_len = ((l1 + 1) * per_line < map->dec_size ? (l1 + 1) * per_line : map->dec_size) -
		     w->dec_off;
}

struct out_ctx {
	char *out;
	uint64_t len, max;
};

static int to_out(void *ud, const char *data, size_t len)
{
	struct out_ctx *o = ud;

	if (len > o->max - o->len)
		return -1;
	memcpy(o->out + o->len, data, len);
	o->len += len;
	return 0;
}

int b64map_decode(const struct b64map *map, const struct b64map_window *w, const char *data,
		  size_t n, char *out)
{
	struct out_ctx o = { .out = out, .max = w->dec_len };
	struct mime_decoder *dec;
	int rc = -EILSEQ;

	if (n != w->enc_len || (map->lines && w->enc_off % stride(map)) ||
	    check(map, w->enc_off, data, n) < 0)
		return -EILSEQ;
	dec = mime_decoder_new(MIME_ENC_BASE64, NULL, NULL, to_out, &o);
	if (!dec)
		return -ENOMEM;
	if (mime_decoder_push(dec, data, n) == 0 && mime_decoder_finish(dec) == 0 &&
	    o.len == w->dec_len)
		rc = 0;
	mime_decoder_free(dec);
	return rc;
}
