/* SPDX-License-Identifier: MIT */
/*
 * test_web.c - the publish API's key check, validation and answers; the
 * demo page's file names, types and prefix placeholder; the Prometheus
 * text against the JSON stats over one shared region; the RFC 6455 checks of
 * an upgrade's headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cu.h"
#include "http.h"
#include "metrics.h"
#include "page.h"
#include "publish.h"
#include "shm.h"
#include "stats.h"

/* ---- publish ----------------------------------------------------------------- */

static void test_auth(void)
{
	CU_ASSERT_EQUAL(publish_auth("", "Bearer x"), PUBLISH_EDISABLED);
	CU_ASSERT_EQUAL(publish_auth("", NULL), PUBLISH_EDISABLED);
	CU_ASSERT_EQUAL(publish_auth("k3y", NULL), PUBLISH_ENOKEY);
	CU_ASSERT_EQUAL(publish_auth("k3y", "Basic azN5"), PUBLISH_ENOKEY);
	CU_ASSERT_EQUAL(publish_auth("k3y", "Bearer "), PUBLISH_ENOKEY);
	CU_ASSERT_EQUAL(publish_auth("k3y", "Bearer k3y"), PUBLISH_OK);
	CU_ASSERT_EQUAL(publish_auth("k3y", "bearer  k3y "), PUBLISH_OK);
	CU_ASSERT_EQUAL(publish_auth("k3y", "Bearer k3"), PUBLISH_EBADKEY);
	CU_ASSERT_EQUAL(publish_auth("k3y", "Bearer k3yy"), PUBLISH_EBADKEY);
	CU_ASSERT_EQUAL(publish_auth("k3y", "Bearer K3y"), PUBLISH_EBADKEY);
	CU_ASSERT_EQUAL(publish_auth("k3y", "Bearer x3y"), PUBLISH_EBADKEY);
	CU_ASSERT_EQUAL(publish_status(PUBLISH_EBADKEY), 401);
	CU_ASSERT_EQUAL(publish_status(PUBLISH_EDISABLED), 403);
	CU_ASSERT_EQUAL(publish_status(PUBLISH_ETOOBIG), 413);
	CU_ASSERT_EQUAL(publish_status(PUBLISH_EJSON), 400);
}

/* Build body; on success parse the frame into *frame. */
static enum publish_err build(const char *body, json_t **frame, struct publish_msg *pm)
{
	static char buf[4096];
	enum publish_err e = publish_build(body, strlen(body), "ops", buf, sizeof(buf), pm);

	*frame = e == PUBLISH_OK ? json_loadb(buf, pm->frame_len, 0, NULL) : NULL;
	return e;
}

static void test_build_ok(void)
{
	struct publish_msg pm;
	json_t *f;

	CU_ASSERT_EQUAL_FATAL(build("{\"room\":\"lobby\",\"type\":\"system\",\"data\":{\"a\":1}}",
				    &f, &pm), PUBLISH_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(pm.room_len, 5);
	CU_ASSERT_STRING_EQUAL(pm.room, "lobby");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(f, "type")), "system");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(f, "room")), "lobby");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(f, "from")), "ops");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(f, "data"), "a")), 1);
	CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(f, "id"))), 36);
	CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(f, "timestamp"))), 24);
	json_decref(f);

	/* no room: global; no type: notification; no data: {}; from/id ignored */
	CU_ASSERT_EQUAL_FATAL(build("{\"from\":\"mallory\",\"id\":\"x\"}", &f, &pm), PUBLISH_OK);
	CU_ASSERT_EQUAL(pm.room_len, 0);
	CU_ASSERT_PTR_NULL(json_object_get(f, "room"));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(f, "type")), "notification");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(f, "from")), "ops");
	CU_ASSERT_NOT_EQUAL(strcmp(json_string_value(json_object_get(f, "id")), "x"), 0);
	CU_ASSERT(json_is_object(json_object_get(f, "data")));
	json_decref(f);
	CU_ASSERT_EQUAL(build("{\"room\":null,\"type\":\"chat\"}", &f, &pm), PUBLISH_OK);
	CU_ASSERT_EQUAL(pm.room_len, 0);
	json_decref(f);
}

