#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>

#include "buf.h"

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

size_t log_control_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if ((u[0] && u[0] < 0x20) || u[0] == 0x7f)
		return 1;
	return u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f ? 2 : 0;
}

/* Appends s with every control character as \xNN. */
static void add_escaped(struct buf *out, const char *s)
{
	buf_add(out, "", 0);
	for (size_t i = 0; s[i];) {
		size_t ctl = log_control_len(s + i);

		if (!ctl)
			buf_add(out, s + i++, 1);
		for (; ctl > 0; ctl--)
			buf_addf(out, "\\x%02X", (unsigned char)s[i++]);
	}
}

static void emit(int level, const char *line)
{
	if (log_target == LOG_TO_SYSLOG) {
		syslog(level, "%s", line);
		return;
	}
	/* One lock so lines from worker threads do not interleave. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "imapfs: %s\n", line);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(int level, const char *fmt, ...)
{
	struct buf line = { 0 }, safe = { 0 };
	va_list ap;

	if (level == LOG_DEBUG && !log_debug)
		return;
	va_start(ap, fmt);
	buf_vaddf(&line, fmt, ap);
	va_end(ap);
	if (!line.oom)
		add_escaped(&safe, line.data ? line.data : "");
	if (line.oom || safe.oom)
		emit(level, "out of memory for a log line"); /* its text may hold anything */
	else
		emit(level, safe.data);
	buf_free(&line);
	buf_free(&safe);
}
