/* SPDX-License-Identifier: MIT */
/*
 * conf.c - the configuration.  One table, conf_table[], names every
 * directive with its type, field, default, range and whether SIGHUP applies
 * it; parsing, defaults, conf_restart_needed() and the chatd.conf(5) test
 * all read it.  A leaf module: errors go back to the caller, nothing logs.
 * The text of single values (durations, sizes, addresses, listen lines)
 * and the syntax of a line of the file (key, value, quotes, comments) are
 * confval.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alog.h"
#include "chatd.h"
#include "conf.h"
#include "confval.h"
#include "errbuf.h"
#include "history.h"
#include "log.h"
#include "redis_url.h"
#include "ring.h"

#define F(field) offsetof(struct conf, field), sizeof(((struct conf *)0)->field)
/* Mozilla's "intermediate" TLS 1.2 list: forward secret AEAD ciphers only */
#define CONF_SSL_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
/* short names for the units in the table's rows */
#define KB CONFVAL_KB
#define MB CONFVAL_MB
#define GB CONFVAL_GB
#define SEC CONFVAL_SEC
#define MIN CONFVAL_MIN
#define HOUR CONFVAL_HOUR

static const struct conf_directive conf_table[] = {
	{ "listen", CONF_LISTEN, F(listen), "0.0.0.0:8080", 0, 0, 0,
	  "address and port to listen on (ADDR:PORT, [V6ADDR]:PORT, :PORT, *:PORT), then "
	  "ssl for TLS; may be repeated" },
	{ "workers", CONF_WORKERS, F(workers), "auto", 1, CHATD_MAX_WORKERS, 1,
	  "number of worker processes, or auto for one per online CPU" },
	{ "redis_url", CONF_REDIS_URL, F(redis_url), "redis://localhost:6379", 0, 0, 0,
	  "Redis for fan-out between pods: redis://[:password@]host:port[/db], or off" },
	{ "pod_id", CONF_STRING, F(pod_id), "", 0, 0, 0,
	  "name of this pod in Redis envelopes; empty: made from host and pid" },
	{ "path_prefix", CONF_STRING, F(path_prefix), "/api/chat-api", 0, 0, 1,
	  "URL prefix of every endpoint: starts with a slash, no trailing slash" },
	{ "max_message_size", CONF_SIZE, F(max_message_size), "65536", 128, 16 * MB, 1,
	  "largest message a client may send, in bytes" },
	{ "send_queue", CONF_INT, F(send_queue), "256", 1, 65536, 1,
	  "messages queued per connection before it is closed as a slow consumer" },
	{ "ping_interval", CONF_DURATION, F(ping_interval_ms), "54s", 1 * SEC, 1 * HOUR, 1,
	  "how often the server pings each client" },
	{ "pong_timeout", CONF_DURATION, F(pong_timeout_ms), "60s", 1, 1 * HOUR, 1,
	  "a client silent for this long is dropped" },
	{ "presence", CONF_BOOL, F(presence), "on", 0, 1, 1,
	  "send join and leave presence frames to room members" },
	{ "presence_max_members", CONF_INT, F(presence_max_members), "200", 0, 1000000, 1,
	  "no presence frames in rooms with more members than this (per worker)" },
	{ "auth_enabled", CONF_BOOL, F(auth_enabled), "off", 0, 1, 1,
	  "require a JWT (HS256) before the WebSocket upgrade" },
	{ "auth_secret", CONF_STRING, F(auth_secret), "", 0, 0, 1,
	  "shared secret for the JWT signature" },
	{ "auth_secret_file", CONF_STRING, F(auth_secret_file), "", 0, 0, 1,
	  "file holding the JWT secret (instead of auth_secret)" },
	{ "allowed_origins", CONF_STRING, F(allowed_origins), "*", 0, 0, 1,
	  "Origin values accepted at the upgrade, space or comma separated; * = any" },
	{ "auth_leeway", CONF_DURATION, F(auth_leeway_ms), "30s", 0, 10 * MIN, 1,
	  "clock skew allowed when checking a token's exp and nbf" },
	{ "max_connections_per_ip", CONF_INT, F(max_connections_per_ip), "2048", 0, 1000000, 1,
	  "connections per client address and worker; 0 = no limit" },
	{ "max_http_pending", CONF_INT, F(max_http_pending), "1024", 8, 65535, 1,
	  "connections per worker still in their HTTP phase; one more cuts the oldest" },
	{ "max_http_pending_per_ip", CONF_INT, F(max_http_pending_per_ip), "32", 0, 1000000, 1,
	  "connections per client address and worker still in their HTTP phase; 0 = no limit" },
	{ "handshake_timeout", CONF_DURATION, F(handshake_timeout_ms), "10s", 1 * SEC, 5 * MIN, 1,
	  "time a client has to send its whole HTTP request head" },
	{ "max_header_size", CONF_INT, F(max_header_size), "4096", 1024, 65535, 1,
	  "largest HTTP request head (request line and headers), in bytes" },
	{ "rate_limit", CONF_INT, F(rate_limit), "50", 1, 1000000, 1,
	  "messages per second a connection may send, on average" },
	{ "rate_burst", CONF_INT, F(rate_burst), "100", 1, 1000000, 1,
	  "messages a connection may send at once above rate_limit" },
	{ "shutdown_timeout", CONF_DURATION, F(shutdown_timeout_ms), "5s", 0, 1 * HOUR, 1,
	  "on SIGTERM, time allowed to flush queued messages before exit" },
	{ "drain_timeout", CONF_DURATION, F(drain_timeout_ms), "30s", 0, 24 * HOUR, 1,
	  "after a reload, time old workers keep their clients before closing them" },
	{ "ring_size", CONF_SIZE, F(ring_size), "16m", 64 * KB, 1 * GB, 0,
	  "size of the shared broadcast ring, a power of two" },
	{ "uplink_size", CONF_SIZE, F(uplink_size), "1m", 64 * KB, 256 * MB, 0,
	  "size of each worker's uplink ring to the master, a power of two" },
	{ "max_connections", CONF_INT, F(max_connections), "10000", 1, 1000000, 1,
	  "client connections per worker" },
	{ "log_level", CONF_LOGLEVEL, F(log_level), "notice", 0, 0, 1,
	  "least severe level logged: error, warn, notice, info or debug" },
	{ "log_file", CONF_STRING, F(log_file), "", 0, 0, 0,
	  "where to log: empty (stderr, or syslog as a daemon), syslog, or a file" },
	{ "access_log", CONF_STRING, F(access_log), "off", 0, 0, 1,
	  "one line per ended WebSocket session and refused upgrade: off, syslog, or a file" },
	{ "pid_file", CONF_STRING, F(pid_file), RUNSTATEDIR "/chatd.pid", 0, 0, 0,
	  "file the master writes its process id to when daemonised" },
	{ "user", CONF_STRING, F(user), "", 0, 0, 0,
	  "user the workers run as when started by root; empty = do not change" },
	{ "group", CONF_STRING, F(group), "", 0, 0, 0,
	  "group the workers run as when started by root; empty = the user's group" },
	{ "redis_connect_timeout", CONF_DURATION, F(redis_connect_timeout_ms), "2s", 1, 1 * MIN, 0,
	  "time allowed for one connection attempt to Redis" },
	{ "redis_health_interval", CONF_DURATION, F(redis_health_interval_ms), "1s", 10, 1 * MIN, 0,
	  "how often a probe goes through Redis (published, then received)" },
	{ "redis_timeout", CONF_DURATION, F(redis_timeout_ms), "3s", 10, 10 * MIN, 0,
	  "a link whose probe or PUBLISH Redis has not answered after this is dropped" },
	{ "roster_ttl", CONF_DURATION, F(roster_ttl_ms), "15s", 300, 10 * MIN, 0,
	  "room members of a pod that stopped refreshing them vanish from the roster after this" },
	{ "redis_queue_max", CONF_INT, F(redis_queue_max), "10000", 0, 10000000, 0,
	  "publishes kept while Redis is down; beyond this the oldest are dropped" },
	{ "redis_queue_age", CONF_DURATION, F(redis_queue_age_ms), "30s", 0, 1 * HOUR, 0,
	  "publishes older than this are dropped instead of sent late" },
	{ "redis_queue_bytes", CONF_SIZE, F(redis_queue_bytes), "64m", 64 * KB, 4 * GB, 0,
	  "bytes of publishes kept while Redis is down (and unsent to a slow one)" },
	{ "static_dir", CONF_STRING, F(static_dir), "", 0, 0, 1,
	  "directory of the demo page served at /; empty: the installed one; off: none" },
	{ "publish_key", CONF_STRING, F(publish_key), "", 0, 0, 1,
	  "API key (Authorization: Bearer) of POST {prefix}/publish; empty: disabled" },
	{ "publish_from", CONF_STRING, F(publish_from), "server", 0, 0, 1,
	  "the from field of messages sent through the publish API" },
	{ "status_allow", CONF_CIDRS, F(status_allow), "all", 0, 0, 1,
	  "who may read /metrics and the stats: address ranges (CIDR) or all; may be repeated" },
	{ "ssl_certificate", CONF_STRING, F(ssl_certificate), "", 0, 0, 1,
	  "PEM file of the certificate then its chain, for listen ... ssl (read by the master)" },
	{ "ssl_certificate_key", CONF_STRING, F(ssl_certificate_key), "", 0, 0, 1,
	  "PEM file of the certificate's private key (read by the master, before user applies)" },
	{ "ssl_protocols", CONF_STRING, F(ssl_protocols), "TLSv1.2 TLSv1.3", 0, 0, 1,
	  "TLS versions accepted: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (a contiguous range)" },
	{ "ssl_ciphers", CONF_STRING, F(ssl_ciphers), CONF_SSL_CIPHERS, 0, 0, 1,
	  "OpenSSL cipher list for TLS 1.2 (TLS 1.3 uses OpenSSL's suites)" },
	{ "history_size", CONF_INT, F(history_size), "0", 0, HISTORY_SIZE_MAX, 0,
	  "messages kept per room for history and recovery; 0 = no history, no offsets" },
	{ "history_ttl", CONF_DURATION, F(history_ttl_ms), "1h", 1 * SEC, 7 * 24 * HOUR, 0,
	  "an idle room's history is forgotten after this" },
};

