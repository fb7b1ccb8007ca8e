#include "fill.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "decode.h"
#include "log.h"
#include "request.h"

enum fill_state { FILL_RUNNING, FILL_DONE, FILL_STOPPED };

struct fill {
	struct fill_source src;       /* its strings are the copies below */
	char *key, *mailbox, *section, *type, *charset;
	pthread_t fetcher, decoder;
	pthread_mutex_t lock;
	pthread_cond_t changed;       /* bytes arrived, a reader asked, the state changed */
	struct store_writer *w;       /* the decoding thread's */
	int rfd;                      /* reads what w wrote */
	char *next;                   /* protected by lock: a piece for the decoder */
	size_t next_len;              /* protected by lock */
	bool next_last;               /* protected by lock: it ends the part */
	bool fetched;                 /* protected by lock: no more pieces come */
	uint64_t have;                /* protected by lock: decoded bytes written */
	uint64_t want;                /* protected by lock: the furthest end a reader asked */
	uint64_t asks;                /* protected by lock: reads so far */
	enum fill_state state;        /* protected by lock */
	bool cancel;                  /* protected by lock */
	/* protected by lock: the connection a command of the fill runs on, so
	 * that cancel can cut it short (imap_conn_abort) rather than wait for
	 * the server; set and cleared by the fetching thread while it has it. */
	struct imap_conn *conn;
};

