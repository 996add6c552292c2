/* SPDX-License-Identifier: MIT */
/*
 * wheel.c - a hashed timing wheel (see wheel.h), as in Varghese and Lauck's
 * scheme 6: a node due at tick t hangs in slot t % WHEEL_SLOTS; a tick
 * looks at its slot only, and fires the nodes there whose round has come.
 */
#include "wheel.h"

static void link_after(struct wheel_node *head, struct wheel_node *n)
{
	n->prev = head;
	n->next = head->next;
	head->next->prev = n;
	head->next = n;
}

static void unlink_node(struct wheel_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

void wheel_init(struct wheel *wh, uint64_t now)
{
	for (size_t i = 0; i < WHEEL_SLOTS; i++)
		wh->slot[i].prev = wh->slot[i].next = &wh->slot[i];
	wh->cur = now;
	wh->count = 0;
}

void wheel_set(struct wheel *wh, struct wheel_node *n, uint64_t tick,
	       void (*fire)(struct wheel_node *))
{
	if (n->next != NULL)
		unlink_node(n);
	else
		wh->count++;
	n->tick = tick > wh->cur ? tick : wh->cur + 1;
	n->fire = fire;
	link_after(&wh->slot[n->tick % WHEEL_SLOTS], n);
}

void wheel_del(struct wheel *wh, struct wheel_node *n)
{
	if (n->next == NULL)
		return;
	unlink_node(n);
	wh->count--;
}

/* Fire what is due in slot s by now.  The slot's list moves to a list of
 * its own first, so that what fire() sets lands in the wheel, not in this
 * pass, and what it deletes leaves either list alike. */
static size_t expire_slot(struct wheel *wh, struct wheel_node *s, uint64_t now)
{
	struct wheel_node pass, *n;
	size_t fired = 0;

	if (s->next == s)
		return 0;
	pass.next = s->next;
	pass.prev = s->prev;
	pass.next->prev = pass.prev->next = &pass;
	s->next = s->prev = s;
	while ((n = pass.next) != &pass) {
		unlink_node(n);
		if (n->tick > now) {           /* a later round */
			link_after(s, n);
			continue;
		}
		wh->count--;
		fired++;
		n->fire(n);
	}
	return fired;
}

size_t wheel_expire(struct wheel *wh, uint64_t now)
{
	uint64_t t = wh->cur;
	size_t fired = 0;

	if (now <= t)
		return 0;
	if (now - t > WHEEL_SLOTS)     /* held up for a whole turn: each slot once */
		t = now - WHEEL_SLOTS;
	wh->cur = now;                 /* what fire() sets from here is due after now */
	while (t < now) {
		t++;
		fired += expire_slot(wh, &wh->slot[t % WHEEL_SLOTS], now);
	}
	return fired;
}
