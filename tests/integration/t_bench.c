/* SPDX-License-Identifier: MIT */
/*
 * t_bench.c - chatd-benchmark against a real chatd: a short fanout run must
 * count every delivery exactly (nothing lost, duplicated or reordered), a
 * tiny connections run must open, hold and ping every connection (and
 * report the server's CPU while holding), a recovery run must see every
 * client recover with nothing lost or duplicated (single node, and two pods
 * on Redis), and the command line must behave.  No speed is checked here.  And the WebSocket
 * client library it is built on (tools/wsc.c), without a daemon.
 */
#include "harness.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define URL_FMT "ws://127.0.0.1:%d/api/chat-api/ws/{room}"

/* The benchmark binary: the sibling file chatd-benchmark of CHATD_BIN. */
static const char *bench_bin(void)
{
	static char path[1024];
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", chatd_bin());
	snprintf(path, sizeof(path), "%s/chatd-benchmark", dirname(tmp));
	return path;
}

/* The last line of out that starts with '{', parsed; NULL when none parses. */
static json_t *last_json(char *out)
{
	char *line = NULL;

	for (char *p = out; (p = strchr(p, '{')); p++)
		if (p == out || p[-1] == '\n')
			line = p;
	if (!line)
		return NULL;
	line[strcspn(line, "\n")] = '\0';
	return json_loads(line, 0, NULL);
}

/* Run the benchmark with argv (argv[0] is filled in); exit code, JSON in *j. */
static int run_bench(char **argv, json_t **j, char *out, size_t cap)
{
	int rc;

	argv[0] = (char *)bench_bin();
	out[0] = '\0';
	rc = run_capture(argv, out, cap, 60000);
	*j = last_json(out);
	return rc;
}

static long long jnum(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) :
	       json_is_real(v) ? (long long)json_real_value(v) : -1;
}

static void t_bench_fanout_exact(void)
{
	struct chatd_opts co = { .workers = 2 };
	struct chatd *h = chatd_start(&co);
	char url[256], pid[32], out[16384];
	json_t *j;

	CHECK(h, "chatd did not start");
	CHECK(access(bench_bin(), X_OK) == 0, "%s is not executable", bench_bin());
	snprintf(url, sizeof(url), URL_FMT, h->port);
	snprintf(pid, sizeof(pid), "%d", (int)h->pid);
	/* 20 subscribers in 2 rooms, 2 publishers (one per room), 200 messages:
	 * each message reaches the 10 subscribers of its room. */
	char *argv[] = { NULL, "fanout", "-u", url, "-n", "20", "-r", "2", "-P", "2",
			 "-m", "200", "-R", "2000", "-s", "120", "-p", pid, NULL };
	int rc = run_bench(argv, &j, out, sizeof(out));

	CHECK(j, "no JSON line (exit %d): %s", rc, out);
	CHECK(rc == 0, "exit %d: %s", rc, out);
	CHECK(strcmp(js(j, "mode"), "fanout") == 0, "mode %s", js(j, "mode"));
	CHECK(jnum(j, "sent") == 200, "sent %lld", jnum(j, "sent"));
	CHECK(jnum(j, "expected") == 2000, "expected %lld", jnum(j, "expected"));
	CHECK(jnum(j, "delivered") == 2000, "delivered %lld: %s", jnum(j, "delivered"), out);
	CHECK(jnum(j, "lost") == 0, "lost %lld", jnum(j, "lost"));
	CHECK(jnum(j, "duplicated") == 0, "duplicated %lld", jnum(j, "duplicated"));
	CHECK(jnum(j, "reordered") == 0, "reordered %lld", jnum(j, "reordered"));
	CHECK(jnum(j, "conn_errors") == 0, "conn_errors %lld", jnum(j, "conn_errors"));
	json_t *lat = json_object_get(j, "latency_us");
	CHECK(jnum(lat, "count") == 2000, "latency samples %lld", jnum(lat, "count"));
	CHECK(jnum(lat, "max") >= jnum(lat, "p99") && jnum(lat, "p99") >= jnum(lat, "p50"),
	      "latency quantiles out of order");
	CHECK(json_real_value(json_object_get(j, "server_cpu_s")) >= 0, "no server CPU figure");
	json_decref(j);
}

