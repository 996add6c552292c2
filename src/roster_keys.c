/* SPDX-License-Identifier: MIT */
/*
 * roster_keys.c - the roster's keys in Redis and what is said to them: the
 * key names, the Lua scripts (as data), and the commands that write a
 * member, refresh or drop an instance's heartbeat, and purge an instance
 * whose heartbeat is gone.  redis_roster.c decides when; this file says
 * how, on the link and as the instance it is given.
 */
#include <stdio.h>
#include <string.h>

#include "roster_keys.h"

/*
 * Every script below works on a room's four keys (ROSTER_NKEYS), in this
 * order: m, the sorted set of "id\tinstance"; s, the hash of their since;
 * p, the hash of members per instance; c, the hash of instances per client
 * id, whose HLEN is the room's count (a client id on two pods counts once).
 */

/* KEYS: m, s, p, c.  ARGV: "id\tinstance", since (0: now), instance. */
static const char script_add[] =
	"if redis.call('ZADD', KEYS[1], 0, ARGV[1]) == 1 then\n"
	"  local since = ARGV[2]\n"
	"  if since == '0' then\n"
	"    local t = redis.call('TIME')\n"
	"    since = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))\n"
	"  end\n"
	"  redis.call('HSET', KEYS[2], ARGV[1], since)\n"
	"  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)\n"
	"  redis.call('HINCRBY', KEYS[4], string.sub(ARGV[1], 1, -#ARGV[3] - 2), 1)\n"
	"end\n"
	"return 1\n";

/* KEYS: m, s, p, c.  ARGV: instance, then "id\tinstance", since (0: now)
 * per member: script_add for each, in one call (the resync). */
const char roster_keys_add_many_lua[] =
	"local t = redis.call('TIME')\n"
	"local now = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))\n"
	"local added = 0\n"
	"for i = 2, #ARGV, 2 do\n"
	"  if redis.call('ZADD', KEYS[1], 0, ARGV[i]) == 1 then\n"
	"    local since = ARGV[i + 1]\n"
	"    if since == '0' then since = now end\n"
	"    redis.call('HSET', KEYS[2], ARGV[i], since)\n"
	"    redis.call('HINCRBY', KEYS[4], string.sub(ARGV[i], 1, -#ARGV[1] - 2), 1)\n"
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

/* Lua: drop member m (of client id) from m and s, and one instance of id
 * from c.  Shared by the scripts that delete. */
#define LUA_DROP \
	"local function drop(m, id)\n" \
	"  redis.call('ZREM', KEYS[1], m)\n" \
	"  redis.call('HDEL', KEYS[2], m)\n" \
	"  if id and redis.call('HINCRBY', KEYS[4], id, -1) <= 0 then\n" \
	"    redis.call('HDEL', KEYS[4], id)\n" \
	"  end\n" \
	"end\n"

/* Lua: purge(dead), dead a set of instances: delete their members from the
 * room (one scan of it: members sort by client id) and from p. */
#define LUA_PURGE LUA_DROP \
	"local function purge(dead)\n" \
	"  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do\n" \
	"    local id, inst = string.match(m, '^(.*)\\t([^\\t]*)$')\n" \
	"    if id == nil then drop(m, nil) elseif dead[inst] then drop(m, id) end\n" \
	"  end\n" \
	"  for inst in pairs(dead) do redis.call('HDEL', KEYS[3], inst) end\n" \
	"end\n"

/* KEYS: m, s, p, c.  ARGV: instance.  Delete every member of a dead
 * instance from the room. */
static const char script_purge[] =
	LUA_PURGE
	"purge({[ARGV[1]] = true})\n"
	"return 1\n";

/* KEYS: m, s, p, c.  ARGV: "id\tinstance", instance. */
static const char script_del[] =
	LUA_DROP
	"if redis.call('ZSCORE', KEYS[1], ARGV[1]) then\n"
	"  drop(ARGV[1], string.sub(ARGV[1], 1, -#ARGV[2] - 2))\n"
	"  if redis.call('HINCRBY', KEYS[3], ARGV[2], -1) <= 0 then\n"
	"    redis.call('HDEL', KEYS[3], ARGV[2])\n"
	"  end\n"
	"end\n"
	"return 1\n";

/*
 * KEYS: m, s, p, c.  ARGV: heartbeat key prefix, start (ZRANGEBYLEX),
 * limit.  Returns {count, more, {id, since, ...}}: the client ids of the
 * live instances (instances found dead in p are purged first, so c holds
 * only live ones), one entry per client id (the earliest since), in id
 * order.  Members of dead instances met on the way are deleted; a page
 * stops after a bounded number of rounds of them (more = 1: the next page
 * goes on).
 */
