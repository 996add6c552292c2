/* SPDX-License-Identifier: MIT */
/*
 * fdlimit.h - the descriptor limit (RLIMIT_NOFILE) the workers inherit.
 * Master only, before forking workers.
 */
#ifndef CHATD_FDLIMIT_H
#define CHATD_FDLIMIT_H

/* Descriptors a worker holds besides its clients: listener, eventfds,
 * signalfd, stdio, log, lws's own, a static file or two being served. */
#define FDLIMIT_RESERVE 32

struct fdlimit {
	unsigned long long soft, hard;   /* after the call */
	unsigned long long was;          /* the soft limit before it */
	unsigned long long need;         /* max_connections + FDLIMIT_RESERVE */
};

/* What fdlimit_raise() achieved. */
enum fdlimit_rc {
	FDLIMIT_OK,      /* the limit covers the need */
	FDLIMIT_SHORT,   /* it falls short (the caller warns) */
	FDLIMIT_ERROR    /* getrlimit/setrlimit failed (errno) */
};

/*
 * Raise the soft RLIMIT_NOFILE to max_connections + FDLIMIT_RESERVE, as far
 * as the hard limit allows (never lowers it).  Fills *out.
 */
enum fdlimit_rc fdlimit_raise(int max_connections, struct fdlimit *out);

#endif
