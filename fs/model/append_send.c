#include "append_send.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "eml.h"
#include "fileio.h"
#include "log.h"
#include "model_int.h"
#include "request.h"
#include "write.h"

/* Bytes read (and converted) at a time. */
#define CHUNK (64 * 1024)
/* A message without a Message-ID is recognised by its size and header; a
 * header larger than this is not fetched: the size alone decides. */
#define HEADER_CMP_MAX (64 * 1024)
/* Messages of the same size looked at after a lost answer, at most. */
#define CANDIDATES_MAX 64
/* After a lost answer, a search that finds nothing is made once more after
 * this pause: the server may still be saving a command it got whole. */
#define RECHECK_MS 300

struct append_job {
	const char *wire;
	const char *flags;
	int fd;
	uint64_t size;            /* the literal's */
	const char *message_id;   /* "" when none */
	char *header;             /* its header (CRLF) to compare; NULL: the size decides */
	size_t header_len;
	bool sent;                /* an APPEND went out */
	uint32_t uidvalidity;     /* STATUS just before the first APPEND */
	uint32_t uidnext;
	struct imap_landed landed;
};

static int run_append(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct append_job *j = ud;
	struct imap_mailbox_status now;
	int rc;

	(void)st;
	memset(&now, 0, sizeof(now));
	rc = imap_status(c, j->wire, &now);
	if (rc != IMAP_OK)
		return rc;
	/* The first attempt's UIDNEXT stays: an earlier APPEND may land too. */
	if (!j->sent || now.uidvalidity != j->uidvalidity) {
		j->uidvalidity = now.uidvalidity;
		j->uidnext = now.uidnext;
	}
	j->sent = true;
	return imap_append(c, j->wire, j->flags, j->fd, j->size, &j->landed);
}

struct same_size {
	uint64_t size;
	uint32_t uids[CANDIDATES_MAX];
	size_t n;
};

static void on_size(void *ud, const struct imap_msg_meta *meta)
{
	struct same_size *s = ud;

	if ((meta->have & IMAP_META_SIZE) && meta->size == s->size && s->n < CANDIDATES_MAX)
		s->uids[s->n++] = meta->uid;
}

/* Whether candidate uid has our header, byte for byte. */
static int same_header(struct imap_conn *c, const struct append_job *j, uint32_t uid, bool *same)
{
	char *data = NULL;
	size_t len = 0;
	int rc = imap_fetch_part(c, uid, "HEADER", 0, 0, &data, &len);

	*same = rc == IMAP_OK && len == j->header_len && memcmp(data, j->header, len) == 0;
	free(data);
	return rc == IMAP_ENO ? IMAP_OK : rc; /* gone meanwhile: not ours */
}

/* The UID, from first on, of a message like ours; 0 when none. */
static int find_landed(struct imap_conn *c, const struct append_job *j, uint32_t first,
		       uint32_t *uid)
{
	struct imap_uids u = { 0 };
	struct same_size s = { .size = j->size };
	char set[CANDIDATES_MAX * 11 + 1];
	size_t len = 0;
	int rc;

	*uid = 0;
	if (j->message_id[0])
		rc = imap_search_message_id(c, first, j->message_id, &u);
	else
		rc = imap_search_uids_from(c, first, &u);
	for (size_t i = 0; rc == IMAP_OK && i < u.n && i < CANDIDATES_MAX; i++)
		len += (size_t)snprintf(set + len, sizeof(set) - len, "%s%u", i ? "," : "",
					u.uids[i]);
	if (rc == IMAP_OK && len)
		rc = imap_fetch_meta(c, set, IMAP_META_SIZE, on_size, &s);
	free(u.uids);
	for (size_t i = 0; rc == IMAP_OK && i < s.n && !*uid; i++) {
		bool same = true;

		if (j->header)
			rc = same_header(c, j, s.uids[i], &same);
		if (rc == IMAP_OK && same)
			*uid = s.uids[i];
	}
	return rc;
}

/* source_write's check: 1 when the lost APPEND was made, 0 when not. */
static int run_check(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct append_job *j = ud;
	struct imap_mailbox_status again;
	struct timespec pause = { .tv_nsec = RECHECK_MS * 1000000L };
	uint32_t first, uid = 0;
	int rc;

	if (!j->sent)
		return 0; /* lost before the APPEND went out */
	/* Under a new UIDVALIDITY every UID is new: look at them all. */
	first = st && st->uidvalidity == j->uidvalidity ? j->uidnext : 1;
	rc = find_landed(c, j, first, &uid);
	if (rc == IMAP_OK && !uid) {
		nanosleep(&pause, NULL);
		rc = imap_examine(c, j->wire, &again); /* sees what was saved meanwhile */
		if (rc == IMAP_OK)
			rc = find_landed(c, j, first, &uid);
	}
	if (rc != IMAP_OK)
		return rc;
	if (uid) {
		j->landed.uid = uid;
		j->landed.uidvalidity = st ? st->uidvalidity : 0;
		log_msg(LOG_INFO, "the lost APPEND was made: UID %u", uid);
	}
	return uid ? 1 : 0;
}

