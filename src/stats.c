/* SPDX-License-Identifier: MIT */
/*
 * stats.c - statistics of the whole server as JSON.  Two tables name every
 * counter once, with its JSON key and its Prometheus name; they drive the
 * JSON, metrics.c and the folding of a dead worker's counters into the
 * retired totals.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "stats.h"

#define W(n, f, c, m, l, h) { n, NULL, m, l, h, offsetof(struct worker_stats, f), c }
static const struct stats_field worker_fields[] = {
	W("connections", connections, 0, "connections", NULL, "Open WebSocket connections."),
	W("rooms", rooms, 0, "rooms", NULL, "Rooms with members, counted per worker."),
	W("connections_total", connections_total, 1, "connections_accepted", NULL,
	  "WebSocket connections established."),
	W("http_requests", http_requests, 1, "http_requests", NULL, "Plain HTTP requests answered."),
	W("messages_in", msgs_in, 1, "messages_in", NULL, "Messages received from clients."),
	W("frames_out", frames_out, 1, "messages_out", NULL, "Messages (frames) sent to clients."),
	W("bytes_out", bytes_out, 1, "bytes_out", NULL, "Payload bytes sent to clients."),
	W("errors_sent", errors_sent, 1, "errors_sent", NULL, "error messages sent to clients."),
	/* one family, one row per reason: keep the "closes" rows together */
	W("slow_consumer_closes", slow_closes, 1, "closes", "reason=\"slow_consumer\"",
	  "Connections closed by chatd, by reason (1008 slow consumer, rate limit or "
	  "expired token; 1009 too big)."),
	W("oversize_closes", oversize_closes, 1, "closes", "reason=\"message_too_big\"", NULL),
	W("rate_limit_closes", rate_limit_closes, 1, "closes", "reason=\"rate_limit\"", NULL),
	W("token_expired_closes", token_expired_closes, 1, "closes", "reason=\"token_expired\"",
	  NULL),
	W("rejected_upgrades", rejected_upgrades, 1, "upgrades_rejected", NULL,
	  "WebSocket upgrades refused before the handshake (400/401/403/404/426/503)."),
	W("connection_limit_hits", conn_limit_hits, 1, "connection_limit_hits", NULL,
	  "Connections refused: max_connections or out of file descriptors."),
	W("ring_lost", ring_lost, 1, "ring_lost", NULL,
	  "Broadcast ring records a worker lost because the ring lapped it."),
	W("uplink_full", uplink_full, 1, "uplink_full", NULL,
	  "Times the worker found its uplink to the master full."),
	W("uplink_held", uplink_held, 1, "uplink_held", NULL,
	  "Clients' messages that waited for uplink space, their senders not read meanwhile."),
	W("uplink_refused", uplink_refused, 1, "uplink_refused", NULL,
	  "Clients' messages refused (overloaded): uplink full and uplink_size bytes waiting."),
	W("uplink_events_lost", uplink_events_lost, 1, "uplink_events_lost", NULL,
	  "Room joins/leaves and member events lost: too many waiting for uplink space."),
	W("history_refused", history_refused, 1, "history_refused", NULL,
	  "History requests at the upgrade answered history_unavailable by the worker: too "
	  "many waiting, uplink full, or no answer in time."),
	W("roster_refused", roster_refused, 1, "roster_refused", NULL,
	  "Roster requests a worker refused (all waits taken, uplink full) or timed out (504)."),
	W("presence_skipped", presence_skipped, 1, "presence_skipped", NULL,
	  "Presence frames not sent: room above presence_max_members."),
	W("publishes", publishes, 1, "publishes", NULL,
	  "Messages accepted by the HTTP publish API."),
	W("publish_errors", publish_errors, 1, "publish_errors", NULL,
	  "HTTP publish requests refused."),
	W("auth_refused", auth_refused, 1, "auth_refused", NULL,
	  "Upgrades refused for their token: missing, invalid, expired (401) or wrong room (403)."),
	W("origin_refused", origin_refused, 1, "origin_refused", NULL,
	  "Upgrades refused because their Origin is not in allowed_origins (403)."),
	W("ip_limit_hits", ip_limit_hits, 1, "ip_limit_hits", NULL,
	  "Connections refused: max_connections_per_ip."),
	W("handshake_failures", handshake_failures, 1, "handshake_failures", NULL,
	  "Connections closed before a whole HTTP request head (timeout, too large, garbage)."),
	W("rate_limited", rate_limited, 1, "rate_limited", NULL,
	  "Client messages refused by rate_limit."),
	/* one family: keep the "handshakes_refused" rows together */
	W("bad_upgrade_refused", bad_upgrade, 1, "handshakes_refused", "reason=\"bad_upgrade\"",
	  "Upgrades refused as malformed (RFC 6455 4.2.1): Upgrade not websocket, Connection "
	  "without upgrade, Sec-WebSocket-Key not 16 bytes of base64 (400), "
	  "Sec-WebSocket-Version not 13 (426)."),
	W("bad_connection_refused", bad_connection, 1, "handshakes_refused",
	  "reason=\"bad_connection\"", NULL),
	W("bad_key_refused", bad_key, 1, "handshakes_refused", "reason=\"bad_key\"", NULL),
	W("bad_version_refused", bad_version, 1, "handshakes_refused", "reason=\"bad_version\"",
	  NULL),
	W("status_refused", status_refused, 1, "status_refused", NULL,
	  "Requests for /metrics or the stats refused: address not in status_allow (403)."),
	W("http_pending_refused", http_pending_refused, 1, "http_pending_refused", NULL,
	  "Connections closed at accept: their address had max_http_pending_per_ip connections "
	  "in the HTTP phase."),
	/* one family: keep the "http_cut" rows together */
	W("http_pool_cuts", http_pool_cuts, 1, "http_cut", "reason=\"pool_full\"",
	  "HTTP-phase connections cut by chatd: the oldest, when a worker had max_http_pending "
	  "of them (pool_full); a request head or a POST body not complete within "
	  "handshake_timeout (head_timeout, body_timeout)."),
	W("http_head_timeouts", http_head_timeouts, 1, "http_cut", "reason=\"head_timeout\"",
	  NULL),
	W("http_body_timeouts", http_body_timeouts, 1, "http_cut", "reason=\"body_timeout\"",
	  NULL),
};
#undef W
#define NFIELDS (sizeof(worker_fields) / sizeof(worker_fields[0]))

