/*
 * t_foundation.c - the client library itself, endpoints, stats, process
 * management (workers, signals, reload), -t and bind failures.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WS "/api/chat-api/ws"

/* ---- the client library (no daemon) --------------------------------------- */

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void t_wsc_pure(void)
{
	uint8_t dig[20], buf[70000], payload[66000];
	char hx[41], acc[WSC_ACCEPT_LEN + 1], b64[16];
	const char *s56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	size_t lens[] = { 0, 1, 125, 126, 65535, 65536 };
	struct wsc_frame f;

	wsc_sha1("abc", 3, dig);
	hex(dig, 20, hx);
	CHECK(strcmp(hx, "a9993e364706816aba3e25717850c26c9cd0d89d") == 0, "sha1(abc) %s", hx);
	wsc_sha1("", 0, dig);
	hex(dig, 20, hx);
	CHECK(strcmp(hx, "da39a3ee5e6b4b0d3255bfef95601890afd80709") == 0, "sha1('') %s", hx);
	wsc_sha1(s56, strlen(s56), dig);
	hex(dig, 20, hx);
	CHECK(strcmp(hx, "84983e441c3bd26ebaae4aa1f95129e5e54670f1") == 0, "sha1(56) %s", hx);
	wsc_accept_for_key("dGhlIHNhbXBsZSBub25jZQ==", acc);
	CHECK(strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0, "accept %s", acc);
	CHECK(wsc_base64((const uint8_t *)"fo", 2, b64, sizeof(b64)) == 4 &&
	      strcmp(b64, "Zm8=") == 0, "base64(fo) %s", b64);

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		ssize_t n = wsc_frame_encode(buf, sizeof(buf), WSC_OP_BINARY, 1, 0, 0,
					     payload, lens[k]);

		CHECK(n > 0, "encode %zu", lens[k]);
		CHECK(wsc_frame_parse(buf, (size_t)n - 1, &f) == 0, "partial %zu", lens[k]);
		CHECK(wsc_frame_parse(buf, (size_t)n, &f) == n, "parse %zu", lens[k]);
		CHECK(f.len == lens[k] && f.opcode == WSC_OP_BINARY && f.fin &&
		      memcmp(f.payload, payload, lens[k]) == 0, "round trip %zu", lens[k]);
	}
	/* masked frames carry the payload xored with the key in the header */
	ssize_t n = wsc_frame_encode(buf, sizeof(buf), WSC_OP_TEXT, 1, 1, 0, "hello", 5);
	CHECK(n == 2 + 4 + 5 && (buf[1] & 0x80) && buf[1 + 0] != 0, "masked len %zd", n);
	wsc_mask(buf + 6, 5, buf + 2, 0);
	CHECK(memcmp(buf + 6, "hello", 5) == 0, "unmask");
	CHECK(wsc_frame_parse(buf, (size_t)n, &f) == -1, "masked server frame accepted");
	n = wsc_frame_encode(buf, sizeof(buf), WSC_OP_TEXT, 1, 0, WSC_RSV1, "x", 1);
	CHECK(wsc_frame_parse(buf, (size_t)n, &f) == -1, "rsv1 accepted");
	n = wsc_frame_encode(buf, sizeof(buf), 0x3, 1, 0, 0, "x", 1);
	CHECK(wsc_frame_parse(buf, (size_t)n, &f) == -1, "opcode 3 accepted");
	n = wsc_frame_encode(buf, sizeof(buf), WSC_OP_PING, 0, 0, 0, "x", 1);
	CHECK(wsc_frame_parse(buf, (size_t)n, &f) == -1, "fragmented ping accepted");
	CHECK(wsc_frame_header_raw(buf, sizeof(buf), WSC_OP_TEXT, 1, 0, 0,
				   1ULL << 40, NULL) == 10 && buf[1] == 127 && buf[4] == 1,
	      "raw 64-bit length header");
	CHECK(wsc_frame_encode(buf, 10, WSC_OP_TEXT, 1, 1, 0, payload, 100) == -1, "cap");

	char req[1024], key[WSC_KEY_LEN + 1], resp[512];
	struct wsc_http_head h;
	CHECK(wsc_handshake_request(req, sizeof(req), "h", 1, "/p", "X-A: b\r\n", key) > 0 &&
	      strlen(key) == WSC_KEY_LEN && strstr(req, "X-A: b\r\n\r\n"), "request");
	wsc_accept_for_key(key, acc);
	int rl = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\n"
			  "upgrade: WebSocket\r\nConnection: Upgrade\r\n"
			  "Sec-WebSocket-Accept: %s\r\n\r\n\x81", acc);
	CHECK(wsc_handshake_parse(resp, (size_t)rl - 3, key, &h) == 0, "incomplete head");
	CHECK(wsc_handshake_parse(resp, (size_t)rl, key, &h) == rl - 1 && h.status == 101 &&
	      h.accept_ok, "101 head");
	resp[rl - 6] ^= 1;
	CHECK(wsc_handshake_parse(resp, (size_t)rl, key, &h) == rl - 1 && !h.accept_ok,
	      "wrong accept taken");
	rl = snprintf(resp, sizeof(resp), "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!");
	CHECK(wsc_handshake_parse(resp, (size_t)rl, key, &h) == rl - 3 && h.status == 404 &&
	      h.content_length == 3 && !h.accept_ok, "404 head");
	CHECK(wsc_handshake_parse("garbage\r\n\r\n", 11, key, &h) == -1, "garbage head");
}

