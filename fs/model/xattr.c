/*
 * xattr — extended attributes of message directories and files (the
 * names and values are in README).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inode.h"
#include "model_int.h"


static const char *const msg_xattrs[] = {
	"user.imap.flags", "user.imap.uid", "user.imap.internaldate", "user.imap.size", NULL,
};

/* On message.eml files and content files (freedesktop conventions). */
static const char *const file_xattrs[] = {
	"user.mime_type", "user.xdg.origin.email.subject", "user.xdg.origin.email.from",
	"user.xdg.origin.email.message-id", NULL,
};

/* An origin xattr's text, "" when the message has no such header (the
 * detail keeps absence as ""); NULL for any other name. */
static const char *origin_text(const struct msg_detail *d, const char *name)
{
	if (strcmp(name, "user.xdg.origin.email.subject") == 0)
		return msg_detail_subject(d);
	if (strcmp(name, "user.xdg.origin.email.from") == 0)
		return msg_detail_from(d);
	if (strcmp(name, "user.xdg.origin.email.message-id") == 0)
		return msg_detail_message_id(d);
	return NULL;
}

/* Whether a name is listed: an origin xattr of a message without that header is
 * absent, as getxattr answers ENODATA for it. d NULL: every name. */
static bool listed(const struct msg_detail *d, const char *name)
{
	const char *text = d ? origin_text(d, name) : NULL;

	return !text || *text;
}

/* The NUL-separated list of names (those d has, see listed), plus user.charset if charset. */
static int name_list(const char *const *names, const struct msg_detail *d, bool charset,
		     char **list, size_t *len)
{
	size_t total = charset ? sizeof("user.charset") : 0;

	for (size_t i = 0; names[i]; i++)
		total += strlen(names[i]) + 1;
	*list = malloc(total ? total : 1);
	if (!*list)
		return -ENOMEM;
	*len = 0;
	for (size_t i = 0; names[i]; i++) {
		if (!listed(d, names[i]))
			continue;
		memcpy(*list + *len, names[i], strlen(names[i]) + 1);
		*len += strlen(names[i]) + 1;
	}
	if (charset) {
		memcpy(*list + *len, "user.charset", sizeof("user.charset"));
		*len += sizeof("user.charset");
	}
	return 0;
}

/* A content file's part, when it is text. */
static bool is_text_content(const struct msg_detail *d, uint64_t ino)
{
	const struct mime_part *p = ino_type(ino) == INO_CONTENT ? detail_part(d, ino_sub(ino)) : NULL;

	return p && strcmp(p->type, "text") == 0;
}

int model_listxattr(struct model *m, uint64_t ino, char **list, size_t *len)
{
	struct msg_detail *d;
	struct stat st;
	bool text;
	int rc = model_getattr(m, ino, &st);

	*list = NULL;
	*len = 0;
	if (rc)
		return rc;
	switch (ino_type(ino)) {
	case INO_MSG:
		return name_list(msg_xattrs, NULL, false, list, len);
	case INO_EML:
	case INO_PEML:
	case INO_CONTENT:
		rc = detail_get(m, ino, &d);
		if (rc)
			return rc;
		text = is_text_content(d, ino);
		rc = name_list(file_xattrs, d, text, list, len);
		msg_detail_unref(d);
		return rc;
	default:
		return 0;
	}
}

/* The text of one message xattr. Caller holds the lock; msg is current. */
static char *xattr_text(const struct msg *msg, const char *name)
{
	char buf[64];
	struct tm tm;

	if (strcmp(name, "user.imap.flags") == 0)
		return strdup(msg->flags ? msg->flags : "");
	if (strcmp(name, "user.imap.uid") == 0) {
		snprintf(buf, sizeof(buf), "%u", msg->uid);
	} else if (strcmp(name, "user.imap.size") == 0) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)msg->size);
	} else if (strcmp(name, "user.imap.internaldate") == 0) {
		/* IMAP's own date-time spelling, in UTC. */
		if (!gmtime_r(&msg->date, &tm) ||
		    !strftime(buf, sizeof(buf), "%d-%b-%Y %H:%M:%S +0000", &tm))
			return NULL;
	} else {
		errno = ENODATA;
		return NULL;
	}
	return strdup(buf);
}

/* A file's xattr value from the message's detail. */
static int file_xattr(const struct msg_detail *d, uint64_t ino, const char *name, char **value)
{
	const struct mime_part *p = detail_part(d, ino_sub(ino));
	const char *origin = origin_text(d, name);

	if (origin) {
		if (!*origin)
			return -ENODATA;
		*value = strdup(origin);
	} else if (strcmp(name, "user.mime_type") == 0) {
		if (ino_type(ino) != INO_CONTENT)
			*value = strdup("message/rfc822");
		else if (asprintf(value, "%s/%s", p->type, p->subtype) < 0)
			*value = NULL;
	} else if (strcmp(name, "user.charset") == 0) {
		if (!is_text_content(d, ino))
			return -ENODATA;
		*value = strdup("utf-8");
	} else {
		return -ENODATA;
	}
	return *value ? 0 : -ENOMEM;
}

/* A message directory's xattr from the table. */
static int msg_xattr(struct model *m, uint64_t ino, const char *name, char **value)
{
	struct msg *msg;
	uint32_t id;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	id = msg_mbox(m, ino);
	if (!id) {
		pthread_mutex_unlock(&m->lock);
		return -ENOENT;
	}
	/* Flags are the one thing other clients change: answer from a listing
	 * no older than MODEL_FRESH_MS. */
	if (strcmp(name, "user.imap.flags") == 0)
		rc = ensure_loaded(m, id, true);
	/* The listing may have found a new UIDVALIDITY: ino is then a past view. */
	if (rc == 0 && msg_mbox(m, ino) != id)
		rc = -ENOENT;
	msg = rc == 0 ? msg_find(&m->mbox[id], ino_uid(ino)) : NULL;
	if (!msg) {
		pthread_mutex_unlock(&m->lock);
		return rc ? rc : -ENOENT;
	}
	errno = ENOMEM;
	*value = xattr_text(msg, name);
	rc = *value ? 0 : -errno;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int model_getxattr(struct model *m, uint64_t ino, const char *name, char **value, size_t *len)
{
	struct msg_detail *d;
	struct stat st;
	int rc = model_getattr(m, ino, &st);

	*value = NULL;
	*len = 0;
	if (rc)
		return rc;
	switch (ino_type(ino)) {
	case INO_MSG:
		rc = msg_xattr(m, ino, name, value);
		break;
	case INO_EML:
	case INO_PEML:
	case INO_CONTENT:
		rc = detail_get(m, ino, &d);
		if (rc == 0) {
			rc = file_xattr(d, ino, name, value);
			msg_detail_unref(d);
		}
		break;
	default:
		rc = -ENODATA;
	}
	if (rc == 0)
		*len = strlen(*value);
	return rc;
}
