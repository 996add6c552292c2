/* SPDX-License-Identifier: MIT */
/*
 * t_signals.c - the processes under signals: a killed worker is replaced
 * (its rooms keep working), a killed master takes its workers along,
 * SIGTERM stops gracefully, SIGHUP with a broken config keeps the old one,
 * and reloads under traffic (generations, drain, 1012, an invalid
 * configuration, many reloads in a row).
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct chatcount { int n; int *got; const char *marker; };

static void count_chat(int i, const struct wsc_msg *m, void *arg)
{
	struct chatcount *cc = arg;

	if (m && m->opcode == WSC_OP_TEXT && strstr(m->data, "\"chat\"") &&
	    strstr(m->data, cc->marker))
		cc->got[i]++;
}

static int all_got(void *arg)
{
	struct chatcount *cc = arg;

	for (int i = 0; i < cc->n; i++)
		if (cc->got[i] < 1)
			return 0;
	return 1;
}

/* Which worker slots' pids are in stats now. */
static int has_pid(const pid_t *p, int n, pid_t x)
{
	for (int i = 0; i < n; i++)
		if (p[i] == x)
			return 1;
	return 0;
}

static void t_worker_kill(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	struct wsc *c[40], *live[40];
	pid_t before[8], after[8];
	int nb, na = 0, nlive = 0, got[40] = { 0 };

	CHECK(h, "start");
	for (int i = 0; i < 40; i++)
		CHECK((c[i] = ws_join(h, WS "/k", NULL, 0)), "connect %d", i);
	CHECK(stats_wait(h, "connections", 40, 3000) == 40, "connections != 40");
	nb = stats_worker_pids(h, before, 8);
	CHECK(nb == 2, "%d running workers, want 2", nb);
	CHECK(kill(before[0], SIGKILL) == 0, "kill worker");
	long long t0 = mono_ms();
	while (mono_ms() - t0 < 1500) {
		na = stats_worker_pids(h, after, 8);
		if (na == 2 && !has_pid(after, na, before[0]) && has_pid(after, na, before[1]))
			break;
		msleep(50);
	}
	CHECK(na == 2 && !has_pid(after, na, before[0]) && has_pid(after, na, before[1]),
	      "worker %d not replaced within 1.5 s", (int)before[0]);
	/* the killed worker's clients see EOF; the others must be intact */
	msleep(200);
	for (int i = 0; i < 40; i++) {
		struct wsc_msg m;
		int r;

		while ((r = wsc_recv(c[i], 0, &m)) > 0 && m.opcode != WSC_OP_CLOSE)
			;
		if (r >= 0 && wsc_send_frame(c[i], WSC_OP_PING, 1, "hb", 2) == 0)
			live[nlive++] = c[i];
	}
	CHECK(nlive > 0 && nlive < 40, "%d clients survived, expected those of one worker", nlive);
	for (int i = 0; i < nlive; i++) {
		struct wsc_msg m;
		int r;

		do
			r = wsc_recv(live[i], 2000, &m);
		while (r > 0 && m.opcode != WSC_OP_PONG);
		CHECK(r > 0 && m.opcode == WSC_OP_PONG && m.len == 2, "client %d: no pong", i);
	}
	CHECK(ws_sendf(live[0], "{\"type\":\"chat\",\"data\":{\"m\":\"after-kill\"}}") == 0, "send");
	struct chatcount cc = { nlive, got, "after-kill" };
	CHECK(ws_pump(live, nlive, 3000, count_chat, all_got, &cc) == 0,
	      "chat after a worker kill did not reach every surviving client");
	json_t *j = harness_stats(h);
	CHECK(j && stats_num(j, "worker_restarts") >= 1, "worker_restarts not counted");
	json_decref(j);
	CHECK(chatd_stop(h, 5000) == 0, "exit status after a worker restart");
	for (int i = 0; i < 40; i++)
		wsc_free(c[i]);
}

static void t_master_kill(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	pid_t w[8];
	int n, alive = 0;

	CHECK(h, "start");
	n = stats_worker_pids(h, w, 8);
	CHECK(n == 2, "%d workers", n);
	kill(h->pid, SIGKILL);
	chatd_wait(h, 2000);
	for (long long t0 = mono_ms(); mono_ms() - t0 < 2500; msleep(50)) {
		alive = 0;
		for (int i = 0; i < n; i++)
			alive += pid_alive(w[i]);
		if (!alive)
			break;
	}
	CHECK(alive == 0, "%d workers still alive 2.5 s after the master's SIGKILL", alive);
}

