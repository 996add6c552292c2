/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - the master as a Unix daemon: the pid file and its lock,
 * detaching from the terminal, the pipe that tells the command that started
 * us how the start went, the log files, the descriptor limit.  Master only
 * (daemon_close_inherited: a new worker, right after fork).
 */
#ifndef CHATD_DAEMON_H
#define CHATD_DAEMON_H

struct conf;

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

/* c's log file must open now, while errors still reach the terminal (no
 * log file, syslog, or already open: nothing to do).  0, or -1 after
 * printing why on stderr. */
int daemon_log_file_check(const struct conf *c);

/*
 * Before detaching, while errors still reach the terminal: the listen
 * address is free (any listener on it, another chatd included); without
 * foreground also c's log file and the pid file lock; c's access log can be
 * made (as root, given to `user`).  0, or -1 after printing why on stderr.
 */
int daemon_start_checks(const struct conf *c, int foreground);

/* A log file the master (re)created as root must stay writable by the
 * workers once they dropped privileges to c's user: chown it (as root,
 * when c has a user; a failure is logged). */
void daemon_log_file_give(const struct conf *c);

/* SIGUSR1 in the master: reopen the log file, give it to c's user, make
 * sure c's access log can be opened (the workers reopen it).  Logs what
 * fails. */
void daemon_logs_reopen(const struct conf *c);

/* Raise the descriptor limit the workers inherit towards what c's
 * max_connections needs; warn when it falls short; log the budget of
 * `workers` workers (the server's connection ceiling). */
void daemon_fd_budget(const struct conf *c, int workers);

/* In a new worker: close every inherited fd above 2 but the nkeep in keep. */
void daemon_close_inherited(const int *keep, int nkeep);

#endif
