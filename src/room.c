/* SPDX-License-Identifier: MIT */
/*
 * room.c - room names and the worker's room index.
 *
 * The index is a chained hash table of struct room (chained by hnext) over a
 * power-of-two bucket array that doubles when the load passes 1.  Names come
 * from clients, so the hash is keyed (hash.h's SipHash-1-3 with a per-index
 * random key): nobody can aim many names at one bucket.  Members are intrusive,
 * circular doubly-linked through the room's `head` sentinel, so join and
 * leave are O(1) and allocate nothing but the room itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"
#include "hash.h"
#include "room.h"

#define ROOM_BUCKETS_MIN 64

/* One per worker, made by room_index_new(). */
struct room_index {
	struct room **buckets;
	size_t mask;          /* buckets - 1 */
	size_t count;         /* rooms */
	struct hash_key key;  /* random, per index */
};

/* 1 for the bytes a room name may hold: [A-Za-z0-9._:-]. */
static int room_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	       c == '-';
}

int room_name_valid(const char *name, size_t len)
{
	if (name == NULL || len == 0 || len > CHATD_ROOM_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (!room_char_ok((unsigned char)name[i]))
			return 0;
	}
	if (len == 5 && memcmp(name, "stats", 5) == 0)
		return 0;
	return 1;
}

/* ---- index ----------------------------------------------------------------- */

struct room_index *room_index_new(void)
{
	struct room_index *ix = calloc(1, sizeof(*ix));

	if (ix == NULL)
		return NULL;
	ix->buckets = calloc(ROOM_BUCKETS_MIN, sizeof(*ix->buckets));
	if (ix->buckets == NULL) {
		free(ix);
		return NULL;
	}
	ix->mask = ROOM_BUCKETS_MIN - 1;
	hash_key_random(&ix->key, ix);
	return ix;
}

void room_index_free(struct room_index *ix)
{
	if (ix == NULL)
		return;
	for (size_t b = 0; b <= ix->mask; b++) {
		struct room *r = ix->buckets[b], *next;

		for (; r != NULL; r = next) {
			next = r->hnext;
			free(r);
		}
	}
	free(ix->buckets);
	free(ix);
}

size_t room_index_count(const struct room_index *ix)
{
	return ix->count;
}

/* Double the bucket array.  On ENOMEM the index stays as it is (only
 * slower), so growth failing is not an error for the caller. */
static void room_grow(struct room_index *ix)
{
	size_t n = (ix->mask + 1) * 2;
	struct room **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return;
	for (size_t b = 0; b <= ix->mask; b++) {
		struct room *r = ix->buckets[b], *next;

		for (; r != NULL; r = next) {
			size_t h = (size_t)hash_bytes(&ix->key, r->name, r->len) & (n - 1);

			next = r->hnext;
			r->hnext = nb[h];
			nb[h] = r;
		}
	}
	free(ix->buckets);
	ix->buckets = nb;
	ix->mask = n - 1;
}

/* The bucket of name, and the room if present (NULL otherwise). */
static struct room *room_lookup(const struct room_index *ix, const char *name,
				size_t len, struct room ***bucket)
{
	struct room **slot = &ix->buckets[hash_bytes(&ix->key, name, len) & ix->mask];

	*bucket = slot;
	for (struct room *r = *slot; r != NULL; r = r->hnext) {
		if (r->len == len && memcmp(r->name, name, len) == 0)
			return r;
	}
	return NULL;
}

struct room *room_find(const struct room_index *ix, const char *name, size_t len)
{
	struct room **bucket;

	if (len == 0 || len > CHATD_ROOM_MAX)
		return NULL;
	return room_lookup(ix, name, len, &bucket);
}

/* A new empty room named name[0..len), linked into bucket. */
static struct room *room_create(struct room_index *ix, const char *name, size_t len,
				struct room **bucket)
{
	struct room *r = malloc(sizeof(*r) + len + 1);

	if (r == NULL)
		return NULL;
	r->count = 0;
	r->len = len;
	memcpy(r->name, name, len);
	r->name[len] = '\0';
	room_list_init(&r->head);
	r->hnext = *bucket;
	*bucket = r;
	ix->count++;
	return r;
}

enum room_join_rc room_join(struct room_index *ix, const char *name, size_t len,
			    struct room_member *m)
{
	enum room_join_rc rc = ROOM_JOINED;
	struct room **bucket;
	struct room *r;

	if (len == 0 || len > CHATD_ROOM_MAX)
		return ROOM_BAD_NAME;
	r = room_lookup(ix, name, len, &bucket);
	if (m->room != NULL)
		return m->room == r ? ROOM_JOINED : ROOM_BUSY;
	if (r == NULL) {
		r = room_create(ix, name, len, bucket);
		if (r == NULL)
			return ROOM_NOMEM;
		rc = ROOM_CREATED;
	}
	room_list_add(&r->head, m);
	m->room = r;
	r->count++;
	if (rc == ROOM_CREATED && ix->count > ix->mask + 1)
		room_grow(ix);
	return rc;
}

/* Unlink r from its hash chain and free it. */
static void room_destroy(struct room_index *ix, struct room *r)
{
	struct room **bucket;
	struct room **pp;

	room_lookup(ix, r->name, r->len, &bucket);
	for (pp = bucket; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == r) {
			*pp = r->hnext;
			break;
		}
	}
	ix->count--;
	free(r);
}

/* A member that is in no room: returns 0 and does nothing. */
int room_leave(struct room_index *ix, struct room_member *m, char *last_name)
{
	struct room *r = m->room;

	if (r == NULL)
		return 0;
	room_list_del(m);
	m->room = NULL;
	if (--r->count > 0)
		return 0;
	if (last_name != NULL)
		memcpy(last_name, r->name, r->len + 1);
	room_destroy(ix, r);
	return 1;
}

/* ---- plain lists ------------------------------------------------------------ */

void room_list_init(struct room_member *head)
{
	head->prev = head;
	head->next = head;
	head->room = NULL;
}

/* Append m at the tail of head's list. */
void room_list_add(struct room_member *head, struct room_member *m)
{
	m->prev = head->prev;
	m->next = head;
	head->prev->next = m;
	head->prev = m;
}

/* Unlink m from whatever list holds it; m's links become self-loops, so a
 * second room_list_del() (or one on a zeroed member) is harmless.  m->room is
 * left to the caller. */
void room_list_del(struct room_member *m)
{
	if (m->prev == NULL)
		return;
	m->prev->next = m->next;
	m->next->prev = m->prev;
	m->prev = m;
	m->next = m;
}
