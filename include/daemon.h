/*
 * daemon.h - becoming a daemon: the pid file and its lock, detaching from
 * the terminal, and the pipe that tells the command that started us how
 * the start went.  Master only, at start-up (daemon_ready later, once).
 */
#ifndef CHATD_DAEMON_H
#define CHATD_DAEMON_H

/*
 * Open and lock the pid file at path (before detaching, so that errors
 * reach the terminal).  The lock is held for the whole life of the master:
 * a second chatd with the same pid file is refused even when a crash left
 * a stale file behind.  0, or -1 after printing why on stderr.
 */
int daemon_pidfile_lock(const char *path);

/*
 * Detach like daemon(3) - fork, setsid, chdir("/"), stdio to /dev/null -
 * but the parent exits only when the child has written the pid file (when
 * one is locked) and then said how the start went through daemon_ready():
 * 0 when every worker serves, 1 if the child failed (the reason printed).
 * Returns 0 in the child with *ready_fd set, -1 on error (printed).
 */
int daemon_detach(int *ready_fd);

/*
 * Tell the command that started us (through *ready_fd, from daemon_detach;
 * <= 0: nobody waits, a no-op) that every worker serves (fail == NULL: it
 * exits 0) or why the start failed (it prints fail and exits 1).  Closes
 * the pipe and sets *ready_fd to -1.
 */
void daemon_ready(int *ready_fd, const char *fail);

#endif