/* data goes on as the publisher wrote it, as a client's does (msg.c) */
static void test_build_verbatim(void)
{
	static const char body[] =
		"{\"data\" : {\"n\":0.1, \"m\":1e-400,\"big\":12345678901234567890,"
		"\"s\":\"\\u00e9\"}, \"room\":\"r\"}";
	static const char want[] =
		",\"data\":{\"n\":0.1, \"m\":1e-400,\"big\":12345678901234567890,"
		"\"s\":\"\\u00e9\"},";
	char buf[512];
	struct publish_msg pm;

	CU_ASSERT_EQUAL_FATAL(publish_build(body, strlen(body), "ops", buf, sizeof(buf), &pm),
			      PUBLISH_OK);
	buf[pm.frame_len] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	/* duplicate keys are refused, as from clients: which one would go on? */
	CU_ASSERT_EQUAL(publish_build("{\"data\":{},\"data\":{\"a\":1}}", 26, "ops", buf,
				      sizeof(buf), &pm), PUBLISH_EJSON);
}

static void test_build_errors(void)
{
	static const struct { const char *body; enum publish_err e; } cases[] = {
		{ "", PUBLISH_EJSON }, { "nope", PUBLISH_EJSON }, { "[1]", PUBLISH_EJSON },
		{ "{\"room\":\"a\"", PUBLISH_EJSON }, { "\"x\"", PUBLISH_EJSON },
		{ "{\"room\":\"\"}", PUBLISH_EROOM }, { "{\"room\":\"a b\"}", PUBLISH_EROOM },
		{ "{\"room\":5}", PUBLISH_EROOM }, { "{\"room\":\"a/b\"}", PUBLISH_EROOM },
		{ "{\"room\":\"a\\u0000b\"}", PUBLISH_EJSON },   /* jansson refuses NUL */
		{ "{\"type\":\"ping\"}", PUBLISH_ETYPE }, { "{\"type\":\"error\"}", PUBLISH_ETYPE },
		{ "{\"type\":7}", PUBLISH_ETYPE }, { "{\"type\":\"presence\"}", PUBLISH_ETYPE },
		{ "{\"data\":\"hi\"}", PUBLISH_EDATA }, { "{\"data\":[1]}", PUBLISH_EDATA },
	};
	char room[200], body[300];
	struct publish_msg pm;
	json_t *f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum publish_err e = build(cases[i].body, &f, &pm);

		if (e != cases[i].e)
			fprintf(stderr, "\n%s: got %s\n", cases[i].body, publish_err_code(e));
		CU_ASSERT_EQUAL(e, cases[i].e);
		CU_ASSERT_PTR_NULL(f);
	}
	memset(room, 'r', 129);
	room[129] = '\0';
	snprintf(body, sizeof(body), "{\"room\":\"%s\"}", room);
	CU_ASSERT_EQUAL(build(body, &f, &pm), PUBLISH_EROOM);
	room[128] = '\0';
	snprintf(body, sizeof(body), "{\"room\":\"%s\"}", room);
	CU_ASSERT_EQUAL(build(body, &f, &pm), PUBLISH_OK);
	json_decref(f);
	/* a frame that does not fit once stamped */
	char small[64];
	CU_ASSERT_EQUAL(publish_build("{\"data\":{\"x\":\"0123456789\"}}", 27, "s", small,
				      sizeof(small), &pm), PUBLISH_ETOOBIG);
}

static void test_answer(void)
{
	char buf[512];
	struct publish_msg pm;
	size_t len;
	json_t *a, *f;
	char *s;

	CU_ASSERT_EQUAL_FATAL(publish_build("{\"room\":\"r1\"}", 13, "", buf, sizeof(buf), &pm),
			      PUBLISH_OK);
	f = json_loadb(buf, pm.frame_len, 0, NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(f, "from")), "server");
	s = publish_answer(PUBLISH_OK, buf, pm.frame_len, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(strlen(s), len);
	a = json_loads(s, 0, NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "id")),
			       json_string_value(json_object_get(f, "id")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "room")), "r1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "timestamp")),
			       json_string_value(json_object_get(f, "timestamp")));
	json_decref(a);
	json_decref(f);
	free(s);
	s = publish_answer(PUBLISH_EROOM, NULL, 0, &len);
	a = json_loads(s, 0, NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "error")), "invalid_room");
	CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(a, "message")), "room"));
	json_decref(a);
	free(s);
}

/* ---- the page --------------------------------------------------------------------- */