static void set_state(struct fill *f, enum fill_state state)
{
	pthread_mutex_lock(&f->lock);
	f->state = state;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

/* The decoder's output: into the entry, then visible to readers. */
static int to_fill(void *ud, const char *data, size_t len)
{
	struct fill *f = ud;

	if (store_write(f->w, data, len) < 0)
		return -1;
	pthread_mutex_lock(&f->lock);
	f->have += len;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* How far a stream may run ahead of a reader that asked up to want: as far
 * as it has read already, so that one that stops early leaves little
 * fetched for nothing, from 2 MiB to FILL_AHEAD. */
static uint64_t window(uint64_t want)
{
	if (want < 2 * (uint64_t)FILL_PIECE)
		return 2 * (uint64_t)FILL_PIECE;
	return want > FILL_AHEAD ? FILL_AHEAD : want;
}

/*
 * Waits while the fill is ahead of its reader: at all (before a command),
 * or by more than the window (streaming). Returns false when it should
 * stop: cancelled, or the reader asked nothing for FILL_IDLE_MS.
 */
static bool reader_near(struct fill *f, bool streaming)
{
	struct timespec until;
	bool go;

	pthread_mutex_lock(&f->lock);
	while (!f->cancel && f->have > f->want + (streaming ? window(f->want) : 0)) {
		uint64_t asks = f->asks;

		clock_deadline(&until, FILL_IDLE_MS);
		while (!f->cancel && f->asks == asks &&
		       pthread_cond_timedwait(&f->changed, &f->lock, &until) != ETIMEDOUT)
			;
		if (f->asks == asks)
			break;
	}
	go = !f->cancel && f->have <= f->want + (streaming ? window(f->want) : 0);
	pthread_mutex_unlock(&f->lock);
	return go;
}

/* Hands a fetched piece to the decoding thread, waiting (within the command's
 * deadline) while
 * it still has the one before (so that at most two are in memory). False
 * when cancelled, the decoding ended, or it took nothing in time. */
static bool hand_over(struct fill *f, char *data, size_t n, bool last)
{
	struct timespec until;
	bool ok;

	request_deadline(&until);
	pthread_mutex_lock(&f->lock);
	while (f->next && !f->cancel && f->state == FILL_RUNNING &&
	       pthread_cond_timedwait(&f->changed, &f->lock, &until) != ETIMEDOUT)
		;
	ok = !f->next && !f->cancel && f->state == FILL_RUNNING;
	if (ok) {
		f->next = data;
		f->next_len = n;
		f->next_last = last;
		pthread_cond_broadcast(&f->changed);
	}
	pthread_mutex_unlock(&f->lock);
	if (!ok)
		free(data);
	return ok;
}

/* Fetched bytes gathered into pieces for the decoding thread. */
struct pieces {
	struct fill *f;
	char *buf;
	size_t len;
};

/* Hands the piece over (last: it ends the part); false when the fill stops. */
static bool send_piece(struct pieces *pc, bool last)
{
	char *buf = pc->buf ? pc->buf : malloc(1);
	size_t len = pc->len;

	pc->buf = NULL;
	pc->len = 0;
	if (!buf)
		return false;
	if (!last && !reader_near(pc->f, true)) {
		free(buf);
		return false;
	}
	return hand_over(pc->f, buf, len, last);
}

static int to_pieces(void *ud, const char *data, size_t len)
{
	struct pieces *pc = ud;

	while (len) {
		size_t k = FILL_PIECE - pc->len < len ? FILL_PIECE - pc->len : len;

		if (!pc->buf && !(pc->buf = malloc(FILL_PIECE)))
			return -1;
		memcpy(pc->buf + pc->len, data, k);
		pc->len += k;
		data += k;
		len -= k;
		if (pc->len == FILL_PIECE && !send_piece(pc, false))
			return -1;
	}
	return 0;
}

/* One command of a fill: a range of the part, into the pieces. */
struct range {
	struct fill *f;
	struct pieces *pc;
	uint64_t off, len, got;
	bool tried;
};

static int run_range(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct range *r = ud;

	/* source_run's retry after a lost connection would hand over again
	 * what came before the loss: the fill stops instead, and the reader
	 * goes on by ranges. */
	struct fill *f = r->f;
	bool cancelled;
	int rc;

	(void)st;
	if (r->tried && r->got)
		return IMAP_ENET;
	r->tried = true;
	pthread_mutex_lock(&f->lock);
	cancelled = f->cancel;
	f->conn = cancelled ? NULL : c;
	pthread_mutex_unlock(&f->lock);
	if (cancelled)
		return IMAP_ESTOP;
	rc = imap_fetch_part_to(c, f->src.uid, f->section, r->off, r->len, to_pieces, r->pc,
				&r->got);
	pthread_mutex_lock(&f->lock);
	f->conn = NULL;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/*
 * Fetches FILL_FIRST bytes, then four and sixteen times as many, then all
 * the rest in one command whose content streams to the decoding thread (one
 * range per command would cost the server a seek into the part each time:
 * half its speed here); each once the reader wants more than the fill has,
 * and with a connection borrowed for that command only. A stream cannot be
 * held back (the server fills the sockets' buffers, some 10 MB here), so it
 * waits for a reader that has read 5 MB in order: the kernel's readahead
 * behind a `file` or `head` does not get that far. With one connection in
 * the pool there is no stream (it would keep every other request waiting):
 * 4 MiB ranges go on. Decoding (GMime's base64 runs at about the speed the
 * server sends) is the other thread's, so that the two overlap.
 */
static int fill_loop(struct fill *f)
{
	struct pieces pc = { .f = f };
	struct range r = { .f = f, .pc = &pc, .len = FILL_FIRST };
	struct source_cmd cmd = {
		.mailbox = f->mailbox, .uidvalidity = f->src.uidvalidity, .flags = SOURCE_STREAM,
		.fn = run_range, .ud = &r,
	};
	bool stream_ok = source_connections(f->src.source) > 1;
	int rc = 0;

	while (reader_near(f, false)) {
		r.got = 0;
		r.tried = false;
		request_begin(REQUEST_MS);  /* each command is a request of its own */
		rc = source_run(f->src.source, &cmd);
		if (rc)
			break;
		r.off += r.got;
		if (r.got < r.len) {
			send_piece(&pc, true);
			return 0;
		}
		if (r.len < 16 * (uint64_t)FILL_FIRST)
			r.len *= 4;
		else if (stream_ok)
			r.len = UINT64_MAX;
	}
	free(pc.buf);
	return rc;
}

static void *fetch_thread(void *arg)
{
	struct fill *f = arg;
	int rc = fill_loop(f);

	/* The reader stopping it (IMAP_ESTOP) breaks the connection: -EIO. */
	if (rc)
		log_msg(LOG_INFO, "UID %u part %s: reading ahead stopped: %s", f->src.uid,
			f->section, strerror(-rc));
	pthread_mutex_lock(&f->lock);
	f->fetched = true;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* Commits a complete fill whose size is what stat said; else keeps it private. */
static bool finish(struct fill *f, struct mime_decoder *dec)
{
	uint64_t size = 0;

	if (mime_decoder_finish(dec) < 0)
		return false;
	if (f->have != f->src.size) {
		log_msg(LOG_WARNING, "UID %u part %s: %llu bytes decoded, %llu announced",
			f->src.uid, f->section, (unsigned long long)f->have,
			(unsigned long long)f->src.size);
		return true; /* what was decoded is still read */
	}
	if (store_commit(f->w, &size) < 0)
		log_msg(LOG_WARNING, "UID %u part %s: cannot keep it in the cache", f->src.uid,
			f->section);
	f->w = NULL;
	return true;
}

/*
 * The next fetched piece (*last: the final one), or NULL when no more come.
 * The wait has no limit of its own: the fetching thread's every wait has one
 * (the server's time limit, FILL_IDLE_MS while its reader is away, hand_over),
 * and it sets fetched when it ends; a slow reader may keep it going long.
 */
static char *take_next(struct fill *f, size_t *n, bool *last)
{
	char *data;

	pthread_mutex_lock(&f->lock);
	while (!f->next && !f->fetched && !f->cancel)
		pthread_cond_wait(&f->changed, &f->lock);
	data = f->cancel ? NULL : f->next;
	*n = f->next_len;
	*last = f->next_last;
	if (data)
		f->next = NULL;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	return data;
}

static void *decode_thread(void *arg)
{
	struct fill *f = arg;
	struct mime_decoder *dec = mime_decoder_new(f->src.encoding, f->type, f->charset,
						    to_fill, f);
	enum fill_state state = FILL_STOPPED;
	bool last = false;
	char *data;
	size_t n;

	while (dec && !last && (data = take_next(f, &n, &last))) {
		int rc = n ? mime_decoder_push(dec, data, n) : 0;

		free(data);
		if (rc < 0)
			break; /* the entry could not be written */
		if (last && finish(f, dec))
			state = FILL_DONE;
	}
	mime_decoder_free(dec);
	store_abort(f->w); /* unless committed */
	f->w = NULL;
	set_state(f, state);
	return NULL;
}

static void fill_destroy(struct fill *f)
{
	free(f->next);
	store_abort(f->w);
	if (f->rfd >= 0)
		close(f->rfd);
	free(f->key);
	free(f->mailbox);
	free(f->section);
	free(f->type);
	free(f->charset);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->changed);
	free(f);
}

static int copy_strings(struct fill *f, const struct fill_source *src)
{
	f->key = strdup(src->key);
	f->mailbox = strdup(src->mailbox);
	f->section = strdup(src->section);
	f->type = src->type ? strdup(src->type) : NULL;
	f->charset = src->charset ? strdup(src->charset) : NULL;
	return f->key && f->mailbox && f->section && (f->type || !src->type) &&
	       (f->charset || !src->charset) ? 0 : -1;
}

/* Tells both threads to end as soon as they can. */
static void cancel(struct fill *f)
{
	pthread_mutex_lock(&f->lock);
	f->cancel = true;
	/* A stalled server must not hold fill_free's join: cut the command. */
	if (f->conn)
		imap_conn_abort(f->conn);
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

struct fill *fill_start(const struct fill_source *src)
{
	struct fill *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->rfd = -1;
	f->src = *src;
	if (clock_cond_init(&f->changed) != 0) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	if (copy_strings(f, src) < 0 || !(f->w = store_begin(src->store, f->key)) ||
	    (f->rfd = store_reader(f->w)) < 0 ||
	    pthread_create(&f->decoder, NULL, decode_thread, f) != 0) {
		fill_destroy(f);
		return NULL;
	}
	if (pthread_create(&f->fetcher, NULL, fetch_thread, f) != 0) {
		cancel(f);
		pthread_join(f->decoder, NULL);
		fill_destroy(f);
		return NULL;
	}
	return f;
}

/* Notes what a reader wants and waits for it. Returns the bytes there are. Locked. */
static uint64_t wait_for(struct fill *f, uint64_t end)
{
	struct timespec until;

	if (end > f->want)
		f->want = end;
	f->asks++;
	pthread_cond_broadcast(&f->changed);
	request_deadline(&until);
	while (f->have < end && f->state == FILL_RUNNING &&
	       pthread_cond_timedwait(&f->changed, &f->lock, &until) != ETIMEDOUT)
		;
	return f->have;
}

int fill_read(struct fill *f, uint64_t off, size_t len, char *buf, size_t *n)
{
	enum fill_state state;
	uint64_t have;
	ssize_t got;

	*n = 0;
	pthread_mutex_lock(&f->lock);
	/* Far ahead of the fill: a ranged fetch brings it sooner. */
	if (off > f->have + FILL_AHEAD) {
		pthread_mutex_unlock(&f->lock);
		return -EAGAIN;
	}
	have = wait_for(f, off + len);
	state = f->state;
	pthread_mutex_unlock(&f->lock);
	if (off >= have)
		return state == FILL_DONE ? 0 : -EAGAIN;
	if (len > have - off)
		len = (size_t)(have - off);
	do
		got = pread(f->rfd, buf, len, (off_t)off);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return got < 0 ? -errno : -EIO;
	*n = (size_t)got;
	return 0;
}

void fill_free(struct fill *f)
{
	if (!f)
		return;
	cancel(f);
	pthread_join(f->fetcher, NULL);
	pthread_join(f->decoder, NULL);
	fill_destroy(f);
}
