/*
 * imap_search — UID SEARCH with keys parsed by search_keys.h.
 *
 *   struct search_keys *k;
 *   search_keys_parse("FROM alice UNSEEN", 17, &k, why, sizeof why);
 *   rc = imap_uid_search(c, k, on_range, ctx);   // on the selected mailbox
 *   search_keys_free(k);
 *
 * The command is written from the tree only: "UID SEARCH [RETURN (ALL)]
 * CHARSET UTF-8 keys", strings quoted, 8-bit ones as literals. Answers are
 * handed on as ranges, never collected: a hostile server's 4-billion-UID
 * range or a line of a million numbers costs no memory here; the caller
 * bounds what it keeps.
 */
#ifndef IMAPFS_IMAP_SEARCH_H
#define IMAPFS_IMAP_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "conn.h"
#include "search_keys.h"

/*
 * UID SEARCH on the mailbox selected on c, with ESEARCH RETURN (ALL) when
 * the server offers ESEARCH (one compact line for 100,000 hits), else plain
 * "* SEARCH n n n". fn gets each hit range first..last (first <= last), in
 * the order the server sent them (runs of consecutive numbers of a plain
 * SEARCH joined). Returns an imap_err: IMAP_ENO/EBAD for the server's
 * NO/BAD (text in imap_conn_last_text); IMAP_EBAD without sending when the
 * keys need an extension the server does not offer (OLDER/YOUNGER: WITHIN;
 * MODSEQ: CONDSTORE); IMAP_EPROTO when an answer to this search was
 * malformed (its hits are not reported; the connection stays usable).
 */
int imap_uid_search(struct imap_conn *c, const struct search_keys *k, imap_uids_fn *fn,
		    void *ud);

/*
 * MULTISEARCH (RFC 7377): ESEARCH IN (source_spec) RETURN (ALL) CHARSET
 * UTF-8 keys, over many mailboxes at once. source_spec is one of the
 * filters that take no mailbox list: "personal", "inboxes", "subscribed",
 * "selected" (anything else: IMAP_EBAD, nothing sent; so is a server that
 * does not offer MULTISEARCH). fn gets (mailbox as the server names it,
 * modified UTF-7 unless UTF8=ACCEPT is on; first; last) for each range of
 * hits. Errors as imap_uid_search; an answer without its mailbox is
 * malformed. Dovecot 2.3 does not offer it.
 */
typedef void imap_mbox_uids_fn(void *ud, const char *mailbox, uint32_t first, uint32_t last);
int imap_multisearch(struct imap_conn *c, const char *source_spec, const struct search_keys *k,
		     imap_mbox_uids_fn *fn, void *ud);
/* MULTISEARCH is in the server's capabilities. */
bool imap_multisearch_offered(struct imap_conn *c);

#endif