static void t_sigterm(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
		.conf = "shutdown_timeout 3s\n" });
	struct wsc *c[10];
	char reason[128];

	CHECK(h, "start");
	for (int i = 0; i < 10; i++)
		CHECK((c[i] = ws_join(h, i % 2 ? WS "/t" : WS, NULL, 0)), "connect %d", i);
	CHECK(stats_wait(h, "connections", 10, 2000) == 10, "connections");
	long long t0 = mono_ms();
	kill(h->pid, SIGTERM);
	for (int i = 0; i < 10; i++) {
		int code = ws_wait_close(c[i], 4000, reason, sizeof(reason));

		CHECK(code == 1001, "client %d: close code %d, want 1001", i, code);
	}
	int st = chatd_wait(h, 4000);
	CHECK(st == 0, "exit status %d after SIGTERM (want 0)", st);
	CHECK(mono_ms() - t0 < 4000, "SIGTERM took %lld ms", mono_ms() - t0);
	for (int i = 0; i < 10; i++)
		wsc_free(c[i]);
}

/*
 * A client that never reads (so never answers the close) holds its worker
 * until shutdown_timeout at most: the worker then ends its loop with the
 * connection still open (lws closes it as the loop winds down; a sanitizer
 * build checks that nothing leaks) and exits 0.
 */
static void t_sigterm_stuck_client(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 1,
		.conf = "shutdown_timeout 1s\n" });
	struct wsc *stuck, *ok;

	CHECK(h, "start");
	CHECK((stuck = ws_join(h, WS "/stuck", NULL, 0)) && (ok = ws_join(h, WS "/stuck", NULL, 0)),
	      "connect");
	CHECK(stats_wait(h, "connections", 2, 2000) == 2, "connections");
	long long t0 = mono_ms();
	kill(h->pid, SIGTERM);
	CHECK(ws_wait_close(ok, 3000, NULL, 0) == 1001, "the reading client got no 1001");
	int st = chatd_wait(h, 5000);
	long long took = mono_ms() - t0;
	CHECK(st == 0, "exit status %d (want 0)", st);
	CHECK(took < 4000, "stopped %lld ms after SIGTERM (shutdown_timeout 1 s)", took);
	wsc_free(stuck);
	wsc_free(ok);
}

/* The same at a reload: the draining worker closes its stuck client with
 * 1012 after drain_timeout and is gone shutdown_timeout later at most. */
static void t_reload_stuck_client(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 1,
		.conf = "drain_timeout 500ms\nshutdown_timeout 1s\n" });
	struct wsc *stuck;
	int n = 0, z = 0, drained = 0;

	CHECK(h, "start");
	CHECK((stuck = ws_join(h, WS "/stuck", NULL, 0)), "connect");
	kill(h->pid, SIGHUP);
	CHECK(stats_wait(h, "reloads", 1, 3000) == 1, "reload");
	for (long long end = mono_ms() + 6000; mono_ms() < end; msleep(100)) {
		drained = chatd_log_has(h, "drain_timeout passed; closing 1 connections with 1012");
		if (drained && (n = children_of(h->pid, &z)) == 1 && z == 0)
			break;
	}
	CHECK(drained, "the old worker did not close its client after drain_timeout");
	CHECK(n == 1 && z == 0, "%d workers, %d zombies 6 s after the reload (want 1, 0)", n, z);
	wsc_free(stuck);
	CHECK(chatd_stop(h, 5000) == 0, "exit status");
}

static void t_sighup_broken(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	char id[64];
	int st = 0;

	CHECK(h, "start");
	struct wsc *old = ws_join(h, WS "/h", id, sizeof(id));
	CHECK(old, "connect");
	CHECK(chatd_write_conf(h, "this is not\na valid config {{{\n") == 0, "rewrite conf");
	kill(h->pid, SIGHUP);
	msleep(700);
	CHECK(chatd_wait(h, 0) == -2, "chatd exited on SIGHUP with a broken config");
	CHECK(wsc_http_request(HOST, h->port, "GET", "/healthz", NULL, NULL, 2000, &st, NULL, 0) >= 0 &&
	      st == 200, "healthz %d after a broken reload", st);
	struct wsc *c = ws_join(h, WS "/h", NULL, 0);
	CHECK(c, "new connection after a broken reload");
	CHECK(ws_sendf(old, "{\"type\":\"chat\",\"data\":{\"x\":1}}") == 0, "send");
	json_t *j = ws_recv_type(c, "chat", 3000);
	CHECK(j && strcmp(js(j, "from"), id) == 0, "chat after a broken reload");
	json_decref(j);
	j = harness_stats(h);
	CHECK(j && stats_num(j, "reloads") == 0, "a failed reload counted as a reload");
	json_decref(j);
	wsc_free(old);
	wsc_free(c);
}

