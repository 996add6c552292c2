/* SPDX-License-Identifier: MIT */
/*
 * t_tls.c - TLS on `listen ... ssl` against the real binary, with a
 * throwaway PKI made by the openssl command in the test's own directory
 * (root CA -> intermediate -> server certificates; a second, unrelated CA):
 * a wss:// round trip next to a plain listen (with https /healthz, /metrics
 * and the publish API, and the access log's tls= and cipher=), the chain
 * sent, wrong-CA and expired certificates refused by a verifying client,
 * old TLS versions refused, auth and the per-address limit on the TLS port,
 * a root-only key served by workers running as `user nobody` (as root),
 * rotation by SIGHUP with a client staying connected, a bad certificate at
 * -t / start / reload, an encrypted key refused without a prompt, plain
 * and TLS lines on one address refused, -l "ADDR:PORT ssl" replacing the
 * default plain listen, a stalled handshake cut at handshake_timeout, plain HTTP on the TLS port
 * refused, a slow wss:// consumer dropped, and chatd-benchmark over wss://.
 */
#include "harness.h"

#include <errno.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The PKI: serials are hex in what a client reads back. */
#define SERIAL_SRV "1001"      /* srv: the first certificate */
#define SERIAL_NEW "2002"      /* new: the renewed one */

static const char pki_script[] =
	"set -e\n"
	"cd \"$1\"\n"
	"ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
	"openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=chatd-test-root\n"
	"openssl req -x509 $ec -keyout wca.key -out wca.pem -days 2 -subj /CN=chatd-test-other\n"
	"printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n' > caext\n"
	"openssl req -new $ec -keyout int.key -out int.csr -subj /CN=chatd-test-int\n"
	"openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 "
	"  -extfile caext -out int.pem\n"
	"printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext\n"
	"mk() {\n"
	"  openssl req -new $ec -keyout $1.key -out $1.csr -subj /CN=localhost\n"
	"  openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -set_serial $3 -days $4 "
	"    -extfile ext -out $1.crt\n"
	"  cat $1.crt $2.pem > $1.pem\n"   /* the certificate, then its chain */
	"}\n"
	"mk srv int 4097 2\n"
	"mk new int 8194 2\n"
	"mk old int 4100 -1\n"
	"mk wrong wca 4099 2\n"
	"chmod 600 *.key\n"
	"cp srv.pem cur.pem; cp srv.key cur.key; chmod 600 cur.key\n";

static char pki[128];

/* Make the PKI in a new temp dir (pki); 0 / -1 with the failure recorded. */
static int pki_make(void)
{
	char out[8192];
	char *argv[] = { "/bin/sh", "-c", (char *)pki_script, "pki", pki, NULL };
	int rc;

	snprintf(pki, sizeof(pki), "/tmp/chatd-tls-XXXXXX");
	CHECKR(harness_tmpdir(pki) != NULL, -1, "mkdtemp");
	rc = run_capture(argv, out, sizeof(out), 30000);
	CHECKR(rc == 0, -1, "making the test PKI failed (%d): %.2000s", rc, out);
	return 0;
}

/* "path" of a PKI file. */
static const char *pf(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", pki, name);
	return buf[i];
}

static int tls_port;

/* chatd with a plain listen (the harness's) and a TLS one on cur.pem, plus
 * extra config lines; NULL with the failure recorded. */
static struct chatd *start_tls(int workers, const char *extra, int no_wait)
{
	static char conf[2048];

	tls_port = free_port();
	snprintf(conf, sizeof(conf),
		 "listen 127.0.0.1:%d ssl\nssl_certificate %s\nssl_certificate_key %s\n"
		 "access_log %s\n%s",
		 tls_port, pf("cur.pem"), pf("cur.key"), pf("access.log"), extra ? extra : "");
	return chatd_start(&(struct chatd_opts){ .workers = workers, .conf = conf,
						 .no_wait = no_wait });
}

static const struct wsc_tls verify_root = { .ca_file = NULL };

/* A verifying client of the test root CA. */
static struct wsc_tls trusting(void)
{
	struct wsc_tls t = verify_root;

	t.ca_file = pf("ca.pem");
	return t;
}

/* wss:// to the TLS port, verified against the test root; the welcome read. */
static struct wsc *wss_join(const char *path)
{
	struct wsc_tls t = trusting();
	int st = 0;
	struct wsc *c = wsc_connect_tls(HOST, tls_port, path, NULL, 5000, &st, &t);

