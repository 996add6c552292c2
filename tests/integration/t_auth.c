/* SPDX-License-Identifier: MIT */
/*
 * t_auth.c - authentication against the real binary: tokens in the header
 * and the query (valid, expired, not yet valid, forged, alg none, other
 * algorithms, wrong room), the secret file, a token expiring while
 * connected, and the Origin allow-list.
 */
#include "harness.h"

#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SECRET "itest-secret-4b1d"

/* A token over claims signed with alg and key (NULL claims: {}).  The
 * result is static: one per call site at a time (copied by the caller). */
static const char *mint(jwt_alg_t alg, const char *key, const char *claims)
{
	static char out[2048];
	jwt_t *j = NULL;
	char *t;

	if (jwt_new(&j) != 0 || jwt_add_grants_json(j, claims) != 0 ||
	    jwt_set_alg(j, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0) != 0 ||
	    (t = jwt_encode_str(j)) == NULL) {
		jwt_free(j);
		return "";
	}
	snprintf(out, sizeof(out), "%s", t);
	free(t);
	jwt_free(j);
	return out;
}

/* HTTP status of an upgrade to path with extra headers (NULL); 101 = open,
 * and the connection is closed again.  body (may be NULL) gets the
 * response's body on refusal. */
static int upgrade_status(struct chatd *h, const char *path, const char *hdrs, char *body,
			  size_t cap)
{
	int st = 0;
	struct wsc *c = wsc_connect(HOST, h->port, path, hdrs, 3000, &st);

	if (body != NULL) {
		const char *r = wsc_last_response(), *b = r ? strstr(r, "\r\n\r\n") : NULL;
		snprintf(body, cap, "%s", c == NULL && b ? b + 4 : "");
	}
	wsc_free(c);
	return st;
}

static int bearer_status(struct chatd *h, const char *path, const char *tok)
{
	char hdr[2200];

	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
	return upgrade_status(h, path, hdr, NULL, 0);
}

static int query_status(struct chatd *h, const char *path, const char *tok)
{
	char p[2200];

	snprintf(p, sizeof(p), "%s%stoken=%s", path, strchr(path, '?') ? "&" : "?", tok);
	return upgrade_status(h, p, NULL, NULL, 0);
}

static struct chatd *start_auth(const char *extra, int workers)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), "auth_enabled on\nauth_secret %s\nauth_leeway 0\n%s", SECRET,
		 extra ? extra : "");
	return chatd_start(&(struct chatd_opts){ .workers = workers, .conf = conf });
}

/* ---- tokens -------------------------------------------------------------------- */

