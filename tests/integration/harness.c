/*
 * harness.c - start/stop chatd and redis-server, stats, WebSocket helpers and
 * the assertion state of one test (see harness.h).  Runs in the test child.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define MAX_INST 16

static char fail_reason[2048];
static int  fail_count;
static struct chatd *insts[MAX_INST];
static int  ninst;
static struct redis *redises[MAX_INST];
static int  nredis;

/* ---- assertions & small utilities ----------------------------------------- */

void itest_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	const char *base = strrchr(file, '/');

	if (fail_count++ > 0)
		return;
	int n = snprintf(fail_reason, sizeof(fail_reason), "%s:%d: ",
			 base ? base + 1 : file, line);
	va_start(ap, fmt);
	vsnprintf(fail_reason + n, sizeof(fail_reason) - (size_t)n, fmt, ap);
	va_end(ap);
}

int itest_failed(void)
{
	return fail_count > 0;
}

const char *itest_reason(void)
{
	return fail_reason;
}

long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

int pid_alive(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *p;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

const char *chatd_bin(void)
{
	const char *b = getenv("CHATD_BIN");

	return b && *b ? b : "./chatd";
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* Wait for pid up to timeout_ms; 1 + *st when reaped, 0 when still running. */
static int wait_pid(pid_t pid, int timeout_ms, int *st)
{
	long long end = mono_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(pid, st, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return r == pid ? 1 : (*st = 0, 1);
		if (mono_ms() >= end)
			return 0;
		msleep(10);
	}
}

int run_capture(char *const argv[], char *out, size_t cap, int timeout_ms)
{
	int p[2], st = 0;
	size_t n = 0;
	long long end = mono_ms() + timeout_ms;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		long long left = end - mono_ms();

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		ssize_t r = read(p[0], out + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n >= cap - 1)
			break;
	}
	out[n] = '\0';
	close(p[0]);
	if (pid < 0 || !wait_pid(pid, (int)(end - mono_ms() > 0 ? end - mono_ms() : 0), &st)) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		}
		return -1;
	}
	return status_code(st);
}

/* Remove dir and the files in it (one level). */
static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* ---- chatd ------------------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

int chatd_write_conf(struct chatd *h, const char *text)
{
	return write_file(h->conf_path, text);
}

static void make_conf(struct chatd *h, const struct chatd_opts *o)
{
	char text[8192];

	if (o->redis_port > 0)
		snprintf(text, sizeof(text), "redis_url redis://127.0.0.1:%d\n", o->redis_port);
	else
		snprintf(text, sizeof(text), "redis_url off\n");
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "# written by the chatd integration tests\n"
		 "pid_file %s/chatd.pid\nlog_level info\nshutdown_timeout 3s\n%s",
		 h->dir, o->conf ? o->conf : "");
	write_file(h->conf_path, text);
}

