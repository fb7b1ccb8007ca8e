/*
 * mountpoint — stat, then two ways to see a mount point: a device number
 * other than the parent's (any mount of another file system), and
 * /proc/self/mountinfo (also a bind mount, whose device is the parent's).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "mountpoint.h"

bool mountpoint_is_fd(const char *path)
{
	const char *s = path;

	if (strncmp(s, "/dev/fd/", 8) != 0 || !s[8])
		return false;
	for (s += 8; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* mountinfo writes ' ', '\t', '\n' and '\\' in paths as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* Field 5 of a mountinfo line is the mount point. */
static bool listed(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *save = NULL, *field = strtok_r(line, " ", &save);

		for (int i = 0; field && i < 4; i++)
			field = strtok_r(NULL, " ", &save);
		if (!field)
			continue;
		unescape(field);
		found = strcmp(field, path) == 0;
	}
	free(line);
	fclose(f);
	return found;
}

static bool is_mount_point(const char *path, const struct stat *st)
{
	char parent[PATH_MAX];
	struct stat pst;

	if (snprintf(parent, sizeof parent, "%s/..", path) >= (int)sizeof parent)
		return false;
	if (stat(parent, &pst) == 0 && pst.st_dev != st->st_dev)
		return true;
	return listed(path);
}

static int fail(char *err, size_t errlen, const char *path, const char *why)
{
	if (errlen)
		snprintf(err, errlen, "%s: %s", path, why);
	return -1;
}

static int stale(char *err, size_t errlen, const char *path)
{
	char hint[PATH_MAX + 128];

	snprintf(hint, sizeof hint, "%s (a crashed mount? run: fusermount3 -u %s)",
		 strerror(ENOTCONN), path);
	return fail(err, errlen, path, hint);
}

int mountpoint_check(const char *path, char *err, size_t errlen)
{
	struct statfs sfs;
	struct stat st;

	if (mountpoint_is_fd(path))
		return 0;
	if (stat(path, &st) < 0)
		return errno == ENOTCONN ? stale(err, errlen, path)
					 : fail(err, errlen, path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(err, errlen, path, strerror(ENOTDIR));
	if (!is_mount_point(path, &st))
		return 0;
	/* stat may answer from the kernel's cache of a dead FUSE mount for a
	 * while; statfs always asks the file system. */
	if (statfs(path, &sfs) < 0 && errno == ENOTCONN)
		return stale(err, errlen, path);
	return fail(err, errlen, path,
		    "already a mount point (unmount it first: fusermount3 -u, or umount)");
}
