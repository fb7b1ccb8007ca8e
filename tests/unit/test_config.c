/*
 * Unit tests for fs/mount/config.c (the accounts file) and how options.c
 * takes an account from it: syntax errors by line, comments, quoting,
 * permissions for `password`, precedence of -o, and junk that must never
 * crash the parser.
 */
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "options.h"

static char dir[] = "/tmp/imapfs-test-config-XXXXXX";
static char path[PATH_MAX];

static void write_file(const char *text, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void write_text(const char *text)
{
	write_file(text, strlen(text), 0600);
}

/* Loads path; the error (or "") in err. */
static struct config *load(char *err, size_t errlen)
{
	struct config *c = (struct config *)1;

	if (config_load(path, true, &c, err, errlen) < 0) {
		assert_null(c);
		return NULL;
	}
	assert_non_null(c);
	return c;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/config", dir);
	setenv("USER", "tester", 1);
	setenv("HOME", "/home/tester", 1);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("XDG_CONFIG_HOME");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static const char *value_of(const struct config_account *a, const char *key, unsigned *line)
{
	for (size_t i = 0; i < config_entries(a); i++) {
		const char *k, *v;
		unsigned l;

		config_entry(a, i, &k, &v, &l);
		if (strcmp(k, key) == 0) {
			if (line)
				*line = l;
			return v;
		}
	}
	return NULL;
}

static void test_good_file(void **state)
{
	char err[512];
	struct config *c;
	const struct config_account *a;
	unsigned line = 0;

	(void)state;
	write_text("# accounts\n"
		   "\n"
		   "  ; another comment\n"
		   "[work]\n"
		   "host = mail.example.org\n"
		   "\tuser=alice@example.org  \n"
		   "password_command = pass show work # not a comment\n"
		   "tunnel = \"  spaced \\\"quoted\\\" \\\\ \"  \n"
		   "ro = yes\r\n"
		   "[ home.2 ]\n"
		   "host = [::1]\n");
	c = load(err, sizeof err);
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(config_path(c), path);
	a = config_account(c, "work");
	assert_non_null(a);
	assert_int_equal(config_account_line(a), 4);
	assert_int_equal(config_entries(a), 5);
	assert_string_equal(value_of(a, "host", &line), "mail.example.org");
	assert_int_equal(line, 5);
	assert_string_equal(value_of(a, "user", NULL), "alice@example.org");
	assert_string_equal(value_of(a, "password_command", NULL), "pass show work # not a comment");
	assert_string_equal(value_of(a, "tunnel", NULL), "  spaced \"quoted\" \\ ");
	assert_string_equal(value_of(a, "ro", &line), "yes");
	assert_int_equal(line, 9);
	a = config_account(c, "home.2");
	assert_non_null(a);
	assert_string_equal(value_of(a, "host", NULL), "[::1]");
	assert_null(config_account(c, "nothere"));
	assert_null(config_account(c, "Work"));
	assert_null(config_account(c, NULL));
	config_free(c);
}

static const struct {
	const char *text;
	const char *err;          /* after "PATH:" */
} bad[] = {
	{ "host = h\n", "1: 'host' outside an account: begin one with [NAME]" },
	{ "[a]\nhost = h\nfoo = bar\n", "3: unknown key 'foo'" },
	{ "[a]\nhost = h\nHost = x\n", "3: unknown key 'Host'" },
	{ "[a]\nhost h\n", "2: expected KEY = VALUE or [ACCOUNT]" },
	{ "[a]\n= h\n", "2: missing key before '='" },
	{ "[a\nhost = h\n", "1: missing ']'" },
	{ "[a] x\nhost = h\n", "1: text after ']'" },
	{ "[]\n", "1: empty account name" },
	{ "[a b]\n", "1: bad account name 'a b' (letters, digits, '.', '_', '-')" },
	{ "[al@ice]\n", "1: bad account name 'al@ice' (letters, digits, '.', '_', '-')" },
	{ "[a]\nhost = h\n\n[a]\nhost = i\n", "4: account 'a' again (first at line 1)" },
	{ "[a]\nhost = h\nhost = i\n", "3: 'host' again (first at line 2)" },
	{ "[a]\nhost =\n", "2: 'host' has no value" },
	{ "[a]\nhost = \"\"\n", "2: 'host' has no value" },
	{ "[a]\nhost = \"h\n", "2: missing closing '\"'" },
	{ "[a]\nhost = \"h\" x\n", "2: text after the closing '\"'" },
	{ "[a]\nhost = \"h\\n\"\n", "2: unknown escape in quotes (only \\\" and \\\\)" },
	{ "[a]\nhost = h\nro = true\n", "3: 'ro' is yes or no, not 'true'" },
	{ "[a]\nhost = h\nallow_plaintext = 1\n", "3: 'allow_plaintext' is yes or no, not '1'" },
	{ "[a]\nuser = u\n", "1: account 'a' has no host" },
	{ "[a]\nhost = h\n[b]\nport = 1\n", "3: account 'b' has no host" },
	{ "[a]\nhost = h\x01\n", "2: control character 0x01" },
	{ "[a]\nhost = h\x7f\n", "2: control character 0x7f" },
	{ "[a]\nhost = \rh\n", "2: control character 0x0d" },
};

static void test_syntax_errors(void **state)
{
	char err[512], want[PATH_MAX + 256];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_text(bad[i].text);
		if (load(err, sizeof err))
			fail_msg("case %zu accepted", i);
		snprintf(want, sizeof want, "%s:%s", path, bad[i].err);
		assert_string_equal(err, want);
	}
}

static void test_nul_byte(void **state)
{
	static const char text[] = "[a]\nhost = h\nport = 1\0 43\n";
	char err[512], want[PATH_MAX + 64];

	(void)state;
	write_file(text, sizeof text - 1, 0600);
	assert_null(load(err, sizeof err));
	snprintf(want, sizeof want, "%s:3: NUL byte", path);
	assert_string_equal(err, want);
}

static void test_missing_file(void **state)
{
	char err[512], want[PATH_MAX + 64];
	struct config *c = NULL;

	(void)state;
	unlink(path);
	assert_int_equal(config_load(path, false, &c, err, sizeof err), 0);
	assert_non_null(c);
	assert_null(config_account(c, "a"));
	config_free(c);
	assert_int_equal(config_load(path, true, &c, err, sizeof err), -1);
	assert_null(c);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(config_load(dir, false, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: not a regular file", dir);
	assert_string_equal(err, want);
	/* An empty file has no accounts, and that is fine. */
	write_text("");
	c = load(err, sizeof err);
	assert_non_null(c);
	config_free(c);
}

static void test_password_permissions(void **state)
{
	static const char text[] = "[a]\nhost = h\npassword = s3cret\n";
	char err[512], want[PATH_MAX * 2 + 256];
	struct config *c;

	(void)state;
	write_file(text, sizeof text - 1, 0644);
	assert_null(load(err, sizeof err));
	snprintf(want, sizeof want, "%s:3: refusing 'password': the file must be yours and "
		 "private (mode 0644 now; chmod 600 %s), or use password_command", path, path);
	assert_string_equal(err, want);
	write_file(text, sizeof text - 1, 0640);
	assert_null(load(err, sizeof err));
	write_file(text, sizeof text - 1, 0604);
	assert_null(load(err, sizeof err));
	write_file(text, sizeof text - 1, 0400);
	c = load(err, sizeof err);
	assert_non_null(c);
	config_free(c);
	write_file(text, sizeof text - 1, 0600);
	c = load(err, sizeof err);
	assert_non_null(c);
	assert_string_equal(value_of(config_account(c, "a"), "password", NULL), "s3cret");
	config_free(c);
	/* Without a password, the mode does not matter. */
	write_file("[a]\nhost = h\n", 13, 0644);
	c = load(err, sizeof err);
	assert_non_null(c);
	config_free(c);
	/* Someone else's file (only root can make one here) is refused whole
	 * (test_others_can_write); the password in it never gets read. */
	if (geteuid() == 0) {
		write_file(text, sizeof text - 1, 0600);
		assert_int_equal(chown(path, 1, 1), 0);
		assert_null(load(err, sizeof err));
		assert_non_null(strstr(err, "refusing a file another user can change"));
	}
}

/* password_command and tunnel run as us: a file others can change is refused. */
static void test_others_can_write(void **state)
{
	static const char text[] = "[a]\nhost = h\npassword_command = echo x\n";
	char err[512], want[PATH_MAX * 2 + 256];
	struct config *c;

	(void)state;
	write_file(text, sizeof text - 1, 0646);
	assert_null(load(err, sizeof err));
	snprintf(want, sizeof want, "%s: refusing a file another user can change (owner uid "
		 "%u, mode 0646): password_command and tunnel would run their commands as "
		 "you; chown it and chmod go-w %s", path, (unsigned)geteuid(), path);
	assert_string_equal(err, want);
	/* Group write: only for our own group. */
	write_file(text, sizeof text - 1, 0664);
	assert_int_equal(chown(path, (uid_t)-1, getegid()), 0);
	c = load(err, sizeof err);
	assert_non_null(c);
	config_free(c);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, (uid_t)-1, getegid() + 1), 0);
		assert_null(load(err, sizeof err));
		assert_non_null(strstr(err, "refusing a file another user can change"));
		/* Root's file is fine; another user's is not. */
		write_file(text, sizeof text - 1, 0644);
		assert_int_equal(chown(path, 1, 1), 0);
		assert_null(load(err, sizeof err));
		assert_non_null(strstr(err, "(owner uid 1, mode 0644)"));
	}
}

