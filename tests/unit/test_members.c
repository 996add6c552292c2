/* SPDX-License-Identifier: MIT */
/*
 * test_members.c - the master's table of each worker's room members: adds
 * and leaves per connection, a dead worker's members reported once each,
 * the presence_max_members rule per room, other workers untouched.
 */
#include <stdio.h>
#include <string.h>

#include "chatd.h"
#include "cu.h"
#include "members.h"

#define ADD(mb, s, room, id) members_add(mb, s, room, strlen(room), id, strlen(id))
#define DEL(mb, s, room, id) members_del(mb, s, room, strlen(room), id, strlen(id))

/* What members_slot_gone() reported, as "room/id" lines. */
static char seen[4096];
static int nseen;

static void record(void *arg, const char *room, size_t rl, const char *id, size_t il)
{
	size_t n = strlen(seen);

	(void)arg;
	snprintf(seen + n, sizeof(seen) - n, "%.*s/%.*s\n", (int)rl, room, (int)il, id);
	nseen++;
}

static void reset(void)
{
	seen[0] = '\0';
	nseen = 0;
}

static void test_add_del(void)
{
	struct members *mb = members_new();

	CU_ASSERT_PTR_NOT_NULL_FATAL(mb);
	CU_ASSERT_EQUAL(ADD(mb, 0, "lobby", "alice"), 0);
	CU_ASSERT_EQUAL(ADD(mb, 0, "lobby", "alice"), 0);    /* a second connection */
	CU_ASSERT_EQUAL(ADD(mb, 1, "lobby", "alice"), 0);    /* another worker */
	CU_ASSERT_EQUAL(members_count(mb), 3);
	CU_ASSERT_EQUAL(DEL(mb, 0, "lobby", "alice"), 0);
	CU_ASSERT_EQUAL(DEL(mb, 0, "lobby", "alice"), 0);
	CU_ASSERT_EQUAL(DEL(mb, 0, "lobby", "alice"), -1);   /* no more there */
	CU_ASSERT_EQUAL(DEL(mb, 0, "other", "bob"), -1);
	CU_ASSERT_EQUAL(members_count(mb), 1);
	/* out of range: refused, nothing changes */
	CU_ASSERT_EQUAL(ADD(mb, CHATD_SLOTS, "lobby", "x"), -1);
	CU_ASSERT_EQUAL(ADD(mb, -1, "lobby", "x"), -1);
	CU_ASSERT_EQUAL(ADD(mb, 0, "", "x"), -1);
	CU_ASSERT_EQUAL(members_count(mb), 1);
	members_free(mb);
	members_free(NULL);
}