static void t_bench_connections(void)
{
	struct chatd_opts co = { .workers = 2 };
	struct chatd *h = chatd_start(&co);
	char url[256], pid[32], out[16384];
	json_t *j;

	CHECK(h, "chatd did not start");
	snprintf(url, sizeof(url), URL_FMT, h->port);
	snprintf(pid, sizeof(pid), "%d", (int)h->pid);
	char *argv[] = { NULL, "connections", "-u", url, "-c", "60", "-j", "2",
			 "--src-addrs", "3", "-r", "6", "-t", "2.5", "--ping-sample", "10",
			 "-p", pid, NULL };
	int rc = run_bench(argv, &j, out, sizeof(out));

	CHECK(j, "no JSON line (exit %d): %s", rc, out);
	CHECK(rc == 0, "exit %d: %s", rc, out);
	CHECK(jnum(j, "opened") == 60, "opened %lld", jnum(j, "opened"));
	CHECK(jnum(j, "failed") == 0, "failed %lld", jnum(j, "failed"));
	CHECK(jnum(j, "dropped") == 0, "dropped %lld", jnum(j, "dropped"));
	CHECK(jnum(j, "pings") >= 10, "pings %lld", jnum(j, "pings"));
	CHECK(jnum(j, "pongs") == jnum(j, "pings"), "pongs %lld of %lld pings",
	      jnum(j, "pongs"), jnum(j, "pings"));
	CHECK(jnum(j, "server_pss_kb_holding") > 0, "no server memory figure");
	/* issue 15's table: server CPU while idle (read from /proc: >= 0 with -p) */
	json_t *hc = json_object_get(j, "server_cpu_hold_s"), *hp = json_object_get(j,
										 "server_cpu_hold_pct");
	CHECK(json_is_number(hc) && json_number_value(hc) >= 0, "no server_cpu_hold_s: %s", out);
	CHECK(json_is_number(hp) && json_number_value(hp) >= 0, "no server_cpu_hold_pct: %s", out);
	CHECK(strstr(out, "server CPU while holding"), "no hold CPU line: %s", out);
	json_decref(j);
	/* --no-welcome (for servers without one): open once upgraded */
	char *nw[] = { NULL, "connections", "-u", url, "-c", "10", "-t", "1", "--no-welcome",
		       NULL };
	rc = run_bench(nw, &j, out, sizeof(out));
	CHECK(j && rc == 0 && jnum(j, "opened") == 10 && jnum(j, "pongs") == jnum(j, "pings"),
	      "--no-welcome: exit %d: %s", rc, out);
	json_decref(j);
}

/* A recovery run (urls: one -u per pod); its JSON, the exit code in *rc. */
static json_t *run_recovery(const char *const *urls, int nurls, const char *pids,
			    const char *rpid, int *rc, char *out, size_t cap)
{
	char *argv[32] = { NULL, "recovery" };
	int a = 2;
	json_t *j;

	for (int i = 0; i < nurls; i++) {
		argv[a++] = "-u";
		argv[a++] = (char *)urls[i];
	}
	char *rest[] = { "-c", "40", "-r", "4", "-R", "200", "--drop-after", "1",
			 "--recover-timeout", "20", "-p", (char *)pids, NULL };
	for (int i = 0; rest[i]; i++)
		argv[a++] = rest[i];
	if (rpid) {
		argv[a++] = "--redis-pids";
		argv[a++] = (char *)rpid;
	}
	argv[a] = NULL;
	*rc = run_bench(argv, &j, out, cap);
	return j;
}

