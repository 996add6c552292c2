/* SPDX-License-Identifier: MIT */
/*
 * t_daemon.c - the master process's lifecycle as operators run it: a
 * detached chatd logging to syslog (its access log too) through many
 * reloads and a stop; a worker that cannot start; the descriptor limit;
 * process titles; the sd_notify messages a supervisor reads.
 *
 * The syslog and passwd tests need root: they run in a private mount
 * namespace (unshare), so the machine's own /dev/log and /etc/passwd are
 * never touched.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOM_PATH "/api/chat-api/ws/lobby"

/* ---- a unix datagram listener (syslog, NOTIFY_SOCKET) ------------------------ */

/* Bind a datagram socket at path; the fd, or -1 with the failure recorded. */
static int dgram_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	CHECKR(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, -1,
	       "bind %s: %s", path, strerror(errno));
	chmod(path, 0666);   /* workers log after dropping privileges */
	return fd;
}

/* One datagram into buf (NUL-terminated) within timeout_ms: its length, or
 * -1 on timeout. */
static int dgram_recv(int fd, char *buf, size_t cap, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, cap - 1, 0);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/* ---- a private /dev/log ------------------------------------------------------- */

static struct {
	int fd;
	pthread_mutex_t mu;
	char *text;          /* every line received, '\n' after each */
	size_t len, cap;
} slog = { -1, PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };

/* The syslog reader: must keep reading, or a full socket would block
 * chatd's syslog() calls. */
static void *slog_reader(void *arg)
{
	char buf[2048];

	(void)arg;
	for (;;) {
		ssize_t n = recv(slog.fd, buf, sizeof(buf), 0);

		if (n <= 0)
			continue;
		pthread_mutex_lock(&slog.mu);
		if (slog.len + (size_t)n + 2 > slog.cap) {
			size_t cap = (slog.cap + (size_t)n + 2) * 2;
			char *t = realloc(slog.text, cap);

			if (t == NULL) {
				pthread_mutex_unlock(&slog.mu);
				continue;
			}
			slog.text = t;
			slog.cap = cap;
		}
		memcpy(slog.text + slog.len, buf, (size_t)n);
		slog.len += (size_t)n;
		slog.text[slog.len++] = '\n';
		slog.text[slog.len] = '\0';
		pthread_mutex_unlock(&slog.mu);
	}
	return NULL;
}

/* Lines received so far that contain s. */
static int slog_count(const char *s)
{
	int n = 0;

	pthread_mutex_lock(&slog.mu);
	for (const char *p = slog.text; p && (p = strstr(p, s)) != NULL; p += strlen(s))
		n++;
	pthread_mutex_unlock(&slog.mu);
	return n;
}

/*
 * Make every mount we can see private, one by one: in a chroot "/" need
 * not be a mount point, and `mount --make-rprivate /` fails there.  0, or
 * -1 with the failure recorded.
 */
static int private_each_mount(void)
{
	char line[4096], point[4096];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int n = 0;

	CHECKR(f, -1, "/proc/self/mountinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1) {
			if (mount(NULL, point, NULL, MS_PRIVATE, NULL) < 0) {
				fclose(f);
				CHECKR(0, -1, "mount --make-private %s: %s", point, strerror(errno));
			}
			n++;
		}
	fclose(f);
	CHECKR(n > 0, -1, "no mounts in /proc/self/mountinfo");
	return 0;
}

/* This process and its children get a mount namespace of their own, with
 * nothing propagating back to the machine's: every mount made here stays
 * here. */
