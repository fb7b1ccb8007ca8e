/*
 * options — SPEC.md's command line, parsed with fuse_opt as sshfs does: one
 * table fills raw strings and int flags, then each value is checked and the
 * defaults that depend on others (port, user, cache_dir) are derived.
 */
/* Until the build defines it for every file that includes fuse_lowlevel.h. */
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fuse_opt.h>

#include "config.h"
#include "mbox_names.h"
#include "mountpoint.h"
#include "options.h"

#define DEFAULT_CONNECTIONS 4
#define MAX_CONNECTIONS 64

/*
 * What fuse_opt writes. Flags are int because fuse_opt stores an int through
 * the offset; strings are malloc'd by fuse_opt, which frees a repeated one.
 */
struct raw_opts {
	char *port;
	char *user;
	char *tls;
	char *cafile;
	char *tls_verify;
	char *password_command;
	char *auth;
	char *tunnel;
	char *connections;
	char *cache_dir;
	char *cache_size;
	char *config;
	int allow_plaintext;
	int read_only;          /* -1: not given; 0: -o rw; 1: -o ro */
	int offline;
	int foreground;
	int debug;
	int show_help;
	int show_version;
	char *account;          /* first non-option */
	char *mountpoint;       /* second non-option */
	/* From the account in the config file when the first non-option names one. */
	bool named;
	char *file_host, *file_user, *file_port;
	char *password;
	char *err;
	size_t errlen;
};

#define IMAPFS_OPT(t, field, v) { t, offsetof(struct raw_opts, field), v }

/* A password on the command line is refused: every user can read it in ps. */
#define KEY_PASSWORD 1

