/* flags_write — user.imap.flags set: UID STORE FLAGS (model_int.h). */
#include <errno.h>

#include "model_int.h"

int flags_set(struct model *m, uint64_t ino, const char *value, size_t len)
{
	(void)m, (void)ino, (void)value, (void)len;
	return -ENOSYS;
}