	CHECKR(c != NULL, NULL, "wss connect: status %d, TLS: %s", st, wsc_tls_error());
	CHECKR(ws_welcome(c, NULL, 0) == 0, NULL, "no welcome over wss");
	return c;
}

/* The serial of the certificate a new TLS connection gets ("" if none). */
static const char *serial_now(char *buf, size_t len)
{
	struct wsc_tls t = trusting();
	struct wsc *c = wsc_connect_tls(HOST, tls_port, WS "/s", NULL, 3000, NULL, &t);

	buf[0] = '\0';
	if (c != NULL)
		wsc_tls_peer_serial(c, buf, len);
	wsc_free(c);
	return buf;
}

/* The renewal: new.pem and new.key over cur.*, SIGHUP, then wait up to 10 s
 * for new connections to get SERIAL_NEW; serial gets the last one seen. */
static void rotate(struct chatd *h, char *serial, size_t len)
{
	char cmd[512];
	long long end = mono_ms() + 10000;

	snprintf(cmd, sizeof(cmd), "cp %s %s && cp %s %s", pf("new.pem"), pf("cur.pem"),
		 pf("new.key"), pf("cur.key"));
	if (system(cmd) != 0)
		itest_fail(__FILE__, __LINE__, "copying the renewed files");
	kill(h->pid, SIGHUP);
	while (strcmp(serial_now(serial, len), SERIAL_NEW) != 0 && mono_ms() < end)
		msleep(100);
}

/* Copy PKI file from over to, SIGHUP: the reload must be refused with why
 * in the log, chatd still serving the first certificate (SERIAL_SRV), not
 * counted as a reload.  Failures recorded. */
static void reload_refused(struct chatd *h, const char *from, const char *to, const char *why)
{
	char cmd[600], serial[64];
	long long end = mono_ms() + 5000;

	snprintf(cmd, sizeof(cmd), "cp %s %s", pf(from), pf(to));
	CHECK(system(cmd) == 0, "cp");
	kill(h->pid, SIGHUP);
	while (!chatd_log_has(h, why) && mono_ms() < end)
		msleep(100);
	CHECK(chatd_log_has(h, why), "reload with %s: \"%s\" not logged", from, why);
	CHECK(chatd_wait(h, 0) == -2, "chatd exited");
	msleep(500);
	CHECK(strcmp(serial_now(serial, sizeof(serial)), SERIAL_SRV) == 0,
	      "after a failed reload the serial is %s", serial);
	json_t *j = harness_stats(h);
	CHECK(j && stats_num(j, "reloads") == 0, "a failed reload counted as a reload");
	json_decref(j);
}

/* ---- cases -------------------------------------------------------------------- */

/* Chat between a wss:// and a ws:// client (plain and TLS listens side by
 * side), HTTP over TLS, the chain reaching a client that trusts only the
 * root, and the access log naming the TLS version and cipher. */
