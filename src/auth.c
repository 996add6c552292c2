/* SPDX-License-Identifier: MIT */
/*
 * auth.c - who may connect, and how much.  Tokens are decoded and their
 * signature checked by libjwt; the algorithm and the claims are then checked
 * here, explicitly, with jansson.  A leaf module: nothing logs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>

#include "auth.h"
#include "conf.h"
#include "errbuf.h"

#define AUTH_SECRET_MAX 4096
#define AUTH_TIME_MAX   253402300799LL  /* 9999-12-31T23:59:59Z: later is "never" */

struct auth {
	unsigned char secret[AUTH_SECRET_MAX];
	int secret_len;
	long long leeway;                   /* seconds */
};

/* Read the secret file into a->secret; one trailing newline is dropped. */
static int auth_read_secret(struct auth *a, const char *path, char *err, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	int bad;

	if (f == NULL)
		return errbuf_set(err, len, "auth_secret_file %s: %s", path, strerror(errno));
	n = fread(a->secret, 1, sizeof(a->secret), f);
	bad = ferror(f) ? EIO : n == sizeof(a->secret) ? EFBIG : 0;
	fclose(f);
	if (bad) {
		errno = bad;
		return errbuf_set(err, len, "auth_secret_file %s: %s (at most 4095 bytes)", path,
				  strerror(errno));
	}
	if (n > 0 && a->secret[n - 1] == '\n')
		n--;
	if (n > 0 && a->secret[n - 1] == '\r')
		n--;
	a->secret_len = (int)n;
	return 0;
}

struct auth *auth_new(const struct conf *c, char *err, size_t len)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	a->leeway = c->auth_leeway_ms / 1000;
	if (c->auth_secret_file[0] != '\0') {
		if (auth_read_secret(a, c->auth_secret_file, err, len) < 0)
			goto fail;
	} else {
		a->secret_len = (int)strlen(c->auth_secret);
		memcpy(a->secret, c->auth_secret, (size_t)a->secret_len);
	}
	if (a->secret_len == 0) {
		snprintf(err, len, "the JWT secret is empty");
		goto fail;
	}
	return a;
fail:
	auth_free(a);
	return NULL;
}

void auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	memset(a->secret, 0, sizeof(a->secret));
	free(a);
}

/* ---- claims ------------------------------------------------------------------ */

/* What auth_time_claim() found. */
enum auth_claim { CLAIM_ABSENT, CLAIM_SET, CLAIM_BAD };

/* A NumericDate claim: CLAIM_SET with *t (clamped), or absent, or not a number. */
static enum auth_claim auth_time_claim(json_t *body, const char *name, long long *t)
{
	json_t *v = json_object_get(body, name);
	double d;

	if (v == NULL)
		return CLAIM_ABSENT;
	if (!json_is_number(v))
		return CLAIM_BAD;
	d = json_number_value(v);
	*t = d >= (double)AUTH_TIME_MAX ? AUTH_TIME_MAX : d <= 0 ? 0 : (long long)d;
	return CLAIM_SET;
}

/* sub: 1..CHATD_CLIENT_ID_MAX printable ASCII bytes without spaces. */
static int auth_sub(json_t *body, char *out)
{
	const char *s = json_string_value(json_object_get(body, "sub"));
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > CHATD_CLIENT_ID_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return -1;
	memcpy(out, s, n + 1);
	return 0;
}

/* The "rooms" claim: AUTH_OK allowed, AUTH_FORBIDDEN not in the list,
 * AUTH_INVALID malformed. */
static enum auth_result auth_rooms(json_t *body, const char *room)
{
	json_t *rooms = json_object_get(body, "rooms"), *v;
	int allowed = 0;
	size_t i;

	if (rooms == NULL)
		return AUTH_OK;
	if (!json_is_array(rooms))
		return AUTH_INVALID;
	json_array_foreach(rooms, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL)
			return AUTH_INVALID;
		if (strcmp(s, "*") == 0 || (room != NULL && room[0] != '\0' && strcmp(s, room) == 0))
			allowed = 1;
	}
	return allowed ? AUTH_OK : AUTH_FORBIDDEN;
}

/* Fill err with msg and return r. */
static enum auth_result auth_refuse(char *err, size_t errlen, enum auth_result r,
				    const char *msg)
{
	errbuf_set(err, errlen, "%s", msg);
	return r;
}

