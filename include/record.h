/* SPDX-License-Identifier: MIT */
/*
 * record.h - the payload of a ring record, for every kind of shm.h's enum
 * rec_kind: the serialised frame (empty for REC_JOIN and REC_LEAVE; for
 * REC_MEMBER and REC_GONE one byte of RECORD_MEMBER_* flags, then the
 * client id), then
 * the room bytes, then one byte with the room's length (0 = global).
 *
 *     frame | room | room-length byte
 *
 * The room trails the frame so a reader copies the payload once, straight
 * behind LWS_PRE headroom, and delivers the frame where it lies.  Pure, and
 * inline: a worker unpacks every broadcast record on the fan-out path.
 */
#ifndef CHATD_RECORD_H
#define CHATD_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ring.h"

#define RECORD_NIOV 3           /* iovec parts of a packed record */
#define RECORD_MEMBER_ANNOUNCED 1  /* REC_MEMBER/REC_GONE: its online went out */

/* Put a record into the broadcast ring (relay.c's, which counts it and
 * wakes the workers): kind (enum rec_kind), frame, and the room part (a
 * room, room_len 0 = global, or an address such as a struct history_addr).
 * Master only: what hserve, gapfill and roster put through. */
typedef void (*bcast_put_fn)(void *arg, uint32_t kind, const char *frame, size_t frame_len,
			     const char *room, size_t room_len);
/* Bytes the broadcast ring can take now without writing over a record the
 * slowest worker has not read yet (as of its last read), relay.c's.  What
 * puts many frames at once (a history answer, a page of a gap fill) puts
 * them only when record_ring_size() of them all fits, else later. */
typedef uint64_t (*bcast_room_fn)(void *arg);

/* A record gathered for ring_put()/ring_push(r->iov, RECORD_NIOV).  iov
 * points at the caller's frame and room and at room_len below: the struct
 * must stay where it is until the ring has copied it. */
struct record {
	struct iovec iov[RECORD_NIOV];
	unsigned char room_len;
};

/* Broadcast ring bytes the record of a frame of frame_len for a room (or an
 * address) of room_len takes (bcast_room_fn). */
static inline uint64_t record_ring_size(size_t frame_len, size_t room_len)
{
	return ring_rec_size(frame_len + room_len + 1);
}

/* Gather frame[0..frame_len) and room[0..room_len) (room_len 0 = global,
 * at most CHATD_ROOM_MAX) into r; nothing is copied. */
static inline void record_pack(struct record *r, const void *frame, size_t frame_len,
			       const char *room, size_t room_len)
{
	r->room_len = (unsigned char)room_len;
	r->iov[0] = (struct iovec){ (void *)frame, frame_len };
	r->iov[1] = (struct iovec){ (void *)room, room_len };
	r->iov[2] = (struct iovec){ &r->room_len, 1 };
}

/* Split a record's payload p[0..len) in place: the frame is p[0..*frame_len),
 * the room (*room)[0..*room_len).  0, or -1 when the payload is malformed
 * (empty, or its room-length byte says more than the payload holds); the
 * outputs are then untouched. */
static inline int record_unpack(const unsigned char *p, size_t len, size_t *frame_len,
				const char **room, size_t *room_len)
{
	size_t rl;

	if (len == 0 || (rl = p[len - 1]) + 1 > len)
		return -1;
	*frame_len = len - 1 - rl;
	*room = (const char *)p + *frame_len;
	*room_len = rl;
	return 0;
}

#endif
