/* SPDX-License-Identifier: MIT */
/*
 * redis_health.h - the broker's probe of a Redis that stopped answering:
 * a numbered PUBLISH on the pub link to this pod's health channel, which
 * the sub link is subscribed to; a link that does not answer in time is
 * dropped.  Master only; made and driven by broker.c.
 */
#ifndef CHATD_REDIS_HEALTH_H
#define CHATD_REDIS_HEALTH_H

#include <stddef.h>
#include "mloop.h"
#include "redis_link.h"
#include "shm.h"

struct conf;
struct redis_health;

/* A probe of sub and pub (owned by the caller, which frees them first),
 * on channel realtime:health:{pod}, every c->redis_health_interval_ms, each
 * due within c->redis_timeout_ms; starts its timer on loop.  NULL on ENOMEM. */
struct redis_health *redis_health_new(struct mloop *loop, struct redis_link *sub,
				      struct redis_link *pub, struct master_stats *st,
				      const char *pod, size_t pod_len, const struct conf *c);
/* Stop the timer and free; NULL is fine.  After the links are freed. */
void redis_health_free(struct redis_health *h);

/* The health channel, for the sub link's SUBSCRIBE after each connect. */
const char *redis_health_chan(const struct redis_health *h, size_t *len);
/* A reply on sub (kind, channel, payload): 1 when it was on the health
 * channel (taken here), 0 when it is the caller's. */
int redis_health_sub_reply(struct redis_health *h, const struct redis_reply *kind,
			   const struct redis_reply *chan, const struct redis_reply *payload);
/* Link l came up or went down (the broker's link event). */
void redis_health_link_event(struct redis_health *h, struct redis_link *l,
			     enum redis_link_event ev);

#endif
