/* SPDX-License-Identifier: MIT */
/*
 * test_alog.c - the access log's lines: fields, escaping, reason tokens,
 * addresses, the bound on a line, and writing through a real file.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog.h"
#include "cu.h"

static const struct timespec t0 = { 1796644800, 123456789 };  /* 2026-12-07T12:00:00.123Z */

static void test_session(void)
{
	struct alog_session s = {
		.addr = "127.0.0.1:51234", .worker = 1, .room = "lobby", .id = "alice",
		.sub = "alice", .dur_ms = 1500, .in = 3, .out = 17, .bytes_out = 2048,
		.code = 1008, .by_server = 1, .reason = "rate_limit",
	};
	char buf[ALOG_LINE_MAX];
	size_t n = alog_format_session(buf, sizeof(buf), &t0, &s);

	CU_ASSERT_EQUAL(n, strlen(buf));
	CU_ASSERT_STRING_EQUAL(buf, "ts=2026-12-07T12:00:00.123Z event=session "
			       "addr=127.0.0.1:51234 worker=1 room=lobby id=alice sub=alice "
			       "dur_ms=1500 in=3 out=17 bytes_out=2048 close=1008 by=server "
			       "reason=rate_limit\n");
	/* global, no auth, the client closed: dashes */
	s.room = NULL;
	s.sub = NULL;
	s.reason = NULL;
	s.by_server = 0;
	s.code = 1000;
	alog_format_session(buf, sizeof(buf), &t0, &s);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " room=- id=alice sub=- "));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " close=1000 by=client reason=-\n"));
}

static void test_escaping(void)
{
	struct alog_session s = { .addr = "-", .id = "a b=\"c\"%\n\xc3\xa9", .sub = "" };
	char buf[ALOG_LINE_MAX];

	alog_format_session(buf, sizeof(buf), &t0, &s);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " id=a%20b%3D%22c%22%25%0A%C3%A9 sub=- "));
	CU_ASSERT_EQUAL(strchr(buf, '\n'), buf + strlen(buf) - 1);
	/* a line that does not fit gives 0, never a cut line */
	CU_ASSERT_EQUAL(alog_format_session(buf, 40, &t0, &s), 0);
}

static void test_refused(void)
{
	char buf[ALOG_LINE_MAX], path[2000];
	size_t n;

	n = alog_format_refused(buf, sizeof(buf), &t0, "[::1]:8080", 0, "/api/chat-api/ws/bad room",
				400, "bad room name: 1-128 bytes of A-Z a-z 0-9 . _ : -\n");
	CU_ASSERT_EQUAL(n, strlen(buf));
	CU_ASSERT_STRING_EQUAL(buf, "ts=2026-12-07T12:00:00.123Z event=refused addr=[::1]:8080 "
			       "worker=0 path=/api/chat-api/ws/bad%20room status=400 "
			       "reason=bad_room_name\n");
	alog_format_refused(buf, sizeof(buf), &t0, "-", 0, "/", 503,
			    "authentication is not available (see the server log)");
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " reason=authentication_is_not_available\n"));
	alog_format_refused(buf, sizeof(buf), &t0, "-", 0, "/", 401, "Token Expired");
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " reason=token_expired\n"));
	alog_format_refused(buf, sizeof(buf), &t0, "-", 0, "/", 404, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " reason=-\n"));
	/* a long path is cut: the line stays well under PIPE_BUF */
	memset(path, '\x01', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	n = alog_format_refused(buf, sizeof(buf), &t0, "-", 0, path, 400, "x");
	CU_ASSERT(n > 0 && n < 1024);
}

static void test_addr(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(51234) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	struct sockaddr un = { .sa_family = AF_UNIX };
	char buf[ALOG_ADDR_MAX];

	inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	alog_addr((struct sockaddr *)&in, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "10.1.2.3:51234");
	alog_addr((struct sockaddr *)&in6, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "[2001:db8::1]:443");
	alog_addr(&un, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "-");
}

static void test_dest(void)
{
	CU_ASSERT(alog_dest_valid("off"));
	CU_ASSERT(alog_dest_valid("syslog"));
	CU_ASSERT(alog_dest_valid("/var/log/chatd/access.log"));
	CU_ASSERT(!alog_dest_valid("access.log"));
	CU_ASSERT(!alog_dest_valid("/"));
	CU_ASSERT(!alog_dest_valid(""));
	CU_ASSERT(!alog_dest_valid("on"));
}

/* open, write, reopen after a rename: lines land in the file of the path */
static void test_file(void)
{
	char dir[] = "/tmp/alog-unit-XXXXXX", path[64], old[64], err[256], buf[256];
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.log", dir);
	snprintf(old, sizeof(old), "%s/a.log.1", dir);
	CU_ASSERT_EQUAL(alog_open("off", err, sizeof(err)), 0);
	CU_ASSERT(!alog_enabled());
	CU_ASSERT_EQUAL(alog_prepare(path, "", "", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT_EQUAL(alog_open(path, err, sizeof(err)), 0);
	CU_ASSERT(alog_enabled());
	CU_ASSERT_EQUAL(alog_write("one\n", 4), 0);
	CU_ASSERT_EQUAL(rename(path, old), 0);
	CU_ASSERT_EQUAL(alog_reopen(), 0);
	CU_ASSERT_EQUAL(alog_write("two\n", 4), 0);
	alog_close();
	CU_ASSERT(!alog_enabled());
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
	CU_ASSERT_STRING_EQUAL(buf, "two\n");
	fclose(f);
	/* a failing write is reported once (the caller warns once), then dropped */
	if (alog_open("/dev/full", err, sizeof(err)) == 0 && alog_enabled()) {
		CU_ASSERT_EQUAL(alog_emit("x\n", 0), 0);          /* nothing to write */
		CU_ASSERT_EQUAL(alog_emit("x\n", 2), -1);
		CU_ASSERT_EQUAL(alog_emit("x\n", 2), 0);
		alog_close();
	}
	CU_ASSERT_EQUAL(alog_open("/nonexistent-dir/a.log", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent-dir/a.log"));
	CU_ASSERT(!alog_enabled());
	unlink(path);
	unlink(old);
	rmdir(dir);
}

static CU_TestInfo tests[] = {
	{ "session line", test_session },
	{ "escaping and bounds", test_escaping },
	{ "refused line and reason tokens", test_refused },
	{ "addresses", test_addr },
	{ "destinations", test_dest },
	{ "file, write, reopen", test_file },
	CU_TEST_INFO_NULL,
};

CU_MAIN("alog", tests)
