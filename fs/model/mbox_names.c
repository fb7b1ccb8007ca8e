/*
 * names — the escapes of SPEC.md "Layout" for one mailbox hierarchy level.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mbox_names.h"

static const char hex[] = "0123456789ABCDEF";

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool needs_escape(const char *level, size_t i)
{
	char c = level[i];

	if (c == '%' || c == '/')
		return true;
	/* Only the first character: enough to make the name neither a UID nor hidden. */
	return i == 0 && (c == '.' || all_digits(level));
}

static char *put_escape(char *p, unsigned char c)
{
	*p++ = '%';
	*p++ = hex[c >> 4];
	*p++ = hex[c & 0xf];
	return p;
}

char *names_escape(const char *level)
{
	size_t len = strlen(level);
	char *out, *p;

	if (len == 0) {
		errno = EINVAL;
		return NULL;
	}
	out = malloc(3 * len + 1);
	if (!out)
		return NULL;
	p = out;
	for (size_t i = 0; i < len;) {
		/* A control character could move the cursor or forge lines in
		 * whatever prints the name: each of its bytes is escaped. */
		size_t ctl = log_control_len(level + i);

		if (!ctl && !needs_escape(level, i))
			*p++ = level[i++];
		else if (!ctl)
			p = put_escape(p, (unsigned char)level[i++]);
		for (; ctl > 0; ctl--)
			p = put_escape(p, (unsigned char)level[i++]);
	}
	*p = '\0';
	return out;
}

static int hexval(char c)
{
	const char *p = strchr(hex, c);

	return c && p ? (int)(p - hex) : -1;
}

/* Decodes every %XX (upper-case hex only); -1 on a truncated or bad escape. */
static int decode(const char *shown, char *out)
{
	while (*shown) {
		if (*shown != '%') {
			*out++ = *shown++;
			continue;
		}
		int hi = hexval(shown[1]);
		int lo = hi < 0 ? -1 : hexval(shown[2]);

		if (lo < 0)
			return -1;
		*out++ = (char)(hi << 4 | lo);
		shown += 3;
	}
	*out = '\0';
	return 0;
}

/*
 * Exactly one shown form exists per name, so re-escaping the decoded name and
 * comparing rejects every needless escape, raw '/', leading '.', all-digit
 * name and embedded NUL (%00) without listing the cases one by one.
 */
char *names_unescape(const char *shown)
{
	char *level = NULL, *again = NULL;
	int err = EINVAL;

	level = malloc(strlen(shown) + 1);
	if (!level)
		return NULL;
	if (!*shown || decode(shown, level) < 0)
		goto fail;
	again = names_escape(level);
	if (!again) {
		err = errno;
		goto fail;
	}
	if (strcmp(again, shown) != 0)
		goto fail;
	free(again);
	return level;

fail:
	free(again);
	free(level);
	errno = err;
	return NULL;
}
