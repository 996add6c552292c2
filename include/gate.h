/* SPDX-License-Identifier: MIT */
/*
 * gate.h - how a worker lets connections in and keeps their HTTP phase (from
 * the accept to the WebSocket upgrade, or to the end of a plain HTTP
 * connection) short and bounded:
 *   - connections per client address (max_connections_per_ip);
 *   - of those, the ones still in their HTTP phase (max_http_pending_per_ip):
 *     one more is closed at the accept;
 *   - the HTTP phase of the whole worker (max_http_pending), which is also
 *     the size of libwebsockets' header pool, so no request ever waits for a
 *     header slot: one more cuts the oldest;
 *   - a deadline (handshake_timeout) on the request head from the accept,
 *     and on a POST body from its head (lws restarts its own timer on each
 *     byte, so a body trickled at a byte a second would never end).
 * Everything it cuts or refuses is counted in the worker's stats.  Worker
 * side only: worker.c calls it at the accept and from its lws callback.
 */
#ifndef CHATD_GATE_H
#define CHATD_GATE_H

#include <sys/socket.h>
#include <libwebsockets.h>

struct wctx;
/* One per worker, made by gate_new() (worker.c's set-up). */
struct gate;
/* One per accepted connection, from gate_enter() to LWS_CALLBACK_WSI_DESTROY
 * (the wsi's opaque user data in between). */
struct gate_conn;

struct gate *gate_new(void);        /* NULL on ENOMEM */
void gate_free(struct gate *g);     /* every connection must be gone first */

/*
 * A connection from ss was accepted: count it against the limits above (and
 * cut the worker's oldest HTTP-phase connection when it has
 * max_http_pending of them).  Returns its gate_conn, or NULL when it must be
 * closed (counted: ip_limit_hits, http_pending_refused, or conn_limit_hits
 * when memory ran out).
 */
struct gate_conn *gate_enter(struct wctx *w, const struct sockaddr_storage *ss);

/* lws adopted the connection as wsi (its head's deadline starts), or failed
 * to (wsi NULL: gc is released and freed). */
void gate_adopted(struct wctx *w, struct gate_conn *gc, struct lws *wsi);

/* The lws callbacks of the HTTP/WebSocket protocol that gate_event() takes:
 * the head came (HTTP, CONFIRM_UPGRADE), a body ended
 * (HTTP_BODY_COMPLETION), the upgrade is done (ESTABLISHED), the
 * connection is gone (WSI_DESTROY).  Not the many RECEIVE/WRITEABLE ones. */
static inline int gate_reason(enum lws_callback_reasons reason)
{
	return reason == LWS_CALLBACK_HTTP || reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE ||
	       reason == LWS_CALLBACK_HTTP_BODY_COMPLETION || reason == LWS_CALLBACK_ESTABLISHED ||
	       reason == LWS_CALLBACK_WSI_DESTROY;
}

/* Those callbacks (gate_reason()) pass here first; any other is ignored. */
void gate_event(struct lws *wsi, enum lws_callback_reasons reason);

#endif
