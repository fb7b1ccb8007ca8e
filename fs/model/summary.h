/*
 * summary — the text of a mailbox's `.summary` file, one line per message:
 * UID, date (ISO 8601, local time with its offset), flags, size, From and
 * Subject, tab-separated, so that grep, cut and column work on it. Pure: no
 * lock, no server; the model (summary_file.c) feeds it its listing.
 *
 *   struct buf b = { 0 };
 *   struct summary_msg s = { .uid = 7, .date = t, .flags = "\\Seen", .size = 4096,
 *                            .from = "Ann <a@b>", .subject = "Báo cáo" };
 *   summary_line(&b, &s);                 // "7\t2026-11-03T14:05:00+07:00\t\\Seen\t4096\tAnn <a@b>\tBáo cáo\n"
 *   if (!b.oom) ... b.data, b.len ...
 *
 * A message's envelope is kept packed in one allocation (env_pack), since a
 * mailbox may hold 100,000 of them.
 */
#ifndef IMAPFS_SUMMARY_H
#define IMAPFS_SUMMARY_H

#include <stdint.h>
#include <time.h>

#include "buf.h"

struct summary_msg {
	uint32_t uid;
	time_t date;              /* INTERNALDATE */
	const char *flags;        /* as the listing has them; NULL: none */
	uint64_t size;            /* RFC822.SIZE */
	const char *from, *subject;  /* decoded; NULL: none */
};

/* Appends one line. From and Subject come out as valid UTF-8 (a byte that
 * is not is U+FFFD) with every control character (C0, DEL, C1) and line or
 * paragraph separator as a space, so one message is always one line. */
void summary_line(struct buf *b, const struct summary_msg *s);

/* A message's envelope in one string: "subject\0from\0message-id\0" (each
 * "" when absent), malloc'd; NULL when out of memory. */
char *env_pack(const char *subject, const char *from, const char *message_id);
const char *env_subject(const char *env);
const char *env_from(const char *env);
const char *env_message_id(const char *env);

#endif
