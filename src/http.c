/* SPDX-License-Identifier: MIT */
/*
 * http.c - the HTTP side of a worker: upgrades refused (their own headers,
 * admit.c's room and token, the Origin), /healthz, the stats endpoints (for
 * status_allow's clients), the demo page, POST {prefix}/publish, 426 for a
 * plain GET on a WebSocket path, 404 for the rest.  The members endpoint
 * is http_members.c's; every answer goes out through http_resp.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "admit.h"
#include "alog.h"
#include "auth.h"
#include "chatd.h"
#include "cidr.h"
#include "conf.h"
#include "history.h"
#include "hjoin.h"
#include "http.h"
#include "http_members.h"
#include "http_resp.h"
#include "log.h"
#include "metrics.h"
#include "page.h"
#include "publish.h"
#include "room.h"
#include "shm.h"
#include "stats.h"
#include "wctx.h"
#include "ws.h"
#include "wroster.h"

/* A refused upgrade in the access log and the debug log (cheap when both
 * are off). */
static void upgrade_log(struct wctx *w, struct lws *wsi, int status, const char *reason)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[ALOG_ADDR_MAX] = "-", uri[ADMIT_URI_MAX] = "", line[ALOG_LINE_MAX];
	struct timespec ts;
	size_t n;

	if (!alog_enabled() && !log_enabled(LOG_LVL_DEBUG))
		return;
	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) == 0)
		alog_addr((struct sockaddr *)&ss, addr, sizeof(addr));
	lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
	log_debug("upgrade from %s to %s refused with %d: %s", addr, uri, status, reason);
	clock_gettime(CLOCK_REALTIME, &ts);
	n = alog_format_refused(line, sizeof(line), &ts, addr, w->slot, uri, status, reason);
	if (alog_emit(line, n) < 0)
		log_errno(LOG_LVL_WARN, "writing the access log");
}

/* Count and log a refused upgrade: upgrade_refuse() without the answer. */
static void upgrade_refused(struct wctx *w, struct lws *wsi, int status, const char *reason)
{
	stats_add(&w->st->rejected_upgrades, 1);
	upgrade_log(w, wsi, status, reason);
}

/*
 * The one place an upgrade is refused, so status and reason are at hand in
 * one spot: counted in rejected_upgrades (callers count the reason's own
 * counter), written to the access log and the debug log, answered with
 * status, hdrs (NULL or name/value pairs) and a short body of type ctype;
 * the connection then closes.  reason names the refusal in one word
 * (bad_key, origin, auth...).  Returns 1.
 */
static int upgrade_refuse(struct wctx *w, struct lws *wsi, int status, const char *reason,
			  const char *ctype, const char *const *hdrs, const char *body)
{
	upgrade_refused(w, wsi, status, reason);
	http_resp_hdrs(wsi, status, ctype, hdrs, body, strlen(body));
	return 1;
}

static int refuse_text(struct wctx *w, struct lws *wsi, int status, const char *reason,
		       const char *body)
{
	return upgrade_refuse(w, wsi, status, reason, "text/plain", NULL, body);
}

/* Not shutting down.  A worker draining after a reload still serves (its
 * clients get 1012 at drain_timeout): healthz stays 200 through a reload. */
static int serving(struct wctx *w)
{
	return !w->stopping && !stats_get(&w->shm->master.stopping);
}

/* ---- auth.c at the upgrade: Origin, then the token ------------------------------ */

/* Refuse an upgrade with http_resp_error()'s JSON, as upgrade_refuse()
 * does; why holds no quotes. */
static int refuse_json(struct wctx *w, struct lws *wsi, int status, const char *reason,
		       const char *why)
{
	upgrade_refused(w, wsi, status, reason);
	http_resp_error(wsi, status, why);
	return 1;
}

/* The Origin allow-list, then the token: 0 to go on, 1 when refused. */
static int http_ws_admit(struct wctx *w, struct lws *wsi, const char *room)
{
	char origin[512];
	struct auth_identity id;
	char why[128];
	int st;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0 &&
	    (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0 ||
	     !auth_origin_allowed(w->conf->allowed_origins, origin))) {
		stats_add(&w->st->origin_refused, 1);
		return refuse_json(w, wsi, 403, "origin", "origin not allowed");
	}
	st = admit_identify(w, wsi, room, &id, why, sizeof(why));
	if (st == 0)
		return 0;
	stats_add(&w->st->auth_refused, 1);
	return refuse_json(w, wsi, st, "auth", why);
}

