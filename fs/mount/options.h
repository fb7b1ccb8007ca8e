/*
 * options — imapfs's command line (SPEC.md), parsed with fuse_opt like sshfs.
 *
 *   struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
 *   struct imapfs_opts o;
 *   if (imapfs_opts_parse(&o, &args, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); exit(2); }
 *   if (o.show_help) imapfs_opts_usage(stdout, argv[0]);
 *
 * [USER@]HOST[:PORT] (or an account of the config file, config.h, which
 * -o options override) and MOUNTPOINT are taken from the arguments; what is
 * left in args (-f, -d, -s, -o allow_other, ...) goes to libfuse. Defaults:
 * port 993 (143 with tls=starttls/none), user $USER, connections 4,
 * cache_dir $XDG_CACHE_HOME/imapfs/USER@HOST (~/.cache if unset), cache_size a
 * tenth of the disk's room (imapfs_default_cache_size; main.c measures the disk,
 * this module never touches it).
 * HOST may be an IPv6 literal in brackets: [::1]:993.
 */
#ifndef IMAPFS_OPTIONS_H
#define IMAPFS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <fuse_lowlevel.h>

#include "conn.h"

struct imapfs_opts {
	char *host;              /* without brackets */
	char *port;              /* decimal string */
	char *user;
	char *mountpoint;
	enum tls_mode tls;
	char *cafile;
	bool tls_verify;
	bool allow_plaintext;
	char *password_command;
	char *password;          /* the config file's `password`; wiped when freed */
	char *auth;              /* NULL: best offered */
	char *tunnel;
	unsigned connections;
	char *cache_dir;
	uint64_t cache_size;     /* bytes; IMAPFS_CACHE_SIZE_MIN until resolved when default */
	bool cache_size_default; /* no cache_size given: scale it to the disk at mount */
	bool read_only;          /* -o ro */
	bool offline;
	bool foreground;         /* -f or -d */
	bool debug;              /* -d */
	bool show_help;
	bool show_version;
};

/* Fills o from args (consuming imapfs's own options). 0, or -1 with err set to
 * one line ("unknown tls mode 'x'", "missing mountpoint", ...). */
int imapfs_opts_parse(struct imapfs_opts *o, struct fuse_args *args, char *err, size_t errlen);
void imapfs_opts_free(struct imapfs_opts *o);
void imapfs_opts_usage(FILE *out, const char *progname);
/* Parses "512", "64K", "100M", "1G" (powers of 1024). -1 if malformed. */
int imapfs_parse_size(const char *s, uint64_t *bytes);

/*
 * The content cache's bound when no cache_size is given, from ROOM: the free
 * space of cache_dir's file system plus what the cache already holds (its own
 * files are room it has, so a full cache does not shrink at every mount). A
 * tenth of it, so the cache never takes the disk from anything else; at least
 * 1 GiB, the bound of earlier versions (no cache shrinks on upgrade); at most
 * 64 GiB, more than a million typical messages, so a huge disk is not filled
 * with what a refetch can give back.
 */
#define IMAPFS_CACHE_SIZE_MIN (UINT64_C(1) << 30)
#define IMAPFS_CACHE_SIZE_MAX (UINT64_C(64) << 30)
#define IMAPFS_CACHE_SIZE_SHARE 10 /* the bound is room / this */
uint64_t imapfs_default_cache_size(uint64_t room);

#endif
