/*
 * fetch — one section, or one range of it, of a message, from the server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "content.h"
#include "inode.h"
#include "log.h"
#include "source.h"


static int run_fetch(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct fetch_req *req = ud;

	(void)st;
	free(req->data);
	req->data = NULL;
	if (req->binary)
		return imap_fetch_binary(c, req->uid, req->section, req->off, req->len, &req->data,
					 &req->n);
	return imap_fetch_part(c, req->uid, req->section, req->off, req->len, &req->data, &req->n);
}

/* A copy of the server name and the UIDVALIDITY of ino's mailbox, for a
 * request that talks to the server without the lock; NULL when it is gone. */
char *mbox_wire(struct model *m, uint64_t ino, uint32_t *uidvalidity)
{
	char *wire = NULL;
	uint32_t id;

	pthread_mutex_lock(&m->lock);
	id = msg_mbox(m, ino);
	if (id && m->mbox[id].wire) {
		wire = strdup(m->mbox[id].wire);
		*uidvalidity = m->mbox[id].uidvalidity;
	}
	pthread_mutex_unlock(&m->lock);
	return wire;
}

/* Fetches a section of message ino's mailbox/UID into req (no lock held). */
int fetch_section(struct model *m, uint64_t ino, struct fetch_req *req)
{
	struct source_cmd cmd = { .fn = run_fetch, .ud = req };
	int rc;

	cmd.mailbox = mbox_wire(m, ino, &cmd.uidvalidity);
	if (!cmd.mailbox)
		return -ENOENT;
	req->uid = ino_uid(ino);
	rc = source_run(m->source, &cmd);
	free((char *)cmd.mailbox);
	if (rc == -ESTALE) {
		mbox_stale(m, ino_mbox(ino));
		rc = -ENOENT;
	}
	if (rc == 0)
		return 0;
	free(req->data);
	req->data = NULL;
	if (rc == -EIO)
		log_msg(LOG_ERR, "cannot fetch UID %u", ino_uid(ino));
	return rc;
}
