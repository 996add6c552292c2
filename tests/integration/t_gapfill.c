/* SPDX-License-Identifier: MIT */
/*
 * t_gapfill.c - nothing lost when Redis drops the subscribers (issue 13
 * item 5), with room history on: two pods on a real redis-server, a
 * publisher on pod a sending steadily in a few rooms and on the global
 * channel, receivers on pod b;
 * Redis cuts every subscriber link (CLIENT KILL TYPE pubsub) again and
 * again, and every receiver still gets every message exactly once, in
 * order, the gaps filled from the history (redis.gap_fills).  A gap that
 * cannot be filled (FLUSHALL: the epoch changed) is counted in
 * redis.gap_unfilled and the room goes on.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GF_CONF    "history_size 1000\nrate_limit 100000\nrate_burst 100000\npresence off\n"
#define GF_ROOMS   4             /* gf0, gf1, gf2 and the global channel */
#define GF_RECV    2             /* receivers per room on pod b */
#define GF_EVERY   15            /* ms between two rounds of sends */
#define GF_KILL_MS 500           /* CLIENT KILL TYPE pubsub this often ... */
#define GF_RUN_MS  5000          /* ... for this long */

/* What one receiver saw: data.n must come as 0, 1, 2, ... */
struct seen {
	long long next;              /* the n expected next */
	int dups, holes, other;
	char first_error[160];
};

struct tally {
	struct seen s[GF_ROOMS * GF_RECV];
	long long want;              /* every receiver done when next == want */
};

static long long jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void on_msg(int i, const struct wsc_msg *m, void *arg)
{
	struct tally *t = arg;
	struct seen *s = &t->s[i];
	json_t *j;
	long long n;

	if (m == NULL) {
		s->other++;
		snprintf(s->first_error, sizeof(s->first_error), "connection closed");
		return;
	}
	if ((j = json_loadb(m->data, m->len, 0, NULL)) == NULL)
		return;
	if (strcmp(js(j, "type"), "chat") == 0 &&
	    jint(json_object_get(j, "data"), "k") == i / GF_RECV) {
		n = jint(json_object_get(j, "data"), "n");
		if (n != s->next && s->first_error[0] == '\0')
			snprintf(s->first_error, sizeof(s->first_error), "got n %lld, want %lld "
				 "(offset %lld)", n, s->next, jint(j, "offset"));
		if (n < s->next)
			s->dups++;
		else if (n > s->next)
			s->holes++;
		if (n >= s->next)
			s->next = n + 1;
	}
	json_decref(j);
}

static int all_done(void *arg)
{
	struct tally *t = arg;

	for (int i = 0; i < GF_ROOMS * GF_RECV; i++)
		if (t->s[i].next < t->want)
			return 0;
	return 1;
}

static long long rstat(struct chatd *h, const char *key)
{
	json_t *j = harness_stats(h);
	long long v = stats_num(json_object_get(j, "redis"), key);

	json_decref(j);
	return v;
}

static long long numsub(int port, const char *chan)
{
	const char *a[] = { "PUBSUB", "NUMSUB", chan };
	struct redis_reply v;

	if (redis_call(port, NULL, 3, a, NULL, &v) < 0 || v.n != 2 || v.type[1] != ':')
		return -1;
	return v.num[1];
}

/* Room k's path and channel: gf0.. and the global channel last. */
static void room_of(int k, char *path, char *chan, size_t cap)
{
	if (k == GF_ROOMS - 1) {
		snprintf(path, cap, WS);
		snprintf(chan, cap, "realtime:global");
	} else {
		snprintf(path, cap, WS "/gf%d", k);
		snprintf(chan, cap, "realtime:room:gf%d", k);
	}
}

/* Wait until ok(port, chan, want) for every room's channel; -1 past timeout_ms. */
static int each_room(int port, int timeout_ms, int (*ok)(int, const char *, long long),
		     long long want)
{
	long long end = mono_ms() + timeout_ms;
	char chan[64], path[64];

	for (int k = 0; k < GF_ROOMS; k++) {
		room_of(k, path, chan, sizeof(chan));
		while (!ok(port, chan, want))
			if (mono_ms() > end)
				return -1;
			else
				msleep(20);
	}
	return 0;
}

