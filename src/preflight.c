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
#include "chatd.h"
#include "conf.h"
#include "errbuf.h"
#include "listener.h"
#include "preflight.h"
#include "tls.h"
#include "wloop.h"

void preflight_where(const struct conf *c, const char *name, char *err, size_t errlen)
{
	char where[sizeof(c->file) + 32], msg[CHATD_ERR_MAX];

	conf_where(c, name, where, sizeof(where));
	snprintf(msg, sizeof(msg), "%s", err);
	snprintf(err, errlen, "%.200s%.800s", where, msg);
}

static int fail(const struct conf *c, const char *name, char *err, size_t errlen,
		const char *what, const char *why)
{
	errbuf_set(err, errlen, "%s: %s: %s", name, what, why);
	preflight_where(c, name, err, errlen);
	return -1;
}

/* The directory that holds path (a copy: dirname() writes into its argument). */
static int dir_of(const char *path, char *dir, size_t len)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	return snprintf(dir, len, "%s", dirname(tmp));
}

static int check_log_file(const struct conf *c, char *err, size_t errlen)
{
	const char *f = c->log_file;
	char dir[PATH_MAX];
	struct stat st;

	if (f[0] == '\0' || strcmp(f, "syslog") == 0)
		return 0;
	if (lstat(f, &st) == 0 && S_ISLNK(st.st_mode))
		return fail(c, "log_file", err, errlen, f, "a symbolic link: refused");
	if (access(f, F_OK) == 0)
		return access(f, W_OK) == 0 ? 0 : fail(c, "log_file", err, errlen, f, strerror(errno));
	dir_of(f, dir, sizeof(dir));
	if (access(dir, W_OK | X_OK) < 0)
		return fail(c, "log_file", err, errlen, f, errno == ENOENT ? "no such directory"
			    : "cannot create it: directory not writable");
	return 0;
}

/* The JWT secret (file) must be usable now, not at the first client. */
static int check_auth_secret(const struct conf *c, char *err, size_t errlen)
{
	struct auth *a;

	if (!c->auth_enabled)
		return 0;
	a = auth_new(c, err, errlen);
	if (a == NULL) {
		preflight_where(c, c->auth_secret_file[0] ? "auth_secret_file" : "auth_secret", err, errlen);
		return -1;
	}
	auth_free(a);
	return 0;
}

/* The certificate and key of `listen ... ssl` load and match now; kept
 * in *tls when tls is not NULL (NULL without TLS), else freed. */
static int check_tls(const struct conf *c, struct tls_creds **tls, char *err, size_t errlen)
{
	const char *bad = "ssl_certificate";
	struct tls_creds *t;

	if (!conf_has_ssl(c))
		return 0;
	t = tls_creds_load(c, &bad, err, errlen);
	if (t == NULL) {
		preflight_where(c, bad, err, errlen);
		return -1;
	}
	if (tls != NULL)
		*tls = t;
	else
		tls_creds_free(t);
	return 0;
}

int preflight_check(const struct conf *c, struct tls_creds **tls, char *err, size_t errlen)
{
	if (tls != NULL)
		*tls = NULL;
	if (wloop_check(err, errlen) < 0 || check_auth_secret(c, err, errlen) < 0 ||
	    listener_check(c, err, errlen) < 0)
		return -1;
	errno = 0;
	if (c->user[0] != '\0' && getpwnam(c->user) == NULL)
		return fail(c, "user", err, errlen, c->user, errno ? strerror(errno) : "no such user");
	errno = 0;
	if (c->group[0] != '\0' && getgrnam(c->group) == NULL)
		return fail(c, "group", err, errlen, c->group, errno ? strerror(errno) : "no such group");
	if (check_log_file(c, err, errlen) < 0)
		return -1;
	return check_tls(c, tls, err, errlen);   /* last: it may keep the pair */
}

struct conf *preflight_load(const char *path, const struct conf_kv *ov, size_t nov,
			    const struct conf *live, struct preflight_out *out, char *err,
			    size_t errlen)
{
	struct conf *c = conf_load(path, ov, nov, err, errlen);

	if (out != NULL)
		*out = (struct preflight_out){ .tls = NULL };
	if (c != NULL && live != NULL) {
		/* what cannot change without a restart is the live value: the
		 * checks see the configuration that would run */
		if (out != NULL)
			conf_restart_needed(live, c, out->changed, sizeof(out->changed));
		conf_carry_over(c, live);
		if (conf_check(c, err, errlen) < 0) {
			conf_free(c);
			return NULL;
		}
	}
	if (c != NULL && preflight_check(c, out ? &out->tls : NULL, err, errlen) < 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}
