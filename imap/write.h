/*
 * write — the IMAP commands that change the server, and the lookups that
 * tell, after a lost answer, whether a change happened.
 *
 *   imap_select(c, "INBOX", &st);                       // read-write, PERMANENTFLAGS kept
 *   if (!imap_flag_permanent(c, "$Label2")) ... EINVAL
 *   imap_store_flags(c, 42, "\\Seen $Label2");          // UID STORE 42 FLAGS.SILENT (...)
 *   imap_uid_move(c, 42, "Archive", &to);               // to.uid: its UID there (COPYUID)
 *   imap_append(c, "INBOX", "\\Seen", fd, size, &to);   // to.uid: APPENDUID
 *
 * Mailbox names are wire names (modified UTF-7, as LIST gives them); the
 * caller converts. Functions return an imap_err; a NO leaves its response
 * code in imap_conn_last_code (ALREADYEXISTS, OVERQUOTA, TOOBIG, NOPERM,
 * CANNOT, TRYCREATE, NONEXISTENT...) and its text in imap_conn_last_text.
 * Nothing here retries: a command whose answer was lost may have been done,
 * and only the caller (fs/source, source_write) may decide to send it again.
 */
#ifndef IMAPFS_WRITE_H
#define IMAPFS_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "conn.h"

/* SELECT mailbox read-write (with CONDSTORE as imap_examine), recorded as
 * the connection's selection; a read-only answer ([READ-ONLY]) is IMAP_ENO
 * with code READ-ONLY (the mailbox is then selected read-only, as after
 * EXAMINE). Fetches stay BODY.PEEK: reading never sets \Seen. On any
 * error *st is zeroed. */
int imap_select(struct imap_conn *c, const char *mailbox, struct imap_mailbox_status *st);
/* Whether the mailbox is selected read-write on c (imap_select, not EXAMINE). */
bool imap_selected_rw(const struct imap_conn *c);
/* Whether the mailbox selected read-write keeps flag ("\\Seen", "$Label"):
 * listed in its PERMANENTFLAGS, or a keyword and "\\*" is listed. true
 * when the server sent no PERMANENTFLAGS (RFC 3501: then all are). */
bool imap_flag_permanent(const struct imap_conn *c, const char *flag);

/* Whether the n bytes at s are a flag as IMAP spells one: a keyword atom
 * or "\\" and an atom (RFC 3501 flag-keyword, flag-extension); what may be
 * pasted into a flag list. */
bool imap_flag_syntax_ok(const char *s, size_t n);
/* Whether the space-separated list holds the flag of n bytes at flag
 * (case-insensitive, as IMAP compares flags). */
bool imap_flags_has(const char *list, const char *flag, size_t n);

/* STATUS mailbox (MESSAGES UIDNEXT UIDVALIDITY): exists, uidnext, uidvalidity. */
int imap_status(struct imap_conn *c, const char *mailbox, struct imap_mailbox_status *st);

/* CREATE, DELETE, RENAME, SUBSCRIBE / UNSUBSCRIBE (on: SUBSCRIBE). */
int imap_create(struct imap_conn *c, const char *mailbox);
int imap_delete(struct imap_conn *c, const char *mailbox);
int imap_rename(struct imap_conn *c, const char *from, const char *to);
int imap_subscribe(struct imap_conn *c, const char *mailbox, bool on);
/* Leaves the selected mailbox without expunging: UNSELECT (RFC 3691), or
 * without it EXAMINE INBOX (CLOSE would expunge). Afterwards the
 * connection has no recorded selection. */
int imap_unselect(struct imap_conn *c);
/* LIST "" "mailbox<delim>%": *found says whether any mailbox is listed
 * below mailbox. A name holding a wildcard (% or *) would widen the
 * pattern: nothing is sent and *found is false. */
int imap_has_children(struct imap_conn *c, const char *mailbox, char delim, bool *found);
/* LIST "" mailbox (no wildcard): *exists says whether it is there. */
int imap_mailbox_exists(struct imap_conn *c, const char *mailbox, bool *exists);

/* On the mailbox selected read-write: UID STORE uid FLAGS.SILENT (flags),
 * flags space separated ("" clears them). The caller has checked what they
 * mean; here each must be an atom or \atom, single spaces between them,
 * else IMAP_EBAD and nothing is sent (also for uid 0, or no read-write
 * selection: then the server would only refuse). */
int imap_store_flags(struct imap_conn *c, uint32_t uid, const char *flags);
/* UID STORE uid +FLAGS.SILENT (\Deleted). */
int imap_store_deleted(struct imap_conn *c, uint32_t uid);
/* UID EXPUNGE uid (UIDPLUS, RFC 4315): only that UID goes, never another
 * client's \Deleted message. Without UIDPLUS nothing is sent: IMAP_ECONFIG. */
int imap_uid_expunge(struct imap_conn *c, uint32_t uid);

/* Where a copied, moved or appended message landed (COPYUID / APPENDUID,
 * UIDPLUS); uid 0 when the server did not say. */
struct imap_landed {
	uint32_t uidvalidity;
	uint32_t uid;
};
/* UID MOVE uid dest (RFC 6851; without MOVE nothing is sent: IMAP_ECONFIG). */
int imap_uid_move(struct imap_conn *c, uint32_t uid, const char *dest, struct imap_landed *to);
/* UID COPY uid dest. */
int imap_uid_copy(struct imap_conn *c, uint32_t uid, const char *dest, struct imap_landed *to);

/*
 * APPEND mailbox (flags) {size}: the literal is size bytes read from fd at
 * offset 0 (pread: the file offset is not used), streamed in bounded
 * memory; the caller made its line ends CRLF. Sent as LITERAL+ ({n+}) when
 * offered, or LITERAL- for up to 4096 bytes, else synchronising (waits for
 * the server's "+" and stops at its NO). flags may be "" (none).
 */
int imap_append(struct imap_conn *c, const char *mailbox, const char *flags, int fd,
		uint64_t size, struct imap_landed *to);

/* UIDs of the selected mailbox: *uids malloc'd (NULL when none), *n of them. */
struct imap_uids {
	uint32_t *uids;
	size_t n;
};
/* UID SEARCH UID first:* HEADER Message-ID <message_id> on the selected
 * mailbox, keeping only UIDs >= first (the server answers "first:*" with
 * its last message even below first). message_id goes as a quoted string
 * or a literal, never pasted; an empty or blank one (which the server's
 * substring search would match in every message) is IMAP_EBAD, not sent. */
int imap_search_message_id(struct imap_conn *c, uint32_t first, const char *message_id,
			   struct imap_uids *out);
/* UID SEARCH UID first:* on the selected mailbox (only UIDs >= first). */
int imap_search_uids_from(struct imap_conn *c, uint32_t first, struct imap_uids *out);
/* Whether uid is in the selected mailbox now (UID SEARCH UID uid). */
int imap_uid_present(struct imap_conn *c, uint32_t uid, bool *present);

#endif