static const struct fuse_opt imapfs_opt_table[] = {
	IMAPFS_OPT("port=%s", port, 0),
	IMAPFS_OPT("user=%s", user, 0),
	IMAPFS_OPT("tls=%s", tls, 0),
	IMAPFS_OPT("cafile=%s", cafile, 0),
	IMAPFS_OPT("tls_verify=%s", tls_verify, 0),
	IMAPFS_OPT("allow_plaintext", allow_plaintext, 1),
	IMAPFS_OPT("password_command=%s", password_command, 0),
	IMAPFS_OPT("auth=%s", auth, 0),
	IMAPFS_OPT("tunnel=%s", tunnel, 0),
	IMAPFS_OPT("connections=%s", connections, 0),
	IMAPFS_OPT("cache_dir=%s", cache_dir, 0),
	IMAPFS_OPT("cache_size=%s", cache_size, 0),
	IMAPFS_OPT("offline", offline, 1),
	IMAPFS_OPT("config=%s", config, 0),
	FUSE_OPT_KEY("password=", KEY_PASSWORD),
	/* ro, rw, -f and -d mean something to libfuse as well: set and keep. */
	IMAPFS_OPT("ro", read_only, 1),
	FUSE_OPT_KEY("ro", FUSE_OPT_KEY_KEEP),
	IMAPFS_OPT("rw", read_only, 0),
	FUSE_OPT_KEY("rw", FUSE_OPT_KEY_KEEP),
	/*
	 * Generic mount options that mount(8) and mount.fuse3 may hand on from
	 * fstab and that libfuse 3.14 would call unknown; they mean nothing to
	 * a FUSE mount (libfuse itself takes rw, ro, [no]dev, [no]suid,
	 * [no]exec, async, sync, dirsync, [no]atime). "nonempty" is fuse2's,
	 * whose meaning fuse3 has made the rule.
	 */
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("owner", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("group", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("relatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("norelatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("strictatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nostrictatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("diratime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nodiratime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("lazytime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nolazytime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("iversion", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noiversion", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("silent", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("loud", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nonempty", FUSE_OPT_KEY_DISCARD),
	IMAPFS_OPT("-f", foreground, 1),
	FUSE_OPT_KEY("-f", FUSE_OPT_KEY_KEEP),
	IMAPFS_OPT("-d", debug, 1),
	FUSE_OPT_KEY("-d", FUSE_OPT_KEY_KEEP),
	IMAPFS_OPT("debug", debug, 1),
	FUSE_OPT_KEY("debug", FUSE_OPT_KEY_KEEP),
	IMAPFS_OPT("-h", show_help, 1),
	IMAPFS_OPT("--help", show_help, 1),
	IMAPFS_OPT("-V", show_version, 1),
	IMAPFS_OPT("--version", show_version, 1),
	FUSE_OPT_END
};

static const char *const auth_names[] = {
	"login", "plain", "scram-sha-256", "oauthbearer", "xoauth2",
};

static int seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct raw_opts *r = data;
	char **slot;

	(void)outargs;
	if (key == KEY_PASSWORD)
		return seterr(r->err, r->errlen, "no -o password: anyone can read the command "
			      "line; use password_command or the config file");
	/* fstab's comments and userspace options (x-systemd.automount, ...). */
	if (key == FUSE_OPT_KEY_OPT &&
	    (strncmp(arg, "x-", 2) == 0 || strncmp(arg, "comment=", 8) == 0))
		return 0;
	/* Not ours: libfuse knows it (-s, allow_other) or will say it does not. */
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (!r->account)
		slot = &r->account;
	else if (!r->mountpoint)
		slot = &r->mountpoint;
	else
		return seterr(r->err, r->errlen, "unexpected argument '%s'", arg);
	*slot = strdup(arg);
	if (!*slot)
		return seterr(r->err, r->errlen, "out of memory");
	return 0;
}

static void raw_free(struct raw_opts *r)
{
	char **strings[] = {
		&r->port, &r->user, &r->tls, &r->cafile, &r->tls_verify,
		&r->password_command, &r->auth, &r->tunnel, &r->connections,
		&r->cache_dir, &r->cache_size, &r->config, &r->account, &r->mountpoint,
		&r->file_host, &r->file_user, &r->file_port,
	};

	if (r->password) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
		r->password = NULL;
	}

	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
}

static void set_defaults(struct imapfs_opts *o)
{
	memset(o, 0, sizeof *o);
	o->tls = TLS_IMPLICIT;
	o->tls_verify = true;
	o->connections = DEFAULT_CONNECTIONS;
	o->cache_size = IMAPFS_CACHE_SIZE_MIN;
	o->cache_size_default = true;
}

uint64_t imapfs_default_cache_size(uint64_t room)
{
	uint64_t share = room / IMAPFS_CACHE_SIZE_SHARE;

	if (share < IMAPFS_CACHE_SIZE_MIN)
		return IMAPFS_CACHE_SIZE_MIN;
	return share > IMAPFS_CACHE_SIZE_MAX ? IMAPFS_CACHE_SIZE_MAX : share;
}

int imapfs_parse_size(const char *s, uint64_t *bytes)
{
	unsigned shift = 0;
	uint64_t v;
	char *end;

	/* strtoull would take a sign and blanks; a size has neither. */
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (*end && end[1])
		return -1;
	if (v > UINT64_MAX >> shift)
		return -1;
	*bytes = v << shift;
	return 0;
}

/* 1..65535 in plain decimal, as getaddrinfo's service argument. */
static bool valid_port(const char *s, size_t len)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

static int parse_tls(const char *s, struct imapfs_opts *o, char *err, size_t errlen)
{
	if (!s)
		return 0;
	if (strcmp(s, "implicit") == 0)
		o->tls = TLS_IMPLICIT;
	else if (strcmp(s, "starttls") == 0)
		o->tls = TLS_STARTTLS;
	else if (strcmp(s, "none") == 0)
		o->tls = TLS_NONE;
	else
		return seterr(err, errlen, "unknown tls mode '%s' (implicit, starttls, none)", s);
	return 0;
}

static int parse_tls_verify(const char *s, struct imapfs_opts *o, char *err, size_t errlen)
{
	if (!s)
		return 0;
	if (strcmp(s, "yes") == 0)
		o->tls_verify = true;
	else if (strcmp(s, "no") == 0)
		o->tls_verify = false;
	else
		return seterr(err, errlen, "bad tls_verify '%s' (yes, no)", s);
	return 0;
}

/* Mechanism names are case-insensitive (RFC 4422); keep the canonical spelling. */
static int parse_auth(const char *s, struct imapfs_opts *o, char *err, size_t errlen)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < sizeof auth_names / sizeof auth_names[0]; i++) {
		if (strcasecmp(s, auth_names[i]) == 0) {
			o->auth = strdup(auth_names[i]);
			return o->auth ? 0 : seterr(err, errlen, "out of memory");
		}
	}
	return seterr(err, errlen,
		      "unknown auth '%s' (login, plain, scram-sha-256, oauthbearer, xoauth2)", s);
}

static int parse_connections(const char *s, unsigned *n, char *err, size_t errlen)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = (*s >= '0' && *s <= '9') ? strtoul(s, &end, 10) : 0;
	if (errno || v < 1 || v > MAX_CONNECTIONS || *end)
		return seterr(err, errlen, "connections must be 1..%d", MAX_CONNECTIONS);
	*n = (unsigned)v;
	return 0;
}

static int parse_cache_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	if (imapfs_parse_size(s, bytes) < 0)
		return seterr(err, errlen, "bad cache_size '%s' (BYTES with K, M or G)", s);
	return 0;
}

static int check_port(const char *s, char *err, size_t errlen)
{
	return valid_port(s, strlen(s)) ? 0 : seterr(err, errlen, "bad port '%s'", s);
}

static int parse_numbers(const struct raw_opts *r, struct imapfs_opts *o, char *err,
			 size_t errlen)
{
	if (r->connections && parse_connections(r->connections, &o->connections, err, errlen) < 0)
		return -1;
	if (r->cache_size) {
		if (parse_cache_size(r->cache_size, &o->cache_size, err, errlen) < 0)
			return -1;
		o->cache_size_default = false;
	}
	if (r->port && check_port(r->port, err, errlen) < 0)
		return -1;
	return 0;
}

struct account {
	char *user;
	char *host;
	char *port;
};

static void account_free(struct account *a)
{
	free(a->user);
	free(a->host);
	free(a->port);
}

/* Finds host and port in "HOST[:PORT]" or "[IPV6][:PORT]"; NULL port if none. */
static int split_hostport(const char *h, const char **hend, const char **port,
			  char *err, size_t errlen)
{
	const char *colon;

	if (*h == '[') {
		*hend = strchr(h, ']');
		if (!*hend || ((*hend)[1] && (*hend)[1] != ':'))
			return seterr(err, errlen, "bad host '%s'", h);
		colon = (*hend)[1] ? *hend + 1 : NULL;
	} else {
		colon = strchr(h, ':');
		if (colon && strchr(colon + 1, ':'))
			return seterr(err, errlen,
				      "bad host '%s' (write an IPv6 address in brackets: [ADDR]:PORT)",
				      h);
		*hend = colon ? colon : h + strlen(h);
	}
	*port = colon ? colon + 1 : NULL;
	if (*port && !valid_port(*port, strlen(*port)))
		return seterr(err, errlen, "bad port '%s'", *port);
	return 0;
}

/*
 * [USER@]HOST[:PORT]. The last '@' ends USER, since login names are often
 * mail addresses themselves (alice@example.org@imap.example.org).
 */
static int split_account(const char *s, struct account *a, char *err, size_t errlen)
{
	const char *at = strrchr(s, '@');
	const char *h = at ? at + 1 : s;
	const char *hend = NULL, *port = NULL;
	const char *hstart;

	if (at == s)
		return seterr(err, errlen, "missing user before '@' in '%s'", s);
	if (split_hostport(h, &hend, &port, err, errlen) < 0)
		return -1;
	hstart = *h == '[' ? h + 1 : h;
	if (hend == hstart)
		return seterr(err, errlen, "missing host");
	a->host = strndup(hstart, (size_t)(hend - hstart));
	a->user = at ? strndup(s, (size_t)(at - s)) : NULL;
	a->port = port ? strdup(port) : NULL;
	if (!a->host || (at && !a->user) || (port && !a->port))
		return seterr(err, errlen, "out of memory");
	return 0;
}

/* Moves *from into *to: the option given wins over the one from the account. */
static void take(char **to, char **from)
{
	if (*from) {
		free(*to);
		*to = *from;
		*from = NULL;
	}
}

static int take_user(struct raw_opts *r, struct account *a, struct imapfs_opts *o,
		     char *err, size_t errlen)
{
	const char *env = getenv("USER");

	take(&o->user, &a->user);
	take(&o->user, &r->user);
	if (!o->user && env && *env) {
		o->user = strdup(env);
		if (!o->user)
			return seterr(err, errlen, "out of memory");
	}
	if (o->user && !*o->user)
		return seterr(err, errlen, "empty user name");
	return 0;
}

static int take_port(struct raw_opts *r, struct account *a, struct imapfs_opts *o,
		     char *err, size_t errlen)
{
	take(&o->port, &a->port);
	take(&o->port, &r->port);
	if (!o->port) {
		o->port = strdup(o->tls == TLS_IMPLICIT ? "993" : "143");
		if (!o->port)
			return seterr(err, errlen, "out of memory");
	}
	return 0;
}

/*
 * $XDG_CACHE_HOME/imapfs/USER@HOST (XDG says a relative value is to be
 * ignored). The last component gets the mailbox-name escapes, so a '/' in
 * a login name cannot make a subdirectory and "." cannot start it.
 */
static int default_cache_dir(struct imapfs_opts *o, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char *who = NULL, *leaf = NULL;
	int ret = -1;

	if (xdg && xdg[0] == '/')
		home = NULL;
	else if (home && *home)
		xdg = NULL;
	else
		return seterr(err, errlen, "no cache directory: set HOME or give -o cache_dir=DIR");
	if (asprintf(&who, "%s@%s", o->user, o->host) < 0) {
		who = NULL;
		goto nomem;
	}
	leaf = names_escape(who);
	if (!leaf)
		goto nomem;
	if (asprintf(&o->cache_dir, "%s%s/imapfs/%s", xdg ? xdg : home,
		     xdg ? "" : "/.cache", leaf) < 0) {
		o->cache_dir = NULL;
		goto nomem;
	}
	ret = 0;
	goto out;
nomem:
	seterr(err, errlen, "out of memory");
out:
	free(leaf);
	free(who);
	return ret;
}

/* An existing mountpoint is made absolute: we may chdir("/") when daemonizing. */
static int take_mountpoint(struct raw_opts *r, struct imapfs_opts *o, char *err,
			   size_t errlen)
{
	if (!r->mountpoint)
		return 0;
	/* libfuse takes /dev/fd/N as a descriptor of /dev/fuse, not a path. */
	if (!mountpoint_is_fd(r->mountpoint))
		o->mountpoint = realpath(r->mountpoint, NULL);
	if (!o->mountpoint)
		take(&o->mountpoint, &r->mountpoint);
	if (!o->mountpoint)
		return seterr(err, errlen, "out of memory");
	return 0;
}

/* A value from the file, checked as its -o twin is. */
static int check_value(const char *key, const char *value, char *err, size_t errlen)
{
	struct imapfs_opts scratch;
	uint64_t size;
	unsigned n;
	int rc = 0;

	set_defaults(&scratch);
	if (strcmp(key, "host") == 0 && strpbrk(value, "@/ \t"))
		rc = seterr(err, errlen, "bad host '%s' (the login name goes in user = ...)",
			    value);
	else if (strcmp(key, "port") == 0)
		rc = check_port(value, err, errlen);
	else if (strcmp(key, "tls") == 0)
		rc = parse_tls(value, &scratch, err, errlen);
	else if (strcmp(key, "tls_verify") == 0)
		rc = parse_tls_verify(value, &scratch, err, errlen);
	else if (strcmp(key, "auth") == 0)
		rc = parse_auth(value, &scratch, err, errlen);
	else if (strcmp(key, "connections") == 0)
		rc = parse_connections(value, &n, err, errlen);
	else if (strcmp(key, "cache_size") == 0)
		rc = parse_cache_size(value, &size, err, errlen);
	free(scratch.auth);
	return rc;
}

/* Where a string key of the file goes; host, user and port go to the account. */
static char **file_slot(struct raw_opts *r, const char *key)
{
	static const struct {
		const char *key;
		size_t offset;
	} slots[] = {
		{ "host", offsetof(struct raw_opts, file_host) },
		{ "user", offsetof(struct raw_opts, file_user) },
		{ "port", offsetof(struct raw_opts, file_port) },
		{ "tls", offsetof(struct raw_opts, tls) },
		{ "cafile", offsetof(struct raw_opts, cafile) },
		{ "tls_verify", offsetof(struct raw_opts, tls_verify) },
		{ "password_command", offsetof(struct raw_opts, password_command) },
		{ "password", offsetof(struct raw_opts, password) },
		{ "auth", offsetof(struct raw_opts, auth) },
		{ "tunnel", offsetof(struct raw_opts, tunnel) },
		{ "connections", offsetof(struct raw_opts, connections) },
		{ "cache_dir", offsetof(struct raw_opts, cache_dir) },
		{ "cache_size", offsetof(struct raw_opts, cache_size) },
	};

	for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
		if (strcmp(slots[i].key, key) == 0)
			return (char **)((char *)r + slots[i].offset);
	return NULL;
}

/* "~/x" is $HOME/x in the paths of the file, as a shell would have it. */
static char *file_value(const char *key, const char *value)
{
	const char *home = getenv("HOME");
	char *s = NULL;

	if ((strcmp(key, "cafile") == 0 || strcmp(key, "cache_dir") == 0) &&
	    strncmp(value, "~/", 2) == 0 && home && *home)
		return asprintf(&s, "%s%s", home, value + 1) < 0 ? NULL : s;
	return strdup(value);
}

/* One KEY = VALUE: taken when the command line did not give it. */
static int apply_entry(struct raw_opts *r, const char *key, const char *value, char *err,
		       size_t errlen)
{
	bool yes = strcmp(value, "yes") == 0;
	char **slot;

	if (check_value(key, value, err, errlen) < 0)
		return -1;
	if (strcmp(key, "ro") == 0) {
		if (r->read_only < 0)
			r->read_only = yes;
		return 0;
	}
	if (strcmp(key, "allow_plaintext") == 0) {
		r->allow_plaintext |= yes;
		return 0;
	}
	slot = file_slot(r, key);
	if (!slot || *slot)
		return 0;
	*slot = file_value(key, value);
	return *slot ? 0 : seterr(err, errlen, "out of memory");
}

/* Prefixes err with "PATH:LINE: ". */
static int at_line(const struct config *c, unsigned line, char *err, size_t errlen)
{
	char what[512];

	snprintf(what, sizeof what, "%s", err);
	return seterr(err, errlen, "%s:%u: %s", config_path(c), line, what);
}

static int apply_account(struct raw_opts *r, const struct config *c,
			 const struct config_account *a, char *err, size_t errlen)
{
	bool own_command = r->password_command != NULL;
	unsigned password_line = 0, command_line = 0;

	for (size_t i = 0; i < config_entries(a); i++) {
		const char *key, *value;
		unsigned line;

		config_entry(a, i, &key, &value, &line);
		if (apply_entry(r, key, value, err, errlen) < 0)
			return at_line(c, line, err, errlen);
		if (strcmp(key, "password") == 0)
			password_line = line;
		if (strcmp(key, "password_command") == 0)
			command_line = line;
	}
	if (password_line && command_line) {
		seterr(err, errlen, "give password or password_command, not both");
		return at_line(c, password_line > command_line ? password_line : command_line,
			       err, errlen);
	}
	/* The command line's password_command wins over the file's password. */
	if (own_command && r->password) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
		r->password = NULL;
	}
	r->named = true;
	return 0;
}

