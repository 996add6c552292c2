/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the server's statistics in the Prometheus text exposition
 * format (version 0.0.4) for GET /metrics.  Every name starts with chatd_,
 * counters end in _total; per-worker series carry a worker="SLOT" label
 * and the counters of reaped workers live on in worker="retired", so the
 * sum over workers is the JSON stats' top-level number.  Any process may
 * call it.
 */
#ifndef CHATD_METRICS_H
#define CHATD_METRICS_H

#include <stddef.h>
#include "shm.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Write the exposition into a malloc'd string; *len gets its length.
 * NULL on ENOMEM.  The caller frees. */
char *metrics_text(struct shm_hdr *shm, size_t *len);

#endif
