#include "unmount_watch.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* How late an unmount may be noticed. */
#define WATCH_MS 100

struct unmount_watch {
	int fuse_fd;
	int stop[2];          /* a pipe: unmount_watch_stop writes, the thread wakes */
	void (*on_unmount)(void *ud);
	void *ud;
	pthread_t thread;
};

/* Whether the kernel dropped the connection, without waiting. */
static bool connection_gone(int fuse_fd)
{
	/* No events asked of /dev/fuse: it is always writable and often
	 * readable, but POLLERR (the connection is gone) is always reported. */
	struct pollfd fd = { .fd = fuse_fd, .events = 0 };

	return poll(&fd, 1, 0) > 0 && (fd.revents & (POLLERR | POLLHUP | POLLNVAL));
}

/*
 * Looks every WATCH_MS rather than sleeping in poll on /dev/fuse: a poller
 * of it is woken by every request the kernel queues (its wait queue is the
 * workers'), which cost a wake-up of this thread per request.
 */
static void *watch(void *arg)
{
	struct unmount_watch *w = arg;
	struct pollfd stop = { .fd = w->stop[0], .events = POLLIN };
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		int n = poll(&stop, 1, WATCH_MS);

		if (n < 0 && errno != EINTR)
			return NULL;
		if (n > 0)
			return NULL;
		if (connection_gone(w->fuse_fd)) {
			w->on_unmount(w->ud);
			return NULL;
		}
	}
}

struct unmount_watch *unmount_watch_start(int fuse_fd, void (*on_unmount)(void *ud), void *ud)
{
	struct unmount_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fuse_fd = fuse_fd;
	w->on_unmount = on_unmount;
	w->ud = ud;
	if (pipe(w->stop) < 0) {
		free(w);
		return NULL;
	}
	if (pthread_create(&w->thread, NULL, watch, w) != 0) {
		close(w->stop[0]);
		close(w->stop[1]);
		free(w);
		return NULL;
	}
	return w;
}

void unmount_watch_stop(struct unmount_watch *w)
{
	ssize_t n;

	if (!w)
		return;
	do
		n = write(w->stop[1], "x", 1);
	while (n < 0 && errno == EINTR);
	pthread_join(w->thread, NULL);
	close(w->stop[0]);
	close(w->stop[1]);
	free(w);
}
