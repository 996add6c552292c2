/* SPDX-License-Identifier: MIT */
/*
 * roster.c - the master's room members of this pod, and the JSON page of an
 * answer.  See roster.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "hash.h"
#include "roster.h"

/* One per (slot, room, id); in the hash and in its room's list. */
struct rent {
	struct rent        *hnext;
	LIST_ENTRY(rent)    in_room;
	struct rroom       *room;
	int                 slot;
	uint32_t            conns;
	uint64_t            since_ms;
	size_t              id_len;
	char                id[];
};

/* One per room with an entry. */
struct rroom {
	struct rroom     *hnext;
	LIST_HEAD(, rent) members;
	size_t            n;
	size_t            len;
	char              name[];
};

struct roster {
	struct hash_key key;
	struct rent   **ents;          /* by (slot, room, id) */
	struct rroom  **rooms;         /* by room */
	size_t          nbuckets, nents, nrooms;
};

struct roster *roster_new(void)
{
	struct roster *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return NULL;
	hash_key_random(&rs->key, rs);
	rs->nbuckets = 1024;
	rs->ents = calloc(rs->nbuckets, sizeof(*rs->ents));
	rs->rooms = calloc(rs->nbuckets, sizeof(*rs->rooms));
	if (rs->ents == NULL || rs->rooms == NULL) {
		roster_free(rs);
		return NULL;
	}
	return rs;
}

void roster_free(struct roster *rs)
{
	if (rs == NULL)
		return;
	for (size_t b = 0; rs->ents != NULL && b < rs->nbuckets; b++)
		for (struct rent *e = rs->ents[b], *next; e != NULL; e = next) {
			next = e->hnext;
			free(e);
		}
	for (size_t b = 0; rs->rooms != NULL && b < rs->nbuckets; b++)
		for (struct rroom *r = rs->rooms[b], *next; r != NULL; r = next) {
			next = r->hnext;
			free(r);
		}
	free(rs->ents);
	free(rs->rooms);
	free(rs);
}

static size_t ent_hash(const struct roster *rs, int slot, const char *room, size_t rl,
		       const char *id, size_t il)
{
	return (hash_bytes(&rs->key, room, rl) ^ (hash_bytes(&rs->key, id, il) * 31u) ^
		(uint64_t)slot) & (rs->nbuckets - 1);
}

static struct rroom **room_slot(struct roster *rs, const char *room, size_t rl)
{
	struct rroom **pp = &rs->rooms[hash_bytes(&rs->key, room, rl) & (rs->nbuckets - 1)];

	while (*pp != NULL && ((*pp)->len != rl || memcmp((*pp)->name, room, rl) != 0))
		pp = &(*pp)->hnext;
	return pp;
}

static struct rent **ent_slot(struct roster *rs, int slot, const char *room, size_t rl,
			      const char *id, size_t il)
{
	struct rent **pp = &rs->ents[ent_hash(rs, slot, room, rl, id, il)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		const struct rent *e = *pp;

		if (e->slot == slot && e->id_len == il && memcmp(e->id, id, il) == 0 &&
		    e->room->len == rl && memcmp(e->room->name, room, rl) == 0)
			break;
	}
	return pp;
}

static struct rroom *room_get(struct roster *rs, const char *room, size_t rl)
{
	struct rroom **pp = room_slot(rs, room, rl);

	if (*pp == NULL) {
		if ((*pp = calloc(1, sizeof(**pp) + rl + 1)) == NULL)
			return NULL;
		memcpy((*pp)->name, room, rl);
		(*pp)->len = rl;
		LIST_INIT(&(*pp)->members);
		rs->nrooms++;
	}
	return *pp;
}

int roster_add(struct roster *rs, int slot, const char *room, size_t room_len,
	       const char *id, size_t id_len, uint64_t now_ms)
{
	struct rent **pp = ent_slot(rs, slot, room, room_len, id, id_len), *e;
	struct rroom *r;

	if (*pp != NULL) {
		(*pp)->conns++;
		return 0;
	}
	if (rs->nents >= ROSTER_MAX || (r = room_get(rs, room, room_len)) == NULL ||
	    (e = calloc(1, sizeof(*e) + id_len + 1)) == NULL)
		return -1;
	e->room = r;
	e->slot = slot;
	e->conns = 1;
	e->since_ms = now_ms;
	e->id_len = id_len;
	memcpy(e->id, id, id_len);
	*pp = e;
	LIST_INSERT_HEAD(&r->members, e, in_room);
	r->n++;
	rs->nents++;
	return 0;
}

/* Unlink *pp (its room goes with its last entry). */
static void ent_remove(struct roster *rs, struct rent **pp)
{
	struct rent *e = *pp;
	struct rroom *r = e->room;

	*pp = e->hnext;
	LIST_REMOVE(e, in_room);
	free(e);
	rs->nents--;
	if (--r->n == 0) {
		struct rroom **rp = room_slot(rs, r->name, r->len);

		*rp = r->hnext;
		free(r);
		rs->nrooms--;
	}
}

