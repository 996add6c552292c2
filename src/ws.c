/* SPDX-License-Identifier: MIT */
/*
 * ws.c - the WebSocket side of a worker.  A connection joins its room in
 * ESTABLISHED and leaves it in CLOSED (the one place its state is freed).
 * Client messages are parsed, stamped and serialised once, then go up the
 * uplink; frames from the broadcast ring are shared by reference on the
 * members' send queues; WRITEABLE writes several queued frames back to
 * back in one system call (corked) while the kernel takes them whole.
 * Closes, the heartbeat and the session's end are conn.c's.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "admit.h"
#include "chatd.h"
#include "conf.h"
#include "conn.h"
#include "frame.h"
#include "history.h"
#include "log.h"
#include "msg.h"
#include "sendq.h"
#include "shm.h"
#include "rosterrec.h"
#include "wctx.h"
#include "wloop.h"
#include "wroster.h"
#include "ws.h"

#define WRITES_PER_CALLBACK 16  /* x CHATD_CORK_MAX bytes at most per WRITEABLE */
#define RATE_STRIKES    20  /* messages refused in a row by rate_limit before a 1008 close */

#define conn_of(node, field) ((struct conn *)((char *)(node) - offsetof(struct conn, field)))

/* ---- send queues ---------------------------------------------------------- */

/* Queue a reference to f on c.  A full queue makes c a slow consumer
 * (unless force).  1 when the queue was empty (c now needs a write), else 0. */
static int queue_add(struct wctx *w, struct conn *c, struct frame *f, int force)
{
	/* closing: what was queued is flushed (1001/1012), nothing more joins */
	if (c->close_code)
		return 0;
	if (c->sq.len >= (uint32_t)w->conf->send_queue && !force) {
		stats_add(&w->st->slow_closes, 1);
		log_info("client %s: send queue full (%u); closing as a slow consumer", c->id,
			 c->sq.len);
		conn_fail(c, CHATD_CLOSE_POLICY, WHY_SLOW);
		return 0;
	}
	if (sendq_push(&c->sq, f) < 0) {
		log_error("client %s: out of memory for its send queue", c->id);
		conn_fail(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, WHY_NOMEM);
		return 0;
	}
	return c->sq.len == 1;
}

/* Queue f on c, from an lws callback: WRITEABLE writes it. */
void ws_push(struct wctx *w, struct conn *c, struct frame *f, int force)
{
	if (queue_add(w, c, f, force))
		lws_callback_on_writable(c->wsi);
}

/* Queue f (from the broadcast ring) on c: ws_flush() writes it once the
 * ring is caught up or after a few batches of a burst (worker.c).  Listed
 * once: a WRITEABLE between two batches may have emptied its queue while
 * it is still listed. */
static void queue_deliver(struct wctx *w, struct conn *c, struct frame *f)
{
	if (!queue_add(w, c, f, 0) || c->flush_ix != 0)
		return;                /* not wanted, or already waiting for a write */
	if (w->nflush == w->flush_cap) {
		size_t cap = w->flush_cap ? 2 * w->flush_cap : 64;
		struct conn **nf = realloc(w->flush, cap * sizeof(*nf));

		if (nf == NULL) {
			lws_callback_on_writable(c->wsi);
			return;
		}
		w->flush = nf;
		w->flush_cap = cap;
	}
	w->flush[w->nflush++] = c;
	c->flush_ix = w->nflush;
}

/* Queue a frame for c alone (welcome, pong, errors, history's welcome). */
void ws_send(struct wctx *w, struct conn *c, const char *buf, size_t len, int force)
{
	struct frame *f;

	if (len == 0 || (f = frame_new(len)) == NULL)
		return;
	memcpy(f->data + LWS_PRE, buf, len);
	ws_push(w, c, f, force);
	if (f->refs == 0)
		free(f);
}

static void send_error(struct wctx *w, struct conn *c, const char *code, const char *text)
{
	size_t n = msg_build_error(w->scratch, w->scratch_len, c->room_len ? c->room : NULL,
				   code, text);

	stats_add(&w->st->errors_sent, 1);
	ws_send(w, c, w->scratch, n, 0);
}