static int private_mounts(void)
{
	CHECKR(unshare(CLONE_NEWNS) == 0, -1, "unshare(CLONE_NEWNS): %s (root needed)",
	       strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		return 0;
	CHECKR(errno == EINVAL, -1, "mount --make-rprivate /: %s", strerror(errno));
	return private_each_mount();
}

/*
 * A tmpfs over /dev (in our mount namespace only) with the few device nodes
 * chatd and libc use made afresh (the random ones only when `random`), and
 * /dev/log a link to log_sock (NULL: none).  Never a bind mount of the real
 * /dev under a directory a test removes: removing files through it would
 * remove the machine's devices.
 */
static int dev_private(const char *log_sock, int random)
{
	static const struct { const char *name; unsigned minor; } nodes[] = {
		{ "null", 3 }, { "zero", 5 }, { "full", 7 }, { "random", 8 }, { "urandom", 9 } };
	char path[64];

	CHECKR(mount("tmpfs", "/dev", "tmpfs", 0, "mode=755") == 0, -1, "tmpfs /dev: %s",
	       strerror(errno));
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (!random && strstr(nodes[i].name, "random"))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", nodes[i].name);
		CHECKR(mknod(path, S_IFCHR | 0666, makedev(1, nodes[i].minor)) == 0 &&
		       chmod(path, 0666) == 0, -1, "mknod %s: %s", path, strerror(errno));
	}
	CHECKR(symlink("/proc/self/fd", "/dev/fd") == 0, -1, "/dev/fd: %s", strerror(errno));
	CHECKR(!log_sock || symlink(log_sock, "/dev/log") == 0, -1, "/dev/log: %s",
	       strerror(errno));
	return 0;
}

/* Make /dev/log (in a private mount namespace) a socket this test reads. */
static int private_dev_log(const char *dir)
{
	static pthread_t reader;
	char sock[256];
	struct stat st;

	snprintf(sock, sizeof(sock), "%s/log", dir);
	if (private_mounts() < 0 || (slog.fd = dgram_listen(sock)) < 0)
		return -1;
	if (stat("/dev/log", &st) == 0) {
		CHECKR(mount(sock, "/dev/log", NULL, MS_BIND, NULL) == 0, -1,
		       "bind over /dev/log: %s", strerror(errno));
	} else if (dev_private(sock, 1) < 0) {
		return -1;
	}
	CHECKR(pthread_create(&reader, NULL, slog_reader, NULL) == 0, -1, "pthread_create");
	return 0;
}

/* ---- a detached chatd we wait for ourselves ------------------------------------ */

static pid_t daemon_pid;            /* killed at the end, failed or not */

static void daemon_kill(void)
{
	if (daemon_pid > 0) {
		/* its session's group: workers deaf to PDEATHSIG's SIGTERM too */
		kill(-daemon_pid, SIGKILL);
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = 0;
	}
}

/* The master's exit code (128 + signal when killed), or -1 after timeout_ms.
 * Detached, it was re-parented to us: the test process is a subreaper. */
static int daemon_wait(int timeout_ms)
{
	int st;

	for (long long end = mono_ms() + timeout_ms; mono_ms() < end; msleep(20))
		if (waitpid(daemon_pid, &st, WNOHANG) == daemon_pid) {
			daemon_pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
	return -1;
}

/* The children of pid (/proc/PID/task/PID/children) into kids; how many. */
static int children_pids(pid_t pid, pid_t *kids, int max)
{
	char path[64];
	long k;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (n < max && fscanf(f, "%ld", &k) == 1)
		kids[n++] = (pid_t)k;
	fclose(f);
	return n;
}

/* Is any of kids[0..n) in old[0..nold)? */
static int any_of(const pid_t *kids, int n, const pid_t *old, int nold)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < nold; j++)
			if (kids[i] == old[j])
				return 1;
	return 0;
}

/*
 * Wait until pid has `want` children, none of them a zombie nor one of the
 * nold pids in `old` (the generation before a reload).  *n, *zombies: the
 * last count.  1 when reached.
 */
static int wait_children(pid_t pid, int want, const pid_t *old, int nold, int timeout_ms,
			 int *n, int *zombies)
{
	pid_t kids[64];

	for (long long end = mono_ms() + timeout_ms;; msleep(50)) {
		int k = children_pids(pid, kids, 64);
		int done;

		*n = children_of(pid, zombies);
		done = *n == want && *zombies == 0 && k == want && !any_of(kids, k, old, nold);
		if (done || mono_ms() > end)
			return done;
	}
}

/*
 * Run body(dir) in a new temp dir made from tmpl, then kill the detached
 * daemon it may have left (it is not in the runner's process group).  The
 * harness removes the dir, and kills the daemon named by its pid file when
 * the test fails or times out before this.
 */