static void test_page_names(void)
{
	CU_ASSERT_PTR_NOT_NULL(page_type("index.html"));
	CU_ASSERT_STRING_EQUAL(page_type("app.js"), "text/javascript; charset=utf-8");
	CU_ASSERT_STRING_EQUAL(page_type("style.css"), "text/css; charset=utf-8");
	CU_ASSERT_PTR_NULL(page_type(""));
	CU_ASSERT_PTR_NULL(page_type(".htaccess.html"));
	CU_ASSERT_PTR_NULL(page_type("../etc/passwd"));
	CU_ASSERT_PTR_NULL(page_type("..html"));
	CU_ASSERT_PTR_NULL(page_type("a/b.js"));
	CU_ASSERT_PTR_NULL(page_type("chatd.conf"));
	CU_ASSERT_PTR_NULL(page_type("html"));
	CU_ASSERT_PTR_NULL(page_type("a b.js"));
	CU_ASSERT_PTR_NULL(page_dir("off"));
	CU_ASSERT_STRING_EQUAL(page_dir("/srv/x"), "/srv/x");
	CU_ASSERT_PTR_NOT_NULL(strstr(page_dir(""), "/static"));
	/* the policy forbids inline script: no 'unsafe-inline' anywhere */
	CU_ASSERT_STRING_EQUAL(page_headers[0], "content-security-policy:");
	CU_ASSERT_PTR_NULL(strstr(page_headers[1], "unsafe"));
	CU_ASSERT_PTR_NOT_NULL(strstr(page_headers[1], "script-src 'self'"));
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void test_page_load(void)
{
	char dir[] = "/tmp/chatd-test-web-XXXXXX", path[512];
	const char *ct;
	char *body;
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	put(dir, "index.html", "<meta content=\"@PATH_PREFIX@\">@PATH_PREFIX@/ws!");
	put(dir, "app.js", "const p = '@PATH_PREFIX@';");
	put(dir, "secret.conf", "no");
	CU_ASSERT_EQUAL_FATAL(page_load(dir, "", "/api/x", &body, &len, &ct), 0);
	CU_ASSERT_STRING_EQUAL(body, "<meta content=\"/api/x\">/api/x/ws!");
	CU_ASSERT_EQUAL(len, strlen(body));
	CU_ASSERT_STRING_EQUAL(ct, "text/html; charset=utf-8");
	free(body);
	CU_ASSERT_EQUAL_FATAL(page_load(dir, "app.js", "/api/x", &body, &len, &ct), 0);
	CU_ASSERT_STRING_EQUAL(body, "const p = '@PATH_PREFIX@';");   /* only html is filled */
	free(body);
	CU_ASSERT_EQUAL(page_load(dir, "secret.conf", "/p", &body, &len, &ct), 404);
	CU_ASSERT_EQUAL(page_load(dir, "style.css", "/p", &body, &len, &ct), 404);
	CU_ASSERT_EQUAL(page_load(dir, "..", "/p", &body, &len, &ct), 404);
	CU_ASSERT_EQUAL(page_load("/nonexistent-dir", "", "/p", &body, &len, &ct), 404);
	for (const char *const *n = (const char *const[]){ "index.html", "app.js", "secret.conf",
							   NULL }; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
}

/* The shipped page: no inline script or style, the prefix placeholder present. */
static void test_shipped_page(void)
{
	const char *src = getenv("CHATD_SRCDIR");
	char dir[1024];
	const char *ct;
	char *body;
	size_t len;

	snprintf(dir, sizeof(dir), "%s/static", src ? src : "..");
	CU_ASSERT_EQUAL_FATAL(page_load(dir, "", "/api/chat-api", &body, &len, &ct), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "content=\"/api/chat-api\""));
	CU_ASSERT_PTR_NULL(strstr(body, "@PATH_PREFIX@"));
	CU_ASSERT_PTR_NULL(strstr(body, "<script>"));
	CU_ASSERT_PTR_NULL(strstr(body, " onclick="));
	CU_ASSERT_PTR_NULL(strstr(body, " style="));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "<script src=\"app.js\""));
	free(body);
	CU_ASSERT_EQUAL(page_load(dir, "app.js", "/p", &body, &len, &ct), 0);
	free(body);
	CU_ASSERT_EQUAL(page_load(dir, "style.css", "/p", &body, &len, &ct), 0);
	free(body);
}

/* ---- metrics -------------------------------------------------------------------- */

/* Sum of the samples of family name whose labels contain label (or any). */
static double sum_samples(const char *text, const char *name, const char *label, int *count)
{
	size_t nl = strlen(name);
	double sum = 0;

	*count = 0;
	for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
		const char *end = strchr(l, '\n'), *sp;

		if (strncmp(l, name, nl) == 0 && (l[nl] == '{' || l[nl] == ' ')) {
			sp = memchr(l, ' ', (size_t)(end - l));
			if (label == NULL || (memmem(l, (size_t)(sp - l), label, strlen(label)))) {
				sum += strtod(sp + 1, NULL);
				(*count)++;
			}
		}
		if (end == NULL || end[1] == '\0')
			break;
	}
	return sum;
}

