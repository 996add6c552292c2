/* SPDX-License-Identifier: MIT */
/*
 * roster.h - who is in a room, the master's side: answers the workers'
 * REC_ROSTER_ASK records with a REC_ROSTER record addressed to the asking
 * worker.  Single-node: from the master's members table (members.h).  With
 * Redis: the pod's members are kept in Redis (redis_roster.h) and the
 * answer comes from there, over every pod.  Master only.
 */
#ifndef CHATD_ROSTER_H
#define CHATD_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "rosterrec.h"

struct conf;
struct members;
struct mloop;
struct master_stats;
struct roster;
struct roster_gone;

/*
 * A roster over mb (kept by the caller), putting each answer (a record of
 * at most rec_max payload bytes) through put(arg, REC_ROSTER, ...).  With
 * c's redis_url it keeps this pod's members in Redis as pod_id (its own
 * link, connecting in the background).  NULL with err filled on a bad URL
 * or out of memory.
 */
struct roster *roster_new(const struct conf *c, struct mloop *loop, struct members *mb,
			  size_t rec_max, struct master_stats *st, bcast_put_fn put, void *arg,
			  const char *pod_id, char *err, size_t errlen);
/* NULL is harmless. */
void roster_free(struct roster *ro);

/*
 * The JSON body of a page: {"room", "count", "members", "next"}, the members
 * of e[0..n) (each with its sub when sub is set) that fit, so that the whole
 * body is at most max bytes however the room and the ids escape; next is
 * the last one listed when more is set or the page stopped early.  Global
 * (ROSTER_GLOBAL) has room null.  A malloc'd string, or NULL when even an
 * empty page would not fit (or ENOMEM).  Pure.
 */
char *roster_body(int sub, const char *room, size_t room_len, long long count,
		  const struct roster_entry *e, size_t n, int more, size_t max);

/* After members_add (joined 1) or members_del (0) of id in room: tells
 * Redis when the pod as a whole gained or lost that member. */
void roster_member(struct roster *ro, int joined, const char *room, size_t room_len,
		   const char *id, size_t id_len);

/* A REC_ROSTER_ASK payload p[0..len) for room from worker slot: answered
 * now (single-node, refusals) or when Redis replies. */
void roster_ask(struct roster *ro, int slot, const unsigned char *p, size_t len,
		const char *room, size_t room_len);

/* Worker slot died: roster_slot_save() before members_slot_gone() forgets
 * its members, roster_slot_done() after, to drop from Redis those the pod
 * no longer has.  save also drops the answers still due to the dead worker
 * (its successor in the slot must not get them), and returns NULL when
 * there is nothing more to do. */
struct roster_gone *roster_slot_save(struct roster *ro, int slot);
void roster_slot_done(struct roster_gone *g);

#endif
