/* SPDX-License-Identifier: MIT */
/*
 * t_alog.c - the access log (access_log) and log_level debug against the
 * real binary: one line per ended session with the right close code, side
 * and reason for every way a session ends, one per refused upgrade, the
 * reopen on SIGUSR1 (with `user` when run as root), and the debug lines.
 * access_log syslog is tested in t_daemon.c (daemon_syslog_reloads), which
 * has a private /dev/log.
 */
#include "harness.h"

#include <jwt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SECRET "alog-secret-77"

/* A HS256 token for sub, expiring in exp_in seconds (0: no exp). */
static const char *token(const char *sub, int exp_in)
{
	static char out[1024];
	char claims[128];
	jwt_t *j = NULL;
	char *t;

	if (exp_in > 0)
		snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"exp\":%ld}", sub,
			 (long)time(NULL) + exp_in);
	else
		snprintf(claims, sizeof(claims), "{\"sub\":\"%s\"}", sub);
	out[0] = '\0';
	if (jwt_new(&j) == 0 && jwt_add_grants_json(j, claims) == 0 &&
	    jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)strlen(SECRET)) == 0 &&
	    (t = jwt_encode_str(j)) != NULL) {
		snprintf(out, sizeof(out), "%s", t);
		free(t);
	}
	jwt_free(j);
	return out;
}

/* Join path (a room or "") as sub with a token; NULL with the failure recorded. */
static struct wsc *join_as(struct chatd *h, const char *room, const char *sub, int exp_in)
{
	char path[1400];

	snprintf(path, sizeof(path), WS "%s%s?token=%s", room[0] ? "/" : "", room,
		 token(sub, exp_in));
	return ws_join(h, path, NULL, 0);
}

/* Wait up to ms for at least want lines of path holding s; the count. */
static int wait_count(const char *path, const char *s, int want, int ms)
{
	long long end = mono_ms() + ms;
	int n;

	while ((n = file_count(path, s)) < want && mono_ms() < end)
		msleep(50);
	return n;
}

/* Close the TCP connection without a close frame; rst: with a reset. */
static void vanish(struct wsc *c, int rst)
{
	struct linger lg = { 1, 0 };

	if (rst)
		setsockopt(wsc_fd(c), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	wsc_free(c);
}

static int upgrade_status(struct chatd *h, const char *path)
{
	int st = 0;
	struct wsc *c = wsc_connect(HOST, h->port, path, NULL, 3000, &st);

	wsc_free(c);
	return st;
}

/* Read every connection's close; how many closed with code. */
static int closes_with(struct wsc **cs, int n, int code, int ms)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		if (cs[i] != NULL && ws_wait_close(cs[i], ms, NULL, 0) == code)
			k++;
	return k;
}

/* ---- 100 sessions ended in 7 ways, and 10 refused upgrades ------------------ */

struct way { const char *match; int want; };

static const struct way ways[] = {
	{ "close=1000 by=client reason=-", 20 },
	{ "close=1006 by=client reason=-", 15 },
	{ "close=1008 by=server reason=rate_limit", 15 },
	{ "close=1009 by=server reason=oversize", 15 },
	{ "close=1008 by=server reason=token_expired", 10 },
	{ "close=1012 by=server reason=drain", 10 },
	{ "close=1001 by=server reason=shutdown", 15 },
};

/* 20 clients send 2 messages each and close with 1000; 15 vanish. */
static void end_by_client(struct chatd *h, const char *alog)
{
	struct wsc *cs[20] = { 0 };
	char sub[32];

	for (int i = 0; i < 20; i++) {
		snprintf(sub, sizeof(sub), "closer%d", i);
		CHECK((cs[i] = join_as(h, i % 2 ? "lobby" : "", sub, 0)), "join %d", i);
		CHECK(ws_sendf(cs[i], "{\"type\":\"chat\",\"data\":{\"n\":1}}") == 0 &&
		      ws_sendf(cs[i], "{\"type\":\"chat\",\"data\":{\"n\":2}}") == 0, "send");
	}
	for (int i = 0; i < 20; i++) {
		CHECK(ws_recv_type(cs[i], "chat", 3000) != NULL, "echo %d", i);
		CHECK(wsc_close(cs[i], 1000) == 0, "close");
	}
	CHECK(closes_with(cs, 20, 1000, 3000) == 20, "close echoes");
	ws_free_all(cs, 20);
	for (int i = 0; i < 15; i++) {
		snprintf(sub, sizeof(sub), "vanisher%d", i);
		CHECK((cs[i] = join_as(h, "lobby", sub, 0)), "join %d", i);
	}
	for (int i = 0; i < 15; i++)
		vanish(cs[i], i % 2);
	CHECK(wait_count(alog, "close=1006 by=client", 15, 5000) == 15, "vanished");
}

