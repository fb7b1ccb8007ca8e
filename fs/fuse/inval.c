#include "inval.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "work_queue.h"

struct pending {
	uint64_t parent;
	char name[];  /* "": the inode parent itself (inval_dir) */
};

struct inval {
	struct fuse_session *se;
	struct work_queue *queue;  /* one thread: notifications go out in order */
};

static void notify(void *ctx, void *item)
{
	struct inval *iv = ctx;
	struct pending *p = item;
	int rc = p->name[0] ? fuse_lowlevel_notify_inval_entry(iv->se, p->parent, p->name,
							       strlen(p->name))
			    : fuse_lowlevel_notify_inval_inode(iv->se, p->parent, 0, 0);

	if (rc && rc != -ENOENT && rc != -EBADF && rc != -ENODEV)
		log_msg(LOG_WARNING, "cannot invalidate %s: %s", p->name, strerror(-rc));
	free(p);
}

struct inval *inval_new(struct fuse_session *se)
{
	struct inval *iv = calloc(1, sizeof(*iv));

	if (!iv)
		return NULL;
	iv->se = se;
	iv->queue = work_queue_new(1, notify, iv, free);
	if (!iv->queue) {
		free(iv);
		return NULL;
	}
	return iv;
}

void inval_entry(struct inval *iv, uint64_t parent, const char *name)
{
	size_t len = strlen(name);
	struct pending *p;

	if (!iv)
		return;
	p = malloc(sizeof(*p) + len + 1);
	if (!p)
		return; /* the entry then times out by itself */
	p->parent = parent;
	memcpy(p->name, name, len + 1);
	if (!work_queue_put(iv->queue, p))
		free(p);
}

void inval_dir(struct inval *iv, uint64_t dir)
{
	inval_entry(iv, dir, "");
}

void inval_inode(struct inval *iv, uint64_t ino)
{
	inval_entry(iv, ino, "");
}

void inval_free(struct inval *iv)
{
	if (!iv)
		return;
	work_queue_free(iv->queue);
	free(iv);
}
