#include "source.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "request.h"

/* Pauses between attempts to reach a server that refuses: short at first
 * (Dovecot restarts in 0.3 s), then at most a second (Cyrus 2 s, Courier 6 s). */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000
/* A command whose connection broke is sent again at most this often. */
#define LOST_RETRIES 3
/* After a command found no answer within its deadline, the server is taken
 * as unresponsive for this long: requests fail at once rather than each
 * waiting its whole deadline (an `ls -la` is a dozen requests, a `cat`'s
 * failed read is asked again by the kernel). */
#define UNRESPONSIVE_MS (REQUEST_MS / 2)

struct source {
	struct imap_pool *pool;
	pthread_mutex_t lock;
	pthread_cond_t stop_cond;  /* wakes backoff pauses at unmount */
	bool stopping;             /* protected by lock */
	bool read_only;            /* set before the mount serves, then only read */
	struct timespec quiet_until;  /* protected by lock: unresponsive until then */
};

struct source *source_new(struct imap_pool *pool)
{
	struct source *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pool = pool;
	if (clock_cond_init(&s->stop_cond)) {
		free(s);
		return NULL;
	}
	if (pthread_mutex_init(&s->lock, NULL)) {
		pthread_cond_destroy(&s->stop_cond);
		free(s);
		return NULL;
	}
	return s;
}

void source_free(struct source *s)
{
	if (!s)
		return;
	pthread_cond_destroy(&s->stop_cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

unsigned source_connections(const struct source *s)
{
	return pool_size(s->pool);
}

void source_set_read_only(struct source *s)
{
	s->read_only = true;
}

void source_stop(struct source *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->stop_cond);
	pthread_mutex_unlock(&s->lock);
	pool_abort(s->pool);
}

/* Sleeps ms, or less when the deadline or an unmount comes first; false
 * when there is no time left to try again. */
static bool pause_before_retry(struct source *s, long ms, const struct timespec *until)
{
	struct timespec wake;
	bool go_on;

	clock_deadline(&wake, ms);
	if (clock_ms_since(&wake) < clock_ms_since(until))
		wake = *until;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping &&
	       pthread_cond_timedwait(&s->stop_cond, &s->lock, &wake) != ETIMEDOUT)
		;
	go_on = !s->stopping;
	pthread_mutex_unlock(&s->lock);
	return go_on && clock_ms_since(until) < 0;
}

struct guard {
	struct source_cmd *cmd;
	bool stale;
};

#define CHANGE (SOURCE_WRITE | SOURCE_SELECT)

/* The UIDVALIDITY check, on the status the EXAMINE just gave; a refused
 * change leaves its code in cmd and its text in the log. */
static int guarded(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct guard *g = ud;
	const char *code;
	int rc;

	if (g->cmd->uidvalidity && st && st->uidvalidity != g->cmd->uidvalidity) {
		g->stale = true;
		return IMAP_ENO;
	}
	rc = g->cmd->fn(c, st, g->cmd->ud);
	if (rc != IMAP_ENO && rc != IMAP_EBAD)
		return rc;
	code = imap_conn_last_code(c);
	snprintf(g->cmd->code, sizeof(g->cmd->code), "%s", code ? code : "");
	if (g->cmd->flags & CHANGE)
		log_msg(LOG_WARNING, "the server refused: %s", imap_conn_last_text(c));
	return rc;
}

int source_refusal(const char *code)
{
	static const struct {
		const char *code;
		int err;
	} map[] = {
		{ "ALREADYEXISTS", -EEXIST }, { "NONEXISTENT", -ENOENT }, { "TRYCREATE", -ENOENT },
		{ "OVERQUOTA", -EDQUOT },     { "TOOBIG", -EFBIG },       { "NOPERM", -EACCES },
		{ "CANNOT", -EINVAL },        { "LIMIT", -ENOSPC },       { "READ-ONLY", -EACCES },
	};

	for (size_t i = 0; code && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(code, map[i].code) == 0)
			return map[i].err;
	return -EIO;
}

static int errno_of(const struct source_cmd *cmd, int rc)
{
	if (rc > 0)
		return rc; /* fn's own answer (source_write's checks) */
	switch (rc) {
	case IMAP_OK:
		return 0;
	case IMAP_EBAD:
		return cmd->flags & CHANGE ? source_refusal(cmd->code) : -EIO;
	case IMAP_ENO:
		if (cmd->flags & CHANGE)
			return source_refusal(cmd->code);
		return -ENOENT;
	case IMAP_ENOMEM:
		return -ENOMEM;
	case IMAP_EBUSY:
		return -EBUSY;
	default:
		return -EIO;
	}
}