/*
 * The first non-option is an account when the config file has one of that
 * name; otherwise it is [USER@]HOST[:PORT]. The file is read either way, so
 * that a mistake in it is told at once, not on the day it is first used.
 */
static int read_config(struct raw_opts *r, char *err, size_t errlen)
{
	char *path = r->config ? strdup(r->config) : config_default_path();
	struct config *c = NULL;
	const struct config_account *a;
	int ret = 0;

	if (!path)
		return r->config ? seterr(err, errlen, "out of memory") : 0;
	if (config_load(path, r->config != NULL, &c, err, errlen) < 0) {
		free(path);
		return -1;
	}
	a = config_account(c, r->account);
	if (a)
		ret = apply_account(r, c, a, err, errlen);
	config_free(c);
	free(path);
	return ret;
}

static int take_account(struct raw_opts *r, struct imapfs_opts *o, char *err, size_t errlen)
{
	struct account a = { 0 };
	int ret = -1;

	if (r->named) {
		a.host = r->file_host;
		a.user = r->file_user;
		a.port = r->file_port;
		r->file_host = r->file_user = r->file_port = NULL;
		/* "[::1]" as on the command line, or plain "::1". */
		if (a.host[0] == '[' && a.host[strlen(a.host) - 1] == ']') {
			memmove(a.host, a.host + 1, strlen(a.host));
			a.host[strlen(a.host) - 1] = '\0';
		}
	} else if (r->account && split_account(r->account, &a, err, errlen) < 0) {
		goto out;
	}
	take(&o->host, &a.host);
	if (take_user(r, &a, o, err, errlen) < 0 || take_port(r, &a, o, err, errlen) < 0)
		goto out;
	take(&o->cache_dir, &r->cache_dir);
	if (o->cache_dir && !*o->cache_dir) {
		seterr(err, errlen, "empty cache_dir");
		goto out;
	}
	if (!o->cache_dir && o->user && o->host && default_cache_dir(o, err, errlen) < 0)
		goto out;
	ret = 0;
out:
	account_free(&a);
	return ret;
}

