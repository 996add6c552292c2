/* SPDX-License-Identifier: MIT */
/*
 * ws.h - the WebSocket side of a worker: connections, rooms, receive,
 * refcounted frames on per-connection send queues, heartbeat, closes.
 */
#ifndef CHATD_WS_H
#define CHATD_WS_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>
#include "auth.h"
#include "frame.h"
#include "limit.h"
#include "room.h"
#include "sendq.h"

struct wctx;
struct wloop_timer;

/* Per-session data of the chat protocol: one per lws connection (HTTP or
 * WebSocket), allocated by lws, released in LWS_CALLBACK_CLOSED(_HTTP). */
struct conn {
	struct lws *wsi;
	struct room_member all;        /* in worker->all */
	struct room_member member;     /* in its room, unless global */
	struct sendq sq;               /* send queue: frame refs, grows on demand */
	char *rx;                      /* reassembly of a fragmented message */
	size_t rxlen, rxcap;
	char *http_body;               /* HTTP response waiting for WRITEABLE */
	size_t http_len;
	uint16_t http_status;          /* ... its status */
	uint16_t close_code;           /* != 0: closing; the close frame goes out at the
	                                  WRITEABLE that finds the queue empty, and
	                                  nothing more is queued */
	uint8_t  close_why;            /* its reason: enum ws_why (ws.c) */
	uint8_t  close_sent;           /* our close frame went to lws */
	uint16_t peer_code;            /* the client's close frame came first: its code */
	uint8_t  established, room_len;
	uint8_t  announced;            /* its online presence went out */
	char room[129];
	char id[65];
	struct limit_rate rate;        /* rate_limit / rate_burst */
	/* for the access log and the debug log */
	uint64_t t0_ms, valid_ms;      /* monotonic: established, last pong */
	uint64_t ping_ms;              /* monotonic: the next ping (its phase) */
	struct wloop_timer *beat;      /* the heartbeat timer (ws.c) */
	uint8_t ping_due;              /* a ping waits for WRITEABLE */
	uint32_t n_in, n_out;          /* whole messages received, frames sent */
	uint64_t bytes_out;
	char addr[64];                 /* "ip:port", "" unless access_log or debug is on */
	const char *tls_version, *tls_cipher; /* OpenSSL's static names; NULL: plain */
	/* room history (hjoin.c) */
	struct hjoin_wait *hw;         /* != NULL: waiting for its answer; nothing is written */
	uint64_t hist_floor;           /* frames of its stream at or below this offset are
	                                  already sent (or older than what it asked for) */
};

/* Deliver one frame (from the broadcast ring) to the local members of
 * room (room_len 0 = every connection).  Takes the frame: frees it when
 * nobody here wants it. */
void ws_deliver(struct wctx *w, struct frame *f, const char *room, size_t room_len);

/* Queue f (refcounted) on c; force: even past send_queue (a history answer
 * is bounded by history_size instead). */
void ws_push(struct wctx *w, struct conn *c, struct frame *f, int force);

/* Queue a copy of buf[0..len) for c alone, even past send_queue. */
void ws_send(struct wctx *w, struct conn *c, const char *buf, size_t len);

/* After a batch of ws_deliver(): write what it queued (worker.c, from the
 * ring's callback; outside any lws callback). */
void ws_flush(struct wctx *w);

/* Close every connection with code (1001 stop, 1012 drain), after what is
 * queued has been flushed. */
void ws_close_all(struct wctx *w, uint16_t code);

/* The protocol callback for WebSocket reasons (worker.c dispatches). */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		void *in, size_t len);

#endif
