/* SPDX-License-Identifier: MIT */
/*
 * test_ring.c - unit tests of the shared-memory rings (ring.c, shm.c),
 * in one process and across fork(), and of the record format (record.h).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu.h"
#include "record.h"
#include "ring.h"
#include "shm.h"

#define XPROC_RECORDS 200000u

/* ---- helpers ---------------------------------------------------------- */

static struct ring *ring_new(size_t size)
{
	struct ring *r = aligned_alloc(64, ring_footprint(size));

	if (r != NULL)
		ring_init(r, size);
	return r;
}

/* The payload of record number n: a length that varies with n (up to max)
 * and bytes that depend on both n and the offset. */
static size_t rec_len(uint64_t n, size_t max)
{
	return (size_t)((n * 2654435761u) >> 7) % (max + 1);
}

static uint32_t rec_kind(uint64_t n)
{
	return (uint32_t)(n % 3) + 1;
}

static void rec_fill(unsigned char *buf, uint64_t n, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(n * 131 + i * 7 + (i >> 8));
	if (len >= sizeof(n))
		memcpy(buf, &n, sizeof(n));
}

static int rec_check(const unsigned char *buf, uint64_t n, size_t len)
{
	uint64_t got;

	for (size_t i = len >= sizeof(n) ? sizeof(n) : 0; i < len; i++)
		if (buf[i] != (unsigned char)(n * 131 + i * 7 + (i >> 8)))
			return 0;
	if (len >= sizeof(n)) {
		memcpy(&got, buf, sizeof(got));
		return got == n;
	}
	return 1;
}

/* Put (or push) record number n, payload of length len, as two iov parts. */
static int rec_write(struct ring *r, int push, uint64_t n, size_t len)
{
	unsigned char buf[1 << 14];
	struct iovec iov[2];
	size_t cut = len / 3;

	rec_fill(buf, n, len);
	iov[0].iov_base = buf;
	iov[0].iov_len = cut;
	iov[1].iov_base = buf + cut;
	iov[1].iov_len = len - cut;
	return push ? ring_push(r, rec_kind(n), iov, 2) : ring_put(r, rec_kind(n), iov, 2);
}

/* Read one record: RING_OK with *n = its number (taken from the header seq)
 * and the content verified in *intact; or RING_EMPTY; loops over LAPPED. */
static int rec_read(struct ring *r, struct ring_cursor *c, uint64_t *n, int *intact)
{
	unsigned char buf[1 << 14];
	int rc;

	for (;;) {
		rc = ring_next(r, c);
		if (rc == RING_LAPPED)
			continue;
		if (rc != RING_OK)
			return rc;
		if (c->len > sizeof(buf)) {
			*intact = 0;
			return RING_OK;
		}
		*n = c->seq;
		rc = ring_copy(r, c, buf);
		if (rc == RING_LAPPED)
			continue;
		*intact = rec_check(buf, *n, c->len) && c->kind == rec_kind(*n);
		return rc;
	}
}

/* ---- single process ----------------------------------------------------- */

