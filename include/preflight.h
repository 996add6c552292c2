/* SPDX-License-Identifier: MIT */
/*
 * preflight.h - check a loaded configuration against the system before it
 * is used: what conf_load() cannot see from the text alone.
 */
#ifndef CHATD_PREFLIGHT_H
#define CHATD_PREFLIGHT_H

struct conf;
struct conf_err;

/*
 * Can lws load its libuv loop plugin (wloop_check)?  Is the JWT secret
 * usable (auth_enabled: the secret file readable, the
 * secret not empty); does `user` exist, `group` too; can log_file be
 * appended to?  (pid_file
 * is checked when a daemon locks it, on the terminal.)  0, or -1 with err
 * "FILE:LINE: directive: why" (where the directive was set, when it came
 * from the file).  At -t, at start and at each reload, in the master.
 * Never logs.
 */
int preflight_check(const struct conf *c, struct conf_err *err);

/* Prefix err->msg with where directive `name` was set ("FILE:LINE: "). */
void preflight_where(const struct conf *c, const char *name, struct conf_err *err);

#endif
