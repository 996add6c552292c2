/* SPDX-License-Identifier: MIT */
/*
 * tls.c - the certificate and key of `listen ... ssl`: read into memory,
 * checked with OpenSSL, put into a worker's SSL_CTX (see tls.h).  A leaf.
 *
 * Why not lws's server_ssl_cert_mem: libwebsockets 4.1.6 loads a memory
 * certificate with SSL_CTX_use_certificate_ASN1(), the first certificate
 * only, so the chain's intermediates would never reach the client.  The
 * worker asks lws for a bare TLS context and fills it here instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conf.h"
#include "confval.h"
#include "tls.h"

#define TLS_FILE_MAX (1024 * 1024)   /* a PEM chain larger than this is not one */

/* The whole of a (small) file into a new NUL-terminated buffer.  read(2),
 * not stdio: no library buffer is left holding a copy of the key. */
static char *tls_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > TLS_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, !S_ISREG(st.st_mode) ? "not a file"
			 : st.st_size <= 0 ? "empty" : "larger than 1 MiB");
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (n < (size_t)st.st_size &&
	       ((r = read(fd, buf + n, (size_t)st.st_size - n)) > 0 || (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	if (n < (size_t)st.st_size) {
		snprintf(err, errlen, "%s: %s", path, r < 0 ? strerror(errno) : "shorter than it was");
		explicit_bzero(buf, n);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

/* OpenSSL's reason for the last failure, or `what`. */
static const char *tls_why(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : what;
}

void tls_creds_free(struct tls_creds *t)
{
	if (t == NULL)
		return;
	if (t->key != NULL)
		explicit_bzero(t->key, t->key_len);
	free(t->key);
	free(t->cert);
	free(t);
}

/* Load the certificate chain (first = leaf) from PEM text. 0 / -1 */
static int tls_use_chain(SSL_CTX *ctx, const struct tls_creds *t, const struct conf *c,
			 char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(t->cert, (int)t->cert_len);
	X509 *x = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
	int rc = -1;

	if (x == NULL || SSL_CTX_use_certificate(ctx, x) != 1) {
		snprintf(err, errlen, "ssl_certificate %s: no PEM certificate (%s)",
			 c->ssl_certificate, tls_why("unreadable"));
		goto out;
	}
	SSL_CTX_clear_chain_certs(ctx);
	for (;;) {
		X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);

		if (ca == NULL)
			break;
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			snprintf(err, errlen, "ssl_certificate %s: chain: %s", c->ssl_certificate,
				 tls_why("cannot add"));
			goto out;
		}
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(b);
	return rc;
}

/* OpenSSL asks for an encrypted key's passphrase: note it, give none.
 * Why: without a callback OpenSSL prompts on /dev/tty, and the master (at
 * -t, the start or a SIGHUP) would wait there for a passphrase. */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *asked)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)asked = 1;
	return -1;
}

static int tls_use_key(SSL_CTX *ctx, const struct tls_creds *t, const struct conf *c,
		       char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(t->key, (int)t->key_len);
	int asked = 0, rc = -1;
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, tls_no_passphrase, &asked) : NULL;

	if (k == NULL && asked)
		snprintf(err, errlen, "ssl_certificate_key %s: encrypted keys are not supported "
			 "(store it decrypted, readable by root only)", c->ssl_certificate_key);
	else if (k == NULL)
		snprintf(err, errlen, "ssl_certificate_key %s: no PEM private key (%s)",
			 c->ssl_certificate_key, tls_why("unreadable"));
	else if (SSL_CTX_use_PrivateKey(ctx, k) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		snprintf(err, errlen, "ssl_certificate_key %s does not match ssl_certificate %s (%s)",
			 c->ssl_certificate_key, c->ssl_certificate, tls_why("mismatch"));
	else
		rc = 0;
	ERR_clear_error();
	EVP_PKEY_free(k);
	BIO_free(b);
	return rc;
}