/* ---- reloads under traffic ----------------------------------------------- */

#define OLD_N    4
#define MSGS     12

/* Workers of generation gen in stats: how many, and their connections. */
static int gen_workers(struct chatd *h, int gen, long long *conns)
{
	char why[300];
	json_t *j = NULL, *w;
	size_t i;
	int n = 0;

	*conns = 0;
	/* a request can be reset while workers come and go: ask up to 3 times */
	for (int t = 0; t < 3 && (j = stats_try(h, why, sizeof(why))) == NULL; t++)
		msleep(100);
	if (!j) {
		fprintf(stderr, "gen_workers: %s\n", why);
		return -1;
	}
	json_array_foreach(json_object_get(j, "workers"), i, w)
		if (stats_num(w, "generation") == gen) {
			n++;
			*conns += stats_num(w, "connections");
		}
	json_decref(j);
	return n;
}

/* Read c until its close frame: counts "chat" messages whose content starts
 * with prefix; returns the close code (0 EOF, -1 timeout). */
static int read_until_close(struct wsc *c, const char *prefix, int *seen, int timeout_ms)
{
	struct wsc_msg m;

	*seen = 0;
	for (long long end = mono_ms() + timeout_ms;;) {
		long long left = end - mono_ms();
		int r = wsc_recv(c, left > 0 ? (int)left : 0, &m);

		if (r < 0)
			return 0;
		if (r == 0)
			return -1;
		if (m.opcode == WSC_OP_CLOSE)
			return m.close_code;
		if (m.opcode != WSC_OP_TEXT)
			continue;
		json_t *j = json_loadb(m.data, m.len, 0, NULL);
		const char *content = js(json_object_get(j, "data"), "content");

		if (strcmp(js(j, "type"), "chat") == 0 && strncmp(content, prefix, strlen(prefix)) == 0)
			(*seen)++;
		json_decref(j);
	}
}

/* A chat message of about `size` bytes of JSON. */
static int send_sized(struct wsc *c, size_t size)
{
	char *pad = malloc(size);
	int rc;

	if (!pad)
		return -1;
	memset(pad, 'x', size - 40);
	pad[size - 40] = '\0';
	rc = ws_sendf(c, "{\"type\":\"chat\",\"data\":{\"content\":\"big-%s\"}}", pad);
	free(pad);
	return rc;
}

