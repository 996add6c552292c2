/* SPDX-License-Identifier: MIT */
/*
 * test_msg.c - parsing client messages, building server frames, ids, time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "msg.h"
#include "cu.h"

/* Parse a C string (its NUL not included in the length). */
static enum msg_err parse_s(const char *s, struct msg_in *m)
{
	return msg_parse(s, strlen(s), m);
}

/* The error for s; also checks that no data is left to release. */
static enum msg_err parse_err(const char *s)
{
	struct msg_in m = { .kind = MSG_PING };
	enum msg_err e = parse_s(s, &m);

	if (e != MSG_OK)
		CU_ASSERT_PTR_NULL(m.data);
	msg_in_clear(&m);
	return e;
}

static void test_parse_chat(void)
{
	struct msg_in m;

	CU_ASSERT_EQUAL_FATAL(parse_s("{\"type\":\"chat\",\"data\":{\"content\":\"hi\",\"n\":[1,2]}}", &m),
			      MSG_OK);
	CU_ASSERT_EQUAL(m.kind, MSG_CHAT);
	CU_ASSERT_TRUE(json_is_object(m.data));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m.data, "content")), "hi");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(m.data, "n")), 2);
	CU_ASSERT_EQUAL(m.data->refcount, 1);   /* the root is gone: we own data alone */
	msg_in_clear(&m);
	CU_ASSERT_PTR_NULL(m.data);
	msg_in_clear(&m);   /* twice is harmless */
}

/* Client id/from/timestamp/room are ignored and never reach data. */
static void test_parse_ignored_fields(void)
{
	struct msg_in m;
	const char *s = "{\"id\":\"x\",\"from\":\"mallory\",\"timestamp\":\"1999\","
			"\"room\":\"other\",\"extra\":true,\"type\":\"chat\",\"data\":{\"a\":1}}";

	CU_ASSERT_EQUAL_FATAL(parse_s(s, &m), MSG_OK);
	CU_ASSERT_EQUAL(m.kind, MSG_CHAT);
	CU_ASSERT_EQUAL(json_object_size(m.data), 1);
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(m.data, "a")), 1.0, 0.0);
	CU_ASSERT_PTR_NULL(json_object_get(m.data, "from"));
	msg_in_clear(&m);
}

static void test_parse_chat_no_data_and_ping(void)
{
	struct msg_in m;

	CU_ASSERT_EQUAL_FATAL(parse_s("{\"type\":\"chat\"}", &m), MSG_OK);
	CU_ASSERT_EQUAL(m.kind, MSG_CHAT);
	CU_ASSERT_TRUE(json_is_object(m.data));
	CU_ASSERT_EQUAL(json_object_size(m.data), 0);
	msg_in_clear(&m);

	CU_ASSERT_EQUAL_FATAL(parse_s(" {\"type\" : \"ping\"} \n", &m), MSG_OK);
	CU_ASSERT_EQUAL(m.kind, MSG_PING);
	CU_ASSERT_PTR_NULL(m.data);
	msg_in_clear(&m);

	CU_ASSERT_EQUAL_FATAL(parse_s("{\"type\":\"ping\",\"data\":{\"t\":1}}", &m), MSG_OK);
	CU_ASSERT_EQUAL(m.kind, MSG_PING);
	CU_ASSERT_PTR_NULL(m.data);
	msg_in_clear(&m);
}

static void test_parse_invalid_json(void)
{
	struct msg_in m;

	CU_ASSERT_EQUAL(parse_err(""), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("hello"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("{type:chat}"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",}"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\"} {}"), MSG_EJSON);  /* trailing data */
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":{\"c\":\"\xff\"}}"), MSG_EJSON);
	CU_ASSERT_EQUAL(msg_parse(NULL, 0, &m), MSG_EJSON);
	/* truncated at every length */
	const char *full = "{\"type\":\"chat\",\"data\":{\"content\":\"hi\"}}";
	int bad = 0;

	for (size_t n = 0; n < strlen(full); n++) {
		m.data = NULL;
		bad += msg_parse(full, n, &m) != MSG_EJSON;
		bad += m.data != NULL;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(msg_parse(full, strlen(full), &m), MSG_OK);
	msg_in_clear(&m);
}

