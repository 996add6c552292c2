/* SPDX-License-Identifier: MIT */
/*
 * redis_link.h - one connection to Redis, kept up: the hiredis adapter onto
 * the master's mloop, name resolution that never blocks, connect with a
 * timeout, AUTH / SELECT, and reconnecting with capped backoff and jitter.
 * The only module that includes hiredis; its users see replies through the
 * accessors below.  Master only.
 */
#ifndef CHATD_REDIS_LINK_H
#define CHATD_REDIS_LINK_H

#include <stddef.h>
#include "mloop.h"
#include "redis_url.h"
#include "shm.h"

struct redis_link;
struct redis_reply;     /* a reply; valid only during its handler */

/* What happened to a link, told to its owner. */
enum redis_link_event {
	REDIS_LINK_CONNECTING,  /* an attempt starts */
	REDIS_LINK_RETRYING,    /* the backoff ran out: a new attempt follows */
	REDIS_LINK_UP,          /* connected, AUTH / SELECT answered */
	REDIS_LINK_DOWN,        /* failed, dropped or timed out; a retry is scheduled */
};

typedef void (*redis_link_event_fn)(struct redis_link *l, enum redis_link_event ev, void *owner);

/* How to reach Redis; copied by redis_link_new except url, which must
 * outlive the link. */
struct redis_link_conf {
	const char             *name;        /* "sub" / "pub", for the log */
	const struct redis_url *url;
	int                     select_db;   /* send SELECT url->db when it is not 0 */
	int                     connect_timeout_ms;
	unsigned                seed;        /* for the backoff jitter */
	redis_link_event_fn     on_event;
	void                   *owner;
};

/* A command's reply handler: fn(r, arg), r never NULL.  The object must
 * outlive the link's connection (a field of the owner, freed after it). */
struct redis_link_handler {
	void (*fn)(const struct redis_reply *r, void *arg);
	void  *arg;
};

/* A new link, not connecting yet; NULL on ENOMEM. */
struct redis_link *redis_link_new(struct mloop *loop, const struct redis_link_conf *c);
/* First attempt; never blocks.  Failures are retried, never fatal. */
void redis_link_start(struct redis_link *l);
/* Close and free; no event is told.  NULL is fine.  Not from a handler. */
void redis_link_free(struct redis_link *l);

/* 1 while connected and past AUTH / SELECT. */
int redis_link_ready(const struct redis_link *l);
/* Queue a command (argv[i] is argl[i] bytes); h gets the reply.  0, or -1
 * when the link has no connection or hiredis refuses. */
int redis_link_command(struct redis_link *l, struct redis_link_handler *h,
		       int argc, const char **argv, const size_t *argl);
/* Drop the connection (it is retried); for a link the owner cannot use. */
void redis_link_drop(struct redis_link *l);
/* Close the connection at once, its pending replies forgotten (a Redis that
 * stopped answering), and retry; the owner hears DOWN with why in the log.
 * Not from a reply handler. */
void redis_link_fail(struct redis_link *l, const char *why);
/* Bytes hiredis holds unsent (a Redis that reads slowly); 0 when down. */
size_t redis_link_unsent(const struct redis_link *l);

/* The state two links make together, as shm's redis_state shows it:
 * up when both are, down once one has failed or dropped, else connecting. */
enum redis_state redis_link_state(const struct redis_link *a, const struct redis_link *b);

/* Reply accessors. */
enum redis_link_rtype {
	REDIS_LINK_STRING, REDIS_LINK_ARRAY, REDIS_LINK_INTEGER, REDIS_LINK_ERROR, REDIS_LINK_OTHER
};
enum redis_link_rtype redis_link_reply_type(const struct redis_reply *r);
/* A string's (or an error's) bytes, NUL-terminated; *len gets the length. */
const char *redis_link_reply_str(const struct redis_reply *r, size_t *len);
/* Is r a string of exactly s[0..n)? */
int redis_link_reply_is(const struct redis_reply *r, const char *s, size_t n);
/* Is r the error of an EVALSHA whose script Redis does not have (NOSCRIPT:
 * a SCRIPT FLUSH, a restart)?  1 or 0. */
int redis_link_reply_noscript(const struct redis_reply *r);
long long redis_link_reply_int(const struct redis_reply *r);
/* An array's length (0 for other types) and its element i (i < length). */
size_t redis_link_reply_count(const struct redis_reply *r);
const struct redis_reply *redis_link_reply_elem(const struct redis_reply *r, size_t i);

#endif