static void in_tmpdir(const char *tmpl, void (*body)(const char *dir))
{
	char dir[64];

	snprintf(dir, sizeof(dir), "%s", tmpl);
	if (!harness_tmpdir(dir))
		return;
	body(dir);
	daemon_kill();
}

/* Write a config file for a detached chatd into dir (conf, pidf: its
 * paths); 0 / -1 with the failure recorded. */
static int daemon_conf(const char *dir, const char *extra, char *conf, char *pidf, int port)
{
	char text[1024];
	FILE *f;

	snprintf(conf, 128, "%s/chatd.conf", dir);
	snprintf(pidf, 128, "%s/chatd.pid", dir);
	snprintf(text, sizeof(text), "redis_url off\nlisten 127.0.0.1:%d\nworkers 2\n"
		 "pid_file %s\n%s", port, pidf, extra);
	f = fopen(conf, "w");
	CHECKR(f && fputs(text, f) >= 0 && fclose(f) == 0, -1, "write %s", conf);
	return 0;
}

/* ---- item 1: reload and stop under syslog -------------------------------------- */

#define RELOADS   10
#define PER_ROUND 2
#define CLIENTS   (RELOADS * PER_ROUND)

static void syslog_reloads(const char *dir);

/* The daemon is not in the runner's process group: kill it here whatever
 * happened, then remove the files. */
static void t_syslog_reloads(void)
{
	in_tmpdir("/tmp/chatd-syslog-XXXXXX", syslog_reloads);
}

static void syslog_reloads(const char *dir)
{
	char conf[128], pidf[128], out[2048];
	struct wsc *old[CLIENTS], *last[4], *racing[RELOADS];
	int nold = 0, port = free_port(), rc, n, zombies, st, gen;
	pid_t gen_pids[64];
	struct chatd h = { .port = port };

	if (private_dev_log(dir) < 0 ||
	    daemon_conf(dir, "log_level info\ndrain_timeout 300ms\nshutdown_timeout 5s\n"
			"access_log syslog\n", conf, pidf, port) < 0)
		return;

	/* detached (no -f), no log_file: syslog */
	char *argv[] = { (char *)chatd_bin(), "-c", conf, NULL };
	rc = run_capture(argv, out, sizeof(out), 20000);
	daemon_pid = read_pid(pidf);
	h.pid = daemon_pid;
	CHECK(rc == 0, "chatd exited %d: %s", rc, out);
	CHECK(daemon_pid > 0, "no pid in %s", pidf);

	for (int r = 1; r <= RELOADS; r++) {
		for (int i = 0; i < PER_ROUND; i++) {
			old[nold] = ws_join(&h, ROOM_PATH, NULL, 0);
			CHECK(old[nold], "round %d: client %d did not join", r, i);
			nold++;
		}
		CHECK(ws_sendf(old[nold - 1], "{\"type\":\"chat\",\"data\":{\"content\":\"r%d\"}}",
			       r) == 0, "send in round %d", r);
		gen = children_pids(daemon_pid, gen_pids, 64);
		CHECK(kill(daemon_pid, SIGHUP) == 0, "SIGHUP: %s", strerror(errno));
		/* a client arriving during the reload: either generation is fine,
		 * and one caught as an old worker leaves the SO_REUSEPORT group can
		 * be reset (chatd(8)): it may fail, and its close code may vary */
		racing[r - 1] = wsc_connect(HOST, port, ROOM_PATH, NULL, 5000, &st);
		/* the older generation drains (300 ms) and exits: 2 new workers */
		CHECK(wait_children(daemon_pid, 2, gen_pids, gen, 15000, &n, &zombies),
		      "after reload %d: %d children of the master (%d zombies), want 2", r, n,
		      zombies);
	}
	/* every client that came before a reload was closed with 1012 */
	for (int i = 0; i < nold; i++) {
		int code = ws_wait_close(old[i], 10000, NULL, 0);

		CHECK(code == 1012, "client %d of %d: close %d, want 1012 (drain)", i, nold, code);
	}
	for (int i = 0; i < 4; i++)
		CHECK((last[i] = ws_join(&h, ROOM_PATH, NULL, 0)), "last client %d", i);
	wsc_free(wsc_connect(HOST, port, "/api/chat-api/ws/bad!room", NULL, 3000, &st));
	CHECK(st == 400, "a bad room's upgrade: %d, want 400", st);
	CHECK(wait_children(daemon_pid, 2, NULL, 0, 1000, &n, &zombies),
	      "%d children (%d zombies) before the stop, want 2", n, zombies);

	CHECK(kill(daemon_pid, SIGTERM) == 0, "SIGTERM: %s", strerror(errno));
	for (int i = 0; i < 4; i++) {
		int code = ws_wait_close(last[i], 10000, NULL, 0);

		CHECK(code == 1001, "last client %d: close %d, want 1001 (stop)", i, code);
	}
	for (int i = 0; i < RELOADS; i++) {
		int code = racing[i] ? ws_wait_close(racing[i], 5000, NULL, 0) : 0;

		CHECK(code == 1012 || code == 1001 || code == 0,
		      "the client of reload %d: close %d", i + 1, code);
	}
	rc = daemon_wait(15000);
	CHECK(rc == 0, "master exit status %d, want 0", rc);
	CHECK(access(pidf, F_OK) != 0, "pid file left after the stop");

	/* what the daemon said went to our /dev/log */
	msleep(100);
	CHECK(slog_count("reloaded configuration; generation") == RELOADS,
	      "%d \"reloaded configuration\" lines at /dev/log, want %d",
	      slog_count("reloaded configuration; generation"), RELOADS);
	CHECK(slog_count("worker") > 0 && slog_count("draining") >= RELOADS,
	      "%d \"draining\" lines from the workers at /dev/log", slog_count("draining"));
	CHECK(slog_count("master: stopped") == 1, "no \"stopped\" line at /dev/log");
	/* and the access log (access_log syslog): a line per session, per refusal */
	CHECK(slog_count("event=session") >= CLIENTS + 4 &&
	      slog_count("close=1012 by=server reason=drain") >= CLIENTS &&
	      slog_count("close=1001 by=server reason=shutdown") >= 4,
	      "access log at /dev/log: %d sessions, %d drained, %d stopped",
	      slog_count("event=session"), slog_count("close=1012 by=server reason=drain"),
	      slog_count("close=1001 by=server reason=shutdown"));
	CHECK(slog_count("event=refused") == 1 && slog_count("status=400 reason=bad_room") == 1,
	      "%d refusals at /dev/log, want the bad room's", slog_count("event=refused"));
}