static void test_basic(void)
{
	struct ring *r = ring_new(4096);
	struct ring_cursor c, late;
	unsigned char buf[64];
	struct iovec iov[2] = { { "hello ", 6 }, { "world", 5 } };

	CU_ASSERT_FATAL(r != NULL);
	ring_cursor_init(r, &c);
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_EMPTY);
	CU_ASSERT_EQUAL(ring_put(r, 7, iov, 2), RING_OK);
	CU_ASSERT_EQUAL(ring_put(r, 8, iov, 1), RING_OK);
	CU_ASSERT_EQUAL(ring_put(r, 9, NULL, 0), RING_OK);
	ring_cursor_init(r, &late);
	CU_ASSERT_EQUAL(ring_next(r, &late), RING_EMPTY);

	CU_ASSERT_EQUAL(ring_next(r, &c), RING_OK);
	CU_ASSERT_EQUAL(c.kind, 7);
	CU_ASSERT_EQUAL(c.len, 11);
	CU_ASSERT_EQUAL(ring_copy(r, &c, buf), RING_OK);
	CU_ASSERT_EQUAL(memcmp(buf, "hello world", 11), 0);
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_OK);
	CU_ASSERT_EQUAL(c.kind, 8);
	CU_ASSERT_EQUAL(c.len, 6);
	CU_ASSERT_EQUAL(ring_copy(r, &c, buf), RING_OK);
	CU_ASSERT_EQUAL(memcmp(buf, "hello ", 6), 0);
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_OK);
	CU_ASSERT_EQUAL(c.kind, 9);
	CU_ASSERT_EQUAL(c.len, 0);
	CU_ASSERT_EQUAL(ring_copy(r, &c, buf), RING_OK);
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_EMPTY);
	CU_ASSERT_EQUAL(c.lost, 0);
	CU_ASSERT_EQUAL(c.seq, 3);

	/* the late cursor sees only what comes after it */
	CU_ASSERT_EQUAL(ring_put(r, 10, iov + 1, 1), RING_OK);
	CU_ASSERT_EQUAL(ring_next(r, &late), RING_OK);
	CU_ASSERT_EQUAL(late.kind, 10);
	CU_ASSERT_EQUAL(ring_copy(r, &late, buf), RING_OK);
	CU_ASSERT_EQUAL(memcmp(buf, "world", 5), 0);
	CU_ASSERT_EQUAL(late.lost, 0);
	free(r);
}

static void test_max_payload_and_toobig(void)
{
	struct ring *r = ring_new(4096);
	struct ring_cursor c;
	size_t max = ring_max_payload(r);
	unsigned char *big = calloc(1, max + 2);
	struct iovec iov = { big, max + 1 };

	CU_ASSERT_FATAL(r != NULL && big != NULL);
	CU_ASSERT_EQUAL(max, 4096 / 4 - 16);
	ring_cursor_init(r, &c);
	CU_ASSERT_EQUAL(ring_put(r, 1, &iov, 1), RING_TOOBIG);
	CU_ASSERT_EQUAL(ring_push(r, 1, &iov, 1), RING_TOOBIG);
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_EMPTY);
	iov.iov_len = max;
	CU_ASSERT_EQUAL(ring_put(r, 1, &iov, 1), RING_OK);
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_OK);
	CU_ASSERT_EQUAL(c.len, max);
	free(big);
	free(r);

	r = ring_new(1 << 24);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(ring_max_payload(r), CHATD_MAX_FRAME);
	free(r);
}

