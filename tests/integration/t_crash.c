/* SPDX-License-Identifier: MIT */
/*
 * t_crash.c - a worker killed (kill -9) leaves no ghosts: the master
 * announces each of its room members offline, once, to the observers on the
 * pod's other worker and on another pod (one real redis-server), within a
 * bound; rooms above presence_max_members on that worker stay silent, as
 * they do when members leave one by one.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define MAX_PER_ROOM 4          /* presence_max_members of the test's pods */
#define WANT_SMALL   3          /* the doomed worker's members of room "small" */
#define WANT_BIG     (MAX_PER_ROOM + 1)  /* ... of room "big": above the max */
#define NCLIENTS     64
#define NOBS         4          /* observers: small, big on pod B; small, big on pod A */

/* Connections of the worker with pid in stats, -1 when not found. */
static long long worker_conns(struct chatd *h, pid_t pid, long long *total)
{
	json_t *j = harness_stats(h), *w;
	long long v = -1;
	size_t i;

	*total = stats_num(j, "connections");
	json_array_foreach(json_object_get(j, "workers"), i, w)
		if ((pid_t)stats_num(w, "pid") == pid)
			v = stats_num(w, "connections");
	json_decref(j);
	return v;
}

/* Wait (3 s) until pod h holds `total` connections; x's share, or -1. */
static long long settle(struct chatd *h, pid_t x, long long total)
{
	long long end = mono_ms() + 3000, t, v;

	while ((v = worker_conns(h, x, &t)) >= 0 && t != total && mono_ms() < end)
		msleep(20);
	return t == total ? v : -1;
}

/* Join path on h, which holds *held connections, reading the welcome (id
 * into id); *on_x = 1 when it landed on the worker with pid x.  NULL on
 * failure. */
static struct wsc *join_where(struct chatd *h, const char *path, pid_t x, long long *held,
			      char *id, int *on_x)
{
	long long x0 = settle(h, x, *held), x1;
	struct wsc *c = x0 < 0 ? NULL : ws_join(h, path, id, 64);

	if (c == NULL)
		return NULL;
	if ((x1 = settle(h, x, *held + 1)) < 0) {
		wsc_free(c);
		return NULL;
	}
	*on_x = x1 == x0 + 1;
	++*held;
	return c;
}

struct watch {
	char victims[NCLIENTS][64];     /* ids on the killed worker */
	int vroom[NCLIENTS];            /* 0 small, 1 big */
	int nv;
	int obs_room[NOBS];
	int got[NOBS][NCLIENTS];        /* offline frames per observer per victim */
	int stray;                      /* offline for somebody not killed */
	char stray_from[64];
};

static void watch_msg(int i, const struct wsc_msg *m, void *arg)
{
	struct watch *w = arg;
	json_t *j;
	int hit = 0;

	if (m == NULL || m->opcode != WSC_OP_TEXT ||
	    (j = json_loadb(m->data, m->len, 0, NULL)) == NULL)
		return;
	if (strcmp(js(j, "type"), "presence") == 0 &&
	    strcmp(js(json_object_get(j, "data"), "status"), "offline") == 0) {
		for (int v = 0; v < w->nv; v++)
			if (strcmp(js(j, "from"), w->victims[v]) == 0) {
				w->got[i][v]++;
				hit = 1;
			}
		if (!hit && !w->stray++)
			snprintf(w->stray_from, sizeof(w->stray_from), "%s", js(j, "from"));
	}
	json_decref(j);
}

/* Every observer has one offline per announced victim of its room. */
static int watch_done(void *arg)
{
	struct watch *w = arg;

	for (int o = 0; o < NOBS; o++)
		for (int v = 0; v < w->nv; v++)
			if (w->vroom[v] == w->obs_room[o] && w->vroom[v] == 0 && w->got[o][v] == 0)
				return 0;
	return 1;
}

static void ignore(int i, const struct wsc_msg *m, void *arg)
{
	(void)i; (void)m; (void)arg;
}

/* Both links of h to Redis up (within 5 s)? */
static int wait_redis_up(struct chatd *h)
{
	long long end = mono_ms() + 5000;

	do {
		json_t *j = harness_stats(h);
		int up = strcmp(js(json_object_get(j, "redis"), "state"), "up") == 0;

		json_decref(j);
		if (up)
			return 1;
		msleep(50);
	} while (mono_ms() < end);
	return 0;
}

