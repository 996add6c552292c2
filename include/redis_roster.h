/* SPDX-License-Identifier: MIT */
/*
 * redis_roster.h - who is in a room, across pods (issue 16 item 4): each
 * pod keeps its members in one hash per room and says it is alive once a
 * second; a read lists the members of live pods only, so the entries of a
 * pod that died without a word stop counting within ROSTER_EXPIRY_MS.
 * Master only; made and driven by rserve.c, on the broker's pub link.
 *
 *     realtime:room:{room}:members   field "POD\nGEN\nSLOT\nID" = since (ms)
 *     realtime:pods                  zset "POD\nGEN" scored by its last
 *                                    heartbeat (Redis's TIME, ms)
 *
 * GEN is new after every reconnect, when all of the pod's entries are
 * written again: the old generation's (some HDELs may have been lost while
 * Redis was away) stop counting with its heartbeats.
 */
#ifndef CHATD_REDIS_ROSTER_H
#define CHATD_REDIS_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#include "roster.h"

#define ROSTER_HEARTBEAT_MS 1000
#define ROSTER_EXPIRY_MS    3000

struct mloop;
struct redis_link;
struct redis_roster;

/* A read's answer: e[0..n) (valid during the call), ok 0 when Redis did not
 * answer. */
typedef void (*redis_roster_done_fn)(void *arg, int ok, struct roster_entry *e, size_t n);

/* Heartbeats start at once (sent while the link is up).  NULL on ENOMEM. */
struct redis_roster *redis_roster_new(struct mloop *loop, struct redis_link *link,
				      const char *pod, size_t pod_len);
void redis_roster_free(struct redis_roster *rr);

/* The link came up: a new generation, a heartbeat, then every entry of rs
 * written again.  Down: reads in flight answered not ok. */
void redis_roster_link(struct redis_roster *rr, int up, const struct roster *rs);

/* One entry added (since_ms) or removed; dropped while the link is down. */
void redis_roster_add(struct redis_roster *rr, int slot, const char *room, size_t room_len,
		      const char *id, size_t id_len, uint64_t since_ms);
void redis_roster_del(struct redis_roster *rr, int slot, const char *room, size_t room_len,
		      const char *id, size_t id_len);

/* Read room's members of live pods; done is called once, later.  0, or -1
 * at once (link down, too many reads in flight; done not called). */
int redis_roster_read(struct redis_roster *rr, const char *room, size_t room_len,
		      redis_roster_done_fn done, void *arg);

#endif
