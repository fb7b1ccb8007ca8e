/*
 * server_info — what the mount shows of the server itself (README "The
 * server: quota, capabilities, special use"): the account's quota as the
 * file system's size and free space (statfs, df), its capabilities
 * (user.imap.capability on the root) and each mailbox's special use
 * (user.imap.specialuse on its directory).
 */
#include "server_info.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "model_int.h"

/* What statfs shows is asked again at most this often: file managers call
 * statfs every few seconds per window, and a GETQUOTAROOT each time would
 * be a round trip each. README promises df shows a change within it. */
#define STATFS_FRESH_MS 5000
/* The most blocks shown: their bytes still fit in 64 bits, for whoever
 * multiplies (a quota of 2^62 KiB is no real server's). */
#define STATFS_BLOCKS_MAX (UINT64_MAX / STATFS_BLOCK)

#define XA_CAPABILITY "user.imap.capability"
#define XA_SPECIALUSE "user.imap.specialuse"

struct server_info {
	pthread_mutex_t lock;
	struct imap_quota quota;       /* protected by lock: the last figures had */
	bool no_quota;                 /* protected by lock: the server offers no QUOTA */
	bool asking;                   /* protected by lock: a thread asks the server now */
	bool failing;                  /* protected by lock: the last ask failed (logged once) */
	struct timespec fresh_until;   /* protected by lock: CLOCK_MONOTONIC; 0: never asked */
	char *caps;                    /* protected by lock: space-separated, NULL until had */
};

struct server_info *server_info_new(void)
{
	struct server_info *si = calloc(1, sizeof(*si));

	if (si && pthread_mutex_init(&si->lock, NULL) != 0) {
		free(si);
		return NULL;
	}
	return si;
}

void server_info_free(struct server_info *si)
{
	if (!si)
		return;
	pthread_mutex_destroy(&si->lock);
	free(si->caps);
	free(si);
}

/* ---- asking the server ---------------------------------------------------- */

struct info_req {
	bool want_quota;
	bool has_quota;       /* out: the server offers QUOTA */
	struct imap_quota q;  /* out */
	char *caps;           /* out: malloc'd, or NULL (no memory) */
};

static char *caps_text(const struct imap_conn *c)
{
	struct buf b = { 0 };
	size_t n;
	const char *const *caps = imap_conn_caps(c, &n);

	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_add(&b, " ", 1);
		buf_str(&b, caps[i]);
	}
	buf_add(&b, "", 0); /* none: "" rather than NULL */
	return buf_take(&b);
}

/* GETQUOTAROOT needs no mailbox selected, so none is (the source's NULL
 * mailbox), and a read-only mailbox or mount changes nothing. */
static int run_info(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct info_req *r = ud;

	(void)st;
	if (!r->caps)
		r->caps = caps_text(c);
	r->has_quota = imap_conn_has_cap(c, "QUOTA");
	if (!r->want_quota || !r->has_quota)
		return IMAP_OK;
	return imap_getquotaroot(c, "INBOX", &r->q);
}

/* Keeps the capabilities r brought, when none are kept yet. Caller holds si's lock. */
static void keep_caps(struct server_info *si, struct info_req *r)
{
	if (!si->caps) {
		si->caps = r->caps;
		r->caps = NULL;
	}
}

/* Asks the quota when the last figures are older than STATFS_FRESH_MS and
 * no other thread asks now (it would not be fresher: they use what is known). */
static void quota_refresh(struct model *m)
{
	struct server_info *si = m->info;
	struct info_req r = { .want_quota = true };
	struct source_cmd cmd = { .fn = run_info, .ud = &r };
	bool ask, tell;
	int rc;

	pthread_mutex_lock(&si->lock);
	ask = !si->no_quota && !si->asking && clock_ms_since(&si->fresh_until) >= 0;
	if (ask)
		si->asking = true;
	pthread_mutex_unlock(&si->lock);
	if (!ask)
		return;
	rc = source_run(m->source, &cmd);
	pthread_mutex_lock(&si->lock);
	if (rc == 0) {
		si->quota = r.q;
		si->no_quota = !r.has_quota; /* capabilities stay: never asked again */
	}
	keep_caps(si, &r);
	/* A failure too waits its turn: df shows what was known meanwhile. */
	clock_deadline(&si->fresh_until, STATFS_FRESH_MS);
	si->asking = false;
	/* Once a run of failures: a file manager's statfs every few seconds
	 * against a server that keeps refusing would fill the log. */
	tell = rc && !si->failing;
	si->failing = rc != 0;
	pthread_mutex_unlock(&si->lock);
	free(r.caps);
	if (tell)
		log_msg(LOG_WARNING, "quota: showing what was known (until it can be asked again): %s",
			strerror(-rc));
}

/* ---- statfs ----------------------------------------------------------------- */

static uint64_t room(const struct imap_quota_resource *res)
{
	return res->limit > res->usage ? res->limit - res->usage : 0;
}