/* tls_ctx_setup(), naming in *dir the directive a failure is about. */
static int ctx_setup(SSL_CTX *ctx, const struct tls_creds *t, const struct conf *c,
		     const char **dir, char *err, size_t errlen)
{
	static const int vers[] = { TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION };
	int lo, hi;

	*dir = "ssl_protocols";
	if (confval_tls_range(c->ssl_protocols, &lo, &hi) < 0 ||
	    SSL_CTX_set_min_proto_version(ctx, vers[lo]) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, vers[hi]) != 1) {
		snprintf(err, errlen, "ssl_protocols \"%s\": not available", c->ssl_protocols);
		return -1;
	}
	*dir = "ssl_ciphers";
	if (SSL_CTX_set_cipher_list(ctx, c->ssl_ciphers) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "ssl_ciphers \"%s\": no cipher known to OpenSSL", c->ssl_ciphers);
		return -1;
	}
	/* old versions need their old ciphers: OpenSSL 3 hides SHA-1 ones at level 1+ */
	if (lo < 2)
		SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	*dir = "ssl_certificate";
	if (tls_use_chain(ctx, t, c, err, errlen) < 0)
		return -1;
	*dir = "ssl_certificate_key";
	return tls_use_key(ctx, t, c, err, errlen);
}

int tls_ctx_setup(void *ssl_ctx, const struct tls_creds *t, const struct conf *c,
		  char *err, size_t errlen)
{
	const char *dir;

	return ctx_setup(ssl_ctx, t, c, &dir, err, errlen);
}

/* Everything a worker will do with t, done once on a scratch context;
 * *dir: the directive a failure is about. */
static int tls_check(const struct tls_creds *t, const struct conf *c, const char **dir,
		     char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int rc;

	if (ctx == NULL) {
		*dir = "ssl_certificate";
		snprintf(err, errlen, "OpenSSL: %s", tls_why("cannot make a context"));
		return -1;
	}
	rc = ctx_setup(ctx, t, c, dir, err, errlen);
	SSL_CTX_free(ctx);
	return rc;
}

struct tls_creds *tls_creds_load(const struct conf *c, const char **directive,
				 char *err, size_t errlen)
{
	struct tls_creds *t = calloc(1, sizeof(*t));
	const char *dir = "ssl_certificate";
	char why[400];

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((t->cert = tls_read_file(c->ssl_certificate, &t->cert_len, why, sizeof(why))) == NULL ||
	    (dir = "ssl_certificate_key",
	     t->key = tls_read_file(c->ssl_certificate_key, &t->key_len, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "%s %s", dir, why);
		goto fail;
	}
	if (tls_check(t, c, &dir, err, errlen) < 0)
		goto fail;
	return t;
fail:
	if (directive != NULL)
		*directive = dir;
	tls_creds_free(t);
	return NULL;
}

int tls_key_perms(const struct conf *c, char *warn, size_t len)
{
	struct stat st;
	struct passwd *pw = c->user[0] ? getpwnam(c->user) : NULL;
	struct group *gr = c->group[0] ? getgrnam(c->group) : NULL;
	gid_t service = gr ? gr->gr_gid : pw ? pw->pw_gid : 0;

	if (c->ssl_certificate_key[0] == '\0' || stat(c->ssl_certificate_key, &st) < 0)
		return 0;
	if (st.st_mode & S_IROTH) {
		snprintf(warn, len, "ssl_certificate_key %s is readable by every user (mode %03o); "
			 "chmod o-r it", c->ssl_certificate_key, (unsigned)(st.st_mode & 0777));
		return 1;
	}
	if ((st.st_mode & S_IRGRP) && st.st_gid != 0 && st.st_gid != service) {
		snprintf(warn, len, "ssl_certificate_key %s is readable by group %u, neither root "
			 "nor the service group; chmod g-r it", c->ssl_certificate_key,
			 (unsigned)st.st_gid);
		return 1;
	}
	return 0;
}

void tls_names(void *ssl, const char **version, const char **cipher)
{
	*version = ssl ? SSL_get_version(ssl) : NULL;
	*cipher = ssl ? SSL_get_cipher_name((SSL *)ssl) : NULL;
}

int tls_serial(const struct tls_creds *t, char *buf, size_t len)
{
	BIO *b = BIO_new_mem_buf(t->cert, (int)t->cert_len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int n = snprintf(buf, len, "%s", hex ? hex : "");

	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	return n;
}
