/*
 * log — one place where imapfs reports what happens.
 *
 *   log_open(LOG_TO_STDERR, debug);        // -f: stderr; daemonized: LOG_TO_SYSLOG
 *   log_msg(LOG_ERR, "cannot fetch %u: %s", uid, why);
 *   if (log_debug_enabled()) log_msg(LOG_DEBUG, "C: %s", line);
 *
 * Levels are syslog's. LOG_DEBUG lines are dropped unless debug is on (-d).
 * Nothing may ever pass a password or token to this module: callers mask
 * them first (see imap_conn's protocol trace).
 */
#ifndef IMAPFS_LOG_H
#define IMAPFS_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };

void log_open(enum log_target target, bool debug);
bool log_debug_enabled(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
