/* SPDX-License-Identifier: MIT */
/*
 * conn.h - one WebSocket connection (struct conn) and its life around
 * ws.c's hot path: why and how it closes, its heartbeat, the end of its
 * session in the access log.  Worker only; ws.c calls it.
 */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>
#include "limit.h"
#include "room.h"
#include "sendq.h"
#include "wheel.h"

struct wctx;
struct wloop_timer;

#define CONN_KILL_AFTER_SECS 3  /* a connection told to close that cannot take the close frame */

/* Per-session data of the chat protocol: one per lws connection (HTTP or
 * WebSocket), allocated by lws, released in LWS_CALLBACK_CLOSED(_HTTP). */
struct conn {
	struct lws *wsi;
	struct room_member all;        /* in worker->all */
	struct room_member member;     /* in its room, unless global */
	struct sendq sq;               /* send queue: frame refs, grows on demand */
	size_t flush_ix;               /* its place in wctx's flush list + 1; 0: not listed */
	char *rx;                      /* reassembly of a fragmented message */
	size_t rxlen, rxcap;
	char *http_body;               /* HTTP response waiting for WRITEABLE */
	size_t http_len;
	uint16_t http_status;          /* ... its status */
	uint16_t close_code;           /* != 0: closing; the close frame goes out at the
	                                  WRITEABLE that finds the queue empty, and
	                                  nothing more is queued */
	uint8_t  close_why;            /* its reason: enum conn_why */
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
	struct wheel_node beat;        /* the heartbeat timer (conn.c) */
	uint8_t ping_due;              /* a ping waits for WRITEABLE */
	uint8_t held;                  /* a message of its waited for uplink space (wctx.c) */
	uint32_t n_in, n_out;          /* whole messages received, frames sent */
	uint64_t bytes_out;
	char addr[64];                 /* "ip:port", "" unless access_log or debug is on */
	const char *tls_version, *tls_cipher; /* OpenSSL's static names; NULL: plain */
	/* room history (hjoin.c) */
	struct hjoin_wait *hw;         /* != NULL: waiting for its answer; nothing is written */
	uint64_t hist_floor;           /* frames of its stream at or below this offset are
	                                  already sent (or older than what it asked for) */
};

/* Why the server closes a connection: the access log's reason (tag) and the
 * close frame's reason text (conn.c's table). */
enum conn_why { WHY_NONE, WHY_SLOW, WHY_RATE, WHY_OVERSIZE, WHY_NOMEM, WHY_TOKEN, WHY_DRAIN,
		WHY_SHUTDOWN, WHY_PROTOCOL };

/* Free c's receive buffer (a message or a POST body): empty, nothing held. */
void conn_rx_reset(struct conn *c);

/* Close c with code (and why) once what is queued is written; nothing more
 * joins the queue.  A connection already closing keeps its first reason. */
void conn_finish(struct conn *c, uint16_t code, enum conn_why why);

/* Close c with code (and why) as soon as possible, dropping what is
 * queued; what it sends meanwhile is ignored.  A connection already
 * closing keeps its first reason. */
void conn_fail(struct conn *c, uint16_t code, enum conn_why why);

/* Fill c's address and TLS names from wsi, when the access log or debug
 * logging wants them. */
void conn_addr(struct conn *c, struct lws *wsi);

/* Start c's heartbeat: a coarse timer on w's loop (its wheel: nothing is
 * allocated) pings it every ping_interval at a random phase and cuts it
 * without a pong for hangup_ms.  conn_heartbeat_stop() stops it (CLOSED). */
void conn_heartbeat_start(struct wctx *w, struct conn *c);

/* The heartbeat's ping (a 5-byte payload: lws passes on no empty pong),
 * written now; clears ping_due.  0 / -1 (lws_write failed). */
int conn_ping_send(struct wctx *w, struct conn *c);
void conn_heartbeat_stop(struct wctx *w, struct conn *c);

/* The end of c's session (CLOSED): its access log line, and a debug line. */
void conn_session_end(struct wctx *w, struct conn *c);

/* Send our close frame (c->close_code, c->close_why) once the queue is
 * empty, from WRITEABLE; c may be gone after it. */
void conn_close_start(struct conn *c);

/* The client's close frame (in[0..len), lws echoes it): its code for the
 * access log; a code no client may send is rewritten in place to 1002. */
void conn_peer_close(struct conn *c, unsigned char *in, size_t len);

/* LWS_CALLBACK_TIMER: c's token expired; close with 1008.  Returns -1. */
int conn_token_expired(struct wctx *w, struct conn *c);

#endif
