/* SPDX-License-Identifier: MIT */
/*
 * alog.h - the access log (the directive access_log): one line per ended
 * WebSocket session and one per refused upgrade, as key=value pairs
 * separated by single spaces (README, "Access log", gives the format).
 * Written by the workers, one write() per line on an O_APPEND descriptor,
 * so lines of several workers never interleave; or to syslog(3) (facility
 * daemon, priority info, ident "chatd").  A leaf: errors are returned,
 * nothing is logged.
 */
#ifndef CHATD_ALOG_H
#define CHATD_ALOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define ALOG_LINE_MAX 2048      /* < PIPE_BUF: one write() stays whole */
#define ALOG_ADDR_MAX 64        /* "[v6addr]:port" */

/* One ended WebSocket session. */
struct alog_session {
	const char *addr;       /* alog_addr()'s text */
	int         worker;     /* slot number, as in the main log's "worker N" */
	const char *room;       /* NULL or "": the global channel */
	const char *id;         /* client id */
	const char *sub;        /* the token's subject; NULL when auth is off */
	uint64_t    dur_ms;
	uint64_t    in, out;    /* whole messages received / frames sent */
	uint64_t    bytes_out;  /* payload bytes sent */
	int         code;       /* close code; 1006: no close frame either way */
	int         by_server;  /* 0: the client closed (or vanished) */
	const char *reason;     /* token (e.g. "rate_limit"); NULL: "-" */
	const char *tls_version; /* "TLSv1.3"; NULL: plain (no tls= and cipher= keys) */
	const char *tls_cipher;
};

/* Format a session line / a refused upgrade line (time `now`, UTC) into buf,
 * newline included.  Values are escaped (%XX for bytes that are not
 * printable ASCII, space, '"', '%' or '='); too long a path is cut.
 * Returns the length (< cap), 0 if cap is too small.  Pure. */
size_t alog_format_session(char *buf, size_t cap, const struct timespec *now,
			   const struct alog_session *s);
size_t alog_format_refused(char *buf, size_t cap, const struct timespec *now, const char *addr,
			   int worker, const char *path, int status, const char *reason);

/* "a.b.c.d:port" or "[v6]:port" of sa into buf (>= ALOG_ADDR_MAX); "-" if
 * the family is neither.  Pure. */
void alog_addr(const struct sockaddr *sa, char *buf, size_t cap);

/* Is dest a valid access_log value: "off", "syslog" or an absolute path? */
int alog_dest_valid(const char *dest);

/*
 * Master, as root, before the workers open it (start, reload, SIGUSR1):
 * create the access log file if it is missing and, when root and user is
 * set, give it to user:group (group "" = user's group), so that a worker
 * that dropped privileges can reopen it after SIGUSR1.  "off"/"syslog":
 * nothing to do.  A symbolic link at dest is refused (O_NOFOLLOW).  0, or
 * -1 with err filled.
 */
int alog_prepare(const char *dest, const char *user, const char *group, char *err, size_t cap);

/* This process's access log: open dest ("off", "syslog" or a path); a
 * previous one is closed.  0, or -1 with err filled (then off). */
int alog_open(const char *dest, char *err, size_t cap);
/* SIGUSR1: reopen the file by its path; the old descriptor is kept when
 * that fails.  0 / -1 (errno set). */
int alog_reopen(void);
/* Is an access log open (worth formatting a line for)? */
int alog_enabled(void);
/* Write one formatted line.  0 / -1 (errno set). */
int alog_write(const char *line, size_t len);
/* What the workers call for each line (len 0, a line that did not format:
 * nothing): alog_write(), but only the first failure in this process
 * returns -1 (errno set), for the caller to warn once; a later failure
 * drops the line and returns 0. */
int alog_emit(const char *line, size_t len);
void alog_close(void);

#endif