void ws_deliver(struct wctx *w, struct frame *f, const char *room, size_t room_len)
{
	struct room_member *head, *it;
	struct room *r;
	uint64_t off = 0;   /* history on: a frame at or below a recovered client's floor
	                       was in its answer (only its own stream counts) */

	if (w->conf->history_size > 0)
		history_frame_offset((const char *)f->data + LWS_PRE, f->len, &off);
	if (room_len == 0) {
		room_foreach(&w->all, it) {
			struct conn *c = conn_of(it, all);

			if (off == 0 || c->room_len != 0 || off > c->hist_floor)
				queue_deliver(w, c, f);
		}
	} else if ((r = room_find(w->rooms, room, room_len)) != NULL) {
		head = &r->head;
		room_foreach(head, it)
			if (off == 0 || off > conn_of(it, member)->hist_floor)
				queue_deliver(w, conn_of(it, member), f);
	}
	if (f->refs == 0)
		free(f);
}

static int on_writeable(struct wctx *w, struct conn *c);

/*
 * Write what the ring batches queued now, from the ring's callback, rather
 * than ask lws for WRITEABLE: on libuv each such request and its end
 * re-register the socket with epoll (uv_poll_start() deletes and adds it
 * again), four system calls per connection per batch, more than the write
 * itself.  A connection that cannot take a plain write now (lws holds an
 * unsent tail, a ping or a close is due, the client is closing) waits for
 * WRITEABLE as before; after a short write lws keeps the tail and asks
 * for WRITEABLE itself.
 */
void ws_flush(struct wctx *w)
{
	for (size_t i = 0; i < w->nflush; i++) {
		struct conn *c = w->flush[i];

		if (c == NULL)                     /* closed since (on_closed) */
			continue;
		c->flush_ix = 0;
		if (c->sq.len == 0)
			continue;
		if (c->close_code || c->ping_due || c->peer_code || lws_partial_buffered(c->wsi) ||
		    on_writeable(w, c) < 0)
			lws_callback_on_writable(c->wsi);
	}
	w->nflush = 0;
}

void ws_close_all(struct wctx *w, uint16_t code)
{
	struct room_member *it;

	room_foreach(&w->all, it) {
		struct conn *c = conn_of(it, all);

		conn_finish(c, code, code == CHATD_CLOSE_RESTART ? WHY_DRAIN : WHY_SHUTDOWN);
	}
}

/* ---- receiving ---------------------------------------------------------------- */

/* The room-size rule (presence_max_members) is decided once, at the join:
 * a member whose online went out always gets its offline, however large
 * the room has grown since, and one whose online was skipped gets none --
 * else the others would keep a ghost. */
static int presence_due(const struct wctx *w, const struct room *r)
{
	return w->conf->presence && r != NULL && r->count <= (size_t)w->conf->presence_max_members;
}

static void presence(struct wctx *w, struct conn *c, struct room *r, int online)
{
	size_t n;

	if (!w->conf->presence || r == NULL)
		return;
	if (online && !presence_due(w, r)) {
		stats_add(&w->st->presence_skipped, 1);
		return;
	}
	if (!online && !c->announced) {
		stats_add(&w->st->presence_skipped, 1);
		return;
	}
	c->announced = (uint8_t)online;
	n = msg_build_presence(w->scratch, w->scratch_len, c->room, c->id, online);
	if (n > 0)
		wctx_uplink(w, REC_MSG, c->room, c->room_len, w->scratch, n);
}

/* The master tracks who is in which room here (the global channel as
 * ROSTER_GLOBAL): for the roster, and to say offline for the announced
 * ones should this worker die (kill -9, a crash). */
static void member_event(struct wctx *w, struct conn *c, uint32_t kind, int announced)
{
	if (c->room_len > 0)
		wctx_member_event(w, kind, c->room, c->room_len, c->id, strlen(c->id), announced);
	else
		wctx_member_event(w, kind, ROSTER_GLOBAL, ROSTER_GLOBAL_LEN, c->id, strlen(c->id),
				  0);
}

/* wroster.c: the answer to a `members` request, as a `members` message
 * (data: the master's JSON body) or an `error`. */
