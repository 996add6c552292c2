/* SPDX-License-Identifier: MIT */
/*
 * who.c - who is in a room, the worker's side.  See who.h.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "chatd.h"
#include "frame.h"
#include "history.h"    /* struct history_addr */
#include "msg.h"
#include "roster.h"
#include "shm.h"
#include "wctx.h"
#include "who.h"
#include "ws.h"

#define UNAVAILABLE    "{\"error\":\"unavailable\",\"message\":\"members could not be read now\"}"

#define who_of(a) ((struct who_wait *)((char *)(a) - offsetof(struct who_wait, ask)))

/* One per question waiting for its answer. */
struct who_wait {
	struct wask  ask;              /* in w->who_asks */
	struct conn *c;
	struct lws  *http;             /* NULL: a WebSocket's members message */
};

static void wait_free(struct wctx *w, struct who_wait *ww)
{
	wask_del(&w->who_asks, &ww->ask);
	free(ww);
}

/* Deliver json[0..len) (len 0: unavailable) to whoever asked. */
static void reply(struct wctx *w, struct who_wait *ww, const char *json, size_t len)
{
	struct conn *c = ww->c;
	size_t n;

	if (ww->http != NULL) {
		free(c->http_body);
		c->http_status = len ? 200 : 503;
		c->http_body = len ? malloc(len) : strdup(UNAVAILABLE);
		c->http_len = len ? len : strlen(UNAVAILABLE);
		if (c->http_body != NULL && len)
			memcpy(c->http_body, json, len);
		lws_callback_on_writable(ww->http);
	} else if (len > 0 &&
		   (n = msg_build_raw(w->scratch, w->scratch_len, "members",
				      c->room_len ? c->room : NULL, "server", json, len)) > 0) {
		ws_send(w, c, w->scratch, n);
	} else {
		n = msg_build_error(w->scratch, w->scratch_len, c->room_len ? c->room : NULL,
				    "members_unavailable", "members could not be read now");
		ws_send(w, c, w->scratch, n);
	}
	wait_free(w, ww);
}

void who_expired(struct wask_list *l, struct wask *a)
{
	reply(lws_container_of(l, struct wctx, who_asks), who_of(a), NULL, 0);
}

/* Send the question; 0, or -1 when it cannot go up. */
static int ask(struct wctx *w, struct conn *c, struct lws *http, const char *room,
	       size_t room_len, uint32_t offset, uint32_t limit)
{
	struct roster_req q = { .offset = offset, .limit = limit };
	struct who_wait *ww;

	if (room_len == 0 || (q.token = wask_token(&w->who_asks)) == 0 ||
	    (ww = calloc(1, sizeof(*ww))) == NULL)
		return -1;
	ww->ask.token = q.token;
	if (wctx_uplink(w, REC_ROSTER_REQ, room, room_len, (const char *)&q, sizeof(q)) !=
	    RING_OK) {
		free(ww);
		return -1;
	}
	ww->c = c;
	ww->http = http;
	wask_add(&w->who_asks, w->ctx, &ww->ask);
	return 0;
}

void who_socket(struct wctx *w, struct conn *c)
{
	size_t n;

	if (c->room_len == 0) {
		n = msg_build_error(w->scratch, w->scratch_len, NULL, "not_in_room",
				    "members are those of a room: connect to one");
		ws_send(w, c, w->scratch, n);
		return;
	}
	if (ask(w, c, NULL, c->room, c->room_len, 0, ROSTER_PAGE_MAX) < 0) {
		n = msg_build_error(w->scratch, w->scratch_len, c->room, "members_unavailable",
				    "server busy: members not read");
		ws_send(w, c, w->scratch, n);
	}
}

int who_http(struct wctx *w, struct lws *wsi, struct conn *c, const char *room,
	     size_t room_len, uint32_t offset, uint32_t limit)
{
	return ask(w, c, wsi, room, room_len, offset, limit);
}

void who_answer(struct wctx *w, struct frame *f, const char *addr, size_t addr_len)
{
	struct history_addr a;
	struct wask *wa;

	if (addr_len == sizeof(a)) {
		memcpy(&a, addr, sizeof(a));
		if (a.slot == (uint32_t)w->slot && (wa = wask_find(&w->who_asks, a.token)) != NULL)
			reply(w, who_of(wa), (const char *)f->data + LWS_PRE, f->len);
	}
	if (f->refs == 0)
		free(f);
}

void who_cancel(struct wctx *w, struct conn *c)
{
	struct room_member *it, *next;

	for (it = w->who_asks.head.next; w->who_asks.n > 0 && it != &w->who_asks.head; it = next) {
		next = it->next;
		if (who_of(lws_container_of(it, struct wask, node))->c == c)
			wait_free(w, who_of(lws_container_of(it, struct wask, node)));
	}
}
