/* SPDX-License-Identifier: MIT */
/*
 * conf.h - the configuration: one table of directives drives parsing,
 * defaults, `chatd -t`, and chatd.conf(5).
 *
 * A struct conf is immutable once loaded: reload builds a new one with
 * conf_load() and swaps it in only when it is valid.  Durations are kept in
 * milliseconds, sizes in bytes.
 */
#ifndef CHATD_CONF_H
#define CHATD_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "chatd.h"
#include "cidr.h"
#include "confval.h"   /* struct conf_listens */

#define CONF_STR_MAX 256
#define CONF_MAX_DIRECTIVES 64   /* rows of conf_table (conf.c asserts it) */
/* One per process: the master's live config; workers inherit it at fork. */
struct conf {
	struct conf_listens listen;     /* `listen ADDR:PORT [ssl]`, at least one */
	int      workers;               /* 0 = auto (online CPUs) */
	char     redis_url[CONF_STR_MAX]; /* "" when off */
	char     pod_id[CONF_STR_MAX];  /* "" = made at start (host-pid-random) */
	char     path_prefix[CONF_STR_MAX]; /* "/api/chat-api", no trailing '/' */
	size_t   max_message_size;      /* bytes */
	int      send_queue;            /* messages per connection */
	int      ping_interval_ms;
	int      pong_timeout_ms;
	int      presence;              /* bool */
	int      presence_max_members;  /* no presence in rooms larger than this (per worker) */
	int      auth_enabled;          /* bool */
	char     auth_secret[CONF_STR_MAX];
	char     auth_secret_file[CONF_STR_MAX];
	char     allowed_origins[1024]; /* space/comma separated; "" or "*" = any */
	int      auth_leeway_ms;        /* clock skew allowed on exp / nbf */
	int      max_connections_per_ip; /* per worker; 0 = no limit */
	int      max_http_pending;      /* HTTP-phase connections per worker = lws header pool */
	int      max_http_pending_per_ip; /* ... per client address and worker; 0 = no limit */
	int      handshake_timeout_ms;  /* whole HTTP request head / upgrade */
	int      max_header_size;       /* bytes of HTTP request headers */
	int      rate_limit;            /* messages per second per connection */
	int      rate_burst;            /* ... in bursts of up to this many */
	int      shutdown_timeout_ms;
	int      drain_timeout_ms;
	size_t   ring_size;             /* broadcast ring, bytes, power of two */
	size_t   uplink_size;           /* each worker's uplink ring, bytes, power of two */
	int      max_connections;       /* per worker */
	int      log_level;             /* enum log_level */
	char     log_file[CONF_STR_MAX]; /* "" = stderr/syslog by mode; "syslog" */
	char     access_log[CONF_STR_MAX]; /* "off", "syslog" or an absolute path */
	char     pid_file[CONF_STR_MAX];
	char     user[64];
	char     group[64];
	int      redis_connect_timeout_ms;
	int      redis_health_interval_ms; /* health probe through both links */
	int      redis_timeout_ms;      /* ... and how long Redis may take to answer */
	int      roster_ttl_ms;         /* a pod's roster entries in Redis outlive it this long */
	int      redis_queue_max;       /* publishes kept while Redis is down */
	int      redis_queue_age_ms;    /* ... and for how long */
	size_t   redis_queue_bytes;     /* ... and how many bytes (also caps hiredis's output buffer) */
	/* web: the demo page and the HTTP publish API */
	char     static_dir[CONF_STR_MAX]; /* demo page files; "" = built-in, "off" */
	char     publish_key[CONF_STR_MAX]; /* Bearer key of POST {prefix}/publish; "" = off */
	char     publish_from[65];      /* "from" of published messages */
	struct cidr_list status_allow;  /* who may GET /metrics and {prefix}/ws/stats */
	/* TLS on `listen ... ssl` (tls.c) */
	char     ssl_certificate[CONF_STR_MAX];     /* PEM: the certificate, then its chain */
	char     ssl_certificate_key[CONF_STR_MAX]; /* PEM private key */
	char     ssl_protocols[64];     /* "TLSv1.2 TLSv1.3": a contiguous range */
	char     ssl_ciphers[512];      /* OpenSSL list for TLS 1.2 and below */
	int      history_size;          /* messages kept per room; 0 = off (issue 16) */
	int      history_ttl_ms;        /* an idle room's history is forgotten after this */
	/* where each directive was set, for errors found after loading */
	char     file[4096];            /* the configuration file; "" = none */
	int      line[CONF_MAX_DIRECTIVES]; /* per conf_table row; 0 = not from the file */
};

