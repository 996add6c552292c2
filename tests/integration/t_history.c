/* SPDX-License-Identifier: MIT */
/*
 * t_history.c - room history (issue 16) through the real daemon, single
 * node and across pods sharing a real redis-server: offsets and epochs on
 * every stored message, the same on every pod; ?history=N on join (oldest
 * first, "history":true, then live); recovery with ?since=&epoch= with no
 * duplicate and no hole while others keep publishing; recovered:false past
 * retention, with another epoch and after FLUSHALL; 400 for a bad query.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HIST_CONF "history_size 50\nrate_limit 100000\nrate_burst 100000\npresence off\n"
#define ROUNDS 5

static long long jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* data.n of a chat, -1 when absent. */
static long long data_n(json_t *o)
{
	return jint(json_object_get(o, "data"), "n");
}

/* Send chats with data.n from..to-1 (and tag, so rounds do not mix). */
static int send_range(struct wsc *c, int from, int to)
{
	for (int i = from; i < to; i++)
		if (ws_sendf(c, "{\"type\":\"chat\",\"data\":{\"n\":%d}}", i) < 0)
			return -1;
	return 0;
}

/*
 * Read chats on c until the one with data.n == last; each chat's offset
 * goes into offs (at most max).  Returns how many, or -1 on timeout.  The
 * welcome (type system) may come first: its data is copied into *welcome
 * (if not NULL; the caller decrefs).
 */
static int read_until(struct wsc *c, long long last, long long *offs, int max, json_t **welcome)
{
	int n = 0;

	for (;;) {
		json_t *m = ws_recv_json(c, 10000);

		if (m == NULL)
			return -1;
		if (strcmp(js(m, "type"), "system") == 0 && welcome != NULL) {
			*welcome = json_incref(json_object_get(m, "data"));
		} else if (strcmp(js(m, "type"), "chat") == 0) {
			long long dn = data_n(m);

			if (n < max)
				offs[n] = jint(m, "offset");
			n++;
			if (dn == last) {
				json_decref(m);
				return n;
			}
		}
		json_decref(m);
	}
}

/* Read `want` chats on c (any order): their offsets into offs.  want, or
 * how many came before a timeout. */
static int read_n(struct wsc *c, int want, long long *offs)
{
	int n = 0;

	while (n < want) {
		json_t *m = ws_recv_json(c, 10000);

		if (m == NULL)
			break;
		if (strcmp(js(m, "type"), "chat") == 0)
			offs[n++] = jint(m, "offset");
		json_decref(m);
	}
	return n;
}

/* offs[0..n) is exactly first, first+1, ...: no duplicate, no hole. */
static int contiguous(const long long *offs, int n, long long first)
{
	for (int i = 0; i < n; i++)
		if (offs[i] != first + i)
			return 0;
	return 1;
}

/* The welcome's data on a new connection to path, and the message after it
 * (*next, may be NULL); NULL on timeout. */
static json_t *welcome_of(struct chatd *h, const char *path, json_t **next, struct wsc **keep)
{
	struct wsc *c = wsc_connect(HOST, h->port, path, NULL, 5000, NULL);
	json_t *m = c ? ws_recv_json(c, 5000) : NULL, *d = NULL;

	if (m != NULL)
		d = json_incref(json_object_get(m, "data"));
	json_decref(m);
	if (next != NULL)
		*next = c ? ws_recv_json(c, 2000) : NULL;
	if (keep != NULL)
		*keep = c;
	else
		wsc_free(c);
	return d;
}

/* ---- one node or two pods ------------------------------------------------------- */

struct pods {
	struct redis *r;
	struct chatd *p[2];
	int n;
};

static int pods_start(struct pods *ps, int redis, int npods, const char *conf)
{
	memset(ps, 0, sizeof(*ps));
	if (redis && (ps->r = redis_start()) == NULL)
		return -1;
	for (int i = 0; i < npods; i++) {
		struct chatd_opts o = { .workers = 2, .conf = conf,
					.redis_port = ps->r ? ps->r->port : 0 };

		if ((ps->p[i] = chatd_start(&o)) == NULL)
			return -1;
	}
	ps->n = npods;
	return 0;
}

/* One check on one node (single) or on two pods sharing a redis-server. */
#define ON_BOTH(check, conf)                                                        \
	static void check##_single(void)                                        \
	{                                                                       \
		struct pods ps;                                                 \
		CHECK(pods_start(&ps, 0, 1, conf) == 0, "start");               \
		check(&ps);                                                     \
	}                                                                       \
	static void check##_pods(void)                                          \
	{                                                                       \
		struct pods ps;                                                 \
		CHECK(pods_start(&ps, 1, 2, conf) == 0, "start");               \
		check(&ps);                                                     \
	}

/* ---- offsets on stored messages ------------------------------------------------- */

