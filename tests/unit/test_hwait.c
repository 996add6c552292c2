/* SPDX-License-Identifier: MIT */
/*
 * test_hwait.c - hwait.c: items wait per room, run in the order they came
 * when their room is ready, run not-ok past the timeout, and the queue
 * frees what never ran.
 */
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "hwait.h"

struct log {
	char s[256];
	int busy;                               /* reads cannot be done now */
};

static int run(void *arg, int ok, enum hwait_kind kind, int slot, const char *room,
	       size_t room_len, const char *data, size_t len)
{
	struct log *l = arg;
	size_t n = strlen(l->s);

	if (ok && kind == HWAIT_READ && l->busy)
		return -1;
	snprintf(l->s + n, sizeof(l->s) - n, "%s%c%d:%.*s:%.*s ", ok ? "" : "!",
		 kind == HWAIT_READ ? 'r' : 's', slot, (int)room_len, room, (int)len, data);
	return 0;
}

static void test_ready_in_order(void)
{
	struct log l = { "", 0 };
	struct hwait *w = hwait_new(1000, run, &l);

	CU_ASSERT_FATAL(w != NULL);
	CU_ASSERT_EQUAL(hwait_add(w, HWAIT_STORE, -1, "a", 1, "1", 1, 0, 10), 0);
	CU_ASSERT_EQUAL(hwait_add(w, HWAIT_READ, 3, "b", 1, "2", 1, 0, 11), 0);
	CU_ASSERT_EQUAL(hwait_add(w, HWAIT_STORE, -1, "a", 1, "3", 1, 0, 12), 0);
	CU_ASSERT_EQUAL(hwait_add(w, HWAIT_STORE, -1, "", 0, "4", 1, 0, 13), 0);
	CU_ASSERT(hwait_holds(w, HWAIT_STORE, "a", 1));
	CU_ASSERT(!hwait_holds(w, HWAIT_READ, "a", 1));
	CU_ASSERT(!hwait_holds(w, HWAIT_STORE, "ab", 2));
	hwait_ready(w, "a", 1);
	CU_ASSERT_STRING_EQUAL(l.s, "s-1:a:1 s-1:a:3 ");
	CU_ASSERT(!hwait_holds(w, HWAIT_STORE, "a", 1));
	CU_ASSERT(hwait_holds(w, HWAIT_READ, "b", 1));
	hwait_ready(w, "", 0);
	CU_ASSERT_STRING_EQUAL(l.s, "s-1:a:1 s-1:a:3 s-1::4 ");
	hwait_free(w);                          /* b's read never runs */
	CU_ASSERT_STRING_EQUAL(l.s, "s-1:a:1 s-1:a:3 s-1::4 ");
}

static void test_timeout(void)
{
	struct log l = { "", 0 };
	struct hwait *w = hwait_new(100, run, &l);

	CU_ASSERT_FATAL(w != NULL);
	hwait_add(w, HWAIT_READ, 1, "a", 1, "x", 1, 0, 1000);
	hwait_add(w, HWAIT_READ, 2, "b", 1, "y", 1, 0, 1050);
	hwait_tick(w, 1099);
	CU_ASSERT_STRING_EQUAL(l.s, "");
	hwait_tick(w, 1100);
	CU_ASSERT_STRING_EQUAL(l.s, "!r1:a:x ");
	hwait_tick(w, 2000);
	CU_ASSERT_STRING_EQUAL(l.s, "!r1:a:x !r2:b:y ");
	CU_ASSERT(!hwait_holds(w, HWAIT_READ, "b", 1));
	hwait_free(w);
	hwait_free(NULL);
}

static void test_busy(void)
{
	struct log l = { "", 1 };
	struct hwait *w = hwait_new(100, run, &l);

	CU_ASSERT_FATAL(w != NULL);
	hwait_add(w, HWAIT_READ, 1, "a", 1, "x", 1, 0, 0);
	hwait_add(w, HWAIT_READ, 2, "a", 1, "y", 1, 0, 0);
	hwait_add(w, HWAIT_STORE, -1, "a", 1, "z", 1, 0, 0);
	hwait_ready(w, "a", 1);                 /* the reads wait, the store goes */
	CU_ASSERT_STRING_EQUAL(l.s, "s-1:a:z ");
	CU_ASSERT(hwait_pending(w));
	l.busy = 0;
	hwait_pump(w);
	CU_ASSERT_STRING_EQUAL(l.s, "s-1:a:z r1:a:x r2:a:y ");
	CU_ASSERT(!hwait_pending(w));
	hwait_free(w);
}

static void test_add_ready(void)
{
	struct log l = { "", 1 };
	struct hwait *w = hwait_new(100, run, &l);

	CU_ASSERT_FATAL(w != NULL);
	hwait_add(w, HWAIT_STORE, -1, "b", 1, "w", 1, 0, 0);   /* b not subscribed */
	hwait_add(w, HWAIT_READ, 1, "a", 1, "x", 1, 1, 0);     /* a is */
	hwait_add(w, HWAIT_READ, 2, "a", 1, "y", 1, 1, 0);
	hwait_add(w, HWAIT_STORE, -1, "a", 1, "z", 1, 1, 0);
	CU_ASSERT(hwait_pending(w));
	hwait_pump(w);                          /* the reads are blocked, the store goes */
	CU_ASSERT_STRING_EQUAL(l.s, "s-1:a:z ");
	l.busy = 0;
	hwait_pump(w);
	CU_ASSERT_STRING_EQUAL(l.s, "s-1:a:z r1:a:x r2:a:y ");
	CU_ASSERT(!hwait_pending(w));
	CU_ASSERT(hwait_holds(w, HWAIT_STORE, "b", 1));   /* b still waits */
	hwait_ready(w, "b", 1);
	CU_ASSERT_STRING_EQUAL(l.s, "s-1:a:z r1:a:x r2:a:y s-1:b:w ");
	hwait_free(w);
}

static void test_bounds(void)
{
	static char big[1u << 20];
	struct log l = { "", 0 };
	struct hwait *w = hwait_new(100, run, &l);
	char room[200];
	int n = 0;

	CU_ASSERT_FATAL(w != NULL);
	memset(room, 'r', sizeof(room));
	CU_ASSERT_EQUAL(hwait_add(w, HWAIT_STORE, -1, room, sizeof(room), "x", 1, 0, 0), -1);
	while (n < 100 && hwait_add(w, HWAIT_STORE, -1, "a", 1, big, sizeof(big), 0, 0) == 0)
		n++;
	CU_ASSERT(n > 0 && n < 100);            /* bytes are bounded */
	hwait_free(w);
}

static CU_TestInfo tests[] = {
	{ "a room's items run in order when it is ready", test_ready_in_order },
	{ "past the timeout they run not ok", test_timeout },
	{ "a read that cannot start yet waits for hwait_pump", test_busy },
	{ "items added ready wait for hwait_pump only", test_add_ready },
	{ "bounded", test_bounds },
	CU_TEST_INFO_NULL,
};

CU_MAIN("hwait", tests)