#define CONF_NDIRECTIVES (sizeof(conf_table) / sizeof(conf_table[0]))
_Static_assert(CONF_NDIRECTIVES <= CONF_MAX_DIRECTIVES, "raise CONF_MAX_DIRECTIVES");


const struct conf_directive *conf_directives(size_t *n)
{
	*n = CONF_NDIRECTIVES;
	return conf_table;
}

static const struct conf_directive *conf_find(const char *name)
{
	for (size_t i = 0; i < CONF_NDIRECTIVES; i++)
		if (strcmp(conf_table[i].name, name) == 0)
			return &conf_table[i];
	return NULL;
}

/* ---- setting one directive ------------------------------------------------ */

/* Writes a number back in the units a user would write: "16m", "54s". */
static int conf_fmt_unit(enum conf_type t, long long v, char *buf, size_t len)
{
	return t == CONF_SIZE ? confval_format_size(v, buf, len)
	       : t == CONF_DURATION ? confval_format_duration(v, buf, len)
	       : snprintf(buf, len, "%lld", v);
}

/* ring_size and uplink_size: the ring code masks its indexes. */
static int conf_needs_pow2(const struct conf_directive *d)
{
	return d->offset == offsetof(struct conf, ring_size) ||
	       d->offset == offsetof(struct conf, uplink_size);
}

