/* SPDX-License-Identifier: MIT */
/*
 * t_redis.c - several pods sharing one real redis-server: exactly-once
 * cross-pod delivery with per-sender order, room isolation, interest-based
 * subscriptions (checked with PUBSUB on Redis itself), garbage on the
 * channels, Redis restarted mid-stream, chatd started before Redis, Redis
 * off, AUTH, and bad URLs.
 *
 * Every pod runs 2 workers and has its own pod_id.  Redis is spoken to with
 * the small binary-safe RESP client below (PUBLISH of arbitrary bytes,
 * PUBSUB NUMSUB / CHANNELS, CLIENT LIST).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>


/* ---- Redis, as the tests see it (the harness's RESP client) -------------------- */

static const char *resp_pass;   /* AUTH with this first (NULL: none) */

/* A command with binary-safe arguments (lens NULL: strlen); 0 / -1. */
static int rcall(int port, int argc, const char *const argv[], const size_t *lens,
		 struct redis_reply *v)
{
	return redis_call(port, resp_pass, argc, argv, lens, v);
}

static struct redis_reply rv;

/* PUBSUB NUMSUB chan: the number of subscribers, -1 on error. */
static long long r_numsub(int port, const char *chan)
{
	const char *a[] = { "PUBSUB", "NUMSUB", chan };

	if (rcall(port, 3, a, NULL, &rv) < 0 || rv.n != 2 || rv.type[1] != ':')
		return -1;
	return rv.num[1];
}

/* PUBSUB CHANNELS pattern: how many, -1 on error. */
static int r_channels(int port, const char *pattern)
{
	const char *a[] = { "PUBSUB", "CHANNELS", pattern };

	if (rcall(port, 3, a, NULL, &rv) < 0 || (rv.n == 1 && rv.type[0] == '-'))
		return -1;
	return rv.n;
}

/* PUBLISH raw bytes: the number of receivers, -1 on error. */
static long long r_publish(int port, const char *chan, const void *data, size_t len)
{
	const char *a[] = { "PUBLISH", chan, data };
	size_t l[] = { 7, strlen(chan), len };

	if (rcall(port, 3, a, l, &rv) < 0 || rv.n != 1 || rv.type[0] != ':')
		return -1;
	return rv.num[0];
}

/* How many clients Redis has (CLIENT LIST lines, ours included); -1. */
static int r_clients(int port)
{
	const char *a[] = { "CLIENT", "LIST" };
	int n = 0;

	if (rcall(port, 2, a, NULL, &rv) < 0 || rv.n != 1 || rv.type[0] != '$')
		return -1;
	for (size_t i = 0; i < rv.len[0]; i++)
		n += rv.s[0][i] == '\n';
	return n;
}

/* Poll NUMSUB until it is want; the last value. */
static long long wait_numsub(int port, const char *chan, long long want, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms, v;

	while ((v = r_numsub(port, chan)) != want && mono_ms() < end)
		msleep(20);
	return v;
}

static int wait_channels(int port, const char *pattern, int want, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	int v;

	while ((v = r_channels(port, pattern)) != want && mono_ms() < end)
		msleep(20);
	return v;
}

/* ---- pods -------------------------------------------------------------------- */

/* A pod with 2 workers and pod_id id; url overrides the redis_url the
 * harness writes (NULL: redis://127.0.0.1:redis_port). */
static struct chatd *pod_url(int redis_port, const char *id, const char *url, int no_wait)
{
	static char conf[1024];

	snprintf(conf, sizeof(conf), "pod_id %s\npresence off\n%s%s%s", id,
		 url ? "redis_url " : "", url ? url : "", url ? "\n" : "");
	return chatd_start(&(struct chatd_opts){ .workers = 2, .redis_port = redis_port,
						 .conf = conf, .no_wait = no_wait });
}

static struct chatd *pod(struct redis *r, const char *id)
{
	return pod_url(r->port, id, NULL, 0);
}

/* stats.redis[key]; -1 if absent or no stats. */
static long long rstat(struct chatd *h, const char *key)
{
	json_t *j = harness_stats(h);
	long long v = stats_num(json_object_get(j, "redis"), key);

	json_decref(j);
	return v;
}

/* stats.redis.state into buf ("?" without stats). */
static const char *rstate(struct chatd *h, char *buf, size_t cap)
{
	char why[300];
	json_t *j = stats_try(h, why, sizeof(why));

	snprintf(buf, cap, "%s", j ? js(json_object_get(j, "redis"), "state") : "?");
	json_decref(j);
	return buf;
}

/* Wait until the state is want; 0 / -1. */
static int wait_state(struct chatd *h, const char *want, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	char s[32];

	for (;;) {
		if (strcmp(rstate(h, s, sizeof(s)), want) == 0)
			return 0;
		if (mono_ms() >= end)
			return -1;
		msleep(20);
	}
}

/* Each worker of h has at least one connection: clients are spread. */
static int workers_all_used(struct chatd *h)
{
	json_t *j = harness_stats(h), *w;
	size_t k;
	int ok = j != NULL, n = 0;

	json_array_foreach(json_object_get(j, "workers"), k, w) {
		n++;
		if (stats_num(w, "connections") < 1)
			ok = 0;
	}
	json_decref(j);
	return ok && n >= 2;
}

static void env_clean(void)
{
	unsetenv("REDIS_URL");
}

/* ---- tracking chats: per (client, sender) order, exactly once ------------- */

#define TC    48      /* clients */
#define TS    8       /* senders */
#define TQ    1024    /* sequence numbers tracked per sender */

struct trk {
	int       last[TC][TS];    /* last seq seen, -1 */
	int       count[TC][TS];
	int       want[TC][TS];    /* for done(): counts to reach */
	int       upto[TC][TS];    /* for upto_done(): last seq to reach */
	unsigned char got[TC][TQ]; /* sender 0 only: which seqs arrived */
	long long t_got[TC][TQ];
	int       foreign;         /* chat frames without our s/q */
	int       closed;
	int       errors;
	char      first_error[256];
};

static void trk_init(struct trk *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < TC; i++)
		for (int s = 0; s < TS; s++) {
			t->last[i][s] = -1;
			t->upto[i][s] = -1;
		}
}

static void trk_err(struct trk *t, const char *fmt, int a, int b, int c, int d)
{
	if (t->errors++ == 0)
		snprintf(t->first_error, sizeof(t->first_error), fmt, a, b, c, d);
}

/* Order and no duplicates always; gaps are counted by the caller. */
static void trk_msg(int i, const struct wsc_msg *m, void *arg)
{
	struct trk *t = arg;
	json_t *j, *d;
	int s, q;

	if (!m || m->opcode == WSC_OP_CLOSE) {
		t->closed++;
		trk_err(t, "client %d disconnected", i, 0, 0, 0);
		return;
	}
	if (m->opcode != WSC_OP_TEXT || !strstr(m->data, "\"type\":\"chat\""))
		return;
	j = json_loadb(m->data, m->len, 0, NULL);
	d = json_object_get(j, "data");
	if (!json_is_integer(json_object_get(d, "s")) || !json_is_integer(json_object_get(d, "q"))) {
		t->foreign++;
		json_decref(j);
		return;
	}
	s = (int)json_integer_value(json_object_get(d, "s"));
	q = (int)json_integer_value(json_object_get(d, "q"));
	json_decref(j);
	if (i < 0 || i >= TC || s < 0 || s >= TS || q < 0 || q >= TQ) {
		trk_err(t, "client %d: chat out of range s %d q %d", i, s, q, 0);
		return;
	}
	if (q <= t->last[i][s])
		trk_err(t, "client %d sender %d: seq %d after %d (duplicate or reordered)",
			i, s, q, t->last[i][s]);
	t->last[i][s] = q;
	t->count[i][s]++;
	if (s == 0) {
		t->got[i][q]++;
		t->t_got[i][q] = mono_ms();
	}
}

static int trk_done(void *arg)
{
	struct trk *t = arg;

	for (int i = 0; i < TC; i++)
		for (int s = 0; s < TS; s++)
			if (t->count[i][s] < t->want[i][s])
				return 0;
	return 1;
}

static int trk_upto_done(void *arg)
{
	struct trk *t = arg;

	for (int i = 0; i < TC; i++)
		for (int s = 0; s < TS; s++)
			if (t->last[i][s] < t->upto[i][s])
				return 0;
	return 1;
}

static int chat_send(struct wsc *c, int s, int q)
{
	return ws_sendf(c, "{\"type\":\"chat\",\"data\":{\"s\":%d,\"q\":%d}}", s, q);
}

