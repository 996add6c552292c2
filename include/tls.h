/* SPDX-License-Identifier: MIT */
/*
 * tls.h - TLS for `listen ... ssl`: the certificate chain and private key
 * read into memory by the master (as root, before any worker drops
 * privileges), checked, and handed to the workers by fork; each worker
 * puts them into its TLS vhost's OpenSSL context.  A leaf: errors go back
 * in err, nothing logs.  Does not include libwebsockets.
 */
#ifndef CHATD_TLS_H
#define CHATD_TLS_H

#include <stddef.h>

struct conf;

/* The PEM texts of ssl_certificate and ssl_certificate_key.  One live in
 * the master (replaced at each reload), a copy in each worker (inherited at
 * fork, wiped once its context holds it).  Made by tls_creds_load(). */
struct tls_creds {
	char  *cert;        /* the certificate, then its chain */
	size_t cert_len;
	char  *key;         /* wiped (explicit_bzero) by tls_creds_free() */
	size_t key_len;
};

/*
 * Read and check c's ssl_certificate and ssl_certificate_key: both must be
 * PEM, the key must be the certificate's, and the whole set (ssl_protocols,
 * ssl_ciphers) must make an OpenSSL context.  Returns new creds (free with
 * tls_creds_free), or NULL with err naming the file (and *directive, when
 * not NULL, the directive at fault).  Any process may call it.
 */
struct tls_creds *tls_creds_load(const struct conf *c, const char **directive,
				 char *err, size_t errlen);

/* Wipe the key bytes and free t.  NULL is harmless. */
void tls_creds_free(struct tls_creds *t);

/*
 * 1 with a warning in warn when ssl_certificate_key may be read by others
 * than root and the service group (c's group, or user's group), 0 when not
 * (or it cannot be looked at: tls_creds_load() says so).
 */
int tls_key_perms(const struct conf *c, char *warn, size_t len);

/*
 * Put creds t and c's ssl_protocols and ssl_ciphers into ssl_ctx (an
 * SSL_CTX *: lws's vhost context).  0, or -1 with err.  Worker (or the
 * check in tls_creds_load).
 */
int tls_ctx_setup(void *ssl_ctx, const struct tls_creds *t, const struct conf *c,
		  char *err, size_t errlen);

/* The protocol ("TLSv1.3") and cipher names of a connection's SSL *: static
 * strings of OpenSSL's, kept for the access log; both NULL when ssl is. */
void tls_names(void *ssl, const char **version, const char **cipher);

/* The certificate's serial number in hex (for logs); "" if none. */
int tls_serial(const struct tls_creds *t, char *buf, size_t len);

#endif
