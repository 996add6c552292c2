/* SPDX-License-Identifier: MIT */
/*
 * wask.c - a worker's questions waiting for the master's answers.  See
 * wask.h.
 */
#include <libwebsockets.h>

#include "wask.h"

#define WASK_TICK (500 * LWS_US_PER_MS)

void wask_init(struct wask_list *l, size_t max, int timeout_ms, uint64_t first,
	       wask_expired_fn expired)
{
	room_list_init(&l->head);
	l->n = 0;
	l->max = max;
	l->next = first;
	l->timeout_ms = timeout_ms;
	l->expired = expired;
}

uint64_t wask_token(struct wask_list *l)
{
	return l->n < l->max ? ++l->next : 0;
}

static void tick(lws_sorted_usec_list_t *sul)
{
	struct wask_list *l = lws_container_of(sul, struct wask_list, sul);
	lws_usec_t now = lws_now_usecs();
	struct room_member *it, *next;

	for (it = l->head.next; it != &l->head; it = next) {
		next = it->next;
		if (lws_container_of(it, struct wask, node)->deadline <= now)
			l->expired(l, lws_container_of(it, struct wask, node));
	}
	if (l->n > 0)
		lws_sul_schedule(l->ctx, 0, sul, tick, WASK_TICK);
}

void wask_add(struct wask_list *l, struct lws_context *ctx, struct wask *a)
{
	a->deadline = lws_now_usecs() + (lws_usec_t)l->timeout_ms * LWS_US_PER_MS;
	l->ctx = ctx;
	if (l->n++ == 0)
		lws_sul_schedule(ctx, 0, &l->sul, tick, WASK_TICK);
	room_list_add(&l->head, &a->node);
}

void wask_del(struct wask_list *l, struct wask *a)
{
	room_list_del(&a->node);
	l->n--;
}

struct wask *wask_find(struct wask_list *l, uint64_t token)
{
	struct room_member *it;

	room_foreach(&l->head, it)
		if (lws_container_of(it, struct wask, node)->token == token)
			return lws_container_of(it, struct wask, node);
	return NULL;
}
