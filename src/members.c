/* SPDX-License-Identifier: MIT */
/*
 * members.c - the master's table of who is present where (see members.h).
 * Two chained hash tables share one node type: rooms keyed by (slot, room),
 * each with its connection count and its list of client ids, and client
 * ids keyed by (slot, room, id).  A worker's rooms hang on its slot's list,
 * so forgetting a worker walks only what it had.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "chatd.h"
#include "hash.h"
#include "htab.h"
#include "members.h"

#define BUCKETS_MIN 64
#define KEY_MAX     (2 + CHATD_ROOM_MAX + CHATD_CLIENT_ID_MAX)

/* A hash table entry; its key follows the struct that embeds it, in the
 * same allocation. */
struct mnode {
	struct htab_node h;
	const unsigned char *key;
	size_t klen;
};

/* One per (worker slot, room) with a tracked connection.  Key: slot byte,
 * then the room. */
struct mroom {
	struct mnode n;
	LIST_ENTRY(mroom) by_slot;
	LIST_HEAD(, ment) ents;
	size_t count;           /* connections */
};

/* One per (worker slot, room, client id).  Key: slot byte, room length
 * byte, room, id. */
struct ment {
	struct mnode n;
	LIST_ENTRY(ment) in_room;
	struct mroom *room;
	uint32_t refs;          /* connections of this id */
	uint32_t announced;     /* ... of them whose online went out */
	uint64_t since_ms;      /* wall clock of its first connection */
};

struct members {
	struct hash_key key;
	struct htab rooms, ents;
	LIST_HEAD(, mroom) slot[CHATD_SLOTS];
	size_t conns;
};

/* ---- the table --------------------------------------------------------------- */

static int mnode_eq(const struct htab_node *h, const void *key)
{
	const struct mnode *e = HTAB_ENTRY(h, const struct mnode, h);

	return htab_bytes_eq(key, e->key, e->klen);
}

/* The node of key[0..klen) in t (hash: its hash), or NULL. */
static struct mnode *node_find(const struct htab *t, uint64_t hash, const unsigned char *key,
			       size_t klen)
{
	struct htab_node *h = htab_find(t, hash, mnode_eq, &(struct htab_bytes){ key, klen });

	return h == NULL ? NULL : HTAB_ENTRY(h, struct mnode, h);
}

/* A node of size bytes whose key (klen bytes) follows it; NULL on ENOMEM. */
static void *mnode_new(size_t size, uint64_t hash, const unsigned char *key, size_t klen)
{
	struct mnode *e = malloc(size + klen);

	if (e == NULL)
		return NULL;
	memset(e, 0, size);
	memcpy((unsigned char *)e + size, key, klen);
	e->h.hash = hash;
	e->key = (unsigned char *)e + size;
	e->klen = klen;
	return e;
}

/* ---- keys ----------------------------------------------------------------------- */

/* The keys of (slot, room) and (slot, room, id) into rk and ek; the length
 * of the entry key, or 0 when an argument is out of range. */
