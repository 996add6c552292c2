/* SPDX-License-Identifier: MIT */
/*
 * test_conf.c - the configuration: table, parsers, files, precedence, and
 * agreement between the table, chatd.conf(5) and etc/chatd.conf; and the
 * listen lines' sockets (listener.c) on loopback.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chatd.h"
#include "conf.h"
#include "confval.h"
#include "cu.h"
#include "listener.h"
#include "log.h"
#include "redis_url.h"
#include "ring.h"

static void clear_env(void)
{
	unsetenv("REDIS_URL");
	unsetenv("AUTH_ENABLED");
}

/* Writes text to a new file under /tmp; path gets its name. */
static void write_tmp(const char *text, char *path, size_t len)
{
	snprintf(path, len, "/tmp/test_conf.XXXXXX");
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	size_t n = strlen(text);
	CU_ASSERT_FATAL(write(fd, text, n) == (ssize_t)n);
	close(fd);
}

/* Loads text as a file; NULL on error with err filled. */
static struct conf *load_text(const char *text, char *err, size_t errlen, char *path, size_t len)
{
	write_tmp(text, path, len);
	struct conf *c = conf_load(path, NULL, 0, err, errlen);
	unlink(path);
	return c;
}

static void test_defaults(void)
{
	char err[CHATD_ERR_MAX];
	clear_env();
	struct conf *c = conf_load(NULL, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->listen.v[0].host, "0.0.0.0");
	CU_ASSERT_EQUAL(c->listen.v[0].port, CHATD_DEF_PORT);
	CU_ASSERT_EQUAL(c->workers, 0);
	CU_ASSERT_STRING_EQUAL(c->redis_url, "redis://localhost:6379");
	CU_ASSERT_STRING_EQUAL(c->pod_id, "");
	CU_ASSERT_STRING_EQUAL(c->path_prefix, "/api/chat-api");
	CU_ASSERT_EQUAL(c->max_message_size, CHATD_DEF_MAX_MSG);
	CU_ASSERT_EQUAL(c->send_queue, CHATD_DEF_SENDQ);
	CU_ASSERT_EQUAL(c->ping_interval_ms, CHATD_DEF_PING * 1000);
	CU_ASSERT_EQUAL(c->pong_timeout_ms, CHATD_DEF_PONG * 1000);
	CU_ASSERT_EQUAL(c->presence, 1);
	CU_ASSERT_EQUAL(c->presence_max_members, 200);
	CU_ASSERT_EQUAL(c->auth_enabled, 0);
	CU_ASSERT_STRING_EQUAL(c->allowed_origins, "*");
	CU_ASSERT_EQUAL(c->shutdown_timeout_ms, 5000);
	CU_ASSERT_EQUAL(c->drain_timeout_ms, 30000);
	CU_ASSERT_EQUAL(c->ring_size, 16u << 20);
	CU_ASSERT_EQUAL(c->uplink_size, 1u << 20);
	CU_ASSERT_EQUAL(c->max_connections, 10000);
	CU_ASSERT_EQUAL(c->log_level, LOG_LVL_NOTICE);
	CU_ASSERT_STRING_EQUAL(c->log_file, "");
	CU_ASSERT_STRING_EQUAL(c->pid_file, RUNSTATEDIR "/chatd.pid");
	CU_ASSERT_STRING_EQUAL(c->user, "");
	CU_ASSERT_STRING_EQUAL(c->group, "");
	CU_ASSERT_EQUAL(c->redis_connect_timeout_ms, 2000);
	CU_ASSERT_EQUAL(c->redis_health_interval_ms, 1000);
	CU_ASSERT_EQUAL(c->redis_timeout_ms, 3000);
	CU_ASSERT_EQUAL(c->redis_queue_max, 10000);
	CU_ASSERT_EQUAL(c->redis_queue_age_ms, 30000);
	conf_free(c);
	conf_free(NULL);
}

/* Every row is well formed: unique name, field inside the struct of the
 * size its type stores, a range that holds, help text. */
static void test_table(void)
{
	size_t n;
	const struct conf_directive *t = conf_directives(&n);
	CU_ASSERT_FATAL(n >= 22);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT(t[i].offset + t[i].size <= sizeof(struct conf));
		CU_ASSERT(t[i].help != NULL && t[i].help[0] != '\0');
		CU_ASSERT(t[i].min <= t[i].max);
		if (t[i].type == CONF_SIZE) {
			CU_ASSERT_EQUAL(t[i].size, sizeof(size_t));
		} else if (t[i].type == CONF_CIDRS) {
			CU_ASSERT_EQUAL(t[i].size, sizeof(struct cidr_list));
		} else if (t[i].type != CONF_STRING && t[i].type != CONF_LISTEN &&
			   t[i].type != CONF_REDIS_URL) {
			CU_ASSERT_EQUAL(t[i].size, sizeof(int));
		}
		for (size_t j = i + 1; j < n; j++)
			CU_ASSERT(strcmp(t[i].name, t[j].name) != 0);
	}
}