static void t_tls_round_trip(void)
{
	CHECK(pki_make() == 0, "pki");
	struct chatd *h = start_tls(2, "publish_key pk-tls\n", 0);
	struct wsc_tls t = trusting();
	char id[64], body[256];
	int st = 0;

	CHECK(h, "start");
	struct wsc *sec = wss_join(WS "/tlsroom");
	CHECK(sec, "wss join");
	CHECK(strcmp(wsc_tls_version(sec), "TLSv1.3") == 0, "TLS version %s", wsc_tls_version(sec));
	struct wsc *pl = ws_join(h, WS "/tlsroom", id, sizeof(id));
	CHECK(pl, "ws join on the plain listen");
	CHECK(ws_sendf(pl, "{\"type\":\"chat\",\"data\":{\"m\":\"plain->tls\"}}") == 0, "send");
	json_t *j = ws_recv_type(sec, "chat", 5000);
	CHECK(j && strcmp(js(j, "from"), id) == 0, "wss client did not get the plain one's chat");
	json_decref(j);
	CHECK(ws_sendf(sec, "{\"type\":\"chat\",\"data\":{\"m\":\"tls->plain\"}}") == 0, "send");
	j = ws_recv_type(pl, "chat", 5000);
	CHECK(j != NULL, "plain client did not get the wss one's chat");
	json_decref(j);
	CHECK(wsc_http_request_tls(HOST, tls_port, "GET", "/healthz", NULL, NULL, 3000, &st, body,
				   sizeof(body), &t) >= 0 && st == 200,
	      "https /healthz: %d (%s)", st, wsc_tls_error());
	CHECK(wsc_http_request_tls(HOST, tls_port, "GET", "/metrics", NULL, NULL, 3000, &st, NULL,
				   0, &t) >= 0 && st == 200, "https /metrics: %d", st);
	/* the publish API over https reaches both */
	CHECK(wsc_http_request_tls(HOST, tls_port, "POST", "/api/chat-api/publish",
				   "Authorization: Bearer pk-tls\r\n",
				   "{\"room\":\"tlsroom\",\"data\":{\"text\":\"via https\"}}", 3000,
				   &st, body, sizeof(body), &t) >= 0 && st == 200,
	      "https publish: %d %s", st, body);
	j = ws_recv_type(sec, "notification", 5000);
	CHECK(j != NULL, "the wss client did not get the published message");
	json_decref(j);
	j = ws_recv_type(pl, "notification", 5000);
	CHECK(j != NULL, "the plain client did not get the message published over https");
	json_decref(j);
	CHECK(wsc_http_request_tls(HOST, tls_port, "POST", "/api/chat-api/publish",
				   "Authorization: Bearer wrong\r\n", "{}", 3000, &st, body,
				   sizeof(body), &t) >= 0 && st == 401, "https publish, bad key: %d", st);
	wsc_free(sec);
	long long end = mono_ms() + 5000;
	while (file_count(pf("access.log"), "tls=TLSv1.3 cipher=TLS_") < 1 && mono_ms() < end)
		msleep(50);
	CHECK(file_count(pf("access.log"), "tls=TLSv1.3 cipher=TLS_") == 1,
	      "no access log line with tls= and cipher=");
	wsc_free(pl);
}

/* Auth and the per-address limit apply on the TLS port as on the plain one. */
static void t_tls_auth_limits(void)
{
	CHECK(pki_make() == 0, "pki");
	struct chatd *h = start_tls(1, "auth_enabled on\nauth_secret tls-secret\n"
				    "max_connections_per_ip 2\n", 0);
	struct wsc_tls t = trusting();
	int st = 0;

	CHECK(h, "start");
	CHECK(wsc_connect_tls(HOST, tls_port, WS "/a", NULL, 3000, &st, &t) == NULL && st == 401,
	      "wss upgrade without a token: status %d (want 401)", st);
	/* two TLS connections held open without finishing: the third is refused */
	int a = wsc_tcp_connect(HOST, tls_port, 2000), b = wsc_tcp_connect(HOST, tls_port, 2000);
	CHECK(a >= 0 && b >= 0, "tcp");
	msleep(300);
	CHECK(wsc_connect_tls(HOST, tls_port, WS "/a", NULL, 3000, &st, &t) == NULL,
	      "a third connection from one address got in past max_connections_per_ip 2");
	close(a);
	close(b);
	/* the stats request comes from the same address: until the server has
	 * seen a and b go, it is itself over max_connections_per_ip */
	char why[300];
	json_t *j = NULL;
	for (int i = 0; i < 50 && !(j = stats_try(h, why, sizeof(why))); i++)
		msleep(100);
	CHECK(j, "%s", why);
	CHECK(stats_num(j, "ip_limit_hits") >= 1, "no ip_limit_hits counted");
	json_decref(j);
}

/* A wss:// client that stops reading is dropped as a slow consumer, as on
 * the plain port, while the sender (plain) goes on. */
