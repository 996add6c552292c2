/* SPDX-License-Identifier: MIT */
/*
 * t_web.c - the web side: the demo page (with its CSP), GET /metrics after
 * a known workload checked against the JSON stats, the HTTP publish API
 * (errors, delivery, and across two pods through Redis), status_allow
 * keeping /metrics and the stats private.
 */
#include "harness.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUBLISH "/api/chat-api/publish"
#define KEY     "k-3f9a-web-test"

static char body[1 << 20];

static const char *srcdir(void)
{
	const char *s = getenv("CHATD_SRCDIR");

	return s && *s ? s : "..";
}

/* GET path with the response head kept: the whole response into out. */
static int raw_get(struct chatd *h, const char *path, char *out, size_t cap)
{
	char req[512];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	return http_raw(HOST, h->port, req, out, cap, 3000);
}

static int get(struct chatd *h, const char *path)
{
	int st = 0;

	if (wsc_http_request(HOST, h->port, "GET", path, NULL, NULL, 3000, &st, body, sizeof(body)) < 0)
		return -1;
	return st;
}

/* POST {prefix}/publish with key (NULL: no Authorization); the answer's JSON
 * in *ans (may be NULL). Returns the status. */
static int publish(struct chatd *h, const char *key, const char *json, json_t **ans)
{
	char hdr[256] = "";
	int st = 0;

	if (key)
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", key);
	if (wsc_http_request(HOST, h->port, "POST", PUBLISH, hdr, json, 3000, &st, body,
			 sizeof(body)) < 0)
		return -1;
	if (ans)
		*ans = json_loads(body, 0, NULL);
	return st;
}

/* ---- the page ------------------------------------------------------------------ */

static void t_page(void)
{
	char conf[1200], resp[16384];
	struct chatd *h;

	snprintf(conf, sizeof(conf), "static_dir %s/static\n", srcdir());
	h = chatd_start(&(struct chatd_opts){ .conf = conf });
	CHECK(h, "start");
	CHECK(raw_get(h, "/", resp, sizeof(resp)) > 0, "GET / no answer");
	CHECK(strncmp(resp, "HTTP/1.1 200", 12) == 0, "GET /: %.40s", resp);
	CHECK(strcasestr(resp, "\ncontent-type: text/html") != NULL, "GET /: not html");
	CHECK(strcasestr(resp, "\ncontent-security-policy: default-src 'self'") != NULL,
	      "GET /: no CSP header");
	CHECK(strstr(resp, "unsafe-inline") == NULL && strstr(resp, "unsafe-eval") == NULL,
	      "CSP allows unsafe code");
	CHECK(strstr(resp, "content=\"/api/chat-api\"") != NULL, "prefix not filled in");
	CHECK(strstr(resp, "<script src=\"app.js\"") != NULL, "no app.js");
	CHECK(get(h, "/api/chat-api/") == 200 && strstr(body, "chatd-prefix") != NULL,
	      "GET {prefix}/ is not the page");
	CHECK(get(h, "/app.js") == 200 && strstr(body, "new WebSocket(") != NULL, "GET /app.js");
	CHECK(get(h, "/api/chat-api/style.css") == 200, "GET {prefix}/style.css");
	CHECK(get(h, "/chatd.conf") == 404, "a non-page file is served");
	CHECK(get(h, "/../etc/passwd") == 404 || get(h, "/../etc/passwd") == 400, "traversal");
	CHECK(get(h, "/static/app.js") == 404, "nested path served");
	CHECK(get(h, "/api/chat-api/ws") == 426, "the WebSocket path lost its 426");
	CHECK(get(h, "/healthz") == 200, "healthz");
	chatd_stop(h, 5000);

	h = chatd_start(&(struct chatd_opts){ .conf = "static_dir off\n" });
	CHECK(h, "start (off)");
	CHECK(get(h, "/") == 404, "static_dir off still serves /");
	h = chatd_start(&(struct chatd_opts){ .conf = "static_dir /nonexistent/dir\n" });
	CHECK(h, "start (missing dir)");
	CHECK(get(h, "/") == 404 && strstr(body, "/nonexistent/dir") != NULL,
	      "a missing static_dir is not named in the 404: %s", body);
}

/* ---- metrics ------------------------------------------------------------------- */

