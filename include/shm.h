/* SPDX-License-Identifier: MIT */
/*
 * shm.h - everything that lives in the shared region.
 *
 * One MAP_SHARED|MAP_ANONYMOUS region, made by the master before the first
 * fork and kept for the life of the master (across SIGHUP).  Offsets only, no
 * pointers.  Stats fields are single-writer counters: the owner updates them
 * with relaxed atomics (stats_add), anyone may read them.
 */
#ifndef CHATD_SHM_H
#define CHATD_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "chatd.h"
#include "ring.h"

#define SHM_MAGIC   0x63686174u /* "chat" */
#define SHM_VERSION 1u

/* Ring record kinds.  The payload of every kind is record.h's: the frame
 * (REC_MSG only; empty otherwise), the room, the room's length byte. */
enum rec_kind {
	REC_MSG   = 1, /* uplink and broadcast: a frame to deliver */
	REC_JOIN  = 2, /* uplink: the worker's first member of room joined */
	REC_LEAVE = 3, /* uplink: the worker's last member of room left */
	REC_MEMBER = 4, /* uplink: a client (the frame part: its id) joined room */
	REC_GONE  = 5, /* uplink: ... and left it (the global channel: room "*") */
	REC_ROSTER_ASK = 6, /* uplink: who is in room? (rosterrec.h) */
	REC_ROSTER = 7, /* broadcast: the answer, for one worker (rosterrec.h) */
	/* room history (history.h): the frame part is as that header says */
	REC_STORE    = 8, /* uplink: a frame to number, keep and deliver (REC_MSG when off) */
	REC_HIST_REQ = 9, /* uplink: struct history_req; the room is the room */
	REC_HIST     = 10, /* broadcast: one history frame; the room part a history_addr */
	REC_HIST_END = 11, /* broadcast: struct history_end; the room part a history_addr */
};

/* worker_stats.state: W: master. Named by stats_slot_state_name() for the
 * JSON and the metrics. */
enum slot_state { SLOT_FREE = 0, SLOT_RUNNING = 1, SLOT_DRAINING = 2, SLOT_STATE_COUNT };

/* master_stats.redis_state: the links to Redis together (redis_link_state);
 * named by stats_redis_state_name() for the JSON and the metrics. */
enum redis_state {
	REDIS_STATE_OFF = 0, REDIS_STATE_CONNECTING = 1, REDIS_STATE_UP = 2, REDIS_STATE_DOWN = 3,
	REDIS_STATE_COUNT
};

/* One per worker slot.  W: the worker in that slot (relaxed), except `state`,
 * `pid` and `generation`, written by the master around fork/reap. R: anyone.
 * `started_ms` stays 0 until the worker serves (the master waits for it). */
struct worker_stats {
	_Atomic uint64_t state, pid, generation, started_ms;
	_Atomic uint64_t connections;     /* open WebSocket connections */
	_Atomic uint64_t connections_total;
	_Atomic uint64_t http_requests;
	_Atomic uint64_t rooms;           /* local rooms with members */
	_Atomic uint64_t msgs_in;         /* client messages accepted */
	_Atomic uint64_t frames_out;      /* frames written to clients */
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t errors_sent;     /* `error` messages sent */
	_Atomic uint64_t slow_closes;     /* 1008 slow consumer */
	_Atomic uint64_t oversize_closes; /* 1009 */
	_Atomic uint64_t rejected_upgrades; /* 400/401/403 before the upgrade */
	_Atomic uint64_t conn_limit_hits; /* refused: max_connections / EMFILE */
	_Atomic uint64_t ring_lost;       /* broadcast records lost (lapped) */
	_Atomic uint64_t uplink_full;     /* uplink full events */
	_Atomic uint64_t uplink_held;     /* clients' messages that waited for uplink space */
	_Atomic uint64_t uplink_refused;  /* clients' messages refused: too many waited */
	_Atomic uint64_t presence_skipped;/* presence frames not sent (room too large) */
	_Atomic uint64_t ring_read;       /* broadcast ring: seq read up to (lag = ring seq - this) */
	_Atomic uint64_t publishes;       /* messages accepted by POST {prefix}/publish */
	_Atomic uint64_t publish_errors;  /* publish requests refused (4xx, overloaded) */
	/* auth.c's checks and limits */
	_Atomic uint64_t auth_refused;    /* 401/403: token missing, invalid or wrong room */
	_Atomic uint64_t origin_refused;  /* 403: Origin not in allowed_origins */
	_Atomic uint64_t ip_limit_hits;   /* refused: max_connections_per_ip */
	_Atomic uint64_t handshake_failures; /* closed before a whole request head */
	_Atomic uint64_t rate_limited;    /* messages refused: rate_limit */
	_Atomic uint64_t rate_limit_closes; /* 1008 "rate limit" */
	_Atomic uint64_t token_expired_closes; /* 1008 "token expired" */
	/* http.c: upgrades refused as RFC 6455 section 4.2.1 says (also in rejected_upgrades) */
	_Atomic uint64_t bad_upgrade;     /* 400: Upgrade is not websocket */
	_Atomic uint64_t bad_connection;  /* 400: Connection without the upgrade token */
	_Atomic uint64_t bad_key;         /* 400: Sec-WebSocket-Key missing or not 16 bytes */
	_Atomic uint64_t bad_version;     /* 426: Sec-WebSocket-Version missing or not 13 */
	_Atomic uint64_t status_refused;  /* 403: /metrics or stats from outside status_allow */
	/* gate.c: the HTTP phase */
	_Atomic uint64_t http_pending_refused; /* closed at accept: max_http_pending_per_ip */
	_Atomic uint64_t http_pool_cuts;  /* oldest HTTP-phase connection cut: max_http_pending */
	_Atomic uint64_t http_head_timeouts; /* request head not in within handshake_timeout */
	_Atomic uint64_t http_body_timeouts; /* POST body not in within handshake_timeout */
	/* limits that refuse without a client-visible counter of their own */
	_Atomic uint64_t uplink_events_lost; /* room/member events lost: queue above its bound */
	_Atomic uint64_t history_refused; /* history refused (busy, uplink full) or timed out */
	_Atomic uint64_t roster_refused;  /* roster requests refused (all waits taken) or 504 */
	_Atomic uint64_t ring_pos;        /* broadcast ring: byte position read up to (the master
	                                     paces bulk puts by the slowest: bcast_room) */
	_Atomic uint64_t pad[1];
};

