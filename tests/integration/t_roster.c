/* SPDX-License-Identifier: MIT */
/*
 * t_roster.c - who is in the room (issue 16 item 4): GET
 * {prefix}/rooms/{room}/members and the socket's {"type":"members"}, right
 * after joins and leaves, after a worker is killed, paged, with bad input;
 * across pods with a real redis-server, after a pod is killed without a
 * word (its entries gone within roster_ttl), and failing fast (503) while
 * Redis is down.  Review findings: no answer reaches the successor of a
 * dead worker; Redis's keys hold only live instances' entries after
 * reconnections and after a pod dies; a lapsed heartbeat heals; the resync
 * is paced; single-node requests spend a bounded budget.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define API      "/api/chat-api"
#define NMAX     16
#define SETTLE_MS 4000          /* a roster bound under this machine's load */

static char body[1 << 17];

/* GET path on h: the status into *st, the body as JSON (NULL: none). */
static json_t *get_json(struct chatd *h, const char *path, int *st)
{
	*st = 0;
	body[0] = '\0';
	if (wsc_http_request(HOST, h->port, "GET", path, NULL, NULL, 5000, st, body,
			     sizeof(body)) < 0)
		return NULL;
	return json_loads(body, 0, NULL);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ids[0..n) sorted and joined with commas into out. */
static void id_list(char ids[][64], int n, char *out, size_t cap)
{
	const char *p[NMAX];
	size_t used = 0;

	for (int i = 0; i < n; i++)
		p[i] = ids[i];
	qsort(p, (size_t)n, sizeof(p[0]), str_cmp);
	out[0] = '\0';
	for (int i = 0; i < n && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", p[i]);
}

/* The client ids of a members body, in order, joined with commas. */
static void body_ids(json_t *j, char *out, size_t cap)
{
	json_t *m;
	size_t i, used = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(j, "members"), i, m)
		if (used < cap)
			used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "",
						 js(m, "client_id"));
}

/* Poll GET path on h until its members are exactly ids[0..n) (count n) or
 * SETTLE_MS pass; 1 when they are, else 0 with what was seen in seen. */
static int roster_is(struct chatd *h, const char *path, char ids[][64], int n, char *seen,
		     size_t cap)
{
	char want[NMAX * 70], got[NMAX * 70];
	long long end = mono_ms() + SETTLE_MS;
	int st;

	id_list(ids, n, want, sizeof(want));
	do {
		json_t *j = get_json(h, path, &st);

		body_ids(j, got, sizeof(got));
		snprintf(seen, cap, "status %d count %lld [%.1500s]", st, stats_num(j, "count"), got);
		if (st == 200 && stats_num(j, "count") == n && strcmp(got, want) == 0) {
			json_decref(j);
			return 1;
		}
		json_decref(j);
		msleep(50);
	} while (mono_ms() < end);
	return 0;
}

/* Walk base's pages of limit (cursor from each page's next) on h: every id
 * in order into got, joined with commas; each page must say count.  The
 * number of pages, or -1 on a bad page (body holds it). */
static int walk_pages(struct chatd *h, const char *base, int limit, long long count,
		      char *got, size_t cap)
{
	char next[80] = "", path[256], page[NMAX * 70];
	size_t used = 0;
	int st, pages = 0;

	got[0] = '\0';
	do {
		json_t *j;

		snprintf(path, sizeof(path), "%s?limit=%d%s%s", base, limit,
			 next[0] ? "&cursor=" : "", next);
		j = get_json(h, path, &st);
		if (j == NULL || st != 200 || stats_num(j, "count") != count ||
		    json_array_size(json_object_get(j, "members")) > (size_t)limit) {
			json_decref(j);
			return -1;
		}
		body_ids(j, page, sizeof(page));
		used += (size_t)snprintf(got + used, cap - used, "%s%s", used ? "," : "", page);
		snprintf(next, sizeof(next), "%s", js(j, "next"));
		json_decref(j);
		pages++;
	} while (next[0] && pages < 10 && used < cap);
	return pages;
}

/* ---- single node ------------------------------------------------------------------- */

/* Joins and leaves show within the bound, one room apart from another and
 * from the global channel; each member has its since; no sub without auth. */
static void t_roster_local(void)
{
	struct wsc *c[4], *g, *o;
	char ids[4][64], gid[1][64], oid[1][64], seen[2048];
	struct chatd *h;
	json_t *j, *m;
	int st;

	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 2 })), "start");
	for (int i = 0; i < 4; i++)
		CHECK((c[i] = ws_join(h, WS "/r1", ids[i], 64)), "join r1");
	CHECK((o = ws_join(h, WS "/r2", oid[0], 64)), "join r2");
	CHECK((g = ws_join(h, WS, gid[0], 64)), "join global");
	CHECK(roster_is(h, API "/rooms/r1/members", ids, 4, seen, sizeof(seen)),
	      "r1 after 4 joins: %s", seen);
	CHECK(roster_is(h, API "/rooms/r2/members", oid, 1, seen, sizeof(seen)), "r2: %s", seen);
	CHECK(roster_is(h, API "/global/members", gid, 1, seen, sizeof(seen)), "global: %s", seen);
	CHECK(roster_is(h, API "/rooms/empty/members", ids, 0, seen, sizeof(seen)),
	      "an empty room: %s", seen);
	j = get_json(h, API "/rooms/r1/members", &st);
	CHECK(j && strcmp(js(j, "room"), "r1") == 0 && json_is_null(json_object_get(j, "next")),
	      "room/next fields: %s", body);
	m = json_array_get(json_object_get(j, "members"), 0);
	CHECK(strlen(js(m, "since")) == 24 && js(m, "since")[23] == 'Z' &&
	      json_object_get(m, "sub") == NULL, "member fields: %s", body);
	json_decref(j);
	j = get_json(h, API "/global/members", &st);
	CHECK(j && json_is_null(json_object_get(j, "room")), "global room null: %s", body);
	json_decref(j);
	wsc_free(c[1]);
	wsc_free(c[3]);
	memcpy(ids[1], ids[2], 64);
	CHECK(roster_is(h, API "/rooms/r1/members", ids, 2, seen, sizeof(seen)),
	      "r1 after 2 leaves: %s", seen);
	wsc_free(c[0]);
	wsc_free(c[2]);
	wsc_free(o);
	wsc_free(g);
}

