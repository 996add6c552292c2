/* SPDX-License-Identifier: MIT */
/*
 * t_http.c - plain HTTP beside the WebSocket: /healthz, a plain GET on the
 * WebSocket paths, unknown paths, the stats document's fields, and the
 * stats following connections as they open and close across workers.
 */
#include "harness.h"

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

const struct itest_case t_http_cases[] = {
	{ "http_plain", t_plain_http, 0 },
	{ "http_stats_connections", t_stats_connections, 0 },
	{ "http_workers_share", t_workers_share, 0 },
	{ NULL, NULL, 0 },
};
