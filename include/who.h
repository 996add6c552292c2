/* SPDX-License-Identifier: MIT */
/*
 * who.h - who is in a room, a worker's side (issue 16 item 4): a client's
 * {"type":"members"} and GET {prefix}/rooms/{room}/members ask the master
 * (REC_ROSTER_REQ up the uplink); the answer (REC_ROSTER, addressed to the
 * asker) becomes a `members` message or the HTTP response.  At most
 * WHO_WAIT_MAX waiting per worker, WHO_TIMEOUT_MS each; then "unavailable".
 */
#ifndef CHATD_WHO_H
#define CHATD_WHO_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>

struct conn;
struct frame;
struct wctx;

/* A room connection's {"type":"members"}: asked (the answer comes later),
 * or an error sent at once.  For ws.c, through w->who_ask. */
void who_socket(struct wctx *w, struct conn *c);

/* GET .../rooms/{room}/members (room checked) on wsi, whose per-session
 * data is c: 0 when asked (the response is written at HTTP_WRITEABLE), or
 * -1 when it cannot be (answer 503 now). */
int who_http(struct wctx *w, struct lws *wsi, struct conn *c, const char *room,
	     size_t room_len, uint32_t offset, uint32_t limit);

/* A REC_ROSTER record: f its frame part (the JSON answer, empty when
 * unavailable), addr its address.  Takes f. */
void who_answer(struct wctx *w, struct frame *f, const char *addr, size_t addr_len);

/* w->who_asks's `expired` (wask.h): answered "unavailable". */
struct wask;
struct wask_list;
void who_expired(struct wask_list *l, struct wask *a);

/* c (a WebSocket or an HTTP request) closes: forget what it waits for. */
void who_cancel(struct wctx *w, struct conn *c);

#endif
