/* SPDX-License-Identifier: MIT */
/*
 * t_slow.c - clients that do not keep up: a reader that stops reading is
 * dropped (the others lose nothing), and a client that stops answering
 * pings is closed after pong_timeout while a live one stays, and a burst
 * reaches its readers whole, tail included, while a silent client in the
 * same room is dropped (issue 13 item 6).
 */
#include "harness.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define SC_MSGS   2000
#define SC_PAD    16000
#define SC_READERS 4
#define SC_WINDOW 4

struct sc { int next[SC_READERS]; int errors; int ended; };

static void sc_msg(int i, const struct wsc_msg *m, void *arg)
{
	struct sc *s = arg;
	const char *q;

	if (!m || m->opcode == WSC_OP_CLOSE) {
		s->ended++;
		return;
	}
	if (m->opcode != WSC_OP_TEXT || !strstr(m->data, "\"type\":\"chat\""))
		return;
	q = strstr(m->data, "\"q\":");
	if (!q || atoi(q + 4) != s->next[i])
		s->errors++;
	s->next[i] = q ? atoi(q + 4) + 1 : s->next[i];
}

static int sc_min(const struct sc *s)
{
	int m = s->next[0];

	for (int i = 1; i < SC_READERS; i++)
		if (s->next[i] < m)
			m = s->next[i];
	return m;
}

static int sc_done(void *arg)
{
	struct sc *s = arg;

	for (int i = 0; i < SC_READERS; i++)
		if (s->next[i] < SC_MSGS)
			return 0;
	return 1;
}

static void t_slow_consumer(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
		.conf = "send_queue 16\npresence off\n"
			/* one sender pushes 2,000 messages as fast as readers take them */
			"rate_limit 1000000\nrate_burst 1000000\n" });
	struct wsc *r[SC_READERS], *slow;
	static char pad[SC_PAD + 1];
	struct sc s = { { 0 }, 0, 0 };
	char reason[128] = "";

	CHECK(h, "start");
	memset(pad, 'y', SC_PAD);
	CHECK((slow = ws_join(h, WS "/slow", NULL, 0)), "connect slow");
	for (int i = 0; i < SC_READERS; i++)
		CHECK((r[i] = ws_join(h, WS "/slow", NULL, 0)), "connect %d", i);
	long rss0 = chatd_rss_kb(h);
	for (int q = 0; q < SC_MSGS; q++) {
		/* at most SC_WINDOW messages in flight: healthy readers keep up */
		while (sc_min(&s) < q - SC_WINDOW && s.ended == 0)
			ws_pump(r, SC_READERS, 100, sc_msg, ws_pump_now, &s);
		CHECK(ws_sendf(r[0], "{\"type\":\"chat\",\"data\":{\"q\":%d,\"p\":\"%s\"}}", q, pad) == 0,
		      "send %d", q);
		ws_pump(r, SC_READERS, 0, sc_msg, ws_pump_now, &s);
	}
	CHECK(ws_pump(r, SC_READERS, 20000, sc_msg, sc_done, &s) == 0 && s.errors == 0 &&
	      s.ended == 0, "readers: %d errors, %d ended, got %d/%d/%d/%d", s.errors, s.ended,
	      s.next[0], s.next[1], s.next[2], s.next[3]);
	long rss1 = chatd_rss_kb(h);
	long bound = chatd_has_asan(h) ? 400 * 1024 : 24 * 1024;
	CHECK(rss1 - rss0 < bound, "chatd RSS grew by %ld kB (bound %ld kB) for %d MB sent",
	      rss1 - rss0, bound, SC_MSGS * SC_PAD / 1000000);
	long long closes = stats_wait(h, "slow_consumer_closes", 1, 3000);
	CHECK(closes == 1, "slow_consumer_closes %lld, want 1", closes);
	/* the slow client finds its backlog and then the end (a 1008 close if it fits) */
	long long conns = stats_wait(h, "connections", SC_READERS, 5000);
	CHECK(conns == SC_READERS, "connections %lld: the slow consumer is still there", conns);
	int code = ws_wait_close(slow, 15000, reason, sizeof(reason));
	CHECK(code == 1008 || code == 0, "slow client: close %d, want 1008 or EOF", code);
	if (code == 1008)
		CHECK(strstr(reason, "slow consumer"), "close reason '%s'", reason);
	wsc_free(slow);
	ws_free_all(r, SC_READERS);
}