/* ---- RFC 6455 section 4.2.1: the upgrade's own headers ------------------------ */

/* Does the comma-separated list s hold token (any case)? */
static int has_token(const char *s, const char *token)
{
	size_t n = strlen(token);

	while (*s != '\0') {
		s += strspn(s, " \t,");
		size_t len = strcspn(s, ",");
		size_t end = len;

		while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
			end--;
		if (end == n && strncasecmp(s, token, n) == 0)
			return 1;
		s += len;
	}
	return 0;
}

/* 16 bytes in base64: 22 characters of the alphabet, then "==". */
static int key_ok(const char *k)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	return strlen(k) == 24 && strspn(k, b64) == 22 && strcmp(k + 22, "==") == 0;
}

enum http_hs http_handshake_check(const char *upgrade, const char *connection,
				  const char *key, const char *version)
{
	if (upgrade == NULL || strcasecmp(upgrade, "websocket") != 0)
		return HS_BAD_UPGRADE;
	if (connection == NULL || !has_token(connection, "upgrade"))
		return HS_BAD_CONNECTION;
	if (key == NULL || !key_ok(key))
		return HS_BAD_KEY;
	if (version == NULL || strcmp(version, "13") != 0)
		return HS_BAD_VERSION;
	return HS_OK;
}

/* How each refusal of http_handshake_check() is answered and counted. */
static const struct {
	int         status;
	const char *reason, *body;
	size_t      counter;        /* offset in struct worker_stats */
} hs_refusals[] = {
	[HS_BAD_UPGRADE] = { 400, "bad_upgrade", "400 Bad Request: Upgrade must be websocket\n",
			     offsetof(struct worker_stats, bad_upgrade) },
	[HS_BAD_CONNECTION] = { 400, "bad_connection",
				"400 Bad Request: Connection must include Upgrade\n",
				offsetof(struct worker_stats, bad_connection) },
	[HS_BAD_KEY] = { 400, "bad_key",
			 "400 Bad Request: Sec-WebSocket-Key must be 16 bytes in base64\n",
			 offsetof(struct worker_stats, bad_key) },
	[HS_BAD_VERSION] = { 426, "bad_version",
			     "426 Upgrade Required: Sec-WebSocket-Version must be 13\n",
			     offsetof(struct worker_stats, bad_version) },
};

/* Header tok of the request: buf, "" when longer than buf, NULL when absent. */
static const char *header(struct lws *wsi, enum lws_token_indexes tok, char *buf, int cap)
{
	if (lws_hdr_total_length(wsi, tok) <= 0)
		return NULL;
	if (lws_hdr_copy(wsi, buf, cap, tok) < 0)
		buf[0] = '\0';
	return buf;
}

/* Refuse an upgrade whose own headers are wrong: 1, or 0 when they are right. */
static int handshake_refuse(struct wctx *w, struct lws *wsi)
{
	static const char *const v13[] = { "sec-websocket-version:", "13", NULL };
	char up[64], conn[256], key[64], ver[16];
	enum http_hs e = http_handshake_check(header(wsi, WSI_TOKEN_UPGRADE, up, sizeof(up)),
					      header(wsi, WSI_TOKEN_CONNECTION, conn, sizeof(conn)),
					      header(wsi, WSI_TOKEN_KEY, key, sizeof(key)),
					      header(wsi, WSI_TOKEN_VERSION, ver, sizeof(ver)));

	if (e == HS_OK)
		return 0;
	stats_add((_Atomic uint64_t *)(void *)((char *)w->st + hs_refusals[e].counter), 1);
	return upgrade_refuse(w, wsi, hs_refusals[e].status, hs_refusals[e].reason, "text/plain",
			      e == HS_BAD_VERSION ? v13 : NULL, hs_refusals[e].body);
}