static void t_auth_refusals(void)
{
	struct chatd *h = start_auth(NULL, 1);
	char body[512], claims[256], tok[2048];
	long now = (long)time(NULL);
	int refused = 0;

	CHECK(h, "start");
	CHECK(upgrade_status(h, WS "/lobby", NULL, body, sizeof(body)) == 401, "no token");
	refused++;
	CHECK(strstr(body, "\"error\":\"unauthorized\"") && strstr(body, "missing token"),
	      "401 body: %s", body);
	CHECK(strstr(wsc_last_response(), "application/json"), "content type");

	snprintf(claims, sizeof(claims), "{\"sub\":\"alice\",\"exp\":%ld}", now - 5);
	snprintf(tok, sizeof(tok), "%s", mint(JWT_ALG_HS256, SECRET, claims));
	CHECK(bearer_status(h, WS "/lobby", tok) == 401, "expired, header");
	CHECK(query_status(h, WS "/lobby", tok) == 401, "expired, query");
	refused += 2;
	snprintf(claims, sizeof(claims), "{\"sub\":\"alice\",\"nbf\":%ld}", now + 300);
	CHECK(bearer_status(h, WS, mint(JWT_ALG_HS256, SECRET, claims)) == 401, "not yet valid");
	CHECK(bearer_status(h, WS, mint(JWT_ALG_HS256, "not-the-secret", "{\"sub\":\"a\"}")) == 401,
	      "forged");
	CHECK(bearer_status(h, WS, mint(JWT_ALG_HS512, SECRET, "{\"sub\":\"a\"}")) == 401, "HS512");
	CHECK(bearer_status(h, WS, mint(JWT_ALG_HS384, SECRET, "{\"sub\":\"a\"}")) == 401, "HS384");
	/* alg none: {"alg":"none","typ":"JWT"} . {"sub":"a"} . (no signature) */
	CHECK(query_status(h, WS, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIn0.") == 401,
	      "alg none");
	CHECK(bearer_status(h, WS, "garbage") == 401, "malformed");
	CHECK(bearer_status(h, WS, mint(JWT_ALG_HS256, SECRET, "{\"exp\":9999999999}")) == 401,
	      "no sub");
	CHECK(upgrade_status(h, WS, "Authorization: Basic YTpi\r\n", NULL, 0) == 401, "Basic");
	refused += 8;
	snprintf(tok, sizeof(tok), "%s",
		 mint(JWT_ALG_HS256, SECRET, "{\"sub\":\"bob\",\"rooms\":[\"dev\",\"ops\"]}"));
	CHECK(bearer_status(h, WS "/dev", tok) == 101, "allowed room");
	CHECK(query_status(h, WS "?room=ops", tok) == 101, "allowed room, ?room=");
	CHECK(upgrade_status(h, WS "/lobby", NULL, NULL, 0) == 401, "no token for a room");
	CHECK(bearer_status(h, WS "/lobby", tok) == 403, "other room");
	CHECK(query_status(h, WS, tok) == 403, "global with a rooms claim");
	refused += 3;
	json_t *j = harness_stats(h);
	CHECK(j, "stats");
	long long n = stats_num(j, "auth_refused"), r = stats_num(j, "rejected_upgrades");
	json_decref(j);
	CHECK(n == refused && r == refused, "auth_refused %lld, rejected_upgrades %lld, want %d",
	      n, r, refused);
}

/* A valid token in either form: from is its sub, in the welcome and on chat. */
static void t_auth_identity(void)
{
	struct chatd *h = start_auth(NULL, 2);
	char hdr[2200], path[2200], id[64];
	struct wsc *a, *b;
	json_t *j;

	CHECK(h, "start");
	snprintf(hdr, sizeof(hdr), "Authorization: bearer %s\r\n",
		 mint(JWT_ALG_HS256, SECRET, "{\"sub\":\"alice@example.com\",\"exp\":9999999999}"));
	a = wsc_connect(HOST, h->port, WS "/lobby", hdr, 3000, NULL);
	CHECK(a, "header token refused");
	snprintf(path, sizeof(path), WS "/lobby?token=%s",
		 mint(JWT_ALG_HS256, SECRET, "{\"sub\":\"bob\",\"rooms\":[\"*\"]}"));
	b = wsc_connect(HOST, h->port, path, NULL, 3000, NULL);
	CHECK(b, "query token refused");
	CHECK(ws_welcome(a, id, sizeof(id)) == 0 && strcmp(id, "alice@example.com") == 0,
	      "welcome client_id %s", id);
	CHECK(ws_welcome(b, id, sizeof(id)) == 0 && strcmp(id, "bob") == 0, "welcome %s", id);
	CHECK(ws_sendf(a, "{\"type\":\"chat\",\"from\":\"mallory\",\"data\":{\"t\":1}}") == 0, "send");
	j = ws_recv_type(b, "chat", 3000);
	CHECK(j && strcmp(js(j, "from"), "alice@example.com") == 0, "chat from %s",
	      j ? js(j, "from") : "(nothing)");
	json_decref(j);
	wsc_free(a);
	wsc_free(b);
}

/* The secret from a file; an unreadable file refuses every upgrade (503). */
static void t_auth_secret_file(void)
{
	char dir[] = "/tmp/chatd-auth-XXXXXX", conf[512], key[256];
	FILE *f;

	CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(key, sizeof(key), "%s/jwt.key", dir);
	f = fopen(key, "w");
	CHECK(f && fputs(SECRET "\n", f) >= 0 && fclose(f) == 0, "write %s", key);
	snprintf(conf, sizeof(conf), "auth_enabled on\nauth_secret_file %s\n", key);
	struct chatd *g = chatd_start(&(struct chatd_opts){ .conf = conf });
	unlink(key);                           /* read once, at the workers' start */
	rmdir(dir);
	CHECK(g, "start with auth_secret_file");
	CHECK(bearer_status(g, WS, mint(JWT_ALG_HS256, SECRET, "{\"sub\":\"a\"}")) == 101,
	      "token signed with the file's secret");
	CHECK(bearer_status(g, WS, mint(JWT_ALG_HS256, SECRET "\n", "{\"sub\":\"a\"}")) == 401,
	      "the trailing newline is not part of the secret");
	/* a secret file that cannot be read is a configuration error: at -t and at start */
	char path[600], out[2048];
	int port = free_port();
	snprintf(path, sizeof(path), "%s.conf", dir);
	f = fopen(path, "w");
	CHECK(f && fprintf(f, "redis_url off\nauth_enabled on\nauth_secret_file %s/missing.key\n",
			   dir) > 0 && fclose(f) == 0, "write %s", path);
	char lst[64];
	snprintf(lst, sizeof(lst), "127.0.0.1:%d", port);
	char *const t_argv[] = { (char *)chatd_bin(), "-t", "-c", path, NULL };
	char *const f_argv[] = { (char *)chatd_bin(), "-f", "-c", path, "-l", lst, NULL };
	int rc_t = run_capture(t_argv, out, sizeof(out), 5000);
	CHECK(rc_t == 1 && strstr(out, "missing.key"), "-t with a missing secret file: %d: %s",
	      rc_t, out);
	int rc_f = run_capture(f_argv, out, sizeof(out), 5000);
	unlink(path);
	CHECK(rc_f == 1 && strstr(out, "missing.key"), "start with a missing secret file: %d: %s",
	      rc_f, out);
}

/* A token that expires while connected: closed with 1008 "token expired". */
static void t_auth_expiry(void)
{
	struct chatd *h = start_auth(NULL, 1);
	char claims[128], hdr[2200], reason[128] = "";
	struct wsc *a, *b;
	long long t0;
	int code;

	CHECK(h, "start");
	snprintf(claims, sizeof(claims), "{\"sub\":\"short\",\"exp\":%ld}", (long)time(NULL) + 2);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n",
		 mint(JWT_ALG_HS256, SECRET, claims));
	a = wsc_connect(HOST, h->port, WS "/lobby", hdr, 3000, NULL);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n",
		 mint(JWT_ALG_HS256, SECRET, "{\"sub\":\"long\"}"));
	b = wsc_connect(HOST, h->port, WS "/lobby", hdr, 3000, NULL);
	CHECK(a && b, "connect");
	t0 = mono_ms();
	code = ws_wait_close(a, 6000, reason, sizeof(reason));
	CHECK(code == 1008 && strcmp(reason, "token expired") == 0, "close %d \"%s\"", code, reason);
	CHECK(mono_ms() - t0 <= 4500, "closed after %lld ms", mono_ms() - t0);
	CHECK(ws_sendf(b, "{\"type\":\"ping\"}") == 0 && ws_recv_type(b, "pong", 3000),
	      "the token without exp stays");
	CHECK(stats_wait(h, "token_expired_closes", 1, 2000) == 1, "token_expired_closes");
	wsc_free(a);
	wsc_free(b);
}