/* 15 clients go over rate_limit, 15 send too much, 10 tokens expire. */
static void end_by_policy(struct chatd *h)
{
	struct wsc *cs[15] = { 0 };
	char sub[32], big[2100];

	for (int i = 0; i < 15; i++) {
		snprintf(sub, sizeof(sub), "flooder%d", i);
		CHECK((cs[i] = join_as(h, "flood", sub, 0)), "join %d", i);
		for (int k = 0; k < 30; k++)
			ws_sendf(cs[i], "{\"type\":\"chat\",\"data\":{}}");
	}
	CHECK(closes_with(cs, 15, 1008, 5000) == 15, "rate limit closes");
	ws_free_all(cs, 15);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 15; i++) {
		snprintf(sub, sizeof(sub), "shouter%d", i);
		CHECK((cs[i] = join_as(h, "", sub, 0)), "join %d", i);
		CHECK(wsc_send_text(cs[i], big, strlen(big)) == 0, "send big");
	}
	CHECK(closes_with(cs, 15, 1009, 5000) == 15, "oversize closes");
	ws_free_all(cs, 15);
	for (int i = 0; i < 10; i++) {
		snprintf(sub, sizeof(sub), "expiring%d", i);
		CHECK((cs[i] = join_as(h, "lobby", sub, 2)), "join %d", i);
	}
	CHECK(closes_with(cs, 10, 1008, 8000) == 10, "token expiry closes");
	ws_free_all(cs, 10);
}

/* 10 clients drained by a reload (1012), then 15 stopped by SIGTERM (1001). */
static void end_by_server(struct chatd *h)
{
	struct wsc *cs[15] = { 0 };
	char sub[32];

	for (int i = 0; i < 10; i++) {
		snprintf(sub, sizeof(sub), "drained%d", i);
		CHECK((cs[i] = join_as(h, i % 2 ? "lobby" : "", sub, 0)), "join %d", i);
	}
	CHECK(kill(h->pid, SIGHUP) == 0, "SIGHUP");
	CHECK(closes_with(cs, 10, 1012, 8000) == 10, "drain closes");
	ws_free_all(cs, 10);
	for (int i = 0; i < 15; i++) {
		snprintf(sub, sizeof(sub), "stopped%d", i);
		CHECK((cs[i] = join_as(h, "lobby", sub, 0)), "join %d", i);
	}
	CHECK(kill(h->pid, SIGTERM) == 0, "SIGTERM");
	CHECK(closes_with(cs, 15, 1001, 8000) == 15, "shutdown closes");
	ws_free_all(cs, 15);
	CHECK(chatd_wait(h, 10000) == 0, "chatd exit status 0");
}

/* 4 bad room names (400), 3 unknown paths (404), 3 bad tokens (401). */
static void refuse_some(struct chatd *h)
{
	for (int i = 0; i < 4; i++)
		CHECK(upgrade_status(h, WS "/bad!room") == 400, "bad room");
	for (int i = 0; i < 3; i++)
		CHECK(upgrade_status(h, "/nowhere/ws") == 404, "unknown path");
	for (int i = 0; i < 3; i++)
		CHECK(upgrade_status(h, WS "/lobby?token=forged") == 401, "bad token");
}

/* A directory of our own for access logs (the instance's is made by
 * chatd_start, after the config is written); removed by tmp_done(). */
static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char p[2][128];
	static int k;

	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/chatd-alog-XXXXXX");
		if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0711) < 0)
			return "/nonexistent/access.log";
	}
	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