static void test_long_lines(void **state)
{
	size_t n = 200000;
	char *text = malloc(n + 64);
	char err[512], want[PATH_MAX + 64];
	struct config *c;

	(void)state;
	assert_non_null(text);
	strcpy(text, "[a]\nhost = h\npassword_command = ");
	size_t at = strlen(text);
	memset(text + at, 'x', n);
	strcpy(text + at + n, "\n");
	write_text(text);
	c = load(err, sizeof err);
	assert_non_null(c);
	assert_int_equal(strlen(value_of(config_account(c, "a"), "password_command", NULL)), n);
	config_free(c);
	free(text);

	n = 1024 * 1024 + 1;
	text = malloc(n);
	assert_non_null(text);
	memset(text, '#', n);
	write_file(text, n, 0600);
	free(text);
	assert_null(load(err, sizeof err));
	snprintf(want, sizeof want, "%s: larger than 1 MiB", path);
	assert_string_equal(err, want);
}

/* Random bytes, and random mixes of the file's own characters: an answer
 * either way, never a crash (ASan watches). */
static void test_junk(void **state)
{
	static const char alphabet[] = "[]=\"\\#; \t\r\nahostportuserro\x01\x80\xff";
	char buf[512], err[512];
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof buf);
		struct config *c;

		for (size_t i = 0; i < len; i++) {
			int r = rand_r(&seed);

			buf[i] = round % 2 ? (char)r : alphabet[(size_t)r % (sizeof alphabet - 1)];
		}
		write_file(buf, len, 0600);
		c = load(err, sizeof err);
		if (c)
			config_free(c);
		else
			assert_int_equal(strncmp(err, path, strlen(path)), 0);
	}
}

