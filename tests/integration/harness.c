/* SPDX-License-Identifier: MIT */
/*
 * harness.c - start/stop chatd and redis-server, stats, WebSocket helpers and
 * the assertion state of one test (see harness.h).  Runs in the test child.
 */
#include "harness.h"

#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Remove dir and everything under it (no symlink is followed). */
static void rm_dir(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- chatd ------------------------------------------------------------------- */

int write_file(const char *path, const char *text)
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

long proc_field(pid_t pid, const char *file, const char *name, long dflt)
{
	char path[64], line[256];
	size_t nl = strlen(name);
	long v = dflt;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (!(f = fopen(path, "r")))
		return dflt;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, nl) == 0) {
			v = strtol(line + nl, NULL, 10);
			break;
		}
	fclose(f);
	return v;
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
		long s = proc_field(pids[i], "status", "RssShmem:", 0);

		kb += proc_field(pids[i], "status", "RssAnon:", 0);
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

/* The bytes of the last reply: a reply's strings point in here. */
static char resp_buf[1 << 20];

static void reply_add(struct redis_reply *v, char t, long long num, const char *s, size_t len)
{
	if (v->n >= REDIS_REPLY_MAX)
		return;
	v->type[v->n] = t;
	v->num[v->n] = num;
	v->s[v->n] = s;
	v->len[v->n] = len;
	v->n++;
}

/* One item at *p: 1 parsed, 0 incomplete, -1 bad. */
static int resp_item(const char *b, size_t n, size_t *p, struct redis_reply *v)
{
	const char *e = *p < n ? memmem(b + *p, n - *p, "\r\n", 2) : NULL;
	size_t le;
	long long x;
	char t;

	if (!e)
		return 0;
	t = b[*p];
	x = strtoll(b + *p + 1, NULL, 10);
	le = (size_t)(e - b) + 2;
	switch (t) {
	case '+':
	case '-':
		reply_add(v, t, 0, b + *p + 1, (size_t)(e - b - (long)*p - 1));
		*p = le;
		return 1;
	case ':':
		reply_add(v, t, x, NULL, 0);
		*p = le;
		return 1;
	case '$':
		if (x < 0) {
			reply_add(v, 'N', 0, NULL, 0);
			*p = le;
			return 1;
		}
		if (le + (size_t)x + 2 > n)
			return 0;
		reply_add(v, '$', 0, b + le, (size_t)x);
		*p = le + (size_t)x + 2;
		return 1;
	case '*':
		*p = le;
		for (long long i = 0; i < x; i++) {
			int r = resp_item(b, n, p, v);

			if (r <= 0)
				return r;
		}
		return 1;
	default:
		return -1;
	}
}

/* Send one command on fd and read its whole reply into v; 0 / -1. */
static int resp_do(int fd, int argc, const char *const argv[], const size_t lens[],
		   struct redis_reply *v)
{
	char hdr[64];
	size_t n = 0, p;
	long long end = mono_ms() + 3000;

	snprintf(hdr, sizeof(hdr), "*%d\r\n", argc);
	if (write(fd, hdr, strlen(hdr)) < 0)
		return -1;
	for (int i = 0; i < argc; i++) {
		snprintf(hdr, sizeof(hdr), "$%zu\r\n", lens[i]);
		if (write(fd, hdr, strlen(hdr)) < 0 ||
		    (lens[i] && write(fd, argv[i], lens[i]) != (ssize_t)lens[i]) ||
		    write(fd, "\r\n", 2) != 2)
			return -1;
	}
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		long long left = end - mono_ms();
		ssize_t r;
		int rc;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			return -1;
		r = read(fd, resp_buf + n, sizeof(resp_buf) - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		v->n = 0;
		p = 0;
		rc = resp_item(resp_buf, n, &p, v);
		if (rc != 0)
			return rc > 0 ? 0 : -1;
		if (n == sizeof(resp_buf))
			return -1;
	}
}

int redis_call(int port, const char *password, int argc, const char *const argv[],
	       const size_t *lens, struct redis_reply *v)
{
	size_t l[8];
	int fd = wsc_tcp_connect(HOST, port, 1000), rc = -1;

	if (fd < 0 || argc > 8)
		return fd < 0 ? -1 : (close(fd), -1);
	for (int i = 0; i < argc; i++)
		l[i] = lens ? lens[i] : strlen(argv[i]);
	if (password) {
		const char *a[2] = { "AUTH", password };
		size_t al[2] = { 4, strlen(password) };

		if (resp_do(fd, 2, a, al, v) < 0 || v->n != 1 || v->type[0] != '+') {
			close(fd);
			return -1;
		}
	}
	rc = resp_do(fd, argc, argv, l, v);
	close(fd);
	return rc;
}

