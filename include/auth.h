/*
 * auth.h - who may connect, and how much: JWT (HS256) verification, the
 * Origin allow-list, the per-connection message rate (token bucket) and the
 * per-IP connection count.  Pure and fuzzable: no libwebsockets, no logging;
 * errors go back to the caller.  Each worker builds its own struct auth and
 * struct iplimit; nothing here is shared between processes.
 */
#ifndef CHATD_AUTH_H
#define CHATD_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "chatd.h"

struct conf;

/* The longest token accepted, in bytes (header or query). */
#define AUTH_TOKEN_MAX 4096

/* One per worker, made by auth_new() from the worker's conf. */
struct auth;

/* What a valid token says about its holder. */
struct auth_identity {
	char   sub[CHATD_CLIENT_ID_MAX + 1]; /* becomes the connection's `from` */
	time_t expires;                     /* exp + leeway; 0 = the token has no exp */
};

/*
 * Build the verifier from c: the secret is auth_secret, or the contents of
 * auth_secret_file (read once, here; one trailing newline is dropped).
 * Returns NULL with err filled when the file cannot be read or the secret is
 * empty.  Call only when c->auth_enabled.  Free with auth_free().
 */
struct auth *auth_new(const struct conf *c, char *err, size_t len);
void auth_free(struct auth *a);

/*
 * Verify token for a connection to room (NULL or "" = the global channel)
 * at time now.  Returns 0 with *id filled, or the HTTP status to refuse
 * with: 401 (missing, malformed, bad signature, alg other than HS256,
 * expired, not yet valid, no usable sub) or 403 (the "rooms" claim does not
 * allow room).  *why gets a short static reason for the response body.
 */
int auth_verify(const struct auth *a, const char *token, const char *room, time_t now,
		struct auth_identity *id, const char **why);

/* The token of an Authorization header value "Bearer <token>" (the scheme
 * case-insensitive), pointing into hdr; NULL when it is another scheme. */
const char *auth_bearer(const char *hdr);

/*
 * Is origin (NULL: the request had no Origin header) allowed by list, the
 * allowed_origins value (space or comma separated; "" or "*" = any)?
 * Entries match scheme://host[:port] exactly, ignoring case; an entry
 * with "*." in front of the host matches any subdomain of that host.  A request
 * without Origin (not from a browser) is allowed.  1 / 0.
 */
int auth_origin_allowed(const char *list, const char *origin);

/* ---- message rate: a token bucket per connection ------------------------- */

/* One per connection, zeroed at connect (a zeroed bucket starts full). */
struct rate_bucket {
	uint64_t last_ms;     /* last refill, 0 = never */
	uint32_t milli;       /* tokens x 1000 */
	uint32_t strikes;     /* refusals since the last accepted message */
};

/* Take one token at now_ms from a bucket refilled at rate per second, up to
 * burst.  1 = allowed (strikes reset), 0 = refused (strikes counted). */
int rate_take(struct rate_bucket *b, uint64_t now_ms, int rate, int burst);

/* ---- connections per client address ---------------------------------------- */

/* One per worker: counts of open connections by client address. */
struct iplimit;
/* A connection's hold on its address's count, from iplimit_acquire(). */
struct ip_hold;

struct iplimit *iplimit_new(void);       /* NULL on ENOMEM */
void iplimit_free(struct iplimit *l);    /* every hold must be released first */

/*
 * Count one more connection from addr (4 bytes IPv4 or 16 bytes IPv6) if it
 * has fewer than max (0 = no limit).  Returns the hold to release when the
 * connection ends, or NULL when the limit is reached (*full = 1) or memory
 * ran out (*full = 0).
 */
struct ip_hold *iplimit_acquire(struct iplimit *l, const void *addr, size_t len, int max,
				int *full);
void iplimit_release(struct ip_hold *h);  /* NULL is harmless */
/* Open connections counted for addr. */
int iplimit_count(const struct iplimit *l, const void *addr, size_t len);
/* Mark / test that the connection sent a complete HTTP request head. */
void iplimit_hold_seen(struct ip_hold *h);
int iplimit_hold_was_seen(const struct ip_hold *h);

#endif