static void test_default_path(void **state)
{
	char *p;

	(void)state;
	p = config_default_path();
	assert_string_equal(p, "/home/tester/.config/imapfs/config");
	free(p);
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	p = config_default_path();
	assert_string_equal(p, "/xdg/imapfs/config");
	free(p);
	setenv("XDG_CONFIG_HOME", "relative", 1);
	p = config_default_path();
	assert_string_equal(p, "/home/tester/.config/imapfs/config");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	assert_null(config_default_path());
	setenv("HOME", "/home/tester", 1);
}

/* options.c with an account from the file */

struct parsed {
	struct imapfs_opts o;
	struct fuse_args args;
	char err[1024];
	int rc;
};

static void parse(struct parsed *p, const char *const *argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(p, 0, sizeof *p);
	p->args = (struct fuse_args)FUSE_ARGS_INIT(argc, (char **)argv);
	p->rc = imapfs_opts_parse(&p->o, &p->args, p->err, sizeof p->err);
}

static void parsed_free(struct parsed *p)
{
	imapfs_opts_free(&p->o);
	fuse_opt_free_args(&p->args);
}

static const char account_text[] =
	"[work]\n"
	"host = mail.example.org\n"
	"port = 1993\n"
	"user = alice@example.org\n"
	"tls = starttls\n"
	"cafile = ~/ca.pem\n"
	"tls_verify = no\n"
	"allow_plaintext = yes\n"
	"auth = PLAIN\n"
	"connections = 2\n"
	"cache_dir = ~/c\n"
	"cache_size = 2G\n"
	"ro = yes\n"
	"password = pw\n"
	"[v6]\n"
	"host = [::1]\n";

