/* SPDX-License-Identifier: MIT */
/*
 * gate.c - a worker's connections from the accept to the WebSocket upgrade:
 * the limits per client address, the HTTP phase kept within libwebsockets'
 * header pool, and the deadlines of request heads and POST bodies (see
 * gate.h).
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/queue.h>

#include <libwebsockets.h>

#include "conf.h"
#include "gate.h"
#include "limit.h"
#include "shm.h"
#include "wctx.h"

struct gate_conn {
	TAILQ_ENTRY(gate_conn) link;   /* in gate.http, oldest first, while `http` */
	lws_sorted_usec_list_t sul;    /* the head's or the body's deadline */
	struct lws *wsi;               /* NULL until adopted */
	struct limit_ip_hold *conn;    /* max_connections_per_ip, until the end */
	struct limit_ip_hold *http;    /* max_http_pending_per_ip; NULL once out of the phase */
	int body;                      /* the deadline armed is a POST body's */
};

struct gate {
	TAILQ_HEAD(, gate_conn) http;  /* connections in their HTTP phase, in accept order */
	int nhttp;
	struct limit_ip *conns, *pending;
};

struct gate *gate_new(void)
{
	struct gate *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	TAILQ_INIT(&g->http);
	g->conns = limit_ip_new();
	g->pending = limit_ip_new();
	if (g->conns == NULL || g->pending == NULL) {
		gate_free(g);
		return NULL;
	}
	return g;
}

void gate_free(struct gate *g)
{
	if (g == NULL)
		return;
	limit_ip_free(g->conns);
	limit_ip_free(g->pending);
	free(g);
}

/* The address bytes of ss (4 or 16; 0 for another family). */
static const void *peer_addr(const struct sockaddr_storage *ss, size_t *n)
{
	if (ss->ss_family == AF_INET6) {
		*n = 16;
		return &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
	}
	if (ss->ss_family == AF_INET) {
		*n = 4;
		return &((const struct sockaddr_in *)(const void *)ss)->sin_addr;
	}
	*n = 0;
	return "";
}

/* Out of the HTTP phase (upgraded, cut or gone): no deadline, no count. */
static void phase_leave(struct gate *g, struct gate_conn *gc)
{
	lws_sul_cancel(&gc->sul);
	if (gc->http == NULL)
		return;
	TAILQ_REMOVE(&g->http, gc, link);
	g->nhttp--;
	limit_ip_release(gc->http);
	gc->http = NULL;
}

/*
 * Close gc's connection now, counted in *counter; gc is freed (at
 * WSI_DESTROY).  Not LWS_TO_KILL_ASYNC: that is a timer, and lws sets the
 * connection's timer again for every byte of a body it reads, so a byte
 * arriving before the next turn of the loop undid the kill.  Safe from a
 * timer callback (lws's own timeouts close the same way) and from the
 * listener's callback (gc's wsi is not the one being served).
 */
static void cut(struct wctx *w, struct gate_conn *gc, _Atomic uint64_t *counter)
{
	stats_add(counter, 1);
	phase_leave(w->gate, gc);
	lws_set_timeout(gc->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

static void deadline_passed(lws_sorted_usec_list_t *sul)
{
	struct gate_conn *gc = lws_container_of(sul, struct gate_conn, sul);
	struct wctx *w = wctx_of(gc->wsi);

	cut(w, gc, gc->body ? &w->st->http_body_timeouts : &w->st->http_head_timeouts);
}

static void deadline_arm(struct wctx *w, struct gate_conn *gc, int body)
{
	gc->body = body;
	lws_sul_schedule(w->ctx, 0, &gc->sul, deadline_passed,
			 (lws_usec_t)w->conf->handshake_timeout_ms * LWS_US_PER_MS);
}

struct gate_conn *gate_enter(struct wctx *w, const struct sockaddr_storage *ss)
{
	struct gate *g = w->gate;
	struct gate_conn *gc = calloc(1, sizeof(*gc));
	size_t n;
	const void *a = peer_addr(ss, &n);
	int full = 0;

	if (gc == NULL ||
	    (gc->conn = limit_ip_acquire(g->conns, a, n, w->conf->max_connections_per_ip,
					 &full)) == NULL) {
		stats_add(full ? &w->st->ip_limit_hits : &w->st->conn_limit_hits, 1);
		free(gc);
		return NULL;
	}
	gc->http = limit_ip_acquire(g->pending, a, n, w->conf->max_http_pending_per_ip, &full);
	if (gc->http == NULL) {
		stats_add(full ? &w->st->http_pending_refused : &w->st->conn_limit_hits, 1);
		limit_ip_release(gc->conn);
		free(gc);
		return NULL;
	}
	/*
	 * The oldest first: a slow client has had the most time.  A legitimate
	 * request is cut only when max_http_pending newer connections come
	 * before its head is read.  (Sparing the young instead, refusing the
	 * newcomer while the oldest is younger than some grace time, would let
	 * a flood of max_http_pending per grace time keep everyone out.)
	 */
	while (g->nhttp >= w->conf->max_http_pending && !TAILQ_EMPTY(&g->http))
		cut(w, TAILQ_FIRST(&g->http), &w->st->http_pool_cuts);
	TAILQ_INSERT_TAIL(&g->http, gc, link);
	g->nhttp++;
	return gc;
}

void gate_adopted(struct wctx *w, struct gate_conn *gc, struct lws *wsi)
{
	if (wsi == NULL) {
		phase_leave(w->gate, gc);
		limit_ip_release(gc->conn);
		free(gc);
		return;
	}
	gc->wsi = wsi;
	lws_set_opaque_user_data(wsi, gc);
	deadline_arm(w, gc, 0);
}

/* A POST whose body lws will now read (Content-Length above 0)? */
static int body_follows(struct lws *wsi)
{
	char cl[32];

	return lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 &&
	       lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
	       strtoll(cl, NULL, 10) > 0;
}

void gate_event(struct lws *wsi, enum lws_callback_reasons reason)
{
	struct gate_conn *gc = lws_get_opaque_user_data(wsi);
	struct wctx *w;

	if (gc == NULL)
		return;
	w = wctx_of(wsi);
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		limit_ip_hold_seen(gc->conn);
		if (gc->http != NULL && body_follows(wsi))
			deadline_arm(w, gc, 1);
		else
			lws_sul_cancel(&gc->sul);
		break;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		limit_ip_hold_seen(gc->conn);
		/* fallthrough */
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		lws_sul_cancel(&gc->sul);
		break;
	case LWS_CALLBACK_ESTABLISHED:
		phase_leave(w->gate, gc);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (!limit_ip_hold_was_seen(gc->conn))
			stats_add(&w->st->handshake_failures, 1);
		phase_leave(w->gate, gc);
		limit_ip_release(gc->conn);
		lws_set_opaque_user_data(wsi, NULL);
		free(gc);
		break;
	default:
		break;
	}
}