/* Sum of the samples of family `name` (with label substring `label`, or
 * any); *n gets how many samples there were. */
static double metric_sum(const char *text, const char *name, const char *label, int *n)
{
	size_t nl = strlen(name);
	double sum = 0;

	*n = 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *sp = strchr(l, ' '), *end = strchr(l, '\n');

		if (strncmp(l, name, nl) != 0 || (l[nl] != '{' && l[nl] != ' ') || sp == NULL)
			continue;
		if (label && (end == NULL || !memmem(l, (size_t)(sp - l), label, strlen(label))))
			continue;
		sum += strtod(sp + 1, NULL);
		(*n)++;
	}
	return sum;
}

/* Exposition format: HELP then TYPE before each family's samples, names
 * chatd_*, counters *_total, samples of the family just declared. */
static int check_exposition(const char *text, char *why, size_t cap)
{
	char fam[128] = "", type[32] = "", name[128], *copy = strdup(text), *save = NULL, *l;
	int fams = 0, ok = 1;

	for (l = strtok_r(copy, "\n", &save); l && ok; l = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(l, "{ ");

		if (strncmp(l, "# HELP ", 7) == 0) {
			ok = sscanf(l + 7, "%127s", fam) == 1 && strncmp(fam, "chatd_", 6) == 0;
			type[0] = '\0';
			fams++;
		} else if (strncmp(l, "# TYPE ", 7) == 0) {
			ok = sscanf(l + 7, "%127s %31s", name, type) == 2 && strcmp(name, fam) == 0 &&
			     (strcmp(type, "gauge") == 0 ||
			      (strcmp(type, "counter") == 0 && strlen(fam) > 6 &&
			       strcmp(fam + strlen(fam) - 6, "_total") == 0));
		} else {
			ok = type[0] && n == strlen(fam) && strncmp(l, fam, n) == 0 &&
			     strchr(l, ' ') && *(strchr(l, ' ') + 1) != '\0';
		}
		if (!ok)
			snprintf(why, cap, "bad exposition line: %s", l);
	}
	free(copy);
	if (ok && fams < 25) {
		snprintf(why, cap, "only %d families", fams);
		ok = 0;
	}
	return ok;
}

/* `promtool check metrics` on the text when promtool is installed (Debian's
 * prometheus package); 1 when it passes or is not there. */
static int promtool_ok(struct chatd *h, const char *text, char *why, size_t cap)
{
	static char out[4096];
	char path[200], cmd[300];
	FILE *f;
	int rc;

	if (access("/usr/bin/promtool", X_OK) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/metrics.txt", h->dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s", path);
	rc = run_capture((char *const[]){ "/bin/sh", "-c", cmd, NULL }, out, sizeof(out), 10000);
	if (rc == 0 && out[0] == '\0')
		return 1;
	snprintf(why, cap, "promtool check metrics: exit %d: %.300s", rc, out);
	return 0;
}

static int chats_seen;
static void count_chat(int i, const struct wsc_msg *m, void *arg)
{
	(void)i; (void)arg;
	if (m && strstr((const char *)m->data, "\"type\":\"chat\"") != NULL)
		chats_seen++;
}
static int six_each(void *arg)
{
	return chats_seen >= *(int *)arg;
}

