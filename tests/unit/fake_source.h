/*
 * fake_source — a source (fs/source) over a one-connection pool of scripted
 * fake servers (fake_servers.h), for unit tests of what talks through it.
 *
 *   struct fake_source f;
 *   fake_source_setup(&f, "message_batch");   // f.src; the request's deadline begun
 *   msg_details_fetch(f.src, ...);
 *   fake_source_teardown(&f);
 */
#ifndef IMAPFS_TEST_FAKE_SOURCE_H
#define IMAPFS_TEST_FAKE_SOURCE_H

#include "fake_servers.h"
#include "request.h"
#include "source.h"

struct fake_source {
	struct fake_servers servers;
	struct imap_pool *pool;
	struct source *src;
};

static inline void fake_source_setup(struct fake_source *f, const char *prefix)
{
	fake_servers_setup(&f->servers, prefix);
	f->pool = pool_new(&f->servers.cfg, 1, 5000);
	assert_non_null(f->pool);
	f->src = source_new(f->pool);
	assert_non_null(f->src);
	request_begin(REQUEST_MS);
}

static inline void fake_source_teardown(struct fake_source *f)
{
	source_free(f->src);
	pool_free(f->pool);
	fake_servers_teardown(&f->servers);
}

#endif