static void t_silent_client(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
		.conf = "ping_interval 1\npong_timeout 2\n" });
	struct wsc *silent, *live;
	struct wsc_msg m;

	CHECK(h, "start");
	CHECK((silent = ws_open(h, WS "/quiet")) && (live = ws_join(h, WS "/quiet", NULL, 0)),
	      "connect");
	CHECK(stats_wait(h, "connections", 2, 2000) == 2, "connections");
	long long t0 = mono_ms(), v = 2;
	while (mono_ms() - t0 < 7000) {
		while (wsc_recv(live, 100, &m) > 0)
			CHECK(m.opcode != WSC_OP_CLOSE, "the live client was closed (%d)",
			      m.close_code);
		json_t *j = harness_stats(h);
		v = stats_num(j, "connections");
		json_decref(j);
		if (v == 1)
			break;
	}
	CHECK(v == 1, "silent client not dropped within 7 s (connections %lld)", v);
	CHECK(mono_ms() - t0 >= 1500, "dropped after %lld ms: before pong_timeout",
	      mono_ms() - t0);
	CHECK(wsc_pings_answered(live) >= 1, "the server never pinged the live client");
	int code = ws_wait_close(silent, 2000, NULL, 0);
	CHECK(code != -1, "silent client's socket still open");
	CHECK(ws_sendf(live, "{\"type\":\"ping\"}") == 0, "send");
	json_t *j = ws_recv_type(live, "pong", 3000);
	CHECK(j, "live client unusable");
	json_decref(j);
	wsc_free(silent);
	wsc_free(live);
}

/* ---- a burst's tail with a slow client dropped during it ------------------ */

#define BT_RUNS    3
#define BT_MSGS    4000
#define BT_PAD     (48 * 1024 - 64)
#define BT_WINDOW  64
#define BT_READERS 2
#define BT_IDLE_MS 15000       /* a reader that gets nothing for this long gives up */

/* What the reader processes tell the sender (shared memory). */
struct bt_shared { _Atomic int next[BT_READERS]; _Atomic int errors; };

/* A reader process: read c until the whole burst came in order. */
static void bt_reader(struct wsc *c, struct bt_shared *sh, int i)
{
	long long idle_end = mono_ms() + BT_IDLE_MS;
	struct wsc_msg m;

	while (atomic_load(&sh->next[i]) < BT_MSGS && mono_ms() < idle_end) {
		int r = wsc_recv(c, 500, &m);
		const char *q;

		if (r < 0)
			_exit(2);
		if (r == 0 || m.opcode != WSC_OP_TEXT || !strstr(m.data, "\"type\":\"chat\""))
			continue;
		idle_end = mono_ms() + BT_IDLE_MS;
		q = strstr(m.data, "\"q\":");
		if (!q || atoi(q + 4) != atomic_load(&sh->next[i]))
			atomic_fetch_add(&sh->errors, 1);
		if (q)
			atomic_store(&sh->next[i], atoi(q + 4) + 1);
	}
	_exit(atomic_load(&sh->next[i]) < BT_MSGS);
}

static int bt_min(struct bt_shared *sh)
{
	int m = atomic_load(&sh->next[0]);

	for (int i = 1; i < BT_READERS; i++)
		if (atomic_load(&sh->next[i]) < m)
			m = atomic_load(&sh->next[i]);
	return m;
}

static int bt_refused;          /* `overloaded` errors the sender got */

/* The sender reads its own echoes, so that it is no slow consumer itself,
 * and counts what was refused. */
static int bt_echoes(struct wsc *c)
{
	struct wsc_msg m;
	int r;

	while ((r = wsc_recv(c, 0, &m)) > 0)
		if (m.opcode == WSC_OP_TEXT && strstr(m.data, "\"overloaded\""))
			bt_refused++;
	return r;
}

/* The sender: BT_MSGS messages, at most BT_WINDOW ahead of the slower
 * reader; then wait for the readers.  0 when the sender could not go on. */
static int bt_send(struct wsc *snd, struct bt_shared *sh)
{
	static char pad[BT_PAD + 1];
	int q;

	memset(pad, 'z', BT_PAD);
	for (q = 0; q < BT_MSGS; q++) {
		long long end = mono_ms() + BT_IDLE_MS;

		while (bt_min(sh) < q - BT_WINDOW)
			if (bt_echoes(snd) < 0 || mono_ms() > end)
				return 0;
			else
				msleep(1);
		if (ws_sendf(snd, "{\"type\":\"chat\",\"data\":{\"q\":%d,\"p\":\"%s\"}}", q, pad) < 0)
			return 0;
		bt_echoes(snd);
	}
	for (long long end = mono_ms() + BT_IDLE_MS; bt_min(sh) < BT_MSGS && mono_ms() < end;)
		if (bt_echoes(snd) >= 0)
			msleep(10);
	return 1;
}

/* One burst: 1 when both readers got every message, in order. */
static int burst_once(struct chatd *h, int run, struct bt_shared *sh)
{
	struct wsc *r[BT_READERS] = { NULL }, *slow, *snd;
	pid_t kid[BT_READERS] = { 0 };
	char room[64];
	int sent = 0;

	memset(sh, 0, sizeof(*sh));
	snprintf(room, sizeof(room), WS "/tail%d", run);
	slow = ws_join(h, room, NULL, 0);
	snd = ws_join(h, room, NULL, 0);
	for (int i = 0; slow && snd && i < BT_READERS; i++) {
		if (!(r[i] = ws_join(h, room, NULL, 0)) || (kid[i] = fork()) < 0)
			break;
		if (kid[i] == 0)
			bt_reader(r[i], sh, i);
	}
	if (kid[BT_READERS - 1] > 0)
		sent = bt_send(snd, sh);
	for (int i = 0; i < BT_READERS; i++)
		if (kid[i] > 0) {
			kill(kid[i], SIGKILL);
			waitpid(kid[i], NULL, 0);
		}
	fprintf(stderr, "burst tail %d: %s, readers got %d and %d of %d, %d out of order, "
		"%d refused (overloaded)\n", run, sent ? "all sent" : "sender stopped",
		atomic_load(&sh->next[0]), atomic_load(&sh->next[1]), BT_MSGS,
		atomic_load(&sh->errors), bt_refused);
	wsc_free(slow);
	wsc_free(snd);
	ws_free_all(r, BT_READERS);
	return sent && bt_min(sh) == BT_MSGS && atomic_load(&sh->errors) == 0 && bt_refused == 0;
}

