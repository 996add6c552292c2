/* SPDX-License-Identifier: MIT */
/*
 * ring.h - variable-length record rings in shared memory.  The only code in
 * chatd that touches C11 atomics with release/acquire ordering.
 *
 * Two disciplines over one layout:
 *  - broadcast (one writer, many readers, overwriting): the master puts with
 *    ring_put(); every worker reads with its own process-local cursor and is
 *    told RING_LAPPED when the writer has overtaken it.  The writer never
 *    waits for a reader.
 *  - uplink (one writer, one reader): a worker pushes with ring_push(), which
 *    answers RING_FULL instead of overwriting; the master reads and then
 *    hands the space back with ring_release().
 *
 * A record is a 16-byte header (length, kind, sequence number) followed by
 * the payload, padded to 8 bytes.  Records may wrap around the end.
 */
#ifndef CHATD_RING_H
#define CHATD_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum ring_rc { RING_OK = 0, RING_EMPTY, RING_LAPPED, RING_FULL, RING_TOOBIG };

/* Lives in shared memory, followed by `size` bytes of data.  One per ring,
 * laid out by shm_create() in the master before the first fork. */
struct ring {
	uint64_t size;            /* data bytes, a power of two; W: master at init */
	uint64_t mask;
	_Atomic uint64_t head;    /* end of the last complete record. W: writer (release). R: readers (acquire) */
	_Atomic uint64_t reserve; /* end of the record being written. W: writer. R: readers, after copying */
	_Atomic uint64_t tail;    /* broadcast: oldest whole record (W: writer).
	                             uplink: reader's position (W: reader, release; R: writer, acquire) */
	_Atomic uint64_t seq;     /* sequence number of the next record. W: writer */
	uint64_t pad[2];
	/* unsigned char data[size] follows */
};

/* A reader's position.  Process-local; one per reader per ring. */
struct ring_cursor {
	uint64_t pos;   /* byte position of the next record */
	uint64_t seq;   /* sequence number expected next */
	uint64_t lost;  /* records skipped because the writer lapped us */
	uint32_t kind;  /* of the record ring_next() found */
	uint32_t len;   /* ... and its payload length */
};

/* Ring bytes a record of `len` payload bytes takes: a 16-byte header, the
 * payload, padding to 8. */
static inline uint64_t ring_rec_size(uint64_t len)
{
	return (16 + len + 7) & ~(uint64_t)7;
}

/* Bytes of shared memory a ring of `size` data bytes needs. */
size_t ring_footprint(size_t size);
/* Initialise a ring in place; size must be a power of two >= 4096. */
void ring_init(struct ring *r, size_t size);
/* Largest payload a record can carry in this ring. */
size_t ring_max_payload(const struct ring *r);
/* ... in a ring of `size` data bytes (a power of two >= 4096), before it
 * exists: for checking a configuration.  Pure. */
size_t ring_payload_max(size_t size);

/* Broadcast writer: append a record made of the gathered iov parts, overwriting
 * the oldest records if needed.  RING_OK or RING_TOOBIG. */
int ring_put(struct ring *r, uint32_t kind, const struct iovec *iov, int niov);
/* Uplink writer: like ring_put but RING_FULL when the reader has not released
 * enough space (nothing is written then). */
int ring_push(struct ring *r, uint32_t kind, const struct iovec *iov, int niov);

/* Reader: start at the current head (only records put from now on). */
void ring_cursor_init(struct ring *r, struct ring_cursor *c);
/* Reader: find the next record; fills c->kind and c->len.  RING_OK,
 * RING_EMPTY, or RING_LAPPED (the cursor has been moved to the oldest whole
 * record and c->lost counts what was skipped; call again). */
int ring_next(struct ring *r, struct ring_cursor *c);
/* Reader: copy the payload of the record ring_next() found into dst (at least
 * c->len bytes) and advance.  RING_OK, or RING_LAPPED if the record was
 * overwritten while copying (dst is garbage, the cursor is resynchronised). */
int ring_copy(struct ring *r, struct ring_cursor *c, void *dst);
/* Uplink reader: hand the space up to the cursor back to the writer. */
void ring_release(struct ring *r, const struct ring_cursor *c);
/* Uplink: reset to empty (master only, while no worker uses the ring). */
void ring_reset(struct ring *r);

/*
 * Wake-up suppression for a consumer that sleeps in epoll (the master): the
 * consumer announces it is going to sleep, re-checks its rings, then sleeps;
 * a producer writes the eventfd only when the consumer announced sleep.
 */
struct ring_waiter { _Atomic uint32_t sleeping; uint32_t pad; };
void ring_waiter_sleep(struct ring_waiter *w);   /* consumer: before the last check */
void ring_waiter_awake(struct ring_waiter *w);   /* consumer: after waking */
int  ring_waiter_should_wake(struct ring_waiter *w); /* producer: after a push; 1 = write the eventfd */

#endif
