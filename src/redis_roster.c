/* SPDX-License-Identifier: MIT */
/*
 * redis_roster.c - the roster in Redis (see redis_roster.h): this pod's
 * members written under its heartbeat, pages read with one script that
 * skips and deletes the members of pods whose heartbeat is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "members.h"
#include "redis_link.h"
#include "redis_roster.h"
#include "redis_url.h"

#define KEY_PREFIX   "chatd:roster:"
#define KEY_POD      KEY_PREFIX "pod:"
#define KEY_INST     KEY_PREFIX "inst:"
#define SWEEP_COUNT  "1000"   /* keys a sweep step asks SCAN to look at */
#define RESYNC_CHUNK 256      /* members per resync call */
#define RESYNC_FLIGHT 4       /* resync calls waiting for Redis at once */
#define KEY_MAX      (sizeof(KEY_PREFIX) + CHATD_ROOM_MAX + 8)
#define MEMBER_MAX   (CHATD_CLIENT_ID_MAX + 1 + CONF_STR_MAX + 16)
#define INST_MAX     (CONF_STR_MAX + 16)

/* KEYS: m, s, p.  ARGV: "id\tinstance", since (0: now), instance. */
static const char script_add[] =
	"if redis.call('ZADD', KEYS[1], 0, ARGV[1]) == 1 then\n"
	"  local since = ARGV[2]\n"
	"  if since == '0' then\n"
	"    local t = redis.call('TIME')\n"
	"    since = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))\n"
	"  end\n"
	"  redis.call('HSET', KEYS[2], ARGV[1], since)\n"
	"  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)\n"
	"end\n"
	"return 1\n";

/* KEYS: m, s, p.  ARGV: instance, then "id\tinstance", since (0: now) per
 * member: script_add for each, in one call (the resync). */
static const char script_add_many[] =
	"local t = redis.call('TIME')\n"
	"local now = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))\n"
	"local added = 0\n"
	"for i = 2, #ARGV, 2 do\n"
	"  if redis.call('ZADD', KEYS[1], 0, ARGV[i]) == 1 then\n"
	"    local since = ARGV[i + 1]\n"
	"    if since == '0' then since = now end\n"
	"    redis.call('HSET', KEYS[2], ARGV[i], since)\n"
	"    added = added + 1\n"
	"  end\n"
	"end\n"
	"if added > 0 then redis.call('HINCRBY', KEYS[3], ARGV[1], added) end\n"
	"return added\n";

/* KEYS: heartbeat.  ARGV: ttl (ms).  Refresh a heartbeat that still
 * exists: 1, or 0 when it had expired (its members may be gone). */
static const char script_beat[] =
	"if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'XX') then return 1 end\n"
	"return 0\n";

/* KEYS: heartbeat, rooms set of an instance.  ARGV: instance.  {} while it
 * lives, else {instance, its rooms...} to purge. */
static const char script_gone[] =
	"if redis.call('EXISTS', KEYS[1]) == 1 then return {} end\n"
	"local out = redis.call('SMEMBERS', KEYS[2])\n"
	"table.insert(out, 1, ARGV[1])\n"
	"return out\n";

/* KEYS: m, s, p.  ARGV: instance.  Delete every member of a dead instance
 * from the room (a scan of the room: members sort by client id). */
static const char script_purge[] =
	"local suffix = '\t' .. ARGV[1]\n"
	"local n = #suffix\n"
	"for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do\n"
	"  if string.sub(m, -n) == suffix then\n"
	"    redis.call('ZREM', KEYS[1], m)\n"
	"    redis.call('HDEL', KEYS[2], m)\n"
	"  end\n"
	"end\n"
	"redis.call('HDEL', KEYS[3], ARGV[1])\n"
	"return 1\n";

/* KEYS: m, s, p.  ARGV: "id\tinstance", instance. */
static const char script_del[] =
	"if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then\n"
	"  redis.call('HDEL', KEYS[2], ARGV[1])\n"
	"  if redis.call('HINCRBY', KEYS[3], ARGV[2], -1) <= 0 then\n"
	"    redis.call('HDEL', KEYS[3], ARGV[2])\n"
	"  end\n"
	"end\n"
	"return 1\n";

