/* SPDX-License-Identifier: MIT */
/*
 * redis_pub.c - publishing to Redis on the pub link.  A frame is encoded
 * once into an envelope and PUBLISHed at once when the link is usable and
 * nothing waits; otherwise it joins a bounded FIFO (count, bytes, age) that
 * is flushed, oldest first, when the link is back and the gate opens.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"
#include "conf.h"
#include "envelope.h"
#include "log.h"
#include "redis_pub.h"

#define PUB_INFLIGHT    16384    /* PUBLISHes sent, reply not yet read */
#define PUB_ERRLOG_MS   1000
#define PUB_GATE_MS     3000     /* longest wait for the other pods to resubscribe */
#define PUB_GATE_POLL_MS 100

/* One queued PUBLISH (while pub is down): channel then payload. */
struct qent {
	uint64_t t_ms;
	size_t   chan_len, len;
	char     data[];
};

/* One per broker. */
struct redis_pub {
	struct mloop              *loop;
	struct redis_link         *link;
	struct master_stats       *st;
	char                       pod[CONF_STR_MAX];
	size_t                     pod_len;
	struct redis_link_handler  on_publish, on_numsub;
	/* the queue (ring of pointers) */
	struct qent              **q;
	size_t                     qcap, qhead, qlen;
	size_t                     qbytes, qbytes_max;  /* redis_queue_bytes */
	uint64_t                   qage_ms;
	msgpack_sbuffer            sb;
	uint64_t                   inflight;
	uint64_t                   errlog_ms, errs_suppressed;
	/* the queue after an outage waits for the pods to be back (see pub_gate) */
	long long                  peers;   /* subscribers of realtime:global when last up */
	int                        gated;
	uint64_t                   gate_until, gate_timer;
};

/* ---- the queue ------------------------------------------------------------ */

static void queue_pop(struct redis_pub *p)
{
	p->qbytes -= p->q[p->qhead]->chan_len + p->q[p->qhead]->len;
	free(p->q[p->qhead]);
	p->q[p->qhead] = NULL;
	p->qhead = (p->qhead + 1) % p->qcap;
	p->qlen--;
}

/* Drop the entries older than redis_queue_age_ms from the head. */
static void queue_expire(struct redis_pub *p, uint64_t now)
{
	while (p->qlen > 0 && now - p->q[p->qhead]->t_ms > p->qage_ms) {
		queue_pop(p);
		stats_add(&p->st->redis_queue_expired, 1);
	}
	stats_set(&p->st->redis_queued, p->qlen);
}

static void queue_push(struct redis_pub *p, const char *chan, size_t chan_len,
		       const char *data, size_t len)
{
	struct qent *q;

	queue_expire(p, mloop_now_ms());
	if (p->qcap == 0) {
		stats_add(&p->st->redis_queue_overflow, 1);
		return;
	}
	q = malloc(sizeof(*q) + chan_len + len);
	if (q == NULL) {
		stats_add(&p->st->redis_queue_overflow, 1);
		return;
	}
	/* beyond redis_queue_max or redis_queue_bytes the oldest go */
	while (p->qlen > 0 && (p->qlen == p->qcap || p->qbytes + chan_len + len > p->qbytes_max)) {
		queue_pop(p);
		stats_add(&p->st->redis_queue_overflow, 1);
	}
	if (chan_len + len > p->qbytes_max) {
		free(q);
		stats_add(&p->st->redis_queue_overflow, 1);
		stats_set(&p->st->redis_queued, p->qlen);
		return;
	}
	q->t_ms = mloop_now_ms();
	q->chan_len = chan_len;
	q->len = len;
	memcpy(q->data, chan, chan_len);
	memcpy(q->data + chan_len, data, len);
	p->q[(p->qhead + p->qlen) % p->qcap] = q;
	p->qlen++;
	p->qbytes += chan_len + len;
	stats_set(&p->st->redis_queued, p->qlen);
}

/* ---- publisher and its gate ----------------------------------------------------- */

static void pub_flush(struct redis_pub *p);

