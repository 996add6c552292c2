/* SPDX-License-Identifier: MIT */
/*
 * log.h - levelled logging; each line names the process that wrote it
 * ("master" or "worker N").  stderr in the foreground, syslog or a file
 * otherwise.  Any process may call these after log_init().
 */
#ifndef CHATD_LOG_H
#define CHATD_LOG_H

#include <sys/types.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* dest: NULL or "" = stderr, "syslog", or a file path (appended; a symbolic
 * link there is refused: -1 with errno ELOOP). 0 / -1 with errno */
int  log_init(const char *dest, enum log_level level);
void log_set_role(const char *role, int n);   /* n < 0: no number */
void log_set_level(enum log_level level);
int  log_reopen(void);                        /* SIGUSR1: reopen the file / reconnect syslog */
/* Before closing inherited descriptors after fork: tell glibc its syslog
 * socket goes (log_reopen() connects again).  Any process. */
void log_close_syslog(void);
int  log_get_fd(void);                        /* the log file / stderr fd (kept across fork) */
/* Give the open log file to uid:gid through its descriptor, never by path
 * (a path a symlink could redirect).  0 (also without a file) / -1 errno. */
int  log_chown(uid_t uid, gid_t gid);
int  log_level_parse(const char *s, enum log_level *out); /* 0 / -1 */
const char *log_level_name(enum log_level l);
/* Would a line at lvl be written?  Check it before costly formatting. */
int  log_enabled(enum log_level lvl);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* like log_msg(LOG_LVL_ERROR/WARN...), appending ": strerror(errno)" */
void log_errno(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)  log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