static void offsets_check(struct pods *ps)
{
	struct wsc *a = ws_join(ps->p[0], WS "/off?history=0", NULL, 0);
	struct wsc *b = ws_join(ps->p[ps->n - 1], WS "/off", NULL, 0);
	long long oa[10], ob[10];
	char epoch[64] = "";
	struct wsc_msg m;
	int n;

	CHECK(a != NULL && b != NULL, "join");
	msleep(300);                                 /* the pods have subscribed */
	CHECK(send_range(a, 0, 3) == 0 && send_range(b, 3, 6) == 0, "send");
	CHECK((n = read_n(a, 6, oa)) == 6, "a got %d of 6", n);
	CHECK((n = read_n(b, 6, ob)) == 6, "b got %d of 6", n);
	/* one order for the room, the same on every pod: 1..6 */
	CHECK(contiguous(oa, 6, 1) && contiguous(ob, 6, 1), "offsets %lld %lld %lld %lld %lld %lld / "
	      "%lld %lld %lld %lld %lld %lld (want 1..6 on both)", oa[0], oa[1], oa[2], oa[3],
	      oa[4], oa[5], ob[0], ob[1], ob[2], ob[3], ob[4], ob[5]);
	/* byte-exact data, the offset and epoch spliced in front */
	CHECK(ws_sendf(a, "{\"type\":\"chat\",\"data\":{\"x\":1.0,\"n\":99}}") == 0, "send");
	CHECK(wsc_recv(a, 5000, &m) == 1, "raw frame");
	CHECK(strncmp(m.data, "{\"offset\":7,\"epoch\":\"", 21) == 0, "frame starts %.40s", m.data);
	CHECK(memmem(m.data, m.len, "\"data\":{\"x\":1.0,\"n\":99}", 23) != NULL, "data verbatim");
	sscanf(m.data + 21, "%63[^\"]", epoch);
	CHECK(epoch[0] != '\0', "epoch");
	wsc_free(a);
	wsc_free(b);
}

ON_BOTH(offsets_check, HIST_CONF)

/* ---- history on join ------------------------------------------------------------- */

static void on_join_check(struct pods *ps)
{
	struct wsc *a = ws_join(ps->p[0], WS "/hj", NULL, 0), *b;
	long long offs[64];
	json_t *m, *w = NULL;

	CHECK(a != NULL, "join");
	CHECK(send_range(a, 0, 60) == 0, "send");
	CHECK(read_until(a, 59, offs, 64, NULL) == 60 && contiguous(offs, 60, 1), "live 1..60");
	b = wsc_connect(HOST, ps->p[ps->n - 1]->port, WS "/hj?history=3", NULL, 5000, NULL);
	CHECK(b != NULL, "connect with history=3");
	m = ws_recv_json(b, 5000);
	CHECK(m != NULL && strcmp(js(m, "type"), "system") == 0, "welcome first");
	w = json_object_get(m, "data");
	CHECK(jint(w, "offset") == 60 && json_is_string(json_object_get(w, "epoch")),
	      "welcome says offset 60 and the epoch");
	CHECK(json_object_get(w, "recovered") == NULL, "no recovered without since");
	json_decref(m);
	for (int i = 0; i < 3; i++) {
		m = ws_recv_json(b, 5000);
		CHECK(m != NULL && strcmp(js(m, "type"), "chat") == 0, "history %d", i);
		CHECK(json_is_true(json_object_get(m, "history")), "history:true");
		CHECK(jint(m, "offset") == 58 + i && data_n(m) == 57 + i, "oldest first: %lld",
		      jint(m, "offset"));
		json_decref(m);
	}
	CHECK(send_range(a, 60, 61) == 0, "send live");
	m = ws_recv_json(b, 5000);
	CHECK(m != NULL && jint(m, "offset") == 61 &&
	      json_object_get(m, "history") == NULL, "then live, not marked");
	json_decref(m);
	wsc_free(b);
	/* more than kept: all 50 kept (12..61) */
	b = wsc_connect(HOST, ps->p[0]->port, WS "/hj?history=10000", NULL, 5000, NULL);
	CHECK(b != NULL, "connect");
	m = ws_recv_json(b, 5000);                   /* the welcome: the answer is in */
	CHECK(m != NULL && jint(json_object_get(m, "data"), "offset") == 61, "welcome at 61");
	json_decref(m);
	CHECK(send_range(a, 61, 62) == 0, "send live");
	CHECK(read_until(b, 61, offs, 64, NULL) == 51 && contiguous(offs, 51, 12),
	      "history 12..61 then live 62 (first %lld)", offs[0]);
	wsc_free(b);
	wsc_free(a);
}

ON_BOTH(on_join_check, HIST_CONF)

/* ---- recovery under concurrent publishing ----------------------------------------- */

/*
 * ROUNDS times: a reads up to some offset, drops its connection; b keeps
 * sending (before a reconnects, and while a's history read is in flight);
 * a reconnects with since=&epoch= and must see exactly since+1 .. the last.
 */
static void recover_check(struct pods *ps)
{
	struct wsc *a = ws_join(ps->p[0], WS "/rc?history=0", NULL, 0);
	struct wsc *b = ws_join(ps->p[ps->n - 1], WS "/rc", NULL, 0);
	long long offs[256], since;
	char path[256], epoch[64];
	json_t *w = NULL;
	int next = 0, n;

	CHECK(a != NULL && b != NULL, "join");
	msleep(300);
	CHECK(send_range(b, 0, 10) == 0, "send");
	CHECK(read_until(a, 9, offs, 256, NULL) == 10, "first 10");
	since = offs[9];
	next = 10;
	for (int r = 0; r < ROUNDS; r++) {
		json_t *m = NULL;

		wsc_free(a);
		CHECK(send_range(b, next, next + 30) == 0, "send while away");
		next += 30;
		if (w == NULL) {                        /* the epoch: from a frame */
			struct wsc *c = ws_join(ps->p[0], WS "/rc?history=1", NULL, 0);

			CHECK(c != NULL && (m = ws_recv_json(c, 5000)) != NULL, "epoch");
			snprintf(epoch, sizeof(epoch), "%s", js(m, "epoch"));
			json_decref(m);
			wsc_free(c);
		}
		json_decref(w);
		w = NULL;
		snprintf(path, sizeof(path), WS "/rc?since=%lld&epoch=%s", since, epoch);
		a = wsc_connect(HOST, ps->p[r % ps->n]->port, path, NULL, 5000, NULL);
		CHECK(a != NULL, "reconnect");
		CHECK(send_range(b, next, next + 30) == 0, "send while recovering");
		next += 30;
		n = read_until(a, next - 1, offs, 256, &w);
		if (w == NULL || !json_is_true(json_object_get(w, "recovered"))) {
			char *d = w ? json_dumps(w, JSON_COMPACT) : NULL;

			CHECK(0, "round %d: recovered:true (since %lld epoch %s), got %s", r, since,
			      epoch, d ? d : "no welcome");
		}
		/* every message after since, up to the last one sent, once each */
		CHECK(n >= 60 && n <= 256 && contiguous(offs, n, since + 1),
		      "round %d: %d messages from %lld (want %lld..): a duplicate or a hole",
		      r, n, n > 0 ? offs[0] : -1, since + 1);
		CHECK(send_range(b, next, next + 1) == 0, "send");
		CHECK(read_until(a, next, offs, 256, NULL) == 1, "live after");
		next++;
		since = offs[0] - 10;                   /* pretend the last 10 were not seen */
	}
	json_decref(w);
	wsc_free(a);
	wsc_free(b);
}

