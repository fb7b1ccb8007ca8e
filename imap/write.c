#include "write.h"

/* Stubs until the commands are written (issue 9, imap layer): every change
 * is refused as if the server said BAD. */

int imap_select(struct imap_conn *c, const char *mailbox, struct imap_mailbox_status *st)
{
	(void)c, (void)mailbox, (void)st;
	return IMAP_EBAD;
}

bool imap_selected_rw(const struct imap_conn *c)
{
	(void)c;
	return false;
}

bool imap_flag_permanent(const struct imap_conn *c, const char *flag)
{
	(void)c, (void)flag;
	return false;
}

int imap_status(struct imap_conn *c, const char *mailbox, struct imap_mailbox_status *st)
{
	(void)c, (void)mailbox, (void)st;
	return IMAP_EBAD;
}

int imap_create(struct imap_conn *c, const char *mailbox)
{
	(void)c, (void)mailbox;
	return IMAP_EBAD;
}

int imap_delete(struct imap_conn *c, const char *mailbox)
{
	(void)c, (void)mailbox;
	return IMAP_EBAD;
}

int imap_rename(struct imap_conn *c, const char *from, const char *to)
{
	(void)c, (void)from, (void)to;
	return IMAP_EBAD;
}

int imap_subscribe(struct imap_conn *c, const char *mailbox, bool on)
{
	(void)c, (void)mailbox, (void)on;
	return IMAP_EBAD;
}

int imap_mailbox_exists(struct imap_conn *c, const char *mailbox, bool *exists)
{
	(void)c, (void)mailbox;
	*exists = false;
	return IMAP_EBAD;
}

int imap_store_flags(struct imap_conn *c, uint32_t uid, const char *flags)
{
	(void)c, (void)uid, (void)flags;
	return IMAP_EBAD;
}

int imap_store_deleted(struct imap_conn *c, uint32_t uid)
{
	(void)c, (void)uid;
	return IMAP_EBAD;
}

int imap_uid_expunge(struct imap_conn *c, uint32_t uid)
{
	(void)c, (void)uid;
	return IMAP_EBAD;
}

int imap_uid_move(struct imap_conn *c, uint32_t uid, const char *dest, struct imap_landed *to)
{
	(void)c, (void)uid, (void)dest;
	*to = (struct imap_landed){ 0 };
	return IMAP_EBAD;
}

int imap_uid_copy(struct imap_conn *c, uint32_t uid, const char *dest, struct imap_landed *to)
{
	(void)c, (void)uid, (void)dest;
	*to = (struct imap_landed){ 0 };
	return IMAP_EBAD;
}

int imap_append(struct imap_conn *c, const char *mailbox, const char *flags, int fd,
		uint64_t size, struct imap_landed *to)
{
	(void)c, (void)mailbox, (void)flags, (void)fd, (void)size;
	*to = (struct imap_landed){ 0 };
	return IMAP_EBAD;
}

int imap_search_message_id(struct imap_conn *c, uint32_t first, const char *message_id,
			   struct imap_uids *out)
{
	(void)c, (void)first, (void)message_id;
	*out = (struct imap_uids){ 0 };
	return IMAP_EBAD;
}

int imap_search_uids_from(struct imap_conn *c, uint32_t first, struct imap_uids *out)
{
	(void)c, (void)first;
	*out = (struct imap_uids){ 0 };
	return IMAP_EBAD;
}

int imap_uid_present(struct imap_conn *c, uint32_t uid, bool *present)
{
	(void)c, (void)uid;
	*present = false;
	return IMAP_EBAD;
}
