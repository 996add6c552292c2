/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - a worker process, from the master's side of fork(): its shared
 * slot reset, the child set up to be a worker (dies with the master, keeps
 * only its own descriptors) and handed to worker_main().  Which slot, which
 * listening socket and when to respawn stay master.c's.  Master only.
 */
#ifndef CHATD_SPAWN_H
#define CHATD_SPAWN_H

#include <sys/types.h>

struct worker_args;

/*
 * Reset a->slot's shared stats (state running, a->generation), then fork.
 * The child keeps a's descriptors and the log's, gets SIGTERM when the
 * master dies (exits at once if it already has), and runs worker_main():
 * it never returns.  The master gets the child's pid, or -1 (errno from
 * fork; the slot's state is free again).  Logs nothing.
 */
pid_t spawn_fork(const struct worker_args *a);

#endif
