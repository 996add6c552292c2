/* SPDX-License-Identifier: MIT */
/*
 * confval.h - the text of a configuration file: one line split into key
 * and value, then the values of directives - durations, sizes, booleans,
 * numbers, listen addresses and the path prefix read from text, and
 * numbers, strings and address ranges written back.
 *
 * A leaf below conf.c: pure functions of their arguments, no state.  Parsers
 * return 0, or -1 when the text is not a valid value (the caller words the
 * error); nothing here logs.  Any process may call them.
 */
#ifndef CHATD_CONFVAL_H
#define CHATD_CONFVAL_H

#include <stddef.h>

#include "cidr.h"

/* The units values are written in: sizes are kept in bytes (1024-based),
 * durations in milliseconds. */
#define CONFVAL_KB   1024LL
#define CONFVAL_MB   (1024LL * CONFVAL_KB)
#define CONFVAL_GB   (1024LL * CONFVAL_MB)
#define CONFVAL_SEC  1000LL
#define CONFVAL_MIN  (60 * CONFVAL_SEC)
#define CONFVAL_HOUR (60 * CONFVAL_MIN)

#define CONFVAL_HOST_MAX 256      /* a listen line's host, NUL included */
#define CONF_MAX_LISTENS 8        /* `listen` lines */

/* One `listen ADDR:PORT [ssl]` line. */
struct conf_listen {
	char host[CONFVAL_HOST_MAX];    /* "" = any */
	int  port;
	int  ssl;                       /* bool: TLS (wss://, https://) */
};

/* Every `listen` line, in file order.  Repeatable: the first line of the
 * file replaces the default; an override (-l) replaces the lines of its
 * kind (plain or ssl), and the default when the file had none. */
struct conf_listens {
	struct conf_listen v[CONF_MAX_LISTENS];
	int n;
	int fresh;                      /* CONF_LISTEN_FRESH_* bits: what the next line replaces */
};
#define CONF_LISTEN_FRESH_ALL   1
#define CONF_LISTEN_FRESH_PLAIN 2
#define CONF_LISTEN_FRESH_SSL   4

/* "500ms" "3s" "2m" "1h", or a bare number of seconds, into *ms. 0 / -1 */
int confval_parse_duration_ms(const char *s, long long *ms);

/* "65536" "64k" "16m" "1g" (either case) into *bytes. 0 / -1 */
int confval_parse_size(const char *s, long long *bytes);

/* on/off, yes/no, true/false, 1/0 (any case) into *b as 1 or 0. 0 / -1 */
int confval_parse_bool(const char *s, int *b);

/* A decimal integer, optionally negative, nothing after it. 0 / -1 */
int confval_parse_int(const char *s, long long *v);

/*
 * `listen`: "ADDR:PORT", "[V6]:PORT", ":PORT" or "*:PORT".  The host goes to
 * host (hostlen bytes) without brackets, "" for any address; -1 also when it
 * does not fit.  0 / -1
 */
int confval_parse_listen(const char *s, char *host, size_t hostlen, int *port);

/*
 * A `listen` value into l: one "ADDR:PORT [ssl]", or several separated by
 * commas (as confval_format_listens() writes them), each added after what
 * l->fresh says it replaces.  0, or -1 with err (no prefix): bad syntax,
 * an address given twice, more than CONF_MAX_LISTENS lines.
 */
int confval_parse_listens(struct conf_listens *l, const char *val, char *err, size_t errlen);

/* `ssl_protocols`: names among TLSv1 TLSv1.1 TLSv1.2 TLSv1.3 (blank or
 * comma separated) that make a range without a hole; *lo and *hi (may be
 * NULL) get its ends as 0 (TLSv1) .. 3 (TLSv1.3).  0 / -1 */
int confval_tls_range(const char *s, int *lo, int *hi);

/* 1 when s is a URL path prefix: starts with '/', does not end with one, no
 * "//", only letters, digits and / - . _ ~; else 0. */
int confval_path_prefix_ok(const char *s);

/* A size in the largest unit that divides it exactly ("16m", "1000", "0");
 * snprintf's count. */
int confval_format_size(long long bytes, char *buf, size_t len);

/* A duration likewise ("54s", "500ms", "2h", "0"); snprintf's count. */
int confval_format_duration(long long ms, char *buf, size_t len);

/* A string as a file value: quoted when empty or holding blanks or '#'.
 * snprintf's count. */
int confval_format_string(const char *s, char *buf, size_t len);

/* One listen line as a file writes it ("127.0.0.1:80", "[::1]:443 ssl",
 * ":8080"); snprintf's count. */
int confval_format_listen(const struct conf_listen *a, char *buf, size_t len);

/* Every listen line of l as one value, "ADDR:PORT, ADDR:PORT ssl" (what
 * confval_parse_listens() reads back); snprintf's count. */
int confval_format_listens(const struct conf_listens *l, char *buf, size_t len);

/* A list of ranges as one line, "A/n B/m".  Returns a count below len when
 * the whole line fit, len or more when it was cut short. */
int confval_format_cidrs(const struct cidr_list *l, char *buf, size_t len);

/* What confval_split_line() found on one line of a file. */
enum confval_line {
	CONFVAL_LINE_DIRECTIVE,     /* *key and *val set */
	CONFVAL_LINE_BLANK,         /* blank or a comment */
	CONFVAL_LINE_NO_VALUE,      /* a key without a value (*key set) */
	CONFVAL_LINE_UNTERMINATED,  /* a quoted value without its closing quote */
	CONFVAL_LINE_TRAILING       /* text after the closing quote */
};

/*
 * Split one line of a configuration file in place: `key value`, `key
 * "quoted value"`, blanks, `# comments` (also after a value).  *key is set
 * for every outcome but CONFVAL_LINE_BLANK.
 */
enum confval_line confval_split_line(char *s, char **key, char **val);

/* The syntax error an outcome names ("missing value", ...); "" for the
 * others.  The caller puts "FILE:LINE: key: " in front. */
const char *confval_line_text(enum confval_line l);

#endif