static void test_parse_top_level(void)
{
	CU_ASSERT_EQUAL(parse_err("[]"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("[{\"type\":\"chat\"}]"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("42"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("\"chat\""), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("null"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("true"), MSG_EJSON);
}

static void test_parse_type(void)
{
	CU_ASSERT_EQUAL(parse_err("{}"), MSG_ENOTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"data\":{}}"), MSG_ENOTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"Type\":\"chat\"}"), MSG_ENOTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"type\":1}"), MSG_ENOTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"type\":null}"), MSG_ENOTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"type\":[\"chat\"]}"), MSG_ENOTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"type\":{\"chat\":1}}"), MSG_ENOTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"type\":true}"), MSG_ENOTYPE);

	CU_ASSERT_EQUAL(parse_err("{\"type\":\"shout\"}"), MSG_EBADTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"\"}"), MSG_EBADTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"Chat\"}"), MSG_EBADTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat \"}"), MSG_EBADTYPE);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\\u0000x\"}"), MSG_EJSON); /* NUL refused */
	/* the server-made types */
	const char *server[] = { "presence", "system", "notification", "error", "pong" };

	for (size_t i = 0; i < sizeof(server) / sizeof(server[0]); i++) {
		char buf[128];

		snprintf(buf, sizeof(buf), "{\"type\":\"%s\",\"data\":{}}", server[i]);
		CU_ASSERT_EQUAL(parse_err(buf), MSG_EBADTYPE);
	}
}

static void test_parse_data(void)
{
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":[]}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":\"hi\"}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":3}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":1.5}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":null}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":false}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"ping\",\"data\":[]}"), MSG_EDATA);
}

static void test_parse_duplicates(void)
{
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"type\":\"chat\"}"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"ping\",\"type\":\"chat\"}"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":{\"a\":1,\"a\":2}}"), MSG_EJSON);
}

/* The buffer is not NUL-terminated: only len bytes count. */
static void test_parse_not_terminated(void)
{
	const char *s = "{\"type\":\"chat\",\"data\":{\"c\":\"x\"}}";
	size_t n = strlen(s);
	char *buf = malloc(n);   /* exact size: ASan catches a read past it */
	char junk[64];
	struct msg_in m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf, s, n);
	CU_ASSERT_EQUAL(msg_parse(buf, n, &m), MSG_OK);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m.data, "c")), "x");
	msg_in_clear(&m);
	free(buf);

	/* garbage right after the message is not read */
	memcpy(junk, "{\"type\":\"ping\"}GARBAGE", 23);
	CU_ASSERT_EQUAL(msg_parse(junk, 15, &m), MSG_OK);
	CU_ASSERT_EQUAL(m.kind, MSG_PING);
	CU_ASSERT_EQUAL(msg_parse(junk, 16, &m), MSG_EJSON);
}

static void test_err_strings(void)
{
	CU_ASSERT_STRING_EQUAL(msg_err_code(MSG_EJSON), "invalid_json");
	CU_ASSERT_STRING_EQUAL(msg_err_code(MSG_ENOTYPE), "missing_type");
	CU_ASSERT_STRING_EQUAL(msg_err_code(MSG_EBADTYPE), "unknown_type");
	CU_ASSERT_STRING_EQUAL(msg_err_code(MSG_EDATA), "invalid_data");
	for (int e = MSG_EJSON; e <= MSG_EDATA; e++) {
		const char *t = msg_err_text((enum msg_err)e);

		CU_ASSERT_PTR_NOT_NULL(t);
		CU_ASSERT_TRUE(strlen(t) > 5);
		for (int f = MSG_EJSON; f < e; f++)
			CU_ASSERT_STRING_NOT_EQUAL(t, msg_err_text((enum msg_err)f));
	}
}

/* ---- ids and time --------------------------------------------------------------- */

