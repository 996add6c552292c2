/* SPDX-License-Identifier: MIT */
/*
 * test_envelope.c - the Redis envelope codec, the redis_url parser, and the
 * master's event loop (mloop) that the broker runs on.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "broker.h"
#include "cu.h"
#include "envelope.h"
#include "redis_url.h"

/* ---- helpers ------------------------------------------------------------ */

static void pack_s(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void pack_b(msgpack_packer *pk, const char *s)
{
	msgpack_pack_bin(pk, strlen(s));
	msgpack_pack_bin_body(pk, s, strlen(s));
}

/* Does [p, p+n) lie inside [buf, buf+len)? */
static int inside(const char *buf, size_t len, const char *p, size_t n)
{
	return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static int roundtrip(const char *pod, const char *room, const char *frame, size_t frame_len)
{
	msgpack_sbuffer sb;
	struct envelope e;
	int ok;

	msgpack_sbuffer_init(&sb);
	CU_ASSERT_EQUAL_FATAL(envelope_encode(&sb, pod, strlen(pod), room, strlen(room),
					      frame, frame_len), 0);
	ok = envelope_decode(sb.data, sb.size, &e) == ENVELOPE_OK &&
	     e.v == ENVELOPE_VERSION &&
	     e.pod_len == strlen(pod) && memcmp(e.pod, pod, e.pod_len) == 0 &&
	     e.room_len == strlen(room) && memcmp(e.room, room, e.room_len) == 0 &&
	     e.frame_len == frame_len && memcmp(e.frame, frame, frame_len) == 0 &&
	     inside(sb.data, sb.size, e.pod, e.pod_len) &&
	     inside(sb.data, sb.size, e.frame, e.frame_len);
	msgpack_sbuffer_destroy(&sb);
	return ok;
}

/* ---- envelope ----------------------------------------------------------- */

static void test_roundtrip_room(void)
{
	const char *f = "{\"type\":\"message\",\"room\":\"lobby\",\"text\":\"hi\"}";

	CU_ASSERT_TRUE(roundtrip("pod-a", "lobby", f, strlen(f)));
}

static void test_roundtrip_global(void)
{
	const char *f = "{\"type\":\"message\",\"text\":\"to all\"}";

	CU_ASSERT_TRUE(roundtrip("host-123-abcdef", "", f, strlen(f)));
}

static void test_roundtrip_empty_frame(void)
{
	CU_ASSERT_TRUE(roundtrip("p", "r", "", 0));
}

static void test_roundtrip_large(void)
{
	size_t n = 65536;
	char *f = malloc(n);
	char room[129];

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (size_t i = 0; i < n; i++)
		f[i] = (char)(i * 31 + 7);
	memset(room, 'r', 128);
	room[128] = '\0';
	CU_ASSERT_TRUE(roundtrip("pod-with-a-longer-name-over-31-bytes", room, f, n));
	free(f);
}

static void test_unknown_version(void)
{
	struct envelope e;
	static const long long versions[] = { 0, 2, 255, 70000, -1, -200 };

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 4);
		pack_s(&pk, "v");
		msgpack_pack_long_long(&pk, versions[i]);
		pack_s(&pk, "pod");   pack_s(&pk, "x");
		pack_s(&pk, "room");  pack_s(&pk, "y");
		pack_s(&pk, "frame"); pack_b(&pk, "{}");
		CU_ASSERT_EQUAL(envelope_decode(sb.data, sb.size, &e), ENVELOPE_NEWER);
		msgpack_sbuffer_destroy(&sb);
	}
	/* A future version with another shape is still "unknown version". */
	{
		msgpack_sbuffer sb;
		msgpack_packer pk;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 2);
		pack_s(&pk, "v");     msgpack_pack_int(&pk, 2);
		pack_s(&pk, "blob");  msgpack_pack_array(&pk, 0);
		CU_ASSERT_EQUAL(envelope_decode(sb.data, sb.size, &e), ENVELOPE_NEWER);
		msgpack_sbuffer_destroy(&sb);
	}
}