/* Pages of ?limit= walk the room once, in client id order, with ?cursor=. */
static void t_roster_paging(void)
{
	struct wsc *c[7];
	char ids[7][64], want[7 * 70], got[7 * 70] = "", seen[1024];
	struct chatd *h;
	int pages;

	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 2 })), "start");
	for (int i = 0; i < 7; i++)
		CHECK((c[i] = ws_join(h, WS "/pg", ids[i], 64)), "join");
	CHECK(roster_is(h, API "/rooms/pg/members", ids, 7, seen, sizeof(seen)), "all: %s", seen);
	id_list(ids, 7, want, sizeof(want));
	pages = walk_pages(h, API "/rooms/pg/members", 3, 7, got, sizeof(got));
	CHECK(pages == 3 && strcmp(got, want) == 0, "%d pages [%s], want 3 [%s] (%s)", pages, got,
	      want, body);
	for (int i = 0; i < 7; i++)
		wsc_free(c[i]);
}

/* Bad room names, limits and cursors are 400; other paths 404. */
static void t_roster_bad(void)
{
	static const struct { const char *path; int st; } cases[] = {
		{ API "/rooms/bad%20room/members", 400 },
		{ API "/rooms/a%2Fb/members", 400 },
		{ API "/rooms/stats/members", 400 },
		{ API "/rooms/x/members?limit=0", 400 },
		{ API "/rooms/x/members?limit=1001", 400 },
		{ API "/rooms/x/members?limit=abc", 400 },
		{ API "/rooms/x/members?limit=-1", 400 },
		{ API "/rooms/x/members?cursor="
		  "0123456789012345678901234567890123456789012345678901234567890123456789", 400 },
		{ API "/rooms/x/members?limit=1000", 200 },
		{ API "/rooms/x/member", 404 },
		{ API "/global/members/x", 404 },
	};
	char room[200] = API "/rooms/";
	struct chatd *h;
	json_t *j;
	int st;

	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1 })), "start");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = get_json(h, cases[i].path, &st);
		CHECK(st == cases[i].st, "%s: %d, want %d (%s)", cases[i].path, st, cases[i].st, body);
		CHECK(st != 400 || strcmp(js(j, "error"), "bad_request") == 0, "%s: %s",
		      cases[i].path, body);
		json_decref(j);
	}
	memset(room + strlen(room), 'a', 129);      /* one byte over CHATD_ROOM_MAX */
	strcat(room, "/members");
	get_json(h, room, &st);
	CHECK(st == 400, "a 129-byte room: %d", st);
	CHECK(get_json(h, "/healthz", &st) == NULL && st == 200, "still serving");
}

/* {"type":"members"} on the socket: a members message with the same body,
 * paged with data.limit / data.cursor; bad ones get an error. */
static void t_roster_socket(void)
{
	struct wsc *c[3], *g;
	char ids[3][64], gid[64], seen[1024], want[3 * 70], got[3 * 70];
	struct chatd *h;
	json_t *j, *d;

	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 2 })), "start");
	for (int i = 0; i < 3; i++)
		CHECK((c[i] = ws_join(h, WS "/sock", ids[i], 64)), "join");
	CHECK((g = ws_join(h, WS, gid, sizeof(gid))), "join global");
	CHECK(roster_is(h, API "/rooms/sock/members", ids, 3, seen, sizeof(seen)), "%s", seen);
	CHECK(ws_sendf(c[0], "{\"type\":\"members\"}") == 0, "send");
	CHECK((j = ws_recv_type(c[0], "members", 5000)), "no members message");
	d = json_object_get(j, "data");
	id_list(ids, 3, want, sizeof(want));
	body_ids(d, got, sizeof(got));
	CHECK(strcmp(js(j, "room"), "sock") == 0 && stats_num(d, "count") == 3 &&
	      strcmp(got, want) == 0, "members message: %s", json_dumps(j, 0));
	json_decref(j);
	CHECK(ws_sendf(c[1], "{\"type\":\"members\",\"data\":{\"limit\":2}}") == 0, "send");
	CHECK((j = ws_recv_type(c[1], "members", 5000)), "no page");
	d = json_object_get(j, "data");
	CHECK(json_array_size(json_object_get(d, "members")) == 2 && js(d, "next")[0],
	      "limit 2: %s", json_dumps(j, 0));
	CHECK(ws_sendf(c[1], "{\"type\":\"members\",\"data\":{\"limit\":2,\"cursor\":\"%s\"}}",
		       js(d, "next")) == 0, "send");
	json_decref(j);
	CHECK((j = ws_recv_type(c[1], "members", 5000)), "no second page");
	d = json_object_get(j, "data");
	CHECK(json_array_size(json_object_get(d, "members")) == 1 &&
	      json_is_null(json_object_get(d, "next")), "second page: %s", json_dumps(j, 0));
	json_decref(j);
	CHECK(ws_sendf(g, "{\"type\":\"members\"}") == 0, "send");
	CHECK((j = ws_recv_type(g, "members", 5000)), "no global members");
	d = json_object_get(j, "data");
	body_ids(d, got, sizeof(got));
	CHECK(stats_num(d, "count") == 1 && strcmp(got, gid) == 0 &&
	      json_object_get(j, "room") == NULL, "global: %s", json_dumps(j, 0));
	json_decref(j);
	CHECK(ws_sendf(c[2], "{\"type\":\"members\",\"data\":{\"limit\":0}}") == 0, "send");
	CHECK((j = ws_recv_type(c[2], "error", 5000)), "bad limit: no error");
	CHECK(strcmp(js(json_object_get(j, "data"), "code"), "invalid_data") == 0, "code: %s",
	      json_dumps(j, 0));
	json_decref(j);
	for (int i = 0; i < 3; i++)
		wsc_free(c[i]);
	wsc_free(g);
}

