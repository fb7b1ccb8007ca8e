#include "divert.h"

#include <stdlib.h>
#include <string.h>

/* "{" 19 digits "+}" CRLF is the longest header held back. */
#define HELD_MAX 32
#define DIGITS_MAX 19

struct divert {
	uint64_t min;
	divert_fn *sink, *pass;
	void *sink_ud, *pass_ud;
	uint64_t left;            /* bytes of the current literal still to come */
	bool to_sink;             /* where they go */
	char held[HELD_MAX];      /* from a '{' on: perhaps a literal header */
	size_t nheld;
	char tail[DIVERT_TAIL];   /* the line's last bytes before held (outside literals) */
	size_t ntail;
	divert_accept_fn *accept;
	void *accept_ud;
	enum divert_result failed;
};

struct divert *divert_new(uint64_t min, divert_fn *sink, void *sink_ud, divert_fn *pass,
			  void *pass_ud)
{
	struct divert *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->min = min ? min : 1;
	d->sink = sink;
	d->sink_ud = sink_ud;
	d->pass = pass;
	d->pass_ud = pass_ud;
	return d;
}

void divert_set_accept(struct divert *d, divert_accept_fn *fn, void *ud)
{
	d->accept = fn;
	d->accept_ud = ud;
}

/* Keeps the last bytes of the line so far (text outside literals only). */
static void remember(struct divert *d, const char *data, size_t len)
{
	const char *lf = memrchr(data, '\n', len);
	size_t drop;

	if (lf) {
		len -= (size_t)(lf + 1 - data);
		data = lf + 1;
		d->ntail = 0;
	}
	if (len >= DIVERT_TAIL) {
		memcpy(d->tail, data + len - DIVERT_TAIL, DIVERT_TAIL);
		d->ntail = DIVERT_TAIL;
		return;
	}
	if (d->ntail + len > DIVERT_TAIL) {
		drop = d->ntail + len - DIVERT_TAIL;
		memmove(d->tail, d->tail + drop, d->ntail - drop);
		d->ntail -= drop;
	}
	memcpy(d->tail + d->ntail, data, len);
	d->ntail += len;
}

void divert_free(struct divert *d)
{
	free(d);
}

bool divert_idle(const struct divert *d)
{
	return d->left == 0 && d->nheld == 0;
}

static bool pass(struct divert *d, const char *data, size_t len)
{
	if (len && d->pass(d->pass_ud, data, len) != 0)
		d->failed = DIVERT_PASS;
	return d->failed == DIVERT_OK;
}

static bool sink(struct divert *d, const char *data, size_t len)
{
	if (len && d->sink(d->sink_ud, data, len) != 0)
		d->failed = DIVERT_SINK;
	return d->failed == DIVERT_OK;
}

/* Whether held is a whole literal header "{n}" or "{n+}" and CRLF (1, with
 * its n), the start of one (0), or not one (-1). held[0] is '{'. */
static int header(const char *h, size_t n, uint64_t *value)
{
	size_t i = 1, digits = 0;
	uint64_t v = 0;

	for (; i < n && h[i] >= '0' && h[i] <= '9'; i++) {
		if (++digits > DIGITS_MAX)
			return -1;
		v = v * 10 + (uint64_t)(h[i] - '0');
	}
	if (i == n)
		return 0;
	if (digits == 0)
		return -1;
	if (h[i] == '+' && ++i == n)
		return 0;
	static const char end[] = "}\r\n";
	for (size_t k = 0; k < 3; k++, i++) {
		if (i == n)
			return 0;
		if (h[i] != end[k])
			return -1;
	}
	*value = v;
	return i == n ? 1 : -1;
}

/* One more byte of a held header. */
static void hold(struct divert *d, char ch)
{
	uint64_t v = 0;
	int m;

	d->held[d->nheld++] = ch;
	m = header(d->held, d->nheld, &v);
	if (m == 0)
		return;
	if (m < 0) {
		/* Not a header; its last byte may begin one. */
		size_t keep = ch == '{' ? 1 : 0;

		remember(d, d->held, d->nheld - keep);
		if (pass(d, d->held, d->nheld - keep)) {
			d->nheld = keep;
			d->held[0] = '{';
		}
		return;
	}
	size_t n = d->nheld;

	d->nheld = 0;
	d->left = v;
	d->to_sink = v >= d->min && (!d->accept || d->accept(d->accept_ud, d->tail, d->ntail));
	d->ntail = 0;
	if (d->to_sink)
		pass(d, "{0}\r\n", 5);
	else
		pass(d, d->held, n);
}

enum divert_result divert_push(struct divert *d, const char *data, size_t len)
{
	size_t i = 0, start = 0;

	while (d->failed == DIVERT_OK && i < len) {
		if (d->left) {
			size_t k = d->left < len - i ? (size_t)d->left : len - i;

			if (d->to_sink && pass(d, data + start, i - start) && sink(d, data + i, k))
				start = i + k;
			i += k;
			d->left -= k;
		} else if (d->nheld) {
			hold(d, data[i++]);
			start = i;
		} else {
			const char *brace = memchr(data + i, '{', len - i);
			size_t end = brace ? (size_t)(brace - data) : len;

			remember(d, data + i, end - i);
			if (!brace) {
				i = len;
			} else {
				i = end;
				if (pass(d, data + start, i - start))
					d->held[d->nheld++] = '{';
				start = ++i;
			}
		}
	}
	if (d->failed == DIVERT_OK)
		pass(d, data + start, i - start);
	return d->failed;
}