/*
 * KEYS: m, s, p.  ARGV: heartbeat key prefix, start (ZRANGEBYLEX), limit.
 * Returns {count, more, {id, since, ...}}: count over the live instances,
 * one entry per client id (the earliest since), in id order.  Members of
 * dead instances met on the way are deleted; a page stops after a bounded
 * number of rounds of them (more = 1: the next page goes on).
 */
static const char script_read[] =
	"local alive = {}\n"
	"local function live(inst)\n"
	"  local a = alive[inst]\n"
	"  if a == nil then\n"
	"    a = redis.call('EXISTS', ARGV[1] .. inst) == 1\n"
	"    alive[inst] = a\n"
	"  end\n"
	"  return a\n"
	"end\n"
	"local count = 0\n"
	"local pods = redis.call('HGETALL', KEYS[3])\n"
	"for i = 1, #pods, 2 do\n"
	"  if live(pods[i]) then count = count + tonumber(pods[i + 1])\n"
	"  else redis.call('HDEL', KEYS[3], pods[i]) end\n"
	"end\n"
	"local limit = tonumber(ARGV[3])\n"
	"local out, last, more, start = {}, nil, 0, ARGV[2]\n"
	"for round = 1, 20 do\n"
	"  local batch = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, limit + 1)\n"
	"  for _, m in ipairs(batch) do\n"
	"    local id, inst = string.match(m, '^(.*)\\t([^\\t]*)$')\n"
	"    if id == nil or not live(inst) then\n"
	"      redis.call('ZREM', KEYS[1], m)\n"
	"      redis.call('HDEL', KEYS[2], m)\n"
	"    else\n"
	"      local since = tonumber(redis.call('HGET', KEYS[2], m) or '0') or 0\n"
	"      if id == last then\n"
	"        if since < out[#out] then out[#out] = since end\n"
	"      elseif #out >= 2 * limit then\n"
	"        more = 1\n"
	"        break\n"
	"      else\n"
	"        out[#out + 1] = id\n"
	"        out[#out + 1] = since\n"
	"        last = id\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"  if more == 1 or #batch <= limit then break end\n"
	"  start = '(' .. batch[#batch]\n"
	"  if round == 20 and #out > 0 then more = 1 end\n"
	"end\n"
	"return {count, more, out}\n";

/* A read waiting for Redis. */
struct inflight {
	struct redis_roster *rr;
	struct redis_link_handler h;
	int used;
	uint64_t tag, timer;
	uint8_t room_len;
	char room[CHATD_ROOM_MAX];
};

/* The resync after a new instance: a snapshot of the members table, packed
 * as room length, room, id length, id, since (8), written a room's chunk at
 * a time with at most RESYNC_FLIGHT calls waiting. */
struct resync {
	unsigned char *buf;
	size_t len, cap, pos;
	int flight;
	int oom;
	char sha[41];                  /* script_add_many's, once loaded */
	char (*names)[MEMBER_MAX];     /* a chunk's members, RESYNC_CHUNK */
	char (*sinces)[24];
};

struct redis_roster {
	struct mloop *loop;
	struct redis_url url;
	struct redis_link *link;
	const struct members *mb;
	redis_roster_fn fn;
	void *arg;
	char pod[CONF_STR_MAX];
	char inst[INST_MAX];           /* this connection's instance; "" before the first */
	size_t inst_len;
	int ttl_ms, timeout_ms;
	uint64_t hb_timer;
	uint64_t hb_sent;              /* when the heartbeat waiting was sent; 0: none */
	int sweeping;                  /* a SCAN step waits */
	char sweep_cursor[24];
	struct resync rs;
	struct redis_link_handler ignore, h_beat, h_gone, h_sweep, h_load, h_chunk;
	struct inflight fl[REDIS_ROSTER_INFLIGHT];
};

/* ---- keys and commands ------------------------------------------------------------ */

/* KEY_PREFIX "{room}:" suffix into buf (KEY_MAX); the length. */
static size_t room_key(char *buf, const char *room, size_t room_len, char suffix)
{
	return (size_t)snprintf(buf, KEY_MAX, KEY_PREFIX "{%.*s}:%c", (int)room_len, room, suffix);
}

/* id TAB instance into buf (MEMBER_MAX); the length. */
static size_t member_name(const struct redis_roster *rr, char *buf, const char *id,
			  size_t id_len)
{
	return (size_t)snprintf(buf, MEMBER_MAX, "%.*s\t%s", (int)id_len, id, rr->inst);
}

