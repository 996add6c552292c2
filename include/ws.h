/* SPDX-License-Identifier: MIT */
/*
 * ws.h - the WebSocket side of a worker: connections, rooms, receive,
 * refcounted frames on per-connection send queues (struct conn, the
 * heartbeat and the closes: conn.h).
 */
#ifndef CHATD_WS_H
#define CHATD_WS_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>
#include "auth.h"
#include "conn.h"
#include "frame.h"
#include "limit.h"
#include "room.h"
#include "sendq.h"

struct wctx;


/* Deliver one frame (from the broadcast ring) to the local members of
 * room (room_len 0 = every connection).  Takes the frame: frees it when
 * nobody here wants it. */
void ws_deliver(struct wctx *w, struct frame *f, const char *room, size_t room_len);

/* Queue f (refcounted) on c; force: even past send_queue (a history answer
 * is bounded by history_size instead). */
void ws_push(struct wctx *w, struct conn *c, struct frame *f, int force);

/* Queue a copy of buf[0..len) for c alone; force: even past send_queue
 * (as ws_push). */
void ws_send(struct wctx *w, struct conn *c, const char *buf, size_t len, int force);

/* After batches of ws_deliver(): write what they queued (worker.c, from
 * the ring's callback once the ring is caught up or every few batches of a
 * burst; outside any lws callback). */
void ws_flush(struct wctx *w);

/* Close every connection with code (1001 stop, 1012 drain), after what is
 * queued has been flushed. */
void ws_close_all(struct wctx *w, uint16_t code);

/* The protocol callback for WebSocket reasons (worker.c dispatches). */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		void *in, size_t len);

#endif
