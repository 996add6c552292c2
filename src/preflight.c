/* SPDX-License-Identifier: MIT */
/*
 * preflight.c - the configuration against the system (see preflight.h):
 * the workers' event loop plugin, the JWT secret, users, groups, files.  A
 * leaf: errors go back to the caller.
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "auth.h"
#include "conf.h"
#include "preflight.h"
#include "wloop.h"

void preflight_where(const struct conf *c, const char *name, struct conf_err *err)
{
	char where[sizeof(c->file) + 32], msg[sizeof(err->msg)];

	conf_where(c, name, where, sizeof(where));
	snprintf(msg, sizeof(msg), "%s", err->msg);
	snprintf(err->msg, sizeof(err->msg), "%.200s%.300s", where, msg);
}

static int fail(const struct conf *c, const char *name, struct conf_err *err,
		const char *what, const char *why)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %s: %s", name, what, why);
	preflight_where(c, name, err);
	return -1;
}

/* The directory that holds path (a copy: dirname() writes into its argument). */
static int dir_of(const char *path, char *dir, size_t len)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	return snprintf(dir, len, "%s", dirname(tmp));
}

static int check_log_file(const struct conf *c, struct conf_err *err)
{
	const char *f = c->log_file;
	char dir[PATH_MAX];
	struct stat st;

	if (f[0] == '\0' || strcmp(f, "syslog") == 0)
		return 0;
	if (lstat(f, &st) == 0 && S_ISLNK(st.st_mode))
		return fail(c, "log_file", err, f, "a symbolic link: refused");
	if (access(f, F_OK) == 0)
		return access(f, W_OK) == 0 ? 0 : fail(c, "log_file", err, f, strerror(errno));
	dir_of(f, dir, sizeof(dir));
	if (access(dir, W_OK | X_OK) < 0)
		return fail(c, "log_file", err, f, errno == ENOENT ? "no such directory"
			    : "cannot create it: directory not writable");
	return 0;
}

/* The JWT secret (file) must be usable now, not at the first client. */
static int check_auth_secret(const struct conf *c, struct conf_err *err)
{
	struct auth *a;

	if (!c->auth_enabled)
		return 0;
	a = auth_new(c, err->msg, sizeof(err->msg));
	if (a == NULL) {
		preflight_where(c, c->auth_secret_file[0] ? "auth_secret_file" : "auth_secret", err);
		return -1;
	}
	auth_free(a);
	return 0;
}

int preflight_check(const struct conf *c, struct conf_err *err)
{
	if (wloop_check(err->msg, sizeof(err->msg)) < 0)
		return -1;
	if (check_auth_secret(c, err) < 0)
		return -1;
	errno = 0;
	if (c->user[0] != '\0' && getpwnam(c->user) == NULL)
		return fail(c, "user", err, c->user, errno ? strerror(errno) : "no such user");
	errno = 0;
	if (c->group[0] != '\0' && getgrnam(c->group) == NULL)
		return fail(c, "group", err, c->group, errno ? strerror(errno) : "no such group");
	return check_log_file(c, err);
}