static void ignore_reply(const struct redis_reply *r, void *arg)
{
	(void)r; (void)arg;
}

/* EVAL script over the room's three keys and args[0..nargs). */
static int eval_room(struct redis_roster *rr, struct redis_link_handler *h, const char *script,
		     const char *room, size_t room_len, const char **args, const size_t *argl,
		     int nargs)
{
	char km[KEY_MAX], ks[KEY_MAX], kp[KEY_MAX];
	const char *argv[10] = { "EVAL", script, "3", km, ks, kp };
	size_t argvl[10] = { 4, strlen(script), 1 };

	argvl[3] = room_key(km, room, room_len, 'm');
	argvl[4] = room_key(ks, room, room_len, 's');
	argvl[5] = room_key(kp, room, room_len, 'p');
	for (int i = 0; i < nargs && i < 4; i++) {
		argv[6 + i] = args[i];
		argvl[6 + i] = argl[i];
	}
	return redis_link_command(rr->link, h, 6 + nargs, argv, argvl);
}

/* SADD or SREM room to the set of rooms instance inst wrote to (what a
 * sweep purges once the instance is gone). */
static void inst_rooms(struct redis_roster *rr, const char *cmd, const char *inst,
		       const char *room, size_t room_len)
{
	char key[sizeof(KEY_INST) + INST_MAX];
	const char *argv[3] = { cmd, key, room };
	size_t argl[3] = { strlen(cmd), 0, room_len };

	argl[1] = (size_t)snprintf(key, sizeof(key), KEY_INST "%s", inst);
	redis_link_command(rr->link, &rr->ignore, 3, argv, argl);
}

/* Write one member (present) or delete it, as this instance. */
static void member_write(struct redis_roster *rr, int present, const char *room,
			 size_t room_len, const char *id, size_t id_len, uint64_t since_ms)
{
	char m[MEMBER_MAX], since[24];
	const char *args[3] = { m, since, rr->inst };
	size_t argl[3] = { member_name(rr, m, id, id_len), 0, rr->inst_len };

	if (present) {
		argl[1] = (size_t)snprintf(since, sizeof(since), "%llu", (unsigned long long)since_ms);
		eval_room(rr, &rr->ignore, script_add, room, room_len, args, argl, 3);
		inst_rooms(rr, "SADD", rr->inst, room, room_len);
	} else {
		args[1] = rr->inst;
		argl[1] = rr->inst_len;
		eval_room(rr, &rr->ignore, script_del, room, room_len, args, argl, 2);
	}
}

/* Refresh this instance's heartbeat if it still exists (beat_reply says
 * whether it did). */
static void beat(struct redis_roster *rr)
{
	char key[sizeof(KEY_POD) + INST_MAX], ttl[16];
	const char *argv[5] = { "EVAL", script_beat, "1", key, ttl };
	size_t argl[5] = { 4, sizeof(script_beat) - 1, 1, 0, 0 };

	argl[3] = (size_t)snprintf(key, sizeof(key), KEY_POD "%s", rr->inst);
	argl[4] = (size_t)snprintf(ttl, sizeof(ttl), "%d", rr->ttl_ms);
	if (redis_link_command(rr->link, &rr->h_beat, 5, argv, argl) == 0)
		rr->hb_sent = mloop_now_ms() | 1;
}

/* Purge instance inst (not this one) from Redis if its heartbeat is gone:
 * gone_reply goes on. */
static void gone_check(struct redis_roster *rr, const char *inst, size_t inst_len)
{
	char kh[sizeof(KEY_POD) + INST_MAX], ki[sizeof(KEY_INST) + INST_MAX];
	const char *argv[6] = { "EVAL", script_gone, "2", kh, ki, inst };
	size_t argl[6] = { 4, sizeof(script_gone) - 1, 1, 0, 0, inst_len };

	if (inst_len == 0 || inst_len >= INST_MAX)
		return;
	argl[3] = (size_t)snprintf(kh, sizeof(kh), KEY_POD "%.*s", (int)inst_len, inst);
	argl[4] = (size_t)snprintf(ki, sizeof(ki), KEY_INST "%.*s", (int)inst_len, inst);
	redis_link_command(rr->link, &rr->h_gone, 6, argv, argl);
}

