/*
 * t_ops.c - chatd as a Unix daemon: detaching, the locked pid file, the
 * init script, log reopening, and reloads (generations, drain, 1012, an
 * invalid configuration, many reloads in a row).
 *
 * The daemon tests start chatd without -f; it leaves the test's process
 * group (setsid), so every test here stops what it started itself, also
 * when it fails or times out (daemon_track, harness_tmpdir).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run a test body with the harness reaping the daemons it tracks (a
 * detached chatd is re-parented to the test process); harness_cleanup
 * kills what is left and removes the temp dirs. */
#define OPS_TEST(name)                                                        \
	static void name##_body(void);                                        \
	static void name(void)                                                \
	{                                                                     \
		daemon_reaper_start();                                        \
		name##_body();                                                \
	}                                                                     \
	static void name##_body(void)

/* One daemon's files, in a temp dir. */
struct ops_d {
	char dir[64];
	char conf[96], pid_file[96], log_file[96];
	int port;
};

static int ops_d_init(struct ops_d *d, const char *extra)
{
	char text[2048];

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/chatd-ops-XXXXXX");
	if (!harness_tmpdir(d->dir))
		return -1;
	snprintf(d->conf, sizeof(d->conf), "%s/chatd.conf", d->dir);
	snprintf(d->pid_file, sizeof(d->pid_file), "%s/chatd.pid", d->dir);
	snprintf(d->log_file, sizeof(d->log_file), "%s/chatd.log", d->dir);
	d->port = free_port();
	snprintf(text, sizeof(text),
		 "redis_url off\nlisten 127.0.0.1:%d\nworkers 2\npid_file %s\n"
		 "log_file %s\nlog_level info\nshutdown_timeout 2s\n%s",
		 d->port, d->pid_file, d->log_file, extra ? extra : "");
	CHECKR(write_file(d->conf, text) == 0, -1, "cannot write %s", d->conf);
	return 0;
}

/* Wait until pid is gone (reaping it if it became our child); 1 when gone. */
static int wait_gone(pid_t pid, int timeout_ms)
{
	for (long long end = mono_ms() + timeout_ms; mono_ms() < end; msleep(20)) {
		waitpid(pid, NULL, WNOHANG);
		if (!pid_alive(pid))
			return 1;
	}
	return 0;
}


static int file_has(const char *path, const char *s)
{
	return file_count(path, s) > 0;
}

/* Does /healthz answer 200 on port within 5 s?  (chatd returns once its pid
 * file is written; the workers may still be starting.) */
static int healthy(int port)
{
	char body[64];

	for (long long end = mono_ms() + 5000; mono_ms() < end; msleep(20)) {
		int st = 0;

		if (wsc_http_request(HOST, port, "GET", "/healthz", NULL, NULL, 1000, &st, body,
				 sizeof(body)) >= 0 && st == 200)
			return 1;
	}
	return 0;
}

/* ---- the init script ---------------------------------------------------------- */

/* The init script made by the build, next to CHATD_BIN. */
static const char *initd_path(void)
{
	static char path[4096];
	char bin[4000];

	snprintf(bin, sizeof(bin), "%s", chatd_bin());
	snprintf(path, sizeof(path), "%s/etc/init.d/chatd", dirname(bin));
	return path;
}

/* Run the init script with one action; its exit code, output in out. */
static int initd(const char *action, char *out, size_t cap)
{
	char *argv[] = { "/bin/sh", (char *)initd_path(), (char *)action, NULL };
	int rc = run_capture(argv, out, cap, 40000);

	if (getenv("OPS_VERBOSE"))
		fprintf(stderr, "initd %s -> %d: %s", action, rc, out);
	return rc;
}

