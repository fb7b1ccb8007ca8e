/*
 * rights — what the user may do in each mailbox (MYRIGHTS, RFC 4314): the
 * mode of its directory, user.imap.rights, and the checks that refuse a
 * change with EACCES before anything is sent (README "Shared folders and
 * rights").
 *
 * Never one command per mailbox to show the root: the rights are asked
 * with a mailbox's listing (ensure_loaded, same connection, when not known
 * or older than RIGHTS_FRESH_MS), and when a change or the xattr needs
 * them; again at once after the server refused a change (NOPERM). Before
 * they are known a directory shows the mode it always did. A server
 * without ACL is sent nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "buf.h"
#include "log.h"
#include "model_int.h"
#include "source.h"

/* Rights older than this are asked again before a change relies on them. */
#define RIGHTS_FRESH_MS 60000

static bool known(const struct mbox *b)
{
	return b->rights_at.tv_sec || b->rights_at.tv_nsec;
}

/* Whether rights grant right; RFC 2086's c and d stand for the rights
 * RFC 4314 split them into (2.1.1). */
static bool has(const char *rights, char right)
{
	if (strchr(rights, right))
		return true;
	if (strchr("kx", right) && strchr(rights, 'c'))
		return true;
	return strchr("xte", right) && strchr(rights, 'd');
}

bool rights_wanted(const struct model *m, uint32_t id)
{
	const struct mbox *b = &m->mbox[id];

	return id && m->acl >= 0 && b->wire && !b->gone &&
	       (!known(b) || clock_ms_since(&b->rights_at) >= RIGHTS_FRESH_MS);
}

int rights_ask(struct imap_conn *c, const char *wire, struct rights_answer *a)
{
	int rc;

	a->got = false;
	a->acl = imap_conn_has_cap(c, "ACL") ? 1 : -1;
	if (a->acl < 0)
		return IMAP_OK;
	rc = imap_myrights(c, wire, a->rights);
	a->got = rc == IMAP_OK;
	/* A refusal (a mailbox without l) leaves them unknown: the server decides. */
	return rc == IMAP_ENO || rc == IMAP_EBAD ? IMAP_OK : rc;
}

void rights_keep(struct model *m, uint32_t id, const struct rights_answer *a)
{
	struct mbox *b = &m->mbox[id];

	if (a->acl)
		m->acl = a->acl;
	if (!a->got || !id || id >= m->nmbox || b->gone || !b->wire)
		return;
	memcpy(b->rights, a->rights, sizeof(b->rights));
	clock_gettime(CLOCK_MONOTONIC, &b->rights_at);
}

void rights_forget(struct mbox *b)
{
	b->rights_at = (struct timespec){ 0 };
	b->rights[0] = 0;
}

struct asking {
	const char *wire;
	struct rights_answer a;
};

static int run_ask(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct asking *q = ud;

	(void)st;
	return rights_ask(c, q->wire, &q->a);
}

/* Asks mailbox id's rights when wanted (rights_wanted). */
static int learn(struct model *m, uint32_t id)
{
	struct asking q = { 0 };
	struct source_cmd cmd = { .fn = run_ask, .ud = &q };
	char *wire = NULL;
	int rc;

	pthread_mutex_lock(&m->lock);
	if (id < m->nmbox && rights_wanted(m, id))
		wire = strdup(m->mbox[id].wire);
	pthread_mutex_unlock(&m->lock);
	if (!wire)
		return 0;
	q.wire = wire;
	rc = source_run(m->source, &cmd);
	pthread_mutex_lock(&m->lock);
	if (rc == 0 && m->mbox[id].wire && strcmp(m->mbox[id].wire, wire) == 0)
		rights_keep(m, id, &q.a);
	pthread_mutex_unlock(&m->lock);
	free(wire);
	return rc;
}

int rights_need(struct model *m, uint32_t id, const char *need)
{
	bool refused = false;

	if (!need[0] || !id)
		return 0;
	/* Not learned (the server down): the server decides. */
	learn(m, id);
	pthread_mutex_lock(&m->lock);
	if (id < m->nmbox && !m->mbox[id].gone && known(&m->mbox[id]))
		for (const char *p = need; *p; p++)
			refused = refused || !has(m->mbox[id].rights, *p);
	if (refused)
		log_msg(LOG_INFO, "%s: refused without asking the server: rights '%s' lack '%s'",
			m->mbox[id].path, m->mbox[id].rights, need);
	pthread_mutex_unlock(&m->lock);
	return refused ? -EACCES : 0;
}

void rights_refused(struct model *m, uint32_t id, int rc)
{
	if (rc != -EACCES || !id)
		return;
	pthread_mutex_lock(&m->lock);
	if (id < m->nmbox && !m->mbox[id].gone)
		rights_forget(&m->mbox[id]);
	pthread_mutex_unlock(&m->lock);
	learn(m, id); /* what they are now, for the mode */
}

mode_t rights_mode(const struct model *m, uint32_t id)
{
	const struct mbox *b = &m->mbox[id];
	const char *r = b->rights;
	mode_t mode = 0;

	if (!id || !known(b))
		return m->read_only ? 0555 : 0755;
	if (has(r, 'r'))
		mode |= 0444;
	if (has(r, 'l') || has(r, 'r'))
		mode |= 0111;
	/* w: entries may be added or removed (a message appended or deleted, a
	 * child mailbox made); not for flags, which change no entry. */
	if (!m->read_only && (has(r, 'i') || (has(r, 't') && has(r, 'e')) || has(r, 'k')))
		mode |= 0200;
	return mode;
}

/* Whether mailbox id has user.imap.rights (its rights learned if wanted). */
static bool shown(struct model *m, uint32_t id)
{
	bool yes;

	learn(m, id);
	pthread_mutex_lock(&m->lock);
	yes = m->acl > 0 && id < m->nmbox && !m->mbox[id].gone && known(&m->mbox[id]);
	pthread_mutex_unlock(&m->lock);
	return yes;
}

int rights_xattr(struct model *m, uint32_t id, char **value)
{
	int rc = -ENODATA;

	*value = NULL;
	learn(m, id);
	pthread_mutex_lock(&m->lock);
	if (m->acl > 0 && id < m->nmbox && !m->mbox[id].gone && known(&m->mbox[id])) {
		*value = strdup(m->mbox[id].rights);
		rc = *value ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void rights_xattr_name(struct model *m, uint32_t id, struct buf *b)
{
	static const char name[] = "user.imap.rights";

	if (shown(m, id))
		buf_add(b, name, sizeof(name));
}
