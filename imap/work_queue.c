#include "work_queue.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

struct work_item {
	void *item;
	struct work_item *next;
};

struct work_queue {
	work_fn *fn;
	void *ctx;
	void (*drop)(void *item);
	pthread_mutex_t lock;
	pthread_cond_t work;             /* an item was put, or stop */
	struct work_item *head, *tail;   /* protected by lock */
	bool stop;                       /* protected by lock */
	unsigned nthreads;               /* set before the queue is shared */
	pthread_t threads[];
};

static void *worker(void *arg)
{
	struct work_queue *q = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&q->lock);
	while (!q->stop) {
		struct work_item *w = q->head;

		if (!w) {
			pthread_cond_wait(&q->work, &q->lock);
			continue;
		}
		q->head = w->next;
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->lock);
		q->fn(q->ctx, w->item);
		free(w);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

struct work_queue *work_queue_new(unsigned threads, work_fn *fn, void *ctx,
				  void (*drop)(void *item))
{
	struct work_queue *q;

	if (threads == 0)
		threads = 1;
	q = calloc(1, sizeof(*q) + threads * sizeof(q->threads[0]));
	if (!q)
		return NULL;
	q->fn = fn;
	q->ctx = ctx;
	q->drop = drop;
	if (pthread_mutex_init(&q->lock, NULL) != 0) {
		free(q);
		return NULL;
	}
	if (pthread_cond_init(&q->work, NULL) != 0) {
		pthread_mutex_destroy(&q->lock);
		free(q);
		return NULL;
	}
	for (; q->nthreads < threads; q->nthreads++)
		if (pthread_create(&q->threads[q->nthreads], NULL, worker, q) != 0)
			break;
	if (q->nthreads == 0) {
		work_queue_free(q);
		return NULL;
	}
	return q;
}

bool work_queue_put(struct work_queue *q, void *item)
{
	struct work_item *w = malloc(sizeof(*w));
	bool queued;

	if (!w)
		return false;
	*w = (struct work_item){ .item = item };
	pthread_mutex_lock(&q->lock);
	queued = !q->stop;
	if (queued) {
		if (q->tail)
			q->tail->next = w;
		else
			q->head = w;
		q->tail = w;
		pthread_cond_signal(&q->work);
	}
	pthread_mutex_unlock(&q->lock);
	if (!queued)
		free(w);
	return queued;
}

unsigned work_queue_threads(const struct work_queue *q)
{
	return q->nthreads;
}

void work_queue_free(struct work_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	while (q->head) {
		struct work_item *w = q->head;

		q->head = w->next;
		if (q->drop)
			q->drop(w->item);
		free(w);
	}
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->work);
	free(q);
}
