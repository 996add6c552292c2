/* SPDX-License-Identifier: MIT */
/*
 * harness.h - the integration test harness: start/stop the real chatd (and
 * redis-server), fetch stats, talk WebSocket, and a tiny assertion framework.
 *
 * Each test runs in its own forked child, in its own process group, with an
 * alarm; itest.c kills the group and reaps everything after the test.  A test
 * is a void function that uses CHECK(); helpers that can fail record the
 * failure with itest_fail() and return NULL / -1.
 *
 * A test file, t_FEATURE.c, exports a table of cases ending with { NULL }:
 *     const struct itest_case t_chat_cases[] = { {"chat_what", fn, 0}, ..., {NULL} };
 * and itest.c lists the tables.  A case is named FEATURE_what, lower snake
 * case, so `itest chat_presence` runs one.
 */
#ifndef CHATD_HARNESS_H
#define CHATD_HARNESS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "wsc.h"

struct itest_case {
	const char *name;
	void      (*fn)(void);
	int         timeout_s;      /* 0: the default (60 s) */
};

/* The path of the WebSocket endpoint (rooms follow: WS "/lobby"). */
#define WS "/api/chat-api/ws"

/* ---- assertions ----------------------------------------------------------- */

/* Record a failure (the first one is kept as the test's reason). */
void itest_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int itest_failed(void);
const char *itest_reason(void);

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			itest_fail(__FILE__, __LINE__, __VA_ARGS__);          \
			return;                                               \
		}                                                             \
	} while (0)
#define CHECKR(cond, ret, ...)                                                \
	do {                                                                  \
		if (!(cond)) {                                                \
			itest_fail(__FILE__, __LINE__, __VA_ARGS__);          \
			return ret;                                           \
		}                                                             \
	} while (0)

/* ---- chatd ------------------------------------------------------------------- */

struct chatd_opts {
	int         workers;        /* -w N; 0 = 1 */
	const char *conf;           /* extra config lines ("key value\n...") */
	int         redis_port;     /* > 0: redis_url redis://127.0.0.1:P, else off */
	int         no_wait;        /* do not wait for /healthz (startup failure tests) */
	int         port;           /* > 0: listen on this port instead of a free one */
	const char *host;           /* listen on this address (NULL: HOST), e.g. "::1" */
};

/* One started chatd; freed by the harness at the end of the test. */
struct chatd {
	pid_t pid;                  /* the master; 0 once reaped */
	int   port;
	int   status;               /* wait status once reaped */
	char  dir[128];             /* /tmp/chatd-itest-XXXXXX */
	char  conf_path[160];
	char  log_path[160];
	char  host[64];             /* the address it listens on (HOST unless asked) */
};

#define HOST "127.0.0.1"

/* Start chatd (see harness.c); NULL with the failure recorded. */
struct chatd *chatd_start(const struct chatd_opts *o);

/* SIGTERM, wait up to timeout_ms (then SIGKILL and record a failure).
 * Returns the exit code, 128 + signal when killed, -1 on timeout. */
int chatd_stop(struct chatd *h, int timeout_ms);

/* Wait up to timeout_ms for the master to exit; like chatd_stop's result,
 * or -2 while it still runs. */
int chatd_wait(struct chatd *h, int timeout_ms);

/* Rewrite the config file with text (for SIGHUP tests); 0 / -1. */
int chatd_write_conf(struct chatd *h, const char *text);

/* The last lines of chatd.log to stderr. */
void chatd_log_tail(const struct chatd *h, int lines);

/* Does chatd.log contain s? */
int chatd_log_has(const struct chatd *h, const char *s);
/* How many lines of the file at path contain s (0 if it cannot be read). */
int file_count(const char *path, const char *s);

/* GET /api/chat-api/ws/stats, parsed; NULL with the failure recorded. */
json_t *harness_stats(struct chatd *h);
/* Same without recording a failure: NULL with why filled. */
json_t *stats_try(struct chatd *h, char *why, size_t cap);
long long stats_num(json_t *o, const char *key);         /* -1 when absent */
/* Poll stats until top-level key == want (up to timeout_ms); the last value. */
long long stats_wait(struct chatd *h, const char *key, long long want, int timeout_ms);
/* The worker pids (state "running") from stats; how many (<= max). */
int stats_worker_pids(struct chatd *h, pid_t *pids, int max);

/* Memory (kB) of the master and its workers: RssAnon summed, plus the
 * shared region (RssShmem) counted once. */
long chatd_rss_kb(struct chatd *h);
/* Is the chatd built with AddressSanitizer (libasan mapped)? */
int chatd_has_asan(struct chatd *h);

/* Is pid running (not gone, not a zombie)? */
int pid_alive(pid_t pid);

/* A free loopback TCP port. */
int free_port(void);

/* Run argv (NULL-terminated) with stdout+stderr captured into out; wait up to
 * timeout_ms.  Returns the exit code, 128 + signal, or -1. */
int run_capture(char *const argv[], char *out, size_t cap, int timeout_ms);

/* Helper shared by tests: the chatd binary from $CHATD_BIN. */
const char *chatd_bin(void);

/* ---- redis ------------------------------------------------------------------ */

struct redis {
	pid_t pid;
	int   port;
	char  dir[128];
};

struct redis *redis_start(void);          /* NULL with the failure recorded */
/* redis-server on port (0: a free one; a port a stopped redis just left is
 * fine: restart on the same port) with requirepass password (NULL: none).
 * Returns once it answers PING (or NOAUTH).  NULL with the failure recorded. */
