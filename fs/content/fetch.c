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


static int run_fetch(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct fetch_req *req = ud;

	if (st->uidvalidity != req->uidvalidity) {
		req->stale = true;
		return IMAP_ENO;
	}
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
	uint32_t id = ino_mbox(ino);
	char *wire = NULL;

	pthread_mutex_lock(&m->lock);
	if (id < m->nmbox && m->mbox[id].wire) {
		wire = strdup(m->mbox[id].wire);
		*uidvalidity = m->mbox[id].uidvalidity;
	}
	pthread_mutex_unlock(&m->lock);
	return wire;
}

/* Fetches a section of message ino's mailbox/UID into req (no lock held). */
int fetch_section(struct model *m, uint64_t ino, struct fetch_req *req)
{
	uint32_t id = ino_mbox(ino);
	char *wire = mbox_wire(m, ino, &req->uidvalidity);
	int rc;

	if (!wire)
		return -ENOENT;
	req->uid = ino_uid(ino);
	rc = pool_run(m->pool, wire, run_fetch, req);
	if (req->stale) {
		log_msg(LOG_WARNING, "UIDVALIDITY of %s changed: listing it again", wire);
		pthread_mutex_lock(&m->lock);
		m->mbox[id].loaded = false;
		pthread_mutex_unlock(&m->lock);
	}
	free(wire);
	if (rc == IMAP_OK)
		return 0;
	free(req->data);
	req->data = NULL;
	if (rc == IMAP_ENO)
		return -ENOENT;
	log_msg(LOG_ERR, "cannot fetch UID %u: %s", ino_uid(ino), imap_strerror(rc));
	return -EIO;
}
