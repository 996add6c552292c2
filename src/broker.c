/* SPDX-License-Identifier: MIT */
/*
 * broker.c - the master's use of Redis: subscribe by interest, deliver what
 * other pods published, hand what local clients sent to the publisher.
 *
 * Two links (redis_link.c keeps each one up, and is the file to read for
 * how Redis reconnects): `sub` holds the subscriptions (realtime:global
 * always, realtime:room:{room} for every room in the interest table below),
 * `pub` is redis_pub.c's, which queues and gates while it is down.
 * redis_health.c probes both for a Redis that stopped answering.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "chatd.h"
#include "conf.h"
#include "envelope.h"
#include "errbuf.h"
#include "hash.h"
#include "history.h"
#include "log.h"
#include "msg.h"
#include "redis_health.h"
#include "redis_link.h"
#include "redis_pub.h"
#include "redis_url.h"

#define BROKER_TICK_MS 1000

/* One per room some worker slot has members in.  chan is the whole
 * channel name; the room is chan + CHAN_ROOM_LEN. */
struct interest {
	struct interest *next;
	uint64_t         mask[CHATD_SLOTS / 64];
	uint64_t         confirmed;     /* the sub_gen Redis answered its SUBSCRIBE in */
	int              leaving;       /* UNSUBSCRIBE sent, not answered yet */
	size_t           room_len;
	char             chan[];
};

struct broker {
	struct mloop             *loop;
	struct master_stats      *st;
	struct redis_url          url;
	char                      pod[CONF_STR_MAX];
	size_t                    pod_len;
	char                      publish_from[CONF_STR_MAX];  /* who may send `system` */
	broker_deliver_fn         deliver;
	void                     *arg;
	struct redis_link        *sub, *pub;
	struct redis_pub         *publisher;
	struct redis_health      *health;       /* the frozen-Redis probe */
	struct redis_link_handler on_sub;
	int                       freeing;
	uint64_t                  tick_timer;
	int                       sub_up;       /* for redis_sub_gaps */
	uint64_t                  sub_gen;      /* + 1 when sub goes down: confirmations void */
	uint64_t                  global_confirmed;   /* ... of realtime:global */
	/* interest table, keyed by client-chosen room names: a keyed hash */
	struct hash_key           hkey;
	struct interest         **buckets;
	size_t                    nbuckets, nrooms;
	broker_pub_hook_fn        pub_hook;     /* room history (broker_pub_hook) */
	void                     *pub_hook_arg;
	broker_sub_hook_fn        sub_hook;     /* the gap fill (broker_sub_hook) */
	void                     *sub_hook_arg;
};

static void sub_send(struct broker *b, const char *cmd, const char *chan, size_t len);
static void sub_news(struct broker *b, enum broker_sub_event ev, const char *room, size_t len);

/* ---- interest table --------------------------------------------------------- */

