/* SPDX-License-Identifier: MIT */
/*
 * hanswer.h - history answers on their way into the broadcast ring (master
 * only; hserve.c owns the queue).  An answer is gathered whole, its marked
 * frames and its end, then put at once when the ring has room for it
 * beyond what the slowest worker has not read (bcast_room_fn); else it
 * waits, behind the answers waiting already, and goes when room frees (a
 * timer).  So a burst of joins asking for history never writes over what a
 * worker has still to deliver, and Redis or the in-memory store is read as
 * fast as before.  Bounded: the answers waiting hold at most max_waiting
 * bytes, and one waits until HANSWER_LATE_MS before its worker gives up on
 * it (HISTORY_ANSWER_MS after it asked) at most; past either it loses its
 * frames and says history_unavailable (counted in history_unavailable).
 */
#ifndef CHATD_HANSWER_H
#define CHATD_HANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "record.h"

/* An answer goes without its frames this long before its worker gives up
 * on it (HISTORY_ANSWER_MS after it asked). */
#define HANSWER_LATE_MS 500

struct hanswer;
struct hanswers;
struct master_stats;
struct mloop;

/* A queue putting through put(arg, ...) once room(arg) has room for it;
 * timers on loop.  NULL on ENOMEM. */
struct hanswers *hanswers_new(struct mloop *loop, struct master_stats *st, size_t max_waiting,
			      bcast_put_fn put, bcast_room_fn room, void *arg);
/* Frees q and the answers waiting (not put); NULL is fine. */
void hanswers_free(struct hanswers *q);

/* A new answer to the connection at `to`, which asked at asked_ms
 * (CLOCK_MONOTONIC, as mloop_now_ms()); NULL on ENOMEM. */
struct hanswer *hanswer_new(const struct history_addr *to, uint64_t asked_ms);
/* Add a marked frame (copied); on ENOMEM the answer will say unavailable. */
void hanswer_frame(struct hanswer *a, const char *frame, size_t len);
/* The answer is whole: its end (copied); q puts it, now or once there is
 * room, and frees it. */
void hanswer_end(struct hanswers *q, struct hanswer *a, const struct history_end *end);

#endif