static int conf_range(const struct conf_directive *d, const char *val, long long v,
		      char *err, size_t errlen)
{
	char lo[32], hi[32];

	if (v >= d->min && v <= d->max)
		return 0;
	conf_fmt_unit(d->type, d->min, lo, sizeof(lo));
	conf_fmt_unit(d->type, d->max, hi, sizeof(hi));
	errbuf_set(err, errlen, "\"%s\" is out of range (%s..%s)", val, lo, hi);
	return -1;
}

/* Numbers of every kind, into the int or size_t field. */
static int conf_set_number(struct conf *c, const struct conf_directive *d,
			   const char *val, char *err, size_t errlen)
{
	char *field = (char *)c + d->offset;
	long long v;
	int b;

	if (d->type == CONF_BOOL) {
		if (confval_parse_bool(val, &b) < 0) {
			errbuf_set(err, errlen, "\"%s\" is not a boolean (on/off, yes/no, true/false, 1/0)", val);
			return -1;
		}
		v = b;
	} else if (d->type == CONF_WORKERS && strcmp(val, "auto") == 0) {
		v = 0;
	} else if (d->type == CONF_DURATION ? confval_parse_duration_ms(val, &v) < 0
		   : d->type == CONF_SIZE ? confval_parse_size(val, &v) < 0
		   : confval_parse_int(val, &v) < 0) {
		errbuf_set(err, errlen, "\"%s\" is not %s", val,
			   d->type == CONF_DURATION ? "a duration (e.g. 500ms, 3s, 2m, 1h)"
			   : d->type == CONF_SIZE ? "a size (e.g. 65536, 64k, 16m, 1g)"
			   : d->type == CONF_WORKERS ? "a number or auto" : "a number");
		return -1;
	} else if (conf_range(d, val, v, err, errlen) < 0) {
		return -1;
	}
	if (conf_needs_pow2(d) && (v & (v - 1)) != 0) {
		errbuf_set(err, errlen, "\"%s\" is not a power of two", val);
		return -1;
	}
	if (d->type == CONF_SIZE)
		*(size_t *)(void *)field = (size_t)v;
	else
		*(int *)(void *)field = (int)v;
	return 0;
}

