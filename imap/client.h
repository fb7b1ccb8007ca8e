/*
 * client — the IMAP commands imapfs uses, with their answers as C structs.
 *
 *   imap_list(c, on_mailbox, ctx);                       // LIST "" "*"
 *   imap_examine(c, "INBOX", &sel);                      // read-only select
 *   imap_fetch_meta(c, "1:*", IMAP_META_FLAGS | IMAP_META_SIZE, on_msg, ctx);
 *   imap_fetch_part(c, 42, "", 0, 65536, &buf, &len);     // BODY.PEEK[]<0.65536>
 *
 * Every fetch uses BODY.PEEK (never BODY[] or RFC822), so reading never sets
 * \Seen. Mailbox names here are as on the wire (modified UTF-7); the caller
 * converts. Functions return an imap_err.
 */
#ifndef IMAPFS_CLIENT_H
#define IMAPFS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "arg.h"
#include "conn.h"

/* LIST attributes (RFC 3501, RFC 3348 children, RFC 6154 special use). */
enum imap_mbox_attr {
	IMAP_MBOX_NOSELECT = 1 << 0,    /* also \NonExistent */
	IMAP_MBOX_NOINFERIORS = 1 << 1,
	IMAP_MBOX_HASCHILDREN = 1 << 2,
	IMAP_MBOX_HASNOCHILDREN = 1 << 3,
	IMAP_MBOX_TRASH = 1 << 4,
	IMAP_MBOX_SENT = 1 << 5,
	IMAP_MBOX_DRAFTS = 1 << 6,
	IMAP_MBOX_JUNK = 1 << 7,
	IMAP_MBOX_ARCHIVE = 1 << 8,
	IMAP_MBOX_ALL = 1 << 9,
	IMAP_MBOX_FLAGGED = 1 << 10,
};

/* name: as sent (modified UTF-7, NUL-terminated); delim: 0 when NIL. */
typedef void imap_list_fn(void *ud, const char *name, char delim, unsigned attrs);
/* LIST "" "*" (with RETURN (SPECIAL-USE) when offered). */
int imap_list(struct imap_conn *c, imap_list_fn *fn, void *ud);
/* LIST "" pattern (e.g. the prefix "shared/" and a star), likewise. */
int imap_list_pattern(struct imap_conn *c, const char *pattern, imap_list_fn *fn, void *ud);

struct imap_mailbox_status {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t exists;
	uint64_t highestmodseq;   /* 0 when not offered */
};
/* EXAMINE mailbox, and records it as the connection's selected mailbox.
 * With CONDSTORE or QRESYNC offered it asks EXAMINE "box" (CONDSTORE), so
 * highestmodseq is known (0 when the mailbox answers [NOMODSEQ]). On any
 * error *st is zeroed. */
int imap_examine(struct imap_conn *c, const char *mailbox, struct imap_mailbox_status *st);
/* EXAMINE or SELECT (verb) as imap_examine does, the selection recorded
 * read-only (imap_select makes it read-write); also, if not NULL, sees
 * every untagged response too (imap_select keeps PERMANENTFLAGS). */
int imap_open_mailbox(struct imap_conn *c, const char *verb, const char *mailbox,
		      struct imap_mailbox_status *st, imap_untagged_fn *also, void *also_ud);

/* Which items imap_fetch_meta asks for. UID is always fetched. */
enum imap_meta_items {
	IMAP_META_FLAGS = 1 << 0,
	IMAP_META_INTERNALDATE = 1 << 1,
	IMAP_META_SIZE = 1 << 2,          /* RFC822.SIZE */
	IMAP_META_ENVELOPE = 1 << 3,
	IMAP_META_BODYSTRUCTURE = 1 << 4,
	IMAP_META_MODSEQ = 1 << 5,        /* RFC 7162; needs CONDSTORE */
	IMAP_META_SEQSET = 1 << 6,        /* the set holds sequence numbers, not UIDs */
};

struct imap_envelope {          /* strings as sent (RFC 2047 not decoded), NULL if NIL */
	const char *date, *subject, *message_id, *in_reply_to;
	const char *from;           /* first From address: "Name <mbox@host>" or "mbox@host" */
};

struct imap_msg_meta {
	uint32_t uid;
	unsigned have;              /* imap_meta_items actually present in the reply */
	const char *flags;          /* space separated, IMAP spelling: "\\Seen $Label1" ("" none) */
	time_t internaldate;        /* seconds since the epoch, UTC */
	uint64_t size;
	struct imap_envelope envelope;
	const struct imap_arg *bodystructure;  /* the raw list, valid during the callback */
	uint64_t modseq;            /* MODSEQ (n), 0 when absent */
};
/* Valid during the callback only. */
typedef void imap_meta_fn(void *ud, const struct imap_msg_meta *m);
/* UID FETCH uidset (items) on the selected mailbox. */
int imap_fetch_meta(struct imap_conn *c, const char *uidset, unsigned items, imap_meta_fn *fn,
		    void *ud);

/*
 * ENABLE ext (RFC 5161), e.g. "QRESYNC"; sent once per connection (before
 * any EXAMINE: ENABLE is only valid in the authenticated state). IMAP_OK
 * when the server answered * ENABLED ext, IMAP_ENO when it did not enable it.
 */
int imap_enable(struct imap_conn *c, const char *ext);

/* Expunged UIDs first..last (first <= last). */
typedef void imap_uids_fn(void *ud, uint32_t first, uint32_t last);
/* Hands fn each range of a uid-set as a server sends one ("41,43:45,50:48";
 * "7:3" as 3..7), after checking all of it: false, and fn never called,
 * when it is not one (0, "*", numbers past 2^32-1, empty items). */