/* The master's slot.  W: master.  R: anyone. */
struct master_stats {
	_Atomic uint64_t pid, started_ms;
	_Atomic uint64_t worker_restarts, reloads;
	_Atomic uint64_t ring_records;     /* records put into the broadcast ring */
	_Atomic uint64_t ring_too_big;     /* frames (from Redis) too large for a ring record */
	_Atomic uint64_t redis_state;      /* enum redis_state */
	_Atomic uint64_t redis_reconnects;
	_Atomic uint64_t redis_published;
	_Atomic uint64_t redis_received;
	_Atomic uint64_t redis_own_echoes;
	_Atomic uint64_t redis_malformed;
	_Atomic uint64_t redis_queued;     /* now in the publish queue */
	_Atomic uint64_t redis_queue_expired;
	_Atomic uint64_t redis_queue_overflow;
	_Atomic uint64_t redis_subscribed_rooms;
	_Atomic uint64_t redis_timeouts;   /* links dropped: no answer within redis_timeout */
	_Atomic uint64_t redis_sub_gaps;   /* subscriber link lost while up */
	_Atomic uint64_t stopping;         /* 1 once a graceful stop began */
	_Atomic uint64_t ghosts_offline;   /* offline presence sent for a dead worker's members */
	_Atomic uint64_t members_untracked;/* room members the master could not track (full) */
	_Atomic uint64_t roster_busy;      /* single-node roster requests refused: budget spent */
	_Atomic uint64_t redis_gap_fills;  /* rooms whose subscriber gap history filled */
	_Atomic uint64_t redis_gap_filled; /* messages delivered from history into a gap */
	_Atomic uint64_t redis_gap_unfilled;/* rooms whose subscriber gap stays open */
	_Atomic uint64_t history_taint_overflow; /* rooms with a hole whose epoch stays */
	_Atomic uint64_t history_unnumbered;  /* stores that went out unnumbered (Redis) */
	_Atomic uint64_t history_unavailable; /* history reads answered "unavailable" */
	_Atomic uint64_t history_wait_full;   /* reads/stores that found the wait list full */
	_Atomic uint64_t roster_unwritten;    /* members a roster resync could not write */
	_Atomic uint64_t history_answer_waits;/* answers that waited for broadcast ring room */
	_Atomic uint64_t redis_gap_waits;     /* gap pages read again: no broadcast ring room */
};

struct shm_hdr {
	uint32_t magic, version;
	uint64_t size;           /* whole region */
	uint64_t bcast_off;      /* struct ring + data */
	uint64_t uplink_off;     /* CHATD_SLOTS x (struct ring + data) */
	uint64_t uplink_stride;
	struct ring_waiter master_waiter; /* uplink wake-up suppression */
	struct master_stats master;
	struct worker_stats worker[CHATD_SLOTS];
	struct worker_stats retired;  /* counters of reaped workers. W: master */
};

/* Map and lay out the region (master, before any fork).  NULL on error
 * (errno set). */
struct shm_hdr *shm_create(size_t ring_size, size_t uplink_size);
void shm_destroy(struct shm_hdr *h);
struct ring *shm_bcast(struct shm_hdr *h);
struct ring *shm_uplink(struct shm_hdr *h, int slot);

/* Single-writer counters (relaxed: plain loads/stores on x86). */
static inline void stats_add(_Atomic uint64_t *f, uint64_t n)
{
	atomic_store_explicit(f, atomic_load_explicit(f, memory_order_relaxed) + n,
			      memory_order_relaxed);
}
static inline void stats_sub(_Atomic uint64_t *f, uint64_t n)
{
	atomic_store_explicit(f, atomic_load_explicit(f, memory_order_relaxed) - n,
			      memory_order_relaxed);
}
static inline void stats_set(_Atomic uint64_t *f, uint64_t v)
{
	atomic_store_explicit(f, v, memory_order_relaxed);
}
static inline uint64_t stats_get(const _Atomic uint64_t *f)
{
	return atomic_load_explicit(f, memory_order_relaxed);
}

#endif
