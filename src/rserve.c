/* SPDX-License-Identifier: MIT */
/*
 * rserve.c - who is in a room, the master's side.  See rserve.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "conf.h"
#include "history.h"    /* struct history_addr */
#include "redis_roster.h"
#include "roster.h"
#include "rserve.h"
#include "shm.h"

struct rserve {
	struct roster       *mine;     /* this pod's members */
	struct redis_roster *rr;       /* with Redis: every pod's */
	hserve_put_fn        put;
	void                *arg;
	int                  with_sub; /* auth on: a client id is its token's sub */
};

/* One request while Redis reads. */
struct ask {
	struct rserve      *s;
	struct history_addr to;
	struct roster_req   q;
	size_t              room_len;
	char                room[CHATD_ROOM_MAX];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct rserve *rserve_new(const struct conf *c, struct broker *broker, const char *pod,
			  struct mloop *loop, hserve_put_fn put, void *arg)
{
	struct rserve *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->put = put;
	s->arg = arg;
	s->with_sub = c->auth_enabled;
	s->mine = roster_new();
	if (broker != NULL)
		s->rr = redis_roster_new(loop, broker_pub_link(broker), pod, strlen(pod));
	if (s->mine == NULL || (broker != NULL && s->rr == NULL)) {
		rserve_free(s);
		return NULL;
	}
	return s;
}

void rserve_free(struct rserve *s)
{
	if (s == NULL)
		return;
	redis_roster_free(s->rr);
	roster_free(s->mine);
	free(s);
}

void rserve_member(struct rserve *s, int slot, uint32_t kind, const char *room,
		   size_t room_len, const char *id, size_t id_len)
{
	uint64_t t = now_ms();

	if (kind == REC_MEMBER) {
		if (roster_add(s->mine, slot, room, room_len, id, id_len, t) == 0 && s->rr)
			redis_roster_add(s->rr, slot, room, room_len, id, id_len, t);
	} else if (roster_del(s->mine, slot, room, room_len, id, id_len) == 1 && s->rr) {
		redis_roster_del(s->rr, slot, room, room_len, id, id_len);
	}
}

static void gone_one(void *arg, int slot, const char *room, size_t room_len, const char *id,
		     size_t id_len, uint64_t since_ms)
{
	(void)since_ms;
	redis_roster_del(arg, slot, room, room_len, id, id_len);
}

void rserve_slot_gone(struct rserve *s, int slot)
{
	roster_slot_gone(s->mine, slot, s->rr ? gone_one : NULL, s->rr);
}

void rserve_link(struct rserve *s, int up)
{
	if (s->rr != NULL)
		redis_roster_link(s->rr, up, s->mine);
}

/* The page for a (or an empty answer: unavailable, when ok is 0). */
static void answer(const struct ask *a, int ok, struct roster_entry *e, size_t n)
{
	size_t len = 0;
	char *json = ok ? roster_page(e, n, a->room, a->room_len, a->q.offset, a->q.limit,
				      a->s->with_sub, &len) : NULL;

	a->s->put(a->s->arg, REC_ROSTER, json ? json : "", len, (const char *)&a->to,
		  sizeof(a->to));
	free(json);
}

static void read_done(void *arg, int ok, struct roster_entry *e, size_t n)
{
	struct ask *a = arg;

	answer(a, ok, e, n);
	free(a);
}

void rserve_request(struct rserve *s, int slot, const char *room, size_t room_len,
		    const void *req, size_t len)
{
	struct ask a = { .s = s, .to = { .slot = (uint32_t)slot }, .room_len = room_len }, *ap;
	struct roster_entry *e;
	size_t n;

	if (len != sizeof(a.q) || room_len > CHATD_ROOM_MAX)
		return;
	memcpy(&a.q, req, sizeof(a.q));
	memcpy(a.room, room, room_len);
	a.to.token = a.q.token;
	if (s->rr != NULL) {
		if ((ap = malloc(sizeof(*ap))) != NULL) {
			*ap = a;
			if (redis_roster_read(s->rr, room, room_len, read_done, ap) == 0)
				return;
			free(ap);
		}
		answer(&a, 0, NULL, 0);           /* Redis down or busy: at once */
		return;
	}
	e = roster_list(s->mine, room, room_len, &n);
	answer(&a, 1, e, n);
	free(e);
}
