/* SPDX-License-Identifier: MIT */
/*
 * shm.c - the shared region: one anonymous shared mapping made by the master
 * before the first fork, inherited by every worker at the same address.
 *
 * Layout (offsets from the start, each aligned to 64 bytes):
 *   struct shm_hdr                    stats, waiter, the offsets below
 *   bcast_off:  struct ring + data    the broadcast ring
 *   uplink_off: CHATD_SLOTS x (struct ring + data), uplink_stride apart
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "shm.h"

#define SHM_ALIGN 64u

_Static_assert(sizeof(struct master_stats) % SHM_ALIGN == 0,
	       "master stats keep cache-line alignment");
_Static_assert(sizeof(struct ring) % SHM_ALIGN == 0, "ring header is whole lines");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomics are plain words");

static size_t shm_align(size_t n)
{
	return (n + SHM_ALIGN - 1) & ~(size_t)(SHM_ALIGN - 1);
}

static int shm_valid_ring_size(size_t n)
{
	return n >= 4096 && (n & (n - 1)) == 0 && n <= ((size_t)1 << 40);
}

/* Map and lay out the region (master, before any fork): the header zeroed
 * with magic/version/size/offsets filled, every ring initialised and empty.
 * NULL on error with errno set (EINVAL for a size that is not a power of two
 * >= 4096, else mmap's). */
struct shm_hdr *shm_create(size_t ring_size, size_t uplink_size)
{
	size_t bcast_off = shm_align(sizeof(struct shm_hdr));
	size_t stride = ring_footprint(uplink_size);
	size_t uplink_off = shm_align(bcast_off + ring_footprint(ring_size));
	size_t total;
	struct shm_hdr *h;
	void *p;

	if (!shm_valid_ring_size(ring_size) || !shm_valid_ring_size(uplink_size)) {
		errno = EINVAL;
		return NULL;
	}
	stride = shm_align(stride);
	total = uplink_off + (size_t)CHATD_SLOTS * stride;
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	h = p;  /* anonymous mappings are zero-filled */
	h->magic = SHM_MAGIC;
	h->version = SHM_VERSION;
	h->size = total;
	h->bcast_off = bcast_off;
	h->uplink_off = uplink_off;
	h->uplink_stride = stride;
	ring_init(shm_bcast(h), ring_size);
	for (int i = 0; i < CHATD_SLOTS; i++)
		ring_init(shm_uplink(h, i), uplink_size);
	return h;
}

/* Unmap the region (NULL is harmless).  Other processes keep their mapping. */
void shm_destroy(struct shm_hdr *h)
{
	if (h != NULL)
		munmap(h, h->size);
}

/* The broadcast ring. */
struct ring *shm_bcast(struct shm_hdr *h)
{
	return (struct ring *)((unsigned char *)h + h->bcast_off);
}

/* The uplink ring of worker slot `slot` (0 <= slot < CHATD_SLOTS). */
struct ring *shm_uplink(struct shm_hdr *h, int slot)
{
	return (struct ring *)((unsigned char *)h + h->uplink_off +
			       (size_t)slot * h->uplink_stride);
}