static void initd_cycle(const char *use_ssd)
{
	struct ops_d d;
	char out[4096], text[2048];
	pid_t pid, pid2;
	int rc;

	CHECK(access(initd_path(), R_OK) == 0, "no init script at %s", initd_path());
	if (ops_d_init(&d, "drain_timeout 1s\n") < 0)
		return;
	setenv("DAEMON", chatd_bin(), 1);
	setenv("CONF", d.conf, 1);
	setenv("PIDFILE", "", 1);           /* read from the config */
	setenv("CHATD_DEFAULTS", "/nonexistent", 1);
	setenv("USE_SSD", use_ssd, 1);
	setenv("STOP_TIMEOUT", "10", 1);

	rc = initd("status", out, sizeof(out));
	CHECK(rc == 3, "status before start: %d (want 3): %s", rc, out);
	rc = initd("configtest", out, sizeof(out));
	CHECK(rc == 0 && strstr(out, "successful"), "configtest: %d: %s", rc, out);
	rc = initd("start", out, sizeof(out));
	pid = read_pid(d.pid_file);
	daemon_track(pid);
	CHECK(rc == 0, "start: %d: %s", rc, out);
	CHECK(pid > 0 && pid_alive(pid), "start: no live pid in %s", d.pid_file);
	CHECK(healthy(d.port), "not healthy on port %d after start", d.port);
	rc = initd("status", out, sizeof(out));
	CHECK(rc == 0 && strstr(out, "running"), "status: %d: %s", rc, out);
	rc = initd("start", out, sizeof(out));
	CHECK(rc == 0 && read_pid(d.pid_file) == pid, "second start: %d: %s", rc, out);

	/* reload: a valid file starts generation 2 in the same master */
	rc = initd("reload", out, sizeof(out));
	CHECK(rc == 0, "reload: %d: %s", rc, out);
	long long v = -1;
	for (long long end = mono_ms() + 5000; mono_ms() < end && v != 1; msleep(50)) {
		/* a request that lands as an old worker leaves the SO_REUSEPORT
		 * group can be reset (see chatd(8)): ask again */
		char why[300];
		json_t *j = stats_try(&(struct chatd){ .pid = pid, .port = d.port }, why, sizeof(why));

		if (j != NULL)
			v = stats_num(j, "reloads");
		json_decref(j);
	}
	CHECK(v == 1, "stats reloads %lld after reload (want 1)", v);

	/* reload and restart refuse an invalid file and change nothing */
	FILE *f = fopen(d.conf, "a");
	CHECK(f, "open %s", d.conf);
	fputs("no_such_directive 1\n", f);
	fclose(f);
	rc = initd("reload", out, sizeof(out));
	CHECK(rc != 0 && strstr(out, "no_such_directive"), "bad reload: %d: %s", rc, out);
	rc = initd("restart", out, sizeof(out));
	CHECK(rc != 0 && strstr(out, "no_such_directive"), "bad restart: %d: %s", rc, out);
	rc = initd("configtest", out, sizeof(out));
	CHECK(rc == 1, "configtest of a bad file: %d: %s", rc, out);
	CHECK(pid_alive(pid) && read_pid(d.pid_file) == pid && healthy(d.port),
	      "the daemon changed after a refused reload/restart");
	CHECK(!file_has(d.log_file, "no_such_directive"), "the daemon saw the bad file");

	/* restart with a good file: a new master */
	snprintf(text, sizeof(text),
		 "redis_url off\nlisten 127.0.0.1:%d\nworkers 2\npid_file %s\nlog_file %s\n"
		 "log_level info\nshutdown_timeout 2s\n", d.port, d.pid_file, d.log_file);
	CHECK(write_file(d.conf, text) == 0, "rewrite %s", d.conf);
	rc = initd("restart", out, sizeof(out));
	pid2 = read_pid(d.pid_file);
	daemon_track(pid2);
	CHECK(rc == 0, "restart: %d: %s", rc, out);
	CHECK(wait_gone(pid, 3000), "old master %d still there after restart", (int)pid);
	CHECK(pid2 > 0 && pid2 != pid && pid_alive(pid2), "restart: pid %d -> %d", (int)pid,
	      (int)pid2);
	CHECK(healthy(d.port), "not healthy after restart");

	rc = initd("stop", out, sizeof(out));
	CHECK(rc == 0, "stop: %d: %s", rc, out);
	CHECK(wait_gone(pid2, 3000), "master %d still there after stop", (int)pid2);
	CHECK(access(d.pid_file, F_OK) != 0, "pid file left after stop");
	CHECK(file_has(d.log_file, "stopped"), "no \"stopped\" in the log");
	rc = initd("status", out, sizeof(out));
	CHECK(rc == 3, "status after stop: %d (want 3): %s", rc, out);
	rc = initd("stop", out, sizeof(out));
	CHECK(rc == 0, "stop when stopped: %d: %s", rc, out);
	rc = initd("bogus", out, sizeof(out));
	CHECK(rc == 2, "unknown action: %d", rc);
}

OPS_TEST(t_initd_ssd)
{
	initd_cycle("yes");
}

OPS_TEST(t_initd_plain_sh)
{
	initd_cycle("no");
}

/* What cannot work is refused by configtest and start (non-zero, the
 * reason with FILE:LINE), and nothing is left running. */