/* SET or DEL this instance's heartbeat. */
static void heartbeat(struct redis_roster *rr, int set)
{
	char key[sizeof(KEY_POD) + INST_MAX], ttl[16];
	const char *argv[5] = { set ? "SET" : "DEL", key, "1", "PX", ttl };
	size_t argl[5] = { set ? 3 : 3, 0, 1, 2, 0 };

	argl[1] = (size_t)snprintf(key, sizeof(key), KEY_POD "%s", rr->inst);
	argl[4] = (size_t)snprintf(ttl, sizeof(ttl), "%d", rr->ttl_ms);
	redis_link_command(rr->link, &rr->ignore, set ? 5 : 2, argv, argl);
}

/* ---- reads --------------------------------------------------------------------------- */

static void inflight_end(struct inflight *f)
{
	if (f->timer)
		mloop_timer_cancel(f->rr->loop, f->timer);
	f->timer = 0;
	f->used = 0;
}

/* Every read in flight fails with 503 (the link went down). */
static void fail_all(struct redis_roster *rr)
{
	for (int i = 0; i < REDIS_ROSTER_INFLIGHT; i++) {
		struct inflight *f = &rr->fl[i];

		if (!f->used)
			continue;
		inflight_end(f);
		rr->fn(rr->arg, f->tag, f->room, f->room_len, 503, 0, NULL, 0, 0);
	}
}

/* Parse script_read's reply into e (REDIS_LINK... at most limit entries
 * plus one); the entry count, or -1 when the reply is not one. */
static long parse_page(const struct redis_reply *r, long long *count, int *more,
		       struct roster_entry *e, size_t cap)
{
	const struct redis_reply *list;
	size_t n;

	if (redis_link_reply_type(r) != REDIS_LINK_ARRAY || redis_link_reply_count(r) != 3 ||
	    redis_link_reply_type(list = redis_link_reply_elem(r, 2)) != REDIS_LINK_ARRAY)
		return -1;
	*count = redis_link_reply_int(redis_link_reply_elem(r, 0));
	*more = redis_link_reply_int(redis_link_reply_elem(r, 1)) != 0;
	n = redis_link_reply_count(list) / 2;
	if (n > cap)
		n = cap;
	for (size_t i = 0; i < n; i++) {
		const struct redis_reply *id = redis_link_reply_elem(list, 2 * i);
		const struct redis_reply *since = redis_link_reply_elem(list, 2 * i + 1);

		if (redis_link_reply_type(id) != REDIS_LINK_STRING)
			return -1;
		e[i].id = redis_link_reply_str(id, &e[i].id_len);
		e[i].since_ms = redis_link_reply_type(since) == REDIS_LINK_INTEGER ?
				(uint64_t)redis_link_reply_int(since) : 0;
	}
	return (long)n;
}

static void read_reply(const struct redis_reply *r, void *arg)
{
	struct inflight *f = arg;
	struct redis_roster *rr = f->rr;
	struct roster_entry *e = calloc(ROSTER_LIMIT_MAX, sizeof(*e));
	long long count = 0;
	int more = 0;
	long n = e ? parse_page(r, &count, &more, e, ROSTER_LIMIT_MAX) : -1;

	if (!f->used) {             /* cannot happen: failed reads lose their link */
		free(e);
		return;
	}
	inflight_end(f);
	if (n < 0)
		rr->fn(rr->arg, f->tag, f->room, f->room_len, 503, 0, NULL, 0, 0);
	else
		rr->fn(rr->arg, f->tag, f->room, f->room_len, 200, count, e, (size_t)n, more);
	free(e);
}

/* Redis took longer than redis_timeout: drop the link (a frozen Redis), so
 * every read in flight fails now and the link is retried. */
static void read_timeout(void *arg)
{
	struct inflight *f = arg;
	struct redis_roster *rr = f->rr;

	f->timer = 0;
	redis_link_fail(rr->link, "roster read timed out");
	fail_all(rr);
}

