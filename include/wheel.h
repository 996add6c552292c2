/* SPDX-License-Identifier: MIT */
/*
 * wheel.h - a hashed timing wheel: many coarse timers (a worker's
 * connection heartbeats) at O(1) to set, move and cancel, and at the cost
 * of what is due (plus one look at a slot per tick) to expire.  Time is in
 * ticks of the caller's choosing; a node is fired at the first
 * wheel_expire() whose tick reaches its own.  Pure data structure: no
 * clock, no allocation; wloop.c drives one with a loop timer.
 */
#ifndef CHATD_WHEEL_H
#define CHATD_WHEEL_H

#include <stddef.h>
#include <stdint.h>

#define WHEEL_SLOTS 1024     /* a power of two; a node further away waits rounds */

/* Embedded in what it times; unlinked (next == NULL) when not set. */
struct wheel_node {
	struct wheel_node *prev, *next;
	uint64_t tick;                 /* due at this tick */
	void (*fire)(struct wheel_node *);
};

struct wheel {
	struct wheel_node slot[WHEEL_SLOTS];   /* circular lists, the slot is the head */
	uint64_t cur;                  /* the last tick expired */
	size_t count;                  /* nodes set */
};

/* An empty wheel whose last expired tick is now. */
void wheel_init(struct wheel *wh, uint64_t now);

/* Set n (first time or again) to fire(n) at tick (at the next tick when
 * tick has passed). */
void wheel_set(struct wheel *wh, struct wheel_node *n, uint64_t tick,
	       void (*fire)(struct wheel_node *));

/* Unset n; harmless when it is not set. */
void wheel_del(struct wheel *wh, struct wheel_node *n);

/* Fire every node due at or before tick now, each once, unset before its
 * fire() (which may set it again, or set or delete other nodes).  The
 * number fired. */
size_t wheel_expire(struct wheel *wh, uint64_t now);

#endif
