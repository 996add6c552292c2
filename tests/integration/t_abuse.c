/* SPDX-License-Identifier: MIT */
/*
 * t_abuse.c - protocol abuse against the real binary.  Each abuse must close
 * only the offending connection: a bystander on the same worker keeps being
 * served, the connection count comes back, and memory does not grow with
 * repeated storms.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


static int served(struct wsc *c)
{
	json_t *j;

	if (ws_sendf(c, "{\"type\":\"ping\"}") < 0 || (j = ws_recv_type(c, "pong", 3000)) == NULL)
		return 0;
	json_decref(j);
	return 1;
}

/* Join, send bytes as they are, and return the close code (0: EOF without a
 * close frame, -1: still open after 3 s). */
static int abuse(struct chatd *h, const void *bytes, size_t len)
{
	struct wsc *c = ws_join(h, WS "/abuse", NULL, 0);
	int code;

	if (c == NULL)
		return -2;
	if (wsc_send_raw(c, bytes, len) < 0) {
		wsc_free(c);
		return 0;
	}
	code = ws_wait_close(c, 3000, NULL, 0);
	wsc_free(c);
	return code;
}

/* One frame (masked unless told otherwise) appended at *p. */
static void put(uint8_t **p, int op, int fin, int masked, int rsv, const char *data, size_t n)
{
	ssize_t k = wsc_frame_encode(*p, 512, op, fin, masked, rsv, data, n);

	if (k > 0)
		*p += k;
}

static void t_abuse_frames(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	uint8_t buf[2048], *p;
	char big[200];
	struct wsc *by, *u;
	json_t *j;
	int code;

	CHECK(h, "start");
	CHECK((by = ws_join(h, WS "/abuse", NULL, 0)), "bystander");
	memset(big, 'p', sizeof(big));
	static const struct { const char *name; int op, fin, rsv; size_t n; int want; } one[] = {
		{ "reserved data opcode 0x3", 0x3, 1, 0, 1, 1002 },
		{ "reserved control opcode 0xB", 0xB, 1, 0, 1, 1002 },
		{ "fragmented ping", WSC_OP_PING, 0, 0, 1, 1002 },
		/* lws 4.1.6 drops these without a close frame: 0 = EOF */
		{ "ping over 125 bytes", WSC_OP_PING, 1, 0, 126, 0 },
		{ "continuation without a start", WSC_OP_CONT, 1, 0, 1, 1002 },
		{ "rsv1 without an extension", WSC_OP_TEXT, 1, WSC_RSV1, 1, 1002 },
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		p = buf;
		put(&p, one[i].op, one[i].fin, 1, one[i].rsv, big, one[i].n);
		code = abuse(h, buf, (size_t)(p - buf));
		CHECK(code == one[i].want, "%s: close %d, want %d", one[i].name, code, one[i].want);
		CHECK(served(by), "bystander after %s", one[i].name);
	}

	/* invalid UTF-8 split across fragments: E2 82 | 28 */
	p = buf;
	static const char bad1[] = "{\"data\":\"\xe2\x82", bad2[] = "(\"}";
	put(&p, WSC_OP_TEXT, 0, 1, 0, bad1, sizeof(bad1) - 1);
	put(&p, WSC_OP_CONT, 1, 1, 0, bad2, sizeof(bad2) - 1);
	CHECK((code = abuse(h, buf, (size_t)(p - buf))) == 1007, "split bad UTF-8: %d", code);
	CHECK(served(by), "bystander after bad UTF-8");

	/* a 2^63 length: the top bit must be 0 (RFC 6455 5.2) */
	uint8_t mask[4];
	int hl = wsc_frame_header_raw(buf, sizeof(buf), WSC_OP_TEXT, 1, 1, 0, 1ULL << 63, mask);
	memset(buf + hl, 'x', 64);
	code = abuse(h, buf, (size_t)hl + 64);
	CHECK(code == 0 || code == 1002, "2^63 length: close %d", code);
	CHECK(served(by), "bystander after 2^63");

	/* valid UTF-8 split across fragments (the euro sign E2 82 AC) is fine */
	p = buf;
	static const char euro1[] = "{\"type\":\"chat\",\"data\":{\"e\":\"\xe2\x82", euro2[] = "\xac\"}}";
	put(&p, WSC_OP_TEXT, 0, 1, 0, euro1, sizeof(euro1) - 1);
	put(&p, WSC_OP_CONT, 1, 1, 0, euro2, sizeof(euro2) - 1);
	CHECK(wsc_send_raw(by, buf, (size_t)(p - buf)) == 0 &&
	      (j = ws_recv_type(by, "chat", 3000)) != NULL, "split euro sign relayed");
	json_decref(j);

	/* Debian's lws 4.1.6 accepts unmasked client frames (RFC 6455 says
	 * close): chatd handles them like masked ones - documented in README */
	CHECK((u = ws_join(h, WS "/abuse", NULL, 0)), "join");
	p = buf;
	static const char um[] = "{\"type\":\"chat\",\"data\":{\"unmasked\":1}}";
	put(&p, WSC_OP_TEXT, 1, 0, 0, um, sizeof(um) - 1);
	CHECK(wsc_send_raw(u, buf, (size_t)(p - buf)) == 0, "send unmasked");
	j = ws_recv_type(by, "chat", 3000);
	CHECK(j && json_integer_value(json_object_get(json_object_get(j, "data"), "unmasked")) == 1,
	      "the unmasked chat was relayed");
	json_decref(j);
	wsc_free(u);
	CHECK(served(by), "bystander at the end");
	CHECK(stats_wait(h, "connections", 1, 3000) == 1, "only the bystander is left");
	wsc_free(by);
}

