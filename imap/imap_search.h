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

#endif
