/* SPDX-License-Identifier: MIT */
/*
 * t_ops.c - chatd as operators run it: the init script, detaching and the
 * locked pid file, log reopening, -v, -t, and a listen address in use.
 *
 * The daemon tests start chatd without -f; it leaves the test's process
 * group (setsid), so the harness stops what each test started, also when
 * it fails or times out (daemon_track, harness_tmpdir).
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* (Re)write d's config file with extra lines appended; 0 / -1 (recorded). */
static int ops_d_conf(struct ops_d *d, const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "redis_url off\nlisten 127.0.0.1:%d\nworkers 2\npid_file %s\n"
		 "log_file %s\nlog_level info\nshutdown_timeout 2s\n%s",
		 d->port, d->pid_file, d->log_file, extra ? extra : "");
	CHECKR(write_file(d->conf, text) == 0, -1, "cannot write %s", d->conf);
	return 0;
}

static int ops_d_init(struct ops_d *d, const char *extra)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/chatd-ops-XXXXXX");
	if (!harness_tmpdir(d->dir))
		return -1;
	snprintf(d->conf, sizeof(d->conf), "%s/chatd.conf", d->dir);
	snprintf(d->pid_file, sizeof(d->pid_file), "%s/chatd.pid", d->dir);
	snprintf(d->log_file, sizeof(d->log_file), "%s/chatd.log", d->dir);
	d->port = free_port();
	return ops_d_conf(d, extra);
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

/* ---- the init script ----------------------------------------------------------- */

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

/* ---- a log file that is a symbolic link ------------------------------------------- */

#define PRECIOUS "precious\n"

/* A file holding PRECIOUS, and link -> it; 0 / -1 (recorded). */
static int plant_symlink(const char *link, const char *target)
{
	CHECKR(write_file(target, PRECIOUS) == 0, -1, "write %s", target);
	CHECKR(symlink(target, link) == 0, -1, "symlink %s: %s", link, strerror(errno));
	return 0;
}

/* target still holds PRECIOUS only: nothing was written through the link. */
static int untouched(const char *target)
{
	struct stat st;

	return stat(target, &st) == 0 && st.st_size == (off_t)strlen(PRECIOUS);
}

/* The master runs as root: a symlink at log_file (or access_log) would send
 * its writes, and its chown, to whatever the link names.  Start refuses. */
OPS_TEST(t_log_symlink_start)
{
	static const char *const which[] = { "log_file", "access_log" };

	for (size_t i = 0; i < 2 && !itest_failed(); i++) {
		char out[2048], extra[256], link[160], target[160];
		struct ops_d d;
		pid_t pid;
		int rc;

		if (ops_d_init(&d, NULL) < 0)
			return;
		snprintf(target, sizeof(target), "%s/target", d.dir);
		snprintf(link, sizeof(link), "%s/access.log", d.dir);
		if (i == 0)
			snprintf(link, sizeof(link), "%s", d.log_file);
		snprintf(extra, sizeof(extra), "access_log %s/access.log\n", d.dir);
		if ((i == 1 && ops_d_conf(&d, extra) < 0) || plant_symlink(link, target) < 0)
			return;
		rc = run_chatd(out, sizeof(out), d.conf, NULL);
		pid = read_pid(d.pid_file);
		if (pid > 0)
			daemon_track(pid);
		CHECK(rc != 0 && pid <= 0, "%s a symlink: started anyway (exit %d)", which[i], rc);
		CHECK(strstr(out, "symbolic link") != NULL, "%s: no reason given: %s", which[i],
		      out);
		CHECK(untouched(target), "%s: written through the symlink", which[i]);
	}
}

/*
 * The log file (alog: the access_log) rotated and a symlink put in its
 * place, then SIGUSR1: the reopen is refused and logged, lines go on to the
 * file already open, a reload is refused, nothing reaches what the link names.
 */