static int subscribed(int port, const char *chan, long long pods)
{
	return numsub(port, chan) == pods;
}

/* Both pods subscribed to every room (after the joins, or a kill). */
static int all_subscribed(int port, int timeout_ms)
{
	return each_room(port, timeout_ms, subscribed, 2);
}

static int kill_pubsub(int port)
{
	const char *a[] = { "CLIENT", "KILL", "TYPE", "pubsub" };
	struct redis_reply v;

	return redis_call(port, NULL, 4, a, NULL, &v) == 0 && v.type[0] == ':' ? 0 : -1;
}

/* Send round n in every room (data.n = n). */
static int send_round(struct wsc **pub, long long n)
{
	for (int k = 0; k < GF_ROOMS; k++)
		if (ws_sendf(pub[k], "{\"type\":\"chat\",\"data\":{\"n\":%lld,\"k\":%d}}",
			     n, k) < 0)
			return -1;
	return 0;
}

/* Two pods, a publisher per room on a, GF_RECV receivers per room on b. */
static int setup(struct redis **r, struct chatd *p[2], struct wsc **pub, struct wsc **rcv,
		 const char *more)
{
	char conf[512];

	char path[64], chan[64];

	if ((*r = redis_start()) == NULL)
		return -1;
	for (int i = 0; i < 2; i++) {
		struct chatd_opts o = { .workers = 1, .conf = conf, .redis_port = (*r)->port };

		snprintf(conf, sizeof(conf), "%s%s", GF_CONF, more);

		if ((p[i] = chatd_start(&o)) == NULL)
			return -1;
	}
	for (int k = 0; k < GF_ROOMS; k++) {
		room_of(k, path, chan, sizeof(path));
		if ((pub[k] = ws_join(p[0], path, NULL, 0)) == NULL)
			return -1;
		for (int j = 0; j < GF_RECV; j++)
			if ((rcv[k * GF_RECV + j] = ws_join(p[1], path, NULL, 0)) == NULL)
				return -1;
	}
	return all_subscribed((*r)->port, 5000);
}

/* Round 0 reaches every receiver: each pod knows each room's last offset. */
static int warm_up(struct wsc **pub, struct wsc **rcv, struct tally *t)
{
	t->want = 1;
	if (send_round(pub, 0) < 0)
		return -1;
	return ws_pump(rcv, GF_ROOMS * GF_RECV, 10000, on_msg, all_done, t);
}

static void report(const struct tally *t, const char *what)
{
	for (int i = 0; i < GF_ROOMS * GF_RECV; i++) {
		const struct seen *s = &t->s[i];

		if (s->next != t->want || s->dups || s->holes || s->other)
			fprintf(stderr, "%s: receiver %d (room %d): %lld of %lld, %d duplicate, "
				"%d out of order/holes: %s\n", what, i, i / GF_RECV, s->next,
				t->want, s->dups, s->holes, s->first_error);
	}
}

static int tally_clean(const struct tally *t)
{
	for (int i = 0; i < GF_ROOMS * GF_RECV; i++)
		if (t->s[i].next != t->want || t->s[i].dups || t->s[i].holes || t->s[i].other)
			return 0;
	return 1;
}