static void t_tls_slow_consumer(void)
{
	static char pad[16001];
	CHECK(pki_make() == 0, "pki");
	struct chatd *h = start_tls(1, "send_queue 16\npresence off\n"
				    "rate_limit 1000000\nrate_burst 1000000\n", 0);
	char reason[128] = "";
	int q;

	CHECK(h, "start");
	memset(pad, 'z', sizeof(pad) - 1);
	struct wsc *slow = wss_join(WS "/slowtls");
	struct wsc *snd = ws_join(h, WS "/slowtls", NULL, 0);
	CHECK(slow && snd, "join");
	for (q = 0; q < 2000; q++) {
		CHECK(ws_sendf(snd, "{\"type\":\"chat\",\"data\":{\"q\":%d,\"p\":\"%s\"}}", q,
			       pad) == 0, "send %d", q);
		json_t *j = ws_recv_type(snd, "chat", 5000);   /* its own copy: it keeps up */
		CHECK(j != NULL, "the sender lost its own message %d", q);
		json_decref(j);
		if (q % 100 == 99) {
			json_t *st = harness_stats(h);
			long long closes = stats_num(st, "slow_consumer_closes");

			json_decref(st);
			if (closes >= 1)
				break;
		}
	}
	CHECK(stats_wait(h, "slow_consumer_closes", 1, 5000) == 1,
	      "the wss reader that never reads was not dropped after %d messages", q);
	int code = ws_wait_close(slow, 15000, reason, sizeof(reason));
	CHECK(code == 1008 || code == 0, "slow wss client: close %d, want 1008 or EOF", code);
	wsc_free(slow);
	wsc_free(snd);
}

/* A verifying client refuses a certificate of another CA and an expired
 * one; TLS 1.1 is refused unless ssl_protocols allows it. */
static void t_tls_refused(void)
{
	CHECK(pki_make() == 0, "pki");
	struct chatd *h = start_tls(1, NULL, 0);
	struct wsc_tls t = trusting(), old = trusting(), other = verify_root;
	char cmd[1024];

	CHECK(h, "start");
	other.ca_file = pf("wca.pem");
	CHECK(wsc_connect_tls(HOST, tls_port, WS, NULL, 3000, NULL, &other) == NULL,
	      "a client trusting another CA accepted the server");
	CHECK(strstr(wsc_tls_error(), "certificate verify failed"), "wrong CA: %s", wsc_tls_error());
	old.max_version = 0x0302;          /* TLS1_1_VERSION */
	CHECK(wsc_connect_tls(HOST, tls_port, WS, NULL, 3000, NULL, &old) == NULL,
	      "a TLS 1.1 client got in");
	CHECK(strstr(wsc_tls_error(), "version"), "TLS 1.1: %s", wsc_tls_error());
	/* the expired certificate (same chain): served, refused by the client */
	snprintf(cmd, sizeof(cmd), "redis_url off\nlog_level info\nlisten 127.0.0.1:%d ssl\n"
		 "ssl_certificate %s\nssl_certificate_key %s\n"
		 "ssl_protocols TLSv1.1 TLSv1.2 TLSv1.3\nssl_ciphers DEFAULT:@SECLEVEL=0\n", tls_port, pf("old.pem"), pf("old.key"));
	CHECK(chatd_write_conf(h, cmd) == 0, "rewrite conf");
	kill(h->pid, SIGHUP);
	char serial[64] = "";
	long long end = mono_ms() + 10000;
	struct wsc_tls loose = verify_root;
	while (mono_ms() < end) {
		struct wsc *c = wsc_connect_tls(HOST, tls_port, WS, NULL, 3000, NULL, &loose);

		serial[0] = '\0';
		if (c)
			wsc_tls_peer_serial(c, serial, sizeof(serial));
		wsc_free(c);
		if (strcmp(serial, "1004") == 0)
			break;
		msleep(100);
	}
	CHECK(strcmp(serial, "1004") == 0, "the expired certificate was not served (%s)", serial);
	CHECK(wsc_connect_tls(HOST, tls_port, WS, NULL, 3000, NULL, &t) == NULL,
	      "a verifying client accepted an expired certificate");
	CHECK(strstr(wsc_tls_error(), "certificate verify failed"), "expired: %s", wsc_tls_error());
	/* ssl_protocols now allows TLS 1.1: the same old client gets through */
	struct wsc *c = wsc_connect_tls(HOST, tls_port, WS, NULL, 3000, NULL,
					&(struct wsc_tls){ .max_version = 0x0302 });
	CHECK(c != NULL, "TLS 1.1 refused with ssl_protocols TLSv1.1..: %s", wsc_tls_error());
	CHECK(strcmp(wsc_tls_version(c), "TLSv1.1") == 0, "version %s", wsc_tls_version(c));
	wsc_free(c);
}

/* SIGHUP with renewed files: new connections get the new certificate, a
 * client of the old one stays and still chats with the new ones. */