/* ---- item 2: a worker that cannot start ---------------------------------------- */

/* Bind a copy of /etc/passwd with extra_line added over it (in this
 * process's private mount namespace); the copy's path in copy. */
static int passwd_with(const char *dir, const char *extra_line)
{
	char copy[256], cmd[600];

	snprintf(copy, sizeof(copy), "%s/passwd", dir);
	snprintf(cmd, sizeof(cmd), "cp /etc/passwd '%s' && echo '%s' >> '%s'", copy, extra_line,
		 copy);
	CHECKR(system(cmd) == 0, -1, "%s failed", cmd);
	CHECKR(mount(copy, "/etc/passwd", NULL, MS_BIND, NULL) == 0, -1, "bind %s: %s", copy,
	       strerror(errno));
	return 0;
}

/* Kill worker pid and wait until the master gave up replacing it. */
static int kill_until_given_up(struct chatd *h, pid_t pid, int gave_up_lines)
{
	kill(pid, SIGKILL);
	for (long long end = mono_ms() + 20000; mono_ms() < end; msleep(100))
		if (file_count(h->log_path, "failed at start-up 5 times in a row") >= gave_up_lines)
			return 1;
	return 0;
}

static void worker_start_fails(const char *dir);

static void t_worker_start_fails(void)
{
	in_tmpdir("/tmp/chatd-passwd-XXXXXX", worker_start_fails);
}

