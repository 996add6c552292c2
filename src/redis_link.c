/* SPDX-License-Identifier: MIT */
/*
 * redis_link.c - one hiredis async connection driven by the master's mloop,
 * and how it comes back.  An attempt resolves the host (getaddrinfo_a,
 * polled from a timer: hiredis would call a blocking getaddrinfo, and a
 * dead DNS server must not stall the master's loop), connects to the
 * numeric address without blocking, then AUTHs / SELECTs (or PINGs); all of
 * it within connect_timeout_ms.  A failed attempt, a refused handshake or a
 * dropped connection is retried after a capped exponential backoff with
 * jitter.  The owner hears CONNECTING / RETRYING / UP / DOWN and sends its
 * commands while the link is ready.
 *
 * hiredis 0.14.1 traps handled here: it frees the context itself after a
 * failed connect or a disconnect (we drop our pointer in those callbacks);
 * reply callbacks fire with reply == NULL while the context is freed; the
 * connect callback only runs once the socket is polled for writing, so the
 * adapter asks for EPOLLOUT as soon as it is attached.
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

#include "log.h"
#include "redis_link.h"

#define LINK_BACKOFF_MIN_MS  100
#define LINK_BACKOFF_MAX_MS  1600  /* so a returning Redis is used within ~2 s */
#define LINK_RESOLVE_POLL_MS 10

/* A name lookup in flight (getaddrinfo_a).  Owned by its link; if it
 * cannot be cancelled when the link goes away, glibc's helper thread
 * still writes into it, so it is leaked on purpose. */
struct resolve {
	struct gaicb    cb;
	struct addrinfo hints;
	char            host[256];
};

/* Two per broker (sub, pub).  `ac` is owned by hiredis once connected: it
 * frees it after the disconnect / failed-connect callbacks, where we drop it. */
struct redis_link {
	struct mloop          *loop;
	struct redis_link_conf c;
	redisAsyncContext     *ac;
	int                    fd;          /* ac's socket, or -1 */
	int                    registered;  /* fd is in the mloop */
	uint32_t               events;
	int                    ready;       /* connected, AUTH/SELECT answered */
	int                    handshake;   /* AUTH/SELECT replies still awaited */
	int                    was_up;      /* has been ready since the last log line */
	int                    failed;      /* an attempt failed since the last ready */
	int                    closing;     /* redis_link_free: tell nobody */
	uint64_t               conn_timer, retry_timer, resolve_timer;
	uint64_t               backoff_ms;
	struct resolve        *res;         /* lookup in flight, or NULL */
};

static void link_connect(struct redis_link *l);

static void link_tell(struct redis_link *l, enum redis_link_event ev)
{
	if (l->c.on_event != NULL)
		l->c.on_event(l, ev, l->c.owner);
}

/* ---- hiredis adapter onto mloop ------------------------------------------ */