/* Every line is a comment with HELP/TYPE, or a sample of a family declared
 * just before; names start with chatd_, counters end in _total. */
static void check_format(const char *text)
{
	char family[128] = "", type[32] = "", name[128], *copy = strdup(text), *save, *l;
	int helps = 0;

	for (l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "# HELP ", 7) == 0) {
			CU_ASSERT_EQUAL(sscanf(l + 7, "%127s", family), 1);
			CU_ASSERT_EQUAL(strncmp(family, "chatd_", 6), 0);
			helps++;
			continue;
		}
		if (strncmp(l, "# TYPE ", 7) == 0) {
			CU_ASSERT_EQUAL(sscanf(l + 7, "%127s %31s", name, type), 2);
			CU_ASSERT_STRING_EQUAL(name, family);
			CU_ASSERT(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
			if (strcmp(type, "counter") == 0)
				CU_ASSERT_STRING_EQUAL(family + strlen(family) - 6, "_total");
			continue;
		}
		CU_ASSERT_NOT_EQUAL(l[0], '#');
		size_t n = strcspn(l, "{ ");
		CU_ASSERT(n == strlen(family) && strncmp(l, family, n) == 0);
		if (l[n] == '{')
			CU_ASSERT_PTR_NOT_NULL(strstr(l + n, "} "));
	}
	CU_ASSERT(helps > 20);
	free(copy);
}

/* The JSON and the metrics name each Redis link state from one table. */
static void test_redis_state_names(void)
{
	static const char *const want[REDIS_STATE_COUNT] = { "off", "connecting", "up", "down" };
	struct shm_hdr *shm = shm_create(1 << 16, 1 << 16);
	char line[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(shm);
	for (uint64_t st = 0; st < REDIS_STATE_COUNT; st++) {
		CU_ASSERT_STRING_EQUAL(stats_redis_state_name(st), want[st]);
		stats_set(&shm->master.redis_state, st);
		char *text = metrics_text(shm, NULL), *js = stats_json(shm, NULL);
		json_t *j = json_loads(js, 0, NULL);

		CU_ASSERT_PTR_NOT_NULL_FATAL(j);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(j, "redis"),
									 "state")), want[st]);
		snprintf(line, sizeof(line), "\nchatd_redis_state{state=\"%s\"} 1\n", want[st]);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, line));
		snprintf(line, sizeof(line), "\nchatd_redis_up %d\n", st == REDIS_STATE_UP);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, line));
		json_decref(j);
		free(js);
		free(text);
	}
	CU_ASSERT_STRING_EQUAL(stats_redis_state_name(REDIS_STATE_COUNT), "?");
	shm_destroy(shm);
}

static void test_metrics(void)
{
	struct shm_hdr *shm = shm_create(1 << 16, 1 << 16);
	size_t n, len;
	const struct stats_field *t = stats_worker_fields(&n);
	char *text, *js, name[128];
	json_t *j;
	int count;

	CU_ASSERT_PTR_NOT_NULL_FATAL(shm);
	for (int slot = 0; slot < 2; slot++) {
		stats_set(&shm->worker[slot].state, SLOT_RUNNING);
		stats_set(&shm->worker[slot].pid, 1000 + (uint64_t)slot);
		for (size_t i = 0; i < n; i++)   /* distinct values everywhere */
			stats_set((_Atomic uint64_t *)(void *)((char *)&shm->worker[slot] + t[i].offset),
				  (uint64_t)(slot * 100 + (int)i + 1));
	}
	stats_add(&shm->retired.msgs_in, 1000);
	stats_set(&shm->master.redis_state, REDIS_STATE_UP);
	stats_set(&shm->master.redis_queued, 7);
	stats_set(&shm->master.reloads, 3);
	text = metrics_text(shm, &len);
	js = stats_json(shm, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(strlen(text), len);
	check_format(text);
	j = json_loads(js, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	/* every worker field: the sum over worker labels is the JSON total */
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "chatd_%s%s", t[i].metric, t[i].counter ? "_total" : "");
		double v = sum_samples(text, name, t[i].label, &count);
		CU_ASSERT_EQUAL(count, t[i].counter ? 3 : 2);
		CU_ASSERT_EQUAL((long long)v, json_integer_value(json_object_get(j, t[i].name)));
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nchatd_messages_in_total{worker=\"retired\"} 1000\n"));
	CU_ASSERT_EQUAL((long long)sum_samples(text, "chatd_messages_in_total", NULL, &count),
			1000 + 5 + 105);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nchatd_closes_total{worker=\"1\",reason=\"slow_consumer\"} "));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nchatd_redis_state{state=\"up\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nchatd_redis_state{state=\"down\"} 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nchatd_redis_publish_queue 7\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nchatd_reloads_total 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nchatd_worker_info{worker=\"1\",pid=\"1001\","));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "redis"), "queued")), 7);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(j, "redis"), "state")),
			       "up");
	/* one HELP per family: "closes" has two rows but one header */
	CU_ASSERT_EQUAL(strstr(strstr(text, "# HELP chatd_closes_total") + 1,
			       "# HELP chatd_closes_total"), NULL);
	json_decref(j);
	free(js);
	free(text);
	/* a retired slot folds into worker="retired" and keeps the total */
	stats_retire_slot(shm, 1);
	text = metrics_text(shm, &len);
	CU_ASSERT_EQUAL((long long)sum_samples(text, "chatd_messages_in_total", NULL, &count),
			1000 + 5 + 105);
	CU_ASSERT_EQUAL(count, 2);
	CU_ASSERT_PTR_NULL(strstr(text, "worker=\"1\""));
	free(text);
	shm_destroy(shm);
}