static void members_reply(struct wctx *w, struct lws *wsi, int status, const char *body,
			  size_t len)
{
	struct conn *c = lws_wsi_user(wsi);
	size_t cap = len + CHATD_STAMP_MAX + CHATD_ROOM_MAX, n;
	char *buf;

	if (c == NULL || !c->established)
		return;
	if (status != 200) {
		send_error(w, c, status == 504 ? "timeout" : "unavailable",
			   "the room roster is unavailable: try again later");
		return;
	}
	if ((buf = malloc(cap)) == NULL)
		return;
	n = msg_build_raw(buf, cap, "members", c->room_len ? c->room : NULL, "server", body, len);
	ws_send(w, c, buf, n, 0);
	free(buf);
}

/* {"type":"members"}: ask the master; the answer comes in members_reply. */
static void members_ask(struct wctx *w, struct conn *c, const struct msg_in *m)
{
	const char *room = c->room_len ? c->room : ROSTER_GLOBAL;
	size_t rl = c->room_len ? c->room_len : ROSTER_GLOBAL_LEN;

	if (wroster_ask(w, c->wsi, members_reply, room, rl, m->limit, m->cursor,
			m->cursor_len) < 0)
		send_error(w, c, "overloaded", "too many roster requests: try again");
}

/* What rate_check() decided about one message. */
enum rate_verdict {
	RATE_PASS,      /* within rate_limit: handle it */
	RATE_REFUSED,   /* over it: dropped, an `error` sent */
	RATE_CLOSING    /* ... the RATE_STRIKES-th in a row: also closing with 1008
			 * once the queue is written */
};

/* rate_limit for one message from c. */
static enum rate_verdict rate_check(struct wctx *w, struct conn *c)
{
	if (limit_rate_take(&c->rate, (uint64_t)lws_now_usecs() / 1000, w->conf->rate_limit,
		      w->conf->rate_burst))
		return RATE_PASS;
	stats_add(&w->st->rate_limited, 1);
	send_error(w, c, "rate_limited", "too many messages: slow down");
	if (c->rate.strikes >= RATE_STRIKES) {
		stats_add(&w->st->rate_limit_closes, 1);
		log_info("client %s: over rate_limit %d times in a row; closing", c->id, RATE_STRIKES);
		/* the pongs and errors already queued go first (from WRITEABLE: see
		 * on_receive); one that does not read is cut all the same */
		conn_finish(c, CHATD_CLOSE_POLICY, WHY_RATE);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CONN_KILL_AFTER_SECS);
		return RATE_CLOSING;
	}
	return RATE_REFUSED;
}

/* One whole client message.  0, or -1 to close the connection. */
static int handle_message(struct wctx *w, struct conn *c, const char *buf, size_t len)
{
	const char *room = c->room_len ? c->room : NULL;
	struct msg_in m;
	enum msg_err e;
	enum wctx_up up;
	size_t n;

	c->n_in++;
	if (rate_check(w, c) != RATE_PASS)
		return 0;      /* RATE_CLOSING too: the close follows from WRITEABLE */
	stats_add(&w->st->msgs_in, 1);
	e = msg_parse(buf, len, &m);
	if (e != MSG_OK) {
		send_error(w, c, msg_err_code(e), msg_err_text(e));
		return 0;
	}
	if (m.kind == MSG_MEMBERS) {
		members_ask(w, c, &m);
	} else if (m.kind == MSG_PING) {
		n = msg_build(w->scratch, w->scratch_len, "pong", room, "server", NULL);
		ws_send(w, c, w->scratch, n, 0);
	} else {
		n = msg_build_raw(w->scratch, w->scratch_len, "chat", room, c->id, m.raw, m.raw_len);
		/* n == 0: once stamped, it outgrew the scratch buffer */
		up = n == 0 ? WCTX_TOOBIG
			    : wctx_uplink_client(w, c->wsi, REC_STORE, c->room, c->room_len,
						 w->scratch, n);
		if (up == WCTX_TOOBIG)
			send_error(w, c, "too_large", "message too large once stamped");
		else if (up == WCTX_REFUSED)
			send_error(w, c, "overloaded", "server busy: message dropped, send it again");
		else if (up == WCTX_HELD)
			c->held = 1;   /* not read until it goes (wctx.c) */
	}
	msg_in_clear(&m);
	return 0;
}