static void test_truncated(void)
{
	msgpack_sbuffer sb;
	struct envelope e;
	const char *f = "{\"type\":\"message\"}";

	msgpack_sbuffer_init(&sb);
	CU_ASSERT_EQUAL_FATAL(envelope_encode(&sb, "pod", 3, "room", 4, f, strlen(f)), 0);
	for (size_t n = 0; n < sb.size; n++) {
		/* Copy so ASan sees any read past the truncation point. */
		char *c = malloc(n ? n : 1);
		memcpy(c, sb.data, n);
		CU_ASSERT_EQUAL(envelope_decode(c, n, &e), ENVELOPE_BAD);
		CU_ASSERT_PTR_NULL(e.frame);
		free(c);
	}
	CU_ASSERT_EQUAL(envelope_decode(sb.data, sb.size, &e), ENVELOPE_OK);
	/* Trailing bytes are not part of any envelope. */
	msgpack_sbuffer_write(&sb, "\xc0", 1);
	CU_ASSERT_EQUAL(envelope_decode(sb.data, sb.size, &e), ENVELOPE_BAD);
	CU_ASSERT_EQUAL(envelope_decode(NULL, 0, &e), ENVELOPE_BAD);
	msgpack_sbuffer_destroy(&sb);
}

/* Build a 4-entry map whose entry `bad` has a value of the wrong type. */
static int decode_with_bad_value(int bad)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct envelope e;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	pack_s(&pk, "v");
	if (bad == 0) pack_s(&pk, "1"); else msgpack_pack_int(&pk, 1);
	pack_s(&pk, "pod");
	if (bad == 1) pack_b(&pk, "p"); else pack_s(&pk, "p");
	pack_s(&pk, "room");
	if (bad == 2) msgpack_pack_int(&pk, 5); else pack_s(&pk, "r");
	pack_s(&pk, "frame");
	if (bad == 3) pack_s(&pk, "{}"); else pack_b(&pk, "{}");
	rc = envelope_decode(sb.data, sb.size, &e);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void test_wrong_types(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct envelope e;

	CU_ASSERT_EQUAL(decode_with_bad_value(-1), 0);   /* the control */
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(decode_with_bad_value(i), -1);
	/* not a map at all */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 1);
	pack_s(&pk, "p");
	pack_s(&pk, "r");
	pack_b(&pk, "{}");
	CU_ASSERT_EQUAL(envelope_decode(sb.data, sb.size, &e), ENVELOPE_BAD);
	msgpack_sbuffer_destroy(&sb);
	/* a non-string key */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, 1);
	CU_ASSERT_EQUAL(envelope_decode(sb.data, sb.size, &e), ENVELOPE_BAD);
	msgpack_sbuffer_destroy(&sb);
}

/* keys[] / n: which entries to write, in that order. */
static int decode_keys(const char *const *keys, int n)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct envelope e;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (size_t)n);
	for (int i = 0; i < n; i++) {
		pack_s(&pk, keys[i]);
		if (strcmp(keys[i], "v") == 0)
			msgpack_pack_int(&pk, 1);
		else if (strcmp(keys[i], "frame") == 0)
			pack_b(&pk, "{}");
		else
			pack_s(&pk, "x");
	}
	rc = envelope_decode(sb.data, sb.size, &e);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void test_keys(void)
{
	static const char *const all[] = { "v", "pod", "room", "frame" };
	static const char *const reordered[] = { "frame", "room", "pod", "v" };
	static const char *const extra[] = { "v", "pod", "room", "frame", "x" };
	static const char *const dup[] = { "v", "pod", "pod", "frame" };
	static const char *const wrong[] = { "v", "pod", "rooms", "frame" };

	CU_ASSERT_EQUAL(decode_keys(all, 4), 0);
	CU_ASSERT_EQUAL(decode_keys(reordered, 4), 0);
	CU_ASSERT_EQUAL(decode_keys(extra, 5), -1);
	CU_ASSERT_EQUAL(decode_keys(dup, 4), -1);
	CU_ASSERT_EQUAL(decode_keys(wrong, 4), -1);
	for (int n = 0; n < 4; n++)                 /* each key missing in turn */
		CU_ASSERT_EQUAL(decode_keys(all, n), -1);
	CU_ASSERT_EQUAL(decode_keys(reordered + 1, 3), -1);
}

