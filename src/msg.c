/* SPDX-License-Identifier: MIT */
/*
 * msg.c - the chat protocol (SPEC.md section 3).
 *
 * Parsing uses jansson.  Building writes the envelope by hand: this runs
 * once per message in the whole cluster, so no JSON object is made for the
 * envelope itself.  A client's `data` goes out as the client wrote it (its
 * bytes, found by a small scanner over the text jansson accepted), never
 * re-encoded: jansson would turn 0.1 into 0.10000000000000001 and 1e-400
 * into 0.0.  Server-made data is serialised by jansson into the buffer.  The id PRNG and the timestamp cache are thread-local,
 * so any process or thread may call everything here.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "jspan.h"
#include "msg.h"

/* out->raw: the client's "data" object as written, or "{}" without one. */
static int msg_data_raw(const char *buf, size_t len, int present, struct msg_in *out)
{
	if (!present) {
		out->raw = "{}";
		out->raw_len = 2;
		return 0;
	}
	if (jspan_member(buf, len, "data", &out->raw, &out->raw_len) != JSPAN_FOUND ||
	    out->raw_len < 2 || out->raw[0] != '{' || out->raw[out->raw_len - 1] != '}') {
		out->raw = NULL;
		out->raw_len = 0;
		return -1;
	}
	return 0;
}

/* ---- parsing ----------------------------------------------------------------- */

/* The kind of a client "type", or -1 for any type a client may not send
 * (the server-made ones included). */
static int msg_kind_of(const char *type)
{
	if (strcmp(type, "chat") == 0)
		return MSG_CHAT;
	if (strcmp(type, "ping") == 0)
		return MSG_PING;
	if (strcmp(type, "members") == 0)
		return MSG_MEMBERS;
	return -1;
}

/* The part of validation every frame shares, whoever sent it: buf is one
 * JSON object (UTF-8, no duplicate keys) with a "type" string.  MSG_OK with
 * *root (release it) and *type, or an error with nothing to release. */
static enum msg_err msg_load(const char *buf, size_t len, json_t **root, const char **type)
{
	json_t *t;

	/* INT_AS_REAL: an integer past 64 bits is valid JSON, and data is sent
	 * on as written, so jansson's int64 limit must not refuse it */
	*root = buf != NULL ? json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL,
					 NULL) : NULL;
	if (!json_is_object(*root)) {
		json_decref(*root);
		return MSG_EJSON;
	}
	t = json_object_get(*root, "type");
	if (!json_is_string(t)) {
		json_decref(*root);
		return MSG_ENOTYPE;
	}
	*type = json_string_value(t);
	return MSG_OK;
}

/* A members request's data: "limit" an integer 1..MSG_MEMBERS_MAX,
 * "cursor" a client id string; both optional.  0, or -1 when invalid. */
static int msg_members_args(const json_t *data, struct msg_in *out)
{
	const json_t *lim = json_object_get(data, "limit"), *cur = json_object_get(data, "cursor");
	double v;

	out->limit = 0;
	out->cursor_len = 0;
	if (lim != NULL) {
		v = json_number_value(lim);
		if (!json_is_number(lim) || v < 1 || v > MSG_MEMBERS_MAX || v != (double)(unsigned)v)
			return -1;
		out->limit = (unsigned)v;
	}
	if (cur != NULL) {
		if (!json_is_string(cur) || json_string_length(cur) > sizeof(out->cursor) - 1)
			return -1;
		out->cursor_len = json_string_length(cur);
		memcpy(out->cursor, json_string_value(cur), out->cursor_len);
	}
	return 0;
}

/*
 * Client "id", "from", "timestamp" and "room" are ignored: only "type" and
 * "data" are read.  Duplicate keys are invalid JSON.  Numbers in data are
 * read as reals (m->data is for checks; m->raw is what goes out).  jansson bounds nesting
 * itself (JSON_PARSER_MAX_DEPTH, 2048 in 2.14) and the caller bounds size.
 */
enum msg_err msg_parse(const char *buf, size_t len, struct msg_in *out)
{
	json_t *root, *data;
	const char *type;
	enum msg_err e;
	int kind;

