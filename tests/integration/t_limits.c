/* SPDX-License-Identifier: MIT */
/*
 * t_limits.c - the configured limits: the message rate, connections per
 * address and per worker, the handshake timeout and the header size.
 */
#include "harness.h"

#include <poll.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void t_rate_limit(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){
		.conf = "rate_limit 5\nrate_burst 5\n" });
	struct wsc *a, *b;
	char reason[128] = "";
	int chats = 0, errors = 0, code;
	json_t *j;

	CHECK(h, "start");
	CHECK((a = ws_join(h, WS "/r", NULL, 0)) && (b = ws_join(h, WS "/r", NULL, 0)), "join");
	for (int i = 0; i < 7; i++)
		CHECK(ws_sendf(a, "{\"type\":\"chat\",\"data\":{\"i\":%d}}", i) == 0, "send");
	while ((j = ws_recv_json(a, 1000)) != NULL) {
		if (strcmp(js(j, "type"), "chat") == 0)
			chats++;
		else if (strcmp(js(j, "type"), "error") == 0 &&
			 strcmp(js(json_object_get(j, "data"), "code"), "rate_limited") == 0)
			errors++;
		json_decref(j);
		if (chats + errors == 7)
			break;
	}
	CHECK(chats == 5 && errors == 2, "burst: %d chats, %d rate_limited", chats, errors);
	msleep(1100);                          /* 5 tokens back */
	CHECK(ws_sendf(a, "{\"type\":\"chat\"}") == 0 && (j = ws_recv_type(a, "chat", 2000)),
	      "allowed again after a pause");
	json_decref(j);
	for (int i = 0; i < 40; i++)           /* keep going: closed */
		if (ws_sendf(a, "{\"type\":\"chat\"}") < 0)
			break;
	code = ws_wait_close(a, 3000, reason, sizeof(reason));
	CHECK(code == 1008 && strcmp(reason, "rate limit") == 0, "close %d \"%s\"", code, reason);
	CHECK(ws_sendf(b, "{\"type\":\"ping\"}") == 0 && (j = ws_recv_type(b, "pong", 2000)),
	      "the other client is served");
	json_decref(j);
	CHECK(stats_wait(h, "rate_limit_closes", 1, 2000) == 1, "rate_limit_closes");
	j = harness_stats(h);
	CHECK(stats_num(j, "rate_limited") >= 20, "rate_limited %lld", stats_num(j, "rate_limited"));
	json_decref(j);
	wsc_free(a);
	wsc_free(b);
}

/* A burst that trips the 1008 close still gets what it was promised first:
 * a pong for each ping let through and a rate_limited error for each ping
 * refused, then the close. */
static void t_rate_limit_flush(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){
		.conf = "rate_limit 5\nrate_burst 5\n" });
	static const char ping[] = "{\"type\":\"ping\"}";
	uint8_t buf[40 * 32], *p = buf;
	int pongs = 0, errors = 0, after = 0, code, rc;
	struct wsc_msg m;
	struct wsc *a;
	json_t *j;

	CHECK(h, "start");
	CHECK((a = ws_join(h, WS "/r", NULL, 0)), "join");
	for (int i = 0; i < 40; i++)           /* one write: one burst */
		p += wsc_frame_encode(p, sizeof(buf) - (size_t)(p - buf), WSC_OP_TEXT, 1, 1, 0,
				      ping, sizeof(ping) - 1);
	CHECK(wsc_send_raw(a, buf, (size_t)(p - buf)) == 0, "send the burst");
	while ((rc = wsc_recv(a, 5000, &m)) == 1 && m.opcode != WSC_OP_CLOSE) {
		j = json_loadb(m.data, m.len, 0, NULL);
		if (strcmp(js(j, "type"), "pong") == 0)
			pongs++, after = 0;
		else if (strcmp(js(j, "type"), "error") == 0 &&
			 strcmp(js(json_object_get(j, "data"), "code"), "rate_limited") == 0)
			errors++, after = 1;
		json_decref(j);
	}
	CHECK(rc == 1, "no close frame (%d pongs, %d errors before)", pongs, errors);
	code = m.close_code;
	CHECK(code == 1008 && strcmp(m.close_reason, "rate limit") == 0, "close %d \"%s\"",
	      code, m.close_reason);
	CHECK(pongs >= 5 && errors >= 20 && pongs + errors <= 40 && after,
	      "before the close: %d pongs, %d rate_limited errors", pongs, errors);
	CHECK(stats_wait(h, "rate_limit_closes", 1, 2000) == 1, "rate_limit_closes");
	wsc_free(a);
}

/* Wait for key >= want on a server whose limits may refuse the stats
 * request itself for a while (every connection counts, and each refused
 * one counts as a hit): key's last value, or -1. */
static long long stats_when_admitted(struct chatd *h, const char *key, long long want, int ms)
{
	long long v = -1;
	char why[256];

	for (long long t0 = mono_ms(); v < want && mono_ms() - t0 < ms; msleep(50)) {
		json_t *j = stats_try(h, why, sizeof(why));

		if (j != NULL)
			v = stats_num(j, key);
		json_decref(j);
	}
	return v;
}

