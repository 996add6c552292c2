/* SPDX-License-Identifier: MIT */
/*
 * t_http.c - plain HTTP beside the WebSocket: /healthz, a plain GET on the
 * WebSocket paths, unknown paths, the stats document's fields, and the
 * stats following connections as they open and close across workers.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void t_plain_http(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	char body[4096];
	int st = 0;

	CHECK(h, "start");
	CHECK(wsc_http_request(HOST, h->port, "GET", "/healthz", NULL, NULL, 2000, &st, body,
			   sizeof(body)) >= 0 && st == 200, "healthz HTTP %d", st);
	CHECK(strncmp(body, "ok", 2) == 0, "healthz body '%s'", body);
	const char *ws_paths[] = { WS, WS "/lobby" };
	for (int i = 0; i < 2; i++) {
		st = 0;
		CHECK(wsc_http_request(HOST, h->port, "GET", ws_paths[i], NULL, NULL, 2000, &st,
				   body, sizeof(body)) >= 0, "%s: no answer", ws_paths[i]);
		CHECK(st == 426 || st == 400, "plain GET %s: HTTP %d", ws_paths[i], st);
		CHECK(strlen(body) > 0 && strlen(body) < 1024, "%s: body '%s'", ws_paths[i], body);
	}
	const char *nf[] = { "/nope", "/api/chat-api", "/api/chat-api/wsx", "/healthz/x" };
	for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
		st = 0;
		CHECK(wsc_http_request(HOST, h->port, "GET", nf[i], NULL, NULL, 2000, &st, body,
				   sizeof(body)) >= 0 && st == 404, "%s: HTTP %d", nf[i], st);
	}
	int ws404 = 0;
	struct wsc *c = wsc_connect(HOST, h->port, "/nope", NULL, 2000, &ws404);
	wsc_free(c);
	CHECK(!c && ws404 == 404, "upgrade on unknown path: HTTP %d", ws404);
	json_t *j = harness_stats(h);
	CHECK(j, "stats");
	const char *keys[] = { "connections", "rooms", "messages_in", "frames_out", "bytes_out",
			       "errors_sent", "slow_consumer_closes", "oversize_closes",
			       "ring_lost", "uplink_full", "rejected_upgrades",
			       "worker_restarts", "reloads", "uptime_seconds" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK(stats_num(j, keys[i]) >= 0, "stats: no number '%s'", keys[i]);
	CHECK(json_array_size(json_object_get(j, "workers")) == 1, "stats: workers[] size");
	CHECK(strcmp(js(json_object_get(j, "redis"), "state"), "off") == 0, "redis.state");
	json_decref(j);
}

/* ---- stats follow connections -------------------------------------------- */

static long long workers_sum(json_t *j, const char *key, int *nonzero)
{
	json_t *w;
	size_t i;
	long long sum = 0;

	*nonzero = 0;
	json_array_foreach(json_object_get(j, "workers"), i, w) {
		long long v = stats_num(w, key);

		sum += v;
		*nonzero += v > 0;
	}
	return sum;
}

static void t_stats_connections(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	struct wsc *c[6];
	long long v;

	CHECK(h, "start");
	CHECK(stats_wait(h, "connections", 0, 1000) == 0, "idle connections != 0");
	for (int i = 0; i < 6; i++)
		CHECK((c[i] = ws_join(h, i % 2 ? WS "/r1" : WS, NULL, 0)), "connect %d", i);
	CHECK((v = stats_wait(h, "connections", 6, 2000)) == 6, "connections %lld, want 6", v);
	json_t *j = harness_stats(h);
	int nz;
	CHECK(j && workers_sum(j, "connections", &nz) == 6, "per-worker sum != 6");
	CHECK(stats_num(j, "rooms") >= 1, "rooms %lld", stats_num(j, "rooms"));
	json_decref(j);
	for (int i = 0; i < 4; i++) {
		if (i % 2)
			wsc_close(c[i], 1000);
		wsc_free(c[i]);
	}
	CHECK((v = stats_wait(h, "connections", 2, 3000)) == 2, "connections %lld, want 2", v);
	wsc_free(c[4]);
	wsc_free(c[5]);
	CHECK((v = stats_wait(h, "connections", 0, 3000)) == 0, "connections %lld, want 0", v);
	CHECK(chatd_stop(h, 5000) == 0, "exit status");
}

static void t_workers_share(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	struct wsc *c[40];
	int nz = 0;

	CHECK(h, "start");
	for (int i = 0; i < 40; i++)
		CHECK((c[i] = ws_open(h, WS "/share")), "connect %d", i);
	CHECK(stats_wait(h, "connections", 40, 3000) == 40, "connections != 40");
	json_t *j = harness_stats(h);
	CHECK(j, "stats");
	CHECK(json_array_size(json_object_get(j, "workers")) == 2, "workers[] != 2");
	CHECK(workers_sum(j, "connections", &nz) == 40 && nz == 2,
	      "connections not spread over both workers (%d with connections)", nz);
	json_decref(j);
	for (int i = 0; i < 40; i++)
		wsc_free(c[i]);
}