/* ---- 1. exactly once, in order, over three pods ------------------------------ */

#define X_PODS    3
#define X_PER_POD 12
#define X_N       (X_PODS * X_PER_POD)
#define X_SEND    6
#define X_BURST   100

/* Client i: pod i / X_PER_POD; room by i % 3 (r0, r1, global). */
static int x_kind(int i)
{
	return (i % X_PER_POD) % 3;
}

static void t_exactly_once(void)
{
	static struct trk t;
	struct redis *r;
	struct chatd *p[X_PODS];
	struct wsc *c[X_N];
	const char *names[X_PODS] = { "pod-a", "pod-b", "pod-c" };
	/* senders: (pod, local index) -> kinds r0 r0 r1 r1 global global */
	const int sender[X_SEND] = { 0 * X_PER_POD + 0, 1 * X_PER_POD + 3, 2 * X_PER_POD + 1,
				     0 * X_PER_POD + 4, 1 * X_PER_POD + 2, 2 * X_PER_POD + 5 };

	env_clean();
	trk_init(&t);
	CHECK((r = redis_start()), "redis");
	for (int k = 0; k < X_PODS; k++)
		CHECK((p[k] = pod(r, names[k])), "pod %d", k);
	for (int i = 0; i < X_N; i++) {
		static const char *path[3] = { WS "/r0", WS "/r1", WS };

		CHECK((c[i] = ws_join(p[i / X_PER_POD], path[x_kind(i)], NULL, 0)), "client %d", i);
	}
	for (int k = 0; k < X_PODS; k++) {
		CHECK(wait_state(p[k], "up", 3000) == 0, "pod %d not up", k);
		CHECK(stats_wait(p[k], "connections", X_PER_POD, 3000) == X_PER_POD, "connections");
		CHECK(workers_all_used(p[k]), "pod %d: a worker has no client (not spread)", k);
	}
	CHECK(wait_numsub(r->port, "realtime:room:r0", X_PODS, 3000) == X_PODS, "NUMSUB r0");
	CHECK(wait_numsub(r->port, "realtime:room:r1", X_PODS, 3000) == X_PODS, "NUMSUB r1");
	CHECK(r_numsub(r->port, "realtime:global") == X_PODS, "NUMSUB global");
	for (int i = 0; i < X_N; i++)
		for (int s = 0; s < X_SEND; s++) {
			int sk = x_kind(sender[s]);

			t.want[i][s] = (sk == 2 || sk == x_kind(i)) ? X_BURST : 0;
		}
	/* the bursts interleaved, one message per sender in turn, reading in between */
	for (int q = 0; q < X_BURST; q++) {
		for (int s = 0; s < X_SEND; s++)
			CHECK(chat_send(c[sender[s]], s, q) == 0, "send");
		ws_pump(c, X_N, 0, trk_msg, ws_pump_never, &t);
	}
	int done = ws_pump(c, X_N, 10000, trk_msg, trk_done, &t);
	ws_pump(c, X_N, 500, trk_msg, ws_pump_never, &t);   /* late duplicates */
	CHECK(t.errors == 0, "%d errors; first: %s", t.errors, t.first_error);
	for (int i = 0; i < X_N; i++)
		for (int s = 0; s < X_SEND; s++)
			CHECK(t.count[i][s] == t.want[i][s], "client %d (pod %d, kind %d) got %d "
			      "from sender %d, want %d (done %d)", i, i / X_PER_POD, x_kind(i),
			      t.count[i][s], s, t.want[i][s], done);
	/* every pod: 2 senders' worth published and echoed back to itself,
	 * the other 4 senders' received (all pods subscribe r0, r1, global) */
	for (int k = 0; k < X_PODS; k++) {
		CHECK(rstat(p[k], "published") == 2 * X_BURST, "pod %d published %lld", k,
		      rstat(p[k], "published"));
		CHECK(rstat(p[k], "received") == 4 * X_BURST, "pod %d received %lld", k,
		      rstat(p[k], "received"));
		CHECK(rstat(p[k], "own_echoes_dropped") == 2 * X_BURST, "pod %d echoes %lld", k,
		      rstat(p[k], "own_echoes_dropped"));
		CHECK(rstat(p[k], "malformed") == 0, "pod %d malformed", k);
		CHECK(rstat(p[k], "subscribed_rooms") == 2, "pod %d subscribed_rooms %lld", k,
		      rstat(p[k], "subscribed_rooms"));
	}
	ws_free_all(c, X_N);
}

/* ---- 2. room isolation across pods --------------------------------------------- */

static void t_isolation(void)
{
	static struct trk t;
	struct redis *r;
	struct chatd *a, *b;
	/* pod a: 0 iso, 1 iso1, 2 iso:1, 3 global; pod b: 4 iso, 5 iso1, 6 iso:1, 7 global */
	static const char *rooms[4] = { WS "/iso", WS "/iso1", WS "/iso:1", WS };
	struct wsc *c[8];

	env_clean();
	trk_init(&t);
	CHECK((r = redis_start()), "redis");
	CHECK((a = pod(r, "iso-a")) && (b = pod(r, "iso-b")), "pods");
	for (int i = 0; i < 8; i++)
		CHECK((c[i] = ws_join(i < 4 ? a : b, rooms[i % 4], NULL, 0)), "client %d", i);
	CHECK(wait_state(a, "up", 3000) == 0 && wait_state(b, "up", 3000) == 0, "up");
	CHECK(wait_numsub(r->port, "realtime:room:iso", 2, 3000) == 2, "NUMSUB iso");
	CHECK(wait_numsub(r->port, "realtime:room:iso1", 2, 3000) == 2, "NUMSUB iso1");
	CHECK(wait_numsub(r->port, "realtime:room:iso:1", 2, 3000) == 2, "NUMSUB iso:1");
	/* sender s = client s sends 5 messages in its room (iso, iso1, iso:1 on pod a) */
	for (int s = 0; s < 3; s++)
		for (int q = 0; q < 5; q++)
			CHECK(chat_send(c[s], s, q) == 0, "send");
	for (int i = 0; i < 8; i++)
		for (int s = 0; s < 3; s++)
			t.want[i][s] = (i % 4 == s) ? 5 : 0;
	ws_pump(c, 8, 5000, trk_msg, trk_done, &t);
	ws_pump(c, 8, 500, trk_msg, ws_pump_never, &t);
	CHECK(t.errors == 0, "%s", t.first_error);
	for (int i = 0; i < 8; i++)
		for (int s = 0; s < 3; s++)
			CHECK(t.count[i][s] == t.want[i][s], "client %d (%s, pod %c) got %d of room "
			      "%s's messages, want %d", i, rooms[i % 4], i < 4 ? 'a' : 'b',
			      t.count[i][s], rooms[s], t.want[i][s]);
	CHECK(rstat(b, "received") == 15, "pod b received %lld", rstat(b, "received"));
	ws_free_all(c, 8);
}

/* ---- 3. interest: a pod subscribes only to rooms it has members in ------------- */

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#define I_ROOMS 1000
#define I_CHAT  100