/* A worker killed with SIGKILL: its members leave the roster (the master's
 * members table drops them), the others stay. */
static void t_roster_worker_kill(void)
{
	struct wsc *c[NMAX];
	char ids[NMAX][64], alive[NMAX][64], seen[4096];
	struct chatd *h;
	pid_t pids[2];
	int n = 0;

	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 2 })), "start");
	CHECK(stats_worker_pids(h, pids, 2) == 2, "2 workers");
	for (int i = 0; i < NMAX; i++)
		CHECK((c[i] = ws_join(h, WS "/k", ids[i], 64)), "join");
	CHECK(roster_is(h, API "/rooms/k/members", ids, NMAX, seen, sizeof(seen)), "%s", seen);
	CHECK(kill(pids[0], SIGKILL) == 0, "kill -9 a worker");
	for (int i = 0; i < NMAX; i++) {       /* who is still served answers a ping */
		json_t *j;

		if (ws_sendf(c[i], "{\"type\":\"ping\"}") == 0 &&
		    (j = ws_recv_type(c[i], "pong", 3000)) != NULL)
			memcpy(alive[n++], ids[i], 64);
		else
			j = NULL;
		json_decref(j);
	}
	CHECK(n > 0 && n < NMAX, "%d of %d clients on the surviving worker", n, NMAX);
	CHECK(roster_is(h, API "/rooms/k/members", alive, n, seen, sizeof(seen)),
	      "after kill -9 of a worker, want %d: %s", n, seen);
	for (int i = 0; i < NMAX; i++)
		wsc_free(c[i]);
}

/* ---- pods and Redis ---------------------------------------------------------------- */

/* Pods a (2 workers) and b (1) on r with roster_ttl 1s. */
static int two_pods(struct redis *r, struct chatd **a, struct chatd **b)
{
	*a = chatd_start(&(struct chatd_opts){ .workers = 2, .redis_port = r->port,
					       .conf = "pod_id a\nroster_ttl 1s\n" });
	*b = chatd_start(&(struct chatd_opts){ .workers = 1, .redis_port = r->port,
					       .conf = "pod_id b\nroster_ttl 1s\n" });
	return *a != NULL && *b != NULL;
}

/* Across pods: both see every member, joins and leaves within the bound,
 * paging over both; then pod b is killed without a word (SIGKILL, workers
 * first) and its members leave pod a's roster within roster_ttl. */
static void t_roster_pods(void)
{
	struct wsc *ca[3], *cb[3];
	char ids[6][64], want4[4][64], left[2][64], seen[2048], got[6 * 70], want[6 * 70];
	struct chatd *a, *b;
	struct redis *r;
	pid_t pids[1];
	json_t *j;
	int pages;

	CHECK((r = redis_start()), "redis");
	CHECK(two_pods(r, &a, &b), "pods");
	for (int i = 0; i < 3; i++) {              /* ids: a's 0..2, b's 3..5 */
		CHECK((ca[i] = ws_join(a, WS "/x", ids[i], 64)), "join a");
		CHECK((cb[i] = ws_join(b, WS "/x", ids[3 + i], 64)), "join b");
	}
	CHECK(roster_is(a, API "/rooms/x/members", ids, 6, seen, sizeof(seen)), "from a: %s", seen);
	CHECK(roster_is(b, API "/rooms/x/members", ids, 6, seen, sizeof(seen)), "from b: %s", seen);
	id_list(ids, 6, want, sizeof(want));
	pages = walk_pages(a, API "/rooms/x/members", 4, 6, got, sizeof(got));
	CHECK(pages == 2 && strcmp(got, want) == 0, "%d pages [%s] want [%s] (%s)", pages, got,
	      want, body);
	wsc_free(cb[2]);                            /* a leave on b, seen from a */
	wsc_free(ca[0]);                            /* and one on a, seen from b */
	memcpy(want4[0], ids[1], 64);
	memcpy(want4[1], ids[2], 64);
	memcpy(want4[2], ids[3], 64);
	memcpy(want4[3], ids[4], 64);
	CHECK(roster_is(a, API "/rooms/x/members", want4, 4, seen, sizeof(seen)),
	      "from a after leaves: %s", seen);
	CHECK(roster_is(b, API "/rooms/x/members", want4, 4, seen, sizeof(seen)),
	      "from b after leaves: %s", seen);
	CHECK(ws_sendf(ca[1], "{\"type\":\"members\"}") == 0, "send");
	j = ws_recv_type(ca[1], "members", 5000);
	CHECK(j && stats_num(json_object_get(j, "data"), "count") == 4, "socket through redis: %s",
	      j ? json_dumps(j, 0) : "none");
	json_decref(j);
	CHECK(stats_worker_pids(b, pids, 1) == 1, "b's worker");
	CHECK(kill(pids[0], SIGKILL) == 0 && kill(b->pid, SIGKILL) == 0, "kill -9 pod b");
	chatd_wait(b, 3000);
	memcpy(left[0], ids[1], 64);
	memcpy(left[1], ids[2], 64);
	CHECK(roster_is(a, API "/rooms/x/members", left, 2, seen, sizeof(seen)),
	      "from a after pod b died (roster_ttl 1s): %s", seen);
	wsc_free(ca[1]);
	wsc_free(ca[2]);
	wsc_free(cb[0]);
	wsc_free(cb[1]);
}

/* Redis down: the roster fails fast with 503 (HTTP) and an error message
 * (socket), no hang; back when Redis is. */
