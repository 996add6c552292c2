/* SPDX-License-Identifier: MIT */
/*
 * rserve.h - who is in a room, the master's side (issue 16 item 4): the
 * workers' REC_MEMBER / REC_GONE kept in this pod's roster (and mirrored
 * to Redis), REC_ROSTER_REQ answered with a JSON page through the
 * broadcast ring, addressed to the asking connection or HTTP request.
 * Master only; relay.c owns one.
 */
#ifndef CHATD_RSERVE_H
#define CHATD_RSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "hserve.h"     /* hserve_put_fn */

struct broker;
struct conf;
struct mloop;
struct rserve;

/* A roster service; broker NULL = this pod alone, else the members of
 * every live pod, from Redis, this pod being `pod`.  NULL on ENOMEM. */
struct rserve *rserve_new(const struct conf *c, struct broker *broker, const char *pod,
			  struct mloop *loop, hserve_put_fn put, void *arg);
void rserve_free(struct rserve *s);

/* Worker slot's client id joined (REC_MEMBER) or left (REC_GONE) room. */
void rserve_member(struct rserve *s, int slot, uint32_t kind, const char *room,
		   size_t room_len, const char *id, size_t id_len);

/* Worker slot died: its members are gone. */
void rserve_slot_gone(struct rserve *s, int slot);

/* Worker slot asks (req[0..len) its struct roster_req): the answer, a
 * REC_ROSTER record, goes into the ring now or when Redis answers. */
void rserve_request(struct rserve *s, int slot, const char *room, size_t room_len,
		    const void *req, size_t len);

/* The broker's pub link came up (1) or went down (0). */
void rserve_link(struct rserve *s, int up);

#endif