struct redis *redis_start_port(int port, const char *password);
void redis_stop(struct redis *r);
/* Send one command (argv), the reply as one line into reply (type char
 * first, e.g. "+PONG", "-NOAUTH ...", ":1"; a bulk string is given as its
 * text, nil as "$-1", an array as its first element); 0 / -1. */
int redis_cmd(int port, int argc, const char *const argv[], char *reply, size_t cap);

#define REDIS_REPLY_MAX 4096

/* A reply flattened: arrays are expanded in place, element by element. */
struct redis_reply {
	int         n;
	char        type[REDIS_REPLY_MAX];   /* '+', '-', ':', '$', 'N' (nil) */
	long long   num[REDIS_REPLY_MAX];    /* ':' */
	const char *s[REDIS_REPLY_MAX];      /* '+', '-', '$': valid until the next call */
	size_t      len[REDIS_REPLY_MAX];
};
/* The RESP client: one command (at most 8 binary-safe arguments; lens NULL:
 * strlen each) on a new connection to the redis-server on port, after AUTH
 * password unless it is NULL; the whole reply into v.  0 / -1 (no answer in
 * 3 s, a bad reply, AUTH refused). */
int redis_call(int port, const char *password, int argc, const char *const argv[],
	       const size_t *lens, struct redis_reply *v);

/* ---- WebSocket helpers ------------------------------------------------------- */

/* Connect to path on h; NULL with the failure recorded. */
struct wsc *ws_open(struct chatd *h, const char *path);
/* Next text message as JSON (skipping nothing); NULL on timeout/close/bad JSON. */
json_t *ws_recv_json(struct wsc *c, int timeout_ms);
/* Next text message whose "type" is type, skipping others; NULL on timeout. */
json_t *ws_recv_type(struct wsc *c, const char *type, int timeout_ms);
/* Read until a close frame or EOF: the close code, 0 for EOF without close,
 * -1 on timeout.  reason (may be NULL) gets the close reason. */
int ws_wait_close(struct wsc *c, int timeout_ms, char *reason, size_t cap);
/* Read the welcome; copies data.client_id to id (cap >= 64); 0 / -1. */
int ws_welcome(struct wsc *c, char *id, size_t cap);
/* Open and read the welcome in one go. */
struct wsc *ws_join(struct chatd *h, const char *path, char *id, size_t cap);
/* printf-style text send; 0 / -1. */
int ws_sendf(struct wsc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* json_string_value of o[key] or "" */
const char *js(json_t *o, const char *key);

/*
 * Read many connections at once: poll all fds, drain each ready one and call
 * on_msg(i, msg, arg) per message (msg == NULL: connection i ended; it is
 * not polled again) until done(arg) is true or timeout_ms passes.
 * cs[i] == NULL entries are skipped.  Returns 0 when done, -1 on timeout.
 */
int ws_pump(struct wsc **cs, int n, int timeout_ms,
	    void (*on_msg)(int i, const struct wsc_msg *m, void *arg),
	    int (*done)(void *arg), void *arg);

/* ws_pump's done() that is never true (pump until the timeout) and one that
 * is at once (drain what is ready, then return). */
int ws_pump_never(void *arg);
int ws_pump_now(void *arg);
/* wsc_free each of cs[0..n) (NULL entries are fine) and set it to NULL. */
void ws_free_all(struct wsc **cs, int n);

/*
 * Send request (a whole raw HTTP request, sent as is) to host:port - an IPv4
 * or IPv6 address - and read the response until the server closes or
 * timeout_ms passes: into out, NUL-terminated (truncated to cap - 1).
 * Returns its length, or -1 when the connection or the send failed.
 */
int http_raw(const char *host, int port, const char *request, char *out, size_t cap,
	     int timeout_ms);

/* Sleep ms milliseconds. */
void msleep(int ms);
long long mono_ms(void);

/* ---- detached daemons, files ------------------------------------------------ */

/* A chatd started without -f leaves the test's process group (setsid), so the
 * runner's sweep misses it: a tracked pid is SIGKILLed with its group by
 * harness_cleanup (after the test, also when it failed or timed out). */
void daemon_track(pid_t pid);
/* Reap tracked daemons as they exit, in a thread (they are re-parented to
 * the test process, a subreaper), or they stay zombies that kill -0 finds.
 * Not for a test that waits for a daemon's exit status itself. */
void daemon_reaper_start(void);
/* mkdtemp(tmpl) for this test: harness_cleanup kills the chatd named by
 * tmpl/chatd.pid (a daemon not tracked) and removes the dir and everything
 * in it.  tmpl, or NULL with the failure recorded. */
char *harness_tmpdir(char *tmpl);
/* The pid in a pid file, 0 when absent or unreadable. */
pid_t read_pid(const char *path);
/* The number after `name` at the start of a line of /proc/PID/file:
 * ("status", "VmRSS:") is the VmRSS in kB, ("limits", "Max open files")
 * the soft limit; dflt when the file or the line is missing. */
long proc_field(pid_t pid, const char *file, const char *name, long dflt);
/* Children of pid (from /proc): how many, and how many of them are zombies. */
int children_of(pid_t pid, int *zombies);
/* Write text to path (created or truncated); 0 / -1. */
int write_file(const char *path, const char *text);

/* Called by itest.c in the test child after the test: stop every chatd and
 * redis still running (and the tracked daemons), check logs for sanitizer
 * reports, remove temp dirs. */
void harness_cleanup(void);

#endif