int redis_roster_query(struct redis_roster *rr, uint64_t tag, const char *room,
		       size_t room_len, const char *cursor, size_t cursor_len, unsigned limit)
{
	char start[CHATD_CLIENT_ID_MAX + 4], lim[16];
	const char *args[3] = { KEY_POD, start, lim };
	size_t argl[3] = { sizeof(KEY_POD) - 1, 1, 0 };
	struct inflight *f = NULL;

	for (int i = 0; i < REDIS_ROSTER_INFLIGHT && f == NULL; i++)
		if (!rr->fl[i].used)
			f = &rr->fl[i];
	if (f == NULL || !redis_link_ready(rr->link) || room_len > CHATD_ROOM_MAX ||
	    cursor_len > CHATD_CLIENT_ID_MAX)
		return 503;
	start[0] = '-';
	if (cursor_len > 0)   /* past every instance of the cursor's id */
		argl[1] = (size_t)snprintf(start, sizeof(start), "(%.*s\t\xff", (int)cursor_len,
					   cursor);
	argl[2] = (size_t)snprintf(lim, sizeof(lim), "%u", limit);
	if (eval_room(rr, &f->h, script_read, room, room_len, args, argl, 3) < 0)
		return 503;
	f->used = 1;
	f->tag = tag;
	f->room_len = (uint8_t)room_len;
	memcpy(f->room, room, room_len);
	f->timer = mloop_timer(rr->loop, (uint64_t)rr->timeout_ms, read_timeout, f);
	return 0;
}

/* ---- the pod's members ------------------------------------------------------------- */

void redis_roster_set(struct redis_roster *rr, int present, const char *room, size_t room_len,
		      const char *id, size_t id_len, uint64_t since_ms)
{
	if (rr->inst_len > 0 && redis_link_ready(rr->link))
		member_write(rr, present, room, room_len, id, id_len, since_ms);
}

/* ---- the resync ------------------------------------------------------------------- */

/* members_each(): one entry into the snapshot. */
static void snap_add(void *arg, const char *room, size_t room_len, const char *id,
		     size_t id_len, uint64_t since_ms)
{
	struct resync *rs = arg;
	size_t need = 2 + room_len + id_len + 8;
	unsigned char *p;

	if (rs->len + need > rs->cap) {
		size_t ncap = rs->cap ? rs->cap * 2 : 4096;
		unsigned char *nb = ncap >= rs->len + need ? realloc(rs->buf, ncap) : NULL;

		if (nb == NULL) {
			rs->oom = 1;    /* those left out come back at the next instance */
			return;
		}
		rs->buf = nb;
		rs->cap = ncap;
	}
	p = rs->buf + rs->len;
	p[0] = (unsigned char)room_len;
	memcpy(p + 1, room, room_len);
	p[1 + room_len] = (unsigned char)id_len;
	memcpy(p + 2 + room_len, id, id_len);
	memcpy(p + 2 + room_len + id_len, &since_ms, 8);
	rs->len += need;
}

static void resync_end(struct resync *rs)
{
	free(rs->buf);
	rs->buf = NULL;
	rs->len = rs->cap = rs->pos = 0;
	rs->flight = 0;
}

/* The next chunk of the snapshot: members of one room still present in
 * the pod, into args/argl (after the first 6) with their text in names and
 * sinces; the count. */
static int chunk_take(struct redis_roster *rr, const char **room, size_t *room_len,
		      const char **args, size_t *argl, char (*names)[MEMBER_MAX],
		      char (*sinces)[24])
{
	struct resync *rs = &rr->rs;
	int n = 0;

	*room = NULL;
	while (rs->pos < rs->len && n < RESYNC_CHUNK) {
		const unsigned char *p = rs->buf + rs->pos;
		size_t rl = p[0], il = p[1 + rl];
		const char *r = (const char *)p + 1, *id = (const char *)p + 2 + rl;
		uint64_t since;

		if (*room != NULL && (rl != *room_len || memcmp(r, *room, rl) != 0))
			break;
		*room = r;
		*room_len = rl;
		rs->pos += 2 + rl + il + 8;
		if (members_present(rr->mb, r, rl, id, il) == 0)
			continue;           /* left meanwhile: its delete went out */
		memcpy(&since, p + 2 + rl + il, 8);
		args[2 * n] = names[n];
		argl[2 * n] = member_name(rr, names[n], id, il);
		args[2 * n + 1] = sinces[n];
		argl[2 * n + 1] = (size_t)snprintf(sinces[n], 24, "%llu", (unsigned long long)since);
		n++;
	}
	return n;
}

/* Send the next chunk (script_add_many); 1 when one went, 0 when none is
 * left, -1 when it could not go. */
