/* SPDX-License-Identifier: MIT */
/*
 * test_wheel.c - the timing wheel: a node fires once, at its tick and not
 * before; a tick in the past fires at the next; set again moves it, del
 * stops it (twice is harmless); nodes more than a turn away wait their
 * round; a held-up expire catches up with each node once; fire() may set
 * its own node again and delete a node due in the same pass.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "wheel.h"

struct item {
	int fired;
	uint64_t at;                    /* the now of its last fire */
	struct wheel_node n;            /* not first: the callback steps back */
	struct wheel_node *peer;        /* fire_del deletes it */
};

static struct wheel wh;
static uint64_t now;
static uint64_t again;                  /* fire_again sets its node this far on */

static struct item *item_of(struct wheel_node *n)
{
	return (struct item *)((char *)n - offsetof(struct item, n));
}

static void fire_count(struct wheel_node *n)
{
	item_of(n)->fired++;
	item_of(n)->at = now;
}

static void fire_again(struct wheel_node *n)
{
	fire_count(n);
	wheel_set(&wh, n, now + again, fire_again);
}

static void fire_del(struct wheel_node *n)
{
	fire_count(n);
	wheel_del(&wh, item_of(n)->peer);
}

/* Expire tick by tick up to until. */
static void run_to(uint64_t until)
{
	while (now < until)
		wheel_expire(&wh, ++now);
}

static void test_fires_once_at_its_tick(void)
{
	struct item a = { 0 }, b = { 0 };

	now = 1000;
	wheel_init(&wh, now);
	wheel_set(&wh, &a.n, 1005, fire_count);
	wheel_set(&wh, &b.n, 1005, fire_count);
	CU_ASSERT_EQUAL(wh.count, 2);
	run_to(1004);
	CU_ASSERT_EQUAL(a.fired, 0);
	run_to(1005);
	CU_ASSERT(a.fired == 1 && b.fired == 1 && a.at == 1005);
	run_to(1005 + 3 * WHEEL_SLOTS);
	CU_ASSERT(a.fired == 1 && b.fired == 1);
	CU_ASSERT_EQUAL(wh.count, 0);
}

static void test_past_fires_next(void)
{
	struct item a = { 0 };

	now = 50;
	wheel_init(&wh, now);
	wheel_set(&wh, &a.n, 10, fire_count);
	CU_ASSERT_EQUAL(wheel_expire(&wh, now), 0);   /* the same tick again: nothing */
	run_to(51);
	CU_ASSERT(a.fired == 1 && a.at == 51);
}

static void test_move_and_del(void)
{
	struct item a = { 0 }, b = { 0 };

	now = 0;
	wheel_init(&wh, now);
	wheel_set(&wh, &a.n, 10, fire_count);
	wheel_set(&wh, &a.n, 20, fire_count);         /* moved, not twice */
	wheel_set(&wh, &b.n, 15, fire_count);
	CU_ASSERT_EQUAL(wh.count, 2);
	wheel_del(&wh, &b.n);
	wheel_del(&wh, &b.n);                          /* harmless */
	CU_ASSERT_EQUAL(wh.count, 1);
	run_to(19);
	CU_ASSERT(a.fired == 0 && b.fired == 0);
	run_to(40);
	CU_ASSERT(a.fired == 1 && a.at == 20 && b.fired == 0);
}

static void test_rounds(void)
{
	struct item a = { 0 }, b = { 0 };

	now = 7;
	wheel_init(&wh, now);
	/* the same slot as tick 8, two and a half turns away */
	wheel_set(&wh, &a.n, 8 + 2 * WHEEL_SLOTS, fire_count);
	wheel_set(&wh, &b.n, 8, fire_count);
	run_to(8);
	CU_ASSERT(b.fired == 1 && a.fired == 0);
	run_to(7 + 2 * WHEEL_SLOTS);
	CU_ASSERT_EQUAL(a.fired, 0);
	run_to(8 + 2 * WHEEL_SLOTS);
	CU_ASSERT(a.fired == 1 && a.at == 8 + 2 * WHEEL_SLOTS);
}

static void test_catch_up(void)
{
	static struct item it[3000];

	now = 0;
	wheel_init(&wh, now);
	for (int i = 0; i < 3000; i++) {
		memset(&it[i], 0, sizeof(it[i]));
		wheel_set(&wh, &it[i].n, 1 + (uint64_t)i, fire_count);
	}
	/* held up for almost three turns: one expire fires the 2,500 due */
	now = 2500;
	CU_ASSERT_EQUAL(wheel_expire(&wh, now), 2500);
	for (int i = 0; i < 3000; i++)
		CU_ASSERT_EQUAL(it[i].fired, i < 2500 ? 1 : 0);
	run_to(3000);
	for (int i = 0; i < 3000; i++)
		CU_ASSERT_EQUAL(it[i].fired, 1);
	CU_ASSERT_EQUAL(wh.count, 0);
}

static void test_fire_sets_and_deletes(void)
{
	struct item a = { 0 }, b = { 0 }, c = { 0 };

	now = 0;
	wheel_init(&wh, now);
	again = 0;                                     /* in the past: the next tick */
	wheel_set(&wh, &a.n, 3, fire_again);
	run_to(3);
	CU_ASSERT_EQUAL(a.fired, 1);                   /* not again in the same pass */
	run_to(4);
	CU_ASSERT(a.fired == 2 && a.at == 4);
	wheel_del(&wh, &a.n);
	/* b and c due in the same tick: whichever fires first deletes the other */
	b.peer = &c.n;
	c.peer = &b.n;
	wheel_set(&wh, &b.n, 10, fire_del);
	wheel_set(&wh, &c.n, 10, fire_del);
	run_to(10);
	CU_ASSERT_EQUAL(b.fired + c.fired, 1);
	CU_ASSERT_EQUAL(wh.count, 0);
	run_to(10 + 2 * WHEEL_SLOTS);
	CU_ASSERT_EQUAL(b.fired + c.fired, 1);
}

static CU_TestInfo tests[] = {
	{ "fires once, at its tick", test_fires_once_at_its_tick },
	{ "a tick in the past fires at the next", test_past_fires_next },
	{ "set again moves, del stops", test_move_and_del },
	{ "more than a turn away waits its round", test_rounds },
	{ "a held-up expire catches up, each once", test_catch_up },
	{ "fire may set its node and delete another", test_fire_sets_and_deletes },
	CU_TEST_INFO_NULL,
};

CU_MAIN("wheel", tests)
