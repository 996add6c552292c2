/*
 * broker.c - the master's link to Redis (the only file that talks to hiredis).
 *
 * Two hiredis async connections driven by the master's mloop: `sub` holds the
 * subscriptions (realtime:global always, realtime:room:{room} for every room
 * some worker has members in), `pub` sends PUBLISH.  Each link connects
 * without blocking (but see redis_url: the host name is resolved by hiredis
 * with getaddrinfo), is timed out by our own timer, AUTHs / SELECTs first,
 * and is retried with capped exponential backoff and jitter when it fails or
 * drops.  While `pub` is unusable, publishes wait in a bounded FIFO.
 * Host names are resolved with getaddrinfo_a (polled from a timer) and
 * hiredis gets a numeric address, because hiredis would call a blocking
 * getaddrinfo and a dead DNS server must not stall the master's loop.
 *
 * hiredis 0.14.1 traps handled here: it frees the context itself after a
 * failed connect or a disconnect (we drop our pointer in those callbacks);
 * subscription callbacks fire with reply == NULL while the context is freed;
 * the connect callback only runs once the socket is polled for writing, so
 * the adapter asks for EPOLLOUT as soon as it is attached.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <hiredis.h>
#include <async.h>

#include "broker.h"
#include "chatd.h"
#include "conf.h"
#include "envelope.h"
#include "log.h"
#include "redis_url.h"

#define BROKER_BACKOFF_MIN_MS  100
#define BROKER_BACKOFF_MAX_MS  1600  /* so a returning Redis is used within ~2 s */
#define BROKER_TICK_MS         1000
#define BROKER_PUB_INFLIGHT    16384    /* PUBLISHes sent, reply not yet read */
#define BROKER_ERRLOG_MS       1000
#define BROKER_RESOLVE_POLL_MS 10
#define BROKER_GATE_MS         3000  /* longest wait for the other pods to resubscribe */
#define BROKER_GATE_POLL_MS    100
#define CHAN_GLOBAL            "realtime:global"
#define CHAN_ROOM              "realtime:room:"
#define CHAN_ROOM_LEN          (sizeof(CHAN_ROOM) - 1)

enum link_kind { LINK_SUB, LINK_PUB };

/* Two per broker.  `ac` is owned by hiredis once connected: it frees it
 * after the disconnect / failed-connect callbacks, where we drop it. */
struct link {
	struct broker     *b;
	enum link_kind     kind;
	const char        *name;
	redisAsyncContext *ac;
	int                fd;          /* ac's socket, or -1 */
	int                registered;  /* fd is in the mloop */
	uint32_t           events;
	int                ready;       /* connected, AUTH/SELECT answered */
	int                handshake;   /* AUTH/SELECT replies still awaited */
	int                was_up;      /* has been ready since the last log line */
	int                failed;      /* an attempt failed since the last ready */
	uint64_t           conn_timer, retry_timer, resolve_timer;
	uint64_t           backoff_ms;
	struct resolve    *res;         /* lookup in flight, or NULL */
};

/* A name lookup in flight (getaddrinfo_a).  Owned by its link; if it
 * cannot be cancelled when the broker goes away, glibc's helper thread
 * still writes into it, so it is leaked on purpose. */
struct resolve {
	struct gaicb    cb;
	struct addrinfo hints;
	char            host[256];
};

/* One per room some worker slot has members in.  chan is the whole
 * channel name; the room is chan + CHAN_ROOM_LEN. */
struct interest {
	struct interest *next;
	uint64_t         mask[CHATD_SLOTS / 64];
	size_t           room_len;
	char             chan[];
};

/* One queued PUBLISH (while pub is down): channel then payload. */
struct qent {
	uint64_t t_ms;
	size_t   chan_len, len;
	char     data[];
};

struct broker {
	struct mloop        *loop;
	struct master_stats *st;
	struct redis_url     url;
	char                 pod[CONF_STR_MAX];
	size_t               pod_len;
	broker_deliver_fn    deliver;
	void                *arg;
	struct link          sub, pub;
	int                  freeing;
	uint64_t             tick_timer;
	int                  conn_timeout_ms;
	/* interest hash */
	struct interest    **buckets;
	size_t               nbuckets, nrooms;
	/* publish queue (ring of pointers) */
	struct qent        **q;
	size_t               qcap, qhead, qlen;
	size_t               qbytes, qbytes_max;  /* redis_queue_bytes */
	uint64_t             qage_ms;
	msgpack_sbuffer      sb;
	uint64_t             inflight;
	uint64_t             errlog_ms, errs_suppressed;
	unsigned             rnd;
	/* the queue after an outage waits for the pods to be back (see pub_gate) */
	long long            peers;          /* subscribers of realtime:global when last up */
	int                  gated;
	uint64_t             gate_until, gate_timer;
};