static void t_crash_offline(void)
{
	static struct watch w;
	static const char *const rooms[2] = { WS "/small", WS "/big" };
	char conf[256], id[64];
	struct wsc *c[NCLIENTS] = { 0 }, *obs[NOBS];
	struct chatd *a, *b;
	struct redis *r;
	int want[2] = { WANT_SMALL, WANT_BIG }, have[2] = { 0, 0 }, yobs[2] = { 0, 0 };
	int n = 0, on_x;
	long long held = 0;
	pid_t pids[2];

	memset(&w, 0, sizeof(w));
	CHECK((r = redis_start()), "redis");
	snprintf(conf, sizeof(conf), "pod_id a\npresence_max_members %d\n", MAX_PER_ROOM);
	CHECK((a = chatd_start(&(struct chatd_opts){ .workers = 2, .redis_port = r->port,
						     .conf = conf })), "pod a");
	snprintf(conf, sizeof(conf), "pod_id b\npresence_max_members %d\n", MAX_PER_ROOM);
	CHECK((b = chatd_start(&(struct chatd_opts){ .workers = 1, .redis_port = r->port,
						     .conf = conf })), "pod b");
	CHECK(stats_worker_pids(a, pids, 2) == 2, "pod a: 2 workers");
	for (int k = 0; k < 2; k++) {          /* pod B's observers */
		CHECK((obs[k] = ws_join(b, rooms[k], NULL, 0)), "observer on b");
		w.obs_room[k] = k;
	}
	/* pod A: WANT_* members per room on worker x (pids[0]), one observer per
	 * room on the other; a connection that lands elsewhere than needed goes */
	for (int tries = 0; (have[0] < want[0] || have[1] < want[1] || !yobs[0] || !yobs[1]) &&
	     n < NCLIENTS && tries < 200; tries++) {
		int k = have[0] < want[0] || !yobs[0] ? 0 : 1;
		struct wsc *cc = join_where(a, rooms[k], pids[0], &held, id, &on_x);

		CHECK(cc, "join %s on pod a", rooms[k]);
		if (on_x && have[k] < want[k]) {
			snprintf(w.victims[w.nv], sizeof(w.victims[0]), "%s", id);
			w.vroom[w.nv++] = k;
			have[k]++;
		} else if (!on_x && !yobs[k]) {
			obs[2 + k] = cc;
			w.obs_room[2 + k] = k;
			yobs[k] = 1;
			continue;
		} else if (!on_x || have[k] >= want[k]) {
			wsc_free(cc);
			held--;
			continue;
		}
		c[n++] = cc;
	}
	CHECK(have[0] == want[0] && have[1] == want[1] && yobs[0] && yobs[1],
	      "could not place the clients (%d/%d small, %d/%d big on worker x)", have[0],
	      want[0], have[1], want[1]);
	CHECK(wait_redis_up(a) && wait_redis_up(b), "pods not up with redis");
	ws_pump(obs, NOBS, 1000, ignore, ws_pump_never, NULL);   /* the online frames */
	memset(w.got, 0, sizeof(w.got));
	w.stray = 0;

	CHECK(kill(pids[0], SIGKILL) == 0, "kill -9 worker x");
	long long t0 = mono_ms();
	int done = ws_pump(obs, NOBS, 3000, watch_msg, watch_done, &w) == 0;
	long long took = mono_ms() - t0;
	ws_pump(obs, NOBS, 1000, watch_msg, ws_pump_never, &w);   /* duplicates, late ones */
	for (int o = 0; o < NOBS; o++)
		for (int v = 0; v < w.nv; v++) {
			int exp = w.vroom[v] == w.obs_room[o] && w.vroom[v] == 0;

			CHECK(w.got[o][v] == exp, "observer %d (%s, pod %s) got %d offline for "
			      "victim %d (%s), want %d (done %d after %lld ms)", o,
			      rooms[w.obs_room[o]], o < 2 ? "b" : "a", w.got[o][v], v,
			      rooms[w.vroom[v]], exp, done, took);
		}
	CHECK(w.stray == 0, "%d offline for clients still there (first %s)", w.stray,
	      w.stray_from);
	json_t *j = harness_stats(a);
	CHECK(stats_num(j, "ghosts_offline") == WANT_SMALL, "ghosts_offline %lld",
	      stats_num(j, "ghosts_offline"));
	json_decref(j);
	ws_free_all(c, NCLIENTS);
	ws_free_all(obs, NOBS);
}

const struct itest_case t_crash_cases[] = {
	{ "crash_offline", t_crash_offline, 0 },
	{ NULL, NULL, 0 },
};
