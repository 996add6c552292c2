/* SPDX-License-Identifier: MIT */
/*
 * signals.c - the signals chatd's processes take, in one table.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/signalfd.h>

#include "signals.h"

#define BOTH (SIGNALS_MASTER | SIGNALS_WORKER)

static const struct {
	int sig;
	int roles;      /* enum signals_role bits */
} signals_table[] = {
	{ SIGTERM, BOTH },  /* graceful stop: workers close every client with 1001, exit 0 */
	{ SIGINT,  BOTH },  /* the same */
	{ SIGQUIT, BOTH },  /* the same */
	{ SIGHUP,  BOTH },  /* reload: a new generation of workers, the old ones drain
	                       (1012); a worker only keeps it from killing it */
	{ SIGCHLD, SIGNALS_MASTER },  /* reap; a worker that died unasked for is replaced
	                                 at once */
	{ SIGUSR1, BOTH },  /* reopen the log file (after logrotate), in every process */
	{ SIGUSR2, BOTH },  /* drain (the master sends it to an old worker); blocked in the
	                       master so that a new worker starts with its signals blocked
	                       until its own signalfd takes them */
};

int signals_open(enum signals_role role)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(signals_table) / sizeof(signals_table[0]); i++)
		if (signals_table[i].roles & (int)role)
			sigaddset(&set, signals_table[i].sig);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}
