/* SPDX-License-Identifier: MIT */
/*
 * test_history.c - history.c: frame splicing, offsets per room, what a
 * read answers for ?history=N and ?since=&epoch= (recovered or a gap), the
 * byte bound of an answer, and the ttl.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cu.h"
#include "history.h"

#define F1 "{\"id\":\"a\",\"type\":\"chat\",\"data\":{\"x\":1.0}}"

struct got {
	int n;
	uint64_t off[64];
	size_t bytes;
};

static void collect(void *arg, const char *frame, size_t len)
{
	struct got *g = arg;
	uint64_t o = 0;

	CU_ASSERT(history_frame_offset(frame, len, &o));
	if (g->n < 64)
		g->off[g->n] = o;
	g->n++;
	g->bytes += len;
}

static void test_splice(void)
{
	char buf[256], m[256];
	size_t n = history_splice(buf, sizeof(buf), F1, strlen(F1), 42, "e1");
	uint64_t o = 0;

	CU_ASSERT_EQUAL(n, strlen("{\"offset\":42,\"epoch\":\"e1\",") + strlen(F1) - 1);
	CU_ASSERT(memcmp(buf, "{\"offset\":42,\"epoch\":\"e1\",\"id\":\"a\"", 34) == 0);
	CU_ASSERT(memcmp(buf + n - 17, "\"data\":{\"x\":1.0}}", 17) == 0);  /* verbatim */
	CU_ASSERT(history_frame_offset(buf, n, &o) && o == 42);
	{
		const char *ep = NULL;
		size_t el = 0;

		CU_ASSERT(history_frame_epoch(buf, n, &ep, &el) && el == 2 &&
			  memcmp(ep, "e1", 2) == 0);
		CU_ASSERT_FALSE(history_frame_epoch(F1, strlen(F1), &ep, &el));
		CU_ASSERT_FALSE(history_frame_epoch(buf, 24, &ep, &el));   /* cut in the epoch */
	}
	n = history_mark(m, sizeof(m), buf, n);
	CU_ASSERT(memcmp(m, "{\"history\":true,\"offset\":42,", 28) == 0);
	CU_ASSERT(history_frame_offset(m, n, &o) && o == 42);
	CU_ASSERT_FALSE(history_frame_offset(F1, strlen(F1), &o));
	CU_ASSERT_EQUAL(history_splice(buf, 10, F1, strlen(F1), 1, "e"), 0);  /* too small */
	CU_ASSERT_EQUAL(history_splice(buf, sizeof(buf), "[]", 2, 1, "e"), 0);
	n = history_splice(buf, sizeof(buf), "{}", 2, 7, "e");
	CU_ASSERT(n == strlen("{\"offset\":7,\"epoch\":\"e\"}") &&
		  memcmp(buf, "{\"offset\":7,\"epoch\":\"e\"}", n) == 0);
}

static void test_epoch_valid(void)
{
	CU_ASSERT(history_epoch_valid("0123abcdEF_-", 12));
	CU_ASSERT_FALSE(history_epoch_valid("", 0));
	CU_ASSERT_FALSE(history_epoch_valid("a\"b", 3));
	CU_ASSERT_FALSE(history_epoch_valid("012345678901234567890123456789012", 33));
}

static void test_offsets_per_room(void)
{
	struct history *h = history_new(3, 60000);
	size_t n;
	const char *f;
	uint64_t o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	for (int i = 1; i <= 5; i++) {
		f = history_append(h, "a", 1, F1, strlen(F1), 0, &n);
		CU_ASSERT(f != NULL && history_frame_offset(f, n, &o) && o == (uint64_t)i);
	}
	f = history_append(h, "b", 1, F1, strlen(F1), 0, &n);
	CU_ASSERT(f != NULL && history_frame_offset(f, n, &o) && o == 1);
	f = history_append(h, "", 0, F1, strlen(F1), 0, &n);      /* global */
	CU_ASSERT(f != NULL && history_frame_offset(f, n, &o) && o == 1);
	CU_ASSERT_EQUAL(history_rooms(h), 3);
	CU_ASSERT_PTR_NULL(history_append(h, "a", 1, "nope", 4, 0, &n));
	history_free(h);
}

static void read_q(struct history *h, int64_t since, const char *epoch, uint32_t count,
		   size_t max, struct got *g, struct history_end *e)
{
	struct history_req q = { .since = since, .count = count };

	memset(g, 0, sizeof(*g));
	snprintf(q.epoch, sizeof(q.epoch), "%s", epoch);
	history_read(h, "r", 1, &q, 0, max, collect, g, e);
}

