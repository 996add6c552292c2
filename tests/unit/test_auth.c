/* SPDX-License-Identifier: MIT */
/*
 * test_auth.c - JWT verification (algorithms, signature, exp/nbf/leeway,
 * sub, rooms), the Bearer header, the Origin allow-list.  Tokens are
 * minted with libjwt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jwt.h>

#include "auth.h"
#include "conf.h"
#include "cu.h"

#define SECRET "test-secret-0123456789"
#define NOW    ((time_t)1800000000)
#define WHY_LEN 128    /* the error buffer verify() fills */

/* A token over claims (JSON) signed with alg and key; malloc'd. */
static char *mint(jwt_alg_t alg, const char *key, const char *claims)
{
	jwt_t *j = NULL;
	char *tok;

	CU_ASSERT_FATAL(jwt_new(&j) == 0);
	CU_ASSERT_FATAL(jwt_add_grants_json(j, claims) == 0);
	CU_ASSERT_FATAL(jwt_set_alg(j, alg, (const unsigned char *)key,
				    key ? (int)strlen(key) : 0) == 0);
	tok = jwt_encode_str(j);
	jwt_free(j);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	return tok;
}

static struct auth *make_auth(const char *secret, const char *leeway)
{
	struct conf_kv ov[] = { { "auth_enabled", "on" }, { "auth_secret", secret },
				{ "auth_leeway", leeway } };
	char cerr[CHATD_ERR_MAX];
	char err[256];
	struct conf *c;
	struct auth *a;

	unsetenv("AUTH_ENABLED");
	c = conf_load(NULL, ov, 3, cerr, sizeof(cerr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	a = auth_new(c, err, sizeof(err));
	conf_free(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	return a;
}

/* auth_verify's result for a token minted from claims. */
static enum auth_result verify(struct auth *a, jwt_alg_t alg, const char *key,
			       const char *claims, const char *room, struct auth_identity *id,
			       char *why)
{
	char *tok = mint(alg, key, claims);
	enum auth_result rc = auth_verify(a, tok, room, NOW, id, why, WHY_LEN);

	free(tok);
	return rc;
}

static void test_valid(void)
{
	struct auth *a = make_auth(SECRET, "0");
	struct auth_identity id;
	char why[WHY_LEN];

	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"alice\",\"exp\":1800000100}",
			       "lobby", &id, why), AUTH_OK);
	CU_ASSERT_STRING_EQUAL(id.sub, "alice");
	CU_ASSERT_EQUAL(id.expires, 1800000100);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"bob@example.com\"}", NULL,
			       &id, why), AUTH_OK);
	CU_ASSERT_STRING_EQUAL(id.sub, "bob@example.com");
	CU_ASSERT_EQUAL(id.expires, 0);                   /* no exp: no expiry */
	auth_free(a);
	auth_free(NULL);
}

static void test_algorithms(void)
{
	struct auth *a = make_auth(SECRET, "0");
	struct auth_identity id;
	char why[WHY_LEN];
	const char *claims = "{\"sub\":\"alice\"}";

	CU_ASSERT_EQUAL(verify(a, JWT_ALG_NONE, NULL, claims, NULL, &id, why), AUTH_INVALID);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS384, SECRET, claims, NULL, &id, why), AUTH_INVALID);
	CU_ASSERT_STRING_EQUAL(why, "token must be signed with HS256");
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS512, SECRET, claims, NULL, &id, why), AUTH_INVALID);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, "another-secret", claims, NULL, &id, why), AUTH_INVALID);
	CU_ASSERT_STRING_EQUAL(why, "malformed token or bad signature");
	CU_ASSERT_STRING_EQUAL(id.sub, "");
	auth_free(a);
}

