/*
 * mailbox_write — CREATE, DELETE and RENAME of mailboxes (model_int.h).
 *
 * A name typed in the mount is a shown level (SPEC.md "Layout"): its %XX
 * escapes are undone, it is encoded to modified UTF-7 and joined to its
 * parent's server name with the parent's hierarchy delimiter. A name that
 * would not show as itself once created (a decimal number, a leading '.',
 * needless escapes, the server's delimiter inside the level) is EINVAL:
 * the user would never find it again under the name typed.
 *
 * Each change goes through source_write: when its answer is lost, LIST
 * tells whether it was made before it is sent again. The tree shows the
 * change at once (tree_add, tree_remove, tree_move), not at the next LIST.
 * INBOX cannot be deleted (EPERM) or renamed (EBUSY): IMAP's RENAME INBOX
 * moves all its mail to a new mailbox and leaves INBOX empty.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inode.h"
#include "log.h"
#include "mbox_names.h"
#include "parser.h"
#include "quote.h"
#include "model_int.h"
#include "utf7.h"
#include "write.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* Where a new name goes: its shown path, server name and delimiter. */
struct target {
	char *path;
	char *wire;
	char delim;
};

static void target_free(struct target *t)
{
	free(t->path);
	free(t->wire);
	t->path = t->wire = NULL;
}

/* The server name of a shown level typed as shown: -EINVAL when it would
 * not show as itself (see above). */
static int level_wire(const char *shown, char delim, char **wire)
{
	char *level = names_unescape(shown), *again = NULL;
	int rc = 0;

	*wire = NULL;
	if (!level)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	again = names_escape(level);
	if (!again)
		rc = errno == ENOMEM ? -ENOMEM : -EINVAL;
	else if (strcmp(again, shown) != 0 || (delim && strchr(level, delim)))
		rc = -EINVAL;
	else if (!(*wire = imap_utf7_encode(level)))
		rc = errno == ENOMEM ? -ENOMEM : -EINVAL;
	free(level);
	free(again);
	return rc;
}

static bool is_inbox(const struct model *m, uint32_t id)
{
	const struct mbox *b = &m->mbox[id];

	return b->parent == 0 && b->wire && strcasecmp(b->wire, "INBOX") == 0;
}

/* The delimiter the server uses where a level knows none (the root, a level
 * without a mailbox): INBOX's, else any mailbox's; 0 for a flat server. */
static char server_delim(const struct model *m)
{
	char any = 0;

	for (size_t i = 1; i < m->nmbox; i++) {
		const struct mbox *b = &m->mbox[i];

		if (b->gone || b->view_of || !b->present || !b->delim)
			continue;
		if (is_inbox(m, (uint32_t)i))
			return b->delim;
		any = any ? any : b->delim;
	}
	return any;
}

/* The server name of level id: its own (LIST's), or for a level without a
 * mailbox the one its name makes below its parent's. NULL for the root. */
static char *wire_of(const struct model *m, uint32_t id, char delim, int *rc)
{
	const struct mbox *b = &m->mbox[id];
	char *up, *level, *out;

	if (id == 0)
		return NULL;
	if (b->wire) {
		out = strdup(b->wire);
		*rc = out ? 0 : -ENOMEM;
		return out;
	}
	up = wire_of(m, b->parent, delim, rc);
	if (*rc)
		return NULL;
	*rc = level_wire(b->leaf, 0, &level);
	out = *rc ? NULL : malloc((up ? strlen(up) + 1 : 0) + strlen(level) + 1);
	if (out)
		sprintf(out, "%s%s%s", up ? up : "", up ? (char[]){ delim, 0 } : "", level);
	else if (!*rc)
		*rc = -ENOMEM;
	free(up);
	free(level);
	return out;
}

/* The directory a name is made in: the root or a shown mailbox level. */
static int parent_id(const struct model *m, uint64_t ino, uint32_t *id)
{
	*id = ino_type(ino) == INO_MBOX ? ino_mbox(ino) : 0;
	if (ino_type(ino) == INO_ROOT)
		return ino == 1 ? 0 : -ENOENT;
	if (ino_type(ino) != INO_MBOX)
		return -EPERM; /* a message's parts are the server's */
	return *id && *id < m->nmbox && mbox_visible(m, *id) ? 0 : -ENOENT;
}

/* Where name below directory parent goes. -EEXIST when it shows already.
 * Caller holds the lock. */