/* Lock-step put/get of varying sizes: many records straddle the end. */
static void test_wrap_variable_sizes(void)
{
	struct ring *r = ring_new(4096);
	struct ring_cursor c;
	size_t max = ring_max_payload(r);
	unsigned straddles = 0, bad = 0;

	CU_ASSERT_FATAL(r != NULL);
	ring_cursor_init(r, &c);
	for (uint64_t n = 0; n < 5000; n++) {
		uint64_t got = UINT64_MAX;
		int intact = 0;
		size_t len = rec_len(n, max);
		uint64_t start = c.pos & r->mask;

		CU_ASSERT_EQUAL_FATAL(rec_write(r, 0, n, len), RING_OK);
		/* a few records queue up before the reader catches up */
		if (n % 3 != 2)
			continue;
		while (rec_read(r, &c, &got, &intact) == RING_OK) {
			if (!intact)
				bad++;
		}
		if (start > (c.pos & r->mask))
			straddles++;
		CU_ASSERT_EQUAL(got, n);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(c.lost, 0);
	CU_ASSERT(straddles > 100);
	free(r);
}

/* A header that itself straddles the end of the data area. */
static void test_wrap_header(void)
{
	struct ring *r = ring_new(4096);
	struct ring_cursor c;
	uint64_t got;
	int intact;

	CU_ASSERT_FATAL(r != NULL);
	ring_cursor_init(r, &c);
	/* 3 x 1024 + 1016 bytes: the next record starts 8 bytes before the end */
	for (uint64_t n = 0; n < 3; n++)
		CU_ASSERT_EQUAL(rec_write(r, 0, n, 1008), RING_OK);
	CU_ASSERT_EQUAL(rec_write(r, 0, 3, 1000), RING_OK);
	CU_ASSERT_EQUAL(atomic_load(&r->head), 4088);
	for (uint64_t n = 0; n < 4; n++) {
		CU_ASSERT_EQUAL(rec_read(r, &c, &got, &intact), RING_OK);
		CU_ASSERT_EQUAL(got, n);
		CU_ASSERT(intact);
	}
	CU_ASSERT_EQUAL(rec_write(r, 0, 4, 500), RING_OK);
	CU_ASSERT_EQUAL(rec_read(r, &c, &got, &intact), RING_OK);
	CU_ASSERT_EQUAL(got, 4);
	CU_ASSERT_EQUAL(c.len, 500);
	CU_ASSERT(intact);
	CU_ASSERT_EQUAL(c.lost, 0);
	free(r);
}

static void test_uplink_full(void)
{
	struct ring *r = ring_new(4096);
	struct ring_cursor c;
	uint64_t got;
	int intact, pushed = 0;

	CU_ASSERT_FATAL(r != NULL);
	ring_cursor_init(r, &c);
	/* records of 1024 bytes: exactly four fit */
	while (rec_write(r, 1, (uint64_t)pushed, 1008) == RING_OK)
		pushed++;
	CU_ASSERT_EQUAL(pushed, 4);
	CU_ASSERT_EQUAL(rec_write(r, 1, 99, 0), RING_FULL);
	/* read but not released: still full */
	CU_ASSERT_EQUAL(rec_read(r, &c, &got, &intact), RING_OK);
	CU_ASSERT_EQUAL(got, 0);
	CU_ASSERT(intact);
	CU_ASSERT_EQUAL(rec_write(r, 1, 4, 1008), RING_FULL);
	ring_release(r, &c);
	CU_ASSERT_EQUAL(rec_write(r, 1, 4, 1008), RING_OK);
	CU_ASSERT_EQUAL(rec_write(r, 1, 5, 0), RING_FULL);
	for (uint64_t n = 1; n <= 4; n++) {
		CU_ASSERT_EQUAL(rec_read(r, &c, &got, &intact), RING_OK);
		CU_ASSERT_EQUAL(got, n);
		CU_ASSERT(intact);
	}
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_EMPTY);
	CU_ASSERT_EQUAL(c.lost, 0);
	ring_release(r, &c);
	CU_ASSERT_EQUAL(rec_write(r, 1, 5, 100), RING_OK);

	/* reset empties it; a new cursor reads from the start */
	ring_reset(r);
	ring_cursor_init(r, &c);
	CU_ASSERT_EQUAL(c.pos, 0);
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_EMPTY);
	CU_ASSERT_EQUAL(rec_write(r, 1, 0, 10), RING_OK);
	CU_ASSERT_EQUAL(rec_read(r, &c, &got, &intact), RING_OK);
	CU_ASSERT_EQUAL(got, 0);
	CU_ASSERT(intact);
	free(r);
}

/* Read everything available; check order and integrity, and that c->lost
 * grows by exactly the gaps in the sequence numbers read. */
static uint64_t drain_checked(struct ring *r, struct ring_cursor *c, uint64_t *expect,
			      unsigned *bad)
{
	uint64_t got, reads = 0, missed = 0, lost0 = c->lost;
	int intact;

	while (rec_read(r, c, &got, &intact) == RING_OK) {
		if (!intact || got < *expect)
			(*bad)++;
		else
			missed += got - *expect;
		*expect = got + 1;
		reads++;
	}
	if (c->lost - lost0 != missed)
		(*bad)++;
	return reads;
}