static void link_connect(struct link *l);
static void link_schedule_retry(struct link *l);

static int url_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

/* ---- hiredis adapter onto mloop ------------------------------------------ */

static void adapter_io(int fd, uint32_t events, void *arg)
{
	struct link *l = arg;
	redisAsyncContext *ac = l->ac;

	if (ac == NULL)
		return;
	/* Errors and hang-ups are discovered by hiredis on read/write. */
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		redisAsyncHandleRead(ac);
	/* The read may have freed the context (disconnect): re-check. */
	if ((events & (EPOLLOUT | EPOLLERR)) && l->ac == ac && l->registered)
		redisAsyncHandleWrite(ac);
}

/* hiredis asks for read/write interest; the hooks must be idempotent. */
static void adapter_set(struct link *l, uint32_t events)
{
	struct mloop *loop = l->b->loop;

	if (l->fd < 0 || (l->registered && events == l->events))
		return;
	if (!l->registered) {
		if (mloop_add(loop, l->fd, events, adapter_io, l) < 0) {
			log_errno(LOG_LVL_ERROR, "redis %s: epoll add", l->name);
			return;
		}
		l->registered = 1;
	} else if (mloop_mod(loop, l->fd, events) < 0) {
		log_errno(LOG_LVL_ERROR, "redis %s: epoll mod", l->name);
		return;
	}
	l->events = events;
}

static void adapter_add_read(void *p)  { struct link *l = p; adapter_set(l, l->events | EPOLLIN); }
static void adapter_del_read(void *p)  { struct link *l = p; adapter_set(l, l->events & ~(uint32_t)EPOLLIN); }
static void adapter_add_write(void *p) { struct link *l = p; adapter_set(l, l->events | EPOLLOUT); }
static void adapter_del_write(void *p) { struct link *l = p; adapter_set(l, l->events & ~(uint32_t)EPOLLOUT); }

static void adapter_cleanup(void *p)
{
	struct link *l = p;

	if (l->registered)
		mloop_del(l->b->loop, l->fd);
	l->registered = 0;
	l->fd = -1;
	l->events = 0;
}

static void adapter_attach(struct link *l)
{
	redisAsyncContext *ac = l->ac;

	ac->ev.data = l;
	ac->ev.addRead = adapter_add_read;
	ac->ev.delRead = adapter_del_read;
	ac->ev.addWrite = adapter_add_write;
	ac->ev.delWrite = adapter_del_write;
	ac->ev.cleanup = adapter_cleanup;
	l->fd = ac->c.fd;
	l->registered = 0;
	l->events = 0;
	/* hiredis 0.14 reports the connect only when polled for writing. */
	adapter_add_write(l);
}

/* ---- state ---------------------------------------------------------------- */

static void broker_update_state(struct broker *b)
{
	uint64_t s;

	if (b->sub.ready && b->pub.ready)
		s = 2;
	else if (b->sub.failed || b->pub.failed || b->sub.was_up || b->pub.was_up)
		s = 3;
	else
		s = 1;
	stats_set(&b->st->redis_state, s);
}

/* The link is unusable now (failed connect, drop, timeout). */
static void link_lost(struct link *l, const char *why)
{
	struct broker *b = l->b;

	l->ac = NULL;
	l->ready = 0;
	l->handshake = 0;
	if (l->conn_timer) {
		mloop_timer_cancel(b->loop, l->conn_timer);
		l->conn_timer = 0;
	}
	if (l->resolve_timer) {
		mloop_timer_cancel(b->loop, l->resolve_timer);
		l->resolve_timer = 0;
	}
	if (l->kind == LINK_SUB) {
		stats_set(&b->st->redis_subscribed_rooms, 0);
	} else {
		b->inflight = 0;
		b->gated = 0;           /* gated again when pub is back */
		if (b->gate_timer) {
			mloop_timer_cancel(b->loop, b->gate_timer);
			b->gate_timer = 0;
		}
	}
	if (b->freeing)
		return;
	if (l->was_up)
		log_warn("redis %s link to %s:%d down: %s", l->name, b->url.host, b->url.port, why);
	else if (!l->failed)
		log_warn("redis %s link to %s:%d: cannot connect: %s (retrying)",
			 l->name, b->url.host, b->url.port, why);
	l->was_up = 0;
	l->failed = 1;
	broker_update_state(b);
	link_schedule_retry(l);
}