static int target_of(const struct model *m, uint32_t parent, const char *name, struct target *t)
{
	const struct mbox *up = &m->mbox[parent];
	char *level, *top = NULL;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (mbox_child(m, parent, name))
		return -EEXIST;
	t->delim = parent && up->delim ? up->delim : server_delim(m);
	if (parent && !t->delim)
		return -EPERM; /* a flat server: no mailbox holds others */
	rc = level_wire(name, t->delim, &level);
	if (rc)
		return rc;
	top = wire_of(m, parent, t->delim, &rc);
	if (!rc) {
		t->wire = malloc((top ? strlen(top) + 1 : 0) + strlen(level) + 1);
		t->path = malloc((parent ? strlen(up->path) + 1 : 0) + strlen(name) + 1);
	}
	if (t->wire && t->path) {
		sprintf(t->wire, "%s%s%s", top ? top : "", top ? (char[]){ t->delim, 0 } : "", level);
		sprintf(t->path, "%s%s%s", parent ? up->path : "", parent ? "/" : "", name);
	} else if (!rc) {
		rc = -ENOMEM;
	}
	if (rc)
		target_free(t);
	free(level);
	free(top);
	return rc;
}

/* ---- the commands ---------------------------------------------------------- */

struct change {
	const char *wire;         /* the mailbox created or deleted; RENAME's source */
	const char *to;           /* RENAME's target */
	char **below;             /* RENAME: the server names of the mailboxes below
				   * wire (NULL-terminated), renamed with it */
	char delim;               /* DELETE: the hierarchy delimiter, 0: none */
	bool selectable;          /* DELETE, RENAME: a mailbox, not a \Noselect level */
	bool not_empty;           /* out: DELETE found messages, and sent nothing */
};

/* A subscription follows its mailbox, so that other clients (which list
 * subscribed mailboxes) see it; its failure costs the change nothing. */
static void subscribe(struct imap_conn *c, const char *wire, bool on)
{
	/* An unsubscribe of a name never subscribed may be refused: no news. */
	if (imap_subscribe(c, wire, on) != IMAP_OK)
		log_msg(on ? LOG_WARNING : LOG_DEBUG, "cannot %ssubscribe '%s': %s",
			on ? "" : "un", wire,
			imap_conn_last_text(c) ? imap_conn_last_text(c) : "no answer");
}

/* RENAME moves the mailboxes below too, but not their subscriptions
 * (Dovecot, RFC 3501): they follow here, as the renamed one's does. */
static void subscriptions_follow(struct imap_conn *c, const struct change *ch)
{
	size_t n = strlen(ch->wire);

	subscribe(c, ch->to, true);
	subscribe(c, ch->wire, false);
	for (char **w = ch->below; w && *w; w++) {
		char *moved = malloc(strlen(ch->to) + strlen(*w + n) + 1);

		if (!moved)
			return;
		sprintf(moved, "%s%s", ch->to, *w + n);
		subscribe(c, moved, true);
		subscribe(c, *w, false);
		free(moved);
	}
}

/* A mailbox about to be deleted or renamed is first left, if selected on
 * c: STATUS of the selected mailbox answers the counts the session last
 * saw ([CLIENTBUG], Dovecot), DELETE of it ends the session (BYE), and a
 * mailbox made later under the name is another one. UNSELECT (RFC 3691)
 * leaves it without expunging (CLOSE would); else INBOX is examined. */
static int leave_selected(struct imap_conn *c, const char *wire)
{
	const char *sel = imap_conn_selected(c);

	return sel && strcmp(sel, wire) == 0 ? imap_unselect(c) : IMAP_OK;
}

/* Whether mailbox wire is on the server now. LIST alone is not enough:
 * Dovecot's LIST in one session may miss for seconds a mailbox another
 * session just created (its list index), while STATUS opens the mailbox
 * itself (NO: not there). A \Noselect level has no STATUS: LIST says. */
static int mailbox_there(struct imap_conn *c, const char *wire, bool selectable, bool *there)
{
	struct imap_mailbox_status now;
	int rc;

	if (!selectable)
		return imap_mailbox_exists(c, wire, there);
	rc = imap_status(c, wire, &now);
	*there = rc == IMAP_OK;
	return rc == IMAP_ENO ? IMAP_OK : rc;
}

static int run_create(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct change *ch = ud;
	int rc = imap_create(c, ch->wire);

	(void)st;
	if (rc == IMAP_OK)
		subscribe(c, ch->wire, true);
	return rc;
}

/* After a lost answer: 1 when the mailbox is there (made), 0 when not. */
static int check_create(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct change *ch = ud;
	bool exists = false;
	int rc = mailbox_there(c, ch->wire, true, &exists);

	(void)st;
	if (rc == IMAP_OK && exists)
		subscribe(c, ch->wire, true);
	return rc == IMAP_OK ? exists : rc;
}