static void t_tls_rotation(void)
{
	CHECK(pki_make() == 0, "pki");
	struct chatd *h = start_tls(2, "drain_timeout 60s\n", 0);
	char serial[64];

	CHECK(h, "start");
	CHECK(strcmp(serial_now(serial, sizeof(serial)), SERIAL_SRV) == 0, "serial %s", serial);
	struct wsc *keep = wss_join(WS "/rot");
	CHECK(keep, "join");
	rotate(h, serial, sizeof(serial));
	CHECK(strcmp(serial, SERIAL_NEW) == 0, "after SIGHUP new connections get serial %s", serial);
	struct wsc *fresh = wss_join(WS "/rot");
	CHECK(fresh, "join after rotation");
	CHECK(ws_sendf(keep, "{\"type\":\"chat\",\"data\":{\"m\":\"still here\"}}") == 0,
	      "the old connection cannot send");
	json_t *j = ws_recv_type(fresh, "chat", 5000);
	CHECK(j != NULL, "the old connection's chat did not reach a new one");
	json_decref(j);
	char why[128];
	CHECK(ws_wait_close(keep, 300, why, sizeof(why)) == -1, "the old connection was closed");
	wsc_free(keep);
	wsc_free(fresh);
}

/* The uid of a process (-1 when unknown). */
static long proc_uid(pid_t pid)
{
	char path[64], line[256];
	long uid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Uid: %ld", &uid) == 1)
			break;
	fclose(f);
	return uid;
}

/* As root with `user nobody`: a key only root may read (mode 600, in a
 * 700 directory) is served by workers that run as nobody, also after a
 * rotation.  Without root there is no user to drop to: nothing to check. */
static void t_tls_root_only_key(void)
{
	char serial[64];
	pid_t pids[2];

	if (geteuid() != 0)
		return;
	CHECK(pki_make() == 0, "pki");
	struct chatd *h = start_tls(1, "user nobody\n", 0);
	CHECK(h, "start");
	struct wsc *c = wss_join(WS "/r");
	CHECK(c, "wss with a root-only key");
	CHECK(stats_worker_pids(h, pids, 2) == 1 && proc_uid(pids[0]) > 0,
	      "the worker runs as uid %ld", proc_uid(pids[0]));
	rotate(h, serial, sizeof(serial));
	CHECK(strcmp(serial, SERIAL_NEW) == 0, "after SIGHUP as nobody: serial %s", serial);
	wsc_free(c);
}

/* A missing or mismatched file: -t and start fail naming it; a reload keeps
 * the running certificate; a key others may read draws a warning. */
static void t_tls_bad_files(void)
{
	CHECK(pki_make() == 0, "pki");
	char conf[1024], out[4096];
	snprintf(conf, sizeof(conf), "%s/t.conf", pki);
	char *argv[] = { (char *)chatd_bin(), "-t", "-c", conf, NULL };
	int rc;

	snprintf(out, sizeof(out), "redis_url off\nlisten 127.0.0.1:1 ssl\nssl_certificate %s\n"
		 "ssl_certificate_key %s\n", pf("srv.pem"), pf("new.key"));
	CHECK(write_file(conf, out) == 0, "write");
	rc = run_capture(argv, out, sizeof(out), 10000);
	CHECK(rc == 1 && strstr(out, "does not match") && strstr(out, "new.key") &&
	      strstr(out, "t.conf:4:"), "-t with a mismatched key: %d %s", rc, out);
	snprintf(out, sizeof(out), "redis_url off\nlisten 127.0.0.1:1 ssl\nssl_certificate %s\n"
		 "ssl_certificate_key %s\n", pf("nothere.pem"), pf("srv.key"));
	CHECK(write_file(conf, out) == 0, "write");
	rc = run_capture(argv, out, sizeof(out), 10000);
	CHECK(rc == 1 && strstr(out, "nothere.pem: No such file"), "-t, missing cert: %d %s",
	      rc, out);

	/* start with a mismatched key: fails */
	snprintf(out, sizeof(out), "cp %s %s", pf("new.key"), pf("cur.key"));
	CHECK(system(out) == 0, "cp");
	struct chatd *bad = start_tls(1, NULL, 1);
	CHECK(bad, "spawn");
	rc = chatd_wait(bad, 10000);
	CHECK(rc == 1, "start with a mismatched key: exit %d", rc);
	CHECK(chatd_log_has(bad, "does not match"), "the log does not say why");

	/* running; a reload with a mismatched key keeps the old certificate */
	snprintf(out, sizeof(out), "cp %s %s; chmod 644 %s", pf("srv.key"), pf("cur.key"),
		 pf("cur.key"));
	CHECK(system(out) == 0, "cp");
	struct chatd *h = start_tls(1, NULL, 0);
	CHECK(h, "start");
	CHECK(chatd_log_has(h, "readable by every user"), "no warning for a mode 644 key");
	reload_refused(h, "new.pem", "cur.pem", "does not match");
}