static void test_account_from_file(void **state)
{
	char opt[PATH_MAX + 16];
	const char *argv[] = { "imapfs", "-o", opt, "work", "/nonexistent/m", NULL };
	struct parsed p;

	(void)state;
	write_text(account_text);
	snprintf(opt, sizeof opt, "config=%s", path);
	parse(&p, argv);
	if (p.rc)
		fail_msg("%s", p.err);
	assert_string_equal(p.o.host, "mail.example.org");
	assert_string_equal(p.o.port, "1993");
	assert_string_equal(p.o.user, "alice@example.org");
	assert_int_equal(p.o.tls, TLS_STARTTLS);
	assert_string_equal(p.o.cafile, "/home/tester/ca.pem");
	assert_false(p.o.tls_verify);
	assert_true(p.o.allow_plaintext);
	assert_string_equal(p.o.auth, "plain");
	assert_int_equal(p.o.connections, 2);
	assert_string_equal(p.o.cache_dir, "/home/tester/c");
	assert_true(p.o.cache_size == UINT64_C(2) << 30);
	assert_false(p.o.cache_size_default);
	assert_true(p.o.read_only);
	assert_string_equal(p.o.password, "pw");
	assert_null(p.o.password_command);
	assert_int_equal(p.args.argc, 1);
	parsed_free(&p);

	argv[3] = "v6";
	parse(&p, argv);
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.o.host, "::1");
	assert_string_equal(p.o.port, "993");
	assert_string_equal(p.o.user, "tester");
	assert_false(p.o.read_only);
	assert_null(p.o.password);
	parsed_free(&p);

	/* Not an account in the file: a host, as ever. */
	argv[3] = "worker";
	parse(&p, argv);
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.o.host, "worker");
	assert_null(p.o.password);
	parsed_free(&p);
}

static void test_command_line_wins(void **state)
{
	char opt[PATH_MAX + 16];
	const char *argv[] = {
		"imapfs", "-o", opt, "-o", "port=2000,user=bob,tls=implicit,connections=8,rw",
		"-o", "cache_dir=/cd,password_command=echo x", "work", "/nonexistent/m", NULL,
	};
	struct parsed p;

	(void)state;
	write_text(account_text);
	snprintf(opt, sizeof opt, "config=%s", path);
	parse(&p, argv);
	if (p.rc)
		fail_msg("%s", p.err);
	assert_string_equal(p.o.host, "mail.example.org");
	assert_string_equal(p.o.port, "2000");
	assert_string_equal(p.o.user, "bob");
	assert_int_equal(p.o.tls, TLS_IMPLICIT);
	assert_int_equal(p.o.connections, 8);
	assert_string_equal(p.o.cache_dir, "/cd");
	assert_false(p.o.read_only);
	/* The command line's password_command wins over the file's password. */
	assert_string_equal(p.o.password_command, "echo x");
	assert_null(p.o.password);
	parsed_free(&p);
}