	out->data = NULL;
	out->raw = NULL;
	out->raw_len = 0;
	e = msg_load(buf, len, &root, &type);
	if (e != MSG_OK)
		return e;
	kind = msg_kind_of(type);
	if (kind < 0) {
		json_decref(root);
		return MSG_EBADTYPE;
	}
	data = json_object_get(root, "data");
	if (data != NULL && !json_is_object(data)) {
		json_decref(root);
		return MSG_EDATA;
	}
	out->kind = (enum msg_kind)kind;
	if (kind == MSG_MEMBERS && msg_members_args(data, out) < 0) {
		json_decref(root);
		return MSG_EDATA;
	}
	if (kind == MSG_CHAT && msg_data_raw(buf, len, data != NULL, out) < 0) {
		json_decref(root);
		return MSG_EJSON;   /* cannot happen on what jansson accepted */
	}
	if (kind == MSG_CHAT)
		out->data = data != NULL ? json_incref(data) : json_object();
	json_decref(root);
	if (kind == MSG_CHAT && out->data == NULL)
		return MSG_EJSON;   /* ENOMEM making {}: refuse rather than crash */
	return MSG_OK;
}

static int msg_str_is(const json_t *j, const char *s, size_t n)
{
	return json_is_string(j) && json_string_length(j) == n &&
	       memcmp(json_string_value(j), s, n) == 0;
}

/* What another pod may send: the types it publishes, with the fields
 * msg_build sets; `system` only as the publish API makes it. */
static int msg_peer_ok(const json_t *root, const char *type, const char *room,
		       size_t room_len, const char *publish_from)
{
	/* data is an object when present: a client's would be refused otherwise */
	const json_t *from = json_object_get(root, "from"), *data = json_object_get(root, "data");
	const json_t *r = json_object_get(root, "room");
	const char *st;

	if (!json_is_string(from) || (data != NULL && !json_is_object(data)))
		return 0;
	if (room_len == 0 ? r != NULL : !msg_str_is(r, room, room_len))
		return 0;
	if (strcmp(type, "chat") == 0 || strcmp(type, "notification") == 0)
		return 1;
	if (strcmp(type, "system") == 0)
		return publish_from != NULL && strcmp(json_string_value(from), publish_from) == 0;
	if (strcmp(type, "presence") != 0)
		return 0;
	st = json_string_value(json_object_get(data, "status"));
	return st != NULL && (strcmp(st, "online") == 0 || strcmp(st, "offline") == 0);
}

int msg_peer_valid(const char *buf, size_t len, const char *room, size_t room_len,
		   const char *publish_from)
{
	json_t *root;
	const char *type;
	int ok;

	if (msg_load(buf, len, &root, &type) != MSG_OK)
		return 0;
	ok = msg_peer_ok(root, type, room, room_len, publish_from);
	json_decref(root);
	return ok;
}

void msg_in_clear(struct msg_in *m)
{
	if (m == NULL)
		return;
	json_decref(m->data);
	m->data = NULL;
	m->raw = NULL;
	m->raw_len = 0;
}

const char *msg_err_code(enum msg_err e)
{
	switch (e) {
	case MSG_OK:       return "ok";
	case MSG_EJSON:    return "invalid_json";
	case MSG_ENOTYPE:  return "missing_type";
	case MSG_EBADTYPE: return "unknown_type";
	case MSG_EDATA:    return "invalid_data";
	}
	return "internal_error";
}

const char *msg_err_text(enum msg_err e)
{
	switch (e) {
	case MSG_OK:
		return "no error";
	case MSG_EJSON:
		return "the message is not a valid JSON object";
	case MSG_ENOTYPE:
		return "the message has no \"type\" string";
	case MSG_EBADTYPE:
		return "unknown message type: clients may send \"chat\" and \"ping\"";
	case MSG_EDATA:
		return "\"data\" must be a JSON object";
	}
	return "internal error";
}

/* ---- building ------------------------------------------------------------------ */

/* A cursor over the output buffer; pos > cap once anything did not fit. */
struct msg_out {
	char *buf;
	size_t cap;
	size_t pos;
};

static void msg_put(struct msg_out *o, const char *s, size_t n)
{
	if (o->pos <= o->cap && n <= o->cap - o->pos)
		memcpy(o->buf + o->pos, s, n);
	o->pos += n;   /* past cap: overflow is remembered, nothing written */
}