/* RFC 6455 7.4: a close code a client may not send (reserved, unassigned,
 * out of range) is a protocol error, answered 1002; a valid one is echoed. */
static void t_abuse_close_codes(void)
{
	static const struct { int code, want; } cases[] = {
		{ 5000, 1002 }, { 65535, 1002 }, { 999, 1002 }, { 0x100, 1002 }, { 1004, 1002 },
		{ 1005, 1002 }, { 1006, 1002 }, { 1015, 1002 }, { 1016, 1002 }, { 2999, 1002 },
		{ 1000, 1000 }, { 1001, 1001 }, { 1003, 1003 }, { 1011, 1011 }, { 3000, 3000 },
		{ 4000, 4000 }, { 4999, 4999 },
	};
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	struct wsc *by, *c;
	int code;

	CHECK(h, "start");
	CHECK((by = ws_join(h, WS "/abuse", NULL, 0)), "bystander");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK((c = ws_join(h, WS "/abuse", NULL, 0)), "join");
		CHECK(wsc_close(c, cases[i].code) == 0, "send close %d", cases[i].code);
		code = ws_wait_close(c, 3000, NULL, 0);
		wsc_free(c);
		CHECK(code == cases[i].want, "close %d answered with %d, want %d", cases[i].code,
		      code, cases[i].want);
	}
	CHECK(served(by), "bystander at the end");
	CHECK(stats_wait(h, "connections", 1, 3000) == 1, "only the bystander is left");
	wsc_free(by);
}