static void t_interest(void)
{
	static struct trk t;
	static struct wsc *many[I_ROOMS];
	struct redis *r;
	struct chatd *a, *b;
	struct wsc *x1, *x2, *ga;
	struct rlimit rl;
	int nrooms = I_ROOMS;
	char path[64];

	env_clean();
	trk_init(&t);
	raise_nofile();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < I_ROOMS + 200)
		nrooms = (int)rl.rlim_cur - 200;   /* a small fd limit: fewer rooms */
	CHECK(nrooms >= 100, "RLIMIT_NOFILE %ld is too small", (long)rl.rlim_cur);
	CHECK((r = redis_start()), "redis");
	CHECK((a = pod(r, "int-a")) && (b = pod(r, "int-b")), "pods");
	CHECK(wait_state(a, "up", 3000) == 0 && wait_state(b, "up", 3000) == 0, "up");
	CHECK(wait_numsub(r->port, "realtime:global", 2, 3000) == 2, "global: both pods");
	CHECK(r_channels(r->port, "realtime:room:*") == 0, "room channels before any join");

	/* room X on pod a only: one subscriber; a second member changes nothing */
	CHECK((x1 = ws_join(a, WS "/X", NULL, 0)), "x1");
	CHECK(wait_numsub(r->port, "realtime:room:X", 1, 3000) == 1, "NUMSUB X after join");
	CHECK((x2 = ws_join(a, WS "/X", NULL, 0)), "x2");
	msleep(200);
	CHECK(r_numsub(r->port, "realtime:room:X") == 1, "NUMSUB X with 2 members");
	CHECK(rstat(a, "subscribed_rooms") == 1 && rstat(b, "subscribed_rooms") == 0,
	      "subscribed_rooms a %lld b %lld", rstat(a, "subscribed_rooms"),
	      rstat(b, "subscribed_rooms"));
	wsc_free(x1);
	msleep(200);
	CHECK(r_numsub(r->port, "realtime:room:X") == 1, "NUMSUB X after one of two left");
	wsc_free(x2);
	CHECK(wait_numsub(r->port, "realtime:room:X", 0, 3000) == 0, "NUMSUB X after the last left");
	CHECK(wait_channels(r->port, "realtime:room:*", 0, 1000) == 0, "room channels left");
	CHECK(stats_wait(a, "connections", 0, 2000) == 0, "a: connections");
	CHECK(rstat(a, "subscribed_rooms") == 0, "a subscribed_rooms %lld",
	      rstat(a, "subscribed_rooms"));

	/* many rooms on pod b; pod a has one global client */
	CHECK((ga = ws_join(a, WS, NULL, 0)), "global client on a");
	long long t0 = mono_ms();
	for (int i = 0; i < nrooms; i++) {
		snprintf(path, sizeof(path), WS "/many-%d", i);
		CHECK((many[i] = ws_join(b, path, NULL, 0)), "room client %d", i);
	}
	CHECK(wait_channels(r->port, "realtime:room:*", nrooms, 5000) == nrooms,
	      "room channels: %d, want %d", r_channels(r->port, "realtime:room:*"), nrooms);
	long long t1 = mono_ms();
	for (int i = 0; i < nrooms; i += nrooms / 10) {
		snprintf(path, sizeof(path), "realtime:room:many-%d", i);
		CHECK(r_numsub(r->port, path) == 1, "NUMSUB %s", path);
	}
	CHECK(r_numsub(r->port, "realtime:global") == 2, "global lost a pod");
	CHECK(rstat(a, "subscribed_rooms") == 0, "pod a subscribed to %lld rooms",
	      rstat(a, "subscribed_rooms"));
	CHECK(rstat(b, "subscribed_rooms") == nrooms, "pod b subscribed_rooms %lld",
	      rstat(b, "subscribed_rooms"));
	fprintf(stderr, "interest: %d rooms joined and subscribed in %lld ms\n", nrooms, t1 - t0);

	/* b's members chat: each hears itself; nothing reaches pod a */
	for (int i = 0; i < I_CHAT; i++) {
		CHECK(chat_send(many[i * (nrooms / I_CHAT)], 0, i) == 0, "send");
	}
	{
		static struct wsc *talkers[I_CHAT];
		static struct trk u;

		trk_init(&u);
		for (int i = 0; i < I_CHAT; i++)
			talkers[i] = many[i * (nrooms / I_CHAT)];
		/* client index = talker; only sender 0 */
		for (int i = 0; i < I_CHAT && i < TC; i++)
			u.want[i][0] = 1;
		CHECK(ws_pump(talkers, I_CHAT < TC ? I_CHAT : TC, 5000, trk_msg, trk_done, &u) == 0,
		      "talkers did not hear themselves");
		CHECK(u.errors == 0, "%s", u.first_error);
	}
	CHECK(stats_wait(b, "messages_in", I_CHAT, 3000) == I_CHAT, "b messages_in");
	for (long long end = mono_ms() + 2000; mono_ms() < end &&
	     rstat(b, "own_echoes_dropped") < I_CHAT;)
		msleep(20);
	CHECK(rstat(b, "published") == I_CHAT, "b published %lld", rstat(b, "published"));
	CHECK(rstat(b, "own_echoes_dropped") == I_CHAT, "b echoes %lld",
	      rstat(b, "own_echoes_dropped"));
	CHECK(rstat(a, "received") == 0, "pod a received %lld room messages it has no member for",
	      rstat(a, "received"));
	json_t *j = ws_recv_type(ga, "chat", 300);
	CHECK(!j, "pod a's global client got a room message");

	/* everybody leaves: every room channel goes */
	ws_free_all(many, nrooms);
	CHECK(wait_channels(r->port, "realtime:room:*", 0, 5000) == 0, "room channels after "
	      "leaving: %d", r_channels(r->port, "realtime:room:*"));
	CHECK(rstat(b, "subscribed_rooms") == 0, "b subscribed_rooms %lld",
	      rstat(b, "subscribed_rooms"));
	CHECK(r_numsub(r->port, "realtime:global") == 2, "global lost a pod");
	wsc_free(ga);
}

/* ---- 4. garbage on the channels ------------------------------------------------ */

/* A msgpack envelope by hand: {"v":v,"pod":pod,"room":room,"frame":bin frame}. */
static size_t hand_envelope(unsigned char *out, int v, const char *pod_id, const char *room,
			    const char *frame)
{
	size_t n = 0, pl = strlen(pod_id), rl = strlen(room), fl = strlen(frame);

	out[n++] = 0x84;
	out[n++] = 0xa1; out[n++] = 'v'; out[n++] = (unsigned char)v;
	out[n++] = 0xa3; memcpy(out + n, "pod", 3); n += 3;
	out[n++] = (unsigned char)(0xa0 | pl); memcpy(out + n, pod_id, pl); n += pl;
	out[n++] = 0xa4; memcpy(out + n, "room", 4); n += 4;
	out[n++] = (unsigned char)(0xa0 | rl); memcpy(out + n, room, rl); n += rl;
	out[n++] = 0xa5; memcpy(out + n, "frame", 5); n += 5;
	out[n++] = 0xc4; out[n++] = (unsigned char)fl; memcpy(out + n, frame, fl); n += fl;
	return n;
}

static void t_garbage(void)
{
	static struct trk t;
	struct redis *r;
	struct chatd *a, *b;
	struct wsc *c[3];
	unsigned char buf[512];
	const char *chans[2] = { "realtime:global", "realtime:room:gx" };
	const char *frame = "{\"type\":\"chat\",\"room\":\"gx\",\"from\":\"hand\",\"data\":{\"s\":1,\"q\":0}}";
	static const unsigned char wrong_map[] = { 0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0xa1, 'x' };
	int bad = 0;
	size_t n;

	env_clean();
	trk_init(&t);
	CHECK((r = redis_start()), "redis");
	CHECK((a = pod(r, "gb-a")) && (b = pod(r, "gb-b")), "pods");
	/* 0: gx on a, 1: global on a, 2: gx on b */
	CHECK((c[0] = ws_join(a, WS "/gx", NULL, 0)) && (c[1] = ws_join(a, WS, NULL, 0)) &&
	      (c[2] = ws_join(b, WS "/gx", NULL, 0)), "clients");
	CHECK(wait_state(a, "up", 3000) == 0 && wait_state(b, "up", 3000) == 0, "up");
	CHECK(wait_numsub(r->port, chans[1], 2, 3000) == 2, "NUMSUB gx");
	for (int k = 0; k < 2; k++) {
		wsc_random(buf, 200);
		CHECK(r_publish(r->port, chans[k], buf, 200) == 2, "publish random");
		CHECK(r_publish(r->port, chans[k], "", 0) == 2, "publish empty");
		CHECK(r_publish(r->port, chans[k], wrong_map, sizeof(wrong_map)) == 2, "publish map");
		n = hand_envelope(buf, 2, "evil", k ? "gx" : "", frame);
		CHECK(r_publish(r->port, chans[k], buf, n) == 2, "publish v2");
		n = hand_envelope(buf, 1, "evil", k ? "other" : "gx", frame);   /* wrong room */
		CHECK(r_publish(r->port, chans[k], buf, n) == 2, "publish wrong room");
		n = hand_envelope(buf, 1, "evil", k ? "gx" : "", frame);
		buf[n - 1] = 0xff;                                               /* truncated */
		CHECK(r_publish(r->port, chans[k], buf, n - 3) == 2, "publish truncated");
		bad += 6;
	}
	/* the same envelope with v 1 is delivered: the encoding above is right */
	n = hand_envelope(buf, 1, "evil", "gx", frame);
	CHECK(r_publish(r->port, chans[1], buf, n) == 2, "publish good");
	t.want[0][1] = t.want[2][1] = 1;
	CHECK(ws_pump(c, 3, 3000, trk_msg, trk_done, &t) == 0, "the good hand-made envelope "
	      "did not arrive (a %d, b %d)", t.count[0][1], t.count[2][1]);
	for (int k = 0; k < 2; k++) {
		struct chatd *h = k ? b : a;

		for (long long end = mono_ms() + 2000; mono_ms() < end &&
		     rstat(h, "malformed") < bad;)
			msleep(20);
		CHECK(rstat(h, "malformed") == bad, "pod %c malformed %lld, want %d", 'a' + k,
		      rstat(h, "malformed"), bad);
		CHECK(rstat(h, "received") == 1, "pod %c received %lld", 'a' + k,
		      rstat(h, "received"));
		CHECK(wait_state(h, "up", 0) == 0, "pod %c not up after garbage", 'a' + k);
	}
	/* delivery goes on both ways */
	for (int q = 0; q < 10; q++)
		CHECK(chat_send(c[0], 2, q) == 0 && chat_send(c[2], 3, q) == 0, "send");
	t.want[0][2] = t.want[2][2] = t.want[0][3] = t.want[2][3] = 10;
	CHECK(ws_pump(c, 3, 3000, trk_msg, trk_done, &t) == 0, "delivery after garbage");
	ws_pump(c, 3, 300, trk_msg, ws_pump_never, &t);
	CHECK(t.errors == 0, "%s", t.first_error);
	CHECK(t.count[1][1] + t.count[1][2] + t.count[1][3] == 0, "global client got room chat");
	CHECK(t.count[0][1] == 1 && t.count[2][1] == 1, "hand envelope delivered %d/%d times",
	      t.count[0][1], t.count[2][1]);
	CHECK(pid_alive(a->pid) && pid_alive(b->pid), "a pod died");
	ws_free_all(c, 3);
}

