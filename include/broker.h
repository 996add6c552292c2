/* SPDX-License-Identifier: MIT */
/*
 * broker.h - the master's link to Redis: publish what local clients sent,
 * subscribe by interest, deliver what other pods sent, survive Redis going
 * away (redis_link.h keeps each connection up).  Master only.
 */
#ifndef CHATD_BROKER_H
#define CHATD_BROKER_H

#include <stddef.h>
#include "mloop.h"
#include "shm.h"

struct conf;

/* Called for every envelope from another pod: put it in the broadcast ring. */
typedef void (*broker_deliver_fn)(void *arg, const char *room, size_t room_len,
				  const char *frame, size_t frame_len);

struct broker;

/* Start connecting (never blocks; an unreachable Redis is retried with
 * backoff).  NULL on a bad URL (err filled).  Not called when redis is off. */
struct broker *broker_new(const struct conf *c, struct mloop *loop, const char *pod_id,
			  struct master_stats *st, broker_deliver_fn deliver, void *arg,
			  char *err, size_t errlen);
void broker_free(struct broker *b);

/* Publish a frame to realtime:room:{room} (or realtime:global when room_len
 * is 0); queued (bounded) while Redis is down. */
void broker_publish(struct broker *b, const char *room, size_t room_len,
		    const char *frame, size_t frame_len);
/* Worker `slot` gained (delta 1) or lost (-1) its first/last member of room;
 * SUBSCRIBE / UNSUBSCRIBE follow the union over all slots. */
void broker_interest(struct broker *b, int slot, const char *room, size_t room_len, int delta);
/* Worker `slot` is gone: drop all its interests. */
void broker_slot_gone(struct broker *b, int slot);

/* Room history (redis_hist.c) runs its scripts on the pub link, hears when
 * it comes up (1) or goes down (0), and needs sub up: its stored frames
 * come back on the subscription, ours included (an own frame with an
 * "offset" is delivered, not dropped as an echo). */
typedef void (*broker_pub_hook_fn)(void *arg, int up);
struct redis_link *broker_pub_link(struct broker *b);
void broker_pub_hook(struct broker *b, broker_pub_hook_fn fn, void *arg);
int broker_sub_ready(const struct broker *b);

/* What the subscriber link says about a room (room_len 0: the global
 * channel), for the gap fill (gapfill.c): LOST, the link went down (room
 * NULL: every subscription with it); CONFIRMED, Redis answered a SUBSCRIBE
 * of room; GONE, this pod no longer wants room (UNSUBSCRIBE sent or
 * confirmed).  Called from within hiredis's callbacks. */
enum broker_sub_event { BROKER_SUB_LOST, BROKER_SUB_CONFIRMED, BROKER_SUB_GONE };
typedef void (*broker_sub_hook_fn)(void *arg, enum broker_sub_event ev, const char *room,
				   size_t room_len);
void broker_sub_hook(struct broker *b, broker_sub_hook_fn fn, void *arg);
/* Where this pod's subscription to room (room_len 0: global, always
 * wanted) stands: UNWANTED, no worker has members in it; PENDING, wanted,
 * but Redis has not answered its latest SUBSCRIBE on the sub link that is up
 * now (or sub is down), so a PUBLISH to it may not reach this pod yet
 * (hwait.h); SUBSCRIBED, it will. */
enum broker_sub_state { BROKER_SUB_UNWANTED, BROKER_SUB_PENDING, BROKER_SUB_SUBSCRIBED };
enum broker_sub_state broker_sub_state(struct broker *b, const char *room, size_t room_len);

#endif
