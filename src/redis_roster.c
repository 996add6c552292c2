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
	struct redis_link_handler ignore;
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
	} else {
		args[1] = rr->inst;
		argl[1] = rr->inst_len;
		eval_room(rr, &rr->ignore, script_del, room, room_len, args, argl, 2);
	}
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

static void resync_one(void *arg, const char *room, size_t room_len, const char *id,
		       size_t id_len, uint64_t since_ms)
{
	member_write(arg, 1, room, room_len, id, id_len, since_ms);
}

/* A new connection: a new instance (what the last one wrote may have missed
 * leaves while Redis was away, so readers drop it at once), its heartbeat,
 * and every member written again. */
static void link_up(struct redis_roster *rr)
{
	unsigned rnd = (unsigned)mloop_now_ms() ^ (unsigned)getpid();

	if (rr->inst_len > 0)
		heartbeat(rr, 0);
	if (getentropy(&rnd, sizeof(rnd)) < 0)
		rnd ^= (unsigned)(uintptr_t)rr;
	rr->inst_len = (size_t)snprintf(rr->inst, sizeof(rr->inst), "%s-%08x", rr->pod, rnd);
	heartbeat(rr, 1);
	members_each(rr->mb, resync_one, rr);
}

static void link_event(struct redis_link *l, enum redis_link_event ev, void *owner)
{
	struct redis_roster *rr = owner;

	(void)l;
	if (ev == REDIS_LINK_UP)
		link_up(rr);
	else if (ev == REDIS_LINK_DOWN)
		fail_all(rr);
}

static void hb_tick(void *arg)
{
	struct redis_roster *rr = arg;

	if (rr->inst_len > 0 && redis_link_ready(rr->link))
		heartbeat(rr, 1);
	rr->hb_timer = mloop_timer(rr->loop, (uint64_t)rr->ttl_ms / 3, hb_tick, rr);
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
	rr->fn = fn;
	rr->arg = arg;
	lc.url = &rr->url;
	lc.owner = rr;
	lc.seed = (unsigned)mloop_now_ms() ^ (unsigned)getpid() ^ 0x9e3779b9u;
	rr->link = redis_link_new(loop, &lc);
	rr->hb_timer = mloop_timer(loop, (uint64_t)rr->ttl_ms / 3, hb_tick, rr);
	if (rr->link == NULL || rr->hb_timer == 0) {
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
	free(rr);
}
