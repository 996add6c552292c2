/* SPDX-License-Identifier: MIT */
/*
 * wroster.c - who is in a room, the worker's side (see wroster.h): the
 * questions waiting for the master, matched to its answers by number.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "conf.h"
#include "rosterrec.h"
#include "shm.h"
#include "wctx.h"
#include "wroster.h"

/* One question waiting; wsi NULL: a free entry.  The table is the one
 * worker's (a worker is one process and one thread). */
struct wait {
	struct lws *wsi;
	wroster_fn fn;
	uint32_t id;
	lws_usec_t deadline;
};

static struct wait waits[WROSTER_MAX];
static uint32_t next_id;
static size_t nwaits;
static lws_sorted_usec_list_t sul_wait;
static struct wctx *wait_w;

static const char timeout_body[] = "{\"error\":\"timeout\",\"message\":"
				   "\"the room roster did not come in time\"}";

/* Answer 504 to the questions past their deadline; again later while any
 * waits. */
static void wait_check(lws_sorted_usec_list_t *sul)
{
	lws_usec_t now = lws_now_usecs();

	(void)sul;
	for (int i = 0; i < WROSTER_MAX; i++) {
		struct wait *q = &waits[i];
		struct lws *wsi = q->wsi;

		if (wsi == NULL || q->deadline > now)
			continue;
		q->wsi = NULL;
		nwaits--;
		stats_add(&wait_w->st->roster_refused, 1);
		q->fn(wait_w, wsi, 504, timeout_body, sizeof(timeout_body) - 1);
	}
	if (nwaits > 0)
		lws_sul_schedule(wait_w->ctx, 0, &sul_wait, wait_check, LWS_US_PER_SEC);
}

int wroster_ask(struct wctx *w, struct lws *wsi, wroster_fn fn, const char *room,
		size_t room_len, unsigned limit, const char *cursor, size_t cursor_len)
{
	unsigned char buf[ROSTER_ASK_MAX];
	struct roster_ask a = { .limit = (uint16_t)limit, .cursor_len = (uint8_t)cursor_len,
				.flags = w->conf->auth_enabled ? ROSTER_ASK_SUB : 0 };
	struct wait *q = NULL;
	size_t n;

	for (int i = 0; i < WROSTER_MAX && q == NULL; i++)
		if (waits[i].wsi == NULL)
			q = &waits[i];
	if (cursor_len > sizeof(a.cursor) || limit > ROSTER_LIMIT_MAX)
		return -1;
	if (q == NULL) {
		stats_add(&w->st->roster_refused, 1);
		return -1;
	}
	/* A random start: a worker that replaces a dead one in its slot must
	 * not take the answers still on their way to the dead one's numbers
	 * (the master also drops those, by the slot's epoch). */
	if (next_id == 0 && getentropy(&next_id, sizeof(next_id)) < 0)
		next_id = (uint32_t)getpid() * 2654435761u ^ (uint32_t)lws_now_usecs();
	if (++next_id == 0)
		next_id = 1;
	a.id = next_id;
	memcpy(a.cursor, cursor, cursor_len);
	n = rosterrec_ask_pack(buf, &a);
	if (wctx_uplink(w, REC_ROSTER_ASK, room, room_len, (const char *)buf, n) != RING_OK) {
		stats_add(&w->st->roster_refused, 1);
		return -1;
	}
	*q = (struct wait){ wsi, fn, a.id, lws_now_usecs() + WROSTER_WAIT_MS * LWS_US_PER_MS };
	wait_w = w;
	if (nwaits++ == 0)
		lws_sul_schedule(w->ctx, 0, &sul_wait, wait_check, LWS_US_PER_SEC);
	return 0;
}

void wroster_answer(struct wctx *w, const unsigned char *p, size_t len)
{
	uint32_t id;
	int slot, status;

	if (rosterrec_answer_unpack(p, len, &id, &slot, &status) < 0 || slot != w->slot)
		return;
	for (int i = 0; i < WROSTER_MAX; i++) {
		struct wait *q = &waits[i];
		struct lws *wsi = q->wsi;

		if (wsi == NULL || q->id != id)
			continue;
		q->wsi = NULL;
		nwaits--;
		q->fn(w, wsi, status, (const char *)p + ROSTER_ANSWER_HDR, len - ROSTER_ANSWER_HDR);
		return;
	}
}

void wroster_forget(struct lws *wsi)
{
	for (int i = 0; i < WROSTER_MAX && nwaits > 0; i++)
		if (waits[i].wsi == wsi) {
			waits[i].wsi = NULL;
			nwaits--;
		}
}