/*
 * A trap: libwebsockets 4.1.6 answers an Upgrade other than websocket (or
 * h2c) itself, with 403 and an HTML page, before any callback of ours runs
 * (lws_handshake_server() in roles/http/server/server.c).  It calls this
 * exported function through the PLT to do so, so chatd's definition takes
 * its place: that refusal becomes chatd's 400, and every other status lws
 * answers on its own (e.g. 403 for a path that escapes the root) gets a
 * short text body instead of library HTML.
 */
int lws_return_http_status(struct lws *wsi, unsigned int code, const char *html_body)
{
	struct wctx *w = wctx_of(wsi);
	char up[64], body[64];

	(void)html_body;
	if (w != NULL && header(wsi, WSI_TOKEN_UPGRADE, up, sizeof(up)) != NULL &&
	    http_handshake_check(up, NULL, NULL, NULL) == HS_BAD_UPGRADE) {
		handshake_refuse(w, wsi);
		return 0;
	}
	snprintf(body, sizeof(body), "%u %s\n", code, code == 403 ? "Forbidden" :
		 code == 404 ? "Not Found" : code < 500 ? "Bad Request" : "Server Error");
	return http_resp(wsi, (int)code, "text/plain", body, strlen(body)) < 0;
}

/* ---- request framing: what a proxy in front could read differently ------------ */

/* Does the comma-separated list s name one value, however often?  "5",
 * "5, 5" yes; "5, 6", "", "x" no.  The value goes to *val (digits only). */
static int length_list(const char *s, unsigned long long *val, int *seen)
{
	while (*s != '\0') {
		unsigned long long v = 0;
		size_t n;

		s += strspn(s, " \t");
		n = strspn(s, "0123456789");
		if (n == 0 || n > 15)
			return 0;
		for (size_t i = 0; i < n; i++)
			v = v * 10 + (unsigned)(s[i] - '0');
		if (*seen && v != *val)
			return 0;
		*val = v;
		*seen = 1;
		s += n + strspn(s + n, " \t");
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return 0;
	}
	return *seen;
}

/*
 * Request smuggling (RFC 9112 6.1, 6.3): any Transfer-Encoding (with or
 * without Content-Length), Content-Lengths that disagree, or one that is not a
 * number.  lws 4.1.6 keeps each repeated header as a fragment of one token
 * (lws_hdr_copy() joins them), so every fragment is read.  1 when the
 * framing is ambiguous, else 0 with the Content-Length in *len (-1: none).
 */
static int framing_bad(struct lws *wsi, long long *len)
{
	enum lws_token_indexes cl = WSI_TOKEN_HTTP_CONTENT_LENGTH;
	unsigned long long val = 0;
	char frag[128];
	int seen = 0;

	*len = -1;
	/* any Transfer-Encoding: lws 4.1.6 cannot read a chunked request body,
	 * so it would parse the body as the next request */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
		return 1;
	if (lws_hdr_total_length(wsi, cl) <= 0)
		return 0;
	for (int i = 0; lws_hdr_fragment_length(wsi, cl, i) > 0; i++)
		if (lws_hdr_copy_fragment(wsi, frag, sizeof(frag), cl, i) < 0 ||
		    !length_list(frag, &val, &seen))
			return 1;
	if (!seen)
		return 1;
	*len = (long long)val;          /* at most 15 digits */
	return 0;
}

/* Answer an ambiguous request 400 and close (its body cannot be skipped
 * safely): 1; 0 when the framing is clear, its Content-Length in *len
 * (-1: none). */
static int framing_refuse(struct wctx *w, struct lws *wsi, int upgrade, long long *len)
{
	static const char body[] = "400 Bad Request: ambiguous Content-Length or "
				   "Transfer-Encoding\n";

	if (!framing_bad(wsi, len))
		return 0;
	if (upgrade)
		return refuse_text(w, wsi, 400, "bad_framing", body);
	stats_add(&w->st->http_requests, 1);
	http_resp(wsi, 400, "text/plain", body, sizeof(body) - 1);
	return 1;
}

