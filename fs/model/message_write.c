/*
 * message_write — deleting and moving messages (model_int.h, SPEC.md
 * "Changing mail").
 *
 *   rmdir MSGDIR (and rm -r's last step)   moved to the \Trash mailbox when
 *       there is one and this is not it; else UID STORE +FLAGS.SILENT
 *       (\Deleted) and UID EXPUNGE of that UID (UIDPLUS). Never a plain
 *       EXPUNGE: it would take other clients' \Deleted messages too; without
 *       UIDPLUS: EPERM, nothing sent.
 *   mv MSGDIR OTHER_MAILBOX/                UID MOVE, else UID COPY + \Deleted
 *       + UID EXPUNGE (without UIDPLUS: EPERM, nothing sent). The name mv
 *       gives (the old UID) is ignored: the message gets the server's UID
 *       there (COPYUID), and a message that has that UID in the target is
 *       not touched: a rename never deletes. Into the same mailbox, onto
 *       something that is not a mailbox, or RENAME_EXCHANGE: EINVAL.
 *
 * Never lost, never twice: each change goes through source_write, whose
 * check looks on the server when an answer was lost. A move: the UID gone
 * from the source means made; still there, a copy at or above the target's
 * UIDNEXT noted before sending (by Message-ID, else size and INTERNALDATE)
 * means only the source's \Deleted + UID EXPUNGE is left; else it is sent
 * again. An expunge: made when the UID is gone. A COPY that landed whose
 * expunge then fails leaves the message in both mailboxes (the source's
 * perhaps \Deleted, which any client's EXPUNGE completes): EIO, never a
 * message lost.
 *
 * Shown at once: the message leaves the source's table (the kernel told),
 * and enters the target's under its new UID with its flags, date and size,
 * header and structure (COPYUID), else the target is listed again. Nothing
 * is fetched for a move; a small message's whole copy in the content cache
 * is stored again under the new UID (a larger one's parts are fetched again
 * when read there).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "inode.h"
#include "keys.h"
#include "log.h"
#include "model_int.h"
#include "summary.h"
#include "source.h"
#include "store.h"
#include "write.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* A move or delete: what it needs of the message, copied from the tables,
 * and how far it got. Owned by one request thread; no lock. */
struct moving {
	uint32_t from, to;        /* mailbox ids; to 0: an expunge */
	char *from_wire, *to_wire;
	uint32_t uid, uidvalidity;
	time_t date;
	uint64_t size;
	char *message_id;         /* NULL: not known here */
	bool has_move, has_uidplus;
	bool sent;                /* the MOVE/COPY went out (before: a loss is "not made") */
	uint32_t to_uidnext;      /* the target's UIDNEXT before sending */
	bool copied;              /* a copy is in the target, the source's still to go */
	struct imap_landed landed;
};

/* Frees what mv holds; safe to call again. */
static void moving_free(struct moving *mv)
{
	free(mv->from_wire);
	free(mv->to_wire);
	free(mv->message_id);
	mv->from_wire = mv->to_wire = mv->message_id = NULL;
}

static const char *message_id_of(const struct msg *msg)
{
	const char *id = NULL;

	if (msg->detail)
		id = msg_detail_message_id(msg->detail);
	else if (msg->env)
		id = env_message_id(msg->env);
	/* A blank one would match every message that has the header. */
	return id && id[strspn(id, " \t")] ? id : NULL;
}

/* The visible mailbox marked \Trash, or 0. Caller holds the lock. */
static uint32_t trash_of(const struct model *m)
{
	for (size_t i = 1; i < m->nmbox; i++) {
		const struct mbox *b = &m->mbox[i];

		/* Another user's Trash, shared with us, is not ours: a delete
		 * must not move our mail into it. */
		if (!b->gone && !b->view_of && b->wire && b->present &&
		    (b->attrs & IMAP_MBOX_TRASH) && !imap_namespaces_other(m->namespaces, b->wire))
			return (uint32_t)i;
	}
	return 0;
}

/* Fills mv with message ino's facts. Caller holds the lock. */
static int moving_init(struct model *m, uint64_t ino, struct moving *mv)
{
	uint32_t id = msg_mbox(m, ino);
	const struct msg *msg;

	memset(mv, 0, sizeof(*mv));
	if (!id || !mbox_visible(m, id) || !m->mbox[id].wire)
		return -ENOENT;
	msg = msg_find(&m->mbox[id], ino_uid(ino));
	if (!msg)
		return -ENOENT;
	mv->from = id;
	mv->uid = msg->uid;
	mv->uidvalidity = m->mbox[id].uidvalidity;
	mv->date = msg->date;
	mv->size = msg->size;
	mv->from_wire = strdup(m->mbox[id].wire);
	if (message_id_of(msg))
		mv->message_id = strdup(message_id_of(msg));
	if (!mv->from_wire || (message_id_of(msg) && !mv->message_id)) {
		moving_free(mv);
		return -ENOMEM;
	}
	return 0;
}