bool imap_uid_set_walk(const char *set, imap_uids_fn *fn, void *ud);
/*
 * UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE modseq[ VANISHED]) (RFC 7162) on
 * the selected mailbox: fn gets each changed message (FLAGS and MODSEQ),
 * gone each range of "* VANISHED (EARLIER) set". vanished needs QRESYNC
 * enabled (imap_enable); modseq must be 1..2^63-1.
 */
int imap_fetch_changes(struct imap_conn *c, uint64_t modseq, bool vanished, imap_meta_fn *fn,
		       imap_uids_fn *gone, void *ud);

/* One whole message; data is valid during the callback only. */
typedef void imap_body_fn(void *ud, uint32_t uid, const char *data, size_t len);
/* UID FETCH uidset (UID BODY.PEEK[]): fn once per message that came back
 * (gone ones do not; a NIL body is skipped). */
int imap_fetch_bodies(struct imap_conn *c, const char *uidset, imap_body_fn *fn, void *ud);

/*
 * UID FETCH uid BODY.PEEK[section]<offset.length>. section "" is the whole
 * message, "HEADER", "1.2", "1.2.MIME"... On success *data is malloc'd with
 * *len bytes (fewer than length at the end of the part; 0 past it, and when
 * the message is gone *data is NULL and the result IMAP_ENO).
 * length 0 means everything from offset.
 */
int imap_fetch_part(struct imap_conn *c, uint32_t uid, const char *section, uint64_t offset,
		    uint64_t length, char **data, size_t *len);

/* Ranges one imap_fetch_ranges asks at most. */
#define IMAP_RANGES_MAX 8
/*
 * UID FETCH uid (BODY.PEEK[section]<off[0].len[0]> BODY.PEEK[section]<off[1].len[1]>
 * ...): n ranges of one section in one command (1 <= n <= IMAP_RANGES_MAX,
 * every length > 0). data[i] (malloc'd) and lens[i] as imap_fetch_part's,
 * NULL and 0 on failure. Answers are matched by their origin; a server that
 * leaves it out is taken to answer in the order asked.
 */
int imap_fetch_ranges(struct imap_conn *c, uint32_t uid, const char *section, const uint64_t *off,
		      const uint64_t *len, size_t n, char **data, size_t *lens);

/* Takes content as it arrives; non-zero stops the fetch (and breaks the
 * connection: IMAP_ESTOP). */
typedef int imap_sink_fn(void *ud, const char *data, size_t len);
/*
 * BODY.PEEK[section]<offset.length> (length > 0), with the content handed to
 * sink as it arrives instead of being kept: any size in bounded memory.
 * *len is what the sink got; fewer than length means the part ended. Only
 * a literal that follows "UID uid BODY[section]<offset>" streams; another
 * message's answer never reaches the sink.
 */
int imap_fetch_part_to(struct imap_conn *c, uint32_t uid, const char *section, uint64_t offset,
		       uint64_t length, imap_sink_fn *sink, void *sink_ud, uint64_t *len);
/*
 * UID FETCH uid BINARY.PEEK[section]<offset.length> (RFC 3516): the part's
 * content with the transfer encoding removed by the server. Same contract as
 * imap_fetch_part (section must be a part number: "1", "2.1"). A server that
 * cannot decode the part answers NO [UNKNOWN-CTE]: IMAP_ENO, with that code
 * in imap_conn_last_code.
 */
int imap_fetch_binary(struct imap_conn *c, uint32_t uid, const char *section, uint64_t offset,
		      uint64_t length, char **data, size_t *len);

/* UID FETCH uid (BINARY.SIZE[s1] BINARY.SIZE[s2] ...): sizes[i] is the
 * decoded size of sections[i], or UINT64_MAX when the reply lacks it. */
int imap_fetch_binary_sizes(struct imap_conn *c, uint32_t uid, const char *const *sections,
			    size_t n, uint64_t *sizes);

/* ---- quota (RFC 9208, RFC 2087) ---- */

/* The largest usage or limit taken (RFC 9208's number64 has 63 bits); a
 * larger one is no figure at all. */
#define IMAP_QUOTA_MAX ((uint64_t)INT64_MAX)

/* One resource's figures as the server counts them. */
struct imap_quota_resource {
	bool known;
	uint64_t usage, limit;      /* each at most IMAP_QUOTA_MAX; usage may pass limit */
};
struct imap_quota {
	struct imap_quota_resource storage;   /* STORAGE, in units of 1024 bytes */
	struct imap_quota_resource messages;  /* MESSAGE, in messages */
};
/*
 * GETQUOTAROOT mailbox (needs QUOTA: without it IMAP_ENO, nothing sent).
 * Of the quota roots the QUOTAROOT response names for mailbox, each
 * resource is taken from the one with the least room left (limit - usage):
 * the one that binds. A resource no root names is unknown, and so is all
 * of *q when there is no root (no quota). QUOTA responses for other roots
 * are left out; one that does not parse is left out whole; a resource
 * whose number passes IMAP_QUOTA_MAX is left out. On error *q is zeroed.
 */
int imap_getquotaroot(struct imap_conn *c, const char *mailbox, struct imap_quota *q);

/* Parses an INTERNALDATE ("17-Jul-1996 02:44:25 -0700"). -1 if malformed. */
time_t imap_parse_internaldate(const char *s);

#endif