static int check_required(const struct imapfs_opts *o, char *err, size_t errlen)
{
	/* --help and --version need no account. */
	if (o->show_help || o->show_version)
		return 0;
	if (!o->host)
		return seterr(err, errlen, "missing ACCOUNT or [USER@]HOST, and MOUNTPOINT");
	if (!o->mountpoint)
		return seterr(err, errlen, "missing mountpoint");
	if (!o->user)
		return seterr(err, errlen, "no user name: give USER@HOST or -o user=NAME");
	return 0;
}

static int build(struct raw_opts *r, struct imapfs_opts *o, char *err, size_t errlen)
{
	o->allow_plaintext = r->allow_plaintext;
	o->read_only = r->read_only > 0;
	o->offline = r->offline;
	o->debug = r->debug;
	o->foreground = r->foreground || r->debug;
	o->show_help = r->show_help;
	o->show_version = r->show_version;
	if (parse_tls(r->tls, o, err, errlen) < 0 ||
	    parse_tls_verify(r->tls_verify, o, err, errlen) < 0 ||
	    parse_auth(r->auth, o, err, errlen) < 0 ||
	    parse_numbers(r, o, err, errlen) < 0)
		return -1;
	take(&o->cafile, &r->cafile);
	take(&o->password_command, &r->password_command);
	take(&o->tunnel, &r->tunnel);
	take(&o->password, &r->password);
	if (take_account(r, o, err, errlen) < 0 || take_mountpoint(r, o, err, errlen) < 0)
		return -1;
	return check_required(o, err, errlen);
}

