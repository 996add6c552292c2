/* SPDX-License-Identifier: MIT */
/*
 * hserve.c - room history, the master's side: REC_STORE frames are
 * numbered, kept and delivered; REC_HIST_REQ is answered with the kept
 * frames, marked "history":true, then a REC_HIST_END, all addressed to the
 * asking connection through the broadcast ring.  Since the answer and the
 * live frames share that ring, a worker sees them in the order the master
 * put them (see ws.c and hjoin.c for the merge).
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "chatd.h"
#include "conf.h"
#include "gapfill.h"
#include "hanswer.h"
#include "history.h"
#include "hserve.h"
#include "hwait.h"
#include "log.h"
#include "mloop.h"
#include "redis_hist.h"
#include "redis_link.h"
#include "shm.h"

/* The longest a read or a store waits for its room's subscription: its
 * answer must still reach the worker in time (HISTORY_ANSWER_MS, 5 s). */
#define HSERVE_SUB_WAIT_MS 2000
#define HSERVE_TICK_MS     1000  /* expiry, read timeouts, waits */
#define HSERVE_ANSWERS_MAX (64u << 20)  /* bytes of answers waiting for ring room */

struct hserve {
	struct history *mem;           /* single-node: the rooms' history */
	struct broker  *broker;        /* NULL: single-node */
	struct redis_hist *rh;         /* with the broker: history in Redis */
	struct gapfill *gf;            /* ... and what the subscriber missed */
	struct hwait   *hw;            /* ... and what waits for a SUBSCRIBE */
	struct hanswers *answers;      /* answers waiting for ring room */
	struct mloop   *loop;
	struct master_stats *st;
	int             taint_logged;  /* the overflow was logged */
	uint64_t        pump_timer;    /* a read ended: hwait_pump() soon */
	uint64_t        tick_timer;    /* once a second; 0: to arm again */
	bcast_put_fn    put;
	void           *arg;
	size_t          max_answer;
	char           *scratch;       /* one marked frame */
	size_t          scratch_len;
};

/* The answer being put for one request (allocated while Redis reads). */
struct answer {
	struct hserve      *s;
	struct history_addr to;
	int                 since;     /* a recovery: all or nothing */
	struct hanswer     *ha;        /* its frames (NULL: none, or ENOMEM) */
	uint64_t            asked_ms;  /* when the worker asked */
};

static void pub_hook(void *arg, int up)
{
	struct hserve *s = arg;

	redis_hist_link(s->rh, up);
}

static void sub_hook(void *arg, enum broker_sub_event ev, const char *room, size_t len)
{
	struct hserve *s = arg;

	gapfill_sub_news(s->gf, ev, room, len);
	if (ev == BROKER_SUB_CONFIRMED &&
	    broker_sub_state(s->broker, room, len) == BROKER_SUB_SUBSCRIBED)
		hwait_ready(s->hw, room, len);
}

static int waited(void *arg, int ok, enum hwait_kind kind, int slot, const char *room,
		  size_t room_len, const char *data, size_t len);

static void tick(void *arg)
{
	struct hserve *s = arg;
	uint64_t now_ms = mloop_now_ms();

	/* 0 (ENOMEM): armed again by the next store or request (tick_arm) */
	s->tick_timer = mloop_timer(s->loop, HSERVE_TICK_MS, tick, s);
	if (s->mem != NULL)
		history_expire(s->mem, now_ms);
	if (s->rh != NULL) {
		redis_hist_tick(s->rh, now_ms);
		hwait_tick(s->hw, now_ms);
		hwait_pump(s->hw);
	}
}

/* The tick is armed (it could not arm itself on ENOMEM). */
static void tick_arm(struct hserve *s)
{
	if (s->tick_timer == 0)
		s->tick_timer = mloop_timer(s->loop, HSERVE_TICK_MS, tick, s);
}