/* All 40 clients recovered, nothing lost or duplicated by either count. */
static void check_recovered(json_t *j, int rc, const char *out)
{
	CHECK(j, "no JSON line (exit %d): %s", rc, out);
	CHECK(rc == 0, "exit %d: %s", rc, out);
	CHECK(strcmp(js(j, "mode"), "recovery") == 0, "mode %s", js(j, "mode"));
	CHECK(jnum(j, "recovered") == 40, "recovered %lld: %s", jnum(j, "recovered"), out);
	CHECK(jnum(json_object_get(j, "recovery_us"), "count") == 40, "recovery samples");
	CHECK(jnum(j, "sent") > 0 && jnum(j, "delivered") == jnum(j, "expected") &&
	      jnum(j, "expected") == jnum(j, "sent") * 10, "sent %lld expected %lld delivered %lld",
	      jnum(j, "sent"), jnum(j, "expected"), jnum(j, "delivered"));
	CHECK(jnum(j, "lost") == 0 && jnum(j, "duplicated") == 0, "lost %lld dup %lld",
	      jnum(j, "lost"), jnum(j, "duplicated"));
	CHECK(jnum(j, "offset_skipped") == 0 && jnum(j, "offset_repeated") == 0 &&
	      jnum(j, "unnumbered") == 0, "by offset: %s", out);
	CHECK(strstr(out, "drop to recovered"), "no human summary: %s", out);
}

/* Single node: history in the master; then history off: the tool must see
 * the clients told they cannot recover, and the loss. */
static void t_bench_recovery(void)
{
	struct chatd_opts co = { .workers = 2, .conf = "history_size 200\n" };
	struct chatd_opts off = { .workers = 1 };
	struct chatd *h = chatd_start(&co), *h0 = chatd_start(&off);
	char url[256], pid[32], out[16384];
	const char *u[1] = { url };
	int rc;
	json_t *j;

	CHECK(h && h0, "chatd did not start");
	snprintf(url, sizeof(url), URL_FMT, h->port);
	snprintf(pid, sizeof(pid), "%d", (int)h->pid);
	j = run_recovery(u, 1, pid, NULL, &rc, out, sizeof(out));
	check_recovered(j, rc, out);
	CHECK(json_real_value(json_object_get(j, "server_cpu_s")) >= 0, "no server CPU figure");
	json_decref(j);

	snprintf(url, sizeof(url), URL_FMT, h0->port);
	snprintf(pid, sizeof(pid), "%d", (int)h0->pid);
	j = run_recovery(u, 1, pid, NULL, &rc, out, sizeof(out));
	CHECK(j && rc == 1, "history off: exit %d: %s", rc, out);
	CHECK(jnum(j, "recovered") == 0 && jnum(j, "not_recovered") == 40,
	      "history off: recovered %lld, not %lld", jnum(j, "recovered"),
	      jnum(j, "not_recovered"));
	CHECK(jnum(j, "unnumbered") > 0, "history off: numbered messages?");
	json_decref(j);
}

/* Two pods on one Redis: each client reconnects to the other pod. */
static void t_bench_recovery_redis(void)
{
	struct redis *r = redis_start();
	struct chatd *p[2];
	char url[2][256], pids[64], rpid[32], out[16384];
	const char *u[2] = { url[0], url[1] };
	int rc;

	CHECK(r, "redis did not start");
	for (int i = 0; i < 2; i++) {
		struct chatd_opts co = { .workers = 1, .conf = "history_size 200\n",
					 .redis_port = r->port };

		p[i] = chatd_start(&co);
		CHECK(p[i], "pod %d did not start", i);
		snprintf(url[i], sizeof(url[i]), URL_FMT, p[i]->port);
	}
	snprintf(pids, sizeof(pids), "%d,%d", (int)p[0]->pid, (int)p[1]->pid);
	snprintf(rpid, sizeof(rpid), "%d", (int)r->pid);
	json_t *j = run_recovery(u, 2, pids, rpid, &rc, out, sizeof(out));
	check_recovered(j, rc, out);
	CHECK(jnum(j, "urls") == 2, "urls %lld", jnum(j, "urls"));
	CHECK(json_real_value(json_object_get(j, "redis_cpu_s")) >= 0, "no redis CPU: %s", out);
	CHECK(strstr(out, "redis CPU"), "no redis CPU line: %s", out);
	json_decref(j);
	redis_stop(r);
}