static void test_duration(void)
{
	static const struct { const char *s; long long ms; } good[] = {
		{ "5", 5000 }, { "0", 0 }, { "500ms", 500 }, { "3s", 3000 },
		{ "2m", 120000 }, { "1h", 3600000 }, { "54s", 54000 },
	};
	static const char *const bad[] = {
		"", "s", "-1", "1.5s", "3 s", "3x", "3sec", "ms", "1hh",
		"99999999999999999999", " 3s", "+3",
	};
	long long v;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		CU_ASSERT_EQUAL(confval_parse_duration_ms(good[i].s, &v), 0);
		CU_ASSERT_EQUAL(v, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(confval_parse_duration_ms(bad[i], &v), -1);
}

static void test_size(void)
{
	static const struct { const char *s; long long b; } good[] = {
		{ "65536", 65536 }, { "64k", 65536 }, { "64K", 65536 },
		{ "16m", 16LL << 20 }, { "1g", 1LL << 30 }, { "0", 0 },
	};
	static const char *const bad[] = {
		"", "k", "-1", "1.5m", "16 m", "16mb", "2t", "99999999999999999999g", "x",
	};
	long long v;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		CU_ASSERT_EQUAL(confval_parse_size(good[i].s, &v), 0);
		CU_ASSERT_EQUAL(v, good[i].b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(confval_parse_size(bad[i], &v), -1);
}

static void test_listen(void)
{
	static const struct { const char *s, *host; int port; } good[] = {
		{ "0.0.0.0:8080", "0.0.0.0", 8080 }, { "127.0.0.1:9000", "127.0.0.1", 9000 },
		{ "[::1]:9000", "::1", 9000 }, { ":9000", "", 9000 }, { "*:9000", "", 9000 },
		{ "localhost:1", "localhost", 1 }, { "[::]:65535", "::", 65535 },
	};
	static const char *const bad[] = {
		"", "8080", "127.0.0.1", "127.0.0.1:", "1.2.3.4:0", "1.2.3.4:65536",
		"::1:9000", "[::1]9000", "[::1:9000", "[zz]:9000", "a b:80", "host:80x",
		":-1", "[]:80",
	};
	char host[64];
	int port;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		port = -1;
		CU_ASSERT_EQUAL(confval_parse_listen(good[i].s, host, sizeof(host), &port), 0);
		CU_ASSERT_STRING_EQUAL(host, good[i].host);
		CU_ASSERT_EQUAL(port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(confval_parse_listen(bad[i], host, sizeof(host), &port), -1);
	CU_ASSERT_EQUAL(confval_parse_listen("localhost:80", host, 5, &port), -1);
}

/* confval's other values, directly: numbers, booleans, the prefix, and the
 * text written back (largest exact unit, 0 bare, quotes when needed). */
static void test_confval(void)
{
	static const struct { long long v; const char *size, *dur; } units[] = {
		{ 0, "0", "0" }, { 1, "1", "1ms" }, { 1000, "1000", "1s" },
		{ 1024, "1k", "1024ms" }, { 16LL << 20, "16m", "16777216ms" },
		{ 1LL << 30, "1g", "1073741824ms" }, { 90000, "90000", "90s" },
		{ 7200000, "7200000", "2h" }, { 1536, "1536", "1536ms" },
	};
	struct cidr_list l = { 0 };
	char buf[64], err[128];
	long long v;
	int b;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		CU_ASSERT_EQUAL(confval_format_size(units[i].v, buf, sizeof(buf)),
				(int)strlen(units[i].size));
		CU_ASSERT_STRING_EQUAL(buf, units[i].size);
		CU_ASSERT(confval_parse_size(buf, &v) == 0 && v == units[i].v);
		CU_ASSERT_EQUAL(confval_format_duration(units[i].v, buf, sizeof(buf)),
				(int)strlen(units[i].dur));
		CU_ASSERT_STRING_EQUAL(buf, units[i].dur);
		CU_ASSERT(confval_parse_duration_ms(buf, &v) == 0 && v == units[i].v);
	}
	CU_ASSERT(confval_parse_int("-42", &v) == 0 && v == -42);
	CU_ASSERT(confval_parse_int("7", &v) == 0 && v == 7);
	CU_ASSERT_EQUAL(confval_parse_int("7k", &v), -1);
	CU_ASSERT_EQUAL(confval_parse_int("--7", &v), -1);
	CU_ASSERT_EQUAL(confval_parse_int("", &v), -1);
	CU_ASSERT(confval_parse_bool("YES", &b) == 0 && b == 1);
	CU_ASSERT(confval_parse_bool("False", &b) == 0 && b == 0);
	CU_ASSERT_EQUAL(confval_parse_bool("2", &b), -1);
	CU_ASSERT(confval_path_prefix_ok("/api/chat-api"));
	CU_ASSERT(!confval_path_prefix_ok("/"));
	CU_ASSERT(!confval_path_prefix_ok("/a b"));
	confval_format_string("a b", buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "\"a b\"");
	confval_format_string("", buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "\"\"");
	confval_format_string("plain", buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "plain");
	CU_ASSERT_EQUAL_FATAL(cidr_list_add(&l, "10.0.0.0/8 ::1", err, sizeof(err)), 0);
	CU_ASSERT(confval_format_cidrs(&l, buf, sizeof(buf)) < (int)sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "10.0.0.0/8 ::1/128");
	CU_ASSERT(confval_format_cidrs(&l, buf, 5) >= 5);
	CU_ASSERT_EQUAL(strlen(buf), 4);
}

static struct conf *defaults(void)
{
	char err[CHATD_ERR_MAX];
	clear_env();
	struct conf *c = conf_load(NULL, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

static void test_bool(void)
{
	static const char *const on[] = { "on", "yes", "true", "1", "ON", "Yes" };
	static const char *const off[] = { "off", "no", "false", "0", "OFF" };
	static const char *const bad[] = { "", "2", "y", "onn", "enabled" };
	struct conf *c = defaults();
	char err[CHATD_ERR_MAX];
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		c->presence = 0;
		CU_ASSERT_EQUAL(conf_set(c, "presence", on[i], err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(c->presence, 1);
	}
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		c->presence = 1;
		CU_ASSERT_EQUAL(conf_set(c, "presence", off[i], err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(c->presence, 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(conf_set(c, "presence", bad[i], err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "presence: "));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a boolean"));
	}
	conf_free(c);
}

/* Writes v in plain numbers (ms for durations) so every type parses it. */
static void number_text(const struct conf_directive *d, long long v, char *buf, size_t len)
{
	snprintf(buf, len, d->type == CONF_DURATION ? "%lldms" : "%lld", v);
}

/* Every numeric directive takes its min and max and refuses one past. */
static void test_ranges(void)
{
	size_t n;
	const struct conf_directive *t = conf_directives(&n);
	struct conf *c = defaults();
	char err[CHATD_ERR_MAX];
	char buf[64];
	int checked = 0;

	for (size_t i = 0; i < n; i++) {
		const struct conf_directive *d = &t[i];
		if (d->type != CONF_INT && d->type != CONF_SIZE && d->type != CONF_DURATION)
			continue;
		checked++;
		number_text(d, d->min, buf, sizeof(buf));
		CU_ASSERT_EQUAL(conf_set(c, d->name, buf, err, sizeof(err)), 0);
		number_text(d, d->max, buf, sizeof(buf));
		CU_ASSERT_EQUAL(conf_set(c, d->name, buf, err, sizeof(err)), 0);
		number_text(d, d->max + 1, buf, sizeof(buf));
		CU_ASSERT_EQUAL(conf_set(c, d->name, buf, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, d->name));
		if (d->min > 0) {
			number_text(d, d->min - 1, buf, sizeof(buf));
			CU_ASSERT_EQUAL(conf_set(c, d->name, buf, err, sizeof(err)), -1);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
		}
	}
	CU_ASSERT_EQUAL(checked, 27);   /* 11 ints, 4 sizes, 12 durations */
	CU_ASSERT_EQUAL(conf_set(c, "send_queue", "70000", err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "send_queue: \"70000\" is out of range (1..65536)");
	CU_ASSERT_EQUAL(conf_set(c, "max_message_size", "32m", err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err,
			       "max_message_size: \"32m\" is out of range (128..16m)");
	CU_ASSERT_EQUAL(conf_set(c, "pong_timeout", "0", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(conf_set(c, "send_queue", "-5", err, sizeof(err)), -1);
	conf_free(c);
}

static void test_numbers(void)
{
	struct conf *c = defaults();
	char err[CHATD_ERR_MAX];

	CU_ASSERT_EQUAL(conf_set(c, "send_queue", "abc", err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "send_queue: \"abc\" is not a number");
	CU_ASSERT_EQUAL(conf_set(c, "send_queue", "12k", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(conf_set(c, "send_queue", "512", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->send_queue, 512);
	CU_ASSERT_EQUAL(conf_set(c, "max_message_size", "1m", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->max_message_size, 1u << 20);
	CU_ASSERT_EQUAL(conf_set(c, "max_message_size", "big", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not a size"));
	CU_ASSERT_EQUAL(conf_set(c, "ping_interval", "500ms", err, sizeof(err)), -1);  /* < 1s */
	CU_ASSERT_EQUAL(conf_set(c, "ping_interval", "2m", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->ping_interval_ms, 120000);
	CU_ASSERT_EQUAL(conf_set(c, "pong_timeout", "90", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->pong_timeout_ms, 90000);
	CU_ASSERT_EQUAL(conf_set(c, "shutdown_timeout", "soon", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not a duration"));
	conf_free(c);
}

static void test_workers(void)
{
	struct conf *c = defaults();
	char err[CHATD_ERR_MAX];

	CU_ASSERT_EQUAL(conf_set(c, "workers", "4", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->workers, 4);
	CU_ASSERT_EQUAL(conf_set(c, "workers", "auto", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->workers, 0);
	CU_ASSERT_EQUAL(conf_set(c, "workers", "0", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(conf_set(c, "workers", "65", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(conf_set(c, "workers", "64", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->workers, CHATD_MAX_WORKERS);
	CU_ASSERT_EQUAL(conf_set(c, "workers", "many", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "auto"));
	conf_free(c);
}

static void test_redis_url(void)
{
	static const char *const good[] = {
		"redis://localhost:6379", "redis://10.0.0.1:6380/2", "redis://:pw@redis:6379",
		"redis://:p@ss@h:1/0", "redis://[::1]:6379", "redis://my-redis.svc_1:6379/15",
	};
	static const char *const bad[] = {
		"localhost:6379", "http://h:6379", "redis://", "redis://h", "redis://h:0",
		"redis://h:6379/", "redis://h:6379/x", "redis://pw@h:6379", "redis://:pw@",
		"redis://h h:6379", "redis://::1:6379", "redis://h:6379:1",
	};
	struct conf *c = defaults();
	char err[CHATD_ERR_MAX];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_EQUAL(conf_set(c, "redis_url", good[i], err, sizeof(err)), 0);
		CU_ASSERT_STRING_EQUAL(c->redis_url, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(conf_set(c, "redis_url", bad[i], err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "redis_url: "));
	}
	CU_ASSERT_EQUAL(conf_set(c, "redis_url", "off", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c->redis_url, "");
	strcpy(c->redis_url, "x");
	CU_ASSERT_EQUAL(conf_set(c, "redis_url", "", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c->redis_url, "");
	conf_free(c);
}

static void test_strings(void)
{
	static const char *const good_prefix[] = { "/api/chat-api", "/x", "/a/b.c_d~e" };
	static const char *const bad_prefix[] = { "", "/", "api", "/api/", "/a b", "/a?b",
						  "/a//b", "/a%20" };
	struct conf *c = defaults();
	char err[CHATD_ERR_MAX];
	char big[CONF_STR_MAX + 1];

	for (size_t i = 0; i < sizeof(good_prefix) / sizeof(good_prefix[0]); i++) {
		CU_ASSERT_EQUAL(conf_set(c, "path_prefix", good_prefix[i], err, sizeof(err)), 0);
		CU_ASSERT_STRING_EQUAL(c->path_prefix, good_prefix[i]);
	}
	for (size_t i = 0; i < sizeof(bad_prefix) / sizeof(bad_prefix[0]); i++)
		CU_ASSERT_EQUAL(conf_set(c, "path_prefix", bad_prefix[i], err, sizeof(err)), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(conf_set(c, "pod_id", big, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "too long"));
	big[CONF_STR_MAX - 1] = '\0';
	CU_ASSERT_EQUAL(conf_set(c, "pod_id", big, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(c->pod_id), CONF_STR_MAX - 1);
	big[64] = '\0';
	CU_ASSERT_EQUAL(conf_set(c, "user", big, err, sizeof(err)), -1);   /* user is 64 bytes */
	CU_ASSERT_EQUAL(conf_set(c, "user", "chatd", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c->user, "chatd");
	CU_ASSERT_EQUAL(conf_set(c, "nonsense", "1", err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "unknown directive \"nonsense\"");
	conf_free(c);
}

static void test_pow2_and_level(void)
{
	struct conf *c = defaults();
	char err[CHATD_ERR_MAX];
	static const char *const levels[] = { "error", "warn", "notice", "info", "debug" };

	CU_ASSERT_EQUAL(conf_set(c, "ring_size", "64m", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->ring_size, 64u << 20);
	CU_ASSERT_EQUAL(conf_set(c, "ring_size", "96k", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "power of two"));
	CU_ASSERT_EQUAL(conf_set(c, "uplink_size", "3m", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(conf_set(c, "uplink_size", "128k", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->uplink_size, 128u << 10);
	CU_ASSERT_EQUAL(conf_set(c, "max_message_size", "1000", err, sizeof(err)), 0); /* any size */
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(conf_set(c, "log_level", levels[i], err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(c->log_level, i);
	}
	CU_ASSERT_EQUAL(c->log_level, LOG_LVL_DEBUG);
	CU_ASSERT_EQUAL(conf_set(c, "log_level", "loud", err, sizeof(err)), -1);
	conf_free(c);
}

static void test_file(void)
{
	char path[64];
	char err[CHATD_ERR_MAX];
	clear_env();
	struct conf *c = load_text(
		"# a comment\n"
		"\n"
		"   send_queue   512   # trailing comment\n"
		"\tworkers 3\n"
		"allowed_origins \"https://a.example #1, https://b\"  # quoted\n"
		"pod_id \"\"\n"
		"listen [::1]:9000\n"
		"send_queue 1024\n"
		"log_level debug#no space\n"
		"redis_url off\n",
		err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->send_queue, 1024);          /* the last one wins */
	CU_ASSERT_EQUAL(c->workers, 3);
	CU_ASSERT_STRING_EQUAL(c->allowed_origins, "https://a.example #1, https://b");
	CU_ASSERT_STRING_EQUAL(c->pod_id, "");
	CU_ASSERT_STRING_EQUAL(c->listen.v[0].host, "::1");
	CU_ASSERT_EQUAL(c->listen.v[0].port, 9000);
	CU_ASSERT_EQUAL(c->log_level, LOG_LVL_DEBUG);
	CU_ASSERT_STRING_EQUAL(c->redis_url, "");
	conf_free(c);
}

/* Each bad file fails with exactly this message after "path:". */
/* conf_where() names the file and line that set a directive, "" otherwise;
 * paths may be absolute, "off" or "syslog" where those mean something. */
static void test_where(void)
{
	char path[64], want[128], buf[128];
	char err[CHATD_ERR_MAX];
	struct conf *c;

	clear_env();
	c = load_text("# c\nworkers 2\n\nlog_file syslog\nstatic_dir off\nworkers 3\n", err, sizeof(err),
		      path, sizeof(path));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	conf_where(c, "workers", buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s:6: ", path);
	CU_ASSERT_STRING_EQUAL(buf, want);
	conf_where(c, "log_file", buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s:4: ", path);
	CU_ASSERT_STRING_EQUAL(buf, want);
	conf_where(c, "user", buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "");
	conf_free(c);
}

static void test_file_errors(void)
{
	static const struct { const char *text, *msg; } cases[] = {
		{ "workers 2\n# x\n\nfoo 1\n", "4: unknown directive \"foo\"" },
		{ "\n\nsend_queue abc\n", "3: send_queue: \"abc\" is not a number" },
		{ "workers\n", "1: workers: missing value" },
		{ "workers # 2\n", "1: workers: missing value" },
		{ "pod_id \"abc\n", "1: pod_id: unterminated quoted value" },
		{ "pod_id \"a\" b\n", "1: pod_id: text after the closing quote" },
		{ "a\nb\n", "1: a: missing value" },
		{ "ring_size 16m\nring_size 1000k\n", "2: ring_size: \"1000k\" is not a power of two" },
		{ "workers 2\nlog_file chatd.log\n", "2: log_file: \"chatd.log\" is a relative path; "
		  "give an absolute one (the daemon runs in /)" },
		{ "auth_secret_file ./s\n", "1: auth_secret_file: \"./s\" is a relative path; "
		  "give an absolute one (the daemon runs in /)" },
	};
	char path[64], want[600];
	char err[CHATD_ERR_MAX];
	clear_env();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c = load_text(cases[i].text, err, sizeof(err), path, sizeof(path));
		CU_ASSERT_PTR_NULL(c);
		conf_free(c);
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].msg);
		CU_ASSERT_STRING_EQUAL(err, want);
	}
	CU_ASSERT_PTR_NULL(conf_load("/tmp/no/such/chatd.conf", NULL, 0, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/tmp/no/such/chatd.conf: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
}

/* confval_split_line on its own: each outcome, and what it leaves in place. */
static void test_split_line(void)
{
	static const struct { const char *line, *key, *val; enum confval_line want; } cases[] = {
		{ "  workers 2  # two\n", "workers", "2", CONFVAL_LINE_DIRECTIVE },
		{ "pod_id \"a b#c\" # x\n", "pod_id", "a b#c", CONFVAL_LINE_DIRECTIVE },
		{ "   # only a comment\n", NULL, NULL, CONFVAL_LINE_BLANK },
		{ "\n", NULL, NULL, CONFVAL_LINE_BLANK },
		{ "workers#2\n", "workers", NULL, CONFVAL_LINE_NO_VALUE },
		{ "pod_id \"abc\n", "pod_id", NULL, CONFVAL_LINE_UNTERMINATED },
		{ "pod_id \"a\" b\n", "pod_id", NULL, CONFVAL_LINE_TRAILING },
	};
	char buf[128], *key, *val;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].line);
		key = val = NULL;
		CU_ASSERT_EQUAL(confval_split_line(buf, &key, &val), cases[i].want);
		if (cases[i].key != NULL)
			CU_ASSERT(key != NULL && strcmp(key, cases[i].key) == 0);
		if (cases[i].val != NULL)
			CU_ASSERT(val != NULL && strcmp(val, cases[i].val) == 0);
		CU_ASSERT((cases[i].want > CONFVAL_LINE_BLANK) == (confval_line_text(cases[i].want)[0] != '\0'));
	}
}

static void test_precedence(void)
{
	char path[64];
	char err[CHATD_ERR_MAX];
	struct conf *c;
	struct conf_kv ov[] = { { "redis_url", "redis://override:3/1" },
				{ "workers", "7" } };

	write_tmp("redis_url redis://file:1\nworkers 2\nauth_enabled on\n"
		  "auth_secret s\nsend_queue 9\n", path, sizeof(path));
	clear_env();
	c = conf_load(path, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->redis_url, "redis://file:1");
	CU_ASSERT_EQUAL(c->auth_enabled, 1);
	conf_free(c);

	setenv("REDIS_URL", "redis://env:2", 1);
	setenv("AUTH_ENABLED", "false", 1);
	c = conf_load(path, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->redis_url, "redis://env:2");
	CU_ASSERT_EQUAL(c->auth_enabled, 0);
	CU_ASSERT_EQUAL(c->send_queue, 9);
	conf_free(c);

	c = conf_load(path, ov, 2, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->redis_url, "redis://override:3/1");
	CU_ASSERT_EQUAL(c->workers, 7);
	conf_free(c);

	setenv("REDIS_URL", "", 1);            /* empty = off */
	c = conf_load(path, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->redis_url, "");
	conf_free(c);

	setenv("REDIS_URL", "nonsense", 1);
	CU_ASSERT_PTR_NULL(conf_load(path, NULL, 0, err, sizeof(err)));
	CU_ASSERT_EQUAL(strncmp(err, "REDIS_URL: ", 11), 0);
	setenv("REDIS_URL", "off", 1);
	setenv("AUTH_ENABLED", "maybe", 1);
	CU_ASSERT_PTR_NULL(conf_load(path, NULL, 0, err, sizeof(err)));
	CU_ASSERT_EQUAL(strncmp(err, "AUTH_ENABLED: ", 14), 0);

	struct conf_kv bad[] = { { "workers", "x" } }, unknown[] = { { "wrkers", "1" } };
	clear_env();
	CU_ASSERT_PTR_NULL(conf_load(path, bad, 1, err, sizeof(err)));
	CU_ASSERT_EQUAL(strncmp(err, "workers: ", 9), 0);
	CU_ASSERT_PTR_NULL(conf_load(path, unknown, 1, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown directive \"wrkers\""));
	unlink(path);
}

/* A stamped message must fit a record of the smaller ring: a quarter of it
 * less the record header (ring.h), 1m at most. */
static void test_ring_fit(void)
{
	char err[CHATD_ERR_MAX];
	char most[32], over[32];
	size_t fit = ring_payload_max(64 * 1024) - CHATD_STAMP_MAX;
	struct conf_kv ok[] = { { "uplink_size", "64k" }, { "max_message_size", most } };
	struct conf_kv big[] = { { "uplink_size", "64k" }, { "max_message_size", over } };
	struct conf_kv huge[] = { { "max_message_size", "16m" } };
	struct conf *c;

	clear_env();
	snprintf(most, sizeof(most), "%zu", fit);
	snprintf(over, sizeof(over), "%zu", fit + 1);
	c = conf_load(NULL, ok, 2, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(c);
	conf_free(c);
	CU_ASSERT_PTR_NULL(conf_load(NULL, big, 2, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not fit a ring record"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, most));
	CU_ASSERT_PTR_NULL(conf_load(NULL, huge, 1, err, sizeof(err)));   /* 16m: over the 1m ceiling */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "1m at most"));
	CU_ASSERT_EQUAL(ring_payload_max(1u << 30), CHATD_MAX_FRAME);
}

static void test_auth_rules(void)
{
	char err[CHATD_ERR_MAX];
	struct conf_kv on[] = { { "auth_enabled", "on" } };
	struct conf_kv both[] = { { "auth_secret", "a" }, { "auth_secret_file", "/f" } };
	struct conf_kv ok[] = { { "auth_enabled", "yes" }, { "auth_secret_file", "/f" } };
	struct conf *c;

	clear_env();
	CU_ASSERT_PTR_NULL(conf_load(NULL, on, 1, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "auth_secret"));
	CU_ASSERT_PTR_NULL(conf_load(NULL, both, 2, err, sizeof(err)));
	c = conf_load(NULL, ok, 2, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(c);
	conf_free(c);
	setenv("AUTH_ENABLED", "", 1);           /* empty: as if unset */
	c = conf_load(NULL, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		CU_ASSERT_EQUAL(c->auth_enabled, 0);
	}
	conf_free(c);
	clear_env();
}

static void test_restart_needed(void)
{
	struct conf *a = defaults(), *b = defaults();
	char err[CHATD_ERR_MAX];
	char buf[256];

	CU_ASSERT_EQUAL(conf_restart_needed(a, b, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(conf_set(b, "send_queue", "9", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(b, "workers", "2", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_restart_needed(a, b, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(conf_set(b, "listen", "0.0.0.0:9", err, sizeof(err)), 0);   /* port only */
	CU_ASSERT_EQUAL(conf_restart_needed(a, b, buf, sizeof(buf)), 1);
	CU_ASSERT_STRING_EQUAL(buf, "listen");
	CU_ASSERT_EQUAL(conf_set(b, "ring_size", "32m", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(b, "user", "nobody", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_restart_needed(a, b, buf, sizeof(buf)), 3);
	CU_ASSERT_STRING_EQUAL(buf, "listen ring_size user");
	CU_ASSERT_EQUAL(conf_restart_needed(a, b, buf, 8), 3);   /* truncated, counted */
	CU_ASSERT_EQUAL(strlen(buf), 7);
	conf_free(a);
	conf_free(b);
}

static void test_carry_over(void)
{
	struct conf *live = defaults(), *next = defaults();
	char err[CHATD_ERR_MAX];
	char buf[256];

	CU_ASSERT_EQUAL(conf_set(next, "listen", "[::1]:9999", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(next, "uplink_size", "2m", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(next, "pid_file", "/tmp/x.pid", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(next, "send_queue", "17", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(next, "log_level", "debug", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_restart_needed(live, next, buf, sizeof(buf)), 3);
	conf_carry_over(next, live);
	CU_ASSERT_EQUAL(conf_restart_needed(live, next, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(next->listen.v[0].host, "0.0.0.0");
	CU_ASSERT_EQUAL(next->listen.v[0].port, 8080);
	CU_ASSERT_EQUAL(next->uplink_size, 1u << 20);
	CU_ASSERT_STRING_EQUAL(next->pid_file, RUNSTATEDIR "/chatd.pid");
	CU_ASSERT_EQUAL(next->send_queue, 17);              /* reloadable: new value */
	CU_ASSERT_EQUAL(next->log_level, LOG_LVL_DEBUG);
	conf_free(live);
	conf_free(next);
}

/* status_allow: the first line replaces the default "all", later lines
 * add ranges; a bad range is an error with file:line. */
static void test_status_allow(void)
{
	char err[CHATD_ERR_MAX];
	char path[64], val[256];
	size_t n;
	const struct conf_directive *t = conf_directives(&n), *d = NULL;

	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, "status_allow") == 0)
			d = &t[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	clear_env();
	struct conf *c = conf_load(NULL, NULL, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	conf_format(c, d, val, sizeof(val));
	CU_ASSERT_STRING_EQUAL(val, "0.0.0.0/0 ::/0");
	conf_free(c);
	c = load_text("status_allow 127.0.0.0/8\nworkers 2\nstatus_allow ::1, 10.0.0.0/8\n",
		      err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	conf_format(c, d, val, sizeof(val));
	CU_ASSERT_STRING_EQUAL(val, "127.0.0.0/8 ::1/128 10.0.0.0/8");
	conf_free(c);
	c = load_text("workers 2\nstatus_allow 127.0.0.0/8\nstatus_allow 10.0.0.1/8\n", err, sizeof(err),
		      path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":3: status_allow: \"10.0.0.1/8\""));
	c = load_text("status_allow nobody\n", err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":1: status_allow: \"nobody\""));
}

/* A password never reaches a log line or an error message. */
static void test_redis_url_masked(void)
{
	char b[256];
	char err[CHATD_ERR_MAX];
	struct conf *c;

	clear_env();
	c = conf_load(NULL, NULL, 0, err, sizeof(err));
	CU_ASSERT_STRING_EQUAL(redis_url_masked("redis://:s3cret@h:6379/2", b, sizeof(b)),
			       "redis://:***@h:6379/2");
	CU_ASSERT_STRING_EQUAL(redis_url_masked("redis://:a@b@[::1]:1", b, sizeof(b)),
			       "redis://:***@[::1]:1");
	CU_ASSERT_STRING_EQUAL(redis_url_masked("redis://default:pw@h:1", b, sizeof(b)),
			       "redis://:***@h:1");
	CU_ASSERT_STRING_EQUAL(redis_url_masked("redis://h:6379", b, sizeof(b)),
			       "redis://h:6379");
	CU_ASSERT_STRING_EQUAL(redis_url_masked("", b, sizeof(b)), "");
	CU_ASSERT_STRING_EQUAL(redis_url_masked("pw@h", b, sizeof(b)), ":***@h");
	CU_ASSERT_STRING_EQUAL(redis_url_masked("x:pw@h://y", b, sizeof(b)), ":***@h://y");
	CU_ASSERT_STRING_EQUAL(redis_url_masked("redis://:pw@h", b, 10), "redis://:");
	/* a bad URL's error message shows it masked */
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(conf_set(c, "redis_url", "redis://:s3cret@h:99999", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NULL(strstr(err, "s3cret"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "redis://:***@h:99999"));
	conf_free(c);
}

/* listen repeats, takes ssl, and -l replaces the lines of its kind only
 * (and the built-in default, without a listen line); an ssl listen needs a certificate and key; ssl_protocols is a range. */
static void test_listen_ssl(void)
{
	static const struct conf_kv ov[] = { { "listen", "127.0.0.1:7000" } };
	char path[64], val[1100];
	char err[CHATD_ERR_MAX];
	struct conf *c;
	size_t n;
	const struct conf_directive *t = conf_directives(&n), *d = NULL;

	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, "listen") == 0)
			d = &t[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	clear_env();
	c = load_text("listen 127.0.0.1:8080\nlisten [::1]:8443 ssl\n"
		      "ssl_certificate /c.pem\nssl_certificate_key /k.pem\n", err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->listen.n, 2);
	CU_ASSERT_EQUAL(c->listen.v[0].ssl, 0);
	CU_ASSERT_EQUAL(c->listen.v[1].ssl, 1);
	CU_ASSERT_EQUAL(c->listen.v[1].port, 8443);
	CU_ASSERT(conf_has_ssl(c));
	conf_format(c, d, val, sizeof(val));
	CU_ASSERT_STRING_EQUAL(val, "127.0.0.1:8080, [::1]:8443 ssl");
	CU_ASSERT_STRING_EQUAL(c->ssl_protocols, "TLSv1.2 TLSv1.3");
	conf_free(c);
	/* -l replaces the plain line, keeps the ssl one */
	write_tmp("listen 127.0.0.1:8080\nlisten 127.0.0.1:8443 ssl\n"
		  "ssl_certificate /c.pem\nssl_certificate_key /k.pem\n", path, sizeof(path));
	c = conf_load(path, ov, 1, err, sizeof(err));
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->listen.n, 2);
	CU_ASSERT_EQUAL(c->listen.v[0].port, 8443);
	CU_ASSERT_EQUAL(c->listen.v[1].port, 7000);
	conf_free(c);
	/* no listen line in the file: an ssl -l replaces the built-in default too */
	write_tmp("ssl_certificate /c.pem\nssl_certificate_key /k.pem\n", path, sizeof(path));
	c = conf_load(path, (const struct conf_kv[]){ { "listen", "127.0.0.1:7443 ssl" } }, 1,
		      err, sizeof(err));
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->listen.n, 1);
	CU_ASSERT(c->listen.v[0].ssl && c->listen.v[0].port == 7443);
	conf_free(c);
	c = load_text("listen 127.0.0.1:8443 ssl\n", err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "ssl_certificate and ssl_certificate_key"));
	c = load_text("listen 127.0.0.1:8443 tls\n", err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":1: listen: "));
	c = load_text("listen :1\nlisten *:1\n", err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "already"));
	c = load_text("ssl_protocols TLSv1.1 TLSv1.3\n", err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":1: ssl_protocols: "));
	c = load_text("ssl_certificate c.pem\n", err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "relative path"));
	int lo = -1, hi = -1;
	CU_ASSERT_EQUAL(confval_tls_range("TLSv1.3", &lo, &hi), 0);
	CU_ASSERT(lo == 3 && hi == 3);
	CU_ASSERT_EQUAL(confval_tls_range("TLSv1.2,TLSv1.1  TLSv1", &lo, &hi), 0);
	CU_ASSERT(lo == 0 && hi == 2);
	CU_ASSERT_EQUAL(confval_tls_range("", NULL, NULL), -1);
	CU_ASSERT_EQUAL(confval_tls_range("SSLv3", NULL, NULL), -1);
}

/* conf_format() writes what conf_load() reads back to the same values. */
static void test_format_round_trip(void)
{
	static const struct conf_kv ov[] = {
		{ "listen", "[::1]:9000" }, { "workers", "3" }, { "redis_url", "off" },
		{ "pod_id", "a b#c" }, { "max_message_size", "1000" }, { "ping_interval", "90s" },
		{ "pong_timeout", "1500ms" }, { "presence", "off" }, { "auth_enabled", "on" },
		{ "auth_secret", "s3cret" }, { "allowed_origins", "https://a, https://b" },
		{ "ring_size", "1g" }, { "log_level", "warn" }, { "user", "" },
	};
	size_t n, nov = sizeof(ov) / sizeof(ov[0]);
	const struct conf_directive *t = conf_directives(&n);
	char err[CHATD_ERR_MAX];
	char text[16384], val[1100], path[64];
	size_t used = 0;

	clear_env();
	struct conf *a = conf_load(NULL, ov, nov, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (size_t i = 0; i < n; i++) {
		conf_format(a, &t[i], val, sizeof(val));
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s %s\n",
					 t[i].name, val);
	}
	CU_ASSERT_FATAL(used < sizeof(text));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "listen [::1]:9000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "pod_id \"a b#c\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "ring_size 1g\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "pong_timeout 1500ms\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "workers 3\n"));
	struct conf *b = load_text(text, err, sizeof(err), path, sizeof(path));
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (size_t i = 0; i < n; i++) {
		char va[1100], vb[1100];
		conf_format(a, &t[i], va, sizeof(va));
		conf_format(b, &t[i], vb, sizeof(vb));
		CU_ASSERT_STRING_EQUAL(va, vb);
	}
	CU_ASSERT_EQUAL(conf_restart_needed(a, b, val, sizeof(val)), 0);
	CU_ASSERT_EQUAL(b->max_message_size, 1000);
	CU_ASSERT_EQUAL(b->pong_timeout_ms, 1500);
	conf_free(a);
	conf_free(b);
}

/* ---- the man page and the sample file agree with the table ------------------ */

/* The build tree: the man page and the sample config are made there from
 * their .in with the configured paths, which the table's defaults use too. */
static const char *builddir(void)
{
	const char *d = getenv("CHATD_BUILDDIR");
	return d != NULL && d[0] != '\0' ? d : ".";
}

static FILE *open_built(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", builddir(), rel);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fprintf(stderr, "\ncannot open %s (set CHATD_BUILDDIR to the build tree)\n", path);
	return f;
}

static const struct conf_directive *table_find(const char *name)
{
	size_t n;
	const struct conf_directive *t = conf_directives(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

/* The first word of s, or the text between double quotes when s starts
 * with one ("TLSv1.2 TLSv1.3"). */
static void word_or_quoted(const char *s, char *out, size_t len)
{
	s += strspn(s, " \t");
	if (s[0] == '"' && strchr(s + 1, '"') != NULL)
		snprintf(out, len, "%.*s", (int)(strchr(s + 1, '"') - s - 1), s + 1);
	else
		snprintf(out, len, "%.*s", (int)strcspn(s, " \t\n"), s);
}

/* ".Ql VALUE ." -> VALUE; `\&""` is the empty value.  Break points
 * (`\:`, which print nothing) are dropped. */
static void man_value(const char *line, char *out, size_t len)
{
	char v[256] = "", *p;
	sscanf(line + 4, "%255s", v);
	if (strcmp(v, "\\&\"\"") == 0)
		snprintf(out, len, "%s", "");
	else
		word_or_quoted(line + 4, out, len);
	while ((p = strstr(out, "\\:")) != NULL)
		memmove(p, p + 2, strlen(p + 2) + 1);
}

/*
 * Every `.It Ic name` entry in the Directives list names a directive, each
 * directive has exactly one, and its "Default:" / ".Ql VALUE" and
 * "Reloadable: yes|no" lines match the table.
 */
static void test_man_page(void)
{
	size_t n;
	const struct conf_directive *t = conf_directives(&n);
	FILE *f = open_built("man/chatd.conf.5");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	char line[1024], name[128] = "", val[256];
	int seen[128] = { 0 }, in_list = 0, want_default = 0, defaults = 0, reloads = 0;
	const struct conf_directive *d = NULL;

	CU_ASSERT_FATAL(n <= 128);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, ".Ss Directives") == 0)
			in_list = 1;
		if (!in_list)
			continue;
		if (strncmp(line, ".It Ic ", 7) == 0) {
			sscanf(line + 7, "%127s", name);
			d = table_find(name);
			if (d == NULL)
				fprintf(stderr, "\nman page documents unknown %s\n", name);
			CU_ASSERT_PTR_NOT_NULL(d);
			if (d != NULL)
				seen[d - t]++;
		} else if (d != NULL && strcmp(line, "Default:") == 0) {
			want_default = 1;
		} else if (d != NULL && want_default && strncmp(line, ".Ql ", 4) == 0) {
			man_value(line, val, sizeof(val));
			if (strcmp(val, d->def) != 0)
				fprintf(stderr, "\n%s: man says %s, table %s\n", d->name, val, d->def);
			CU_ASSERT_STRING_EQUAL(val, d->def);
			want_default = 0;
			defaults++;
		} else if (d != NULL && strncmp(line, "Reloadable: ", 12) == 0) {
			CU_ASSERT_STRING_EQUAL(line + 12, d->reloadable ? "yes." : "no.");
			reloads++;
		} else if (strcmp(line, ".El") == 0 && d != NULL) {
			break;
		}
	}
	fclose(f);
	for (size_t i = 0; i < n; i++) {
		if (seen[i] != 1)
			fprintf(stderr, "\n%s documented %d times\n", t[i].name, seen[i]);
		CU_ASSERT_EQUAL(seen[i], 1);
	}
	CU_ASSERT_EQUAL(defaults, (int)n);
	CU_ASSERT_EQUAL(reloads, (int)n);
}

/* etc/chatd.conf (made from etc/chatd.conf.in) loads, and its "# name value"
 * lines are the defaults. */
static void test_sample_file(void)
{
	size_t n;
	const struct conf_directive *t = conf_directives(&n);
	char path[1024], line[1024], name[128], val[256];
	int seen[128] = { 0 };
	char err[CHATD_ERR_MAX];

	snprintf(path, sizeof(path), "%s/etc/chatd.conf", builddir());
	clear_env();
	struct conf *c = conf_load(path, NULL, 0, err, sizeof(err));
	if (c == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_PTR_NOT_NULL(c);
	conf_free(c);

	FILE *f = open_built("etc/chatd.conf");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "# %127s %255s", name, val) != 2)
			continue;
		if (val[0] == '"' && val[1] != '"')
			word_or_quoted(strstr(line, val), val, sizeof(val));
		const struct conf_directive *d = table_find(name);
		if (d == NULL)
			continue;
		seen[d - t]++;
		CU_ASSERT_STRING_EQUAL(strcmp(val, "\"\"") == 0 ? "" : val, d->def);
	}
	fclose(f);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
}

/* A TCP socket on 127.0.0.1 (port 0: any), listening when asked; its port
 * to *port.  The fd. */
static int loopback_socket(int listening, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(!listening || listen(fd, 4) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A worker index's sockets are all open or none: when a later listen line
 * cannot be opened, the earlier ones of that index are closed again (not
 * left in their SO_REUSEPORT group with no worker to accept). */
static void test_listener_index(void)
{
	int held[CHATD_MAX_WORKERS] = { 0 }, free_p, busy_p;
	int spare = loopback_socket(0, &free_p), busy = loopback_socket(1, &busy_p);
	char val[64], err[CHATD_ERR_MAX] = "";
	struct conf_kv ov[] = { { "listen", val } };
	struct listener l;
	struct conf *c;

	close(spare);
	snprintf(val, sizeof(val), "127.0.0.1:%d, 127.0.0.1:%d", free_p, busy_p);
	clear_env();
	c = conf_load(NULL, ov, 1, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	listener_init(&l, c);
	CU_ASSERT_EQUAL(listener_pick(&l, c, 2, held, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use"));
	CU_ASSERT_EQUAL(l.fd[0][0], -1);
	CU_ASSERT_EQUAL(l.fd[1][0], -1);
	/* nothing listens on the first line's port any more */
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)free_p),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT(connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1 && errno == ECONNREFUSED);
	close(fd);
	/* the port free again: both lines open for index 0, closed by a trim */
	close(busy);
	CU_ASSERT_EQUAL(listener_pick(&l, c, 2, held, err, sizeof(err)), 0);
	CU_ASSERT(l.fd[0][0] >= 0 && l.fd[1][0] >= 0);
	listener_trim(&l, 0);
	CU_ASSERT(l.fd[0][0] == -1 && l.fd[1][0] == -1);
	conf_free(c);
}

static CU_TestInfo tests[] = {
	{ "defaults", test_defaults },
	{ "table is well formed", test_table },
	{ "durations", test_duration },
	{ "sizes", test_size },
	{ "listen", test_listen },
	{ "confval: numbers, booleans, prefix, text back", test_confval },
	{ "booleans", test_bool },
	{ "ranges of every number", test_ranges },
	{ "numbers and units", test_numbers },
	{ "workers", test_workers },
	{ "redis_url", test_redis_url },
	{ "redis_url masked", test_redis_url_masked },
	{ "status_allow", test_status_allow },
	{ "strings and path_prefix", test_strings },
	{ "powers of two, log levels", test_pow2_and_level },
	{ "file syntax", test_file },
	{ "file errors name file:line", test_file_errors },
	{ "confval: one line of a file", test_split_line },
	{ "where a directive was set; absolute paths", test_where },
	{ "precedence file < env < override", test_precedence },
	{ "auth rules", test_auth_rules },
	{ "a message fits a ring record", test_ring_fit },
	{ "restart needed", test_restart_needed },
	{ "carry over on reload", test_carry_over },
	{ "format round trip", test_format_round_trip },
	{ "listen ... ssl, ssl_protocols", test_listen_ssl },
	{ "listener: a worker index opens all or none", test_listener_index },
	{ "man page agrees with table", test_man_page },
	{ "sample file agrees with table", test_sample_file },
	CU_TEST_INFO_NULL,
};

CU_MAIN("conf", tests)