static void t_metrics(void)
{
	static const struct { const char *metric, *label, *json; } same[] = {
		{ "chatd_connections", NULL, "connections" },
		{ "chatd_rooms", NULL, "rooms" },
		{ "chatd_connections_accepted_total", NULL, "connections_total" },
		{ "chatd_messages_in_total", NULL, "messages_in" },
		{ "chatd_messages_out_total", NULL, "frames_out" },
		{ "chatd_bytes_out_total", NULL, "bytes_out" },
		{ "chatd_errors_sent_total", NULL, "errors_sent" },
		{ "chatd_closes_total", "slow_consumer", "slow_consumer_closes" },
		{ "chatd_closes_total", "message_too_big", "oversize_closes" },
		{ "chatd_upgrades_rejected_total", NULL, "rejected_upgrades" },
		{ "chatd_uplink_full_total", NULL, "uplink_full" },
		{ "chatd_uplink_held_total", NULL, "uplink_held" },
		{ "chatd_uplink_refused_total", NULL, "uplink_refused" },
		{ "chatd_uplink_events_lost_total", NULL, "uplink_events_lost" },
		{ "chatd_history_refused_total", NULL, "history_refused" },
		{ "chatd_roster_refused_total", NULL, "roster_refused" },
		{ "chatd_ring_lost_total", NULL, "ring_lost" },
		{ "chatd_publishes_total", NULL, "publishes" },
		{ "chatd_publish_errors_total", NULL, "publish_errors" },
	};
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
		.conf = "publish_key " KEY "\n" });
	struct wsc *c[3];
	char id[64], why[512];
	int want = 12, n;
	json_t *s;

	CHECK(h, "start");
	c[0] = ws_join(h, WS "/m1", id, sizeof(id));
	c[1] = ws_join(h, WS "/m1", id, sizeof(id));
	c[2] = ws_join(h, WS, id, sizeof(id));
	CHECK(c[0] && c[1] && c[2], "join");
	for (int i = 0; i < 3; i++) {
		CHECK(ws_sendf(c[0], "{\"type\":\"chat\",\"data\":{\"content\":\"a%d\"}}", i) == 0, "send");
		CHECK(ws_sendf(c[1], "{\"type\":\"chat\",\"data\":{\"content\":\"b%d\"}}", i) == 0, "send");
	}
	CHECK(ws_sendf(c[2], "not json") == 0, "send");                 /* one error */
	CHECK(ws_pump(c, 2, 5000, count_chat, six_each, &want) == 0, "chats: %d of 12", chats_seen);
	CHECK(ws_recv_type(c[2], "error", 3000) != NULL, "no error frame");
	CHECK(publish(h, "wrong", "{}", NULL) == 401, "publish with a wrong key");
	CHECK(publish(h, KEY, "{\"room\":\"m1\",\"data\":{\"n\":1}}", NULL) == 200, "publish");
	CHECK(ws_recv_type(c[0], "notification", 3000) != NULL, "no notification");
	msleep(200);                                                    /* counters settle */

	CHECK(get(h, "/metrics") == 200, "GET /metrics");
	char *text = strdup(body);
	s = harness_stats(h);
	CHECK(s, "stats");
	CHECK(check_exposition(text, why, sizeof(why)), "%s", why);
	CHECK(strstr(text, "\nchatd_info{version=\"" PACKAGE_VERSION "\"} 1\n"),
	      "no chatd_info{version=\"%s\"} 1 line", PACKAGE_VERSION);
	/* the known workload */
	CHECK(metric_sum(text, "chatd_messages_in_total", NULL, &n) == 7, "messages_in != 7");
	CHECK(n == 3, "messages_in: %d series, want 2 workers + retired", n);
	CHECK(metric_sum(text, "chatd_connections", NULL, &n) == 3 && n == 2, "connections != 3");
	CHECK(metric_sum(text, "chatd_errors_sent_total", NULL, &n) == 1, "errors_sent != 1");
	CHECK(metric_sum(text, "chatd_publishes_total", NULL, &n) == 1, "publishes != 1");
	CHECK(metric_sum(text, "chatd_publish_errors_total", NULL, &n) == 1, "publish_errors != 1");
	CHECK(metric_sum(text, "chatd_messages_out_total", NULL, &n) >= 3 + 12 + 2,
	      "messages_out too small");
	CHECK(metric_sum(text, "chatd_redis_state", "state=\"off\"", &n) == 1, "redis not off");
	CHECK(metric_sum(text, "chatd_redis_up", NULL, &n) == 0 && n == 1, "redis_up");
	CHECK(metric_sum(text, "chatd_ring_lag", NULL, &n) == 0 && n == 2, "ring lag after idle");
	CHECK(metric_sum(text, "chatd_worker_info", "state=\"running\"", &n) == 2, "worker_info");
	CHECK(metric_sum(text, "chatd_ring_records_total", NULL, &n) ==
	      (double)stats_num(s, "ring_records"), "ring_records differ");
	/* the same numbers as the JSON */
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		double v = metric_sum(text, same[i].metric, same[i].label, &n);

		CHECK(n >= 2, "%s: %d series", same[i].metric, n);
		CHECK(v == (double)stats_num(s, same[i].json), "%s = %.0f, JSON %s = %lld",
		      same[i].metric, v, same[i].json, stats_num(s, same[i].json));
	}
	json_decref(s);
	CHECK(promtool_ok(h, text, why, sizeof(why)), "%s", why);
	free(text);
	for (int i = 0; i < 3; i++)
		wsc_free(c[i]);
}