const char roster_keys_read_lua[] =
	LUA_PURGE
	"local alive = {}\n"
	"local function live(inst)\n"
	"  local a = alive[inst]\n"
	"  if a == nil then\n"
	"    a = redis.call('EXISTS', ARGV[1] .. inst) == 1\n"
	"    alive[inst] = a\n"
	"  end\n"
	"  return a\n"
	"end\n"
	"local dead, any = {}, false\n"
	"for _, inst in ipairs(redis.call('HKEYS', KEYS[3])) do\n"
	"  if not live(inst) then dead[inst] = true any = true end\n"
	"end\n"
	"if any then purge(dead) end\n"
	"local count = redis.call('HLEN', KEYS[4])\n"
	"local limit = tonumber(ARGV[3])\n"
	"local out, last, more, start = {}, nil, 0, ARGV[2]\n"
	"for round = 1, 20 do\n"
	"  local batch = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, limit + 1)\n"
	"  for _, m in ipairs(batch) do\n"
	"    local id, inst = string.match(m, '^(.*)\\t([^\\t]*)$')\n"
	"    if id == nil or not live(inst) then\n"
	"      drop(m, id)\n"
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

/* KEY_PREFIX "{room}:" suffix into buf (KEY_MAX); the length. */
size_t roster_keys_room(char *buf, const char *room, size_t room_len, char suffix)
{
	return (size_t)snprintf(buf, KEY_MAX, KEY_PREFIX "{%.*s}:%c", (int)room_len, room, suffix);
}

/* id TAB instance into buf (MEMBER_MAX); the length. */
size_t roster_keys_member(const struct roster_keys *k, char *buf, const char *id,
			  size_t id_len)
{
	return (size_t)snprintf(buf, MEMBER_MAX, "%.*s\t%s", (int)id_len, id, k->inst);
}

static void ignore_reply(const struct redis_reply *r, void *arg)
{
	(void)r; (void)arg;
}

/* The room's ROSTER_NKEYS key names into rk, pointed at from argv[0..)
 * and argl[0..). */
void roster_keys_room_all(struct roster_room_keys *rk, const char **argv, size_t *argl,
			  const char *room, size_t room_len)
{
	static const char suffix[ROSTER_NKEYS] = { 'm', 's', 'p', 'c' };

	for (int i = 0; i < ROSTER_NKEYS; i++) {
		argv[i] = rk->name[i];
		argl[i] = roster_keys_room(rk->name[i], room, room_len, suffix[i]);
	}
}

/* EVAL script over the room's keys and args[0..nargs). */
int roster_keys_eval(struct roster_keys *k, struct redis_link_handler *h, const char *script,
		     const char *room, size_t room_len, const char **args, const size_t *argl,
		     int nargs)
{
	struct roster_room_keys rk;
	const char *argv[3 + ROSTER_NKEYS + 4] = { "EVAL", script, ROSTER_NKEYS_STR };
	size_t argvl[3 + ROSTER_NKEYS + 4] = { 4, strlen(script), strlen(ROSTER_NKEYS_STR) };

	if (nargs < 0 || nargs > 4)
		return -1;
	roster_keys_room_all(&rk, argv + 3, argvl + 3, room, room_len);
	for (int i = 0; i < nargs; i++) {
		argv[3 + ROSTER_NKEYS + i] = args[i];
		argvl[3 + ROSTER_NKEYS + i] = argl[i];
	}
	return redis_link_command(k->link, h, 3 + ROSTER_NKEYS + nargs, argv, argvl);
}

/* SADD or SREM room to the set of rooms instance inst wrote to (what a
 * sweep purges once the instance is gone). */
void roster_keys_inst_rooms(struct roster_keys *k, const char *cmd, const char *inst,
			    const char *room, size_t room_len)
{
	char key[sizeof(KEY_INST) + INST_MAX];
	const char *argv[3] = { cmd, key, room };
	size_t argl[3] = { strlen(cmd), 0, room_len };

	argl[1] = (size_t)snprintf(key, sizeof(key), KEY_INST "%s", inst);
	redis_link_command(k->link, &k->ignore, 3, argv, argl);
}

