/* SPDX-License-Identifier: MIT */
/*
 * itest.c - the integration test runner.
 *
 * Runs every case of every t_*.c table (or those named on the command line;
 * --list prints the names), each in a forked child in its own process group
 * with an alarm, so a test that hangs or crashes cannot take the suite with
 * it.  After each test the
 * group is killed and every descendant reaped (this process is a child
 * subreaper), so no chatd or redis-server is left behind.
 *
 * Prints "PASS name" / "FAIL name: why" per test and finally one line
 * "N passed, N failed"; exits 1 when any failed.
 */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT 60

extern const struct itest_case t_chat_cases[];
extern const struct itest_case t_slow_cases[];
extern const struct itest_case t_crash_cases[];
extern const struct itest_case t_signals_cases[];
extern const struct itest_case t_ops_cases[];
extern const struct itest_case t_daemon_cases[];
extern const struct itest_case t_redis_cases[];
extern const struct itest_case t_auth_cases[];
extern const struct itest_case t_limits_cases[];
extern const struct itest_case t_abuse_cases[];
extern const struct itest_case t_web_cases[];
extern const struct itest_case t_http_cases[];
extern const struct itest_case t_alog_cases[];
extern const struct itest_case t_bench_cases[];
extern const struct itest_case t_tls_cases[];
extern const struct itest_case t_roster_cases[];
extern const struct itest_case t_history_cases[];
extern const struct itest_case t_pool_cases[];
extern const struct itest_case t_heartbeat_cases[];

/* Every table, in the order they run. */
static const struct itest_case *const tables[] = {
	t_chat_cases,
	t_slow_cases,
	t_crash_cases,
	t_signals_cases,
	t_ops_cases,
	t_daemon_cases,
	t_redis_cases,
	t_auth_cases,
	t_limits_cases,
	t_abuse_cases,
	t_web_cases,
	t_http_cases,
	t_alog_cases,
	t_bench_cases,
	t_tls_cases,
	t_roster_cases,
	t_history_cases,
	t_pool_cases,
	t_heartbeat_cases,
};

static int reason_fd = -1;

/* In the test child: the alarm fired. */
static void on_alarm(int sig)
{
	(void)sig;
	itest_fail(__FILE__, __LINE__, "timed out");
	harness_cleanup();
	if (reason_fd >= 0 && write(reason_fd, itest_reason(), strlen(itest_reason())) < 0)
		_exit(3);
	_exit(3);
}

static void run_child(const struct itest_case *tc, int fd)
{
	setpgid(0, 0);
	reason_fd = fd;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)(tc->timeout_s > 0 ? tc->timeout_s : DEFAULT_TIMEOUT));
	tc->fn();
	alarm(0);
	harness_cleanup();
	if (itest_failed() && write(fd, itest_reason(), strlen(itest_reason())) < 0)
		_exit(2);
	_exit(itest_failed() ? 1 : 0);
}

/* Kill what is left of the test's process group and reap our orphans. */
static void sweep(pid_t pgid)
{
	int st;

	kill(-pgid, SIGKILL);
	for (int i = 0; i < 300; i++) {
		pid_t r = waitpid(-1, &st, WNOHANG);

		if (r < 0 && errno == ECHILD)
			return;
		if (r == 0)
			usleep(10000);
	}
}

/* Run one case; 1 = passed. */
static int run_case(const struct itest_case *tc)
{
	int p[2], st = 0;
	char why[2048];
	ssize_t n = 0, r;
	pid_t pid;

	fflush(stdout);
	if (pipe(p) < 0 || (pid = fork()) < 0) {
		printf("FAIL %s: cannot fork\n", tc->name);
		return 0;
	}
	if (pid == 0) {
		close(p[0]);
		run_child(tc, p[1]);
	}
	setpgid(pid, pid);
	close(p[1]);
	while (n < (ssize_t)sizeof(why) - 1 &&
	       (r = read(p[0], why + n, sizeof(why) - 1 - (size_t)n)) > 0)
		n += r;
	why[n] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	sweep(pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		printf("PASS %s\n", tc->name);
		return 1;
	}
	if (!*why)
		snprintf(why, sizeof(why), "test process %s %d",
			 WIFSIGNALED(st) ? "killed by signal" : "exited",
			 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	printf("FAIL %s: %s\n", tc->name, why);
	return 0;
}

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
			for (const struct itest_case *tc = tables[t]; tc->name; tc++)
				printf("%s\n", tc->name);
		return 0;
	}
	if (access(chatd_bin(), X_OK) != 0) {
		printf("FAIL setup: CHATD_BIN %s is not executable\n0 passed, 1 failed\n",
		       chatd_bin());
		return 1;
	}
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct itest_case *tc = tables[t]; tc && tc->name; tc++) {
			if (!wanted(tc->name, argc, argv))
				continue;
			if (run_case(tc))
				passed++;
			else
				failed++;
		}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