/* An encrypted key (passphrase "x") is refused at once, never prompted
 * for: -t on a terminal (script(1) gives it one, where OpenSSL would ask on
 * /dev/tty) fails naming it, and a reload to it keeps the running one. */
static void t_tls_encrypted_key(void)
{
	CHECK(pki_make() == 0, "pki");
	char conf[1024], out[4096], cmd[2048];
	snprintf(conf, sizeof(conf), "%s/t.conf", pki);
	char *argv[] = { "/usr/bin/script", "-eqc", cmd, "/dev/null", NULL };
	int rc;

	snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -aes256 -passout pass:x -out %s",
		 pf("srv.key"), pf("enc.key"));
	CHECK(system(cmd) == 0, "encrypting the key");
	snprintf(out, sizeof(out), "redis_url off\nlisten 127.0.0.1:1 ssl\nssl_certificate %s\n"
		 "ssl_certificate_key %s\n", pf("srv.pem"), pf("enc.key"));
	CHECK(write_file(conf, out) == 0, "write");
	snprintf(cmd, sizeof(cmd), "%s -t -c %s", chatd_bin(), conf);
	rc = run_capture(argv, out, sizeof(out), 10000);
	CHECK(rc == 1 && strstr(out, "encrypted keys are not supported") && strstr(out, "enc.key")
	      && strstr(out, "t.conf:4:"), "-t on a terminal with an encrypted key: %d %s", rc, out);

	struct chatd *h = start_tls(1, NULL, 0);
	CHECK(h, "start");
	reload_refused(h, "enc.key", "cur.key", "encrypted keys are not supported");
}

/* Two listen lines on the same address, told apart only by their text
 * (":P" and "0.0.0.0:P ssl", "127.0.0.1:P" and "localhost:P ssl") would share
 * one SO_REUSEPORT group, each connection landing on either: -t and the
 * start refuse them, naming both.  The same port on other addresses is fine. */
/* "localhost" as chatd resolves it (first answer, as listener.c takes it):
 * "127.0.0.1:%d" or "[::1]:%d" -- /etc/hosts decides, and a minimal root
 * may list ::1 first. */
static const char *localhost_numeric(void)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res = NULL;
	const char *fmt = NULL;

	if (getaddrinfo("localhost", "80", &hints, &res) == 0 && res != NULL)
		fmt = res->ai_family == AF_INET6 ? "[::1]:%d" : "127.0.0.1:%d";
	freeaddrinfo(res);
	return fmt;
}

static void t_tls_same_address(void)
{
	CHECK(pki_make() == 0, "pki");
	const char *lh = localhost_numeric();
	CHECK(lh, "localhost does not resolve here");
	const char *const clash[][2] = {
		{ ":%d", "0.0.0.0:%d ssl" }, { lh, "localhost:%d ssl" },
		{ "*:%d ssl", "0.0.0.0:%d" },
	};
	char conf[1024], out[4096], fmt[256];
	int port = free_port(), rc;
	char *argv[] = { (char *)chatd_bin(), "-t", "-c", conf, NULL };

	snprintf(conf, sizeof(conf), "%s/t.conf", pki);
	for (size_t i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
		snprintf(fmt, sizeof(fmt), "redis_url off\nlisten %s\nlisten %s\n"
			 "ssl_certificate %%s\nssl_certificate_key %%s\n", clash[i][0], clash[i][1]);
		snprintf(out, sizeof(out), fmt, port, port, pf("srv.pem"), pf("srv.key"));
		CHECK(write_file(conf, out) == 0, "write");
		rc = run_capture(argv, out, sizeof(out), 10000);
		CHECK(rc == 1 && strstr(out, "are the same address"), "-t with listen %s and %s: "
		      "%d %s", clash[i][0], clash[i][1], rc, out);
	}
	snprintf(out, sizeof(out), "redis_url off\nlisten 127.0.0.1:%d\nlisten [::1]:%d ssl\n"
		 "listen 127.0.0.2:%d ssl\nssl_certificate %s\nssl_certificate_key %s\n",
		 port, port, port, pf("srv.pem"), pf("srv.key"));
	CHECK(write_file(conf, out) == 0, "write");
	rc = run_capture(argv, out, sizeof(out), 10000);
	CHECK(rc == 0, "-t with one port on three addresses: %d %s", rc, out);

	/* the start: the harness's -l 127.0.0.1:P beside the file's P ssl on
	 * the same address written another way (numeric, so the clash does not
	 * depend on what localhost resolves to here) */
	snprintf(out, sizeof(out), "listen 127.000.000.001:%d ssl\nssl_certificate %s\n"
		 "ssl_certificate_key %s\n", port, pf("srv.pem"), pf("srv.key"));
	struct chatd *h = chatd_start(&(struct chatd_opts){ .conf = out, .port = port,
							    .no_wait = 1 });
	CHECK(h, "spawn");
	rc = chatd_wait(h, 10000);
	CHECK(rc == 1, "start with two lines on 127.0.0.1:%d: exit %d", port, rc);
	CHECK(chatd_log_has(h, "are the same address"), "the log does not say why");
}