static int on_upgrade(struct wctx *w, struct lws *wsi)
{
	char room[CHATD_ROOM_MAX + 1];
	struct history_req hq;
	size_t rl;
	int st, asked;

	if (handshake_refuse(w, wsi))
		return 1;
	if (!serving(w))
		return refuse_text(w, wsi, 503, "stopping", "shutting down\n");
	st = admit_target(w->conf, wsi, room, &rl);
	if (st == 400)
		return refuse_text(w, wsi, 400, "bad_room",
				   "bad room name: 1-128 bytes of A-Z a-z 0-9 . _ : -\n");
	if (st != 0)
		return refuse_text(w, wsi, st, "not_found", "not found\n");
	if (hjoin_query(wsi, &hq, &asked) < 0)
		return refuse_text(w, wsi, 400, "bad_history",
				   "bad history query: history=0-10000, since=0-2^53 with "
				   "epoch=1-32 bytes of A-Z a-z 0-9 _ -\n");
	return http_ws_admit(w, wsi, rl ? room : NULL);
}

/* ---- web: the demo page, /metrics, POST {prefix}/publish ---------------- */

static int serve_page(struct wctx *w, struct lws *wsi, const char *name)
{
	const char *dir = page_dir(w->conf->static_dir), *ctype, *msg;
	char *body, hint[512];
	size_t len;
	int st, rc;

	if (dir == NULL) {
		msg = "404 Not Found (the demo page is off: static_dir off)\n";
		return http_resp(wsi, 404, "text/plain", msg, strlen(msg));
	}
	st = page_load(dir, name, w->conf->path_prefix, &body, &len, &ctype);
	if (st != 0) {
		snprintf(hint, sizeof(hint), "%d %s%s%s\n", st, st == 404 ? "Not Found" : "Error",
			 name[0] ? "" : ": no demo page in ", name[0] ? "" : dir);
		return http_resp(wsi, st, "text/plain", hint, strlen(hint));
	}
	rc = http_resp_hdrs(wsi, 200, ctype, page_headers, body, len);
	free(body);
	return rc;
}

/* Is the client in status_allow?  The TCP peer's address decides. */
static int status_allowed(struct wctx *w, struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	return getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) == 0 &&
	       cidr_list_match(&w->conf->status_allow, (const struct sockaddr *)&ss);
}

/* /metrics (Prometheus text) or {prefix}/ws/stats (JSON), for the clients
 * status_allow lets in; 403 for the others. */
static int serve_status(struct wctx *w, struct lws *wsi, int metrics)
{
	static const char refused[] = "403 Forbidden: address not in status_allow\n";
	size_t len;
	char *text;
	int rc;

	if (!status_allowed(w, wsi)) {
		stats_add(&w->st->status_refused, 1);
		return http_resp(wsi, 403, "text/plain", refused, sizeof(refused) - 1);
	}
	text = metrics ? metrics_text(w->shm, &len) : stats_json(w->shm, &len);
	if (text == NULL)
		return -1;
	rc = http_resp(wsi, 200, metrics ? METRICS_CONTENT_TYPE : "application/json", text, len);
	free(text);
	return rc;
}

/* Answer a publish request with e's JSON error. */
static int publish_refuse(struct wctx *w, struct lws *wsi, enum publish_err e)
{
	static const char *const allow[] = { "allow:", "POST", NULL };
	static const char *const bearer[] = { "www-authenticate:", "Bearer", NULL };
	size_t len;
	char *json = publish_answer(e, NULL, 0, &len);
	int rc;

	stats_add(&w->st->publish_errors, 1);
	if (json == NULL)
		return -1;
	rc = http_resp_hdrs(wsi, publish_status(e), "application/json",
			  e == PUBLISH_EMETHOD ? allow : publish_status(e) == 401 ? bearer : NULL,
			  json, len);
	free(json);
	return rc;
}

/* The body is complete (c->rx, or empty): answer, then end the transaction. */
static int publish_finish(struct wctx *w, struct lws *wsi, struct conn *c)
{
	char *json;
	int st, n;
	size_t len;

	json = publish_handle(w, c->rx ? c->rx : "", c->rxlen, &st, &len);
	conn_rx_reset(c);
	if (json == NULL)
		return -1;
	n = http_resp(wsi, st, "application/json", json, len);
	free(json);
	if (n < 0)
		return -1;
	return http_resp_end(w, wsi);
}

/* POST: only {prefix}/publish.  The key is checked from the head, so
 * nobody without it can make the worker read (and wait for) a body.  The
 * body is gathered in the connection's rx buffer, bounded by
 * max_message_size (gate.c gives it a deadline); refusals before it close
 * the connection, as its body is not read.  n: the Content-Length
 * framing_bad() validated (-1: none). */
