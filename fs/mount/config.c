/*
 * config — the accounts file, read whole (it is small) and checked line by
 * line; every complaint names the file and line, as a compiler would.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"

/* Far above any real file; a bound so that a wrong path (a device, a huge
 * file) fails at once instead of filling memory. */
#define MAX_FILE (1024 * 1024)

struct entry {
	char *key;
	char *value;
	unsigned line;
};

struct config_account {
	char *name;
	unsigned line;
	struct entry *entries;
	size_t n, cap;
};

struct config {
	char *path;
	struct config_account *accounts;
	size_t n, cap;
	bool private;            /* owned by us, no group/other access */
	unsigned long mode;      /* for the message when it is not */
};

/* What the parser needs while it walks the lines. */
struct parse {
	struct config *c;
	unsigned line;
	char *err;
	size_t errlen;
};

static const char *const keys[] = {
	"host", "port", "user", "tls", "cafile", "tls_verify", "allow_plaintext",
	"password_command", "password", "auth", "tunnel", "connections", "cache_dir",
	"cache_size", "ro",
};

static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!p->errlen)
		return -1;
	if (p->line)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->c->path, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->c->path);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

char *config_default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *path = NULL;
	int n;

	/* XDG: a relative value is to be ignored. */
	if (xdg && xdg[0] == '/')
		n = asprintf(&path, "%s/imapfs/config", xdg);
	else if (home && *home)
		n = asprintf(&path, "%s/.config/imapfs/config", home);
	else
		return NULL;
	return n < 0 ? NULL : path;
}

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static char *trim(char *s, char **end)
{
	while (blank(*s))
		s++;
	while (*end > s && blank((*end)[-1]))
		(*end)--;
	**end = '\0';
	return s;
}

static struct config_account *current(struct config *c)
{
	return c->n ? &c->accounts[c->n - 1] : NULL;
}

static int add_account(struct parse *p, char *name, char *end)
{
	struct config *c = p->c;
	struct config_account *a;

	if (end == name)
		return fail(p, "empty account name");
	for (char *s = name; s < end; s++)
		if (!name_char(*s))
			return fail(p, "bad account name '%.*s' (letters, digits, '.', '_', '-')",
				    (int)(end - name), name);
	*end = '\0';
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->accounts[i].name, name) == 0)
			return fail(p, "account '%s' again (first at line %u)", name,
				    c->accounts[i].line);
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4;
		void *grown = realloc(c->accounts, cap * sizeof *c->accounts);

		if (!grown)
			return fail(p, "out of memory");
		c->accounts = grown;
		c->cap = cap;
	}
	a = &c->accounts[c->n];
	memset(a, 0, sizeof *a);
	a->line = p->line;
	a->name = strdup(name);
	if (!a->name)
		return fail(p, "out of memory");
	c->n++;
	return 0;
}

/* "[NAME]" with blanks allowed around NAME. */
static int section(struct parse *p, char *s)
{
	char *close = strchr(s, ']');
	char *name, *end;

	if (!close)
		return fail(p, "missing ']'");
	for (char *t = close + 1; *t; t++)
		if (!blank(*t))
			return fail(p, "text after ']'");
	end = close;
	name = trim(s + 1, &end);
	return add_account(p, name, end);
}

/* A "..." value: \" and \\ are the only escapes; only blanks may follow. */
static int unquote(struct parse *p, const char *s, struct buf *out)
{
	for (s++; *s != '"'; s++) {
		if (!*s)
			return fail(p, "missing closing '\"'");
		if (*s == '\\') {
			s++;
			if (*s != '"' && *s != '\\')
				return fail(p, "unknown escape in quotes (only \\\" and \\\\)");
		}
		buf_add(out, s, 1);
	}
	for (s++; *s; s++)
		if (!blank(*s))
			return fail(p, "text after the closing '\"'");
	buf_add(out, "", 0);
	return out->oom ? fail(p, "out of memory") : 0;
}