static uint64_t blocks_of_kib(uint64_t kib)
{
	uint64_t n = kib / (STATFS_BLOCK / 1024);

	return n < STATFS_BLOCKS_MAX ? n : STATFS_BLOCKS_MAX;
}

void quota_statvfs(const struct imap_quota *q, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = STATFS_BLOCK;
	sv->f_namemax = 255;
	if (q->storage.known) {
		sv->f_blocks = blocks_of_kib(q->storage.limit);
		sv->f_bfree = sv->f_bavail = blocks_of_kib(room(&q->storage));
	}
	if (q->messages.known) {
		sv->f_files = q->messages.limit;
		sv->f_ffree = sv->f_favail = room(&q->messages);
	}
}

void model_statfs(struct model *m, struct statvfs *sv)
{
	struct imap_quota q;

	quota_refresh(m);
	pthread_mutex_lock(&m->info->lock);
	q = m->info->quota;
	pthread_mutex_unlock(&m->info->lock);
	quota_statvfs(&q, sv);
}

/* ---- xattrs ------------------------------------------------------------------ */

/* The capabilities, asked once: they are the server's for the mount's life. */
static int capability_get(struct model *m, char **value)
{
	struct server_info *si = m->info;
	struct info_req r = { .want_quota = false };
	struct source_cmd cmd = { .fn = run_info, .ud = &r };
	int rc = 0;

	pthread_mutex_lock(&si->lock);
	*value = si->caps ? strdup(si->caps) : NULL;
	pthread_mutex_unlock(&si->lock);
	if (*value)
		return 0;
	rc = source_run(m->source, &cmd);
	if (rc == 0 && !r.caps)
		rc = -ENOMEM;
	if (rc == 0) {
		*value = strdup(r.caps);
		pthread_mutex_lock(&si->lock);
		keep_caps(si, &r);
		pthread_mutex_unlock(&si->lock);
	}
	free(r.caps);
	return rc ? rc : *value ? 0 : -ENOMEM;
}

int root_xattr(struct model *m, const char *name, char **value)
{
	*value = NULL;
	if (strcmp(name, XA_CAPABILITY) != 0)
		return -ENODATA;
	return capability_get(m, value);
}

void root_xattr_names(struct buf *b)
{
	buf_add(b, XA_CAPABILITY, sizeof(XA_CAPABILITY));
}

/* RFC 6154's attributes, in client.h's order. */
static const struct {
	unsigned bit;
	const char *name;
} special_uses[] = {
	{ IMAP_MBOX_TRASH, "\\Trash" },     { IMAP_MBOX_SENT, "\\Sent" },
	{ IMAP_MBOX_DRAFTS, "\\Drafts" },   { IMAP_MBOX_JUNK, "\\Junk" },
	{ IMAP_MBOX_ARCHIVE, "\\Archive" }, { IMAP_MBOX_ALL, "\\All" },
	{ IMAP_MBOX_FLAGGED, "\\Flagged" },
};

/* Mailbox directory ino's LIST attributes (0: a level without a mailbox, or gone). */
static unsigned mbox_attrs(struct model *m, uint64_t ino)
{
	uint32_t id = ino_mbox(ino);
	unsigned attrs = 0;

	pthread_mutex_lock(&m->lock);
	if (id && id < m->nmbox && mbox_visible(m, id) && m->mbox[id].wire)
		attrs = m->mbox[id].attrs;
	pthread_mutex_unlock(&m->lock);
	return attrs;
}

/* The special uses in attrs, space-separated ("" when none). */
static char *special_use_text(unsigned attrs)
{
	struct buf b = { 0 };

	buf_add(&b, "", 0);
	for (size_t i = 0; i < sizeof(special_uses) / sizeof(special_uses[0]); i++) {
		if (!(attrs & special_uses[i].bit))
			continue;
		if (b.len)
			buf_add(&b, " ", 1);
		buf_str(&b, special_uses[i].name);
	}
	return buf_take(&b);
}

int mbox_xattr(struct model *m, uint64_t ino, const char *name, char **value)
{
	*value = NULL;
	if (strcmp(name, XA_SPECIALUSE) != 0)
		return -ENODATA;
	*value = special_use_text(mbox_attrs(m, ino));
	if (!*value)
		return -ENOMEM;
	if (!**value) {
		free(*value);
		*value = NULL;
		return -ENODATA; /* no special use: no attribute, not an empty one */
	}
	return 0;
}

void mbox_xattr_names(struct model *m, uint64_t ino, struct buf *b)
{
	unsigned attrs = mbox_attrs(m, ino);

	for (size_t i = 0; i < sizeof(special_uses) / sizeof(special_uses[0]); i++)
		if (attrs & special_uses[i].bit) {
			buf_add(b, XA_SPECIALUSE, sizeof(XA_SPECIALUSE));
			return;
		}
}
