/* SPDX-License-Identifier: MIT */
/*
 * attack.c - `chatd-benchmark attack`: slow clients against the HTTP phase
 * (issue 13, item 1), and what a legitimate client sees meanwhile.
 *
 * One poll() loop keeps --slow connections sending a request head one byte a
 * second (slowloris, never finished) and --bodies connections sending a
 * POST to the publish path with Content-Length: 65536 and one byte of body a
 * second, from --src-addrs loopback addresses (127.0.0.2 up); a connection
 * the server ends is re-opened --reopen milliseconds later.  A forked prober
 * meanwhile (after the first 2 s of a run longer than 4 s) makes --probe-rate
 * WebSocket handshakes and GET /healthz a second from 127.0.0.1, each with a
 * 5 s limit, and keeps their latencies.
 * Loopback targets only (the attackers bind 127.0.0.x).
 */
#include "wsc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attack.h"

#define ATTACK_MAX    20000
#define PROBE_MAX     100000
#define PROBE_LIMIT_MS 5000

struct attack_opts {
	char host[64], path[512], publish[512];
	int port, slow, bodies, src_addrs, reopen_ms, probe_rate;
	double duration;
};

enum slot_state { SLOT_CLOSED, SLOT_CONNECTING, SLOT_OPEN };

struct slot {
	int fd, state, sent;
	int64_t next_ms;       /* CLOSED: re-open; OPEN: the next byte */
};

struct attack_counts {
	uint64_t opened, connect_failed, answered, ended, refused_at_once, peak_open;
};

/* What the prober saw, in a shared mapping. */
struct probe_result {
	int nhs, nhz, hs_failed, hz_failed;
	uint32_t hs_ms[PROBE_MAX], hz_ms[PROBE_MAX];   /* successes, in microseconds / 1000 */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the attackers ---------------------------------------------------------- */

static void slot_close(struct slot *s, int64_t reopen_at)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->state = SLOT_CLOSED;
	s->next_ms = reopen_at;
}

/* A non-blocking connect from 127.0.0.(2 + k % src_addrs). */
static void slot_open(const struct attack_opts *a, struct slot *s, int k,
		      struct attack_counts *n)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };

	src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(k % a->src_addrs));
	inet_pton(AF_INET, a->host, &dst.sin_addr);
	dst.sin_port = htons((uint16_t)a->port);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    (connect(s->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS)) {
		n->connect_failed++;
		slot_close(s, mono_ms() + 100);
		return;
	}
	s->state = SLOT_CONNECTING;
	s->sent = 0;
}

/* Connected: send the start of its request. */
static void slot_connected(const struct attack_opts *a, struct slot *s, int body,
			   struct attack_counts *n)
{
	char first[1024];
	int err = 0;
	socklen_t el = sizeof(err);

	getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (body)
		snprintf(first, sizeof(first), "POST %s HTTP/1.1\r\nHost: %s\r\n"
			 "Content-Length: 65536\r\n\r\n", a->publish, a->host);
	else
		snprintf(first, sizeof(first), "GET %s HTTP/1.1\r\nHost: %s\r\n", a->path, a->host);
	if (err != 0 || send(s->fd, first, strlen(first), MSG_NOSIGNAL) < 0) {
		n->connect_failed++;
		slot_close(s, mono_ms() + a->reopen_ms);
		return;
	}
	n->opened++;
	s->state = SLOT_OPEN;
	s->next_ms = mono_ms() + 1000;
}

/* Readable: an answer, or the end. */
static void slot_readable(const struct attack_opts *a, struct slot *s, struct attack_counts *n)
{
	char buf[4096];
	ssize_t r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (r > 0) {
		n->answered++;
		return;
	}
	if (r < 0 && errno == EAGAIN)
		return;
	if (s->sent == 0)
		n->refused_at_once++;
	n->ended++;
	slot_close(s, mono_ms() + a->reopen_ms);
}

static void slots_tick(const struct attack_opts *a, struct slot *sl, int ns,
		       struct attack_counts *n)
{
	int64_t now = mono_ms();
	uint64_t open = 0;

	for (int i = 0; i < ns; i++) {
		struct slot *s = &sl[i];

		if (s->state == SLOT_OPEN)
			open++;
		if (s->next_ms > now || s->state == SLOT_CONNECTING)
			continue;
		if (s->state == SLOT_CLOSED) {
			slot_open(a, s, i, n);
		} else if (send(s->fd, i < a->slow ? "X" : "a", 1, MSG_NOSIGNAL) == 1) {
			s->sent++;
			s->next_ms = now + 1000;
		} else {
			n->ended++;
			slot_close(s, now + a->reopen_ms);
		}
	}
	if (open > n->peak_open)
		n->peak_open = open;
}

static void attack_loop(const struct attack_opts *a, struct slot *sl, struct pollfd *pf,
			struct attack_counts *n, volatile sig_atomic_t *stop)
{
	int ns = a->slow + a->bodies;
	double end = mono_s() + a->duration;