/* kept: more than a round sends, so every round can recover */
ON_BOTH(recover_check, "history_size 200\nrate_limit 100000\nrate_burst 100000\n")

/* ---- recovery on a pod that has not subscribed to the room yet ---------------------- */

#define FS_ROOMS  4
#define FS_ROUNDS 30
#define FS_CLIENTS 8      /* recovering at once per room */
#define FS_READ_MS 150    /* the first of them reads what comes for this long */

/* The child: chats into every room on pod a, steadily, until killed (at
 * most 120 s); what comes back is drained so it is never a slow consumer. */
static void fs_publish(int port)
{
	struct chatd h = { .port = port };
	struct wsc *c[FS_ROOMS];
	char path[64];
	json_t *m;

	for (int i = 0; i < FS_ROOMS; i++) {
		snprintf(path, sizeof(path), WS "/fs%d", i);
		if ((c[i] = ws_join(&h, path, NULL, 0)) == NULL)
			_exit(1);
	}
	for (long long end = mono_ms() + 120000, n = 0; mono_ms() < end; n++) {
		for (int i = 0; i < FS_ROOMS; i++) {
			if (ws_sendf(c[i], "{\"type\":\"chat\",\"data\":{\"n\":%lld}}", n) < 0)
				_exit(1);
			while ((m = ws_recv_json(c[i], 0)) != NULL)
				json_decref(m);
		}
		usleep(1000);
	}
	_exit(0);
}

/* A recovering client c: recovered:true, then chats each offset once, in
 * order, from since + 1, until the offset upto (0: whatever comes in
 * FS_READ_MS).  The last offset read, or -1 (reported). */
static long long fs_read(struct wsc *c, long long since, long long upto, const char *what)
{
	long long off = since, end = mono_ms() + FS_READ_MS;
	json_t *m = ws_recv_json(c, 10000);
	int ok = json_is_true(json_object_get(json_object_get(m, "data"), "recovered"));

	json_decref(m);
	CHECKR(ok, -1, "%s: no welcome with recovered:true from %lld", what, since);
	while (upto > 0 ? off < upto : off == since || mono_ms() < end) {
		CHECKR((m = ws_recv_json(c, 10000)) != NULL, -1, "%s: silent after %lld", what, off);
		if (strcmp(js(m, "type"), "chat") == 0 && jint(m, "offset") != off + 1) {
			long long got = jint(m, "offset");

			json_decref(m);
			CHECKR(0, -1, "%s: offset %lld after %lld (from %lld): %s", what, got, off,
			       since, got > off ? "a hole" : "a duplicate");
		}
		if (strcmp(js(m, "type"), "chat") == 0)
			off++;
		json_decref(m);
	}
	return off;
}

/* One round: FS_CLIENTS per room recover on pod b at once, from since[]
 * (then the last offset read).  0, or -1 (reported). */
static int fs_round(struct chatd *b, long long *since, char (*epoch)[64], int round)
{
	struct wsc *c[FS_ROOMS][FS_CLIENTS] = { { NULL } };
	char path[160], what[64];
	long long last = 0;
	int rc = 0;

	for (int i = 0; i < FS_ROOMS; i++)
		for (int k = 0; k < FS_CLIENTS; k++) {
			snprintf(path, sizeof(path), WS "/fs%d?since=%lld&epoch=%s", i, since[i],
				 epoch[i]);
			c[i][k] = wsc_connect(HOST, b->port, path, NULL, 5000, NULL);
		}
	for (int i = 0; i < FS_ROOMS && rc == 0; i++)
		for (int k = 0; k < FS_CLIENTS && rc == 0; k++) {
			snprintf(what, sizeof(what), "round %d room %d client %d", round, i, k);
			if (c[i][k] == NULL)
				itest_fail(__FILE__, __LINE__, "%s: connect", what);
			else
				last = fs_read(c[i][k], since[i], k ? last : 0, what);
			rc = last < 0 || c[i][k] == NULL ? -1 : 0;
			since[i] = k == FS_CLIENTS - 1 ? last : since[i];
		}
	for (int i = 0; i < FS_ROOMS; i++)
		ws_free_all(c[i], FS_CLIENTS);
	return rc;
}