/* A file without listen lines and -l "ADDR:PORT ssl": that TLS listen
 * only, the built-in plaintext 0.0.0.0:8080 gone with the default. */
static void t_tls_listen_override(void)
{
	CHECK(pki_make() == 0, "pki");
	char conf[256], lsn[64], out[4096];
	char *argv[] = { (char *)chatd_bin(), "-c", conf, "-l", lsn, NULL };
	int rc;

	tls_port = free_port();
	snprintf(conf, sizeof(conf), "%s/t.conf", pki);
	snprintf(lsn, sizeof(lsn), "127.0.0.1:%d ssl", tls_port);
	snprintf(out, sizeof(out), "redis_url off\nworkers 1\nssl_certificate %s\n"
		 "ssl_certificate_key %s\npid_file %s\nlog_file %s\nlog_level info\n",
		 pf("srv.pem"), pf("srv.key"), pf("chatd.pid"), pf("chatd.log"));
	CHECK(write_file(conf, out) == 0, "write");
	rc = run_capture(argv, out, sizeof(out), 20000);   /* returns once it serves */
	CHECK(rc == 0, "chatd -l \"%s\" exited %d: %s", lsn, rc, out);
	CHECK(file_count(pf("chatd.log"), "listening on ") == 1 &&
	      file_count(pf("chatd.log"), "listening on 127.0.0.1") == 1,
	      "not the -l TLS listen alone (%d listening lines)",
	      file_count(pf("chatd.log"), "listening on "));
	struct wsc *c = wss_join(WS "/only");
	CHECK(c, "wss on the -l address");
	wsc_free(c);
}

/* Wait up to ms for fd to be closed by the peer; the ms it took, -1 when
 * it stayed open, -2 when data came. */
static long long wait_closed(int fd, int ms)
{
	long long t0 = mono_ms();
	char buf[512];

	while (mono_ms() - t0 < ms) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return mono_ms() - t0;
		if (n > 0)
			return -2;
	}
	return -1;
}

/* A client that never finishes its TLS handshake (silent, or half a
 * ClientHello) is cut at handshake_timeout; the server goes on. */
static void t_tls_stalled_handshake(void)
{
	static const unsigned char half_hello[] = {
		0x16, 0x03, 0x01, 0x02, 0x00,  /* handshake record of 512 bytes ... */
		0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,  /* ... of which a few come */
	};
	CHECK(pki_make() == 0, "pki");
	struct chatd *h = start_tls(1, "handshake_timeout 2s\n", 0);
	CHECK(h, "start");
	int silent = wsc_tcp_connect(HOST, tls_port, 2000);
	int half = wsc_tcp_connect(HOST, tls_port, 2000);
	CHECK(silent >= 0 && half >= 0, "tcp connect");
	CHECK(send(half, half_hello, sizeof(half_hello), MSG_NOSIGNAL) == sizeof(half_hello), "send");
	long long a = wait_closed(silent, 8000), b = wait_closed(half, 8000);
	CHECK(a >= 1000, "a silent TLS client: cut after %lld ms (want about 2 s)", a);
	CHECK(b >= 0, "half a ClientHello: still open after 8 s (%lld)", b);
	close(silent);
	close(half);
	struct wsc *c = wss_join(WS "/x");
	CHECK(c, "wss after stalled handshakes");
	wsc_free(c);
}

