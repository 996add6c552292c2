/* SPDX-License-Identifier: MIT */
/*
 * ring.c - variable-length record rings in shared memory (see ring.h).
 *
 * Positions are monotonically increasing 64-bit byte offsets; the byte of
 * position p lives at data[p & mask].  A record is a struct ring_rec header
 * followed by the payload, the whole padded to 8 bytes; it may straddle the
 * end of the data area and is then copied in two parts.
 *
 * Broadcast (one writer, N readers, overwriting) is a seqlock per byte
 * range.  The writer of a record that ends at `new_res`:
 *   1. moves `tail` past the records it is about to overwrite (it wrote
 *      their headers itself, so it can walk them) and stores it (release);
 *   2. stores reserve = new_res, then a release fence: any reader that sees
 *      one of the bytes copied below also sees the new reserve;
 *   3. copies header and payload;
 *   4. stores head = new_res (release): the record is complete.
 * A reader copies bytes at [pos, pos + n) out, issues an acquire fence and
 * reloads `reserve`: if reserve - pos > size the writer has started to
 * overwrite position pos (it overwrites in increasing order, so the first
 * byte of a record goes first) and the copy may be torn: the reader is
 * lapped and resynchronises to `tail`.
 *
 * Uplink (one writer, one reader) uses the same reader code; the writer
 * refuses to write past the reader's released position (`tail`), so the
 * reserve check never fires there.
 *
 * Nothing here makes a system call or allocates: ring_put, ring_next and
 * ring_copy are on the message hot path.
 */
#include <string.h>

#include "chatd.h"
#include "ring.h"

struct ring_rec {
	uint32_t len;   /* payload bytes */
	uint32_t kind;
	uint64_t seq;
};

#define RING_HDR   ((uint64_t)sizeof(struct ring_rec))
#define RING_ALIGN 8u

_Static_assert(sizeof(struct ring) == 64, "struct ring is one cache line");
_Static_assert(sizeof(struct ring_rec) == 16, "record header is 16 bytes (ring_rec_size)");
_Static_assert(RING_ALIGN == 8, "records are padded to 8 bytes (ring_rec_size)");
_Static_assert(sizeof(struct ring_waiter) == 8, "ring_waiter layout");

static inline unsigned char *ring_data(const struct ring *r)
{
	return (unsigned char *)(r + 1);
}

/* Copy n bytes from src into the ring at position pos, wrapping. */
static inline void ring_write_at(struct ring *r, uint64_t pos, const void *src, size_t n)
{
	uint64_t i = pos & r->mask;
	uint64_t first = r->size - i;

	if (n <= first) {
		memcpy(ring_data(r) + i, src, n);
	} else {
		memcpy(ring_data(r) + i, src, first);
		memcpy(ring_data(r), (const unsigned char *)src + first, n - first);
	}
}

/* Copy n bytes out of the ring from position pos, wrapping. */
static inline void ring_read_at(const struct ring *r, uint64_t pos, void *dst, size_t n)
{
	uint64_t i = pos & r->mask;
	uint64_t first = r->size - i;

	if (n <= first) {
		memcpy(dst, ring_data(r) + i, n);
	} else {
		memcpy(dst, ring_data(r) + i, first);
		memcpy((unsigned char *)dst + first, ring_data(r), n - first);
	}
}

/* Bytes of shared memory a ring of `size` data bytes needs (a multiple of
 * 64, so rings laid out back to back stay cache-line aligned). */
size_t ring_footprint(size_t size)
{
	return (sizeof(struct ring) + size + 63) & ~(size_t)63;
}

/* Initialise a ring in place (master, before any fork).  size must be a power
 * of two >= 4096; the caller checks that (conf does). */
void ring_init(struct ring *r, size_t size)
{
	memset(r, 0, sizeof(*r));
	r->size = size;
	r->mask = size - 1;
	ring_reset(r);
}

/* Largest payload one record may carry: a quarter of the ring minus the
 * header (so a record never displaces more than a quarter of the history and
 * a reader always has room to catch up), capped at CHATD_MAX_FRAME. */
size_t ring_payload_max(size_t size)
{
	uint64_t m = size / 4 - RING_HDR;

	return m > CHATD_MAX_FRAME ? CHATD_MAX_FRAME : (size_t)m;
}

