/* append — new files in a mailbox directory, APPENDed when closed (model_int.h). */
#include <errno.h>
#include <stdlib.h>

#include "model_int.h"

struct append_area {
	struct model *m;
};

struct append_area *append_area_new(struct model *m)
{
	struct append_area *a = calloc(1, sizeof(*a));

	if (a)
		a->m = m;
	return a;
}

void append_area_free(struct append_area *a)
{
	free(a);
}

int append_create(struct model *m, uint32_t mbox, const char *name, struct stat *st)
{
	(void)m, (void)mbox, (void)name, (void)st;
	return -ENOSYS;
}

int append_write(struct model *m, uint64_t ino, uint64_t off, const char *buf, size_t size,
		 size_t *written)
{
	(void)m, (void)ino, (void)off, (void)buf, (void)size;
	*written = 0;
	return -ENOSYS;
}

int append_flush(struct model *m, uint64_t ino)
{
	(void)m, (void)ino;
	return 0;
}

void append_release(struct model *m, uint64_t ino)
{
	(void)m, (void)ino;
}

int append_setattr(struct model *m, uint64_t ino, const struct stat *attr, int to_set,
		   struct stat *out)
{
	(void)m, (void)ino, (void)attr, (void)to_set, (void)out;
	return -ENOSYS;
}

int append_unlink(struct model *m, uint64_t ino)
{
	(void)m, (void)ino;
	return -ENOENT;
}

int append_rename(struct model *m, uint64_t ino, uint64_t newparent, const char *newname,
		  unsigned flags)
{
	(void)m, (void)ino, (void)newparent, (void)newname, (void)flags;
	return -ENOSYS;
}