#define M(n, g, f, c, m, h) { n, g, m, NULL, h, offsetof(struct master_stats, f), c }
static const struct stats_field master_fields[] = {
	M("worker_restarts", NULL, worker_restarts, 1, "worker_restarts",
	  "Workers that died and were replaced."),
	M("reloads", NULL, reloads, 1, "reloads", "Configuration reloads (SIGHUP) applied."),
	M("ring_records", NULL, ring_records, 1, "ring_records",
	  "Records put into the broadcast ring."),
	M("ring_too_big", NULL, ring_too_big, 1, "ring_too_big",
	  "Frames (from other pods) too large for a broadcast ring record, dropped."),
	M("ghosts_offline", NULL, ghosts_offline, 1, "ghosts_offline",
	  "Offline presence the master sent for the room members of a worker that died."),
	M("members_untracked", NULL, members_untracked, 1, "members_untracked",
	  "Room members the master could not track (table full): no offline if their "
	  "worker dies."),
	M("roster_busy", NULL, roster_busy, 1, "roster_busy",
	  "Roster requests refused without Redis: the master's budget for them was spent."),
	M("roster_unwritten", NULL, roster_unwritten, 1, "roster_unwritten",
	  "Members a roster resync could not write to Redis (an error answer): missing from "
	  "the roster until the next reconnection writes them again."),
	M("reconnects", "redis", redis_reconnects, 1, "redis_reconnects",
	  "Connections to Redis made again after a loss."),
	M("published", "redis", redis_published, 1, "redis_published",
	  "Messages published to Redis."),
	M("received", "redis", redis_received, 1, "redis_received",
	  "Messages received from Redis."),
	M("own_echoes_dropped", "redis", redis_own_echoes, 1, "redis_own_echoes_dropped",
	  "Messages from Redis dropped because this pod published them."),
	M("malformed", "redis", redis_malformed, 1, "redis_malformed",
	  "Malformed messages from Redis dropped."),
	M("queued", "redis", redis_queued, 0, "redis_publish_queue",
	  "Messages waiting in the Redis publish queue."),
	M("queue_expired", "redis", redis_queue_expired, 1, "redis_queue_expired",
	  "Queued publishes dropped after redis_queue_age."),
	M("queue_overflow", "redis", redis_queue_overflow, 1, "redis_queue_overflow",
	  "Queued publishes dropped beyond redis_queue_max."),
	M("subscribed_rooms", "redis", redis_subscribed_rooms, 0, "redis_subscribed_rooms",
	  "Rooms this pod is subscribed to in Redis."),
	M("timeouts", "redis", redis_timeouts, 1, "redis_timeouts",
	  "Links to Redis dropped because Redis did not answer within redis_timeout."),
	M("sub_gaps", "redis", redis_sub_gaps, 1, "redis_sub_gaps",
	  "Times the subscriber link was lost while up: what other pods published "
	  "until it was back was lost for this pod."),
	M("gap_fills", "redis", redis_gap_fills, 1, "redis_gap_fills",
	  "Rooms whose subscriber gap was filled from the room history."),
	M("gap_filled", "redis", redis_gap_filled, 1, "redis_gap_filled_messages",
	  "Messages delivered from the room history into a subscriber gap."),
	M("gap_waits", "redis", redis_gap_waits, 1, "redis_gap_waits",
	  "Gap-fill pages read again later: the broadcast ring had no room for them (a "
	  "worker was behind by most of it)."),
	M("gap_unfilled", "redis", redis_gap_unfilled, 1, "redis_gap_unfilled",
	  "Rooms whose subscriber gap could not be filled (epoch changed, past "
	  "retention, Redis did not answer, too much arrived meanwhile)."),
	M("unnumbered", "history", history_unnumbered, 1, "history_unnumbered",
	  "Messages delivered and published without offset: Redis was not usable, or their "
	  "room's SUBSCRIBE was not confirmed within 2 s."),
	M("unavailable", "history", history_unavailable, 1, "history_unavailable",
	  "History requests answered history_unavailable: Redis down or busy, no answer "
	  "within 3 s, the room's SUBSCRIBE not confirmed within 2 s, or the answer would "
	  "have had to wait for room in the broadcast ring past 4.5 s after the request "
	  "(or behind 4 times ring_size, 64 MiB at most, of answers waiting)."),
	M("answer_waits", "history", history_answer_waits, 1, "history_answer_waits",
	  "History answers that waited for room in the broadcast ring (a worker was behind "
	  "by most of it), put once it had read."),
	M("wait_full", "history", history_wait_full, 1, "history_wait_full",
	  "History reads and messages that could not wait for their room's SUBSCRIBE or a "
	  "Redis read slot (16384 items or 16 MiB waiting): done at once."),
	M("taint_overflow", "history", history_taint_overflow, 1, "history_taint_overflow",
	  "Messages that went out unnumbered in a room whose epoch could not be marked for "
	  "reset (4096 rooms already): recovering across that hole may say recovered:true."),
};
#undef M
#define NMASTER (sizeof(master_fields) / sizeof(master_fields[0]))

