/* SPDX-License-Identifier: MIT */
/*
 * redis_hist.h - room history in Redis (issue 16): one Lua script numbers,
 * keeps and PUBLISHes a stored frame atomically, so every pod sees the same
 * offsets; another reads a room's history with its offset and epoch.  Runs
 * on the broker's pub link (EVALSHA once SCRIPT LOAD answered, EVAL before
 * that and again on NOSCRIPT).  Master only; made and driven by hserve.c.
 *
 * Keys, per channel C (realtime:room:{room} or realtime:global):
 *     C:offset   the latest offset (INCR)
 *     C:epoch    the epoch: made (SET) when absent, so it changes when the
 *                keys are lost (FLUSHALL, expiry)
 *     C:history  the last history_size frames (RPUSH, LTRIM)
 * each refreshed to history_ttl on every message.
 */
#ifndef CHATD_REDIS_HIST_H
#define CHATD_REDIS_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"

struct conf;
struct master_stats;
struct redis_link;
struct redis_hist;

/* A read's answer: frames[0..n) oldest first (valid during the call only),
 * and how it ended (HISTORY_UNAVAILABLE with n 0 when Redis did not answer). */
typedef void (*redis_hist_done_fn)(void *arg, const struct history_end *end,
				   const char *const *frames, const size_t *lens, size_t n);

/* History on link (owned by the broker) for c's history_size / _ttl; the
 * envelope names pod.  NULL on ENOMEM. */
struct redis_hist *redis_hist_new(struct redis_link *link, const struct conf *c,
				  const char *pod, size_t pod_len);
/* Free; NULL is fine.  Reads still waiting are answered UNAVAILABLE. */
void redis_hist_free(struct redis_hist *h);

/* The link came up (load the scripts) or went down (answer every read in
 * flight UNAVAILABLE: its reply will never come). */
void redis_hist_link(struct redis_hist *h, int up);

/* Number, keep and publish frame for room (room_len 0 = global): the frame
 * comes back on every pod's subscription, this one's included.  0, or -1
 * when the link cannot take it now (the caller delivers it unnumbered). */
int redis_hist_store(struct redis_hist *h, const char *room, size_t room_len,
		     const char *frame, size_t len);

/* A stored frame of room went out unnumbered (Redis was not usable): its
 * history has a hole, so when the link is back the room's epoch is dropped
 * (the next message or read makes a new one, and a client recovering from
 * before is told recovered:false).  0, or -1 when the room could not be
 * kept (HIST_TAINT_MAX rooms already, or ENOMEM): its epoch stays, so a
 * client recovering across the hole may be told recovered:true. */
int redis_hist_taint(struct redis_hist *h, const char *room, size_t room_len);

/* Read what q asks for in room; done(arg, ...) is called once, later.
 * 0, or -1 at once when Redis is not usable or too many reads are in
 * flight (done is then not called). */
int redis_hist_read(struct redis_hist *h, const char *room, size_t room_len,
		    const struct history_req *q, redis_hist_done_fn done, void *arg);

/* As redis_hist_read, for a recovery (q->since >= 0) in pages: at most
 * `page` frames (0: all), the oldest after since; the next page asks again
 * from the last offset it got. */
int redis_hist_read_page(struct redis_hist *h, const char *room, size_t room_len,
			 const struct history_req *q, uint32_t page, redis_hist_done_fn done,
			 void *arg);

/* Once a second: reads waiting longer than the timeout are answered
 * UNAVAILABLE (a late reply is then dropped). */
void redis_hist_tick(struct redis_hist *h, uint64_t now_ms);

#endif
