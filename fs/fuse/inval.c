#include "inval.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct pending {
	uint64_t parent;
	struct pending *next;
	char name[];
};

struct inval {
	struct fuse_session *se;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct pending *head;     /* protected by lock */
	bool stop;                /* protected by lock */
	bool started;
	pthread_t thread;
};

static void *run(void *arg)
{
	struct inval *iv = arg;
	struct pending *p;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&iv->lock);
	while (!iv->stop) {
		if (!iv->head) {
			pthread_cond_wait(&iv->work, &iv->lock);
			continue;
		}
		p = iv->head;
		iv->head = p->next;
		pthread_mutex_unlock(&iv->lock);
		int rc = fuse_lowlevel_notify_inval_entry(iv->se, p->parent, p->name,
							  strlen(p->name));
		if (rc && rc != -ENOENT && rc != -EBADF && rc != -ENODEV)
			log_msg(LOG_WARNING, "cannot invalidate %s: %s", p->name, strerror(-rc));
		free(p);
		pthread_mutex_lock(&iv->lock);
	}
	pthread_mutex_unlock(&iv->lock);
	return NULL;
}

struct inval *inval_new(struct fuse_session *se)
{
	struct inval *iv = calloc(1, sizeof(*iv));

	if (!iv)
		return NULL;
	iv->se = se;
	pthread_mutex_init(&iv->lock, NULL);
	pthread_cond_init(&iv->work, NULL);
	if (pthread_create(&iv->thread, NULL, run, iv) != 0) {
		inval_free(iv);
		return NULL;
	}
	iv->started = true;
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
	pthread_mutex_lock(&iv->lock);
	p->next = iv->head;
	iv->head = p;
	pthread_cond_signal(&iv->work);
	pthread_mutex_unlock(&iv->lock);
}

void inval_free(struct inval *iv)
{
	if (!iv)
		return;
	pthread_mutex_lock(&iv->lock);
	iv->stop = true;
	pthread_cond_signal(&iv->work);
	pthread_mutex_unlock(&iv->lock);
	if (iv->started)
		pthread_join(iv->thread, NULL);
	while (iv->head) {
		struct pending *p = iv->head;

		iv->head = p->next;
		free(p);
	}
	pthread_mutex_destroy(&iv->lock);
	pthread_cond_destroy(&iv->work);
	free(iv);
}