/* A valid token whose payload is swapped keeps its signature: refused. */
static void test_tampered(void)
{
	struct auth *a = make_auth(SECRET, "0");
	struct auth_identity id;
	char why[WHY_LEN];
	char *good = mint(JWT_ALG_HS256, SECRET, "{\"sub\":\"alice\"}");
	char *evil = mint(JWT_ALG_HS256, "x", "{\"sub\":\"mallory\"}");
	char forged[2048], *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
	char *e1 = strchr(evil, '.'), *e2 = strrchr(evil, '.');

	CU_ASSERT_EQUAL(auth_verify(a, good, NULL, NOW, &id, why, sizeof(why)), AUTH_OK);
	/* header of good, payload of evil, signature of good */
	snprintf(forged, sizeof(forged), "%.*s%.*s%s", (int)(d1 - good), good,
		 (int)(e2 - e1), e1, d2);
	CU_ASSERT_EQUAL(auth_verify(a, forged, NULL, NOW, &id, why, sizeof(why)), AUTH_INVALID);
	/* the alg none header with good's payload and no signature */
	snprintf(forged, sizeof(forged), "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0%.*s.",
		 (int)(d2 - d1), d1);
	CU_ASSERT_EQUAL(auth_verify(a, forged, NULL, NOW, &id, why, sizeof(why)), AUTH_INVALID);
	static const char *const junk[] = { "", "abc", "a.b.c", "..", "e30.e30.", "x.y",
					    "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		CU_ASSERT_EQUAL(auth_verify(a, junk[i], NULL, NOW, &id, why, sizeof(why)), AUTH_INVALID);
	CU_ASSERT_EQUAL(auth_verify(a, NULL, NULL, NOW, &id, why, sizeof(why)), AUTH_INVALID);
	CU_ASSERT_STRING_EQUAL(why, "missing token");
	free(good);
	free(evil);
	auth_free(a);
}

static void test_times(void)
{
	struct auth *a = make_auth(SECRET, "0"), *l = make_auth(SECRET, "30s");
	struct auth_identity id;
	char why[WHY_LEN];

	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"exp\":1800000000}",
			       NULL, &id, why), AUTH_OK);           /* exp == now: still valid */
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"exp\":1799999999}",
			       NULL, &id, why), AUTH_INVALID);
	CU_ASSERT_STRING_EQUAL(why, "token expired");
	CU_ASSERT_EQUAL(verify(l, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"exp\":1799999975}",
			       NULL, &id, why), AUTH_OK);           /* within the leeway */
	CU_ASSERT_EQUAL(id.expires, 1800000005);
	CU_ASSERT_EQUAL(verify(l, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"exp\":1799999969}",
			       NULL, &id, why), AUTH_INVALID);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"nbf\":1800000001}",
			       NULL, &id, why), AUTH_INVALID);
	CU_ASSERT_STRING_EQUAL(why, "token not yet valid");
	CU_ASSERT_EQUAL(verify(l, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"nbf\":1800000020}",
			       NULL, &id, why), AUTH_OK);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"exp\":\"soon\"}",
			       NULL, &id, why), AUTH_INVALID);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"exp\":1e300}",
			       NULL, &id, why), AUTH_OK);           /* clamped, no overflow */
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"exp\":-1e300}",
			       NULL, &id, why), AUTH_INVALID);
	auth_free(a);
	auth_free(l);
}

static void test_sub(void)
{
	struct auth *a = make_auth(SECRET, "0");
	struct auth_identity id;
	char why[WHY_LEN];
	char claims[256];
	static const char *const bad[] = {
		"{}", "{\"sub\":\"\"}", "{\"sub\":42}", "{\"sub\":\"a b\"}", "{\"sub\":\"a\\nb\"}",
		"{\"sub\":\"caf\\u00e9\"}", "{\"sub\":null}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, bad[i], NULL, &id, why), AUTH_INVALID);
	snprintf(claims, sizeof(claims), "{\"sub\":\"%064d\"}", 7);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, claims, NULL, &id, why), AUTH_OK);
	CU_ASSERT_EQUAL(strlen(id.sub), CHATD_CLIENT_ID_MAX);
	snprintf(claims, sizeof(claims), "{\"sub\":\"%065d\"}", 7);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, claims, NULL, &id, why), AUTH_INVALID);
	auth_free(a);
}

static void test_rooms(void)
{
	struct auth *a = make_auth(SECRET, "0");
	struct auth_identity id;
	char why[WHY_LEN];
	const char *two = "{\"sub\":\"a\",\"rooms\":[\"lobby\",\"dev\"]}";

	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, two, "lobby", &id, why), AUTH_OK);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, two, "dev", &id, why), AUTH_OK);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, two, "ops", &id, why), AUTH_FORBIDDEN);
	CU_ASSERT_STRING_EQUAL(why, "token does not allow this room");
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, two, NULL, &id, why), AUTH_FORBIDDEN);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, two, "", &id, why), AUTH_FORBIDDEN);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"rooms\":[\"*\"]}",
			       NULL, &id, why), AUTH_OK);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"rooms\":[]}",
			       "lobby", &id, why), AUTH_FORBIDDEN);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"rooms\":\"lobby\"}",
			       "lobby", &id, why), AUTH_INVALID);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\",\"rooms\":[1]}",
			       "lobby", &id, why), AUTH_INVALID);
	auth_free(a);
}

