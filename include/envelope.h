/* SPDX-License-Identifier: MIT */
/*
 * envelope.h - the msgpack envelope carried on Redis channels between pods:
 * a map {"v": 1, "pod": str, "room": str ("" = global), "frame": bin}
 * holding the already-serialised JSON frame, so receivers never re-serialise.
 */
#ifndef CHATD_ENVELOPE_H
#define CHATD_ENVELOPE_H

#include <stddef.h>
#include <msgpack.h>

#define ENVELOPE_VERSION 1

/* Borrowed views into the buffer given to envelope_decode(). */
struct envelope {
	unsigned    v;
	const char *pod;   size_t pod_len;
	const char *room;  size_t room_len;
	const char *frame; size_t frame_len;
};

/* Append the encoded envelope to sb.  0 / -1. */
int envelope_encode(msgpack_sbuffer *sb, const char *pod, size_t pod_len,
		    const char *room, size_t room_len, const char *frame, size_t frame_len);
/* What envelope_decode() found. */
enum envelope_rc {
	ENVELOPE_OK     = 0,
	ENVELOPE_BAD    = -1, /* not an envelope */
	ENVELOPE_NEWER  = -2, /* "v" is not ENVELOPE_VERSION (checked first: written first) */
};

/* Decode buf[0..len) into *e (pointers into buf; zeroed unless OK). */
enum envelope_rc envelope_decode(const char *buf, size_t len, struct envelope *e);

#endif
