/* SPDX-License-Identifier: MIT */
/*
 * frame.h - what a worker puts on the wire: a refcounted frame shared by
 * every local recipient of a message, and the RFC 6455 header written in
 * front of it when several frames are corked into one write.  Worker side
 * only (LWS_PRE headroom); no logging.
 */
#ifndef CHATD_FRAME_H
#define CHATD_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>

/* The longest header frame_header() writes. */
#define FRAME_HEADER_MAX 10

/* A frame shared by every recipient in this worker: one copy per message
 * per worker.  refs = queue entries pointing at it; freed at 0. */
struct frame {
	uint32_t refs;
	uint32_t len;                  /* payload bytes at data + LWS_PRE */
	unsigned char data[];          /* LWS_PRE headroom, then payload */
};

struct frame *frame_new(size_t len);   /* refs = 0; NULL on ENOMEM */
void frame_unref(struct frame *f);

/* Write into h the server's header for a final text frame of len bytes
 * (unmasked); returns its size (2, 4 or FRAME_HEADER_MAX). */
size_t frame_header(unsigned char *h, size_t len);

#endif
