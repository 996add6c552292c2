/* SPDX-License-Identifier: MIT */
/*
 * envelope.c - the msgpack envelope {"v":1,"pod":str,"room":str,"frame":bin}.
 *
 * Encoding goes through msgpack-c.  Decoding is a small bounds-checked
 * reader for this one fixed shape, so the views it returns point straight
 * into the caller's buffer (msgpack_unpack_next would copy into a zone) and
 * no input, however hostile, can make it read outside [buf, buf + len).
 */
#include <stdint.h>
#include <string.h>

#include "envelope.h"

int envelope_encode(msgpack_sbuffer *sb, const char *pod, size_t pod_len,
		    const char *room, size_t room_len, const char *frame, size_t frame_len)
{
	msgpack_packer pk;

	if (pod_len > UINT32_MAX || room_len > UINT32_MAX || frame_len > UINT32_MAX)
		return -1;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (msgpack_pack_map(&pk, 4) != 0 ||
	    msgpack_pack_str(&pk, 1) != 0 || msgpack_pack_str_body(&pk, "v", 1) != 0 ||
	    msgpack_pack_unsigned_int(&pk, ENVELOPE_VERSION) != 0 ||
	    msgpack_pack_str(&pk, 3) != 0 || msgpack_pack_str_body(&pk, "pod", 3) != 0 ||
	    msgpack_pack_str(&pk, pod_len) != 0 ||
	    msgpack_pack_str_body(&pk, pod, pod_len) != 0 ||
	    msgpack_pack_str(&pk, 4) != 0 || msgpack_pack_str_body(&pk, "room", 4) != 0 ||
	    msgpack_pack_str(&pk, room_len) != 0 ||
	    msgpack_pack_str_body(&pk, room, room_len) != 0 ||
	    msgpack_pack_str(&pk, 5) != 0 || msgpack_pack_str_body(&pk, "frame", 5) != 0 ||
	    msgpack_pack_bin(&pk, frame_len) != 0 ||
	    msgpack_pack_bin_body(&pk, frame, frame_len) != 0)
		return -1;
	return 0;
}

/* A cursor over the input; every read checks the bound. */
struct env_rd {
	const unsigned char *p, *end;
};

static int env_take(struct env_rd *r, size_t n, const unsigned char **out)
{
	if ((size_t)(r->end - r->p) < n)
		return -1;
	*out = r->p;
	r->p += n;
	return 0;
}

/* Big-endian unsigned of n (1, 2, 4 or 8) bytes. */
static int env_be(struct env_rd *r, size_t n, uint64_t *v)
{
	const unsigned char *q;

	if (env_take(r, n, &q) < 0)
		return -1;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = (*v << 8) | q[i];
	return 0;
}

/* A str (want_bin 0) or bin (want_bin 1) object: its bytes, in place. */
static int env_bytes(struct env_rd *r, int want_bin, const char **s, size_t *len)
{
	const unsigned char *t, *q;
	uint64_t n;
	int is_bin;

	if (env_take(r, 1, &t) < 0)
		return -1;
	if (*t >= 0xa0 && *t <= 0xbf) {
		n = *t & 0x1f;
		is_bin = 0;
	} else if (*t >= 0xd9 && *t <= 0xdb) {          /* str8/16/32 */
		if (env_be(r, (size_t)1 << (*t - 0xd9), &n) < 0)
			return -1;
		is_bin = 0;
	} else if (*t >= 0xc4 && *t <= 0xc6) {          /* bin8/16/32 */
		if (env_be(r, (size_t)1 << (*t - 0xc4), &n) < 0)
			return -1;
		is_bin = 1;
	} else {
		return -1;
	}
	if (is_bin != want_bin || env_take(r, (size_t)n, &q) < 0)
		return -1;
	*s = (const char *)q;
	*len = (size_t)n;
	return 0;
}

/* What env_uint() read. */
enum env_int { ENV_INT_UINT, ENV_INT_NEGATIVE, ENV_INT_BAD };

/* An integer of any msgpack width: ENV_INT_UINT when it fits the unsigned
 * range (in *v), ENV_INT_NEGATIVE (never a valid version), ENV_INT_BAD when
 * it is not an integer. */
static enum env_int env_uint(struct env_rd *r, uint64_t *v)
{
	const unsigned char *t;