static void tmp_done(void)
{
	static const char *const names[] = { "access.log", "access.log.1", "chatd.conf" };

	for (size_t i = 0; tmpdir[0] && i < sizeof(names) / sizeof(names[0]); i++)
		unlink(tmp_path(names[i]));
	if (tmpdir[0])
		rmdir(tmpdir);
	tmpdir[0] = '\0';
}

static void check_sessions(struct chatd *h, const char *alog)
{
	int total = 0, n;

	CHECK((n = file_count(alog, "event=session")) == 100, "%d session lines, not 100", n);
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		n = file_count(alog, ways[i].match);
		CHECK(n == ways[i].want, "%d lines with %s, not %d", n, ways[i].match, ways[i].want);
		total += n;
	}
	CHECK(total == 100, "%d sessions accounted for", total);
	CHECK((n = file_count(alog, " in=2 out=")) == 20, "%d sessions with in=2", n);
	CHECK((n = file_count(alog, "addr=127.0.0.1:")) == 110, "%d lines with addr", n);
	CHECK((n = file_count(alog, " sub=closer")) == 20, "%d lines with sub=closer", n);
	CHECK((n = file_count(alog, " room=lobby ")) == 10 + 15 + 10 + 5 + 15, "%d in lobby", n);
	CHECK((n = file_count(alog, "event=refused")) == 10, "%d refused lines", n);
	CHECK(file_count(alog, "path=/api/chat-api/ws/bad!room status=400 reason=bad_room")
	      == 4, "400 lines");
	CHECK(file_count(alog, "path=/nowhere/ws status=404 reason=not_found") == 3, "404 lines");
	CHECK(file_count(alog, "status=401") == 3, "401 lines");
	CHECK(file_count(alog, "token=") == 0, "a token in the access log");
	/* the main log keeps its own lines, and none of these */
	CHECK(file_count(h->log_path, "over rate_limit") == 15, "rate_limit lines in the main log");
	CHECK(chatd_log_has(h, "reloaded configuration") && chatd_log_has(h, "draining") &&
	      chatd_log_has(h, "stopped") && chatd_log_has(h, "worker 0 started"),
	      "main log lines lost");
	CHECK(file_count(h->log_path, "event=") == 0, "access lines in the main log");
	CHECK(file_count(h->log_path, "joined") == 0, "debug lines at log_level info");
}

static void t_alog_sessions(void)
{
	char conf[512], alog[128];
	struct chatd *h;

	snprintf(alog, sizeof(alog), "%s", tmp_path("access.log"));
	snprintf(conf, sizeof(conf), "auth_enabled on\nauth_secret %s\nauth_leeway 0\n"
		 "rate_limit 1\nrate_burst 5\nmax_message_size 1k\ndrain_timeout 1s\n"
		 "access_log %s\n", SECRET, alog);
	h = chatd_start(&(struct chatd_opts){ .workers = 2, .conf = conf });
	if (h != NULL) {
		refuse_some(h);
		if (!itest_failed())
			end_by_client(h, alog);
		if (!itest_failed())
			end_by_policy(h);
		if (!itest_failed())
			end_by_server(h);
		if (!itest_failed())
			check_sessions(h, alog);
	} else {
		itest_fail(__FILE__, __LINE__, "start");
	}
	if (itest_failed() && h != NULL)
		chatd_log_tail(h, 20);
	tmp_done();
}

/* ---- closes lws makes: pong timeout, protocol errors -------------------------- */