size_t ring_max_payload(const struct ring *r)
{
	return ring_payload_max(r->size);
}

/* Total length of an iovec array; UINT64_MAX if it cannot be a record. */
static uint64_t ring_iov_len(const struct iovec *iov, int niov)
{
	uint64_t n = 0;

	for (int i = 0; i < niov; i++) {
		if (iov[i].iov_len > CHATD_MAX_FRAME)
			return UINT64_MAX;
		n += iov[i].iov_len;
	}
	return n;
}

/* Writer: copy header + payload of a record starting at `pos`, take the next
 * sequence number, then publish head = pos + need (release). */
static void ring_write_rec(struct ring *r, uint64_t pos, uint64_t need, uint32_t kind,
			   uint64_t len, const struct iovec *iov, int niov)
{
	struct ring_rec h;
	uint64_t p = pos + RING_HDR;

	h.len = (uint32_t)len;
	h.kind = kind;
	h.seq = atomic_load_explicit(&r->seq, memory_order_relaxed);
	ring_write_at(r, pos, &h, sizeof(h));
	for (int i = 0; i < niov; i++) {
		if (iov[i].iov_len == 0)
			continue;
		ring_write_at(r, p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	atomic_store_explicit(&r->seq, h.seq + 1, memory_order_relaxed);
	atomic_store_explicit(&r->head, pos + need, memory_order_release);
}

/* Broadcast writer (the master only): append a record made of the gathered
 * iov parts, overwriting the oldest records when the ring is full; never
 * waits.  RING_OK, or RING_TOOBIG (nothing written) when the payload exceeds
 * ring_max_payload(). */
int ring_put(struct ring *r, uint32_t kind, const struct iovec *iov, int niov)
{
	uint64_t len = ring_iov_len(iov, niov);
	uint64_t head, tail, new_res, need;

	if (len > ring_max_payload(r))
		return RING_TOOBIG;
	need = ring_rec_size(len);
	head = atomic_load_explicit(&r->head, memory_order_relaxed);
	tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	new_res = head + need;
	if (new_res - tail > r->size) {
		/* Drop the oldest records; their headers are ours and intact. */
		while (new_res - tail > r->size) {
			struct ring_rec old;

			ring_read_at(r, tail, &old, sizeof(old));
			tail += ring_rec_size(old.len);
		}
		atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
	atomic_store_explicit(&r->reserve, new_res, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	ring_write_rec(r, head, need, kind, len, iov, niov);
	return RING_OK;
}

/* Uplink writer (the worker owning the slot): append a record unless the
 * reader has not released enough space.  RING_OK, RING_FULL or RING_TOOBIG;
 * nothing is written unless RING_OK. */
int ring_push(struct ring *r, uint32_t kind, const struct iovec *iov, int niov)
{
	uint64_t len = ring_iov_len(iov, niov);
	uint64_t head, tail, need;

	if (len > ring_max_payload(r))
		return RING_TOOBIG;
	need = ring_rec_size(len);
	head = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* acquire: the reader's copies out of this space are finished */
	tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (head + need - tail > r->size)
		return RING_FULL;
	/* reserve never overtakes the reader here; kept for the shared reader */
	atomic_store_explicit(&r->reserve, head + need, memory_order_relaxed);
	ring_write_rec(r, head, need, kind, len, iov, niov);
	return RING_OK;
}

/* Reader: start at the current head; only records put from now on are seen.
 * Head is loaded before seq: the writer stores seq before head, so the seq
 * we see is at least that of the record at pos and a put racing with us can
 * never be counted as lost (at worst a loss before the first read is
 * undercounted). */
void ring_cursor_init(struct ring *r, struct ring_cursor *c)
{
	memset(c, 0, sizeof(*c));
	c->pos = atomic_load_explicit(&r->head, memory_order_acquire);
	c->seq = atomic_load_explicit(&r->seq, memory_order_acquire);
}

/* Move a lapped cursor to the oldest whole record.  The loss is counted by
 * ring_next() from the sequence number found there. */
static int ring_resync(struct ring *r, struct ring_cursor *c)
{
	c->pos = atomic_load_explicit(&r->tail, memory_order_acquire);
	c->kind = 0;
	c->len = 0;
	return RING_LAPPED;
}

/* True when the writer may have started overwriting position pos: call after
 * copying bytes out of the ring. */
static inline int ring_overrun(struct ring *r, uint64_t pos)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&r->reserve, memory_order_relaxed) - pos > r->size;
}

/* Reader: find the record at the cursor; fills c->kind and c->len and counts
 * records skipped since the last one (c->lost).  RING_OK, RING_EMPTY, or
 * RING_LAPPED (the cursor moved to the oldest whole record; call again). */
int ring_next(struct ring *r, struct ring_cursor *c)
{
	struct ring_rec h;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t pos = c->pos;

	if (head == pos)
		return RING_EMPTY;
	/* Cursor ahead of head: it was resynchronised to a tail the writer
	 * stored before publishing the head that will cover it. */
	if ((int64_t)(head - pos) < 0)
		return RING_EMPTY;
	if (head - pos > r->size ||
	    (int64_t)(pos - atomic_load_explicit(&r->tail, memory_order_acquire)) < 0)
		return ring_resync(r, c);
	ring_read_at(r, pos, &h, sizeof(h));
	if (ring_overrun(r, pos))
		return ring_resync(r, c);
	/* Cannot happen with an intact header; never trust it for a copy. */
	if (h.len > ring_max_payload(r) || ring_rec_size(h.len) > head - pos)
		return ring_resync(r, c);
	if (h.seq > c->seq)
		c->lost += h.seq - c->seq;
	c->seq = h.seq;
	c->kind = h.kind;
	c->len = h.len;
	return RING_OK;
}

/* Reader: copy the payload of the record ring_next() found into dst (at least
 * c->len bytes) and step past it.  RING_OK, or RING_LAPPED when the record was
 * overwritten meanwhile: dst is garbage, the cursor is at the oldest record
 * and the skipped record will be counted in c->lost by the next ring_next(). */
int ring_copy(struct ring *r, struct ring_cursor *c, void *dst)
{
	if (c->len > 0)
		ring_read_at(r, c->pos + RING_HDR, dst, c->len);
	if (ring_overrun(r, c->pos))
		return ring_resync(r, c);
	c->pos += ring_rec_size(c->len);
	c->seq++;
	return RING_OK;
}

/* Uplink reader (the master): give the space before the cursor back to the
 * writer.  release: our copies out of it are done before the writer reuses it. */
void ring_release(struct ring *r, const struct ring_cursor *c)
{
	atomic_store_explicit(&r->tail, c->pos, memory_order_release);
}

/* Uplink: empty the ring (master only, while no process writes or reads it);
 * the reader's cursor must be re-initialised with ring_cursor_init(). */
void ring_reset(struct ring *r)
{
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->reserve, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&r->seq, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

/*
 * Wake-up suppression.  The consumer does  sleeping = 1; fence; load heads
 * and the producer does  store head; fence; load sleeping.  With both
 * seq_cst fences, the two fences are totally ordered: either the consumer's
 * fence comes first and the producer sees sleeping == 1 (and writes the
 * eventfd), or the producer's comes first and the consumer's re-check sees
 * the new head (and does not sleep).  A missed wake-up would need both loads
 * to see the old values, which that order forbids.  Release/acquire alone
 * cannot give this store->load ordering.
 */

/* Consumer: announce sleep; then re-check every ring before epoll_wait. */
void ring_waiter_sleep(struct ring_waiter *w)
{
	atomic_store_explicit(&w->sleeping, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
}

/* Consumer: after epoll_wait returns. */
void ring_waiter_awake(struct ring_waiter *w)
{
	atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

/* Producer, after a successful push: 1 when the consumer announced sleep and
 * this producer is the one that must write the eventfd. */
int ring_waiter_should_wake(struct ring_waiter *w)
{
	atomic_thread_fence(memory_order_seq_cst);
	/* Plain load first: no cache-line write on the common, awake path. */
	if (atomic_load_explicit(&w->sleeping, memory_order_relaxed) == 0)
		return 0;
	return atomic_exchange_explicit(&w->sleeping, 0, memory_order_seq_cst) == 1;
}