static void t_reload_traffic(void)
{
	struct chatd_opts o = { .workers = 2,
		.conf = "drain_timeout 2s\nmax_message_size 1000\n" };
	struct chatd *h = chatd_start(&o);
	struct wsc *old[OLD_N], *big_old, *nw[2];
	char text[1024];
	long long conns, hup_ms;
	int seen, code;

	if (!h)
		return;
	for (int i = 0; i < OLD_N; i++)
		CHECK((old[i] = ws_join(h, "/api/chat-api/ws/r1", NULL, 0)), "old client %d", i);
	CHECK((big_old = ws_join(h, "/api/chat-api/ws/r2", NULL, 0)), "old big client");
	CHECK(gen_workers(h, 1, &conns) == 2 && conns == OLD_N + 1, "generation 1: %lld conns",
	      conns);

	snprintf(text, sizeof(text),
		 "redis_url off\npid_file %s/chatd.pid\nlog_level info\nshutdown_timeout 3s\n"
		 "drain_timeout 2s\nmax_message_size 4000\n", h->dir);
	CHECK(chatd_write_conf(h, text) == 0, "rewrite the config");
	kill(h->pid, SIGHUP);
	hup_ms = mono_ms();
	/* the old workers have stopped accepting once they log "draining" */
	for (long long end = mono_ms() + 3000; mono_ms() < end; msleep(20))
		if (gen_workers(h, 2, &conns) == 2 && file_count(h->log_path, "draining") == 2)
			break;
	CHECK(gen_workers(h, 2, &conns) == 2, "no 2 workers of generation 2");
	CHECK(file_count(h->log_path, "draining") == 2, "the old workers are not draining");

	/* new clients land on generation 2 and have the new limit */
	for (int i = 0; i < 2; i++)
		CHECK((nw[i] = ws_join(h, "/api/chat-api/ws/r1", NULL, 0)), "new client %d", i);
	CHECK(gen_workers(h, 2, &conns) == 2 && conns == 2, "generation 2 has %lld connections (want the 2 new ones)", conns);
	/* an old worker that held none of them has exited already (nothing
	 * to drain): one or two of generation 1 remain, holding all five */
	int n1 = gen_workers(h, 1, &conns);
	CHECK(n1 >= 1 && n1 <= 2 && conns == OLD_N + 1,
	      "generation 1 has %lld connections (want %d)", conns, OLD_N + 1);
	CHECK(send_sized(nw[1], 2000) == 0, "send 2000 bytes on a new connection");
	json_t *j = ws_recv_type(nw[1], "chat", 3000);
	CHECK(j && strncmp(js(json_object_get(j, "data"), "content"), "big-", 4) == 0,
	      "a 2000-byte message was not accepted under max_message_size 4000");
	json_decref(j);
	/* ... and the old connections keep the old one */
	CHECK(send_sized(big_old, 2000) == 0, "send 2000 bytes on an old connection");
	code = ws_wait_close(big_old, 3000, NULL, 0);
	CHECK(code == 1009, "old connection, 2000 bytes over the old 1000: close %d", code);

	/* messages sent after the HUP reach the old clients until the drain ends */
	for (int k = 0; k < MSGS; k++) {
		CHECK(ws_sendf(nw[0], "{\"type\":\"chat\",\"data\":{\"content\":\"after-%d\"}}", k)
		      == 0, "send %d", k);
		msleep(30);
	}
	CHECK(ws_sendf(old[0], "{\"type\":\"chat\",\"data\":{\"content\":\"from-old\"}}") == 0,
	      "an old client sends");
	j = ws_recv_type(nw[0], "chat", 3000);
	while (j && strcmp(js(json_object_get(j, "data"), "content"), "from-old") != 0) {
		json_decref(j);
		j = ws_recv_type(nw[0], "chat", 3000);
	}
	CHECK(j, "a new client did not get an old client's message");
	json_decref(j);
	CHECK(mono_ms() - hup_ms < 1800, "too slow: the drain may be over already");
	for (int i = 0; i < OLD_N; i++) {
		code = read_until_close(old[i], "after-", &seen, 6000);
		CHECK(seen == MSGS, "old client %d got %d of %d messages", i, seen, MSGS);
		CHECK(code == 1012, "old client %d: close code %d (want 1012)", i, code);
	}
	CHECK(mono_ms() - hup_ms >= 1900, "closed %lld ms after the HUP (drain_timeout 2s)",
	      mono_ms() - hup_ms);
	/* the old generation is gone; the new clients are still served */
	for (long long end = mono_ms() + 3000; mono_ms() < end; msleep(50))
		if (gen_workers(h, 1, &conns) == 0)
			break;
	CHECK(gen_workers(h, 1, &conns) == 0, "generation 1 workers still there");
	CHECK(ws_sendf(nw[1], "{\"type\":\"ping\"}") == 0, "ping");
	j = ws_recv_type(nw[1], "pong", 3000);
	CHECK(j, "a new client is not served after the drain");
	json_decref(j);
	for (int i = 0; i < OLD_N; i++)
		wsc_free(old[i]);
	wsc_free(big_old);
	wsc_free(nw[0]);
	wsc_free(nw[1]);
	CHECK(chatd_stop(h, 8000) == 0, "exit status after SIGTERM");
}

