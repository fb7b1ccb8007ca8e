/*
 * fake_servers — connections to scripted fake servers for unit tests
 * (include after cmocka.h). Every connection runs tests/fake/client/pick.py,
 * which plays <prefix>.N.txt for the Nth one (a missing script hangs up at
 * once, as a refused connection does), so each script asserts what one
 * connection was sent.
 *
 *   struct fake_servers f;
 *   fake_servers_setup(&f, "pool_retry");   // f.cfg: a tunnel config for pool_new
 *   ... opened(&f) ...                      // connections opened so far
 *   fake_servers_teardown(&f);
 */
#ifndef IMAPFS_TEST_FAKE_SERVERS_H
#define IMAPFS_TEST_FAKE_SERVERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

struct fake_servers {
	char dir[64];
	char cmd[1024];
	struct imap_conn_config cfg;
};

static inline void fake_servers_setup(struct fake_servers *f, const char *prefix)
{
	const char *root = getenv("IMAPFS_SOURCE_ROOT");

	if (!root)
		root = ".";
	snprintf(f->dir, sizeof f->dir, "/tmp/imapfs-fake-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cmd, sizeof f->cmd, "python3 %s/tests/fake/client/pick.py %s %s/tests/fake/client/%s",
		 root, f->dir, root, prefix);
	memset(&f->cfg, 0, sizeof f->cfg);
	f->cfg.host = "fake";
	f->cfg.tunnel = f->cmd;
	f->cfg.password = "secret";
	f->cfg.timeout_ms = 5000;
}

/* How many connections were opened. */
static inline int opened(const struct fake_servers *f)
{
	char path[128];
	FILE *fp;
	int n = 0;

	snprintf(path, sizeof path, "%s/count", f->dir);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	if (fscanf(fp, "%d", &n) != 1)
		n = -1;
	fclose(fp);
	return n;
}

static inline void fake_servers_teardown(struct fake_servers *f)
{
	char path[128];

	snprintf(path, sizeof path, "%s/count", f->dir);
	unlink(path);
	rmdir(f->dir);
}

static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

#endif