static int on_receive(struct wctx *w, struct conn *c, const char *in, size_t len)
{
	size_t remaining = lws_remaining_packet_payload(c->wsi);
	int final = lws_is_final_fragment(c->wsi);
	size_t total = c->rxlen + len + remaining;

	if (c->close_code)
		return 0;
	if (total > w->conf->max_message_size) {
		/* closing from RECEIVE loses the close frame at times (lws 4.1.6);
		 * from WRITEABLE it goes out reliably */
		stats_add(&w->st->oversize_closes, 1);
		conn_fail(c, CHATD_CLOSE_TOO_BIG, WHY_OVERSIZE);
		return 0;
	}
	if (c->rxlen == 0 && final)             /* the common case: no copy */
		return handle_message(w, c, in, len);
	if (total > c->rxcap) {
		size_t ncap = c->rxcap ? c->rxcap * 2 : 1024;
		char *nb;

		while (ncap < total)
			ncap *= 2;
		if (ncap > w->conf->max_message_size)
			ncap = w->conf->max_message_size;
		if ((nb = realloc(c->rx, ncap)) == NULL)
			return -1;
		c->rx = nb;
		c->rxcap = ncap;
	}
	memcpy(c->rx + c->rxlen, in, len);
	c->rxlen += len;
	if (final) {
		int rc = handle_message(w, c, c->rx, c->rxlen);

		conn_rx_reset(c);                   /* shrink back: idle connections hold nothing */
		return rc;
	}
	return 0;
}

/* ---- lifecycle ------------------------------------------------------------------- */

static int on_established(struct wctx *w, struct conn *c, struct lws *wsi)
{
	size_t rl = 0, n;
	struct room *r = NULL;
	enum room_join_rc jr;
	time_t now = time(NULL), expires;
	char why[128];

	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	c->t0_ms = c->valid_ms = wloop_now(w->loop);
	conn_addr(c, wsi);
	if (admit_session(w, wsi, c->room, &rl, c->id, &expires, why, sizeof(why)) != 0) {
		if (why[0] != '\0')   /* checked at the upgrade: only the clock can have moved */
			log_info("token refused after the upgrade: %s", why);
		return -1;
	}
	c->room_len = (uint8_t)rl;
	conn_heartbeat_start(w, c);
	if (expires > 0)           /* LWS_CALLBACK_TIMER closes */
		lws_set_timer_usecs(wsi, (lws_usec_t)(expires - now + 1) * LWS_US_PER_SEC);
	if (rl > 0) {
		jr = room_join(w->rooms, c->room, rl, &c->member);
		if (jr != ROOM_JOINED && jr != ROOM_CREATED) {
			conn_heartbeat_stop(w, c);
			return -1;
		}
		r = c->member.room;
		if (jr == ROOM_CREATED) {
			log_debug("room %s: first member on this worker", c->room);
			wctx_room_event(w, REC_JOIN, c->room, rl);
			stats_set(&w->st->rooms, room_index_count(w->rooms));
		}
	}
	log_debug("client %s from %s: joined %s", c->id, c->addr, rl ? c->room : "(global)");
	room_list_add(&w->all, &c->all);
	c->established = 1;
	w->nconns++;
	stats_set(&w->st->connections, w->nconns);
	stats_add(&w->st->connections_total, 1);
	/* else the welcome comes with the history (hjoin.c) */
	if (w->hist_start == NULL || w->hist_start(w, c) == 0) {
		n = msg_build_welcome(w->scratch, w->scratch_len, rl ? c->room : NULL, c->id);
		ws_send(w, c, w->scratch, n, 0);
	}
	member_event(w, c, REC_MEMBER, presence_due(w, r));
	presence(w, c, r, 1);
	return 0;
}

static void on_closed(struct wctx *w, struct conn *c)
{
	char last[CHATD_ROOM_MAX + 1];

	/* a burst's writes may wait for the next ring batch (drain_ring): lws
	 * frees c after this, so it must leave the flush list now */
	if (c->flush_ix != 0)
		w->flush[c->flush_ix - 1] = NULL;
	c->flush_ix = 0;
	if (c->held)                   /* its waiting message goes without it */
		wctx_held_forget(w, c->wsi);
	c->held = 0;
	if (!c->established)
		return;
	c->established = 0;
	conn_heartbeat_stop(w, c);
	conn_session_end(w, c);
	if (w->hist_cancel != NULL)
		w->hist_cancel(w, c);
	sendq_clear(&c->sq);
	conn_rx_reset(c);
	room_list_del(&c->all);
	wroster_forget(c->wsi);
	if (c->member.room == NULL) {
		member_event(w, c, REC_GONE, 0);
	} else {
		int announced = c->announced;

		presence(w, c, c->member.room, 0);
		member_event(w, c, REC_GONE, announced);
		if (room_leave(w->rooms, &c->member, last)) {
			log_debug("room %s: last member left this worker", c->room);
			wctx_room_event(w, REC_LEAVE, c->room, c->room_len);
			stats_set(&w->st->rooms, room_index_count(w->rooms));
		}
	}
	w->nconns--;
	stats_set(&w->st->connections, w->nconns);
}

