/* SPDX-License-Identifier: MIT */
/*
 * hanswer.c - history answers waiting for room in the broadcast ring (see
 * hanswer.h).  An answer's frames sit in one buffer, each a 4-byte length
 * and its bytes; `need` is what its records take in the ring.  Answers
 * with frames go in the order they came; an end alone (unavailable, late,
 * empty) goes at once, since answers to different connections need no
 * order among them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "hanswer.h"
#include "mloop.h"
#include "shm.h"

#define HANSWER_RETRY_MS 10      /* no room: the first waiting one tries again */

struct hanswer {
	TAILQ_ENTRY(hanswer) next;
	struct history_addr to;
	struct history_end  end;
	int                 failed;    /* ENOMEM while gathering */
	uint64_t            late_ms;   /* past this, it goes without its frames */
	size_t              len, cap;  /* of buf */
	uint64_t            need;      /* ring bytes of its records */
	char               *buf;
};

struct hanswers {
	TAILQ_HEAD(, hanswer) wait;
	size_t               waiting;   /* bytes of the answers waiting */
	size_t               max_waiting;
	uint64_t             timer;
	struct mloop        *loop;
	struct master_stats *st;
	bcast_put_fn         put;
	bcast_room_fn        room;
	void                *arg;
};

/* The ring bytes of a's end record. */
static uint64_t end_need(const struct hanswer *a)
{
	return record_ring_size(sizeof(a->end), sizeof(a->to));
}

struct hanswer *hanswer_new(const struct history_addr *to, uint64_t asked_ms)
{
	struct hanswer *a = calloc(1, sizeof(*a));

	if (a != NULL) {
		a->to = *to;
		a->late_ms = asked_ms + HISTORY_ANSWER_MS - HANSWER_LATE_MS;
		a->need = end_need(a);
	}
	return a;
}

void hanswer_frame(struct hanswer *a, const char *frame, size_t len)
{
	uint32_t l = (uint32_t)len;

	if (a->failed)
		return;
	if (a->len + sizeof(l) + len > a->cap) {
		size_t cap = a->cap ? a->cap : 4096;
		char *b;

		while (cap < a->len + sizeof(l) + len)
			cap *= 2;
		if ((b = realloc(a->buf, cap)) == NULL) {
			a->failed = 1;
			return;
		}
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, &l, sizeof(l));
	memcpy(a->buf + a->len + sizeof(l), frame, len);
	a->len += sizeof(l) + len;
	a->need += record_ring_size(len, sizeof(a->to));
}

/* a loses its frames: the worker tells its client history_unavailable. */
static void unavailable(struct hanswers *q, struct hanswer *a)
{
	if (a->end.status != HISTORY_UNAVAILABLE)
		stats_add(&q->st->history_unavailable, 1);
	free(a->buf);
	a->buf = NULL;
	a->len = a->cap = 0;
	a->need = end_need(a);
	a->end.status = HISTORY_UNAVAILABLE;
}

/* Put a's records, its frames then its end, and free it. */
static void put(struct hanswers *q, struct hanswer *a)
{
	for (size_t off = 0; off < a->len; ) {
		uint32_t l;

		memcpy(&l, a->buf + off, sizeof(l));
		q->put(q->arg, REC_HIST, a->buf + off + sizeof(l), l, (const char *)&a->to,
		       sizeof(a->to));
		off += sizeof(l) + l;
	}
	q->put(q->arg, REC_HIST_END, (const char *)&a->end, sizeof(a->end), (const char *)&a->to,
	       sizeof(a->to));
	free(a->buf);
	free(a);
}

/* Put what has room, oldest first; an answer about to be too late for its
 * worker goes as an end alone, wherever it waits (answers to different
 * connections need no order among them). */
static void flush(void *arg)
{
	struct hanswers *q = arg;
	struct hanswer *a, *next;
	uint64_t now = mloop_now_ms();
	int blocked = 0;

	q->timer = 0;
	for (a = TAILQ_FIRST(&q->wait); a != NULL; a = next) {
		next = TAILQ_NEXT(a, next);
		if (now < a->late_ms && (blocked || q->room(q->arg) < a->need)) {
			blocked = 1;            /* the later ones wait behind it */
			continue;
		}
		TAILQ_REMOVE(&q->wait, a, next);
		q->waiting -= sizeof(*a) + a->len;
		if (now >= a->late_ms)
			unavailable(q, a);
		put(q, a);
	}
	if (!TAILQ_EMPTY(&q->wait))
		q->timer = mloop_timer(q->loop, HANSWER_RETRY_MS, flush, q);
}

void hanswer_end(struct hanswers *q, struct hanswer *a, const struct history_end *end)
{
	a->end = *end;
	if (a->failed || a->need > q->max_waiting)
		unavailable(q, a);
	if (TAILQ_EMPTY(&q->wait) && q->room(q->arg) >= a->need) {
		put(q, a);                      /* the usual case */
		return;
	}
	/* to wait: not when it would come too late, nor past the bound */
	if (mloop_now_ms() >= a->late_ms || q->waiting + sizeof(*a) + a->len > q->max_waiting)
		unavailable(q, a);
	if (a->len == 0) {
		put(q, a);                      /* an end alone (one record), at once */
		return;
	}
	stats_add(&q->st->history_answer_waits, 1);
	TAILQ_INSERT_TAIL(&q->wait, a, next);
	q->waiting += sizeof(*a) + a->len;
	if (q->timer == 0)
		q->timer = mloop_timer(q->loop, HANSWER_RETRY_MS, flush, q);
}

struct hanswers *hanswers_new(struct mloop *loop, struct master_stats *st, size_t max_waiting,
			      bcast_put_fn put_fn, bcast_room_fn room, void *arg)
{
	struct hanswers *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	TAILQ_INIT(&q->wait);
	q->max_waiting = max_waiting;
	q->loop = loop;
	q->st = st;
	q->put = put_fn;
	q->room = room;
	q->arg = arg;
	return q;
}

void hanswers_free(struct hanswers *q)
{
	struct hanswer *a;

	if (q == NULL)
		return;
	if (q->timer)
		mloop_timer_cancel(q->loop, q->timer);
	while ((a = TAILQ_FIRST(&q->wait)) != NULL) {
		TAILQ_REMOVE(&q->wait, a, next);
		free(a->buf);
		free(a);
	}
	free(q);
}
