/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the server's statistics, summed over every process's slot in
 * shared memory: as JSON here, as Prometheus text in metrics.h.  Both walk
 * the same field tables, so a counter is named once.  Any process may call.
 */
#ifndef CHATD_STATS_H
#define CHATD_STATS_H

#include <stddef.h>
#include "shm.h"

/* One statistic in struct worker_stats or struct master_stats. */
struct stats_field {
	const char *name;    /* JSON key */
	const char *group;   /* master fields: NULL = top level, else a JSON sub-object */
	const char *metric;  /* Prometheus family without "chatd_" (and "_total") */
	const char *label;   /* a fixed label pair of the series (reason="..."), or NULL;
	                        rows of one family are adjacent */
	const char *help;    /* Prometheus HELP text */
	size_t offset;       /* in the stats struct */
	int counter;         /* 1: only grows (kept when a worker dies); 0: a gauge */
};

/* The field tables; *n gets the length. */
const struct stats_field *stats_worker_fields(size_t *n);
const struct stats_field *stats_master_fields(size_t *n);

/* The value of field f in a worker_stats / master_stats struct. */
uint64_t stats_field_get(const void *st, const struct stats_field *f);

/* The name of an enum redis_state value ("off", "connecting", "up",
 * "down"; "?" out of range), for the JSON and the metrics. */
const char *stats_redis_state_name(uint64_t st);

/* The name of an enum slot_state value ("free", "running", "draining";
 * "?" out of range), for the JSON and the metrics. */
const char *stats_slot_state_name(uint64_t st);

/* Records of the broadcast ring worker slot s has not read yet. */
uint64_t stats_ring_lag(struct shm_hdr *shm, const struct worker_stats *s);

/* Write the stats JSON into a malloc'd string; *len gets its length.
 * NULL on ENOMEM.  The caller frees. */
char *stats_json(struct shm_hdr *shm, size_t *len);
/* Fold a dead worker slot's counters into the retired totals and clear it
 * (master only, after reaping the slot's worker). */
void stats_retire_slot(struct shm_hdr *shm, int slot);

#endif