static void worker_start_fails(const char *dir)
{
	struct chatd *h;
	pid_t pids[4];
	int n, rc;

	if (private_mounts() < 0 ||
	    passwd_with(dir, "chatdtest:x:4242:4242::/nonexistent:/usr/sbin/nologin") < 0)
		return;
	h = chatd_start(&(struct chatd_opts){ .workers = 2, .conf = "user chatdtest\n" });
	CHECK(h, "start with user chatdtest");
	CHECK(stats_worker_pids(h, pids, 4) == 2, "want 2 workers");
	/* the user goes away while chatd runs: a new worker cannot drop to it */
	CHECK(umount2("/etc/passwd", MNT_DETACH) == 0, "umount /etc/passwd: %s", strerror(errno));

	CHECK(kill_until_given_up(h, pids[0], 1),
	      "the master did not give up on a worker failing at start-up");
	CHECK(chatd_log_has(h, "user \"chatdtest\" not found"), "the worker's reason not logged");
	n = file_count(h->log_path, "not found; exiting");
	msleep(1500);
	CHECK(file_count(h->log_path, "not found; exiting") == n,
	      "workers still started after the master gave up");
	/* the other worker still serves, and every new connection reaches it:
	 * none waits on the listening socket of the worker given up on */
	CHECK(stats_worker_pids(h, pids, 4) == 1, "want the 1 worker left");
	for (int i = 0, st = 0; i < 20; i++)
		CHECK(wsc_http_request(HOST, h->port, "GET", "/healthz", NULL, NULL, 2000, &st,
				       NULL, 0) >= 0 && st == 200,
		      "request %d of 20 after the give-up not answered", i);
	CHECK(chatd_wait(h, 0) == -2, "the master exited with a worker left");

	/* and once none is left, the master stops with status 1 */
	kill(pids[0], SIGKILL);
	rc = chatd_wait(h, 10000);
	CHECK(rc == 1, "master exit %d with no worker left that can start, want 1", rc);
}

/* Workers that cannot start at all (here: no /dev/urandom for lws): the
 * command that starts the daemon fails and says why; nothing is left. */
static void start_fails(const char *dir);

static void t_start_fails(void)
{
	in_tmpdir("/tmp/chatd-nodev-XXXXXX", start_fails);
}

static void start_fails(const char *dir)
{
	char conf[128], pidf[128], text[512], out[4096];
	int port = free_port(), rc;

	snprintf(text, sizeof(text), "log_file %s/chatd.log\n", dir);
	if (daemon_conf(dir, text, conf, pidf, port) < 0 || private_mounts() < 0 ||
	    dev_private(NULL, 0) < 0)
		return;

	char *argv[] = { (char *)chatd_bin(), "-c", conf, NULL };
	rc = run_capture(argv, out, sizeof(out), 30000);
	daemon_pid = read_pid(pidf);
	CHECK(rc == 1, "chatd exited %d with workers unable to start, want 1: %s", rc, out);
	CHECK(strstr(out, "failed at start-up 5 times in a row"), "no reason on stderr: %s", out);
	CHECK(daemon_pid == 0 || daemon_wait(5000) >= 0, "the daemon still runs");
}

/* A reload whose workers cannot start (no /dev/urandom by then): the old
 * generation goes on serving its clients and new ones. */
static void t_reload_start_fails(void)
{
	pid_t before[4], after[4];
	struct wsc *c, *c2;
	struct chatd *h;

	if (private_mounts() < 0)   /* chatd shares it: it sees /dev change */
		return;
	h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	CHECK(h, "start");
	CHECK((c = ws_join(h, ROOM_PATH, NULL, 0)), "join");
	CHECK(stats_worker_pids(h, before, 4) == 2, "want 2 workers");
	if (dev_private(NULL, 0) < 0)
		return;
	kill(h->pid, SIGHUP);
	for (long long end = mono_ms() + 20000; mono_ms() < end; msleep(100))
		if (chatd_log_has(h, "workers of the older generation go on"))
			break;
	CHECK(chatd_log_has(h, "reload: workers failed at start-up 5 times in a row"),
	      "no give-up line for the new generation");
	CHECK(chatd_log_has(h, "the 2 workers of the older generation go on"),
	      "the old generation was not kept");
	CHECK(stats_worker_pids(h, after, 4) == 2 &&
	      ((after[0] == before[0] && after[1] == before[1]) ||
	       (after[0] == before[1] && after[1] == before[0])), "the old workers are gone");
	CHECK(ws_wait_close(c, 1000, NULL, 0) == -1, "the old generation's client was closed");
	CHECK((c2 = ws_join(h, ROOM_PATH, NULL, 0)), "a new client is not served");
	CHECK(chatd_stop(h, 10000) == 0, "exit status");
}

