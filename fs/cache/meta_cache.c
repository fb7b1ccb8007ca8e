#include "meta_cache.h"

#include "buf.h"
#include "dirs.h"
#include "fileio.h"
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

/*
 * File layout, all integers little-endian so a cache survives a move between
 * machines (and a foreign one is refused by its checksum, not misread):
 *
 *   magic "IMFSMETA" | u32 version | u64 payload length | SHA-256 of payload
 *   payload: u32 uidvalidity, u32 uidnext, u64 highestmodseq, u64 n,
 *            n × { u32 uid, i64 date, u64 size, str flags,
 *                  ostr bodystructure, ostr subject, ostr from, ostr message_id }
 *   str: u32 length + bytes; ostr: the same, or u32 NO_STR for NULL.
 */
#define MAGIC "IMFSMETA"
#define MAGIC_LEN 8
#define VERSION 1
#define DIGEST_LEN 32
#define HEADER_LEN (MAGIC_LEN + 4 + 8 + DIGEST_LEN)
#define MBOX_LEN 24                   /* the payload before the messages */
#define MSG_MIN_LEN (4 + 8 + 8 + 5 * 4) /* a message with all strings empty/NULL */
#define NO_STR UINT32_MAX
#define FILE_MAX (1ULL << 32)         /* larger is not a listing we wrote */

struct meta_cache {
	char *dir;
};

/* ---- paths ---- */