/* Not HTTP at all, and nothing at all: closed, counted, nobody else hurt. */
static void t_abuse_http(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .conf = "handshake_timeout 2s\n" });
	uint8_t junk[600];
	struct wsc *by;
	int fd, idle;
	char c;

	CHECK(h, "start");
	CHECK((by = ws_join(h, WS, NULL, 0)), "bystander");
	for (int round = 0; round < 3; round++) {
		wsc_random(junk, sizeof(junk));
		junk[0] = (uint8_t)(0x80 | junk[0]);   /* not a method letter */
		CHECK((fd = wsc_tcp_connect(HOST, h->port, 2000)) >= 0, "connect");
		CHECK(send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0, "send");
		struct pollfd pf = { fd, POLLIN, 0 };
		int closed = 0;
		for (long long t0 = mono_ms(); !closed && mono_ms() - t0 < 4000;) {
			if (poll(&pf, 1, 200) > 0) {
				ssize_t r = recv(fd, junk, sizeof(junk), 0);
				closed = r == 0 || (r < 0 && errno == ECONNRESET);
			}
		}
		close(fd);
		CHECK(closed, "random bytes: connection left open (round %d)", round);
	}
	CHECK((idle = wsc_tcp_connect(HOST, h->port, 2000)) >= 0, "connect");
	long long t0 = mono_ms();
	fcntl(idle, F_SETFL, fcntl(idle, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = { 6, 0 };
	setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t r = recv(idle, &c, 1, 0);
	long long took = mono_ms() - t0;
	close(idle);
	CHECK(r <= 0 && took < 5000, "a silent connection stays %lld ms (handshake_timeout 2s)", took);
	CHECK(served(by), "bystander");
	CHECK(stats_wait(h, "handshake_failures", 4, 3000) == 4, "handshake_failures");
	wsc_free(by);
}

/* A client that names chatd's internal raw-file protocol in
 * Sec-WebSocket-Protocol must not get a WebSocket that nobody serves (no
 * welcome, not counted, outside every limit): it is closed at once. */
static void t_abuse_subprotocol(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	struct wsc *by, *c;
	struct wsc_msg m;
	int st = 0;

	CHECK(h, "start");
	CHECK((by = ws_join(h, WS "/sp", NULL, 0)), "bystander");
	c = wsc_connect(HOST, h->port, WS "/sp", "Sec-WebSocket-Protocol: chatd-raw\r\n", 3000, &st);
	if (c != NULL) {
		int r = wsc_recv(c, 3000, &m);

		wsc_free(c);
		CHECK(r < 0 || (r > 0 && m.opcode == WSC_OP_CLOSE),
		      "the internal protocol gave a live WebSocket (recv %d, opcode %d)", r,
		      r > 0 ? m.opcode : -1);
	}
	CHECK(served(by), "bystander");
	wsc_free(by);
}

/*
 * RFC 6455 section 4.2.1-4.2.2: an upgrade with a wrong Upgrade, Connection,
 * Sec-WebSocket-Key or Sec-WebSocket-Version gets 400 (426 with
 * Sec-WebSocket-Version: 13 for the version), a short text body from chatd
 * (no library HTML), and is counted by reason in the stats and /metrics.
 */
static void t_abuse_handshake(void)
{
	static const struct {
		const char *headers, *stat;
		int status;
	} cases[] = {
		{ "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n",
		  "bad_key_refused", 400 },
		{ "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: abc\r\n", "bad_key_refused", 400 },
		{ "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n", "bad_key_refused", 400 },
		{ "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "bad_version_refused", 426 },
		{ "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "bad_version_refused", 426 },
		{ "Upgrade: foo\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "bad_upgrade_refused", 400 },
		{ "Upgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "bad_upgrade_refused", 400 },
		{ "Upgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "bad_connection_refused", 400 },
	};
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	char req[1024], resp[4096], line[64];
	struct wsc *by;

	CHECK(h, "start");
	CHECK((by = ws_join(h, WS "/hs", NULL, 0)), "bystander");
	for (size_t i = 0; i < n; i++) {
		snprintf(req, sizeof(req), "GET " WS "/hs HTTP/1.1\r\nHost: x\r\n%s\r\n",
			 cases[i].headers);
		CHECK(http_raw(HOST, h->port, req, resp, sizeof(resp), 3000) > 0,
		      "case %zu: no response at all", i);
		snprintf(line, sizeof(line), " %d ", cases[i].status);
		const char *body = strstr(resp, "\r\n\r\n");
		CHECK(strncmp(resp, "HTTP/1.", 7) == 0 && strstr(resp, line) == resp + 8,
		      "case %zu: want %d, got \"%.40s\"", i, cases[i].status, resp);
		CHECK(body && strlen(body + 4) > 0 && strlen(body + 4) < 200 &&
		      strcasestr(resp, "<html") == NULL &&
		      strcasestr(resp, "content-type: text/plain") != NULL,
		      "case %zu: not a short text body: %s", i, resp);
		CHECK(cases[i].status != 426 ||
		      strcasestr(resp, "\r\nsec-websocket-version: 13\r\n") != NULL,
		      "case %zu: 426 without Sec-WebSocket-Version: 13: %s", i, resp);
	}
	/* the case of "websocket" does not matter (RFC 6455 4.2.1 item 3) */
	struct wsc *ok = wsc_connect(HOST, h->port, WS "/hs", NULL, 3000, NULL);
	CHECK(ok, "a valid upgrade after the refusals");
	wsc_free(ok);
	json_t *j = harness_stats(h);
	CHECK(j, "stats");
	for (size_t i = 0; i < n; i++) {
		long long want = 0;

		for (size_t k = 0; k < n; k++)
			want += strcmp(cases[k].stat, cases[i].stat) == 0;
		CHECK(stats_num(j, cases[i].stat) == want, "%s %lld, want %lld", cases[i].stat,
		      stats_num(j, cases[i].stat), want);
	}
	CHECK(stats_num(j, "rejected_upgrades") == (long long)n, "rejected_upgrades %lld, want %zu",
	      stats_num(j, "rejected_upgrades"), n);
	json_decref(j);
	int st = 0;
	static char metrics[1 << 18];
	CHECK(wsc_http_request(HOST, h->port, "GET", "/metrics", NULL, NULL, 3000, &st, metrics,
			   sizeof(metrics)) > 0 && st == 200, "metrics HTTP %d", st);
	CHECK(strstr(metrics, "chatd_handshakes_refused_total{worker=\"0\",reason=\"bad_key\"} 3\n"),
	      "metrics: no bad_key 3");
	CHECK(strstr(metrics, "chatd_handshakes_refused_total{worker=\"0\",reason=\"bad_version\"} 2\n"),
	      "metrics: no bad_version 2");
	CHECK(served(by), "bystander");
	wsc_free(by);
}

/* CPU seconds (user + system) a process has used; -1 if unknown. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A worker that runs out of file descriptors keeps serving what it has,
 * stops accepting without a busy loop, says so (log and stats), and
 * accepts again once descriptors are free. */
static void t_abuse_emfile(void)
{
	struct rlimit old, low;
	struct chatd *h;
	static struct wsc *c[80];
	struct wsc *extra;
	pid_t wpid;
	int n = 0;

	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0, "getrlimit");
	low = old;
	low.rlim_cur = 48;                      /* inherited by the chatd we start */
	low.rlim_max = 48;                      /* chatd raises the soft limit up to this */
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit");
	h = chatd_start(&(struct chatd_opts){ .workers = 1, .conf = "presence off\n" });
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK(h, "start");
	CHECK(stats_worker_pids(h, &wpid, 1) == 1, "worker pid");
	for (; n < 80; n++)
		if ((c[n] = wsc_connect(HOST, h->port, WS "/emfile", NULL, 500, NULL)) == NULL)
			break;
	CHECK(n > 10 && n < 48, "%d clients connected with 48 descriptors", n);
	/* (stats wait until descriptors are free: the worker cannot accept them) */
	for (long long end = mono_ms() + 3000; mono_ms() < end && !chatd_log_has(h, "not accepting");)
		msleep(100);
	CHECK(chatd_log_has(h, "not accepting"), "the log does not say it stopped accepting");
	double cpu0 = cpu_seconds(wpid);
	msleep(2000);
	double cpu1 = cpu_seconds(wpid);
	CHECK(cpu0 >= 0 && cpu1 - cpu0 < 0.5, "worker used %.2f s of CPU in 2 s while out of "
	      "descriptors (busy loop?)", cpu1 - cpu0);
	CHECK(served(c[0]) && served(c[n - 1]), "the clients it has are not served");
	for (int i = 0; i < n; i++)
		wsc_free(c[i]);
	extra = NULL;
	for (long long end = mono_ms() + 5000; mono_ms() < end && extra == NULL; msleep(200))
		extra = wsc_connect(HOST, h->port, WS "/emfile", NULL, 1000, NULL);
	CHECK(extra && served(extra), "no new client accepted once descriptors were free");
	wsc_free(extra);
	CHECK(stats_wait(h, "connection_limit_hits", 1, 3000) >= 1, "connection_limit_hits");
}

/* Open n TCP connections at once, send half of them an upgrade request,
 * then drop them all (RST on every other one).  Returns how many opened. */
static int storm(struct chatd *h, int n)
{
	static int fds[1000];
	static const char req[] = "GET /api/chat-api/ws/storm HTTP/1.1\r\nHost: x\r\n"
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)h->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger lg = { 1, 0 };
	int opened = 0;

	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		    errno != EINPROGRESS) {
			close(fds[i]);
			fds[i] = -1;
		}
		opened += fds[i] >= 0;
	}
	msleep(100);                            /* most connects complete */
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0 && i % 2 == 0)
			(void)!send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL);
	msleep(50);
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (i % 4 < 2)
			setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fds[i]);
	}
	return opened;
}

