/*
 * imapfs — mounts an IMAP account as a folder (see SPEC.md and README.md).
 *
 *   $ IMAPFS_PASSWORD=secret imapfs alice@mail.example.org ~/mail
 *   $ ls ~/mail/INBOX && grep -rl invoice ~/mail/INBOX
 *   $ fusermount3 -u ~/mail
 *
 * Like sshfs, it connects and logs in after parsing and before it forks to
 * the background, so a wrong password or an untrusted certificate is told on
 * the user's terminal; worker threads start only after the fork.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <fuse_lowlevel.h>

#include "decode.h"
#include "inval.h"
#include "log.h"
#include "model.h"
#include "mountpoint.h"
#include "ops.h"
#include "options.h"
#include "password.h"
#include "pool.h"
#include "source.h"
#include "unmount_watch.h"
#include "store.h"
#include "meta_cache.h"

/* The limit on every wait for the server: connect, TLS, each response. */
#define IMAP_TIMEOUT_MS 20000

/* Exit statuses: 2 for a command line or config file that is wrong (as
 * ls and grep do), 1 for everything else. */
#define EXIT_USAGE 2

static int usage_error(const char *what)
{
	fprintf(stderr, "imapfs: %s\nTry 'imapfs --help' for more information.\n", what);
	return EXIT_USAGE;
}

static void conn_config(const struct imapfs_opts *o, const char *password,
			struct imap_conn_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host = o->host;
	cfg->port = o->port;
	cfg->tls = o->tls;
	cfg->tls_params.cafile = o->cafile;
	cfg->tls_params.verify = o->tls_verify;
	cfg->allow_plaintext = o->allow_plaintext;
	cfg->tunnel = o->tunnel;
	cfg->user = o->user;
	cfg->password = password;
	cfg->auth = o->auth;
	cfg->timeout_ms = IMAP_TIMEOUT_MS;
}

/* Logs in once now, so the user sees why it fails before anything mounts. */
static struct imap_pool *connect_pool(const struct imapfs_opts *o, const char *password)
{
	struct imap_conn_config cfg;
	struct imap_pool *pool;
	char err[512] = "";

	conn_config(o, password, &cfg);
	pool = pool_new(&cfg, o->connections, IMAP_TIMEOUT_MS);
	if (!pool) {
		fprintf(stderr, "imapfs: out of memory\n");
		return NULL;
	}
	if (pool_prime(pool, err, sizeof(err)) != IMAP_OK) {
		fprintf(stderr, "imapfs: %s\n", err[0] ? err : "cannot connect");
		pool_free(pool);
		return NULL;
	}
	return pool;
}

static int add_mount_names(struct fuse_args *args, const struct imapfs_opts *o)
{
	char name[512];

	/* -o ro is kept for libfuse (options.c): the kernel refuses every
	 * change itself, and model and source refuse them again. */
	if (fuse_opt_add_arg(args, "-osubtype=imapfs") != 0)
		return -1;
	/* ro = yes in the config file: the kernel refuses changes too. */
	if (o->read_only && fuse_opt_add_arg(args, "-oro") != 0)
		return -1;
	/* fsname is what mount(8) and df show; commas would split the option. */
	snprintf(name, sizeof(name), "-ofsname=%s@%s", o->user ? o->user : "", o->host);
	if (strchr(name, ',') || strchr(name, '\\'))
		return 0;
	return fuse_opt_add_arg(args, name);
}

static void stop_source(void *source)
{
	source_stop(source);
}

static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *fopts)
{
	struct fuse_loop_config *cfg;
	int rc;

	if (fopts->singlethread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -1;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, OPS_WORKERS);
	fuse_loop_cfg_set_idle_threads(cfg, 8);
	rc = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return rc;
}

/* Listings live in cache_dir/meta; without it imapfs still works, from the
 * server alone. */
static struct meta_cache *open_meta(const struct imapfs_opts *o)
{
	struct meta_cache *meta = NULL;
	char *dir = NULL;

	if (asprintf(&dir, "%s/meta", o->cache_dir) < 0)
		return NULL;
	meta = meta_cache_open(dir);
	if (!meta)
		log_msg(LOG_WARNING, "no metadata cache in %s: %s", dir, strerror(errno));
	free(dir);
	return meta;
}

/* Decoded content lives in cache_dir/content, bounded by cache_size. */
static struct store *open_store(const struct imapfs_opts *o)
{
	char *dir = NULL;
	struct store *store = NULL;

	if (asprintf(&dir, "%s/content", o->cache_dir) < 0)
		return NULL;
	store = store_new(dir, o->cache_size);
	if (!store)
		fprintf(stderr, "imapfs: cannot use the cache in %s: %s\n", dir, strerror(errno));
	free(dir);
	return store;
}

static double gib(uint64_t bytes)
{
	return (double)bytes / (1 << 30);
}