/* ---- 5. Redis restarted mid-stream --------------------------------------------- */

/* The time of day (ms) of the last log line of h holding both a and b; -1. */
static long long log_last_ms(const struct chatd *h, const char *a, const char *b)
{
	FILE *f = fopen(h->log_path, "r");
	char line[4096];
	long long ms = -1;
	int hh, mm, ss, mss;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, a) && strstr(line, b) &&
		    sscanf(line, "%*4d-%*2d-%*2dT%2d:%2d:%2d.%3dZ", &hh, &mm, &ss, &mss) == 4)
			ms = ((hh * 60LL + mm) * 60 + ss) * 1000 + mss;
	fclose(f);
	return ms;
}

#define R_A 4     /* clients on pod a: 0 is the sender */
#define R_N 7     /* 4..6 on pod b */

static void t_restart(void)
{
	static struct trk t;
	struct redis *r;
	struct chatd *a, *b;
	struct wsc *c[R_N];
	long long t_sent[TQ];
	int q = 0, out0, out1, post0, stable_q = -1, port;
	long long t_back, t_resume = -1, t_stable = -1, pub0, queued_out;
	char st[32];

	env_clean();
	trk_init(&t);
	CHECK((r = redis_start()), "redis");
	port = r->port;
	CHECK((a = pod(r, "rs-a")) && (b = pod(r, "rs-b")), "pods");
	for (int i = 0; i < R_N; i++)
		CHECK((c[i] = ws_join(i < R_A ? a : b, WS "/out", NULL, 0)), "client %d", i);
	CHECK(wait_state(a, "up", 3000) == 0 && wait_state(b, "up", 3000) == 0, "up");
	CHECK(wait_numsub(port, "realtime:room:out", 2, 3000) == 2, "NUMSUB");

	/* before: 30 messages everywhere */
	for (; q < 30; q++) {
		t_sent[q] = mono_ms();
		CHECK(chat_send(c[0], 0, q) == 0, "send");
	}
	for (int i = 0; i < R_N; i++)
		t.upto[i][0] = q - 1;
	CHECK(ws_pump(c, R_N, 3000, trk_msg, trk_upto_done, &t) == 0, "before the outage");
	pub0 = rstat(a, "published");
	CHECK(pub0 == q, "published %lld before the outage, want %d", pub0, q);

	/* the pods have been up a while (each learns how many pods there are
	 * from PUBSUB NUMSUB once a second) */
	msleep(1500);
	/* outage: local delivery goes on, cross-pod publishes queue */
	redis_stop(r);
	CHECK(wait_state(a, "down", 2000) == 0, "a: state %s after Redis stopped",
	      rstate(a, st, sizeof(st)));
	CHECK(wait_state(b, "down", 2000) == 0, "b: state %s", rstate(b, st, sizeof(st)));
	out0 = q;
	for (long long end = mono_ms() + 1000; mono_ms() < end; q++) {
		t_sent[q] = mono_ms();
		CHECK(chat_send(c[0], 0, q) == 0, "send");
		ws_pump(c, R_N, 10, trk_msg, ws_pump_never, &t);
	}
	out1 = q;
	for (int i = 0; i < R_A; i++)
		t.upto[i][0] = q - 1;
	for (int i = R_A; i < R_N; i++)
		t.upto[i][0] = -1;
	CHECK(ws_pump(c, R_N, 1000, trk_msg, trk_upto_done, &t) == 0,
	      "local delivery stopped during the outage (client 1 at seq %d of %d)",
	      t.last[1][0], q - 1);
	long long worst = 0;
	for (int i = 0; i < R_A; i++)
		for (int k = out0; k < out1; k++)
			if (t.t_got[i][k] - t_sent[k] > worst)
				worst = t.t_got[i][k] - t_sent[k];
	CHECK(worst < 500, "local delivery during the outage took up to %lld ms", worst);
	queued_out = rstat(a, "queued");
	CHECK(queued_out == out1 - out0, "a: queued %lld, want %d", queued_out, out1 - out0);

	/* Redis back on the same port: keep sending every 20 ms */
	CHECK((r = redis_start_port(port, NULL)), "redis restart");
	t_back = mono_ms();
	post0 = q;
	for (long long end = t_back + 5000; mono_ms() < end && q < TQ - 1; q++) {
		t_sent[q] = mono_ms();
		CHECK(chat_send(c[0], 0, q) == 0, "send");
		ws_pump(c, R_N, 20, trk_msg, ws_pump_never, &t);
		if (t_resume < 0 && t.last[R_A][0] >= post0)
			t_resume = t.t_got[R_A][t.last[R_A][0]] - t_back;
		if (stable_q < 0 && wait_state(a, "up", 0) == 0 && wait_state(b, "up", 0) == 0 &&
		    r_numsub(port, "realtime:room:out") == 2) {
			stable_q = q + 1;      /* everything from here on must cross */
			t_stable = mono_ms() - t_back;
		}
		if (stable_q >= 0 && q >= stable_q + 15 && t_resume >= 0)
			break;
	}
	q++;
	CHECK(stable_q >= 0, "pods not both up and subscribed 5 s after Redis came back "
	      "(a %s, b %s)", rstate(a, st, sizeof(st)), rstate(b, st, sizeof(st)));
	for (int i = 0; i < R_N; i++)
		t.upto[i][0] = q - 1;
	CHECK(ws_pump(c, R_N, 3000, trk_msg, trk_upto_done, &t) == 0,
	      "after the restart: pod b at seq %d of %d", t.last[R_A][0], q - 1);
	ws_pump(c, R_N, 300, trk_msg, ws_pump_never, &t);
	CHECK(t.errors == 0, "%s", t.first_error);

	/* pod a's clients: every message exactly once (order checked as they came) */
	for (int i = 0; i < R_A; i++)
		CHECK(t.count[i][0] == q, "a client %d got %d of %d", i, t.count[i][0], q);
	/* pod b's clients: all before, all from stable_q; count the outage ones */
	int got_out[R_N] = { 0 }, got_gap = 0;
	for (int i = R_A; i < R_N; i++) {
		for (int k = 0; k < q; k++) {
			int must = k < out0 || k >= stable_q;

			CHECK(!must || t.got[i][k] == 1, "b client %d: seq %d missing (outage %d..%d, "
			      "back at %d, stable from %d)", i, k, out0, out1 - 1, post0, stable_q);
			if (k >= out0 && k < out1)
				got_out[i] += t.got[i][k];
			else if (k >= post0 && k < stable_q && !t.got[i][k])
				got_gap++;
		}
		CHECK(got_out[i] == got_out[R_A], "b clients disagree on the outage messages");
	}
	long long a_pub_up = log_last_ms(a, "redis pub link", " up");
	long long b_sub_up = log_last_ms(b, "redis sub link", " up");
	fprintf(stderr, "restart: outage messages %d..%d (%d), pod b got %d of them; %d sent "
		"after Redis came back were lost at b; cross-pod resumed %lld ms after Redis "
		"was back, both pods up+subscribed after %lld ms; a's pub link up at %lld, "
		"b's sub link up at %lld (ms of day)\n", out0, out1 - 1, out1 - out0,
		got_out[R_A], got_gap, t_resume, t_stable, a_pub_up, b_sub_up);
	/* what chatd guarantees */
	CHECK(t_resume >= 0 && t_resume <= 2500, "cross-pod delivery resumed %lld ms after "
	      "Redis was back (bound 2000 ms + 500 ms slack)", t_resume);
	/* a's queue waits for every pod to be resubscribed (redis_pub.c pub_gate),
	 * so what was sent during the outage and right after reaches b too */
	CHECK(got_out[R_A] == out1 - out0 && got_gap == 0, "b got %d of %d outage messages "
	      "and lost %d sent after Redis came back (b's sub up at %lld, a's pub at %lld)",
	      got_out[R_A], out1 - out0, got_gap, b_sub_up, a_pub_up);
	CHECK(rstat(a, "published") == q, "a published %lld, sent %d: a queued message was "
	      "dropped or published twice", rstat(a, "published"), q);
	CHECK(rstat(a, "queued") == 0 && rstat(a, "queue_expired") == 0 &&
	      rstat(a, "queue_overflow") == 0, "a: queued %lld expired %lld overflow %lld",
	      rstat(a, "queued"), rstat(a, "queue_expired"), rstat(a, "queue_overflow"));
	CHECK(rstat(b, "received") == t.count[R_A][0], "b received %lld, its client got %d",
	      rstat(b, "received"), t.count[R_A][0]);
	CHECK(rstat(a, "reconnects") >= 2 && rstat(b, "reconnects") >= 2, "reconnects a %lld b %lld",
	      rstat(a, "reconnects"), rstat(b, "reconnects"));
	ws_free_all(c, R_N);
}

