/* SPDX-License-Identifier: MIT */
/*
 * hserve.h - the master's side of room history (issue 16): numbering and
 * keeping what workers send as REC_STORE, answering their REC_HIST_REQ.
 * Single-node mode keeps the history in memory (history.c); with Redis the
 * one Lua script of redis_hist.c numbers, keeps and publishes.  Master
 * only; relay.c owns one when history_size > 0.
 */
#ifndef CHATD_HSERVE_H
#define CHATD_HSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct broker;
struct conf;
struct history_req;
struct master_stats;
struct mloop;

struct hserve;

/* A history service for c's history_size and history_ttl, putting what it
 * delivers through put(arg, ...); broker NULL = single-node, else this pod
 * is `pod` in the envelopes, and a subscriber gap is filled from the
 * history (gapfill.h; timers on loop, counted in st).  max_answer: bytes
 * of frames one answer (or one page of a gap) may put into the ring;
 * each waits for room(arg) to have room for it.
 * Once a second (a timer on loop) it forgets idle rooms, times reads out
 * and expires what waits.  NULL on ENOMEM. */
struct hserve *hserve_new(const struct conf *c, struct broker *broker, const char *pod,
			  struct mloop *loop, struct master_stats *st, size_t max_answer,
			  bcast_put_fn put, bcast_room_fn room, void *arg);
void hserve_free(struct hserve *s);

/* A frame to number, keep and deliver to room (room_len 0 = global). */
void hserve_store(struct hserve *s, const char *room, size_t room_len, const char *frame,
		  size_t len);

/* A frame the broker received for room: into the ring, in offset order
 * after a subscriber gap (gapfill.h). */
void hserve_live(struct hserve *s, const char *room, size_t room_len, const char *frame,
		 size_t len);

/* Worker `slot` asks: req[0..len) is its struct history_req.  The answer
 * (REC_HIST records, then one REC_HIST_END) goes into the ring, now or
 * when Redis answers. */
void hserve_request(struct hserve *s, int slot, const char *room, size_t room_len,
		    const void *req, size_t len);

#endif
