#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct imap_transport {
	int fd;              /* non-blocking: the socket, or the tunnel's output pipe */
	int wfd;             /* where to write: fd, or the tunnel's input pipe */
	bool pipes;          /* a tunnel: read(2)/write(2), not recv/send */
	/* A tunnel's pipes cannot be shut down: transport_abort sets aborted
	 * and writes to wake[1], which every wait polls beside the stream and
	 * nobody reads, so it stays readable. -1 for sockets. */
	int wake[2];
	atomic_bool aborted;
	pid_t child;         /* tunnel command, or 0 */
	SSL_CTX *ctx;
	SSL *ssl;
	BIO_METHOD *bio_meth;
	int cancel_fd;            /* -1, or readable once every wait must end */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A negative timeout means no limit (-1 deadline). */
static int64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Waits until fd is ready for events or the deadline passes (errno
 * ETIMEDOUT), or cancel_fd or wake_fd (-1: none) is readable (errno
 * ECANCELED). */
static int wait_fd2(int fd, short events, int64_t deadline, int cancel_fd, int wake_fd)
{
	struct pollfd pfd[3] = {
		{ .fd = fd, .events = events },
		{ .fd = cancel_fd, .events = POLLIN },
		{ .fd = wake_fd, .events = POLLIN },
	};
	int left, n;

	for (;;) {
		left = -1;
		if (deadline >= 0) {
			int64_t d = deadline - now_ms();
			left = d < 0 ? 0 : d > INT32_MAX ? INT32_MAX : (int)d;
		}
		n = poll(pfd, 3, left);
		if (n > 0 && (pfd[1].revents || pfd[2].revents)) {
			errno = ECANCELED;
			return -1;
		}
		if (n > 0)
			return 0;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

static int wait_fd(int fd, short events, int64_t deadline, int cancel_fd)
{
	return wait_fd2(fd, events, deadline, cancel_fd, -1);
}

/* A wait on the stream of t: also ends at transport_abort. */
static int t_wait(struct imap_transport *t, int fd, short events, int64_t deadline)
{
	return wait_fd2(fd, events, deadline, t->cancel_fd, t->wake[0]);
}

static struct imap_transport *transport_new(int fd, int cancel_fd)
{
	struct imap_transport *t = calloc(1, sizeof(*t));

	if (t) {
		t->fd = t->wfd = fd;
		t->cancel_fd = cancel_fd;
		t->wake[0] = t->wake[1] = -1;
	}
	return t;
}

static void format_hostport(char *out, size_t outlen, const char *host, const char *port)
{
	if (strchr(host, ':'))
		snprintf(out, outlen, "[%s]:%s", host, port);
	else
		snprintf(out, outlen, "%s:%s", host, port);
}

/* Returns a connected fd, or -1 with errno (ETIMEDOUT when the deadline passed). */
static int connect_one(const struct addrinfo *ai, int64_t deadline, int cancel_fd)
{
	int fd, soerr = 0, one = 1;
	socklen_t len = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_fd(fd, POLLOUT, deadline, cancel_fd) < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			goto fail;
		if (soerr) {
			errno = soerr;
			goto fail;
		}
	}
	/* Commands are small and each waits for its answer: do not delay them. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
fail:
	soerr = errno;
	close(fd);
	errno = soerr;
	return -1;
}

struct imap_transport *transport_tcp(const char *host, const char *port, int timeout_ms,
				     int cancel_fd, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL, *ai;
	struct imap_transport *t;
	int64_t deadline = deadline_after(timeout_ms);
	int rc, fd = -1, last = ECONNREFUSED;
	char hp[300];

	format_hostport(hp, sizeof(hp), host, port);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		set_err(err, errlen, "cannot resolve %s: %s", host,
			rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		errno = EHOSTUNREACH;
		return NULL;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = connect_one(ai, deadline, cancel_fd);
		if (fd < 0)
			last = errno;
		if (last == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (last == ETIMEDOUT)
			set_err(err, errlen, "timed out connecting to %s", hp);
		else
			set_err(err, errlen, "cannot connect to %s: %s", hp, strerror(last));
		errno = last;
		return NULL;
	}
	t = transport_new(fd, cancel_fd);
	if (!t) {
		close(fd);
		set_err(err, errlen, "out of memory");
	}
	return t;
}

/*
 * OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the
 * peer has gone. This BIO uses send(MSG_NOSIGNAL) so that a library never
 * depends on the process ignoring SIGPIPE.
 */
static int bio_write(BIO *b, const char *buf, int len)
{
	int fd = *(int *)BIO_get_data(b);
	ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
	int fd = *(int *)BIO_get_data(b);
	ssize_t n = recv(fd, buf, (size_t)len, 0);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO *socket_bio(struct imap_transport *t)
{
	BIO *b;

	t->bio_meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "imapfs socket");
	if (!t->bio_meth)
		return NULL;
	if (!BIO_meth_set_write(t->bio_meth, bio_write) ||
	    !BIO_meth_set_read(t->bio_meth, bio_read) ||
	    !BIO_meth_set_ctrl(t->bio_meth, bio_ctrl) ||
	    !BIO_meth_set_create(t->bio_meth, bio_create))
		return NULL;
	b = BIO_new(t->bio_meth);
	if (b)
		BIO_set_data(b, &t->fd);
	return b;
}

static bool is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int tls_setup(struct imap_transport *t, const char *host, const struct tls_params *tls,
		     char *err, size_t errlen)
{
	BIO *b;

	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION))
		goto fail;
	if (tls->verify) {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		if (tls->cafile) {
			if (!SSL_CTX_load_verify_locations(t->ctx, tls->cafile, NULL)) {
				set_err(err, errlen, "cannot load CA certificates from %s",
					tls->cafile);
				return -1;
			}
		} else if (!SSL_CTX_set_default_verify_paths(t->ctx)) {
			goto fail;
		}
	}
	t->ssl = SSL_new(t->ctx);
	if (!t->ssl)
		goto fail;
	if (is_ip_literal(host)) {
		if (tls->verify && !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host))
			goto fail;
	} else {
		if (!SSL_set_tlsext_host_name(t->ssl, host))
			goto fail;
		SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (tls->verify && !SSL_set1_host(t->ssl, host))
			goto fail;
	}
	/* Lets a short write return what was sent: transport_write loops anyway. */
	SSL_set_mode(t->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
	b = socket_bio(t);
	if (!b)
		goto fail;
	SSL_set_bio(t->ssl, b, b);
	return 0;
fail:
	set_err(err, errlen, "cannot set up TLS: %s", ERR_reason_error_string(ERR_get_error()));
	return -1;
}

