/* SPDX-License-Identifier: MIT */
/*
 * hwait.h - room history work that waits for its room's subscription
 * (issue 16, the "first subscribe"): with Redis, a room this pod has just
 * joined is subscribed on the sub link while its history is read and its
 * frames stored on the pub link, and Redis serves the two links in any
 * order.  A read answered before the SUBSCRIBE took effect misses what was
 * published in between (it is in neither the answer nor the live stream),
 * and a frame stored then never comes back to this pod's own clients.  So
 * such work waits here, in the order it came, until Redis confirms the
 * room's subscription, or for timeout_ms at most.  It is also the queue of
 * the reads, their room subscribed, waiting for one of Redis's read slots.
 * Master only; hserve.c owns one.
 */
#ifndef CHATD_HWAIT_H
#define CHATD_HWAIT_H

#include <stddef.h>
#include <stdint.h>

struct hwait;

enum hwait_kind { HWAIT_READ, HWAIT_STORE };

/* Do one waiting item now: ok 1 when its room is subscribed, 0 when it
 * waited too long.  slot, room and data[0..len) are what was added.
 * Returns 0, or -1 (only when ok) when it cannot be done yet (Redis has
 * too many reads in flight): it stays, and so do the later ones of its
 * kind, until hwait_pump(). */
typedef int (*hwait_run_fn)(void *arg, int ok, enum hwait_kind kind, int slot,
			    const char *room, size_t room_len, const char *data, size_t len);

/* A queue whose items run through run(arg, ...); NULL on ENOMEM. */
struct hwait *hwait_new(uint64_t timeout_ms, hwait_run_fn run, void *arg);
/* Frees the items without running them; NULL is fine. */
void hwait_free(struct hwait *w);

/* Keep an item (copied) for room (room_len 0: global) from now_ms; ready 1
 * when its room is subscribed already (it waits for hwait_pump() only, a
 * read for a read slot), 0 when it waits for hwait_ready().  0, or -1 when
 * the bounds are reached or on ENOMEM: then do it at once. */
int hwait_add(struct hwait *w, enum hwait_kind kind, int slot, const char *room,
	      size_t room_len, const char *data, size_t len, int ready, uint64_t now_ms);
/* Does an item of kind for room wait?  1 or 0: a later one must queue
 * behind it. */
int hwait_holds(const struct hwait *w, enum hwait_kind kind, const char *room,
		size_t room_len);
/* Room's subscription is confirmed: its items are ready; run the ready
 * ones, oldest first (hwait_pump). */
void hwait_ready(struct hwait *w, const char *room, size_t room_len);
/* Run the ready items, oldest first, as far as they can be done now. */
void hwait_pump(struct hwait *w);
/* Do ready items wait for hwait_pump()?  1 or 0. */
int hwait_pending(const struct hwait *w);
/* Run (ok 0) the items older than the timeout at now_ms, oldest first. */
void hwait_tick(struct hwait *w, uint64_t now_ms);

#endif
