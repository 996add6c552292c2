/* SPDX-License-Identifier: MIT */
/*
 * limit.h - how much one client may do: the message rate of a connection (a
 * token bucket) and the open connections of one client address.  Pure: no
 * libwebsockets, no logging.  Each worker keeps its own; nothing here is
 * shared between processes.
 */
#ifndef CHATD_LIMIT_H
#define CHATD_LIMIT_H

#include <stddef.h>
#include <stdint.h>

/* ---- message rate: a token bucket per connection ------------------------- */

/* One per connection, zeroed at connect (a zeroed bucket starts full). */
struct limit_rate {
	uint64_t last_ms;     /* last refill, 0 = never */
	uint32_t milli;       /* tokens x 1000 */
	uint32_t strikes;     /* refusals since the last accepted message */
};

/* Take one token at now_ms from a bucket refilled at rate per second, up to
 * burst.  1 = allowed (strikes reset), 0 = refused (strikes counted). */
int limit_rate_take(struct limit_rate *b, uint64_t now_ms, int rate, int burst);

/* ---- connections per client address ---------------------------------------- */

/* One per worker: counts of open connections by client address, in a
 * table keyed by hash.h's keyed hash (addresses are the client's choice). */
struct limit_ip;
/* A connection's hold on its address's count, from limit_ip_acquire(). */
struct limit_ip_hold;

struct limit_ip *limit_ip_new(void);       /* NULL on ENOMEM */
void limit_ip_free(struct limit_ip *l);    /* every hold must be released first */

/*
 * Count one more connection from addr (4 bytes IPv4 or 16 bytes IPv6) if it
 * has fewer than max (0 = no limit).  Returns the hold to release when the
 * connection ends, or NULL when the limit is reached (*full = 1) or memory
 * ran out (*full = 0).
 */
struct limit_ip_hold *limit_ip_acquire(struct limit_ip *l, const void *addr, size_t len,
				       int max, int *full);
void limit_ip_release(struct limit_ip_hold *h);  /* NULL is harmless */
/* Open connections counted for addr. */
int limit_ip_count(const struct limit_ip *l, const void *addr, size_t len);
/* Mark / test that the connection sent a complete HTTP request head. */
void limit_ip_hold_seen(struct limit_ip_hold *h);
int limit_ip_hold_was_seen(const struct limit_ip_hold *h);

#endif