static void t_roster_redis_down(void)
{
	char id[1][64], seen[1024];
	struct chatd *h;
	struct redis *r;
	struct wsc *c;
	json_t *j;
	long long t0;
	int st, port;

	CHECK((r = redis_start()), "redis");
	port = r->port;
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1, .redis_port = port,
						     .conf = "roster_ttl 1s\n" })), "start");
	CHECK((c = ws_join(h, WS "/d", id[0], 64)), "join");
	CHECK(roster_is(h, API "/rooms/d/members", id, 1, seen, sizeof(seen)), "%s", seen);
	redis_stop(r);
	msleep(300);
	t0 = mono_ms();
	j = get_json(h, API "/rooms/d/members", &st);
	CHECK(st == 503 && strcmp(js(j, "error"), "unavailable") == 0 && mono_ms() - t0 < 4000,
	      "redis down: %d after %lld ms: %s", st, mono_ms() - t0, body);
	json_decref(j);
	CHECK(ws_sendf(c, "{\"type\":\"members\"}") == 0, "send");
	CHECK((j = ws_recv_type(c, "error", 5000)), "socket: no error");
	CHECK(strcmp(js(json_object_get(j, "data"), "code"), "unavailable") == 0, "code: %s",
	      json_dumps(j, 0));
	json_decref(j);
	CHECK((r = redis_start_port(port, NULL)), "redis again");
	CHECK(roster_is(h, API "/rooms/d/members", id, 1, seen, sizeof(seen)),
	      "after redis returned: %s", seen);
	wsc_free(c);
}

/* Redis that stops answering (SIGSTOP): a read fails with 503 within
 * redis_timeout (the link is dropped), no hang; back once Redis is. */
static void t_roster_redis_frozen(void)
{
	char id[1][64], seen[1024];
	struct chatd *h;
	struct redis *r;
	struct wsc *c;
	json_t *j;
	long long t0;
	int st;

	CHECK((r = redis_start()), "redis");
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1, .redis_port = r->port,
						     .conf = "redis_timeout 1s\n" })), "start");
	CHECK((c = ws_join(h, WS "/f", id[0], 64)), "join");
	CHECK(roster_is(h, API "/rooms/f/members", id, 1, seen, sizeof(seen)), "%s", seen);
	CHECK(kill(r->pid, SIGSTOP) == 0, "SIGSTOP redis");
	t0 = mono_ms();
	j = get_json(h, API "/rooms/f/members", &st);
	kill(r->pid, SIGCONT);
	CHECK(st == 503 && strcmp(js(j, "error"), "unavailable") == 0 && mono_ms() - t0 < 4500,
	      "frozen redis: %d after %lld ms: %s", st, mono_ms() - t0, body);
	json_decref(j);
	CHECK(roster_is(h, API "/rooms/f/members", id, 1, seen, sizeof(seen)),
	      "after redis thawed: %s", seen);
	wsc_free(c);
}

/* The next members answer or error on c within timeout_ms; NULL: none. */
static json_t *members_or_error(struct wsc *c, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	json_t *j;

	while (mono_ms() < end && (j = ws_recv_json(c, (int)(end - mono_ms()))) != NULL) {
		if (strcmp(js(j, "type"), "members") == 0 || strcmp(js(j, "type"), "error") == 0)
			return j;
		json_decref(j);
	}
	return NULL;
}

/* A worker killed while its members request waits on Redis: the worker
 * that takes its slot asks about another room, and must get that room (or
 * an error), never the dead one's answer (review finding 1). */
static void t_roster_crash_answer(void)
{
	struct wsc *c[3], *e;
	char ids[3][64], id[64];
	struct chatd *h;
	struct redis *r;
	pid_t old, now = 0;
	json_t *j;
	long long end;

	CHECK((r = redis_start()), "redis");
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1, .redis_port = r->port,
						     .conf = "redis_timeout 30s\n" })), "start");
	for (int i = 0; i < 3; i++)
		CHECK((c[i] = ws_join(h, WS "/secretroom", ids[i], 64)), "join");
	msleep(500);     /* no roster_is: the question below is the worker's first */
	CHECK(stats_worker_pids(h, &old, 1) == 1, "worker");
	CHECK(kill(r->pid, SIGSTOP) == 0, "SIGSTOP redis");
	CHECK(ws_sendf(c[0], "{\"type\":\"members\"}") == 0, "send");
	msleep(500);                                /* the master has asked Redis */
	CHECK(kill(old, SIGKILL) == 0, "kill -9 the worker");
	end = mono_ms() + 10000;
	while (mono_ms() < end && (stats_worker_pids(h, &now, 1) != 1 || now == old))
		msleep(100);
	CHECK(now != old && now > 0, "no new worker");
	CHECK((e = ws_join(h, WS "/emptyroom", id, sizeof(id))), "join the new worker");
	CHECK(ws_sendf(e, "{\"type\":\"members\"}") == 0, "send");
	msleep(500);
	kill(r->pid, SIGCONT);
	j = members_or_error(e, 15000);
	CHECK(j, "no answer after SIGCONT");
	CHECK(strcmp(js(j, "type"), "error") == 0 ||
	      strcmp(js(json_object_get(j, "data"), "room"), "emptyroom") == 0,
	      "emptyroom's request got: %s", json_dumps(j, 0));
	json_decref(j);
	for (int i = 0; i < 3; i++)
		wsc_free(c[i]);
	wsc_free(e);
}

/* ---- Redis's keys (review findings 3, 4, 10) ---------------------------------------- */

/* An integer reply of redis on port to cmd key, or -1. */
static long long redis_int(int port, const char *cmd, const char *key)
{
	const char *argv[2] = { cmd, key };
	char reply[256];

	if (redis_cmd(port, 2, argv, reply, sizeof(reply)) < 0 || reply[0] != ':')
		return -1;
	return atoll(reply + 1);
}

/* The calls of command name (lowercase) so far, from INFO commandstats. */
static long long calls_of(int port, const char *name)
{
	static char info[1 << 16];
	const char *argv[2] = { "INFO", "commandstats" };
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "cmdstat_%s:calls=", name);
	if (redis_cmd(port, 2, argv, info, sizeof(info)) < 0 || (p = strstr(info, pat)) == NULL)
		return 0;
	return atoll(p + strlen(pat));
}

