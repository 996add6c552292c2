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
#include "conf.h"

/*
 * The SO_REUSEPORT listening sockets, one per `listen` line k and worker
 * index i of a generation (fd[k][i] = -1: not open).  One, in the master,
 * kept across reloads and respawns: a socket never leaves the group while a
 * generation changes, so what the kernel queued on it is accepted by the
 * next worker holding it instead of reset.  The listen lines need a restart
 * to change, so n is fixed from the start.
 */
struct listener {
	int fd[CONF_MAX_LISTENS][CHATD_MAX_WORKERS];
	int n;                      /* listen lines */
};

/* Mark every socket of l not open, for c's listen lines. */
void listener_init(struct listener *l, const struct conf *c);

/*
 * Open a listening socket on address a.  reuseport = 1 for the workers'
 * sockets; the start-up probe binds without it, so that any other listener
 * on the port (another chatd included) is a clear EADDRINUSE.  Returns the
 * fd, or -1 with a message in err.
 */
int listener_open(const struct conf_listen *a, int reuseport, char *err, size_t errlen);

/*
 * Do two listen lines of c bind the same address and port (":8080" and
 * "0.0.0.0:8080", "localhost:80" and "127.0.0.1:80", plain or ssl)?  Their
 * sockets would join one SO_REUSEPORT group, each connection landing on
 * either.  0, or -1 with err naming both lines.  A line that does not
 * resolve is left to listener_probe().  Binds nothing: -t may run beside
 * the running chatd.
 */
int listener_check(const struct conf *c, char *err, size_t errlen);

/* The start-up probe: bind every listen line of c once (no SO_REUSEPORT)
 * and close it again.  0, or -1 with err naming the address. */
int listener_probe(const struct conf *c, char *err, size_t errlen);

/*
 * The listening sockets for a new worker of the current generation, which
 * wants `want` workers: the first index below want that no current worker
 * holds (held[i] != 0: one does), each listen line's opened when it is not
 * yet.  Returns the index (its fds are l->fd[k][index]); -1 with err filled
 * when one cannot be opened (that index's sockets are then all closed) or
 * every index has a worker.
 */
int listener_pick(struct listener *l, const struct conf *c, int want, const int *held,
		  char *err, size_t errlen);

/* The generation now wants `want` workers: shut the sockets beyond it down
 * (for their old holders too, now draining), so the kernel stops queueing
 * on them. */
void listener_trim(struct listener *l, int want);

/* Index i gets no worker until the next reload (the master gave up on
 * starting one): shut its sockets down and close them, so the kernel stops
 * queueing connections where nobody accepts them (what it queued is reset,
 * not left hanging); listener_pick() opens them again when needed. */
void listener_drop(struct listener *l, int i);

#endif