static int set_target(struct model *m, struct moving *mv, uint32_t to)
{
	mv->to = to;
	mv->to_wire = strdup(m->mbox[to].wire);
	return mv->to_wire ? 0 : -ENOMEM;
}

/* ---- what the server offers (no command: the capabilities are known) ---- */

static int run_caps(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct moving *mv = ud;

	(void)st;
	mv->has_move = imap_conn_has_cap(c, "MOVE");
	mv->has_uidplus = imap_conn_has_cap(c, "UIDPLUS");
	return IMAP_OK;
}

static int learn_caps(struct model *m, struct moving *mv)
{
	struct source_cmd cmd = { .fn = run_caps, .ud = mv };

	return source_run(m->source, &cmd);
}

/* ---- UID STORE +FLAGS.SILENT (\Deleted) + UID EXPUNGE uid --------------- */

static int run_expunge(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct moving *mv = ud;
	int rc;

	(void)st;
	rc = imap_store_deleted(c, mv->uid);
	return rc == IMAP_OK ? imap_uid_expunge(c, mv->uid) : rc;
}

/* Made when the UID is gone from the source. */
static int check_gone(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct moving *mv = ud;
	bool present = true;
	int rc;

	(void)st;
	rc = imap_uid_present(c, mv->uid, &present);
	return rc == IMAP_OK ? !present : rc;
}

static int expunge(struct model *m, struct moving *mv)
{
	struct source_cmd cmd = {
		.mailbox = mv->from_wire, .uidvalidity = mv->uidvalidity,
		.flags = SOURCE_SELECT | SOURCE_WRITE, .fn = run_expunge, .ud = mv,
	};
	struct source_cmd check = {
		.mailbox = mv->from_wire, .uidvalidity = mv->uidvalidity,
		.flags = SOURCE_FRESH, .fn = check_gone, .ud = mv,
	};

	return source_write(m->source, &cmd, &check);
}

/* ---- UID MOVE, or UID COPY (then expunge) --------------------------------- */

static int run_transfer(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct moving *mv = ud;
	struct imap_mailbox_status to;
	int rc;

	(void)st;
	mv->sent = false;
	rc = imap_status(c, mv->to_wire, &to);
	if (rc != IMAP_OK)
		return rc;
	mv->to_uidnext = to.uidnext;
	mv->sent = true;
	mv->landed = (struct imap_landed){ 0 };
	if (mv->has_move)
		return imap_uid_move(c, mv->uid, mv->to_wire, &mv->landed);
	rc = imap_uid_copy(c, mv->uid, mv->to_wire, &mv->landed);
	mv->copied = rc == IMAP_OK;
	return rc;
}

struct same_facts {
	const struct moving *mv;
	const struct imap_uids *among;  /* the Message-ID's UIDs; NULL: any */
	uint32_t found;           /* the lowest UID with the message's facts, 0: none */
};

static bool among(const struct imap_uids *u, uint32_t uid)
{
	for (size_t i = 0; u && i < u->n; i++)
		if (u->uids[i] == uid)
			return true;
	return !u;
}

static void on_facts(void *ud, const struct imap_msg_meta *meta)
{
	struct same_facts *f = ud;

	if (meta->uid >= f->mv->to_uidnext && meta->internaldate == f->mv->date &&
	    meta->size == f->mv->size && among(f->among, meta->uid) &&
	    (f->found == 0 || meta->uid < f->found))
		f->found = meta->uid;
}

/* A copy of the message in the target (examined on c) at or above the
 * noted UIDNEXT: its UID, or 0. */
static int find_copy(struct imap_conn *c, const struct moving *mv, uint32_t *uid)
{
	struct same_facts f = { .mv = mv };
	struct imap_uids found = { 0 };
	char set[16];
	int rc;

	*uid = 0;
	/* A HEADER search matches substrings: a UID it finds must have the
	 * message's size and INTERNALDATE too (a copy keeps both). */
	if (mv->message_id) {
		rc = imap_search_message_id(c, mv->to_uidnext, mv->message_id, &found);
		if (rc != IMAP_OK || found.n == 0) {
			free(found.uids);
			return rc;
		}
		f.among = &found;
	}
	snprintf(set, sizeof(set), "%u:*", mv->to_uidnext);
	rc = imap_fetch_meta(c, set, IMAP_META_INTERNALDATE | IMAP_META_SIZE, on_facts, &f);
	*uid = rc == IMAP_OK ? f.found : 0;
	free(found.uids);
	return rc;
}