/* Directives naming a file or directory: absolute paths only, so that they
 * mean the same before and after the daemon's chdir("/"). */
static int conf_is_path(const struct conf_directive *d)
{
	return d->offset == offsetof(struct conf, auth_secret_file) ||
	       d->offset == offsetof(struct conf, ssl_certificate) ||
	       d->offset == offsetof(struct conf, ssl_certificate_key) ||
	       d->offset == offsetof(struct conf, log_file) ||
	       d->offset == offsetof(struct conf, pid_file) ||
	       d->offset == offsetof(struct conf, static_dir);
}

static int conf_set_string(struct conf *c, const struct conf_directive *d,
			   const char *val, char *err, size_t errlen)
{
	char *field = (char *)c + d->offset, why[128];
	struct redis_url url;

	if (d->type == CONF_REDIS_URL && strcmp(val, "off") == 0)
		val = "";
	if (strlen(val) >= d->size) {
		errbuf_set(err, errlen, "value is too long (at most %zu bytes)", d->size - 1);
		return -1;
	}
	if (d->type == CONF_REDIS_URL && val[0] != '\0' &&
	    redis_url_parse(val, &url, why, sizeof(why)) == REDIS_URL_BAD) {
		char shown[CONF_STR_MAX];

		errbuf_set(err, errlen, "\"%s\" is not redis://[:password@]host:port[/db] or off: %s",
			   redis_url_masked(val, shown, sizeof(shown)), why);
		return -1;
	}
	if (d->offset == offsetof(struct conf, path_prefix) && !confval_path_prefix_ok(val)) {
		errbuf_set(err, errlen, "\"%s\" must start with '/', not end with '/', "
			   "and hold only letters, digits and / - . _ ~", val);
		return -1;
	}
	if (conf_is_path(d) && val[0] != '\0' && val[0] != '/' && strcmp(val, "off") != 0 &&
	    strcmp(val, "syslog") != 0) {
		errbuf_set(err, errlen, "\"%s\" is a relative path; give an absolute one (the daemon "
			   "runs in /)", val);
		return -1;
	}
	if (d->offset == offsetof(struct conf, ssl_protocols) && confval_tls_range(val, NULL, NULL) < 0) {
		errbuf_set(err, errlen, "\"%s\" is not a contiguous range of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", val);
		return -1;
	}
	if (d->offset == offsetof(struct conf, access_log) && !alog_dest_valid(val)) {
		errbuf_set(err, errlen, "\"%s\" is not off, syslog or an absolute path", val);
		return -1;
	}
	strcpy(field, val);
	return 0;
}

int conf_has_ssl(const struct conf *c)
{
	for (int i = 0; i < c->listen.n; i++)
		if (c->listen.v[i].ssl)
			return 1;
	return 0;
}

/* Set directive d from its text; err gets the message without a prefix. */
static int conf_set_one(struct conf *c, const struct conf_directive *d,
			const char *val, char *err, size_t errlen)
{
	enum log_level lvl;

	switch (d->type) {
	case CONF_LISTEN:
		return confval_parse_listens(&c->listen, val, err, errlen);
	case CONF_LOGLEVEL:
		if (log_level_parse(val, &lvl) == 0) {
			*(int *)(void *)((char *)c + d->offset) = (int)lvl;
			return 0;
		}
		errbuf_set(err, errlen, "\"%s\" is not a level (error, warn, notice, info, debug)", val);
		return -1;
	case CONF_STRING:
	case CONF_REDIS_URL:
		return conf_set_string(c, d, val, err, errlen);
	case CONF_CIDRS:
		return cidr_list_add((struct cidr_list *)(void *)((char *)c + d->offset), val,
				     err, errlen);
	default:
		return conf_set_number(c, d, val, err, errlen);
	}
}

