/* SPDX-License-Identifier: MIT */
/*
 * slots.h - the master's table of worker slots and their generations:
 * which pid runs in which slot, of which generation, current or draining
 * (and whether it was told to drain yet); the counts and signals over it.
 * master.c decides when to spawn, reload and drain; this keeps the table.
 * Master only.
 */
#ifndef CHATD_SLOTS_H
#define CHATD_SLOTS_H

#include <stdint.h>
#include <sys/types.h>

#include "chatd.h"
#include "conf.h"
#include "shm.h"

/* One per worker slot (CHATD_SLOTS), master-local: an array of
 * CHATD_SLOTS is "the table" t below. */
struct slot {
	pid_t pid;             /* 0 = free */
	int generation;
	int draining;          /* an older generation (set at reload) */
	int drain_sent;        /* ... told to drain (once the new one serves) */
	uint64_t started_ms;
	int lidx;              /* its listening sockets: the master's lsn.fd[k][lidx] */
};

/* How many workers c asks for: `workers`, or one per CPU when 0;
 * 1..CHATD_MAX_WORKERS. */
int slots_wanted(const struct conf *c);
/* Workers alive: all of them, or only the current generation's. */
int slots_live(const struct slot *t, int current_only);
/* The first free slot, or -1; how many are free. */
int slots_free(const struct slot *t);
int slots_nfree(const struct slot *t);
/* The slot pid runs in, or -1. */
int slots_find(const struct slot *t, pid_t pid);
/* held[lidx] = 1 for each listener index a current worker holds. */
void slots_held(const struct slot *t, int held[CHATD_MAX_WORKERS]);
/* Send sig to every current worker, and to the draining ones too. */
void slots_signal(const struct slot *t, int sig, int draining_too);

/* Reload: every current worker becomes draining (an older generation);
 * their slots in old[]; returns how many. */
int slots_retire(struct slot *t, int old[CHATD_SLOTS]);
/* ... and undone: the n slots in old are current again. */
void slots_unretire(struct slot *t, const int *old, int n);
/* The draining workers not yet told to drain are current again (the new
 * generation cannot start); returns how many. */
int slots_keep_old(struct slot *t);
/* Tell the draining workers not yet told to drain (SIGUSR2), their state
 * in shm DRAINING. */
void slots_drain_old(struct slot *t, struct shm_hdr *shm);

/* Current workers that serve (their started_ms in shm is set). */
int slots_serving(const struct slot *t, struct shm_hdr *shm);
/* The connections and rooms of every live worker, from shm. */
void slots_load(const struct slot *t, struct shm_hdr *shm, unsigned long long *conns,
		unsigned long long *rooms);

#endif