static void test_read(void)
{
	struct history *h = history_new(4, 60000);
	struct history_end e;
	struct got g;
	char epoch[HISTORY_EPOCH_MAX + 1];
	size_t n;

	read_q(h, -1, "", 10, 1 << 20, &g, &e);      /* an unknown room is made */
	CU_ASSERT(g.n == 0 && e.top == 0 && e.status == HISTORY_OK && e.epoch[0]);
	memcpy(epoch, e.epoch, sizeof(epoch));
	read_q(h, 0, epoch, 4, 1 << 20, &g, &e);
	CU_ASSERT(g.n == 0 && e.status == HISTORY_OK);
	for (int i = 0; i < 6; i++)
		history_append(h, "r", 1, F1, strlen(F1), 0, &n);
	read_q(h, -1, "", 2, 1 << 20, &g, &e);       /* the last 2, oldest first */
	CU_ASSERT(g.n == 2 && g.off[0] == 5 && g.off[1] == 6 && e.top == 6);
	read_q(h, -1, "", 100, 1 << 20, &g, &e);     /* all that is kept */
	CU_ASSERT(g.n == 4 && g.off[0] == 3);
	read_q(h, 4, epoch, 4, 1 << 20, &g, &e);     /* since 4: 5 and 6 */
	CU_ASSERT(e.status == HISTORY_OK && g.n == 2 && g.off[0] == 5 && g.off[1] == 6);
	read_q(h, 2, epoch, 4, 1 << 20, &g, &e);     /* 3..6 kept: still whole */
	CU_ASSERT(e.status == HISTORY_OK && g.n == 4);
	read_q(h, 1, epoch, 4, 1 << 20, &g, &e);     /* 2 is gone: a gap */
	CU_ASSERT(e.status == HISTORY_GAP && g.n == 0);
	read_q(h, 6, epoch, 4, 1 << 20, &g, &e);     /* up to date */
	CU_ASSERT(e.status == HISTORY_OK && g.n == 0);
	read_q(h, 7, epoch, 4, 1 << 20, &g, &e);     /* from the future */
	CU_ASSERT(e.status == HISTORY_GAP);
	read_q(h, 4, "other", 4, 1 << 20, &g, &e);   /* another epoch */
	CU_ASSERT(e.status == HISTORY_GAP && g.n == 0);
	read_q(h, -1, "", 4, 2 * g.bytes + 1, &g, &e);
	read_q(h, -1, "", 4, 150, &g, &e);           /* the newest that fit */
	CU_ASSERT(g.n >= 1 && g.n < 4 && g.off[g.n - 1] == 6 && g.bytes <= 150);
	read_q(h, 2, epoch, 4, 150, &g, &e);         /* a recovery cut short has a gap */
	CU_ASSERT(e.status == HISTORY_GAP && g.n == 0);
	history_free(h);
}

static void test_ttl(void)
{
	struct history *h = history_new(4, 1000);
	struct history_end e;
	struct history_req q = { .since = -1, .count = 4 };
	char epoch[HISTORY_EPOCH_MAX + 1];
	struct got g = { 0 };
	size_t n;

	history_append(h, "r", 1, F1, strlen(F1), 0, &n);
	history_read(h, "r", 1, &q, 500, 1 << 20, collect, &g, &e);
	memcpy(epoch, e.epoch, sizeof(epoch));
	history_expire(h, 1400);                      /* read at 500: kept */
	CU_ASSERT_EQUAL(history_rooms(h), 1);
	history_expire(h, 1600);
	CU_ASSERT_EQUAL(history_rooms(h), 0);
	memset(&g, 0, sizeof(g));
	history_read(h, "r", 1, &q, 1700, 1 << 20, collect, &g, &e);
	CU_ASSERT(g.n == 0 && e.top == 0 && strcmp(e.epoch, epoch) != 0);  /* a new life */
	history_free(h);
	history_free(NULL);
	CU_ASSERT_PTR_NULL(history_new(0, 1));
}

static void test_query(void)
{
	struct history_req q;
	int asked;

	CU_ASSERT(history_query_parse(NULL, NULL, NULL, &q, &asked) == 0 && !asked);
	CU_ASSERT(history_query_parse("25", NULL, NULL, &q, &asked) == 0 && asked &&
		  q.since == -1 && q.count == 25);
	CU_ASSERT(history_query_parse("0", NULL, NULL, &q, &asked) == 0 && q.count == 0);
	CU_ASSERT(history_query_parse("7", "12", "abc", &q, &asked) == 0 && q.since == 12 &&
		  strcmp(q.epoch, "abc") == 0);
	CU_ASSERT(history_query_parse("-1", NULL, NULL, &q, &asked) == -1);
	CU_ASSERT(history_query_parse("", NULL, NULL, &q, &asked) == -1);
	CU_ASSERT(history_query_parse("1x", NULL, NULL, &q, &asked) == -1);
	CU_ASSERT(history_query_parse("10001", NULL, NULL, &q, &asked) == -1);
	CU_ASSERT(history_query_parse("99999999999999999999", NULL, NULL, &q, &asked) == -1);
	CU_ASSERT(history_query_parse(NULL, "5", NULL, &q, &asked) == -1);
	CU_ASSERT(history_query_parse(NULL, NULL, "e", &q, &asked) == -1);
	CU_ASSERT(history_query_parse(NULL, "-5", "e", &q, &asked) == -1);
	CU_ASSERT(history_query_parse(NULL, "9007199254740992", "e", &q, &asked) == -1);
	CU_ASSERT(history_query_parse(NULL, "5", "e\"x", &q, &asked) == -1);
}

static void test_data_add(void)
{
	char buf[128] = "{\"type\":\"system\",\"data\":{\"event\":\"welcome\"},\"t\":1}";
	char e[128] = "{\"data\":{}}";
	size_t n = history_data_add(buf, strlen(buf), sizeof(buf), "\"recovered\":true", 16);

	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf,
		"{\"type\":\"system\",\"data\":{\"recovered\":true,\"event\":\"welcome\"},\"t\":1}");
	n = history_data_add(e, strlen(e), sizeof(e), "\"a\":1", 5);
	e[n] = '\0';
	CU_ASSERT_STRING_EQUAL(e, "{\"data\":{\"a\":1}}");
	CU_ASSERT_EQUAL(history_data_add(e, n, n + 2, "\"b\":2", 5), 0);
}

static CU_TestInfo tests[] = {
	{ "splice, mark and read an offset", test_splice },
	{ "epochs a client may send", test_epoch_valid },
	{ "offsets count per room", test_offsets_per_room },
	{ "history=N and since=&epoch=", test_read },
	{ "ttl forgets idle rooms", test_ttl },
	{ "the upgrade's query", test_query },
	{ "members added to data", test_data_add },
	CU_TEST_INFO_NULL,
};

CU_MAIN("history", tests)
