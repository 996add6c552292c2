/* SPDX-License-Identifier: MIT */
/*
 * wroster.h - who is in a room, the worker's side: a question goes up the
 * uplink (REC_ROSTER_ASK), the master's answer comes back on the broadcast
 * ring (REC_ROSTER, addressed to this worker) and is handed to whoever
 * asked - an HTTP request or a WebSocket client - through its callback.
 * Bounded: WROSTER_MAX questions wait at once; one unanswered after
 * WROSTER_WAIT_MS gets 504.  Worker only.
 */
#ifndef CHATD_WROSTER_H
#define CHATD_WROSTER_H

#include <stddef.h>
#include <libwebsockets.h>

struct wctx;

#define WROSTER_MAX     64
#define WROSTER_WAIT_MS 10000

/* The answer for wsi: an HTTP status and the JSON body (200: the page; else
 * {"error":..., "message":...}).  body is valid during the call only. */
typedef void (*wroster_fn)(struct wctx *w, struct lws *wsi, int status, const char *body,
			   size_t len);

/* Ask for up to limit members (0: the default) of room (ROSTER_GLOBAL for
 * the global channel) after client id cursor; fn is called once with the
 * answer, unless wroster_forget(wsi) comes first.  0, or -1 when too many
 * questions wait or the uplink is full (fn is not called). */
int wroster_ask(struct wctx *w, struct lws *wsi, wroster_fn fn, const char *room,
		size_t room_len, unsigned limit, const char *cursor, size_t cursor_len);

/* A REC_ROSTER payload from the broadcast ring (for any worker). */
void wroster_answer(struct wctx *w, const unsigned char *p, size_t len);

/* wsi is closing: drop its questions. */
void wroster_forget(struct lws *wsi);

#endif
