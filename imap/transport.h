/*
 * transport — a byte stream to the server: TCP, TLS over TCP, or a tunnel
 * command's stdin/stdout. Every call takes a time limit.
 *
 *   struct imap_transport *t = transport_tcp("mail.example.org", "993", 15000, -1, err, sizeof err);
 *   if (!t || transport_tls(t, "mail.example.org", &tls, 15000, err, sizeof err) < 0) die(err);
 *   transport_write(t, "a1 NOOP\r\n", 9, 30000);
 *   n = transport_read(t, buf, sizeof buf, 30000);
 *
 * TLS always verifies the chain (system store, or tls->cafile) and the host
 * name (or IP address) unless tls->verify is false. err receives one line for
 * the user, e.g. "cannot connect to 10.0.0.1:993: Connection refused" or
 * "certificate not trusted: self-signed certificate in certificate chain".
 */
#ifndef IMAPFS_TRANSPORT_H
#define IMAPFS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct imap_transport;

struct tls_params {
	const char *cafile;  /* NULL: the system store */
	bool verify;         /* false only with -o tls_verify=no */
};

/* Resolves host, connects to the first address that answers within timeout_ms.
 * On failure errno is ETIMEDOUT when the time ran out.
 *
 * cancel_fd (-1: none), here and for a tunnel, is a descriptor that becomes
 * readable when every wait must end (the pool's, at unmount): from then on
 * connecting, TLS, reads and writes of the transport fail with ECANCELED. */
struct imap_transport *transport_tcp(const char *host, const char *port, int timeout_ms,
				     int cancel_fd, char *err, size_t errlen);
/* Starts TLS on a connected TCP transport (implicit TLS, or after STARTTLS's OK). */
int transport_tls(struct imap_transport *t, const char *host, const struct tls_params *tls,
		  int timeout_ms, char *err, size_t errlen);
/* Runs cmd with /bin/sh -c, its stdin and stdout become the stream: two
 * pipes, as a shell would give them (a socket on stdin makes some servers
 * refuse to run); stderr is inherited. Writing to a command that has
 * exited gives EPIPE, never SIGPIPE. */
struct imap_transport *transport_tunnel(const char *cmd, int cancel_fd, char *err,
					size_t errlen);

/* Bytes read (>0), 0 at end of stream, -1 with errno (ETIMEDOUT past timeout_ms, EIO...). */
ssize_t transport_read(struct imap_transport *t, void *buf, size_t len, int timeout_ms);
/* Writes all len bytes within timeout_ms: 0, or -1 with errno. */
int transport_write(struct imap_transport *t, const void *buf, size_t len, int timeout_ms);
/* Makes a read or write waiting on the stream (in any thread) end now and
 * all later ones fail (ECANCELED, or as a shut-down socket fails): a
 * socket is shut down (shutdown(2)); a tunnel's pipes cannot be, so every
 * wait also polls a wake pipe that this makes readable. Frees and closes
 * nothing (transport_free does). Safe beside a running call. */
void transport_abort(struct imap_transport *t);
bool transport_is_tls(const struct imap_transport *t);
/* host is "localhost" or a loopback address (127.0.0.0/8, ::1): where tls=none is allowed. */
bool transport_host_is_loopback(const char *host);
/* Closes the stream (and reaps a tunnel's child). NULL is fine. */
void transport_free(struct imap_transport *t);

#endif