/* Check the claims of a verified token's body. */
static enum auth_result auth_claims(const struct auth *a, json_t *body, const char *room,
				    time_t now, struct auth_identity *id, char *err,
				    size_t errlen)
{
	long long exp = 0, nbf = 0;
	enum auth_claim has_exp = auth_time_claim(body, "exp", &exp);
	enum auth_claim has_nbf = auth_time_claim(body, "nbf", &nbf);
	enum auth_result rc;

	if (has_exp == CLAIM_BAD || has_nbf == CLAIM_BAD)
		return auth_refuse(err, errlen, AUTH_INVALID, "exp and nbf must be numbers");
	if (has_exp == CLAIM_SET && (long long)now > exp + a->leeway)
		return auth_refuse(err, errlen, AUTH_INVALID, "token expired");
	if (has_nbf == CLAIM_SET && (long long)now + a->leeway < nbf)
		return auth_refuse(err, errlen, AUTH_INVALID, "token not yet valid");
	if (auth_sub(body, id->sub) < 0)
		return auth_refuse(err, errlen, AUTH_INVALID,
				   "token needs a sub of 1-64 printable characters");
	rc = auth_rooms(body, room);
	if (rc == AUTH_INVALID)
		return auth_refuse(err, errlen, AUTH_INVALID, "rooms must be an array of room names");
	if (rc == AUTH_FORBIDDEN)
		return auth_refuse(err, errlen, AUTH_FORBIDDEN, "token does not allow this room");
	id->expires = has_exp == CLAIM_SET ? (time_t)(exp + a->leeway) : 0;
	return AUTH_OK;
}

enum auth_result auth_verify(const struct auth *a, const char *token, const char *room,
			     time_t now, struct auth_identity *id, char *err, size_t errlen)
{
	jwt_t *jwt = NULL;
	json_t *body;
	char *text;
	enum auth_result rc;

	memset(id, 0, sizeof(*id));
	if (token == NULL || token[0] == '\0')
		return auth_refuse(err, errlen, AUTH_INVALID, "missing token");
	if (strlen(token) > AUTH_TOKEN_MAX)
		return auth_refuse(err, errlen, AUTH_INVALID, "token too long");
	if (jwt_decode(&jwt, token, a->secret, a->secret_len) != 0)
		return auth_refuse(err, errlen, AUTH_INVALID, "malformed token or bad signature");
	/* libjwt also accepts alg none (without checking anything) and the
	 * other HMAC sizes: only HS256 is ours */
	if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
		jwt_free(jwt);
		return auth_refuse(err, errlen, AUTH_INVALID, "token must be signed with HS256");
	}
	text = jwt_get_grants_json(jwt, NULL);
	jwt_free(jwt);
	body = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	free(text);
	if (!json_is_object(body)) {
		json_decref(body);
		return auth_refuse(err, errlen, AUTH_INVALID, "malformed token");
	}
	rc = auth_claims(a, body, room, now, id, err, errlen);
	json_decref(body);
	return rc;
}

const char *auth_bearer(const char *hdr)
{
	if (hdr == NULL || strncasecmp(hdr, "Bearer", 6) != 0 || (hdr[6] != ' ' && hdr[6] != '\t'))
		return NULL;
	hdr += 6;
	while (*hdr == ' ' || *hdr == '\t')
		hdr++;
	return hdr;
}

/* ---- origins ----------------------------------------------------------------------- */

/* Does one allow-list entry e[0..n) match origin? */
static int auth_origin_match(const char *e, size_t n, const char *origin)
{
	const char *star = memchr(e, '*', n);
	size_t olen = strlen(origin), pre, suf, mid;

	if (star == NULL)
		return olen == n && strncasecmp(e, origin, n) == 0;
	/* a wildcard entry, scheme "://" "*" ".domain[:port]": the same scheme,
	 * one or more host labels, then ".domain[:port]" */
	pre = (size_t)(star - e);
	suf = n - pre - 1;
	if (pre < 3 || strncmp(star - 3, "://", 3) != 0 || suf < 2 || star[1] != '.' ||
	    olen <= pre + suf)
		return 0;
	mid = olen - pre - suf;
	return strncasecmp(e, origin, pre) == 0 &&
	       strncasecmp(origin + olen - suf, star + 1, suf) == 0 &&
	       strcspn(origin + pre, "/:@?#") >= mid;
}

int auth_origin_allowed(const char *list, const char *origin)
{
	const char *sep = " \t,";
	size_t n;

	if (origin == NULL || list[strspn(list, sep)] == '\0')
		return 1;
	for (list += strspn(list, sep); *list != '\0'; list += n, list += strspn(list, sep)) {
		n = strcspn(list, sep);
		if ((n == 1 && list[0] == '*') || auth_origin_match(list, n, origin))
			return 1;
	}
	return 0;
}