static void initd_refuses(const char *line, const char *why)
{
	struct ops_d d;
	char out[4096], where[160];
	int rc;

	if (ops_d_init(&d, line) < 0)
		return;
	setenv("DAEMON", chatd_bin(), 1);
	setenv("CONF", d.conf, 1);
	setenv("PIDFILE", "", 1);
	setenv("CHATD_DEFAULTS", "/nonexistent", 1);
	setenv("USE_SSD", "no", 1);
	setenv("STOP_TIMEOUT", "10", 1);
	snprintf(where, sizeof(where), "%s:8: ", d.conf);   /* ops_d_init writes 7 lines */
	rc = initd("configtest", out, sizeof(out));
	CHECK(rc != 0 && strstr(out, where) && strstr(out, why),
	      "configtest with \"%s\": %d: %s", line, rc, out);
	rc = initd("start", out, sizeof(out));
	daemon_track(read_pid(d.pid_file));
	CHECK(rc != 0 && strstr(out, why), "start with \"%s\": %d: %s", line, rc, out);
	CHECK(read_pid(d.pid_file) == 0 && !healthy(d.port), "a daemon runs after a failed start");
}

OPS_TEST(t_initd_refuses)
{
	char secret[128];

	initd_refuses("user nosuchuser\n", "no such user");
	if (itest_failed())
		return;
	initd_refuses("group nosuchgroup\n", "no such group");
	if (itest_failed())
		return;
	initd_refuses("log_file chatd.log\n", "relative path");
	if (itest_failed())
		return;
	initd_refuses("auth_secret_file secret\nauth_enabled on\n", "relative path");
	if (itest_failed())
		return;
	snprintf(secret, sizeof(secret), "auth_secret_file /nonexistent/secret\nauth_enabled on\n");
	initd_refuses(secret, "/nonexistent/secret");
}

/* ---- daemonising and the pid file ---------------------------------------------- */

static int run_chatd(char *out, size_t cap, const char *conf, const char *listen)
{
	char *argv[] = { (char *)chatd_bin(), "-c", (char *)conf, "-l", (char *)listen, NULL };

	if (!listen)
		argv[3] = NULL;
	return run_capture(argv, out, cap, 10000);
}

OPS_TEST(t_pidfile_lock)
{
	struct ops_d d;
	char out[2048], other[64], mine[32];
	pid_t pid;
	int rc;

	if (ops_d_init(&d, NULL) < 0)
		return;
	/* a stale pid file naming a live process (us) does not stop a start */
	snprintf(mine, sizeof(mine), "%d\n", (int)getpid());
	CHECK(write_file(d.pid_file, mine) == 0, "write a stale pid file");
	rc = run_chatd(out, sizeof(out), d.conf, NULL);
	pid = read_pid(d.pid_file);
	daemon_track(pid);
	CHECK(rc == 0, "start: exit %d: %s", rc, out);
	/* the command returned only once the pid file was written */
	CHECK(pid > 0 && pid != getpid() && pid_alive(pid), "pid file: %d", (int)pid);
	CHECK(healthy(d.port), "not healthy");

	/* a second chatd with the same pid_file (another port) is refused */
	snprintf(other, sizeof(other), HOST ":%d", free_port());
	rc = run_chatd(out, sizeof(out), d.conf, other);
	CHECK(rc == 1, "second instance: exit %d (want 1): %s", rc, out);
	CHECK(strstr(out, "already running") && strstr(out, d.pid_file),
	      "second instance said: %s", out);
	CHECK(read_pid(d.pid_file) == pid && pid_alive(pid), "the first one was disturbed");

	/* the address in use is reported on the terminal, before detaching */
	snprintf(d.pid_file, sizeof(d.pid_file), "%s/other.pid", d.dir);
	snprintf(other, sizeof(other), HOST ":%d", d.port);
	rc = run_chatd(out, sizeof(out), d.conf, other);
	CHECK(rc == 1 && strstr(out, "in use"), "port in use: exit %d: %s", rc, out);

	/* TERM: clean exit, pid file removed */
	snprintf(d.pid_file, sizeof(d.pid_file), "%s/chatd.pid", d.dir);
	kill(pid, SIGTERM);
	CHECK(wait_gone(pid, 5000), "master %d still there after SIGTERM", (int)pid);
	CHECK(access(d.pid_file, F_OK) != 0, "pid file left behind");

	/* a usage error is 2 */
	char *argv[] = { (char *)chatd_bin(), "-Z", NULL };
	rc = run_capture(argv, out, sizeof(out), 5000);
	CHECK(rc == 2, "unknown option: exit %d (want 2)", rc);
}