static void link_retry_cb(void *arg)
{
	struct link *l = arg;

	l->retry_timer = 0;
	stats_add(&l->b->st->redis_reconnects, 1);
	link_connect(l);
}

static void link_schedule_retry(struct link *l)
{
	struct broker *b = l->b;
	uint64_t d;

	if (l->backoff_ms == 0)
		l->backoff_ms = BROKER_BACKOFF_MIN_MS;
	/* Full jitter over the upper half: [backoff/2, backoff]. */
	d = l->backoff_ms / 2 + (uint64_t)rand_r(&b->rnd) % (l->backoff_ms / 2 + 1);
	l->backoff_ms *= 2;
	if (l->backoff_ms > BROKER_BACKOFF_MAX_MS)
		l->backoff_ms = BROKER_BACKOFF_MAX_MS;
	l->retry_timer = mloop_timer(b->loop, d, link_retry_cb, l);
}

/* ---- interest hash ---------------------------------------------------- */

static uint64_t room_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static struct interest **interest_find(struct broker *b, const char *room, size_t len)
{
	struct interest **pp = &b->buckets[room_hash(room, len) & (b->nbuckets - 1)];

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
			size_t h = room_hash(it->chan + CHAN_ROOM_LEN, it->room_len) & (n - 1);
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

/* ---- subscriber ------------------------------------------------------ */

/* A "message" reply on sub: decode, filter, deliver. */
static void sub_message(struct broker *b, const redisReply *chan, const redisReply *payload)
{
	struct envelope e;
	int rc;

	if (chan->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING) {
		stats_add(&b->st->redis_malformed, 1);
		return;
	}
	rc = envelope_decode(payload->str, (size_t)payload->len, &e);
	if (rc == 0) {
		/* The envelope's room must be the channel it came on. */
		size_t cl = (size_t)chan->len;
		if (e.room_len == 0)
			rc = (cl == sizeof(CHAN_GLOBAL) - 1 && memcmp(chan->str, CHAN_GLOBAL, cl) == 0) ? 0 : -1;
		else
			rc = (e.room_len <= CHATD_ROOM_MAX && cl == CHAN_ROOM_LEN + e.room_len &&
			      memcmp(chan->str, CHAN_ROOM, CHAN_ROOM_LEN) == 0 &&
			      memcmp(chan->str + CHAN_ROOM_LEN, e.room, e.room_len) == 0) ? 0 : -1;
	}
	if (rc != 0) {
		stats_add(&b->st->redis_malformed, 1);
		return;
	}
	if (e.pod_len == b->pod_len && memcmp(e.pod, b->pod, b->pod_len) == 0) {
		stats_add(&b->st->redis_own_echoes, 1);
		return;
	}
	stats_add(&b->st->redis_received, 1);
	b->deliver(b->arg, e.room, e.room_len, e.frame, e.frame_len);
}

/* Every reply on the subscribed connection ("message", "subscribe",
 * "unsubscribe"); reply == NULL while hiredis frees the context. */
static void sub_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct broker *b = privdata;
	const redisReply *rep = r;
	const redisReply *kind, *chan;

	if (rep == NULL || b->freeing || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3)
		return;
	kind = rep->element[0];
	chan = rep->element[1];
	if (kind->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(kind->str, "message") == 0) {
		sub_message(b, chan, rep->element[2]);
		return;
	}
	if (chan->type != REDIS_REPLY_STRING || (size_t)chan->len <= CHAN_ROOM_LEN ||
	    memcmp(chan->str, CHAN_ROOM, CHAN_ROOM_LEN) != 0)
		return;
	if (strcmp(kind->str, "subscribe") == 0)
		stats_add(&b->st->redis_subscribed_rooms, 1);
	else if (strcmp(kind->str, "unsubscribe") == 0 &&
		 stats_get(&b->st->redis_subscribed_rooms) > 0)
		stats_sub(&b->st->redis_subscribed_rooms, 1);
}

static void sub_send(struct broker *b, const char *cmd, const char *chan, size_t len)
{
	const char *argv[2] = { cmd, chan };
	size_t argl[2] = { strlen(cmd), len };

	if (!b->sub.ready)
		return;
	if (redisAsyncCommandArgv(b->sub.ac, sub_cb, b, 2, argv, argl) != REDIS_OK)
		log_warn("redis sub: cannot queue %s %.*s", cmd, (int)len, chan);
}