/* Where each room stands on pod a, then the rounds on pod b. */
static void fs_rounds(struct pods *ps)
{
	long long since[FS_ROOMS];
	char epoch[FS_ROOMS][64], path[64];
	int got = 0;

	for (int i = 0; i < FS_ROOMS; i++) {
		struct wsc *c;
		json_t *m;

		snprintf(path, sizeof(path), WS "/fs%d?history=1", i);
		c = ws_join(ps->p[0], path, NULL, 0);
		m = c ? ws_recv_type(c, "chat", 10000) : NULL;
		if (m != NULL) {
			since[i] = jint(m, "offset");
			snprintf(epoch[i], sizeof(epoch[i]), "%s", js(m, "epoch"));
			got++;
		}
		json_decref(m);
		wsc_free(c);
	}
	CHECK(got == FS_ROOMS, "the publisher's first chats");
	for (int r = 0; r < FS_ROUNDS && fs_round(ps->p[1], since, epoch, r) == 0; r++)
		msleep(100);                       /* pod b has no member left: unsubscribed */
}

/*
 * Issue 16: rooms with members on pod a only, a publisher there sending
 * steadily; clients recover on pod b with since=&epoch=, b's first member
 * of the room each time (b subscribes for it while it reads the history).
 * FS_ROUNDS times per room: every message after since exactly once.
 */
static void t_recover_first_sub(void)
{
	struct pods ps;
	pid_t kid;

	CHECK(pods_start(&ps, 1, 2, "history_size 1000\nsend_queue 4096\nrate_limit 100000\n"
			 "rate_burst 100000\npresence off\n") == 0, "start");
	CHECK((kid = fork()) >= 0, "fork");
	if (kid == 0)
		fs_publish(ps.p[0]->port);
	fs_rounds(&ps);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
}

/*
 * An HTTP publish to a room with no member on that pod has no subscription
 * to wait for: numbered at once, it reaches the room's members on the other
 * pod with its offset.
 */
static void t_publish_elsewhere(void)
{
	struct pods ps;
	struct wsc *a;
	json_t *m;
	char body[512];
	int st = 0;

	CHECK(pods_start(&ps, 1, 2, "history_size 50\npresence off\npublish_key k3y\n") == 0,
	      "start");
	CHECK((a = ws_join(ps.p[0], WS "/pe", NULL, 0)) != NULL, "join");
	msleep(300);                                 /* pod 0 has subscribed */
	CHECK(wsc_http_request(HOST, ps.p[1]->port, "POST", "/api/chat-api/publish",
			       "Authorization: Bearer k3y\r\n", "{\"room\":\"pe\",\"data\":{\"n\":1}}",
			       3000, &st, body, sizeof(body)) >= 0 && st == 200,
	      "publish: HTTP %d %s", st, body);
	m = ws_recv_json(a, 10000);
	CHECK(m != NULL, "the published message");
	st = (int)jint(m, "offset");
	json_decref(m);
	CHECK(st == 1, "offset %d, want 1", st);
	wsc_free(a);
}

/*
 * A room's only member on a pod leaves and another joins at once, again and
 * again (the pod unsubscribes and subscribes back, sometimes before Redis
 * answered the UNSUBSCRIBE: broker.c's "leaving" rooms): every time, what
 * the other pod sends then arrives, and a recovery there is answered
 * recovered:true.
 */
static void t_rejoin_at_once(void)
{
	struct pods ps;
	struct wsc *a, *b = NULL;
	json_t *m = NULL;
	char path[128], epoch[64] = "";
	long long off = 0;

	CHECK(pods_start(&ps, 1, 2, "history_size 50\npresence off\n") == 0, "start");
	CHECK((a = ws_join(ps.p[0], WS "/ra", NULL, 0)) != NULL, "join a");
	for (int r = 0; r < 40; r++) {
		wsc_free(b);
		if (r == 0)                     /* the welcome: after the SUBSCRIBE */
			snprintf(path, sizeof(path), WS "/ra?history=0");
		else
			snprintf(path, sizeof(path), WS "/ra?since=%lld&epoch=%s", off, epoch);
		b = wsc_connect(HOST, ps.p[1]->port, path, NULL, 5000, NULL);
		CHECK(b != NULL && (m = ws_recv_json(b, 10000)) != NULL, "round %d: welcome", r);
		if (r > 0 && !json_is_true(json_object_get(json_object_get(m, "data"), "recovered"))) {
			json_decref(m);
			CHECK(0, "round %d: recovered:false from %lld", r, off);
		}
		json_decref(m);
		CHECK(ws_sendf(a, "{\"type\":\"chat\",\"data\":{\"n\":%d}}", r) >= 0, "send");
		m = ws_recv_type(b, "chat", 5000);
		CHECK(m != NULL && data_n(m) == r, "round %d: the chat from the other pod", r);
		off = jint(m, "offset");
		snprintf(epoch, sizeof(epoch), "%s", js(m, "epoch"));
		json_decref(m);
	}
	wsc_free(b);
	wsc_free(a);
}

/* ---- the global channel's own stream; presence unnumbered ---------------------------- */

/*
 * Global messages are numbered on their own stream, and reach room members
 * too: a room member whose recovery set its floor at the room's offset 10
 * still gets global offset 4.  Presence carries no offset.
 */