/* What the mailbox is called on the wire and the flags its kind gives. */
static int mailbox_facts(struct model *m, uint32_t id, char **wire, const char **flags)
{
	unsigned attrs = 0;

	*wire = NULL;
	*flags = "";
	pthread_mutex_lock(&m->lock);
	if (id && id < m->nmbox && !m->mbox[id].gone && m->mbox[id].wire) {
		*wire = strdup(m->mbox[id].wire);
		attrs = m->mbox[id].attrs;
	}
	pthread_mutex_unlock(&m->lock);
	if (attrs & IMAP_MBOX_DRAFTS)
		*flags = "\\Draft";
	else if (attrs & IMAP_MBOX_SENT)
		*flags = "\\Seen";
	return *wire ? 0 : -ENOENT;
}

static int read_at(int fd, char *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* shorter than its size: truncated meanwhile */
		got += (size_t)n;
	}
	return 0;
}

/* Scans the file (eml.h); with convert >= 0, writes its CRLF form there too. */
static int stream(int fd, uint64_t size, struct eml_scan *scan, int convert)
{
	char *in = malloc(CHUNK), *out = convert >= 0 ? malloc(2 * CHUNK) : NULL;
	struct eml_crlf crlf = { 0 };
	int rc = in && (out || convert < 0) ? 0 : -ENOMEM;

	eml_scan_init(scan);
	for (uint64_t off = 0; rc == 0 && off < size; off += CHUNK) {
		size_t len = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		rc = read_at(fd, in, len, off);
		if (rc == 0)
			eml_scan_feed(scan, in, len);
		if (rc == 0 && convert >= 0)
			rc = fd_write_all(convert, out, eml_crlf(&crlf, in, len, out));
	}
	free(in);
	free(out);
	return rc;
}

static bool quotable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* Fills j from the file: its literal (converted when it has bare LFs), its
 * Message-ID and, without one, its header. */
static int prepare(struct model *m, struct append_job *j, int fd, uint64_t size,
		   struct eml_scan *scan, int *converted)
{
	int rc = stream(fd, size, scan, -1);

	*converted = -1;
	if (rc)
		return rc;
	if (!eml_scan_end(scan))
		return -EINVAL;
	if (scan->bare_lf) {
		*converted = staging_fd(m);
		if (*converted < 0)
			return *converted;
		rc = stream(fd, size, scan, *converted);
		if (rc == 0 && !eml_scan_end(scan))
			rc = -EIO; /* changed while read */
		if (rc)
			return rc;
	}
	j->fd = *converted >= 0 ? *converted : fd;
	j->size = scan->size_crlf;
	/* One that cannot go as a quoted string (8-bit, controls) is looked
	 * for as a message without one: by its size and header. */
	j->message_id = quotable(scan->message_id) ? scan->message_id : "";
	if (j->message_id[0] || scan->header_crlf >= scan->size_crlf ||
	    scan->header_crlf > HEADER_CMP_MAX)
		return 0;
	j->header = malloc(scan->header_crlf);
	if (!j->header)
		return -ENOMEM;
	j->header_len = scan->header_crlf;
	return read_at(j->fd, j->header, j->header_len, 0);
}

/* What close() may say: the refusals a user can act on, else EIO. */
static int user_errno(int rc)
{
	switch (rc) {
	case 0:
	case -EINVAL:
	case -EDQUOT:
	case -EFBIG:
	case -EACCES:
	case -ENOSPC:
	case -ENOENT:
	case -EROFS:
	case -ENOMEM:
		return rc;
	default:
		return -EIO;
	}
}

int append_send(struct model *m, uint32_t id, int fd, uint64_t size, struct imap_landed *to)
{
	struct append_job j = { .fd = -1 };
	struct source_cmd cmd = { .fn = run_append, .ud = &j }, check;
	struct eml_scan *scan = malloc(sizeof(*scan));
	char *wire = NULL;
	int converted = -1, rc;

	*to = (struct imap_landed){ 0 };
	if (!scan)
		return -ENOMEM;
	/* A request's time, and a second per MB for a slow link. */
	request_begin(REQUEST_MS + (long)(size / 1000));
	rc = mailbox_facts(m, id, &wire, &j.flags);
	if (rc == 0)
		rc = rights_need(m, id, "i");
	if (rc == 0)
		rc = prepare(m, &j, fd, size, scan, &converted);
	if (rc == 0) {
		j.wire = wire;
		if (j.size > SMALL_MAX)
			cmd.flags |= SOURCE_STREAM; /* its time says nothing of the server's health */
		check = (struct source_cmd){ .mailbox = wire, .flags = SOURCE_FRESH,
					     .fn = run_check, .ud = &j };
		rc = source_write(m->source, &cmd, &check);
		if (rc == 0)
			*to = j.landed;
		/* Dovecot's answer to a message over its size limit. */
		if (rc && strcmp(cmd.code, "LIMIT") == 0)
			rc = -EFBIG;
		rights_refused(m, id, rc);
	}
	if (converted >= 0)
		close(converted);
	free(j.header);
	free(wire);
	free(scan);
	return user_errno(rc);
}
