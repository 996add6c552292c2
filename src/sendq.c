/* SPDX-License-Identifier: MIT */
/*
 * sendq.c - a connection's ring of frame references (see sendq.h).
 */
#include <stdlib.h>
#include <string.h>

#include "sendq.h"

#define SENDQ_MIN 4   /* the first ring's size */

static int sendq_grow(struct sendq *s)
{
	uint32_t ncap = s->cap ? s->cap * 2 : SENDQ_MIN;
	struct frame **nq = realloc(s->q, ncap * sizeof(*nq));

	if (nq == NULL)
		return -1;
	/* unwrap: the part that wrapped to the front moves behind the old end */
	if (s->head + s->len > s->cap)
		memcpy(nq + s->cap, nq, (s->head + s->len - s->cap) * sizeof(*nq));
	s->q = nq;
	s->cap = ncap;
	return 0;
}

int sendq_push(struct sendq *s, struct frame *f)
{
	if (s->len == s->cap && sendq_grow(s) < 0)
		return -1;
	s->q[(s->head + s->len) & (s->cap - 1)] = f;
	f->refs++;
	s->len++;
	return 0;
}

struct frame *sendq_pop(struct sendq *s)
{
	struct frame *f = s->q[s->head];

	s->head = (s->head + 1) & (s->cap - 1);
	s->len--;
	return f;
}

int sendq_cork(struct sendq *s, unsigned char *buf, size_t cap, size_t *bytes, size_t *used)
{
	unsigned char *p = buf, *end = buf + cap;
	int n = 0;

	*bytes = 0;
	while (s->len > 0) {
		struct frame *f = s->q[s->head];

		if ((size_t)(end - p) < f->len + FRAME_HEADER_MAX)
			break;
		p += frame_header(p, f->len);
		memcpy(p, f->data + LWS_PRE, f->len);
		p += f->len;
		*bytes += f->len;
		frame_unref(sendq_pop(s));
		n++;
	}
	*used = (size_t)(p - buf);
	return n;
}

void sendq_clear(struct sendq *s)
{
	while (s->len > 0)
		frame_unref(sendq_pop(s));
	free(s->q);
	s->q = NULL;
	s->cap = s->head = 0;
}