static void test_bcast_lapped(void)
{
	struct ring *r = ring_new(4096);
	struct ring_cursor c;
	uint64_t expect = 0, reads = 0, total = 0;
	unsigned bad = 0;
	int rc;

	CU_ASSERT_FATAL(r != NULL);
	ring_cursor_init(r, &c);
	for (int round = 0; round < 50; round++) {
		/* sometimes a few, sometimes far more than fits */
		unsigned burst = (round % 3 == 0) ? 3 : 40 + (unsigned)round * 5;

		for (unsigned i = 0; i < burst; i++, total++)
			CU_ASSERT_EQUAL_FATAL(rec_write(r, 0, total, rec_len(total, 300)), RING_OK);
		if (burst > 10) {
			rc = ring_next(r, &c);
			CU_ASSERT_EQUAL(rc, RING_LAPPED);
		}
		reads += drain_checked(r, &c, &expect, &bad);
		CU_ASSERT_EQUAL(expect, total);
		CU_ASSERT_EQUAL(reads + c.lost, total);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(c.lost > 0);
	CU_ASSERT(reads > 0);
	free(r);
}

/* The record found by ring_next() is overwritten before ring_copy(). */
static void test_bcast_lapped_during_copy(void)
{
	struct ring *r = ring_new(4096);
	struct ring_cursor c;
	unsigned char buf[1024];
	uint64_t got, n = 0;
	int intact;

	CU_ASSERT_FATAL(r != NULL);
	ring_cursor_init(r, &c);
	CU_ASSERT_EQUAL(rec_write(r, 0, n++, 100), RING_OK);
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_OK);
	CU_ASSERT_EQUAL(c.seq, 0);
	while (n < 40)
		CU_ASSERT_EQUAL(rec_write(r, 0, n++, 200), RING_OK);
	CU_ASSERT_EQUAL(ring_copy(r, &c, buf), RING_LAPPED);
	CU_ASSERT_EQUAL(rec_read(r, &c, &got, &intact), RING_OK);
	CU_ASSERT(intact);
	CU_ASSERT(got > 1);
	/* every record before the one read (including the torn one) is lost */
	CU_ASSERT_EQUAL(c.lost, got);
	free(r);
}