/*
 * Without cache_size the content cache is sized to the disk it is on, now
 * that store_new has found what it holds (imapfs_default_cache_size says
 * why so). Told at LOG_INFO either way, after the fork so that it goes where
 * the mount's other lines go.
 */
static void size_store(const struct imapfs_opts *o, struct store *store)
{
	uint64_t held = store_bytes(store), room, limit;
	struct statvfs sv;

	if (!o->cache_size_default) {
		log_msg(LOG_INFO, "content cache: cache_size=%" PRIu64 " (%.1f GiB), %.1f GiB held",
			o->cache_size, gib(o->cache_size), gib(held));
		return;
	}
	if (statvfs(o->cache_dir, &sv) < 0) {
		log_msg(LOG_WARNING, "content cache: no free space known for %s (%s): "
			"cache_size=%" PRIu64, o->cache_dir, strerror(errno), o->cache_size);
		return;
	}
	room = (uint64_t)sv.f_bavail * sv.f_frsize + held;
	limit = imapfs_default_cache_size(room);
	store_set_limit(store, limit);
	log_msg(LOG_INFO, "content cache: cache_size=%" PRIu64 " (%.1f GiB) by default: a "
		"tenth of room=%" PRIu64 " (%.1f GiB free in %s + %.1f GiB held), 1 to 64 GiB",
		limit, gib(limit), room, gib(room - held), o->cache_dir, gib(held));
}

/* Files being appended keep their bytes in cache_dir/staging (else $TMPDIR). */
static void set_staging(struct model *model, const struct imapfs_opts *o)
{
	char *dir = NULL;
	int rc;

	if (asprintf(&dir, "%s/staging", o->cache_dir) < 0)
		return;
	rc = model_set_staging(model, dir);
	if (rc)
		log_msg(LOG_WARNING, "no staging directory %s (%s): appends use $TMPDIR", dir,
			strerror(-rc));
	free(dir);
}

/* libfuse's complaints while it checks the options, kept to be told as ours. */
static char fuse_complaint[512];

static void keep_complaint(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char line[256];
	const char *s = line;
	size_t have = strlen(fuse_complaint);

	(void)level;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (strncmp(s, "fuse: ", 6) == 0)
		s += 6;
	if (have < sizeof(fuse_complaint) - 1)
		snprintf(fuse_complaint + have, sizeof(fuse_complaint) - have, "%s", s);
}

/*
 * libfuse's own options (and any unknown one) are checked when its session
 * is made, which mounts nothing: so it is made before the password is asked.
 * On failure libfuse's words come out as imapfs's, with the usage hint.
 */
static struct fuse_session *new_session(struct fuse_args *args, const struct imapfs_opts *o,
					struct fuse_cmdline_opts *fopts,
					struct imapfs_mount *mnt, int *rc)
{
	struct fuse_session *se = NULL;
	char *nl;

	fuse_complaint[0] = '\0';
	fuse_set_log_func(keep_complaint);
	if (fuse_parse_cmdline(args, fopts) == 0 && add_mount_names(args, o) == 0)
		se = fuse_session_new(args, &imapfs_ll_ops, sizeof(imapfs_ll_ops), mnt);
	fuse_set_log_func(NULL);
	if (se)
		return se;
	while ((nl = strrchr(fuse_complaint, '\n')) && !nl[1])
		*nl = '\0';
	while ((nl = strchr(fuse_complaint, '\n')))
		*nl = ' ';
	*rc = usage_error(fuse_complaint[0] ? fuse_complaint : "bad command line");
	return NULL;
}

/* After the checks: connect, mount, serve. se, store and fopts stay the caller's. */
static int run(const struct imapfs_opts *o, struct fuse_session *se,
	       const struct fuse_cmdline_opts *fopts, struct imapfs_mount *mnt,
	       struct store *store, const char *password)
{
	struct imap_pool *pool;
	struct source *source = NULL;
	struct meta_cache *meta = NULL;
	struct inval *inval = NULL;
	struct unmount_watch *watch = NULL;
	int rc = 1;