/* SIGUSR1 after renaming the log: master and workers write to a new file. */
OPS_TEST(t_log_reopen)
{
	struct ops_d d;
	char out[2048], rotated[128];
	pid_t pid;
	int rc;

	if (ops_d_init(&d, "drain_timeout 1s\n") < 0)
		return;
	rc = run_chatd(out, sizeof(out), d.conf, NULL);
	pid = read_pid(d.pid_file);
	daemon_track(pid);
	CHECK(rc == 0 && pid > 0, "start: exit %d: %s", rc, out);
	CHECK(healthy(d.port), "not healthy");
	CHECK(file_has(d.log_file, "serving"), "no worker line in the log");

	snprintf(rotated, sizeof(rotated), "%s.1", d.log_file);
	CHECK(rename(d.log_file, rotated) == 0, "rename: %s", strerror(errno));
	kill(pid, SIGUSR1);
	for (long long end = mono_ms() + 3000; mono_ms() < end && access(d.log_file, F_OK);)
		msleep(20);
	CHECK(access(d.log_file, F_OK) == 0, "no new log file after SIGUSR1");
	msleep(200);   /* the workers reopen on their own signal */
	/* a reload makes the old workers log (draining) and new ones start */
	kill(pid, SIGHUP);
	for (long long end = mono_ms() + 5000; mono_ms() < end; msleep(50))
		if (file_has(d.log_file, "draining") && file_has(d.log_file, "generation 2"))
			break;
	CHECK(file_has(d.log_file, "log file reopened"), "no reopen line in the new file");
	CHECK(file_has(d.log_file, "generation 2"), "master lines not in the new file");
	CHECK(file_has(d.log_file, "worker") && file_has(d.log_file, "draining"),
	      "an old worker's lines are not in the new file");
	CHECK(!file_has(rotated, "draining") && !file_has(rotated, "generation 2") &&
	      !file_has(rotated, "log file reopened"),
	      "lines written after SIGUSR1 went to the rotated file");
	kill(pid, SIGTERM);
	CHECK(wait_gone(pid, 5000), "master still there after SIGTERM");
}

/* ---- reloads under traffic -------------------------------------------------------- */

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

OPS_TEST(t_reload_traffic)
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

OPS_TEST(t_reload_invalid)
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

/* VmRSS of pid in kB, -1 if unknown. */
static long vm_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

OPS_TEST(t_reload_many)
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
	long rss0 = vm_rss_kb(h->pid);
	for (int i = 0; i < 10; i++) {
		kill(h->pid, SIGHUP);
		msleep(100);
	}
	CHECK(stats_wait(h, "reloads", 15, 3000) == 15, "reloads != 15");
	for (long long end = mono_ms() + 6000; mono_ms() < end; msleep(100))
		if (children_of(h->pid, &z) == 3 && z == 0)
			break;
	long rss1 = vm_rss_kb(h->pid);
	CHECK(rss0 > 0 && rss1 - rss0 < 512, "master RSS %ld kB -> %ld kB over 10 reloads",
	      rss0, rss1);
	for (int i = 0; i < 3; i++)
		wsc_free(c[i]);
	CHECK(chatd_stop(h, 8000) == 0, "exit status");
}

/* chatd -v and --version print "chatd VERSION" (configure.ac's), exit 0. */
static void t_version(void)
{
	static const char *const flags[] = { "-v", "--version" };
	char out[256];

	for (size_t i = 0; i < 2; i++) {
		char *argv[] = { (char *)chatd_bin(), (char *)flags[i], NULL };
		int rc = run_capture(argv, out, sizeof(out), 5000);

		CHECK(rc == 0 && strcmp(out, "chatd " PACKAGE_VERSION "\n") == 0,
		      "chatd %s: exit %d: %s", flags[i], rc, out);
	}
}

const struct itest_case t_ops_cases[] = {
	{ "ops_initd_ssd", t_initd_ssd, 90 },
	{ "ops_initd_plain_sh", t_initd_plain_sh, 90 },
	{ "ops_initd_refuses", t_initd_refuses, 90 },
	{ "ops_pidfile_lock", t_pidfile_lock, 60 },
	{ "ops_log_reopen", t_log_reopen, 60 },
	{ "ops_reload_traffic", t_reload_traffic, 60 },
	{ "ops_reload_invalid", t_reload_invalid, 60 },
	{ "ops_reload_many", t_reload_many, 60 },
	{ "ops_version", t_version, 30 },
	{ NULL, NULL, 0 }
};
