/* SPDX-License-Identifier: MIT */
/*
 * test_roster.c - roster.c: entries per (slot, room, id) with a count of
 * connections, a dead slot forgotten, and the JSON page (one member per id,
 * oldest first, paging, escaping).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "roster.h"

static size_t count_of(struct roster *rs, const char *room)
{
	size_t n;
	struct roster_entry *e = roster_list(rs, room, strlen(room), &n);

	free(e);
	return n;
}

static void gone(void *arg, int slot, const char *room, size_t rl, const char *id, size_t il,
		 uint64_t since)
{
	(void)slot; (void)room; (void)rl; (void)id; (void)il; (void)since;
	(*(int *)arg)++;
}

static void test_add_del(void)
{
	struct roster *rs = roster_new();
	int n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
	CU_ASSERT_EQUAL(roster_add(rs, 0, "a", 1, "alice", 5, 1000), 0);
	CU_ASSERT_EQUAL(roster_add(rs, 0, "a", 1, "alice", 5, 2000), 0);   /* 2nd tab */
	CU_ASSERT_EQUAL(roster_add(rs, 1, "a", 1, "alice", 5, 3000), 0);   /* other worker */
	CU_ASSERT_EQUAL(roster_add(rs, 1, "a", 1, "bob", 3, 4000), 0);
	CU_ASSERT_EQUAL(roster_add(rs, 1, "b", 1, "bob", 3, 4000), 0);
	CU_ASSERT_EQUAL(count_of(rs, "a"), 3);
	CU_ASSERT_EQUAL(roster_del(rs, 0, "a", 1, "alice", 5), 0);         /* one tab left */
	CU_ASSERT_EQUAL(roster_del(rs, 0, "a", 1, "alice", 5), 1);
	CU_ASSERT_EQUAL(roster_del(rs, 0, "a", 1, "alice", 5), -1);
	CU_ASSERT_EQUAL(count_of(rs, "a"), 2);
	roster_slot_gone(rs, 1, gone, &n);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(count_of(rs, "a"), 0);
	CU_ASSERT_EQUAL(count_of(rs, "b"), 0);
	roster_free(rs);
	roster_free(NULL);
}

static void test_page(void)
{
	struct roster_entry e[] = {
		{ "carol", 5, 3000 }, { "alice", 5, 2000 }, { "bob", 3, 1000 },
		{ "alice", 5, 1500 }, { "q\"x", 3, 5000 },
	};
	size_t len;
	char *s = roster_page(e, 5, "lobby", 5, 0, 2, 1, &len);
	json_t *j = json_loadb(s, len, 0, NULL), *m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "room")), "lobby");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "count")), 4);  /* alice once */
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "next")), 2);
	m = json_object_get(j, "members");
	CU_ASSERT_EQUAL(json_array_size(m), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m, 0),
								 "client_id")), "bob");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m, 1), "sub")),
			       "alice");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m, 1), "since")),
			       "1970-01-01T00:00:01.500Z");
	json_decref(j);
	free(s);
	s = roster_page(e, 5, "lobby", 5, 2, 10, 0, &len);
	j = json_loadb(s, len, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	m = json_object_get(j, "members");
	CU_ASSERT(json_array_size(m) == 2 && json_object_get(j, "next") == NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(m, 1),
								 "client_id")), "q\"x");
	CU_ASSERT_PTR_NULL(json_object_get(json_array_get(m, 1), "sub"));
	json_decref(j);
	free(s);
	s = roster_page(NULL, 0, "e", 1, 0, 10, 0, &len);
	CU_ASSERT(s != NULL && strcmp(s, "{\"room\":\"e\",\"count\":0,\"offset\":0,\"members\":[]}") == 0);
	free(s);
}

static CU_TestInfo tests[] = {
	{ "entries per slot, room and id", test_add_del },
	{ "the page", test_page },
	CU_TEST_INFO_NULL,
};

CU_MAIN("roster", tests)