int redis_cmd(int port, int argc, const char *const argv[], char *reply, size_t cap)
{
	static struct redis_reply v;

	if (redis_call(port, NULL, argc, argv, NULL, &v) < 0 || v.n < 1)
		return -1;
	if (v.type[0] == ':')
		snprintf(reply, cap, ":%lld", v.num[0]);
	else if (v.type[0] == '$')
		snprintf(reply, cap, "%.*s", (int)v.len[0], v.s[0]);
	else if (v.type[0] == 'N')
		snprintf(reply, cap, "$-1");
	else
		snprintf(reply, cap, "%c%.*s", v.type[0], (int)v.len[0], v.s[0]);
	return 0;
}

int ws_pump_never(void *arg)
{
	(void)arg;
	return 0;
}

int ws_pump_now(void *arg)
{
	(void)arg;
	return 1;
}

void ws_free_all(struct wsc **cs, int n)
{
	for (int i = 0; i < n; i++) {
		wsc_free(cs[i]);
		cs[i] = NULL;
	}
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

/* ---- detached daemons and their temp dirs ------------------------------------- */

#define MAX_DAEMONS 8

/* Tracked pids; the reaper thread zeroes one it reaped. */
static _Atomic pid_t daemons[MAX_DAEMONS];
static _Atomic int   ndaemons;
static char tmpdirs[MAX_INST][128];
static int  ntmpdirs;

void daemon_track(pid_t pid)
{
	for (int i = 0; i < ndaemons; i++)
		if (daemons[i] == pid)
			return;
	if (pid > 0 && pid != getpid() && ndaemons < MAX_DAEMONS)
		daemons[ndaemons++] = pid;
}

/*
 * A detached chatd is re-parented to the test process (a child subreaper):
 * reap our daemons as they exit, as init would, or they stay zombies that
 * `kill -0` still finds (and the init script's stop would wait for them).
 * A thread, not a SIGCHLD handler: a signal would interrupt the harness's
 * poll() calls.  Only tracked pids: run_capture() waits for its children.
 */
static void *daemon_reaper(void *arg)
{
	(void)arg;
	for (;;) {
		for (int i = 0; i < ndaemons; i++) {
			pid_t pid = daemons[i];

			if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
				daemons[i] = 0;
		}
		msleep(10);
	}
	return NULL;
}

void daemon_reaper_start(void)
{
	static pthread_t reaper;

	if (!reaper && pthread_create(&reaper, NULL, daemon_reaper, NULL) != 0)
		reaper = 0;
}

/* SIGKILL pid and its process group (a detached chatd leads its own session,
 * with workers that may be deaf to PDEATHSIG), then reap it if it is ours. */
static void daemon_kill_pid(pid_t pid)
{
	int st;

	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	wait_pid(pid, 2000, &st);
}

/* The chatd whose pid is in dir/chatd.pid, if that process is a chatd. */
static pid_t chatd_of_dir(const char *dir)
{
	char path[200], comm[32];
	pid_t pid;
	FILE *f;

	snprintf(path, sizeof(path), "%.150s/chatd.pid", dir);
	pid = read_pid(path);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = pid > 0 && pid != getpid() ? fopen(path, "r") : NULL;
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f) || strncmp(comm, "chatd", 5) != 0)
		pid = 0;
	fclose(f);
	return pid;
}

char *harness_tmpdir(char *tmpl)
{
	CHECKR(ntmpdirs < MAX_INST, NULL, "too many temp dirs");
	CHECKR(mkdtemp(tmpl), NULL, "mkdtemp %s: %s", tmpl, strerror(errno));
	snprintf(tmpdirs[ntmpdirs++], sizeof(tmpdirs[0]), "%s", tmpl);
	return tmpl;
}

/* Kill the tracked daemons and any chatd named by a pid file in our temp
 * dirs (one that wrote its pid file late, say), then remove the dirs. */
static void daemons_cleanup(void)
{
	for (int i = 0; i < ndaemons; i++) {
		pid_t pid = daemons[i];   /* once: the reaper may zero it */

		if (pid > 0)
			daemon_kill_pid(pid);
	}
	ndaemons = 0;
	for (int i = 0; i < ntmpdirs; i++) {
		pid_t pid = chatd_of_dir(tmpdirs[i]);

		if (pid > 0)
			daemon_kill_pid(pid);
		rm_dir(tmpdirs[i]);
	}
	ntmpdirs = 0;
}

pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;

	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

int children_of(pid_t pid, int *zombies)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	*zombies = 0;
	while (d && (e = readdir(d))) {
		char path[64], buf[512], *p, state;
		int ppid;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", atoi(e->d_name));
		if (!(f = fopen(path, "r")))
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		if (!(p = strrchr(buf, ')')) || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
			continue;
		if (ppid == (int)pid) {
			n++;
			if (state == 'Z')
				(*zombies)++;
		}
	}
	if (d)
		closedir(d);
	return n;
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
	daemons_cleanup();
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