/* dir/<hex sha256 of mailbox><suffix> */
static int path_of(const struct meta_cache *mc, const char *mailbox, const char *suffix,
		   char *path, size_t size)
{
	char name[CACHE_NAME_LEN + 1];
	int n;

	if (cache_file_name(mailbox, name) < 0)
		return -EIO;
	n = snprintf(path, size, "%s/%s%s", mc->dir, name, suffix);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

struct meta_cache *meta_cache_open(const char *dir)
{
	struct meta_cache *mc;
	int rc;

	if (!dir) {
		errno = EINVAL;
		return NULL;
	}
	rc = make_dirs(dir);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	mc = calloc(1, sizeof(*mc));
	if (!mc)
		return NULL;
	mc->dir = strdup(dir);
	if (!mc->dir) {
		free(mc);
		return NULL;
	}
	return mc;
}

void meta_cache_close(struct meta_cache *mc)
{
	if (!mc)
		return;
	free(mc->dir);
	free(mc);
}

void cached_mailbox_free(struct cached_mailbox *mb)
{
	if (!mb)
		return;
	for (size_t i = 0; i < mb->n; i++) {
		struct cached_msg *m = &mb->msgs[i];

		free(m->flags);
		free(m->bodystructure);
		free(m->subject);
		free(m->from);
		free(m->message_id);
	}
	free(mb->msgs);
	free(mb);
}

/* ---- encoding ---- */

/* The low bytes of v at out, little-endian. */
static void put_le(unsigned char *out, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		out[i] = (unsigned char)(v >> (8 * i));
}

static void w_u64(struct buf *b, uint64_t v, int bytes)
{
	unsigned char le[8];

	put_le(le, v, bytes);
	buf_add(b, le, (size_t)bytes);
}

static void w_str(struct buf *b, const char *s)
{
	size_t len;

	if (!s) {
		w_u64(b, NO_STR, 4);
		return;
	}
	len = strlen(s);
	/* A string this long is no listing: refuse rather than truncate. */
	if (len >= NO_STR) {
		b->oom = true;
		return;
	}
	w_u64(b, len, 4);
	buf_add(b, s, len);
}

static void encode(struct buf *b, const struct cached_mailbox *mb)
{
	w_u64(b, mb->uidvalidity, 4);
	w_u64(b, mb->uidnext, 4);
	w_u64(b, mb->highestmodseq, 8);
	w_u64(b, mb->n, 8);
	for (size_t i = 0; i < mb->n && !b->oom; i++) {
		const struct cached_msg *m = &mb->msgs[i];

		w_u64(b, m->uid, 4);
		w_u64(b, (uint64_t)(int64_t)m->date, 8);
		w_u64(b, m->size, 8);
		w_str(b, m->flags ? m->flags : "");
		w_str(b, m->bodystructure);
		w_str(b, m->subject);
		w_str(b, m->from);
		w_str(b, m->message_id);
	}
}

/* ---- decoding: every read is bounds-checked against the payload ---- */

struct rbuf {
	const unsigned char *p;
	size_t len, off;
	bool bad;
};

static uint64_t r_u64(struct rbuf *b, int bytes)
{
	uint64_t v = 0;

	if (b->bad || b->len - b->off < (size_t)bytes) {
		b->bad = true;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)b->p[b->off + (size_t)i] << (8 * i);
	b->off += (size_t)bytes;
	return v;
}

/* 0, -ENOENT on a malformed string, -ENOMEM. *s stays NULL for NO_STR. */
static int r_str(struct rbuf *b, char **s, bool optional)
{
	uint64_t len = r_u64(b, 4);

	*s = NULL;
	if (b->bad)
		return -ENOENT;
	if (len == NO_STR)
		return optional ? 0 : -ENOENT;
	if (b->len - b->off < len) {
		b->bad = true;
		return -ENOENT;
	}
	*s = malloc(len + 1);
	if (!*s)
		return -ENOMEM;
	memcpy(*s, b->p + b->off, len);
	(*s)[len] = '\0';
	b->off += len;
	return 0;
}

static int decode_msg(struct rbuf *b, struct cached_msg *m)
{
	int rc;

	m->uid = (uint32_t)r_u64(b, 4);
	m->date = (time_t)(int64_t)r_u64(b, 8);
	m->size = r_u64(b, 8);
	if ((rc = r_str(b, &m->flags, false)) || (rc = r_str(b, &m->bodystructure, true)) ||
	    (rc = r_str(b, &m->subject, true)) || (rc = r_str(b, &m->from, true)))
		return rc;
	return r_str(b, &m->message_id, true);
}

static int decode(struct rbuf *b, struct cached_mailbox **out)
{
	struct cached_mailbox *mb = calloc(1, sizeof(*mb));
	uint64_t n;
	int rc = -ENOMEM;

	if (!mb)
		return -ENOMEM;
	mb->uidvalidity = (uint32_t)r_u64(b, 4);
	mb->uidnext = (uint32_t)r_u64(b, 4);
	mb->highestmodseq = r_u64(b, 8);
	n = r_u64(b, 8);
	/* The count must fit what is left, so a bad one cannot ask for memory. */
	rc = -ENOENT;
	if (b->bad || n > (b->len - b->off) / MSG_MIN_LEN)
		goto fail;
	mb->msgs = calloc(n ? n : 1, sizeof(*mb->msgs));
	rc = -ENOMEM;
	if (!mb->msgs)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		mb->n = i + 1;      /* so that a failure frees what was read */
		rc = decode_msg(b, &mb->msgs[i]);
		if (rc)
			goto fail;
		rc = -ENOENT;
		/* Sorted, unique and non-zero, as the model relies on. */
		if (mb->msgs[i].uid == 0 || (i && mb->msgs[i].uid <= mb->msgs[i - 1].uid))
			goto fail;
	}
	rc = -ENOENT;
	if (b->off != b->len)
		goto fail;
	*out = mb;
	return 0;
fail:
	cached_mailbox_free(mb);
	return rc;
}

/* ---- files ---- */

