/* SPDX-License-Identifier: MIT */
/*
 * redis_roster.c - the roster in Redis (see redis_roster.h): this pod's
 * members written under its heartbeat, pages read with one script that
 * skips and deletes the members of pods whose heartbeat is gone.  The keys,
 * the scripts and the commands that change them are roster_keys.c's; this
 * file decides when: reads in flight, the resync, instances, the sweep.
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
#include "roster_keys.h"
#include "shm.h"

#define SWEEP_COUNT  "1000"   /* keys a sweep step asks SCAN to look at */
#define RESYNC_CHUNK 256      /* members per resync call */
#define RESYNC_FLIGHT 4       /* resync calls waiting for Redis at once */
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
	struct { size_t at; int n; } sent[RESYNC_FLIGHT]; /* the chunks waiting, oldest first */
	int first;                     /* ... from sent[first] */
	int stale;                     /* replies due for an earlier snapshot's chunks */
	int oom;
	char sha[41];                  /* the add-many script's, once loaded */
	char (*names)[MEMBER_MAX];     /* a chunk's members, RESYNC_CHUNK */
	char (*sinces)[24];
};

struct redis_roster {
	struct mloop *loop;
	struct master_stats *st;
	struct redis_url url;
	struct roster_keys keys;       /* the link, this connection's instance, roster_ttl */
	const struct members *mb;
	redis_roster_fn fn;
	void *arg;
	char pod[CONF_STR_MAX];
	int timeout_ms;
	uint64_t hb_timer;
	uint64_t hb_sent;              /* when the heartbeat waiting was sent; 0: none */
	int sweeping;                  /* a SCAN step waits */
	char sweep_cursor[24];
	struct resync rs;
	struct redis_link_handler h_sweep, h_load, h_chunk;
	struct inflight fl[REDIS_ROSTER_INFLIGHT];
};

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

/* Parse the read script's reply into e (REDIS_LINK... at most limit entries
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
	redis_link_fail(rr->keys.link, "roster read timed out");
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
	if (f == NULL || !redis_link_ready(rr->keys.link) || room_len > CHATD_ROOM_MAX ||
	    cursor_len > CHATD_CLIENT_ID_MAX)
		return 503;
	start[0] = '-';
	if (cursor_len > 0)   /* past every instance of the cursor's id */
		argl[1] = (size_t)snprintf(start, sizeof(start), "(%.*s\t\xff", (int)cursor_len,
					   cursor);
	argl[2] = (size_t)snprintf(lim, sizeof(lim), "%u", limit);
	if (roster_keys_eval(&rr->keys, &f->h, roster_keys_read_lua, room, room_len, args, argl,
			     3) < 0)
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
	if (rr->keys.inst_len > 0 && redis_link_ready(rr->keys.link))
		roster_keys_write(&rr->keys, present, room, room_len, id, id_len, since_ms);
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
	rs->stale += rs->flight;
	rs->flight = 0;
}

/* The chunk of the snapshot at *pos (moved past it): members of one room
 * still present in the pod, into args/argl (after the first 6) with their
 * text in names and sinces; the count. */
static int chunk_take(struct redis_roster *rr, size_t *pos, const char **room, size_t *room_len,
		      const char **args, size_t *argl, char (*names)[MEMBER_MAX],
		      char (*sinces)[24])
{
	struct resync *rs = &rr->rs;
	int n = 0;

	*room = NULL;
	while (*pos < rs->len && n < RESYNC_CHUNK) {
		const unsigned char *p = rs->buf + *pos;
		size_t rl = p[0], il = p[1 + rl];
		const char *r = (const char *)p + 1, *id = (const char *)p + 2 + rl;
		uint64_t since;

		if (*room != NULL && (rl != *room_len || memcmp(r, *room, rl) != 0))
			break;
		*room = r;
		*room_len = rl;
		*pos += 2 + rl + il + 8;
		if (members_present(rr->mb, r, rl, id, il) == 0)
			continue;           /* left meanwhile: its delete went out */
		memcpy(&since, p + 2 + rl + il, 8);
		args[2 * n] = names[n];
		argl[2 * n] = roster_keys_member(&rr->keys, names[n], id, il);
		args[2 * n + 1] = sinces[n];
		argl[2 * n + 1] = (size_t)snprintf(sinces[n], 24, "%llu", (unsigned long long)since);
		n++;
	}
	return n;
}