int imapfs_opts_parse(struct imapfs_opts *o, struct fuse_args *args, char *err, size_t errlen)
{
	struct raw_opts r = { .err = err, .errlen = errlen, .read_only = -1 };
	int ret = -1;

	set_defaults(o);
	if (errlen)
		err[0] = '\0';
	if (fuse_opt_parse(args, &r, imapfs_opt_table, opt_proc) == -1) {
		/* fuse_opt has printed its own reason unless it was ours. */
		if (errlen && !err[0])
			seterr(err, errlen, "bad command line");
		goto out;
	}
	/* --help and --version work whatever the file holds. */
	if (!r.show_help && !r.show_version && read_config(&r, err, errlen) < 0)
		goto out;
	if (build(&r, o, err, errlen) < 0) {
		imapfs_opts_free(o);
		goto out;
	}
	ret = 0;
out:
	raw_free(&r);
	return ret;
}

void imapfs_opts_free(struct imapfs_opts *o)
{
	free(o->host);
	free(o->port);
	free(o->user);
	free(o->mountpoint);
	free(o->cafile);
	free(o->password_command);
	free(o->auth);
	free(o->tunnel);
	free(o->cache_dir);
	if (o->password) {
		explicit_bzero(o->password, strlen(o->password));
		free(o->password);
	}
	memset(o, 0, sizeof *o);
}

