/* SPDX-License-Identifier: MIT */
/*
 * test_sendq.c - a connection's send queue (sendq.c) and the frames on it
 * (frame.c): references, growth across the ring's wrap, corked packing.
 */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "frame.h"
#include "sendq.h"

/* A frame holding text, refs 0. */
static struct frame *text_frame(const char *text)
{
	size_t n = strlen(text);
	struct frame *f = frame_new(n);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	memcpy(f->data + LWS_PRE, text, n);
	return f;
}

static void test_header(void)
{
	unsigned char h[FRAME_HEADER_MAX];

	CU_ASSERT_EQUAL(frame_header(h, 5), 2);
	CU_ASSERT(h[0] == 0x81 && h[1] == 5);
	CU_ASSERT_EQUAL(frame_header(h, 300), 4);
	CU_ASSERT(h[1] == 126 && h[2] == 1 && h[3] == 44);
	CU_ASSERT_EQUAL(frame_header(h, 70000), FRAME_HEADER_MAX);
	CU_ASSERT(h[1] == 127 && h[7] == 1 && h[8] == 0x11 && h[9] == 0x70);
}

/* Pushes and pops around the wrap while the ring grows keep FIFO order. */
static void test_order_across_growth(void)
{
	struct sendq s = { 0 };
	struct frame *f = text_frame("x"), *g;
	char name[16];
	int next_in = 0, next_out = 0;

	for (int round = 0; round < 40; round++) {
		for (int k = 0; k < 3; k++) {
			snprintf(name, sizeof(name), "%d", next_in++);
			g = text_frame(name);
			CU_ASSERT_EQUAL(sendq_push(&s, g), 0);
		}
		g = sendq_pop(&s);
		snprintf(name, sizeof(name), "%d", next_out++);
		CU_ASSERT(g->len == strlen(name) && memcmp(g->data + LWS_PRE, name, g->len) == 0);
		frame_unref(g);
	}
	CU_ASSERT_EQUAL(s.len, 80);
	CU_ASSERT_EQUAL(s.cap & (s.cap - 1), 0);     /* a power of two */
	CU_ASSERT_EQUAL(sendq_push(&s, f), 0);
	CU_ASSERT_EQUAL(f->refs, 1);
	sendq_clear(&s);                             /* frees every frame */
	CU_ASSERT(s.len == 0 && s.cap == 0 && s.q == NULL);
}

/* Corked packing: whole frames only, headers in front, references dropped. */
static void test_cork(void)
{
	struct sendq s = { 0 };
	struct frame *a = text_frame("hello"), *b = text_frame("world!"), *big;
	unsigned char buf[64];
	size_t bytes, used;

	big = frame_new(100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big->data + LWS_PRE, 'z', 100);
	sendq_push(&s, a);
	sendq_push(&s, b);
	sendq_push(&s, big);
	CU_ASSERT_EQUAL(sendq_cork(&s, buf, sizeof(buf), &bytes, &used), 2);
	CU_ASSERT_EQUAL(bytes, 11);
	CU_ASSERT_EQUAL(used, 2 + 5 + 2 + 6);
	CU_ASSERT(memcmp(buf, "\x81\x05hello\x81\x06world!", used) == 0);
	CU_ASSERT_EQUAL(s.len, 1);                   /* the big one does not fit */
	CU_ASSERT_EQUAL(sendq_cork(&s, buf, sizeof(buf), &bytes, &used), 0);
	CU_ASSERT(bytes == 0 && used == 0 && s.len == 1);
	sendq_clear(&s);
	CU_ASSERT_EQUAL(sendq_cork(&s, buf, sizeof(buf), &bytes, &used), 0);
}

static CU_TestInfo tests[] = {
	{ "frame: RFC 6455 header sizes", test_header },
	{ "sendq: order across growth and wrap", test_order_across_growth },
	{ "sendq: corked packing", test_cork },
	CU_TEST_INFO_NULL,
};

CU_MAIN("sendq", tests)
