/* SPDX-License-Identifier: MIT */
/*
 * test_slots.c - the master's table of worker slots and their generations:
 * counts, lookups, a reload's retire and its undo, keeping the older
 * generation, draining it (a real child gets SIGUSR2), the serving count
 * and load read from shared memory.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "slots.h"

static struct slot t[CHATD_SLOTS];

static void fill(int n)        /* slots 0..n-1 current, pids 1000+i */
{
	memset(t, 0, sizeof(t));
	for (int i = 0; i < n; i++)
		t[i] = (struct slot){ .pid = 1000 + i, .generation = 1, .lidx = i };
}

static void test_counts(void)
{
	int held[CHATD_MAX_WORKERS] = { 0 };

	fill(3);
	t[1].draining = 1;
	CU_ASSERT_EQUAL(slots_live(t, 0), 3);
	CU_ASSERT_EQUAL(slots_live(t, 1), 2);
	CU_ASSERT_EQUAL(slots_free(t), 3);
	CU_ASSERT_EQUAL(slots_nfree(t), CHATD_SLOTS - 3);
	CU_ASSERT_EQUAL(slots_find(t, 1002), 2);
	CU_ASSERT_EQUAL(slots_find(t, 4242), -1);
	slots_held(t, held);
	CU_ASSERT(held[0] && !held[1] && held[2] && !held[3]);
	for (int i = 0; i < CHATD_SLOTS; i++)
		t[i].pid = 1 + i;
	CU_ASSERT_EQUAL(slots_free(t), -1);
	CU_ASSERT_EQUAL(slots_nfree(t), 0);
}

static void test_wanted(void)
{
	struct conf c;

	memset(&c, 0, sizeof(c));
	c.workers = 3;
	CU_ASSERT_EQUAL(slots_wanted(&c), 3);
	c.workers = CHATD_MAX_WORKERS + 5;
	CU_ASSERT_EQUAL(slots_wanted(&c), CHATD_MAX_WORKERS);
	c.workers = 0;                 /* one per CPU */
	CU_ASSERT(slots_wanted(&c) >= 1 && slots_wanted(&c) <= CHATD_MAX_WORKERS);
}

static void test_retire(void)
{
	int old[CHATD_SLOTS], n;

	fill(4);
	t[3].draining = 1;             /* an older generation, still draining */
	n = slots_retire(t, old);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(old[0] == 0 && old[1] == 1 && old[2] == 2);
	CU_ASSERT_EQUAL(slots_live(t, 1), 0);
	slots_unretire(t, old, n);     /* only those three are current again */
	CU_ASSERT_EQUAL(slots_live(t, 1), 3);
	CU_ASSERT_EQUAL(t[3].draining, 1);

	fill(4);
	t[0].draining = t[1].draining = 1;
	t[1].drain_sent = 1;           /* told to drain already: stays draining */
	CU_ASSERT_EQUAL(slots_keep_old(t), 1);
	CU_ASSERT(!t[0].draining && t[1].draining);
}

static void test_drain_and_load(void)
{
	struct shm_hdr *shm = shm_create(1 << 16, 1 << 13);
	unsigned long long conns = 0, rooms = 0;
	int status = 0;
	pid_t child;

	CU_ASSERT_PTR_NOT_NULL_FATAL(shm);
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	CU_ASSERT_FATAL(child > 0);
	fill(2);
	t[1].pid = child;
	t[1].draining = 1;
	stats_set(&shm->worker[0].started_ms, 1);
	stats_set(&shm->worker[0].connections, 5);
	stats_set(&shm->worker[1].connections, 2);
	stats_set(&shm->worker[1].rooms, 7);
	CU_ASSERT_EQUAL(slots_serving(t, shm), 1);
	slots_load(t, shm, &conns, &rooms);
	CU_ASSERT(conns == 7 && rooms == 7);
	slots_drain_old(t, shm);
	CU_ASSERT_EQUAL(t[1].drain_sent, 1);
	CU_ASSERT_EQUAL(stats_get(&shm->worker[1].state), SLOT_DRAINING);
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR2);
	shm_destroy(shm);
}

static CU_TestInfo tests[] = {
	{ "counts and lookups", test_counts },
	{ "workers wanted", test_wanted },
	{ "retire, undo, keep the old generation", test_retire },
	{ "drain the old generation, serving and load", test_drain_and_load },
	CU_TEST_INFO_NULL,
};

CU_MAIN("slots", tests)
