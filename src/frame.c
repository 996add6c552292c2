/* SPDX-License-Identifier: MIT */
/*
 * frame.c - refcounted frames and their RFC 6455 header (see frame.h).
 */
#include <stdlib.h>

#include "frame.h"

struct frame *frame_new(size_t len)
{
	struct frame *f = malloc(sizeof(*f) + LWS_PRE + len);

	if (f != NULL) {
		f->refs = 0;
		f->len = (uint32_t)len;
	}
	return f;
}

void frame_unref(struct frame *f)
{
	if (--f->refs == 0)
		free(f);
}

size_t frame_header(unsigned char *h, size_t len)
{
	h[0] = 0x81;
	if (len < 126) {
		h[1] = (unsigned char)len;
		return 2;
	}
	if (len < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return FRAME_HEADER_MAX;
}