enum conf_type { CONF_BOOL, CONF_INT, CONF_SIZE, CONF_DURATION, CONF_STRING,
		 CONF_LISTEN, CONF_WORKERS, CONF_LOGLEVEL, CONF_REDIS_URL,
		 CONF_CIDRS /* may be repeated: each line adds ranges */ };

/* A row of the directive table. */
struct conf_directive {
	const char    *name;
	enum conf_type type;
	size_t         offset;     /* into struct conf */
	size_t         size;       /* of the field (strings) */
	const char    *def;        /* default, as written in a file */
	long long      min, max;   /* range for numbers (ms / bytes for units) */
	int            reloadable; /* 1: SIGHUP applies it; 0: needs a restart */
	const char    *help;       /* one line, for the sample file and man page */
};

/* A command-line override, applied last (highest precedence). */
struct conf_kv { const char *key; const char *val; };

/* The directive table; *n gets its length. */
const struct conf_directive *conf_directives(size_t *n);

/*
 * Load a configuration: built-in defaults, then the file `path` (NULL: none;
 * a missing file is an error), then the environment (REDIS_URL,
 * AUTH_ENABLED), then the `nov` overrides.  Returns a new struct conf the
 * caller frees with conf_free(), or NULL with err filled ("FILE:LINE:
 * message", "REDIS_URL: message"; CHATD_ERR_MAX bytes hold any).  Any process may
 * call it; it does not log.
 */
struct conf *conf_load(const char *path, const struct conf_kv *ov, size_t nov,
		       char *err, size_t errlen);
void conf_free(struct conf *c);

/*
 * The one place that decides whether a configuration is valid as written:
 * each directive's own rule is checked as it is set; this checks the rules
 * between directives (one JWT secret source, a message that fits a ring
 * record by ring.h's arithmetic).  conf_load() calls it, so -t, start and
 * reload all do; what needs the system (users, files, the secret file's
 * contents) is preflight_check()'s.  0, or -1 with err.  Never logs.
 */
int conf_check(const struct conf *c, char *err, size_t errlen);

/* "FILE:LINE: " where directive `name` was set in the file (ready to put
 * before a message), or "" when it was not set there.  snprintf's count. */
int conf_where(const struct conf *c, const char *name, char *buf, size_t len);

/* Set one directive from its text form (no file context). 0 / -1 + err. */
int conf_set(struct conf *c, const char *key, const char *val, char *err, size_t errlen);

/* Writes into buf the names of the non-reloadable directives that differ
 * between a and b (space separated); returns how many differ. */
int conf_restart_needed(const struct conf *a, const struct conf *b, char *buf, size_t len);

/* Copy into next the value of every non-reloadable directive in live, so a
 * reload keeps them until restart (log conf_restart_needed() first). */
void conf_carry_over(struct conf *next, const struct conf *live);

/* Write directive d's value in c as it would be written in a file (quoted
 * when needed), e.g. for `chatd -t`.  Returns snprintf's count. */
int conf_format(const struct conf *c, const struct conf_directive *d, char *buf, size_t len);

/* Does c have a `listen ... ssl` line? */
int conf_has_ssl(const struct conf *c);

/* The parsers of single values (durations, sizes, listen) are confval.h's. */

#endif