void imapfs_opts_usage(FILE *out, const char *progname)
{
	fprintf(out,
"usage: %s [options] [USER@]HOST[:PORT] MOUNTPOINT\n"
"       %s [options] ACCOUNT MOUNTPOINT\n"
"       %s --help | --version\n"
"\n"
"Mounts the IMAP account USER@HOST on MOUNTPOINT. HOST may be an IPv6 address\n"
"in brackets ([::1]:993); USER may contain '@' (the last one ends it).\n"
"ACCOUNT is a [NAME] in the config file: a name found there is that account,\n"
"anything else is a host. -o options win over the file's.\n"
"MOUNTPOINT must be an existing directory that is not a mount point; this,\n"
"the options and the TLS policy are checked before any password is asked.\n"
"Unmount with: fusermount3 -u MOUNTPOINT\n"
"\n"
"imapfs options:\n"
"    -h, --help             print this help and exit\n"
"    -V, --version          print the version and exit\n"
"    -f                     stay in the foreground\n"
"    -d, -o debug           print debugging output (implies -f)\n"
"    -s                     single-threaded\n"
"    -o port=N              server port; wins over HOST:PORT\n"
"                           (default: 993, or 143 with tls=starttls/none)\n"
"    -o user=NAME           login name; wins over USER@ (default: $USER)\n"
"    -o tls=MODE            implicit, starttls or none (default: implicit);\n"
"                           none only to a loopback host or with allow_plaintext\n"
"    -o cafile=PATH         trust these CA certificates (default: system store)\n"
"    -o tls_verify=yes|no   verify certificate and host name (default: yes)\n"
"    -o allow_plaintext     allow tls=none to a host that is not loopback\n"
"    -o password_command=CMD\n"
"                           first line of CMD's output (/bin/sh -c) is the\n"
"                           password or OAuth token; write a ',' in CMD as '\\,'\n"
"                           (default: the account's password in the config\n"
"                           file, else $IMAPFS_PASSWORD, else ask on the terminal)\n"
"    -o auth=MECH           login, plain, scram-sha-256, oauthbearer or xoauth2\n"
"                           (default: the best the server offers)\n"
"    -o tunnel=CMD          speak IMAP over CMD's stdin/stdout, pre-authenticated\n"
"                           (default: connect to HOST)\n"
"    -o connections=N       IMAP connections, 1..%d (default: %d)\n"
"    -o cache_dir=DIR       persistent cache\n"
"                           (default: $XDG_CACHE_HOME/imapfs/USER@HOST,\n"
"                           or ~/.cache/imapfs/USER@HOST)\n"
"    -o cache_size=BYTES    content cache bound, K/M/G suffixes (default: a tenth\n"
"                           of the free space of cache_dir's file system plus what\n"
"                           the cache holds, measured at mount; 1G to 64G)\n"
"    -o ro                  read-only: never change anything on the server\n"
"    -o rw                  read-write (the default; wins over ro = yes in the file)\n"
"    -o offline             not in this version: refused (imapfs needs the server\n"
"                           to mount; content fetched before is read from the cache)\n"
"    -o config=PATH         accounts file (default: $XDG_CONFIG_HOME/imapfs/config,\n"
"                           or ~/.config/imapfs/config); its format: README\n"
"\n"
"Generic mount options from fstab (dev, nosuid, noatime, _netdev, noauto,\n"
"x-systemd.*, ...) are accepted. Exit status: 2 for a wrong command line or\n"
"config file, 1 for any other failure.\n",
		progname, progname, progname, MAX_CONNECTIONS, DEFAULT_CONNECTIONS);
}