static void adapter_io(int fd, uint32_t events, void *arg)
{
	struct redis_link *l = arg;
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
static void adapter_set(struct redis_link *l, uint32_t events)
{
	if (l->fd < 0 || (l->registered && events == l->events))
		return;
	if (!l->registered) {
		if (mloop_add(l->loop, l->fd, events, adapter_io, l) < 0) {
			log_errno(LOG_LVL_ERROR, "redis %s: epoll add", l->c.name);
			return;
		}
		l->registered = 1;
	} else if (mloop_mod(l->loop, l->fd, events) < 0) {
		log_errno(LOG_LVL_ERROR, "redis %s: epoll mod", l->c.name);
		return;
	}
	l->events = events;
}

static void adapter_add_read(void *p)  { struct redis_link *l = p; adapter_set(l, l->events | EPOLLIN); }
static void adapter_del_read(void *p)  { struct redis_link *l = p; adapter_set(l, l->events & ~(uint32_t)EPOLLIN); }
static void adapter_add_write(void *p) { struct redis_link *l = p; adapter_set(l, l->events | EPOLLOUT); }
static void adapter_del_write(void *p) { struct redis_link *l = p; adapter_set(l, l->events & ~(uint32_t)EPOLLOUT); }

static void adapter_cleanup(void *p)
{
	struct redis_link *l = p;

	if (l->registered)
		mloop_del(l->loop, l->fd);
	l->registered = 0;
	l->fd = -1;
	l->events = 0;
}

static void adapter_attach(struct redis_link *l)
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

/* ---- down, backoff, up ------------------------------------------------------ */

static void link_cancel(struct redis_link *l, uint64_t *timer)
{
	if (*timer)
		mloop_timer_cancel(l->loop, *timer);
	*timer = 0;
}

static void link_retry_cb(void *arg)
{
	struct redis_link *l = arg;

	l->retry_timer = 0;
	link_tell(l, REDIS_LINK_RETRYING);
	link_connect(l);
}

static void link_schedule_retry(struct redis_link *l)
{
	uint64_t d;

	if (l->backoff_ms == 0)
		l->backoff_ms = LINK_BACKOFF_MIN_MS;
	/* Full jitter over the upper half: [backoff/2, backoff]. */
	d = l->backoff_ms / 2 + (uint64_t)rand_r(&l->c.seed) % (l->backoff_ms / 2 + 1);
	l->backoff_ms *= 2;
	if (l->backoff_ms > LINK_BACKOFF_MAX_MS)
		l->backoff_ms = LINK_BACKOFF_MAX_MS;
	l->retry_timer = mloop_timer(l->loop, d, link_retry_cb, l);
}

/* The link is unusable now (failed connect, drop, timeout): log the first
 * failure of a run, tell the owner, retry after the backoff. */
static void link_lost(struct redis_link *l, const char *why)
{
	const struct redis_url *u = l->c.url;

	l->ac = NULL;
	l->ready = 0;
	l->handshake = 0;
	link_cancel(l, &l->conn_timer);
	link_cancel(l, &l->resolve_timer);
	if (l->closing)
		return;
	if (l->was_up)
		log_warn("redis %s link to %s:%d down: %s", l->c.name, u->host, u->port, why);
	else if (!l->failed)
		log_warn("redis %s link to %s:%d: cannot connect: %s (retrying)",
			 l->c.name, u->host, u->port, why);
	l->was_up = 0;
	l->failed = 1;
	link_tell(l, REDIS_LINK_DOWN);
	link_schedule_retry(l);
}

static void link_ready(struct redis_link *l)
{
	l->ready = 1;
	l->failed = 0;
	l->backoff_ms = 0;
	link_cancel(l, &l->conn_timer);
	if (!l->was_up)
		log_notice("redis %s link to %s:%d up", l->c.name, l->c.url->host, l->c.url->port);
	l->was_up = 1;
	link_tell(l, REDIS_LINK_UP);
}

/* ---- connect and handshake ---------------------------------------------- */

static void handshake_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_link *l = privdata;
	const redisReply *rep = r;

	if (rep == NULL || l->closing || l->ac != ac)
		return;
	if (rep->type == REDIS_REPLY_ERROR) {
		if (!l->failed)
			log_warn("redis %s link: %s", l->c.name, rep->str);
		redisAsyncDisconnect(ac);
		return;
	}
	if (--l->handshake == 0)
		link_ready(l);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
	struct redis_link *l = cac->data;
	const struct redis_url *u;

	if (l == NULL)
		return;
	u = l->c.url;
	if (status != REDIS_OK) {
		link_lost(l, cac->errstr);   /* hiredis frees the context */
		return;
	}
	redisEnableKeepAlive(&l->ac->c);
	l->handshake = 0;
	if (u->password[0] != '\0') {
		const char *argv[2] = { "AUTH", u->password };
		size_t argl[2] = { 4, strlen(u->password) };
		if (redisAsyncCommandArgv(l->ac, handshake_cb, l, 2, argv, argl) == REDIS_OK)
			l->handshake++;
	}
	if (l->c.select_db && u->db != 0 &&
	    redisAsyncCommand(l->ac, handshake_cb, l, "SELECT %d", u->db) == REDIS_OK)
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
	struct redis_link *l = cac->data;

	if (l == NULL)
		return;
	link_lost(l, status == REDIS_OK ? "closed" : cac->errstr);
}

