/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - Prometheus text from the shared-memory stats.  It walks the
 * field tables of stats.c, so JSON and metrics cannot disagree on what is
 * counted; only the derived series (info, redis state, ring lag) are
 * written here by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"
#include "metrics.h"
#include "stats.h"

#define PFX "chatd_"

/* "# HELP" and "# TYPE" of a family; name gets its full name. */
static void family(FILE *o, const struct stats_field *f, char *name, size_t cap)
{
	snprintf(name, cap, PFX "%s%s", f->metric, f->counter ? "_total" : "");
	fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, f->help, name,
		f->counter ? "counter" : "gauge");
}

static void head(FILE *o, const char *name, const char *type, const char *help)
{
	fprintf(o, "# HELP " PFX "%s %s\n# TYPE " PFX "%s %s\n", name, help, name, type);
}

static int slot_used(struct shm_hdr *shm, int slot)
{
	return stats_get(&shm->worker[slot].state) != SLOT_FREE;
}

/* One series of worker field f: per live slot, then the retired totals. */
static void worker_series(FILE *o, struct shm_hdr *shm, const struct stats_field *f,
			  const char *name)
{
	const char *sep = f->label ? "," : "", *lab = f->label ? f->label : "";

	for (int slot = 0; slot < CHATD_SLOTS; slot++)
		if (slot_used(shm, slot))
			fprintf(o, "%s{worker=\"%d\"%s%s} %llu\n", name, slot, sep, lab,
				(unsigned long long)stats_field_get(&shm->worker[slot], f));
	if (f->counter)
		fprintf(o, "%s{worker=\"retired\"%s%s} %llu\n", name, sep, lab,
			(unsigned long long)stats_field_get(&shm->retired, f));
}

static void worker_metrics(FILE *o, struct shm_hdr *shm)
{
	size_t n;
	const struct stats_field *t = stats_worker_fields(&n);
	char name[128] = "";

	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(t[i].metric, t[i - 1].metric) != 0)
			family(o, &t[i], name, sizeof(name));
		worker_series(o, shm, &t[i], name);
	}
	head(o, "ring_lag", "gauge",
	     "Broadcast ring records a worker has not read yet (as of its last wake-up).");
	for (int slot = 0; slot < CHATD_SLOTS; slot++)
		if (slot_used(shm, slot))
			fprintf(o, PFX "ring_lag{worker=\"%d\"} %llu\n", slot,
				(unsigned long long)stats_ring_lag(shm, &shm->worker[slot]));
}

static void process_metrics(FILE *o, struct shm_hdr *shm)
{
	struct master_stats *m = &shm->master;

	head(o, "info", "gauge", "chatd version; always 1.");
	fprintf(o, PFX "info{version=\"%s\"} 1\n", CHATD_VERSION);
	head(o, "start_time_seconds", "gauge", "When the master started, in Unix time.");
	fprintf(o, PFX "start_time_seconds %.3f\n", (double)stats_get(&m->started_ms) / 1000.0);
	head(o, "stopping", "gauge", "1 once a graceful stop began.");
	fprintf(o, PFX "stopping %llu\n", (unsigned long long)(stats_get(&m->stopping) != 0));
	head(o, "worker_info", "gauge", "The workers: slot, pid, generation and state; always 1.");
	for (int slot = 0; slot < CHATD_SLOTS; slot++) {
		struct worker_stats *s = &shm->worker[slot];

		if (slot_used(shm, slot))
			fprintf(o, PFX "worker_info{worker=\"%d\",pid=\"%llu\",generation=\"%llu\","
				"state=\"%s\"} 1\n", slot, (unsigned long long)stats_get(&s->pid),
				(unsigned long long)stats_get(&s->generation),
				stats_slot_state_name(stats_get(&s->state)));
	}
}

static void master_metrics(FILE *o, struct shm_hdr *shm)
{
	uint64_t st = stats_get(&shm->master.redis_state);
	const struct stats_field *t;
	char name[128];
	size_t n;

	t = stats_master_fields(&n);
	for (size_t i = 0; i < n; i++) {
		family(o, &t[i], name, sizeof(name));
		fprintf(o, "%s %llu\n", name, (unsigned long long)stats_field_get(&shm->master, &t[i]));
	}
	head(o, "redis_state", "gauge", "State of the link to Redis: 1 for the current one.");
	for (uint64_t i = 0; i < REDIS_STATE_COUNT; i++)
		fprintf(o, PFX "redis_state{state=\"%s\"} %d\n", stats_redis_state_name(i), st == i);
	head(o, "redis_up", "gauge", "1 while the link to Redis is up.");
	fprintf(o, PFX "redis_up %d\n", st == REDIS_STATE_UP);
}

char *metrics_text(struct shm_hdr *shm, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *o = open_memstream(&buf, &n);

	if (o == NULL)
		return NULL;
	process_metrics(o, shm);
	worker_metrics(o, shm);
	master_metrics(o, shm);
	if (fclose(o) != 0 || buf == NULL) {
		free(buf);
		return NULL;
	}
	if (len != NULL)
		*len = n;
	return buf;
}
