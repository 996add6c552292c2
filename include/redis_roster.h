/* SPDX-License-Identifier: MIT */
/*
 * redis_roster.h - the roster in Redis: this pod's room members, kept under
 * a per-pod heartbeat, and pages of a room's members over every live pod.
 *
 * Keys (the room in braces; the global channel is "*"):
 *     chatd:roster:{ROOM}:m   sorted set, score 0: "CLIENTID\tINSTANCE"
 *     chatd:roster:{ROOM}:s   hash: that member -> since (ms since the epoch)
 *     chatd:roster:{ROOM}:p   hash: INSTANCE -> its members in the room
 *     chatd:roster:pod:INSTANCE   "1" with a TTL of roster_ttl, refreshed
 *                                 every third of it (only while it exists)
 *     chatd:roster:inst:INSTANCE  set: the rooms INSTANCE wrote to
 * INSTANCE is pod_id plus a random part, new at every (re)connection and
 * when its heartbeat is found expired: the entries of an instance whose
 * heartbeat is gone are skipped and deleted by readers, so a pod killed
 * without a word drops out within roster_ttl; a new instance purges the
 * last one's rooms, and every pod sweeps the instance sets (SCAN) to purge
 * those of gone instances, so nothing piles up.  After a (re)connection
 * the members are written again in paced chunks (EVALSHA).
 * One Lua script per change or read: no reader sees half of one.
 * Its own link (redis_link.h).  Master only; never logs.
 */
#ifndef CHATD_REDIS_ROSTER_H
#define CHATD_REDIS_ROSTER_H

#include <stddef.h>
#include <stdint.h>
#include "mloop.h"
#include "rosterrec.h"

struct conf;
struct master_stats;
struct members;
struct redis_roster;

#define REDIS_ROSTER_INFLIGHT 64   /* reads waiting for Redis at once */

/* A read's answer, for the query's tag and room: status 200 with count (members over all pods), the page
 * e[0..n) and more (1: a next page exists), or 503 (Redis down or too slow)
 * with nothing else.  Called exactly once per accepted query. */
typedef void (*redis_roster_fn)(void *arg, uint64_t tag, const char *room, size_t room_len,
				int status, long long count, const struct roster_entry *e, size_t n,
				int more);

/* Start connecting to c's redis_url (never blocks; retried with backoff);
 * mb is read to write the pod's members again after each (re)connection
 * (those Redis refuses counted in st).  NULL with err filled on a bad URL
 * or out of memory. */
struct redis_roster *redis_roster_new(const struct conf *c, struct mloop *loop,
				      const char *pod_id, const struct members *mb,
				      struct master_stats *st, redis_roster_fn fn, void *arg,
				      char *err, size_t errlen);
/* Close; reads in flight are forgotten (fn is not called).  NULL is fine. */
void redis_roster_free(struct redis_roster *rr);

/* The pod gained (present 1) or lost (0) member id of room, a member
 * since since_ms (0: now, by Redis's clock).  Dropped while
 * the link is down: the next connection writes every member again. */
void redis_roster_set(struct redis_roster *rr, int present, const char *room, size_t room_len,
		      const char *id, size_t id_len, uint64_t since_ms);

/* Ask for a page of room: up to limit members after client id cursor
 * (cursor_len 0: from the first).  0: fn will be called with tag; else the
 * HTTP status to answer now (503: Redis down, or too many reads in flight). */
int redis_roster_query(struct redis_roster *rr, uint64_t tag, const char *room,
		       size_t room_len, const char *cursor, size_t cursor_len, unsigned limit);

#endif