static void t_alog_lws_closes_run(void)
{
	char conf[256], alog[128];
	struct wsc *silent[3] = { 0 }, *bad[3] = { 0 }, *alive;
	struct wsc_msg m;
	struct chatd *h;
	long long end;

	snprintf(alog, sizeof(alog), "%s", tmp_path("access.log"));
	snprintf(conf, sizeof(conf), "ping_interval 1s\npong_timeout 3s\naccess_log %s\n", alog);
	h = chatd_start(&(struct chatd_opts){ .workers = 1, .conf = conf });
	CHECK(h, "start");
	CHECK((alive = ws_join(h, WS "/lobby", NULL, 0)), "join");
	for (int i = 0; i < 3; i++)
		CHECK((silent[i] = ws_join(h, WS "/lobby", NULL, 0)), "join");
	for (int i = 0; i < 3; i++)
		CHECK((bad[i] = ws_join(h, WS, NULL, 0)), "join");
	/* invalid UTF-8 twice (1007), a reserved opcode once (1002) */
	CHECK(wsc_send_text(bad[0], "\xc3\x28", 2) == 0 && wsc_send_text(bad[1], "\xff", 1) == 0 &&
	      wsc_send_frame(bad[2], 0x3, 1, "x", 1) == 0, "send bad frames");
	CHECK(ws_wait_close(bad[0], 3000, NULL, 0) == 1007 &&
	      ws_wait_close(bad[1], 3000, NULL, 0) == 1007 &&
	      ws_wait_close(bad[2], 3000, NULL, 0) == 1002, "protocol error closes");
	/* the silent ones never read, so never answer a ping: cut after 3 s */
	for (end = mono_ms() + 7000; mono_ms() < end;)
		if (wsc_recv(alive, 200, &m) < 0)
			break;
	CHECK(wsc_pings_answered(alive) > 0, "no pings came");
	CHECK(wsc_close(alive, 1000) == 0 && ws_wait_close(alive, 3000, NULL, 0) == 1000, "close");
	CHECK(wait_count(alog, "event=session", 7, 5000) == 7, "7 session lines");
	CHECK(file_count(alog, "close=1006 by=server reason=pong_timeout") == 3, "pong timeouts");
	CHECK(file_count(alog, "close=1007 by=server reason=bad_utf8") == 2, "bad utf8");
	CHECK(file_count(alog, "close=1002 by=server reason=protocol_error") == 1, "bad opcode");
	CHECK(file_count(alog, "close=1000 by=client reason=-") == 1, "the live one");
	CHECK(file_count(alog, "sub=-") == 7, "sub without auth");
	for (int i = 0; i < 3; i++) {
		wsc_free(silent[i]);
		wsc_free(bad[i]);
	}
	wsc_free(alive);
	CHECK(chatd_stop(h, 8000) == 0, "stop");
}

/* A client that reads nothing while its room gets megabytes: slow_consumer. */
static void t_alog_slow_consumer_run(void)
{
	char conf[256], alog[128];
	static char pad[50001];
	struct wsc *slow, *talker;
	struct wsc_msg m;
	struct chatd *h;
	int sent = 0, got = 0;
	char id[72], want[96];

	snprintf(alog, sizeof(alog), "%s", tmp_path("access.log"));
	snprintf(conf, sizeof(conf), "send_queue 16\nrate_limit 1000000\nrate_burst 1000000\n"
		 "presence off\naccess_log %s\n", alog);
	h = chatd_start(&(struct chatd_opts){ .workers = 1, .conf = conf });
	CHECK(h, "start");
	memset(pad, 'z', sizeof(pad) - 1);
	CHECK((slow = ws_join(h, WS "/slow", id, 64)), "join");
	CHECK((talker = ws_join(h, WS "/slow", NULL, 0)), "join");
	/* the talker reads its own echoes, at most 8 behind; up to 40 MB */
	for (long long end = mono_ms() + 30000;
	     sent < 800 && file_count(alog, "slow_consumer") == 0 && mono_ms() < end;) {
		if (sent - got < 8) {
			CHECK(ws_sendf(talker, "{\"type\":\"chat\",\"data\":{\"p\":\"%s\"}}", pad) == 0,
			      "send %d", sent);
			sent++;
		}
		while (wsc_recv(talker, sent - got < 8 ? 0 : 1000, &m) == 1)
			got++;
	}
	CHECK(wait_count(alog, "close=1008 by=server reason=slow_consumer", 1, 8000) == 1,
	      "no slow_consumer line after %d messages", sent);
	CHECK(file_count(alog, "event=session") == 1, "other session lines");
	snprintf(want, sizeof(want), " id=%s ", id);
	CHECK(file_count(alog, want) == 1, "the talker was closed, not the silent one");
	wsc_free(slow);
	CHECK(wsc_close(talker, 1000) == 0, "close");
	wsc_free(talker);
	CHECK(chatd_stop(h, 8000) == 0, "stop");
}

/* ---- SIGUSR1 reopens it; with `user`, the worker reopens as that user ---------- */

