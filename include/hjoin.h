/* SPDX-License-Identifier: MIT */
/*
 * hjoin.h - room history, a worker's side (issue 16): what an upgrade's
 * ?history=N or ?since=OFFSET&epoch=EPOCH asks for, the request up the
 * uplink, and the answer merged with the live frames that came meanwhile.
 *
 * While a connection waits, live frames of its room still join its send
 * queue but nothing is written (ws.c holds it); the answer's frames come
 * through the broadcast ring (REC_HIST, then REC_HIST_END).  At the end the
 * welcome (with "recovered", "offset", "epoch" in its data) goes first,
 * then the history, then the held live frames whose offset is past the
 * answer's: no duplicate, no hole.  Later frames at or below that offset
 * (another pod's, late through Redis) are skipped too (conn.hist_floor).
 */
#ifndef CHATD_HJOIN_H
#define CHATD_HJOIN_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>

struct conn;
struct frame;
struct history_req;
struct wctx;

/* The upgrade's history query (history_query_parse over its arguments):
 * 0 (*asked says whether anything was asked), or -1: answer 400. */
int hjoin_query(struct lws *wsi, struct history_req *q, int *asked);

/* At ESTABLISHED, after c joined its room: 0 when c asked for nothing (the
 * caller sends the plain welcome); 1 when hjoin sends the welcome, now or
 * with the answer. */
int hjoin_start(struct wctx *w, struct conn *c);

/* A REC_HIST or REC_HIST_END record of the broadcast ring: f holds its
 * frame part, addr[0..addr_len) its address.  Takes f. */
void hjoin_answer(struct wctx *w, uint32_t kind, struct frame *f, const char *addr,
		  size_t addr_len);

/* c closes: forget its wait. */
void hjoin_cancel(struct wctx *w, struct conn *c);

#endif