/* ---- 6. chatd before Redis ------------------------------------------------------- */

static void t_redis_later(void)
{
	static struct trk t;
	struct redis *r;
	struct chatd *a, *b;
	struct wsc *c[4];
	int port = free_port();
	char st[32];
	long long t_back, t_up;

	env_clean();
	trk_init(&t);
	CHECK(port > 0, "port");
	CHECK((a = pod_url(port, "late-a", NULL, 0)) && (b = pod_url(port, "late-b", NULL, 0)),
	      "pods did not start without Redis");
	rstate(a, st, sizeof(st));
	CHECK(strcmp(st, "down") == 0 || strcmp(st, "connecting") == 0, "state %s", st);
	/* 0, 1 on a; 2, 3 on b; all in room late */
	for (int i = 0; i < 4; i++)
		CHECK((c[i] = ws_join(i < 2 ? a : b, WS "/late", NULL, 0)), "client %d", i);
	for (int k = 0; k < 5; k++)
		CHECK(chat_send(c[0], 0, k) == 0, "send");
	t.want[0][0] = t.want[1][0] = 5;
	CHECK(ws_pump(c, 4, 3000, trk_msg, trk_done, &t) == 0, "local chat without Redis");
	CHECK(wait_state(a, "up", 0) < 0, "a is up without Redis");
	CHECK(rstat(a, "queued") == 5, "a queued %lld", rstat(a, "queued"));
	msleep(300);

	CHECK((r = redis_start_port(port, NULL)), "redis");
	t_back = mono_ms();
	CHECK(wait_state(a, "up", 3000) == 0 && wait_state(b, "up", 3000) == 0,
	      "not up 3 s after Redis started (a %s, b %s)", rstate(a, st, sizeof(st)),
	      rstate(b, st, sizeof(st)));
	CHECK(wait_numsub(port, "realtime:room:late", 2, 3000) == 2, "NUMSUB late");
	t_up = mono_ms() - t_back;
	CHECK(t_up <= 2500, "pods up and subscribed %lld ms after Redis started", t_up);
	CHECK(rstat(a, "reconnects") >= 1, "reconnects");
	/* a's queue was flushed; b may or may not have been subscribed by then */
	for (long long end = mono_ms() + 2000; mono_ms() < end && rstat(a, "published") < 5;)
		msleep(20);
	CHECK(rstat(a, "published") == 5 && rstat(a, "queued") == 0, "a published %lld queued "
	      "%lld", rstat(a, "published"), rstat(a, "queued"));
	ws_pump(c, 4, 300, trk_msg, ws_pump_never, &t);
	int early = t.count[2][0];
	/* cross-pod both ways now */
	for (int k = 5; k < 15; k++)
		CHECK(chat_send(c[0], 0, k) == 0 && chat_send(c[3], 1, k) == 0, "send");
	for (int i = 0; i < 4; i++) {
		t.upto[i][0] = 14;
		t.upto[i][1] = 14;
	}
	CHECK(ws_pump(c, 4, 3000, trk_msg, trk_upto_done, &t) == 0, "cross-pod after Redis came");
	ws_pump(c, 4, 200, trk_msg, ws_pump_never, &t);
	CHECK(t.errors == 0, "%s", t.first_error);
	for (int i = 0; i < 4; i++)
		CHECK(t.count[i][1] == 10, "client %d got %d from b", i, t.count[i][1]);
	fprintf(stderr, "redis_later: up+subscribed %lld ms after Redis started; %d of 5 "
		"messages queued before Redis existed reached pod b\n", t_up, early);
	ws_free_all(c, 4);
}

/* ---- 7. Redis off ---------------------------------------------------------------- */

static void single_node_chat(struct chatd *h)
{
	static struct trk t;
	struct wsc *c[2];

	trk_init(&t);
	CHECK((c[0] = ws_join(h, WS "/solo", NULL, 0)) && (c[1] = ws_join(h, WS "/solo", NULL, 0)),
	      "clients");
	CHECK(chat_send(c[0], 0, 0) == 0, "send");
	t.want[0][0] = t.want[1][0] = 1;
	CHECK(ws_pump(c, 2, 3000, trk_msg, trk_done, &t) == 0, "single node chat");
	ws_free_all(c, 2);
}

static void t_off(void)
{
	struct redis *r;
	struct chatd *h;
	char st[32];

	env_clean();
	CHECK((r = redis_start()), "redis");
	/* the file says off */
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 2 })), "start off");
	CHECK(strcmp(rstate(h, st, sizeof(st)), "off") == 0, "state %s", st);
	single_node_chat(h);
	if (itest_failed())
		return;
	CHECK(rstat(h, "reconnects") == 0 && rstat(h, "published") == 0, "redis counters moved");
	CHECK(chatd_log_has(h, "single-node") && !chatd_log_has(h, "redis sub link"),
	      "log does not say single-node, or mentions a link");
	CHECK(chatd_stop(h, 5000) == 0, "exit");

	/* the file names a live Redis, REDIS_URL= (empty) wins: no connection at all */
	setenv("REDIS_URL", "", 1);
	CHECK((h = pod(r, "off-env")), "start with REDIS_URL empty");
	CHECK(strcmp(rstate(h, st, sizeof(st)), "off") == 0, "state %s with REDIS_URL=", st);
	single_node_chat(h);
	if (itest_failed())
		return;
	msleep(300);
	CHECK(r_numsub(r->port, "realtime:global") == 0, "a pod subscribed with REDIS_URL=");
	CHECK(r_clients(r->port) == 1, "Redis has %d clients (want only this test's)",
	      r_clients(r->port));
	CHECK(!chatd_log_has(h, "redis sub link") && !chatd_log_has(h, "redis pub link"),
	      "the log mentions a Redis link");
	CHECK(chatd_stop(h, 5000) == 0, "exit");

	/* REDIS_URL=off as well */
	setenv("REDIS_URL", "off", 1);
	CHECK((h = pod(r, "off-env2")), "start with REDIS_URL=off");
	CHECK(strcmp(rstate(h, st, sizeof(st)), "off") == 0, "state %s with REDIS_URL=off", st);
	CHECK(r_clients(r->port) == 1, "Redis has %d clients", r_clients(r->port));
	env_clean();
}


/* ---- 8. AUTH --------------------------------------------------------------------- */

