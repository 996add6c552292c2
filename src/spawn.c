/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - fork a worker and set the child up (see spawn.h).
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "shm.h"
#include "spawn.h"
#include "stats.h"
#include "worker.h"

/* In the child, before it is a worker: nothing of the master's but a's
 * descriptors and the log's survives. */
static void __attribute__((noreturn)) spawn_child(const struct worker_args *a)
{
	int keep[CONF_MAX_LISTENS + 3] = { a->efd, a->master_efd, log_get_fd() };

	for (int k = 0; k < a->nlisten; k++)
		keep[3 + k] = a->listen_fd[k];

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if ((uint64_t)getppid() != stats_get(&a->shm->master.pid))  /* the master died before prctl */
		_exit(0);
	log_close_syslog();
	daemon_close_inherited(keep, 3 + a->nlisten);
	log_reopen();
	/* the signal mask stays as inherited (every signal a worker takes
	 * is blocked) until worker_main() reads them from its signalfd */
	worker_main(a);
}

pid_t spawn_fork(const struct worker_args *a)
{
	struct worker_stats *ws = &a->shm->worker[a->slot];
	pid_t pid;

	memset(ws, 0, sizeof(*ws));
	stats_set(&ws->state, SLOT_RUNNING);
	stats_set(&ws->generation, (uint64_t)a->generation);
	pid = fork();
	if (pid < 0)
		stats_set(&ws->state, SLOT_FREE);
	else if (pid == 0)
		spawn_child(a);
	return pid;
}
