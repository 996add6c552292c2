/*
 * t_bench.c - chatd-benchmark against a real chatd: a short fanout run must
 * count every delivery exactly (nothing lost, duplicated or reordered), a
 * tiny connections run must open, hold and ping every connection, and the
 * command line must behave.  No speed is checked here.
 */
#include "harness.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define URL_FMT "ws://127.0.0.1:%d/api/chat-api/ws/{room}"

/* The benchmark binary: the sibling file chatd-benchmark of CHATD_BIN. */
static const char *bench_bin(void)
{
	static char path[1024];
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", chatd_bin());
	snprintf(path, sizeof(path), "%s/chatd-benchmark", dirname(tmp));
	return path;
}

/* The last line of out that starts with '{', parsed; NULL when none parses. */
static json_t *last_json(char *out)
{
	char *line = NULL;

	for (char *p = out; (p = strchr(p, '{')); p++)
		if (p == out || p[-1] == '\n')
			line = p;
	if (!line)
		return NULL;
	line[strcspn(line, "\n")] = '\0';
	return json_loads(line, 0, NULL);
}

/* Run the benchmark with argv (argv[0] is filled in); exit code, JSON in *j. */
static int run_bench(char **argv, json_t **j, char *out, size_t cap)
{
	int rc;

	argv[0] = (char *)bench_bin();
	out[0] = '\0';
	rc = run_capture(argv, out, cap, 60000);
	*j = last_json(out);
	return rc;
}

static long long jnum(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) :
	       json_is_real(v) ? (long long)json_real_value(v) : -1;
}

static void t_bench_fanout_exact(void)
{
	struct chatd_opts co = { .workers = 2 };
	struct chatd *h = chatd_start(&co);
	char url[256], pid[32], out[16384];
	json_t *j;

	CHECK(h, "chatd did not start");
	CHECK(access(bench_bin(), X_OK) == 0, "%s is not executable", bench_bin());
	snprintf(url, sizeof(url), URL_FMT, h->port);
	snprintf(pid, sizeof(pid), "%d", (int)h->pid);
	/* 20 subscribers in 2 rooms, 2 publishers (one per room), 200 messages:
	 * each message reaches the 10 subscribers of its room. */
	char *argv[] = { NULL, "fanout", "-u", url, "-n", "20", "-r", "2", "-P", "2",
			 "-m", "200", "-R", "2000", "-s", "120", "-p", pid, NULL };
	int rc = run_bench(argv, &j, out, sizeof(out));

	CHECK(j, "no JSON line (exit %d): %s", rc, out);
	CHECK(rc == 0, "exit %d: %s", rc, out);
	CHECK(strcmp(js(j, "mode"), "fanout") == 0, "mode %s", js(j, "mode"));
	CHECK(jnum(j, "sent") == 200, "sent %lld", jnum(j, "sent"));
	CHECK(jnum(j, "expected") == 2000, "expected %lld", jnum(j, "expected"));
	CHECK(jnum(j, "delivered") == 2000, "delivered %lld: %s", jnum(j, "delivered"), out);
	CHECK(jnum(j, "lost") == 0, "lost %lld", jnum(j, "lost"));
	CHECK(jnum(j, "duplicated") == 0, "duplicated %lld", jnum(j, "duplicated"));
	CHECK(jnum(j, "reordered") == 0, "reordered %lld", jnum(j, "reordered"));
	CHECK(jnum(j, "conn_errors") == 0, "conn_errors %lld", jnum(j, "conn_errors"));
	json_t *lat = json_object_get(j, "latency_us");
	CHECK(jnum(lat, "count") == 2000, "latency samples %lld", jnum(lat, "count"));
	CHECK(jnum(lat, "max") >= jnum(lat, "p99") && jnum(lat, "p99") >= jnum(lat, "p50"),
	      "latency quantiles out of order");
	CHECK(json_real_value(json_object_get(j, "server_cpu_s")) >= 0, "no server CPU figure");
	json_decref(j);
}

