/* SPDX-License-Identifier: MIT */
/*
 * conn.c - a WebSocket connection's life around ws.c's hot path: why and
 * how it closes (our close frame, the client's, an expired token), its
 * heartbeat (a ping timer per connection), and the end of its session in
 * the access log.  ws.c calls it; it calls nothing of ws.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libwebsockets.h>

#include "alog.h"
#include "chatd.h"
#include "conf.h"
#include "conn.h"
#include "log.h"
#include "msg.h"
#include "sendq.h"
#include "shm.h"
#include "tls.h"
#include "wctx.h"
#include "wloop.h"

#define HANGUP_SLACK_MS 250 /* a client gone this close to its pong deadline was cut by it */

/* Each enum conn_why (conn.h): the access log's reason (tag) and the close
 * frame's reason text. */
static const struct { const char *tag, *text; } conn_whys[] = {
	[WHY_NONE]     = { NULL, "" },
	[WHY_SLOW]     = { "slow_consumer", "slow consumer" },
	[WHY_RATE]     = { "rate_limit", "rate limit" },
	[WHY_OVERSIZE] = { "oversize", "message too big" },
	[WHY_NOMEM]    = { "out_of_memory", "out of memory" },
	[WHY_TOKEN]    = { "token_expired", "token expired" },
	[WHY_DRAIN]    = { "drain", "service restart" },
	[WHY_SHUTDOWN] = { "shutdown", "going away" },
	[WHY_PROTOCOL] = { "protocol_error", "" },
};

void conn_rx_reset(struct conn *c)
{
	free(c->rx);
	c->rx = NULL;
	c->rxlen = c->rxcap = 0;
}

/* Close c with code (and reason) once what is queued is written; nothing
 * more joins the queue.  A connection already closing keeps its first
 * reason. */
void conn_finish(struct conn *c, uint16_t code, enum conn_why why)
{
	if (c->close_code)
		return;
	c->close_code = code;
	c->close_why = (uint8_t)why;
	lws_callback_on_writable(c->wsi);
}

/* Close c with code (and reason) as soon as possible, dropping what is
 * queued; what it sends meanwhile is ignored.  A connection already closing
 * keeps its first reason. */
void conn_fail(struct conn *c, uint16_t code, enum conn_why why)
{
	if (c->close_code)
		return;
	log_debug("client %s: closing with %u (%s)", c->id, code, conn_whys[why].tag);
	sendq_clear(&c->sq);
	conn_finish(c, code, why);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CONN_KILL_AFTER_SECS);
}

/* The client's address, for the access log and debug lines only. */
void conn_addr(struct conn *c, struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (!alog_enabled() && !log_enabled(LOG_LVL_DEBUG))
		return;
	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) == 0)
		alog_addr((struct sockaddr *)&ss, c->addr, sizeof(c->addr));
	tls_names(lws_get_ssl(wsi), &c->tls_version, &c->tls_cipher);
}

/*
 * One connection's heartbeat, on its own coarse timer (the loop's wheel).  Pings go out every
 * ping_interval at a phase drawn at random when the connection was
 * established, so connections opened in a burst are not pinged in a burst;
 * a pong only stamps valid_ms (no timer moves, nothing else is touched).  A
 * client without a pong for hangup_ms is cut without a close frame (1006 in
 * the access log), as lws's own heartbeat did.
 */
#define PING_PAYLOAD    "chatd" /* the pong echoes it */

int conn_ping_send(struct wctx *w, struct conn *c)
{
	unsigned char *p = w->cork + LWS_PRE;

	c->ping_due = 0;
	memcpy(p, PING_PAYLOAD, sizeof(PING_PAYLOAD) - 1);
	return lws_write(c->wsi, p, sizeof(PING_PAYLOAD) - 1, LWS_WRITE_PING) < 0 ? -1 : 0;
}

/* The ping goes out at once when nothing else waits to be written (the
 * common case: an idle connection), else at the next WRITEABLE, before the
 * queue.  At once saves asking lws for WRITEABLE, which on libuv is an
 * epoll_ctl() each way and a wake-up, for every ping. */
static int ping_due(struct wctx *w, struct conn *c)
{
	c->ping_due = 1;
	if (c->sq.len > 0 || c->close_code || c->peer_code || lws_partial_buffered(c->wsi)) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (conn_ping_send(w, c) == 0)
		return 0;
	/* the socket is gone: close it now (c with it) */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
	return -1;
}

static void heartbeat(struct wheel_node *n)
{
	struct conn *c = (struct conn *)((char *)n - offsetof(struct conn, beat));
	struct wctx *w = wctx_of(c->wsi);
	uint64_t now = wloop_now(w->loop), cut = c->valid_ms + (uint64_t)w->hangup_ms;
	uint64_t every = (uint64_t)w->conf->ping_interval_ms;

	if (now >= cut) {
		/* sync: outside lws's service an async kill waits for other I/O */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
		return;                        /* c is gone (CLOSED stopped its timer) */
	}
	if (now >= c->ping_ms) {
		c->ping_ms += every;
		if (c->ping_ms <= now)         /* the loop was held up: keep the phase moving */
			c->ping_ms = now + every;
		if (ping_due(w, c) < 0)
			return;                /* c is gone (CLOSED stopped its timer) */
	}
	wloop_coarse_set(w->loop, &c->beat, (c->ping_ms < cut ? c->ping_ms : cut) - now,
			 heartbeat);
}