/* The first instance of room's :p hash into inst (its only one when HLEN
 * is 1). */
static void first_inst(int port, const char *room, char *inst, size_t cap)
{
	char key[128];
	const char *argv[2] = { "HGETALL", key };

	snprintf(key, sizeof(key), "chatd:roster:{%s}:p", room);
	if (redis_cmd(port, 2, argv, inst, cap) < 0)
		inst[0] = '\0';
}

/* Wait (timeout_ms) until room's keys hold exactly n members under one
 * instance other than not_inst (NULL: any); 1 when they do, else 0 with
 * what was seen in seen. */
static int keys_hold(int port, const char *room, long long n, const char *not_inst,
		     int timeout_ms, char *seen, size_t cap)
{
	char km[128], ks[128], kp[128], inst[256];
	long long end = mono_ms() + timeout_ms, m, sn, pn;

	snprintf(km, sizeof(km), "chatd:roster:{%s}:m", room);
	snprintf(ks, sizeof(ks), "chatd:roster:{%s}:s", room);
	snprintf(kp, sizeof(kp), "chatd:roster:{%s}:p", room);
	do {
		m = redis_int(port, "ZCARD", km);
		sn = redis_int(port, "HLEN", ks);
		pn = redis_int(port, "HLEN", kp);
		first_inst(port, room, inst, sizeof(inst));
		snprintf(seen, cap, "ZCARD %lld, :s %lld, :p %lld (%s)", m, sn, pn, inst);
		if (m == n && sn == n && pn == (n > 0) &&
		    (n == 0 || not_inst == NULL || strcmp(inst, not_inst) != 0))
			return 1;
		msleep(100);
	} while (mono_ms() < end);
	return 0;
}

/* Drop every plain Redis connection (the roster's and the publisher's). */
static void kill_links(int port)
{
	const char *argv[4] = { "CLIENT", "KILL", "TYPE", "normal" };
	char reply[64];

	redis_cmd(port, 4, argv, reply, sizeof(reply));
}

/* The roster's link cut three times: each new instance purges the last
 * one's entries, so the room's keys hold only the live instance's, without
 * anyone reading the room (finding 3). */
static void t_roster_relink(void)
{
	struct wsc *c[20];
	char id[64], inst0[256], seen[512];
	struct chatd *h;
	struct redis *r;

	CHECK((r = redis_start()), "redis");
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1, .redis_port = r->port })),
	      "start");
	for (int i = 0; i < 20; i++)
		CHECK((c[i] = ws_join(h, WS "/r1", id, sizeof(id))), "join");
	CHECK(keys_hold(r->port, "r1", 20, NULL, 5000, seen, sizeof(seen)), "%s", seen);
	first_inst(r->port, "r1", inst0, sizeof(inst0));
	for (int k = 0; k < 3; k++) {
		kill_links(r->port);
		msleep(2500);                       /* back within ~2 s */
	}
	CHECK(keys_hold(r->port, "r1", 20, inst0, 8000, seen, sizeof(seen)),
	      "after 3 reconnections: %s", seen);
	for (int i = 0; i < 20; i++)
		wsc_free(c[i]);
}

/* A pod killed without a word (master first: it cannot clean up): the
 * live pod's sweep purges its entries within a bound, though nobody reads
 * the room (finding 3). */
static void t_roster_sweep(void)
{
	struct wsc *c[5];
	char id[64], seen[512];
	struct chatd *a, *b;
	struct redis *r;
	pid_t pids[2];
	int nw;

	CHECK((r = redis_start()), "redis");
	CHECK(two_pods(r, &a, &b), "pods");
	for (int i = 0; i < 5; i++)
		CHECK((c[i] = ws_join(a, WS "/r2", id, sizeof(id))), "join a");
	CHECK(keys_hold(r->port, "r2", 5, NULL, 5000, seen, sizeof(seen)), "%s", seen);
	CHECK((nw = stats_worker_pids(a, pids, 2)) > 0, "a's workers");
	CHECK(kill(a->pid, SIGKILL) == 0, "kill -9 pod a's master");
	for (int i = 0; i < nw; i++)
		kill(pids[i], SIGKILL);
	chatd_wait(a, 3000);
	CHECK(keys_hold(r->port, "r2", 0, NULL, 10000, seen, sizeof(seen)),
	      "pod a's entries after it died (roster_ttl 1s): %s", seen);
	for (int i = 0; i < 5; i++)
		wsc_free(c[i]);
}

/* The heartbeat lapses while the link holds (simulated: its key deleted)
 * and a read drops the pod's members: they come back within a bound
 * (finding 4). */
static void t_roster_lapse(void)
{
	const char *keys[2] = { "KEYS", "chatd:roster:pod:*" };
	char ids[3][64], hb[256], seen[1024];
	struct wsc *c[3];
	struct chatd *h;
	struct redis *r;
	int st;

	CHECK((r = redis_start()), "redis");
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1, .redis_port = r->port,
						     .conf = "roster_ttl 3s\n" })), "start");
	for (int i = 0; i < 3; i++)
		CHECK((c[i] = ws_join(h, WS "/l", ids[i], 64)), "join");
	CHECK(roster_is(h, API "/rooms/l/members", ids, 3, seen, sizeof(seen)), "%s", seen);
	CHECK(redis_cmd(r->port, 2, keys, hb, sizeof(hb)) == 0 && strncmp(hb, "chatd:", 6) == 0,
	      "heartbeat key: %s", hb);
	CHECK(redis_int(r->port, "DEL", hb) == 1, "DEL %s", hb);
	json_decref(get_json(h, API "/rooms/l/members", &st));    /* drops them */
	CHECK(roster_is(h, API "/rooms/l/members", ids, 3, seen, sizeof(seen)),
	      "after the heartbeat lapsed: %s", seen);
	for (int i = 0; i < 3; i++)
		wsc_free(c[i]);
}

/* A few thousand members written again after a reconnection in a few
 * paced calls per room (EVALSHA), not one EVAL each (finding 10). */