static int run_delete(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct change *ch = ud;
	struct imap_mailbox_status now;
	bool below;
	int rc;

	(void)st;
	/* The listing may be old: the server says whether mail or mailboxes
	 * are there (one made by another client since: Dovecot's DELETE would
	 * keep the name as a \Noselect level). */
	rc = leave_selected(c, ch->wire);
	if (rc == IMAP_OK && ch->selectable)
		rc = imap_status(c, ch->wire, &now);
	if (rc == IMAP_OK)
		rc = imap_has_children(c, ch->wire, ch->delim, &below);
	if (rc != IMAP_OK)
		return rc;
	if ((ch->selectable && now.exists) || below) {
		ch->not_empty = true;
		return IMAP_OK;
	}
	rc = imap_delete(c, ch->wire);
	if (rc == IMAP_OK)
		subscribe(c, ch->wire, false);
	return rc;
}

static int check_delete(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct change *ch = ud;
	bool exists = true;
	int rc = mailbox_there(c, ch->wire, ch->selectable, &exists);

	(void)st;
	if (rc == IMAP_OK && !exists)
		subscribe(c, ch->wire, false);
	return rc == IMAP_OK ? !exists : rc;
}

static int run_rename(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct change *ch = ud;
	int rc;

	(void)st;
	rc = leave_selected(c, ch->wire);
	if (rc == IMAP_OK)
		rc = imap_rename(c, ch->wire, ch->to);
	if (rc == IMAP_OK)
		subscriptions_follow(c, ch);
	return rc;
}

/* Made when the target is there and the source is not. */
static int check_rename(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct change *ch = ud;
	bool to = false, from = true;
	int rc = mailbox_there(c, ch->to, ch->selectable, &to);

	(void)st;
	if (rc == IMAP_OK)
		rc = mailbox_there(c, ch->wire, ch->selectable, &from);
	if (rc != IMAP_OK)
		return rc;
	if (to && !from)
		subscriptions_follow(c, ch);
	return to && !from;
}

/* Runs a change and its check on the same ud (source_write). */
static int change(struct model *m, pool_fn *run, pool_fn *check, struct change *ch)
{
	struct source_cmd cmd = { .fn = run, .ud = ch };
	struct source_cmd look = { .fn = check, .ud = ch };

	return source_write(m->source, &cmd, &look);
}

/* ---- the operations -------------------------------------------------------- */

int mailbox_create(struct model *m, uint64_t parent, const char *name, struct stat *st)
{
	struct target t;
	struct change ch;
	uint32_t up, id = 0;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = parent_id(m, parent, &up);
	if (rc == 0)
		rc = target_of(m, up, name, &t);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	rc = rights_need(m, up, "k"); /* RFC 4314: k on the parent */
	if (rc) {
		target_free(&t);
		return rc;
	}
	ch = (struct change){ .wire = t.wire };
	rc = change(m, run_create, check_create, &ch);
	rights_refused(m, up, rc);
	if (rc == 0) {
		pthread_mutex_lock(&m->lock);
		rc = tree_add(m, t.path, t.wire, t.delim, &id);
		pthread_mutex_unlock(&m->lock);
		if (rc)
			log_msg(LOG_ERR, "mailbox '%s' created, but cannot be shown: %s", t.path,
				strerror(-rc));
	}
	target_free(&t);
	return rc ? rc : model_getattr(m, ino_make(INO_MBOX, id, 0, 0), st);
}

/* Why mailbox id cannot go, or 0 with its server name in *wire. Caller
 * holds the lock. */
static int deletable(const struct model *m, uint32_t id, char **wire)
{
	int rc = 0;

	*wire = NULL;
	if (!id || id >= m->nmbox || !mbox_visible(m, id))
		return -ENOENT;
	if (is_inbox(m, id))
		return -EPERM;
	for (uint32_t c = m->mbox[id].first_child; c; c = m->mbox[c].next_sibling)
		if (mbox_visible(m, c))
			return -ENOTEMPTY;
	*wire = wire_of(m, id, server_delim(m), &rc);
	return rc ? rc : *wire ? 0 : -ENOMEM;
}

int mailbox_delete(struct model *m, uint32_t id)
{
	struct change ch = { 0 };
	char *wire;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = deletable(m, id, &wire);
	ch.selectable = rc == 0 && m->mbox[id].wire; /* not a \Noselect level */
	ch.delim = rc == 0 && m->mbox[id].delim ? m->mbox[id].delim : server_delim(m);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	rc = rights_need(m, id, "x");
	if (rc) {
		free(wire);
		return rc;
	}
	ch.wire = wire;
	rc = change(m, run_delete, check_delete, &ch);
	rights_refused(m, id, rc);
	if (rc == 0 && ch.not_empty)
		rc = -ENOTEMPTY;
	if (rc == 0) {
		pthread_mutex_lock(&m->lock);
		/* Unless a LIST took it away meanwhile. */
		if (!m->mbox[id].gone)
			tree_remove(m, id);
		pthread_mutex_unlock(&m->lock);
	}
	free(wire);
	return rc;
}