/* ---- endpoints -------------------------------------------------------------- */

static void t_url_forms(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	const char *paths[] = { WS, WS "/lobby", WS "?room=lobby" };
	const char *rooms[] = { NULL, "lobby", "lobby" };

	CHECK(h, "start");
	for (int i = 0; i < 3; i++) {
		int st = 0;
		struct wsc *c = wsc_connect(HOST, h->port, paths[i], NULL, 3000, &st);
		json_t *j, *d;

		CHECK(c && st == 101, "%s: HTTP %d", paths[i], st);
		j = ws_recv_json(c, 3000);
		d = json_object_get(j, "data");
		CHECK(j && strcmp(js(d, "event"), "welcome") == 0, "%s: no welcome", paths[i]);
		if (rooms[i])
			CHECK(strcmp(js(j, "room"), rooms[i]) == 0 &&
			      strcmp(js(d, "room"), rooms[i]) == 0, "%s: room", paths[i]);
		else
			CHECK(!json_is_string(json_object_get(j, "room")), "%s: global has room",
			      paths[i]);
		json_decref(j);
		wsc_free(c);
	}
}

static void t_bad_room(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	char long_room[sizeof(WS) + 140], long_arg[sizeof(WS) + 160], long_q[sizeof(WS) + 1300];
	const char *paths[] = { WS "/bad%20room", long_room, WS "?room=a/b", WS "/stats",
				WS "/a$b", WS "?room=", long_arg, long_q };

	CHECK(h, "start");
	snprintf(long_room, sizeof(long_room), WS "/%0129d", 7);
	/* a ?room= longer than lws's argument buffer, or a long argument before
	 * it, must not quietly mean the global channel */
	snprintf(long_arg, sizeof(long_arg), WS "?room=%0140d", 7);
	snprintf(long_q, sizeof(long_q), WS "?x=%01200d&room=lobby", 7);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int st = 0;
		struct wsc *c = wsc_connect(HOST, h->port, paths[i], NULL, 3000, &st);

		wsc_free(c);
		CHECK(!c && st == 400, "%s: HTTP %d, want 400", paths[i], st);
	}
	/* 128 bytes is still a room */
	snprintf(long_room, sizeof(long_room), WS "/%0128d", 7);
	struct wsc *c = ws_join(h, long_room, NULL, 0);
	CHECK(c, "128-byte room refused");
	wsc_free(c);
	CHECK(wsc_http_request(HOST, h->port, "GET", "/healthz", NULL, NULL, 2000, NULL, NULL, 0) >= 0,
	      "server died after bad rooms");
	json_t *j = harness_stats(h);
	long long rej = stats_num(j, "rejected_upgrades");
	json_decref(j);
	CHECK(rej == (long long)(sizeof(paths) / sizeof(paths[0])),
	      "rejected_upgrades %lld, want %zu", rej, sizeof(paths) / sizeof(paths[0]));
}

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

/* ---- stats follow connections ------------------------------------------------- */

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

/* ---- process management ------------------------------------------------------------- */

struct chatcount { int n; int *got; const char *marker; };

static void count_chat(int i, const struct wsc_msg *m, void *arg)
{
	struct chatcount *cc = arg;

	if (m && m->opcode == WSC_OP_TEXT && strstr(m->data, "\"chat\"") &&
	    strstr(m->data, cc->marker))
		cc->got[i]++;
}

static int all_got(void *arg)
{
	struct chatcount *cc = arg;

	for (int i = 0; i < cc->n; i++)
		if (cc->got[i] < 1)
			return 0;
	return 1;
}

/* Which worker slots' pids are in stats now. */
static int has_pid(const pid_t *p, int n, pid_t x)
{
	for (int i = 0; i < n; i++)
		if (p[i] == x)
			return 1;
	return 0;
}