static void t_roster_resync_many(void)
{
	enum { N = 2000 };
	static struct wsc *c[N];
	char id[64], inst0[256], seen[512];
	long long eval0, sha0, eval1, sha1;
	struct chatd *h;
	struct redis *r;
	json_t *j;
	int st;

	CHECK((r = redis_start()), "redis");
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 2, .redis_port = r->port })),
	      "start");
	for (int i = 0; i < N; i++)
		CHECK((c[i] = ws_join(h, WS "/many", id, sizeof(id))), "join %d", i);
	CHECK(keys_hold(r->port, "many", N, NULL, 10000, seen, sizeof(seen)), "%s", seen);
	first_inst(r->port, "many", inst0, sizeof(inst0));
	eval0 = calls_of(r->port, "eval");
	sha0 = calls_of(r->port, "evalsha");
	kill_links(r->port);
	CHECK(keys_hold(r->port, "many", N, inst0, 10000, seen, sizeof(seen)),
	      "after the reconnection: %s", seen);
	eval1 = calls_of(r->port, "eval") - eval0;
	sha1 = calls_of(r->port, "evalsha") - sha0;
	CHECK(eval1 < 50 && sha1 >= N / 256 && sha1 < 50,
	      "resync of %d members: %lld EVAL, %lld EVALSHA", N, eval1, sha1);
	j = get_json(h, API "/rooms/many/members?limit=10", &st);
	CHECK(st == 200 && stats_num(j, "count") == N, "%d %.300s", st, body);
	json_decref(j);
	ws_free_all(c, N);
}

/* SCRIPT FLUSH on Redis at port, again and again, for ms: the child's pid. */
static pid_t flusher(int port, int ms)
{
	const char *argv[2] = { "SCRIPT", "FLUSH" };
	char reply[64];
	pid_t pid = fork();

	if (pid == 0) {
		for (long long end = mono_ms() + ms; mono_ms() < end;)
			redis_cmd(port, 2, argv, reply, sizeof(reply));
		_exit(0);
	}
	return pid;
}

/* The resync after a reconnection while scripts are flushed (its EVALSHAs
 * answered NOSCRIPT): every member is written all the same, as EVAL. */
static void t_roster_resync_noscript(void)
{
	enum { N = 1500 };
	static struct wsc *c[N];
	char id[64], inst[256], seen[512];
	struct chatd *h;
	struct redis *r;
	json_t *j;
	pid_t fl;
	int st;

	CHECK((r = redis_start()), "redis");
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 2, .redis_port = r->port })),
	      "start");
	for (int i = 0; i < N; i++)
		CHECK((c[i] = ws_join(h, WS "/ns", id, sizeof(id))), "join %d", i);
	CHECK(keys_hold(r->port, "ns", N, NULL, 10000, seen, sizeof(seen)), "%s", seen);
	for (int round = 0; round < 3; round++) {
		first_inst(r->port, "ns", inst, sizeof(inst));
		kill_links(r->port);
		CHECK((fl = flusher(r->port, 3000)) > 0, "fork");
		st = keys_hold(r->port, "ns", N, inst, 10000, seen, sizeof(seen));
		kill(fl, SIGKILL);
		waitpid(fl, NULL, 0);
		CHECK(st, "round %d, after the reconnection, scripts flushed: %s", round, seen);
	}
	j = harness_stats(h);
	CHECK(stats_num(j, "roster_unwritten") == 0, "roster_unwritten %lld",
	      stats_num(j, "roster_unwritten"));
	json_decref(j);
	ws_free_all(c, N);
}

/* Without Redis, members requests spend a budget of the master's work (the
 * room's members collected and sorted per request): a burst over a big
 * room is partly refused 503 "busy", counted, and served again once the
 * budget refills (finding 9). */
static void t_roster_budget(void)
{
	enum { N = 2500, ASKERS = 20, ASKS = 48, WINDOW = 3 };   /* under rate_burst */
	static struct wsc *c[N];
	char id[64];
	int ok = 0, busy = 0, other = 0, st;
	struct chatd *h;
	json_t *j;

	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1,
						     .conf = "max_connections_per_ip 4000\n" })),
	      "start");
	for (int i = 0; i < N; i++)
		CHECK((c[i] = ws_join(h, WS "/busy", id, sizeof(id))), "join %d", i);
	for (int round = 0; round < ASKS / WINDOW; round++) {   /* under 64 waiting */
		for (int k = 0; k < ASKERS; k++)
			for (int i = 0; i < WINDOW; i++)
				CHECK(ws_sendf(c[k], "{\"type\":\"members\","
					       "\"data\":{\"limit\":1}}") == 0, "send");
		for (int k = 0; k < ASKERS; k++)
			for (int i = 0; i < WINDOW && (j = members_or_error(c[k], 10000)); i++) {
				const char *code = js(json_object_get(j, "data"), "code");

				if (strcmp(js(j, "type"), "members") == 0)
					ok++;
				else if (strcmp(code, "unavailable") == 0)
					busy++;
				else
					other++;
				json_decref(j);
			}
	}
	/* 960 requests of 2,500 members: 2.4 M against 500,000 a second */
	CHECK(ok > 0 && busy > 0 && ok + busy + other == ASKERS * ASKS, "%d answered, %d busy, %d other", ok, busy, other);
	j = harness_stats(h);
	CHECK(stats_num(j, "roster_busy") == busy, "roster_busy %lld, want %d",
	      stats_num(j, "roster_busy"), busy);
	json_decref(j);
	msleep(2500);                           /* the budget refills */
	j = get_json(h, API "/rooms/busy/members?limit=1", &st);
	CHECK(st == 200 && stats_num(j, "count") == N, "after a pause: %d %.200s", st, body);
	json_decref(j);
	ws_free_all(c, N);
}

/* A GET of path sent on a new connection to port, left unread; -1 on error. */
static int get_unread(int port, const char *path)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	char req[256];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);

	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dst.sin_port = htons((uint16_t)port);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 ||
	    write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return fd;
}