	while (!*stop && mono_s() < end) {
		slots_tick(a, sl, ns, n);
		for (int i = 0; i < ns; i++) {
			pf[i].fd = sl[i].fd;
			pf[i].events = sl[i].state == SLOT_CONNECTING ? POLLOUT : POLLIN;
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)ns, 20) <= 0)
			continue;
		for (int i = 0; i < ns; i++) {
			if (pf[i].fd < 0 || pf[i].revents == 0)
				continue;
			if (sl[i].state == SLOT_CONNECTING)
				slot_connected(a, &sl[i], i >= a->slow, n);
			else
				slot_readable(a, &sl[i], n);
		}
	}
}

/* ---- the prober --------------------------------------------------------------- */

static volatile sig_atomic_t attack_stop;   /* SIGINT/SIGTERM: both loops end */

static void probe_loop(const struct attack_opts *a, struct probe_result *r)
{
	double end = mono_s() + a->duration, gap = 1.0 / a->probe_rate;

	if (a->duration > 4)
		sleep(2);       /* the attackers get in first */
	while (!attack_stop && mono_s() < end && r->nhs < PROBE_MAX) {
		double t0 = mono_s(), t1;
		char body[256];
		int st = 0;
		struct wsc *c = wsc_connect(a->host, a->port, a->path, NULL, PROBE_LIMIT_MS, &st);

		t1 = mono_s();
		if (c != NULL && st == 101)
			r->hs_ms[r->nhs++] = (uint32_t)((t1 - t0) * 1e6);
		else
			r->hs_failed++;
		wsc_free(c);
		t1 = mono_s();
		if (wsc_http_request(a->host, a->port, "GET", "/healthz", NULL, NULL, PROBE_LIMIT_MS,
				     &st, body, sizeof(body)) >= 0 && st == 200)
			r->hz_ms[r->nhz++] = (uint32_t)((mono_s() - t1) * 1e6);
		else
			r->hz_failed++;
		if (mono_s() - t0 < gap)
			usleep((useconds_t)((gap - (mono_s() - t0)) * 1e6));
	}
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

/* The q quantile of v[0..n) in milliseconds (v is sorted here); -1 if empty. */
static double quantile_ms(uint32_t *v, int n, double q)
{
	if (n == 0)
		return -1;
	qsort(v, (size_t)n, sizeof(*v), cmp_u32);
	return v[(int)(q * (n - 1) + 0.5)] / 1000.0;
}

/* ---- the command --------------------------------------------------------------- */

static void attack_usage(FILE *f)
{
	fprintf(f,
"usage: chatd-benchmark attack [options] -u ws://127.0.0.1:PORT/PATH\n"
"  -u, --url URL           the WebSocket URL legitimate clients open (loopback only)\n"
"      --slow N            connections sending a request head at 1 byte/s (1000)\n"
"      --bodies N          POSTs to --publish-path with Content-Length: 65536,\n"
"                          body at 1 byte/s (0)\n"
"      --publish-path P    (/api/chat-api/publish)\n"
"      --src-addrs N       attackers from 127.0.0.2 .. 127.0.0.(N+1) (1)\n"
"      --reopen MS         re-open a connection the server ended after MS ms (0)\n"
"      --probe-rate N      legitimate handshakes + GET /healthz per second (10)\n"
"  -d, --duration S        seconds (20)\n");
}

static int url_split(const char *u, struct attack_opts *a)
{
	const char *p, *colon;

	if (strncmp(u, "ws://", 5) != 0 || (colon = strchr(u + 5, ':')) == NULL ||
	    (size_t)(colon - (u + 5)) >= sizeof(a->host))
		return -1;
	memcpy(a->host, u + 5, (size_t)(colon - (u + 5)));
	a->host[colon - (u + 5)] = '\0';
	a->port = atoi(colon + 1);
	p = strchr(colon, '/');
	snprintf(a->path, sizeof(a->path), "%s", p ? p : "/");
	return a->port > 0 && strncmp(a->host, "127.", 4) == 0 ? 0 : -1;
}

static int attack_opts_parse(int argc, char **argv, struct attack_opts *a)
{
	static const struct option lo[] = {
		{ "url", 1, NULL, 'u' }, { "slow", 1, NULL, 1 }, { "bodies", 1, NULL, 2 },
		{ "publish-path", 1, NULL, 3 }, { "src-addrs", 1, NULL, 4 },
		{ "reopen", 1, NULL, 5 }, { "probe-rate", 1, NULL, 6 },
		{ "duration", 1, NULL, 'd' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	int c, url = 0;

	*a = (struct attack_opts){ .slow = 1000, .src_addrs = 1, .probe_rate = 10, .duration = 20,
				   .publish = "/api/chat-api/publish" };
	optind = 2;
	while ((c = getopt_long(argc, argv, "u:d:h", lo, NULL)) != -1) {
		switch (c) {
		case 'u': url = url_split(optarg, a) == 0; break;
		case 1: a->slow = atoi(optarg); break;
		case 2: a->bodies = atoi(optarg); break;
		case 3: snprintf(a->publish, sizeof(a->publish), "%s", optarg); break;
		case 4: a->src_addrs = atoi(optarg); break;
		case 5: a->reopen_ms = atoi(optarg); break;
		case 6: a->probe_rate = atoi(optarg); break;
		case 'd': a->duration = atof(optarg); break;
		case 'h': attack_usage(stdout); exit(0);
		default: attack_usage(stderr); return -1;
		}
	}
	if (!url || a->slow < 0 || a->bodies < 0 || a->slow + a->bodies > ATTACK_MAX ||
	    a->src_addrs < 1 || a->src_addrs > 250 || a->probe_rate < 1 || a->duration <= 0) {
		attack_usage(stderr);
		return -1;
	}
	return 0;
}

static void on_stop(int sig)
{
	(void)sig;
	attack_stop = 1;
}

static void report(const struct attack_opts *a, const struct attack_counts *n,
		   struct probe_result *r)
{
	int hs = r->nhs, hz = r->nhz;
	double hs50 = quantile_ms(r->hs_ms, hs, 0.5), hs99 = quantile_ms(r->hs_ms, hs, 0.99),
	       hsmax = hs ? r->hs_ms[hs - 1] / 1000.0 : -1,
	       hz99 = quantile_ms(r->hz_ms, hz, 0.99);
	double hzok = hz + r->hz_failed ? (double)hz / (hz + r->hz_failed) : 0;

	printf("attack: %d slow heads + %d slow bodies from %d address(es), %.0f s\n",
	       a->slow, a->bodies, a->src_addrs, a->duration);
	printf("  attackers: %llu opened, %llu ended by the server (%llu at once), "
	       "%llu answered, %llu connect failures, %llu open at most\n",
	       (unsigned long long)n->opened, (unsigned long long)n->ended,
	       (unsigned long long)n->refused_at_once, (unsigned long long)n->answered,
	       (unsigned long long)n->connect_failed, (unsigned long long)n->peak_open);
	printf("  legitimate handshakes: %d ok, %d failed; p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       hs, r->hs_failed, hs50, hs99, hsmax);
	printf("  /healthz: %d ok, %d failed (%.1f %% ok); p99 %.2f ms\n", hz, r->hz_failed,
	       100 * hzok, hz99);
	printf("{\"mode\":\"attack\",\"slow\":%d,\"bodies\":%d,\"src_addrs\":%d,\"duration_s\":%g,"
	       "\"attackers_opened\":%llu,\"attackers_ended\":%llu,\"attackers_answered\":%llu,"
	       "\"attackers_open_max\":%llu,\"handshakes_ok\":%d,\"handshakes_failed\":%d,"
	       "\"handshake_p50_ms\":%.2f,\"handshake_p99_ms\":%.2f,\"handshake_max_ms\":%.2f,"
	       "\"healthz_ok\":%d,\"healthz_failed\":%d,\"healthz_ok_ratio\":%.4f,"
	       "\"healthz_p99_ms\":%.2f}\n",
	       a->slow, a->bodies, a->src_addrs, a->duration, (unsigned long long)n->opened,
	       (unsigned long long)n->ended, (unsigned long long)n->answered,
	       (unsigned long long)n->peak_open, hs, r->hs_failed, hs50, hs99, hsmax, hz,
	       r->hz_failed, hzok, hz99);
}

int attack_main(int argc, char **argv)
{
	struct attack_opts a;
	struct attack_counts n = { 0 };
	struct probe_result *r;
	struct slot *sl;
	struct pollfd *pf;
	pid_t pid;
	int ns;

	if (attack_opts_parse(argc, argv, &a) < 0)
		return 2;
	ns = a.slow + a.bodies;
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sl = calloc((size_t)ns + 1, sizeof(*sl));
	pf = calloc((size_t)ns + 1, sizeof(*pf));
	if (r == MAP_FAILED || sl == NULL || pf == NULL) {
		perror("chatd-benchmark attack");
		return 2;
	}
	for (int i = 0; i < ns; i++)    /* calloc's fd 0 is no socket of ours */
		sl[i] = (struct slot){ .fd = -1, .state = SLOT_CLOSED };
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	if ((pid = fork()) == 0) {
		probe_loop(&a, r);
		_exit(0);
	}
	if (pid < 0) {                  /* no prober: nothing would be measured */
		perror("chatd-benchmark attack: fork");
		return 2;
	}
	attack_loop(&a, sl, pf, &n, &attack_stop);
	if (attack_stop)                /* SIGINT/SIGTERM: the prober stops too */
		kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < ns; i++)
		slot_close(&sl[i], 0);
	report(&a, &n, r);
	free(sl);
	free(pf);
	/* no handshake tried at all is no pass */
	return r->nhs > 0 && r->hs_failed == 0 && r->hz_failed == 0 ? 0 : 1;
}