/* After (re)connect: SUBSCRIBE global and every active room, one command. */
static void sub_resubscribe(struct broker *b)
{
	size_t n = 2 + b->nrooms, i = 0;
	const char **argv = malloc(n * sizeof(*argv));
	size_t *argl = malloc(n * sizeof(*argl));

	if (argv == NULL || argl == NULL) {
		free(argv);
		free(argl);
		redisAsyncDisconnect(b->sub.ac);    /* retried later */
		return;
	}
	argv[i] = "SUBSCRIBE";
	argl[i++] = 9;
	argv[i] = CHAN_GLOBAL;
	argl[i++] = sizeof(CHAN_GLOBAL) - 1;
	for (size_t k = 0; k < b->nbuckets; k++)
		for (struct interest *it = b->buckets[k]; it != NULL; it = it->next) {
			argv[i] = it->chan;
			argl[i++] = CHAN_ROOM_LEN + it->room_len;
		}
	if (redisAsyncCommandArgv(b->sub.ac, sub_cb, b, (int)i, argv, argl) != REDIS_OK)
		log_warn("redis sub: cannot queue SUBSCRIBE");
	free(argv);
	free(argl);
}

/* ---- publisher and its queue ------------------------------------------ */

static void pub_flush(struct broker *b);

static void pub_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct broker *b = privdata;
	const redisReply *rep = r;
	uint64_t now;

	if (rep == NULL || b->freeing)
		return;
	if (b->inflight > 0)
		b->inflight--;
	if (rep->type == REDIS_REPLY_INTEGER) {
		stats_add(&b->st->redis_published, 1);
	} else {
		/* Logged at most once a second; the rest are counted in the line. */
		now = mloop_now_ms();
		if (now - b->errlog_ms >= BROKER_ERRLOG_MS) {
			log_warn("redis PUBLISH failed: %s (%llu more since last report)",
				 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply",
				 (unsigned long long)b->errs_suppressed);
			b->errlog_ms = now;
			b->errs_suppressed = 0;
		} else {
			b->errs_suppressed++;
		}
	}
	if (b->qlen > 0 && b->inflight < BROKER_PUB_INFLIGHT / 2)
		pub_flush(b);
}

static int pub_send(struct broker *b, const char *chan, size_t chan_len,
		    const char *data, size_t len)
{
	const char *argv[3] = { "PUBLISH", chan, data };
	size_t argl[3] = { 7, chan_len, len };

	if (redisAsyncCommandArgv(b->pub.ac, pub_cb, b, 3, argv, argl) != REDIS_OK)
		return -1;
	b->inflight++;
	return 0;
}

static void queue_pop(struct broker *b)
{
	b->qbytes -= b->q[b->qhead]->chan_len + b->q[b->qhead]->len;
	free(b->q[b->qhead]);
	b->q[b->qhead] = NULL;
	b->qhead = (b->qhead + 1) % b->qcap;
	b->qlen--;
}

/* Drop the entries older than redis_queue_age_ms from the head. */
static void queue_expire(struct broker *b, uint64_t now)
{
	while (b->qlen > 0 && now - b->q[b->qhead]->t_ms > b->qage_ms) {
		queue_pop(b);
		stats_add(&b->st->redis_queue_expired, 1);
	}
	stats_set(&b->st->redis_queued, b->qlen);
}

static void queue_push(struct broker *b, const char *chan, size_t chan_len,
		       const char *data, size_t len)
{
	struct qent *q;

	queue_expire(b, mloop_now_ms());
	if (b->qcap == 0) {
		stats_add(&b->st->redis_queue_overflow, 1);
		return;
	}
	q = malloc(sizeof(*q) + chan_len + len);
	if (q == NULL) {
		stats_add(&b->st->redis_queue_overflow, 1);
		return;
	}
	/* beyond redis_queue_max or redis_queue_bytes the oldest go */
	while (b->qlen > 0 && (b->qlen == b->qcap || b->qbytes + chan_len + len > b->qbytes_max)) {
		queue_pop(b);
		stats_add(&b->st->redis_queue_overflow, 1);
	}
	if (chan_len + len > b->qbytes_max) {
		free(q);
		stats_add(&b->st->redis_queue_overflow, 1);
		stats_set(&b->st->redis_queued, b->qlen);
		return;
	}
	q->t_ms = mloop_now_ms();
	q->chan_len = chan_len;
	q->len = len;
	memcpy(q->data, chan, chan_len);
	memcpy(q->data + chan_len, data, len);
	b->q[(b->qhead + b->qlen) % b->qcap] = q;
	b->qlen++;
	b->qbytes += chan_len + len;
	stats_set(&b->st->redis_queued, b->qlen);
}

/*
 * Pub/sub keeps nothing: what we publish right after Redis comes back is
 * lost for every pod whose subscriber link is not back yet (each pod
 * reconnects on its own backoff).  So while up, the broker samples how many
 * subscribers realtime:global has (every pod, ourselves included, always
 * subscribes to it); after an outage, the queue waits until that many are
 * back, or BROKER_GATE_MS at most, before it is published.
 */