/* All 64 waits of a worker taken (the master stopped): one more request
 * is refused 503 "unavailable" (as README and the master say; it was
 * "busy") and counted in roster_refused. */
static void t_roster_waits_full(void)
{
	enum { WAITS = 64 };
	int fd[WAITS], st;
	struct chatd *h;
	json_t *j;

	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1,
						     .conf = "max_http_pending_per_ip 0\n" })),
	      "start");
	CHECK(kill(h->pid, SIGSTOP) == 0, "SIGSTOP the master");
	for (int i = 0; i < WAITS; i++)
		fd[i] = get_unread(h->port, API "/rooms/w/members");
	msleep(500);                            /* the worker takes them all */
	j = get_json(h, API "/rooms/w/members", &st);
	kill(h->pid, SIGCONT);
	for (int i = 0; i < WAITS; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	CHECK(st == 503 && strcmp(js(j, "error"), "unavailable") == 0,
	      "the 65th: %d %.200s", st, body);
	json_decref(j);
	j = harness_stats(h);
	CHECK(j != NULL && stats_num(j, "roster_refused") == 1, "roster_refused %lld",
	      j ? stats_num(j, "roster_refused") : -1);
	json_decref(j);
}

/* Connect and leave /churn on port until until_ms (mono_ms), then exit: a
 * stream of member events, well under 5 ms apart with a few of these. */
static void churn(int port, long long until_ms)
{
	while (mono_ms() < until_ms) {
		struct wsc *c = wsc_connect(HOST, port, WS "/churn", NULL, 3000, NULL);

		wsc_free(c);
	}
	_exit(0);
}

/* A join held back by a full uplink reaches the master while other joins
 * and leaves keep coming: the retry timer was re-armed (moved) by every
 * queued event, so a steady stream kept it from ever firing (review item:
 * REC_JOIN held, roster stale for as long as the stream lasted). */
static void t_roster_pending_stream(void)
{
	enum { CHURNERS = 4, STREAM_MS = 6000, SEEN_MS = 4000 };
	static const char conf[] = "uplink_size 64k\nmax_message_size 4096\nrate_limit 1000\n"
				   "rate_burst 1000\nmax_connections_per_ip 0\n"
				   "max_http_pending_per_ip 0\n";
	char fill[3001], id[1][64], seen[1024];
	pid_t kids[CHURNERS];
	struct wsc *a, *x = NULL;
	struct chatd *h;
	long long t0;
	json_t *j;
	int ok = 0, st;

	memset(fill, 'f', sizeof(fill) - 1);
	fill[sizeof(fill) - 1] = '\0';
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1, .conf = conf })), "start");
	CHECK((a = ws_join(h, WS "/fill", NULL, 0)), "join");
	CHECK(kill(h->pid, SIGSTOP) == 0, "SIGSTOP the master");
	for (int i = 0; i < 60; i++)            /* 180 KB into a 64 KB uplink */
		ws_sendf(a, "{\"type\":\"chat\",\"data\":{\"m\":\"%s\"}}", fill);
	st = 0;                                 /* a message waits: the uplink is full */
	for (long long end = mono_ms() + 5000; st < 1 && mono_ms() < end; msleep(50)) {
		j = harness_stats(h);
		st = j ? (int)stats_num(j, "uplink_held") : 0;
		json_decref(j);
	}
	if (st < 1)
		kill(h->pid, SIGCONT);
	CHECK(st >= 1, "the uplink is full (uplink_held %d)", st);
	x = ws_join(h, WS "/x", id[0], sizeof(id[0]));   /* its join waits in the worker */
	t0 = mono_ms();
	for (int k = 0; k < CHURNERS; k++)
		if ((kids[k] = fork()) == 0)
			churn(h->port, t0 + STREAM_MS);
	msleep(300);
	kill(h->pid, SIGCONT);
	CHECK(x != NULL, "join x");
	for (long long end = mono_ms() + SEEN_MS; !ok && mono_ms() < end; msleep(50)) {
		j = get_json(h, API "/rooms/x/members", &st);
		body_ids(j, seen, sizeof(seen));
		ok = st == 200 && strcmp(seen, id[0]) == 0;
		json_decref(j);
	}
	j = harness_stats(h);
	st = j ? (int)stats_num(j, "connections_total") : -1;
	json_decref(j);
	for (int k = 0; k < CHURNERS; k++)
		if (kids[k] > 0) {
			kill(kids[k], SIGKILL);
			waitpid(kids[k], NULL, 0);
		}
	CHECK(st > 20, "a stream of joins: %d connections", st);
	CHECK(ok, "x listed while the stream of joins went on (%lld ms): [%s]",
	      mono_ms() - t0, seen);
	wsc_free(x);
	wsc_free(a);
}