/* 1 if s is a lowercase 8-4-4-4-12 UUID v4 with the RFC 4122 variant. */
static int is_uuid4(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* 1 if s is "YYYY-MM-DDTHH:MM:SS.mmmZ"; *t gets its seconds. */
static int is_timestamp(const char *s, time_t *t)
{
	struct tm tm;
	const char *end;

	if (strlen(s) != 24 || s[19] != '.' || s[23] != 'Z')
		return 0;
	for (int i = 20; i < 23; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end != s + 19)
		return 0;
	*t = timegm(&tm);
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

#define NIDS 10000

static void test_uuid(void)
{
	char (*ids)[37] = malloc(NIDS * sizeof(*ids));
	int bad = 0, dup = 0, variants[4] = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
	for (int i = 0; i < NIDS; i++) {
		msg_uuid(ids[i]);
		bad += !is_uuid4(ids[i]);
		variants[strchr("89ab", ids[i][19]) ? strchr("89ab", ids[i][19]) - "89ab" : 0]++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* each variant nibble occurs (random bits are not stuck) */
	for (int v = 0; v < 4; v++)
		CU_ASSERT_TRUE(variants[v] > NIDS / 8);
	qsort(ids, NIDS, sizeof(*ids), cmp_str);
	for (int i = 1; i < NIDS; i++)
		dup += strcmp(ids[i - 1], ids[i]) == 0;
	CU_ASSERT_EQUAL(dup, 0);
	free(ids);
	CU_ASSERT_FALSE(is_uuid4("00000000-0000-0000-0000-000000000000"));  /* checker sanity */
}

/* A forked child continues from the parent's state unless it reseeds. */
static void test_uuid_fork(void)
{
	char parent[37], child[2][37];

	msg_uuid(parent);   /* parent seeded before the fork */
	for (int k = 0; k < 2; k++) {
		int fd[2];
		pid_t pid;

		CU_ASSERT_EQUAL_FATAL(pipe(fd), 0);
		pid = fork();
		CU_ASSERT_TRUE_FATAL(pid >= 0);
		if (pid == 0) {
			char id[37];

			msg_uuid(id);
			_exit(write(fd[1], id, 37) == 37 ? 0 : 1);
		}
		close(fd[1]);
		CU_ASSERT_EQUAL(read(fd[0], child[k], 37), 37);
		close(fd[0]);
		waitpid(pid, NULL, 0);
		CU_ASSERT_TRUE(is_uuid4(child[k]));
	}
	msg_uuid(parent);   /* what the parent makes next, i.e. what an unreseeded child makes */
	CU_ASSERT_STRING_NOT_EQUAL(child[0], parent);
	CU_ASSERT_STRING_NOT_EQUAL(child[1], parent);
	CU_ASSERT_STRING_NOT_EQUAL(child[0], child[1]);
}

static void test_timestamp(void)
{
	char ts[25];
	time_t before = time(NULL), t = 0;

	msg_timestamp(ts);
	CU_ASSERT_TRUE_FATAL(is_timestamp(ts, &t));
	CU_ASSERT_TRUE(t >= before && t <= time(NULL) + 1);
	CU_ASSERT_TRUE(t - time(NULL) <= 1 && time(NULL) - t <= 1);

	/* across many calls it never goes back (wall clock permitting) and keeps the format */
	char prev[25];
	int bad = 0;

	memcpy(prev, ts, sizeof(ts));
	for (int i = 0; i < 20000; i++) {
		msg_timestamp(ts);
		bad += !is_timestamp(ts, &t);
		bad += strcmp(prev, ts) > 0;
		memcpy(prev, ts, sizeof(ts));
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* ---- building -------------------------------------------------------------------- */

static char out[65536];

/* Parse a built frame and check the envelope; returns the root (caller frees). */
static json_t *check_frame(const char *buf, size_t n, const char *type, const char *room,
			   const char *from)
{
	json_error_t err;
	json_t *root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &err);
	time_t t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_TRUE(json_is_object(root));
	CU_ASSERT_EQUAL(json_object_size(root), room && *room ? 6 : 5);
	CU_ASSERT_TRUE(is_uuid4(json_string_value(json_object_get(root, "id"))));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "type")), type);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "from")), from);
	if (room && *room) {
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "room")), room);
	} else {
		CU_ASSERT_PTR_NULL(json_object_get(root, "room"));
	}
	CU_ASSERT_TRUE(json_is_object(json_object_get(root, "data")));
	CU_ASSERT_TRUE(is_timestamp(json_string_value(json_object_get(root, "timestamp")), &t));
	return root;
}