static void global_check(struct pods *ps)
{
	struct wsc *g = ws_join(ps->p[0], WS "?history=0", NULL, 0);
	struct wsc *r1 = ws_join(ps->p[ps->n - 1], WS "/gr?history=0", NULL, 0), *r2;
	long long offs[16];
	char path[128], epoch[64];
	json_t *w, *m;

	CHECK(g != NULL && r1 != NULL, "join");
	msleep(300);
	CHECK(send_range(g, 0, 3) == 0 && read_until(g, 2, offs, 16, NULL) == 3 &&
	      contiguous(offs, 3, 1), "global 1..3");
	CHECK(read_until(r1, 2, offs, 16, NULL) == 3 && contiguous(offs, 3, 1),
	      "room members get the global stream");
	CHECK(send_range(r1, 100, 110) == 0 && read_until(r1, 109, offs, 16, NULL) == 10 &&
	      contiguous(offs, 10, 1), "room 1..10");
	w = welcome_of(ps->p[0], WS "/gr?history=0", NULL, NULL);
	CHECK(w != NULL, "epoch");
	snprintf(epoch, sizeof(epoch), "%s", js(w, "epoch"));
	json_decref(w);
	snprintf(path, sizeof(path), WS "/gr?since=10&epoch=%s", epoch);
	r2 = wsc_connect(HOST, ps->p[0]->port, path, NULL, 5000, NULL);
	CHECK(r2 != NULL, "recover at 10");
	m = ws_recv_type(r1, "presence", 5000);
	CHECK(m != NULL && json_object_get(m, "offset") == NULL, "presence is not numbered");
	json_decref(m);
	m = ws_recv_json(r2, 5000);                 /* the welcome */
	CHECK(m != NULL && json_is_true(json_object_get(json_object_get(m, "data"), "recovered")),
	      "recovered");
	json_decref(m);
	CHECK(send_range(g, 3, 4) == 0, "send global");
	CHECK(read_until(r2, 3, offs, 16, NULL) == 1 && offs[0] == 4,
	      "global offset 4 passes a room floor of 10");
	wsc_free(r2);
	wsc_free(r1);
	wsc_free(g);
}

ON_BOTH(global_check, "history_size 50\nrate_limit 100000\nrate_burst 100000\n")

/* ---- recovered:false --------------------------------------------------------------- */

/* Connect with since/epoch; data.recovered of the welcome (1, 0, -1 absent). */
static int recovered(struct chatd *h, const char *room, long long since, const char *epoch)
{
	char path[256];
	struct wsc *c;
	json_t *m;
	int r = -1;

	snprintf(path, sizeof(path), WS "/%s?since=%lld&epoch=%s", room, since, epoch);
	c = wsc_connect(HOST, h->port, path, NULL, 5000, NULL);
	if (c == NULL)
		return -2;
	m = ws_recv_json(c, 5000);
	if (m != NULL && strcmp(js(m, "type"), "system") == 0) {
		json_t *v = json_object_get(json_object_get(m, "data"), "recovered");
		r = json_is_boolean(v) ? json_is_true(v) : -1;
	}
	json_decref(m);
	wsc_free(c);
	return r;
}

static void gap_check(struct pods *ps, char *epoch, size_t cap)
{
	struct wsc *a = ws_join(ps->p[0], WS "/gap", NULL, 0);
	long long offs[64];
	json_t *m;

	CHECK(a != NULL, "join");
	CHECK(send_range(a, 0, 60) == 0, "send");
	CHECK(read_until(a, 59, offs, 64, NULL) == 60, "60 sent");
	wsc_free(a);
	a = ws_join(ps->p[0], WS "/gap?history=1", NULL, 0);
	CHECK(a != NULL && (m = ws_recv_json(a, 5000)) != NULL, "epoch");
	snprintf(epoch, cap, "%s", js(m, "epoch"));
	json_decref(m);
	wsc_free(a);
	CHECK(recovered(ps->p[0], "gap", 10, epoch) == 1, "since 10: 11..60 are kept");
	CHECK(recovered(ps->p[0], "gap", 9, epoch) == 0, "since 9: 10 is gone");
	CHECK(recovered(ps->p[0], "gap", 60, epoch) == 1, "up to date");
	CHECK(recovered(ps->p[0], "gap", 61, epoch) == 0, "from the future");
	CHECK(recovered(ps->p[0], "gap", 30, "another-epoch") == 0, "another epoch");
}

static void t_gap_single(void)
{
	struct pods ps;
	char epoch[64];

	CHECK(pods_start(&ps, 0, 1, HIST_CONF) == 0, "start");
	gap_check(&ps, epoch, sizeof(epoch));
}

/* History off: a client asking to recover is told it was not. */
static void t_off(void)
{
	struct pods ps;

	CHECK(pods_start(&ps, 0, 1, "presence off\n") == 0, "start");
	CHECK(recovered(ps.p[0], "off", 3, "abc") == 0, "history off: recovered:false");
}

static void t_gap_flush(void)
{
	struct pods ps;
	char epoch[64], reply[256];
	const char *flush[] = { "FLUSHALL" };

	CHECK(pods_start(&ps, 1, 2, HIST_CONF) == 0, "start");
	gap_check(&ps, epoch, sizeof(epoch));
	if (itest_failed())
		return;
	CHECK(recovered(ps.p[1], "gap", 30, epoch) == 1, "the other pod: the same");
	CHECK(redis_cmd(ps.r->port, 1, flush, reply, sizeof(reply)) == 0, "FLUSHALL");
	CHECK(recovered(ps.p[0], "gap", 60, epoch) == 0, "after FLUSHALL: another epoch");
	CHECK(recovered(ps.p[1], "gap", 0, epoch) == 0, "on every pod");
}

/* ---- Redis down: fail fast, live goes on, recovered:false after ------------------- */

