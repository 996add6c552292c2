/* SPDX-License-Identifier: MIT */
/*
 * roster.c - who is in a room, the master's side (see roster.h): the page
 * from the members table or from Redis, made into the JSON body every
 * answer carries, put on the broadcast ring for the worker that asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chatd.h"
#include "conf.h"
#include "members.h"
#include "mloop.h"
#include "msg.h"
#include "record.h"
#include "redis_roster.h"
#include "roster.h"
#include "rosterrec.h"
#include "shm.h"

/*
 * Single-node pages cost the master the room's whole membership (collected
 * and sorted per request: milliseconds for a global channel of 50k), so
 * their cost is bounded: each request spends its room's connections plus
 * LOCAL_BASE from a budget refilled at LOCAL_BUDGET a second; an empty
 * budget answers 503 "busy".
 */
#define LOCAL_BUDGET 500000
#define LOCAL_BASE   64

struct roster {
	struct members *mb;
	bcast_put_fn put;           /* into the broadcast ring */
	void *put_arg;
	struct master_stats *st;
	size_t body_max;            /* bytes of a body the ring takes */
	struct redis_roster *redis; /* NULL: single-node */
	uint16_t epoch[CHATD_SLOTS]; /* bumped when the slot's worker dies */
	int64_t budget;             /* single-node: entries left to collect */
	uint64_t budget_ms;         /* ... as of then */
};

/* A growing list of entries (members_room_each's callback fills it). */
struct elist {
	struct roster_entry *e;
	size_t n, cap;
	int oom;
};

/* ---- the answer ---------------------------------------------------------------- */

/* Put the answer (status, body) for ask id on the ring for worker slot. */
static void answer(struct roster *ro, int slot, uint32_t id, int status, const char *body,
		   size_t len)
{
	unsigned char *buf = malloc(ROSTER_ANSWER_HDR + len);

	if (buf == NULL)
		return;             /* the worker times the question out */
	rosterrec_answer_hdr(buf, id, slot, status);
	memcpy(buf + ROSTER_ANSWER_HDR, body, len);
	ro->put(ro->put_arg, REC_ROSTER, (const char *)buf, ROSTER_ANSWER_HDR + len, "", 0);
	free(buf);
}

static void answer_error(struct roster *ro, int slot, uint32_t id, int status)
{
	static const char down[] = "{\"error\":\"unavailable\",\"message\":"
				   "\"the room roster is unavailable: Redis is down or busy\"}";
	static const char bad[] = "{\"error\":\"bad_request\",\"message\":\"bad roster request\"}";
	static const char busy[] = "{\"error\":\"unavailable\",\"message\":"
				   "\"the room roster is busy: try again later\"}";

	if (status == 400)
		answer(ro, slot, id, status, bad, sizeof(bad) - 1);
	else if (status == 503 && ro->redis == NULL)
		answer(ro, slot, id, status, busy, sizeof(busy) - 1);
	else
		answer(ro, slot, id, status, down, sizeof(down) - 1);
}

/* One member's JSON object; NULL when its id is not UTF-8 (or ENOMEM). */
static json_t *member_json(int sub, const struct roster_entry *e)
{
	json_t *id = json_stringn(e->id, e->id_len), *o;
	char ts[25];

	if (id == NULL)
		return NULL;
	msg_timestamp_ms(e->since_ms, ts);
	o = json_pack("{s:o, s:s}", "client_id", id, "since", ts);
	if (o != NULL && sub)
		json_object_set_new(o, "sub", json_stringn(e->id, e->id_len));
	return o;
}

/* The members array of e[0..n), its elements and commas within cap bytes:
 * *more is set when the page stops early, *last gets the last entry in it
 * (NULL: none). */
static json_t *members_json(int sub, const struct roster_entry *e, size_t n, size_t cap,
			    int *more, const struct roster_entry **last)
{
	json_t *arr = json_array();
	size_t used = 0;

	*last = NULL;
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *o = member_json(sub, &e[i]);

		if (o == NULL)
			continue;
		used += json_dumpb(o, NULL, 0, JSON_COMPACT) + 1;
		if (used > cap) {
			json_decref(o);
			*more = 1;
			break;
		}
		json_array_append_new(arr, o);
		*last = &e[i];
	}
	return arr;
}

/* The body without members and with next null, dumped; its length, or 0
 * (ENOMEM). */
static size_t frame_len(json_t *room, long long count)
{
	json_t *root = json_pack("{s:O, s:I, s:[], s:n}", "room", room, "count",
				 (json_int_t)count, "members", "next");
	size_t n = root ? json_dumpb(root, NULL, 0, JSON_COMPACT) : 0;

	json_decref(root);
	return n;
}

