/* SPDX-License-Identifier: MIT */
/*
 * wctx.h - the worker's context: the one struct wctx of a worker process
 * (the lws context's user data), how a callback finds it, and the way up to
 * the master: records pushed on the uplink ring, and the room joins and
 * leaves that wait for uplink space.  The bottom of the worker side:
 * worker.c, accept.c, gate.c, conn.c, ws.c, hjoin.c, wroster.c, http.c,
 * http_members.c, http_resp.c, publish.c and admit.c call it; it calls
 * none of them.
 */
#ifndef CHATD_WCTX_H
#define CHATD_WCTX_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>
#include "conf.h"
#include "ring.h"
#include "room.h"
#include "shm.h"

struct conf;
struct gate;
struct wctx_pending;
struct wloop;
struct wloop_timer;
struct conn;

/* One per worker process, made by worker_main() (worker.c). */
struct wctx {
	const struct conf *conf;
	struct shm_hdr *shm;
	struct worker_stats *st;
	struct ring *bcast, *uplink;
	struct ring_cursor cur;
	int slot, efd, master_efd, sig_fd;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct lws_vhost *vh_tls;      /* `listen ... ssl`; NULL when there is none */
	int listen_fd[CONF_MAX_LISTENS], nlisten; /* one per listen line (conf order) */
	struct tls_creds *tls;         /* the master's, inherited: wiped once lws has it */
	struct wloop *loop;            /* the worker's event loop; lws runs on it */
	struct room_index *rooms;
	struct room_member all;        /* every WebSocket connection */
	struct auth *auth;             /* JWT verifier; NULL when auth is off (or broken) */
	struct gate *gate;             /* accept limits, HTTP phase, deadlines */
	uint64_t nconns;               /* == st->connections */
	uint64_t nopen;                /* accepted, not yet gone: WebSocket + HTTP phase */
	int stopping;                  /* SIGTERM: 1001 to everyone, then exit */
	int draining;                  /* reload: stop accepting, 1012 after drain_timeout */
	int quit;                      /* leave the service loop */
	int accept_paused;             /* EMFILE / max_connections */
	int hangup_ms;                 /* a client without a pong for this long is cut */
	/* what waits for uplink space, in order (wctx.c): room joins/leaves,
	 * member events, clients' messages (held_bytes of them, at most
	 * held_max: uplink_size) */
	struct wctx_pending *pending, *pending_tail;
	size_t npending, held_bytes, held_max;
	int pending_lost;              /* lost one since the queue was last empty (logged) */
	struct wloop_timer *t_pending; /* their retry */
	struct conn **flush;           /* connections a ring batch queued for (ws_flush) */
	size_t nflush, flush_cap;
	/* room history (hjoin.c, which sits above ws.c: worker.c sets these) */
	int  (*hist_start)(struct wctx *w, struct conn *c);   /* at ESTABLISHED */
	void (*hist_cancel)(struct wctx *w, struct conn *c);  /* at CLOSED */
	/* connections waiting for their history answer (hjoin.c) */
	struct room_member hist_waiting;
	size_t hist_nwaiting;
	uint64_t hist_next;            /* the last request's token */
	lws_sorted_usec_list_t sul_hist;
	unsigned char *cork;           /* LWS_PRE + CHATD_CORK_MAX: several frames, one write */
	char *scratch;                 /* frame building: max_message_size + CHATD_STAMP_MAX */
	size_t scratch_len;
};

/* The worker context of a wsi's lws context.  Inline: every callback of
 * every connection asks, WRITEABLE on the fan-out path included. */
static inline struct wctx *wctx_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* Hand a record (record.h) to the master on the uplink ring, and wake it if
 * it sleeps.  room_len 0 = global.  RING_OK; RING_FULL when the uplink is
 * full (counted in uplink_full); RING_TOOBIG when the record is larger than
 * a ring record can be. */
enum ring_rc wctx_uplink(struct wctx *w, uint32_t kind, const char *room, size_t room_len,
			 const char *frame, size_t frame_len);

/* What became of a client's message (wctx_uplink_client). */
enum wctx_up {
	WCTX_SENT,                     /* on the uplink */
	WCTX_HELD,                     /* waits for uplink space; its sender is not read */
	WCTX_REFUSED,                  /* the uplink is full and enough waits already */
	WCTX_TOOBIG,                   /* larger than a ring record can be */
};

/* A client's message (sent by wsi) to the master: on the uplink now, or,
 * when the uplink is full (or something waits already: nothing overtakes),
 * kept in order with the room events while lws stops reading wsi until it
 * goes: back-pressure, not a refusal, up to held_max bytes kept.  The
 * caller tells the client when it is WCTX_REFUSED or WCTX_TOOBIG. */
enum wctx_up wctx_uplink_client(struct wctx *w, struct lws *wsi, uint32_t kind,
				const char *room, size_t room_len, const char *frame,
				size_t frame_len);

/* wsi closes: a message it left waiting still goes, with nobody to
 * resume. */
void wctx_held_forget(struct wctx *w, struct lws *wsi);

/* A room's first local member joined (REC_JOIN) or its last left
 * (REC_LEAVE): tell the master, in order, even when the uplink is full for
 * a moment (kept and retried from the lws loop). */
void wctx_room_event(struct wctx *w, uint32_t kind, const char *room, size_t room_len);

/* A client (id[0..id_len)) joined (REC_MEMBER) or left (REC_GONE) room:
 * tell the master, which announces it offline if this worker dies and
 * announced is set (its online went out).  In order with the room events,
 * and kept like them while the uplink is full. */
void wctx_member_event(struct wctx *w, uint32_t kind, const char *room, size_t room_len,
		       const char *id, size_t id_len, int announced);

/* At exit: cancel the retry and drop what still waits. */
void wctx_pending_free(struct wctx *w);

/* Leave the worker's loop (once the current callback returns): the worker
 * then destroys its lws context and exits. */
void wctx_quit(struct wctx *w);

#endif
