/* SPDX-License-Identifier: MIT */
/*
 * test_htab.c - the intrusive hash table: put, find and del, growth over
 * several doublings with every node still found, nodes of one hash told
 * apart by their keys, del of a chain's only, first, middle and last node,
 * htab_each() deleting as it goes, and byte keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "htab.h"

struct item {
	int key;
	struct htab_node n;             /* not first: HTAB_ENTRY must step back */
};

static int item_eq(const struct htab_node *n, const void *key)
{
	return HTAB_ENTRY(n, const struct item, n)->key == *(const int *)key;
}

static struct item *find(const struct htab *t, uint64_t hash, int key)
{
	struct htab_node *n = htab_find(t, hash, item_eq, &key);

	return n == NULL ? NULL : HTAB_ENTRY(n, struct item, n);
}

static void put(struct htab *t, struct item *it, int key, uint64_t hash)
{
	it->key = key;
	it->n.hash = hash;
	htab_put(t, &it->n);
}

static void test_put_find_del(void)
{
	struct htab t;
	struct item a, b;

	CU_ASSERT_EQUAL_FATAL(htab_init(&t), 0);
	CU_ASSERT_PTR_NULL(find(&t, 7, 1));
	put(&t, &a, 1, 7);
	put(&t, &b, 2, 8);
	CU_ASSERT_EQUAL(htab_count(&t), 2);
	CU_ASSERT_PTR_EQUAL(find(&t, 7, 1), &a);
	CU_ASSERT_PTR_EQUAL(find(&t, 8, 2), &b);
	CU_ASSERT_PTR_NULL(find(&t, 8, 1));     /* the key under another hash */
	CU_ASSERT_PTR_NULL(find(&t, 7, 3));
	htab_del(&t, &a.n);
	CU_ASSERT_PTR_NULL(find(&t, 7, 1));
	CU_ASSERT_PTR_EQUAL(find(&t, 8, 2), &b);
	CU_ASSERT_EQUAL(htab_count(&t), 1);
	htab_fini(&t);
	htab_fini(&t);                          /* harmless twice */
}

/* 64 buckets at first: 5000 nodes take seven doublings. */
#define MANY 5000

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ULL;
	return x ^ (x >> 29);
}

static void test_growth(void)
{
	struct htab t;
	struct item *it = calloc(MANY, sizeof(*it));

	CU_ASSERT_PTR_NOT_NULL_FATAL(it);
	CU_ASSERT_EQUAL_FATAL(htab_init(&t), 0);
	for (int i = 0; i < MANY; i++) {
		put(&t, &it[i], i, mix((uint64_t)i));
		if ((i & (i + 1)) == 0)         /* at each power of two minus one */
			for (int j = 0; j <= i; j++)
				CU_ASSERT_PTR_EQUAL(find(&t, mix((uint64_t)j), j), &it[j]);
	}
	CU_ASSERT_EQUAL(htab_count(&t), MANY);
	CU_ASSERT(t.mask + 1 >= MANY);          /* it did grow */
	for (int i = 0; i < MANY; i++)
		CU_ASSERT_PTR_EQUAL(find(&t, mix((uint64_t)i), i), &it[i]);
	for (int i = 0; i < MANY; i += 2)
		htab_del(&t, &it[i].n);
	CU_ASSERT_EQUAL(htab_count(&t), MANY / 2);
	for (int i = 0; i < MANY; i++)
		CU_ASSERT_PTR_EQUAL(find(&t, mix((uint64_t)i), i), i % 2 ? &it[i] : NULL);
	htab_fini(&t);
	free(it);
}

/* Same hash, different keys: one chain, each node found by its key, and
 * growth keeps them together. */
static void test_equal_hashes(void)
{
	struct htab t;
	struct item it[200];

	CU_ASSERT_EQUAL_FATAL(htab_init(&t), 0);
	for (int i = 0; i < 200; i++)
		put(&t, &it[i], i, 42);
	for (int i = 0; i < 200; i++)
		CU_ASSERT_PTR_EQUAL(find(&t, 42, i), &it[i]);
	CU_ASSERT_PTR_NULL(find(&t, 42, 200));
	CU_ASSERT_PTR_NULL(find(&t, 42 + t.mask + 1, 5));   /* same bucket, other hash */
	htab_fini(&t);
}

/* A chain of 1..4 nodes of one hash; del one, the others stay. */
static void del_at(int len, int which)
{
	struct htab t;
	struct item it[4];

	CU_ASSERT_EQUAL_FATAL(htab_init(&t), 0);
	for (int i = 0; i < len; i++)
		put(&t, &it[i], i, 9);
	htab_del(&t, &it[which].n);
	CU_ASSERT_EQUAL(htab_count(&t), (size_t)len - 1);
	for (int i = 0; i < len; i++)
		CU_ASSERT_PTR_EQUAL(find(&t, 9, i), i == which ? NULL : &it[i]);
	put(&t, &it[which], which, 9);          /* and back in */
	CU_ASSERT_PTR_EQUAL(find(&t, 9, which), &it[which]);
	htab_fini(&t);
}

static void test_del_positions(void)
{
	del_at(1, 0);                           /* the only node */
	del_at(4, 3);                           /* first in the chain (put last) */
	del_at(4, 2);                           /* middle */
	del_at(4, 1);                           /* middle */
	del_at(4, 0);                           /* last in the chain (put first) */
}

static void drop_odd(void *arg, struct htab_node *n)
{
	if (HTAB_ENTRY(n, struct item, n)->key % 2)
		htab_del(arg, n);
}

static void count_one(void *arg, struct htab_node *n)
{
	(void)n;
	++*(int *)arg;
}

static void test_each(void)
{
	struct htab t;
	struct item it[300];
	int seen = 0;

	CU_ASSERT_EQUAL_FATAL(htab_init(&t), 0);
	for (int i = 0; i < 300; i++)
		put(&t, &it[i], i, mix((uint64_t)i % 50));      /* chains of 6 */
	htab_each(&t, drop_odd, &t);
	CU_ASSERT_EQUAL(htab_count(&t), 150);
	for (int i = 0; i < 300; i++)
		CU_ASSERT_PTR_EQUAL(find(&t, mix((uint64_t)i % 50), i), i % 2 ? NULL : &it[i]);
	htab_each(&t, count_one, &seen);
	CU_ASSERT_EQUAL(seen, 150);
	htab_fini(&t);
	htab_each(&t, count_one, &seen);        /* after fini: nothing */
	CU_ASSERT_EQUAL(seen, 150);
}

static void test_bytes_eq(void)
{
	struct htab_bytes k = { "lobby", 5 };

	CU_ASSERT(htab_bytes_eq(&k, "lobby", 5));
	CU_ASSERT(!htab_bytes_eq(&k, "lobbyx", 6));
	CU_ASSERT(!htab_bytes_eq(&k, "lob", 3));
	CU_ASSERT(!htab_bytes_eq(&k, "lobbz", 5));
}

static CU_TestInfo tests[] = {
	{ "put, find, del", test_put_find_del },
	{ "growth over several doublings", test_growth },
	{ "equal hashes, different keys", test_equal_hashes },
	{ "del of the only, first, middle, last node", test_del_positions },
	{ "each may del the node it is given", test_each },
	{ "byte keys", test_bytes_eq },
	CU_TEST_INFO_NULL,
};

CU_MAIN("htab", tests)