/* Whether level a is b or above it. */
static bool is_above(const struct model *m, uint32_t a, uint32_t b)
{
	for (; b; b = m->mbox[b].parent)
		if (a == b)
			return true;
	return false;
}

static void names_free(char **names)
{
	for (char **w = names; w && *w; w++)
		free(*w);
	free(names);
}

/* The server names of the mailboxes below id whose names begin with
 * wire + delim (RENAME renames just those), NULL-terminated. Caller holds
 * the lock. */
static char **names_below(const struct model *m, uint32_t id, const char *wire, char delim)
{
	size_t n = 0, cap = 8, len = strlen(wire);
	char **out = calloc(cap, sizeof(*out));
	uint32_t stack[64], depth = 0;

	if (!out)
		return NULL;
	stack[depth++] = m->mbox[id].first_child;
	while (depth) {
		uint32_t c = stack[--depth];
		const struct mbox *b;

		if (!c)
			continue;
		b = &m->mbox[c];
		stack[depth++] = b->next_sibling;
		if (depth < 64)
			stack[depth++] = b->first_child; /* deeper than 64: left as they are */
		if (b->gone || !b->wire || strncmp(b->wire, wire, len) || b->wire[len] != delim)
			continue;
		if (n + 1 == cap) {
			char **grown = realloc(out, 2 * cap * sizeof(*out));

			if (!grown)
				break;
			out = grown;
			cap *= 2;
		}
		if (!(out[n] = strdup(b->wire)))
			break;
		out[++n] = NULL;
	}
	return out;
}

/* What renaming id to name below newparent takes: its server name, the
 * target. 1: it is there already (a rename onto itself). Caller holds the lock. */
static int renamable(const struct model *m, uint32_t id, uint64_t newparent, const char *name,
		     char **wire, struct target *t)
{
	uint32_t to;
	int rc;

	*wire = NULL;
	memset(t, 0, sizeof(*t));
	if (!id || id >= m->nmbox || !mbox_visible(m, id))
		return -ENOENT;
	rc = parent_id(m, newparent, &to);
	if (rc)
		return rc;
	if (is_inbox(m, id))
		return -EBUSY;
	if (is_above(m, id, to))
		return -EINVAL; /* into itself */
	if (mbox_child(m, to, name) == id)
		return 1;
	rc = target_of(m, to, name, t);
	if (rc == 0 && !(*wire = wire_of(m, id, t->delim, &rc)) && !rc)
		rc = -ENOMEM;
	if (rc) {
		target_free(t);
		free(*wire);
		*wire = NULL;
	}
	return rc;
}

int mailbox_rename(struct model *m, uint32_t id, uint64_t newparent, const char *newname,
		   unsigned flags)
{
	struct change ch;
	struct target t;
	char *wire;
	int rc;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL; /* IMAP has no exchange */
	pthread_mutex_lock(&m->lock);
	rc = renamable(m, id, newparent, newname, &wire, &t);
	ch = (struct change){ .wire = wire, .to = t.wire, .selectable = rc == 0 && m->mbox[id].wire };
	if (rc == 0)
		ch.below = names_below(m, id, wire, m->mbox[id].delim ? m->mbox[id].delim : t.delim);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc == 1 ? 0 : rc;
	rc = rights_need(m, id, "x");
	if (rc == 0 && ino_type(newparent) == INO_MBOX)
		rc = rights_need(m, ino_mbox(newparent), "k");
	if (rc) {
		names_free(ch.below);
		target_free(&t);
		free(wire);
		return rc;
	}
	rc = change(m, run_rename, check_rename, &ch);
	rights_refused(m, id, rc); /* x here, or k on the new parent, was missing */
	if (ino_type(newparent) == INO_MBOX)
		rights_refused(m, ino_mbox(newparent), rc);
	names_free(ch.below);
	if (rc == 0) {
		uint32_t to = ino_type(newparent) == INO_MBOX ? ino_mbox(newparent) : 0;

		pthread_mutex_lock(&m->lock);
		/* Unless a LIST showed it meanwhile (then the next one will). */
		if (mbox_visible(m, id) && (!to || mbox_visible(m, to)) && !mbox_child(m, to, newname))
			rc = tree_move(m, id, to, t.path, t.wire);
		pthread_mutex_unlock(&m->lock);
		if (rc)
			log_msg(LOG_ERR, "mailbox renamed to '%s', but cannot be shown: %s", t.path,
				strerror(-rc));
	}
	target_free(&t);
	free(wire);
	return rc;
}