/* Whether the attempt of cmd that ended so may be made again. */
static bool may_retry(struct source *s, const struct source_cmd *cmd, const struct pool_job *job,
		      int rc, int *lost, long *backoff, const struct timespec *until)
{
	if (rc == IMAP_OK || rc == IMAP_ETIMEOUT || (cmd->flags & SOURCE_IDLE))
		return false;
	if (!job->connected && rc == IMAP_ENET) {
		/* Nothing was sent: safe for any command. */
		bool go_on = pause_before_retry(s, *backoff, until);

		*backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff * 2;
		return go_on;
	}
	if (!job->lost || (cmd->flags & SOURCE_WRITE) || ++*lost > LOST_RETRIES)
		return false;
	return clock_ms_since(until) < 0;
}

/* Whether the server was found unresponsive lately (and we are not stopping). */
static bool unresponsive(struct source *s)
{
	bool quiet;

	pthread_mutex_lock(&s->lock);
	quiet = s->stopping || clock_ms_since(&s->quiet_until) < 0;
	pthread_mutex_unlock(&s->lock);
	return quiet;
}

static void note_timeout(struct source *s)
{
	pthread_mutex_lock(&s->lock);
	clock_deadline(&s->quiet_until, UNRESPONSIVE_MS);
	pthread_mutex_unlock(&s->lock);
	log_msg(LOG_WARNING, "no answer from the server in time: failing requests for %d s",
		UNRESPONSIVE_MS / 1000);
}

int source_run(struct source *s, struct source_cmd *cmd)
{
	struct guard g = { .cmd = cmd };
	struct timespec until;
	struct pool_job job = {
		.mailbox = cmd->mailbox, .until = &until, .fn = guarded, .ud = &g,
		.flags = (cmd->flags & SOURCE_FRESH ? POOL_FRESH : 0) |
			 (cmd->flags & SOURCE_IDLE ? POOL_IDLE : 0) |
			 (cmd->flags & SOURCE_SELECT ? POOL_WRITE : 0),
	};
	long backoff = BACKOFF_FIRST_MS;
	int rc, lost = 0;

	cmd->unknown = false;
	cmd->code[0] = 0;
	if (s->read_only && (cmd->flags & CHANGE))
		return -EROFS;
	if (unresponsive(s))
		return -EIO;
	request_deadline(&until);
	do {
		g.stale = false;
		rc = pool_run(s->pool, &job);
		if (g.stale)
			return -ESTALE;
	} while (may_retry(s, cmd, &job, rc, &lost, &backoff, &until));
	cmd->unknown = job.lost && (cmd->flags & SOURCE_WRITE);
	/* The mailbox's EXAMINE/SELECT was refused, so guarded never ran. */
	if (job.code[0]) {
		snprintf(cmd->code, sizeof(cmd->code), "%s", job.code);
		if (cmd->flags & CHANGE)
			log_msg(LOG_WARNING, "the server refused to select %s: [%s]", cmd->mailbox,
				job.code);
	}
	/* Connections all busy with other work say nothing of the server. */
	if (rc == IMAP_ETIMEOUT && !job.all_busy && !(cmd->flags & SOURCE_STREAM))
		note_timeout(s);
	return errno_of(cmd, rc);
}

int source_write(struct source *s, struct source_cmd *cmd, struct source_cmd *check)
{
	int rc;

	cmd->flags |= SOURCE_WRITE;
	check->flags &= ~(unsigned)SOURCE_WRITE;
	/* The deadline bounds the rounds too, but a caller outside a request
	 * gets a fresh one per command: a server that drops every answer must
	 * not be sent the change without end. */
	for (int round = 0;; round++) {
		rc = source_run(s, cmd);
		if (!cmd->unknown)
			return rc;
		log_msg(LOG_WARNING, "the connection broke before the server answered a change: "
				     "looking whether it was made");
		/* The check's fn returns 1 for "made": source_run passes it on. */
		rc = source_run(s, check);
		if (rc == 1)
			return 0;
		if (rc != 0) {
			log_msg(LOG_ERR, "cannot tell whether a change was made: not sent again");
			return rc < 0 ? rc : -EIO;
		}
		if (round == LOST_RETRIES) {
			log_msg(LOG_ERR, "a change lost its answer %d times: not sent again",
				LOST_RETRIES + 1);
			return -EIO;
		}
	}
}
