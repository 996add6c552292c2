/*
 * stats.c - statistics of the whole server as JSON.  One table names every
 * worker counter once; it drives the JSON and the folding of a dead
 * worker's counters into the retired totals.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "stats.h"

struct stat_field {
	const char *name;   /* JSON key */
	size_t offset;      /* in struct worker_stats */
	int counter;        /* 1: only grows (kept when a worker dies); 0: a gauge */
};

#define F(n, f, c) { n, offsetof(struct worker_stats, f), c }
static const struct stat_field fields[] = {
	F("connections", connections, 0),
	F("rooms", rooms, 0),
	F("connections_total", connections_total, 1),
	F("http_requests", http_requests, 1),
	F("messages_in", msgs_in, 1),
	F("frames_out", frames_out, 1),
	F("bytes_out", bytes_out, 1),
	F("errors_sent", errors_sent, 1),
	F("slow_consumer_closes", slow_closes, 1),
	F("oversize_closes", oversize_closes, 1),
	F("rejected_upgrades", rejected_upgrades, 1),
	F("connection_limit_hits", conn_limit_hits, 1),
	F("ring_lost", ring_lost, 1),
	F("uplink_full", uplink_full, 1),
	F("presence_skipped", presence_skipped, 1),
};
#undef F
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static _Atomic uint64_t *field(struct worker_stats *s, size_t i)
{
	return (_Atomic uint64_t *)((char *)s + fields[i].offset);
}

void stats_retire_slot(struct shm_hdr *shm, int slot)
{
	struct worker_stats *s = &shm->worker[slot];

	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].counter)
			stats_add(field(&shm->retired, i), stats_get(field(s, i)));
	memset(s, 0, sizeof(*s));
}

static const char *slot_state_name(uint64_t st)
{
	return st == SLOT_RUNNING ? "running" : st == SLOT_DRAINING ? "draining" : "free";
}

static json_t *worker_json(struct worker_stats *s, int slot)
{
	json_t *o = json_object();

	json_object_set_new(o, "slot", json_integer(slot));
	json_object_set_new(o, "pid", json_integer((json_int_t)stats_get(&s->pid)));
	json_object_set_new(o, "generation", json_integer((json_int_t)stats_get(&s->generation)));
	json_object_set_new(o, "state", json_string(slot_state_name(stats_get(&s->state))));
	for (size_t i = 0; i < NFIELDS; i++)
		json_object_set_new(o, fields[i].name, json_integer((json_int_t)stats_get(field(s, i))));
	return o;
}

static json_t *redis_json(struct master_stats *m)
{
	static const char *const states[] = { "off", "connecting", "up", "down" };
	uint64_t st = stats_get(&m->redis_state);
	json_t *o = json_object();

	json_object_set_new(o, "state", json_string(st < 4 ? states[st] : "?"));
#define R(n, f) json_object_set_new(o, n, json_integer((json_int_t)stats_get(&m->f)))
	R("reconnects", redis_reconnects);
	R("published", redis_published);
	R("received", redis_received);
	R("own_echoes_dropped", redis_own_echoes);
	R("malformed", redis_malformed);
	R("queued", redis_queued);
	R("queue_expired", redis_queue_expired);
	R("queue_overflow", redis_queue_overflow);
	R("subscribed_rooms", redis_subscribed_rooms);
#undef R
	return o;
}

char *stats_json(struct shm_hdr *shm, size_t *len)
{
	uint64_t sum[NFIELDS];
	json_t *root = json_object(), *workers = json_array();
	struct master_stats *m = &shm->master;
	char *out;

	for (size_t i = 0; i < NFIELDS; i++)
		sum[i] = fields[i].counter ? stats_get(field(&shm->retired, i)) : 0;
	for (int slot = 0; slot < CHATD_SLOTS; slot++) {
		struct worker_stats *s = &shm->worker[slot];

		if (stats_get(&s->state) == SLOT_FREE)
			continue;
		for (size_t i = 0; i < NFIELDS; i++)
			sum[i] += stats_get(field(s, i));
		json_array_append_new(workers, worker_json(s, slot));
	}
	for (size_t i = 0; i < NFIELDS; i++)
		json_object_set_new(root, fields[i].name, json_integer((json_int_t)sum[i]));
	json_object_set_new(root, "worker_restarts",
			    json_integer((json_int_t)stats_get(&m->worker_restarts)));
	json_object_set_new(root, "reloads", json_integer((json_int_t)stats_get(&m->reloads)));
	json_object_set_new(root, "ring_records",
			    json_integer((json_int_t)stats_get(&m->ring_records)));
	json_object_set_new(root, "uptime_seconds",
			    json_integer((json_int_t)(time(NULL) - (time_t)(stats_get(&m->started_ms) / 1000))));
	json_object_set_new(root, "stopping", json_boolean(stats_get(&m->stopping)));
	json_object_set_new(root, "workers", workers);
	json_object_set_new(root, "redis", redis_json(m));
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (out != NULL && len != NULL)
		*len = strlen(out);
	return out;
}
