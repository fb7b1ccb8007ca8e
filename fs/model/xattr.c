/*
 * xattr — extended attributes of message directories and files (the
 * names and values are in README); the root's and mailbox directories'
 * come from server_info.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "inode.h"
#include "model_int.h"
#include "summary.h"


static const char *const msg_xattrs[] = {
	"user.imap.flags", "user.imap.uid", "user.imap.internaldate", "user.imap.size", NULL,
};

/* On message.eml files and content files (freedesktop conventions), with
 * the envelope's. */
static const char *const file_xattrs[] = {
	"user.mime_type", NULL,
};

/* The envelope's attributes, on the message directory and its files. */
#define XA_SUBJECT "user.xdg.origin.email.subject"
#define XA_FROM "user.xdg.origin.email.from"
#define XA_MESSAGE_ID "user.xdg.origin.email.message-id"

/* The envelope attribute name stands for, or NULL when it is none of them
 * (env: env_pack form). */
static const char *env_value(const char *env, const char *name)
{
	if (strcmp(name, XA_SUBJECT) == 0)
		return env_subject(env);
	if (strcmp(name, XA_FROM) == 0)
		return env_from(env);
	if (strcmp(name, XA_MESSAGE_ID) == 0)
		return env_message_id(env);
	return NULL;
}

/* The NUL-separated list of names, then user.charset if charset, then the
 * envelope's attributes that have a value (an absent Message-ID is no
 * attribute, not an empty one). */
static int name_list(const char *const *names, bool charset, const char *env, char **list,
		     size_t *len)
{
	static const char *const env_names[] = { XA_SUBJECT, XA_FROM, XA_MESSAGE_ID };
	struct buf b = { 0 };

	*list = NULL;
	*len = 0;
	for (size_t i = 0; names[i]; i++)
		buf_add(&b, names[i], strlen(names[i]) + 1);
	if (charset)
		buf_add(&b, "user.charset", sizeof("user.charset"));
	for (size_t i = 0; env && i < 3; i++)
		if (*env_value(env, env_names[i]))
			buf_add(&b, env_names[i], strlen(env_names[i]) + 1);
	*len = b.len;
	*list = buf_take(&b);
	if (!*list) {
		*len = 0;
		return -ENOMEM;
	}
	return 0;
}

/* A content file's part, when it is text. */
static bool is_text_content(const struct msg_detail *d, uint64_t ino)
{
	const struct mime_part *p = ino_type(ino) == INO_CONTENT ? detail_part(d, ino_sub(ino)) : NULL;

	return p && strcmp(p->type, "text") == 0;
}

/* The root's and a mailbox directory's names (server_info.c). */
static int dir_name_list(struct model *m, uint64_t ino, char **list, size_t *len)
{
	struct buf b = { 0 };

	if (ino_type(ino) == INO_ROOT)
		root_xattr_names(&b);
	else {
		mbox_xattr_names(m, ino, &b);
		rights_xattr_name(m, ino_mbox(ino), &b);
	}
	buf_add(&b, "", 0);
	*len = b.len;
	*list = buf_take(&b);
	if (!*list)
		*len = 0;
	return *list ? 0 : -ENOMEM;
}

int model_listxattr(struct model *m, uint64_t ino, char **list, size_t *len)
{
	struct msg_detail *d;
	struct stat st;
	char *env = NULL;
	bool text;
	int rc = model_getattr(m, ino, &st);

	*list = NULL;
	*len = 0;
	if (rc)
		return rc;
	switch (ino_type(ino)) {
	case INO_MSG:
		/* The envelope alone: listing a message's attributes fetches no
		 * structure and no body. */
		rc = env_get(m, ino, &env);
		if (rc == 0)
			rc = name_list(msg_xattrs, false, env, list, len);
		free(env);
		return rc;
	case INO_EML:
	case INO_PEML:
	case INO_CONTENT:
		rc = detail_get(m, ino, &d);
		if (rc)
			return rc;
		text = is_text_content(d, ino);
		env = env_pack(msg_detail_subject(d), msg_detail_from(d), msg_detail_message_id(d));
		msg_detail_unref(d);
		rc = env ? name_list(file_xattrs, text, env, list, len) : -ENOMEM;
		free(env);
		return rc;
	case INO_ROOT:
	case INO_MBOX:
		return dir_name_list(m, ino, list, len);
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

	if (strcmp(name, "user.mime_type") == 0) {
		if (ino_type(ino) != INO_CONTENT)
			*value = strdup("message/rfc822");
		else if (asprintf(value, "%s/%s", p->type, p->subtype) < 0)
			*value = NULL;
	} else if (strcmp(name, "user.charset") == 0) {
		if (!is_text_content(d, ino))
			return -ENODATA;
		*value = strdup("utf-8");
	} else if (strcmp(name, XA_SUBJECT) == 0 || strcmp(name, XA_FROM) == 0 ||
		   strcmp(name, XA_MESSAGE_ID) == 0) {
		char *env = env_pack(msg_detail_subject(d), msg_detail_from(d),
				     msg_detail_message_id(d));
		const char *v = env ? env_value(env, name) : NULL;
		bool absent = v && !*v;

		*value = v && *v ? strdup(v) : NULL;
		free(env);
		if (absent)
			return -ENODATA; /* no attribute, not an empty one */
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

/* A message directory's envelope attribute: the envelope alone is fetched. */
static int msg_env_xattr(struct model *m, uint64_t ino, const char *name, char **value)
{
	const char *v;
	char *env;
	int rc;

	*value = NULL;
	if (strcmp(name, XA_SUBJECT) != 0 && strcmp(name, XA_FROM) != 0 &&
	    strcmp(name, XA_MESSAGE_ID) != 0)
		return -ENODATA; /* not one of them: nothing to fetch */
	rc = env_get(m, ino, &env);
	if (rc)
		return rc;
	v = env_value(env, name);
	if (!*v)
		rc = -ENODATA; /* absent: no attribute */
	else if (!(*value = strdup(v)))
		rc = -ENOMEM;
	free(env);
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
		rc = strncmp(name, "user.xdg.origin.email.", 22) == 0 ? msg_env_xattr(m, ino, name, value)
								      : msg_xattr(m, ino, name, value);
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
	case INO_ROOT:
		rc = root_xattr(m, name, value);
		break;
	case INO_MBOX:
		rc = strcmp(name, "user.imap.rights") == 0 ? rights_xattr(m, ino_mbox(ino), value)
							    : mbox_xattr(m, ino, name, value);
		break;
	default:
		rc = -ENODATA;
	}
	if (rc == 0)
		*len = strlen(*value);
	return rc;
}