/* Position of "key": in buf, or -1. */
static long key_pos(const char *buf, const char *key)
{
	char k[32];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(buf, k);
	return p ? p - buf : -1;
}

static void test_build_order(void)
{
	json_t *data = json_pack("{s:s, s:i, s:[i,i]}", "content", "hi", "n", 7, "l", 1, 2);
	size_t n = msg_build(out, sizeof(out), "chat", "lobby", "alice", data);
	const char *mid = "\",\"type\":\"chat\",\"room\":\"lobby\",\"from\":\"alice\","
			  "\"data\":{\"content\":\"hi\",\"n\":7,\"l\":[1,2]},\"timestamp\":\"";
	json_t *root;

	CU_ASSERT_TRUE_FATAL(n > 0 && n < sizeof(out));
	out[n] = '\0';
	CU_ASSERT_EQUAL(strlen(out), n);
	root = check_frame(out, n, "chat", "lobby", "alice");
	CU_ASSERT_TRUE(json_equal(json_object_get(root, "data"), data));
	json_decref(root);

	/* raw layout: exact prefix, field order, compact, the data as given */
	CU_ASSERT_EQUAL(strncmp(out, "{\"id\":\"", 7), 0);
	CU_ASSERT_EQUAL(strncmp(out + 43, mid, strlen(mid)), 0);
	CU_ASSERT_EQUAL(key_pos(out, "id"), 1);
	CU_ASSERT_TRUE(key_pos(out, "id") < key_pos(out, "type"));
	CU_ASSERT_TRUE(key_pos(out, "type") < key_pos(out, "room"));
	CU_ASSERT_TRUE(key_pos(out, "room") < key_pos(out, "from"));
	CU_ASSERT_TRUE(key_pos(out, "from") < key_pos(out, "data"));
	CU_ASSERT_TRUE(key_pos(out, "data") < key_pos(out, "timestamp"));
	CU_ASSERT_EQUAL(strcmp(out + n - 2, "\"}"), 0);
	CU_ASSERT_EQUAL(n, 7 + 36 + strlen(mid) + 24 + 2);
	CU_ASSERT_PTR_NULL(strchr(out, ' '));
	CU_ASSERT_PTR_NULL(strchr(out, '\n'));
	json_decref(data);
}

static void test_build_global_and_null_data(void)
{
	size_t n = msg_build(out, sizeof(out), "chat", NULL, "bob", NULL);
	json_t *root;

	CU_ASSERT_TRUE_FATAL(n > 0);
	out[n] = '\0';
	root = check_frame(out, n, "chat", NULL, "bob");
	CU_ASSERT_EQUAL(json_object_size(json_object_get(root, "data")), 0);
	json_decref(root);
	CU_ASSERT_EQUAL(key_pos(out, "room"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"type\":\"chat\",\"from\":\"bob\",\"data\":{},\"timestamp\":\""));

	n = msg_build(out, sizeof(out), "chat", "", "bob", NULL);
	CU_ASSERT_TRUE_FATAL(n > 0);
	out[n] = '\0';
	CU_ASSERT_EQUAL(key_pos(out, "room"), -1);

	CU_ASSERT_EQUAL(msg_build(out, sizeof(out), NULL, "r", "bob", NULL), 0);
	CU_ASSERT_EQUAL(msg_build(out, sizeof(out), "chat", "r", NULL, NULL), 0);
}