/* The brief's scenario: every message exactly once, in order, on pod b. */
static void t_kill_pubsub(void)
{
	static struct tally t;
	struct redis *r;
	struct chatd *p[2];
	struct wsc *pub[GF_ROOMS], *rcv[GF_ROOMS * GF_RECV];
	long long n = 1, start, next_kill;
	int kills = 0;

	unsetenv("REDIS_URL");    /* the config names the redis-server */
	memset(&t, 0, sizeof(t));
	CHECK(setup(&r, p, pub, rcv, "") == 0, "two pods, publishers on a, receivers on b");
	CHECK(warm_up(pub, rcv, &t) == 0, "round 0 did not reach every receiver");
	start = mono_ms();
	next_kill = start + GF_KILL_MS;
	while (mono_ms() - start < GF_RUN_MS) {
		CHECK(send_round(pub, n++) == 0, "send round %lld", n - 1);
		if (mono_ms() >= next_kill) {
			CHECK(kill_pubsub(r->port) == 0, "CLIENT KILL TYPE pubsub");
			kills++;
			next_kill += GF_KILL_MS;
		}
		ws_pump(rcv, GF_ROOMS * GF_RECV, GF_EVERY, on_msg, ws_pump_never, &t);
	}
	t.want = n;
	ws_pump(rcv, GF_ROOMS * GF_RECV, 20000, on_msg, all_done, &t);
	fprintf(stderr, "gapfill: %d kills, %lld rounds x %d rooms; pod b: sub_gaps %lld, "
		"gap_fills %lld, gap_filled %lld, gap_unfilled %lld\n", kills, n, GF_ROOMS,
		rstat(p[1], "sub_gaps"), rstat(p[1], "gap_fills"), rstat(p[1], "gap_filled"),
		rstat(p[1], "gap_unfilled"));
	report(&t, "kill_pubsub");
	CHECK(tally_clean(&t), "a receiver on pod b missed, repeated or reordered messages "
	      "(see above)");
	CHECK(rstat(p[1], "sub_gaps") >= kills / 2, "pod b: redis.sub_gaps %lld after %d kills",
	      rstat(p[1], "sub_gaps"), kills);
	CHECK(rstat(p[1], "gap_unfilled") == 0, "pod b: redis.gap_unfilled %lld",
	      rstat(p[1], "gap_unfilled"));
}

/* A burst bigger than a page (256 messages, and an eighth of a small ring)
 * sent while the subscribers are cut, cut again in its middle: read back
 * in several pages, merged with what arrives live, still exactly once and
 * in order. */
static void t_burst(void)
{
	static struct tally t;
	struct redis *r;
	struct chatd *p[2];
	struct wsc *pub[GF_ROOMS], *rcv[GF_ROOMS * GF_RECV];
	long long filled;
	json_t *sj;
	int n = 1;

	unsetenv("REDIS_URL");    /* the config names the redis-server */
	memset(&t, 0, sizeof(t));
	CHECK(setup(&r, p, pub, rcv, "ring_size 256k\nmax_message_size 16k\n") == 0, "two pods, small rings");
	CHECK(warm_up(pub, rcv, &t) == 0, "round 0 did not reach every receiver");
	for (int cut = 0; cut < 3; cut++) {
		CHECK(kill_pubsub(r->port) == 0, "CLIENT KILL TYPE pubsub");
		for (int i = 0; i < 300; i++, n++) {
			CHECK(send_round(pub, n) == 0, "send round %d", n);
			if (i % 50 == 49)
				ws_pump(rcv, GF_ROOMS * GF_RECV, 1, on_msg, ws_pump_now, &t);
		}
		ws_pump(rcv, GF_ROOMS * GF_RECV, 300, on_msg, ws_pump_never, &t);
	}
	t.want = n;
	ws_pump(rcv, GF_ROOMS * GF_RECV, 30000, on_msg, all_done, &t);
	filled = rstat(p[1], "gap_filled");
	sj = harness_stats(p[1]);
	fprintf(stderr, "burst: %d rounds x %d rooms; pod b: sub_gaps %lld, gap_fills %lld, "
		"gap_filled %lld, gap_unfilled %lld, worker ring_lost %lld\n", n, GF_ROOMS,
		rstat(p[1], "sub_gaps"), rstat(p[1], "gap_fills"), filled,
		rstat(p[1], "gap_unfilled"), stats_num(sj, "ring_lost"));
	json_decref(sj);
	report(&t, "burst");
	CHECK(tally_clean(&t), "a receiver on pod b missed, repeated or reordered messages "
	      "(see above)");
	CHECK(rstat(p[1], "gap_unfilled") == 0, "pod b: redis.gap_unfilled %lld",
	      rstat(p[1], "gap_unfilled"));
}