/* ---- item 3: the descriptor limit ----------------------------------------------- */

/* The soft "Max open files" of pid, -1 if unreadable. */
static long soft_nofile(pid_t pid)
{
	return proc_field(pid, "limits", "Max open files", -1);
}

static void t_fd_limit(void)
{
	struct rlimit rl = { 256, 512 };
	struct chatd *h;
	pid_t pids[2];

	/* this test process's own limit: chatd inherits it */
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s", strerror(errno));

	/* enough under the hard limit: raised to what is needed, no warning */
	h = chatd_start(&(struct chatd_opts){ .workers = 1, .conf = "max_connections 300\n" });
	CHECK(h, "start (max_connections 300)");
	CHECK(stats_worker_pids(h, pids, 2) == 1, "want 1 worker");
	CHECK(soft_nofile(pids[0]) == 332, "worker's soft limit %ld, want 300 + 32",
	      soft_nofile(pids[0]));
	CHECK(!chatd_log_has(h, "or lower max_connections"), "warned though the limit suffices");
	CHECK(chatd_log_has(h, "descriptor budget: 1 workers x 332 descriptors: at most 300 "
			    "client connections"), "no budget line");
	chatd_stop(h, 5000);

	/* the default 10000 cannot be had: as far as the hard limit, and a warning */
	h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	CHECK(h, "start (max_connections 10000)");
	CHECK(stats_worker_pids(h, pids, 2) == 2, "want 2 workers");
	CHECK(soft_nofile(h->pid) == 512 && soft_nofile(pids[0]) == 512,
	      "soft limit master %ld, worker %ld, want the hard limit 512",
	      soft_nofile(h->pid), soft_nofile(pids[0]));
	CHECK(chatd_log_has(h, "max_connections 10000 and 32 descriptors of the worker's own "
			    "need 10032 descriptors, but the limit is 512"), "no warning");
	CHECK(chatd_log_has(h, "descriptor budget: 2 workers x 512 descriptors: at most 960 "
			    "client connections"), "no budget line");
}

/* ---- item 7: process titles ----------------------------------------------------- */

/* /proc/PID/cmdline up to the first NUL. */
static const char *cmdline(pid_t pid)
{
	static char buf[512];
	char path[64];
	ssize_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void t_titles(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
							    .conf = "drain_timeout 20s\n" });
	char want[256];
	pid_t g1[2], g2[2];
	struct wsc *c;

	CHECK(h, "start");
	snprintf(want, sizeof(want), "chatd: master process -c %s", h->conf_path);
	CHECK(strcmp(cmdline(h->pid), want) == 0, "master: \"%s\", want \"%s\"",
	      cmdline(h->pid), want);
	CHECK(stats_worker_pids(h, g1, 2) == 2, "want 2 workers");
	for (int i = 0; i < 2; i++)
		CHECK(strcmp(cmdline(g1[i]), "chatd: worker process (generation 1)") == 0,
		      "worker %d: \"%s\"", i, cmdline(g1[i]));

	/* a client keeps the old generation draining */
	CHECK((c = ws_join(h, ROOM_PATH, NULL, 0)), "join");
	kill(h->pid, SIGHUP);
	CHECK(stats_wait(h, "reloads", 1, 5000) == 1, "no reload");
	/* the one holding the client drains (one without a client may be gone) */
	int draining = 0;
	for (long long end = mono_ms() + 5000; !draining && mono_ms() < end; msleep(50))
		draining = strstr(cmdline(g1[0]), "draining") || strstr(cmdline(g1[1]), "draining");
	for (int i = 0; i < 2; i++)
		CHECK(!pid_alive(g1[i]) ||
		      strcmp(cmdline(g1[i]), "chatd: worker process (draining)") == 0,
		      "old worker %d: \"%s\"", i, cmdline(g1[i]));
	CHECK(draining, "no old worker titled \"(draining)\"");
	for (long long end = mono_ms() + 5000; mono_ms() < end; msleep(50))
		if (stats_worker_pids(h, g2, 2) == 2 && g2[0] != g1[0] && g2[0] != g1[1])
			break;
	for (int i = 0; i < 2; i++)
		CHECK(strcmp(cmdline(g2[i]), "chatd: worker process (generation 2)") == 0,
		      "new worker %d: \"%s\"", i, cmdline(g2[i]));
	wsc_close(c, 1000);
}

