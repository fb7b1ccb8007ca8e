/*
 * divert — takes the content of large literals out of a server's byte stream
 * on its way to the parser, and hands it to a sink as it arrives; the parser
 * sees an empty literal ({0}) in its place. So a 50 MB BODY[2] goes to its
 * file while it arrives and is never held in memory whole.
 *
 *   struct divert *d = divert_new(65536, to_file, fd, to_parser, parser);
 *   if (divert_push(d, buf, n) < 0) ...            // bytes as they arrive
 *   divert_free(d);
 *
 * A literal is a line that ends in {n}, {n+} or ~{n} followed by n bytes,
 * as RFC 3501 (and 3516 for ~) has it; the bytes of a literal are never
 * looked into for another. Smaller literals, and everything else, pass
 * through unchanged. Input may be split anywhere.
 */
#ifndef IMAPFS_DIVERT_H
#define IMAPFS_DIVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Takes bytes; non-zero refuses them. */
typedef int divert_fn(void *ud, const char *data, size_t len);

enum divert_result {
	DIVERT_OK = 0,
	DIVERT_SINK = -1,    /* the sink refused */
	DIVERT_PASS = -2,    /* the pass-through (the parser) refused */
};

struct divert;

/* Literals of at least min bytes go to sink, all else to pass. NULL: no memory. */
struct divert *divert_new(uint64_t min, divert_fn *sink, void *sink_ud, divert_fn *pass,
			  void *pass_ud);
/*
 * Whether a literal goes to the sink, from what precedes its header on its
 * line (at most DIVERT_TAIL bytes, "{" excluded; "~" of literal8 included):
 * so that a caller takes only the literal it asked for, not another one a
 * server put in the same answer. Without it, every literal of min bytes goes.
 */
#define DIVERT_TAIL 128
typedef bool divert_accept_fn(void *ud, const char *tail, size_t len);
void divert_set_accept(struct divert *d, divert_accept_fn *fn, void *ud);
/* After a refusal the divert stays refused. */
enum divert_result divert_push(struct divert *d, const char *data, size_t len);
/* Between responses: no literal under way and no bytes held back. */
bool divert_idle(const struct divert *d);
void divert_free(struct divert *d);

#endif