static void t_redis_down(void)
{
	struct pods ps;
	struct wsc *a;
	long long offs[8], t0;
	json_t *w, *e = NULL, *m;
	char epoch[64], path[128];
	int port;

	CHECK(pods_start(&ps, 1, 1, HIST_CONF) == 0, "start");
	w = welcome_of(ps.p[0], WS "/rd?history=0", NULL, &a);
	CHECK(w != NULL && json_is_string(json_object_get(w, "epoch")), "epoch at join");
	snprintf(epoch, sizeof(epoch), "%s", js(w, "epoch"));
	json_decref(w);
	CHECK(send_range(a, 0, 3) == 0 && read_until(a, 2, offs, 8, NULL) == 3 &&
	      contiguous(offs, 3, 1), "1..3 numbered");
	port = ps.r->port;
	redis_stop(ps.r);
	msleep(500);
	t0 = mono_ms();
	w = welcome_of(ps.p[0], WS "/rd?history=5", &e, NULL);
	CHECK(w != NULL && mono_ms() - t0 < 3000, "a welcome at once (%lld ms)", mono_ms() - t0);
	CHECK(json_object_get(w, "offset") == NULL, "no position without Redis");
	CHECK(e != NULL && strcmp(js(e, "type"), "error") == 0 &&
	      strcmp(js(json_object_get(e, "data"), "code"), "history_unavailable") == 0,
	      "then error history_unavailable");
	json_decref(w);
	json_decref(e);
	CHECK(send_range(a, 3, 4) == 0 && (m = ws_recv_type(a, "chat", 5000)) != NULL,
	      "live delivery goes on");
	CHECK(data_n(m) == 3 && json_object_get(m, "offset") == NULL, "unnumbered");
	json_decref(m);
	CHECK((ps.r = redis_start_port(port, NULL)) != NULL, "redis back");
	for (t0 = mono_ms(); mono_ms() - t0 < 15000; msleep(200)) {
		w = welcome_of(ps.p[0], WS "/rd?history=0", NULL, NULL);
		e = w ? json_object_get(w, "offset") : NULL;
		json_decref(w);
		if (e != NULL)
			break;
	}
	CHECK(e != NULL, "history readable again");
	snprintf(path, sizeof(path), "rd");
	CHECK(recovered(ps.p[0], path, 3, epoch) == 0,
	      "since 3, before the hole: recovered:false");
	wsc_free(a);
}

/* A history.* statistic of h, -1 when absent. */
static long long hstat(struct chatd *h, const char *key)
{
	json_t *j = harness_stats(h);
	long long v = stats_num(json_object_get(j, "history"), key);

	json_decref(j);
	return v;
}

/* POST {"room": "<prefix><n>"} to h's publish API (key k3y): its HTTP status. */
static int publish_to(struct chatd *h, const char *prefix, int n)
{
	char body[256], room[128];
	int st = 0;

	snprintf(room, sizeof(room), "{\"room\":\"%s%d\",\"data\":{\"n\":%d}}", prefix, n, n);
	if (wsc_http_request(HOST, h->port, "POST", "/api/chat-api/publish",
			     "Authorization: Bearer k3y\r\n", room, 3000, &st, body,
			     sizeof(body)) < 0)
		return -1;
	return st;
}

/* publish_to() rooms prefix from..to-1 until one is not 200: the first
 * not published (to when all were), its status in *st. */
static int publish_range(struct chatd *h, const char *prefix, int from, int to, int *st)
{
	while (from < to && (*st = publish_to(h, prefix, from)) == 200)
		from++;
	return from;
}

/*
 * Redis down, messages go out unnumbered in more rooms than the master can
 * mark for an epoch reset (4096): each one past that is counted, since
 * recovering across its hole may then say recovered:true.
 */
static void t_taint_overflow(void)
{
	struct pods ps;
	int n, st = 0;

	CHECK(pods_start(&ps, 1, 1, HIST_CONF "publish_key k3y\n") == 0, "start");
	redis_stop(ps.r);
	msleep(500);
	n = publish_range(ps.p[0], "t", 0, 4096, &st);
	CHECK(n == 4096, "publish %d: HTTP %d", n, st);
	CHECK(hstat(ps.p[0], "taint_overflow") == 0, "history.taint_overflow %lld within 4096 rooms",
	      hstat(ps.p[0], "taint_overflow"));
	n = publish_range(ps.p[0], "t", n, 4100, &st);
	CHECK(n == 4100 && publish_to(ps.p[0], "t", 0) == 200 &&
	      publish_to(ps.p[0], "t", 4099) == 200, "publish %d: HTTP %d", n, st);
	for (long long t0 = mono_ms(); mono_ms() - t0 < 5000 &&
	     hstat(ps.p[0], "taint_overflow") != 5; msleep(100))
		;
	CHECK(hstat(ps.p[0], "taint_overflow") == 5,
	      "history.taint_overflow %lld, want 5 (4 rooms past 4096, one of them twice)",
	      hstat(ps.p[0], "taint_overflow"));
}

/* Redis down: each message out unnumbered and each history request
 * answered history_unavailable is counted. */