/*
 * Whether a move whose answer was lost was made: the UID gone from the
 * source says yes; still there, a copy in the target says half (the
 * expunge is left, mv->copied); neither says no.
 */
static int check_transfer(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct moving *mv = ud;
	struct imap_mailbox_status to;
	bool present = true;
	uint32_t copy;
	int rc;

	(void)st;
	if (!mv->sent)
		return 0;
	rc = imap_uid_present(c, mv->uid, &present);
	if (rc != IMAP_OK || !present)
		return rc == IMAP_OK ? 1 : rc;
	rc = imap_examine(c, mv->to_wire, &to);
	if (rc == IMAP_OK)
		rc = find_copy(c, mv, &copy);
	/* The pool keeps the source's status for c: with the target selected
	 * now, c must be examined again before its next job. */
	imap_conn_set_selected(c, NULL);
	if (rc != IMAP_OK)
		return rc;
	if (!copy) {
		mv->sent = false;
		return 0;
	}
	log_msg(LOG_INFO, "the lost move of UID %u landed as UID %u: expunging the source's",
		mv->uid, copy);
	mv->copied = true;
	mv->landed = (struct imap_landed){ .uidvalidity = to.uidvalidity, .uid = copy };
	return 1;
}

static int transfer(struct model *m, struct moving *mv)
{
	struct source_cmd cmd = {
		.mailbox = mv->from_wire, .uidvalidity = mv->uidvalidity,
		.flags = SOURCE_SELECT | SOURCE_WRITE, .fn = run_transfer, .ud = mv,
	};
	struct source_cmd check = {
		.mailbox = mv->from_wire, .uidvalidity = mv->uidvalidity,
		.flags = SOURCE_FRESH, .fn = check_transfer, .ud = mv,
	};
	int rc = source_write(m->source, &cmd, &check);

	if (rc == 0 && mv->copied) {
		if (!mv->has_uidplus) {
			log_msg(LOG_ERR, "UID %u of %s was copied, but cannot be expunged "
				"without UIDPLUS: it is in both mailboxes", mv->uid, mv->from_wire);
			return -EIO;
		}
		rc = expunge(m, mv);
	}
	return rc;
}

/* ---- the content cache ------------------------------------------------------ */

/* Copies what fd holds into w; 0 or -errno. */
static int copy_into(int fd, struct store_writer *w)
{
	char buf[65536];
	off_t off = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		int rc = store_write(w, buf, (size_t)n);

		if (rc)
			return rc;
		off += n;
	}
	return n < 0 ? -errno : 0;
}

/* A small message's whole copy in the content cache (SMALL_MAX: all its
 * files are served from it) is stored again under its new UID, so reading
 * it there fetches nothing. Best effort: without it, it is fetched when
 * read. No lock is held. */
static void carry_content(struct model *m, const struct moving *mv)
{
	char *from, *to;
	struct store_writer *w = NULL;
	uint64_t size;
	int fd = -1;

	if (!mv->to || !mv->landed.uid || mv->size > SMALL_MAX)
		return;
	from = cache_key_message(mv->from_wire, mv->uidvalidity, mv->uid);
	to = cache_key_message(mv->to_wire, mv->landed.uidvalidity, mv->landed.uid);
	if (from && to && !store_has(m->store, to) &&
	    store_open(m->store, from, &fd, &size) == 0) {
		w = store_begin(m->store, to);
		if (w && copy_into(fd, w) == 0)
			store_commit(w, &size);
		else
			store_abort(w);
		close(fd);
	}
	free(from);
	free(to);
}

/* ---- the tables ---------------------------------------------------------- */

/* Shows what the server did: the message out of the source's table, into
 * the target's under its new UID (or the target listed again). */
static void show_done(struct model *m, struct moving *mv)
{
	struct msg msg;

	pthread_mutex_lock(&m->lock);
	wait_listing(m, mv->from); /* a listing under way would bring it back */
	if (mv->to)
		wait_listing(m, mv->to);
	if (msg_take(m, mv->from, mv->uid, mv->to ? &msg : NULL) && mv->to) {
		msg.uid = mv->landed.uid;
		if (!msg_put(m, mv->to, mv->landed.uidvalidity, &msg))
			msg_clear(&msg);
	} else if (mv->to) {
		msg_put(m, mv->to, 0, &(struct msg){ 0 }); /* listed again */
	}
	if (mv->to) /* the kernel knows of a rename's target, not of Trash */
		inval_dir(m->inval, ino_make(INO_MBOX, mv->to, 0, 0));
	pthread_mutex_unlock(&m->lock);
}