const struct stats_field *stats_worker_fields(size_t *n)
{
	*n = NFIELDS;
	return worker_fields;
}

const struct stats_field *stats_master_fields(size_t *n)
{
	*n = NMASTER;
	return master_fields;
}

uint64_t stats_field_get(const void *st, const struct stats_field *f)
{
	return stats_get((const _Atomic uint64_t *)(const void *)((const char *)st + f->offset));
}

uint64_t stats_ring_lag(struct shm_hdr *shm, const struct worker_stats *s)
{
	uint64_t head = stats_get(&shm_bcast(shm)->seq), read = stats_get(&s->ring_read);

	return head > read ? head - read : 0;
}

static _Atomic uint64_t *field(struct worker_stats *s, size_t i)
{
	return (_Atomic uint64_t *)((char *)s + worker_fields[i].offset);
}

void stats_retire_slot(struct shm_hdr *shm, int slot)
{
	struct worker_stats *s = &shm->worker[slot];

	for (size_t i = 0; i < NFIELDS; i++)
		if (worker_fields[i].counter)
			stats_add(field(&shm->retired, i), stats_get(field(s, i)));
	memset(s, 0, sizeof(*s));
}

const char *stats_slot_state_name(uint64_t st)
{
	static const char *const states[SLOT_STATE_COUNT] = {
		[SLOT_FREE] = "free", [SLOT_RUNNING] = "running", [SLOT_DRAINING] = "draining",
	};

	return st < SLOT_STATE_COUNT ? states[st] : "?";
}