static void t_down_counted(void)
{
	struct pods ps;
	json_t *w, *e = NULL;
	int n, st = 0;

	CHECK(pods_start(&ps, 1, 1, HIST_CONF "publish_key k3y\n") == 0, "start");
	redis_stop(ps.r);
	msleep(500);
	n = publish_range(ps.p[0], "dc", 0, 3, &st);
	CHECK(n == 3, "publish %d: HTTP %d", n, st);
	w = welcome_of(ps.p[0], WS "/dc0?history=5", &e, NULL);
	CHECK(w != NULL && e != NULL &&
	      strcmp(js(json_object_get(e, "data"), "code"), "history_unavailable") == 0,
	      "history_unavailable");
	json_decref(w);
	json_decref(e);
	for (long long t0 = mono_ms(); mono_ms() - t0 < 5000 &&
	     hstat(ps.p[0], "unnumbered") != 3; msleep(100))
		;
	CHECK(hstat(ps.p[0], "unnumbered") == 3, "history.unnumbered %lld, want 3",
	      hstat(ps.p[0], "unnumbered"));
	CHECK(hstat(ps.p[0], "unavailable") == 1, "history.unavailable %lld, want 1",
	      hstat(ps.p[0], "unavailable"));
	CHECK(hstat(ps.p[0], "wait_full") == 0, "history.wait_full %lld, want 0",
	      hstat(ps.p[0], "wait_full"));
}

/*
 * Redis frozen (its SUBSCRIBE never confirmed): the messages of a room just
 * joined wait, 16 MiB of them at most; the ones past that go out at once
 * (unnumbered) and are counted.
 */
static void t_wait_full(void)
{
	struct pods ps;
	struct wsc *a;
	char *big = malloc(800 * 1024);
	int n = 0;

	CHECK(big != NULL, "malloc");
	memset(big, 'x', 800 * 1024 - 1);
	big[800 * 1024 - 1] = '\0';
	CHECK(pods_start(&ps, 1, 1, HIST_CONF "max_message_size 900k\nuplink_size 8m\n"
			 "redis_timeout 30s\n") == 0, "start");
	msleep(500);                                 /* connected, scripts loaded */
	CHECK(kill(ps.r->pid, SIGSTOP) == 0, "SIGSTOP redis");
	CHECK((a = ws_join(ps.p[0], WS "/wf", NULL, 0)) != NULL, "join");
	while (n < 30 && ws_sendf(a, "{\"type\":\"chat\",\"data\":{\"n\":%d,\"b\":\"%s\"}}",
				  n, big) == 0)
		n++;
	CHECK(n == 30, "sent %d", n);
	for (long long t0 = mono_ms(); mono_ms() - t0 < 10000 &&
	     hstat(ps.p[0], "wait_full") <= 0; msleep(100))
		;
	CHECK(hstat(ps.p[0], "wait_full") > 0, "history.wait_full %lld after 24 MB waited",
	      hstat(ps.p[0], "wait_full"));
	kill(ps.r->pid, SIGCONT);
	wsc_free(a);
	free(big);
}

/* ---- the master does not answer: the client is not left hanging -------------------- */

static void t_master_stalled(void)
{
	struct pods ps;
	struct wsc *a;
	json_t *m;
	long long t0;

	CHECK(pods_start(&ps, 0, 1, HIST_CONF) == 0, "start");
	CHECK(kill(ps.p[0]->pid, SIGSTOP) == 0, "SIGSTOP the master");
	t0 = mono_ms();
	a = wsc_connect(HOST, ps.p[0]->port, WS "/st?history=3", NULL, 5000, NULL);
	CHECK(a != NULL, "the worker upgrades");
	m = ws_recv_json(a, 10000);
	CHECK(m != NULL && strcmp(js(m, "type"), "system") == 0 &&
	      json_object_get(json_object_get(m, "data"), "offset") == NULL,
	      "a welcome without position once the answer is overdue");
	json_decref(m);
	m = ws_recv_json(a, 5000);
	CHECK(m != NULL &&
	      strcmp(js(json_object_get(m, "data"), "code"), "history_unavailable") == 0,
	      "then history_unavailable");
	json_decref(m);
	CHECK(mono_ms() - t0 < 12000, "bounded (%lld ms)", mono_ms() - t0);
	CHECK(kill(ps.p[0]->pid, SIGCONT) == 0, "SIGCONT");
	wsc_free(a);
	a = ws_join(ps.p[0], WS "/st?history=3", NULL, 0);
	CHECK(a != NULL, "answered again");
	wsc_free(a);
	json_t *j = harness_stats(ps.p[0]);
	CHECK(j != NULL && stats_num(j, "history_refused") == 1,
	      "the timeout is counted: history_refused %lld",
	      j ? stats_num(j, "history_refused") : -1);
	json_decref(j);
}

/* ---- answers paced by the workers ---------------------------------------------------- */

#define PACED_CONF "history_size 400\nrate_limit 100000\nrate_burst 100000\npresence off\n" \
		   "ring_size 256k\nmax_message_size 16k\n"
#define PACED_JOINS 30

/*
 * 30 joins asking for history (each answer an eighth of the 256 KB ring),
 * answered while the workers do not read (SIGSTOP): the master must wait
 * for ring room instead of writing 4 rings' worth over what the workers
 * have not read (ring_lost); once they read again, every join gets its
 * history, contiguous, up to the newest message.
 */
