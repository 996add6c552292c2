/* SPDX-License-Identifier: MIT */
/*
 * redis_url.c - parse redis://[:password@]host:port[/db] (hiredis 0.14 has
 * no URL parser) and mask its password for the log.  A leaf: the caller
 * logs.  conf.c validates with it and the broker connects with it, so a
 * value `chatd -t` accepts is one the broker can use.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "redis_url.h"

static int url_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) into out (size outsz).  0 / -1. */
static int url_unescape(const char *s, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int h = url_hex(s[i + 1]), lo = url_hex(s[i + 2]);
			if (h < 0 || lo < 0)
				return -1;
			c = h * 16 + lo;
			i += 2;
		}
		if (c == 0 || o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* Decimal in [min, max]: digits only. */
static int url_number(const char *s, size_t n, long min, long max, int *out)
{
	long v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* ":password" - no user name: AUTH takes one argument in this hiredis. */
static int url_userinfo(const char *s, size_t n, struct redis_url *u, char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', n);

	if (colon == NULL)
		return errbuf_set(err, errlen, "expected ':password@' before the host");
	if (colon != s)
		return errbuf_set(err, errlen, "user names are not supported "
			          "(use redis://:password@host:port)");
	if (url_unescape(colon + 1, n - 1, u->password, sizeof(u->password)) < 0)
		return errbuf_set(err, errlen, "bad or too long password");
	return 0;
}

/* A host name (letters, digits, . - _) or, bracketed, an IPv6 address. */
static int url_host_ok(const char *h, size_t n, int bracketed)
{
	if (bracketed && memchr(h, ':', n) == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (bracketed ? !isxdigit(c) && c != ':' && c != '.'
			      : !isalnum(c) && c != '.' && c != '-' && c != '_')
			return 0;
	}
	return 1;
}

/* host or [v6addr], then :port. */
static int url_hostport(const char *s, size_t n, struct redis_url *u, char *err, size_t errlen)
{
	const char *h = s, *rest;
	size_t hlen;

	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (rb == NULL)
			return errbuf_set(err, errlen, "missing ']' after IPv6 address");
		h = s + 1;
		hlen = (size_t)(rb - h);
		rest = rb + 1;
	} else {
		const char *c = memchr(s, ':', n);
		hlen = c ? (size_t)(c - s) : n;
		rest = s + hlen;
	}
	if (hlen == 0 || hlen >= sizeof(u->host))
		return errbuf_set(err, errlen, "missing or too long host");
	if (!url_host_ok(h, hlen, h != s))
		return errbuf_set(err, errlen, "bad character in host");
	memcpy(u->host, h, hlen);
	u->host[hlen] = '\0';
	size_t rlen = (size_t)(s + n - rest);
	if (rlen == 0 || rest[0] != ':' || url_number(rest + 1, rlen - 1, 1, 65535, &u->port) < 0)
		return errbuf_set(err, errlen, "missing or bad port (1-65535)");
	return 0;
}

/* The scheme and what may not appear anywhere. */
static int url_scheme(const char *url, char *err, size_t errlen)
{
	if (strncasecmp(url, "rediss://", 9) == 0)
		return errbuf_set(err, errlen, "TLS (rediss://) is not supported");
	if (strncmp(url, "redis://", 8) != 0)
		return errbuf_set(err, errlen, "expected redis://[:password@]host:port[/db] or off");
	if (strpbrk(url + 8, "?# \t\r\n") != NULL)
		return errbuf_set(err, errlen, "unexpected query, fragment or space");
	return 0;
}

enum redis_url_rc redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errlen)
{
	const char *p, *at, *slash, *end;

	memset(out, 0, sizeof(*out));
	if (url == NULL || url[0] == '\0' || strcasecmp(url, "off") == 0)
		return REDIS_URL_OFF;
	if (url_scheme(url, err, errlen) < 0)
		return REDIS_URL_BAD;
	p = url + 8;
	end = p + strlen(p);
	slash = memchr(p, '/', (size_t)(end - p));
	if (slash == NULL)
		slash = end;
	at = memrchr(p, '@', (size_t)(slash - p));
	if (at != NULL) {
		if (url_userinfo(p, (size_t)(at - p), out, err, errlen) < 0)
			return REDIS_URL_BAD;
		p = at + 1;
	}
	if (url_hostport(p, (size_t)(slash - p), out, err, errlen) < 0)
		return REDIS_URL_BAD;
	if (slash < end &&
	    url_number(slash + 1, (size_t)(end - slash - 1), 0, INT_MAX, &out->db) < 0) {
		errbuf_set(err, errlen, "bad database number");
		return REDIS_URL_BAD;
	}
	return REDIS_URL_SET;
}

const char *redis_url_masked(const char *url, char *buf, size_t len)
{
	const char *scheme = strstr(url, "://"), *at = strrchr(url, '@');
	int keep = scheme != NULL && (at == NULL || scheme < at) ? (int)(scheme + 3 - url) : 0;

	if (at == NULL)
		snprintf(buf, len, "%s", url);
	else
		snprintf(buf, len, "%.*s:***%s", keep, url, at);
	return buf;
}
