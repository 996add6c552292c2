/* SPDX-License-Identifier: MIT */
/*
 * redis_roster.c - room members across pods in Redis: the writes, the
 * heartbeat, the read script.  See redis_roster.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "chatd.h"
#include "conf.h"
#include "mloop.h"
#include "redis_link.h"
#include "redis_pub.h"
#include "redis_roster.h"

#define ROSTER_READS_MAX 64
#define PODS_KEY         "realtime:pods"
#define MEMBERS_SFX      ":members"
#define KEY_MAX          (CHAN_ROOM_LEN + CHATD_ROOM_MAX + sizeof(MEMBERS_SFX))
#define FIELD_MAX        (CONF_STR_MAX + 48 + CHATD_CLIENT_ID_MAX)

/* KEYS: the zset.  ARGV: this pod's "POD\nGEN".  Forgets pods silent for an
 * hour. */
static const char beat_lua[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('ZADD', KEYS[1], now, ARGV[1])\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)\n"
	"return now\n";

/* KEYS: the room's hash, the zset.  ARGV: expiry (ms).  Returns the fields
 * and values of live generations; drops the others. */
static const char read_lua[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local live = {}\n"
	"for _, g in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now - tonumber(ARGV[1]), '+inf')) do\n"
	"  live[g] = true\n"
	"end\n"
	"local all, out = redis.call('HGETALL', KEYS[1]), {}\n"
	"for i = 1, #all, 2 do\n"
	"  local gen = string.match(all[i], '^([^\\n]*\\n[^\\n]*)\\n')\n"
	"  if gen and live[gen] then\n"
	"    out[#out + 1] = all[i]\n"
	"    out[#out + 1] = all[i + 1]\n"
	"  else\n"
	"    redis.call('HDEL', KEYS[1], all[i])\n"
	"  end\n"
	"end\n"
	"return out\n";

struct rread {
	TAILQ_ENTRY(rread) next;
	struct redis_link_handler on_reply;
	struct redis_roster *rr;
	redis_roster_done_fn done;
	void *arg;
};

struct redis_roster {
	struct mloop *loop;
	struct redis_link *link;
	char gen[CONF_STR_MAX + 24];    /* "POD\nGEN" */
	size_t gen_len;
	char pod[CONF_STR_MAX];
	uint64_t ngen, timer;
	struct redis_link_handler on_ignore;
	TAILQ_HEAD(, rread) reads;
	size_t nreads;
};

static void ignore_cb(const struct redis_reply *r, void *arg)
{
	(void)r;
	(void)arg;
}

static void members_key(const char *room, size_t rl, char *key, size_t *kl)
{
	*kl = (size_t)snprintf(key, KEY_MAX, "%s%.*s%s", CHAN_ROOM, (int)rl, room, MEMBERS_SFX);
}

static size_t field_of(const struct redis_roster *rr, int slot, const char *id, size_t il,
		       char *f)
{
	return (size_t)snprintf(f, FIELD_MAX, "%s\n%d\n%.*s", rr->gen, slot, (int)il, id);
}

static void beat(struct redis_roster *rr)
{
	const char *argv[5] = { "EVAL", beat_lua, "1", PODS_KEY, rr->gen };
	size_t argl[5] = { 4, strlen(beat_lua), 1, strlen(PODS_KEY), rr->gen_len };

	if (redis_link_ready(rr->link))
		redis_link_command(rr->link, &rr->on_ignore, 5, argv, argl);
}

static void beat_timer(void *arg)
{
	struct redis_roster *rr = arg;

	beat(rr);
	rr->timer = mloop_timer(rr->loop, ROSTER_HEARTBEAT_MS, beat_timer, rr);
}

void redis_roster_add(struct redis_roster *rr, int slot, const char *room, size_t room_len,
		      const char *id, size_t id_len, uint64_t since_ms)
{
	char key[KEY_MAX], field[FIELD_MAX], val[24];
	const char *argv[4] = { "HSET", key, field, val };
	size_t argl[4] = { 4, 0, 0, 0 };

	if (!redis_link_ready(rr->link))
		return;
	members_key(room, room_len, key, &argl[1]);
	argl[2] = field_of(rr, slot, id, id_len, field);
	argl[3] = (size_t)snprintf(val, sizeof(val), "%" PRIu64, since_ms);
	redis_link_command(rr->link, &rr->on_ignore, 4, argv, argl);
}

void redis_roster_del(struct redis_roster *rr, int slot, const char *room, size_t room_len,
		      const char *id, size_t id_len)
{
	char key[KEY_MAX], field[FIELD_MAX];
	const char *argv[3] = { "HDEL", key, field };
	size_t argl[3] = { 4, 0, 0 };

	if (!redis_link_ready(rr->link))
		return;
	members_key(room, room_len, key, &argl[1]);
	argl[2] = field_of(rr, slot, id, id_len, field);
	redis_link_command(rr->link, &rr->on_ignore, 3, argv, argl);
}

/* ---- reads ------------------------------------------------------------------------ */

static void read_end(struct rread *rd, int ok, struct roster_entry *e, size_t n)
{
	rd->done(rd->arg, ok, e, n);
	TAILQ_REMOVE(&rd->rr->reads, rd, next);
	rd->rr->nreads--;
	free(rd);
}

/* "POD\nGEN\nSLOT\nID" = since: the id is after the third newline. */
static void read_cb(const struct redis_reply *r, void *arg)
{
	struct rread *rd = arg;
	size_t n = redis_link_reply_count(r) / 2, k = 0;
	struct roster_entry *e = calloc(n + 1, sizeof(*e));

	if (redis_link_reply_type(r) != REDIS_LINK_ARRAY || e == NULL) {
		free(e);
		read_end(rd, 0, NULL, 0);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t fl, vl;
		const char *f = redis_link_reply_str(redis_link_reply_elem(r, 2 * i), &fl);
		const char *v = redis_link_reply_str(redis_link_reply_elem(r, 2 * i + 1), &vl);
		const char *id = f, *end = f + fl;

		for (int nl = 0; nl < 3 && id != NULL; nl++) {
			const char *p = memchr(id, '\n', (size_t)(end - id));

			id = p != NULL ? p + 1 : NULL;
		}
		if (id == NULL || v == NULL)
			continue;
		e[k++] = (struct roster_entry){ id, fl - (size_t)(id - f), strtoull(v, NULL, 10) };
	}
	read_end(rd, 1, e, k);
	free(e);
}

int redis_roster_read(struct redis_roster *rr, const char *room, size_t room_len,
		      redis_roster_done_fn done, void *arg)
{
	char key[KEY_MAX], exp[16];
	const char *argv[6] = { "EVAL", read_lua, "2", key, PODS_KEY, exp };
	size_t argl[6] = { 4, strlen(read_lua), 1, 0, strlen(PODS_KEY), 0 };
	struct rread *rd;

	if (!redis_link_ready(rr->link) || rr->nreads >= ROSTER_READS_MAX ||
	    (rd = calloc(1, sizeof(*rd))) == NULL)
		return -1;
	members_key(room, room_len, key, &argl[3]);
	argl[5] = (size_t)snprintf(exp, sizeof(exp), "%d", ROSTER_EXPIRY_MS);
	rd->on_reply = (struct redis_link_handler){ read_cb, rd };
	rd->rr = rr;
	rd->done = done;
	rd->arg = arg;
	if (redis_link_command(rr->link, &rd->on_reply, 6, argv, argl) < 0) {
		free(rd);
		return -1;
	}
	TAILQ_INSERT_TAIL(&rr->reads, rd, next);
	rr->nreads++;
	return 0;
}

/* ---- life ------------------------------------------------------------------------- */

static void resync_one(void *arg, int slot, const char *room, size_t room_len, const char *id,
		       size_t id_len, uint64_t since_ms)
{
	redis_roster_add(arg, slot, room, room_len, id, id_len, since_ms);
}

void redis_roster_link(struct redis_roster *rr, int up, const struct roster *rs)
{
	if (up) {
		rr->gen_len = (size_t)snprintf(rr->gen, sizeof(rr->gen), "%s\n%" PRIu64, rr->pod,
					       ++rr->ngen);
		beat(rr);
		roster_each(rs, resync_one, rr);
		return;
	}
	while (!TAILQ_EMPTY(&rr->reads))   /* their replies are forgotten with the link */
		read_end(TAILQ_FIRST(&rr->reads), 0, NULL, 0);
}

struct redis_roster *redis_roster_new(struct mloop *loop, struct redis_link *link,
				      const char *pod, size_t pod_len)
{
	struct redis_roster *rr = calloc(1, sizeof(*rr));

	if (rr == NULL || pod_len >= sizeof(rr->pod)) {
		free(rr);
		return NULL;
	}
	rr->loop = loop;
	rr->link = link;
	memcpy(rr->pod, pod, pod_len);
	/* a generation no earlier life of this pod id used */
	rr->ngen = (uint64_t)time(NULL) << 20;
	rr->gen_len = (size_t)snprintf(rr->gen, sizeof(rr->gen), "%s\n%" PRIu64, rr->pod,
				       rr->ngen);
	rr->on_ignore = (struct redis_link_handler){ ignore_cb, rr };
	TAILQ_INIT(&rr->reads);
	rr->timer = mloop_timer(loop, ROSTER_HEARTBEAT_MS, beat_timer, rr);
	if (rr->timer == 0) {
		free(rr);
		return NULL;
	}
	return rr;
}

void redis_roster_free(struct redis_roster *rr)
{
	if (rr == NULL)
		return;
	mloop_timer_cancel(rr->loop, rr->timer);
	redis_roster_link(rr, 0, NULL);
	free(rr);
}
