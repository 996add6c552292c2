/* SPDX-License-Identifier: MIT */
/*
 * notify.h - tell a supervisor what the master is doing: systemd's
 * sd_notify protocol (Type=notify).  Without NOTIFY_SOCKET in the
 * environment, or built without libsystemd, every call does nothing.
 * Master only.
 */
#ifndef CHATD_NOTIFY_H
#define CHATD_NOTIFY_H

/* READY=1: every worker of the current generation serves. */
void notify_ready(int generation, int workers);
/* RELOADING=1: a reload began (READY=1 follows once it serves). */
void notify_reloading(void);
/* STOPPING=1: a graceful stop began. */
void notify_stopping(void);
/* STATUS=...: sent only when the text changed since the last one. */
void notify_status(unsigned long long connections, unsigned long long rooms, int workers);

#endif
