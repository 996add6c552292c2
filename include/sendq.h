/* SPDX-License-Identifier: MIT */
/*
 * sendq.h - a connection's send queue: a ring of references to shared
 * frames (frame.h) that grows on demand, and the packing of several queued
 * frames, headers included, into one buffer for a corked write.  The
 * policy (how long a queue may grow, what a full one means) is ws.c's.
 * Worker side; no logging, no system calls.
 */
#ifndef CHATD_SENDQ_H
#define CHATD_SENDQ_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* One per connection, zero-initialised (empty, nothing allocated). */
struct sendq {
	struct frame **q;      /* ring of frame references, cap a power of two */
	uint32_t head, len, cap;
};

/* Queue a reference to f (f->refs + 1).  0, or -1 when the ring cannot
 * grow (ENOMEM; nothing changed). */
int sendq_push(struct sendq *s, struct frame *f);

/* Take the head frame off the queue (len > 0); the caller owns that
 * reference (frame_unref() once written). */
struct frame *sendq_pop(struct sendq *s);

/*
 * Pop as many whole frames from the head as fit in buf[0..cap), each behind
 * its RFC 6455 header, dropping their references: *used bytes of buf, of
 * which *bytes are payload.  Returns how many frames were packed (0: the
 * head frame does not fit, or the queue is empty).
 */
int sendq_cork(struct sendq *s, unsigned char *buf, size_t cap, size_t *bytes, size_t *used);

/* Drop every reference and free the ring (empty again, as zeroed). */
void sendq_clear(struct sendq *s);

#endif
