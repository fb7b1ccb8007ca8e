/*
 * header — header files: cut from a small message's copy, or fetched
 * (BODY.PEEK[HEADER], BODY.PEEK[2.HEADER]), then made readable
 * (mime/header_text.h) here, on every path, so that stat and read agree;
 * a message's readable header is kept in memory up to HEADER_BUDGET, so
 * that they agree without a second fetch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content.h"
#include "header_text.h"
#include "inode.h"


/* An attached message's header block ("2.HEADER"), fetched whole. */
static int part_header_get(struct model *m, uint64_t ino, char **out, size_t *len)
{
	struct fetch_req req = { 0 };
	const struct mime_part *p;
	struct msg_detail *d;
	char *section = NULL;
	int rc = detail_get(m, ino, &d);

	if (rc)
		return rc;
	p = detail_part(d, ino_sub(ino));
	if (!p || !p->is_message)
		rc = -ENOENT;
	else if (msg_is_small(m, ino))
		rc = part_header_local(m, ino, d, out, len);
	else if (asprintf(&section, "%s.HEADER", p->section) < 0)
		rc = -ENOMEM;
	msg_detail_unref(d);
	if (rc || !section)
		return rc;
	req.section = section;
	rc = fetch_section(m, ino, &req);
	free(section);
	if (rc)
		return rc;
	*out = req.data ? req.data : calloc(1, 1);
	*len = req.n;
	return *out ? 0 : -ENOMEM;
}

/* The raw header block (*out, *len) replaced by its readable form. */
static int make_readable(char **out, size_t *len)
{
	char *cs = mime_header_charset(*out, *len), *text = NULL;
	size_t n = 0;
	int rc = mime_header_readable(*out, *len, cs, &text, &n);

	free(cs);
	free(*out);
	*out = text;
	*len = rc == 0 ? n : 0;
	return rc == 0 ? 0 : -ENOMEM;
}

/* Copies the message's cached header out. Caller holds the lock. */
static int header_cached(struct model *m, uint64_t ino, char **out, size_t *len)
{
	uint32_t id = msg_mbox(m, ino);
	struct msg *msg = id ? msg_find(&m->mbox[id], ino_uid(ino)) : NULL;

	if (!msg || !msg->header)
		return 1;
	*out = malloc(msg->header_len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, msg->header, msg->header_len);
	*len = msg->header_len;
	return 0;
}

int header_get(struct model *m, uint64_t ino, char **out, size_t *len)
{
	struct fetch_req req = { .section = "HEADER" };
	struct msg *msg;
	uint32_t id;
	int rc;

	/* Defined on every path: callers free *out whatever the result. */
	*out = NULL;
	*len = 0;
	if (ino_type(ino) == INO_PHEADER || msg_is_small(m, ino)) {
		rc = ino_type(ino) == INO_PHEADER ? part_header_get(m, ino, out, len)
						  : header_local(m, ino, out, len);
		return rc ? rc : make_readable(out, len);
	}
	pthread_mutex_lock(&m->lock);
	rc = header_cached(m, ino, out, len);
	pthread_mutex_unlock(&m->lock);
	if (rc <= 0)
		return rc;
	rc = fetch_section(m, ino, &req);
	if (rc == 0 && !req.data)
		req.data = calloc(1, 1); /* an empty header is still a file */
	if (rc == 0)
		rc = req.data ? make_readable(&req.data, &req.n) : -ENOMEM;
	if (rc) {
		free(req.data);
		return rc;
	}
	pthread_mutex_lock(&m->lock);
	/* Look again: the message may have gone while we fetched. */
	id = msg_mbox(m, ino);
	msg = id ? msg_find(&m->mbox[id], ino_uid(ino)) : NULL;
	if (msg && !msg->header && m->header_bytes + req.n <= HEADER_BUDGET) {
		msg->header = malloc(req.n + 1);
		if (msg->header) {
			memcpy(msg->header, req.data, req.n);
			msg->header_len = req.n;
			m->header_bytes += req.n;
		}
	}
	pthread_mutex_unlock(&m->lock);
	*out = req.data;
	*len = req.n;
	return 0;
}