static void answers_paced_check(struct pods *ps)
{
	struct chatd *h = ps->p[0];
	struct wsc *a, *c[PACED_JOINS];
	char pad[601];
	long long offs[400];
	pid_t w[2];
	int nw, got;
	long long newest;
	json_t *j;

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	CHECK((a = ws_join(h, WS "/hp", NULL, 0)) != NULL, "join");
	/* one round trip first: the room's SUBSCRIBE is confirmed, nothing waits */
	CHECK(send_range(a, 1000, 1001) == 0 && read_until(a, 1000, NULL, 0, NULL) == 1,
	      "round trip");
	/* 50 at a time: 400 at once would lap the small ring by themselves */
	for (int i = 0; i < 400; i += 50) {
		for (int k = i; k < i + 50; k++)
			CHECK(ws_sendf(a, "{\"type\":\"chat\",\"data\":{\"n\":%d,\"p\":\"%s\"}}",
				       k, pad) == 0, "send %d", k);
		CHECK((got = read_until(a, i + 49, offs, 50, NULL)) == 50,
		      "%d of messages %d-%d came back", got, i, i + 49);
	}
	newest = offs[49];
	CHECK((nw = stats_worker_pids(h, w, 2)) == 2, "2 worker pids");
	/* the requests wait in the uplinks, then are answered with the workers stopped */
	CHECK(kill(h->pid, SIGSTOP) == 0, "SIGSTOP the master");
	for (int i = 0; i < PACED_JOINS; i++)
		CHECK((c[i] = wsc_connect(HOST, h->port, WS "/hp?history=400", NULL, 5000,
					  NULL)) != NULL, "upgrade %d", i);
	msleep(200);                 /* every request in an uplink */
	for (int i = 0; i < nw; i++)
		CHECK(kill(w[i], SIGSTOP) == 0, "SIGSTOP worker %d", (int)w[i]);
	CHECK(kill(h->pid, SIGCONT) == 0, "SIGCONT the master");
	msleep(1000);
	for (int i = 0; i < nw; i++)
		CHECK(kill(w[i], SIGCONT) == 0, "SIGCONT worker %d", (int)w[i]);
	for (int i = 0; i < PACED_JOINS; i++) {
		json_t *wel = NULL;

		got = read_until(c[i], 399, offs, 400, &wel);
		CHECK(got > 0 && wel != NULL && contiguous(offs, got, newest - got + 1) &&
		      jint(wel, "offset") == newest,
		      "join %d: %d messages up to offset %lld (first %lld), welcome offset %lld", i,
		      got, newest, got > 0 ? offs[0] : -1, wel ? jint(wel, "offset") : -1);
		json_decref(wel);
		wsc_free(c[i]);
	}
	j = harness_stats(h);
	CHECK(j != NULL && stats_num(j, "ring_lost") == 0, "the workers lost %lld ring records",
	      j ? stats_num(j, "ring_lost") : -1);
	json_decref(j);
	CHECK(hstat(h, "unavailable") == 0, "history.unavailable %lld",
	      hstat(h, "unavailable"));
	CHECK(hstat(h, "answer_waits") > 0, "history.answer_waits %lld: no answer waited for "
	      "ring room", hstat(h, "answer_waits"));
	wsc_free(a);
}
ON_BOTH(answers_paced_check, PACED_CONF)

/* ---- a bad query: 400 before the upgrade ------------------------------------------- */

static void t_bad_query(void)
{
	static const char *bad[] = {
		"?history=-1", "?history=abc", "?history=", "?history=100000",
		"?history=99999999999999999999999", "?since=5", "?epoch=abc",
		"?since=-1&epoch=abc", "?since=x&epoch=abc", "?since=5&epoch=",
		"?since=5&epoch=a%22b", "?since=9007199254740993&epoch=abc",
		"?since=5&epoch=0123456789012345678901234567890123",
		"?history=0000000000000000000000000000000000000000000000000000000001",
		"?since=11111111111111111111111111111111111111111111111111&epoch=abc",
	};
	struct pods ps;
	char path[256];

	/* checked with history off too: a client's mistake is told either way */
	CHECK(pods_start(&ps, 0, 1, "presence off\n") == 0, "start");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = 0;
		struct wsc *c;

		snprintf(path, sizeof(path), WS "/lobby%s", bad[i]);
		c = wsc_connect(HOST, ps.p[0]->port, path, NULL, 3000, &st);
		wsc_free(c);
		CHECK(c == NULL && st == 400, "%s: HTTP %d, want 400", bad[i], st);
	}
	snprintf(path, sizeof(path), WS "/lobby?history=0&since=0&epoch=abc");
	CHECK(ws_join(ps.p[0], path, NULL, 0) != NULL, "a good one upgrades");
}

const struct itest_case t_history_cases[] = {
	{ "history_offsets_single", offsets_check_single, 0 },
	{ "history_offsets_pods", offsets_check_pods, 0 },
	{ "history_on_join_single", on_join_check_single, 0 },
	{ "history_on_join_pods", on_join_check_pods, 0 },
	{ "history_recover_single", recover_check_single, 120 },
	{ "history_recover_pods", recover_check_pods, 120 },
	{ "history_recover_first_sub", t_recover_first_sub, 180 },
	{ "history_publish_elsewhere", t_publish_elsewhere, 0 },
	{ "history_rejoin_at_once", t_rejoin_at_once, 120 },
	{ "history_global_single", global_check_single, 0 },
	{ "history_global_pods", global_check_pods, 0 },
	{ "history_gap_single", t_gap_single, 0 },
	{ "history_gap_flush", t_gap_flush, 0 },
	{ "history_off", t_off, 0 },
	{ "history_redis_down", t_redis_down, 0 },
	{ "history_taint_overflow", t_taint_overflow, 120 },
	{ "history_down_counted", t_down_counted, 0 },
	{ "history_wait_full", t_wait_full, 0 },
	{ "history_master_stalled", t_master_stalled, 0 },
	{ "history_bad_query", t_bad_query, 0 },
	{ "history_paced_single", answers_paced_check_single, 0 },
	{ "history_paced_pods", answers_paced_check_pods, 0 },
	{ NULL, NULL, 0 },
};
