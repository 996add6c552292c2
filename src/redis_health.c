/* SPDX-License-Identifier: MIT */
/*
 * redis_health.c - the broker's probe of a frozen Redis.
 *
 * A Redis that stops answering (SIGSTOP, a partition without RST) leaves
 * both TCP connections open and silent.  So every redis_health_interval a
 * numbered probe is PUBLISHed on pub to this pod's own health channel, which
 * sub is subscribed to: pub must answer it (and, Redis answering in order,
 * every PUBLISH before it) and sub must receive it within redis_timeout, or
 * that link is dropped at once and reconnected.  What a frozen Redis had
 * buffered for the old subscriber goes with it: no backlog arrives at once
 * when it resumes.  (PING cannot be used on sub: hiredis 0.14 never calls
 * back a PING sent in subscribe mode.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "redis_health.h"

#define CHAN_HEALTH      "realtime:health:"      /* + pod id: this pod's probes */
#define CHAN_HEALTH_LEN  (sizeof(CHAN_HEALTH) - 1)
#define HEALTH_SLOTS     16     /* probes in flight at most */
#define HEALTH_TICK_MS   100

/* One per broker.  Probes are numbered 1, 2, ...: sent, answered by pub,
 * seen on sub. */
struct redis_health {
	struct mloop             *loop;
	struct master_stats      *st;
	struct redis_link        *sub, *pub;
	char                      hchan[CHAN_HEALTH_LEN + CONF_STR_MAX];
	size_t                    hchan_len;
	struct redis_link_handler on_probe;
	int                       h_interval_ms, h_timeout_ms;
	int                       sub_armed;    /* sub confirmed hchan: probes must arrive */
	uint64_t                  h_timer, h_last_ms;
	uint64_t                  h_sent, h_acked, h_seen;
	uint64_t                  h_sent_ms[HEALTH_SLOTS];
};

/* The link l did not answer: count it and drop it now. */
static void health_fail(struct redis_health *h, struct redis_link *l, const char *why)
{
	stats_add(&h->st->redis_timeouts, 1);
	redis_link_fail(l, why);
}

/* Master only.  See redis_health.h. */
int redis_health_sub_reply(struct redis_health *h, const struct redis_reply *kind,
			   const struct redis_reply *chan, const struct redis_reply *payload)
{
	const char *s;
	size_t len;
	uint64_t seq;

	if (h == NULL || !redis_link_reply_is(chan, h->hchan, h->hchan_len))
		return 0;
	if (redis_link_reply_is(kind, "subscribe", 9)) {
		h->sub_armed = 1;
		h->h_seen = h->h_sent;      /* only probes sent from now on must arrive */
		return 1;
	}
	if (!redis_link_reply_is(kind, "message", 7) ||
	    redis_link_reply_type(payload) != REDIS_LINK_STRING)
		return 1;
	s = redis_link_reply_str(payload, &len);
	seq = strtoull(s, NULL, 10);
	if (seq > h->h_seen && seq <= h->h_sent)
		h->h_seen = seq;
	return 1;
}

static void health_pub_reply(const struct redis_reply *r, void *arg)
{
	struct redis_health *h = arg;

	(void)r;
	if (h->h_acked < h->h_sent)
		h->h_acked++;
}

static void health_send(struct redis_health *h, uint64_t now)
{
	char num[24];
	const char *argv[3] = { "PUBLISH", h->hchan, num };
	size_t argl[3] = { 7, h->hchan_len, 0 };
	uint64_t oldest = h->h_acked < h->h_seen ? h->h_acked : h->h_seen;

	if (h->h_sent - oldest >= HEALTH_SLOTS)
		return;
	argl[2] = (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)(h->h_sent + 1));
	if (redis_link_command(h->pub, &h->on_probe, 3, argv, argl) < 0)
		return;
	h->h_sent++;
	h->h_sent_ms[h->h_sent % HEALTH_SLOTS] = now;
	h->h_last_ms = now;
	if (!h->sub_armed)
		h->h_seen = h->h_sent;
}

/* Is probe number after (the next one not answered / seen) overdue? */
static int health_overdue(const struct redis_health *h, uint64_t after, uint64_t now)
{
	return h->h_sent > after &&
	       now - h->h_sent_ms[(after + 1) % HEALTH_SLOTS] > (uint64_t)h->h_timeout_ms;
}

static void health_tick(void *arg)
{
	struct redis_health *h = arg;
	uint64_t now = mloop_now_ms();

	h->h_timer = mloop_timer(h->loop, HEALTH_TICK_MS, health_tick, h);
	if (!redis_link_ready(h->pub))
		return;
	if (health_overdue(h, h->h_acked, now)) {
		/* one server: a sub that is connected to it is just as frozen */
		if (redis_link_ready(h->sub))
			health_fail(h, h->sub, "no answer within redis_timeout");
		health_fail(h, h->pub, "no answer within redis_timeout");
		return;
	}
	if (h->sub_armed && health_overdue(h, h->h_seen, now)) {
		health_fail(h, h->sub, "health probe not received within redis_timeout");
		return;
	}
	if (now - h->h_last_ms >= (uint64_t)h->h_interval_ms)
		health_send(h, now);
}

/* Master only: a link came up or went down: forget what it can no longer
 * answer. */
void redis_health_link_event(struct redis_health *h, struct redis_link *l,
			     enum redis_link_event ev)
{
	if (h == NULL)
		return;
	if (l == h->pub) {
		h->h_acked = h->h_sent;     /* replies of a lost connection never come */
		h->h_seen = h->h_sent;      /* nor do its probes reach sub */
	} else if (ev == REDIS_LINK_DOWN) {
		h->sub_armed = 0;
	}
}

/* Master only.  See redis_health.h. */
const char *redis_health_chan(const struct redis_health *h, size_t *len)
{
	*len = h->hchan_len;
	return h->hchan;
}

/* Master only.  See redis_health.h. */
struct redis_health *redis_health_new(struct mloop *loop, struct redis_link *sub,
				      struct redis_link *pub, struct master_stats *st,
				      const char *pod, size_t pod_len, const struct conf *c)
{
	struct redis_health *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->loop = loop;
	h->st = st;
	h->sub = sub;
	h->pub = pub;
	h->on_probe = (struct redis_link_handler){ health_pub_reply, h };
	h->hchan_len = CHAN_HEALTH_LEN + pod_len;
	memcpy(h->hchan, CHAN_HEALTH, CHAN_HEALTH_LEN);
	memcpy(h->hchan + CHAN_HEALTH_LEN, pod, pod_len);
	h->h_interval_ms = c->redis_health_interval_ms > 0 ? c->redis_health_interval_ms : 1000;
	h->h_timeout_ms = c->redis_timeout_ms > 0 ? c->redis_timeout_ms : 3000;
	h->h_timer = mloop_timer(loop, HEALTH_TICK_MS, health_tick, h);
	if (h->h_timer == 0) {
		free(h);
		return NULL;
	}
	return h;
}

void redis_health_free(struct redis_health *h)
{
	if (h == NULL)
		return;
	if (h->h_timer)
		mloop_timer_cancel(h->loop, h->h_timer);
	free(h);
}