/* Escaping agrees with jansson's and survives a round trip. */
static void test_build_escaping(void)
{
	const char *hostile[] = {
		"quo\"te",
		"back\\slash\\",
		"ctl\x01\x02\x1f\x7f end",
		"nl\n cr\r tab\t bs\b ff\f",
		"\"},\"type\":\"system\",\"x\":{\"",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf",
		"/slash/ <script>",
		"",
	};

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		size_t n = msg_build(out, sizeof(out), "chat", "r", hostile[i], NULL);
		json_t *js = json_string(hostile[i]);
		char *enc = json_dumps(js, JSON_ENCODE_ANY);
		json_t *root;

		CU_ASSERT_TRUE_FATAL(n > 0);
		out[n] = '\0';
		root = check_frame(out, n, "chat", "r", hostile[i]);
		json_decref(root);
		/* jansson writes the same bytes for the string */
		CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
		CU_ASSERT_EQUAL(key_pos(out, "from") + 7, strstr(out, enc) ? strstr(out, enc) - out : -2);
		free(enc);
		json_decref(js);
	}
}

static void test_build_bad_utf8(void)
{
	const char *bad[] = {
		"\xff", "a\x80", "\xc0\xaf", "\xc3", "\xe0\x80\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xe2\x82", "\xf0\x9f\x98",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(msg_build(out, sizeof(out), "chat", NULL, bad[i], NULL), 0);
		CU_ASSERT_EQUAL(msg_build(out, sizeof(out), "chat", bad[i], "ok", NULL), 0);
	}
}

/* Every too-small cap returns 0 and writes nothing past cap. */
static void test_build_small_cap(void)
{
	json_t *data = json_pack("{s:s}", "content", "a fairly long message body here");
	size_t full = msg_build(out, sizeof(out), "chat", "lobby", "alice", data);
	int bad = 0;

	CU_ASSERT_TRUE_FATAL(full > 0);
	for (size_t cap = 0; cap < full; cap++) {
		char *b = malloc(cap + 16);

		memset(b, 0x5a, cap + 16);
		bad += msg_build(b, cap, "chat", "lobby", "alice", data) != 0;
		for (size_t j = cap; j < cap + 16; j++)
			bad += b[j] != 0x5a;
		free(b);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* exactly enough fits, into an exact-size heap buffer */
	char *b = malloc(full);

	CU_ASSERT_EQUAL(msg_build(b, full, "chat", "lobby", "alice", data), full);
	free(b);
	json_decref(data);
}

static void test_build_error(void)
{
	size_t n = msg_build_error(out, sizeof(out), "lobby", msg_err_code(MSG_EDATA),
				   msg_err_text(MSG_EDATA));
	json_t *root, *d;

	CU_ASSERT_TRUE_FATAL(n > 0);
	root = check_frame(out, n, "error", "lobby", "server");
	d = json_object_get(root, "data");
	CU_ASSERT_EQUAL(json_object_size(d), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "code")), "invalid_data");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "message")),
			       msg_err_text(MSG_EDATA));
	json_decref(root);
	CU_ASSERT_EQUAL(msg_build_error(out, 50, "lobby", "x", "y"), 0);
}

static void test_build_presence(void)
{
	for (int online = 0; online <= 1; online++) {
		size_t n = msg_build_presence(out, sizeof(out), online ? NULL : "r1", "carol", online);
		json_t *root, *d;

		CU_ASSERT_TRUE_FATAL(n > 0);
		root = check_frame(out, n, "presence", online ? NULL : "r1", "carol");
		d = json_object_get(root, "data");
		CU_ASSERT_EQUAL(json_object_size(d), 1);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "status")),
				       online ? "online" : "offline");
		json_decref(root);
	}
}

static void test_build_welcome(void)
{
	size_t n = msg_build_welcome(out, sizeof(out), "lobby", "id-1");
	json_t *root, *d;

	CU_ASSERT_TRUE_FATAL(n > 0);
	root = check_frame(out, n, "system", "lobby", "server");
	d = json_object_get(root, "data");
	CU_ASSERT_EQUAL(json_object_size(d), 3);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "event")), "welcome");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "client_id")), "id-1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "room")), "lobby");
	json_decref(root);

	n = msg_build_welcome(out, sizeof(out), NULL, "id-2");
	CU_ASSERT_TRUE_FATAL(n > 0);
	root = check_frame(out, n, "system", NULL, "server");
	d = json_object_get(root, "data");
	CU_ASSERT_TRUE(json_is_null(json_object_get(d, "room")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "client_id")), "id-2");
	json_decref(root);
}

