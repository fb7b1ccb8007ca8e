/*
 * password — password_command, then $IMAPFS_PASSWORD, then the terminal.
 * Every buffer that held the secret is wiped before it is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "password.h"

#define COMMAND_TIMEOUT_MS 60000
/* OAuth tokens run to a few KiB; anything near this is not a password. */
#define MAX_SECRET 65536

struct output {
	char *buf;              /* MAX_SECRET bytes: the first line only */
	size_t len;
	bool have_line;         /* newline seen: the rest is read and dropped */
	bool too_long;
};

static char *fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* posix_spawn, not fork: safe in a threaded caller, and no code runs in the child. */
static int spawn(const char *command, pid_t *pid, int *fd)
{
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	posix_spawn_file_actions_t fa;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	rc = posix_spawn_file_actions_init(&fa);
	if (rc == 0) {
		rc = posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
		if (rc == 0)
			rc = posix_spawn(pid, "/bin/sh", &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(p[1]);
	if (rc) {
		close(p[0]);
		return rc;
	}
	*fd = p[0];
	return 0;
}

static void keep(struct output *out, const char *data, size_t n)
{
	const char *nl = memchr(data, '\n', n);

	if (out->have_line)
		return;
	if (nl) {
		n = (size_t)(nl - data);
		out->have_line = true;
	}
	if (n > MAX_SECRET - out->len) {
		n = MAX_SECRET - out->len;
		out->too_long = true;
	}
	memcpy(out->buf + out->len, data, n);
	out->len += n;
}

/* Reads to EOF so the command never dies of SIGPIPE. 0, or -1 on timeout/error. */
static int read_output(int fd, struct output *out, int64_t deadline)
{
	char chunk[4096];
	int ret = -1;

	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ready;
		ssize_t n;

		if (left <= 0)
			break;
		ready = poll(&pfd, 1, (int)left);

		if (ready < 0 && errno != EINTR)
			break;
		if (ready <= 0)
			continue;
		n = read(fd, chunk, sizeof chunk);
		if (n == 0) {
			ret = 0;
			break;
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			break;
		if (n > 0)
			keep(out, chunk, (size_t)n);
	}
	explicit_bzero(chunk, sizeof chunk);
	return ret;
}

/* Waits for the command until deadline, then kills it; never leaves a zombie. */
static int reap(pid_t pid, int64_t deadline, int *status)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000000 };

	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline)
			break;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

static char *status_error(int status, char *err, size_t errlen)
{
	if (WIFSIGNALED(status))
		return fail(err, errlen, "password command failed: killed by signal %d",
			    WTERMSIG(status));
	return fail(err, errlen, "password command failed: exit status %d",
		    WEXITSTATUS(status));
}

static char *first_line(struct output *out, char *err, size_t errlen)
{
	char *pw;

	if (out->len && out->buf[out->len - 1] == '\r')
		out->len--;
	if (out->too_long)
		return fail(err, errlen, "password command failed: first line too long");
	if (out->len == 0)
		return fail(err, errlen, "password command failed: empty output");
	pw = strndup(out->buf, out->len);
	if (!pw)
		return fail(err, errlen, "out of memory");
	return pw;
}

static char *from_command(const char *command, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + COMMAND_TIMEOUT_MS;
	struct output out = { 0 };
	char *pw = NULL;
	int fd = -1, status = 0, rc, readrc;
	pid_t pid = 0;

	out.buf = malloc(MAX_SECRET);
	if (!out.buf)
		return fail(err, errlen, "out of memory");
	rc = spawn(command, &pid, &fd);
	if (rc) {
		fail(err, errlen, "password command failed: /bin/sh: %s", strerror(rc));
		goto out;
	}
	readrc = read_output(fd, &out, deadline);
	close(fd);
	/* Timed out reading: leave reap no time, so it kills at once. */
	rc = reap(pid, readrc < 0 ? 0 : deadline, &status);
	if (readrc < 0 || rc < 0)
		fail(err, errlen, "password command failed: no answer within %d s",
		     COMMAND_TIMEOUT_MS / 1000);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		status_error(status, err, errlen);
	else
		pw = first_line(&out, err, errlen);
out:
	explicit_bzero(out.buf, MAX_SECRET);
	free(out.buf);
	return pw;
}

/* One line from the terminal; canonical mode hands it over whole. */
static char *read_tty_line(int fd, char *err, size_t errlen)
{
	struct output out = { 0 };
	char chunk[1024];
	char *pw = NULL;
	ssize_t n;

	out.buf = malloc(MAX_SECRET);
	if (!out.buf)
		return fail(err, errlen, "out of memory");
	while (!out.have_line && !out.too_long) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		keep(&out, chunk, (size_t)n);
	}
	if (out.len && out.buf[out.len - 1] == '\r')
		out.len--;
	if (out.too_long)
		fail(err, errlen, "password too long");
	else if (out.len == 0)
		fail(err, errlen, "no password entered");
	else if (!(pw = strndup(out.buf, out.len)))
		fail(err, errlen, "out of memory");
	explicit_bzero(chunk, sizeof chunk);
	explicit_bzero(out.buf, MAX_SECRET);
	free(out.buf);
	return pw;
}

static char *from_tty(int fd, const char *account, char *err, size_t errlen)
{
	struct termios saved, quiet;
	char *pw;

	if (tcgetattr(fd, &saved) < 0)
		return fail(err, errlen, "no password: /dev/tty: %s", strerror(errno));
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;        /* the Enter still moves to a new line */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0)
		return fail(err, errlen, "no password: /dev/tty: %s", strerror(errno));
	dprintf(fd, "Password for %s: ", account ? account : "");
	pw = read_tty_line(fd, err, errlen);
	tcsetattr(fd, TCSAFLUSH, &saved);
	return pw;
}

char *password_get(const char *command, const char *account, char *err, size_t errlen)
{
	const char *env = getenv("IMAPFS_PASSWORD");
	char *pw;
	int fd;

	if (command)
		return from_command(command, err, errlen);
	if (env && *env) {
		pw = strdup(env);
		return pw ? pw : fail(err, errlen, "out of memory");
	}
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "no password: give -o password_command=CMD, "
			    "set IMAPFS_PASSWORD, or run on a terminal");
	pw = from_tty(fd, account, err, errlen);
	close(fd);
	return pw;
}

void password_free(char *pw)
{
	if (!pw)
		return;
	explicit_bzero(pw, strlen(pw));
	free(pw);
}