/* ---- Origin ---------------------------------------------------------------------- */

static void t_origin(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){
		.conf = "allowed_origins \"https://chat.example.com, https://*.apps.example\"\n" });
	char body[256];

	CHECK(h, "start");
	CHECK(upgrade_status(h, WS, NULL, NULL, 0) == 101, "no Origin (not a browser)");
	CHECK(upgrade_status(h, WS, "Origin: https://chat.example.com\r\n", NULL, 0) == 101,
	      "allowed");
	CHECK(upgrade_status(h, WS "/x", "Origin: https://a.apps.example\r\n", NULL, 0) == 101,
	      "allowed subdomain");
	CHECK(upgrade_status(h, WS, "Origin: https://evil.example\r\n", body, sizeof(body)) == 403,
	      "other origin");
	CHECK(strstr(body, "\"error\":\"forbidden\"") && strstr(body, "origin"), "body %s", body);
	CHECK(upgrade_status(h, WS, "Origin: http://chat.example.com\r\n", NULL, 0) == 403,
	      "other scheme");
	CHECK(upgrade_status(h, WS, "Origin: https://apps.example\r\n", NULL, 0) == 403,
	      "the bare domain of a wildcard");
	CHECK(stats_wait(h, "origin_refused", 3, 2000) == 3, "origin_refused");
}

const struct itest_case t_auth_cases[] = {
	{ "auth_refusals", t_auth_refusals, 0 },
	{ "auth_identity", t_auth_identity, 0 },
	{ "auth_secret_file", t_auth_secret_file, 0 },
	{ "auth_expiry", t_auth_expiry, 0 },
	{ "auth_origin", t_origin, 0 },
	{ NULL, NULL, 0 },
};