static void test_several_consumers(void)
{
	struct ring *r = ring_new(1 << 16);
	struct ring_cursor c[3];
	uint64_t expect[3] = { 0, 0, 0 }, reads[3] = { 0, 0, 0 }, total = 0;
	unsigned bad = 0;

	CU_ASSERT_FATAL(r != NULL);
	for (int i = 0; i < 3; i++)
		ring_cursor_init(r, &c[i]);
	for (int round = 0; round < 300; round++) {
		for (int i = 0; i < 5; i++, total++)
			CU_ASSERT_EQUAL_FATAL(rec_write(r, 0, total, rec_len(total, 200)), RING_OK);
		/* consumer i drains every (i+1)th round: different lags */
		for (int i = 0; i < 3; i++) {
			if (round % (i + 1) == 0)
				reads[i] += drain_checked(r, &c[i], &expect[i], &bad);
		}
	}
	for (int i = 0; i < 3; i++) {
		reads[i] += drain_checked(r, &c[i], &expect[i], &bad);
		CU_ASSERT_EQUAL(reads[i], total);
		CU_ASSERT_EQUAL(c[i].lost, 0);
		CU_ASSERT_EQUAL(expect[i], total);
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(r);
}

static void test_waiter(void)
{
	struct ring_waiter w = { 0, 0 };

	CU_ASSERT_EQUAL(ring_waiter_should_wake(&w), 0);
	ring_waiter_sleep(&w);
	CU_ASSERT_EQUAL(ring_waiter_should_wake(&w), 1);
	CU_ASSERT_EQUAL(ring_waiter_should_wake(&w), 0);
	ring_waiter_sleep(&w);
	ring_waiter_awake(&w);
	CU_ASSERT_EQUAL(ring_waiter_should_wake(&w), 0);
}

static void test_shm_layout(void)
{
	struct shm_hdr *h;
	unsigned char *base, *end;

	errno = 0;
	CU_ASSERT_PTR_NULL(shm_create(3000, 4096));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_PTR_NULL(shm_create(1 << 16, 2048));
	h = shm_create(1 << 16, 1 << 13);
	CU_ASSERT_FATAL(h != NULL);
	base = (unsigned char *)h;
	end = base + h->size;
	CU_ASSERT_EQUAL(h->magic, SHM_MAGIC);
	CU_ASSERT_EQUAL(h->version, SHM_VERSION);
	CU_ASSERT_EQUAL(h->bcast_off % 64, 0);
	CU_ASSERT_EQUAL(h->uplink_off % 64, 0);
	CU_ASSERT_EQUAL(h->uplink_stride % 64, 0);
	CU_ASSERT(h->bcast_off >= sizeof(*h));
	CU_ASSERT_EQUAL(shm_bcast(h)->size, 1 << 16);
	CU_ASSERT((unsigned char *)shm_bcast(h) + ring_footprint(1 << 16) <=
		  (unsigned char *)shm_uplink(h, 0));
	for (int i = 0; i < CHATD_SLOTS; i++) {
		struct ring *u = shm_uplink(h, i);

		CU_ASSERT_EQUAL(u->size, 1 << 13);
		CU_ASSERT_EQUAL(u->mask, (1 << 13) - 1);
		CU_ASSERT_EQUAL(atomic_load(&u->head), 0);
		CU_ASSERT((unsigned char *)u + ring_footprint(1 << 13) <= end);
		if (i > 0)
			CU_ASSERT((unsigned char *)shm_uplink(h, i - 1) +
				  ring_footprint(1 << 13) <= (unsigned char *)u);
	}
	/* the whole last ring is writable */
	memset(shm_uplink(h, CHATD_SLOTS - 1) + 1, 0xab, 1 << 13);
	CU_ASSERT_EQUAL(stats_get(&h->worker[3].connections), 0);
	stats_add(&h->worker[3].connections, 5);
	stats_sub(&h->worker[3].connections, 2);
	CU_ASSERT_EQUAL(stats_get(&h->worker[3].connections), 3);
	shm_destroy(h);
	shm_destroy(NULL);
}

/* ---- across fork ------------------------------------------------------ */

static int child_status_ok(pid_t pid)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_xproc_bcast(void)
{
	struct shm_hdr *h = shm_create(1 << 15, 4096);
	struct ring *r;
	struct ring_cursor c;
	uint64_t expect = 0, reads = 0, laps = 0, empties = 0;
	unsigned bad = 0;
	pid_t pid;

	CU_ASSERT_FATAL(h != NULL);
	r = shm_bcast(h);
	ring_cursor_init(r, &c);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		for (uint64_t n = 0; n < XPROC_RECORDS; n++) {
			if (rec_write(r, 0, n, rec_len(n, 1500)) != RING_OK)
				_exit(1);
			if (n % 64 == 0)
				sched_yield();
		}
		stats_set(&h->master.stopping, 1);
		_exit(0);
	}
	for (;;) {
		unsigned char buf[2048];
		int done = stats_get(&h->master.stopping) != 0;
		int rc = ring_next(r, &c);

		if (rc == RING_EMPTY) {
			if (done)
				break;
			empties++;
			continue;
		}
		if (rc == RING_LAPPED) {
			laps++;
			continue;
		}
		uint64_t n = c.seq;
		uint32_t kind = c.kind, len = c.len;

		if (len > sizeof(buf)) {
			bad++;
			break;
		}
		if (ring_copy(r, &c, buf) == RING_LAPPED) {
			laps++;
			continue;
		}
		if (n < expect || len != rec_len(n, 1500) || kind != rec_kind(n) ||
		    !rec_check(buf, n, len))
			bad++;
		expect = n + 1;
		reads++;
	}
	CU_ASSERT(child_status_ok(pid));
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(expect, XPROC_RECORDS);
	CU_ASSERT_EQUAL(reads + c.lost, XPROC_RECORDS);
	CU_ASSERT(reads > 0);
	printf("\n    bcast: read %llu lost %llu laps %llu empty polls %llu ",
	       (unsigned long long)reads, (unsigned long long)c.lost,
	       (unsigned long long)laps, (unsigned long long)empties);
	shm_destroy(h);
}

