/*
 * http.c - the HTTP side of a worker: which room an upgrade asks for (or why
 * it is refused), /healthz, the stats endpoint, 426 for a plain GET on a
 * WebSocket path, 404 for the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "chatd.h"
#include "conf.h"
#include "http.h"
#include "room.h"
#include "shm.h"
#include "stats.h"
#include "worker.h"

#define URI_MAX 1024

/* Where a decoded path points, relative to path_prefix + "/ws". */
enum route { ROUTE_NONE, ROUTE_WS_GLOBAL, ROUTE_WS_ROOM, ROUTE_STATS, ROUTE_HEALTH };

static enum route route_of(const struct conf *c, const char *uri, const char **rest)
{
	size_t pl = strlen(c->path_prefix);

	if (strcmp(uri, "/healthz") == 0)
		return ROUTE_HEALTH;
	if (strncmp(uri, c->path_prefix, pl) != 0 || strncmp(uri + pl, "/ws", 3) != 0)
		return ROUTE_NONE;
	uri += pl + 3;
	if (*uri == '\0')
		return ROUTE_WS_GLOBAL;
	if (*uri != '/')
		return ROUTE_NONE;
	*rest = uri + 1;
	return strcmp(*rest, "stats") == 0 ? ROUTE_STATS : ROUTE_WS_ROOM;
}

int http_ws_target(struct worker *w, struct lws *wsi, char *room, size_t *room_len)
{
	char uri[URI_MAX], arg[CHATD_ROOM_MAX + 8];
	const char *rest = NULL;
	int n;

	*room_len = 0;
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
		return 400;
	switch (route_of(w->conf, uri, &rest)) {
	case ROUTE_WS_GLOBAL:
		/* the value follows "room=" in arg; too long for arg: refused below */
		rest = lws_get_urlarg_by_name(wsi, "room=", arg, (int)sizeof(arg));
		if (rest == NULL)
			return 0;           /* no ?room=: the global channel */
		break;
	case ROUTE_WS_ROOM:
	case ROUTE_STATS:           /* "stats" is reserved: refused below */
		break;
	default:
		return 404;
	}
	n = (int)strlen(rest);
	if (!room_name_valid(rest, (size_t)n))
		return 400;
	memcpy(room, rest, (size_t)n + 1);
	*room_len = (size_t)n;
	return 0;
}

/* Send a complete response (status, headers, body) on an HTTP transaction. */
static int respond(struct lws *wsi, int status, const char *ctype, const char *body, size_t len)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
		      *end = buf + sizeof(buf) - 1;
	unsigned char *out;

	if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (len == 0)
		return 0;
	out = malloc(LWS_PRE + len);
	if (out == NULL)
		return -1;
	memcpy(out + LWS_PRE, body, len);
	/* small bodies: lws keeps any unsent tail itself */
	if (lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) < 0) {
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

int http_refuse(struct lws *wsi, int status, const char *body)
{
	struct worker *w = worker_of(wsi);

	stats_add(&w->st->rejected_upgrades, 1);
	respond(wsi, status, "text/plain", body, strlen(body));
	return 1;
}

static int serving(struct worker *w)
{
	return !w->stopping && !w->draining && !stats_get(&w->shm->master.stopping);
}

static int on_upgrade(struct worker *w, struct lws *wsi)
{
	char room[CHATD_ROOM_MAX + 1];
	size_t rl;
	int st;

	if (!serving(w))
		return http_refuse(wsi, 503, "shutting down\n");
	st = http_ws_target(w, wsi, room, &rl);
	if (st == 400)
		return http_refuse(wsi, 400, "bad room name: 1-128 bytes of A-Z a-z 0-9 . _ : -\n");
	if (st != 0)
		return http_refuse(wsi, st, "not found\n");
	return 0;
}

static int on_request(struct worker *w, struct lws *wsi, const char *uri)
{
	const char *rest = NULL, *msg;
	char *json;
	size_t len;
	int rc, st;

	stats_add(&w->st->http_requests, 1);
	switch (route_of(w->conf, uri, &rest)) {
	case ROUTE_HEALTH:
		st = serving(w) ? 200 : 503;
		msg = st == 200 ? "ok\n" : "stopping\n";
		rc = respond(wsi, st, "text/plain", msg, strlen(msg));
		break;
	case ROUTE_STATS:
		json = stats_json(w->shm, &len);
		if (json == NULL)
			return -1;
		rc = respond(wsi, 200, "application/json", json, len);
		free(json);
		break;
	case ROUTE_WS_GLOBAL:
	case ROUTE_WS_ROOM:
		msg = "426 Upgrade Required: this is a WebSocket endpoint\n";
		rc = respond(wsi, 426, "text/plain", msg, strlen(msg));
		break;
	default:
		msg = "404 Not Found\n";
		rc = respond(wsi, 404, "text/plain", msg, strlen(msg));
		break;
	}
	if (rc < 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len)
{
	struct worker *w = worker_of(wsi);

	(void)user; (void)len;
	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return on_upgrade(w, wsi);
	case LWS_CALLBACK_HTTP:
		return on_request(w, wsi, (const char *)in);
	default:
		return 0;
	}
}