static int check_key(struct parse *p, const char *key, const struct config_account *a)
{
	bool known = false;

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		known = known || strcmp(keys[i], key) == 0;
	if (!known)
		return fail(p, "unknown key '%s'", key);
	if (!a)
		return fail(p, "'%s' outside an account: begin one with [NAME]", key);
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->entries[i].key, key) == 0)
			return fail(p, "'%s' again (first at line %u)", key, a->entries[i].line);
	if (strcmp(key, "password") == 0 && !p->c->private)
		return fail(p, "refusing 'password': the file must be yours and private "
			    "(mode %04lo now; chmod 600 %s), or use password_command",
			    p->c->mode, p->c->path);
	return 0;
}

static int check_flag(struct parse *p, const char *key, const char *value)
{
	if (strcmp(key, "ro") && strcmp(key, "allow_plaintext"))
		return 0;
	if (strcmp(value, "yes") && strcmp(value, "no"))
		return fail(p, "'%s' is yes or no, not '%s'", key, value);
	return 0;
}

static int add_entry(struct parse *p, char *key, char *value)
{
	struct config_account *a = current(p->c);
	struct entry *e;

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 8;
		void *grown = realloc(a->entries, cap * sizeof *a->entries);

		if (!grown)
			return fail(p, "out of memory");
		a->entries = grown;
		a->cap = cap;
	}
	e = &a->entries[a->n];
	e->line = p->line;
	e->key = strdup(key);
	e->value = value;
	if (!e->key)
		return fail(p, "out of memory");
	a->n++;
	return 0;
}

/* "KEY = VALUE"; value taken over by the account on success. */
static int assignment(struct parse *p, char *s)
{
	char *eq = strchr(s, '=');
	char *kend, *key, *vend, *val;
	struct buf v = { 0 };

	if (!eq)
		return fail(p, "expected KEY = VALUE or [ACCOUNT]");
	kend = eq;
	key = trim(s, &kend);
	if (!*key)
		return fail(p, "missing key before '='");
	if (check_key(p, key, current(p->c)) < 0)
		return -1;
	vend = eq + 1 + strlen(eq + 1);
	val = trim(eq + 1, &vend);
	if (*val == '"') {
		if (unquote(p, val, &v) < 0)
			goto bad;
	} else {
		buf_str(&v, val);
		if (v.oom) {
			fail(p, "out of memory");
			goto bad;
		}
	}
	if (!v.len) {
		fail(p, "'%s' has no value", key);
		goto bad;
	}
	if (check_flag(p, key, v.data) < 0)
		goto bad;
	val = buf_take(&v);
	if (!val)
		return fail(p, "out of memory");
	if (add_entry(p, key, val) == 0)
		return 0;
	explicit_bzero(val, strlen(val));
	free(val);
	return -1;
bad:
	if (v.data)
		explicit_bzero(v.data, v.len);
	buf_free(&v);
	return -1;
}

static int one_line(struct parse *p, char *s, size_t len)
{
	char *end = s + len;

	/* CRLF files work; any other control character is a mistake (or binary junk). */
	if (len && s[len - 1] == '\r')
		*--end = '\0';
	for (char *t = s; t < end; t++) {
		if (*t == '\0')
			return fail(p, "NUL byte");
		if ((unsigned char)*t < 0x20 && *t != '\t')
			return fail(p, "control character 0x%02x", (unsigned)(unsigned char)*t);
		if (*t == 0x7f)
			return fail(p, "control character 0x7f");
	}
	s = trim(s, &end);
	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return section(p, s);
	return assignment(p, s);
}