/* One session on h that ends with 1000. */
static int one_session(struct chatd *h)
{
	struct wsc *c = ws_join(h, WS "/lobby", NULL, 0);
	int code = c && wsc_close(c, 1000) == 0 ? ws_wait_close(c, 3000, NULL, 0) : -1;

	wsc_free(c);
	return code == 1000 ? 0 : -1;
}

static void t_alog_reopen_run(void)
{
	char conf[256], alog[128], old[128];
	struct chatd *h;
	struct stat st;
	int as_user = geteuid() == 0;

	snprintf(alog, sizeof(alog), "%s", tmp_path("access.log"));
	snprintf(old, sizeof(old), "%s", tmp_path("access.log.1"));
	snprintf(conf, sizeof(conf), "access_log %s\n%s", alog, as_user ? "user nobody\n" : "");
	h = chatd_start(&(struct chatd_opts){ .workers = 2, .conf = conf });
	CHECK(h, "start");
	CHECK(one_session(h) == 0 && wait_count(alog, "event=session", 1, 3000) == 1, "first");
	CHECK(rename(alog, old) == 0, "rename");
	CHECK(kill(h->pid, SIGUSR1) == 0, "SIGUSR1");
	for (long long end = mono_ms() + 3000; stat(alog, &st) != 0 && mono_ms() < end;)
		msleep(20);
	CHECK(stat(alog, &st) == 0, "no new file after SIGUSR1");
	CHECK(!as_user || st.st_uid != 0, "the new file is not given to user");
	msleep(300);   /* the workers reopen after the master made the file */
	for (int i = 0; i < 4; i++)
		CHECK(one_session(h) == 0, "session");
	CHECK(wait_count(alog, "event=session", 4, 3000) == 4, "4 lines in the new file");
	CHECK(file_count(old, "event=session") == 1, "the old file grew");
	CHECK(!chatd_log_has(h, "reopening access_log"), "a worker could not reopen it");
	CHECK(chatd_stop(h, 8000) == 0, "stop");
}

/* A reload applies access_log to the new generation: a new file, then
 * syslog (not checked: no private /dev/log here), then off. */
static void t_alog_reload_run(void)
{
	char conf[256], a[128], b[128];
	struct chatd *h;

	snprintf(a, sizeof(a), "%s", tmp_path("access.log"));
	snprintf(b, sizeof(b), "%s", tmp_path("access.log.1"));
	snprintf(conf, sizeof(conf), "access_log %s\n", a);
	h = chatd_start(&(struct chatd_opts){ .workers = 1, .conf = conf });
	CHECK(h, "start");
	CHECK(one_session(h) == 0 && wait_count(a, "event=session", 1, 3000) == 1, "first");
	const char *const next[] = { b, "syslog", "off" };
	for (int i = 0; i < 3; i++) {
		char want[64];

		snprintf(conf, sizeof(conf), "redis_url off\nlog_level info\nshutdown_timeout 3s\n"
			 "pid_file %s/chatd.pid\naccess_log %s\n", h->dir, next[i]);
		CHECK(chatd_write_conf(h, conf) == 0 && kill(h->pid, SIGHUP) == 0, "reload");
		snprintf(want, sizeof(want), "generation %d started", i + 2);
		/* the old worker, without clients, exits at once */
		for (long long end = mono_ms() + 5000;
		     file_count(h->log_path, ") exited") < i + 1 && mono_ms() < end;)
			msleep(50);
		CHECK(chatd_log_has(h, want) && file_count(h->log_path, ") exited") == i + 1,
		      "no %s", want);
		CHECK(one_session(h) == 0 && one_session(h) == 0, "sessions after reload %d", i + 1);
	}
	CHECK(wait_count(b, "event=session", 2, 3000) == 2, "the new file");
	msleep(200);
	CHECK(file_count(a, "event=session") == 1 && file_count(b, "event=session") == 2,
	      "lines after syslog/off: %d %d", file_count(a, "event="), file_count(b, "event="));
	/* one that cannot be made is refused; the running one stays */
	snprintf(conf, sizeof(conf), "redis_url off\nlog_level info\nshutdown_timeout 3s\n"
		 "pid_file %s/chatd.pid\naccess_log /nonexistent-dir/access.log\n", h->dir);
	CHECK(chatd_write_conf(h, conf) == 0 && kill(h->pid, SIGHUP) == 0, "reload");
	for (long long end = mono_ms() + 5000;
	     !chatd_log_has(h, "keeping the running configuration") && mono_ms() < end;)
		msleep(50);
	CHECK(chatd_log_has(h, "reload: access_log /nonexistent-dir/access.log: No such file"),
	      "bad access_log reloaded");
	CHECK(chatd_stop(h, 8000) == 0, "stop");
}