/* ---- the upgrade's own headers (RFC 6455 section 4.2.1) ----------------------- */

static void test_handshake_check(void)
{
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";

	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", key, "13"), HS_OK);
	CU_ASSERT_EQUAL(http_handshake_check("WebSocket", "keep-alive, upgrade", key, "13"), HS_OK);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "x,Upgrade ,y", key, "13"), HS_OK);
	/* Upgrade */
	CU_ASSERT_EQUAL(http_handshake_check(NULL, "Upgrade", key, "13"), HS_BAD_UPGRADE);
	CU_ASSERT_EQUAL(http_handshake_check("foo", "Upgrade", key, "13"), HS_BAD_UPGRADE);
	CU_ASSERT_EQUAL(http_handshake_check("h2c", "Upgrade", key, "13"), HS_BAD_UPGRADE);
	CU_ASSERT_EQUAL(http_handshake_check("websocket, foo", "Upgrade", key, "13"),
			HS_BAD_UPGRADE);
	CU_ASSERT_EQUAL(http_handshake_check("", "Upgrade", key, "13"), HS_BAD_UPGRADE);
	/* Connection */
	CU_ASSERT_EQUAL(http_handshake_check("websocket", NULL, key, "13"), HS_BAD_CONNECTION);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "keep-alive", key, "13"),
			HS_BAD_CONNECTION);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "upgradex", key, "13"), HS_BAD_CONNECTION);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "", key, "13"), HS_BAD_CONNECTION);
	/* Sec-WebSocket-Key: 16 bytes in base64, nothing else */
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", NULL, "13"), HS_BAD_KEY);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", "", "13"), HS_BAD_KEY);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", "abc", "13"), HS_BAD_KEY);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", "AAAAAAAAAAAAAAAAAAAA", "13"),
			HS_BAD_KEY);                               /* 15 bytes */
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", "AAAAAAAAAAAAAAAAAAAAAAA=",
					     "13"), HS_BAD_KEY);   /* 17 bytes */
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ=!",
					     "13"), HS_BAD_KEY);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", "dGhlIHNhbXBsZSBub2 jZQ==",
					     "13"), HS_BAD_KEY);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", "++++////AAAAzzzz0000+/==",
					     "13"), HS_OK);
	/* Sec-WebSocket-Version: 13 only */
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", key, NULL), HS_BAD_VERSION);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", key, "8"), HS_BAD_VERSION);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", key, "13, 8"), HS_BAD_VERSION);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", key, "130"), HS_BAD_VERSION);
	CU_ASSERT_EQUAL(http_handshake_check("websocket", "Upgrade", key, ""), HS_BAD_VERSION);
}

static CU_TestInfo tests[] = {
	{ "publish key", test_auth },
	{ "publish builds frames", test_build_ok },
	{ "publish passes data through verbatim", test_build_verbatim },
	{ "publish refuses bad bodies", test_build_errors },
	{ "publish answers", test_answer },
	{ "page names and types", test_page_names },
	{ "page files and prefix", test_page_load },
	{ "shipped page is CSP-clean", test_shipped_page },
	{ "metrics format and JSON agreement", test_metrics },
	{ "redis link state names", test_redis_state_names },
	{ "upgrade headers (RFC 6455 4.2.1)", test_handshake_check },
	CU_TEST_INFO_NULL,
};

CU_MAIN("web", tests)