static void t_worker_kill(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	struct wsc *c[40], *live[40];
	pid_t before[8], after[8];
	int nb, na = 0, nlive = 0, got[40] = { 0 };

	CHECK(h, "start");
	for (int i = 0; i < 40; i++)
		CHECK((c[i] = ws_join(h, WS "/k", NULL, 0)), "connect %d", i);
	CHECK(stats_wait(h, "connections", 40, 3000) == 40, "connections != 40");
	nb = stats_worker_pids(h, before, 8);
	CHECK(nb == 2, "%d running workers, want 2", nb);
	CHECK(kill(before[0], SIGKILL) == 0, "kill worker");
	long long t0 = mono_ms();
	while (mono_ms() - t0 < 1500) {
		na = stats_worker_pids(h, after, 8);
		if (na == 2 && !has_pid(after, na, before[0]) && has_pid(after, na, before[1]))
			break;
		msleep(50);
	}
	CHECK(na == 2 && !has_pid(after, na, before[0]) && has_pid(after, na, before[1]),
	      "worker %d not replaced within 1.5 s", (int)before[0]);
	/* the killed worker's clients see EOF; the others must be intact */
	msleep(200);
	for (int i = 0; i < 40; i++) {
		struct wsc_msg m;
		int r;

		while ((r = wsc_recv(c[i], 0, &m)) > 0 && m.opcode != WSC_OP_CLOSE)
			;
		if (r >= 0 && wsc_send_frame(c[i], WSC_OP_PING, 1, "hb", 2) == 0)
			live[nlive++] = c[i];
	}
	CHECK(nlive > 0 && nlive < 40, "%d clients survived, expected those of one worker", nlive);
	for (int i = 0; i < nlive; i++) {
		struct wsc_msg m;
		int r;

		do
			r = wsc_recv(live[i], 2000, &m);
		while (r > 0 && m.opcode != WSC_OP_PONG);
		CHECK(r > 0 && m.opcode == WSC_OP_PONG && m.len == 2, "client %d: no pong", i);
	}
	CHECK(ws_sendf(live[0], "{\"type\":\"chat\",\"data\":{\"m\":\"after-kill\"}}") == 0, "send");
	struct chatcount cc = { nlive, got, "after-kill" };
	CHECK(ws_pump(live, nlive, 3000, count_chat, all_got, &cc) == 0,
	      "chat after a worker kill did not reach every surviving client");
	json_t *j = harness_stats(h);
	CHECK(j && stats_num(j, "worker_restarts") >= 1, "worker_restarts not counted");
	json_decref(j);
	CHECK(chatd_stop(h, 5000) == 0, "exit status after a worker restart");
	for (int i = 0; i < 40; i++)
		wsc_free(c[i]);
}

static void t_master_kill(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	pid_t w[8];
	int n, alive = 0;

	CHECK(h, "start");
	n = stats_worker_pids(h, w, 8);
	CHECK(n == 2, "%d workers", n);
	kill(h->pid, SIGKILL);
	chatd_wait(h, 2000);
	for (long long t0 = mono_ms(); mono_ms() - t0 < 2500; msleep(50)) {
		alive = 0;
		for (int i = 0; i < n; i++)
			alive += pid_alive(w[i]);
		if (!alive)
			break;
	}
	CHECK(alive == 0, "%d workers still alive 2.5 s after the master's SIGKILL", alive);
}

static void t_sigterm(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
		.conf = "shutdown_timeout 3s\n" });
	struct wsc *c[10];
	char reason[128];

	CHECK(h, "start");
	for (int i = 0; i < 10; i++)
		CHECK((c[i] = ws_join(h, i % 2 ? WS "/t" : WS, NULL, 0)), "connect %d", i);
	CHECK(stats_wait(h, "connections", 10, 2000) == 10, "connections");
	long long t0 = mono_ms();
	kill(h->pid, SIGTERM);
	for (int i = 0; i < 10; i++) {
		int code = ws_wait_close(c[i], 4000, reason, sizeof(reason));

		CHECK(code == 1001, "client %d: close code %d, want 1001", i, code);
	}
	int st = chatd_wait(h, 4000);
	CHECK(st == 0, "exit status %d after SIGTERM (want 0)", st);
	CHECK(mono_ms() - t0 < 4000, "SIGTERM took %lld ms", mono_ms() - t0);
	for (int i = 0; i < 10; i++)
		wsc_free(c[i]);
}