static pid_t spawn_chatd(struct chatd *h, int workers)
{
	char port[64], w[16];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	int fd = open(h->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	snprintf(port, sizeof(port), strchr(h->host, ':') ? "[%s]:%d" : "%s:%d", h->host, h->port);
	snprintf(w, sizeof(w), "%d", workers > 0 ? workers : 1);
	execl(chatd_bin(), "chatd", "-f", "-c", h->conf_path, "-l", port, "-w", w,
	      (char *)NULL);
	_exit(127);
}

/* Poll /healthz until 200 (or the master died); 0 / -1. */
static int wait_healthy(struct chatd *h, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	char body[256];

	while (mono_ms() < end) {
		int st = 0;

		if (wsc_http_request(h->host, h->port, "GET", "/healthz", NULL, NULL, 500,
				 &st, body, sizeof(body)) >= 0 && st == 200)
			return 0;
		if (chatd_wait(h, 0) != -2)
			return -1;
		msleep(20);
	}
	return -1;
}

struct chatd *chatd_start(const struct chatd_opts *o)
{
	struct chatd *h;

	CHECKR(ninst < MAX_INST, NULL, "too many chatd instances");
	h = calloc(1, sizeof(*h));
	CHECKR(h, NULL, "out of memory");
	insts[ninst++] = h;
	snprintf(h->dir, sizeof(h->dir), "/tmp/chatd-itest-XXXXXX");
	CHECKR(mkdtemp(h->dir), NULL, "mkdtemp: %s", strerror(errno));
	snprintf(h->conf_path, sizeof(h->conf_path), "%s/chatd.conf", h->dir);
	snprintf(h->log_path, sizeof(h->log_path), "%s/chatd.log", h->dir);
	snprintf(h->host, sizeof(h->host), "%s", o->host ? o->host : HOST);
	h->port = o->port > 0 ? o->port : free_port();
	CHECKR(h->port > 0, NULL, "no free port");
	make_conf(h, o);
	h->pid = spawn_chatd(h, o->workers);
	CHECKR(h->pid > 0, NULL, "fork: %s", strerror(errno));
	if (o->no_wait)
		return h;
	CHECKR(wait_healthy(h, 5000) == 0, NULL,
	       "chatd (pid %d, port %d) not healthy within 5 s (exit %d)",
	       (int)h->pid, h->port, h->pid ? -2 : status_code(h->status));
	return h;
}

int chatd_wait(struct chatd *h, int timeout_ms)
{
	int st;

	if (h->pid == 0)
		return status_code(h->status);
	if (!wait_pid(h->pid, timeout_ms, &st))
		return -2;
	h->pid = 0;
	h->status = st;
	return status_code(st);
}

int chatd_stop(struct chatd *h, int timeout_ms)
{
	int r;

	if (h->pid == 0)
		return status_code(h->status);
	kill(h->pid, SIGTERM);
	r = chatd_wait(h, timeout_ms);
	if (r == -2) {
		itest_fail(__FILE__, __LINE__, "chatd %d did not exit within %d ms of SIGTERM",
			   (int)h->pid, timeout_ms);
		kill(h->pid, SIGKILL);
		chatd_wait(h, 2000);
		return -1;
	}
	return r;
}

void chatd_log_tail(const struct chatd *h, int lines)
{
	static char buf[65536];
	FILE *f = fopen(h->log_path, "r");
	size_t n;
	long sz;

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, sz > (long)sizeof(buf) - 1 ? sz - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = buf + n;
	while (p > buf && lines >= 0)
		if (*--p == '\n')
			lines--;
	fprintf(stderr, "---- %s (tail) ----\n%s\n----\n", h->log_path, p);
}

int chatd_log_has(const struct chatd *h, const char *s)
{
	FILE *f = fopen(h->log_path, "r");
	char line[4096];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

/* ---- stats ---------------------------------------------------------------------- */

json_t *stats_try(struct chatd *h, char *why, size_t cap)
{
	static char body[1 << 20];
	json_error_t e;
	json_t *j;
	int st = 0;

	if (wsc_http_request(HOST, h->port, "GET", "/api/chat-api/ws/stats", NULL, NULL,
			 3000, &st, body, sizeof(body)) < 0) {
		snprintf(why, cap, "stats: no answer");
		return NULL;
	}
	if (st != 200) {
		snprintf(why, cap, "stats: HTTP %d", st);
		return NULL;
	}
	j = json_loads(body, 0, &e);
	if (!j || !json_is_object(j)) {
		snprintf(why, cap, "stats: bad JSON (%s): %.200s", e.text, body);
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *harness_stats(struct chatd *h)
{
	char why[300];
	json_t *j = stats_try(h, why, sizeof(why));

	CHECKR(j, NULL, "%s", why);
	return j;
}

long long stats_num(json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return -1;
}

long long stats_wait(struct chatd *h, const char *key, long long want, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms, v = -1;

	do {
		json_t *j = harness_stats(h);

		if (!j)
			return -1;
		v = stats_num(j, key);
		json_decref(j);
		if (v == want)
			break;
		msleep(50);
	} while (mono_ms() < end);
	return v;
}

int stats_worker_pids(struct chatd *h, pid_t *pids, int max)
{
	json_t *j = NULL, *w, *ws;
	char why[300];
	size_t i;
	int n = 0;

	/* a request racing a worker's death can be reset by the kernel (its
	 * SO_REUSEPORT accept queue dies with it): retry a few times */
	for (int t = 0; t < 5 && !j; t++)
		if (!(j = stats_try(h, why, sizeof(why))))
			msleep(50);
	CHECKR(j, 0, "%s (5 tries)", why);
	ws = json_object_get(j, "workers");
	json_array_foreach(ws, i, w) {
		const char *state = js(w, "state");

		if (n < max && (!*state || strcmp(state, "running") == 0))
			pids[n++] = (pid_t)stats_num(w, "pid");
	}
	json_decref(j);
	return n;
}

/* A /proc/PID/status field in kB (0 when absent). */
static long status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			kb = strtol(line + fl + 1, NULL, 10);
	fclose(f);
	return kb;
}

/* Private memory of every process plus the shared region once: summing
 * VmRSS would count the shared ring once per process that touched it. */
long chatd_rss_kb(struct chatd *h)
{
	pid_t pids[65];
	int n = stats_worker_pids(h, pids, 64);
	long kb = 0, shm = 0;

	pids[n++] = h->pid;
	for (int i = 0; i < n; i++) {
		long s = status_kb(pids[i], "RssShmem");

		kb += status_kb(pids[i], "RssAnon");
		shm = s > shm ? s : shm;
	}
	return kb + shm;
}

int chatd_has_asan(struct chatd *h)
{
	char path[64], line[512];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)h->pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "libasan") != NULL;
	fclose(f);
	return found;
}

/* ---- redis ---------------------------------------------------------------------- */

struct redis *redis_start(void)
{
	return redis_start_port(0, NULL);
}

struct redis *redis_start_port(int port, const char *password)
{
	struct redis *r;
	char portstr[16], log[200];
	const char *ping[] = { "PING" };
	char reply[64];

	CHECKR(nredis < MAX_INST, NULL, "too many redis instances");
	r = calloc(1, sizeof(*r));
	CHECKR(r, NULL, "out of memory");
	redises[nredis++] = r;
	snprintf(r->dir, sizeof(r->dir), "/tmp/chatd-itest-redis-XXXXXX");
	CHECKR(mkdtemp(r->dir), NULL, "mkdtemp: %s", strerror(errno));
	r->port = port > 0 ? port : free_port();
	snprintf(portstr, sizeof(portstr), "%d", r->port);
	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	if ((r->pid = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (password)
			execlp("redis-server", "redis-server", "--port", portstr, "--bind", HOST,
			       "--save", "", "--appendonly", "no", "--dir", r->dir,
			       "--requirepass", password, (char *)NULL);
		else
			execlp("redis-server", "redis-server", "--port", portstr, "--bind", HOST,
			       "--save", "", "--appendonly", "no", "--dir", r->dir, (char *)NULL);
		_exit(127);
	}
	CHECKR(r->pid > 0, NULL, "fork: %s", strerror(errno));
	for (long long end = mono_ms() + 5000; mono_ms() < end; msleep(20))
		if (redis_cmd(r->port, 1, ping, reply, sizeof(reply)) == 0 &&
		    (strcmp(reply, "+PONG") == 0 || strncmp(reply, "-NOAUTH", 7) == 0))
			return r;
	CHECKR(0, NULL, "redis-server on port %d did not answer PING", r->port);
}

void redis_stop(struct redis *r)
{
	int st;

	if (!r || r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	if (!wait_pid(r->pid, 3000, &st)) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, &st, 0);
	}
	r->pid = 0;
}

int redis_cmd(int port, int argc, const char *const argv[], char *reply, size_t cap)
{
	char req[4096];
	size_t n = 0;
	int fd, rc = -1;

	n += (size_t)snprintf(req + n, sizeof(req) - n, "*%d\r\n", argc);
	for (int i = 0; i < argc && n < sizeof(req); i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "$%zu\r\n%s\r\n",
				      strlen(argv[i]), argv[i]);
	if (n >= sizeof(req) || (fd = wsc_tcp_connect(HOST, port, 1000)) < 0)
		return -1;
	if (write(fd, req, n) == (ssize_t)n) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r = 0;

		if (poll(&pf, 1, 2000) == 1 && (r = read(fd, reply, cap - 1)) > 0) {
			reply[r] = '\0';
			char *e = strstr(reply, "\r\n");
			if (e && reply[0] == '$' && e[2]) {
				memmove(reply, e + 2, strlen(e + 2) + 1);
				e = strstr(reply, "\r\n");
			}
			if (e)
				*e = '\0';
			rc = 0;
		}
	}
	close(fd);
	return rc;
}