static void t_reload_invalid(void)
{
	struct chatd_opts o = { .workers = 2, .conf = "drain_timeout 1s\n" };
	struct chatd *h = chatd_start(&o);
	pid_t before[8], after[8];
	struct wsc *c;
	long long conns;
	int nb, na;

	if (!h)
		return;
	CHECK((c = ws_join(h, "/api/chat-api/ws/r", NULL, 0)), "client");
	nb = stats_worker_pids(h, before, 8);
	CHECK(nb == 2, "%d workers", nb);
	CHECK(chatd_write_conf(h, "redis_url off\nmax_message_size lots\n") == 0, "rewrite");
	kill(h->pid, SIGHUP);
	for (long long end = mono_ms() + 3000; mono_ms() < end; msleep(50))
		if (chatd_log_has(h, "keeping the running configuration"))
			break;
	CHECK(chatd_log_has(h, "chatd.conf:2:"), "no file:line in the log");
	CHECK(chatd_log_has(h, "keeping the running configuration"), "no reload error logged");
	msleep(300);
	na = stats_worker_pids(h, after, 8);
	CHECK(na == nb && after[0] == before[0] && after[1] == before[1],
	      "the workers changed after an invalid reload");
	CHECK(stats_wait(h, "reloads", 0, 100) == 0, "reloads counted");
	CHECK(gen_workers(h, 2, &conns) == 0, "a generation 2 started");
	CHECK(ws_sendf(c, "{\"type\":\"ping\"}") == 0, "ping");
	json_t *j = ws_recv_type(c, "pong", 3000);
	CHECK(j, "the client is not served after an invalid reload");
	json_decref(j);
	wsc_free(c);
	CHECK(chatd_stop(h, 8000) == 0, "exit status");
}

static void t_reload_many(void)
{
	struct chatd_opts o = { .workers = 3, .conf = "drain_timeout 1s\n" };
	struct chatd *h = chatd_start(&o);
	struct wsc *c[3];
	long long conns;
	int n = 0, z = 0;

	if (!h)
		return;
	for (int i = 0; i < 3; i++)
		CHECK((c[i] = ws_join(h, "/api/chat-api/ws/r", NULL, 0)), "client %d", i);
	for (int i = 0; i < 5; i++) {
		kill(h->pid, SIGHUP);
		msleep(100);
		if (i == 1) { /* a client on a middle generation */
			wsc_free(c[1]);
			CHECK((c[1] = ws_join(h, "/api/chat-api/ws/r", NULL, 0)),
			      "client during reloads");
		}
	}
	CHECK(stats_wait(h, "reloads", 5, 3000) == 5, "reloads != 5");
	/* after drain_timeout every old worker is gone */
	for (long long end = mono_ms() + 6000; mono_ms() < end; msleep(100)) {
		n = children_of(h->pid, &z);
		if (n == 3 && z == 0 && gen_workers(h, 6, &conns) == 3)
			break;
	}
	CHECK(n == 3, "%d worker processes after 5 reloads (want 3)", n);
	CHECK(z == 0, "%d zombies", z);
	CHECK(gen_workers(h, 6, &conns) == 3, "not 3 workers of generation 6");
	msleep(500);
	n = children_of(h->pid, &z);
	CHECK(n == 3 && z == 0, "later: %d children, %d zombies", n, z);
	/* ten more reloads: the master's memory does not grow with them */
	long rss0 = proc_field(h->pid, "status", "VmRSS:", -1);
	for (int i = 0; i < 10; i++) {
		kill(h->pid, SIGHUP);
		msleep(100);
	}
	CHECK(stats_wait(h, "reloads", 15, 3000) == 15, "reloads != 15");
	for (long long end = mono_ms() + 6000; mono_ms() < end; msleep(100))
		if (children_of(h->pid, &z) == 3 && z == 0)
			break;
	long rss1 = proc_field(h->pid, "status", "VmRSS:", -1);
	CHECK(rss0 > 0 && rss1 - rss0 < 512, "master RSS %ld kB -> %ld kB over 10 reloads",
	      rss0, rss1);
	for (int i = 0; i < 3; i++)
		wsc_free(c[i]);
	CHECK(chatd_stop(h, 8000) == 0, "exit status");
}

const struct itest_case t_signals_cases[] = {
	{ "signal_worker_kill", t_worker_kill, 0 },
	{ "signal_master_kill", t_master_kill, 0 },
	{ "signal_sigterm", t_sigterm, 0 },
	{ "signal_sigterm_stuck_client", t_sigterm_stuck_client, 0 },
	{ "signal_reload_stuck_client", t_reload_stuck_client, 0 },
	{ "signal_sighup_broken_config", t_sighup_broken, 0 },
	{ "signal_reload_traffic", t_reload_traffic, 60 },
	{ "signal_reload_invalid", t_reload_invalid, 60 },
	{ "signal_reload_many", t_reload_many, 60 },
	{ NULL, NULL, 0 },
};