/* Send the chunk at *pos (moved past it) with the add-many script; 1 when
 * it went, 0 when it has nobody left, -1 when it could not go. */
static int chunk_send_at(struct redis_roster *rr, size_t *pos)
{
	enum { ARGS = 4 + ROSTER_NKEYS };   /* EVAL, script, numkeys, keys, instance */
	const char *argv[ARGS + 2 * RESYNC_CHUNK];
	size_t argl[ARGS + 2 * RESYNC_CHUNK];
	struct roster_room_keys rk;
	const char *room;
	size_t room_len = 0, at = *pos;
	int n = chunk_take(rr, pos, &room, &room_len, argv + ARGS, argl + ARGS, rr->rs.names,
			   rr->rs.sinces);

	if (n == 0)
		return 0;
	argv[0] = rr->rs.sha[0] ? "EVALSHA" : "EVAL";
	argl[0] = strlen(argv[0]);
	argv[1] = rr->rs.sha[0] ? rr->rs.sha : roster_keys_add_many_lua;
	argl[1] = strlen(argv[1]);
	argv[2] = ROSTER_NKEYS_STR;
	argl[2] = strlen(ROSTER_NKEYS_STR);
	roster_keys_room_all(&rk, argv + 3, argl + 3, room, room_len);
	argv[ARGS - 1] = rr->keys.inst;
	argl[ARGS - 1] = rr->keys.inst_len;
	if (redis_link_command(rr->keys.link, &rr->h_chunk, ARGS + 2 * n, argv, argl) < 0) {
		stats_add(&rr->st->roster_unwritten, (uint64_t)n);
		return -1;
	}
	roster_keys_inst_rooms(&rr->keys, "SADD", rr->keys.inst, room, room_len);
	rr->rs.sent[(rr->rs.first + rr->rs.flight) % RESYNC_FLIGHT].at = at;
	rr->rs.sent[(rr->rs.first + rr->rs.flight) % RESYNC_FLIGHT].n = n;
	rr->rs.flight++;
	return 1;
}

