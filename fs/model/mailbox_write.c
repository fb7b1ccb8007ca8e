/* mailbox_write — CREATE, DELETE and RENAME of mailboxes (model_int.h). */
#include <errno.h>

#include "model_int.h"

int mailbox_create(struct model *m, uint64_t parent, const char *name, struct stat *st)
{
	(void)m, (void)parent, (void)name, (void)st;
	return -ENOSYS;
}

int mailbox_delete(struct model *m, uint32_t id)
{
	(void)m, (void)id;
	return -ENOSYS;
}

int mailbox_rename(struct model *m, uint32_t id, uint64_t newparent, const char *newname,
		   unsigned flags)
{
	(void)m, (void)id, (void)newparent, (void)newname, (void)flags;
	return -ENOSYS;
}
