/* SPDX-License-Identifier: MIT */
/*
 * t_heartbeat.c - the server's pings: connections opened in one burst are
 * pinged spread over ping_interval, not all in the same moment, and each
 * keeps its own rhythm afterwards.
 */
#include "harness.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>

/*
 * Measured at the clients, on a machine that may be busy: a stalled test
 * process stamps what came meanwhile with one time.  So the window is wide
 * (an even spread puts 8 % of the pings in it; all at once puts 100 %),
 * and the spread is also measured per connection, from its own connect to
 * its first ping, which a slow burst of connects does not spread.
 */
#define HB_CONNS    1000
#define HB_INTERVAL 6000           /* ms: ping_interval */
#define HB_WINDOW   500            /* ms */
#define HB_MAX_SHARE 35            /* % of the first pings a window may hold at most */

struct hb {
	struct wsc *c[HB_CONNS];
	long long open[HB_CONNS];                      /* welcome received, ms */
	long long first[HB_CONNS], second[HB_CONNS];   /* arrival of pings 1 and 2, ms */
	unsigned seen[HB_CONNS];
};

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Read whatever came on the readable connections (wsc answers pings and
 * counts them); stamp the first two pings of each.  Returns how many
 * connections have had two. */
static int hb_collect(struct hb *s, struct pollfd *pf, int wait_ms)
{
	int done = 0;

	if (poll(pf, HB_CONNS, wait_ms) < 0)
		return -1;
	long long now = mono_ms();
	for (int i = 0; i < HB_CONNS; i++) {
		struct wsc_msg m;

		if (pf[i].revents)
			while (wsc_recv(s->c[i], 0, &m) > 0)
				;
		unsigned n = wsc_pings_answered(s->c[i]);

		if (n >= 1 && s->seen[i] < 1)
			s->first[i] = now;
		if (n >= 2 && s->seen[i] < 2)
			s->second[i] = now;
		s->seen[i] = n;
		done += n >= 2;
	}
	return done;
}

/* The most first pings that fall in any HB_WINDOW ms. */
static int hb_busiest(const long long *t, int n)
{
	int best = 0;

	for (int i = 0, j = 0; i < n; i++) {
		while (t[i] - t[j] >= HB_WINDOW)
			j++;
		if (i - j + 1 > best)
			best = i - j + 1;
	}
	return best;
}

static void t_heartbeat_spread(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
		.conf = "ping_interval 6s\npong_timeout 15s\npresence off\n" });
	static struct hb s;
	static struct pollfd pf[HB_CONNS];
	static long long t[HB_CONNS], d[HB_CONNS], gap[HB_CONNS];
	struct rlimit rl;
	int n = 0, done = 0;

	CHECK(h, "start");
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > HB_CONNS + 64,
	      "RLIMIT_NOFILE %ld is too small", (long)rl.rlim_cur);
	long long t0 = mono_ms();
	for (int i = 0; i < HB_CONNS; i++) {
		CHECK((s.c[i] = ws_join(h, WS "/hb", NULL, 0)), "connect %d", i);
		s.open[i] = mono_ms();
		pf[i].fd = wsc_fd(s.c[i]);
		pf[i].events = POLLIN;
	}
	long long burst = mono_ms() - t0;
	/* every first ping is due within one interval of its connection */
	while (done < HB_CONNS && mono_ms() - t0 < burst + 2 * HB_INTERVAL + 3000)
		CHECK((done = hb_collect(&s, pf, 50)) >= 0, "poll");
	for (int i = 0; i < HB_CONNS; i++)
		if (s.seen[i] >= 2) {
			t[n] = s.first[i];
			d[n] = s.first[i] - s.open[i];
			gap[n++] = s.second[i] - s.first[i];
		}
	CHECK(n == HB_CONNS, "%d of %d connections were pinged twice", n, HB_CONNS);
	qsort(t, (size_t)n, sizeof(t[0]), cmp_ll);
	qsort(d, (size_t)n, sizeof(d[0]), cmp_ll);
	qsort(gap, (size_t)n, sizeof(gap[0]), cmp_ll);
	int busiest = hb_busiest(t, n);
	long long span = d[n * 9 / 10] - d[n / 10];
	CHECK(busiest * 100 <= HB_MAX_SHARE * n && span >= HB_INTERVAL / 2,
	      "%d connections opened in %lld ms: %d first pings in one %d ms window "
	      "(at most %d%% allowed); connect to first ping: 10th-90th percentile "
	      "%lld-%lld ms (want a spread >= %d)", HB_CONNS, burst, busiest, HB_WINDOW,
	      HB_MAX_SHARE, d[n / 10], d[n * 9 / 10], HB_INTERVAL / 2);
	/* and each connection keeps its own rhythm: the next ping one interval on */
	CHECK(gap[n / 2] > HB_INTERVAL * 3 / 4 && gap[n / 2] < HB_INTERVAL * 5 / 4,
	      "median time from a connection's first ping to its second: %lld ms (interval %d)",
	      gap[n / 2], HB_INTERVAL);
	long long conns = stats_wait(h, "connections", HB_CONNS, 3000);
	CHECK(conns == HB_CONNS, "connections %lld: answering clients were dropped", conns);
	ws_free_all(s.c, HB_CONNS);
}

const struct itest_case t_heartbeat_cases[] = {
	{ "heartbeat_spread", t_heartbeat_spread, 60 },
	{ NULL, NULL, 0 },
};