/* Set one directive from its text form; err: "name: why" or unknown. 0 / -1 */
int conf_set(struct conf *c, const char *key, const char *val, char *err, size_t errlen)
{
	const struct conf_directive *d = conf_find(key);
	char why[CHATD_ERR_MAX];

	if (d == NULL) {
		errbuf_set(err, errlen, "unknown directive \"%s\"", key);
		return -1;
	}
	if (conf_set_one(c, d, val, why, sizeof(why)) < 0) {
		errbuf_set(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

/* ---- the file --------------------------------------------------------------- */

static int conf_read_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *key, *val;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	enum confval_line sl;
	char why[CHATD_ERR_MAX];

	if (f == NULL) {
		errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, f) != -1) {
		lineno++;
		sl = confval_split_line(line, &key, &val);
		if (sl == CONFVAL_LINE_BLANK)
			continue;
		if (sl != CONFVAL_LINE_DIRECTIVE) {
			errbuf_set(err, errlen, "%s:%d: %s: %s", path, lineno, key,
				   confval_line_text(sl));
			rc = -1;
		} else if (conf_set(c, key, val, why, sizeof(why)) < 0) {
			errbuf_set(err, errlen, "%s:%d: %s", path, lineno, why);
			rc = -1;
		} else {
			c->line[conf_find(key) - conf_table] = lineno;
		}
	}
	if (rc == 0 && ferror(f)) {
		errbuf_set(err, errlen, "%s: read error", path);
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* ---- loading ------------------------------------------------------------- */

static int conf_defaults(struct conf *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < CONF_NDIRECTIVES; i++) {
		if (conf_set(c, conf_table[i].name, conf_table[i].def, err, errlen) < 0)
			return -1;     /* a broken table: the unit test catches it */
		/* a repeatable directive's first line replaces its default */
		if (conf_table[i].type == CONF_CIDRS)
			((struct cidr_list *)(void *)((char *)c + conf_table[i].offset))->fresh = 1;
		if (conf_table[i].type == CONF_LISTEN)
			c->listen.fresh = CONF_LISTEN_FRESH_ALL;
	}
	return 0;
}

static int conf_env(struct conf *c, char *err, size_t errlen)
{
	static const struct { const char *var, *key; } env[] = {
		{ "REDIS_URL", "redis_url" }, { "AUTH_ENABLED", "auth_enabled" },
		{ "CHATD_STATIC_DIR", "static_dir" },
	};
	char why[CHATD_ERR_MAX];
	const char *v;

	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		v = getenv(env[i].var);
		/* an empty REDIS_URL means off; an empty AUTH_ENABLED, unset */
		if (v == NULL || (v[0] == '\0' && strcmp(env[i].var, "AUTH_ENABLED") == 0))
			continue;
		if (conf_set_one(c, conf_find(env[i].key), v, why, sizeof(why)) < 0) {
			errbuf_set(err, errlen, "%s: %s", env[i].var, why);
			return -1;
		}
	}
	return 0;
}

/* A message, once stamped, must fit one record of the smaller ring. */
static int conf_check_ring_fit(const struct conf *c, char *err, size_t errlen)
{
	size_t ring_min = c->ring_size < c->uplink_size ? c->ring_size : c->uplink_size;
	size_t rec_max = ring_payload_max(ring_min);

	if (c->max_message_size + CHATD_STAMP_MAX <= rec_max)
		return 0;
	errbuf_set(err, errlen, "max_message_size %zu does not fit a ring record: at most %zu with "
		   "ring_size %zu and uplink_size %zu (records are a quarter of the smaller "
		   "ring, 1m at most)", c->max_message_size,
		   rec_max > CHATD_STAMP_MAX ? rec_max - CHATD_STAMP_MAX : 0, c->ring_size,
		   c->uplink_size);
	return -1;
}

int conf_check(const struct conf *c, char *err, size_t errlen)
{
	if (c->auth_secret[0] != '\0' && c->auth_secret_file[0] != '\0') {
		errbuf_set(err, errlen, "auth_secret and auth_secret_file are both set; use one");
		return -1;
	}
	if (c->auth_enabled && c->auth_secret[0] == '\0' && c->auth_secret_file[0] == '\0') {
		errbuf_set(err, errlen, "auth_enabled is on but neither auth_secret nor auth_secret_file is set");
		return -1;
	}
	if (conf_has_ssl(c) && (c->ssl_certificate[0] == '\0' || c->ssl_certificate_key[0] == '\0')) {
		errbuf_set(err, errlen, "listen ... ssl needs ssl_certificate and ssl_certificate_key");
		return -1;
	}
	return conf_check_ring_fit(c, err, errlen);
}

/*
 * Load defaults < file < environment < overrides into a new struct conf
 * (caller frees with conf_free), or NULL with err.  Never logs.
 */
struct conf *conf_load(const char *path, const struct conf_kv *ov, size_t nov,
		       char *err, size_t errlen)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return NULL;
	}
	if (conf_defaults(c, err, errlen) < 0)
		goto fail;
	if (path != NULL && conf_read_file(c, path, err, errlen) < 0)
		goto fail;
	if (path != NULL)
		snprintf(c->file, sizeof(c->file), "%s", path);
	if (conf_env(c, err, errlen) < 0)
		goto fail;
	/* -l replaces the lines of its kind; with none in the file, the default too */
	c->listen.fresh |= CONF_LISTEN_FRESH_PLAIN | CONF_LISTEN_FRESH_SSL;
	for (size_t i = 0; i < nov; i++)
		if (conf_set(c, ov[i].key, ov[i].val, err, errlen) < 0)
			goto fail;
	if (conf_check(c, err, errlen) < 0)
		goto fail;
	return c;
