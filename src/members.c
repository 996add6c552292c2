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
#include "members.h"

#define BUCKETS_MIN 64
#define KEY_MAX     (2 + CHATD_ROOM_MAX + CHATD_CLIENT_ID_MAX)

/* A hash table entry; its key follows the struct that embeds it, in the
 * same allocation. */
struct mnode {
	struct mnode *next;     /* hash chain */
	uint64_t hash;
	const unsigned char *key;
	size_t klen;
};

struct mtab {
	struct mnode **b;
	size_t mask, n;
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
	uint64_t since_ms;      /* wall clock of its first connection */
};

struct members {
	struct hash_key key;
	struct mtab rooms, ents;
	LIST_HEAD(, mroom) slot[CHATD_SLOTS];
	size_t conns;
};

/* ---- the table --------------------------------------------------------------- */

static int mtab_init(struct mtab *t)
{
	t->b = calloc(BUCKETS_MIN, sizeof(*t->b));
	t->mask = BUCKETS_MIN - 1;
	t->n = 0;
	return t->b == NULL ? -1 : 0;
}

static struct mnode *mtab_find(const struct mtab *t, uint64_t hash, const unsigned char *key,
			       size_t klen)
{
	struct mnode *e = t->b[hash & t->mask];

	while (e != NULL && (e->hash != hash || e->klen != klen || memcmp(e->key, key, klen)))
		e = e->next;
	return e;
}

/* Double the buckets; out of memory: the chains just grow longer. */
static void mtab_grow(struct mtab *t)
{
	size_t nmask = t->mask * 2 + 1;
	struct mnode **nb = calloc(nmask + 1, sizeof(*nb));

	if (nb == NULL)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		while (t->b[i] != NULL) {
			struct mnode *e = t->b[i];

			t->b[i] = e->next;
			e->next = nb[e->hash & nmask];
			nb[e->hash & nmask] = e;
		}
	free(t->b);
	t->b = nb;
	t->mask = nmask;
}

static void mtab_put(struct mtab *t, struct mnode *e)
{
	if (t->n > t->mask)
		mtab_grow(t);
	e->next = t->b[e->hash & t->mask];
	t->b[e->hash & t->mask] = e;
	t->n++;
}

static void mtab_del(struct mtab *t, struct mnode *e)
{
	struct mnode **pp = &t->b[e->hash & t->mask];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	t->n--;
}

/* A node of size bytes whose key (klen bytes) follows it; NULL on ENOMEM. */
static void *mnode_new(size_t size, uint64_t hash, const unsigned char *key, size_t klen)
{
	struct mnode *e = malloc(size + klen);

	if (e == NULL)
		return NULL;
	memset(e, 0, size);
	memcpy((unsigned char *)e + size, key, klen);
	e->hash = hash;
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
	if (mtab_init(&mb->rooms) < 0 || mtab_init(&mb->ents) < 0) {
		free(mb->rooms.b);
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
	mtab_del(&mb->rooms, &r->n);
	free(r);
}

static void ent_drop(struct members *mb, struct ment *e)
{
	LIST_REMOVE(e, in_room);
	mtab_del(&mb->ents, &e->n);
	free(e);
}

/* The room node of (slot, room), made when absent; NULL on ENOMEM. */
static struct mroom *room_get(struct members *mb, int slot, const unsigned char *rk,
			      size_t rklen)
{
	uint64_t h = hash_bytes(&mb->key, rk, rklen);
	struct mroom *r = (struct mroom *)mtab_find(&mb->rooms, h, rk, rklen);

	if (r != NULL)
		return r;
	if ((r = mnode_new(sizeof(*r), h, rk, rklen)) == NULL)
		return NULL;
	LIST_INIT(&r->ents);
	mtab_put(&mb->rooms, &r->n);
	LIST_INSERT_HEAD(&mb->slot[slot], r, by_slot);
	return r;
}

int members_add(struct members *mb, int slot, const char *room, size_t room_len,
		const char *id, size_t id_len)
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
	e = (struct ment *)mtab_find(&mb->ents, h, ek, eklen);
	if (e == NULL) {
		if ((e = mnode_new(sizeof(*e), h, ek, eklen)) == NULL) {
			if (r->count == 0)
				room_drop(mb, r);
			return -1;
		}
		e->room = r;
		e->since_ms = wall_ms();
		mtab_put(&mb->ents, &e->n);
		LIST_INSERT_HEAD(&r->ents, e, in_room);
	}
	e->refs++;
	r->count++;
	mb->conns++;
	return 0;
}

int members_del(struct members *mb, int slot, const char *room, size_t room_len,
		const char *id, size_t id_len)
{
	unsigned char rk[KEY_MAX], ek[KEY_MAX];
	size_t eklen = keys(rk, ek, slot, room, room_len, id, id_len);
	struct mroom *r;
	struct ment *e;

	if (eklen == 0 ||
	    (e = (struct ment *)mtab_find(&mb->ents, hash_bytes(&mb->key, ek, eklen), ek,
					  eklen)) == NULL)
		return -1;
	r = e->room;
	mb->conns--;
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

/* Forget room r, calling fn (when not NULL) once per connection in it. */
static void room_flush(struct members *mb, struct mroom *r, members_fn fn, void *arg)
{
	struct ment *e;

	while ((e = LIST_FIRST(&r->ents)) != NULL) {
		size_t rl = e->n.key[1];

		for (uint32_t i = 0; fn != NULL && i < e->refs; i++)
			fn(arg, (const char *)e->n.key + 2, rl, (const char *)e->n.key + 2 + rl,
			   e->n.klen - 2 - rl);
		mb->conns -= e->refs;
		ent_drop(mb, e);
	}
	room_drop(mb, r);
}

size_t members_slot_gone(struct members *mb, int slot, size_t max_per_room, members_fn fn,
			 void *arg)
{
	struct mroom *r;
	size_t skipped = 0;

	if (slot < 0 || slot >= CHATD_SLOTS)
		return 0;
	while ((r = LIST_FIRST(&mb->slot[slot])) != NULL) {
		if (r->count > max_per_room) {
			skipped += r->count;
			room_flush(mb, r, NULL, NULL);
		} else {
			room_flush(mb, r, fn, arg);
		}
	}
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
	return (struct ment *)mtab_find(&mb->ents, hash_bytes(&mb->key, ek, eklen), ek, eklen);
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

void members_room_each(const struct members *mb, const char *room, size_t room_len,
		       members_each_fn fn, void *arg)
{
	unsigned char rk[KEY_MAX], ek[KEY_MAX];
	const struct mroom *r;

	if (keys(rk, ek, 0, room, room_len, "", 0) == 0)
		return;
	for (int i = 0; i < CHATD_SLOTS; i++) {
		if (LIST_EMPTY(&mb->slot[i]))
			continue;
		rk[0] = (unsigned char)i;
		r = (const struct mroom *)mtab_find(&mb->rooms, hash_bytes(&mb->key, rk, 1 + room_len),
						    rk, 1 + room_len);
		if (r != NULL)
			room_each(r, fn, arg);
	}
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
		members_slot_gone(mb, i, 0, NULL, NULL);
	free(mb->rooms.b);
	free(mb->ents.b);
	free(mb);
}