/* ---- the publish API ------------------------------------------------------------ */

static void t_publish_errors(void)
{
	char big[2048];
	json_t *a = NULL;
	struct chatd *h = chatd_start(&(struct chatd_opts){
		.conf = "publish_key " KEY "\nmax_message_size 1k\n" });
	struct chatd *off;
	int st;

	CHECK(h, "start");
#define REFUSED(want_st, code, key, json)                                             \
	do {                                                                          \
		st = publish(h, key, json, &a);                                       \
		CHECK(st == want_st, "%s: HTTP %d, want %d", code, st, want_st);      \
		CHECK(a && strcmp(js(a, "error"), code) == 0 && js(a, "message")[0],  \
		      "%s: answer %s", code, body);                                   \
		json_decref(a);                                                       \
	} while (0)
	REFUSED(401, "missing_key", NULL, "{\"room\":\"r\"}");
	REFUSED(401, "invalid_key", "nope", "{\"room\":\"r\"}");
	REFUSED(401, "invalid_key", KEY "x", "{\"room\":\"r\"}");
	REFUSED(400, "invalid_json", KEY, "{\"room\":");
	REFUSED(400, "invalid_json", KEY, "[1,2]");
	REFUSED(400, "invalid_room", KEY, "{\"room\":\"no spaces\"}");
	REFUSED(400, "invalid_room", KEY, "{\"room\":42}");
	REFUSED(400, "invalid_type", KEY, "{\"type\":\"presence\"}");
	REFUSED(400, "invalid_data", KEY, "{\"data\":\"text\"}");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "{\"data\":{\"x\":\"", 14);
	REFUSED(413, "body_too_large", KEY, big);
	CHECK(get(h, PUBLISH) == 405, "GET on publish: %d", get(h, PUBLISH));
	CHECK(publish(h, KEY, "{}", NULL) == 200, "still serving after the errors");

	off = chatd_start(&(struct chatd_opts){ 0 });
	CHECK(off, "start without a key");
	st = publish(off, KEY, "{}", &a);
	CHECK(st == 403 && a && strcmp(js(a, "error"), "publish_disabled") == 0,
	      "without publish_key: HTTP %d %s", st, body);
	json_decref(a);
#undef REFUSED
}

static void t_publish_delivery(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
		.conf = "publish_key " KEY "\npublish_from ops-bot\n" });
	struct wsc *news[2], *other, *global;
	char id[64];
	json_t *a = NULL, *m;

	CHECK(h, "start");
	news[0] = ws_join(h, WS "/news", id, sizeof(id));
	news[1] = ws_join(h, WS "?room=news", id, sizeof(id));
	other = ws_join(h, WS "/other", id, sizeof(id));
	global = ws_join(h, WS, id, sizeof(id));
	CHECK(news[0] && news[1] && other && global, "join");
	CHECK(publish(h, KEY, "{\"room\":\"news\",\"type\":\"system\",\"data\":{\"v\":7}}", &a) == 200,
	      "publish: %s", body);
	CHECK(a && strlen(js(a, "id")) == 36 && strcmp(js(a, "room"), "news") == 0, "answer %s", body);
	for (int i = 0; i < 2; i++) {
		m = ws_recv_type(news[i], "system", 3000);
		CHECK(m, "news[%d] got nothing", i);
		CHECK(strcmp(js(m, "id"), js(a, "id")) == 0 && strcmp(js(m, "from"), "ops-bot") == 0 &&
		      strcmp(js(m, "room"), "news") == 0 &&
		      json_integer_value(json_object_get(json_object_get(m, "data"), "v")) == 7,
		      "news[%d]: wrong message", i);
		json_decref(m);
	}
	json_decref(a);
	/* global: every client, room members included; nobody got the room message twice */
	CHECK(publish(h, KEY, "{\"type\":\"chat\",\"data\":{\"content\":\"all\"}}", &a) == 200,
	      "global publish");
	struct wsc *all[4] = { news[0], news[1], other, global };
	for (int i = 0; i < 4; i++) {
		m = ws_recv_json(all[i], 3000);
		while (m && strcmp(js(m, "type"), "presence") == 0) {
			json_decref(m);
			m = ws_recv_json(all[i], 3000);
		}
		CHECK(m && strcmp(js(m, "type"), "chat") == 0 && strcmp(js(m, "id"), js(a, "id")) == 0 &&
		      json_object_get(m, "room") == NULL, "client %d: not the global message", i);
		json_decref(m);
	}
	json_decref(a);
	CHECK(ws_recv_type(other, "system", 300) == NULL, "another room got the room message");
	CHECK(ws_recv_type(news[0], "chat", 300) == NULL, "a message arrived twice");
}