/* Two frames built back to back differ in id. */
static void test_build_unique_ids(void)
{
	char a[512], b[512];
	size_t na = msg_build(a, sizeof(a), "chat", NULL, "x", NULL);
	size_t nb = msg_build(b, sizeof(b), "chat", NULL, "x", NULL);

	CU_ASSERT_TRUE_FATAL(na > 43 && nb > 43);
	CU_ASSERT_NOT_EQUAL(memcmp(a + 7, b + 7, 36), 0);
}

static int peer(const char *s, const char *room)
{
	return msg_peer_valid(s, strlen(s), room, strlen(room), "ops");
}

/* Frames from other pods: what msg_build makes passes, the rest does not. */
static void test_peer_valid(void)
{
	char buf[512];
	size_t n;

	n = msg_build(buf, sizeof(buf), "chat", "r", "c1", NULL);
	CU_ASSERT_TRUE(msg_peer_valid(buf, n, "r", 1, "ops"));
	CU_ASSERT_FALSE(msg_peer_valid(buf, n, "s", 1, "ops"));      /* not its room */
	CU_ASSERT_FALSE(msg_peer_valid(buf, n, "", 0, "ops"));       /* room on global */
	CU_ASSERT_FALSE(msg_peer_valid(buf, n - 1, "r", 1, "ops"));  /* truncated */
	n = msg_build_presence(buf, sizeof(buf), "r", "c1", 0);
	CU_ASSERT_TRUE(msg_peer_valid(buf, n, "r", 1, "ops"));
	n = msg_build(buf, sizeof(buf), "notification", NULL, "x", NULL);
	CU_ASSERT_TRUE(msg_peer_valid(buf, n, "", 0, "ops"));
	CU_ASSERT_TRUE(peer("{\"type\":\"system\",\"from\":\"ops\"}", ""));
	CU_ASSERT_FALSE(peer("{\"type\":\"system\",\"from\":\"server\"}", ""));
	n = msg_build(buf, sizeof(buf), "system", NULL, "ops", NULL);
	CU_ASSERT_FALSE(msg_peer_valid(buf, n, "", 0, NULL));      /* no publish_from */
	CU_ASSERT_FALSE(peer("{\"type\":\"error\",\"from\":\"x\"}", ""));
	CU_ASSERT_FALSE(peer("{\"type\":\"pong\",\"from\":\"x\"}", ""));
	CU_ASSERT_FALSE(peer("{\"type\":\"presence\",\"from\":\"x\"}", ""));
	CU_ASSERT_FALSE(peer("{\"type\":\"presence\",\"from\":\"x\",\"data\":{\"status\":\"away\"}}", ""));
	CU_ASSERT_FALSE(peer("{\"type\":\"chat\"}", ""));                 /* no from */
	CU_ASSERT_FALSE(peer("{\"type\":\"chat\",\"from\":\"x\",\"data\":1}", ""));
	CU_ASSERT_FALSE(peer("{\"type\":\"chat\",\"from\":\"x\",\"from\":\"y\"}", ""));
	CU_ASSERT_FALSE(peer("{\"type\":\"chat\",\"from\":\"\xff\"}", ""));
	/* data is passed on verbatim: a number past 64 bits is fine */
	CU_ASSERT_TRUE(peer("{\"type\":\"chat\",\"from\":\"x\",\"data\":{\"n\":123456789012345678901234567890}}", ""));
	CU_ASSERT_FALSE(peer("[]", ""));
	CU_ASSERT_FALSE(peer("chat", ""));
	CU_ASSERT_FALSE(msg_peer_valid(NULL, 0, "", 0, "ops"));
}

/* Parse {"type":"chat","data":<text>}: MSG_OK, raw is text byte for byte,
 * and the frame built from it carries that text between "data": and the
 * timestamp. */
