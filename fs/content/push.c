/*
 * push — a small message's files whole, for the kernel's page cache.
 *
 * `grep -r` lists a message's directory (READDIRPLUS makes the kernel's
 * inodes of its files; a second READDIR finds the end), then opens and reads
 * each file: one READ round trip per file, although by then the whole
 * message is here (prefetch). fs/fuse/ops.c hands the kernel these bytes
 * (FUSE notify_store) while it answers that second READDIR, so the reads
 * that follow are served from the page cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "content.h"
#include "inode.h"

static bool pushable(struct model *m, uint64_t ino)
{
	switch (ino_type(ino)) {
	case INO_EML:
	case INO_HEADER:
	case INO_CONTENT:
	case INO_PEML:
	case INO_PHEADER:
		return msg_is_small(m, ino) && msg_whole_here(m, ino);
	default:
		return false;
	}
}

int model_content_local(struct model *m, uint64_t ino, char **data, size_t *len)
{
	struct model_file *f;
	struct stat st;
	size_t n = 0;
	int rc;

	*data = NULL;
	*len = 0;
	if (!pushable(m, ino))
		return -EAGAIN;
	rc = model_getattr(m, ino, &st);
	if (rc == 0)
		rc = file_get(m, ino, false, &f);
	if (rc)
		return rc;
	/* Exactly the size stat shows: more would make the kernel grow the
	 * file. Only what is here: a part that must come in ranges from the
	 * server is left to its reads. */
	if (f->size != (uint64_t)st.st_size || f->size == 0 || f->size > SMALL_MAX ||
	    (!f->whole && __atomic_load_n(&f->fd, __ATOMIC_ACQUIRE) < 0)) {
		rc = -EAGAIN;
	} else if (!(*data = malloc((size_t)f->size))) {
		rc = -ENOMEM;
	} else {
		rc = file_read(m, f, 0, (size_t)f->size, *data, &n);
		if (rc == 0 && n != f->size)
			rc = -EAGAIN;
	}
	if (rc) {
		free(*data);
		*data = NULL;
	} else {
		*len = n;
	}
	file_release(f);
	return rc;
}