/* Waits for what OpenSSL asked for; 0 to retry, -1 on a real error. */
static int ssl_wait(struct imap_transport *t, int rc, int64_t deadline)
{
	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return t_wait(t, t->fd, POLLIN, deadline);
	case SSL_ERROR_WANT_WRITE:
		return t_wait(t, t->fd, POLLOUT, deadline);
	case SSL_ERROR_ZERO_RETURN:
		errno = ECONNRESET;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (!errno)
			errno = ECONNRESET;
		return -1;
	default:
		errno = EIO;
		return -1;
	}
}

static void tls_handshake_error(struct imap_transport *t, const char *host, int saved_errno,
				char *err, size_t errlen)
{
	long vr = SSL_get_verify_result(t->ssl);
	unsigned long e = ERR_peek_last_error();

	if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
		set_err(err, errlen, "certificate does not match host name %s", host);
	else if (vr != X509_V_OK)
		set_err(err, errlen, "certificate not trusted: %s (%s)",
			X509_verify_cert_error_string(vr), host);
	else if (saved_errno == ETIMEDOUT)
		set_err(err, errlen, "timed out in TLS handshake with %s", host);
	else if (e)
		set_err(err, errlen, "TLS handshake with %s failed: %s", host,
			ERR_reason_error_string(e));
	else
		set_err(err, errlen, "TLS handshake with %s failed: %s", host,
			strerror(saved_errno));
}

int transport_tls(struct imap_transport *t, const char *host, const struct tls_params *tls,
		  int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = deadline_after(timeout_ms);
	int rc;

	if (t->ssl) {
		set_err(err, errlen, "TLS is already active");
		return -1;
	}
	ERR_clear_error();
	if (tls_setup(t, host, tls, err, errlen) < 0)
		goto fail;
	for (;;) {
		errno = 0;
		rc = SSL_connect(t->ssl);
		if (rc == 1)
			break;
		if (ssl_wait(t, rc, deadline) < 0) {
			tls_handshake_error(t, host, errno, err, errlen);
			goto fail;
		}
	}
	return 0;
fail:
	ERR_clear_error();
	SSL_free(t->ssl);
	t->ssl = NULL;
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
	BIO_meth_free(t->bio_meth);
	t->bio_meth = NULL;
	return -1;
}

/* fd moved above the standard descriptors, so that dup2 onto 0 and 1
 * cannot overwrite the other pipe; -1 on failure. Async-signal-safe. */
static int above_stdio(int fd)
{
	return fd > STDERR_FILENO ? fd : fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void tunnel_child(int in, int out, const char *cmd)
{
	sigset_t none;

	in = above_stdio(in);
	out = above_stdio(out);
	if (in < 0 || out < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0)
		_exit(127);
	/* Worker threads block signals and the daemon ignores SIGPIPE: the
	 * command should start with the usual dispositions. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	p[0] = p[1] = -1;
}

/* Our ends of the pipes (and the wake pipe) must not block. */
static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * Pipes, as a shell gives a command, not a socketpair: some commands refuse
 * a socket on stdin (Dovecot's imap: "must not be started from inetd").
 * in: the command's stdin (we write in[1]); out: its stdout (we read out[0]).
 */
struct imap_transport *transport_tunnel(const char *cmd, int cancel_fd, char *err,
					size_t errlen)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	struct imap_transport *t = NULL;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		goto fail;
	t = transport_new(out[0], cancel_fd);
	if (!t) {
		errno = ENOMEM;
		goto fail;
	}
	t->wfd = in[1];
	t->pipes = true;
	if (pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) < 0 || set_nonblock(in[1]) < 0 ||
	    set_nonblock(out[0]) < 0)
		goto fail;
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0)
		tunnel_child(in[0], out[1], cmd);
	close(in[0]);
	close(out[1]);
	t->child = pid;
	return t;
fail:
	set_err(err, errlen, "cannot start tunnel: %s", strerror(errno));
	if (t)
		close_pair(t->wake);
	free(t);
	close_pair(in);
	close_pair(out);
	return NULL;
}

