/*
 * tmpdir — a throwaway directory for a unit test (include after cmocka.h).
 *
 *   char *dir = tmpdir_make("store");   // /tmp/imapfs-test-store-XXXXXX
 *   ...
 *   tmpdir_remove(dir);                 // rm -rf, and frees dir
 */
#ifndef IMAPFS_TEST_TMPDIR_H
#define IMAPFS_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *tmpdir_make(const char *what)
{
	char tmpl[256];
	char *dir;

	snprintf(tmpl, sizeof(tmpl), "/tmp/imapfs-test-%s-XXXXXX", what);
	dir = mkdtemp(tmpl);
	assert_non_null(dir);
	return strdup(dir);
}

static inline void tmpdir_remove(char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

#endif