static void test_secret_file(void)
{
	char path[] = "/tmp/test_auth.XXXXXX", err[256];
	int fd = mkstemp(path);
	struct conf_kv ov[] = { { "auth_enabled", "on" }, { "auth_secret_file", path } };
	char cerr[CHATD_ERR_MAX];
	struct auth_identity id;
	char why[WHY_LEN];

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, SECRET "\n", sizeof(SECRET)) == (ssize_t)sizeof(SECRET));
	close(fd);
	struct conf *c = conf_load(NULL, ov, 2, cerr, sizeof(cerr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct auth *a = auth_new(c, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(verify(a, JWT_ALG_HS256, SECRET, "{\"sub\":\"a\"}", NULL, &id, why), AUTH_OK);
	auth_free(a);
	CU_ASSERT_FATAL(truncate(path, 0) == 0);        /* empty: refused */
	CU_ASSERT_PTR_NULL(auth_new(c, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty"));
	unlink(path);
	CU_ASSERT_PTR_NULL(auth_new(c, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	conf_free(c);
}

static void test_bearer(void)
{
	CU_ASSERT_STRING_EQUAL(auth_bearer("Bearer abc.def"), "abc.def");
	CU_ASSERT_STRING_EQUAL(auth_bearer("bearer   x"), "x");
	CU_ASSERT_STRING_EQUAL(auth_bearer("BEARER\tx"), "x");
	CU_ASSERT_PTR_NULL(auth_bearer("Basic dXNlcjpwYXNz"));
	CU_ASSERT_PTR_NULL(auth_bearer("Bearerx"));
	CU_ASSERT_PTR_NULL(auth_bearer("Bear"));
	CU_ASSERT_PTR_NULL(auth_bearer(NULL));
	CU_ASSERT_STRING_EQUAL(auth_bearer("Bearer "), "");
}

static void test_origins(void)
{
	const char *list = "https://chat.example.com, http://localhost:8080 https://*.example.org";

	CU_ASSERT(auth_origin_allowed("*", "https://evil.example"));
	CU_ASSERT(auth_origin_allowed("", "https://evil.example"));
	CU_ASSERT(auth_origin_allowed(" , ", "https://evil.example"));
	CU_ASSERT(auth_origin_allowed(list, NULL));              /* not a browser */
	CU_ASSERT(auth_origin_allowed(list, "https://chat.example.com"));
	CU_ASSERT(auth_origin_allowed(list, "HTTPS://Chat.Example.COM"));
	CU_ASSERT(auth_origin_allowed(list, "http://localhost:8080"));
	CU_ASSERT(auth_origin_allowed(list, "https://a.example.org"));
	CU_ASSERT(auth_origin_allowed(list, "https://a.b.example.org"));
	CU_ASSERT(!auth_origin_allowed(list, "https://example.org"));
	CU_ASSERT(!auth_origin_allowed(list, "http://a.example.org"));
	CU_ASSERT(!auth_origin_allowed(list, "https://evilexample.org"));
	CU_ASSERT(!auth_origin_allowed(list, "https://evil.com/x.example.org"));
	CU_ASSERT(!auth_origin_allowed(list, "https://a.example.org:444"));
	CU_ASSERT(!auth_origin_allowed(list, "https://chat.example.com.evil.com"));
	CU_ASSERT(!auth_origin_allowed(list, "https://chat.example.co"));
	CU_ASSERT(!auth_origin_allowed(list, "http://localhost"));
	CU_ASSERT(!auth_origin_allowed(list, "null"));
	CU_ASSERT(!auth_origin_allowed(list, ""));
	CU_ASSERT(auth_origin_allowed("https://a https://b *", "https://c"));
}

static CU_TestInfo tests[] = {
	{ "valid tokens", test_valid },
	{ "only HS256", test_algorithms },
	{ "tampered and malformed tokens", test_tampered },
	{ "exp, nbf and leeway", test_times },
	{ "sub", test_sub },
	{ "rooms claim", test_rooms },
	{ "secret file", test_secret_file },
	{ "bearer header", test_bearer },
	{ "origin allow-list", test_origins },
	CU_TEST_INFO_NULL,
};

CU_MAIN("auth", tests)