static void test_xproc_uplink(void)
{
	struct shm_hdr *h = shm_create(4096, 8192);
	struct ring *r;
	struct ring_cursor c;
	uint64_t expect = 0;
	unsigned bad = 0;
	pid_t pid;

	CU_ASSERT_FATAL(h != NULL);
	r = shm_uplink(h, 5);
	ring_cursor_init(r, &c);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		for (uint64_t n = 0; n < XPROC_RECORDS; n++) {
			int rc;

			while ((rc = rec_write(r, 1, n, rec_len(n, 1000))) == RING_FULL)
				sched_yield();
			if (rc != RING_OK)
				_exit(1);
		}
		_exit(0);
	}
	while (expect < XPROC_RECORDS && bad == 0) {
		uint64_t n;
		int intact, rc = rec_read(r, &c, &n, &intact);

		if (rc == RING_EMPTY) {
			sched_yield();
			continue;
		}
		if (!intact || n != expect || c.len != rec_len(n, 1000))
			bad++;
		expect++;
		if (expect % 4 == 0)
			ring_release(r, &c);
	}
	CU_ASSERT(child_status_ok(pid));
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(expect, XPROC_RECORDS);
	CU_ASSERT_EQUAL(c.lost, 0);
	CU_ASSERT_EQUAL(ring_next(r, &c), RING_EMPTY);
	shm_destroy(h);
}

/* Producer/consumer with wake-up suppression: a lost wake-up would leave the
 * consumer asleep with data pending; poll's timeout catches that. */
static void test_xproc_waiter(void)
{
	struct shm_hdr *h = shm_create(4096, 4096);
	int efd = eventfd(0, EFD_NONBLOCK);
	struct ring *r;
	struct ring_cursor c;
	uint64_t expect = 0, sleeps = 0, stuck = 0;
	const uint64_t total = 20000;
	unsigned bad = 0;
	pid_t pid;

	CU_ASSERT_FATAL(h != NULL && efd >= 0);
	r = shm_uplink(h, 0);
	ring_cursor_init(r, &c);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		uint64_t one = 1;

		for (uint64_t n = 0; n < total; n++) {
			while (rec_write(r, 1, n, rec_len(n, 200)) != RING_OK)
				sched_yield();
			if (ring_waiter_should_wake(&h->master_waiter) &&
			    write(efd, &one, sizeof(one)) != sizeof(one))
				_exit(1);
			if (n % 16 == 0)
				usleep(1 + n % 50);
		}
		_exit(0);
	}
	while (expect < total && stuck == 0) {
		struct pollfd pfd = { efd, POLLIN, 0 };
		uint64_t n, v;
		int intact;

		while (rec_read(r, &c, &n, &intact) == RING_OK) {
			if (!intact || n != expect)
				bad++;
			expect++;
		}
		ring_release(r, &c);
		if (expect == total)
			break;
		ring_waiter_sleep(&h->master_waiter);
		if (ring_next(r, &c) != RING_EMPTY) {
			ring_waiter_awake(&h->master_waiter);
			continue;
		}
		sleeps++;
		if (poll(&pfd, 1, 2000) == 0)
			stuck++;
		ring_waiter_awake(&h->master_waiter);
		if (read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			bad++;
	}
	CU_ASSERT(child_status_ok(pid));
	CU_ASSERT_EQUAL(stuck, 0);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(expect, total);
	CU_ASSERT(sleeps > 0);
	close(efd);
	shm_destroy(h);
}

/* ---- the record format (record.h) ----------------------------------------- */