/* The channel's room has numbered message `want` in Redis. */
static int stored(int port, const char *chan, long long want)
{
	char key[80];
	const char *a[] = { "GET", key };
	struct redis_reply v;

	snprintf(key, sizeof(key), "%s:offset", chan);
	return redis_call(port, NULL, 2, a, NULL, &v) == 0 && v.type[0] == '$' &&
	       strtoll(v.s[0], NULL, 10) >= want;
}

/* A gap much larger than the ring (4 rooms x 600 frames, about 3 times
 * 256 KB), filled while pod b's worker does not read (SIGSTOP): the fill
 * must wait for the worker instead of writing over what it has not read
 * (worker ring_lost), and finish once it reads again. */
static void t_paced(void)
{
	static struct tally t;
	struct redis *r;
	struct chatd *p[2];
	struct wsc *pub[GF_ROOMS], *rcv[GF_ROOMS * GF_RECV];
	pid_t worker;
	json_t *sj;

	unsetenv("REDIS_URL");    /* the config names the redis-server */
	memset(&t, 0, sizeof(t));
	CHECK(setup(&r, p, pub, rcv, "ring_size 256k\nmax_message_size 16k\n") == 0,
	      "two pods, small rings");
	CHECK(warm_up(pub, rcv, &t) == 0, "round 0 did not reach every receiver");
	CHECK(stats_worker_pids(p[1], &worker, 1) == 1, "pod b's worker pid");
	/* pod b's master misses rounds 1-600 (stopped, its subscription cut) */
	CHECK(kill(p[1]->pid, SIGSTOP) == 0, "SIGSTOP pod b's master");
	CHECK(kill_pubsub(r->port) == 0, "CLIENT KILL TYPE pubsub");
	for (int n = 1; n <= 600; n++)
		CHECK(send_round(pub, n) == 0, "send round %d", n);
	CHECK(each_room(r->port, 10000, stored, 601) == 0, "pod a did not store rounds 1-600");
	/* ... and fills the gap from the history while its worker is stopped */
	CHECK(kill(worker, SIGSTOP) == 0 && kill(p[1]->pid, SIGCONT) == 0,
	      "SIGSTOP pod b's worker, SIGCONT its master");
	msleep(1500);             /* (its stats are the worker's: none meanwhile) */
	CHECK(kill(worker, SIGCONT) == 0, "SIGCONT pod b's worker");
	t.want = 601;
	ws_pump(rcv, GF_ROOMS * GF_RECV, 20000, on_msg, all_done, &t);
	sj = harness_stats(p[1]);
	fprintf(stderr, "paced: pod b: gap_fills %lld, gap_filled %lld, gap_waits %lld, "
		"gap_unfilled %lld, worker ring_lost %lld\n", rstat(p[1], "gap_fills"),
		rstat(p[1], "gap_filled"), rstat(p[1], "gap_waits"), rstat(p[1], "gap_unfilled"),
		stats_num(sj, "ring_lost"));
	report(&t, "paced");
	CHECK(rstat(p[1], "gap_waits") > 0, "pod b: redis.gap_waits %lld: no page waited for the "
	      "stopped worker", rstat(p[1], "gap_waits"));
	CHECK(stats_num(sj, "ring_lost") == 0, "pod b's worker lost %lld ring records: the fill "
	      "lapped it", stats_num(sj, "ring_lost"));
	json_decref(sj);
	CHECK(tally_clean(&t), "a receiver on pod b missed, repeated or reordered messages "
	      "(see above)");
	CHECK(rstat(p[1], "gap_unfilled") == 0, "pod b: redis.gap_unfilled %lld",
	      rstat(p[1], "gap_unfilled"));
}

/* Redis's total_commands_processed, -1 when not read. */
static long long redis_commands(int port)
{
	const char *a[] = { "INFO", "stats" };
	struct redis_reply v;
	const char *p;

	if (redis_call(port, NULL, 2, a, NULL, &v) < 0 || v.type[0] != '$' ||
	    (p = strstr(v.s[0], "total_commands_processed:")) == NULL)
		return -1;
	return strtoll(p + strlen("total_commands_processed:"), NULL, 10);
}