static void t_abuse_storm(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	struct wsc *by;
	long rss2 = 0, rss5;

	CHECK(h, "start");
	CHECK((by = ws_join(h, WS "/calm", NULL, 0)), "bystander");
	for (int round = 1; round <= 5; round++) {
		CHECK(storm(h, 1000) >= 990, "round %d: connections not opened", round);
		CHECK(served(by), "bystander after round %d", round);
		CHECK(stats_wait(h, "connections", 1, 5000) == 1, "round %d: connections left",
		      round);
		if (round == 2)
			rss2 = chatd_rss_kb(h);
	}
	rss5 = chatd_rss_kb(h);
	long bound = chatd_has_asan(h) ? 96 * 1024 : 8 * 1024;
	CHECK(rss5 - rss2 < bound, "memory grew %ld kB over 3 storms of 1,000 connections",
	      rss5 - rss2);
	wsc_free(by);
}

const struct itest_case t_abuse_cases[] = {
	{ "abuse_frames", t_abuse_frames, 0 },
	{ "abuse_http", t_abuse_http, 0 },
	{ "abuse_close_codes", t_abuse_close_codes, 0 },
	{ "abuse_storm", t_abuse_storm, 0 },
	{ "abuse_subprotocol", t_abuse_subprotocol, 0 },
	{ "abuse_emfile", t_abuse_emfile, 0 },
	{ "abuse_handshake", t_abuse_handshake, 0 },
	{ NULL, NULL, 0 },
};
