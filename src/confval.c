/* SPDX-License-Identifier: MIT */
/*
 * confval.c - a line of a configuration file split into key and value, and
 * the values of configuration directives: text to numbers,
 * addresses and prefixes (the parsers conf.c's setters call), and values
 * back to the text a file would hold (for `chatd -t` and error messages).
 * A leaf: pure functions, errors are -1 for the caller to word (the listen
 * lines, which can clash with each other, word theirs in err), nothing logs.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "confval.h"
#include "errbuf.h"

/* ---- text to values ------------------------------------------------------ */

/* Digits then an optional suffix; *rest points at the suffix.  0 / -1. */
static int confval_digits(const char *s, long long *v, const char **rest)
{
	long long n = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (n > (LLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	*v = n;
	*rest = s;
	return 0;
}

static int confval_scale(long long n, long long unit, long long *out)
{
	if (n > LLONG_MAX / unit)
		return -1;
	*out = n * unit;
	return 0;
}

/* Parse "500ms" "3s" "2m" "1h" or a bare number of seconds into ms. 0 / -1 */
int confval_parse_duration_ms(const char *s, long long *ms)
{
	static const struct { const char *suffix; long long unit; } units[] = {
		{ "", CONFVAL_SEC }, { "ms", 1 }, { "s", CONFVAL_SEC }, { "m", CONFVAL_MIN }, { "h", CONFVAL_HOUR },
	};
	const char *rest;
	long long n;

	if (confval_digits(s, &n, &rest) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(rest, units[i].suffix) == 0)
			return confval_scale(n, units[i].unit, ms);
	return -1;
}

/* Parse "65536" "64k" "16m" "1g" (1024-based, either case) into bytes. 0 / -1 */
int confval_parse_size(const char *s, long long *bytes)
{
	const char *rest;
	long long n, unit;

	if (confval_digits(s, &n, &rest) < 0)
		return -1;
	switch (tolower((unsigned char)rest[0])) {
	case '\0': unit = 1; break;
	case 'k': unit = CONFVAL_KB; break;
	case 'm': unit = CONFVAL_MB; break;
	case 'g': unit = CONFVAL_GB; break;
	default: return -1;
	}
	if (rest[0] != '\0' && rest[1] != '\0')
		return -1;
	return confval_scale(n, unit, bytes);
}

int confval_parse_bool(const char *s, int *b)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*b = strcasecmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return -1;
}

int confval_parse_int(const char *s, long long *v)
{
	const char *rest;

	if (*s == '-') {
		if (confval_digits(s + 1, v, &rest) < 0 || *rest != '\0')
			return -1;
		*v = -*v;
		return 0;
	}
	return confval_digits(s, v, &rest) < 0 || *rest != '\0' ? -1 : 0;
}

static int confval_port(const char *s, int *port)
{
	long long p;
	const char *rest;

	if (confval_digits(s, &p, &rest) < 0 || *rest != '\0' || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static int confval_hostname_ok(const char *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' && h[i] != '_')
			return 0;
	return n > 0;
}

static int confval_v6_ok(const char *h, size_t n)
{
	if (memchr(h, ':', n) == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
			return 0;
	return 1;
}

/*
 * Split "host:port" or "[v6]:port" at s; the host (brackets removed) goes to
 * *h / *hn, the port text to *p, and a host name (not a bracketed address)
 * is checked.  0 / -1
 */
static int confval_split_hostport(const char *s, const char **h, size_t *hn, const char **p)
{
	const char *colon;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':' || !confval_v6_ok(s + 1, (size_t)(close - s - 1)))
			return -1;
		*h = s + 1;
		*hn = (size_t)(close - s - 1);
		*p = close + 2;
		return 0;
	}
	colon = strrchr(s, ':');
	if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
		return -1;     /* no port, or a bare IPv6 address without [] */
	*h = s;
	*hn = (size_t)(colon - s);
	*p = colon + 1;
	if (*hn == 1 && s[0] == '*')
		return 0;      /* listen's "any" */
	return *hn == 0 || confval_hostname_ok(s, *hn) ? 0 : -1;
}

/*
 * Parse `listen`: "ADDR:PORT", "[V6]:PORT", ":PORT" or "*:PORT".  The host
 * goes to host without brackets, "" for any address.  0 / -1
 */
int confval_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *h, *p;
	size_t hn;

	if (confval_split_hostport(s, &h, &hn, &p) < 0 || confval_port(p, port) < 0)
		return -1;
	if (hn == 1 && h[0] == '*')
		hn = 0;
	if (hn >= hostlen)
		return -1;
	memcpy(host, h, hn);
	host[hn] = '\0';
	return 0;
}

/* Add one `listen ADDR:PORT [ssl]` address (see struct conf_listens). */
static int confval_listen_add(struct conf_listens *l, const char *val, char *err, size_t errlen)
{
	char addr[CONFVAL_HOST_MAX + 8], *flag;
	struct conf_listen one = { .ssl = 0 };
	int kind;

	snprintf(addr, sizeof(addr), "%s", val);
	for (size_t n = strlen(addr); n > 0 && isspace((unsigned char)addr[n - 1]); n--)
		addr[n - 1] = '\0';
	flag = addr + strcspn(addr, " \t");
	if (*flag != '\0') {
		*flag++ = '\0';
		flag += strspn(flag, " \t");
		if (strcmp(flag, "ssl") != 0)
			return errbuf_set(err, errlen, "\"%s\": only ssl may follow the address", val);
		one.ssl = 1;
	}
	if (confval_parse_listen(addr, one.host, sizeof(one.host), &one.port) < 0)
		return errbuf_set(err, errlen, "\"%s\" is not ADDR:PORT, [V6ADDR]:PORT or :PORT "
				  "(then ssl)", val);
	kind = one.ssl ? CONF_LISTEN_FRESH_SSL : CONF_LISTEN_FRESH_PLAIN;
	if (l->fresh & (CONF_LISTEN_FRESH_ALL | kind)) {
		int keep = 0;

		for (int i = 0; i < l->n; i++)
			if (!(l->fresh & CONF_LISTEN_FRESH_ALL) && l->v[i].ssl != one.ssl)
				l->v[keep++] = l->v[i];
		memset(&l->v[keep], 0, sizeof(l->v[0]) * (size_t)(CONF_MAX_LISTENS - keep));
		l->n = keep;
		l->fresh &= ~(CONF_LISTEN_FRESH_ALL | kind);
	}
	for (int i = 0; i < l->n; i++)
		if (l->v[i].port == one.port && strcmp(l->v[i].host, one.host) == 0)
			return errbuf_set(err, errlen, "\"%s\": that address is already a listen", val);
	if (l->n == CONF_MAX_LISTENS)
		return errbuf_set(err, errlen, "at most %d listen lines", CONF_MAX_LISTENS);
	l->v[l->n++] = one;
	return 0;
}

int confval_parse_listens(struct conf_listens *l, const char *val, char *err, size_t errlen)
{
	char buf[CONF_MAX_LISTENS * (CONFVAL_HOST_MAX + 16)], *one, *save = NULL;

	if (strlen(val) >= sizeof(buf))
		return errbuf_set(err, errlen, "value is too long");
	strcpy(buf, val);
	for (one = strtok_r(buf, ",", &save); one; one = strtok_r(NULL, ",", &save)) {
		one += strspn(one, " \t");
		if (confval_listen_add(l, one, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The names ssl_protocols takes, oldest first (tls.c maps them to versions). */
static const char *const confval_tls_names[] = { "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3" };

int confval_tls_range(const char *s, int *lo, int *hi)
{
	char buf[64], *tok, *save = NULL;
	unsigned seen = 0;
	int min = 4, max = -1;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		int i = 0;

		while (i < 4 && strcmp(tok, confval_tls_names[i]) != 0)
			i++;
		if (i == 4)
			return -1;
		seen |= 1u << i;
		min = i < min ? i : min;
		max = i > max ? i : max;
	}
	if (max < 0 || seen != ((2u << max) - (1u << min)))
		return -1;     /* empty, or a hole in the range */
	if (lo)
		*lo = min;
	if (hi)
		*hi = max;
	return 0;
}

int confval_path_prefix_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || s[0] != '/' || s[n - 1] == '/' || strstr(s, "//") != NULL)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("/-._~", s[i]) == NULL)
			return 0;
	return 1;
}

/* ---- values back to text ------------------------------------------------- */

struct confval_unit { long long unit; const char *sfx; };

/* v in the largest of the units (largest first, ending in 1) that divides
 * it exactly; 0 without a unit. */
static int confval_format_unit(const struct confval_unit *u, long long v, char *buf,
			       size_t len)
{
	if (v == 0)
		return snprintf(buf, len, "%lld", v);
	while (v % u->unit != 0)
		u++;
	return snprintf(buf, len, "%lld%s", v / u->unit, u->sfx);
}

int confval_format_size(long long bytes, char *buf, size_t len)
{
	static const struct confval_unit sizes[] = {
		{ CONFVAL_GB, "g" }, { CONFVAL_MB, "m" }, { CONFVAL_KB, "k" }, { 1, "" },
	};

	return confval_format_unit(sizes, bytes, buf, len);
}

int confval_format_duration(long long ms, char *buf, size_t len)
{
	static const struct confval_unit durs[] = {
		{ CONFVAL_HOUR, "h" }, { CONFVAL_MIN, "m" }, { CONFVAL_SEC, "s" }, { 1, "ms" },
	};

	return confval_format_unit(durs, ms, buf, len);
}

int confval_format_string(const char *s, char *buf, size_t len)
{
	int quote = s[0] == '\0' || strpbrk(s, " \t#") != NULL;

	return snprintf(buf, len, quote ? "\"%s\"" : "%s", s);
}

int confval_format_listen(const struct conf_listen *a, char *buf, size_t len)
{
	return snprintf(buf, len, strchr(a->host, ':') ? "[%s]:%d%s" : "%s:%d%s", a->host,
			a->port, a->ssl ? " ssl" : "");
}

int confval_format_listens(const struct conf_listens *l, char *buf, size_t len)
{
	size_t used = 0;

	if (len > 0)
		buf[0] = '\0';
	for (int i = 0; i < l->n && used < len; i++) {
		used += (size_t)snprintf(buf + used, len - used, "%s", i > 0 ? ", " : "");
		if (used < len)
			used += (size_t)confval_format_listen(&l->v[i], buf + used, len - used);
	}
	return (int)used;
}

int confval_format_cidrs(const struct cidr_list *l, char *buf, size_t len)
{
	size_t used = 0;

	if (len > 0)
		buf[0] = '\0';
	for (int i = 0; i < l->n && used < len; i++) {
		if (i > 0)
			used += (size_t)snprintf(buf + used, len - used, " ");
		if (used < len)
			used += (size_t)cidr_format(&l->v[i], buf + used, len - used);
	}
	return (int)used;
}

/* ---- a line of the file -------------------------------------------------- */

enum confval_line confval_split_line(char *s, char **key, char **val)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '#')
		return CONFVAL_LINE_BLANK;
	*key = s;
	while (*s != '\0' && !isspace((unsigned char)*s) && *s != '#')
		s++;
	e = s;
	while (isspace((unsigned char)*s))
		s++;
	*e = '\0';
	if (*s == '\0' || *s == '#')
		return CONFVAL_LINE_NO_VALUE;
	if (*s != '"') {
		*val = s;
		s += strcspn(s, "#");
		while (s > *val && isspace((unsigned char)s[-1]))
			s--;
		*s = '\0';
		return CONFVAL_LINE_DIRECTIVE;
	}
	*val = ++s;
	e = strchr(s, '"');
	if (e == NULL)
		return CONFVAL_LINE_UNTERMINATED;
	*e++ = '\0';
	while (isspace((unsigned char)*e))
		e++;
	if (*e != '\0' && *e != '#')
		return CONFVAL_LINE_TRAILING;
	return CONFVAL_LINE_DIRECTIVE;
}

const char *confval_line_text(enum confval_line l)
{
	static const char *const text[] = {
		[CONFVAL_LINE_NO_VALUE]     = "missing value",
		[CONFVAL_LINE_UNTERMINATED] = "unterminated quoted value",
		[CONFVAL_LINE_TRAILING]     = "text after the closing quote",
	};

	return l < sizeof(text) / sizeof(text[0]) && text[l] ? text[l] : "";
}