/* Pack frame and room, push them through a ring, unpack what comes out. */
static void record_through(struct ring *r, const char *frame, size_t frame_len,
			   const char *room, size_t room_len)
{
	struct ring_cursor c;
	struct record rec;
	unsigned char buf[512];
	const char *got_room = NULL;
	size_t got_frame = 99, got_rl = 99;

	ring_cursor_init(r, &c);
	record_pack(&rec, frame, frame_len, room, room_len);
	CU_ASSERT_EQUAL_FATAL(ring_push(r, REC_MSG, rec.iov, RECORD_NIOV), RING_OK);
	CU_ASSERT_EQUAL_FATAL(ring_next(r, &c), RING_OK);
	CU_ASSERT_EQUAL(c.len, frame_len + room_len + 1);
	CU_ASSERT_EQUAL_FATAL(ring_copy(r, &c, buf), RING_OK);
	ring_release(r, &c);
	CU_ASSERT_EQUAL_FATAL(record_unpack(buf, c.len, &got_frame, &got_room, &got_rl), 0);
	CU_ASSERT_EQUAL(got_frame, frame_len);
	CU_ASSERT_EQUAL(got_rl, room_len);
	CU_ASSERT(frame_len == 0 || memcmp(buf, frame, frame_len) == 0);
	CU_ASSERT(got_room == (const char *)buf + frame_len);  /* in place, behind the frame */
	CU_ASSERT(room_len == 0 || memcmp(got_room, room, room_len) == 0);
}

static void test_record_roundtrip(void)
{
	struct ring *r = ring_new(4096);
	char room[CHATD_ROOM_MAX];

	CU_ASSERT_FATAL(r != NULL);
	memset(room, 'r', sizeof(room));
	record_through(r, "{\"a\":1}", 7, "lobby", 5);     /* a room */
	record_through(r, "{\"a\":1}", 7, NULL, 0);        /* global */
	record_through(r, NULL, 0, "lobby", 5);             /* REC_JOIN/REC_LEAVE: no frame */
	record_through(r, NULL, 0, NULL, 0);                /* nothing at all: one byte */
	record_through(r, "x", 1, room, sizeof(room));      /* the longest room name */
	free(r);
}

static void test_record_malformed(void)
{
	const unsigned char ok[] = { 'f', 'r', 1 }, bad[] = { 'f', 'r', 3 }, edge[] = { 'r', 1 };
	const char *room = NULL;
	size_t fl = 99, rl = 99;

	CU_ASSERT_EQUAL(record_unpack(ok, 0, &fl, &room, &rl), -1);    /* empty */
	CU_ASSERT_EQUAL(record_unpack(bad, 3, &fl, &room, &rl), -1);   /* room > payload */
	CU_ASSERT(room == NULL && fl == 99 && rl == 99);               /* untouched */
	CU_ASSERT_EQUAL(record_unpack(edge, 2, &fl, &room, &rl), 0);   /* room, no frame */
	CU_ASSERT(fl == 0 && rl == 1 && room == (const char *)edge);
	CU_ASSERT_EQUAL(record_unpack(ok, 3, &fl, &room, &rl), 0);
	CU_ASSERT(fl == 1 && rl == 1 && room == (const char *)ok + 1);
}

static CU_TestInfo tests[] = {
	{ "basic put/next/copy", test_basic },
	{ "max payload and TOOBIG", test_max_payload_and_toobig },
	{ "wrap-around, variable sizes", test_wrap_variable_sizes },
	{ "header straddles the end", test_wrap_header },
	{ "uplink full, release, reset", test_uplink_full },
	{ "broadcast lapped, exact loss", test_bcast_lapped },
	{ "broadcast lapped during copy", test_bcast_lapped_during_copy },
	{ "several consumers", test_several_consumers },
	{ "waiter", test_waiter },
	{ "shm layout", test_shm_layout },
	{ "cross-process broadcast", test_xproc_bcast },
	{ "cross-process uplink", test_xproc_uplink },
	{ "cross-process wake-up", test_xproc_waiter },
	{ "record pack/unpack through a ring", test_record_roundtrip },
	{ "record malformed", test_record_malformed },
	CU_TEST_INFO_NULL
};

CU_MAIN("ring", tests)
