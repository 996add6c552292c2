/* SPDX-License-Identifier: MIT */
/*
 * hjoin.c - history on join and recovery, the worker's side.  See hjoin.h.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "admit.h"
#include "chatd.h"
#include "conf.h"
#include "hjoin.h"
#include "history.h"
#include "mloop.h"
#include "msg.h"
#include "sendq.h"
#include "shm.h"
#include "wctx.h"
#include "ws.h"

#define HJOIN_WAIT_MAX   256     /* connections waiting for an answer, per worker */
#define HJOIN_TICK       (500 * LWS_US_PER_MS)

#define wait_of(m) ((struct hjoin_wait *)((char *)(m) - offsetof(struct hjoin_wait, node)))

/* One per connection waiting for its answer; freed at its end. */
struct hjoin_wait {
	struct room_member node;       /* in w->hist_waiting */
	struct conn       *c;
	uint64_t           token;
	int                since;      /* recovery asked (else history=N) */
	lws_usec_t         deadline;
	struct frame     **frames;     /* the answer so far, oldest first */
	uint32_t           n, cap;
};

int hjoin_query(struct lws *wsi, struct history_req *q, int *asked)
{
	/* as long as a whole query may be (admit.c): a value that did not fit
	 * would read as absent */
	char h[ADMIT_URI_MAX], s[ADMIT_URI_MAX], e[ADMIT_URI_MAX];
	const char *hv = lws_get_urlarg_by_name(wsi, "history=", h, (int)sizeof(h));
	const char *sv = lws_get_urlarg_by_name(wsi, "since=", s, (int)sizeof(s));
	const char *ev = lws_get_urlarg_by_name(wsi, "epoch=", e, (int)sizeof(e));

	return history_query_parse(hv, sv, ev, q, asked);
}

/* The welcome, with the answer's members in its data, then an error when
 * the history could not be read. */
static void send_welcome(struct wctx *w, struct conn *c, int since,
			 const struct history_end *end)
{
	char add[96 + HISTORY_EPOCH_MAX];
	size_t n = msg_build_welcome(w->scratch, w->scratch_len, c->room_len ? c->room : NULL,
				     c->id);
	int al = 0;

	if (since)
		al = snprintf(add, sizeof(add), "\"recovered\":%s%s",
			      end->status == HISTORY_OK ? "true" : "false",
			      end->status == HISTORY_UNAVAILABLE ? "" : ",");
	if (end->status != HISTORY_UNAVAILABLE)
		al += snprintf(add + al, sizeof(add) - (size_t)al, "\"offset\":%" PRIu64 ",\"epoch\":\"%s\"",
			       end->top, end->epoch);
	if (al > 0)
		n = history_data_add(w->scratch, n, w->scratch_len, add, (size_t)al);
	ws_send(w, c, w->scratch, n, 1);
	if (end->status == HISTORY_UNAVAILABLE && w->conf->history_size > 0) {
		n = msg_build_error(w->scratch, w->scratch_len, c->room_len ? c->room : NULL,
				    "history_unavailable",
				    "history could not be read now: live messages only");
		ws_send(w, c, w->scratch, n, 1);
	}
}

static void wait_free(struct wctx *w, struct hjoin_wait *hw)
{
	w->hist_nwaiting--;
	for (uint32_t i = 0; i < hw->n; i++)
		frame_unref(hw->frames[i]);
	free(hw->frames);
	room_list_del(&hw->node);
	free(hw);
}

/* Keep a sequenced frame of c's stream only when it is past the answer. */
static void push_held(struct wctx *w, struct conn *c, struct frame *f)
{
	uint64_t off;

	if (!history_frame_offset((const char *)f->data + LWS_PRE, f->len, &off) ||
	    off > c->hist_floor)
		ws_push(w, c, f, 1);
	frame_unref(f);
}

/* The answer is whole (or will not come): welcome, history, held frames.
 * The held frames move aside with their whole queue (no allocation that
 * could fail and drop them) and come back behind the answer. */
static void finish(struct wctx *w, struct conn *c, const struct history_end *end)
{
	struct hjoin_wait *hw = c->hw;
	struct sendq held = c->sq;

	c->hw = NULL;
	c->sq = (struct sendq){ 0 };
	if (end->status != HISTORY_UNAVAILABLE)
		c->hist_floor = end->top;
	send_welcome(w, c, hw->since, end);
	for (uint32_t i = 0; end->status != HISTORY_GAP && i < hw->n; i++)
		ws_push(w, c, hw->frames[i], 1);
	while (held.len > 0)
		push_held(w, c, sendq_pop(&held));
	sendq_clear(&held);
	wait_free(w, hw);
	lws_callback_on_writable(c->wsi);
}