static void symlink_reopen(int alog)
{
	struct ops_d d;
	char out[2048], extra[256], path[128], rotated[160], target[160], log[160], body[64];
	pid_t pid;
	int rc, st = 0;

	if (ops_d_init(&d, NULL) < 0)
		return;
	snprintf(path, sizeof(path), "%s/access.log", d.dir);
	snprintf(extra, sizeof(extra), "drain_timeout 1s\n%s%s\n", alog ? "access_log " : "",
		 alog ? path : "");
	if (ops_d_conf(&d, extra) < 0)
		return;
	if (!alog)
		snprintf(path, sizeof(path), "%s", d.log_file);
	rc = run_chatd(out, sizeof(out), d.conf, NULL);
	pid = read_pid(d.pid_file);
	daemon_track(pid);
	CHECK(rc == 0 && pid > 0, "start: exit %d: %s", rc, out);
	CHECK(healthy(d.port), "not healthy");

	snprintf(rotated, sizeof(rotated), "%s.1", path);
	snprintf(target, sizeof(target), "%s/target", d.dir);
	/* where the refusals are logged: the log file, or the one still open */
	snprintf(log, sizeof(log), "%s", alog ? d.log_file : rotated);
	CHECK(rename(path, rotated) == 0, "rename: %s", strerror(errno));
	if (plant_symlink(path, target) < 0)
		return;
	kill(pid, SIGUSR1);
	/* wait for the refusal this case expects (the master's log reopen may
	 * say "symbolic link" before the workers have reopened the access log) */
	const char *want = alog ? "reopening access_log" : "ymbolic link";
	for (long long end = mono_ms() + 5000; mono_ms() < end; msleep(50))
		if (file_has(log, want) || !untouched(target))
			break;
	CHECK(untouched(target), "the reopen followed the symlink: lines written through it");
	if (alog)
		CHECK(file_has(log, "reopening access_log"), "the workers' refusal is not logged");
	else
		CHECK(file_has(log, "reopening the log file: Too many levels of symbolic links"),
		      "the master's refusal is not logged");
	/* more lines: a request, and a reload (refused: its config names a symlink) */
	wsc_http_request(HOST, d.port, "GET", "/healthz", NULL, NULL, 1000, &st, body,
			 sizeof(body));
	kill(pid, SIGHUP);
	for (long long end = mono_ms() + 5000; mono_ms() < end; msleep(50))
		if (file_has(log, "keeping the running configuration"))
			break;
	CHECK(file_has(log, "keeping the running configuration"), "the reload was not refused");
	CHECK(untouched(target), "lines written through the symlink");
	kill(pid, SIGTERM);
	CHECK(wait_gone(pid, 5000), "master still there after SIGTERM");
}

OPS_TEST(t_log_symlink_reopen)
{
	symlink_reopen(0);
}

OPS_TEST(t_alog_symlink_reopen)
{
	symlink_reopen(1);
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

/* ---- -t and the listen address ------------------------------------------- */

static void configtest_in(const char *dir)
{
	char good[128], bad[128], out[8192], want[200];
	char *argv[] = { (char *)chatd_bin(), "-t", "-c", good, NULL };
	FILE *f;
	int rc;

	snprintf(good, sizeof(good), "%s/good.conf", dir);
	snprintf(bad, sizeof(bad), "%s/bad.conf", dir);
	f = fopen(good, "w");
	CHECK(f, "fopen");
	fprintf(f, "# good\nredis_url off\nworkers 2\nmax_message_size 64k\n"
		   "ping_interval 30s\nshutdown_timeout 2500ms\npresence on\n");
	fclose(f);
	f = fopen(bad, "w");
	CHECK(f, "fopen");
	fprintf(f, "# bad\nredis_url off\nno_such_directive 1\n");
	fclose(f);
	rc = run_capture(argv, out, sizeof(out), 5000);
	snprintf(want, sizeof(want), "configuration file %s test is successful", good);
	CHECK(rc == 0, "-t on a good file: exit %d: %s", rc, out);
	CHECK(strstr(out, want), "-t output '%s'", out);
	argv[3] = bad;
	rc = run_capture(argv, out, sizeof(out), 5000);
	snprintf(want, sizeof(want), "%s:3", bad);
	CHECK(rc == 1, "-t on a bad file: exit %d: %s", rc, out);
	CHECK(strstr(out, want), "-t error does not name %s: '%s'", want, out);
	f = fopen(bad, "w");
	CHECK(f, "fopen");
	fprintf(f, "redis_url off\n\nsend_queue -5\n");
	fclose(f);
	rc = run_capture(argv, out, sizeof(out), 5000);
	CHECK(rc == 1 && strstr(out, want), "bad value: exit %d: '%s'", rc, out);
}

static void t_configtest(void)
{
	char dir[] = "/tmp/chatd-itest-XXXXXX";

	CHECK(harness_tmpdir(dir), "mkdtemp");
	configtest_in(dir);
}

static void t_bind_in_use(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char want[64];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 8) == 0,
	      "bind a blocker");
	(void)one;
	socklen_t al = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	struct chatd *h = chatd_start(&(struct chatd_opts){ .port = ntohs(a.sin_port),
							    .no_wait = 1 });
	CHECK(h, "spawn");
	int st = chatd_wait(h, 3000);
	close(fd);
	CHECK(st != -2, "chatd still running 3 s after a bind failure");
	CHECK(st != 0, "exit status 0 after a bind failure");
	snprintf(want, sizeof(want), "%d", h->port);
	CHECK(chatd_log_has(h, want), "error message does not name port %s", want);
}

const struct itest_case t_ops_cases[] = {
	{ "ops_initd_ssd", t_initd_ssd, 90 },
	{ "ops_initd_plain_sh", t_initd_plain_sh, 90 },
	{ "ops_initd_refuses", t_initd_refuses, 90 },
	{ "ops_pidfile_lock", t_pidfile_lock, 60 },
	{ "ops_log_reopen", t_log_reopen, 60 },
	{ "ops_log_symlink_start", t_log_symlink_start, 60 },
	{ "ops_log_symlink_reopen", t_log_symlink_reopen, 60 },
	{ "ops_alog_symlink_reopen", t_alog_symlink_reopen, 60 },
	{ "ops_version", t_version, 30 },
	{ "ops_configtest", t_configtest, 0 },
	{ "ops_bind_in_use", t_bind_in_use, 0 },
	{ NULL, NULL, 0 },
};