struct hserve *hserve_new(const struct conf *c, struct broker *broker, const char *pod,
			  struct mloop *loop, struct master_stats *st, size_t max_answer,
			  bcast_put_fn put, bcast_room_fn room, void *arg)
{
	struct hserve *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->broker = broker;
	s->loop = loop;
	s->st = st;
	s->put = put;
	s->arg = arg;
	s->max_answer = max_answer;
	s->scratch_len = c->max_message_size + CHATD_STAMP_MAX + 2 * HISTORY_SPLICE_MAX;
	s->scratch = malloc(s->scratch_len);
	/* answers waiting for ring room: 4 rings' worth, 64 MiB at most */
	s->answers = hanswers_new(loop, st, 32 * max_answer < HSERVE_ANSWERS_MAX ? 32 * max_answer
				  : HSERVE_ANSWERS_MAX, put, room, arg);
	if (broker == NULL)
		s->mem = history_new(c->history_size, (uint64_t)c->history_ttl_ms);
	else if ((s->rh = redis_hist_new(broker_pub_link(broker), c, pod, strlen(pod))) != NULL) {
		s->gf = gapfill_new(broker, s->rh, loop, st, max_answer, c->publish_from, put,
				    room, arg);
		s->hw = hwait_new(c->redis_timeout_ms < HSERVE_SUB_WAIT_MS ? (uint64_t)c->redis_timeout_ms
				  : HSERVE_SUB_WAIT_MS, waited, s);
	}
	tick_arm(s);
	if (s->scratch == NULL || s->tick_timer == 0 || s->answers == NULL ||
	    (s->mem == NULL && (s->rh == NULL || s->gf == NULL || s->hw == NULL))) {
		hserve_free(s);
		return NULL;
	}
	if (broker != NULL) {
		broker_pub_hook(broker, pub_hook, s);
		broker_sub_hook(broker, sub_hook, s);
	}
	return s;
}

void hserve_free(struct hserve *s)
{
	if (s == NULL)
		return;
	if (s->broker != NULL) {
		broker_pub_hook(s->broker, NULL, NULL);
		broker_sub_hook(s->broker, NULL, NULL);
	}
	if (s->pump_timer)
		mloop_timer_cancel(s->loop, s->pump_timer);
	if (s->tick_timer)
		mloop_timer_cancel(s->loop, s->tick_timer);
	hwait_free(s->hw);
	gapfill_free(s->gf);               /* first: its reads in flight are orphaned */
	redis_hist_free(s->rh);
	history_free(s->mem);
	hanswers_free(s->answers);         /* last: the reads above end in it */
	free(s->scratch);
	free(s);
}

/* Will this pod's subscription to room (or the gap fill) bring what Redis
 * publishes to it from now on, or nothing at all (unwanted: no member
 * here)?  The broker's state, SUBSCRIBED when the gap fill covers room. */
static enum broker_sub_state sub_state(struct hserve *s, const char *room, size_t room_len)
{
	if (gapfill_covers(s->gf, room, room_len))
		return BROKER_SUB_SUBSCRIBED;
	return broker_sub_state(s->broker, room, room_len);
}

/* Store with Redis, now; sub 0 (the room's SUBSCRIBE was not confirmed in
 * time): as when Redis is not usable. */
static void store_redis(struct hserve *s, const char *room, size_t room_len, const char *frame,
			size_t len, int sub)
{
	/* numbered by Redis, delivered from our subscription like any pod's;
	 * Redis not usable: delivered here and published unnumbered */
	if (sub && (broker_sub_ready(s->broker) || gapfill_covers(s->gf, room, room_len)) &&
	    redis_hist_store(s->rh, room, room_len, frame, len) == 0)
		return;
	stats_add(&s->st->history_unnumbered, 1);
	s->put(s->arg, REC_MSG, frame, len, room, room_len);
	broker_publish(s->broker, room, room_len, frame, len);
	if (redis_hist_taint(s->rh, room, room_len) < 0) {
		stats_add(&s->st->history_taint_overflow, 1);
		if (!s->taint_logged)
			log_warn("history: too many rooms with a hole while Redis is unusable: "
				 "some keep their epoch (history.taint_overflow)");
		s->taint_logged = 1;
	}
}

