/*
 * fake_script — a connection to tests/fake/fakeimap.py playing one script of
 * tests/fake/client/ (run as a tunnel, so no port or TLS is involved).
 *
 *   struct imap_conn *c = open_script("acl_namespace.txt");   // fails the test if it cannot
 */
#ifndef IMAPFS_TEST_FAKE_SCRIPT_H
#define IMAPFS_TEST_FAKE_SCRIPT_H

#include <stdio.h>
#include <stdlib.h>

#include "conn.h"

static inline struct imap_conn *open_script(const char *script)
{
	const char *root = getenv("IMAPFS_SOURCE_ROOT");
	struct imap_conn_config cfg = { .host = "fake", .timeout_ms = 5000 };
	struct imap_conn *c;
	char cmd[1024], err[256] = "";
	int why = 0;

	if (!root)
		root = ".";
	snprintf(cmd, sizeof cmd, "python3 %s/tests/fake/fakeimap.py %s/tests/fake/client/%s", root,
		 root, script);
	cfg.tunnel = cmd;
	c = imap_conn_open(&cfg, err, sizeof err, &why);
	if (!c)
		fail_msg("cannot open %s: %s (%d)", script, err, why);
	return c;
}

#endif