static struct interest **interest_find(struct broker *b, const char *room, size_t len)
{
	struct interest **pp = &b->buckets[hash_bytes(&b->hkey, room, len) & (b->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->room_len == len && memcmp((*pp)->chan + CHAN_ROOM_LEN, room, len) == 0)
			return pp;
	return pp;
}

static int interest_grow(struct broker *b)
{
	size_t n = b->nbuckets * 2;
	struct interest **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return -1;
	for (size_t i = 0; i < b->nbuckets; i++) {
		struct interest *it = b->buckets[i], *next;
		for (; it != NULL; it = next) {
			next = it->next;
			const char *room = it->chan + CHAN_ROOM_LEN;
			size_t h = hash_bytes(&b->hkey, room, it->room_len) & (n - 1);
			it->next = nb[h];
			nb[h] = it;
		}
	}
	free(b->buckets);
	b->buckets = nb;
	b->nbuckets = n;
	return 0;
}

static int mask_empty(const struct interest *it)
{
	for (size_t i = 0; i < CHATD_SLOTS / 64; i++)
		if (it->mask[i])
			return 0;
	return 1;
}

static struct interest *interest_add(struct broker *b, struct interest **pp,
				     const char *room, size_t room_len)
{
	struct interest *it = calloc(1, sizeof(*it) + CHAN_ROOM_LEN + room_len + 1);

	if (it == NULL) {
		log_error("redis: out of memory subscribing to a room");
		return NULL;
	}
	memcpy(it->chan, CHAN_ROOM, CHAN_ROOM_LEN);
	memcpy(it->chan + CHAN_ROOM_LEN, room, room_len);
	it->room_len = room_len;
	*pp = it;
	b->nrooms++;
	sub_send(b, "SUBSCRIBE", it->chan, CHAN_ROOM_LEN + room_len);
	return it;
}

static void interest_unlink(struct broker *b, struct interest **pp)
{
	struct interest *it = *pp;

	*pp = it->next;
	free(it);
	b->nrooms--;
}

/* Clear slot's bit in *pp; a room nobody wants any more is unsubscribed and
 * unlinked, or kept (leaving) until Redis answers the UNSUBSCRIBE: hiredis
 * 0.14 drops a channel's callback at that answer, even that of a SUBSCRIBE
 * sent after the UNSUBSCRIBE, and the room would go deaf, so a room wanted
 * again meanwhile is subscribed only after the answer (sub_unsubscribed).
 * 1 when *pp was removed. */
static int interest_clear(struct broker *b, struct interest **pp, int slot)
{
	struct interest *it = *pp;

	it->mask[slot / 64] &= ~(1ull << (slot % 64));
	if (!mask_empty(it) || it->leaving)
		return 0;
	sub_send(b, "UNSUBSCRIBE", it->chan, CHAN_ROOM_LEN + it->room_len);
	sub_news(b, BROKER_SUB_GONE, it->chan + CHAN_ROOM_LEN, it->room_len);
	it->confirmed = 0;
	if (redis_link_ready(b->sub)) {
		it->leaving = 1;
		return 0;
	}
	interest_unlink(b, pp);
	return 1;
}

/* Redis answered the UNSUBSCRIBE of a leaving room: forget it, or subscribe
 * again when it is wanted again. */
static void sub_unsubscribed(struct broker *b, const char *room, size_t len)
{
	struct interest **pp, *it;

	if (len > CHATD_ROOM_MAX || (it = *(pp = interest_find(b, room, len))) == NULL ||
	    !it->leaving)
		return;
	it->leaving = 0;
	if (mask_empty(it))
		interest_unlink(b, pp);
	else
		sub_send(b, "SUBSCRIBE", it->chan, CHAN_ROOM_LEN + it->room_len);
}

/* The sub link is down: the UNSUBSCRIBEs will not be answered, and the
 * reconnect subscribes what is wanted. */
static void interest_link_lost(struct broker *b)
{
	for (size_t k = 0; k < b->nbuckets; k++) {
		struct interest **pp = &b->buckets[k];

		while (*pp != NULL) {
			(*pp)->leaving = 0;
			if (mask_empty(*pp))
				interest_unlink(b, pp);
			else
				pp = &(*pp)->next;
		}
	}
}

/* Master only.  The room's slot mask going 0 -> non-zero SUBSCRIBEs,
 * non-zero -> 0 UNSUBSCRIBEs (sent only while sub is up; a reconnect
 * resubscribes from this table).  Global (room_len 0) is always subscribed. */
void broker_interest(struct broker *b, int slot, const char *room, size_t room_len, int delta)
{
	struct interest **pp, *it;

	if (b == NULL || slot < 0 || slot >= CHATD_SLOTS || room_len == 0 ||
	    room_len > CHATD_ROOM_MAX)
		return;
	if (delta > 0 && b->nrooms >= b->nbuckets)
		interest_grow(b);           /* on ENOMEM the chains get longer */
	pp = interest_find(b, room, room_len);
	it = *pp;
	if (delta > 0) {
		if (it == NULL)             /* (a leaving one subscribes when it has left) */
			it = interest_add(b, pp, room, room_len);
		if (it != NULL)
			it->mask[slot / 64] |= 1ull << (slot % 64);
	} else if (it != NULL) {
		interest_clear(b, pp, slot);
	}
}

/* Master only: clear slot's bit in every room, unsubscribing emptied ones. */
void broker_slot_gone(struct broker *b, int slot)
{
	if (b == NULL || slot < 0 || slot >= CHATD_SLOTS)
		return;
	for (size_t k = 0; k < b->nbuckets; k++) {
		struct interest **pp = &b->buckets[k];
		while (*pp != NULL)
			if (!interest_clear(b, pp, slot))
				pp = &(*pp)->next;
	}
}

static void interest_free_all(struct broker *b)
{
	for (size_t k = 0; b->buckets != NULL && k < b->nbuckets; k++) {
		struct interest *it = b->buckets[k], *next;
		for (; it != NULL; it = next) {
			next = it->next;
			free(it);
		}
	}
	free(b->buckets);
}

/* ---- subscriber -------------------------------------------------------------- */

/* The envelope's room must be the channel it came on. */
static int sub_channel_ok(const struct envelope *e, const char *chan, size_t cl)
{
	if (e->room_len == 0)
		return cl == CHAN_GLOBAL_LEN && memcmp(chan, CHAN_GLOBAL, cl) == 0;
	return e->room_len <= CHATD_ROOM_MAX && cl == CHAN_ROOM_LEN + e->room_len &&
	       memcmp(chan, CHAN_ROOM, CHAN_ROOM_LEN) == 0 &&
	       memcmp(chan + CHAN_ROOM_LEN, e->room, e->room_len) == 0;
}

/* A "message" reply on sub: decode, filter, deliver. */
static void sub_message(struct broker *b, const struct redis_reply *chan,
			const struct redis_reply *payload)
{
	struct envelope e;
	const char *cs, *ps;
	size_t cl, pl;

	if (redis_link_reply_type(chan) != REDIS_LINK_STRING ||
	    redis_link_reply_type(payload) != REDIS_LINK_STRING) {
		stats_add(&b->st->redis_malformed, 1);
		return;
	}
	cs = redis_link_reply_str(chan, &cl);
	ps = redis_link_reply_str(payload, &pl);
	if (envelope_decode(ps, pl, &e) != 0 || !sub_channel_ok(&e, cs, cl)) {
		stats_add(&b->st->redis_malformed, 1);
		return;
	}
	/* our own frame, delivered here already; not a stored one (with an
	 * offset), which only Redis numbered and delivers */
	if (e.pod_len == b->pod_len && memcmp(e.pod, b->pod, b->pod_len) == 0 &&
	    !history_frame_offset(e.frame, e.frame_len, &(uint64_t){ 0 })) {
		stats_add(&b->st->redis_own_echoes, 1);
		return;
	}
	/* Another pod's frame goes to our clients as is: check it as a client's. */
	if (!msg_peer_valid(e.frame, e.frame_len, e.room, e.room_len, b->publish_from)) {
		stats_add(&b->st->redis_malformed, 1);
		return;
	}
	stats_add(&b->st->redis_received, 1);
	b->deliver(b->arg, e.room, e.room_len, e.frame, e.frame_len);
}

/* Redis answered a SUBSCRIBE (gen) or an UNSUBSCRIBE (0) of room: note it
 * on the room's interest, if the pod still wants the room. */
static void sub_confirm(struct broker *b, const char *room, size_t len, uint64_t gen)
{
	struct interest *it;

	if (len > CHATD_ROOM_MAX)
		return;
	if ((it = *interest_find(b, room, len)) != NULL && !it->leaving)
		it->confirmed = gen;
}

/* Every reply on the subscribed connection ("message", "subscribe",
 * "unsubscribe"). */
static void sub_cb(const struct redis_reply *rep, void *arg)
{
	struct broker *b = arg;
	const struct redis_reply *kind, *chan;
	const char *cs;
	size_t cl;

	if (b->freeing || redis_link_reply_count(rep) < 3)
		return;
	kind = redis_link_reply_elem(rep, 0);
	chan = redis_link_reply_elem(rep, 1);
	if (redis_health_sub_reply(b->health, kind, chan, redis_link_reply_elem(rep, 2)))
		return;
	if (redis_link_reply_is(kind, "message", 7)) {
		sub_message(b, chan, redis_link_reply_elem(rep, 2));
		return;
	}
	if (redis_link_reply_is(chan, CHAN_GLOBAL, CHAN_GLOBAL_LEN) &&
	    redis_link_reply_is(kind, "subscribe", 9)) {
		b->global_confirmed = b->sub_gen;
		sub_news(b, BROKER_SUB_CONFIRMED, "", 0);
	}
	cs = redis_link_reply_str(chan, &cl);
	if (redis_link_reply_type(chan) != REDIS_LINK_STRING || cl <= CHAN_ROOM_LEN ||
	    memcmp(cs, CHAN_ROOM, CHAN_ROOM_LEN) != 0)
		return;
	if (redis_link_reply_is(kind, "subscribe", 9)) {
		stats_add(&b->st->redis_subscribed_rooms, 1);
		sub_confirm(b, cs + CHAN_ROOM_LEN, cl - CHAN_ROOM_LEN, b->sub_gen);
		sub_news(b, BROKER_SUB_CONFIRMED, cs + CHAN_ROOM_LEN, cl - CHAN_ROOM_LEN);
	} else if (redis_link_reply_is(kind, "unsubscribe", 11)) {
		sub_unsubscribed(b, cs + CHAN_ROOM_LEN, cl - CHAN_ROOM_LEN);
		if (stats_get(&b->st->redis_subscribed_rooms) > 0)
			stats_sub(&b->st->redis_subscribed_rooms, 1);
		sub_news(b, BROKER_SUB_GONE, cs + CHAN_ROOM_LEN, cl - CHAN_ROOM_LEN);
	}
}

static void sub_news(struct broker *b, enum broker_sub_event ev, const char *room, size_t len)
{
	if (b->sub_hook != NULL)
		b->sub_hook(b->sub_hook_arg, ev, room, len);
}

static void sub_send(struct broker *b, const char *cmd, const char *chan, size_t len)
{
	const char *argv[2] = { cmd, chan };
	size_t argl[2] = { strlen(cmd), len };

	if (!redis_link_ready(b->sub))
		return;
	if (redis_link_command(b->sub, &b->on_sub, 2, argv, argl) < 0)
		log_warn("redis sub: cannot queue %s %.*s", cmd, (int)len, chan);
}

/* After (re)connect: SUBSCRIBE global and every active room, one command. */
static void sub_resubscribe(struct broker *b)
{
	size_t n = 3 + b->nrooms, i = 0;
	const char **argv = malloc(n * sizeof(*argv));
	size_t *argl = malloc(n * sizeof(*argl));

	if (argv == NULL || argl == NULL) {
		free(argv);
		free(argl);
		redis_link_drop(b->sub);    /* retried later */
		return;
	}
	argv[i] = "SUBSCRIBE";
	argl[i++] = 9;
	argv[i] = CHAN_GLOBAL;
	argl[i++] = CHAN_GLOBAL_LEN;
	argv[i] = redis_health_chan(b->health, &argl[i]);
	i++;
	for (size_t k = 0; k < b->nbuckets; k++)
		for (struct interest *it = b->buckets[k]; it != NULL; it = it->next) {
			argv[i] = it->chan;
			argl[i++] = CHAN_ROOM_LEN + it->room_len;
		}
	if (redis_link_command(b->sub, &b->on_sub, (int)i, argv, argl) < 0)
		log_warn("redis sub: cannot queue SUBSCRIBE");
	free(argv);
	free(argl);
}

/* ---- the links' events -------------------------------------------------------- */

static void broker_link_event(struct redis_link *l, enum redis_link_event ev, void *owner)
{
	struct broker *b = owner;

	if (ev == REDIS_LINK_UP || ev == REDIS_LINK_DOWN)
		redis_health_link_event(b->health, l, ev);
	if (l == b->sub && ev == REDIS_LINK_DOWN && b->sub_up)
		stats_add(&b->st->redis_sub_gaps, 1);
	if (l == b->sub && ev == REDIS_LINK_DOWN) {
		b->sub_gen++;
		interest_link_lost(b);
		sub_news(b, BROKER_SUB_LOST, NULL, 0);
	}
	if (l == b->sub)
		b->sub_up = ev == REDIS_LINK_UP;
	switch (ev) {
	case REDIS_LINK_RETRYING:
		stats_add(&b->st->redis_reconnects, 1);
		return;
	case REDIS_LINK_UP:
		if (l == b->sub)
			sub_resubscribe(b);
		else
			redis_pub_up(b->publisher);
		break;
	case REDIS_LINK_DOWN:
		if (l == b->sub)
			stats_set(&b->st->redis_subscribed_rooms, 0);
		else
			redis_pub_down(b->publisher);
		break;
	case REDIS_LINK_CONNECTING:
		break;
	}
	if (l == b->pub && b->pub_hook && (ev == REDIS_LINK_UP || ev == REDIS_LINK_DOWN))
		b->pub_hook(b->pub_hook_arg, ev == REDIS_LINK_UP);
	stats_set(&b->st->redis_state, redis_link_state(b->sub, b->pub));
}

/* Master only: see broker.h (room history). */
struct redis_link *broker_pub_link(struct broker *b)
{
	return b->pub;
}

void broker_pub_hook(struct broker *b, broker_pub_hook_fn fn, void *arg)
{
	b->pub_hook = fn;
	b->pub_hook_arg = arg;
}

void broker_sub_hook(struct broker *b, broker_sub_hook_fn fn, void *arg)
{
	b->sub_hook = fn;
	b->sub_hook_arg = arg;
}

int broker_sub_ready(const struct broker *b)
{
	return redis_link_ready(b->sub);
}

enum broker_sub_state broker_sub_state(struct broker *b, const char *room, size_t room_len)
{
	struct interest *it = NULL;
	uint64_t gen;

