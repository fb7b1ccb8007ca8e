/*
 * decode — a part's bytes as the server holds them, turned into the bytes
 * its content file shows: transfer encoding removed and, for text, the
 * charset converted to UTF-8. Streaming: memory stays small whatever the
 * part's size, except for text buffered to choose its charset (below).
 *
 *   struct mime_decoder *d = mime_decoder_new(MIME_ENC_BASE64, "text", "gb2312", write_cb, fd);
 *   while ((n = next_chunk(buf))) if (mime_decoder_push(d, buf, n) < 0) goto fail;
 *   if (mime_decoder_finish(d) < 0) goto fail;
 *   mime_decoder_free(d);
 *
 * With encoding MIME_ENC_7BIT or MIME_ENC_OTHER bytes pass through (use that
 * for content fetched with BINARY, which the server already decoded); base64,
 * quoted-printable and uuencode are decoded with GMime's filters. Input may
 * be split anywhere: the output does not depend on how it was pushed.
 *
 * For type "text" (any case) the decoded bytes are converted to UTF-8, a
 * BOM kept, and CRLF line ends become LF after the conversion (a lone CR
 * stays; a CRLF cut between two pushes too). The charset label is mapped to what senders really
 * write (gb2312/gbk/x-gbk/cp936/euc-cn → GB18030, big5 → BIG5-HKSCS,
 * ks_c_5601-1987/euc-kr → CP949, shift_jis → CP932, iso-8859-1/latin1/
 * us-ascii → windows-1252, ...; others go to iconv as they are). Then:
 *  - utf-8, or a charset not built on ASCII (utf-16/32, ucs-2/4, utf-7):
 *    converted as declared, streaming;
 *  - any other label, or none, or one iconv does not know: the text is
 *    buffered until finish and read as UTF-8 if it is valid UTF-8 with at
 *    least one 8-bit character (mislabelled mail), else as the declared
 *    charset, else as windows-1252.
 * Bytes that do not convert become U+FFFD (one per byte), including a
 * sequence cut off at the end. The buffer is bounded: past MIME_TEXT_MAX
 * the choice is made on the first MIME_TEXT_MAX bytes and the rest streams
 * with it. Other content always streams (memory stays small).
 *
 * The output callback returns 0, or -1 to stop: that push or finish and
 * all later ones then return -1. Output is deterministic: the same input
 * always gives the same bytes, so their count can be a file's size.
 */
#ifndef IMAPFS_MIME_DECODE_H
#define IMAPFS_MIME_DECODE_H

#include <stddef.h>

#include "part.h"

/* Text buffered to choose its charset, at most (bytes, after transfer decoding). */
#define MIME_TEXT_MAX ((size_t)64 << 20)

typedef int mime_out_fn(void *ud, const char *data, size_t len);

struct mime_decoder;

/* type and charset may be NULL. NULL only when out of memory. */
struct mime_decoder *mime_decoder_new(enum mime_encoding enc, const char *type,
				      const char *charset, mime_out_fn *out, void *ud);
int mime_decoder_push(struct mime_decoder *d, const char *data, size_t len);
int mime_decoder_finish(struct mime_decoder *d);
void mime_decoder_free(struct mime_decoder *d);
/* Before the first push: a buffering limit other than MIME_TEXT_MAX (tests). */
void mime_decoder_set_text_max(struct mime_decoder *d, size_t max);
/*
 * The charset text is being read as, upper case ("GB18030", "UTF-8",
 * "WINDOWS-1252"...); NULL for other content and while text is buffered.
 */
const char *mime_decoder_charset(const struct mime_decoder *d);

/* Call once before any decoder is made (GMime's own set-up). */
void mime_init(void);

#endif