/* Every connection counts, the stats request too: query stats with a place free. */
static void t_ip_limit(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .conf = "max_connections_per_ip 3\n" });
	struct wsc *c[4];
	int st = -1;

	CHECK(h, "start");
	for (int i = 0; i < 3; i++)
		CHECK((c[i] = ws_join(h, WS "/ip", NULL, 0)), "connection %d", i);
	c[3] = wsc_connect(HOST, h->port, WS "/ip", NULL, 2000, &st);
	CHECK(c[3] == NULL && st == 0, "a 4th connection from the address: HTTP %d", st);
	CHECK(ws_sendf(c[0], "{\"type\":\"ping\"}") == 0 && ws_recv_type(c[0], "pong", 2000),
	      "the first three are served");
	wsc_close(c[0], 1000);
	wsc_free(c[0]);
	CHECK(stats_when_admitted(h, "ip_limit_hits", 1, 3000) >= 1, "ip_limit_hits");
	c[0] = NULL;                           /* the stats request may hold the place a moment */
	for (long long t0 = mono_ms(); !c[0] && mono_ms() - t0 < 3000; msleep(50))
		c[0] = wsc_connect(HOST, h->port, WS "/ip", NULL, 2000, NULL);
	CHECK(c[0], "a place is free again");
	for (int i = 0; i < 3; i++)
		wsc_free(c[i]);
}

/* max_connections counts WebSocket connections; at the limit, new sockets
 * (HTTP ones too) are closed at accept. */
static void t_connection_limit(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .conf = "max_connections 2\n" });
	struct wsc *c[3];
	int st = -1;

	CHECK(h, "start");
	CHECK((c[0] = ws_join(h, WS, NULL, 0)) && (c[1] = ws_join(h, WS, NULL, 0)), "join");
	c[2] = wsc_connect(HOST, h->port, WS, NULL, 2000, &st);
	CHECK(c[2] == NULL, "a 3rd connection: HTTP %d", st);
	CHECK(ws_sendf(c[0], "{\"type\":\"ping\"}") == 0 && ws_recv_type(c[0], "pong", 2000),
	      "the others are served");
	wsc_free(c[0]);
	CHECK(stats_when_admitted(h, "connection_limit_hits", 1, 3000) >= 1,
	      "connection_limit_hits");
	wsc_free(c[1]);
}

/* A request head sent one byte a second is cut at handshake_timeout. */
static void t_handshake_timeout(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .conf = "handshake_timeout 2s\n" });
	const char *req = "GET /api/chat-api/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n";
	struct wsc *ok;
	char ch;
	int fd, closed = 0;

	CHECK(h, "start");
	CHECK((fd = wsc_tcp_connect(HOST, h->port, 2000)) >= 0, "connect");
	long long t0 = mono_ms();
	for (size_t i = 0; i < strlen(req) && mono_ms() - t0 < 6000; i++) {
		if (send(fd, req + i, 1, MSG_NOSIGNAL) < 0 ||
		    (recv(fd, &ch, 1, MSG_DONTWAIT) == 0)) {
			closed = 1;
			break;
		}
		msleep(500);
	}
	long long took = mono_ms() - t0;
	close(fd);
	CHECK(closed && took >= 1500 && took <= 4500, "slow request closed %d after %lld ms",
	      closed, took);
	CHECK((ok = ws_join(h, WS, NULL, 0)), "others connect");
	wsc_free(ok);
	CHECK(stats_wait(h, "handshake_failures", 1, 2000) >= 1, "handshake_failures");
}

/* A client that connects and sends nothing, to a worker with nothing else
 * to do, is closed after handshake_timeout too (nothing else wakes the
 * worker's loop to run lws's timers). */
static void t_handshake_silent(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .conf = "handshake_timeout 2s\n" });
	char ch;
	int fd, closed = 0;

	CHECK(h, "start");
	msleep(300);                   /* let the start-up traffic (healthz) settle */
	CHECK((fd = wsc_tcp_connect(HOST, h->port, 2000)) >= 0, "connect");
	long long t0 = mono_ms();
	while (!closed && mono_ms() - t0 < 6000) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) > 0 && recv(fd, &ch, 1, MSG_DONTWAIT) <= 0)
			closed = 1;
	}
	long long took = mono_ms() - t0;
	close(fd);
	CHECK(closed && took >= 1500 && took <= 4500, "silent connection closed %d after %lld ms",
	      closed, took);
	CHECK(stats_wait(h, "handshake_failures", 1, 2000) >= 1, "handshake_failures");
}

static void t_header_size(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .conf = "max_header_size 1024\n" });
	char big[1600];
	struct wsc *c;
	int st = -1;

	CHECK(h, "start");
	memset(big, 'a', sizeof(big));
	memcpy(big, "X-Big: ", 7);
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	c = wsc_connect(HOST, h->port, WS, big, 2000, &st);
	CHECK(c == NULL && st != 101, "a 1.6 KB header: HTTP %d", st);
	CHECK((c = wsc_connect(HOST, h->port, WS, "X-Small: 1\r\n", 2000, &st)), "small: HTTP %d",
	      st);
	wsc_free(c);
	CHECK(stats_wait(h, "handshake_failures", 1, 3000) == 1, "handshake_failures");
}

const struct itest_case t_limits_cases[] = {
	{ "limit_rate", t_rate_limit, 0 },
	{ "limit_rate_flush", t_rate_limit_flush, 0 },
	{ "limit_ip", t_ip_limit, 0 },
	{ "limit_connections", t_connection_limit, 0 },
	{ "limit_handshake_timeout", t_handshake_timeout, 0 },
	{ "limit_handshake_silent", t_handshake_silent, 0 },
	{ "limit_header_size", t_header_size, 0 },
	{ NULL, NULL, 0 },
};
