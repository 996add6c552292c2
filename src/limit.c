/* SPDX-License-Identifier: MIT */
/*
 * limit.c - the token bucket of a connection's message rate and the counts
 * of open connections per client address (see limit.h).  A leaf: nothing
 * logs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "limit.h"

/* ---- message rate ------------------------------------------------------------------- */

int limit_rate_take(struct limit_rate *b, uint64_t now_ms, int rate, int burst)
{
	uint64_t cap = (uint64_t)burst * 1000, tokens;

	if (b->last_ms == 0) {
		b->milli = (uint32_t)cap;
	} else if (now_ms > b->last_ms) {
		/* rate tokens a second = rate milli-tokens a millisecond */
		tokens = b->milli + (now_ms - b->last_ms) * (uint64_t)rate;
		b->milli = (uint32_t)(tokens > cap ? cap : tokens);
	}
	b->last_ms = now_ms;   /* a clock that went back: no refill, and resync */
	if (b->milli >= 1000) {
		b->milli -= 1000;
		b->strikes = 0;
		return 1;
	}
	b->strikes++;
	return 0;
}

/* ---- connections per address ---------------------------------------------------------- */

#define LIMIT_IP_BUCKETS 1024   /* a power of two: the hash is masked */

struct limit_ip_entry {
	struct limit_ip_entry *next;
	struct limit_ip *owner;
	unsigned bucket;
	int count;
	uint8_t addr[16];
};

struct limit_ip_hold {
	struct limit_ip_entry *e;
	int seen;
};

struct limit_ip {
	struct limit_ip_entry *b[LIMIT_IP_BUCKETS];
	struct hash_key key;   /* random, per table: clients choose their addresses */
};

struct limit_ip *limit_ip_new(void)
{
	struct limit_ip *l = calloc(1, sizeof(*l));

	if (l != NULL)
		hash_key_random(&l->key, l);
	return l;
}

void limit_ip_free(struct limit_ip *l)
{
	free(l);
}

/* IPv4 as an IPv4-mapped IPv6 address, so both forms count together. */
static int limit_ip_key(const void *addr, size_t len, uint8_t key[16])
{
	if (len == 16) {
		memcpy(key, addr, 16);
		return 0;
	}
	if (len != 4)
		return -1;
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, addr, 4);
	return 0;
}

static unsigned limit_ip_hash(const struct limit_ip *l, const uint8_t key[16])
{
	return (unsigned)(hash_bytes(&l->key, key, 16) & (LIMIT_IP_BUCKETS - 1));
}

static struct limit_ip_entry *limit_ip_find(const struct limit_ip *l, const uint8_t key[16],
					    unsigned h)
{
	struct limit_ip_entry *e;

	for (e = l->b[h]; e != NULL; e = e->next)
		if (memcmp(e->addr, key, 16) == 0)
			return e;
	return NULL;
}

int limit_ip_count(const struct limit_ip *l, const void *addr, size_t len)
{
	uint8_t key[16];
	struct limit_ip_entry *e;

	if (limit_ip_key(addr, len, key) < 0)
		return 0;
	e = limit_ip_find(l, key, limit_ip_hash(l, key));
	return e ? e->count : 0;
}

struct limit_ip_hold *limit_ip_acquire(struct limit_ip *l, const void *addr, size_t len,
				       int max, int *full)
{
	uint8_t key[16] = { 0 };
	unsigned h;
	struct limit_ip_entry *e;
	struct limit_ip_hold *hold;

	*full = 0;
	limit_ip_key(addr, len, key);   /* another length: all counted as one "address" */
	h = limit_ip_hash(l, key);
	e = limit_ip_find(l, key, h);
	if (e != NULL && max > 0 && e->count >= max) {
		*full = 1;
		return NULL;
	}
	if ((hold = calloc(1, sizeof(*hold))) == NULL)
		return NULL;
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			free(hold);
			return NULL;
		}
		memcpy(e->addr, key, 16);
		e->owner = l;
		e->bucket = h;
		e->next = l->b[h];
		l->b[h] = e;
	}
	e->count++;
	hold->e = e;
	return hold;
}

void limit_ip_release(struct limit_ip_hold *hold)
{
	struct limit_ip_entry *e, **pp;

	if (hold == NULL)
		return;
	e = hold->e;
	free(hold);
	if (--e->count > 0)
		return;
	for (pp = &e->owner->b[e->bucket]; *pp != e; pp = &(*pp)->next)
		;
	*pp = e->next;
	free(e);
}

void limit_ip_hold_seen(struct limit_ip_hold *h)
{
	if (h != NULL)
		h->seen = 1;
}

int limit_ip_hold_was_seen(const struct limit_ip_hold *h)
{
	return h != NULL && h->seen;
}