static int parse_text(struct parse *p, char *text, size_t len)
{
	char *s = text, *stop = text + len;

	while (s < stop) {
		char *nl = memchr(s, '\n', (size_t)(stop - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(stop - s);

		p->line++;
		s[n] = '\0';
		if (one_line(p, s, n) < 0)
			return -1;
		s += n + 1;
	}
	for (size_t i = 0; i < p->c->n; i++) {
		const struct config_account *a = &p->c->accounts[i];
		bool host = false;

		for (size_t j = 0; j < a->n; j++)
			host = host || strcmp(a->entries[j].key, "host") == 0;
		if (!host) {
			p->line = a->line;
			return fail(p, "account '%s' has no host", a->name);
		}
	}
	return 0;
}

/*
 * Whether only we (or root) can change the file: its password_command and
 * tunnel run as us, so a file another user can write is a way for them to
 * run commands as us (ssh refuses its config file likewise). Group write is
 * allowed for our own group, a private one where umask is 002.
 */
static bool safe_owner(const struct stat *st)
{
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return false;
	if (st->st_mode & S_IWOTH)
		return false;
	return !(st->st_mode & S_IWGRP) || st->st_gid == getegid();
}

/* Reads the whole file into b; 0, 1 when it does not exist, or -1. */
static int read_file(struct parse *p, struct buf *b)
{
	int fd = open(p->c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char chunk[4096];
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 1 : fail(p, "%s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(p, "not a regular file");
	}
	p->c->mode = (unsigned long)(st.st_mode & 07777);
	if (!safe_owner(&st)) {
		close(fd);
		return fail(p, "refusing a file another user can change (owner uid %u, mode "
			    "%04lo): password_command and tunnel would run their commands as "
			    "you; chown it and chmod go-w %s", (unsigned)st.st_uid, p->c->mode,
			    p->c->path);
	}
	p->c->private = st.st_uid == geteuid() && !(st.st_mode & 077);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return fail(p, "%s", strerror(e));
		}
		if (b->len + (size_t)n > MAX_FILE) {
			close(fd);
			return fail(p, "larger than 1 MiB");
		}
		buf_add(b, chunk, (size_t)n);
	}
	explicit_bzero(chunk, sizeof chunk);
	close(fd);
	buf_add(b, "", 0);
	return b->oom ? fail(p, "out of memory") : 0;
}

int config_load(const char *path, bool must_exist, struct config **out, char *err,
		size_t errlen)
{
	struct parse p = { .err = err, .errlen = errlen };
	struct buf text = { 0 };
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	p.c = calloc(1, sizeof *p.c);
	if (!p.c || !(p.c->path = strdup(path))) {
		free(p.c);
		if (errlen)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = read_file(&p, &text);
	if (rc == 1 && must_exist) {
		rc = fail(&p, "%s", strerror(ENOENT));
	} else if (rc == 0 && parse_text(&p, text.data, text.len) < 0) {
		rc = -1;
	}
	if (text.data)
		explicit_bzero(text.data, text.len);
	buf_free(&text);
	if (rc < 0) {
		config_free(p.c);
		return -1;
	}
	*out = p.c;
	return 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		struct config_account *a = &c->accounts[i];

		for (size_t j = 0; j < a->n; j++) {
			/* It may be a password. */
			explicit_bzero(a->entries[j].value, strlen(a->entries[j].value));
			free(a->entries[j].value);
			free(a->entries[j].key);
		}
		free(a->entries);
		free(a->name);
	}
	free(c->accounts);
	free(c->path);
	free(c);
}

const char *config_path(const struct config *c)
{
	return c->path;
}

const struct config_account *config_account(const struct config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n; i++)
		if (strcmp(c->accounts[i].name, name) == 0)
			return &c->accounts[i];
	return NULL;
}

unsigned config_account_line(const struct config_account *a)
{
	return a->line;
}

size_t config_entries(const struct config_account *a)
{
	return a->n;
}

void config_entry(const struct config_account *a, size_t i, const char **key,
		  const char **value, unsigned *line)
{
	*key = a->entries[i].key;
	*value = a->entries[i].value;
	*line = a->entries[i].line;
}
