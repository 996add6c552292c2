/* SPDX-License-Identifier: MIT */
/*
 * wask.h - a worker's questions to the master waiting for their answers
 * (history on join: hjoin.c; a room's members: who.c).  Each question has a
 * token the answer is addressed to, and a deadline: one that is not
 * answered in time is handed to the list's `expired` (which must take it
 * off the list).  Bounded: a full list takes no more.  Worker side.
 */
#ifndef CHATD_WASK_H
#define CHATD_WASK_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>
#include "room.h"

#define WASK_MAX        256    /* questions of one kind waiting, per worker */
#define WASK_TIMEOUT_MS 5000   /* an answer later than this will not come */

/* Embedded in a waiting question. */
struct wask {
	struct room_member node;
	uint64_t           token;
	lws_usec_t         deadline;
};

struct wask_list;
typedef void (*wask_expired_fn)(struct wask_list *l, struct wask *a);

/* One per kind of question, in the worker's context. */
struct wask_list {
	struct room_member     head;
	size_t                 n, max;
	uint64_t               next;       /* the last token given */
	int                    timeout_ms;
	wask_expired_fn        expired;
	lws_sorted_usec_list_t sul;        /* the deadline check, while not empty */
	struct lws_context    *ctx;        /* ... on this context (wask_add's) */
};

/* An empty list of at most max questions, each answered within timeout_ms
 * or handed to expired; tokens follow first. */
void wask_init(struct wask_list *l, size_t max, int timeout_ms, uint64_t first,
	       wask_expired_fn expired);

/* A token for the next question, or 0 when the list is full. */
uint64_t wask_token(struct wask_list *l);

/* a (a->token from wask_token) waits, from now; ctx runs the deadline check. */
void wask_add(struct wask_list *l, struct lws_context *ctx, struct wask *a);

/* a no longer waits. */
void wask_del(struct wask_list *l, struct wask *a);

/* The question with token, or NULL (it was answered, expired or cancelled). */
struct wask *wask_find(struct wask_list *l, uint64_t token);

#endif