/* ---- HEAD and request framing ------------------------------------------------ */

/* The status of an HTTP response (0 when it is none). */
static int http_status(const char *resp)
{
	return strncmp(resp, "HTTP/1.", 7) == 0 ? atoi(resp + 9) : 0;
}

/* HEAD answers like GET, headers only (RFC 9110 9.3.2): a body would be read
 * as the start of the next response on a kept-alive connection. */
static void t_http_head(void)
{
	static const struct { const char *path; int status; } cases[] = {
		{ "/healthz", 200 }, { "/nope", 404 }, { WS, 426 }, { WS "/stats", 200 },
	};
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	char req[512], resp[8192];
	const char *body;

	CHECK(h, "start");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close"
			 "\r\n\r\n", cases[i].path);
		CHECK(http_raw(HOST, h->port, req, resp, sizeof(resp), 3000) > 0, "HEAD %s: no "
		      "answer", cases[i].path);
		CHECK(http_status(resp) == cases[i].status, "HEAD %s: \"%.40s\"", cases[i].path, resp);
		body = strstr(resp, "\r\n\r\n");
		CHECK(body != NULL && body[4] == '\0', "HEAD %s sent a body: %s", cases[i].path, resp);
	}
	/* kept alive: the GET after a HEAD is answered, and nothing in between */
	CHECK(http_raw(HOST, h->port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
		       "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		       resp, sizeof(resp), 3000) > 0, "HEAD then GET: no answer");
	body = strstr(resp, "\r\n\r\n");
	CHECK(http_status(resp) == 200 && body != NULL && http_status(body + 4) == 200 &&
	      strlen(resp) > 3 && strcmp(resp + strlen(resp) - 3, "ok\n") == 0,
	      "HEAD then GET: %s", resp);
}

/* A request hidden in the body: answered (a second response) when the
 * body is taken for the next request. */
#define SMUGGLED "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

/* How many times s occurs in text. */
static int count_of(const char *text, const char *s)
{
	int n = 0;

	for (const char *p = strstr(text, s); p != NULL; p = strstr(p + 1, s))
		n++;
	return n;
}

/* Framing a proxy in front may read differently from us (request
 * smuggling, RFC 9112 6.1 and 6.3): refused with 400 and closed, whatever
 * the path: one response, the body never read as a request.  Any
 * Transfer-Encoding is refused, also without Content-Length (lws cannot
 * read a chunked request body). */
static void t_http_smuggling(void)
{
	static const char *const framing[] = {
		"Content-Length: 0\r\nContent-Length: 5\r\n",
		"Content-Length: 5\r\nContent-Length: 0\r\n",
		"Content-Length: 0, 5\r\n",
		"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
		"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
		"Content-Length: x\r\n",
		"Transfer-Encoding: chunked\r\n",      /* alone: lws cannot read the body */
	};
	static const char *const heads[] = {
		"GET /healthz", "POST /api/chat-api/publish", "GET /nope",
		"GET " WS "/room", /* an upgrade */
	};
	static const char upgrade[] = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
	struct chatd *h = chatd_start(&(struct chatd_opts){ .conf = "publish_key sekrit\n" });
	char req[1024], resp[4096];
	struct wsc *by;

	CHECK(h, "start");
	CHECK((by = ws_join(h, WS "/room", NULL, 0)), "bystander");
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		for (size_t k = 0; k < sizeof(framing) / sizeof(framing[0]); k++) {
			snprintf(req, sizeof(req), "%s HTTP/1.1\r\nHost: x\r\n%s%s\r\n%s", heads[i],
				 i == 3 ? upgrade : "", framing[k], "0\r\n\r\n" SMUGGLED);
			CHECK(http_raw(HOST, h->port, req, resp, sizeof(resp), 3000) > 0,
			      "%s + %s: no answer", heads[i], framing[k]);
			CHECK(http_status(resp) == 400, "%s + %s: \"%.60s\"", heads[i], framing[k],
			      resp);
			CHECK(count_of(resp, "HTTP/1.") == 1, "%s + %s: the body was served as a "
			      "request: \"%.300s\"", heads[i], framing[k], resp);
		}
	/* one Content-Length, twice the same value, or none: served */
	CHECK(http_raw(HOST, h->port, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0"
		       "\r\nConnection: close\r\n\r\n", resp, sizeof(resp), 3000) > 0 &&
	      http_status(resp) == 200, "one Content-Length: %.60s", resp);
	json_t *j = ws_sendf(by, "{\"type\":\"ping\"}") == 0 ? ws_recv_type(by, "pong", 3000) : NULL;
	CHECK(j, "bystander served");
	json_decref(j);
	wsc_free(by);
}

const struct itest_case t_http_cases[] = {
	{ "http_plain", t_plain_http, 0 },
	{ "http_stats_connections", t_stats_connections, 0 },
	{ "http_workers_share", t_workers_share, 0 },
	{ "http_head", t_http_head, 0 },
	{ "http_smuggling", t_http_smuggling, 0 },
	{ NULL, NULL, 0 },
};