/* ---- sd_notify -------------------------------------------------------------------- */

/* The next message that is not a STATUS= refresh alone, within timeout_ms. */
static int notify_next(int fd, char *buf, size_t cap, int timeout_ms)
{
	for (long long end = mono_ms() + timeout_ms; mono_ms() < end;) {
		int n = dgram_recv(fd, buf, cap, (int)(end - mono_ms()) + 1);

		if (n < 0)
			return -1;
		if (strncmp(buf, "STATUS=", 7) != 0)
			return n;
	}
	return -1;
}

static void t_sd_notify(void)
{
	char dir[] = "/tmp/chatd-notify-XXXXXX", sock[128], msg[512], body[256];
	struct chatd *h;
	int fd, st = 0;

	CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(sock, sizeof(sock), "%s/notify", dir);
	if ((fd = dgram_listen(sock)) < 0)
		return;
	setenv("NOTIFY_SOCKET", sock, 1);
	h = chatd_start(&(struct chatd_opts){ .workers = 2, .no_wait = 1 });
	unsetenv("NOTIFY_SOCKET");
	CHECK(h, "start");

	CHECK(notify_next(fd, msg, sizeof(msg), 10000) > 0, "no message from chatd");
	CHECK(strncmp(msg, "READY=1", 7) == 0, "first message \"%s\", want READY=1", msg);
	/* READY means serving: no retries */
	CHECK(wsc_http_request(HOST, h->port, "GET", "/healthz", NULL, NULL, 2000, &st, body,
			   sizeof(body)) >= 0 && st == 200, "READY=1 but /healthz answers %d", st);

	kill(h->pid, SIGHUP);
	CHECK(notify_next(fd, msg, sizeof(msg), 10000) > 0 && strncmp(msg, "RELOADING=1", 11) == 0,
	      "after SIGHUP: \"%s\", want RELOADING=1", msg);
	CHECK(notify_next(fd, msg, sizeof(msg), 10000) > 0 && strncmp(msg, "READY=1", 7) == 0,
	      "after RELOADING=1: \"%s\", want READY=1", msg);
	CHECK(strstr(msg, "generation 2"), "READY=1 of the reload: \"%s\"", msg);

	/* STATUS= lines come on change, with the connection count */
	struct wsc *c = ws_join(h, ROOM_PATH, NULL, 0);
	int seen = 0;
	CHECK(c, "join");
	for (long long end = mono_ms() + 8000; !seen && mono_ms() < end;)
		if (dgram_recv(fd, msg, sizeof(msg), 1000) > 0 &&
		    strstr(msg, "STATUS=1 connections, 1 rooms, 2 workers"))
			seen = 1;
	CHECK(seen, "no STATUS= line with 1 connection");
	wsc_close(c, 1000);

	kill(h->pid, SIGTERM);
	CHECK(notify_next(fd, msg, sizeof(msg), 10000) > 0 && strncmp(msg, "STOPPING=1", 10) == 0,
	      "after SIGTERM: \"%s\", want STOPPING=1", msg);
	CHECK(chatd_wait(h, 10000) == 0, "exit status");
	close(fd);
	unlink(sock);
	rmdir(dir);
}

const struct itest_case t_daemon_cases[] = {
	{ "daemon_syslog_reloads", t_syslog_reloads, 180 },
	{ "daemon_worker_start_fails", t_worker_start_fails, 90 },
	{ "daemon_start_fails", t_start_fails, 60 },
	{ "daemon_reload_start_fails", t_reload_start_fails, 60 },
	{ "daemon_fd_limit", t_fd_limit, 60 },
	{ "daemon_titles", t_titles, 60 },
	{ "daemon_sd_notify", t_sd_notify, 60 },
	{ NULL, NULL, 0 }
};
