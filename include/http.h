/*
 * http.h - the HTTP side of a worker: /healthz, stats, 404s, 426 for plain
 * GETs on WebSocket paths, and the decision of which room an upgrade joins.
 */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include <stddef.h>
#include <libwebsockets.h>

struct worker;

/* Which room does this upgrade request ask for?  Fills room (room_len 0 =
 * global) and returns 0, or the HTTP status to refuse it with (400/404). */
int http_ws_target(struct worker *w, struct lws *wsi, char *room, size_t *room_len);

/* HTTP reasons of the protocol callback (worker.c dispatches). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		  void *in, size_t len);

/* Refuse an upgrade / answer a request with a short body. Returns 1. */
int http_refuse(struct lws *wsi, int status, const char *body);

#endif