static void t_bench_connections(void)
{
	struct chatd_opts co = { .workers = 2 };
	struct chatd *h = chatd_start(&co);
	char url[256], pid[32], out[16384];
	json_t *j;

	CHECK(h, "chatd did not start");
	snprintf(url, sizeof(url), URL_FMT, h->port);
	snprintf(pid, sizeof(pid), "%d", (int)h->pid);
	char *argv[] = { NULL, "connections", "-u", url, "-c", "60", "-j", "2",
			 "--src-addrs", "3", "-r", "6", "-t", "2.5", "--ping-sample", "10",
			 "-p", pid, NULL };
	int rc = run_bench(argv, &j, out, sizeof(out));

	CHECK(j, "no JSON line (exit %d): %s", rc, out);
	CHECK(rc == 0, "exit %d: %s", rc, out);
	CHECK(jnum(j, "opened") == 60, "opened %lld", jnum(j, "opened"));
	CHECK(jnum(j, "failed") == 0, "failed %lld", jnum(j, "failed"));
	CHECK(jnum(j, "dropped") == 0, "dropped %lld", jnum(j, "dropped"));
	CHECK(jnum(j, "pings") >= 10, "pings %lld", jnum(j, "pings"));
	CHECK(jnum(j, "pongs") == jnum(j, "pings"), "pongs %lld of %lld pings",
	      jnum(j, "pongs"), jnum(j, "pings"));
	CHECK(jnum(j, "server_pss_kb_holding") > 0, "no server memory figure");
	json_decref(j);
}

static void t_bench_cli(void)
{
	char out[16384];
	json_t *j;
	char *help[] = { NULL, "--help", NULL };
	char *bad[] = { NULL, "nosuchmode", "-u", "ws://127.0.0.1:1/x", NULL };
	char *nourl[] = { NULL, "fanout", NULL };
	/* nothing listens on a fresh free port: every connection fails */
	char url[128];
	snprintf(url, sizeof(url), URL_FMT, free_port());
	char *refused[] = { NULL, "fanout", "-u", url, "-n", "3", "-r", "1", "-m", "5",
			    "--connect-timeout", "2", NULL };

	CHECK(run_bench(help, &j, out, sizeof(out)) == 0, "--help failed: %s", out);
	CHECK(strstr(out, "fanout") && strstr(out, "connections"), "--help: %s", out);
	CHECK(run_bench(bad, &j, out, sizeof(out)) == 2, "unknown mode accepted: %s", out);
	CHECK(run_bench(nourl, &j, out, sizeof(out)) == 2, "missing -u accepted: %s", out);
	int rc = run_bench(refused, &j, out, sizeof(out));
	CHECK(rc == 1, "refused connections: exit %d: %s", rc, out);
	CHECK(j && jnum(j, "conn_errors") == 4, "conn_errors %lld: %s",
	      j ? jnum(j, "conn_errors") : -1, out);
	json_decref(j);
}

/* -v and --version print "chatd-benchmark VERSION" (configure.ac's), exit 0. */
static void t_bench_version(void)
{
	char out[256];
	json_t *j;
	char *v[] = { NULL, "-v", NULL }, *version[] = { NULL, "--version", NULL };

	CHECK(run_bench(v, &j, out, sizeof(out)) == 0 &&
	      strcmp(out, "chatd-benchmark " PACKAGE_VERSION "\n") == 0, "-v: %s", out);
	CHECK(run_bench(version, &j, out, sizeof(out)) == 0 &&
	      strcmp(out, "chatd-benchmark " PACKAGE_VERSION "\n") == 0, "--version: %s", out);
}

const struct itest_case t_bench_cases[] = {
	{ "bench_fanout_exact", t_bench_fanout_exact, 90 },
	{ "bench_connections", t_bench_connections, 90 },
	{ "bench_cli", t_bench_cli, 60 },
	{ "bench_version", t_bench_version, 30 },
	{ NULL, NULL, 0 }
};