static void t_auth(void)
{
	static struct trk t;
	struct redis *r;
	struct chatd *a, *b, *w, *n;
	struct wsc *c[4];
	char url[128], st[32];

	env_clean();
	trk_init(&t);
	CHECK((r = redis_start_port(0, "secret")), "redis with a password");
	resp_pass = "secret";
	snprintf(url, sizeof(url), "redis://:secret@127.0.0.1:%d", r->port);
	CHECK((a = pod_url(r->port, "auth-a", url, 0)) && (b = pod_url(r->port, "auth-b", url, 0)),
	      "pods");
	snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d", r->port);
	CHECK((w = pod_url(r->port, "auth-wrong", url, 0)), "pod with a wrong password");
	CHECK((n = pod_url(r->port, "auth-none", NULL, 0)), "pod without a password");
	CHECK(wait_state(a, "up", 3000) == 0 && wait_state(b, "up", 3000) == 0, "AUTH pods up");
	CHECK(wait_numsub(r->port, "realtime:global", 2, 2000) == 2, "NUMSUB global %lld",
	      r_numsub(r->port, "realtime:global"));
	/* cross-pod with AUTH */
	CHECK((c[0] = ws_join(a, WS "/sec", NULL, 0)) && (c[1] = ws_join(b, WS "/sec", NULL, 0)),
	      "clients");
	CHECK(wait_numsub(r->port, "realtime:room:sec", 2, 3000) == 2, "NUMSUB sec");
	CHECK(chat_send(c[0], 0, 0) == 0, "send");
	t.want[0][0] = t.want[1][0] = 1;
	CHECK(ws_pump(c, 2, 3000, trk_msg, trk_done, &t) == 0, "cross-pod with AUTH");
	/* the wrong password and no password: serving locally, never up, the log says why */
	CHECK((c[2] = ws_join(w, WS "/sec", NULL, 0)) && (c[3] = ws_join(n, WS "/sec", NULL, 0)),
	      "clients on the refused pods");
	CHECK(chat_send(c[2], 1, 0) == 0 && chat_send(c[3], 2, 0) == 0, "send");
	t.want[2][1] = t.want[3][2] = 1;
	CHECK(ws_pump(c, 4, 3000, trk_msg, trk_done, &t) == 0, "local chat on the refused pods");
	msleep(1000);
	CHECK(wait_state(w, "up", 0) < 0, "wrong password: state up");
	CHECK(strcmp(rstate(w, st, sizeof(st)), "down") == 0, "wrong password: state %s", st);
	CHECK(chatd_log_has(w, "WRONGPASS") || chatd_log_has(w, "invalid password"),
	      "the log does not say the password was refused");
	CHECK(wait_state(n, "up", 0) < 0, "no password against requirepass: state up");
	CHECK(chatd_log_has(n, "NOAUTH"), "no password: the log does not say NOAUTH");
	/* refused links back off (100 ms doubling) and say so once, not per attempt */
	for (int k = 0; k < 2; k++) {
		struct chatd *h = k ? n : w;

		CHECK(rstat(h, "reconnects") <= 14, "%s: %lld reconnects in ~1.5 s (no backoff?)",
		      k ? "no password" : "wrong password", rstat(h, "reconnects"));
		/* the pod's line, then two per link (sub, pub, roster): a line per
		 * attempt would be three links x several attempts */
		CHECK(file_count(h->log_path, "redis ") <= 8, "%s: %d redis log lines in ~1.5 s",
		      k ? "no password" : "wrong password", file_count(h->log_path, "redis "));
	}
	CHECK(r_numsub(r->port, "realtime:global") == 2, "a refused pod is subscribed");
	ws_pump(c, 4, 300, trk_msg, ws_pump_never, &t);
	CHECK(t.count[0][1] + t.count[0][2] + t.count[1][1] + t.count[1][2] == 0,
	      "a refused pod's message crossed");
	CHECK(pid_alive(w->pid) && pid_alive(n->pid), "a refused pod died");
	ws_free_all(c, 4);
	resp_pass = NULL;
}

/* ---- 8b. the password stays secret ---------------------------------------------- */

#define PASS_OK  "Pa55-ok-7f3e1c"
#define PASS_BAD "Pa55-bad-9d2b4a"

/* Neither password in the log, the stats or the metrics of h. */
static void no_secret_in(struct chatd *h, const char *what)
{
	static char text[1 << 18];
	char why[300];
	int st = 0;
	json_t *j = stats_try(h, why, sizeof(why));
	char *js_text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	CHECK(js_text, "%s: stats: %s", what, why);
	CHECK(!strstr(js_text, PASS_OK) && !strstr(js_text, PASS_BAD), "%s: password in stats",
	      what);
	free(js_text);
	json_decref(j);
	CHECK(wsc_http_request(HOST, h->port, "GET", "/metrics", NULL, NULL, 3000, &st, text,
			   sizeof(text)) > 0 && st == 200, "%s: metrics HTTP %d", what, st);
	CHECK(!strstr(text, PASS_OK) && !strstr(text, PASS_BAD), "%s: password in /metrics", what);
	CHECK(file_count(h->log_path, PASS_OK) == 0 && file_count(h->log_path, PASS_BAD) == 0,
	      "%s: password in the log", what);
}

/* `chatd -t` on h's config (env as set): the output has no password. */
static void no_secret_in_test(struct chatd *h, int want_rc)
{
	char out[4096];
	char *argv[] = { (char *)chatd_bin(), "-t", "-c", h->conf_path, NULL };
	int rc = run_capture(argv, out, sizeof(out), 5000);

	CHECK(rc == want_rc, "chatd -t: exit %d, want %d: %s", rc, want_rc, out);
	CHECK(!strstr(out, PASS_OK) && !strstr(out, PASS_BAD), "chatd -t shows the password: %s",
	      out);
	CHECK(want_rc == 0 || strstr(out, "redis://:***@"), "chatd -t: no masked URL: %s", out);
}

/*
 * The Redis password appears nowhere: not in the start-up, link and reload
 * log lines (at log_level debug), not in `chatd -t`, not in the stats or
 * /metrics, not in the error about a bad URL (file or REDIS_URL).
 */
static void t_secret(void)
{
	struct redis *r;
	struct chatd *a, *w, *bad;
	char url[160], conf[400];

	env_clean();
	CHECK((r = redis_start_port(0, PASS_OK)), "redis with a password");
	snprintf(url, sizeof(url), "redis://:" PASS_OK "@127.0.0.1:%d/0\nlog_level debug", r->port);
	CHECK((a = pod_url(r->port, "sec-a", url, 0)), "pod with the password");
	snprintf(url, sizeof(url), "redis://:" PASS_BAD "@127.0.0.1:%d\nlog_level debug", r->port);
	CHECK((w = pod_url(r->port, "sec-w", url, 0)), "pod with a wrong password");
	CHECK(wait_state(a, "up", 3000) == 0, "the pod with the password is not up");
	CHECK(chatd_log_has(a, "redis://:***@127.0.0.1:"), "no masked URL in the start-up log");
	msleep(1000);           /* the wrong one is refused, and says so */
	CHECK(chatd_log_has(w, "WRONGPASS") || chatd_log_has(w, "invalid password"), "no refusal");
	CHECK(kill(a->pid, SIGHUP) == 0 && kill(w->pid, SIGHUP) == 0, "SIGHUP");
	msleep(1000);
	no_secret_in(a, "right password");
	no_secret_in(w, "wrong password");
	no_secret_in_test(a, 0);
	no_secret_in_test(w, 0);
	if (itest_failed())
		return;
	/* a URL that does not parse: the error names it, masked */
	snprintf(conf, sizeof(conf), "redis_url redis://:" PASS_BAD "@127.0.0.1:99999\n");
	CHECK((bad = chatd_start(&(struct chatd_opts){ .conf = conf, .no_wait = 1 })), "spawn");
	CHECK(chatd_wait(bad, 5000) == 1, "a bad redis_url started");
	CHECK(chatd_log_has(bad, "redis_url") && chatd_log_has(bad, "redis://:***@127.0.0.1:99999"),
	      "the error does not show the URL masked");
	CHECK(file_count(bad->log_path, PASS_BAD) == 0, "the error shows the password");
	no_secret_in_test(bad, 1);
	setenv("REDIS_URL", "redis://:" PASS_BAD "@127.0.0.1:0", 1);
	no_secret_in_test(a, 1);
	env_clean();
}

/* ---- 9. bad URLs ----------------------------------------------------------------- */

static void bad_url_case(const char *url, int via_env)
{
	struct chatd *h;
	char conf_line[256], out[4096], cf[200];
	char *argv[] = { (char *)chatd_bin(), "-t", "-c", cf, NULL };
	int rc;

	env_clean();
	snprintf(conf_line, sizeof(conf_line), "redis_url %s\n", url);
	if (via_env)
		setenv("REDIS_URL", url, 1);
	CHECK((h = chatd_start(&(struct chatd_opts){ .conf = via_env ? "" : conf_line,
						    .no_wait = 1 })), "spawn");
	rc = chatd_wait(h, 5000);
	CHECK(rc == 1, "%s%s: exit %d, want 1", via_env ? "REDIS_URL=" : "redis_url ", url, rc);
	CHECK(chatd_log_has(h, "redis_url") || chatd_log_has(h, "REDIS_URL"),
	      "%s: the message does not name redis_url", url);
	snprintf(cf, sizeof(cf), "%s", h->conf_path);
	rc = run_capture(argv, out, sizeof(out), 5000);
	CHECK(rc == 1, "chatd -t with %s: exit %d, want 1 (%s)", url, rc, out);
	CHECK(strstr(out, "redis_url") || strstr(out, "REDIS_URL"), "chatd -t: %s", out);
	env_clean();
}

