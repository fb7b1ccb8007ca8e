/*
 * clock — time limits, on the monotonic clock (a clock step must not stretch
 * or cut a wait).
 *
 *   struct timespec until;
 *   clock_deadline(&until, 30000);                       // for pthread_cond_timedwait
 *   if (clock_ms_since(&loaded_at) > 2000) refresh();
 *   pthread_cond_timedwait(&cond, &lock, &until);        // cond made by clock_cond_init
 *
 * Condition variables waited on with these deadlines must be made by
 * clock_cond_init (on the monotonic clock).
 */
#ifndef IMAPFS_CLOCK_H
#define IMAPFS_CLOCK_H

#include <pthread.h>
#include <time.h>

void clock_deadline(struct timespec *ts, long ms);
long clock_ms_since(const struct timespec *t);
/* pthread_cond_init for clock_deadline's waits; 0 or an error number. */
int clock_cond_init(pthread_cond_t *cond);

#endif