static void unavailable(struct wctx *w, struct conn *c)
{
	struct history_end end = { .status = HISTORY_UNAVAILABLE };

	finish(w, c, &end);
}

static void tick(lws_sorted_usec_list_t *sul)
{
	struct wctx *w = lws_container_of(sul, struct wctx, sul_hist);
	lws_usec_t now = lws_now_usecs();
	struct room_member *it, *next;

	for (it = w->hist_waiting.next; it != &w->hist_waiting; it = next) {
		next = it->next;
		if (wait_of(it)->deadline <= now) {
			stats_add(&w->st->history_refused, 1);
			unavailable(w, wait_of(it)->c);
		}
	}
	if (w->hist_waiting.next != &w->hist_waiting)
		lws_sul_schedule(w->ctx, 0, &w->sul_hist, tick, HJOIN_TICK);
}

/* Ask the master; 0, or -1 when the request could not go up. */
static int request(struct wctx *w, struct conn *c, struct history_req *q, int since)
{
	struct hjoin_wait *hw;

	if (w->hist_nwaiting >= HJOIN_WAIT_MAX || (hw = calloc(1, sizeof(*hw))) == NULL)
		return -1;
	q->token = hw->token = ++w->hist_next;
	q->asked_ms = mloop_now_ms();                   /* the master's clock */
	if (q->count > (uint32_t)w->conf->history_size)
		q->count = (uint32_t)w->conf->history_size;
	if (wctx_uplink(w, REC_HIST_REQ, c->room, c->room_len, (const char *)q,
			sizeof(*q)) != RING_OK) {
		free(hw);
		return -1;
	}
	hw->c = c;
	hw->since = since;
	hw->deadline = lws_now_usecs() + HISTORY_ANSWER_MS * LWS_US_PER_MS;
	if (w->hist_waiting.next == &w->hist_waiting)
		lws_sul_schedule(w->ctx, 0, &w->sul_hist, tick, HJOIN_TICK);
	room_list_add(&w->hist_waiting, &hw->node);
	w->hist_nwaiting++;
	c->hw = hw;
	return 0;
}

int hjoin_start(struct wctx *w, struct conn *c)
{
	struct history_end end = { .status = HISTORY_UNAVAILABLE };
	struct history_req q;
	int asked = 0;

	if (hjoin_query(c->wsi, &q, &asked) < 0 || !asked)
		return 0;
	if (w->conf->history_size <= 0) {       /* off: nothing kept, nothing recovered */
		send_welcome(w, c, q.since >= 0, &end);
		return 1;
	}
	if (request(w, c, &q, q.since >= 0) < 0) {
		stats_add(&w->st->history_refused, 1);
		send_welcome(w, c, q.since >= 0, &end);   /* with an error: not read */
	}
	return 1;
}

/* The waiting connection of token, or NULL (it closed meanwhile). */
static struct hjoin_wait *wait_find(struct wctx *w, uint64_t token)
{
	struct room_member *it;

	room_foreach(&w->hist_waiting, it)
		if (wait_of(it)->token == token)
			return wait_of(it);
	return NULL;
}

void hjoin_answer(struct wctx *w, uint32_t kind, struct frame *f, const char *addr,
		  size_t addr_len)
{
	struct history_addr a;
	struct history_end end;
	struct hjoin_wait *hw = NULL;

	if (addr_len == sizeof(a)) {
		memcpy(&a, addr, sizeof(a));
		if (a.slot == (uint32_t)w->slot)
			hw = wait_find(w, a.token);
	}
	if (hw != NULL && kind == REC_HIST && hw->n < (uint32_t)w->conf->history_size) {
		if (hw->n == hw->cap) {
			uint32_t ncap = hw->cap ? hw->cap * 2 : 16;
			struct frame **nf = realloc(hw->frames, ncap * sizeof(*nf));

			if (nf == NULL)
				goto drop;
			hw->frames = nf;
			hw->cap = ncap;
		}
		f->refs++;
		hw->frames[hw->n++] = f;
		return;
	}
	if (hw != NULL && kind == REC_HIST_END && f->len == sizeof(end)) {
		memcpy(&end, f->data + LWS_PRE, sizeof(end));
		end.epoch[HISTORY_EPOCH_MAX] = '\0';
		finish(w, hw->c, &end);
	}
drop:
	if (f->refs == 0)
		free(f);
}

void hjoin_cancel(struct wctx *w, struct conn *c)
{
	if (c->hw == NULL)
		return;
	wait_free(w, c->hw);
	c->hw = NULL;
}