/* Nothing sent while the subscribers are cut: each room's gap is empty,
 * read once and filled (counted), and Redis is not asked again and again. */
static void t_quiet(void)
{
	static struct tally t;
	struct redis *r;
	struct chatd *p[2];
	struct wsc *pub[GF_ROOMS], *rcv[GF_ROOMS * GF_RECV];
	long long c0, c1;

	unsetenv("REDIS_URL");    /* the config names the redis-server */
	memset(&t, 0, sizeof(t));
	CHECK(setup(&r, p, pub, rcv, "") == 0, "two pods, publishers on a, receivers on b");
	CHECK(warm_up(pub, rcv, &t) == 0, "round 0 did not reach every receiver");
	CHECK(kill_pubsub(r->port) == 0, "CLIENT KILL TYPE pubsub");
	for (long long end = mono_ms() + 5000;
	     rstat(p[1], "gap_fills") < GF_ROOMS && mono_ms() < end; )
		msleep(50);
	CHECK(rstat(p[1], "gap_fills") == GF_ROOMS, "pod b: redis.gap_fills %lld, want %d (each "
	      "empty gap filled once)", rstat(p[1], "gap_fills"), GF_ROOMS);
	c0 = redis_commands(r->port);
	msleep(1000);
	c1 = redis_commands(r->port);
	CHECK(c0 >= 0 && c1 - c0 < 100, "Redis processed %lld commands in a quiet second",
	      c1 - c0);
	t.want = 2;
	CHECK(send_round(pub, 1) == 0, "send");
	ws_pump(rcv, GF_ROOMS * GF_RECV, 10000, on_msg, all_done, &t);
	report(&t, "quiet");
	CHECK(tally_clean(&t), "the rooms did not go on after the gap");
}

/* FLUSHALL while the subscribers are cut: the history is gone (a new
 * epoch), the gap cannot be filled; counted, and the rooms go on. */
static void t_unfilled(void)
{
	static struct tally t;
	const char *flush[] = { "FLUSHALL" };
	struct redis_reply v;
	struct redis *r;
	struct chatd *p[2];
	struct wsc *pub[GF_ROOMS], *rcv[GF_ROOMS * GF_RECV];

	unsetenv("REDIS_URL");    /* the config names the redis-server */
	memset(&t, 0, sizeof(t));
	CHECK(setup(&r, p, pub, rcv, "") == 0, "two pods, publishers on a, receivers on b");
	CHECK(warm_up(pub, rcv, &t) == 0, "round 0 did not reach every receiver");
	CHECK(rstat(p[1], "gap_unfilled") == 0, "redis.gap_unfilled before: %lld",
	      rstat(p[1], "gap_unfilled"));
	CHECK(kill_pubsub(r->port) == 0 && redis_call(r->port, NULL, 1, flush, NULL, &v) == 0,
	      "CLIENT KILL TYPE pubsub, FLUSHALL");
	for (long long end = mono_ms() + 5000;
	     rstat(p[1], "gap_unfilled") < GF_ROOMS && mono_ms() < end; )
		msleep(50);
	CHECK(rstat(p[1], "gap_unfilled") == GF_ROOMS, "pod b: redis.gap_unfilled %lld, want %d "
	      "(one per room)", rstat(p[1], "gap_unfilled"), GF_ROOMS);
	CHECK(all_subscribed(r->port, 5000) == 0, "not resubscribed");
	t.want = 2;
	CHECK(send_round(pub, 1) == 0, "send");
	ws_pump(rcv, GF_ROOMS * GF_RECV, 10000, on_msg, all_done, &t);
	report(&t, "unfilled");
	CHECK(tally_clean(&t), "the rooms did not go on after the gap");
}

const struct itest_case t_gapfill_cases[] = {
	{ "gapfill_kill_pubsub", t_kill_pubsub, 90 },
	{ "gapfill_burst", t_burst, 90 },
	{ "gapfill_paced", t_paced, 60 },
	{ "gapfill_quiet", t_quiet, 60 },
	{ "gapfill_unfilled", t_unfilled, 60 },
	{ NULL, NULL, 0 },
};
