/*
 * slowsync — an LD_PRELOAD shim that makes fsync take SLOWSYNC_MS (default
 * 3000) milliseconds: a slow disk, to show which locks a save holds. Each
 * call is noted (its start, CLOCK_MONOTONIC seconds) in SLOWSYNC_LOG if set.
 *
 *   cc -shared -fPIC -o slowsync.so tests/fake/slowsync.c -ldl
 *   LD_PRELOAD=$PWD/slowsync.so SLOWSYNC_MS=3000 imapfs ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void note(void)
{
	const char *log = getenv("SLOWSYNC_LOG");
	struct timespec now;
	FILE *f;

	if (!log || !(f = fopen(log, "a")))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(f, "%ld.%09ld\n", (long)now.tv_sec, now.tv_nsec);
	fclose(f);
}

int fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	const char *ms = getenv("SLOWSYNC_MS");
	long n = ms ? atol(ms) : 3000;
	struct timespec ts = { n / 1000, (n % 1000) * 1000000 };

	note();
	nanosleep(&ts, NULL);
	return real(fd);
}
