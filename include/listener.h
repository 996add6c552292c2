/* SPDX-License-Identifier: MIT */
/*
 * listener.h - the workers' listening sockets.  The master opens them and
 * keeps them across reloads and respawns; each worker inherits one.
 * Master only.
 */
#ifndef CHATD_LISTENER_H
#define CHATD_LISTENER_H

#include <stddef.h>

#include "chatd.h"

struct conf;

/*
 * The SO_REUSEPORT listening sockets, one per worker index of a generation
 * (fd[i] = -1: not open).  One, in the master, kept across reloads and
 * respawns: a socket never leaves the group while a generation changes, so
 * what the kernel queued on it is accepted by the next worker holding it
 * instead of reset.
 */
struct listener {
	int fd[CHATD_MAX_WORKERS];
};

/* Mark every socket of l not open. */
void listener_init(struct listener *l);

/*
 * Open a listening socket on c's address.  reuseport = 1 for the workers'
 * sockets; the start-up probe binds without it, so that any other listener
 * on the port (another chatd included) is a clear EADDRINUSE.  Returns the
 * fd, or -1 with a message in err.
 */
int listener_open(const struct conf *c, int reuseport, char *err, size_t errlen);

/*
 * The listening socket for a new worker of the current generation, which
 * wants `want` workers: the first index below want that no current worker
 * holds (held[i] != 0: one does), opened when it is not yet.  Returns the
 * index (its fd is l->fd[index]); -1 with err filled when it cannot be opened
 * or every socket has a worker.
 */
int listener_pick(struct listener *l, const struct conf *c, int want, const int *held,
		  char *err, size_t errlen);

/* The generation now wants `want` workers: shut the sockets beyond it down
 * (for their old holders too, now draining), so the kernel stops queueing
 * on them. */
void listener_trim(struct listener *l, int want);

#endif