	pool = connect_pool(o, password);
	if (!pool)
		return 1;
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	if (fuse_session_mount(se, o->mountpoint) != 0)
		goto out_signals;
	if (!o->foreground) {
		fuse_daemonize(0);
		log_open(LOG_TO_SYSLOG, o->debug);
		/* The logged-in connection stays with the parent that exits;
		 * the daemon opens its own when first needed. */
		pool_free(pool);
		pool = connect_pool(o, password);
		if (!pool)
			goto out_unmount;
	}
	size_store(o, store);
	/* One connection stays for the reader that cannot wait; the rest fetch ahead. */
	meta = open_meta(o);
	source = source_new(pool);
	if (!source)
		goto out_unmount;
	mnt->model = model_new(source, store, meta, o->connections > 1 ? o->connections - 1 : 0);
	if (!mnt->model)
		goto out_unmount;
	set_staging(mnt->model, o);
	if (o->read_only) {
		source_set_read_only(source);
		model_set_read_only(mnt->model);
	}
	/* Threads, so only now: threads do not survive fuse_daemonize's fork. */
	watch = unmount_watch_start(fuse_session_fd(se), stop_source, source);
	inval = inval_new(se);
	mnt->se = se;
	if (!inval)
		goto out_model;
	model_set_inval(mnt->model, inval);
	model_prime(mnt->model);
	log_msg(LOG_INFO, "mounted %s@%s on %s", o->user ? o->user : "", o->host, o->mountpoint);
	rc = serve(se, fopts) ? 1 : 0;
	ops_log_requests(mnt);
out_model:
	/* Unmounted (or signalled): whatever the threads wait on (a server
	 * that went away, a backoff) ends now, so that they can be joined. */
	unmount_watch_stop(watch);
	source_stop(source);
	model_set_inval(mnt->model, NULL);
	inval_free(inval);
	model_free(mnt->model);
	mnt->model = NULL;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out:
	source_free(source);
	pool_free(pool);
	meta_cache_close(meta);
	return rc;
}

static void print_version(void)
{
	printf("imapfs %s\n", IMAPFS_VERSION);
	/* libfuse's lines come from a child (fusermount3) writing straight to
	 * the terminal: ours must be out first. */
	fflush(stdout);
	fuse_lowlevel_version();
}

/*
 * What can be known without the server: -o offline, and the TLS policy
 * imap_conn_open applies, told before a password is typed for nothing.
 */
static int check_policy(const struct imapfs_opts *o)
{
	struct imap_conn_config cfg;
	char err[512];

	if (o->offline)
		return usage_error("-o offline is not in this version: imapfs needs the server "
				   "to mount (what it fetched before is read from the cache)");
	conn_config(o, NULL, &cfg);
	if (imap_conn_check_policy(&cfg, err, sizeof(err)) != 0)
		return usage_error(err);
	return 0;
}

static char *get_password(const struct imapfs_opts *o, char *err, size_t errlen)
{
	char account[512];

	if (o->password && !o->password_command) {
		char *pw = strdup(o->password);

		if (!pw)
			snprintf(err, errlen, "out of memory");
		return pw;
	}
	snprintf(account, sizeof(account), "%s@%s", o->user ? o->user : "", o->host);
	return password_get(o->password_command, account, err, errlen);
}

/* Everything is checked before the password is asked or the server contacted. */
static int start(struct imapfs_opts *o, struct fuse_args *args)
{
	struct fuse_cmdline_opts fopts;
	struct imapfs_mount mnt = { 0 };
	struct fuse_session *se;
	struct store *store = NULL;
	char *password = NULL;
	char err[1024];
	int rc = 1;

	memset(&fopts, 0, sizeof(fopts));
	rc = check_policy(o);
	if (rc)
		return rc;
	se = new_session(args, o, &fopts, &mnt, &rc);
	if (!se)
		goto out;
	rc = 1;
	if (mountpoint_check(o->mountpoint, err, sizeof(err)) < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		goto out;
	}
	store = open_store(o);
	if (!store)
		goto out;
	if (!o->tls_verify)
		fprintf(stderr, "imapfs: WARNING: tls_verify=no: the server's certificate is not "
				"checked; anyone on the path can read your mail and password\n");
	if (!o->tunnel) {
		password = get_password(o, err, sizeof(err));
		if (!password) {
			fprintf(stderr, "imapfs: %s\n", err);
			goto out;
		}
	}
	rc = run(o, se, &fopts, &mnt, store, password);
out:
	password_free(password);
	if (se)
		fuse_session_destroy(se);
	free(fopts.mountpoint);
	store_free(store);
	return rc;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct imapfs_opts o;
	char err[1024];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	/* glibc gives every thread that allocates an arena of its own (up to 8
	 * per core), and each keeps what it freed: with the FUSE workers and the
	 * fetchers that is 10 MB of a 50 MB peak at 4,000 messages, for no
	 * speed (bench: cold grep the same or faster with 2). */
#ifdef M_ARENA_MAX
	mallopt(M_ARENA_MAX, 2);
#endif
	if (imapfs_opts_parse(&o, &args, err, sizeof(err)) < 0) {
		fuse_opt_free_args(&args);
		return usage_error(err);
	}
	if (o.show_help) {
		imapfs_opts_usage(stdout, "imapfs");
		printf("\nFUSE options:\n");
		fuse_lowlevel_help();
		rc = 0;
	} else if (o.show_version) {
		print_version();
		rc = 0;
	} else {
		log_open(LOG_TO_STDERR, o.debug);
		mime_init();
		rc = start(&o, &args);
	}
	imapfs_opts_free(&o);
	fuse_opt_free_args(&args);
	return rc;
}
