#include "summary.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static bool breaks_line(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029;
}

/* One field: valid UTF-8, nothing that would end the line or the field. */
static void add_text(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), run = 0;

	for (size_t i = 0; i < n;) {
		uint32_t c = 0;
		size_t len = mime_utf8_next(p + i, n - i, &c);

		if (len && !breaks_line(c)) {
			run += len;
			i += len;
			continue;
		}
		buf_add(b, p + i - run, run);
		run = 0;
		buf_str(b, len ? " " : "\xef\xbf\xbd"); /* U+FFFD for a bad byte */
		i += len ? len : 1;
	}
	buf_add(b, p + n - run, run);
}

/* ISO 8601 in the process's local time (TZ), with its offset: +07:00. */
static void add_date(struct buf *b, time_t t)
{
	char text[64];
	struct tm tm;
	long off;

	if (!localtime_r(&t, &tm) || !strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm)) {
		buf_str(b, "?");
		return;
	}
	off = tm.tm_gmtoff;
	buf_addf(b, "%s%c%02ld:%02ld", text, off < 0 ? '-' : '+', labs(off) / 3600,
		 labs(off) % 3600 / 60);
}

void summary_line(struct buf *b, const struct summary_msg *s)
{
	buf_addf(b, "%u\t", s->uid);
	add_date(b, s->date);
	buf_add(b, "\t", 1);
	add_text(b, s->flags);
	buf_addf(b, "\t%llu\t", (unsigned long long)s->size);
	add_text(b, s->from);
	buf_add(b, "\t", 1);
	add_text(b, s->subject);
	buf_add(b, "\n", 1);
}

char *env_pack(const char *subject, const char *from, const char *message_id)
{
	const char *parts[3] = { subject ? subject : "", from ? from : "",
				 message_id ? message_id : "" };
	size_t len[3], total = 0;
	char *env, *at;

	for (int i = 0; i < 3; i++)
		total += (len[i] = strlen(parts[i])) + 1;
	env = malloc(total);
	if (!env)
		return NULL;
	at = env;
	for (int i = 0; i < 3; i++) {
		memcpy(at, parts[i], len[i] + 1);
		at += len[i] + 1;
	}
	return env;
}

const char *env_subject(const char *env)
{
	return env;
}

const char *env_from(const char *env)
{
	return env + strlen(env) + 1;
}

const char *env_message_id(const char *env)
{
	const char *from = env_from(env);

	return from + strlen(from) + 1;
}
