/* SPDX-License-Identifier: MIT */
/*
 * test_limit.c - the token bucket of the message rate and the counts of
 * connections per client address.
 */
#include <stdint.h>
#include <string.h>

#include "cu.h"
#include "limit.h"

static void test_rate(void)
{
	struct limit_rate b;
	int ok = 0;

	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 20; i++)             /* a full bucket: burst 10 at once */
		ok += limit_rate_take(&b, 1000, 5, 10);
	CU_ASSERT_EQUAL(ok, 10);
	CU_ASSERT_EQUAL(b.strikes, 10);
	CU_ASSERT_EQUAL(limit_rate_take(&b, 1100, 5, 10), 0);   /* 0.5 tokens */
	CU_ASSERT_EQUAL(limit_rate_take(&b, 1200, 5, 10), 1);   /* 1 token after 200 ms at 5/s */
	CU_ASSERT_EQUAL(b.strikes, 0);
	CU_ASSERT_EQUAL(limit_rate_take(&b, 1200, 5, 10), 0);
	ok = 0;
	for (int i = 0; i < 50; i++)             /* a long pause refills to burst only */
		ok += limit_rate_take(&b, 100000, 5, 10);
	CU_ASSERT_EQUAL(ok, 10);
	ok = 0;                                  /* steady 5/s for 10 s: all allowed */
	for (int i = 0; i < 50; i++)
		ok += limit_rate_take(&b, 200000 + (uint64_t)i * 200, 5, 10);
	CU_ASSERT_EQUAL(ok, 50);
	ok = 0;                                  /* the clock going back an hour: no refill, */
	for (int i = 0; i < 20; i++)             /* then refills from the new time on */
		ok += limit_rate_take(&b, 100, 5, 10);
	CU_ASSERT(ok <= 10);
	CU_ASSERT_EQUAL(limit_rate_take(&b, 100, 5, 10), 0);
	CU_ASSERT_EQUAL(limit_rate_take(&b, 400, 5, 10), 1);
}

static void test_limit_ip(void)
{
	struct limit_ip *l = limit_ip_new();
	const unsigned char v4[4] = { 10, 0, 0, 1 }, v4b[4] = { 10, 0, 0, 2 };
	const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 };
	struct limit_ip_hold *h[4];
	int full;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	h[0] = limit_ip_acquire(l, v4, 4, 3, &full);
	h[1] = limit_ip_acquire(l, mapped, 16, 3, &full);   /* the same address */
	h[2] = limit_ip_acquire(l, v4, 4, 3, &full);
	CU_ASSERT(h[0] && h[1] && h[2]);
	CU_ASSERT_EQUAL(limit_ip_count(l, v4, 4), 3);
	CU_ASSERT_PTR_NULL(limit_ip_acquire(l, v4, 4, 3, &full));
	CU_ASSERT_EQUAL(full, 1);
	h[3] = limit_ip_acquire(l, v4b, 4, 3, &full);       /* another address */
	CU_ASSERT_PTR_NOT_NULL(h[3]);
	CU_ASSERT_EQUAL(limit_ip_count(l, v4b, 4), 1);
	CU_ASSERT(!limit_ip_hold_was_seen(h[0]));
	limit_ip_hold_seen(h[0]);
	CU_ASSERT(limit_ip_hold_was_seen(h[0]));
	limit_ip_release(h[1]);
	CU_ASSERT_EQUAL(limit_ip_count(l, v4, 4), 2);
	h[1] = limit_ip_acquire(l, v4, 4, 3, &full);
	CU_ASSERT_PTR_NOT_NULL(h[1]);
	for (int i = 0; i < 4; i++)
		limit_ip_release(h[i]);
	limit_ip_release(NULL);
	CU_ASSERT_EQUAL(limit_ip_count(l, v4, 4), 0);
	CU_ASSERT_EQUAL(limit_ip_count(l, v4b, 4), 0);
	for (int i = 0; i < 4; i++)                        /* 0: no limit */
		CU_ASSERT_PTR_NOT_NULL(h[i] = limit_ip_acquire(l, v4, 4, 0, &full));
	CU_ASSERT_EQUAL(limit_ip_count(l, v4, 4), 4);
	for (int i = 0; i < 4; i++)
		limit_ip_release(h[i]);
	limit_ip_free(l);
}

static CU_TestInfo tests[] = {
	{ "token bucket", test_rate },
	{ "connections per address", test_limit_ip },
	CU_TEST_INFO_NULL,
};

CU_MAIN("limit", tests)
