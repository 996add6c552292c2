/* SPDX-License-Identifier: MIT */
/*
 * http_members.h - GET {prefix}/rooms/{room}/members (and the global
 * channel's): who is in a room, over all pods, as JSON.  Worker only;
 * http.c routes to it.
 */
#ifndef CHATD_HTTP_MEMBERS_H
#define CHATD_HTTP_MEMBERS_H

#include <libwebsockets.h>

struct conn;
struct wctx;

/* Check the request for uri (room, ?limit=, ?cursor=, the token) and ask
 * the master: 1 when asked (the answer is written by
 * http_members_write()), else what http_resp() returned for a refusal
 * (400, 401/403/503, 503 busy). */
int http_members_request(struct wctx *w, struct lws *wsi, const char *uri);

/* HTTP_WRITEABLE: write the master's answer kept on c, if any, then end
 * the transaction (http_resp_end()).  0 or -1 (close). */
int http_members_write(struct lws *wsi, struct conn *c);

#endif
