/* SPDX-License-Identifier: MIT */
/*
 * redis_pub.h - the publishing half of the broker: PUBLISH on the pub link,
 * a bounded FIFO while the link is down, and the gate that holds that FIFO
 * after an outage until the other pods have resubscribed.  Master only;
 * made and driven by broker.c.
 */
#ifndef CHATD_REDIS_PUB_H
#define CHATD_REDIS_PUB_H

#include <stddef.h>
#include "mloop.h"
#include "redis_link.h"
#include "shm.h"

/* The channels every pod uses (broker.c subscribes to them). */
#define CHAN_GLOBAL      "realtime:global"
#define CHAN_GLOBAL_LEN  (sizeof(CHAN_GLOBAL) - 1)
#define CHAN_ROOM        "realtime:room:"        /* + the room's name */
#define CHAN_ROOM_LEN    (sizeof(CHAN_ROOM) - 1)

struct conf;
struct redis_pub;

/* A publisher on link (owned by the caller, which frees the link first);
 * copies the queue limits from c and the pod id.  NULL on ENOMEM. */
struct redis_pub *redis_pub_new(struct mloop *loop, struct redis_link *link,
				struct master_stats *st, const char *pod, size_t pod_len,
				const struct conf *c);
/* Drop what is queued; NULL is fine.  After the link is freed. */
void redis_pub_free(struct redis_pub *p);

/* Publish frame on room's channel (global when room_len is 0): now when the
 * link is usable and nothing waits, else at the queue's tail (bounded by
 * redis_queue_max / _bytes / _age_ms; what falls out is counted). */
void redis_pub_publish(struct redis_pub *p, const char *room, size_t room_len,
		       const char *frame, size_t frame_len);
/* The link came up (gate, then flush) or went down (forget the in-flight). */
void redis_pub_up(struct redis_pub *p);
void redis_pub_down(struct redis_pub *p);
/* Once a second: expire old entries, sample how many pods there are. */
void redis_pub_tick(struct redis_pub *p);

#endif