static void t_bad_url(void)
{
	char cf[200], out[4096];
	char *argv[] = { (char *)chatd_bin(), "-t", "-c", cf, NULL };
	struct chatd *h;

	bad_url_case("http://x", 0);
	bad_url_case("http://x", 1);
	bad_url_case("redis://127.0.0.1:99999", 0);
	bad_url_case("redis://bob:pw@127.0.0.1:6379", 0);
	bad_url_case("redis://127.0.0.1:6379/x", 0);
	if (itest_failed())
		return;
	/* control: a good URL passes -t */
	env_clean();
	CHECK((h = chatd_start(&(struct chatd_opts){ .conf = "redis_url redis://:p%40ss@h.example:6380/2\n",
						    .no_wait = 1 })), "spawn");
	snprintf(cf, sizeof(cf), "%s", h->conf_path);
	kill(h->pid, SIGKILL);
	chatd_wait(h, 2000);
	CHECK(run_capture(argv, out, sizeof(out), 5000) == 0, "chatd -t with a good URL: %s", out);
}

/* Room joins reach the master even when the worker's uplink is full for a
 * while: the master is stopped, 1,600 clients join 1,600 rooms (more JOIN records than it holds) through a small
 * uplink, the master goes on, and the pod ends up subscribed to every room. */
#define JB_ROOMS 1600
static void t_join_backlog(void)
{
	struct redis *r = redis_start();
	struct chatd *h;
	static struct wsc *c[JB_ROOMS];
	char path[64];
	long long subs = -1;

	CHECK(r, "redis");
	h = chatd_start(&(struct chatd_opts){ .workers = 1, .redis_port = r->port,
		.conf = "pod_id jb\npresence off\nuplink_size 64k\nmax_message_size 8k\n" });
	CHECK(h, "start");
	CHECK(wait_state(h, "up", 3000) == 0, "up");
	kill(h->pid, SIGSTOP);
	for (int i = 0; i < JB_ROOMS; i++) {
		snprintf(path, sizeof(path), WS "/jb-room-with-a-long-name-%d", i);
		c[i] = ws_join(h, path, NULL, 0);
		if (c[i] == NULL)
			break;
	}
	kill(h->pid, SIGCONT);
	for (int i = 0; i < JB_ROOMS; i++)
		CHECK(c[i], "client %d", i);
	for (long long end = mono_ms() + 5000; mono_ms() < end && subs != JB_ROOMS; msleep(100))
		subs = rstat(h, "subscribed_rooms");
	CHECK(subs == JB_ROOMS, "subscribed to %lld of %d rooms after the uplink was full",
	      subs, JB_ROOMS);
	CHECK(r_numsub(r->port, "realtime:room:jb-room-with-a-long-name-1599") == 1, "NUMSUB");
	for (int i = 0; i < JB_ROOMS; i++)
		wsc_free(c[i]);
}

/* While Redis is away the publish queue is bounded in bytes too
 * (redis_queue_bytes): 20 messages of 7 KB against 64 KiB keep 9 at most. */
static void t_queue_bytes(void)
{
	char conf[256];
	static char big[7001];
	struct chatd *h;
	struct wsc *c;

	memset(big, 'q', sizeof(big) - 1);
	snprintf(conf, sizeof(conf), "redis_url redis://127.0.0.1:%d\npresence off\n"
		 "redis_queue_bytes 64k\nmax_message_size 8k\n", free_port());
	CHECK((h = chatd_start(&(struct chatd_opts){ .workers = 1, .conf = conf })), "start");
	CHECK((c = ws_join(h, WS "/qb", NULL, 0)), "client");
	for (int i = 0; i < 20; i++) {
		CHECK(ws_sendf(c, "{\"type\":\"chat\",\"data\":{\"i\":%d,\"p\":\"%s\"}}", i,
			       big) == 0, "send %d", i);
		json_t *j = ws_recv_type(c, "chat", 3000);   /* local delivery goes on */
		CHECK(j, "local delivery of %d", i);
		json_decref(j);
	}
	long long queued = rstat(h, "queued"), over = rstat(h, "queue_overflow");
	/* each queued envelope holds more than the 7,000-byte payload */
	CHECK(queued >= 1 && queued <= 65536 / 7000 && queued + over == 20,
	      "queued %lld, overflow %lld: want at most %d queued (64k / 7k) and the rest counted",
	      queued, over, 65536 / 7000);
	wsc_free(c);
}

/* ---- Redis faults (issue 13) and frames from other pods --------------------------- */

/* A pod like pod()'s with extra config lines. */
static struct chatd *pod_extra(struct redis *r, const char *id, const char *extra)
{
	char conf[512];

	snprintf(conf, sizeof(conf), "pod_id %s\npresence off\n%s", id, extra);
	return chatd_start(&(struct chatd_opts){ .workers = 2, .redis_port = r->port,
						 .conf = conf });
}

/* n chats from c[from] (sender s, seqs q0..), then each of c[to] gets them all. */
static int flows(struct wsc **c, int nc, int from, int s, int q0, int n, struct trk *t)
{
	for (int q = q0; q < q0 + n; q++)
		if (chat_send(c[from], s, q) != 0)
			return -1;
	for (int i = 0; i < nc; i++)
		t->upto[i][s] = q0 + n - 1;
	return ws_pump(c, nc, 5000, trk_msg, trk_upto_done, t);
}

/* Pods a and b on r, pod ids id-a / id-b, a client of each in room id,
 * both up and subscribed; 0 / -1 with the failure recorded. */
static int two_pods(struct redis *r, const char *id, struct chatd **p, struct wsc **c)
{
	char name[2][32], path[64], chan[64];

	snprintf(name[0], sizeof(name[0]), "%s-a", id);
	snprintf(name[1], sizeof(name[1]), "%s-b", id);
	snprintf(path, sizeof(path), WS "/%s", id);
	snprintf(chan, sizeof(chan), "realtime:room:%s", id);
	CHECKR((p[0] = pod(r, name[0])) && (p[1] = pod(r, name[1])), -1, "pods");
	CHECKR((c[0] = ws_join(p[0], path, NULL, 0)) && (c[1] = ws_join(p[1], path, NULL, 0)),
	       -1, "clients");
	CHECKR(wait_state(p[0], "up", 3000) == 0 && wait_state(p[1], "up", 3000) == 0, -1, "up");
	CHECKR(wait_numsub(r->port, chan, 2, 3000) == 2, -1, "NUMSUB");
	return 0;
}

/* Redis frozen (SIGSTOP: a hung server, a partition without RST): with the
 * default redis_health_interval 1s and redis_timeout 3s the state leaves
 * up within about 4 s, each link dropped counts in redis.timeouts, and once
 * Redis runs again both pods are back up and messages cross again. */
static void t_frozen(void)
{
	static struct trk t;
	struct redis *r;
	struct chatd *p[2];
	struct wsc *c[2];
	long long t0, took[2] = { -1, -1 };
	char st[32];

	env_clean();
	trk_init(&t);
	CHECK((r = redis_start()), "redis");
	if (two_pods(r, "fz", p, c) < 0)
		return;
	CHECK(flows(c, 2, 0, 0, 0, 5, &t) == 0, "before the freeze");

	kill(r->pid, SIGSTOP);
	t0 = mono_ms();
	/* the bound: redis_timeout + redis_health_interval, and 3 s of slack for a loaded box */
	for (long long end = t0 + 3000 + 1000 + 3000; mono_ms() < end &&
	     (took[0] < 0 || took[1] < 0); msleep(50))
		for (int k = 0; k < 2; k++)
			if (took[k] < 0 && strcmp(rstate(p[k], st, sizeof(st)), "up") != 0)
				took[k] = mono_ms() - t0;
	kill(r->pid, SIGCONT);
	fprintf(stderr, "frozen: state left up after %lld / %lld ms\n", took[0], took[1]);
	CHECK(took[0] >= 0 && took[1] >= 0, "a frozen Redis went unnoticed: state still up "
	      "after 7 s (a %lld ms, b %lld ms)", took[0], took[1]);
	for (int k = 0; k < 2; k++)
		CHECK(rstat(p[k], "timeouts") >= 1, "pod %c: redis.timeouts %lld", 'a' + k,
		      rstat(p[k], "timeouts"));
	CHECK(wait_state(p[0], "up", 10000) == 0 && wait_state(p[1], "up", 10000) == 0,
	      "not up again after SIGCONT (a %s)", rstate(p[0], st, sizeof(st)));
	CHECK(wait_numsub(r->port, "realtime:room:fz", 2, 5000) == 2, "NUMSUB after SIGCONT");
	CHECK(flows(c, 2, 0, 0, 100, 10, &t) == 0, "a to b after the freeze");
	CHECK(flows(c, 2, 1, 1, 0, 10, &t) == 0, "b to a after the freeze");
	CHECK(t.errors == 0, "%s", t.first_error);
	ws_free_all(c, 2);
}

