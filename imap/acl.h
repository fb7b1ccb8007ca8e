/*
 * acl — whose mailboxes the account sees and what it may do in them:
 * NAMESPACE (RFC 2342), MYRIGHTS (RFC 4314), and the LIST of every
 * namespace.
 *
 *   struct imap_namespaces *ns = imap_namespaces_new();   // one per mount
 *   imap_list_all(ns, c, on_mailbox, ctx);   // LIST "" "*", then a namespace prefix if needed
 *   char rights[IMAP_RIGHTS_MAX];
 *   if (imap_conn_has_cap(c, "ACL")) imap_myrights(c, "shared/bob/Projects", rights); // "lr"
 *   imap_namespaces_free(ns);
 *
 * Mailbox names are wire names (modified UTF-7). Functions return an imap_err.
 */
#ifndef IMAPFS_ACL_H
#define IMAPFS_ACL_H

#include "client.h"
#include "conn.h"

/* The three kinds NAMESPACE answers, in its order. */
enum imap_ns_kind { IMAP_NS_PERSONAL, IMAP_NS_OTHER_USERS, IMAP_NS_SHARED };
/* prefix: as sent ("shared/", "" for Dovecot's personal one); delim 0: NIL. */
typedef void imap_ns_fn(void *ud, enum imap_ns_kind kind, const char *prefix, char delim);
/* NAMESPACE: fn once per namespace. */
int imap_namespace(struct imap_conn *c, imap_ns_fn *fn, void *ud);

/* Room for a rights string: RFC 4314 has 20 letters and digits at most. */
#define IMAP_RIGHTS_MAX 40
/* MYRIGHTS mailbox: the rights (letters and digits only, in the server's
 * order, NUL-terminated; cut at IMAP_RIGHTS_MAX - 1). A MYRIGHTS answer
 * without its data is IMAP_EPROTO. */
int imap_myrights(struct imap_conn *c, const char *mailbox, char rights[IMAP_RIGHTS_MAX]);

/*
 * What a mount learned of the server's namespaces: asked once (on the
 * first imap_list_all whose server offers NAMESPACE), then kept. Has its
 * own lock, a leaf: any thread.
 */
struct imap_namespaces;
struct imap_namespaces *imap_namespaces_new(void);
void imap_namespaces_free(struct imap_namespaces *ns);
/*
 * LIST "" "*" (imap_list), then LIST "" "PREFIX*" of each namespace other
 * than the personal ones whose mailboxes "*" did not return: Dovecot lists
 * them all under "*", Cyrus, Courier or Exchange may not. A mailbox may
 * come to fn twice (once per LIST) when a server lists it under both.
 * A NAMESPACE refused, or answered without data that parses, is as none
 * (LIST "*" alone); at most 32 namespaces are LISTed by prefix.
 */
int imap_list_all(struct imap_namespaces *ns, struct imap_conn *c, imap_list_fn *fn, void *ud);
/* Whether mailbox name lies in another user's or a shared namespace (by
 * the prefixes NAMESPACE gave; false before it was asked, or without it). */
bool imap_namespaces_other(struct imap_namespaces *ns, const char *name);

#endif