/* Write one member (present) or delete it, as this instance. */
void roster_keys_write(struct roster_keys *k, int present, const char *room,
		       size_t room_len, const char *id, size_t id_len, uint64_t since_ms)
{
	char m[MEMBER_MAX], since[24];
	const char *args[3] = { m, since, k->inst };
	size_t argl[3] = { roster_keys_member(k, m, id, id_len), 0, k->inst_len };

	if (present) {
		argl[1] = (size_t)snprintf(since, sizeof(since), "%llu", (unsigned long long)since_ms);
		roster_keys_eval(k, &k->ignore, script_add, room, room_len, args, argl, 3);
		roster_keys_inst_rooms(k, "SADD", k->inst, room, room_len);
	} else {
		args[1] = k->inst;
		argl[1] = k->inst_len;
		roster_keys_eval(k, &k->ignore, script_del, room, room_len, args, argl, 2);
	}
}

/* Refresh this instance's heartbeat if it still exists (the beat handler
 * says whether it did).  0 when sent, -1 when not. */
int roster_keys_beat(struct roster_keys *k)
{
	char key[sizeof(KEY_POD) + INST_MAX], ttl[16];
	const char *argv[5] = { "EVAL", script_beat, "1", key, ttl };
	size_t argl[5] = { 4, sizeof(script_beat) - 1, 1, 0, 0 };

	argl[3] = (size_t)snprintf(key, sizeof(key), KEY_POD "%s", k->inst);
	argl[4] = (size_t)snprintf(ttl, sizeof(ttl), "%d", k->ttl_ms);
	return redis_link_command(k->link, &k->h_beat, 5, argv, argl);
}

/* Purge instance inst (not this one) from Redis if its heartbeat is gone:
 * gone_reply goes on. */
void roster_keys_gone_check(struct roster_keys *k, const char *inst, size_t inst_len)
{
	char kh[sizeof(KEY_POD) + INST_MAX], ki[sizeof(KEY_INST) + INST_MAX];
	const char *argv[6] = { "EVAL", script_gone, "2", kh, ki, inst };
	size_t argl[6] = { 4, sizeof(script_gone) - 1, 1, 0, 0, inst_len };

	if (inst_len == 0 || inst_len >= INST_MAX)
		return;
	argl[3] = (size_t)snprintf(kh, sizeof(kh), KEY_POD "%.*s", (int)inst_len, inst);
	argl[4] = (size_t)snprintf(ki, sizeof(ki), KEY_INST "%.*s", (int)inst_len, inst);
	redis_link_command(k->link, &k->h_gone, 6, argv, argl);
}

/* SET or DEL this instance's heartbeat. */
void roster_keys_heartbeat(struct roster_keys *k, int set)
{
	char key[sizeof(KEY_POD) + INST_MAX], ttl[16];
	const char *argv[5] = { set ? "SET" : "DEL", key, "1", "PX", ttl };
	size_t argl[5] = { 3, 0, 1, 2, 0 };

	argl[1] = (size_t)snprintf(key, sizeof(key), KEY_POD "%s", k->inst);
	argl[4] = (size_t)snprintf(ttl, sizeof(ttl), "%d", k->ttl_ms);
	redis_link_command(k->link, &k->ignore, set ? 5 : 2, argv, argl);
}

/* gone_check's answer: {} (alive), or the instance and its rooms: purge
 * each (script_purge) and take it off the instance's set. */
static void gone_reply(const struct redis_reply *r, void *arg)
{
	struct roster_keys *k = arg;
	size_t n = redis_link_reply_count(r), il = 0, rl;
	const char *inst;

	if (redis_link_reply_type(r) != REDIS_LINK_ARRAY || n == 0 ||
	    redis_link_reply_type(redis_link_reply_elem(r, 0)) != REDIS_LINK_STRING)
		return;
	inst = redis_link_reply_str(redis_link_reply_elem(r, 0), &il);
	if (il == 0 || il >= INST_MAX || (il == k->inst_len && memcmp(inst, k->inst, il) == 0))
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
		roster_keys_eval(k, &k->ignore, script_purge, room, rl, args, &il, 1);
		roster_keys_inst_rooms(k, "SREM", inst, room, rl);
	}
}

void roster_keys_init(struct roster_keys *k, void (*on_beat)(const struct redis_reply *, void *),
		      void *arg)
{
	k->ignore = (struct redis_link_handler){ ignore_reply, k };
	k->h_beat = (struct redis_link_handler){ on_beat, arg };
	k->h_gone = (struct redis_link_handler){ gone_reply, k };
}