/* ---- the configuration ------------------------------------------------------------ */

static void t_alog_conf_run(void)
{
	char path[128], out[4096];
	char *argv[] = { (char *)chatd_bin(), "-t", "-c", path, NULL };
	struct chatd *h;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s", tmp_path("chatd.conf"));
	CHECK((f = fopen(path, "w")) != NULL, "write conf");
	fputs("redis_url off\naccess_log access.log\n", f);
	fclose(f);
	rc = run_capture(argv, out, sizeof(out), 5000);
	CHECK(rc != 0 && strstr(out, "chatd.conf:2") && strstr(out, "absolute path"),
	      "relative access_log accepted (%d): %s", rc, out);
	/* a file that cannot be made fails the start, saying why */
	h = chatd_start(&(struct chatd_opts){ .no_wait = 1,
		.conf = "access_log /nonexistent-dir/access.log\n" });
	CHECK(h, "start");
	rc = chatd_wait(h, 5000);
	CHECK(rc == 1 && chatd_log_has(h, "access_log /nonexistent-dir/access.log: No such file"),
	      "start with an access_log that cannot be made: exit %d", rc);
}

/* The cases that use tmp_path(): its directory goes whatever happened. */
static void t_alog_lws_closes(void)
{
	t_alog_lws_closes_run();
	tmp_done();
}

static void t_alog_reopen(void)
{
	t_alog_reopen_run();
	tmp_done();
}

static void t_alog_slow_consumer(void)
{
	t_alog_slow_consumer_run();
	tmp_done();
}

static void t_alog_reload(void)
{
	t_alog_reload_run();
	tmp_done();
}

static void t_alog_conf(void)
{
	t_alog_conf_run();
	tmp_done();
}

/* ---- log_level debug says what happens to each connection ------------------------- */

static void t_log_debug(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .conf = "log_level debug\n" });
	struct wsc *c;

	CHECK(h, "start");
	CHECK((c = ws_join(h, WS "/lobby", NULL, 0)), "join");
	CHECK(ws_sendf(c, "{\"type\":\"chat\",\"data\":{}}") == 0 && ws_recv_type(c, "chat", 3000),
	      "chat");
	CHECK(wsc_close(c, 1000) == 0 && ws_wait_close(c, 3000, NULL, 0) == 1000, "close");
	wsc_free(c);
	CHECK(upgrade_status(h, WS "/bad!room") == 400, "refusal");
	for (long long end = mono_ms() + 3000;
	     !chatd_log_has(h, "closed 1000 by client") && mono_ms() < end;)
		msleep(50);
	CHECK(chatd_log_has(h, "accepted a connection from 127.0.0.1:"), "accepted");
	CHECK(chatd_log_has(h, "joined lobby"), "joined");
	CHECK(chatd_log_has(h, "room lobby: first member"), "room gained");
	CHECK(chatd_log_has(h, "room lobby: last member left"), "room lost");
	CHECK(chatd_log_has(h, "closed 1000 by client (-) after"), "closed");
	CHECK(chatd_log_has(h, "refused with 400"), "refused");
	CHECK(chatd_stop(h, 8000) == 0, "stop");
}

const struct itest_case t_alog_cases[] = {
	{ "alog_sessions", t_alog_sessions, 120 },
	{ "alog_lws_closes", t_alog_lws_closes, 60 },
	{ "alog_slow_consumer", t_alog_slow_consumer, 60 },
	{ "alog_reopen", t_alog_reopen, 60 },
	{ "alog_reload", t_alog_reload, 60 },
	{ "alog_conf", t_alog_conf, 30 },
	{ "alog_log_debug", t_log_debug, 30 },
	{ NULL, NULL, 0 },
};