static void link_connect_ip(struct redis_link *l, const char *ip)
{
	redisAsyncContext *ac = redisAsyncConnect(ip, l->c.url->port);

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

/* ---- name resolution ------------------------------------------------------ */

/* Forget a lookup (redis_link_free): cancel it, or leak it if glibc's
 * helper thread still owns it. */
static void resolve_drop(struct redis_link *l)
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

/* Where the lookup of the host stands. */
enum resolve_state {
	RESOLVE_RUNNING,  /* still running */
	RESOLVE_DONE,     /* ip filled (IPv4 first, as hiredis would) */
	RESOLVE_FAILED    /* why filled */
};

/* The lookup is released unless still running. */
static enum resolve_state resolve_result(struct redis_link *l, char *ip, size_t iplen,
					 char *why, size_t whylen)
{
	struct resolve *r = l->res;
	const struct addrinfo *ai, *pick = NULL;
	int rc = gai_error(&r->cb);

	if (rc == EAI_INPROGRESS)
		return RESOLVE_RUNNING;
	if (rc != 0) {
		snprintf(why, whylen, "cannot resolve: %s", gai_strerror(rc));
		l->res = NULL;
		free(r);
		return RESOLVE_FAILED;
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
	return rc < 0 ? RESOLVE_FAILED : RESOLVE_DONE;
}

static void link_resolve_poll(struct redis_link *l);

static void link_resolve_cb(void *arg)
{
	struct redis_link *l = arg;

	l->resolve_timer = 0;
	link_resolve_poll(l);
}

static void link_resolve_poll(struct redis_link *l)
{
	char ip[INET6_ADDRSTRLEN], why[160];

	switch (resolve_result(l, ip, sizeof(ip), why, sizeof(why))) {
	case RESOLVE_RUNNING:
		l->resolve_timer = mloop_timer(l->loop, LINK_RESOLVE_POLL_MS, link_resolve_cb, l);
		break;
	case RESOLVE_DONE:
		link_connect_ip(l, ip);
		break;
	case RESOLVE_FAILED:
		link_lost(l, why);
	}
}

/* Start (or, after a timeout, keep waiting for) the lookup of the host. */
static void link_resolve(struct redis_link *l)
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
		snprintf(r->host, sizeof(r->host), "%s", l->c.url->host);
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

/* ---- one attempt ------------------------------------------------------------ */

static void link_timeout_cb(void *arg)
{
	struct redis_link *l = arg;
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
 * connect_timeout_ms. */
static void link_connect(struct redis_link *l)
{
	l->conn_timer = mloop_timer(l->loop, (uint64_t)l->c.connect_timeout_ms, link_timeout_cb, l);
	link_tell(l, REDIS_LINK_CONNECTING);
	if (host_is_numeric(l->c.url->host))
		link_connect_ip(l, l->c.url->host);
	else
		link_resolve(l);
}

/* ---- life and use ------------------------------------------------------------ */

struct redis_link *redis_link_new(struct mloop *loop, const struct redis_link_conf *c)
{
	struct redis_link *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->loop = loop;
	l->c = *c;
	if (l->c.connect_timeout_ms <= 0)
		l->c.connect_timeout_ms = 1000;
	l->fd = -1;
	return l;
}

void redis_link_start(struct redis_link *l)
{
	link_connect(l);
}

void redis_link_free(struct redis_link *l)
{
	redisAsyncContext *ac;

	if (l == NULL)
		return;
	ac = l->ac;
	l->closing = 1;
	link_cancel(l, &l->conn_timer);
	link_cancel(l, &l->retry_timer);
	link_cancel(l, &l->resolve_timer);
	resolve_drop(l);
	if (ac != NULL) {
		l->ac = NULL;
		redisAsyncFree(ac);     /* runs the callbacks with NULL replies */
	}
	free(l);
}

int redis_link_ready(const struct redis_link *l)
{
	return l->ready;
}

/* Every command reply but the handshake's: r == NULL while hiredis frees
 * the context, and the owner never hears of those. */
static void link_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_link *l = ac->data;
	struct redis_link_handler *h = privdata;

	if (r == NULL || l == NULL || l->closing)
		return;
	h->fn((const struct redis_reply *)r, h->arg);
}

int redis_link_command(struct redis_link *l, struct redis_link_handler *h,
		       int argc, const char **argv, const size_t *argl)
{
	if (l->ac == NULL)
		return -1;
	return redisAsyncCommandArgv(l->ac, link_reply_cb, h, argc, argv, argl) == REDIS_OK ? 0 : -1;
}

void redis_link_drop(struct redis_link *l)
{
	if (l->ac != NULL)
		redisAsyncDisconnect(l->ac);
}

void redis_link_fail(struct redis_link *l, const char *why)
{
	redisAsyncContext *ac = l->ac;

	if (ac == NULL || l->closing)
		return;
	/* redisAsyncDisconnect would wait for the replies a frozen Redis never
	 * sends: free the context now, and our callbacks must not see it again. */
	ac->data = NULL;
	link_lost(l, why);
	redisAsyncFree(ac);
}

size_t redis_link_unsent(const struct redis_link *l)
{
	return l->ac != NULL ? sdslen(l->ac->c.obuf) : 0;
}

enum redis_state redis_link_state(const struct redis_link *a, const struct redis_link *b)
{
	if (a->ready && b->ready)
		return REDIS_STATE_UP;
	if (a->failed || b->failed || a->was_up || b->was_up)
		return REDIS_STATE_DOWN;
	return REDIS_STATE_CONNECTING;
}

/* ---- replies (struct redis_reply is hiredis's redisReply) ------------------- */

static const redisReply *reply_of(const struct redis_reply *r)
{
	return (const redisReply *)(const void *)r;
}

enum redis_link_rtype redis_link_reply_type(const struct redis_reply *r)
{
	switch (reply_of(r)->type) {
	case REDIS_REPLY_STRING:  return REDIS_LINK_STRING;
	case REDIS_REPLY_ARRAY:   return REDIS_LINK_ARRAY;
	case REDIS_REPLY_INTEGER: return REDIS_LINK_INTEGER;
	case REDIS_REPLY_ERROR:   return REDIS_LINK_ERROR;
	default:                  return REDIS_LINK_OTHER;
	}
}

const char *redis_link_reply_str(const struct redis_reply *r, size_t *len)
{
	const redisReply *rep = reply_of(r);

	*len = rep->str != NULL ? (size_t)rep->len : 0;
	return rep->str != NULL ? rep->str : "";
}

int redis_link_reply_is(const struct redis_reply *r, const char *s, size_t n)
{
	size_t len;
	const char *str = redis_link_reply_str(r, &len);

	return redis_link_reply_type(r) == REDIS_LINK_STRING && len == n && memcmp(str, s, n) == 0;
}

int redis_link_reply_noscript(const struct redis_reply *r)
{
	size_t len;
	const char *s = redis_link_reply_str(r, &len);

	return redis_link_reply_type(r) == REDIS_LINK_ERROR && len >= 8 &&
	       memcmp(s, "NOSCRIPT", 8) == 0;
}

long long redis_link_reply_int(const struct redis_reply *r)
{
	return reply_of(r)->integer;
}

size_t redis_link_reply_count(const struct redis_reply *r)
{
	return reply_of(r)->type == REDIS_REPLY_ARRAY ? reply_of(r)->elements : 0;
}

const struct redis_reply *redis_link_reply_elem(const struct redis_reply *r, size_t i)
{
	return (const struct redis_reply *)(const void *)reply_of(r)->element[i];
}