/* Redis drops the subscribers (CLIENT KILL TYPE pubsub): each pod counts
 * the window in redis.sub_gaps, resubscribes, and messages cross again. */
static void t_sub_gap(void)
{
	static struct trk t;
	const char *kill_sub[] = { "CLIENT", "KILL", "TYPE", "pubsub" };
	struct redis *r;
	struct chatd *p[2];
	struct wsc *c[2];

	env_clean();
	trk_init(&t);
	CHECK((r = redis_start()), "redis");
	if (two_pods(r, "sg", p, c) < 0)
		return;
	CHECK(rstat(p[0], "sub_gaps") == 0 && rstat(p[1], "sub_gaps") == 0,
	      "redis.sub_gaps before: %lld", rstat(p[0], "sub_gaps"));
	for (int round = 1; round <= 2; round++) {
		CHECK(rcall(r->port, 4, kill_sub, NULL, &rv) == 0 && rv.type[0] == ':' &&
		      rv.num[0] == 2, "CLIENT KILL TYPE pubsub: %c%lld", rv.type[0], rv.num[0]);
		for (int k = 0; k < 2; k++) {
			long long end = mono_ms() + 3000;

			while (rstat(p[k], "sub_gaps") < round && mono_ms() < end)
				msleep(20);
			CHECK(rstat(p[k], "sub_gaps") == round, "pod %c: redis.sub_gaps %lld after "
			      "%d kills", 'a' + k, rstat(p[k], "sub_gaps"), round);
		}
		CHECK(wait_numsub(r->port, "realtime:room:sg", 2, 5000) == 2, "not resubscribed");
		CHECK(wait_state(p[0], "up", 5000) == 0 && wait_state(p[1], "up", 5000) == 0, "up");
		CHECK(flows(c, 2, 0, 0, round * 10, 10, &t) == 0, "a to b after kill %d", round);
		CHECK(flows(c, 2, 1, 1, round * 10, 10, &t) == 0, "b to a after kill %d", round);
	}
	CHECK(t.errors == 0, "%s", t.first_error);
	ws_free_all(c, 2);
}

/* Frames PUBLISHed straight into Redis in well-formed envelopes from
 * another pod id, checked like a client's: none of the bad ones reaches a
 * client, each counts in redis.malformed, the good ones pass. */
static void t_peer_frames(void)
{
	static const char *const bad[] = {
		"{\"type\":\"chat\",\"room\":\"pv\",\"from\":\"x\",\"data\":{\"bad\":\"\xff\xfe\"}}",
		"bad: not JSON",
		"[\"bad\"]",
		"{\"type\":\"chat\",\"room\":\"pv\",\"from\":\"x\",\"data\":{\"bad\":1},\"data\":{}}",
		"{\"room\":\"pv\",\"from\":\"x\",\"data\":{\"bad\":1}}",
		"{\"type\":\"chat\",\"room\":\"pv\",\"from\":\"x\",\"data\":\"bad\"}",
		"{\"type\":\"system\",\"room\":\"pv\",\"from\":\"server\",\"data\":{\"bad\":1}}",
		"{\"type\":\"error\",\"room\":\"pv\",\"from\":\"server\",\"data\":{\"bad\":1}}",
		"{\"type\":\"pong\",\"room\":\"pv\",\"from\":\"server\",\"data\":{\"bad\":1}}",
		"{\"type\":\"chat\",\"room\":\"elsewhere\",\"from\":\"x\",\"data\":{\"bad\":1}}",
		"{\"type\":\"chat\",\"from\":\"x\",\"data\":{\"bad\":1}}",
		"{\"type\":\"presence\",\"room\":\"pv\",\"from\":\"x\",\"data\":{\"status\":\"bad\"}}",
	};
	static const char *const good[] = {
		"{\"type\":\"chat\",\"room\":\"pv\",\"from\":\"x\",\"data\":{\"good\":1}}",
		"{\"type\":\"notification\",\"room\":\"pv\",\"from\":\"x\",\"data\":{\"good\":2}}",
		"{\"type\":\"system\",\"room\":\"pv\",\"from\":\"ops-bot\",\"data\":{\"good\":3}}",
		"{\"type\":\"presence\",\"room\":\"pv\",\"from\":\"x\",\"data\":{\"status\":\"online\",\"good\":4}}",
	};
	const size_t nbad = sizeof(bad) / sizeof(bad[0]), ngood = sizeof(good) / sizeof(good[0]);
	struct redis *r;
	struct chatd *h;
	struct wsc *c;
	unsigned char buf[512];
	struct wsc_msg m;
	int got = 0, leaked = 0;
	size_t n;

	env_clean();
	CHECK((r = redis_start()), "redis");
	CHECK((h = pod_extra(r, "pv-a", "publish_from ops-bot\n")), "pod");
	CHECK((c = ws_join(h, WS "/pv", NULL, 0)), "client");
	CHECK(wait_state(h, "up", 3000) == 0, "up");
	CHECK(wait_numsub(r->port, "realtime:room:pv", 1, 3000) == 1, "NUMSUB");
	for (size_t i = 0; i < nbad; i++) {
		n = hand_envelope(buf, 1, "evil", "pv", bad[i]);
		CHECK(r_publish(r->port, "realtime:room:pv", buf, n) == 1, "publish bad %zu", i);
	}
	/* a room message on the global channel's envelope (room "") */
	n = hand_envelope(buf, 1, "evil", "", "{\"type\":\"chat\",\"room\":\"pv\",\"from\":\"x\","
			  "\"data\":{\"bad\":1}}");
	CHECK(r_publish(r->port, "realtime:global", buf, n) == 1, "publish bad global");
	for (size_t i = 0; i < ngood; i++) {
		n = hand_envelope(buf, 1, "evil", "pv", good[i]);
		CHECK(r_publish(r->port, "realtime:room:pv", buf, n) == 1, "publish good %zu", i);
	}
	/* the good ones arrive; then nothing else for a while */
	for (long long end = mono_ms() + 3000; mono_ms() < end;) {
		if (wsc_recv(c, 100, &m) <= 0 || m.opcode == WSC_OP_CLOSE) {
			if (got == (int)ngood)
				break;
			continue;
		}
		if (m.opcode != WSC_OP_TEXT)
			continue;
		if (memmem(m.data, m.len, "\"good\"", 6))
			got++;
		else
			leaked++;
	}
	CHECK(leaked == 0, "%d bad frames from Redis reached the client", leaked);
	CHECK(got == (int)ngood, "%d of %zu good frames arrived", got, ngood);
	for (long long end = mono_ms() + 2000; mono_ms() < end &&
	     rstat(h, "malformed") < (long long)nbad + 1;)
		msleep(20);
	CHECK(rstat(h, "malformed") == (long long)nbad + 1, "redis.malformed %lld, want %zu",
	      rstat(h, "malformed"), nbad + 1);
	CHECK(rstat(h, "received") == (long long)ngood, "redis.received %lld, want %zu",
	      rstat(h, "received"), ngood);
	wsc_free(c);
}

const struct itest_case t_redis_cases[] = {
	{ "redis_exactly_once", t_exactly_once, 0 },
	{ "redis_isolation", t_isolation, 0 },
	{ "redis_interest", t_interest, 0 },
	{ "redis_garbage", t_garbage, 0 },
	{ "redis_restart", t_restart, 0 },
	{ "redis_later", t_redis_later, 0 },
	{ "redis_off", t_off, 0 },
	{ "redis_auth", t_auth, 0 },
	{ "redis_secret", t_secret, 0 },
	{ "redis_bad_url", t_bad_url, 0 },
	{ "redis_join_backlog", t_join_backlog, 0 },
	{ "redis_queue_bytes", t_queue_bytes, 0 },
	{ "redis_frozen", t_frozen, 0 },
	{ "redis_sub_gap", t_sub_gap, 0 },
	{ "redis_peer_frames", t_peer_frames, 0 },
	{ NULL, NULL, 0 }
};
