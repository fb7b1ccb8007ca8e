/*
 * b64map — where a decoded byte of a base64 part lies in the part as stored,
 * when all its lines have one length: a reader of a server without BINARY
 * can then fetch BODY[section]<o.n> around what it wants, not the whole part,
 * and know the decoded size (what stat shows) without decoding it all.
 *
 *   struct b64map map;
 *   struct b64map_window w;
 *   b64map_probe_ranges(size, &head_len, &tail_off);     // fetch <0.head_len>, <tail_off.size-tail_off+1>
 *   if (b64map_probe(&map, size, head, head_n, tail_off, tail, tail_n) < 0) ...  // decode it whole
 *   b64map_window(&map, off, len, &w);                    // fetch <w.enc_off.w.enc_len>
 *   if (b64map_decode(&map, &w, fetched, n, out) < 0) ... // irregular after all: decode it whole
 *
 * Nothing is assumed. The layout (line length, last line, padding, whether
 * the last line ends with CRLF) is read from the part's head and tail and
 * checked against its encoded size; every window fetched later is checked
 * against it byte by byte (CRLF exactly where the grid puts it, only the
 * base64 alphabet between, '=' only as the part's final padding) before one
 * byte of it is decoded. Both answer -EILSEQ when the part does not fit, so
 * a wrong mapping never yields bytes. Decoding is decode.h's (the same bytes
 * as decoding the whole part). Lines end with CRLF; an empty part maps too.
 *
 * What no check short of reading the part whole can see: lines that differ
 * only between the head and a window, in ways that cancel out before it
 * (two lines split in two and a third one quantum short, say: the grid is
 * back in step at the window, with one quantum fewer before it, so the
 * window reads 3 bytes off). No encoder writes that; a part read from its
 * start is decoded whole (fill.h), not by windows.
 */
#ifndef IMAPFS_MIME_B64MAP_H
#define IMAPFS_MIME_B64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The probe reads this much of the part's start and of its end. */
#define B64MAP_HEAD 4096u
#define B64MAP_TAIL 512u

/* A regular base64 part's layout. Lines but the last have `line` characters
 * and CRLF; the last has `last`, and CRLF when final_crlf. */
struct b64map {
	uint64_t enc_size;        /* the part's size as stored (BODYSTRUCTURE) */
	uint64_t lines;           /* lines in all (0: an empty part) */
	uint32_t line;            /* characters per line but the last: a multiple of 4 */
	uint32_t last;            /* characters of the last line, 4..line, a multiple of 4 */
	uint32_t pad;             /* '=' ending the last line: 0, 1 or 2 */
	bool final_crlf;
	uint64_t dec_size;        /* the decoded size */
};

/* A range of whole lines of the part, and the decoded bytes it holds. */
struct b64map_window {
	uint64_t enc_off, enc_len;    /* fetch BODY[section]<enc_off.enc_len> */
	uint64_t dec_off, dec_len;    /* what b64map_decode makes of it */
};

/*
 * What the probe needs of a part of enc_size bytes: its first *head_len
 * bytes, and from *tail_off to its end, asked with one byte more than the
 * part should have (enc_size - *tail_off + 1), so that a part longer than
 * its announced size is seen. *tail_off == 0 (a small part): the one fetch
 * from 0 serves as both, head and tail being the same bytes.
 */
void b64map_probe_ranges(uint64_t enc_size, uint64_t *head_len, uint64_t *tail_off);
/*
 * Reads the layout of a part of enc_size bytes from its head (from offset
 * 0) and its tail (from tail_off, all the server sent for the range
 * b64map_probe_ranges named). 0, or -EILSEQ when the part is not regular
 * base64 (or not of that size): read it whole then.
 */
int b64map_probe(struct b64map *map, uint64_t enc_size, const char *head, size_t head_len,
		 uint64_t tail_off, const char *tail, size_t tail_len);
/* The window of whole lines holding decoded [off, off+len) (clamped to the
 * decoded size; len 0 or off at the end: an empty window). */
void b64map_window(const struct b64map *map, uint64_t off, uint64_t len,
		   struct b64map_window *w);
/*
 * Checks data (n bytes fetched for w) against the layout and decodes it
 * into out (room for w->dec_len bytes). 0, -EILSEQ when it does not fit
 * (the part is irregular after all), -ENOMEM.
 */
int b64map_decode(const struct b64map *map, const struct b64map_window *w, const char *data,
		  size_t n, char *out);

#endif
