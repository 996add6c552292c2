/* SPDX-License-Identifier: MIT */
/*
 * hwait.c - room history work waiting for its room's subscription or, its
 * room subscribed (ready), for one of Redis's read slots (see hwait.h): one
 * list, oldest first, up to HWAIT_ITEMS_MAX items.  So nothing walks it on
 * the hot path: an item for a subscribed room is added ready, and
 * hwait_pump() stops as soon as every kind with ready items is blocked.
 * Only hwait_ready() (a SUBSCRIBE confirmed) and hwait_holds() (stores wait)
 * walk it all.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "chatd.h"
#include "hwait.h"

#define HWAIT_ITEMS_MAX 16384            /* items waiting at once */
#define HWAIT_BYTES_MAX (16u << 20)      /* ... and their bytes */

/* One waiting read or store. */
struct hwait_item {
	TAILQ_ENTRY(hwait_item) next;
	enum hwait_kind kind;
	int             slot;
	int             ready;         /* its room is subscribed */
	uint64_t        t0_ms;
	size_t          room_len, len;
	char            room[CHATD_ROOM_MAX + 1];
	char            data[];
};

struct hwait {
	TAILQ_HEAD(, hwait_item) items;
	size_t       n, bytes;
	size_t       nkind[2];            /* items of each kind */
	size_t       nready[2];           /* ... of them ready */
	uint64_t     timeout_ms;
	hwait_run_fn run;
	void        *arg;
};

struct hwait *hwait_new(uint64_t timeout_ms, hwait_run_fn run, void *arg)
{
	struct hwait *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	TAILQ_INIT(&w->items);
	w->timeout_ms = timeout_ms;
	w->run = run;
	w->arg = arg;
	return w;
}

static void item_del(struct hwait *w, struct hwait_item *it)
{
	TAILQ_REMOVE(&w->items, it, next);
	w->n--;
	w->nkind[it->kind]--;
	w->nready[it->kind] -= it->ready;
	w->bytes -= it->len;
	free(it);
}

void hwait_free(struct hwait *w)
{
	if (w == NULL)
		return;
	while (!TAILQ_EMPTY(&w->items))
		item_del(w, TAILQ_FIRST(&w->items));
	free(w);
}

int hwait_add(struct hwait *w, enum hwait_kind kind, int slot, const char *room,
	      size_t room_len, const char *data, size_t len, int ready, uint64_t now_ms)
{
	struct hwait_item *it;

	if (room_len > CHATD_ROOM_MAX || w->n >= HWAIT_ITEMS_MAX ||
	    w->bytes + len > HWAIT_BYTES_MAX || (it = malloc(sizeof(*it) + len)) == NULL)
		return -1;
	it->kind = kind;
	it->slot = slot;
	it->ready = ready != 0;
	it->t0_ms = now_ms;
	it->room_len = room_len;
	memcpy(it->room, room, room_len);
	it->len = len;
	memcpy(it->data, data, len);
	TAILQ_INSERT_TAIL(&w->items, it, next);
	w->n++;
	w->nkind[kind]++;
	w->nready[kind] += it->ready;
	w->bytes += len;
	return 0;
}

static int item_of(const struct hwait_item *it, const char *room, size_t room_len)
{
	return it->room_len == room_len && memcmp(it->room, room, room_len) == 0;
}

int hwait_holds(const struct hwait *w, enum hwait_kind kind, const char *room,
		size_t room_len)
{
	const struct hwait_item *it;

	if (w->nkind[kind] == 0)
		return 0;
	TAILQ_FOREACH(it, &w->items, next)
		if (it->kind == kind && item_of(it, room, room_len))
			return 1;
	return 0;
}

/* Run it; freed unless it cannot be done yet (-1). */
static int item_run(struct hwait *w, struct hwait_item *it, int ok)
{
	if (w->run(w->arg, ok, it->kind, it->slot, it->room, it->room_len, it->data,
		   it->len) < 0 && ok)
		return -1;
	item_del(w, it);
	return 0;
}

/* Bit per kind with ready items not blocked: while 0, a walk finds nothing
 * more to run. */
static unsigned runnable(const struct hwait *w, unsigned blocked)
{
	unsigned r = 0;

	for (int k = 0; k < 2; k++)
		if (w->nready[k] > 0 && !(blocked & (1u << k)))
			r |= 1u << k;
	return r;
}

void hwait_pump(struct hwait *w)
{
	struct hwait_item *it, *nx;
	unsigned blocked = 0;              /* bit per kind that could not be done */

	for (it = TAILQ_FIRST(&w->items); it != NULL && runnable(w, blocked); it = nx) {
		nx = TAILQ_NEXT(it, next);
		if (it->ready && !(blocked & (1u << it->kind)) && item_run(w, it, 1) < 0)
			blocked |= 1u << it->kind;
	}
}

int hwait_pending(const struct hwait *w)
{
	return w->nready[HWAIT_READ] + w->nready[HWAIT_STORE] > 0;
}

void hwait_ready(struct hwait *w, const char *room, size_t room_len)
{
	struct hwait_item *it;

	TAILQ_FOREACH(it, &w->items, next)
		if (!it->ready && item_of(it, room, room_len)) {
			it->ready = 1;
			w->nready[it->kind]++;
		}
	hwait_pump(w);
}

void hwait_tick(struct hwait *w, uint64_t now_ms)
{
	struct hwait_item *it;

	while ((it = TAILQ_FIRST(&w->items)) != NULL && now_ms - it->t0_ms >= w->timeout_ms)
		item_run(w, it, 0);
}