static void pub_numsub(struct broker *b);

static void gate_timer_cb(void *arg)
{
	struct broker *b = arg;

	b->gate_timer = 0;
	pub_numsub(b);
}

static void numsub_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct broker *b = privdata;
	const redisReply *rep = r;
	long long n = -1;

	if (rep == NULL || b->freeing)
		return;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_INTEGER)
		n = rep->element[1]->integer;
	if (!b->gated) {
		if (n >= 0)
			b->peers = n;   /* pods come and go: the latest count while up */
		return;
	}
	if (n >= b->peers || mloop_now_ms() >= b->gate_until) {
		if (n < b->peers)
			log_notice("redis: %lld of %lld pods resubscribed after %d ms; "
				   "publishing the queue now", n, b->peers, BROKER_GATE_MS);
		b->gated = 0;
		pub_flush(b);
		return;
	}
	b->gate_timer = mloop_timer(b->loop, BROKER_GATE_POLL_MS, gate_timer_cb, b);
}

static void pub_numsub(struct broker *b)
{
	const char *argv[3] = { "PUBSUB", "NUMSUB", CHAN_GLOBAL };
	size_t argl[3] = { 6, 6, sizeof(CHAN_GLOBAL) - 1 };

	if (!b->pub.ready ||
	    redisAsyncCommandArgv(b->pub.ac, numsub_cb, b, 3, argv, argl) != REDIS_OK) {
		b->gated = 0;      /* cannot ask: do not hold the queue on a guess */
		pub_flush(b);
	}
}

/* pub is up again: hold a non-empty queue until the pods are back. */
static void pub_gate(struct broker *b)
{
	if (b->qlen == 0 || b->peers <= 0 || b->gated)
		return;
	log_info("redis: holding %zu queued messages until %lld subscribers of %s are back",
		 b->qlen, b->peers, CHAN_GLOBAL);
	b->gated = 1;
	b->gate_until = mloop_now_ms() + BROKER_GATE_MS;
	pub_numsub(b);
}

/* Bytes hiredis holds unsent for a Redis that reads slowly. */
static size_t pub_obuf(const struct broker *b)
{
	return b->pub.ac != NULL ? sdslen(b->pub.ac->c.obuf) : 0;
}

/* Send what waited, oldest first, while pub is usable. */
static void pub_flush(struct broker *b)
{
	queue_expire(b, mloop_now_ms());
	while (!b->gated && b->qlen > 0 && b->pub.ready && b->inflight < BROKER_PUB_INFLIGHT &&
	       pub_obuf(b) <= b->qbytes_max) {
		struct qent *q = b->q[b->qhead];
		if (pub_send(b, q->data, q->chan_len, q->data + q->chan_len, q->len) < 0)
			break;
		queue_pop(b);
	}
	stats_set(&b->st->redis_queued, b->qlen);
}

/* Master only.  Encodes once; sends now when pub is usable, else queues
 * (bounded by redis_queue_max / redis_queue_age_ms, counted). */
void broker_publish(struct broker *b, const char *room, size_t room_len,
		    const char *frame, size_t frame_len)
{
	char chan[CHAN_ROOM_LEN + CHATD_ROOM_MAX];
	size_t chan_len;

	if (b == NULL || room_len > CHATD_ROOM_MAX)
		return;
	if (room_len == 0) {
		memcpy(chan, CHAN_GLOBAL, sizeof(CHAN_GLOBAL) - 1);
		chan_len = sizeof(CHAN_GLOBAL) - 1;
	} else {
		memcpy(chan, CHAN_ROOM, CHAN_ROOM_LEN);
		memcpy(chan + CHAN_ROOM_LEN, room, room_len);
		chan_len = CHAN_ROOM_LEN + room_len;
	}
	msgpack_sbuffer_clear(&b->sb);
	if (envelope_encode(&b->sb, b->pod, b->pod_len, room, room_len, frame, frame_len) < 0) {
		log_warn("redis: cannot encode an envelope (%zu bytes)", frame_len);
		return;
	}
	/* Keep order: nothing overtakes what is already queued. */
	if (b->pub.ready && !b->gated && b->qlen == 0 && b->inflight < BROKER_PUB_INFLIGHT &&
	    pub_obuf(b) + b->sb.size <= b->qbytes_max &&
	    pub_send(b, chan, chan_len, b->sb.data, b->sb.size) == 0)
		return;
	queue_push(b, chan, chan_len, b->sb.data, b->sb.size);
}

/* ---- connection lifecycle ------------------------------------------------ */