/* hwait_add() from now, counting the refusals (the bounds). */
static int wait_add(struct hserve *s, enum hwait_kind kind, int slot, const char *room,
		    size_t room_len, const char *data, size_t len, int ready)
{
	if (hwait_add(s->hw, kind, slot, room, room_len, data, len, ready, mloop_now_ms()) == 0)
		return 0;
	stats_add(&s->st->history_wait_full, 1);
	return -1;
}

void hserve_store(struct hserve *s, const char *room, size_t room_len, const char *frame,
		  size_t len)
{
	const char *stored = NULL;
	size_t n = 0;

	tick_arm(s);
	if (s->rh != NULL) {
		/* a room just joined: stored before the SUBSCRIBE took effect, the
		 * frame would not come back here (hwait.h); the sub link down, it
		 * goes out unnumbered at once, as ever; no member here (an HTTP
		 * publish): nothing to wait for */
		enum broker_sub_state st = sub_state(s, room, room_len);

		if (broker_sub_ready(s->broker) &&
		    (st == BROKER_SUB_PENDING || hwait_holds(s->hw, HWAIT_STORE, room, room_len))) {
			if (wait_add(s, HWAIT_STORE, -1, room, room_len, frame, len, 0) == 0) {
				/* behind older ones, not pending any more: all go (some
				 * may not be ready: the gap fill covers the room) */
				if (st != BROKER_SUB_PENDING)
					hwait_ready(s->hw, room, room_len);
				return;
			}
		}
		store_redis(s, room, room_len, frame, len, 1);
		return;
	}
	if (s->mem != NULL)
		stored = history_append(s->mem, room, room_len, frame, len, mloop_now_ms(), &n);
	if (stored == NULL) {                   /* out of memory: delivered, not kept */
		stored = frame;
		n = len;
	}
	s->put(s->arg, REC_MSG, stored, n, room, room_len);
}

void hserve_live(struct hserve *s, const char *room, size_t room_len, const char *frame,
		 size_t len)
{
	if (s->gf != NULL)
		gapfill_live(s->gf, room, room_len, frame, len);
	else
		s->put(s->arg, REC_MSG, frame, len, room, room_len);
}

static void answer_frame(void *arg, const char *frame, size_t len)
{
	struct answer *a = arg;
	size_t n = history_mark(a->s->scratch, a->s->scratch_len, frame, len);

	if (n > 0 && a->ha != NULL)
		hanswer_frame(a->ha, a->s->scratch, n);
}

/* The end of the answer: with its frames into the answers' queue. */
static void answer_end(struct answer *a, const struct history_end *end)
{
	if (end->status == HISTORY_UNAVAILABLE)
		stats_add(&a->s->st->history_unavailable, 1);
	if (a->ha != NULL)
		hanswer_end(a->s->answers, a->ha, end);
	else
		a->s->put(a->s->arg, REC_HIST_END, (const char *)end, sizeof(*end),
			  (const char *)&a->to, sizeof(a->to));
}

static void pump(void *arg)
{
	struct hserve *s = arg;

	s->pump_timer = 0;
	hwait_pump(s->hw);
}

/* Redis answered (or will not): the newest frames that fit in max_answer
 * (a recovery that does not fit has a gap), then the end. */
static void read_done(void *arg, const struct history_end *e, const char *const *frames,
		      const size_t *lens, size_t n)
{
	struct answer *a = arg;
	struct history_end end = *e;
	size_t from = n, bytes = 0;

	a->ha = hanswer_new(&a->to, a->asked_ms);
	while (from > 0 && bytes + lens[from - 1] <= a->s->max_answer)
		bytes += lens[--from];
	if (from > 0 && a->since) {
		end.status = HISTORY_GAP;
		from = n;
	}
	for (; end.status != HISTORY_GAP && from < n; from++)
		answer_frame(a, frames[from], lens[from]);
	if (a->ha == NULL)
		end.status = HISTORY_UNAVAILABLE;       /* ENOMEM: no frame went */
	answer_end(a, &end);
	/* a read slot is free once this returns: reads waiting for one go */
	if (hwait_pending(a->s->hw) && a->s->pump_timer == 0)
		a->s->pump_timer = mloop_timer(a->s->loop, 0, pump, a->s);
	free(a);
}