void conn_heartbeat_start(struct wctx *w, struct conn *c)
{
	/* never now: the first heartbeat() runs inside ESTABLISHED */
	c->ping_ms = c->valid_ms + 1 + msg_random() % (uint64_t)w->conf->ping_interval_ms;
	heartbeat(&c->beat);
}

void conn_heartbeat_stop(struct wctx *w, struct conn *c)
{
	wloop_coarse_stop(w->loop, &c->beat);
}

/*
 * Who ended c's session, with which code and why.  Our own close (or the
 * client's close frame, if it came before ours went out); else lws's close
 * for a protocol error (its reason is still in the close buffer); else no
 * close frame at all (1006): lws dropping a client that stopped answering
 * pings, when none came for that long, or the client vanishing.
 */
static void close_verdict(struct wctx *w, struct conn *c, struct alog_session *s)
{
	s->by_server = 1;
	s->reason = NULL;
	if (c->peer_code && !c->close_sent) {
		s->code = c->peer_code;
		s->by_server = 0;
	} else if (c->close_code) {
		s->code = c->close_code;
		s->reason = conn_whys[c->close_why].tag;
	} else if (lws_get_close_length(c->wsi) >= 2) {
		const unsigned char *p = lws_get_close_payload(c->wsi);

		s->code = p[0] << 8 | p[1];
		s->reason = s->code == LWS_CLOSE_STATUS_INVALID_PAYLOAD ? "bad_utf8" : "protocol_error";
	} else {
		s->code = LWS_CLOSE_STATUS_ABNORMAL_CLOSE;
		/* lws times from just before our pong callback: allow for that */
		s->by_server = wloop_now(w->loop) - c->valid_ms + HANGUP_SLACK_MS >= (uint64_t)w->hangup_ms;
		s->reason = s->by_server ? "pong_timeout" : NULL;
	}
}

/* The end of a session: its access log line, and a debug line. */
void conn_session_end(struct wctx *w, struct conn *c)
{
	struct alog_session s = {
		.addr = c->addr, .worker = w->slot, .room = c->room, .id = c->id,
		.sub = w->conf->auth_enabled ? c->id : NULL, .dur_ms = wloop_now(w->loop) - c->t0_ms,
		.in = c->n_in, .out = c->n_out, .bytes_out = c->bytes_out,
		.tls_version = c->tls_version, .tls_cipher = c->tls_cipher,
	};
	char line[ALOG_LINE_MAX];
	struct timespec ts;
	size_t n;

	if (!alog_enabled() && !log_enabled(LOG_LVL_DEBUG))
		return;
	close_verdict(w, c, &s);
	log_debug("client %s from %s: closed %d by %s (%s) after %llu ms, %u in, %u out",
		  c->id, c->addr, s.code, s.by_server ? "server" : "client",
		  s.reason ? s.reason : "-", (unsigned long long)s.dur_ms, c->n_in, c->n_out);
	if (!alog_enabled())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = alog_format_session(line, sizeof(line), &ts, &s);
	if (alog_emit(line, n) < 0)
		log_errno(LOG_LVL_WARN, "writing the access log");
}

/*
 * Our close frame, once what was queued has gone.  Not by returning -1 from
 * WRITEABLE: Debian's lws is a debug build, and on libuv it closes a
 * connection that a callback fails a second time at once ("uv repeat
 * test"), cutting it before the close frame goes out.  This starts the same
 * close (the frame, then a wait for the client's) outside that path.  c may
 * be gone after it.
 */
void conn_close_start(struct conn *c)
{
	const char *why = conn_whys[c->close_why].text;

	lws_close_reason(c->wsi, (enum lws_close_status)c->close_code, (unsigned char *)why,
			 strlen(why));
	c->close_sent = 1;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
}

/* May a client send this close code (RFC 6455 7.4.1/7.4.2, IANA registry)? */
static int close_code_valid(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

/*
 * The client's close frame: remember its code for the access log.  lws
 * echoes the payload it hands us, and 4.1.6 lets codes above 2999 through
 * unchecked: a code no client may send is rewritten in place to 1002.
 */
void conn_peer_close(struct conn *c, unsigned char *in, size_t len)
{
	unsigned code = len >= 2 ? (unsigned)(in[0] << 8 | in[1]) : LWS_CLOSE_STATUS_NO_STATUS;

	if (!c->established || c->close_sent)
		return;
	if (len >= 2 && !close_code_valid(code)) {
		in[0] = LWS_CLOSE_STATUS_PROTOCOL_ERR >> 8;
		in[1] = LWS_CLOSE_STATUS_PROTOCOL_ERR & 0xff;
		c->close_code = LWS_CLOSE_STATUS_PROTOCOL_ERR;
		c->close_why = WHY_PROTOCOL;
		c->close_sent = 1;
		return;
	}
	c->peer_code = (uint16_t)code;
}

/* LWS_CALLBACK_TIMER: c's token has expired (on_established() set the
 * timer): close with 1008 now.  Returns -1, for the callback to return. */
int conn_token_expired(struct wctx *w, struct conn *c)
{
	stats_add(&w->st->token_expired_closes, 1);
	log_debug("client %s: token expired; closing", c->id);
	c->close_code = CHATD_CLOSE_POLICY;
	c->close_why = WHY_TOKEN;
	c->close_sent = 1;
	lws_close_reason(c->wsi, CHATD_CLOSE_POLICY, (unsigned char *)conn_whys[WHY_TOKEN].text,
			 strlen(conn_whys[WHY_TOKEN].text));
	return -1;
}