static void test_slot_gone(void)
{
	struct members *mb = members_new();
	char id[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mb);
	reset();
	ADD(mb, 3, "a", "u1");
	ADD(mb, 3, "a", "u2");
	ADD(mb, 3, "a", "u2");
	ADD(mb, 3, "b", "u1");
	ADD(mb, 4, "a", "u9");
	for (int i = 0; i < 5; i++) {               /* "big": above max_per_room 3 */
		snprintf(id, sizeof(id), "v%d", i);
		ADD(mb, 3, "big", id);
	}
	DEL(mb, 3, "b", "u1");
	CU_ASSERT_EQUAL(members_slot_gone(mb, 3, 3, record, NULL), 5);
	CU_ASSERT_EQUAL(nseen, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(seen, "a/u1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(seen, "a/u2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(strstr(seen, "a/u2\n") + 1, "a/u2\n"));  /* twice */
	CU_ASSERT_PTR_NULL(strstr(seen, "b/"));
	CU_ASSERT_PTR_NULL(strstr(seen, "big/"));
	CU_ASSERT_EQUAL(members_count(mb), 1);          /* slot 4 untouched */
	reset();
	CU_ASSERT_EQUAL(members_slot_gone(mb, 3, 3, record, NULL), 0);   /* once only */
	CU_ASSERT_EQUAL(nseen, 0);
	CU_ASSERT_EQUAL(members_slot_gone(mb, 4, 3, record, NULL), 0);
	CU_ASSERT_STRING_EQUAL(seen, "a/u9\n");
	CU_ASSERT_EQUAL(members_count(mb), 0);
	members_free(mb);
}

/* Many rooms and ids: the tables grow, and everything comes back out. */
static void test_many(void)
{
	struct members *mb = members_new();
	char room[16], id[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mb);
	reset();
	for (int i = 0; i < 5000; i++) {
		snprintf(room, sizeof(room), "r%d", i % 97);
		snprintf(id, sizeof(id), "c%d", i);
		CU_ASSERT_EQUAL(ADD(mb, i % 2, room, id), 0);
	}
	CU_ASSERT_EQUAL(members_count(mb), 5000);
	for (int i = 0; i < 5000; i += 2) {             /* slot 0 leaves by itself */
		snprintf(room, sizeof(room), "r%d", i % 97);
		snprintf(id, sizeof(id), "c%d", i);
		CU_ASSERT_EQUAL(DEL(mb, 0, room, id), 0);
	}
	CU_ASSERT_EQUAL(members_slot_gone(mb, 0, 1000, record, NULL), 0);
	CU_ASSERT_EQUAL(nseen, 0);
	CU_ASSERT_EQUAL(members_slot_gone(mb, 1, 1000, NULL, NULL), 0);
	CU_ASSERT_EQUAL(members_count(mb), 0);
	members_free(mb);
}

/* members_each_fn: "room/id" lines into seen, since must be set. */
static void record_each(void *arg, const char *room, size_t rl, const char *id, size_t il,
			uint64_t since_ms)
{
	CU_ASSERT(since_ms > 0);
	record(arg, room, rl, id, il);
}

/* The roster's views: a room over every slot, a slot, the whole table, and
 * how many connections an id has in a room over all slots. */
static void test_views(void)
{
	struct members *mb = members_new();

	CU_ASSERT_PTR_NOT_NULL_FATAL(mb);
	ADD(mb, 0, "lobby", "alice");
	ADD(mb, 0, "lobby", "alice");
	ADD(mb, 3, "lobby", "alice");
	ADD(mb, 3, "lobby", "bob");
	ADD(mb, 3, "other", "carol");
	CU_ASSERT_EQUAL(members_present(mb, "lobby", 5, "alice", 5), 3);
	CU_ASSERT_EQUAL(members_present(mb, "lobby", 5, "bob", 3), 1);
	CU_ASSERT_EQUAL(members_present(mb, "other", 5, "alice", 5), 0);
	CU_ASSERT_EQUAL(members_present(mb, "", 0, "alice", 5), 0);
	reset();
	members_room_each(mb, "lobby", 5, record_each, NULL);
	CU_ASSERT_EQUAL(nseen, 3);      /* alice on two slots, bob */
	CU_ASSERT_PTR_NULL(strstr(seen, "carol"));
	reset();
	members_slot_each(mb, 3, record_each, NULL);
	CU_ASSERT_EQUAL(nseen, 3);
	reset();
	members_each(mb, record_each, NULL);
	CU_ASSERT_EQUAL(nseen, 4);
	DEL(mb, 0, "lobby", "alice");
	DEL(mb, 0, "lobby", "alice");
	CU_ASSERT_EQUAL(members_present(mb, "lobby", 5, "alice", 5), 1);
	members_slot_gone(mb, 3, 0, NULL, NULL);
	CU_ASSERT_EQUAL(members_present(mb, "lobby", 5, "alice", 5), 0);
	reset();
	members_each(mb, record_each, NULL);
	CU_ASSERT_EQUAL(nseen, 0);
	members_free(mb);
}

static CU_TestInfo tests[] = {
	{ "the roster's views: room, slot, all, present", test_views },
	{ "add and leave per connection", test_add_del },
	{ "a dead worker's members, once, by the room rule", test_slot_gone },
	{ "many rooms and ids", test_many },
	CU_TEST_INFO_NULL,
};

CU_MAIN("members", tests)
