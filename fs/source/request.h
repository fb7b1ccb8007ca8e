/*
 * request — the one deadline of the request a thread is serving.
 *
 *   request_begin(REQUEST_MS);        // ops.c, as a FUSE request arrives
 *   ...                               // any depth below, any number of waits:
 *   request_deadline(&until);         // pthread_cond_timedwait(..., &until)
 *   if (request_ms_left() == 0) return -ETIMEDOUT;
 *
 * A FUSE request chains waits (for a listing another thread runs, for a
 * connection, a prefetch, a fill, a command and its retry): each used to
 * have its own limit, and they added up to minutes. Now each wait ends by
 * the request's one deadline. A request is served by one thread from its
 * arrival to its reply, so the deadline is kept per thread, like errno,
 * rather than passed through every function of the model. Worker threads
 * (prefetch, fill, invalidation) call request_begin per job.
 */
#ifndef IMAPFS_REQUEST_H
#define IMAPFS_REQUEST_H

#include <time.h>

/* All a FUSE request may take, every wait and retry included. */
#define REQUEST_MS 20000

/* Starts this thread's request: its deadline is ms from now. */
void request_begin(long ms);
/* The deadline (CLOCK_MONOTONIC) of this thread's request; a thread that
 * began none gets REQUEST_MS from now. */
void request_deadline(struct timespec *until);
/* Milliseconds left before the deadline, 0 when past. */
long request_ms_left(void);

#endif
