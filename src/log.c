/* SPDX-License-Identifier: MIT */
/*
 * log.c - levelled logging.  Each line: time, role ("master", "worker 3"),
 * level, text.  stderr in the foreground, syslog or an appended file when
 * daemonised.  Used by every process; the role is set after each fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* in the order of enum log_level; conf.c parses and prints log_level by it */
static const char *const level_names[] = { "error", "warn", "notice", "info", "debug" };
_Static_assert(sizeof(level_names) / sizeof(level_names[0]) == LOG_LVL_DEBUG + 1,
	       "a name per log level");
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

static struct {
	enum log_level level;
	int  fd;              /* stderr or the log file */
	int  use_syslog;
	char path[256];       /* log file, "" if none */
	char role[32];
} lg = { LOG_LVL_NOTICE, 2, 0, "", "chatd" };

int log_init(const char *dest, enum log_level level)
{
	lg.level = level;
	if (dest == NULL || *dest == '\0') {
		lg.fd = 2;
		lg.use_syslog = 0;
		lg.path[0] = '\0';
		return 0;
	}
	if (strcmp(dest, "syslog") == 0) {
		openlog("chatd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		lg.use_syslog = 1;
		return 0;
	}
	lg.use_syslog = 0;
	snprintf(lg.path, sizeof(lg.path), "%s", dest);
	return log_reopen();
}

int log_reopen(void)
{
	int fd;

	if (lg.use_syslog) {
		closelog();
		openlog("chatd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		return 0;
	}
	if (lg.path[0] == '\0')
		return 0;
	/* O_NOFOLLOW: the master opens it as root, in a directory the worker
	 * user may be able to write; a symlink planted there must not send root's
	 * writes (and log_chown) to another file */
	fd = open(lg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -1;
	if (lg.fd > 2)
		close(lg.fd);
	lg.fd = fd;
	return 0;
}

int log_chown(uid_t uid, gid_t gid)
{
	if (lg.use_syslog || lg.path[0] == '\0' || lg.fd <= 2)
		return 0;
	return fchown(lg.fd, uid, gid);
}

void log_close_syslog(void)
{
	/* glibc keeps the /dev/log socket's number: closing it behind glibc's
	 * back lets a later descriptor take that number, and the next failed
	 * syslog() closes that one instead */
	if (lg.use_syslog)
		closelog();
}

void log_set_role(const char *role, int n)
{
	if (n < 0)
		snprintf(lg.role, sizeof(lg.role), "%s", role);
	else
		snprintf(lg.role, sizeof(lg.role), "%s %d", role, n);
}

void log_set_level(enum log_level level)
{
	lg.level = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

const char *log_level_name(enum log_level l)
{
	return (unsigned)l < sizeof(level_names) / sizeof(level_names[0]) ? level_names[l] : "?";
}

static void log_emit(enum log_level lvl, const char *fmt, va_list ap, int err)
{
	char line[1024];
	int n = 0;

	if (lvl > lg.level)
		return;
	if (!lg.use_syslog) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03ldZ %s[%d] %s: ",
			      ts.tv_nsec / 1000000, lg.role, (int)getpid(), level_names[lvl]);
	} else {
		n = snprintf(line, sizeof(line), "%s: ", lg.role);
	}
	if (n < (int)sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (err && n < (int)sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(err));
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	if (lg.use_syslog) {
		syslog(syslog_prio[lvl], "%s", line);
		return;
	}
	line[n++] = '\n';
	/* one write per line, so lines from several processes do not interleave */
	if (write(lg.fd, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit(lvl, fmt, ap, 0);
	va_end(ap);
	errno = saved;
}

void log_errno(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit(lvl, fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

int log_get_fd(void)
{
	return lg.use_syslog ? -1 : lg.fd;
}

int log_enabled(enum log_level lvl)
{
	return lvl <= lg.level;
}
