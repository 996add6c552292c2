/* SPDX-License-Identifier: MIT */
/*
 * fuzz_msg.c - libFuzzer target: msg_parse() on any client message, then
 * msg_build_raw() of what it accepted (the daemon's per-message path).
 * Checks that the raw "data" text found by msg.c's scanner is exactly the
 * value jansson parsed, and that the frame built around it is valid JSON
 * carrying the same data.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The JSON text buf[0..n) parses to a value equal to want. */
static int same_json(const char *buf, size_t n, const json_t *want)
{
	json_t *got = json_loadb(buf, n, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
	int ok = got != NULL && json_equal(got, want);

	json_decref(got);
	return ok;
}

/* [p, p + n) lies within [buf, buf + size). */
static int inside(const char *p, size_t n, const uint8_t *buf, size_t size)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;

	return a >= b && a - b <= size && n <= size - (a - b);
}

static void check_frame(const char *out, size_t n, const json_t *want)
{
	json_t *root = json_loadb(out, n, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);

	if (root == NULL || !json_equal(json_object_get(root, "data"), want))
		abort();
	json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 17];
	struct msg_in m;
	size_t n;

	if (msg_parse((const char *)data, size, &m) != MSG_OK)
		return 0;
	if (m.kind == MSG_CHAT) {
		if (m.raw == NULL || (!inside(m.raw, m.raw_len, data, size) &&
				      json_object_size(m.data) != 0))
			abort();   /* outside the input, yet not the "{}" of no data */
		if (!same_json(m.raw, m.raw_len, m.data))
			abort();
		n = msg_build_raw(out, sizeof(out), "chat", "room", "from", m.raw, m.raw_len);
		if (n > 0)
			check_frame(out, n, m.data);
		msg_build(out, sizeof(out), "chat", "room", "from", m.data);
	}
	msg_in_clear(&m);
	return 0;
}