static int chunk_send(struct redis_roster *rr)
{
	const char *argv[7 + 2 * RESYNC_CHUNK];
	size_t argl[7 + 2 * RESYNC_CHUNK];
	char km[KEY_MAX], ks[KEY_MAX], kp[KEY_MAX];
	const char *room;
	size_t room_len = 0;
	int n = 0;

	while (n == 0 && rr->rs.pos < rr->rs.len)
		n = chunk_take(rr, &room, &room_len, argv + 7, argl + 7, rr->rs.names,
			       rr->rs.sinces);
	if (n == 0)
		return 0;
	argv[0] = rr->rs.sha[0] ? "EVALSHA" : "EVAL";
	argl[0] = strlen(argv[0]);
	argv[1] = rr->rs.sha[0] ? rr->rs.sha : script_add_many;
	argl[1] = strlen(argv[1]);
	argv[2] = "3";
	argl[2] = 1;
	argv[3] = km;
	argl[3] = room_key(km, room, room_len, 'm');
	argv[4] = ks;
	argl[4] = room_key(ks, room, room_len, 's');
	argv[5] = kp;
	argl[5] = room_key(kp, room, room_len, 'p');
	argv[6] = rr->inst;
	argl[6] = rr->inst_len;
	if (redis_link_command(rr->link, &rr->h_chunk, 7 + 2 * n, argv, argl) < 0)
		return -1;
	inst_rooms(rr, "SADD", rr->inst, room, room_len);
	rr->rs.flight++;
	return 1;
}

/* Keep up to RESYNC_FLIGHT chunks waiting; the snapshot goes when done. */
static void resync_pump(struct redis_roster *rr)
{
	int st = 1;

	while (rr->rs.flight < RESYNC_FLIGHT && (st = chunk_send(rr)) > 0)
		;
	if (st < 0 || (rr->rs.flight == 0 && rr->rs.pos >= rr->rs.len))
		resync_end(&rr->rs);
}

/* Write every member of the pod again, as this instance: a snapshot of the
 * table, sent in paced chunks once script_add_many is loaded. */
static void resync_start(struct redis_roster *rr)
{
	const char *argv[3] = { "SCRIPT", "LOAD", script_add_many };
	size_t argl[3] = { 6, 4, sizeof(script_add_many) - 1 };

	resync_end(&rr->rs);
	rr->rs.oom = 0;
	members_each(rr->mb, snap_add, &rr->rs);
	if (redis_link_command(rr->link, &rr->h_load, 3, argv, argl) < 0)
		resync_pump(rr);
}

static void load_reply(const struct redis_reply *r, void *arg)
{
	struct redis_roster *rr = arg;
	size_t n = 0;
	const char *sha = redis_link_reply_type(r) == REDIS_LINK_STRING ?
			  redis_link_reply_str(r, &n) : NULL;

	rr->rs.sha[0] = '\0';
	if (sha != NULL && n == 40)
		memcpy(rr->rs.sha, sha, 41);
	resync_pump(rr);
}

static void chunk_reply(const struct redis_reply *r, void *arg)
{
	struct redis_roster *rr = arg;

	(void)r;
	if (rr->rs.flight > 0)
		rr->rs.flight--;
	resync_pump(rr);
}

/* ---- instances ----------------------------------------------------------------------- */

/* A new instance (what the last one wrote may have missed leaves while
 * Redis was away, so readers drop it at once), its heartbeat, every member
 * written again, and what the last one wrote purged. */
static void instance_new(struct redis_roster *rr)
{
	char old[INST_MAX];
	size_t old_len = rr->inst_len;
	unsigned rnd = (unsigned)mloop_now_ms() ^ (unsigned)getpid();

	memcpy(old, rr->inst, sizeof(old));
	if (rr->inst_len > 0)
		heartbeat(rr, 0);
	if (getentropy(&rnd, sizeof(rnd)) < 0)
		rnd ^= (unsigned)(uintptr_t)rr;
	rr->inst_len = (size_t)snprintf(rr->inst, sizeof(rr->inst), "%s-%08x", rr->pod, rnd);
	heartbeat(rr, 1);
	resync_start(rr);
	gone_check(rr, old, old_len);
}

/* The heartbeat's answer: 0 when it had expired while the link stayed up
 * (Redis unreachable for longer than roster_ttl): readers may have
 * dropped this instance's members, so a new instance writes them again. */
static void beat_reply(const struct redis_reply *r, void *arg)
{
	struct redis_roster *rr = arg;

	rr->hb_sent = 0;
	if (redis_link_reply_type(r) == REDIS_LINK_INTEGER && redis_link_reply_int(r) == 0)
		instance_new(rr);
}

