/* SPDX-License-Identifier: MIT */
/*
 * gapfill.h - nothing lost when Redis drops the subscriber (issue 13 item
 * 5), with room history in Redis: the master remembers, per subscribed
 * room (and the global channel), the offset and epoch of the last stored
 * frame it delivered from its subscription.  When the link is lost, each
 * such room's resubscription, once Redis confirms it, is followed by a
 * read of the room's history after that offset (redis_hist.c, in pages;
 * a few rooms at once); the frames read go into the broadcast ring in
 * offset order, and the live frames that arrive meanwhile wait and follow
 * them, those already delivered skipped: no duplicate, no hole.  A gap
 * that cannot be filled (the epoch changed, it is older than what is kept,
 * Redis did not answer) is counted in redis.gap_unfilled; clients can
 * still recover with ?since=&epoch=.  Master only; hserve.c owns one.
 */
#ifndef CHATD_GAPFILL_H
#define CHATD_GAPFILL_H

#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "record.h"

struct gapfill;
struct master_stats;

struct mloop;
struct redis_hist;

/* A gap fill over broker's subscriber link (its news come through
 * gapfill_sub_news) reading rh, putting frames through put(arg, REC_MSG, ...), at most
 * max_bytes of frames per page of a room (and held per room); a page is
 * put once room(arg) has room for it and for the frames it releases (else
 * it is read again later), so a fill never laps
 * a worker that reads.  Frames read are
 * checked as another pod's (a `system` one only from publish_from).
 * NULL on ENOMEM. */
struct gapfill *gapfill_new(struct broker *broker, struct redis_hist *rh, struct mloop *loop,
			    struct master_stats *st, size_t max_bytes, const char *publish_from,
			    bcast_put_fn put, bcast_room_fn room, void *arg);
/* Unregisters and frees; NULL is fine.  Reads in flight are dropped. */
void gapfill_free(struct gapfill *g);

/* A frame from the subscription for room (room_len 0: global): put now,
 * held while the room's gap is read, or dropped when it was delivered
 * already (its offset is not above the room's last). */
void gapfill_live(struct gapfill *g, const char *room, size_t room_len, const char *frame,
		  size_t len);

/* What the subscriber link says about room (broker_sub_hook_fn's
 * arguments): the owner of the broker's hook passes it on. */
void gapfill_sub_news(struct gapfill *g, enum broker_sub_event ev, const char *room,
		      size_t len);

/* Will room's gap be read once the subscriber is back (it is down and
 * the room's last offset is known)?  1 or 0: then a frame stored now
 * reaches this pod's clients through that read. */
int gapfill_covers(const struct gapfill *g, const char *room, size_t room_len);

#endif
