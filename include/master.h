/* SPDX-License-Identifier: MIT */
/*
 * master.h - the master process: workers' lifecycle, signals, reloads,
 * stopping; its parts are relay.h (the message path, the Redis broker),
 * listener.h (the listening sockets) and daemon.h (pid file, detaching).
 */
#ifndef CHATD_MASTER_H
#define CHATD_MASTER_H

#include <stddef.h>

struct conf;
struct conf_kv;

/* Everything main() learnt from the command line; kept for reloads. */
struct master_opts {
	const char *conf_path;           /* NULL: built-in defaults only */
	const struct conf_kv *ov;        /* command-line overrides */
	size_t nov;
	int foreground;
	struct tls_creds *tls;           /* preflight_load()'s pair; taken by master_run */
};

/* Run the master until it stops; returns the process exit status.  Takes
 * ownership of conf. */
int master_run(struct conf *conf, const struct master_opts *o);

#endif