/* Two pods sharing one Redis: a publish to pod A reaches the room on both, once. */
static void t_publish_two_pods(void)
{
	struct redis *r = redis_start();
	struct chatd *a, *b;
	struct wsc *ca, *cb;
	char id[64], conf[256];
	json_t *ans = NULL, *m;
	long long end;

	CHECK(r, "redis");
	snprintf(conf, sizeof(conf), "publish_key %s\n", KEY);
	a = chatd_start(&(struct chatd_opts){ .redis_port = r->port, .conf = conf });
	b = chatd_start(&(struct chatd_opts){ .redis_port = r->port });  /* no key: only delivers */
	CHECK(a && b, "start two pods");
	ca = ws_join(a, WS "/pods", id, sizeof(id));
	cb = ws_join(b, WS "/pods", id, sizeof(id));
	CHECK(ca && cb, "join");
	/* both pods subscribed to the room before publishing */
	for (end = mono_ms() + 5000; mono_ms() < end; msleep(50)) {
		json_t *sa = harness_stats(a), *sb = harness_stats(b);
		long long na = stats_num(json_object_get(sa, "redis"), "subscribed_rooms");
		long long nb = stats_num(json_object_get(sb, "redis"), "subscribed_rooms");

		json_decref(sa);
		json_decref(sb);
		if (na >= 1 && nb >= 1)
			break;
	}
	CHECK(mono_ms() < end, "pods did not subscribe to the room");
	CHECK(publish(b, KEY, "{\"room\":\"pods\"}", NULL) == 403, "pod b has no key");
	CHECK(publish(a, KEY, "{\"room\":\"pods\",\"data\":{\"content\":\"both\"}}", &ans) == 200,
	      "publish: %s", body);
	m = ws_recv_type(cb, "notification", 5000);
	CHECK(m && strcmp(js(m, "id"), js(ans, "id")) == 0 && strcmp(js(m, "from"), "server") == 0,
	      "pod b did not deliver the published message");
	json_decref(m);
	m = ws_recv_type(ca, "notification", 3000);
	CHECK(m && strcmp(js(m, "id"), js(ans, "id")) == 0, "pod a did not deliver it");
	json_decref(m);
	CHECK(ws_recv_type(ca, "notification", 500) == NULL, "pod a delivered it twice");
	CHECK(ws_recv_type(cb, "notification", 500) == NULL, "pod b delivered it twice");
	json_decref(ans);
	m = harness_stats(a);
	CHECK(stats_num(m, "publishes") == 1, "pod a counted %lld publishes", stats_num(m, "publishes"));
	json_decref(m);
	wsc_free(ca);
	wsc_free(cb);
}

/* ---- status_allow ---------------------------------------------------------------- */

#define STATS WS "/stats"

/* GET path from h's own address: the status, the body in body[]. */
static int get_at(struct chatd *h, const char *path)
{
	int st = 0;

	body[0] = '\0';
	if (wsc_http_request(h->host, h->port, "GET", path, NULL, NULL, 3000, &st, body,
			 sizeof(body)) < 0)
		return -1;
	return st;
}

/* /metrics and the stats answer 403 with a short text (no data), counted. */
static void status_refused(struct chatd *h, const char *who)
{
	const char *paths[] = { "/metrics", STATS };

	for (int i = 0; i < 2; i++) {
		int st = get_at(h, paths[i]);

		CHECK(st == 403, "%s: GET %s: HTTP %d, want 403", who, paths[i], st);
		CHECK(strlen(body) > 0 && strlen(body) < 100 && !strstr(body, "<html") &&
		      !strstr(body, "chatd_") && !strstr(body, "connections"),
		      "%s: GET %s: not a short refusal: %.200s", who, paths[i], body);
	}
}