static void t_sighup_broken(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	char id[64];
	int st = 0;

	CHECK(h, "start");
	struct wsc *old = ws_join(h, WS "/h", id, sizeof(id));
	CHECK(old, "connect");
	CHECK(chatd_write_conf(h, "this is not\na valid config {{{\n") == 0, "rewrite conf");
	kill(h->pid, SIGHUP);
	msleep(700);
	CHECK(chatd_wait(h, 0) == -2, "chatd exited on SIGHUP with a broken config");
	CHECK(wsc_http_request(HOST, h->port, "GET", "/healthz", NULL, NULL, 2000, &st, NULL, 0) >= 0 &&
	      st == 200, "healthz %d after a broken reload", st);
	struct wsc *c = ws_join(h, WS "/h", NULL, 0);
	CHECK(c, "new connection after a broken reload");
	CHECK(ws_sendf(old, "{\"type\":\"chat\",\"data\":{\"x\":1}}") == 0, "send");
	json_t *j = ws_recv_type(c, "chat", 3000);
	CHECK(j && strcmp(js(j, "from"), id) == 0, "chat after a broken reload");
	json_decref(j);
	j = harness_stats(h);
	CHECK(j && stats_num(j, "reloads") == 0, "a failed reload counted as a reload");
	json_decref(j);
	wsc_free(old);
	wsc_free(c);
}

static void configtest_in(const char *dir)
{
	char good[128], bad[128], out[8192], want[200];
	char *argv[] = { (char *)chatd_bin(), "-t", "-c", good, NULL };
	FILE *f;
	int rc;

	snprintf(good, sizeof(good), "%s/good.conf", dir);
	snprintf(bad, sizeof(bad), "%s/bad.conf", dir);
	f = fopen(good, "w");
	CHECK(f, "fopen");
	fprintf(f, "# good\nredis_url off\nworkers 2\nmax_message_size 64k\n"
		   "ping_interval 30s\nshutdown_timeout 2500ms\npresence on\n");
	fclose(f);
	f = fopen(bad, "w");
	CHECK(f, "fopen");
	fprintf(f, "# bad\nredis_url off\nno_such_directive 1\n");
	fclose(f);
	rc = run_capture(argv, out, sizeof(out), 5000);
	snprintf(want, sizeof(want), "configuration file %s test is successful", good);
	CHECK(rc == 0, "-t on a good file: exit %d: %s", rc, out);
	CHECK(strstr(out, want), "-t output '%s'", out);
	argv[3] = bad;
	rc = run_capture(argv, out, sizeof(out), 5000);
	snprintf(want, sizeof(want), "%s:3", bad);
	CHECK(rc == 1, "-t on a bad file: exit %d: %s", rc, out);
	CHECK(strstr(out, want), "-t error does not name %s: '%s'", want, out);
	f = fopen(bad, "w");
	CHECK(f, "fopen");
	fprintf(f, "redis_url off\n\nsend_queue -5\n");
	fclose(f);
	rc = run_capture(argv, out, sizeof(out), 5000);
	CHECK(rc == 1 && strstr(out, want), "bad value: exit %d: '%s'", rc, out);
}

static void t_configtest(void)
{
	char dir[] = "/tmp/chatd-itest-XXXXXX";

	CHECK(harness_tmpdir(dir), "mkdtemp");
	configtest_in(dir);
}

static void t_bind_in_use(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char want[64];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 8) == 0,
	      "bind a blocker");
	(void)one;
	socklen_t al = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	struct chatd *h = chatd_start(&(struct chatd_opts){ .port = ntohs(a.sin_port),
							    .no_wait = 1 });
	CHECK(h, "spawn");
	int st = chatd_wait(h, 3000);
	close(fd);
	CHECK(st != -2, "chatd still running 3 s after a bind failure");
	CHECK(st != 0, "exit status 0 after a bind failure");
	snprintf(want, sizeof(want), "%d", h->port);
	CHECK(chatd_log_has(h, want), "error message does not name port %s", want);
}

const struct itest_case t_foundation_cases[] = {
	{ "wsc_pure", t_wsc_pure, 10 },
	{ "url_forms", t_url_forms, 0 },
	{ "bad_room", t_bad_room, 0 },
	{ "plain_http", t_plain_http, 0 },
	{ "stats_connections", t_stats_connections, 0 },
	{ "workers_share", t_workers_share, 0 },
	{ "worker_kill", t_worker_kill, 0 },
	{ "master_kill", t_master_kill, 0 },
	{ "sigterm", t_sigterm, 0 },
	{ "sighup_broken_config", t_sighup_broken, 0 },
	{ "configtest", t_configtest, 0 },
	{ "bind_in_use", t_bind_in_use, 0 },
	{ NULL, NULL, 0 }
};
