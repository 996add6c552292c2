/* SPDX-License-Identifier: MIT */
/*
 * auth.h - who may connect, and how much: JWT (HS256) verification, the
 * Origin allow-list (the message rate and the connections per address are
 * limit.h's).  Pure and fuzzable: no libwebsockets, no logging; errors go
 * back to the caller.  Each worker builds its own struct auth; nothing here
 * is shared between processes.
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

/* What auth_verify() decided; the caller maps it to its protocol's answer. */
enum auth_result {
	AUTH_OK,          /* valid, and room is allowed */
	AUTH_INVALID,     /* missing, malformed, bad signature, alg other than HS256,
			   * expired, not yet valid, no usable sub, bad "rooms" */
	AUTH_FORBIDDEN    /* valid, but the "rooms" claim does not allow room */
};

/*
 * Verify token for a connection to room (NULL or "" = the global channel)
 * at time now.  AUTH_OK with *id filled, or why not with err filled (a
 * short sentence without quotes, for the response body).
 */
enum auth_result auth_verify(const struct auth *a, const char *token, const char *room,
			     time_t now, struct auth_identity *id, char *err, size_t errlen);

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

#endif