int http_raw(const char *host, int port, const char *request, char *out, size_t cap,
	     int timeout_ms)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int v6 = inet_pton(AF_INET, host, &a4.sin_addr) != 1;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	long long t0 = mono_ms();
	size_t n = 0;
	ssize_t r;

	if (fd < 0 || (v6 && inet_pton(AF_INET6, host, &a6.sin6_addr) != 1) ||
	    connect(fd, v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4,
		    v6 ? sizeof(a6) : sizeof(a4)) < 0 ||
	    send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n + 1 < cap && mono_ms() - t0 < timeout_ms &&
	       (r = recv(fd, out + n, cap - 1 - n, 0)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd);
	return (int)n;
}

/* ---- WebSocket helpers -------------------------------------------------------- */

const char *js(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

struct wsc *ws_open(struct chatd *h, const char *path)
{
	int st = 0;
	struct wsc *c = wsc_connect(HOST, h->port, path, NULL, 5000, &st);

	CHECKR(c, NULL, "connect %s: HTTP %d", path, st);
	return c;
}

json_t *ws_recv_json(struct wsc *c, int timeout_ms)
{
	struct wsc_msg m;

	for (long long end = mono_ms() + timeout_ms;;) {
		long long left = end - mono_ms();
		int r = wsc_recv(c, left > 0 ? (int)left : 0, &m);

		if (r <= 0 || m.opcode == WSC_OP_CLOSE)
			return NULL;
		if (m.opcode == WSC_OP_TEXT)
			return json_loadb(m.data, m.len, 0, NULL);
	}
}

json_t *ws_recv_type(struct wsc *c, const char *type, int timeout_ms)
{
	for (long long end = mono_ms() + timeout_ms;;) {
		long long left = end - mono_ms();
		json_t *j = ws_recv_json(c, left > 0 ? (int)left : 0);

		if (!j)
			return NULL;
		if (strcmp(js(j, "type"), type) == 0)
			return j;
		json_decref(j);
	}
}

int ws_wait_close(struct wsc *c, int timeout_ms, char *reason, size_t cap)
{
	struct wsc_msg m;

	for (long long end = mono_ms() + timeout_ms;;) {
		long long left = end - mono_ms();
		int r = wsc_recv(c, left > 0 ? (int)left : 0, &m);

		if (r < 0)
			return 0;
		if (r == 0)
			return -1;
		if (m.opcode == WSC_OP_CLOSE) {
			if (reason)
				snprintf(reason, cap, "%s", m.close_reason);
			return m.close_code;
		}
	}
}

int ws_welcome(struct wsc *c, char *id, size_t cap)
{
	json_t *j = ws_recv_json(c, 3000);
	json_t *d = json_object_get(j, "data");
	int ok = j && strcmp(js(j, "type"), "system") == 0 &&
		 strcmp(js(d, "event"), "welcome") == 0 && *js(d, "client_id");

	if (ok && id)
		snprintf(id, cap, "%s", js(d, "client_id"));
	if (!ok) {
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

		itest_fail(__FILE__, __LINE__, "no welcome first (got %.200s)", s ? s : "nothing");
		free(s);
	}
	json_decref(j);
	return ok ? 0 : -1;
}

struct wsc *ws_join(struct chatd *h, const char *path, char *id, size_t cap)
{
	struct wsc *c = ws_open(h, path);

	if (c && ws_welcome(c, id, cap) < 0) {
		wsc_free(c);
		return NULL;
	}
	return c;
}

int ws_sendf(struct wsc *c, const char *fmt, ...)
{
	char *buf = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	rc = wsc_send_text(c, buf, (size_t)n);
	free(buf);
	return rc;
}

/* Drain connection i: call on_msg per message; 1 if it ended. */
static int pump_one(struct wsc *c, int i,
		    void (*on_msg)(int, const struct wsc_msg *, void *), void *arg)
{
	struct wsc_msg m;
	int r;

	while ((r = wsc_recv(c, 0, &m)) > 0)
		on_msg(i, &m, arg);
	if (r < 0) {
		on_msg(i, NULL, arg);
		return 1;
	}
	return 0;
}

int ws_pump(struct wsc **cs, int n, int timeout_ms,
	    void (*on_msg)(int i, const struct wsc_msg *m, void *arg),
	    int (*done)(void *arg), void *arg)
{
	struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
	char *dead = calloc((size_t)n, 1);
	long long end = mono_ms() + timeout_ms;
	int rc = -1;

	for (int i = 0; i < n; i++)
		if (cs[i] && pump_one(cs[i], i, on_msg, arg))
			dead[i] = 1;
	while (pf && dead) {
		if (done(arg)) {
			rc = 0;
			break;
		}
		long long left = end - mono_ms();
		if (left <= 0)
			break;
		for (int i = 0; i < n; i++) {
			pf[i].fd = cs[i] && !dead[i] ? wsc_fd(cs[i]) : -1;
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)n, left > 100 ? 100 : (int)left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++)
			if (pf[i].revents && pump_one(cs[i], i, on_msg, arg))
				dead[i] = 1;
	}
	free(pf);
	free(dead);
	return rc;
}

/* ---- cleanup ------------------------------------------------------------------- */

void harness_cleanup(void)
{
	for (int i = 0; i < ninst; i++) {
		struct chatd *h = insts[i];

		if (h->pid > 0) {
			kill(h->pid, SIGKILL);
			chatd_wait(h, 2000);
		}
		if (chatd_log_has(h, "AddressSanitizer") || chatd_log_has(h, "runtime error:") ||
		    chatd_log_has(h, "LeakSanitizer"))
			itest_fail(__FILE__, __LINE__, "sanitizer report in %s", h->log_path);
		if (itest_failed())
			chatd_log_tail(h, 25);
		rm_dir(h->dir);
		free(h);
	}
	ninst = 0;
	for (int i = 0; i < nredis; i++) {
		redis_stop(redises[i]);
		rm_dir(redises[i]->dir);
		free(redises[i]);
	}
	nredis = 0;
}

int file_count(const char *path, const char *s)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, s) != NULL;
	fclose(f);
	return n;
}
