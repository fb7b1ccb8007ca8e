/*
 * flags_write — user.imap.flags set: UID STORE uid FLAGS.SILENT (model_int.h).
 *
 * The value (len bytes, not NUL-terminated) is a space-separated list:
 * system flags \Seen \Answered \Flagged \Deleted \Draft (any case, sent in
 * IMAP's spelling) and keywords (atoms). Anything else is EINVAL before
 * anything is sent: \Recent (the server's alone), another \Flag, a
 * character an atom may not hold (a control character, a non-ASCII byte,
 * "(){%*\"\\]"). A flag the mailbox does not keep (PERMANENTFLAGS) is
 * EINVAL too, found once the mailbox is selected, before the STORE. An
 * empty value clears the flags. STORE replaces the flags whatever they
 * were, so it may be sent again after a lost answer (no source_write).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inode.h"
#include "log.h"
#include "model_int.h"
#include "write.h"

static const char *const system_flags[] = {
	"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft",
};

/* The spelling to send for the flag of n bytes at s, or NULL when it is not
 * one a user may set. Keywords are returned as they are (*keyword). */
static const char *flag_name(const char *s, size_t n, bool *keyword)
{
	*keyword = s[0] != '\\';
	if (!*keyword) {
		for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++)
			if (strlen(system_flags[i]) == n && strncasecmp(s, system_flags[i], n) == 0)
				return system_flags[i];
		return NULL; /* \Recent, \*, or one IMAP does not have */
	}
	return imap_flag_syntax_ok(s, n) ? s : NULL;
}

/* The value checked and written out as sent: "\\Seen $Label" ("" for none),
 * malloc'd in *out. -EINVAL for anything not a flag a user may set. */
static int parse_flags(const char *value, size_t len, char **out)
{
	char *buf = malloc(len + 1);
	size_t used = 0;

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	buf[0] = 0;
	for (size_t i = 0; i < len;) {
		size_t n = 0;
		const char *name;
		bool keyword;

		if (value[i] == ' ') {
			i++;
			continue;
		}
		while (i + n < len && value[i + n] != ' ')
			n++;
		name = flag_name(value + i, n, &keyword);
		if (!name) {
			free(buf);
			return -EINVAL;
		}
		if (!imap_flags_has(buf, name, n)) {
			if (used)
				buf[used++] = ' ';
			memcpy(buf + used, name, n);
			used += n;
			buf[used] = 0;
		}
		i += n;
	}
	*out = buf;
	return 0;
}

struct store_req {
	uint32_t uid;
	const char *flags;
	bool refused;             /* out: a flag the mailbox does not keep */
};

static int run_store(struct imap_conn *c, const struct imap_mailbox_status *st, void *ud)
{
	struct store_req *r = ud;
	char flag[256];

	(void)st;
	for (const char *p = r->flags; *p;) {
		size_t n = strcspn(p, " ");

		if (n < sizeof(flag)) {
			memcpy(flag, p, n);
			flag[n] = 0;
		}
		if (n >= sizeof(flag) || !imap_flag_permanent(c, flag)) {
			log_msg(LOG_WARNING, "flag '%.*s' is not kept by this mailbox (PERMANENTFLAGS)",
				(int)n, p);
			r->refused = true;
			return IMAP_OK; /* nothing sent */
		}
		p += n + (p[n] == ' ');
	}
	return imap_store_flags(c, r->uid, r->flags);
}

/* Notes the right changing each flag of a that b lacks takes (RFC 4314):
 * s for \Seen, t for \Deleted, w for the others. */
static void rights_of_change(const char *a, const char *b, bool *s, bool *t, bool *w)
{
	for (const char *p = a; *p;) {
		size_t n = strcspn(p, " ");

		if (n && !imap_flags_has(b, p, n)) {
			if (n == 5 && strncasecmp(p, "\\Seen", 5) == 0)
				*s = true;
			else if (n == 8 && strncasecmp(p, "\\Deleted", 8) == 0)
				*t = true;
			else
				*w = true;
		}
		p += n + (p[n] == ' ');
	}
}

/* The rights a STORE of flags over old takes, in need (room for 4). */
static void store_rights(const char *old, const char *flags, char *need)
{
	bool s = false, t = false, w = false;

	rights_of_change(old, flags, &s, &t, &w);
	rights_of_change(flags, old, &s, &t, &w);
	*need = 0;
	strcat(need, s ? "s" : "");
	strcat(need, t ? "t" : "");
	strcat(need, w ? "w" : "");
}

/* The table shows the new flags at once (getfattr right after). */
static void flags_show(struct model *m, uint64_t ino, uint32_t uidvalidity, char *flags)
{
	uint32_t id;
	struct msg *msg;

	pthread_mutex_lock(&m->lock);
	id = msg_mbox(m, ino);
	msg = id && m->mbox[id].uidvalidity == uidvalidity ? msg_find(&m->mbox[id], ino_uid(ino))
							    : NULL;
	if (msg) {
		free(msg->flags);
		msg->flags = flags;
		flags = NULL;
		m->mbox[id].dirty = true;
		listing_touched(m, id);
	}
	pthread_mutex_unlock(&m->lock);
	free(flags);
}

int flags_set(struct model *m, uint64_t ino, const char *value, size_t len)
{
	struct store_req req = { .uid = ino_uid(ino) };
	struct source_cmd cmd = { .flags = SOURCE_SELECT, .fn = run_store, .ud = &req };
	char *flags, *wire = NULL, need[4] = "";
	const struct msg *msg;
	uint32_t id;
	int rc = parse_flags(value, len, &flags);

	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	id = msg_mbox(m, ino);
	msg = id && mbox_visible(m, id) ? msg_find(&m->mbox[id], req.uid) : NULL;
	if (msg) {
		store_rights(msg->flags ? msg->flags : "", flags, need);
		wire = strdup(m->mbox[id].wire);
		cmd.uidvalidity = m->mbox[id].uidvalidity;
		rc = wire ? 0 : -ENOMEM;
	} else {
		rc = -ENOENT;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc == 0)
		rc = rights_need(m, id, need);
	if (rc == 0) {
		req.flags = flags;
		cmd.mailbox = wire;
		rc = source_run(m->source, &cmd);
		rights_refused(m, id, rc);
	}
	if (rc == -ESTALE) {
		mbox_stale(m, id);
		rc = -ENOENT; /* that UID names another message now */
	}
	if (rc == 0 && req.refused)
		rc = -EINVAL;
	if (rc == 0) {
		flags_show(m, ino, cmd.uidvalidity, flags);
		flags = NULL;
	}
	free(flags);
	free(wire);
	return rc;
}