static int read_all(int fd, unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOENT;     /* shorter than its header says */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads the whole file; -ENOENT when absent or of an impossible size. */
static int slurp(const char *path, unsigned char **data, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	*data = NULL;
	if (fd < 0)
		return -errno;
	rc = -errno;
	if (fstat(fd, &st) < 0)
		goto out;
	rc = -ENOENT;
	if (!S_ISREG(st.st_mode) || st.st_size < HEADER_LEN || (uint64_t)st.st_size > FILE_MAX)
		goto out;
	*len = (size_t)st.st_size;
	*data = malloc(*len);
	rc = -ENOMEM;
	if (!*data)
		goto out;
	rc = read_all(fd, *data, *len);
	if (rc) {
		free(*data);
		*data = NULL;
	}
out:
	close(fd);
	return rc;
}

static bool header_ok(const unsigned char *p, size_t len)
{
	unsigned char md[DIGEST_LEN];
	unsigned int mdlen = 0;
	struct rbuf h = { p + MAGIC_LEN, HEADER_LEN - MAGIC_LEN, 0, false };
	uint64_t version, plen;

	if (memcmp(p, MAGIC, MAGIC_LEN) != 0)
		return false;
	version = r_u64(&h, 4);
	plen = r_u64(&h, 8);
	if (version != VERSION || plen != len - HEADER_LEN)
		return false;
	if (!EVP_Digest(p + HEADER_LEN, (size_t)plen, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != DIGEST_LEN)
		return false;
	return memcmp(md, p + MAGIC_LEN + 4 + 8, DIGEST_LEN) == 0;
}

int meta_cache_load(struct meta_cache *mc, const char *mailbox, struct cached_mailbox **out)
{
	char path[PATH_MAX];
	unsigned char *data;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!mc || !mailbox)
		return -EINVAL;
	rc = path_of(mc, mailbox, "", path, sizeof(path));
	if (rc)
		return rc;
	rc = slurp(path, &data, &len);
	if (rc)
		return rc;
	rc = -ENOENT;
	if (header_ok(data, len)) {
		struct rbuf b = { data + HEADER_LEN, len - HEADER_LEN, 0, false };

		rc = decode(&b, out);
	}
	free(data);
	return rc;
}

/* The header in front of an encoded payload (room was left for it). */
static int seal(struct buf *b)
{
	unsigned char *h = (unsigned char *)b->data;
	unsigned char md[DIGEST_LEN];
	unsigned int mdlen = 0;

	if (!EVP_Digest(h + HEADER_LEN, b->len - HEADER_LEN, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != DIGEST_LEN)
		return -EIO;
	memcpy(h, MAGIC, MAGIC_LEN);
	put_le(h + MAGIC_LEN, VERSION, 4);
	put_le(h + MAGIC_LEN + 4, b->len - HEADER_LEN, 8);
	memcpy(h + MAGIC_LEN + 4 + 8, md, DIGEST_LEN);
	return 0;
}

/* Data then name are made durable, so a crash leaves the old file or the new. */
static int write_durably(const char *tmp, const char *path, const char *dir,
			 const struct buf *b)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return -errno;
	rc = fd_write_all(fd, (const unsigned char *)b->data, b->len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

int meta_cache_save(struct meta_cache *mc, const char *mailbox, const struct cached_mailbox *mb)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	struct buf b = { 0 };
	int rc, n;

	if (!mc || !mailbox || !mb || (mb->n && !mb->msgs))
		return -EINVAL;
	rc = path_of(mc, mailbox, "", path, sizeof(path));
	if (rc)
		return rc;
	/* Per process: two mounts of one account must not share a tmp file. */
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	buf_add(&b, (unsigned char[HEADER_LEN]){ 0 }, HEADER_LEN);
	encode(&b, mb);
	rc = -ENOMEM;
	if (b.oom)
		goto out;
	rc = seal(&b);
	if (!rc)
		rc = write_durably(tmp, path, mc->dir, &b);
out:
	buf_free(&b);
	return rc;
}

int meta_cache_drop(struct meta_cache *mc, const char *mailbox)
{
	char path[PATH_MAX];
	int rc;

	if (!mc || !mailbox)
		return -EINVAL;
	rc = path_of(mc, mailbox, "", path, sizeof(path));
	if (rc)
		return rc;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
