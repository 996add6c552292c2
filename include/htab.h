/* SPDX-License-Identifier: MIT */
/*
 * htab.h - an intrusive chained hash table: the caller embeds a struct
 * htab_node in its own struct, computes the hash (hash.h's keyed hash for
 * keys a client chooses) and compares keys; the table only chains nodes by
 * hash.  Doubles its buckets as it fills; out of memory, the chains just
 * grow longer.  Never allocates a node, never frees one.  A pure leaf: no
 * logging.  Not thread-safe; any process may use its own.
 */
#ifndef CHATD_HTAB_H
#define CHATD_HTAB_H

#include <stddef.h>
#include <stdint.h>

/* One per entry, inside the caller's struct; hash is set by the caller
 * before htab_put() and not changed while the node is in a table. */
struct htab_node {
	struct htab_node *next;         /* hash chain */
	uint64_t hash;
};

/* One per table, usually inside its owner's struct. */
struct htab {
	struct htab_node **b;
	size_t mask, n;
};

/* The struct of type that holds node (a struct htab_node *) as member. */
#define HTAB_ENTRY(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

/* An empty table; 0, or -1 when out of memory (t then needs no fini). */
int htab_init(struct htab *t);
/* Free the buckets (not the nodes: they are the caller's); the table is
 * empty afterwards, as if never initialised.  Harmless twice. */
void htab_fini(struct htab *t);

/* True when node n holds key (whatever the caller passed to htab_find()). */
typedef int (*htab_eq_fn)(const struct htab_node *n, const void *key);

/* The usual key: bytes p[0..len); an eq callback passes what its node
 * holds to htab_bytes_eq(). */
struct htab_bytes {
	const void *p;
	size_t len;
};
/* True when key is exactly p[0..len). */
int htab_bytes_eq(const struct htab_bytes *key, const void *p, size_t len);

/* The node of this hash for which eq(node, key) is true, or NULL. */
struct htab_node *htab_find(const struct htab *t, uint64_t hash, htab_eq_fn eq,
			    const void *key);
/* Add n (its hash set, its key not in the table yet: put does not look). */
void htab_put(struct htab *t, struct htab_node *n);
/* Take n (which is in t) out of the table. */
void htab_del(struct htab *t, struct htab_node *n);
/* Nodes in the table. */
size_t htab_count(const struct htab *t);

/* Called once per node by htab_each(); it may htab_del() (and free) the
 * node it is given, but must not put or delete any other. */
typedef void (*htab_each_fn)(void *arg, struct htab_node *n);
/* fn for every node, in no particular order. */
void htab_each(struct htab *t, htab_each_fn fn, void *arg);

#endif
