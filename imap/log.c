#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>

/* The log target is set once in main before any thread starts. */
static enum log_target log_target = LOG_TO_STDERR;
static bool log_debug;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_open(enum log_target target, bool debug)
{
	log_target = target;
	log_debug = debug;
	if (target == LOG_TO_SYSLOG)
		openlog("imapfs", LOG_PID, LOG_DAEMON);
}

bool log_debug_enabled(void)
{
	return log_debug;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level == LOG_DEBUG && !log_debug)
		return;
	va_start(ap, fmt);
	if (log_target == LOG_TO_SYSLOG) {
		vsyslog(level, fmt, ap);
	} else {
		/* One lock so lines from worker threads do not interleave. */
		pthread_mutex_lock(&log_lock);
		fputs("imapfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		pthread_mutex_unlock(&log_lock);
	}
	va_end(ap);
}
