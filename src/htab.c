/* SPDX-License-Identifier: MIT */
/*
 * htab.c - the intrusive chained hash table (see htab.h).
 */
#include <stdlib.h>
#include <string.h>

#include "htab.h"

#define HTAB_MIN 64                     /* buckets; a power of two */

int htab_init(struct htab *t)
{
	t->b = calloc(HTAB_MIN, sizeof(*t->b));
	t->mask = HTAB_MIN - 1;
	t->n = 0;
	return t->b == NULL ? -1 : 0;
}

void htab_fini(struct htab *t)
{
	free(t->b);
	t->b = NULL;
	t->mask = 0;
	t->n = 0;
}

struct htab_node *htab_find(const struct htab *t, uint64_t hash, htab_eq_fn eq,
			    const void *key)
{
	struct htab_node *e = t->b[hash & t->mask];

	while (e != NULL && (e->hash != hash || !eq(e, key)))
		e = e->next;
	return e;
}

/* Double the buckets; out of memory: the chains just grow longer. */
static void grow(struct htab *t)
{
	size_t nmask = t->mask * 2 + 1;
	struct htab_node **nb = calloc(nmask + 1, sizeof(*nb));

	if (nb == NULL)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		while (t->b[i] != NULL) {
			struct htab_node *e = t->b[i];

			t->b[i] = e->next;
			e->next = nb[e->hash & nmask];
			nb[e->hash & nmask] = e;
		}
	free(t->b);
	t->b = nb;
	t->mask = nmask;
}

void htab_put(struct htab *t, struct htab_node *n)
{
	if (t->n > t->mask)
		grow(t);
	n->next = t->b[n->hash & t->mask];
	t->b[n->hash & t->mask] = n;
	t->n++;
}

void htab_del(struct htab *t, struct htab_node *n)
{
	struct htab_node **pp = &t->b[n->hash & t->mask];

	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	t->n--;
}

int htab_bytes_eq(const struct htab_bytes *key, const void *p, size_t len)
{
	return key->len == len && memcmp(key->p, p, len) == 0;
}

size_t htab_count(const struct htab *t)
{
	return t->n;
}

void htab_each(struct htab *t, htab_each_fn fn, void *arg)
{
	for (size_t i = 0; t->b != NULL && i <= t->mask; i++)
		for (struct htab_node *e = t->b[i], *next; e != NULL; e = next) {
			next = e->next;
			fn(arg, e);
		}
}