static size_t keys(unsigned char *rk, unsigned char *ek, int slot, const char *room,
		   size_t room_len, const char *id, size_t id_len)
{
	if (slot < 0 || slot >= CHATD_SLOTS || room_len == 0 || room_len > CHATD_ROOM_MAX ||
	    id_len > CHATD_CLIENT_ID_MAX)
		return 0;
	rk[0] = ek[0] = (unsigned char)slot;
	memcpy(rk + 1, room, room_len);
	ek[1] = (unsigned char)room_len;
	memcpy(ek + 2, room, room_len);
	memcpy(ek + 2 + room_len, id, id_len);
	return 2 + room_len + id_len;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the interface -------------------------------------------------------------- */

struct members *members_new(void)
{
	struct members *mb = calloc(1, sizeof(*mb));

	if (mb == NULL)
		return NULL;
	if (htab_init(&mb->rooms) < 0 || htab_init(&mb->ents) < 0) {
		htab_fini(&mb->rooms);
		free(mb);
		return NULL;
	}
	for (int i = 0; i < CHATD_SLOTS; i++)
		LIST_INIT(&mb->slot[i]);
	hash_key_random(&mb->key, mb);
	return mb;
}

static void room_drop(struct members *mb, struct mroom *r)
{
	LIST_REMOVE(r, by_slot);
	htab_del(&mb->rooms, &r->n.h);
	free(r);
}

static void ent_drop(struct members *mb, struct ment *e)
{
	LIST_REMOVE(e, in_room);
	htab_del(&mb->ents, &e->n.h);
	free(e);
}

/* The room node of (slot, room), made when absent; NULL on ENOMEM. */
static struct mroom *room_get(struct members *mb, int slot, const unsigned char *rk,
			      size_t rklen)
{
	uint64_t h = hash_bytes(&mb->key, rk, rklen);
	struct mroom *r = (struct mroom *)node_find(&mb->rooms, h, rk, rklen);

	if (r != NULL)
		return r;
	if ((r = mnode_new(sizeof(*r), h, rk, rklen)) == NULL)
		return NULL;
	LIST_INIT(&r->ents);
	htab_put(&mb->rooms, &r->n.h);
	LIST_INSERT_HEAD(&mb->slot[slot], r, by_slot);
	return r;
}

int members_add(struct members *mb, int slot, const char *room, size_t room_len,
		const char *id, size_t id_len, int announced)
{
	unsigned char rk[KEY_MAX], ek[KEY_MAX];
	size_t eklen = keys(rk, ek, slot, room, room_len, id, id_len);
	struct mroom *r;
	struct ment *e;
	uint64_t h;

	if (eklen == 0 || mb->conns >= MEMBERS_MAX ||
	    (r = room_get(mb, slot, rk, 1 + room_len)) == NULL)
		return -1;
	h = hash_bytes(&mb->key, ek, eklen);
	e = (struct ment *)node_find(&mb->ents, h, ek, eklen);
	if (e == NULL) {
		if ((e = mnode_new(sizeof(*e), h, ek, eklen)) == NULL) {
			if (r->count == 0)
				room_drop(mb, r);
			return -1;
		}
		e->room = r;
		e->since_ms = wall_ms();
		htab_put(&mb->ents, &e->n.h);
		LIST_INSERT_HEAD(&r->ents, e, in_room);
	}
	e->refs++;
	e->announced += announced != 0;
	r->count++;
	mb->conns++;
	return 0;
}

int members_del(struct members *mb, int slot, const char *room, size_t room_len,
		const char *id, size_t id_len, int announced)
{
	unsigned char rk[KEY_MAX], ek[KEY_MAX];
	size_t eklen = keys(rk, ek, slot, room, room_len, id, id_len);
	struct mroom *r;
	struct ment *e;

	if (eklen == 0 ||
	    (e = (struct ment *)node_find(&mb->ents, hash_bytes(&mb->key, ek, eklen), ek,
					  eklen)) == NULL)
		return -1;
	r = e->room;
	mb->conns--;
	if (announced && e->announced > 0)
		e->announced--;
	if (--e->refs == 0)
		ent_drop(mb, e);
	if (--r->count == 0)
		room_drop(mb, r);
	return 0;
}

size_t members_count(const struct members *mb)
{
	return mb->conns;
}

/* Forget room r, calling fn (when not NULL) once per announced connection
 * in it; the connections not announced. */
static size_t room_flush(struct members *mb, struct mroom *r, members_fn fn, void *arg)
{
	struct ment *e;
	size_t skipped = 0;

	while ((e = LIST_FIRST(&r->ents)) != NULL) {
		size_t rl = e->n.key[1];

		for (uint32_t i = 0; fn != NULL && i < e->announced; i++)
			fn(arg, (const char *)e->n.key + 2, rl, (const char *)e->n.key + 2 + rl,
			   e->n.klen - 2 - rl);
		skipped += e->refs - e->announced;
		mb->conns -= e->refs;
		ent_drop(mb, e);
	}
	room_drop(mb, r);
	return skipped;
}

size_t members_slot_gone(struct members *mb, int slot, members_fn fn, void *arg)
{
	struct mroom *r;
	size_t skipped = 0;

	if (slot < 0 || slot >= CHATD_SLOTS)
		return 0;
	while ((r = LIST_FIRST(&mb->slot[slot])) != NULL)
		skipped += room_flush(mb, r, fn, arg);
	return skipped;
}

/* The entry (slot, room, id), or NULL. */
static struct ment *ent_find(const struct members *mb, int slot, const char *room,
			     size_t room_len, const char *id, size_t id_len)
{
	unsigned char rk[KEY_MAX], ek[KEY_MAX];
	size_t eklen = keys(rk, ek, slot, room, room_len, id, id_len);

	if (eklen == 0)
		return NULL;
	return (struct ment *)node_find(&mb->ents, hash_bytes(&mb->key, ek, eklen), ek, eklen);
}

size_t members_present(const struct members *mb, const char *room, size_t room_len,
		       const char *id, size_t id_len)
{
	size_t n = 0;
	struct ment *e;

	for (int i = 0; i < CHATD_SLOTS; i++)
		if (!LIST_EMPTY(&mb->slot[i]) &&
		    (e = ent_find(mb, i, room, room_len, id, id_len)) != NULL)
			n += e->refs;
	return n;
}

/* Call fn once per client id in room node r. */
static void room_each(const struct mroom *r, members_each_fn fn, void *arg)
{
	const struct ment *e;

	LIST_FOREACH(e, &r->ents, in_room) {
		size_t rl = e->n.key[1];

		fn(arg, (const char *)e->n.key + 2, rl, (const char *)e->n.key + 2 + rl,
		   e->n.klen - 2 - rl, e->since_ms);
	}
}

/* Room nodes of room over every slot into out (CHATD_SLOTS); how many. */
static int room_nodes(const struct members *mb, const char *room, size_t room_len,
		      const struct mroom **out)
{
	unsigned char rk[KEY_MAX], ek[KEY_MAX];
	int n = 0;

	if (keys(rk, ek, 0, room, room_len, "", 0) == 0)
		return 0;
	for (int i = 0; i < CHATD_SLOTS; i++) {
		if (LIST_EMPTY(&mb->slot[i]))
			continue;
		rk[0] = (unsigned char)i;
		out[n] = (const struct mroom *)node_find(&mb->rooms,
							 hash_bytes(&mb->key, rk, 1 + room_len),
							 rk, 1 + room_len);
		n += out[n] != NULL;
	}
	return n;
}

void members_room_each(const struct members *mb, const char *room, size_t room_len,
		       members_each_fn fn, void *arg)
{
	const struct mroom *r[CHATD_SLOTS];
	int n = room_nodes(mb, room, room_len, r);

	for (int i = 0; i < n; i++)
		room_each(r[i], fn, arg);
}

size_t members_room_count(const struct members *mb, const char *room, size_t room_len)
{
	const struct mroom *r[CHATD_SLOTS];
	int n = room_nodes(mb, room, room_len, r);
	size_t count = 0;

	for (int i = 0; i < n; i++)
		count += r[i]->count;
	return count;
}

void members_slot_each(const struct members *mb, int slot, members_each_fn fn, void *arg)
{
	const struct mroom *r;

	if (slot < 0 || slot >= CHATD_SLOTS)
		return;
	LIST_FOREACH(r, &mb->slot[slot], by_slot)
		room_each(r, fn, arg);
}

void members_each(const struct members *mb, members_each_fn fn, void *arg)
{
	for (int i = 0; i < CHATD_SLOTS; i++)
		members_slot_each(mb, i, fn, arg);
}

void members_free(struct members *mb)
{
	if (mb == NULL)
		return;
	for (int i = 0; i < CHATD_SLOTS; i++)
		members_slot_gone(mb, i, NULL, NULL);
	htab_fini(&mb->rooms);
	htab_fini(&mb->ents);
	free(mb);
}