static json_t *worker_json(struct shm_hdr *shm, struct worker_stats *s, int slot)
{
	json_t *o = json_object();

	json_object_set_new(o, "slot", json_integer(slot));
	json_object_set_new(o, "pid", json_integer((json_int_t)stats_get(&s->pid)));
	json_object_set_new(o, "generation", json_integer((json_int_t)stats_get(&s->generation)));
	json_object_set_new(o, "state", json_string(stats_slot_state_name(stats_get(&s->state))));
	for (size_t i = 0; i < NFIELDS; i++)
		json_object_set_new(o, worker_fields[i].name,
				    json_integer((json_int_t)stats_get(field(s, i))));
	json_object_set_new(o, "ring_lag", json_integer((json_int_t)stats_ring_lag(shm, s)));
	return o;
}

/* The master's fields into root (group NULL) and its sub-objects. */
static void master_json(struct master_stats *m, json_t *root)
{
	for (size_t i = 0; i < NMASTER; i++) {
		const struct stats_field *f = &master_fields[i];
		json_t *o = root;

		if (f->group != NULL) {
			o = json_object_get(root, f->group);
			if (o == NULL) {
				o = json_object();
				json_object_set_new(root, f->group, o);
			}
		}
		json_object_set_new(o, f->name, json_integer((json_int_t)stats_field_get(m, f)));
	}
}

const char *stats_redis_state_name(uint64_t st)
{
	static const char *const states[REDIS_STATE_COUNT] = {
		[REDIS_STATE_OFF] = "off", [REDIS_STATE_CONNECTING] = "connecting",
		[REDIS_STATE_UP] = "up", [REDIS_STATE_DOWN] = "down",
	};

	return st < REDIS_STATE_COUNT ? states[st] : "?";
}

char *stats_json(struct shm_hdr *shm, size_t *len)
{
	uint64_t sum[NFIELDS];
	json_t *root = json_object(), *workers = json_array(), *redis = json_object();
	struct master_stats *m = &shm->master;
	char *out;

	for (size_t i = 0; i < NFIELDS; i++)
		sum[i] = worker_fields[i].counter ? stats_get(field(&shm->retired, i)) : 0;
	for (int slot = 0; slot < CHATD_SLOTS; slot++) {
		struct worker_stats *s = &shm->worker[slot];

		if (stats_get(&s->state) == SLOT_FREE)
			continue;
		for (size_t i = 0; i < NFIELDS; i++)
			sum[i] += stats_get(field(s, i));
		json_array_append_new(workers, worker_json(shm, s, slot));
	}
	for (size_t i = 0; i < NFIELDS; i++)
		json_object_set_new(root, worker_fields[i].name, json_integer((json_int_t)sum[i]));
	json_object_set_new(redis, "state", json_string(stats_redis_state_name(stats_get(&m->redis_state))));
	json_object_set_new(root, "redis", redis);
	master_json(m, root);
	json_object_set_new(root, "uptime_seconds",
			    json_integer((json_int_t)(time(NULL) - (time_t)(stats_get(&m->started_ms) / 1000))));
	json_object_set_new(root, "stopping", json_boolean(stats_get(&m->stopping)));
	json_object_set_new(root, "workers", workers);
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (out != NULL && len != NULL)
		*len = strlen(out);
	return out;
}