static void link_ready(struct link *l)
{
	struct broker *b = l->b;

	l->ready = 1;
	l->failed = 0;
	l->backoff_ms = 0;
	if (l->conn_timer) {
		mloop_timer_cancel(b->loop, l->conn_timer);
		l->conn_timer = 0;
	}
	if (!l->was_up)
		log_notice("redis %s link to %s:%d up", l->name, b->url.host, b->url.port);
	l->was_up = 1;
	if (l->kind == LINK_SUB)
		sub_resubscribe(b);
	else if (b->qlen > 0 && b->peers > 0)
		pub_gate(b);
	else
		pub_numsub(b);      /* learn how many pods there are */
	broker_update_state(b);
	pub_flush(b);
}

static void handshake_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct link *l = privdata;
	const redisReply *rep = r;

	if (rep == NULL || l->b->freeing || l->ac != ac)
		return;
	if (rep->type == REDIS_REPLY_ERROR) {
		if (!l->failed)
			log_warn("redis %s link: %s", l->name, rep->str);
		redisAsyncDisconnect(ac);
		return;
	}
	if (--l->handshake == 0)
		link_ready(l);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
	struct link *l = cac->data;
	struct broker *b;

	if (l == NULL)
		return;
	b = l->b;
	if (status != REDIS_OK) {
		link_lost(l, cac->errstr);   /* hiredis frees the context */
		return;
	}
	redisEnableKeepAlive(&l->ac->c);
	l->handshake = 0;
	if (b->url.password[0] != '\0') {
		const char *argv[2] = { "AUTH", b->url.password };
		size_t argl[2] = { 4, strlen(b->url.password) };
		if (redisAsyncCommandArgv(l->ac, handshake_cb, l, 2, argv, argl) == REDIS_OK)
			l->handshake++;
	}
	if (l->kind == LINK_PUB && b->url.db != 0 &&
	    redisAsyncCommand(l->ac, handshake_cb, l, "SELECT %d", b->url.db) == REDIS_OK)
		l->handshake++;
	/* Nothing to say: PING, so that a Redis that wants a password refuses
	 * now (NOAUTH, logged once, backed off) rather than on the first
	 * SUBSCRIBE after the link was declared up (a flapping link). */
	if (l->handshake == 0 &&
	    redisAsyncCommand(l->ac, handshake_cb, l, "PING") == REDIS_OK)
		l->handshake++;
	if (l->handshake == 0)
		link_ready(l);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
	struct link *l = cac->data;

	if (l == NULL)
		return;
	link_lost(l, status == REDIS_OK ? "closed" : cac->errstr);
}

/* Forget a lookup (link_close): cancel it, or leak it if glibc's helper
 * thread still owns it. */
static void resolve_drop(struct link *l)
{
	struct resolve *r = l->res;

	l->res = NULL;
	if (r == NULL)
		return;
	if (gai_cancel(&r->cb) == EAI_NOTCANCELED)
		return;
	if (gai_error(&r->cb) == 0 && r->cb.ar_result != NULL)
		freeaddrinfo(r->cb.ar_result);
	free(r);
}

/* 1: still running; 0: done, ip filled (IPv4 first, as hiredis would);
 * -1: failed, why filled.  The lookup is released unless still running. */
static int resolve_result(struct link *l, char *ip, size_t iplen, char *why, size_t whylen)
{
	struct resolve *r = l->res;
	const struct addrinfo *ai, *pick = NULL;
	int rc = gai_error(&r->cb);

	if (rc == EAI_INPROGRESS)
		return 1;
	if (rc != 0) {
		snprintf(why, whylen, "cannot resolve: %s", gai_strerror(rc));
		l->res = NULL;
		free(r);
		return -1;
	}
	for (ai = r->cb.ar_result; ai != NULL; ai = ai->ai_next)
		if (pick == NULL || (ai->ai_family == AF_INET && pick->ai_family != AF_INET))
			pick = ai;
	rc = -1;
	if (pick != NULL && pick->ai_family == AF_INET)
		rc = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)pick->ai_addr)->sin_addr,
			       ip, (socklen_t)iplen) ? 0 : -1;
	else if (pick != NULL && pick->ai_family == AF_INET6)
		rc = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)pick->ai_addr)->sin6_addr,
			       ip, (socklen_t)iplen) ? 0 : -1;
	if (rc < 0)
		snprintf(why, whylen, "cannot resolve: no usable address");
	freeaddrinfo(r->cb.ar_result);
	l->res = NULL;
	free(r);
	return rc;
}

static void link_connect_ip(struct link *l, const char *ip);
static void link_resolve_poll(struct link *l);