/* Send the next chunk that has anybody left: chunk_send_at()'s 1, 0, -1. */
static int chunk_send(struct redis_roster *rr)
{
	int st = 0;

	while (st == 0 && rr->rs.pos < rr->rs.len)
		st = chunk_send_at(rr, &rr->rs.pos);
	return st;
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
 * table, sent in paced chunks once the add-many script is loaded. */
static void resync_start(struct redis_roster *rr)
{
	const char *argv[3] = { "SCRIPT", "LOAD", roster_keys_add_many_lua };
	size_t argl[3] = { 6, 4, strlen(roster_keys_add_many_lua) };

	resync_end(&rr->rs);
	rr->rs.oom = 0;
	members_each(rr->mb, snap_add, &rr->rs);
	if (redis_link_command(rr->keys.link, &rr->h_load, 3, argv, argl) < 0)
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

/* A chunk's answer.  NOSCRIPT (a SCRIPT FLUSH since the load): that chunk
 * again with EVAL, and the rest too; another error: its members are not
 * in Redis (counted) until the next instance writes them again. */
static void chunk_reply(const struct redis_reply *r, void *arg)
{
	struct redis_roster *rr = arg;
	struct resync *rs = &rr->rs;
	size_t at;
	int n;

	if (rs->stale > 0) {                /* a chunk of an earlier snapshot */
		rs->stale--;
		return;
	}
	if (rs->flight == 0)
		return;
	at = rs->sent[rs->first].at;
	n = rs->sent[rs->first].n;
	rs->first = (rs->first + 1) % RESYNC_FLIGHT;
	rs->flight--;
	if (redis_link_reply_noscript(r)) {
		rs->sha[0] = '\0';
		chunk_send_at(rr, &at);      /* counted when it cannot go */
	} else if (redis_link_reply_type(r) == REDIS_LINK_ERROR) {
		stats_add(&rr->st->roster_unwritten, (uint64_t)n);
	}
	resync_pump(rr);
}

/* ---- instances ----------------------------------------------------------------------- */

/* A new instance (what the last one wrote may have missed leaves while
 * Redis was away, so readers drop it at once), its heartbeat, every member
 * written again, and what the last one wrote purged. */
static void instance_new(struct redis_roster *rr)
{
	char old[INST_MAX];
	size_t old_len = rr->keys.inst_len;
	unsigned rnd = (unsigned)mloop_now_ms() ^ (unsigned)getpid();

	memcpy(old, rr->keys.inst, sizeof(old));
	if (rr->keys.inst_len > 0)
		roster_keys_heartbeat(&rr->keys, 0);
	if (getentropy(&rnd, sizeof(rnd)) < 0)
		rnd ^= (unsigned)(uintptr_t)rr;
	rr->keys.inst_len = (size_t)snprintf(rr->keys.inst, sizeof(rr->keys.inst), "%s-%08x",
					     rr->pod, rnd);
	roster_keys_heartbeat(&rr->keys, 1);
	resync_start(rr);
	roster_keys_gone_check(&rr->keys, old, old_len);
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

/* One step of the sweep over every instance's room set: the gone ones
 * (a pod killed without a word, an instance replaced) are purged. */
static void sweep_step(struct redis_roster *rr)
{
	const char *argv[6] = { "SCAN", rr->sweep_cursor, "MATCH", KEY_INST "*", "COUNT",
				SWEEP_COUNT };
	size_t argl[6] = { 4, strlen(rr->sweep_cursor), 5, sizeof(KEY_INST), 5,
			   sizeof(SWEEP_COUNT) - 1 };

	if (redis_link_command(rr->keys.link, &rr->h_sweep, 6, argv, argl) == 0)
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
			roster_keys_gone_check(&rr->keys, k + sizeof(KEY_INST) - 1,
					       n - (sizeof(KEY_INST) - 1));
	}
}

/* The replies of the last connection are gone with it. */
static void link_reset(struct redis_roster *rr)
{
	rr->hb_sent = 0;
	rr->sweeping = 0;
	resync_end(&rr->rs);
	rr->rs.stale = 0;
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

	rr->hb_timer = mloop_timer(rr->loop, (uint64_t)rr->keys.ttl_ms / 3, hb_tick, rr);
	if (rr->keys.inst_len == 0 || !redis_link_ready(rr->keys.link))
		return;
	if (rr->hb_sent && mloop_now_ms() - rr->hb_sent > (uint64_t)rr->timeout_ms) {
		redis_link_fail(rr->keys.link, "roster heartbeat timed out");
		fail_all(rr);
		return;
	}
	if (!rr->hb_sent && roster_keys_beat(&rr->keys) == 0)
		rr->hb_sent = mloop_now_ms() | 1;
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
		snprintf(err, errlen, "roster: %s",
			 rc == REDIS_URL_BAD ? why : "no Redis or bad pod id");
		return -1;
	}
	/* the instance ends at the last TAB of a member: none in it */
	for (size_t i = 0; pod_id[i]; i++)
		rr->pod[i] = pod_id[i] == '\t' ? '_' : pod_id[i];
	rr->keys.ttl_ms = c->roster_ttl_ms > 0 ? c->roster_ttl_ms : 15000;
	rr->timeout_ms = c->redis_timeout_ms > 0 ? c->redis_timeout_ms : 3000;
	roster_keys_init(&rr->keys, beat_reply, rr);
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
				      struct master_stats *st, redis_roster_fn fn, void *arg,
				      char *err, size_t errlen)
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
	rr->st = st;
	rr->mb = mb;
	rr->rs.names = malloc(RESYNC_CHUNK * sizeof(*rr->rs.names));
	rr->rs.sinces = malloc(RESYNC_CHUNK * sizeof(*rr->rs.sinces));
	rr->fn = fn;
	rr->arg = arg;
	lc.url = &rr->url;
	lc.owner = rr;
	lc.seed = (unsigned)mloop_now_ms() ^ (unsigned)getpid() ^ 0x9e3779b9u;
	rr->keys.link = redis_link_new(loop, &lc);
	rr->hb_timer = mloop_timer(loop, (uint64_t)rr->keys.ttl_ms / 3, hb_tick, rr);
	if (rr->keys.link == NULL || rr->hb_timer == 0 || rr->rs.names == NULL ||
	    rr->rs.sinces == NULL) {
		snprintf(err, errlen, "roster: out of memory");
		redis_roster_free(rr);
		return NULL;
	}
	redis_link_start(rr->keys.link);
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
	redis_link_free(rr->keys.link);
	resync_end(&rr->rs);
	free(rr->rs.names);
	free(rr->rs.sinces);
	free(rr);
}