static void t_bench_cli(void)
{
	char out[16384];
	json_t *j;
	char *help[] = { NULL, "--help", NULL };
	char *bad[] = { NULL, "nosuchmode", "-u", "ws://127.0.0.1:1/x", NULL };
	char *nourl[] = { NULL, "fanout", NULL };
	/* nothing listens on a fresh free port: every connection fails */
	char url[128];
	snprintf(url, sizeof(url), URL_FMT, free_port());
	char *refused[] = { NULL, "fanout", "-u", url, "-n", "3", "-r", "1", "-m", "5",
			    "--connect-timeout", "2", NULL };
	/* recovery reads the welcome; a hold past usleep's range is refused */
	char *rec_nowel[] = { NULL, "recovery", "--no-welcome", "-u", url, NULL };
	char *longhold[] = { NULL, "connections", "-t", "3601", "-u", url, NULL };

	help[0] = (char *)bench_bin();   /* not run_bench: its JSON search cuts at "{room}" */
	CHECK(run_capture(help, out, sizeof(out), 60000) == 0, "--help failed: %s", out);
	CHECK(strstr(out, "fanout") && strstr(out, "connections") && strstr(out, "recovery") &&
	      strstr(out, "--no-welcome") && strstr(out, "--redis-pids"), "--help: %s", out);
	CHECK(run_bench(bad, &j, out, sizeof(out)) == 2, "unknown mode accepted: %s", out);
	CHECK(run_bench(nourl, &j, out, sizeof(out)) == 2, "missing -u accepted: %s", out);
	CHECK(run_bench(rec_nowel, &j, out, sizeof(out)) == 2, "recovery --no-welcome: %s", out);
	CHECK(run_bench(longhold, &j, out, sizeof(out)) == 2, "-t 3601 accepted: %s", out);
	CHECK(strstr(out, "sane values"), "-t 3601: %s", out);
	int rc = run_bench(refused, &j, out, sizeof(out));
	CHECK(rc == 1, "refused connections: exit %d: %s", rc, out);
	CHECK(j && jnum(j, "conn_errors") == 4, "conn_errors %lld: %s",
	      j ? jnum(j, "conn_errors") : -1, out);
	json_decref(j);
}

/* -v and --version print "chatd-benchmark VERSION" (configure.ac's), exit 0. */
static void t_bench_version(void)
{
	char out[256];
	json_t *j;
	char *v[] = { NULL, "-v", NULL }, *version[] = { NULL, "--version", NULL };

	CHECK(run_bench(v, &j, out, sizeof(out)) == 0 &&
	      strcmp(out, "chatd-benchmark " PACKAGE_VERSION "\n") == 0, "-v: %s", out);
	CHECK(run_bench(version, &j, out, sizeof(out)) == 0 &&
	      strcmp(out, "chatd-benchmark " PACKAGE_VERSION "\n") == 0, "--version: %s", out);
}

/* ---- the client library (no daemon) -------------------------------------- */

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

const struct itest_case t_bench_cases[] = {
	{ "bench_fanout_exact", t_bench_fanout_exact, 90 },
	{ "bench_connections", t_bench_connections, 90 },
	{ "bench_recovery", t_bench_recovery, 120 },
	{ "bench_recovery_redis", t_bench_recovery_redis, 120 },
	{ "bench_cli", t_bench_cli, 60 },
	{ "bench_version", t_bench_version, 30 },
	{ "bench_wsc_pure", t_wsc_pure, 10 },
	{ NULL, NULL, 0 },
};
