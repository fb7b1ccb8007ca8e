/* message_write — deleting and moving messages (model_int.h). */
#include <errno.h>

#include "model_int.h"

int message_delete(struct model *m, uint64_t ino)
{
	(void)m, (void)ino;
	return -ENOSYS;
}

int message_move(struct model *m, uint64_t ino, uint64_t newparent, const char *newname,
		 unsigned flags)
{
	(void)m, (void)ino, (void)newparent, (void)newname, (void)flags;
	return -ENOSYS;
}