static void test_file_values_checked(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "[a]\nhost = h\nport = 99999\n", "3: bad port '99999'" },
		{ "[a]\nhost = al@h\n", "2: bad host 'al@h' (the login name goes in user = ...)" },
		{ "[a]\nhost = h\n\ntls = ssl\n", "4: unknown tls mode 'ssl' (implicit, starttls, none)" },
		{ "[a]\nhost = h\ntls_verify = maybe\n", "3: bad tls_verify 'maybe' (yes, no)" },
		{ "[a]\nhost = h\nauth = cram-md5\n",
		  "3: unknown auth 'cram-md5' (login, plain, scram-sha-256, oauthbearer, xoauth2)" },
		{ "[a]\nhost = h\nconnections = 0\n", "3: connections must be 1..64" },
		{ "[a]\nhost = h\ncache_size = 1T\n", "3: bad cache_size '1T' (BYTES with K, M or G)" },
		{ "[a]\nhost = h\npassword = x\npassword_command = y\n",
		  "4: give password or password_command, not both" },
	};
	char opt[PATH_MAX + 16], want[PATH_MAX + 256];
	const char *argv[] = { "imapfs", "-o", opt, "a", "/nonexistent/m", NULL };
	struct parsed p;

	(void)state;
	snprintf(opt, sizeof opt, "config=%s", path);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_text(cases[i].text);
		parse(&p, argv);
		if (p.rc != -1)
			fail_msg("case %zu accepted", i);
		snprintf(want, sizeof want, "%s:%s", path, cases[i].err);
		assert_string_equal(p.err, want);
		assert_null(p.o.host);
		parsed_free(&p);
	}
}

static void test_config_option_and_default(void **state)
{
	char opt[PATH_MAX + 16], want[PATH_MAX + 64], xdg[PATH_MAX];
	const char *argv[] = { "imapfs", "-o", opt, "a", "/nonexistent/m", NULL };
	const char *plain[] = { "imapfs", "a", "/nonexistent/m", NULL };
	const char *help[] = { "imapfs", "-o", opt, "--help", NULL };
	struct parsed p;

	(void)state;
	/* -o config=PATH must exist; the default need not. */
	unlink(path);
	snprintf(opt, sizeof opt, "config=%s", path);
	parse(&p, argv);
	assert_int_equal(p.rc, -1);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	assert_string_equal(p.err, want);
	parsed_free(&p);
	parse(&p, plain);
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.o.host, "a");
	parsed_free(&p);

	/* The default file, found through XDG_CONFIG_HOME; a broken one is told
	 * even when the argument is a host... */
	snprintf(xdg, sizeof xdg, "%s/xdg", dir);
	assert_int_equal(mkdir(xdg, 0700), 0);
	snprintf(path, sizeof path, "%s/xdg/imapfs", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/xdg/imapfs/config", dir);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	write_text("[a]\nhost = from.file\n");
	parse(&p, plain);
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.o.host, "from.file");
	parsed_free(&p);
	write_text("[a]\nhost = from.file\nbogus = 1\n");
	parse(&p, plain);
	assert_int_equal(p.rc, -1);
	snprintf(want, sizeof want, "%s:3: unknown key 'bogus'", path);
	assert_string_equal(p.err, want);
	parsed_free(&p);
	/* ...but --help still works. */
	snprintf(opt, sizeof opt, "config=%s", path);
	parse(&p, help);
	assert_int_equal(p.rc, 0);
	assert_true(p.o.show_help);
	parsed_free(&p);
	unlink(path);
	snprintf(path, sizeof path, "%s/xdg/imapfs", dir);
	rmdir(path);
	rmdir(xdg);
	unsetenv("XDG_CONFIG_HOME");
	snprintf(path, sizeof path, "%s/config", dir);
}

static void test_fstab_options(void **state)
{
	const char *argv[] = {
		"imapfs", "h", "/dev/fd/3", "-o",
		"rw,dev,suid,nodev,nosuid,exec,noexec,atime,noatime,async,defaults,relatime,"
		"_netdev,noauto,auto,user,users,nouser,nofail,x-systemd.automount,comment=x,nonempty",
		NULL,
	};
	struct parsed p;

	(void)state;
	parse(&p, argv);
	if (p.rc)
		fail_msg("%s", p.err);
	assert_string_equal(p.o.mountpoint, "/dev/fd/3");
	/* What libfuse knows is left for it; the rest is dropped. */
	assert_int_equal(p.args.argc, 3);
	assert_string_equal(p.args.argv[1], "-o");
	assert_string_equal(p.args.argv[2], "rw,dev,suid,nodev,nosuid,exec,noexec,atime,noatime,async");
	parsed_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_password_permissions),
		cmocka_unit_test(test_others_can_write),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_junk),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_account_from_file),
		cmocka_unit_test(test_command_line_wins),
		cmocka_unit_test(test_file_values_checked),
		cmocka_unit_test(test_config_option_and_default),
		cmocka_unit_test(test_fstab_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