static void link_resolve_cb(void *arg)
{
	struct link *l = arg;

	l->resolve_timer = 0;
	link_resolve_poll(l);
}

static void link_resolve_poll(struct link *l)
{
	char ip[INET6_ADDRSTRLEN], why[160];

	switch (resolve_result(l, ip, sizeof(ip), why, sizeof(why))) {
	case 1:
		l->resolve_timer = mloop_timer(l->b->loop, BROKER_RESOLVE_POLL_MS, link_resolve_cb, l);
		break;
	case 0:
		link_connect_ip(l, ip);
		break;
	default:
		link_lost(l, why);
	}
}

/* Start (or, after a timeout, keep waiting for) the lookup of the host. */
static void link_resolve(struct link *l)
{
	struct resolve *r = l->res;
	struct gaicb *list[1];
	int rc;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL) {
			link_lost(l, "out of memory");
			return;
		}
		snprintf(r->host, sizeof(r->host), "%s", l->b->url.host);
		r->hints.ai_family = AF_UNSPEC;
		r->hints.ai_socktype = SOCK_STREAM;
		r->cb.ar_name = r->host;
		r->cb.ar_request = &r->hints;
		list[0] = &r->cb;
		rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
		if (rc != 0) {
			free(r);
			link_lost(l, gai_strerror(rc));
			return;
		}
		l->res = r;
	}
	link_resolve_poll(l);
}

static void link_timeout_cb(void *arg)
{
	struct link *l = arg;
	redisAsyncContext *ac = l->ac;

	l->conn_timer = 0;
	if (ac == NULL) {
		/* Still resolving: l->res stays, the next attempt reuses it. */
		if (l->resolve_timer)
			link_lost(l, "name lookup timeout");
		return;
	}
	/* Our callbacks must not see this context again. */
	ac->data = NULL;
	link_lost(l, "connect timeout");
	redisAsyncFree(ac);
}

static int host_is_numeric(const char *h)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

/* One attempt: resolve if needed, connect, AUTH/SELECT; all within
 * redis_connect_timeout_ms. */
static void link_connect(struct link *l)
{
	struct broker *b = l->b;

	l->conn_timer = mloop_timer(b->loop, (uint64_t)b->conn_timeout_ms, link_timeout_cb, l);
	broker_update_state(b);
	if (host_is_numeric(b->url.host))
		link_connect_ip(l, b->url.host);
	else
		link_resolve(l);
}

static void link_connect_ip(struct link *l, const char *ip)
{
	struct broker *b = l->b;
	redisAsyncContext *ac = redisAsyncConnect(ip, b->url.port);

	if (ac == NULL || ac->err) {
		/* Before the context is attached there is nothing in the loop. */
		char why[128];
		snprintf(why, sizeof(why), "%s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		link_lost(l, why);
		return;
	}
	l->ac = ac;
	ac->data = l;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	adapter_attach(l);
}
/* ---- interest ------------------------------------------------------------ */

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
		if (it == NULL) {
			it = calloc(1, sizeof(*it) + CHAN_ROOM_LEN + room_len + 1);
			if (it == NULL) {
				log_error("redis: out of memory subscribing to a room");
				return;
			}
			memcpy(it->chan, CHAN_ROOM, CHAN_ROOM_LEN);
			memcpy(it->chan + CHAN_ROOM_LEN, room, room_len);
			it->room_len = room_len;
			*pp = it;
			b->nrooms++;
			sub_send(b, "SUBSCRIBE", it->chan, CHAN_ROOM_LEN + room_len);
		}
		it->mask[slot / 64] |= 1ull << (slot % 64);
		return;
	}
	if (it == NULL)
		return;
	it->mask[slot / 64] &= ~(1ull << (slot % 64));
	if (mask_empty(it)) {
		sub_send(b, "UNSUBSCRIBE", it->chan, CHAN_ROOM_LEN + room_len);
		*pp = it->next;
		free(it);
		b->nrooms--;
	}
}

/* Master only: clear slot's bit in every room, unsubscribing emptied ones. */
void broker_slot_gone(struct broker *b, int slot)
{
	if (b == NULL || slot < 0 || slot >= CHATD_SLOTS)
		return;
	for (size_t k = 0; k < b->nbuckets; k++) {
		struct interest **pp = &b->buckets[k];
		while (*pp != NULL) {
			struct interest *it = *pp;
			it->mask[slot / 64] &= ~(1ull << (slot % 64));
			if (!mask_empty(it)) {
				pp = &it->next;
				continue;
			}
			sub_send(b, "UNSUBSCRIBE", it->chan, CHAN_ROOM_LEN + it->room_len);
			*pp = it->next;
			free(it);
			b->nrooms--;
		}
	}
}