int roster_del(struct roster *rs, int slot, const char *room, size_t room_len,
	       const char *id, size_t id_len)
{
	struct rent **pp = ent_slot(rs, slot, room, room_len, id, id_len);

	if (*pp == NULL)
		return -1;
	if (--(*pp)->conns > 0)
		return 0;
	ent_remove(rs, pp);
	return 1;
}

void roster_slot_gone(struct roster *rs, int slot, roster_fn fn, void *arg)
{
	for (size_t b = 0; b < rs->nbuckets; b++) {
		struct rent **pp = &rs->ents[b];

		while (*pp != NULL) {
			struct rent *e = *pp;

			if (e->slot != slot) {
				pp = &e->hnext;
				continue;
			}
			if (fn != NULL)
				fn(arg, slot, e->room->name, e->room->len, e->id, e->id_len,
				   e->since_ms);
			ent_remove(rs, pp);
		}
	}
}

void roster_each(const struct roster *rs, roster_fn fn, void *arg)
{
	for (size_t b = 0; b < rs->nbuckets; b++)
		for (const struct rent *e = rs->ents[b]; e != NULL; e = e->hnext)
			fn(arg, e->slot, e->room->name, e->room->len, e->id, e->id_len, e->since_ms);
}

struct roster_entry *roster_list(const struct roster *rs, const char *room, size_t room_len,
				 size_t *n)
{
	struct rroom *r = *room_slot((struct roster *)rs, room, room_len);
	struct roster_entry *out;
	const struct rent *e;
	size_t i = 0;

	*n = 0;
	if (r == NULL || (out = calloc(r->n, sizeof(*out))) == NULL)
		return NULL;
	LIST_FOREACH(e, &r->members, in_room)
		out[i++] = (struct roster_entry){ e->id, e->id_len, e->since_ms };
	*n = i;
	return out;
}

/* ---- the page ------------------------------------------------------------------- */

static int by_id_since(const void *a, const void *b)
{
	const struct roster_entry *x = a, *y = b;
	size_t l = x->id_len < y->id_len ? x->id_len : y->id_len;
	int c = memcmp(x->id, y->id, l);

	if (c == 0 && x->id_len != y->id_len)
		c = x->id_len < y->id_len ? -1 : 1;
	if (c == 0)
		c = (x->since_ms > y->since_ms) - (x->since_ms < y->since_ms);
	return c;
}

static int by_since_id(const void *a, const void *b)
{
	const struct roster_entry *x = a, *y = b;
	int c = (x->since_ms > y->since_ms) - (x->since_ms < y->since_ms);

	return c != 0 ? c : by_id_since(a, b);
}

/* One entry per id (its earliest join), oldest first; the new count. */
static size_t unique(struct roster_entry *e, size_t n)
{
	size_t k = 0;

	qsort(e, n, sizeof(*e), by_id_since);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || e[k - 1].id_len != e[i].id_len ||
		    memcmp(e[k - 1].id, e[i].id, e[i].id_len) != 0)
			e[k++] = e[i];
	qsort(e, k, sizeof(*e), by_since_id);
	return k;
}

/* s[0..n) as a JSON string's contents (ids and rooms are printable ASCII;
 * anything else is escaped as \u00XX). */
static char *put_str(char *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			*p++ = '\\';
			*p++ = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			p += sprintf(p, "\\u%04x", ch);
		} else {
			*p++ = (char)ch;
		}
	}
	return p;
}

static char *put_time(char *p, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	p += strftime(p, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	return p + sprintf(p, ".%03uZ", (unsigned)(ms % 1000));
}

char *roster_page(struct roster_entry *e, size_t n, const char *room, size_t room_len,
		  size_t offset, size_t limit, int with_sub, size_t *len)
{
	size_t count = n > 0 ? unique(e, n) : 0, end, cap = 128 + 6 * room_len, i;
	char *buf, *p;

	if (limit > ROSTER_PAGE_MAX)
		limit = ROSTER_PAGE_MAX;
	if (offset > count)
		offset = count;
	end = count - offset > limit ? offset + limit : count;
	for (i = offset; i < end; i++)
		cap += 80 + 12 * e[i].id_len;
	if ((buf = malloc(cap)) == NULL)
		return NULL;
	p = buf + sprintf(buf, "{\"room\":\"");
	p = put_str(p, room, room_len);
	p += sprintf(p, "\",\"count\":%zu,\"offset\":%zu,\"members\":[", count, offset);
	for (i = offset; i < end; i++) {
		p += sprintf(p, "%s{\"client_id\":\"", i > offset ? "," : "");
		p = put_str(p, e[i].id, e[i].id_len);
		if (with_sub) {
			p += sprintf(p, "\",\"sub\":\"");
			p = put_str(p, e[i].id, e[i].id_len);
		}
		p += sprintf(p, "\",\"since\":\"");
		p = put_time(p, e[i].since_ms);
		p += sprintf(p, "\"}");
	}
	p += sprintf(p, "]");
	if (end < count)
		p += sprintf(p, ",\"next\":%zu", end);
	p += sprintf(p, "}");
	*len = (size_t)(p - buf);
	return buf;
}