static void pub_cb(const struct redis_reply *rep, void *arg)
{
	struct redis_pub *p = arg;
	enum redis_link_rtype type = redis_link_reply_type(rep);
	uint64_t now;
	size_t len;

	if (p->inflight > 0)
		p->inflight--;
	if (type == REDIS_LINK_INTEGER) {
		stats_add(&p->st->redis_published, 1);
	} else {
		/* Logged at most once a second; the rest are counted in the line. */
		now = mloop_now_ms();
		if (now - p->errlog_ms >= PUB_ERRLOG_MS) {
			log_warn("redis PUBLISH failed: %s (%llu more since last report)",
				 type == REDIS_LINK_ERROR ? redis_link_reply_str(rep, &len)
							  : "unexpected reply",
				 (unsigned long long)p->errs_suppressed);
			p->errlog_ms = now;
			p->errs_suppressed = 0;
		} else {
			p->errs_suppressed++;
		}
	}
	if (p->qlen > 0 && p->inflight < PUB_INFLIGHT / 2)
		pub_flush(p);
}

static int pub_send(struct redis_pub *p, const char *chan, size_t chan_len,
		    const char *data, size_t len)
{
	const char *argv[3] = { "PUBLISH", chan, data };
	size_t argl[3] = { 7, chan_len, len };

	if (redis_link_command(p->link, &p->on_publish, 3, argv, argl) < 0)
		return -1;
	p->inflight++;
	return 0;
}

/*
 * Pub/sub keeps nothing: what we publish right after Redis comes back is
 * lost for every pod whose subscriber link is not back yet (each pod
 * reconnects on its own backoff).  So while up, the broker samples how many
 * subscribers realtime:global has (every pod, ourselves included, always
 * subscribes to it); after an outage, the queue waits until that many are
 * back, or PUB_GATE_MS at most, before it is published.
 */
static void pub_numsub(struct redis_pub *p);

static void gate_timer_cb(void *arg)
{
	struct redis_pub *p = arg;

	p->gate_timer = 0;
	pub_numsub(p);
}

static void numsub_cb(const struct redis_reply *rep, void *arg)
{
	struct redis_pub *p = arg;
	long long n = -1;

	if (redis_link_reply_count(rep) == 2 &&
	    redis_link_reply_type(redis_link_reply_elem(rep, 1)) == REDIS_LINK_INTEGER)
		n = redis_link_reply_int(redis_link_reply_elem(rep, 1));
	if (!p->gated) {
		if (n >= 0)
			p->peers = n;   /* pods come and go: the latest count while up */
		return;
	}
	if (n >= p->peers || mloop_now_ms() >= p->gate_until) {
		if (n < p->peers)
			log_notice("redis: %lld of %lld pods resubscribed after %d ms; "
				   "publishing the queue now", n, p->peers, PUB_GATE_MS);
		p->gated = 0;
		pub_flush(p);
		return;
	}
	p->gate_timer = mloop_timer(p->loop, PUB_GATE_POLL_MS, gate_timer_cb, p);
}

static void pub_numsub(struct redis_pub *p)
{
	const char *argv[3] = { "PUBSUB", "NUMSUB", CHAN_GLOBAL };
	size_t argl[3] = { 6, 6, CHAN_GLOBAL_LEN };

	if (!redis_link_ready(p->link) ||
	    redis_link_command(p->link, &p->on_numsub, 3, argv, argl) < 0) {
		p->gated = 0;      /* cannot ask: do not hold the queue on a guess */
		pub_flush(p);
	}
}

/* pub is up again: hold a non-empty queue until the pods are back. */
static void pub_gate(struct redis_pub *p)
{
	if (p->qlen == 0 || p->peers <= 0 || p->gated)
		return;
	log_info("redis: holding %zu queued messages until %lld subscribers of %s are back",
		 p->qlen, p->peers, CHAN_GLOBAL);
	p->gated = 1;
	p->gate_until = mloop_now_ms() + PUB_GATE_MS;
	pub_numsub(p);
}

/* Send what waited, oldest first, while pub is usable. */
static void pub_flush(struct redis_pub *p)
{
	queue_expire(p, mloop_now_ms());
	while (!p->gated && p->qlen > 0 && redis_link_ready(p->link) &&
	       p->inflight < PUB_INFLIGHT && redis_link_unsent(p->link) <= p->qbytes_max) {
		struct qent *q = p->q[p->qhead];
		if (pub_send(p, q->data, q->chan_len, q->data + q->chan_len, q->len) < 0)
			break;
		queue_pop(p);
	}
	stats_set(&p->st->redis_queued, p->qlen);
}

