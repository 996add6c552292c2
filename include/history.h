/* SPDX-License-Identifier: MIT */
/*
 * history.h - room history: per-room offsets and epochs, the frames kept
 * for each room, and the records that carry a history request from a
 * worker to the master and its answer back (issue 16).
 *
 * Offsets are assigned in one place per deployment: the master's in-memory
 * store below in single-node mode, one Lua script in Redis otherwise
 * (redis_hist.c).  Both put them into a frame the same way, by splicing
 * text behind its opening brace, so `data` is never re-encoded:
 *
 *     {"offset":N,"epoch":"E",<the frame as built>           live, stored
 *     {"history":true,"offset":N,"epoch":"E",...             replayed
 *
 * A pure leaf: no logging, no process of its own; the store is the
 * master's (single-node), the frame helpers anybody's.
 */
#ifndef CHATD_HISTORY_H
#define CHATD_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "chatd.h"

#define HISTORY_EPOCH_LEN  16      /* hex digits of an epoch we make */
#define HISTORY_EPOCH_MAX  32      /* longest epoch a client may send back */
#define HISTORY_SPLICE_MAX (48 + HISTORY_EPOCH_MAX)  /* bytes added to a frame, at most */
#define HISTORY_SIZE_MAX   10000   /* largest history_size */

/* ---- frames ---------------------------------------------------------------- */

/* Write frame[0..len) (a JSON object) into dst with "offset" and "epoch" as
 * its first members.  The length, or 0 when dst (cap bytes) is too small or
 * frame is not an object. */
size_t history_splice(char *dst, size_t cap, const char *frame, size_t len, uint64_t offset,
		      const char *epoch);

/* Write frame[0..len) into dst with "history":true as its first member.
 * The length, or 0 as above. */
size_t history_mark(char *dst, size_t cap, const char *frame, size_t len);

/* The offset of a frame made by history_splice (with or without the mark):
 * 1 and *offset, or 0 when the frame carries none. */
int history_frame_offset(const char *frame, size_t len, uint64_t *offset);

/* The epoch of a live stored frame ({"offset":N,"epoch":"E",...): 1 with
 * *epoch pointing into frame and *elen (1..HISTORY_EPOCH_MAX), or 0. */
int history_frame_epoch(const char *frame, size_t len, const char **epoch, size_t *elen);

/* Is s[0..len) an epoch a client may send: 1-HISTORY_EPOCH_MAX bytes of
 * [A-Za-z0-9_-]?  1 or 0. */
int history_epoch_valid(const char *s, size_t len);

/* Insert text[0..tl) (members, e.g. "\"recovered\":true") at the front of
 * the "data" object of frame buf[0..len), in place (buf holds cap bytes).
 * The new length, or 0 when it does not fit or there is no "data":{. */
size_t history_data_add(char *buf, size_t len, size_t cap, const char *text, size_t tl);

/* ---- what a worker asks, what it is answered ---------------------------------- */

/* A worker waits this long for the answer to a request (hjoin.c); the
 * master neither reads nor queues one that would come later (hserve.c,
 * hanswer.c). */
#define HISTORY_ANSWER_MS 5000

/* REC_HIST_REQ's frame part (the room part is the room).  since < 0: the
 * last `count` messages (?history=N); else every message after since, in
 * epoch (?since=&epoch=). */
struct history_req {
	uint64_t token;                    /* the asking connection, in its worker */
	uint64_t asked_ms;                 /* when it asked (CLOCK_MONOTONIC) */
	int64_t  since;
	uint32_t count;
	char     epoch[HISTORY_EPOCH_MAX + 1];
};

/* REC_HIST and REC_HIST_END carry this as their room part: the answer is for
 * connection `token` of the worker in `slot`; other workers skip it. */
struct history_addr {
	uint32_t slot;
	uint32_t pad;
	uint64_t token;
};
_Static_assert(sizeof(struct history_addr) <= CHATD_ROOM_MAX, "an address is a record's room");

/*
 * The query of an upgrade: hist, since and epoch are the values of
 * ?history=, ?since= and ?epoch= (NULL: absent).  0 with *q filled (since
 * -1 for ?history=N) and *asked 1 when history or recovery was asked for
 * (0: neither; q untouched); -1 when a value is malformed, negative or
 * absurd (history over HISTORY_SIZE_MAX, since past 2^53, a bad epoch), or
 * since and epoch do not come together.  ?since wins over ?history.
 */
int history_query_parse(const char *hist, const char *since, const char *epoch,
			struct history_req *q, int *asked);

/* How an answer ended. */
enum history_status {
	HISTORY_OK = 0,          /* every message asked for (recovered) */
	HISTORY_GAP = 1,         /* since is older than what is kept, or the epoch changed */
	HISTORY_UNAVAILABLE = 2, /* could not be read (Redis down, overloaded) */
};

/* REC_HIST_END's frame part: after the REC_HIST frames of the answer. */
struct history_end {
	uint32_t status;                   /* enum history_status */
	uint32_t pad;
	uint64_t top;                      /* the room's latest offset (0: none yet) */
	char     epoch[HISTORY_EPOCH_MAX + 1];
};

/* ---- the in-memory store (single-node mode; master only) ------------------------- */

struct history;

/* A store keeping `size` (1..HISTORY_SIZE_MAX) frames per room, a room
 * forgotten after ttl_ms without a message or a read.  NULL on ENOMEM. */
struct history *history_new(int size, uint64_t ttl_ms);
void history_free(struct history *h);

/* Give frame[0..len) the room's next offset, keep it, and return the
 * stored frame (spliced; owned by the store, valid until the next call)
 * with its length in *out_len.  room_len 0 = the global channel.  NULL on
 * ENOMEM or when the frame is not a JSON object. */
const char *history_append(struct history *h, const char *room, size_t room_len,
			   const char *frame, size_t len, uint64_t now_ms, size_t *out_len);

/* Called for each frame of an answer, oldest first. */
typedef void (*history_each_fn)(void *arg, const char *frame, size_t len);

/* Answer q for room: call each() for the frames it asks for (oldest first,
 * as stored; at most max_bytes of them, the newest kept when they do not
 * all fit) and fill *end.  A room never seen is made (its epoch fixed). */
void history_read(struct history *h, const char *room, size_t room_len,
		  const struct history_req *q, uint64_t now_ms, size_t max_bytes,
		  history_each_fn each, void *arg, struct history_end *end);

/* Forget rooms idle for longer than the ttl. */
void history_expire(struct history *h, uint64_t now_ms);

/* Rooms and frames kept, for the stats. */
size_t history_rooms(const struct history *h);

#endif
