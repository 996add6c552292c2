/* SPDX-License-Identifier: MIT */
/*
 * signals.h - the one table of the signals chatd's processes take, each
 * through a signalfd (chatd(8)'s SIGNALS section mirrors it).  The master
 * and the workers each read their set from it.
 */
#ifndef CHATD_SIGNALS_H
#define CHATD_SIGNALS_H

/* Who takes a signal: a bit per process role. */
enum signals_role { SIGNALS_MASTER = 1, SIGNALS_WORKER = 2 };

/*
 * Ignore SIGPIPE, block the signals of the table that role takes, and return
 * a non-blocking, close-on-exec signalfd reading them; -1 (errno set) on
 * failure.  The caller acts on what it reads (master.c's sig_cb, worker.c's
 * on_signal).
 */
int signals_open(enum signals_role role);

#endif
