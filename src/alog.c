/* SPDX-License-Identifier: MIT */
/*
 * alog.c - the access log: formatting its lines, and the file (or syslog)
 * each worker writes them to.  See alog.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "alog.h"

#define ALOG_PATH_MAX 256   /* bytes of a refused request's path kept */

enum alog_mode { ALOG_OFF, ALOG_FILE, ALOG_SYSLOG };

static struct {
	enum alog_mode mode;
	int  fd;
	char path[256];
	int  failed;        /* alog_emit() reported a failed write already */
} al = { ALOG_OFF, -1, "", 0 };

/* ---- formatting ------------------------------------------------------------ */

/* A growing line: appends stop (and set full) at the capacity. */
struct line {
	char  *buf;
	size_t cap, len;
	int    full;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, l->cap - l->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= l->cap - l->len)
		l->full = 1;
	else
		l->len += (size_t)n;
}

/* " key=value", value escaped; NULL or "" gives "-".  At most max bytes of
 * v are taken. */
static void put_val(struct line *l, const char *key, const char *v, size_t max)
{
	put(l, " %s=", key);
	if (v == NULL || *v == '\0') {
		put(l, "-");
		return;
	}
	for (size_t i = 0; v[i] != '\0' && i < max; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '%' || ch == '=')
			put(l, "%%%02X", ch);
		else
			put(l, "%c", ch);
	}
}

/* " key=token": text made a token - letters and digits lowercased, every
 * other run of bytes between them one '_', cut at the first ':', '(' or
 * newline ("bad room name: ..." gives bad_room_name); NULL or "" gives "-". */
static void put_token(struct line *l, const char *key, const char *text)
{
	size_t n = 0;
	int gap = 0;

	put(l, " %s=", key);
	for (; text != NULL && *text && !strchr(":(\n", *text) && n < 64; text++) {
		unsigned char ch = (unsigned char)*text;

		if (isalnum(ch)) {
			if (gap && n > 0)
				put(l, "_");
			put(l, "%c", tolower(ch));
			n++;
			gap = 0;
		} else {
			gap = 1;
		}
	}
	if (n == 0)
		put(l, "-");
}

static void put_time(struct line *l, const struct timespec *now)
{
	struct tm tm;
	char t[32];

	gmtime_r(&now->tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	put(l, "ts=%s.%03ldZ", t, now->tv_nsec / 1000000);
}

static size_t finish(struct line *l)
{
	put(l, "\n");
	return l->full ? 0 : l->len;
}

size_t alog_format_session(char *buf, size_t cap, const struct timespec *now,
			   const struct alog_session *s)
{
	struct line l = { buf, cap, 0, 0 };

	put_time(&l, now);
	put(&l, " event=session");
	put_val(&l, "addr", s->addr, ALOG_ADDR_MAX);
	put(&l, " worker=%d", s->worker);
	put_val(&l, "room", s->room, 128);
	put_val(&l, "id", s->id, 64);
	put_val(&l, "sub", s->sub, 64);
	put(&l, " dur_ms=%llu in=%llu out=%llu bytes_out=%llu close=%d by=%s",
	    (unsigned long long)s->dur_ms, (unsigned long long)s->in,
	    (unsigned long long)s->out, (unsigned long long)s->bytes_out, s->code,
	    s->by_server ? "server" : "client");
	put_token(&l, "reason", s->reason);
	if (s->tls_version != NULL) {
		put_val(&l, "tls", s->tls_version, 32);
		put_val(&l, "cipher", s->tls_cipher, 64);
	}
	return finish(&l);
}

size_t alog_format_refused(char *buf, size_t cap, const struct timespec *now, const char *addr,
			   int worker, const char *path, int status, const char *reason)
{
	struct line l = { buf, cap, 0, 0 };

	put_time(&l, now);
	put(&l, " event=refused");
	put_val(&l, "addr", addr, ALOG_ADDR_MAX);
	put(&l, " worker=%d", worker);
	put_val(&l, "path", path, ALOG_PATH_MAX);
	put(&l, " status=%d", status);
	put_token(&l, "reason", reason);
	return finish(&l);
}

void alog_addr(const struct sockaddr *sa, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, cap, "%s:%u", a, (unsigned)ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, cap, "[%s]:%u", a, (unsigned)ntohs(in6->sin6_port));
	} else {
		snprintf(buf, cap, "-");
	}
}

