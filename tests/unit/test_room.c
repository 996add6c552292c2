/* SPDX-License-Identifier: MIT */
/*
 * test_room.c - room name validation and the room index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"
#include "room.h"
#include "cu.h"

#define V(s) room_name_valid((s), strlen(s))

static void test_name_valid_chars(void)
{
	const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";

	CU_ASSERT_EQUAL(V(ok), 1);
	CU_ASSERT_EQUAL(V("lobby"), 1);
	CU_ASSERT_EQUAL(V("a"), 1);
	CU_ASSERT_EQUAL(V("-"), 1);
	CU_ASSERT_EQUAL(V("team:42.dev_x-y"), 1);
	CU_ASSERT_EQUAL(V("stats2"), 1);
	CU_ASSERT_EQUAL(V("Stats"), 1);    /* only the exact word is reserved */
	CU_ASSERT_EQUAL(V("xstats"), 1);
}

/* Every byte outside [A-Za-z0-9._:-], alone and inside a valid name. */
static void test_name_invalid_bytes(void)
{
	const char *allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";
	int refused = 0;

	for (int c = 1; c < 256; c++) {
		char one[1] = { (char)c };
		char mid[5] = { 'a', 'b', (char)c, 'c', 'd' };
		int expect = strchr(allowed, c) != NULL;

		CU_ASSERT_EQUAL(room_name_valid(one, 1), expect);
		CU_ASSERT_EQUAL(room_name_valid(mid, 5), expect);
		refused += !expect;
	}
	CU_ASSERT_EQUAL(refused, 255 - 66);
	CU_ASSERT_EQUAL(V("a b"), 0);
	CU_ASSERT_EQUAL(V("a/b"), 0);
	CU_ASSERT_EQUAL(V("../x"), 0);
	CU_ASSERT_EQUAL(V("a%2Fb"), 0);
	CU_ASSERT_EQUAL(V("a?b"), 0);
	CU_ASSERT_EQUAL(V("a\tb"), 0);
}

static void test_name_bounds(void)
{
	char buf[CHATD_ROOM_MAX + 2];

	memset(buf, 'r', sizeof(buf));
	CU_ASSERT_EQUAL(room_name_valid(buf, 0), 0);
	CU_ASSERT_EQUAL(V(""), 0);
	CU_ASSERT_EQUAL(room_name_valid(NULL, 0), 0);
	CU_ASSERT_EQUAL(room_name_valid(buf, 1), 1);
	CU_ASSERT_EQUAL(room_name_valid(buf, CHATD_ROOM_MAX), 1);
	CU_ASSERT_EQUAL(room_name_valid(buf, CHATD_ROOM_MAX + 1), 0);
	CU_ASSERT_EQUAL(room_name_valid(buf, CHATD_ROOM_MAX + 2), 0);
}

static void test_name_reserved_nul_utf8(void)
{
	CU_ASSERT_EQUAL(V("stats"), 0);
	CU_ASSERT_EQUAL(room_name_valid("stats", 5), 0);
	CU_ASSERT_EQUAL(room_name_valid("statsx", 5), 0);  /* same 5 bytes */
	CU_ASSERT_EQUAL(room_name_valid("statsx", 6), 1);
	CU_ASSERT_EQUAL(room_name_valid("ab\0cd", 5), 0);   /* embedded NUL */
	CU_ASSERT_EQUAL(room_name_valid("ab\0", 3), 0);
	CU_ASSERT_EQUAL(room_name_valid("ab\0", 2), 1);
	CU_ASSERT_EQUAL(V("caf\xc3\xa9"), 0);                /* UTF-8 é */
	CU_ASSERT_EQUAL(V("\xe2\x82\xac"), 0);               /* UTF-8 € */
	CU_ASSERT_EQUAL(V("\xf0\x9f\x98\x80room"), 0);       /* emoji */
}