char *roster_body(int sub, const char *room, size_t room_len, long long count,
		  const struct roster_entry *e, size_t n, int more, size_t max)
{
	const struct roster_entry *last;
	int global = room_len == ROSTER_GLOBAL_LEN && memcmp(room, ROSTER_GLOBAL, 1) == 0;
	json_t *jroom = global ? json_null() : json_stringn(room, room_len), *arr, *root;
	/* next, when set, replaces null: an id escaped at worst (\u00XX per byte) */
	size_t fixed = jroom ? frame_len(jroom, count) : 0, next_max = 2 + 6 * CHATD_CLIENT_ID_MAX;
	char *body;

	if (fixed == 0 || fixed + next_max >= max) {
		json_decref(jroom);
		return NULL;
	}
	arr = members_json(sub, e, n, max - fixed - next_max, &more, &last);
	root = json_pack("{s:o, s:I, s:o, s:o}", "room", jroom, "count", (json_int_t)count,
			 "members", arr ? arr : json_array(), "next",
			 more && last ? json_stringn(last->id, last->id_len) : json_null());
	body = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (body != NULL && strlen(body) > max) {   /* cannot happen: the sums above */
		free(body);
		body = NULL;
	}
	return body;
}

/* Answer 200 with the page e[0..n) of room (count members in all), each
 * member with its sub when sub is set. */
static void answer_page(struct roster *ro, int slot, uint32_t id, int sub, const char *room,
			size_t room_len, long long count, const struct roster_entry *e, size_t n,
			int more)
{
	char *body = roster_body(sub, room, room_len, count, e, n, more, ro->body_max);

	if (body == NULL) {
		answer_error(ro, slot, id, 503);
		return;
	}
	answer(ro, slot, id, 200, body, strlen(body));
	free(body);
}

/* ---- single-node: the members table -------------------------------------------- */

static void elist_add(void *arg, const char *room, size_t room_len, const char *id,
		      size_t id_len, uint64_t since_ms)
{
	struct elist *l = arg;

	(void)room; (void)room_len;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct roster_entry *ne = realloc(l->e, ncap * sizeof(*ne));

		if (ne == NULL) {
			l->oom = 1;
			return;
		}
		l->e = ne;
		l->cap = ncap;
	}
	l->e[l->n++] = (struct roster_entry){ id, id_len, since_ms };
}

/* Client ids compare as bytes, a prefix first (Redis's ZRANGEBYLEX order). */
static int id_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c != 0 ? c : (al > bl) - (al < bl);
}

static int entry_cmp(const void *x, const void *y)
{
	const struct roster_entry *a = x, *b = y;

	return id_cmp(a->id, a->id_len, b->id, b->id_len);
}

/* Sort l by id and fold the same id on several workers into one (the
 * earliest since). */
static void elist_unique(struct elist *l)
{
	size_t k = 0;

	if (l->n == 0)
		return;
	qsort(l->e, l->n, sizeof(*l->e), entry_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (k > 0 && entry_cmp(&l->e[k - 1], &l->e[i]) == 0) {
			if (l->e[i].since_ms < l->e[k - 1].since_ms)
				l->e[k - 1].since_ms = l->e[i].since_ms;
			continue;
		}
		l->e[k++] = l->e[i];
	}
	l->n = k;
}

/* Spend cost from the single-node budget: 0, or -1 when it is empty. */
static int budget_spend(struct roster *ro, size_t cost)
{
	uint64_t now = mloop_now_ms();
	int64_t refill = (int64_t)(now - ro->budget_ms) * (LOCAL_BUDGET / 1000);

	ro->budget_ms = now;
	ro->budget = ro->budget + refill > LOCAL_BUDGET ? LOCAL_BUDGET : ro->budget + refill;
	if (ro->budget <= 0)
		return -1;
	/* a room above the whole budget still gets answers, one in a while */
	ro->budget -= (int64_t)cost;
	return 0;
}

static void ask_local(struct roster *ro, int slot, const struct roster_ask *a,
		      const char *room, size_t room_len)
{
	struct elist l = { 0 };
	size_t from = 0, n;

	if (budget_spend(ro, LOCAL_BASE + members_room_count(ro->mb, room, room_len)) < 0) {
		stats_add(&ro->st->roster_busy, 1);
		answer_error(ro, slot, a->id, 503);
		return;
	}
	members_room_each(ro->mb, room, room_len, elist_add, &l);
	if (l.oom) {
		free(l.e);
		answer_error(ro, slot, a->id, 503);
		return;
	}
	elist_unique(&l);
	while (a->cursor_len > 0 && from < l.n &&
	       id_cmp(l.e[from].id, l.e[from].id_len, a->cursor, a->cursor_len) <= 0)
		from++;
	n = l.n - from < a->limit ? l.n - from : a->limit;
	answer_page(ro, slot, a->id, a->flags & ROSTER_ASK_SUB, room, room_len, (long long)l.n,
		    l.e + from, n, from + n < l.n);
	free(l.e);
}

/* ---- Redis ----------------------------------------------------------------------- */