fail:
	free(c);
	return NULL;
}

int conf_where(const struct conf *c, const char *name, char *buf, size_t len)
{
	const struct conf_directive *d = conf_find(name);
	int line = d ? c->line[d - conf_table] : 0;

	if (line == 0) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	return snprintf(buf, len, "%s:%d: ", c->file, line);
}

void conf_free(struct conf *c)
{
	free(c);
}

static int conf_field_differs(const struct conf *a, const struct conf *b,
			      const struct conf_directive *d)
{
	const char *fa = (const char *)a + d->offset, *fb = (const char *)b + d->offset;

	switch (d->type) {
	case CONF_LISTEN:
		return memcmp(a->listen.v, b->listen.v, sizeof(a->listen.v)) != 0;
	case CONF_STRING:
	case CONF_REDIS_URL:
		return strcmp(fa, fb) != 0;
	default:
		return memcmp(fa, fb, d->size) != 0;
	}
}

/* Copy every non-reloadable directive's value from live into next. */
void conf_carry_over(struct conf *next, const struct conf *live)
{
	for (size_t i = 0; i < CONF_NDIRECTIVES; i++)
		if (!conf_table[i].reloadable)
			memcpy((char *)next + conf_table[i].offset,
			       (const char *)live + conf_table[i].offset, conf_table[i].size);
}

/* Directive d's value in c, as it would be written in a file. */
int conf_format(const struct conf *c, const struct conf_directive *d, char *buf, size_t len)
{
	const char *f = (const char *)c + d->offset;
	int v = d->type == CONF_SIZE || d->type == CONF_STRING || d->type == CONF_LISTEN ||
		d->type == CONF_REDIS_URL || d->type == CONF_CIDRS ? 0 : *(const int *)(const void *)f;
	char num[32];

	switch (d->type) {
	case CONF_LISTEN:
		return confval_format_listens(&c->listen, buf, len);
	case CONF_STRING:
		return confval_format_string(f, buf, len);
	case CONF_REDIS_URL:
		return snprintf(buf, len, "%s", f[0] ? f : "off");
	case CONF_CIDRS:
		return confval_format_cidrs((const struct cidr_list *)(const void *)f, buf, len);
	case CONF_BOOL:
		return snprintf(buf, len, "%s", v ? "on" : "off");
	case CONF_WORKERS:
		return v == 0 ? snprintf(buf, len, "auto") : snprintf(buf, len, "%d", v);
	case CONF_LOGLEVEL:
		return snprintf(buf, len, "%s", log_level_name((enum log_level)v));
	case CONF_SIZE:
		conf_fmt_unit(d->type, (long long)*(const size_t *)(const void *)f, num, sizeof(num));
		return snprintf(buf, len, "%s", num);
	case CONF_DURATION:
		conf_fmt_unit(d->type, v, num, sizeof(num));
		return snprintf(buf, len, "%s", num);
	default:
		return snprintf(buf, len, "%d", v);
	}
}

/* Names of the non-reloadable directives that differ, space separated. */
int conf_restart_needed(const struct conf *a, const struct conf *b, char *buf, size_t len)
{
	size_t used = 0;
	int n = 0;

	if (len > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < CONF_NDIRECTIVES; i++) {
		const struct conf_directive *d = &conf_table[i];
		if (d->reloadable || !conf_field_differs(a, b, d))
			continue;
		if (used < len) {
			int w = snprintf(buf + used, len - used, "%s%s", n ? " " : "", d->name);
			used += w > 0 ? (size_t)w : 0;
		}
		n++;
	}
	return n;
}