/* Is ::1 usable here (a loopback with IPv6)? */
static int have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;

	ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * status_allow: a client outside the ranges gets 403 on /metrics and the
 * stats (not on /healthz or the WebSocket), counted in status_refused; a
 * reload that lets it in serves it the data; a bad range is a config error
 * with file:line; IPv6 ranges match IPv6 clients.
 */
static void t_status_allow(void)
{
	char text[512], bad[200], out[2048];
	char *argv[] = { (char *)chatd_bin(), "-t", "-c", bad, NULL };
	struct chatd *h = chatd_start(&(struct chatd_opts){
		.conf = "status_allow 10.0.0.0/8\nstatus_allow 192.168.0.0/16, fc00::/7\n" });
	struct wsc *c;
	int st;

	CHECK(h, "start");
	status_refused(h, "127.0.0.1 outside 10/8 192.168/16");
	CHECK(get_at(h, "/healthz") == 200, "healthz is not open to everyone");
	CHECK((c = ws_join(h, WS "/sa", NULL, 0)), "the WebSocket is not open to everyone");
	wsc_free(c);
	/* reloaded with 127.0.0.1/32: the same client gets the data */
	snprintf(text, sizeof(text), "redis_url off\npid_file %s/chatd.pid\nlog_level info\n"
		 "shutdown_timeout 3s\nstatus_allow 127.0.0.1/32\n", h->dir);
	CHECK(chatd_write_conf(h, text) == 0 && kill(h->pid, SIGHUP) == 0, "reload");
	int refused = 2;        /* until the new workers serve, the old ones refuse */
	for (long long t0 = mono_ms(); (st = get_at(h, "/metrics")) != 200 &&
	     mono_ms() - t0 < 10000; refused += st == 403)
		msleep(50);
	CHECK(st == 200 && strstr(body, "chatd_status_refused_total"), "after the reload: "
	      "/metrics HTTP %d", st);
	json_t *j = harness_stats(h);
	CHECK(j, "stats after the reload");
	CHECK(stats_num(j, "status_refused") == refused, "status_refused %lld, want %d",
	      stats_num(j, "status_refused"), refused);
	json_decref(j);
	/* a bad range: chatd -t names file:line */
	snprintf(bad, sizeof(bad), "%s/bad.conf", h->dir);
	FILE *f = fopen(bad, "w");
	CHECK(f, "write %s", bad);
	fputs("redis_url off\nstatus_allow 127.0.0.0/8\nstatus_allow 10.0.0.1/8\n", f);
	fclose(f);
	st = run_capture(argv, out, sizeof(out), 5000);
	CHECK(st == 1 && strstr(out, "bad.conf:3:") && strstr(out, "status_allow"),
	      "chatd -t with status_allow 10.0.0.1/8: exit %d: %s", st, out);
	if (!have_ipv6_loopback()) {
		fprintf(stderr, "(no IPv6 loopback: the IPv6 half is skipped)\n");
		return;
	}
	/* an IPv6 client: refused by IPv4 ranges, let in by ::1/128 */
	struct chatd *v4only = chatd_start(&(struct chatd_opts){ .host = "::1",
		.conf = "status_allow 127.0.0.0/8\n" });
	CHECK(v4only, "start on [::1]");
	status_refused(v4only, "::1 outside 127/8");
	struct chatd *v6 = chatd_start(&(struct chatd_opts){ .host = "::1",
		.conf = "status_allow 127.0.0.0/8 ::1/128\n" });
	CHECK(v6, "start on [::1]");
	CHECK(get_at(v6, STATS) == 200 && strstr(body, "\"connections\""),
	      "::1 in ::1/128: stats HTTP %d", get_at(v6, STATS));
}

const struct itest_case t_web_cases[] = {
	{ "web_page", t_page, 0 },
	{ "web_metrics", t_metrics, 0 },
	{ "web_publish_errors", t_publish_errors, 0 },
	{ "web_publish_delivery", t_publish_delivery, 0 },
	{ "web_publish_two_pods", t_publish_two_pods, 0 },
	{ "web_status_allow", t_status_allow, 0 },
	{ NULL, NULL, 0 },
};