/* ---- life ------------------------------------------------------------------ */

static void broker_tick(void *arg)
{
	struct broker *b = arg;

	queue_expire(b, mloop_now_ms());
	if (b->pub.ready && !b->gated)
		pub_numsub(b);     /* how many pods to wait for after an outage */
	b->tick_timer = mloop_timer(b->loop, BROKER_TICK_MS, broker_tick, b);
}

static void link_init(struct broker *b, struct link *l, enum link_kind kind)
{
	l->b = b;
	l->kind = kind;
	l->name = kind == LINK_SUB ? "sub" : "pub";
	l->fd = -1;
}

/* Master only.  Copies what it needs from c; starts both links at once
 * (a failure is retried, never fatal).  NULL + err on a bad URL. */
struct broker *broker_new(const struct conf *c, struct mloop *loop, const char *pod_id,
			  struct master_stats *st, broker_deliver_fn deliver, void *arg,
			  char *err, size_t errlen)
{
	struct broker *b;
	char why[128];
	int rc;

	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		url_err(err, errlen, "redis: out of memory");
		return NULL;
	}
	rc = redis_url_parse(c->redis_url, &b->url, why, sizeof(why));
	if (rc != 0 || strlen(pod_id) >= sizeof(b->pod) || pod_id[0] == '\0') {
		if (rc < 0)
			snprintf(err, errlen, "redis_url: %s", why);
		else if (rc == 1)
			url_err(err, errlen, "redis_url: Redis is off");
		else if (rc == 0)
			url_err(err, errlen, "redis: bad pod id");
		free(b);
		return NULL;
	}
	b->loop = loop;
	b->st = st;
	b->deliver = deliver;
	b->arg = arg;
	b->pod_len = strlen(pod_id);
	memcpy(b->pod, pod_id, b->pod_len);
	b->conn_timeout_ms = c->redis_connect_timeout_ms > 0 ? c->redis_connect_timeout_ms : 1000;
	b->qcap = c->redis_queue_max > 0 ? (size_t)c->redis_queue_max : 0;
	b->qage_ms = c->redis_queue_age_ms > 0 ? (uint64_t)c->redis_queue_age_ms : 0;
	b->qbytes_max = c->redis_queue_bytes;
	b->nbuckets = 64;
	b->buckets = calloc(b->nbuckets, sizeof(*b->buckets));
	b->q = calloc(b->qcap ? b->qcap : 1, sizeof(*b->q));
	b->rnd = (unsigned)(room_hash(pod_id, b->pod_len) ^ mloop_now_ms());
	msgpack_sbuffer_init(&b->sb);
	link_init(b, &b->sub, LINK_SUB);
	link_init(b, &b->pub, LINK_PUB);
	b->tick_timer = mloop_timer(loop, BROKER_TICK_MS, broker_tick, b);
	if (b->buckets == NULL || b->q == NULL || b->tick_timer == 0) {
		url_err(err, errlen, "redis: out of memory");
		broker_free(b);
		return NULL;
	}
	stats_set(&st->redis_state, 1);
	link_connect(&b->sub);
	link_connect(&b->pub);
	return b;
}

static void link_close(struct link *l)
{
	struct broker *b = l->b;
	redisAsyncContext *ac = l->ac;

	if (l->conn_timer)
		mloop_timer_cancel(b->loop, l->conn_timer);
	if (l->retry_timer)
		mloop_timer_cancel(b->loop, l->retry_timer);
	if (l->resolve_timer)
		mloop_timer_cancel(b->loop, l->resolve_timer);
	l->conn_timer = l->retry_timer = l->resolve_timer = 0;
	resolve_drop(l);
	if (ac != NULL) {
		l->ac = NULL;
		redisAsyncFree(ac);     /* runs our callbacks with NULL replies */
	}
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
	if (b->gate_timer)
		mloop_timer_cancel(b->loop, b->gate_timer);
	link_close(&b->sub);
	link_close(&b->pub);
	while (b->qlen > 0)
		queue_pop(b);
	for (size_t k = 0; b->buckets != NULL && k < b->nbuckets; k++) {
		struct interest *it = b->buckets[k], *next;
		for (; it != NULL; it = next) {
			next = it->next;
			free(it);
		}
	}
	free(b->buckets);
	free(b->q);
	msgpack_sbuffer_destroy(&b->sb);
	stats_set(&b->st->redis_state, 0);
	stats_set(&b->st->redis_queued, 0);
	stats_set(&b->st->redis_subscribed_rooms, 0);
	free(b);
}