static ssize_t tls_read(struct imap_transport *t, void *buf, size_t len, int64_t deadline)
{
	size_t got;
	int rc;

	for (;;) {
		errno = 0;
		ERR_clear_error();
		rc = SSL_read_ex(t->ssl, buf, len, &got);
		if (rc == 1)
			return (ssize_t)got;
		if (SSL_get_error(t->ssl, rc) == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (ssl_wait(t, rc, deadline) < 0)
			return -1;
	}
}

ssize_t transport_read(struct imap_transport *t, void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = deadline_after(timeout_ms);
	ssize_t n;

	if (atomic_load(&t->aborted)) {
		errno = ECANCELED;
		return -1;
	}
	if (t->ssl)
		return tls_read(t, buf, len, deadline);
	for (;;) {
		n = t->pipes ? read(t->fd, buf, len) : recv(t->fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (t_wait(t, t->fd, POLLIN, deadline) < 0)
			return -1;
	}
}

/*
 * write(2) to a pipe whose reader is gone raises SIGPIPE, which kills a
 * process that does not ignore it (send's MSG_NOSIGNAL has no pipe
 * equivalent): it is blocked in this thread for the call, and one the call
 * raised is taken back before the mask is restored, so only EPIPE remains.
 */
static ssize_t pipe_write(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old, pending;
	struct timespec zero = { 0, 0 };
	bool was_pending;
	ssize_t n;
	int saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	n = write(fd, buf, len);
	saved = errno;
	if (n < 0 && saved == EPIPE && !was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

/* Sends some of buf: bytes written (>0), or -1 with errno (EAGAIN: wait). */
static ssize_t write_some(struct imap_transport *t, const void *buf, size_t len, int64_t deadline)
{
	size_t done;
	int rc;

	if (t->pipes)
		return pipe_write(t->wfd, buf, len);
	if (!t->ssl)
		return send(t->fd, buf, len, MSG_NOSIGNAL);
	for (;;) {
		errno = 0;
		ERR_clear_error();
		rc = SSL_write_ex(t->ssl, buf, len, &done);
		if (rc == 1)
			return (ssize_t)done;
		if (ssl_wait(t, rc, deadline) < 0)
			return -1;
	}
}

int transport_write(struct imap_transport *t, const void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = deadline_after(timeout_ms);
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if (atomic_load(&t->aborted)) {
			errno = ECANCELED;
			return -1;
		}
		n = write_some(t, p, len, deadline);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (t_wait(t, t->wfd, POLLOUT, deadline) < 0)
			return -1;
	}
	return 0;
}

/* Nothing is closed here (another thread may be polling the fds): a
 * socket is shut down, a tunnel woken through its wake pipe; the child
 * sees EOF when transport_free closes the pipes, and is reaped there. */
void transport_abort(struct imap_transport *t)
{
	ssize_t n;

	if (!t)
		return;
	atomic_store(&t->aborted, true);
	if (!t->pipes) {
		if (t->fd >= 0)
			shutdown(t->fd, SHUT_RDWR);
		return;
	}
	do
		n = write(t->wake[1], "x", 1);
	while (n < 0 && errno == EINTR);
}

bool transport_is_tls(const struct imap_transport *t)
{
	return t && t->ssl;
}

bool transport_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!host)
		return false;
	if (!strcasecmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

/* Gives the child up to ms to exit; true once it is reaped. */
static bool reap_within(pid_t pid, int ms)
{
	int64_t deadline = now_ms() + ms;
	struct timespec pause = { 0, 10 * 1000000 };
	pid_t r;

	for (;;) {
		r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return true;
		if (now_ms() >= deadline)
			return false;
		nanosleep(&pause, NULL);
	}
}

/* The socket is closed already, so a well-behaved command sees EOF and exits. */
static void reap_child(pid_t pid)
{
	if (reap_within(pid, 1000))
		return;
	kill(pid, SIGTERM);
	if (reap_within(pid, 500))
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void transport_free(struct imap_transport *t)
{
	if (!t)
		return;
	if (t->ssl) {
		/* close_notify is a courtesy: never wait for it. */
		SSL_set_quiet_shutdown(t->ssl, 1);
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	BIO_meth_free(t->bio_meth);
	if (t->fd >= 0)
		close(t->fd);
	if (t->wfd >= 0 && t->wfd != t->fd)
		close(t->wfd);
	close_pair(t->wake);
	if (t->child > 0)
		reap_child(t->child);
	free(t);
}