/*
 * Cork: with more than one frame queued, copy as many whole frames as fit
 * into the worker's cork buffer, headers included, and hand them to the
 * kernel in one write - one system call for several deliveries.  Returns the
 * number of frames sent, 0 when the head frame does not fit, -1 on error.
 */
static int write_corked(struct wctx *w, struct conn *c)
{
	unsigned char *start = w->cork + LWS_PRE;
	size_t bytes, used;
	int n = sendq_cork(&c->sq, start, CHATD_CORK_MAX, &bytes, &used);

	if (n == 0)
		return 0;
	if (lws_write(c->wsi, start, used, LWS_WRITE_RAW) < 0)
		return -1;
	stats_add(&w->st->frames_out, (uint64_t)n);
	stats_add(&w->st->bytes_out, bytes);
	c->n_out += (uint32_t)n;
	c->bytes_out += bytes;
	return n;
}

/* One write: several frames corked together, or the head frame alone. */
static int write_one(struct wctx *w, struct conn *c)
{
	struct frame *f;
	int n = c->sq.len > 1 ? write_corked(w, c) : 0;

	if (n != 0)
		return n < 0 ? -1 : 0;
	f = sendq_pop(&c->sq);                 /* one frame, or one too big to cork */
	n = lws_write(c->wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT);
	if (n >= 0) {
		stats_add(&w->st->frames_out, 1);
		stats_add(&w->st->bytes_out, f->len);
		c->n_out++;
		c->bytes_out += f->len;
	}
	frame_unref(f);
	return n < 0 ? -1 : 0;
}

/*
 * Write until the queue is empty or the kernel stops taking whole writes
 * (lws then holds the unsent tail and calls us again when it is gone), at
 * most WRITES_PER_CALLBACK times for fairness.  A reader that keeps up thus
 * never sees a burst pile up on its queue and count against send_queue.
 */
static int on_writeable(struct wctx *w, struct conn *c)
{
	if (c->ping_due && !c->close_code) {   /* the heartbeat's ping goes first */
		if (conn_ping_send(w, c) < 0)
			return -1;
		if (c->sq.len > 0 || lws_partial_buffered(c->wsi)) {
			lws_callback_on_writable(c->wsi);
			return 0;
		}
	}
	if (c->sq.len == 0) {
		if (c->close_code && !c->close_sent)
			conn_close_start(c);            /* c may be gone */
		return 0;
	}
	if (c->hw != NULL && !c->close_code)   /* waiting for its history: hjoin.c */
		return 0;
	for (int i = 0; i < WRITES_PER_CALLBACK && c->sq.len > 0; i++) {
		if (write_one(w, c) < 0)
			return -1;
		if (lws_partial_buffered(c->wsi))
			break;
	}
	if (c->sq.len > 0 || c->close_code)
		lws_callback_on_writable(c->wsi);
	else if (c->sq.cap > 64)                 /* shrink back after a burst */
		sendq_clear(&c->sq);
	return 0;
}

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		size_t len)
{
	struct wctx *w = wctx_of(wsi);
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		return on_established(w, c, wsi);
	case LWS_CALLBACK_RECEIVE:
		return on_receive(w, c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return on_writeable(w, c);
	case LWS_CALLBACK_RECEIVE_PONG:
		c->valid_ms = wloop_now(w->loop);
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		conn_peer_close(c, in, len);
		return 0;
	case LWS_CALLBACK_TIMER:               /* only on_established() sets one */
		return conn_token_expired(w, c);
	case LWS_CALLBACK_CLOSED:
		on_closed(w, c);
		return 0;
	default:
		return 0;
	}
}