static int raw_roundtrip(const char *text)
{
	char in[512], frame[1024], want[600];
	struct msg_in m;
	json_t *root;
	size_t n;
	int ok;

	snprintf(in, sizeof(in), "{\"type\":\"chat\",\"data\":%s}", text);
	if (msg_parse(in, strlen(in), &m) != MSG_OK)
		return 0;
	ok = m.raw_len == strlen(text) && memcmp(m.raw, text, m.raw_len) == 0;
	n = msg_build_raw(frame, sizeof(frame) - 1, "chat", "r", "me", m.raw, m.raw_len);
	msg_in_clear(&m);
	if (n == 0)
		return 0;
	frame[n] = '\0';
	snprintf(want, sizeof(want), ",\"data\":%s,\"timestamp\":\"", text);
	root = json_loads(frame, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
	ok = ok && root != NULL && strstr(frame, want) != NULL;
	json_decref(root);
	return ok;
}

/* data leaves as the client wrote it: jansson would have rewritten these. */
static void test_raw_verbatim(void)
{
	static const char *const texts[] = {
		"{\"n\":0.1}", "{\"n\":1e-400}", "{\"n\":1.0}", "{\"n\":-0}",
		"{\"n\":12345678901234567890}", "{\"n\":-0.0,\"m\":1E+2,\"k\":2e-0}",
		"{\"s\":\"\\u00e9\"}", "{\"s\":\"\\u00E9\\/\\ud83d\\ude00\"}",
		"{\"a\":{\"b\":[1.10,{\"c\":2E+3,\"d\":[]}],\"e\":{}},\"f\":\"x}]\\\"{[\"}",
		"{ \"n\" : 0.1 ,\n\t\"m\" : [ 1 , 2 ] }", "{}", "{\"data\":{\"data\":1}}",
	};
	int bad = 0;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (!raw_roundtrip(texts[i])) {
			fprintf(stderr, "not verbatim: %s\n", texts[i]);
			bad++;
		}
	CU_ASSERT_EQUAL(bad, 0);
}

/* The raw text of the top-level "data", wherever it sits. */
static const char *raw_of(const char *in, char *buf, size_t cap)
{
	struct msg_in m;

	if (msg_parse(in, strlen(in), &m) != MSG_OK || m.raw == NULL)
		return "(refused)";
	snprintf(buf, cap, "%.*s", (int)m.raw_len, m.raw);
	msg_in_clear(&m);
	return buf;
}

static void test_raw_position(void)
{
	char b[256];

	CU_ASSERT_STRING_EQUAL(raw_of("{\"data\":{\"x\":0.1},\"type\":\"chat\"}", b, sizeof(b)),
			       "{\"x\":0.1}");
	CU_ASSERT_STRING_EQUAL(raw_of(" \r\n{ \"x\":{\"data\":{\"no\":1}}, \"da\\\"ta\":1,"
				      "\"data\" :\t{\"yes\":1.50} , \"type\":\"chat\" } \n",
				      b, sizeof(b)), "{\"yes\":1.50}");
	/* an escaped key is still "data" (as jansson reads it) */
	CU_ASSERT_STRING_EQUAL(raw_of("{\"type\":\"chat\",\"datax\":{},\"dat\":{},"
				      "\"d\\u0061ta\":{\"v\":1e5}}", b, sizeof(b)), "{\"v\":1e5}");
	CU_ASSERT_STRING_EQUAL(raw_of("{\"type\":\"chat\",\"\\u0064\\u0061\\u0074\\u0061\":{}}",
				      b, sizeof(b)), "{}");
	/* no data: an empty object, as before */
	CU_ASSERT_STRING_EQUAL(raw_of("{\"type\":\"chat\",\"x\":[\"data\",{\"data\":2}]}", b,
				      sizeof(b)), "{}");
	/* duplicates stay refused, spelt alike or not */
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":{},\"data\":{\"a\":1}}"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":{},\"d\\u0061ta\":{}}"), MSG_EJSON);
	/* still refused, as the README says */
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":{\"a\":\"\\u0000\"}}"), MSG_EJSON);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"chat\",\"data\":{\"a\":1e400}}"), MSG_EJSON);
	/* a ping has no raw data */
	struct msg_in m;

	CU_ASSERT_EQUAL_FATAL(parse_s("{\"type\":\"ping\",\"data\":{\"t\":0.1}}", &m), MSG_OK);
	CU_ASSERT_PTR_NULL(m.raw);
	msg_in_clear(&m);
}

