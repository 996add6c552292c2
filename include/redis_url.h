/* SPDX-License-Identifier: MIT */
/*
 * redis_url.h - the one parser of redis_url values, and their printable
 * (password-masked) form.  A leaf: errors go to the caller's buffer, never
 * to the log.  Used by conf.c (validation) and the broker (connecting).
 */
#ifndef CHATD_REDIS_URL_H
#define CHATD_REDIS_URL_H

#include <stddef.h>

/* Parsed redis://[:password@]host:port[/db] */
struct redis_url {
	char host[256];       /* a name, or an address without its [] */
	int  port;
	char password[256];   /* "" = no AUTH */
	int  db;
};

/* What redis_url_parse() found. */
enum redis_url_rc {
	REDIS_URL_SET,   /* a valid URL, in *out */
	REDIS_URL_OFF,   /* "off", "" or NULL: Redis disabled */
	REDIS_URL_BAD    /* invalid: err filled */
};

/*
 * Parse url into *out.  An invalid one gives REDIS_URL_BAD with err (may be
 * NULL) filled with the reason, e.g. "bad port (1-65535)"; the caller names
 * the directive.  The password may be %-escaped; the port is required; db
 * defaults to 0.
 */
enum redis_url_rc redis_url_parse(const char *url, struct redis_url *out, char *err,
				  size_t errlen);

/*
 * The printable form of a redis_url value, for logs and error messages: the
 * password (whatever comes before the last '@') becomes "***", as in
 * redis://:***@host:6379/0; any text without '@' is copied as it is.  Also
 * safe on values that are not valid URLs.  Returns buf (truncated to len).
 */
const char *redis_url_masked(const char *url, char *buf, size_t len);

#endif