/* The wide forms other encoders may use: map16, str16/str32, bin32, uint8. */
static void test_wide_forms(void)
{
	static const unsigned char buf[] = {
		0xde, 0x00, 0x04,
		0xda, 0x00, 0x01, 'v',            0xcc, 0x01,
		0xdb, 0, 0, 0, 3, 'p', 'o', 'd',  0xd9, 0x02, 'p', '1',
		0xd9, 0x04, 'r', 'o', 'o', 'm',   0xa0,
		0xa5, 'f', 'r', 'a', 'm', 'e',    0xc6, 0, 0, 0, 2, '{', '}',
	};
	struct envelope e;

	CU_ASSERT_EQUAL_FATAL(envelope_decode((const char *)buf, sizeof(buf), &e), ENVELOPE_OK);
	CU_ASSERT_EQUAL(e.pod_len, 2);
	CU_ASSERT_EQUAL(memcmp(e.pod, "p1", 2), 0);
	CU_ASSERT_EQUAL(e.room_len, 0);
	CU_ASSERT_EQUAL(e.frame_len, 2);
	CU_ASSERT_PTR_EQUAL(e.frame, (const char *)buf + sizeof(buf) - 2);
}

static void check_fuzz_result(const char *buf, size_t len, int rc, const struct envelope *e)
{
	CU_ASSERT(rc == 0 || rc == -1 || rc == -2);
	if (rc == 0) {
		CU_ASSERT(inside(buf, len, e->pod, e->pod_len));
		CU_ASSERT(inside(buf, len, e->room, e->room_len));
		CU_ASSERT(inside(buf, len, e->frame, e->frame_len));
	}
}

static void test_garbage(void)
{
	unsigned seed = 12345;
	msgpack_sbuffer sb;
	struct envelope e;
	int accepted = 0;

	/* Pure random buffers. */
	for (int i = 0; i < 5000; i++) {
		size_t n = (size_t)rand_r(&seed) % 80;
		char *c = malloc(n ? n : 1);
		for (size_t k = 0; k < n; k++)
			c[k] = (char)rand_r(&seed);
		if (i % 3 == 0 && n > 0)           /* bias towards map headers */
			c[0] = (char)(0x80 | (rand_r(&seed) & 0x0f));
		int rc = envelope_decode(c, n, &e);
		check_fuzz_result(c, n, rc, &e);
		free(c);
	}
	/* Mutations of a valid envelope: flip, overwrite, cut. */
	msgpack_sbuffer_init(&sb);
	CU_ASSERT_EQUAL_FATAL(envelope_encode(&sb, "pod-1", 5, "room", 4, "{\"a\":1}", 7), 0);
	for (int i = 0; i < 5000; i++) {
		size_t n = sb.size - (size_t)(rand_r(&seed) % 3);
		char *c = malloc(n);
		memcpy(c, sb.data, n);
		for (int m = rand_r(&seed) % 3 + 1; m > 0; m--)
			c[(size_t)rand_r(&seed) % n] ^= (char)(1u << (rand_r(&seed) % 8));
		int rc = envelope_decode(c, n, &e);
		check_fuzz_result(c, n, rc, &e);
		accepted += rc == 0;
		free(c);
	}
	msgpack_sbuffer_destroy(&sb);
	/* Some mutations only touch the payload bytes and must still decode. */
	CU_ASSERT(accepted > 0);
}

/* ---- redis_url_parse -------------------------------------------------- */