/*
 * A room with a sender that stays within 64 messages of two readers (each
 * its own process) and a client that never reads; 4,000 messages of 48 KB.
 * The silent client is dropped as a slow consumer during the burst, and
 * both readers still get the whole burst, its tail included, every time,
 * and the sender is refused nothing.  On the default uplink_size (1 MiB,
 * 21 such messages): 64 in flight overflow it, and a message that found it
 * full used to be refused (`overloaded`), so a burst's tail went missing.
 */
static void t_burst_tail(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
		.conf = "presence off\nrate_limit 1000000\nrate_burst 1000000\n" });
	struct bt_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int bad = 0;

	CHECK(h && sh != MAP_FAILED, "start");
	for (int run = 0; run < BT_RUNS; run++) {
		bt_refused = 0;
		bad += !burst_once(h, run, sh);
	}
	CHECK(bad == 0, "%d of %d bursts did not reach both readers whole", bad, BT_RUNS);
	munmap(sh, sizeof(*sh));
}

/* ---- a full uplink holds a sender back, it does not refuse it --------------- */

#define UH_MSGS 48
#define UH_PAD  (48 * 1024 - 64)

/*
 * The master stopped (SIGSTOP), so nothing leaves the worker's 1 MiB
 * uplink: a client sends 48 messages of 48 KB (2.3 MB); the ones the
 * uplink cannot take wait in the worker, which stops reading the sender.
 * The master resumes: a reader gets all 48, in order, and the sender was
 * refused none.  The old worker answered `overloaded` from the 22nd on and
 * dropped them.
 */
static void t_uplink_holds(void)
{
	static char pad[UH_PAD + 1];
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 1,
		.conf = "presence off\nrate_limit 1000000\nrate_burst 1000000\n" });
	struct wsc *rd = NULL, *snd = NULL;
	int next = 0, refused = 0, bad = 0;
	pid_t kid;

	CHECK(h, "start");
	CHECK((rd = ws_join(h, WS "/held", NULL, 0)) && (snd = ws_join(h, WS "/held", NULL, 0)),
	      "join");
	memset(pad, 'h', UH_PAD);
	CHECK(kill(h->pid, SIGSTOP) == 0, "SIGSTOP the master");
	kid = fork();                  /* the sender may block once it is not read */
	if (kid == 0) {
		for (int q = 0; q < UH_MSGS; q++)
			if (ws_sendf(snd, "{\"type\":\"chat\",\"data\":{\"q\":%d,\"p\":\"%s\"}}", q,
				     pad) < 0)
				_exit(1);
		_exit(0);
	}
	msleep(1000);
	kill(h->pid, SIGCONT);
	CHECK(kid > 0, "fork");
	for (long long end = mono_ms() + 15000; next < UH_MSGS && mono_ms() < end;) {
		struct wsc_msg m;
		const char *q;
		int r = wsc_recv(rd, 500, &m);

		if (r < 0)
			break;
		if (r == 0 || m.opcode != WSC_OP_TEXT || !(q = strstr(m.data, "\"q\":")))
			continue;
		bad += atoi(q + 4) != next;
		next = atoi(q + 4) + 1;
	}
	int st = -1;
	waitpid(kid, &st, 0);
	for (json_t *j; (j = ws_recv_type(snd, "error", 300)) != NULL; json_decref(j)) {
		char *text = json_dumps(j, 0);

		refused += text && strstr(text, "overloaded") != NULL;
		free(text);
	}
	json_t *stats = harness_stats(h);
	long long held = stats ? stats_num(stats, "uplink_held") : -1;

	json_decref(stats);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the sender could not send");
	CHECK(next == UH_MSGS && bad == 0 && refused == 0,
	      "reader got up to %d of %d (%d out of order); the sender was refused %d", next,
	      UH_MSGS, bad, refused);
	CHECK(held >= 1, "uplink_held %lld: nothing waited (did the uplink fill?)", held);
	wsc_free(rd);
	wsc_free(snd);
}

const struct itest_case t_slow_cases[] = {
	{ "slow_consumer", t_slow_consumer, 90 },
	{ "slow_silent_client", t_silent_client, 0 },
	{ "slow_burst_tail", t_burst_tail, 150 },
	{ "slow_uplink_holds", t_uplink_holds, 60 },
	{ NULL, NULL, 0 },
};