	if (env_take(r, 1, &t) < 0)
		return ENV_INT_BAD;
	if (*t <= 0x7f) {
		*v = *t;
		return ENV_INT_UINT;
	}
	if (*t >= 0xe0)                                  /* negative fixint */
		return ENV_INT_NEGATIVE;
	if (*t >= 0xcc && *t <= 0xcf)                    /* uint8..uint64 */
		return env_be(r, (size_t)1 << (*t - 0xcc), v) < 0 ? ENV_INT_BAD : ENV_INT_UINT;
	if (*t >= 0xd0 && *t <= 0xd3) {                  /* int8..int64 */
		size_t n = (size_t)1 << (*t - 0xd0);

		if (env_be(r, n, v) < 0)
			return ENV_INT_BAD;
		if (n < 8 && (*v >> (8 * n - 1)))
			return ENV_INT_NEGATIVE;
		return (*v >> 63) ? ENV_INT_NEGATIVE : ENV_INT_UINT;
	}
	return ENV_INT_BAD;
}

/* The map header: the number of entries. */
static int env_map(struct env_rd *r, uint64_t *n)
{
	const unsigned char *t;

	if (env_take(r, 1, &t) < 0)
		return -1;
	if (*t >= 0x80 && *t <= 0x8f) {
		*n = *t & 0x0f;
		return 0;
	}
	if (*t == 0xde || *t == 0xdf)
		return env_be(r, *t == 0xde ? 2 : 4, n);
	return -1;
}

/* One key/value pair into *e; seen collects which keys were found.
 * ENVELOPE_OK, ENVELOPE_BAD or ENVELOPE_NEWER. */
static enum envelope_rc env_entry(struct env_rd *r, struct envelope *e, unsigned *seen)
{
	const char *k;
	size_t klen;
	unsigned bit;
	uint64_t v;
	int rc = 0;

	if (env_bytes(r, 0, &k, &klen) < 0)
		return ENVELOPE_BAD;
	if (klen == 1 && memcmp(k, "v", 1) == 0)
		bit = 1;
	else if (klen == 3 && memcmp(k, "pod", 3) == 0)
		bit = 2;
	else if (klen == 4 && memcmp(k, "room", 4) == 0)
		bit = 4;
	else if (klen == 5 && memcmp(k, "frame", 5) == 0)
		bit = 8;
	else
		return ENVELOPE_BAD;
	if (*seen & bit)
		return ENVELOPE_BAD;
	*seen |= bit;
	switch (bit) {
	case 1:
		switch (env_uint(r, &v)) {
		case ENV_INT_BAD:
			return ENVELOPE_BAD;
		case ENV_INT_NEGATIVE:
			return ENVELOPE_NEWER;
		default:
			break;
		}
		if (v != ENVELOPE_VERSION)
			return ENVELOPE_NEWER;
		e->v = (unsigned)v;
		return ENVELOPE_OK;
	case 2:
		rc = env_bytes(r, 0, &e->pod, &e->pod_len);
		break;
	case 4:
		rc = env_bytes(r, 0, &e->room, &e->room_len);
		break;
	default:
		rc = env_bytes(r, 1, &e->frame, &e->frame_len);
	}
	return rc < 0 ? ENVELOPE_BAD : ENVELOPE_OK;
}

enum envelope_rc envelope_decode(const char *buf, size_t len, struct envelope *e)
{
	struct env_rd r = { (const unsigned char *)buf, (const unsigned char *)buf + len };
	unsigned seen = 0;
	uint64_t n;
	enum envelope_rc rc = ENVELOPE_BAD;

	memset(e, 0, sizeof(*e));
	if (buf == NULL || env_map(&r, &n) < 0)
		return ENVELOPE_BAD;
	/* Entries are read in order, so a later version whose shape differs
	 * is still reported as NEWER when "v" comes first (as we write it). */
	for (uint64_t i = 0; i < n; i++) {
		rc = env_entry(&r, e, &seen);
		if (rc != ENVELOPE_OK)
			break;
	}
	if (rc == ENVELOPE_OK && (n != 4 || seen != 15 || r.p != r.end))
		rc = ENVELOPE_BAD;
	if (rc != ENVELOPE_OK)
		memset(e, 0, sizeof(*e));
	return rc;
}