	if (room_len > CHATD_ROOM_MAX)
		return BROKER_SUB_UNWANTED;
	if (room_len > 0 && ((it = *interest_find(b, room, room_len)) == NULL || mask_empty(it)))
		return BROKER_SUB_UNWANTED;
	gen = it != NULL ? it->confirmed : b->global_confirmed;
	return redis_link_ready(b->sub) && gen == b->sub_gen ? BROKER_SUB_SUBSCRIBED
							     : BROKER_SUB_PENDING;
}

/* Master only.  See redis_pub_publish. */
void broker_publish(struct broker *b, const char *room, size_t room_len,
		    const char *frame, size_t frame_len)
{
	if (b != NULL)
		redis_pub_publish(b->publisher, room, room_len, frame, frame_len);
}

/* ---- life ------------------------------------------------------------------------ */

static void broker_tick(void *arg)
{
	struct broker *b = arg;

	redis_pub_tick(b->publisher);
	b->tick_timer = mloop_timer(b->loop, BROKER_TICK_MS, broker_tick, b);
}

static struct redis_link *broker_link_new(struct broker *b, const struct conf *c,
					  const char *name, int select_db, unsigned seed)
{
	struct redis_link_conf lc = {
		.name = name, .url = &b->url, .select_db = select_db,
		.connect_timeout_ms = c->redis_connect_timeout_ms, .seed = seed,
		.on_event = broker_link_event, .owner = b,
	};

	return redis_link_new(b->loop, &lc);
}

/* The settings and buffers; -1 + err when c or pod_id cannot be used. */
static int broker_setup(struct broker *b, const struct conf *c, const char *pod_id,
			char *err, size_t errlen)
{
	char why[128];
	enum redis_url_rc rc = redis_url_parse(c->redis_url, &b->url, why, sizeof(why));

	if (rc == REDIS_URL_BAD)
		return errbuf_set(err, errlen, "redis_url: %s", why);
	if (rc == REDIS_URL_OFF)
		return errbuf_set(err, errlen, "redis_url: Redis is off");
	if (strlen(pod_id) >= sizeof(b->pod) || pod_id[0] == '\0')
		return errbuf_set(err, errlen, "redis: bad pod id");
	b->pod_len = strlen(pod_id);
	memcpy(b->pod, pod_id, b->pod_len);
	snprintf(b->publish_from, sizeof(b->publish_from), "%s", c->publish_from);
	b->nbuckets = 64;
	b->buckets = calloc(b->nbuckets, sizeof(*b->buckets));
	b->on_sub = (struct redis_link_handler){ sub_cb, b };
	return 0;
}

/* Master only.  Copies what it needs from c; starts both links at once
 * (a failure is retried, never fatal).  NULL + err on a bad URL. */
struct broker *broker_new(const struct conf *c, struct mloop *loop, const char *pod_id,
			  struct master_stats *st, broker_deliver_fn deliver, void *arg,
			  char *err, size_t errlen)
{
	struct broker *b = calloc(1, sizeof(*b));
	unsigned seed;

	if (b == NULL) {
		errbuf_set(err, errlen, "redis: out of memory");
		return NULL;
	}
	b->loop = loop;
	b->st = st;
	b->sub_gen = 1;                     /* 0: never confirmed */
	b->deliver = deliver;
	b->arg = arg;
	hash_key_random(&b->hkey, b);
	if (broker_setup(b, c, pod_id, err, errlen) < 0) {
		broker_free(b);
		return NULL;
	}
	seed = (unsigned)(hash_bytes(&b->hkey, pod_id, b->pod_len) ^ mloop_now_ms());
	b->sub = broker_link_new(b, c, "sub", 0, seed);
	b->pub = broker_link_new(b, c, "pub", 1, seed ^ 0x5bd1e995u);
	if (b->pub != NULL)
		b->publisher = redis_pub_new(loop, b->pub, st, b->pod, b->pod_len, c);
	b->tick_timer = mloop_timer(loop, BROKER_TICK_MS, broker_tick, b);
	if (b->sub != NULL && b->pub != NULL)
		b->health = redis_health_new(loop, b->sub, b->pub, st, b->pod, b->pod_len, c);
	if (b->health == NULL || b->buckets == NULL || b->sub == NULL || b->pub == NULL || b->publisher == NULL ||
	    b->tick_timer == 0) {
		errbuf_set(err, errlen, "redis: out of memory");
		broker_free(b);
		return NULL;
	}
	stats_set(&st->redis_state, REDIS_STATE_CONNECTING);
	redis_link_start(b->sub);
	redis_link_start(b->pub);
	return b;
}

/* Disconnects and frees everything; NULL is fine.  Not from inside the
 * deliver callback (it runs within hiredis's read handler). */
void broker_free(struct broker *b)
{
	if (b == NULL)
		return;
	b->freeing = 1;
	if (b->tick_timer)
		mloop_timer_cancel(b->loop, b->tick_timer);
	redis_link_free(b->sub);
	redis_link_free(b->pub);
	redis_pub_free(b->publisher);
	redis_health_free(b->health);
	interest_free_all(b);
	stats_set(&b->st->redis_state, REDIS_STATE_OFF);
	stats_set(&b->st->redis_queued, 0);
	stats_set(&b->st->redis_subscribed_rooms, 0);
	free(b);
}