/* ---- the destination ---------------------------------------------------------- */

int alog_dest_valid(const char *dest)
{
	return strcmp(dest, "off") == 0 || strcmp(dest, "syslog") == 0 ||
	       (dest[0] == '/' && dest[1] != '\0');
}

static int is_file(const char *dest)
{
	return dest[0] == '/';
}

/* O_NOFOLLOW: the master opens (and chowns) it as root; a symlink planted
 * where the worker user can write must not redirect that to another file. */
static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

/* As root with user set: give the open fd to user:group (fchown, not a
 * chown of the path, which could have been swapped since the open). */
static int give_to_user(int fd, const char *dest, const char *user, const char *group,
			char *err, size_t cap)
{
	struct passwd *pw;
	struct group *gr = NULL;

	if (geteuid() != 0 || user[0] == '\0')
		return 0;
	if ((pw = getpwnam(user)) == NULL || (group[0] && (gr = getgrnam(group)) == NULL)) {
		snprintf(err, cap, "access_log %s: unknown user or group %s:%s", dest, user, group);
		return -1;
	}
	if (fchown(fd, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) < 0) {
		snprintf(err, cap, "chown(%s): %s", dest, strerror(errno));
		return -1;
	}
	return 0;
}

int alog_prepare(const char *dest, const char *user, const char *group, char *err, size_t cap)
{
	int fd, rc;

	if (!is_file(dest))
		return 0;
	if ((fd = open_file(dest)) < 0) {
		snprintf(err, cap, "access_log %s: %s", dest, strerror(errno));
		return -1;
	}
	rc = give_to_user(fd, dest, user, group, err, cap);
	close(fd);
	return rc;
}

int alog_open(const char *dest, char *err, size_t cap)
{
	alog_close();
	if (strcmp(dest, "syslog") == 0) {
		/* the main log's ident and facility; no LOG_NDELAY: connect lazily */
		openlog("chatd", LOG_PID, LOG_DAEMON);
		al.mode = ALOG_SYSLOG;
		return 0;
	}
	if (!is_file(dest))
		return 0;
	snprintf(al.path, sizeof(al.path), "%s", dest);
	if ((al.fd = open_file(al.path)) < 0) {
		snprintf(err, cap, "access_log %s: %s", dest, strerror(errno));
		return -1;
	}
	al.mode = ALOG_FILE;
	return 0;
}

int alog_reopen(void)
{
	int fd;

	if (al.mode != ALOG_FILE)
		return 0;
	if ((fd = open_file(al.path)) < 0)
		return -1;
	close(al.fd);
	al.fd = fd;
	return 0;
}

int alog_enabled(void)
{
	return al.mode != ALOG_OFF;
}

int alog_write(const char *line, size_t len)
{
	if (al.mode == ALOG_SYSLOG) {
		syslog(LOG_DAEMON | LOG_INFO, "%.*s", (int)(len > 0 ? len - 1 : 0), line);
		return 0;
	}
	if (al.mode != ALOG_FILE)
		return 0;
	/* one write per line: O_APPEND keeps the lines of several workers whole */
	return write(al.fd, line, len) == (ssize_t)len ? 0 : -1;
}

int alog_emit(const char *line, size_t len)
{
	if (len == 0 || alog_write(line, len) == 0 || al.failed)
		return 0;
	al.failed = 1;
	return -1;
}

void alog_close(void)
{
	if (al.fd >= 0)
		close(al.fd);
	al.fd = -1;
	al.mode = ALOG_OFF;
	al.path[0] = '\0';
}