/* gone_check's answer: {} (alive), or the instance and its rooms: purge
 * each (script_purge) and take it off the instance's set. */
static void gone_reply(const struct redis_reply *r, void *arg)
{
	struct redis_roster *rr = arg;
	size_t n = redis_link_reply_count(r), il = 0, rl;
	const char *inst;

	if (redis_link_reply_type(r) != REDIS_LINK_ARRAY || n == 0 ||
	    redis_link_reply_type(redis_link_reply_elem(r, 0)) != REDIS_LINK_STRING)
		return;
	inst = redis_link_reply_str(redis_link_reply_elem(r, 0), &il);
	if (il == 0 || il >= INST_MAX || (il == rr->inst_len && memcmp(inst, rr->inst, il) == 0))
		return;
	for (size_t i = 1; i < n; i++) {
		const struct redis_reply *e = redis_link_reply_elem(r, i);
		const char *room;
		const char *args[1] = { inst };

		if (redis_link_reply_type(e) != REDIS_LINK_STRING)
			continue;
		room = redis_link_reply_str(e, &rl);
		if (rl == 0 || rl > CHATD_ROOM_MAX)
			continue;
		eval_room(rr, &rr->ignore, script_purge, room, rl, args, &il, 1);
		inst_rooms(rr, "SREM", inst, room, rl);
	}
}

/* One step of the sweep over every instance's room set: the gone ones
 * (a pod killed without a word, an instance replaced) are purged. */
static void sweep_step(struct redis_roster *rr)
{
	const char *argv[6] = { "SCAN", rr->sweep_cursor, "MATCH", KEY_INST "*", "COUNT",
				SWEEP_COUNT };
	size_t argl[6] = { 4, strlen(rr->sweep_cursor), 5, sizeof(KEY_INST), 5,
			   sizeof(SWEEP_COUNT) - 1 };

	if (redis_link_command(rr->link, &rr->h_sweep, 6, argv, argl) == 0)
		rr->sweeping = 1;
}

static void sweep_reply(const struct redis_reply *r, void *arg)
{
	struct redis_roster *rr = arg;
	const struct redis_reply *keys;
	const char *cur;
	size_t n;

	rr->sweeping = 0;
	if (redis_link_reply_type(r) != REDIS_LINK_ARRAY || redis_link_reply_count(r) != 2 ||
	    redis_link_reply_type(redis_link_reply_elem(r, 0)) != REDIS_LINK_STRING)
		return;
	cur = redis_link_reply_str(redis_link_reply_elem(r, 0), &n);
	snprintf(rr->sweep_cursor, sizeof(rr->sweep_cursor), "%.*s", (int)n, cur);
	keys = redis_link_reply_elem(r, 1);
	for (size_t i = 0; i < redis_link_reply_count(keys); i++) {
		const char *k = redis_link_reply_str(redis_link_reply_elem(keys, i), &n);

		if (k != NULL && n > sizeof(KEY_INST) - 1 &&
		    memcmp(k, KEY_INST, sizeof(KEY_INST) - 1) == 0)
			gone_check(rr, k + sizeof(KEY_INST) - 1, n - (sizeof(KEY_INST) - 1));
	}
}

/* The replies of the last connection are gone with it. */
static void link_reset(struct redis_roster *rr)
{
	rr->hb_sent = 0;
	rr->sweeping = 0;
	resync_end(&rr->rs);
}

static void link_event(struct redis_link *l, enum redis_link_event ev, void *owner)
{
	struct redis_roster *rr = owner;

	(void)l;
	if (ev == REDIS_LINK_UP) {
		link_reset(rr);
		instance_new(rr);
	} else if (ev == REDIS_LINK_DOWN) {
		link_reset(rr);
		fail_all(rr);
	}
}

/* Every third of roster_ttl: the heartbeat (a write that has waited longer
 * than redis_timeout drops the link: a Redis we cannot reach while TCP
 * holds), and a step of the sweep. */
