/* SPDX-License-Identifier: MIT */
/*
 * daemon.c - the master as a Unix daemon: the pid file and its lock,
 * detaching from the terminal, the ready pipe to the parent waiting in
 * daemon_detach(), the log files' ownership and reopening, the descriptor
 * limit, and the descriptors a new worker must not inherit.  Errors at
 * start-up go to stderr (the terminal is still there); later ones to the log.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alog.h"
#include "chatd.h"
#include "conf.h"
#include "daemon.h"
#include "fdlimit.h"
#include "listener.h"
#include "log.h"

/*
 * The pid file.  Its fd holds an open-file-description lock (F_OFD_SETLK:
 * unlike a POSIX lock it survives the fork that detaches us) for the whole
 * life of the master, so a second chatd with the same pid_file is refused
 * even when a stale file was left behind by a crash.
 */
static struct {
	int fd;                  /* -1: no pid file */
	pid_t owner;             /* the master; workers inherit atexit handlers */
	char path[4096];         /* absolute: we chdir("/") when detaching */
} pidf = { -1, 0, "" };

static void pidfile_remove(void)
{
	if (pidf.fd >= 0 && getpid() == pidf.owner)
		unlink(pidf.path);
}

/* Print who holds the lock on fd's pid file. */
static void pidfile_busy(int fd, const char *path)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid = n > 0 ? strtol(buf, NULL, 10) : 0;

	if (pid > 0)
		fprintf(stderr, "chatd: %s is locked: chatd is already running (pid %ld)\n",
			path, pid);
	else
		fprintf(stderr, "chatd: %s is locked: chatd is already running\n", path);
}

int daemon_pidfile_lock(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat a, b;
	char cwd[2048];

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		snprintf(pidf.path, sizeof(pidf.path), "%s/%s", cwd, path);
	else
		snprintf(pidf.path, sizeof(pidf.path), "%s", path);
	for (int tries = 0; tries < 5; tries++) {
		int fd = open(pidf.path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0) {
			fprintf(stderr, "chatd: cannot open pid file %s: %s\n", path, strerror(errno));
			return -1;
		}
		if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
			if (errno == EAGAIN || errno == EACCES)
				pidfile_busy(fd, path);
			else
				fprintf(stderr, "chatd: cannot lock pid file %s: %s\n", path,
					strerror(errno));
			close(fd);
			return -1;
		}
		/* a stopping chatd may have unlinked the file we just locked */
		if (fstat(fd, &a) == 0 && stat(pidf.path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			pidf.fd = fd;
			return 0;
		}
		close(fd);
	}
	fprintf(stderr, "chatd: pid file %s keeps being replaced\n", path);
	return -1;
}

/* Write our pid into the locked pid file; removed again at exit. 0 / -1. */
static int write_pidfile(void)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(pidf.fd, 0) < 0 || pwrite(pidf.fd, buf, (size_t)n, 0) != n) {
		fprintf(stderr, "chatd: cannot write pid file %s: %s\n", pidf.path,
			strerror(errno));
		return -1;
	}
	pidf.owner = getpid();
	atexit(pidfile_remove);
	return 0;
}

/*
 * The parent of daemon_detach(): wait for the daemon's word on fd - one byte 1
 * when every worker serves (exit 0), else 0 and why (printed, exit 1); the
 * pipe closing without a word is a daemon that died first (exit 1).
 */
static void __attribute__((noreturn)) detach_wait(int fd)
{
	char buf[600];
	ssize_t n = 0, r;

	while (n < (ssize_t)sizeof(buf) - 1 &&
	       ((r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0 || (r < 0 && errno == EINTR)))
		n += r > 0 ? r : 0;
	if (n >= 1 && buf[0] == 1)
		_exit(0);
	buf[n] = '\0';
	if (n > 1)
		fprintf(stderr, "chatd: %s\n", buf + 1);
	else
		fprintf(stderr, "chatd: the daemon stopped while starting; its log says why\n");
	_exit(1);
}

/* So when `chatd` returns 0, the pid file is there. */
int daemon_detach(int *ready_fd)
{
	int p[2], nul;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		fprintf(stderr, "chatd: detaching: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		detach_wait(p[0]);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") < 0) {
		fprintf(stderr, "chatd: detaching: %s\n", strerror(errno));
		close(p[1]);
		return -1;
	}
	if (pidf.fd >= 0 && write_pidfile() < 0) {
		close(p[1]);
		return -1;
	}
	nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	*ready_fd = p[1];    /* daemon_ready() tells the parent once workers run */
	return 0;
}

