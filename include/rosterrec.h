/* SPDX-License-Identifier: MIT */
/*
 * rosterrec.h - the records of a roster request ("who is in the room"):
 * the question a worker puts on its uplink (REC_ROSTER_ASK) and the answer
 * the master puts on the broadcast ring addressed to that worker
 * (REC_ROSTER).  Both ride in record.h's frame part; the room is record.h's.
 *
 *     ask:     id (4) | limit (2) | flags (1) | cursor length (1) | cursor
 *     answer:  id (4) | slot (1) | HTTP status (2) | JSON body
 *
 * Little-endian as the host is (both ends are the same process image).
 * Pure and inline.
 */
#ifndef CHATD_ROSTERREC_H
#define CHATD_ROSTERREC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chatd.h"

#define ROSTER_GLOBAL      "*"    /* the global channel's name in the roster tables */
#define ROSTER_GLOBAL_LEN  1
#define ROSTER_LIMIT_DEF   100    /* members per page unless asked */
#define ROSTER_LIMIT_MAX   1000   /* ... at most */
#define ROSTER_BODY_MAX    65536  /* bytes of an answer's JSON: the page ends before */
#define ROSTER_ASK_HDR     8
#define ROSTER_ASK_SUB     1      /* flags: each member with its sub (auth on) */
#define ROSTER_ANSWER_HDR  7
#define ROSTER_ASK_MAX     (ROSTER_ASK_HDR + CHATD_CLIENT_ID_MAX)

/* A question: page `limit` members of the room after client id `cursor`. */
struct roster_ask {
	uint32_t id;
	uint16_t limit;
	uint8_t flags;          /* ROSTER_ASK_* */
	uint8_t cursor_len;
	char cursor[CHATD_CLIENT_ID_MAX];
};

/* One member of a page, in client id order. */
struct roster_entry {
	const char *id;
	size_t id_len;
	uint64_t since_ms;      /* wall clock, ms since the epoch */
};

/* Pack a into buf (ROSTER_ASK_MAX bytes); the length. */
static inline size_t rosterrec_ask_pack(unsigned char *buf, const struct roster_ask *a)
{
	memcpy(buf, &a->id, 4);
	memcpy(buf + 4, &a->limit, 2);
	buf[6] = a->flags;
	buf[7] = a->cursor_len;
	memcpy(buf + ROSTER_ASK_HDR, a->cursor, a->cursor_len);
	return ROSTER_ASK_HDR + a->cursor_len;
}

/* Unpack p[0..len) into a: 0, or -1 when malformed. */
static inline int rosterrec_ask_unpack(const unsigned char *p, size_t len, struct roster_ask *a)
{
	if (len < ROSTER_ASK_HDR || p[7] > CHATD_CLIENT_ID_MAX ||
	    len != (size_t)ROSTER_ASK_HDR + p[7])
		return -1;
	memcpy(&a->id, p, 4);
	memcpy(&a->limit, p + 4, 2);
	a->flags = p[6];
	a->cursor_len = p[7];
	memcpy(a->cursor, p + ROSTER_ASK_HDR, a->cursor_len);
	return 0;
}

/* An answer's header into hdr (ROSTER_ANSWER_HDR bytes); the body follows it. */
static inline void rosterrec_answer_hdr(unsigned char *hdr, uint32_t id, int slot, int status)
{
	uint16_t st = (uint16_t)status;

	memcpy(hdr, &id, 4);
	hdr[4] = (unsigned char)slot;
	memcpy(hdr + 5, &st, 2);
}

/* Split an answer p[0..len): 0 with its parts, or -1 when malformed. */
static inline int rosterrec_answer_unpack(const unsigned char *p, size_t len, uint32_t *id,
					  int *slot, int *status)
{
	uint16_t st;

	if (len < ROSTER_ANSWER_HDR)
		return -1;
	memcpy(id, p, 4);
	*slot = p[4];
	memcpy(&st, p + 5, 2);
	*status = st;
	return 0;
}

#endif
