#include "request.h"

#include <stdbool.h>

#include "clock.h"

/* This thread's request: per thread, so no lock (see request.h for why). */
static _Thread_local struct timespec deadline;
static _Thread_local bool begun;

void request_begin(long ms)
{
	clock_deadline(&deadline, ms);
	begun = true;
}

void request_deadline(struct timespec *until)
{
	if (begun)
		*until = deadline;
	else
		clock_deadline(until, REQUEST_MS);
}

long request_ms_left(void)
{
	struct timespec until;
	long left;

	request_deadline(&until);
	left = -clock_ms_since(&until);
	return left > 0 ? left : 0;
}