void redis_pub_publish(struct redis_pub *p, const char *room, size_t room_len,
		       const char *frame, size_t frame_len)
{
	char chan[CHAN_ROOM_LEN + CHATD_ROOM_MAX];
	size_t chan_len;

	if (room_len > CHATD_ROOM_MAX)
		return;
	if (room_len == 0) {
		memcpy(chan, CHAN_GLOBAL, CHAN_GLOBAL_LEN);
		chan_len = CHAN_GLOBAL_LEN;
	} else {
		memcpy(chan, CHAN_ROOM, CHAN_ROOM_LEN);
		memcpy(chan + CHAN_ROOM_LEN, room, room_len);
		chan_len = CHAN_ROOM_LEN + room_len;
	}
	msgpack_sbuffer_clear(&p->sb);
	if (envelope_encode(&p->sb, p->pod, p->pod_len, room, room_len, frame, frame_len) < 0) {
		log_warn("redis: cannot encode an envelope (%zu bytes)", frame_len);
		return;
	}
	/* Keep order: nothing overtakes what is already queued. */
	if (redis_link_ready(p->link) && !p->gated && p->qlen == 0 &&
	    p->inflight < PUB_INFLIGHT &&
	    redis_link_unsent(p->link) + p->sb.size <= p->qbytes_max &&
	    pub_send(p, chan, chan_len, p->sb.data, p->sb.size) == 0)
		return;
	queue_push(p, chan, chan_len, p->sb.data, p->sb.size);
}

/* ---- life and events ----------------------------------------------------------- */

void redis_pub_up(struct redis_pub *p)
{
	if (p->qlen > 0 && p->peers > 0)
		pub_gate(p);
	else
		pub_numsub(p);      /* learn how many pods there are */
	pub_flush(p);
}

void redis_pub_down(struct redis_pub *p)
{
	p->inflight = 0;
	p->gated = 0;           /* gated again when pub is back */
	if (p->gate_timer) {
		mloop_timer_cancel(p->loop, p->gate_timer);
		p->gate_timer = 0;
	}
}

void redis_pub_tick(struct redis_pub *p)
{
	queue_expire(p, mloop_now_ms());
	if (redis_link_ready(p->link) && !p->gated)
		pub_numsub(p);     /* how many pods to wait for after an outage */
}

struct redis_pub *redis_pub_new(struct mloop *loop, struct redis_link *link,
				struct master_stats *st, const char *pod, size_t pod_len,
				const struct conf *c)
{
	struct redis_pub *p = calloc(1, sizeof(*p));

	if (p == NULL || pod_len >= sizeof(p->pod)) {
		free(p);
		return NULL;
	}
	p->loop = loop;
	p->link = link;
	p->st = st;
	memcpy(p->pod, pod, pod_len);
	p->pod_len = pod_len;
	p->on_publish = (struct redis_link_handler){ pub_cb, p };
	p->on_numsub = (struct redis_link_handler){ numsub_cb, p };
	p->qcap = c->redis_queue_max > 0 ? (size_t)c->redis_queue_max : 0;
	p->qage_ms = c->redis_queue_age_ms > 0 ? (uint64_t)c->redis_queue_age_ms : 0;
	p->qbytes_max = c->redis_queue_bytes;
	msgpack_sbuffer_init(&p->sb);
	p->q = calloc(p->qcap ? p->qcap : 1, sizeof(*p->q));
	if (p->q == NULL) {
		redis_pub_free(p);
		return NULL;
	}
	return p;
}

void redis_pub_free(struct redis_pub *p)
{
	if (p == NULL)
		return;
	if (p->gate_timer)
		mloop_timer_cancel(p->loop, p->gate_timer);
	while (p->qlen > 0)
		queue_pop(p);
	free(p->q);
	msgpack_sbuffer_destroy(&p->sb);
	stats_set(&p->st->redis_queued, 0);
	free(p);
}