#define MSG_PUTS(o, lit) msg_put((o), (lit), sizeof(lit) - 1)

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 if invalid:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t msg_utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];

	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0;
		return ((p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return ((p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
			(p[3] & 0xc0) == 0x80) ? 4 : 0;
	}
	return 0;
}

/* One escaped byte below 0x20, or '"' or '\\', byte for byte as jansson
 * writes it (uppercase \u00XX), so the envelope and data agree. */
static void msg_put_escape(struct msg_out *o, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

	switch (c) {
	case '"':  MSG_PUTS(o, "\\\""); return;
	case '\\': MSG_PUTS(o, "\\\\"); return;
	case '\b': MSG_PUTS(o, "\\b"); return;
	case '\f': MSG_PUTS(o, "\\f"); return;
	case '\n': MSG_PUTS(o, "\\n"); return;
	case '\r': MSG_PUTS(o, "\\r"); return;
	case '\t': MSG_PUTS(o, "\\t"); return;
	}
	msg_put(o, u, sizeof(u));
}

/*
 * The NUL-terminated s as a JSON string (quotes included).  Returns -1 when
 * s is not valid UTF-8: a text frame must be (RFC 6455), so such a string
 * never goes out.  Runs of plain bytes are copied in one go.
 */
static int msg_put_str(struct msg_out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	MSG_PUTS(o, "\"");
	while (*p != '\0') {
		const unsigned char *run = p;

		while (*p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80)
			p++;
		msg_put(o, (const char *)run, (size_t)(p - run));
		if (*p == '\0')
			break;
		if (*p < 0x80) {
			msg_put_escape(o, *p++);
			continue;
		}
		size_t n = msg_utf8_len(p);

		if (n == 0)
			return -1;
		msg_put(o, (const char *)p, n);
		p += n;
	}
	MSG_PUTS(o, "\"");
	return 0;
}

/* data compact, straight into the buffer; {} for NULL.  -1 if jansson
 * cannot serialise it (not an object or array). */
static int msg_put_json(struct msg_out *o, const json_t *data)
{
	size_t room = o->pos < o->cap ? o->cap - o->pos : 0;
	size_t n;

	if (data == NULL) {
		MSG_PUTS(o, "{}");
		return 0;
	}
	n = json_dumpb(data, o->buf + (o->pos < o->cap ? o->pos : 0), room, JSON_COMPACT);
	if (n == 0)
		return -1;
	o->pos += n;   /* n > room: it did not fit, and jansson wrote at most room */
	return 0;
}

/* The frame around data: jansson's data, or raw text when raw != NULL. */
static size_t msg_build_frame(char *buf, size_t cap, const char *type, const char *room,
			      const char *from, const json_t *data, const char *raw,
			      size_t raw_len)
{
	struct msg_out o = { buf, cap, 0 };
	char id[37], ts[25];

	if (buf == NULL || type == NULL || from == NULL)
		return 0;
	msg_uuid(id);
	msg_timestamp(ts);
	MSG_PUTS(&o, "{\"id\":\"");
	msg_put(&o, id, 36);
	MSG_PUTS(&o, "\",\"type\":");
	if (msg_put_str(&o, type) < 0)
		return 0;
	if (room != NULL && room[0] != '\0') {
		MSG_PUTS(&o, ",\"room\":");
		if (msg_put_str(&o, room) < 0)
			return 0;
	}
	MSG_PUTS(&o, ",\"from\":");
	if (msg_put_str(&o, from) < 0)
		return 0;
	MSG_PUTS(&o, ",\"data\":");
	if (raw != NULL)
		msg_put(&o, raw, raw_len);
	else if (msg_put_json(&o, data) < 0)
		return 0;
	MSG_PUTS(&o, ",\"timestamp\":\"");
	msg_put(&o, ts, 24);
	MSG_PUTS(&o, "\"}");
	return o.pos <= o.cap ? o.pos : 0;
}

/*
 * Also returns 0 when type or from is NULL, when a string is not valid UTF-8,
 * or when data cannot be serialised.  Any process may call it.
 */
size_t msg_build(char *buf, size_t cap, const char *type, const char *room,
		 const char *from, const json_t *data)
{
	return msg_build_frame(buf, cap, type, room, from, data, NULL, 0);
}

/* data NULL = {}.  The text is not checked here: msg_parse() did. */
size_t msg_build_raw(char *buf, size_t cap, const char *type, const char *room,
		     const char *from, const char *data, size_t data_len)
{
	if (data == NULL)
		return msg_build_frame(buf, cap, type, room, from, NULL, NULL, 0);
	return msg_build_frame(buf, cap, type, room, from, NULL, data, data_len);
}

/* Server-made messages are rare: their data is made with jansson. */
static size_t msg_build_pack(char *buf, size_t cap, const char *type,
			     const char *room, const char *from, json_t *data)
{
	size_t n;

	if (data == NULL)
		return 0;
	n = msg_build(buf, cap, type, room, from, data);
	json_decref(data);
	return n;
}

/* {"type":"error","from":"server","data":{"code":code,"message":text}}. */
size_t msg_build_error(char *buf, size_t cap, const char *room, const char *code,
		       const char *text)
{
	return msg_build_pack(buf, cap, "error", room, "server",
			      json_pack("{s:s, s:s}", "code", code ? code : "",
					"message", text ? text : ""));
}

/* {"type":"presence","from":<client>,"data":{"status":"online"|"offline"}}. */
size_t msg_build_presence(char *buf, size_t cap, const char *room, const char *from,
			  int online)
{
	return msg_build_pack(buf, cap, "presence", room, from,
			      json_pack("{s:s}", "status", online ? "online" : "offline"));
}

/*
 * The welcome (stable, clients may depend on it):
 * {"type":"system","from":"server",
 *  "data":{"event":"welcome","client_id":<id>,"room":<room>|null}}
 * with "room" also in the envelope unless global.
 */
size_t msg_build_welcome(char *buf, size_t cap, const char *room, const char *client_id)
{
	int global = room == NULL || room[0] == '\0';

	return msg_build_pack(buf, cap, "system", room, "server",
			      json_pack("{s:s, s:s, s:o}", "event", "welcome",
					"client_id", client_id ? client_id : "",
					"room", global ? json_null() : json_string(room)));
}

/* ---- ids and time ---------------------------------------------------------------- */

/*
 * xoshiro256** state, seeded from getrandom() in each process (and thread).
 * A forked child must not continue its parent's sequence: a pthread_atfork()
 * child handler clears msg_rng_seeded, so the child reseeds on its first id
 * (checking getpid() on every id instead would cost a system call).
 */
static _Thread_local uint64_t msg_rng[4];
static _Thread_local int msg_rng_seeded;
static int msg_atfork_done;

static void msg_atfork_child(void)
{
	msg_rng_seeded = 0;
}

static uint64_t msg_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Seed from the kernel (never blocking, even early at boot); failing that,
 * from clock, pid and address. */
static void msg_rng_seed(void)
{
	uint64_t s[4], x;
	struct timespec ts;

	if (!__atomic_exchange_n(&msg_atfork_done, 1, __ATOMIC_ACQ_REL))
		pthread_atfork(NULL, NULL, msg_atfork_child);

	if (getrandom(s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
		    (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&x;
		for (int i = 0; i < 4; i++)
			s[i] = msg_splitmix(&x);
	}
	if ((s[0] | s[1] | s[2] | s[3]) == 0)
		s[0] = 1;   /* the one state xoshiro cannot leave */
	memcpy(msg_rng, s, sizeof(s));
	msg_rng_seeded = 1;
}

static uint64_t msg_rng_next(void)
{
	uint64_t *s = msg_rng;
	uint64_t r = s[1] * 5;
	uint64_t t = s[1] << 17;

	r = ((r << 7) | (r >> 57)) * 9;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return r;
}

uint64_t msg_random(void)
{
	if (!msg_rng_seeded)
		msg_rng_seed();
	return msg_rng_next();
}

/* A forked child reseeds on its first id: workers never repeat each
 * other's (or the master's) ids. */
void msg_uuid(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	uint64_t r[2];
	int j = 0;

	if (!msg_rng_seeded)
		msg_rng_seed();
	r[0] = msg_rng_next();
	r[1] = msg_rng_next();
	memcpy(b, r, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* variant 10xx */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[b[i] >> 4];
		out[j++] = hex[b[i] & 15];
	}
	out[36] = '\0';
}

void msg_timestamp_ms(uint64_t ms, char out[25])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		memcpy(out, "1970-01-01T00:00:00", 20);
	snprintf(out + 19, 6, ".%03uZ", (unsigned)(ms % 1000));
}

/* The "YYYY-MM-DDTHH:MM:SS" part is cached per second. */
void msg_timestamp(char out[25])
{
	static _Thread_local time_t last_sec = (time_t)-1;
	static _Thread_local char last[20];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last_sec) {
		if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
		    strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
			memcpy(last, "1970-01-01T00:00:00", 20);
		last_sec = ts.tv_sec;
	}
	memcpy(out, last, 19);
	int ms = (int)(ts.tv_nsec / 1000000);

	out[19] = '.';
	out[20] = (char)('0' + ms / 100);
	out[21] = (char)('0' + ms / 10 % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
	out[24] = '\0';
}