static void hb_tick(void *arg)
{
	struct redis_roster *rr = arg;

	rr->hb_timer = mloop_timer(rr->loop, (uint64_t)rr->ttl_ms / 3, hb_tick, rr);
	if (rr->inst_len == 0 || !redis_link_ready(rr->link))
		return;
	if (rr->hb_sent && mloop_now_ms() - rr->hb_sent > (uint64_t)rr->timeout_ms) {
		redis_link_fail(rr->link, "roster heartbeat timed out");
		fail_all(rr);
		return;
	}
	if (!rr->hb_sent)
		beat(rr);
	if (!rr->sweeping)
		sweep_step(rr);
}

/* ---- life ----------------------------------------------------------------------------- */

/* The settings; -1 with err when c or pod_id cannot be used. */
static int setup(struct redis_roster *rr, const struct conf *c, const char *pod_id, char *err,
		 size_t errlen)
{
	char why[128];
	int rc = redis_url_parse(c->redis_url, &rr->url, why, sizeof(why));

	if (rc != 0 || pod_id[0] == '\0' || strlen(pod_id) >= sizeof(rr->pod)) {
		snprintf(err, errlen, "roster: %s", rc < 0 ? why : "no Redis or bad pod id");
		return -1;
	}
	/* the instance ends at the last TAB of a member: none in it */
	for (size_t i = 0; pod_id[i]; i++)
		rr->pod[i] = pod_id[i] == '\t' ? '_' : pod_id[i];
	rr->ttl_ms = c->roster_ttl_ms > 0 ? c->roster_ttl_ms : 15000;
	rr->timeout_ms = c->redis_timeout_ms > 0 ? c->redis_timeout_ms : 3000;
	rr->ignore = (struct redis_link_handler){ ignore_reply, rr };
	rr->h_beat = (struct redis_link_handler){ beat_reply, rr };
	rr->h_gone = (struct redis_link_handler){ gone_reply, rr };
	rr->h_sweep = (struct redis_link_handler){ sweep_reply, rr };
	rr->h_load = (struct redis_link_handler){ load_reply, rr };
	rr->h_chunk = (struct redis_link_handler){ chunk_reply, rr };
	strcpy(rr->sweep_cursor, "0");
	for (int i = 0; i < REDIS_ROSTER_INFLIGHT; i++) {
		rr->fl[i].rr = rr;
		rr->fl[i].h = (struct redis_link_handler){ read_reply, &rr->fl[i] };
	}
	return 0;
}

struct redis_roster *redis_roster_new(const struct conf *c, struct mloop *loop,
				      const char *pod_id, const struct members *mb,
				      redis_roster_fn fn, void *arg, char *err, size_t errlen)
{
	struct redis_roster *rr = calloc(1, sizeof(*rr));
	struct redis_link_conf lc = {
		.name = "roster", .select_db = 1,
		.connect_timeout_ms = c->redis_connect_timeout_ms, .on_event = link_event,
	};

	if (rr == NULL || setup(rr, c, pod_id, err, errlen) < 0) {
		if (rr == NULL)
			snprintf(err, errlen, "roster: out of memory");
		free(rr);
		return NULL;
	}
	rr->loop = loop;
	rr->mb = mb;
	rr->rs.names = malloc(RESYNC_CHUNK * sizeof(*rr->rs.names));
	rr->rs.sinces = malloc(RESYNC_CHUNK * sizeof(*rr->rs.sinces));
	rr->fn = fn;
	rr->arg = arg;
	lc.url = &rr->url;
	lc.owner = rr;
	lc.seed = (unsigned)mloop_now_ms() ^ (unsigned)getpid() ^ 0x9e3779b9u;
	rr->link = redis_link_new(loop, &lc);
	rr->hb_timer = mloop_timer(loop, (uint64_t)rr->ttl_ms / 3, hb_tick, rr);
	if (rr->link == NULL || rr->hb_timer == 0 || rr->rs.names == NULL ||
	    rr->rs.sinces == NULL) {
		snprintf(err, errlen, "roster: out of memory");
		redis_roster_free(rr);
		return NULL;
	}
	redis_link_start(rr->link);
	return rr;
}

void redis_roster_free(struct redis_roster *rr)
{
	if (rr == NULL)
		return;
	if (rr->hb_timer)
		mloop_timer_cancel(rr->loop, rr->hb_timer);
	for (int i = 0; i < REDIS_ROSTER_INFLIGHT; i++)
		if (rr->fl[i].used)
			inflight_end(&rr->fl[i]);
	redis_link_free(rr->link);
	resync_end(&rr->rs);
	free(rr->rs.names);
	free(rr->rs.sinces);
	free(rr);
}