static int do_move(struct model *m, struct moving *mv)
{
	/* Out of the source (RFC 4314: t and e), into the target (i). */
	int rc = rights_need(m, mv->from, "te");

	if (rc == 0)
		rc = rights_need(m, mv->to, "i");
	if (rc == 0)
		rc = learn_caps(m, mv);

	if (rc)
		return rc;
	if (!mv->has_move && !mv->has_uidplus)
		return -EPERM; /* COPY could not be followed by a safe expunge */
	rc = transfer(m, mv);
	if (rc == 0) {
		show_done(m, mv);
		carry_content(m, mv);
	}
	rights_refused(m, mv->from, rc); /* either may have refused */
	rights_refused(m, mv->to, rc);
	return rc;
}

static int do_expunge(struct model *m, struct moving *mv)
{
	int rc = rights_need(m, mv->from, "te");

	if (rc == 0)
		rc = learn_caps(m, mv);

	if (rc)
		return rc;
	if (!mv->has_uidplus)
		return -EPERM; /* a plain EXPUNGE would take others' \Deleted too */
	rc = expunge(m, mv);
	if (rc == 0)
		show_done(m, mv);
	rights_refused(m, mv->from, rc);
	return rc;
}

int message_delete(struct model *m, uint64_t ino)
{
	struct moving mv;
	uint32_t trash;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = moving_init(m, ino, &mv);
	trash = rc == 0 ? trash_of(m) : 0;
	if (trash && trash != mv.from)
		rc = set_target(m, &mv, trash);
	pthread_mutex_unlock(&m->lock);
	if (rc == 0)
		rc = mv.to ? do_move(m, &mv) : do_expunge(m, &mv);
	if (rc == -ESTALE)
		mbox_stale(m, mv.from);
	moving_free(&mv);
	return rc == -ESTALE ? -ENOENT : rc;
}

int message_expunge(struct model *m, uint32_t id, const struct imap_landed *which)
{
	struct moving mv;
	int rc = 0;

	memset(&mv, 0, sizeof(mv));
	pthread_mutex_lock(&m->lock);
	if (id == 0 || id >= m->nmbox || !mbox_visible(m, id) || !m->mbox[id].wire)
		rc = -ENOENT;
	if (rc == 0) {
		mv.from = id;
		mv.uid = which->uid;
		mv.uidvalidity = which->uidvalidity; /* the UID of that generation only */
		mv.from_wire = strdup(m->mbox[id].wire);
		rc = mv.from_wire ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc == 0)
		rc = do_expunge(m, &mv);
	if (rc == -ESTALE)
		mbox_stale(m, id);
	moving_free(&mv);
	return rc;
}

/* The mailbox id that directory newparent names, or an errno: only a
 * mailbox that holds messages takes one. Caller holds the lock. */
static int target_of(struct model *m, uint64_t newparent, uint32_t *id)
{
	*id = 0;
	if (ino_type(newparent) != INO_MBOX)
		return -EINVAL; /* the root, a message or part directory */
	*id = ino_mbox(newparent);
	if (*id == 0 || *id >= m->nmbox || !mbox_visible(m, *id))
		return -ENOENT;
	return m->mbox[*id].wire ? 0 : -EINVAL; /* a \Noselect level */
}

int message_move(struct model *m, uint64_t ino, uint64_t newparent, const char *newname,
		 unsigned flags)
{
	struct moving mv;
	uint32_t to;
	int rc;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	rc = moving_init(m, ino, &mv);
	if (rc == 0) {
		rc = target_of(m, newparent, &to);
		if (rc == 0 && to == mv.from)
			rc = -EINVAL; /* a message's name is its UID: the server's */
		if (rc == 0)
			rc = set_target(m, &mv, to);
		if (rc)
			moving_free(&mv);
	}
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	rc = do_move(m, &mv);
	if (rc == -ESTALE) {
		mbox_stale(m, mv.from);
		rc = -ENOENT; /* that UID names another message now */
	}
	moving_free(&mv);
	if (rc == 0) {
		/* The kernel moved the old inode to newname: that name must be
		 * looked up again (it is the target's UID newname, or nothing). */
		pthread_mutex_lock(&m->lock);
		inval_entry(m->inval, newparent, newname);
		pthread_mutex_unlock(&m->lock);
	}
	return rc;
}