static int on_post(struct wctx *w, struct lws *wsi, struct conn *c, const char *uri,
		   long long n)
{
	const char *rest = NULL;
	char auth[4200];
	int an;
	enum publish_err e;

	stats_add(&w->st->http_requests, 1);
	if (admit_route(w->conf, uri, &rest) != ROUTE_PUBLISH) {
		http_resp(wsi, 405, "text/plain", "405 Method Not Allowed\n", 23);
		return -1;
	}
	an = lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION);
	if ((e = publish_auth(w->conf->publish_key, an > 0 ? auth : NULL)) != PUBLISH_OK) {
		publish_refuse(w, wsi, e);
		return -1;
	}
	if (n < 0) {
		publish_refuse(w, wsi, PUBLISH_ELENGTH);
		return -1;
	}
	if ((unsigned long long)n > w->conf->max_message_size) {
		publish_refuse(w, wsi, PUBLISH_ETOOBIG);
		return -1;
	}
	conn_rx_reset(c);
	if (n == 0)                      /* no body callbacks will come */
		return publish_finish(w, wsi, c);
	if ((c->rx = malloc((size_t)n)) == NULL)
		return -1;
	c->rxcap = (size_t)n;
	return 0;
}

static int on_body(struct conn *c, const void *in, size_t len)
{
	if (c->rx == NULL || len > c->rxcap - c->rxlen)
		return -1;                  /* more than Content-Length: drop it */
	memcpy(c->rx + c->rxlen, in, len);
	c->rxlen += len;
	return 0;
}

static int on_request(struct wctx *w, struct lws *wsi, const char *uri)
{
	const char *rest = NULL, *msg;
	enum route route;
	int rc, st;

	stats_add(&w->st->http_requests, 1);
	switch ((route = admit_route(w->conf, uri, &rest))) {
	case ROUTE_HEALTH:
		st = serving(w) ? 200 : 503;
		msg = st == 200 ? "ok\n" : "stopping\n";
		rc = http_resp(wsi, st, "text/plain", msg, strlen(msg));
		break;
	case ROUTE_STATS:
	case ROUTE_METRICS:
		rc = serve_status(w, wsi, route == ROUTE_METRICS);
		break;
	case ROUTE_PAGE:
		rc = serve_page(w, wsi, rest);
		break;
	case ROUTE_PUBLISH:
		rc = publish_refuse(w, wsi, PUBLISH_EMETHOD);
		break;
	case ROUTE_MEMBERS:
		if ((rc = http_members_request(w, wsi, uri)) > 0)
			return 0;       /* answered from members_write */
		break;
	case ROUTE_WS_GLOBAL:
	case ROUTE_WS_ROOM:
		msg = "426 Upgrade Required: this is a WebSocket endpoint\n";
		rc = http_resp(wsi, 426, "text/plain", msg, strlen(msg));
		break;
	default:
		msg = "404 Not Found\n";
		rc = http_resp(wsi, 404, "text/plain", msg, strlen(msg));
		break;
	}
	if (rc < 0)
		return -1;
	return http_resp_end(w, wsi);
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len)
{
	struct wctx *w = wctx_of(wsi);
	long long cl;

	(void)user; (void)len;
	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return framing_refuse(w, wsi, 1, &cl) ? 1 : on_upgrade(w, wsi);
	case LWS_CALLBACK_HTTP:
		if (framing_refuse(w, wsi, 0, &cl))
			return -1;
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
			return on_post(w, wsi, user, (const char *)in, cl);
		return on_request(w, wsi, (const char *)in);
	case LWS_CALLBACK_HTTP_BODY:
		return on_body(user, in, len);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_members_write(wsi, user);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return user && ((struct conn *)user)->rx ? publish_finish(w, wsi, user) : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:     /* a body cut short: free it */
		wroster_forget(wsi);
		if (user != NULL && !((struct conn *)user)->established) {
			free(((struct conn *)user)->http_body);
			((struct conn *)user)->http_body = NULL;
			conn_rx_reset(user);
		}
		return 0;
	default:
		return 0;
	}
}