void daemon_ready(int *ready_fd, const char *fail)
{
	char buf[600];
	int n;

	if (*ready_fd <= 0)
		return;
	n = snprintf(buf, sizeof(buf), "%c%s", fail ? 0 : 1, fail ? fail : "");
	if (n >= (int)sizeof(buf))
		n = (int)sizeof(buf) - 1;
	if (write(*ready_fd, buf, (size_t)n) != n) {
		/* the parent is gone: nobody left to tell */
	}
	close(*ready_fd);
	*ready_fd = -1;
}

int daemon_log_file_check(const struct conf *c)
{
	const char *f = c->log_file;

	if (f[0] == '\0' || strcmp(f, "syslog") == 0 || log_get_fd() > 2 || log_reopen() == 0)
		return 0;
	fprintf(stderr, "chatd: cannot open log file %s: %s\n", f, strerror(errno));
	return -1;
}

int daemon_start_checks(const struct conf *c, int foreground)
{
	char err[CHATD_ERR_MAX] = "";

	/* any listener on the address, another chatd included, is a clear error now */
	if (listener_probe(c, err, sizeof(err)) < 0) {
		fprintf(stderr, "chatd: %s\n", err);
		return -1;
	}
	if (!foreground && (daemon_log_file_check(c) < 0 ||
	    (c->pid_file[0] && daemon_pidfile_lock(c->pid_file) < 0)))
		return -1;
	/* the workers open it; made now (as root, given to `user`) so a bad one
	 * fails the start on the terminal */
	if (alog_prepare(c->access_log, c->user, c->group, err, sizeof(err)) < 0) {
		fprintf(stderr, "chatd: %s\n", err);
		return -1;
	}
	return 0;
}

void daemon_log_file_give(const struct conf *c)
{
	struct passwd *pw;
	struct group *gr;

	if (geteuid() != 0 || c->user[0] == '\0' || c->log_file[0] == '\0' ||
	    strcmp(c->log_file, "syslog") == 0 || (pw = getpwnam(c->user)) == NULL)
		return;
	gr = c->group[0] ? getgrnam(c->group) : NULL;
	if (log_chown(pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) < 0)
		log_errno(LOG_LVL_WARN, "chown(%s)", c->log_file);
}

void daemon_logs_reopen(const struct conf *c)
{
	char err[CHATD_ERR_MAX];

	if (log_reopen() < 0)
		log_errno(LOG_LVL_ERROR, "reopening the log file");
	else
		log_notice("log file reopened");
	daemon_log_file_give(c);
	if (alog_prepare(c->access_log, c->user, c->group, err, sizeof(err)) < 0)
		log_error("%s", err);
}

void daemon_fd_budget(const struct conf *c, int workers)
{
	struct fdlimit fl;
	enum fdlimit_rc rc = fdlimit_raise(c->max_connections, &fl);
	unsigned long long per;

	if (rc == FDLIMIT_ERROR) {
		log_errno(LOG_LVL_WARN, "raising RLIMIT_NOFILE");
		return;
	}
	if (fl.soft != fl.was)
		log_info("descriptor limit raised from %llu to %llu", fl.was, fl.soft);
	if (rc == FDLIMIT_SHORT)
		log_warn("max_connections %d and %d descriptors of the worker's own need %llu "
			 "descriptors, but the limit is %llu (hard limit %llu): raise it "
			 "(ulimit -n, LimitNOFILE=) or lower max_connections", c->max_connections,
			 FDLIMIT_RESERVE, fl.need, fl.soft, fl.hard);
	per = fl.soft > FDLIMIT_RESERVE ? fl.soft - FDLIMIT_RESERVE : 0;
	if (per > (unsigned long long)c->max_connections)
		per = (unsigned long long)c->max_connections;
	log_notice("descriptor budget: %d workers x %llu descriptors: at most %llu client "
		   "connections", workers, fl.soft, (unsigned long long)workers * per);
}

void daemon_close_inherited(const int *keep, int nkeep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int dfd = d ? dirfd(d) : -1;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name), k;

		if (e->d_name[0] == '.' || fd <= 2 || fd == dfd)
			continue;
		for (k = 0; k < nkeep && keep[k] != fd; k++)
			;
		if (k == nkeep)
			close(fd);
	}
	closedir(d);
}
