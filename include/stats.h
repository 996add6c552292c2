/*
 * stats.h - the server's statistics as JSON, summed over every process's
 * slot in shared memory.  Any process may call it.
 */
#ifndef CHATD_STATS_H
#define CHATD_STATS_H

#include <stddef.h>
#include "shm.h"

/* Write the stats JSON into a malloc'd string; *len gets its length.
 * NULL on ENOMEM.  The caller frees. */
char *stats_json(struct shm_hdr *shm, size_t *len);
/* Fold a dead worker slot's counters into the retired totals and clear it
 * (master only, after reaping the slot's worker). */
void stats_retire_slot(struct shm_hdr *shm, int slot);

#endif
