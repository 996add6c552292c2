/* SPDX-License-Identifier: MIT */
/*
 * worker.h - a worker process: one libwebsockets context on its own
 * SO_REUSEPORT listener, reading the broadcast ring and writing its uplink.
 */
#ifndef CHATD_WORKER_H
#define CHATD_WORKER_H

#include "conf.h"

struct shm_hdr;
struct tls_creds;

/* What the master hands a new worker at fork. */
struct worker_args {
	const struct conf *conf;
	struct shm_hdr *shm;
	int slot;          /* stats slot and uplink ring */
	int generation;
	int listen_fd[CONF_MAX_LISTENS]; /* per listen line: bound, listening, non-blocking */
	int nlisten;
	int efd;           /* eventfd: the master wakes us */
	int master_efd;    /* eventfd: we wake the master */
	struct tls_creds *tls; /* `listen ... ssl`: our copy, wiped once lws has it */
};

/* Run a worker: never returns (exits the process). */
void worker_main(const struct worker_args *a) __attribute__((noreturn));

#endif
