// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The write commands (imap/write.h) against a server that sends whatever
 * the input says: the answers to SELECT (PERMANENTFLAGS, READ-ONLY), STATUS,
 * COPY/MOVE (COPYUID, tagged or untagged), APPEND (APPENDUID, the "+" of a
 * synchronising literal), SEARCH (quoted and literal Message-ID), LIST,
 * STORE and UID EXPUNGE, through imap/conn.c as a real connection reads
 * them: a loopback TCP stream that holds the input and then ends.
 *
 * Input: byte 0 flags, then what the server sends after its greeting.
 *   flags & 3   literals: 0 synchronising, 1 LITERAL+, 2 LITERAL-, 3 LITERAL-
 *               with an APPEND over 4096 bytes (synchronising again)
 *   flags & 4   no MOVE capability
 * The client's commands are tagged a1, a2, ... in the order of ops below
 * (a command refused before sending takes no tag).
 *
 * Checks, besides the sanitizers: every call returns an imap_err; every
 * out-parameter is defined on every path (zeroed on an error; a landed UID
 * has its UIDVALIDITY; SEARCH results are non-zero, >= the first UID asked,
 * and NULL when there are none); a read-only or failed SELECT leaves no
 * read-write selection; a connection that broke stays broken.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "transport.h"
#include "write.h"

#define GREETING_MAX 200

static int listener = -1;
static char port[16];
static int msg_fd = -1;

static void setup(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	char body[5000];

	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(listener >= 0, "socket: %s", strerror(errno));
	FUZZ_CHECK(bind(listener, (struct sockaddr *)&sa, sizeof sa) == 0, "bind");
	FUZZ_CHECK(listen(listener, 4) == 0, "listen");
	FUZZ_CHECK(getsockname(listener, (struct sockaddr *)&sa, &len) == 0, "getsockname");
	snprintf(port, sizeof port, "%u", (unsigned)ntohs(sa.sin_port));
	/* The message appended: 5000 bytes, the first 12 or all of it. */
	msg_fd = memfd_create("fuzz_write", MFD_CLOEXEC);
	FUZZ_CHECK(msg_fd >= 0, "memfd_create");
	memset(body, 'x', sizeof body);
	memcpy(body, "Hello\r\nWorld", 12);
	FUZZ_CHECK(write(msg_fd, body, sizeof body) == (ssize_t)sizeof body, "write");
}

/* FUZZ_WRITE_TRACE=1: each call's result on stderr, to check a seed. */
static void trace(const char *what, int rc, struct imap_conn *c)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FUZZ_WRITE_TRACE") != NULL;
	if (on)
		fprintf(stderr, "%s: %d %s [%s]\n", what, rc, imap_conn_last_text(c) ?
			imap_conn_last_text(c) : "", imap_conn_last_code(c) ? imap_conn_last_code(c) : "");
}

static bool is_err(int rc)
{
	return rc <= IMAP_OK && rc >= IMAP_ESTOP;
}

static void check_landed(struct imap_conn *c, const char *what, int rc,
			 const struct imap_landed *to)
{
	trace(what, rc, c);
	FUZZ_CHECK(is_err(rc), "%s: rc %d", what, rc);
	if (rc != IMAP_OK)
		FUZZ_CHECK(to->uid == 0 && to->uidvalidity == 0, "%s: landed %u/%u on error %d",
			   what, to->uidvalidity, to->uid, rc);
	FUZZ_CHECK(to->uid == 0 || to->uidvalidity != 0, "%s: uid %u without uidvalidity", what,
		   to->uid);
}

static void check_uids(struct imap_conn *c, const char *what, int rc, struct imap_uids *u,
		       uint32_t first)
{
	trace(what, rc, c);
	FUZZ_CHECK(is_err(rc), "%s: rc %d", what, rc);
	FUZZ_CHECK((u->n == 0) == (u->uids == NULL), "%s: %zu uids at %p", what, u->n,
		   (void *)u->uids);
	if (rc != IMAP_OK)
		FUZZ_CHECK(u->n == 0, "%s: %zu uids on error %d", what, u->n, rc);
	for (size_t i = 0; i < u->n; i++)
		FUZZ_CHECK(u->uids[i] != 0 && u->uids[i] >= first, "%s: uid %u below %u", what,
			   u->uids[i], first);
	free(u->uids);
	/* Garbage again, so that the next call must define it. */
	u->uids = (uint32_t *)(uintptr_t)1;
	u->n = 77;
}

static void check_status(struct imap_conn *c, const char *what, int rc,
			 const struct imap_mailbox_status *st)
{
	trace(what, rc, c);
	FUZZ_CHECK(is_err(rc), "%s: rc %d", what, rc);
	if (rc != IMAP_OK)
		FUZZ_CHECK(st->exists == 0 && st->uidvalidity == 0 && st->uidnext == 0 &&
				   st->highestmodseq == 0, "%s: status kept on error %d", what, rc);
}

