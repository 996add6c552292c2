/* SPDX-License-Identifier: MIT */
/*
 * fuzz_envelope.c - libFuzzer target: envelope_decode() on any Redis
 * payload; what decodes must encode again and decode to the same fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e, e2;
	msgpack_sbuffer sb;

	if (envelope_decode((const char *)data, size, &e) != 0)
		return 0;
	msgpack_sbuffer_init(&sb);
	if (envelope_encode(&sb, e.pod, e.pod_len, e.room, e.room_len, e.frame, e.frame_len) != 0 ||
	    envelope_decode(sb.data, sb.size, &e2) != 0 || !same(e.pod, e.pod_len, e2.pod, e2.pod_len) ||
	    !same(e.room, e.room_len, e2.room, e2.room_len) ||
	    !same(e.frame, e.frame_len, e2.frame, e2.frame_len))
		abort();                /* a decoded envelope must survive a round trip */
	msgpack_sbuffer_destroy(&sb);
	return 0;
}