static void redis_answer(void *arg, uint64_t tag, const char *room, size_t room_len, int status,
			 long long count, const struct roster_entry *e, size_t n, int more)
{
	struct roster *ro = arg;
	int slot = (int)(tag >> 32 & 0xff), sub = (int)(tag >> 40 & ROSTER_ASK_SUB);
	uint32_t id = (uint32_t)tag;

	if (slot >= CHATD_SLOTS || (uint16_t)(tag >> 48) != ro->epoch[slot])
		return;     /* asked by a worker that died since: not for its successor */
	if (status != 200)
		answer_error(ro, slot, id, status);
	else
		answer_page(ro, slot, id, sub, room, room_len, count, e, n, more);
}

/* ---- the interface ---------------------------------------------------------------- */

struct roster *roster_new(const struct conf *c, struct mloop *loop, struct members *mb,
			  size_t rec_max, struct master_stats *st, bcast_put_fn put, void *arg,
			  const char *pod_id, char *err, size_t errlen)
{
	struct roster *ro = calloc(1, sizeof(*ro));

	if (ro == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ro->mb = mb;
	ro->put = put;
	ro->put_arg = arg;
	ro->st = st;
	ro->body_max = ROSTER_BODY_MAX;
	ro->budget = LOCAL_BUDGET;
	ro->budget_ms = mloop_now_ms();
	if (ro->body_max > rec_max - ROSTER_ANSWER_HDR - 1)
		ro->body_max = rec_max - ROSTER_ANSWER_HDR - 1;
	if (c->redis_url[0] != '\0' &&
	    (ro->redis = redis_roster_new(c, loop, pod_id, mb, st, redis_answer, ro, err,
					  errlen)) == NULL) {
		free(ro);
		return NULL;
	}
	return ro;
}

void roster_free(struct roster *ro)
{
	if (ro == NULL)
		return;
	redis_roster_free(ro->redis);
	free(ro);
}

void roster_member(struct roster *ro, int joined, const char *room, size_t room_len,
		   const char *id, size_t id_len)
{
	size_t n;

	if (ro == NULL || ro->redis == NULL)
		return;
	n = members_present(ro->mb, room, room_len, id, id_len);
	if (joined ? n == 1 : n == 0)
		redis_roster_set(ro->redis, joined, room, room_len, id, id_len, 0);
}

void roster_ask(struct roster *ro, int slot, const unsigned char *p, size_t len,
		const char *room, size_t room_len)
{
	struct roster_ask a;
	int st;

	if (rosterrec_ask_unpack(p, len, &a) < 0) {
		/* no id to answer to: the worker times it out */
		return;
	}
	if (a.limit == 0 || a.limit > ROSTER_LIMIT_MAX)
		a.limit = a.limit == 0 ? ROSTER_LIMIT_DEF : ROSTER_LIMIT_MAX;
	if (room_len == 0) {
		answer_error(ro, slot, a.id, 400);
		return;
	}
	if (ro->redis == NULL) {
		ask_local(ro, slot, &a, room, room_len);
		return;
	}
	/* the tag: the slot's epoch, flags, slot and question, back in redis_answer */
	st = redis_roster_query(ro->redis, (uint64_t)ro->epoch[slot] << 48 |
				(uint64_t)a.flags << 40 | (uint64_t)slot << 32 | a.id,
				room, room_len, a.cursor, a.cursor_len, a.limit);
	if (st != 0)
		answer_error(ro, slot, a.id, st);
}

/* ---- a dead worker ----------------------------------------------------------------- */

/* One member of a dead worker, copied: the table frees its own keys. */
struct gone_ent {
	uint8_t rl, il;
	char room[CHATD_ROOM_MAX], id[CHATD_CLIENT_ID_MAX];
};

struct roster_gone {
	struct roster *ro;
	struct gone_ent *e;
	size_t n, cap;
};

static void gone_add(void *arg, const char *room, size_t room_len, const char *id,
		     size_t id_len, uint64_t since_ms)
{
	struct roster_gone *g = arg;
	struct gone_ent *x;

	(void)since_ms;
	if (g->n == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 16;
		struct gone_ent *ne = realloc(g->e, ncap * sizeof(*ne));

		if (ne == NULL)
			return;     /* left to the readers: gone with the pod at the latest */
		g->e = ne;
		g->cap = ncap;
	}
	x = &g->e[g->n++];
	x->rl = (uint8_t)room_len;
	x->il = (uint8_t)id_len;
	memcpy(x->room, room, room_len);
	memcpy(x->id, id, id_len);
}

struct roster_gone *roster_slot_save(struct roster *ro, int slot)
{
	struct roster_gone *g;

	if (ro != NULL && slot >= 0 && slot < CHATD_SLOTS)
		ro->epoch[slot]++;  /* its questions still at Redis die with it */
	if (ro == NULL || ro->redis == NULL || (g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->ro = ro;
	members_slot_each(ro->mb, slot, gone_add, g);
	return g;
}

void roster_slot_done(struct roster_gone *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++)
		roster_member(g->ro, 0, g->e[i].room, g->e[i].rl, g->e[i].id, g->e[i].il);
	free(g->e);
	free(g);
}
