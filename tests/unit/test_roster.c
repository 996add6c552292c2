/* SPDX-License-Identifier: MIT */
/*
 * test_roster.c - the size of a roster page's body (review finding 11):
 * never above its limit, however the room name and the client ids escape,
 * with as many members as fit and next on the last one listed.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chatd.h"
#include "cu.h"
#include "roster.h"

#define NENT 200

static char ids[NENT][CHATD_CLIENT_ID_MAX];
static struct roster_entry ents[NENT];

/* Entries whose ids are all control bytes (\u00XX: 6 bytes each in JSON). */
static void fill(char c)
{
	for (int i = 0; i < NENT; i++) {
		memset(ids[i], c, sizeof(ids[i]));
		ids[i][0] = (char)('A' + i / 26 % 26);
		ids[i][1] = (char)('a' + i % 26);
		ents[i] = (struct roster_entry){ ids[i], sizeof(ids[i]), 1700000000000ull + i };
	}
}

/* One body at max: within it, valid JSON, members in order, next right. */
static void check(const char *room, size_t room_len, size_t max, int sub)
{
	char *body = roster_body(sub, room, room_len, NENT, ents, NENT, 0, max);
	json_t *j, *m, *next;
	size_t n;

	if (body == NULL) {     /* only when not even an empty page fits */
		CU_ASSERT(max < 2 * (6 * CHATD_CLIENT_ID_MAX + 6 * CHATD_ROOM_MAX));
		return;
	}
	CU_ASSERT(strlen(body) <= max);
	j = json_loads(body, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	m = json_object_get(j, "members");
	n = json_array_size(m);
	next = json_object_get(j, "next");
	if (n == NENT) {                /* all fit: the page is whole */
		CU_ASSERT(json_is_null(next));
	} else if (n > 0) {
		const char *last = json_string_value(json_object_get(json_array_get(m, n - 1),
								    "client_id"));
		CU_ASSERT_PTR_NOT_NULL_FATAL(last);
		CU_ASSERT(json_is_string(next) && strcmp(json_string_value(next), last) == 0);
		CU_ASSERT(memcmp(last, ids[n - 1], 2) == 0);
	}
	json_decref(j);
	free(body);
}

static void test_body_bound(void)
{
	char room[CHATD_ROOM_MAX];

	memset(room, 0x01, sizeof(room));
	for (char c = 0x01; c != 'z'; c = c == 0x01 ? '"' : 'z') {
		fill(c);
		for (size_t max = 256; max <= 65536; max += max / 3 + 7) {
			check(room, sizeof(room), max, 0);
			check(room, sizeof(room), max, 1);
			check("*", 1, max, 1);
		}
	}
}

/* A roomy limit: a whole short page, no next. */
static void test_body_whole(void)
{
	char *body;
	json_t *j;

	fill('x');
	body = roster_body(0, "lobby", 5, 3, ents, 3, 0, 65536);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	j = json_loads(body, 0, NULL);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "members")), 3);
	CU_ASSERT(json_is_null(json_object_get(j, "next")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "room")), "lobby");
	json_decref(j);
	free(body);
}

static CU_TestInfo tests[] = {
	{ "a page's body stays within its limit", test_body_bound },
	{ "a short page is whole", test_body_whole },
	CU_TEST_INFO_NULL,
};

CU_MAIN("roster", tests)