/* HS256 over "roster-secret-7c2e": {"sub":"alice"}, {"sub":"bob","rooms":["other"]} */
static const char alice[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9."
			    "acuj2b_M8IsIci2QcDEycj9IpuAlLhxiVlTrAUHfo4c";
static const char bob[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJyb29t"
			  "cyI6WyJvdGhlciJdfQ.OTwHHIzlniVJrlQLCl2N0mmsIguW5eUWVleibZrCxTw";
#define AUTH_CONF "auth_enabled on\nauth_secret roster-secret-7c2e\n"

/* GET path on h as alice until count is want (SETTLE_MS at most); 1 when
 * it is, with the body in body. */
static int alice_count_is(struct chatd *h, const char *path, long long want)
{
	char hdr[512];
	long long end = mono_ms() + SETTLE_MS;
	int st = 0;

	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", alice);
	do {
		json_t *j;
		int ok;

		wsc_http_request(HOST, h->port, "GET", path, hdr, NULL, 5000, &st, body,
				 sizeof(body));
		j = json_loads(body, 0, NULL);
		ok = st == 200 && stats_num(j, "count") == want &&
		     json_array_size(json_object_get(j, "members")) == (size_t)(want > 0);
		json_decref(j);
		if (ok)
			return 1;
		msleep(50);
	} while (mono_ms() < end);
	return 0;
}

/* One client id through two pods (alice's token on a and on b) counts
 * once, as it is listed once; still once when b dies without a word
 * (its entries are purged by the read), and 0 when alice leaves a. */
static void t_roster_pods_same_id(void)
{
	char path[512], id[64];
	struct wsc *ca[2], *cb;
	struct chatd *a, *b;
	struct redis *r;
	pid_t pids[1];

	CHECK((r = redis_start()), "redis");
	a = chatd_start(&(struct chatd_opts){ .workers = 2, .redis_port = r->port,
					      .conf = "pod_id a\nroster_ttl 1s\n" AUTH_CONF });
	b = chatd_start(&(struct chatd_opts){ .workers = 1, .redis_port = r->port,
					      .conf = "pod_id b\nroster_ttl 1s\n" AUTH_CONF });
	CHECK(a && b, "pods");
	snprintf(path, sizeof(path), WS "/dup?token=%s", alice);
	for (int i = 0; i < 2; i++)
		CHECK((ca[i] = ws_join(a, path, id, sizeof(id))), "alice on a");
	CHECK((cb = ws_join(b, path, id, sizeof(id))), "alice on b");
	CHECK(alice_count_is(a, API "/rooms/dup/members", 1), "alice on a and b, from a: %s",
	      body);
	CHECK(alice_count_is(b, API "/rooms/dup/members", 1), "alice on a and b, from b: %s",
	      body);
	wsc_free(cb);
	CHECK(alice_count_is(b, API "/rooms/dup/members", 1), "alice left b: %s", body);
	CHECK((cb = ws_join(b, path, id, sizeof(id))), "alice on b again");
	msleep(300);
	CHECK(stats_worker_pids(b, pids, 1) == 1, "b's worker");
	CHECK(kill(pids[0], SIGKILL) == 0 && kill(b->pid, SIGKILL) == 0, "kill -9 pod b");
	chatd_wait(b, 3000);
	msleep(1500);                               /* past roster_ttl */
	CHECK(alice_count_is(a, API "/rooms/dup/members", 1), "pod b died: %s", body);
	wsc_free(ca[0]);
	wsc_free(ca[1]);
	CHECK(alice_count_is(a, API "/rooms/dup/members", 0), "alice left a: %s", body);
	wsc_free(cb);
}

/* With authentication on: the endpoint takes the upgrade's token rules,
 * each member carries its sub, and a sub connected twice is listed once. */
static void t_roster_auth(void)
{
	char path[512], hdr[512], id[64];
	struct wsc *c[2];
	struct chatd *h;
	json_t *j, *m;
	int st = 0;

	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 2, .conf = AUTH_CONF })), "start");
	snprintf(path, sizeof(path), WS "/a?token=%s", alice);
	for (int i = 0; i < 2; i++) {
		CHECK((c[i] = ws_join(h, path, id, sizeof(id))), "join as alice");
		CHECK(strcmp(id, "alice") == 0, "client id %s", id);
	}
	json_decref(get_json(h, API "/rooms/a/members", &st));
	CHECK(st == 401, "no token: %d %s", st, body);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", bob);
	wsc_http_request(HOST, h->port, "GET", API "/rooms/a/members", hdr, NULL, 5000, &st, body,
			 sizeof(body));
	CHECK(st == 403, "bob, not allowed in a: %d %s", st, body);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", alice);
	long long end = mono_ms() + SETTLE_MS;
	do {
		wsc_http_request(HOST, h->port, "GET", API "/rooms/a/members", hdr, NULL, 5000, &st,
				 body, sizeof(body));
		j = json_loads(body, 0, NULL);
		if (st == 200 && stats_num(j, "count") == 1)
			break;
		json_decref(j);
		j = NULL;
		msleep(50);
	} while (mono_ms() < end);
	CHECK(j, "alice twice, listed once: %d %s", st, body);
	m = json_array_get(json_object_get(j, "members"), 0);
	CHECK(strcmp(js(m, "client_id"), "alice") == 0 && strcmp(js(m, "sub"), "alice") == 0,
	      "member: %s", body);
	json_decref(j);
	CHECK(ws_sendf(c[0], "{\"type\":\"members\"}") == 0, "send");
	CHECK((j = ws_recv_type(c[0], "members", 5000)), "no members message");
	m = json_array_get(json_object_get(json_object_get(j, "data"), "members"), 0);
	CHECK(strcmp(js(m, "sub"), "alice") == 0, "socket: %s", json_dumps(j, 0));
	json_decref(j);
	wsc_free(c[0]);
	wsc_free(c[1]);
}

const struct itest_case t_roster_cases[] = {
	{ "roster_local", t_roster_local, 0 },
	{ "roster_paging", t_roster_paging, 0 },
	{ "roster_bad", t_roster_bad, 0 },
	{ "roster_socket", t_roster_socket, 0 },
	{ "roster_worker_kill", t_roster_worker_kill, 0 },
	{ "roster_pods", t_roster_pods, 0 },
	{ "roster_pods_same_id", t_roster_pods_same_id, 0 },
	{ "roster_redis_down", t_roster_redis_down, 0 },
	{ "roster_redis_frozen", t_roster_redis_frozen, 0 },
	{ "roster_auth", t_roster_auth, 0 },
	{ "roster_crash_answer", t_roster_crash_answer, 0 },
	{ "roster_relink", t_roster_relink, 0 },
	{ "roster_sweep", t_roster_sweep, 0 },
	{ "roster_lapse", t_roster_lapse, 0 },
	{ "roster_resync_many", t_roster_resync_many, 0 },
	{ "roster_resync_noscript", t_roster_resync_noscript, 0 },
	{ "roster_budget", t_roster_budget, 0 },
	{ "roster_waits_full", t_roster_waits_full, 0 },
	{ "roster_pending_stream", t_roster_pending_stream, 0 },
	{ NULL, NULL, 0 },
};
