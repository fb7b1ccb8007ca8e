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
 *
 * Every control character of a line (log_control_len) is written as \xNN,
 * whatever its arguments hold: text from a server (a mailbox name with a
 * line feed, an escape sequence) can neither start a line of its own in
 * syslog nor drive the terminal that shows stderr. A backslash stays as it
 * is, so "\x0A" in a line may also be those four characters as sent.
 */
#ifndef IMAPFS_LOG_H
#define IMAPFS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };

void log_open(enum log_target target, bool debug);
bool log_debug_enabled(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* How many bytes the control character at s takes: 1 for C0 (below 0x20)
 * and DEL, 2 for C1 (U+0080 to U+009F in UTF-8), 0 when s starts with none.
 * The one definition the log and the mailbox names (fs/model/mbox_names)
 * escape by. */
size_t log_control_len(const char *s);

#endif