/* Plain HTTP on the TLS port: closed without an answer, nothing breaks. */
static void t_tls_plain_on_tls_port(void)
{
	CHECK(pki_make() == 0, "pki");
	struct chatd *h = start_tls(1, NULL, 0);
	pid_t before[4], after[4];
	char out[1024];

	CHECK(h, "start");
	CHECK(stats_worker_pids(h, before, 4) == 1, "worker pids");
	int n = http_raw(HOST, tls_port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", out,
			 sizeof(out), 5000);
	CHECK(n >= 0 && strstr(out, "200") == NULL && strstr(out, "ok") == NULL,
	      "plain HTTP on the TLS port answered: %s", out);
	n = http_raw(HOST, tls_port, "GET " WS " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		     "Sec-WebSocket-Version: 13\r\n\r\n", out, sizeof(out), 5000);
	CHECK(n >= 0 && strstr(out, "101") == NULL, "a plain upgrade on the TLS port: %s", out);
	struct wsc *c = wss_join(WS "/x");
	CHECK(c, "wss after plain requests");
	wsc_free(c);
	CHECK(stats_worker_pids(h, after, 4) == 1 && after[0] == before[0], "the worker changed");
	CHECK(stats_wait(h, "handshake_failures", 2, 3000) >= 2,
	      "the plain requests were not counted as handshake failures");
	CHECK(!chatd_log_has(h, "error"), "an error was logged");
}

/* chatd-benchmark over wss://: a fanout run delivers every message once, in
 * order; connections mode opens (full TLS handshakes) and holds them. */
static void t_tls_benchmark(void)
{
	CHECK(pki_make() == 0, "pki");
	/* the tool has up to 256 handshakes in flight from one address */
	struct chatd *h = start_tls(2, "rate_limit 100000\nrate_burst 100000\n"
				    "max_http_pending_per_ip 0\n", 0);
	char bench[1024], url[256], pid[32], out[16384];

	CHECK(h, "start");
	snprintf(out, sizeof(out), "%s", chatd_bin());
	snprintf(bench, sizeof(bench), "%s/chatd-benchmark", dirname(out));
	snprintf(url, sizeof(url), "wss://127.0.0.1:%d/api/chat-api/ws/{room}", tls_port);
	snprintf(pid, sizeof(pid), "%d", (int)h->pid);
	char *fan[] = { bench, "fanout", "-u", url, "-n", "20", "-r", "2", "-P", "2", "-m", "200",
			"-R", "2000", "-p", pid, NULL };
	int rc = run_capture(fan, out, sizeof(out), 60000);
	CHECK(rc == 0 && strstr(out, "\"url\":\"wss://") && strstr(out, "\"delivered\":2000,") &&
	      strstr(out, "\"lost\":0,"), "fanout over wss: exit %d: %s", rc, out);
	char *conns[] = { bench, "connections", "-u", url, "-c", "200", "-t", "1", "-p", pid, NULL };
	rc = run_capture(conns, out, sizeof(out), 60000);
	CHECK(rc == 0 && strstr(out, "\"opened\":200,") && strstr(out, "opened_per_server_cpu_s"),
	      "connections over wss: exit %d: %s", rc, out);
}

const struct itest_case t_tls_cases[] = {
	{ "tls_round_trip", t_tls_round_trip, 90 },
	{ "tls_refused", t_tls_refused, 90 },
	{ "tls_auth_limits", t_tls_auth_limits, 90 },
	{ "tls_rotation", t_tls_rotation, 90 },
	{ "tls_root_only_key", t_tls_root_only_key, 90 },
	{ "tls_bad_files", t_tls_bad_files, 90 },
	{ "tls_encrypted_key", t_tls_encrypted_key, 90 },
	{ "tls_same_address", t_tls_same_address, 90 },
	{ "tls_listen_override", t_tls_listen_override, 90 },
	{ "tls_stalled_handshake", t_tls_stalled_handshake, 90 },
	{ "tls_plain_on_tls_port", t_tls_plain_on_tls_port, 90 },
	{ "tls_slow_consumer", t_tls_slow_consumer, 120 },
	{ "tls_benchmark", t_tls_benchmark, 120 },
	{ NULL, NULL, 0 },
};