/* How request_now() may read: not at all (the room's SUBSCRIBE was not
 * confirmed in time), or now, failing fast or, from hwait, waiting for a
 * read slot. */
enum hserve_read { READ_NOT, READ_NOW, READ_QUEUED };

/* Answer the request req (a struct history_req) of worker slot.  0, or -1
 * (READ_QUEUED only) when Redis has too many reads in flight. */
static int request_now(struct hserve *s, int slot, const char *room, size_t room_len,
		       const void *req, enum hserve_read how)
{
	struct answer a = { .s = s, .to = { .slot = (uint32_t)slot } }, *ap;
	struct history_end end = { .status = HISTORY_UNAVAILABLE };
	struct history_req q;

	memcpy(&q, req, sizeof(q));
	q.epoch[HISTORY_EPOCH_MAX] = '\0';
	a.to.token = q.token;
	a.asked_ms = q.asked_ms;
	if (mloop_now_ms() - q.asked_ms >= HISTORY_ANSWER_MS - HANSWER_LATE_MS)
		how = READ_NOT;                 /* its worker will not wait for it */
	a.since = q.since >= 0;
	if (s->rh != NULL && how != READ_NOT && (ap = malloc(sizeof(*ap))) != NULL) {
		*ap = a;
		if (redis_hist_read(s->rh, room, room_len, &q, read_done, ap) == 0)
			return 0;
		free(ap);                       /* Redis down or busy: fail fast */
		if (how == READ_QUEUED && redis_link_ready(broker_pub_link(s->broker)))
			return -1;              /* ... unless it waited: a slot soon */
	}
	if (s->mem != NULL && (a.ha = hanswer_new(&a.to, a.asked_ms)) != NULL)
		history_read(s->mem, room, room_len, &q, mloop_now_ms(), s->max_answer,
			     answer_frame, &a, &end);
	answer_end(&a, &end);
	return 0;
}

void hserve_request(struct hserve *s, int slot, const char *room, size_t room_len,
		    const void *req, size_t len)
{
	if (len != sizeof(struct history_req))
		return;                         /* not from a worker of this build */
	tick_arm(s);
	/* Read before this pod's SUBSCRIBE of the room took effect, the answer
	 * and the live stream could leave a hole between them (hwait.h); not
	 * wanted yet: the asking worker's join is still on its way.  Too many
	 * reads in flight: after those waiting for a slot already.  Redis
	 * down: no wait, the read fails at once. */
	if (s->rh != NULL && redis_link_ready(broker_pub_link(s->broker))) {
		int sub = sub_state(s, room, room_len) == BROKER_SUB_SUBSCRIBED;

		if (sub && !hwait_pending(s->hw) &&
		    request_now(s, slot, room, room_len, req, READ_QUEUED) == 0)
			return;
		/* subscribed: ready, it goes when a read slot frees (read_done) */
		if (wait_add(s, HWAIT_READ, slot, room, room_len, req, len, sub) == 0)
			return;
	}
	request_now(s, slot, room, room_len, req, READ_NOW);
}

/* A read or a store that waited for its room's subscription. */
static int waited(void *arg, int ok, enum hwait_kind kind, int slot, const char *room,
		  size_t room_len, const char *data, size_t len)
{
	struct hserve *s = arg;

	if (kind == HWAIT_READ)
		return request_now(s, slot, room, room_len, data, ok ? READ_QUEUED : READ_NOT);
	store_redis(s, room, room_len, data, len, ok);
	return 0;
}