static void check_bool(struct imap_conn *c, const char *what, int rc, bool b)
{
	trace(what, rc, c);
	FUZZ_CHECK(is_err(rc) && (rc == IMAP_OK || !b), "%s: %d on %d", what, b, rc);
}

static void check_broken_stays(struct imap_conn *c, bool *broken)
{
	FUZZ_CHECK(!*broken || imap_conn_broken(c), "a broken connection came back");
	*broken = imap_conn_broken(c);
}

static void ops(struct imap_conn *c, uint8_t flags)
{
	struct imap_mailbox_status st;
	struct imap_landed to;
	struct imap_uids u = { (uint32_t *)(uintptr_t)1, 77 };
	bool b, broken = false;
	int rc;

	memset(&st, 0x5a, sizeof st);
	rc = imap_select(c, "INBOX", &st);
	check_status(c, "select", rc, &st);
	if (rc != IMAP_OK)
		FUZZ_CHECK(!imap_selected_rw(c), "read-write after a failed SELECT");
	if (imap_selected_rw(c))
		FUZZ_CHECK(imap_conn_selected(c) && !strcmp(imap_conn_selected(c), "INBOX"),
			   "read-write without INBOX selected");
	(void)imap_flag_permanent(c, "\\Seen");
	(void)imap_flag_permanent(c, "$Label");
	check_broken_stays(c, &broken);

	memset(&st, 0x5a, sizeof st);
	check_status(c, "status", imap_status(c, "Archive", &st), &st);
	check_broken_stays(c, &broken);

	memset(&to, 0x5a, sizeof to);
	check_landed(c, "copy", imap_uid_copy(c, 42, "Archive", &to), &to);
	memset(&to, 0x5a, sizeof to);
	check_landed(c, "move", imap_uid_move(c, 43, "Trash", &to), &to);
	check_broken_stays(c, &broken);

	memset(&to, 0x5a, sizeof to);
	rc = imap_append(c, "INBOX", "\\Seen $x", msg_fd, (flags & 3) == 3 ? 5000 : 12, &to);
	check_landed(c, "append", rc, &to);
	check_broken_stays(c, &broken);

	check_uids(c, "search from", imap_search_uids_from(c, 100, &u), &u, 100);
	check_uids(c, "search id", imap_search_message_id(c, 5, "<a\"b@c>", &u), &u, 5);
	check_uids(c, "search id literal", imap_search_message_id(c, 5, "<caf\xc3\xa9@x>", &u),
		   &u, 5);
	check_broken_stays(c, &broken);

	b = true;
	rc = imap_uid_present(c, 42, &b);
	check_bool(c, "present", rc, b);
	b = true;
	rc = imap_mailbox_exists(c, "A/%", &b);
	check_bool(c, "exists", rc, b);
	rc = imap_store_flags(c, 42, "\\Seen $x");
	trace("store", rc, c);
	FUZZ_CHECK(is_err(rc), "store: rc %d", rc);
	rc = imap_uid_expunge(c, 42);
	trace("expunge", rc, c);
	FUZZ_CHECK(is_err(rc), "expunge: rc %d", rc);
	check_broken_stays(c, &broken);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *lits[] = { "", " LITERAL+", " LITERAL-", " LITERAL-" };
	struct imap_conn_config cfg = { .host = "fuzz", .tunnel = "fuzz", .timeout_ms = 2000 };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char greeting[GREETING_MAX], err[256];
	struct imap_transport *t;
	struct imap_conn *c;
	int server, why, n;

	if (size < 1 || size > 16384)
		return 0;
	if (listener < 0)
		setup();
	t = transport_tcp("127.0.0.1", port, 2000, -1, err, sizeof err);
	FUZZ_CHECK(t != NULL, "connect: %s", err);
	server = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	FUZZ_CHECK(server >= 0, "accept: %s", strerror(errno));
	n = snprintf(greeting, sizeof greeting,
		     "* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS CONDSTORE%s%s] hi\r\n",
		     data[0] & 4 ? "" : " MOVE", lits[data[0] & 3]);
	/* Everything the server will say, then its end of the stream: the
	 * client never waits for a byte that is not coming. */
	FUZZ_CHECK(write(server, greeting, (size_t)n) == n, "write greeting");
	FUZZ_CHECK(write(server, data + 1, size - 1) == (ssize_t)(size - 1), "write input");
	FUZZ_CHECK(shutdown(server, SHUT_WR) == 0, "shutdown");

	c = imap_conn_open_transport(&cfg, t, err, sizeof err, &why);
	if (c) {
		ops(c, data[0]);
		imap_conn_close(c);
	} else {
		FUZZ_CHECK(is_err(why) && why != IMAP_OK, "open why %d", why);
	}
	/* No TIME_WAIT left behind: the port is free for the next run. */
	setsockopt(server, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(server);
	return 0;
}
