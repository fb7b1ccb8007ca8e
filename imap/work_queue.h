/*
 * work_queue — items handed, in order, to threads of their own.
 *
 *   struct work_queue *q = work_queue_new(3, run_job, ctx, free_job);
 *   if (!work_queue_put(q, job)) free_job(job);   // no thread to take it
 *   work_queue_free(q);                            // stops, joins, drops the rest
 *
 * For work a request must not wait for, or must not do itself: fetching
 * ahead (fs/content/prefetch) and telling the kernel what vanished from a
 * thread that holds no lock a request needs (fs/fuse/inval). The threads
 * block every signal (they are the FUSE loop's); fn runs without the
 * queue's lock. It lives in imap/ beside the other helpers every layer may
 * use (buf, arena), since imap/ is the library the others build on.
 */
#ifndef IMAPFS_WORK_QUEUE_H
#define IMAPFS_WORK_QUEUE_H

#include <stdbool.h>

typedef void work_fn(void *ctx, void *item);

struct work_queue;

/* threads (at least one) run fn(ctx, item) for each item put; drop frees an
 * item never run (at work_queue_free). NULL when no thread could start. */
struct work_queue *work_queue_new(unsigned threads, work_fn *fn, void *ctx,
				  void (*drop)(void *item));
/* Queues item; false (the caller keeps it) when out of memory or stopping. */
bool work_queue_put(struct work_queue *q, void *item);
/* How many threads run (fewer than asked when some could not start). */
unsigned work_queue_threads(const struct work_queue *q);
/* Stops the threads after the item each one runs, joins them, drops the
 * items left. NULL is fine. */
void work_queue_free(struct work_queue *q);

#endif
