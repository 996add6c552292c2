/* SPDX-License-Identifier: MIT */
/*
 * t_roster.c - who is in a room (issue 16 item 4) through the real daemon:
 * GET {prefix}/rooms/{room}/members and {"type":"members"} on one node and
 * across pods sharing a real redis-server, kept current on joins and
 * leaves, paged, and right again within the expiry after a pod is killed
 * with SIGKILL.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROSTER_CONF "presence off\n"
#define MEMBERS "/api/chat-api/rooms/"

/* GET path: the status, and the JSON body into *body (NULL if not JSON). */
static int get_json(struct chatd *h, const char *path, json_t **body)
{
	char req[512], out[65536];
	const char *b;
	int st = -1;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
		 path, HOST);
	*body = NULL;
	if (http_raw(HOST, h->port, req, out, sizeof(out), 5000) < 0 ||
	    sscanf(out, "HTTP/1.1 %d", &st) != 1)
		return -1;
	if ((b = strstr(out, "\r\n\r\n")) != NULL)
		*body = json_loads(b + 4, 0, NULL);
	return st;
}

/* data.count (or count) of the members answer of room on h; -1 on error. */
static long long count_of(struct chatd *h, const char *room)
{
	char path[256];
	json_t *j;
	long long n = -1;

	snprintf(path, sizeof(path), MEMBERS "%s/members", room);
	if (get_json(h, path, &j) == 200)
		n = json_integer_value(json_object_get(j, "count"));
	json_decref(j);
	return n;
}

/* Poll until room's count on h is want (up to ms); the last count. */
static long long count_wait(struct chatd *h, const char *room, long long want, int ms)
{
	long long n = -1, t0 = mono_ms();

	while ((n = count_of(h, room)) != want && mono_ms() - t0 < ms)
		msleep(100);
	return n;
}

/* Does the answer list client id? */
static int lists(json_t *j, const char *id)
{
	json_t *m = json_object_get(j, "members"), *e;
	size_t i;

	json_array_foreach(m, i, e)
		if (strcmp(js(e, "client_id"), id) == 0)
			return 1;
	return 0;
}

static void t_single(void)
{
	struct chatd_opts o = { .workers = 2, .conf = ROSTER_CONF };
	struct chatd *h = chatd_start(&o);
	char id[3][64];
	struct wsc *c[3], *g;
	json_t *j, *m;

	CHECK(h != NULL, "start");
	for (int i = 0; i < 3; i++)
		CHECK((c[i] = ws_join(h, WS "/lobby", id[i], sizeof(id[i]))) != NULL, "join %d", i);
	CHECK(count_wait(h, "lobby", 3, 2000) == 3, "3 members");
	CHECK(get_json(h, MEMBERS "lobby/members", &j) == 200 && j != NULL, "GET");
	for (int i = 0; i < 3; i++)
		CHECK(lists(j, id[i]), "lists %s", id[i]);
	CHECK(strcmp(js(j, "room"), "lobby") == 0 &&
	      strlen(js(json_array_get(json_object_get(j, "members"), 0), "since")) == 24,
	      "room and since");
	json_decref(j);
	/* over the socket */
	CHECK(ws_sendf(c[0], "{\"type\":\"members\"}") == 0, "ask");
	m = ws_recv_type(c[0], "members", 5000);
	CHECK(m != NULL && json_integer_value(json_object_get(json_object_get(m, "data"),
							      "count")) == 3, "members message");
	json_decref(m);
	/* a leave shows within a second */
	wsc_free(c[2]);
	CHECK(count_wait(h, "lobby", 2, 1000) == 2, "2 after a leave");
	/* paged */
	CHECK(get_json(h, MEMBERS "lobby/members?limit=1", &j) == 200 &&
	      json_array_size(json_object_get(j, "members")) == 1 &&
	      json_integer_value(json_object_get(j, "next")) == 1, "page 1 of 2");
	json_decref(j);
	CHECK(get_json(h, MEMBERS "lobby/members?offset=1&limit=1", &j) == 200 &&
	      json_array_size(json_object_get(j, "members")) == 1 &&
	      json_object_get(j, "next") == NULL, "page 2 of 2");
	json_decref(j);
	CHECK(count_of(h, "empty") == 0, "an empty room");
	CHECK(get_json(h, MEMBERS "bad!room/members", &j) == 400, "bad room: 400");
	json_decref(j);
	CHECK(get_json(h, MEMBERS "lobby/members?limit=0", &j) == 400, "limit 0: 400");
	json_decref(j);
	CHECK(get_json(h, MEMBERS "lobby/members?offset=-1", &j) == 400, "offset -1: 400");
	json_decref(j);
	/* a global connection is in no room */
	CHECK((g = ws_join(h, WS, NULL, 0)) != NULL, "global");
	CHECK(ws_sendf(g, "{\"type\":\"members\"}") == 0, "ask");
	m = ws_recv_type(g, "error", 5000);
	CHECK(m != NULL && strcmp(js(json_object_get(m, "data"), "code"), "not_in_room") == 0,
	      "not_in_room");
	json_decref(m);
	wsc_free(g);
	wsc_free(c[0]);
	wsc_free(c[1]);
}

static void t_pods(void)
{
	struct redis *r = redis_start();
	struct chatd *p[2];
	struct wsc *c[4];
	pid_t pids[8];
	long long t0, n;
	int np;

	CHECK(r != NULL, "redis");
	for (int i = 0; i < 2; i++) {
		struct chatd_opts o = { .workers = 2, .conf = ROSTER_CONF, .redis_port = r->port };

		CHECK((p[i] = chatd_start(&o)) != NULL, "pod %d", i);
	}
	msleep(500);                            /* both have said they are alive */
	for (int i = 0; i < 4; i++)
		CHECK((c[i] = ws_join(p[i % 2], WS "/r", NULL, 0)) != NULL, "join %d", i);
	CHECK(count_wait(p[0], "r", 4, 2000) == 4, "pod 0 sees 4");
	CHECK(count_wait(p[1], "r", 4, 2000) == 4, "pod 1 sees 4");
	wsc_free(c[3]);
	CHECK(count_wait(p[0], "r", 3, 1000) == 3, "a leave on pod 1, seen by pod 0 in 1 s");
	/* pod 1 dies without a word: its member stops counting within the expiry */
	np = stats_worker_pids(p[1], pids, 8);
	CHECK(np > 0, "pod 1's workers");
	kill(p[1]->pid, SIGKILL);
	for (int i = 0; i < np; i++)
		kill(pids[i], SIGKILL);
	t0 = mono_ms();
	n = count_wait(p[0], "r", 2, 8000);
	CHECK(n == 2, "pod 1's member gone: %lld", n);
	CHECK(mono_ms() - t0 < 6000, "within the expiry (%lld ms)", mono_ms() - t0);
	wsc_free(c[1]);
	wsc_free(c[0]);
	wsc_free(c[2]);
}

const struct itest_case t_roster_cases[] = {
	{ "roster_single", t_single, 0 },
	{ "roster_pods", t_pods, 0 },
	{ NULL, NULL, 0 },
};