static void test_join_leave(void)
{
	struct room_index *ix = room_index_new();
	struct room_member a = { 0 }, b = { 0 };
	char last[CHATD_ROOM_MAX + 1];
	struct room *r, *r2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ix);
	CU_ASSERT_EQUAL(room_index_count(ix), 0);
	CU_ASSERT_PTR_NULL(room_find(ix, "lobby", 5));

	CU_ASSERT_EQUAL_FATAL(room_join(ix, "lobby", 5, &a), ROOM_CREATED);
	r = a.room;
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->name, "lobby");
	CU_ASSERT_EQUAL(r->len, 5);
	CU_ASSERT_EQUAL(r->count, 1);
	CU_ASSERT_PTR_EQUAL(a.room, r);
	CU_ASSERT_EQUAL(room_index_count(ix), 1);
	CU_ASSERT_PTR_EQUAL(room_find(ix, "lobby", 5), r);
	CU_ASSERT_PTR_NULL(room_find(ix, "lobb", 4));
	CU_ASSERT_PTR_NULL(room_find(ix, "lobbyx", 6));

	CU_ASSERT_EQUAL(room_join(ix, "lobby", 5, &b), ROOM_JOINED);
	r2 = b.room;
	CU_ASSERT_PTR_EQUAL(r2, r);
	CU_ASSERT_EQUAL(r->count, 2);
	CU_ASSERT_EQUAL(room_index_count(ix), 1);

	/* joining the same room again is a no-op */
	CU_ASSERT_EQUAL(room_join(ix, "lobby", 5, &b), ROOM_JOINED);
	CU_ASSERT_PTR_EQUAL(b.room, r);
	CU_ASSERT_EQUAL(r->count, 2);

	strcpy(last, "untouched");
	CU_ASSERT_EQUAL(room_leave(ix, &a, last), 0);
	CU_ASSERT_STRING_EQUAL(last, "untouched");
	CU_ASSERT_PTR_NULL(a.room);
	CU_ASSERT_EQUAL(r->count, 1);
	CU_ASSERT_PTR_EQUAL(r->head.next, &b);
	CU_ASSERT_PTR_EQUAL(r->head.prev, &b);

	CU_ASSERT_EQUAL(room_leave(ix, &a, last), 0);  /* not a member: no-op */
	CU_ASSERT_EQUAL(room_leave(ix, &b, last), 1);
	CU_ASSERT_STRING_EQUAL(last, "lobby");
	CU_ASSERT_PTR_NULL(b.room);
	CU_ASSERT_EQUAL(room_index_count(ix), 0);
	CU_ASSERT_PTR_NULL(room_find(ix, "lobby", 5));

	/* the room comes back as new */
	CU_ASSERT_EQUAL(room_join(ix, "lobby", 5, &a), ROOM_CREATED);
	CU_ASSERT_PTR_NOT_NULL(a.room);
	CU_ASSERT_EQUAL(room_leave(ix, &a, NULL), 1);
	room_index_free(ix);
}

static void test_join_refused(void)
{
	struct room_index *ix = room_index_new();
	struct room_member a = { 0 };
	char big[CHATD_ROOM_MAX + 1];
	struct room *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ix);
	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL(room_join(ix, big, sizeof(big), &a), ROOM_BAD_NAME);
	CU_ASSERT_EQUAL(room_join(ix, "", 0, &a), ROOM_BAD_NAME);
	CU_ASSERT_EQUAL(room_index_count(ix), 0);
	CU_ASSERT_PTR_NULL(a.room);

	CU_ASSERT_EQUAL(room_join(ix, big, CHATD_ROOM_MAX, &a), ROOM_CREATED);
	r = a.room;
	CU_ASSERT_EQUAL(room_join(ix, "other", 5, &a), ROOM_BUSY);
	CU_ASSERT_PTR_EQUAL(a.room, r);
	CU_ASSERT_PTR_NULL(room_find(ix, "other", 5));
	CU_ASSERT_EQUAL(room_index_count(ix), 1);

	char last[CHATD_ROOM_MAX + 1];
	CU_ASSERT_EQUAL(room_leave(ix, &a, last), 1);
	CU_ASSERT_EQUAL(strlen(last), CHATD_ROOM_MAX);
	CU_ASSERT_EQUAL(memcmp(last, big, CHATD_ROOM_MAX), 0);
	room_index_free(ix);
}

#define MANY 10000

