/* SPDX-License-Identifier: MIT */
/*
 * mloop.c - the master's event loop: epoll for fds, a short timer list.
 *
 * One per master.  Fd registrations live in a table indexed by fd; each
 * carries a generation that is also stored in the epoll event, so a callback
 * that removes (or removes and re-adds) an fd later in the same epoll batch
 * is never called with a stale event.  Timers are few (Redis connect and
 * retry timers, a housekeeping tick): a plain array scanned linearly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "mloop.h"

#define MLOOP_BATCH 64

/* One per registered fd, in mloop.fds[fd]. */
struct mloop_fd {
	mloop_fd_cb cb;
	void       *arg;
	uint32_t    events;
	uint32_t    gen;     /* 0 = free slot */
};

/* One per pending timer. */
struct mloop_timer {
	uint64_t       id;
	uint64_t       due_ms;
	mloop_timer_cb cb;
	void          *arg;
};

struct mloop {
	int                 epfd;
	struct mloop_fd    *fds;
	size_t              nfds;       /* table size */
	uint32_t            next_gen;
	struct mloop_timer *timers;
	size_t              ntimers, timers_cap;
	uint64_t            next_timer_id;
};

uint64_t mloop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct mloop *mloop_new(void)
{
	struct mloop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = errno;
		free(l);
		errno = e;
		return NULL;
	}
	l->next_gen = 1;
	l->next_timer_id = 1;
	return l;
}

void mloop_free(struct mloop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	free(l->fds);
	free(l->timers);
	free(l);
}

static int mloop_grow_fds(struct mloop *l, int fd)
{
	size_t n = l->nfds ? l->nfds : 64;
	struct mloop_fd *t;

	while (n <= (size_t)fd)
		n *= 2;
	t = realloc(l->fds, n * sizeof(*t));
	if (t == NULL)
		return -1;
	memset(t + l->nfds, 0, (n - l->nfds) * sizeof(*t));
	l->fds = t;
	l->nfds = n;
	return 0;
}

static struct mloop_fd *mloop_slot(struct mloop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || l->fds[fd].gen == 0)
		return NULL;
	return &l->fds[fd];
}

/* Register fd (not yet registered: EEXIST); the callback gets the epoll
 * event bits, EPOLLERR/EPOLLHUP included. */
int mloop_add(struct mloop *l, int fd, uint32_t events, mloop_fd_cb cb, void *arg)
{
	struct epoll_event ev;
	uint32_t gen;

	if (fd < 0 || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)fd >= l->nfds && mloop_grow_fds(l, fd) < 0)
		return -1;
	if (l->fds[fd].gen != 0) {
		errno = EEXIST;
		return -1;
	}
	gen = l->next_gen++;
	if (l->next_gen == 0)
		l->next_gen = 1;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	l->fds[fd] = (struct mloop_fd){ .cb = cb, .arg = arg, .events = events, .gen = gen };
	return 0;
}

int mloop_mod(struct mloop *l, int fd, uint32_t events)
{
	struct mloop_fd *f = mloop_slot(l, fd);
	struct epoll_event ev;

	if (f == NULL) {
		errno = ENOENT;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = ((uint64_t)f->gen << 32) | (uint32_t)fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -1;
	f->events = events;
	return 0;
}

/* Unregister fd (before closing it); unknown fds are ignored. */
void mloop_del(struct mloop *l, int fd)
{
	struct mloop_fd *f = mloop_slot(l, fd);

	if (f == NULL)
		return;
	/* The fd may already be closed (then the kernel dropped it): ignore. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(f, 0, sizeof(*f));
}

uint64_t mloop_timer(struct mloop *l, uint64_t ms, mloop_timer_cb cb, void *arg)
{
	if (l->ntimers == l->timers_cap) {
		size_t n = l->timers_cap ? 2 * l->timers_cap : 8;
		struct mloop_timer *t = realloc(l->timers, n * sizeof(*t));

		if (t == NULL)
			return 0;
		l->timers = t;
		l->timers_cap = n;
	}
	l->timers[l->ntimers++] = (struct mloop_timer){
		.id = l->next_timer_id, .due_ms = mloop_now_ms() + ms, .cb = cb, .arg = arg };
	return l->next_timer_id++;
}

static void mloop_timer_remove(struct mloop *l, size_t i)
{
	l->timers[i] = l->timers[--l->ntimers];
}

void mloop_timer_cancel(struct mloop *l, uint64_t id)
{
	for (size_t i = 0; i < l->ntimers; i++) {
		if (l->timers[i].id == id) {
			mloop_timer_remove(l, i);
			return;
		}
	}
}

/* Milliseconds until the nearest timer, capped by max_ms (-1 = no cap). */
static int mloop_timeout(struct mloop *l, int max_ms)
{
	uint64_t now, best = UINT64_MAX;

	if (l->ntimers == 0)
		return max_ms;
	now = mloop_now_ms();
	for (size_t i = 0; i < l->ntimers; i++)
		if (l->timers[i].due_ms < best)
			best = l->timers[i].due_ms;
	best = best > now ? best - now : 0;
	if (best > INT32_MAX)
		best = INT32_MAX;
	if (max_ms >= 0 && (uint64_t)max_ms < best)
		return max_ms;
	return (int)best;
}

/* Run the timers that are due; timers added meanwhile wait for the next
 * round (a 0 ms timer re-armed from its own callback cannot spin here). */
static int mloop_run_timers(struct mloop *l)
{
	uint64_t now = mloop_now_ms(), limit = l->next_timer_id;
	int ran = 0;

	for (;;) {
		size_t i;

		for (i = 0; i < l->ntimers; i++)
			if (l->timers[i].due_ms <= now && l->timers[i].id < limit)
				break;
		if (i == l->ntimers)
			return ran;
		struct mloop_timer t = l->timers[i];
		mloop_timer_remove(l, i);
		t.cb(t.arg);
		ran++;
	}
}

/* Timers first (those due when the round starts), then the fd events of
 * one epoll_wait, skipping registrations removed earlier in the round. */
int mloop_run_once(struct mloop *l, int max_ms)
{
	struct epoll_event evs[MLOOP_BATCH];
	int n, ran;

	n = epoll_wait(l->epfd, evs, MLOOP_BATCH, mloop_timeout(l, max_ms));
	if (n < 0) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	ran = mloop_run_timers(l);
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct mloop_fd *f = mloop_slot(l, fd);

		/* Removed (or replaced) by an earlier callback of this batch. */
		if (f == NULL || f->gen != gen)
			continue;
		f->cb(fd, evs[i].events, f->arg);
		ran++;
	}
	return ran;
}
