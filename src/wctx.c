/* SPDX-License-Identifier: MIT */
/*
 * wctx.c - the worker's context and its way up to the master: the uplink
 * push, and what waits while the uplink is full: room joins and leaves,
 * member events, and clients' messages (their senders paused).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "chatd.h"
#include "log.h"
#include "record.h"
#include "stats.h"
#include "wctx.h"
#include "wloop.h"

#define PENDING_MAX   100000 /* room joins/leaves waiting for uplink space */
#define PENDING_RETRY 5      /* ms */

enum ring_rc wctx_uplink(struct wctx *w, uint32_t kind, const char *room, size_t room_len,
			 const char *frame, size_t frame_len)
{
	struct record rec;
	uint64_t one = 1;
	int rc;

	record_pack(&rec, frame, frame_len, room, room_len);
	rc = ring_push(w->uplink, kind, rec.iov, RECORD_NIOV);
	if (rc != RING_OK) {
		if (rc == RING_FULL)
			stats_add(&w->st->uplink_full, 1);
		return (enum ring_rc)rc;
	}
	if (ring_waiter_should_wake(&w->shm->master_waiter) &&
	    write(w->master_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_errno(LOG_LVL_WARN, "write(master eventfd)");
	return RING_OK;
}

/*
 * Room joins and leaves must reach the master (they decide the Redis
 * subscriptions), and so must members coming and going (the master
 * announces a dead worker's members offline), so one that finds the uplink
 * full waits here, in order, and is retried every few milliseconds.
 * Bounded: beyond PENDING_MAX the worker is hopelessly behind and says so.
 * A client's message that finds the uplink full (or this queue not empty:
 * nothing overtakes) waits here too, in the same order, while lws stops
 * reading that client (rx flow control): back-pressure to the sender
 * instead of a refusal, bounded by held_max bytes of messages.
 */
struct wctx_pending {
	struct wctx_pending *next;
	struct lws *wsi;               /* a client's message: its sender, paused (NULL once
	                                  gone: the message still goes) */
	uint32_t kind;
	uint8_t held;                  /* a client's message (counted in held_bytes) */
	uint8_t room_len;
	char room[CHATD_ROOM_MAX];
	size_t len;                    /* data: the frame, or flags + id (REC_MEMBER, REC_GONE) */
	char data[];
};

static void pending_flush(void *arg);

/* Come back to the queue in PENDING_RETRY ms (the timer is made on first
 * need: most workers never have a full uplink).  Armed only when the queue
 * goes from empty to non-empty and by the timer itself: re-arming a running
 * timer moves it, so events arriving < PENDING_RETRY ms apart would keep
 * the queue from ever being retried. */
static void pending_retry(struct wctx *w)
{
	if (w->t_pending == NULL && (w->t_pending = wloop_timer_new(w->loop, pending_flush, w)) == NULL) {
		log_error("out of memory for the uplink retry timer");
		return;
	}
	wloop_timer_set(w->t_pending, PENDING_RETRY);
}

/* Push what the uplink takes now, oldest first; a sender whose message
 * went is read again. */
static void pending_drain(struct wctx *w)
{
	while (w->pending != NULL) {
		struct wctx_pending *p = w->pending;

		if (wctx_uplink(w, p->kind, p->room, p->room_len, p->data, p->len) != RING_OK)
			break;
		w->pending = p->next;
		if (w->pending == NULL) {
			w->pending_tail = NULL;
			w->pending_lost = 0;
		}
		w->npending--;
		if (p->held)
			w->held_bytes -= p->len;
		if (p->wsi != NULL)
			lws_rx_flow_control(p->wsi, 1);
		free(p);
	}
}

static void pending_flush(void *arg)
{
	struct wctx *w = arg;

	pending_drain(w);
	if (w->pending != NULL)
		pending_retry(w);
}

/* Queue a record after the ones already kept; NULL when out of memory. */
static struct wctx_pending *pending_add(struct wctx *w, struct lws *wsi, uint32_t kind,
					const char *room, size_t room_len, const char *data,
					size_t len)
{
	struct wctx_pending *p = malloc(sizeof(*p) + len);

	if (p == NULL)
		return NULL;
	p->next = NULL;
	p->wsi = wsi;
	p->held = wsi != NULL;
	p->kind = kind;
	p->room_len = (uint8_t)room_len;
	memcpy(p->room, room, room_len);
	p->len = len;
	if (len > 0)
		memcpy(p->data, data, len);
	if (w->pending_tail)
		w->pending_tail->next = p;
	else
		w->pending = p;
	w->pending_tail = p;
	if (w->npending++ == 0)
		pending_retry(w);
	return p;
}

/* Push now what nothing waits before (what waits goes first, if it can):
 * RING_OK; RING_FULL when it must wait (or the uplink is full). */
static enum ring_rc push_in_order(struct wctx *w, uint32_t kind, const char *room,
				  size_t room_len, const char *data, size_t len)
{
	if (w->pending != NULL)
		pending_drain(w);
	if (w->pending != NULL)
		return RING_FULL;
	return wctx_uplink(w, kind, room, room_len, data, len);
}

/* Push the event now, or keep it for pending_flush() (after the ones
 * already kept: order matters). */
static void pending_event(struct wctx *w, uint32_t kind, const char *room, size_t room_len,
			  const char *id, size_t id_len)
{
	static const char *const what[] = { [REC_JOIN] = "join", [REC_LEAVE] = "leave",
					    [REC_MEMBER] = "member join", [REC_GONE] = "member leave" };

	if (push_in_order(w, kind, room, room_len, id, id_len) == RING_OK)
		return;
	if (w->npending >= PENDING_MAX ||
	    pending_add(w, NULL, kind, room, room_len, id, id_len) == NULL) {
		stats_add(&w->st->uplink_events_lost, 1);
		if (!w->pending_lost)   /* once per backlog: not one line per lost event */
			log_error("room %s %.*s lost (and more may follow, counted in "
				  "uplink_events_lost): the master is not reading this worker's uplink",
				  what[kind], (int)room_len, room);
		w->pending_lost = 1;
	}
}

enum wctx_up wctx_uplink_client(struct wctx *w, struct lws *wsi, uint32_t kind,
				const char *room, size_t room_len, const char *frame,
				size_t frame_len)
{
	enum ring_rc rc = push_in_order(w, kind, room, room_len, frame, frame_len);

	if (rc == RING_OK)
		return WCTX_SENT;
	if (rc == RING_TOOBIG)
		return WCTX_TOOBIG;
	if (w->npending >= PENDING_MAX || w->held_bytes + frame_len > w->held_max ||
	    pending_add(w, wsi, kind, room, room_len, frame, frame_len) == NULL) {
		stats_add(&w->st->uplink_refused, 1);
		return WCTX_REFUSED;
	}
	w->held_bytes += frame_len;
	stats_add(&w->st->uplink_held, 1);
	lws_rx_flow_control(wsi, 0);
	return WCTX_HELD;
}

void wctx_held_forget(struct wctx *w, struct lws *wsi)
{
	for (struct wctx_pending *p = w->pending; p != NULL; p = p->next)
		if (p->wsi == wsi)
			p->wsi = NULL;
}

void wctx_room_event(struct wctx *w, uint32_t kind, const char *room, size_t room_len)
{
	pending_event(w, kind, room, room_len, NULL, 0);
}

void wctx_member_event(struct wctx *w, uint32_t kind, const char *room, size_t room_len,
		       const char *id, size_t id_len, int announced)
{
	char buf[1 + CHATD_CLIENT_ID_MAX];

	if (id_len > CHATD_CLIENT_ID_MAX)
		return;
	buf[0] = announced ? RECORD_MEMBER_ANNOUNCED : 0;
	memcpy(buf + 1, id, id_len);
	pending_event(w, kind, room, room_len, buf, 1 + id_len);
}

void wctx_pending_free(struct wctx *w)
{
	wloop_timer_free(w->t_pending);
	w->t_pending = NULL;
	while (w->pending != NULL) {
		struct wctx_pending *p = w->pending;

		w->pending = p->next;
		free(p);
	}
	w->pending_tail = NULL;
	w->npending = 0;
	w->held_bytes = 0;
}

void wctx_quit(struct wctx *w)
{
	if (w->quit)
		return;
	w->quit = 1;
	wloop_stop(w->loop);
}