/* msg_build_raw: NULL data is {}, a too-small cap is 0. */
static void test_build_raw(void)
{
	char small[64];
	size_t n = msg_build_raw(out, sizeof(out) - 1, "chat", NULL, "bob", NULL, 0);

	CU_ASSERT_TRUE_FATAL(n > 0);
	out[n] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ",\"data\":{},\"timestamp\":\""));
	CU_ASSERT_EQUAL(msg_build_raw(small, sizeof(small), "chat", NULL, "bob",
				      "{\"n\":0.1}", 9), 0);
	CU_ASSERT_EQUAL(msg_build_raw(out, sizeof(out), "chat", NULL, NULL, "{}", 2), 0);
}

/* {"type":"members"}: data.limit 1..1000 and data.cursor, both optional. */
static void test_parse_members(void)
{
	struct msg_in m;

	CU_ASSERT_EQUAL(parse_s("{\"type\":\"members\"}", &m), MSG_OK);
	CU_ASSERT_EQUAL(m.kind, MSG_MEMBERS);
	CU_ASSERT_EQUAL(m.limit, 0);
	CU_ASSERT_EQUAL(m.cursor_len, 0);
	msg_in_clear(&m);
	CU_ASSERT_EQUAL(parse_s("{\"type\":\"members\",\"data\":{\"limit\":1000,"
				"\"cursor\":\"abc\"}}", &m), MSG_OK);
	CU_ASSERT_EQUAL(m.limit, 1000);
	CU_ASSERT_EQUAL(m.cursor_len, 3);
	CU_ASSERT_EQUAL(memcmp(m.cursor, "abc", 3), 0);
	msg_in_clear(&m);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"members\",\"data\":{\"limit\":0}}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"members\",\"data\":{\"limit\":1001}}"),
			MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"members\",\"data\":{\"limit\":2.5}}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"members\",\"data\":{\"limit\":\"5\"}}"),
			MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"members\",\"data\":{\"cursor\":5}}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"members\",\"data\":{\"cursor\":\""
				  "01234567890123456789012345678901234567890123456789012345678901234"
				  "\"}}"), MSG_EDATA);
	CU_ASSERT_EQUAL(parse_err("{\"type\":\"members\",\"data\":[]}"), MSG_EDATA);
}

static CU_TestInfo tests[] = {
	{ "parse: members", test_parse_members },
	{ "parse: chat", test_parse_chat },
	{ "parse: client fields ignored", test_parse_ignored_fields },
	{ "parse: chat without data, ping", test_parse_chat_no_data_and_ping },
	{ "parse: invalid and truncated JSON", test_parse_invalid_json },
	{ "parse: top level not an object", test_parse_top_level },
	{ "parse: missing, non-string, unknown type", test_parse_type },
	{ "parse: data not an object", test_parse_data },
	{ "parse: duplicate keys", test_parse_duplicates },
	{ "parse: not NUL-terminated", test_parse_not_terminated },
	{ "error codes and texts", test_err_strings },
	{ "uuid: format and uniqueness", test_uuid },
	{ "uuid: differs after fork", test_uuid_fork },
	{ "timestamp: format and clock", test_timestamp },
	{ "build: field order and content", test_build_order },
	{ "build: global room, NULL data", test_build_global_and_null_data },
	{ "build: escaping of from", test_build_escaping },
	{ "build: invalid UTF-8 refused", test_build_bad_utf8 },
	{ "build: too-small cap", test_build_small_cap },
	{ "build: error", test_build_error },
	{ "build: presence", test_build_presence },
	{ "build: welcome", test_build_welcome },
	{ "build: unique ids", test_build_unique_ids },
	{ "raw data: verbatim numbers, escapes, nesting", test_raw_verbatim },
	{ "raw data: found wherever it sits, escaped key", test_raw_position },
	{ "raw data: build", test_build_raw },
	{ "peer frames: checked like a client's", test_peer_valid },
	CU_TEST_INFO_NULL,
};

CU_MAIN("msg", tests)