static void test_url_good(void)
{
	struct redis_url u;
	char err[256];

	CU_ASSERT_EQUAL(redis_url_parse("redis://localhost:6379", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.host, "localhost");
	CU_ASSERT_EQUAL(u.port, 6379);
	CU_ASSERT_STRING_EQUAL(u.password, "");
	CU_ASSERT_EQUAL(u.db, 0);

	CU_ASSERT_EQUAL(redis_url_parse("redis://:s3cret@10.0.0.5:6380/2", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.host, "10.0.0.5");
	CU_ASSERT_EQUAL(u.port, 6380);
	CU_ASSERT_STRING_EQUAL(u.password, "s3cret");
	CU_ASSERT_EQUAL(u.db, 2);

	CU_ASSERT_EQUAL(redis_url_parse("redis://my-redis.svc_1:6379/15", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.host, "my-redis.svc_1");
	CU_ASSERT_EQUAL(u.db, 15);

	CU_ASSERT_EQUAL(redis_url_parse("redis://[::1]:6390", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.host, "::1");
	CU_ASSERT_EQUAL(u.port, 6390);
	CU_ASSERT_EQUAL(redis_url_parse("redis://[::ffff:127.0.0.1]:1/0", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.host, "::ffff:127.0.0.1");
}

/* Ports and databases at their limits. */
static void test_url_numbers(void)
{
	struct redis_url u;
	char err[256];

	CU_ASSERT_EQUAL(redis_url_parse("redis://h:1", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_EQUAL(u.port, 1);
	CU_ASSERT_EQUAL(redis_url_parse("redis://h:65535", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_EQUAL(u.port, 65535);
	CU_ASSERT_EQUAL(redis_url_parse("redis://h:06379/0", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_EQUAL(u.port, 6379);
	CU_ASSERT_EQUAL(u.db, 0);
	CU_ASSERT_EQUAL(redis_url_parse("redis://h:1/2147483647", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_EQUAL(u.db, 2147483647);
	CU_ASSERT_EQUAL(redis_url_parse("redis://h:1/2147483648", &u, err, sizeof(err)), REDIS_URL_BAD);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "database"));
	CU_ASSERT_EQUAL(redis_url_parse("redis://h:65536", &u, err, sizeof(err)), REDIS_URL_BAD);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "port"));
	CU_ASSERT_EQUAL(redis_url_parse("redis://h:99999999999", &u, err, sizeof(err)), REDIS_URL_BAD);
}

/* '@', ':', '%' and '/' inside the password (the last '@' ends it). */
static void test_url_password(void)
{
	struct redis_url u;
	char err[256];

	CU_ASSERT_EQUAL(redis_url_parse("redis://:p%40ss:w@h:7000", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.password, "p@ss:w");
	CU_ASSERT_EQUAL(redis_url_parse("redis://:a@b@h:1", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.password, "a@b");
	CU_ASSERT_STRING_EQUAL(u.host, "h");
	CU_ASSERT_EQUAL(redis_url_parse("redis://:%25%2F%2f!$&'()*+,;=~@h:1/3", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.password, "%//!$&'()*+,;=~");
	CU_ASSERT_EQUAL(u.db, 3);
	CU_ASSERT_EQUAL(redis_url_parse("redis://:\xc3\xa9t\xc3\xa9@h:1", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.password, "\xc3\xa9t\xc3\xa9");
	CU_ASSERT_EQUAL(redis_url_parse("redis://:@h:1", &u, err, sizeof(err)), REDIS_URL_SET);
	CU_ASSERT_STRING_EQUAL(u.password, "");
	/* a raw '/' would end the host part: it must be written %2F */
	CU_ASSERT_EQUAL(redis_url_parse("redis://:a/b@h:1", &u, err, sizeof(err)), REDIS_URL_BAD);
	CU_ASSERT_EQUAL(redis_url_parse("redis://:a b@h:1", &u, err, sizeof(err)), REDIS_URL_BAD);
	CU_ASSERT_EQUAL(redis_url_parse("redis://:a#b@h:1", &u, err, sizeof(err)), REDIS_URL_BAD);
}

static void test_url_off(void)
{
	struct redis_url u;
	char err[256];

	CU_ASSERT_EQUAL(redis_url_parse("off", &u, err, sizeof(err)), REDIS_URL_OFF);
	CU_ASSERT_EQUAL(redis_url_parse("OFF", &u, err, sizeof(err)), REDIS_URL_OFF);
	CU_ASSERT_EQUAL(redis_url_parse("", &u, err, sizeof(err)), REDIS_URL_OFF);
	CU_ASSERT_EQUAL(redis_url_parse(NULL, &u, err, sizeof(err)), REDIS_URL_OFF);
}

static void test_url_bad(void)
{
	static const char *const bad[] = {
		"localhost:6379", "http://localhost:6379", "rediss://h:6379", "redis://",
		"redis://:6379", "redis://h:", "redis://h:0", "redis://h:65536",
		"redis://h:63a9", "redis://h:-1", "redis://h:6379/x", "redis://h:6379/-1",
		"redis://h:6379/99999999999", "redis://h:6379?db=1", "redis://h 1",
		"redis://user:pw@h:1", "redis://pw@h:1", "redis://:p%4@h:1", "redis://:p%00@h:1",
		"redis://h$st:1", "redis://[::1", "redis://[::1]x", "redis://:@",
		"garbage", "redis:/h", "off ",
		/* what conf.c's own parser refused before it used this one:
		 * the port is required, "/" needs a number, no user names,
		 * the scheme in lower case, only an address inside [] */
		"redis://redis.internal", "redis://h/5", "redis://h:1/", "redis://default:pw@h:1",
		"REDIS://H:1", "redis://[zz]:1", "redis://[1.2.3.4]:1", "redis://*:1",
		"redis://::1:6379", "redis://h:6379:1", "redis://h h:6379",
	};
	struct redis_url u;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		enum redis_url_rc rc = redis_url_parse(bad[i], &u, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, REDIS_URL_BAD);
		if (rc != REDIS_URL_BAD)
			fprintf(stderr, "\naccepted bad url: %s\n", bad[i]);
		/* A reason for the caller to print after the directive's name. */
		CU_ASSERT(err[0] != '\0' && strncmp(err, "redis_url", 9) != 0);
	}
	/* Too long host and password do not overflow the struct. */
	char longurl[1200];
	strcpy(longurl, "redis://:");
	memset(longurl + 9, 'p', 300);
	strcpy(longurl + 309, "@h:1");
	CU_ASSERT_EQUAL(redis_url_parse(longurl, &u, err, sizeof(err)), REDIS_URL_BAD);
	strcpy(longurl, "redis://");
	memset(longurl + 8, 'h', 300);
	strcpy(longurl + 308, ":1");
	CU_ASSERT_EQUAL(redis_url_parse(longurl, &u, err, sizeof(err)), REDIS_URL_BAD);
	/* A NULL err buffer is allowed. */
	CU_ASSERT_EQUAL(redis_url_parse("nope", &u, NULL, 0), REDIS_URL_BAD);
}

/* ---- mloop ------------------------------------------------------------ */

struct tl_rec { int order[8]; int n; struct mloop *l; uint64_t cancel_id; int rearm; };

static struct tl_rec *g_rec;

static void tl_mark(void *arg)
{
	g_rec->order[g_rec->n++ % 8] = (int)(intptr_t)arg;
	if ((intptr_t)arg == 1 && g_rec->cancel_id)
		mloop_timer_cancel(g_rec->l, g_rec->cancel_id);
}

static void tl_rearm(void *arg)
{
	g_rec->n++;
	if (g_rec->rearm-- > 0)
		mloop_timer(g_rec->l, 0, tl_rearm, arg);
}

static void test_mloop_timers(void)
{
	struct tl_rec rec = { .n = 0 };
	struct mloop *l = mloop_new();
	uint64_t t0, id3;
	int ran = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	g_rec = &rec;
	rec.l = l;
	mloop_timer(l, 30, tl_mark, (void *)(intptr_t)2);
	mloop_timer(l, 10, tl_mark, (void *)(intptr_t)1);
	id3 = mloop_timer(l, 40, tl_mark, (void *)(intptr_t)3);
	mloop_timer_cancel(l, 999999);                   /* unknown id: no-op */
	rec.cancel_id = id3;                             /* timer 1 cancels timer 3 */
	t0 = mloop_now_ms();
	while (mloop_now_ms() - t0 < 100)
		ran += mloop_run_once(l, 100 - (int)(mloop_now_ms() - t0));
	CU_ASSERT_EQUAL(rec.n, 2);
	CU_ASSERT_EQUAL(rec.order[0], 1);
	CU_ASSERT_EQUAL(rec.order[1], 2);
	CU_ASSERT_EQUAL(ran, 2);
	/* The timeout follows the nearest timer, not max_ms. */
	rec.n = 0;
	mloop_timer(l, 20, tl_mark, (void *)(intptr_t)4);
	t0 = mloop_now_ms();
	mloop_run_once(l, 5000);
	CU_ASSERT(mloop_now_ms() - t0 < 1000);
	CU_ASSERT(mloop_now_ms() - t0 >= 19);
	CU_ASSERT_EQUAL(rec.n, 1);
	/* A 0 ms timer re-armed from its own callback runs once per round. */
	rec.n = 0;
	rec.rearm = 3;
	mloop_timer(l, 0, tl_rearm, NULL);
	CU_ASSERT_EQUAL(mloop_run_once(l, 0), 1);
	CU_ASSERT_EQUAL(mloop_run_once(l, 0), 1);
	CU_ASSERT_EQUAL(rec.n, 2);
	while (mloop_run_once(l, 0) > 0)
		;
	CU_ASSERT_EQUAL(rec.n, 4);
	CU_ASSERT_EQUAL(mloop_run_once(l, 0), 0);      /* nothing left */
	mloop_free(l);
}

struct tf { struct mloop *l; int p1[2], p2[2]; int calls1, calls2, calls_new; };

static void tf_new_cb(int fd, uint32_t ev, void *arg)
{
	((struct tf *)arg)->calls_new++;
}

static void tf_cb(int fd, uint32_t ev, void *arg)
{
	struct tf *t = arg;
	int other = fd == t->p1[0] ? t->p2[0] : t->p1[0];

	if (fd == t->p1[0])
		t->calls1++;
	else
		t->calls2++;
	/* Remove the other fd, then register the same number anew: the
	 * pending event of this batch must reach neither. */
	mloop_del(t->l, other);
	CU_ASSERT_EQUAL(mloop_add(t->l, other, EPOLLOUT, tf_new_cb, t), 0);
	mloop_del(t->l, fd);
}

static void test_mloop_fds(void)
{
	struct tf t = { .calls1 = 0 };
	int big;

	t.l = mloop_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t.l);
	CU_ASSERT_EQUAL_FATAL(pipe(t.p1), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(t.p2), 0);
	CU_ASSERT_EQUAL(mloop_add(t.l, t.p1[0], EPOLLIN, tf_cb, &t), 0);
	CU_ASSERT_EQUAL(mloop_add(t.l, t.p2[0], EPOLLIN, tf_cb, &t), 0);
	CU_ASSERT_EQUAL(mloop_add(t.l, t.p2[0], EPOLLIN, tf_cb, &t), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_EQUAL(mloop_mod(t.l, 1000, EPOLLIN), -1);
	mloop_del(t.l, 1000);                            /* unknown: no-op */
	CU_ASSERT_EQUAL(write(t.p1[1], "x", 1), 1);
	CU_ASSERT_EQUAL(write(t.p2[1], "y", 1), 1);
	CU_ASSERT_EQUAL(mloop_run_once(t.l, 1000), 1);
	CU_ASSERT_EQUAL(t.calls1 + t.calls2, 1);
	CU_ASSERT_EQUAL(t.calls_new, 0);
	/* The re-added fd (read end of a pipe, EPOLLOUT) never fires. */
	CU_ASSERT_EQUAL(mloop_run_once(t.l, 0), 0);
	/* A large fd grows the table; mod switches the events. */
	big = dup2(t.p1[1], 700);
	CU_ASSERT_EQUAL_FATAL(big, 700);
	CU_ASSERT_EQUAL(mloop_add(t.l, big, 0, tf_new_cb, &t), 0);
	CU_ASSERT_EQUAL(mloop_run_once(t.l, 0), 0);
	CU_ASSERT_EQUAL(mloop_mod(t.l, big, EPOLLOUT), 0);
	CU_ASSERT_EQUAL(mloop_run_once(t.l, 0), 1);
	CU_ASSERT_EQUAL(t.calls_new, 1);
	close(big);
	close(t.p1[0]); close(t.p1[1]); close(t.p2[0]); close(t.p2[1]);
	mloop_free(t.l);
}

static CU_TestInfo tests[] = {
	{ "round trip, room", test_roundtrip_room },
	{ "round trip, global", test_roundtrip_global },
	{ "round trip, empty frame", test_roundtrip_empty_frame },
	{ "round trip, 64 KiB frame", test_roundtrip_large },
	{ "unknown version gives -2", test_unknown_version },
	{ "truncated at every length", test_truncated },
	{ "wrong value types", test_wrong_types },
	{ "extra, missing, duplicate keys", test_keys },
	{ "wide msgpack forms", test_wide_forms },
	{ "random garbage and mutations", test_garbage },
	{ "redis_url: good", test_url_good },
	{ "redis_url: ports and databases", test_url_numbers },
	{ "redis_url: passwords with odd characters", test_url_password },
	{ "redis_url: off", test_url_off },
	{ "redis_url: bad", test_url_bad },
	{ "mloop: timers", test_mloop_timers },
	{ "mloop: fds removed or replaced mid-batch", test_mloop_fds },
	CU_TEST_INFO_NULL,
};

CU_MAIN("envelope", tests)
