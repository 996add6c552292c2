/* SPDX-License-Identifier: MIT */
/*
 * preflight.h - the second stage of "is this configuration valid": the
 * checks that need the system and the master's privileges (the secret
 * file's contents, users and groups, whether log_file can be appended to),
 * once conf_load() has decided all the text can decide (conf_check()).
 * Apart from conf.c on purpose: conf.c is pure (any process, fuzzed and
 * unit-tested on any text, no file system or NSS), while these answers
 * depend on who asks and when; preflight_load() runs both stages, so -t,
 * the start and each reload decide the same way.  See doc/ARCHITECTURE.
 */
#ifndef CHATD_PREFLIGHT_H
#define CHATD_PREFLIGHT_H

#include <stddef.h>

struct conf;
struct conf_kv;
struct tls_creds;

/*
 * Can lws load its libuv loop plugin (wloop_check)?  Is the JWT secret
 * usable (auth_enabled: the secret file readable, the
 * secret not empty); does `user` exist, `group` too; can log_file be
 * appended to; do ssl_certificate and ssl_certificate_key load and match
 * (with a `listen ... ssl`); do no two listen lines resolve to the same
 * address (listener_check)?  (pid_file
 * is checked when a daemon locks it, on the terminal.)  0, or -1 with err
 * "FILE:LINE: directive: why" (where the directive was set, when it came
 * from the file).  At -t, at start and at each reload, in the master.
 * With tls not NULL, the certificate and key it loaded are handed back
 * there (NULL without a `listen ... ssl`; the caller frees them), so they
 * are read once.  Never logs.
 */
int preflight_check(const struct conf *c, struct tls_creds **tls, char *err, size_t errlen);

/* What preflight_load() hands back besides the configuration. */
struct preflight_out {
	struct tls_creds *tls;  /* the certificate and key it loaded (the caller
	                           frees them); NULL without `listen ... ssl` */
	char changed[512];      /* with live: the directives set in the file that
	                           need a restart and keep their live value */
};

/*
 * What -t, the start and every reload call: conf_load() (the text: every
 * directive and the rules between them, conf_check()), then
 * preflight_check() (the system).  At a reload, live is the running
 * configuration: what cannot change without a restart is carried over from
 * it (conf_carry_over) before the checks, so they judge what would run.
 * out (may be NULL: then nothing is kept) receives the TLS pair, read once,
 * and what needed a restart.  A new struct conf, or NULL with err filled
 * by whichever refused it.  Master (and main before it) only.
 */
struct conf *preflight_load(const char *path, const struct conf_kv *ov, size_t nov,
			    const struct conf *live, struct preflight_out *out, char *err,
			    size_t errlen);

/* Prefix err with where directive `name` was set ("FILE:LINE: "). */
void preflight_where(const struct conf *c, const char *name, char *err, size_t errlen);

#endif