/* 10,000 rooms force several doublings; each stays findable throughout. */
static void test_many_rooms(void)
{
	struct room_index *ix = room_index_new();
	struct room_member *m = calloc(2 * MANY, sizeof(*m));
	char name[32], last[CHATD_ROOM_MAX + 1];
	int bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ix);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (int i = 0; i < MANY; i++) {
		int n = snprintf(name, sizeof(name), "room-%d", i);
		bad += room_join(ix, name, (size_t)n, &m[i]) != ROOM_CREATED;
		bad += (m[i].room == NULL || room_find(ix, "room-0", 6) == NULL);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(room_index_count(ix), MANY);
	for (int i = 0; i < MANY; i++) {
		int n = snprintf(name, sizeof(name), "room-%d", i);
		struct room *r = room_find(ix, name, (size_t)n);

		bad += (r == NULL || r != m[i].room || strcmp(r->name, name) != 0);
		bad += room_join(ix, name, (size_t)n, &m[MANY + i]) != ROOM_JOINED;
		bad += m[MANY + i].room != r;
		bad += (r != NULL && r->count != 2);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(room_index_count(ix), MANY);
	CU_ASSERT_PTR_NULL(room_find(ix, "room-10000", 10));

	/* leave the even rooms completely, the odd ones by one member */
	for (int i = 0; i < MANY; i++) {
		bad += room_leave(ix, &m[i], last) != 0;
		if (i % 2 == 0) {
			snprintf(name, sizeof(name), "room-%d", i);
			bad += room_leave(ix, &m[MANY + i], last) != 1;
			bad += strcmp(last, name) != 0;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(room_index_count(ix), MANY / 2);
	for (int i = 0; i < MANY; i++) {
		int n = snprintf(name, sizeof(name), "room-%d", i);
		struct room *r = room_find(ix, name, (size_t)n);

		bad += (i % 2 == 0) ? r != NULL : (r == NULL || r->count != 1);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* free with members still in (odd rooms): no leak under ASan */
	room_index_free(ix);
	free(m);
}

/* A connection struct holds one member per list it is on. */
struct conn {
	int id;
	struct room_member in_room;
	struct room_member in_all;
};

#define CONN_OF(mp, field) \
	((struct conn *)((char *)(mp) - offsetof(struct conn, field)))

static void test_foreach_and_lists(void)
{
	struct room_index *ix = room_index_new();
	struct conn c[6];
	struct room_member all, *it;
	int seen[6] = { 0 }, n = 0, sum = 0;
	struct room *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ix);
	memset(c, 0, sizeof(c));
	room_list_init(&all);
	room_foreach(&all, it)
		n++;
	CU_ASSERT_EQUAL(n, 0);
	for (int i = 0; i < 6; i++) {
		c[i].id = i;
		room_list_add(&all, &c[i].in_all);
		room_join(ix, i % 2 ? "odd" : "even", i % 2 ? 3 : 4, &c[i].in_room);
		CU_ASSERT_PTR_NOT_NULL(c[i].in_room.room);
	}
	CU_ASSERT_EQUAL(room_index_count(ix), 2);

	/* insertion order on the plain list */
	n = 0;
	room_foreach(&all, it) {
		CU_ASSERT_EQUAL(CONN_OF(it, in_all)->id, n);
		n++;
	}
	CU_ASSERT_EQUAL(n, 6);

	r = room_find(ix, "odd", 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->count, 3);
	room_foreach(&r->head, it) {
		struct conn *cc = CONN_OF(it, in_room);

		CU_ASSERT_PTR_EQUAL(it->room, r);
		seen[cc->id]++;
		sum += cc->id;
	}
	CU_ASSERT_EQUAL(sum, 1 + 3 + 5);
	CU_ASSERT_EQUAL(seen[1] + seen[3] + seen[5], 3);
	CU_ASSERT_EQUAL(seen[0] + seen[2] + seen[4], 0);

	/* remove from the middle of the plain list; double delete harmless */
	room_list_del(&c[2].in_all);
	room_list_del(&c[2].in_all);
	n = 0;
	sum = 0;
	room_foreach(&all, it) {
		n++;
		sum += CONN_OF(it, in_all)->id;
	}
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(sum, 0 + 1 + 3 + 4 + 5);

	/* a room member from the middle leaves; the others stay linked */
	CU_ASSERT_EQUAL(room_leave(ix, &c[3].in_room, NULL), 0);
	n = 0;
	room_foreach(&r->head, it)
		n += CONN_OF(it, in_room)->id;
	CU_ASSERT_EQUAL(n, 1 + 5);
	CU_ASSERT_EQUAL(r->count, 2);

	for (int i = 0; i < 6; i++)
		room_leave(ix, &c[i].in_room, NULL);
	CU_ASSERT_EQUAL(room_index_count(ix), 0);
	room_index_free(ix);
	room_index_free(NULL);
}

/* Members in several rooms of two indexes at once do not disturb each other. */
static void test_member_several_rooms(void)
{
	struct room_index *ix = room_index_new();
	struct room_member m[3][3];
	const char *names[3] = { "a", "b", "c" };

	CU_ASSERT_PTR_NOT_NULL_FATAL(ix);
	memset(m, 0, sizeof(m));
	/* member slot j of connection i joins room j */
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			CU_ASSERT_EQUAL(room_join(ix, names[j], 1, &m[i][j]),
					i == 0 ? ROOM_CREATED : ROOM_JOINED);
	for (int j = 0; j < 3; j++)
		CU_ASSERT_EQUAL(room_find(ix, names[j], 1)->count, 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(room_leave(ix, &m[i][1], NULL), i == 2);
	CU_ASSERT_PTR_NULL(room_find(ix, "b", 1));
	CU_ASSERT_EQUAL(room_find(ix, "a", 1)->count, 3);
	CU_ASSERT_EQUAL(room_find(ix, "c", 1)->count, 3);
	CU_ASSERT_EQUAL(room_index_count(ix), 2);
	room_index_free(ix);
}

static CU_TestInfo tests[] = {
	{ "name: valid characters", test_name_valid_chars },
	{ "name: every invalid byte", test_name_invalid_bytes },
	{ "name: length bounds", test_name_bounds },
	{ "name: reserved, NUL, UTF-8", test_name_reserved_nul_utf8 },
	{ "index: join and leave", test_join_leave },
	{ "index: refused joins", test_join_refused },
	{ "index: 10,000 rooms", test_many_rooms },
	{ "index: foreach and plain lists", test_foreach_and_lists },
	{ "index: member of several rooms", test_member_several_rooms },
	CU_TEST_INFO_NULL,
};

CU_MAIN("room", tests)
