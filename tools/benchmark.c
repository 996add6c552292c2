/* SPDX-License-Identifier: MIT */
/*
 * benchmark.c - chatd-benchmark, the load tool shipped with chatd (see
 * chatd-benchmark(1)).
 *
 * One single-threaded epoll loop drives many non-blocking WebSocket client
 * connections built on the pure layer of wsc.c (handshake request/parse,
 * masked frame encode, frame parse).  Modes:
 *
 *   fanout       subscribers in R rooms, publishers at a total offered rate;
 *                every chat message carries "bm":"PUB:SEQ:NS" in its data, and
 *                the subscribers count unique, duplicated, reordered and
 *                lost deliveries and keep a log-linear latency histogram;
 *                --max searches the highest rate that keeps up.
 *   connections  C idle connections opened at a given rate from several
 *                loopback source addresses, held T seconds while a sample is
 *                pinged; -j spreads them over forked processes (each one
 *                under its own file limit); the server's memory per
 *                connection comes from /proc/PID/smaps_rollup (Pss), and
 *                the server's CPU while holding from /proc/PID/stat.
 *   recovery     C clients in R rooms join with ?history=0 while publishers
 *                send; at one moment every client drops and reconnects with
 *                ?since=OFFSET&epoch=EPOCH; the time until each is recovered
 *                (welcome with "recovered":true, the gap filled) and the
 *                messages lost or duplicated per client, by offset and by
 *                the tool's own sequence numbers.
 *
 * Both print a human summary and then one JSON line on stdout.  wss:// URLs
 * put OpenSSL between the socket and the same code (a full handshake per
 * connection, no session resumption, no certificate verification: the
 * tool measures the server, not the PKI).
 */
#include "attack.h"
#include "wsc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define BENCH_MAX_URLS     8
#define BENCH_MAX_PIDS     64
#define BENCH_HOLD_MAX     3600          /* seconds: -t bound (usleep's range) */
#define BENCH_EPOCH_MAX    32            /* bytes of a history epoch (README) */
#define REC_AFTER_NS       1000000000LL  /* recovery: publishing after the recovery */
#define BENCH_MAX_PROCS    64
#define BENCH_SCRATCH      (256 * 1024)
#define BENCH_WBUF_MAX     (8u << 20)    /* a publisher backlog beyond this fails the run */
#define BENCH_PART_MAX     (1u << 20)    /* a partial frame beyond this is a protocol error */
#define BENCH_MARK         "\"bm\":\""
#define HIST_SUB_BITS      6
#define HIST_BUCKETS       (64 * 60)

/* ---- time, histogram ------------------------------------------------------ */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A log-linear histogram of nanosecond values: 64 sub-buckets per power of
 * two (under 1.6 % relative error), plus the exact max.  No sampling. */
struct hist {
	uint64_t count, max;
	uint64_t b[HIST_BUCKETS];
};

static int hist_index(uint64_t v)
{
	if (v < 64)
		return (int)v;
	int k = 63 - __builtin_clzll(v);
	return (k - HIST_SUB_BITS + 1) * 64 + (int)((v >> (k - HIST_SUB_BITS)) & 63);
}

/* The largest value that falls into bucket i. */
static uint64_t hist_upper(int i)
{
	if (i < 64)
		return (uint64_t)i;
	int k = i / 64 + HIST_SUB_BITS - 1;
	uint64_t base = (1ULL << k) | ((uint64_t)(i % 64) << (k - HIST_SUB_BITS));
	return base + (1ULL << (k - HIST_SUB_BITS)) - 1;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

static void hist_merge(struct hist *into, const struct hist *h)
{
	for (int i = 0; i < HIST_BUCKETS; i++)
		into->b[i] += h->b[i];
	into->count += h->count;
	if (h->max > into->max)
		into->max = h->max;
}

/* The value at quantile q (0..1): the upper bound of its bucket, capped by max. */
static uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)h->count);
	if (want == 0)
		want = 1;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t u = hist_upper(i);
			return u < h->max ? u : h->max;
		}
	}
	return h->max;
}

/* ---- options ------------------------------------------------------------------ */

enum bench_mode { MODE_FANOUT, MODE_CONNECTIONS, MODE_RECOVERY };

struct url {
	struct sockaddr_in addr;
	char host[128];
	int  port;
	int  tls;              /* wss:// */
	char path[512];        /* may hold {room} */
};

struct opts {
	enum bench_mode mode;
	struct url urls[BENCH_MAX_URLS];
	int    nurls;
	const char *room_prefix;
	int    subscribers, rooms, publishers, size;
	double rate, duration, drain_max, settle;
	long   messages;           /* > 0: stop each publisher after its share */
	int    max_search;
	double max_p99_ms, max_trial_s;
	int    max_steps;
	int    connections, procs, src_addrs, ping_sample;
	double conn_rate, hold;
	int    inflight;
	double connect_timeout;
	pid_t  pids[BENCH_MAX_PIDS];
	int    npids;
	pid_t  rpids[BENCH_MAX_PIDS];  /* --redis-pids: CPU reported apart, per message */
	int    nrpids;
	double drop_after, recover_timeout;
	int    history;                /* recovery: ?history= of the first join */
	int    no_welcome;             /* open once upgraded: the server sends no welcome */
	int    quiet;
};

static struct opts o;

static void usage(FILE *f)
{
	fprintf(f,
"usage: chatd-benchmark fanout [options] -u URL [-u URL ...]\n"
"       chatd-benchmark connections [options] -u URL [-u URL ...]\n"
"       chatd-benchmark recovery [options] -u URL [-u URL ...]\n"
"       chatd-benchmark attack --help   (slow clients, see attack.c)\n"
"       chatd-benchmark -v | --version\n"
"\n"
"URL is ws://HOST:PORT/PATH or wss://HOST:PORT/PATH (TLS, not verified);\n"
"{room} in PATH is replaced by a room name\n"
"(PREFIX + number).  Several -u spread connections round-robin (pods).\n"
"\n"
"common:\n"
"  -u, --url URL           server URL template (up to %d)\n"
"  -r, --rooms R           rooms (fanout: 10, connections: 1000)\n"
"      --room-prefix S     room name prefix (bench-)\n"
"      --conn-rate N       connections opened per second (2000)\n"
"      --inflight N        handshakes in flight at most (256)\n"
"      --connect-timeout S seconds for one connection's upgrade (10)\n"
"      --no-welcome        the server sends no welcome (the Go reference): a\n"
"                          connection counts as open once upgraded\n"
"  -p, --pids PID,...      server processes (their children are added):\n"
"                          CPU (fanout, recovery, connections while holding)\n"
"                          and memory (connections) figures\n"
"      --redis-pids PID,...  redis-server processes: their CPU per trial and\n"
"                          per message sent (fanout, recovery)\n"
"  -q, --quiet             only the JSON line\n"
"  -h, --help              this text\n"
"fanout:\n"
"  -n, --subscribers N     subscriber connections (100)\n"
"  -P, --publishers P      publisher connections (publisher i is in room i %% R) (1)\n"
"  -R, --rate X            total offered messages/s over all publishers (1000)\n"
"  -d, --duration S        seconds of publishing (5)\n"
"  -m, --messages M        total messages instead of a duration\n"
"  -s, --size S            bytes of each client message (100)\n"
"      --drain S           wait at most S seconds for late deliveries (10)\n"
"      --settle S          pause between the joins and the first message (0.5)\n"
"      --max               search the highest rate that keeps up: delivered\n"
"                          >= 99.9 %% of expected and p99 <= --max-p99\n"
"      --max-p99 MS        p99 bound for --max (50)\n"
"      --max-steps N       trials of the bisection after the doubling (6)\n"
"connections:\n"
"  -c, --connections C     idle connections (1000)\n"
"  -j, --procs K           processes to spread them over (1)\n"
"      --src-addrs N       source addresses 127.0.0.1..N (auto: one per 20000)\n"
"  -t, --hold S            seconds to hold them once all are open (10)\n"
"      --ping-sample N     connections sent a {\"type\":\"ping\"} each second (100)\n"
"recovery (also -r 10, -P publishers (R), -R rate (200), -s size):\n"
"  -c, --connections C     clients that drop and recover (1000)\n"
"      --history N         ?history=N on the first join (0)\n"
"      --drop-after S      seconds of publishing before all clients drop (2)\n"
"      --recover-timeout S seconds the clients have to recover (30)\n"
"\n"
"Output: a human summary, then one JSON line (the last line of stdout).\n"
"Exit status: 0 when the run completed (fanout: nothing lost, duplicated or\n"
"reordered, no connection error; connections: all opened and held;\n"
"recovery: every client recovered, nothing lost or duplicated), 1 when\n"
"it completed with such failures, 2 on a usage or setup error.\n",
		BENCH_MAX_URLS);
}

/* ws://host:port/path or wss://... into *u; 0 or -1. */
static int url_parse(const char *s, struct url *u)
{
	const char *p, *slash, *colon;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char port[16];
	size_t hl;

	u->tls = strncmp(s, "wss://", 6) == 0;
	if (strncmp(s, "ws://", 5) != 0 && !u->tls)
		return -1;
	p = s + (u->tls ? 6 : 5);
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hl = (size_t)((colon ? colon : slash) - p);
	if (hl == 0 || hl >= sizeof(u->host))
		return -1;
	memcpy(u->host, p, hl);
	u->host[hl] = '\0';
	u->port = colon ? atoi(colon + 1) : u->tls ? 443 : 80;
	if (u->port <= 0 || u->port > 65535)
		return -1;
	snprintf(u->path, sizeof(u->path), "%s", *slash ? slash : "/");
	snprintf(port, sizeof(port), "%d", u->port);
	if (getaddrinfo(u->host, port, &hints, &ai) != 0 || !ai)
		return -1;
	memcpy(&u->addr, ai->ai_addr, sizeof(u->addr));
	freeaddrinfo(ai);
	return 0;
}

/* "PID,PID,..." appended to out[*n] (at most BENCH_MAX_PIDS); 0 or -1. */
static int parse_pids(const char *s, pid_t *out, int *n)
{
	char *dup = strdup(s), *save = NULL;

	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long v = strtol(t, NULL, 10);

		if (v <= 0 || *n >= BENCH_MAX_PIDS) {
			free(dup);
			return -1;
		}
		out[(*n)++] = (pid_t)v;
	}
	free(dup);
	return 0;
}

enum {
	OPT_ROOM_PREFIX = 256, OPT_CONN_RATE, OPT_INFLIGHT, OPT_CONNECT_TIMEOUT,
	OPT_DRAIN, OPT_SETTLE, OPT_MAX, OPT_MAX_P99, OPT_MAX_STEPS, OPT_SRC_ADDRS,
	OPT_PING_SAMPLE, OPT_REDIS_PIDS, OPT_HISTORY, OPT_DROP_AFTER, OPT_RECOVER_TIMEOUT,
	OPT_NO_WELCOME
};

static const struct option long_opts[] = {
	{ "url", required_argument, NULL, 'u' },
	{ "rooms", required_argument, NULL, 'r' },
	{ "room-prefix", required_argument, NULL, OPT_ROOM_PREFIX },
	{ "conn-rate", required_argument, NULL, OPT_CONN_RATE },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "pids", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "subscribers", required_argument, NULL, 'n' },
	{ "publishers", required_argument, NULL, 'P' },
	{ "rate", required_argument, NULL, 'R' },
	{ "duration", required_argument, NULL, 'd' },
	{ "messages", required_argument, NULL, 'm' },
	{ "size", required_argument, NULL, 's' },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "settle", required_argument, NULL, OPT_SETTLE },
	{ "max", no_argument, NULL, OPT_MAX },
	{ "max-p99", required_argument, NULL, OPT_MAX_P99 },
	{ "max-steps", required_argument, NULL, OPT_MAX_STEPS },
	{ "connections", required_argument, NULL, 'c' },
	{ "procs", required_argument, NULL, 'j' },
	{ "src-addrs", required_argument, NULL, OPT_SRC_ADDRS },
	{ "hold", required_argument, NULL, 't' },
	{ "ping-sample", required_argument, NULL, OPT_PING_SAMPLE },
	{ "redis-pids", required_argument, NULL, OPT_REDIS_PIDS },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "drop-after", required_argument, NULL, OPT_DROP_AFTER },
	{ "recover-timeout", required_argument, NULL, OPT_RECOVER_TIMEOUT },
	{ "no-welcome", no_argument, NULL, OPT_NO_WELCOME },
	{ NULL, 0, NULL, 0 }
};

static int opt_one(int c, const char *a)
{
	switch (c) {
	case 'u':
		if (o.nurls >= BENCH_MAX_URLS || url_parse(a, &o.urls[o.nurls]) < 0)
			return -1;
		o.nurls++;
		return 0;
	case 'r': o.rooms = atoi(a); return 0;
	case OPT_ROOM_PREFIX: o.room_prefix = a; return 0;
	case OPT_CONN_RATE: o.conn_rate = atof(a); return 0;
	case OPT_INFLIGHT: o.inflight = atoi(a); return 0;
	case OPT_CONNECT_TIMEOUT: o.connect_timeout = atof(a); return 0;
	case 'p': return parse_pids(a, o.pids, &o.npids);
	case OPT_REDIS_PIDS: return parse_pids(a, o.rpids, &o.nrpids);
	case 'q': o.quiet = 1; return 0;
	case 'n': o.subscribers = atoi(a); return 0;
	case 'P': o.publishers = atoi(a); return 0;
	case 'R': o.rate = atof(a); return 0;
	case 'd': o.duration = atof(a); return 0;
	case 'm': o.messages = atol(a); return 0;
	case 's': o.size = atoi(a); return 0;
	case OPT_DRAIN: o.drain_max = atof(a); return 0;
	case OPT_SETTLE: o.settle = atof(a); return 0;
	case OPT_MAX: o.max_search = 1; return 0;
	case OPT_MAX_P99: o.max_p99_ms = atof(a); return 0;
	case OPT_MAX_STEPS: o.max_steps = atoi(a); return 0;
	case 'c': o.connections = atoi(a); return 0;
	case 'j': o.procs = atoi(a); return 0;
	case OPT_SRC_ADDRS: o.src_addrs = atoi(a); return 0;
	case 't': o.hold = atof(a); return 0;
	case OPT_PING_SAMPLE: o.ping_sample = atoi(a); return 0;
	case OPT_HISTORY: o.history = atoi(a); return 0;
	case OPT_DROP_AFTER: o.drop_after = atof(a); return 0;
	case OPT_RECOVER_TIMEOUT: o.recover_timeout = atof(a); return 0;
	case OPT_NO_WELCOME: o.no_welcome = 1; return 0;
	default: return -1;
	}
}

/* Defaults, the command line, then sanity; 0, or -1 after a message. */
static int opts_parse(int argc, char **argv)
{
	int c;

	o = (struct opts){ .room_prefix = "bench-", .subscribers = 100, .publishers = 1,
			   .size = 100, .rate = 1000, .duration = 5, .drain_max = 10,
			   .settle = 0.5, .max_p99_ms = 50, .max_steps = 6,
			   .connections = 1000, .procs = 1, .hold = 10, .ping_sample = 100,
			   .conn_rate = 2000, .inflight = 256, .connect_timeout = 10,
			   .drop_after = 2, .recover_timeout = 30 };
	if (argc == 2 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("chatd-benchmark %s\n", PACKAGE_VERSION);
		exit(0);
	}
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		exit(argc < 2 ? 2 : 0);
	}
	if (strcmp(argv[1], "fanout") == 0)
		o.mode = MODE_FANOUT;
	else if (strcmp(argv[1], "connections") == 0)
		o.mode = MODE_CONNECTIONS;
	else if (strcmp(argv[1], "recovery") == 0)
		o.mode = MODE_RECOVERY;
	else {
		fprintf(stderr, "chatd-benchmark: unknown mode '%s' (fanout, connections or "
			"recovery)\n", argv[1]);
		return -1;
	}
	o.rooms = o.mode == MODE_CONNECTIONS ? 1000 : 10;
	if (o.mode == MODE_RECOVERY) {
		o.publishers = 0;    /* then one per room */
		o.rate = 200;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "u:r:p:qhn:P:R:d:m:s:c:j:t:", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (opt_one(c, optarg) < 0) {
			fprintf(stderr, "chatd-benchmark: bad option or value (-%c %s); see --help\n",
				c < 256 ? c : '-', optarg ? optarg : "");
			return -1;
		}
	}
	if (o.mode == MODE_RECOVERY && o.no_welcome) {
		fprintf(stderr, "chatd-benchmark: recovery needs the server's welcome\n");
		return -1;
	}
	if (o.mode == MODE_RECOVERY) {
		o.subscribers = o.connections;
		if (o.publishers == 0)
			o.publishers = o.rooms;
	}
	if (o.nurls == 0 || o.rooms < 1 || o.subscribers < 0 || o.publishers < 1 ||
	    o.rate <= 0 || o.duration <= 0 || o.size < 1 || o.conn_rate <= 0 ||
	    o.inflight < 1 || o.connections < 1 || o.procs < 1 || o.procs > BENCH_MAX_PROCS ||
	    o.hold < 0 || o.hold > BENCH_HOLD_MAX || o.src_addrs < 0 || o.src_addrs > 250 ||
	    o.ping_sample < 0 || o.history < 0 || o.history > 10000 || o.drop_after < 0 ||
	    o.drop_after > BENCH_HOLD_MAX || o.recover_timeout <= 0 ||
	    o.recover_timeout > BENCH_HOLD_MAX) {
		fprintf(stderr, "chatd-benchmark: need -u URL and sane values; see --help\n");
		return -1;
	}
	if (o.src_addrs == 0)
		o.src_addrs = (o.connections + 19999) / 20000;
	return 0;
}

/* ---- server processes: CPU and memory from /proc -------------------------- */

/* The given pids plus all their descendants; how many (<= max). */
static int proc_tree(pid_t *out, int max)
{
	int n = 0, grew = 1;

	for (int i = 0; i < o.npids && n < max; i++)
		out[n++] = o.pids[i];
	while (grew) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		grew = 0;
		if (!d)
			break;
		while ((e = readdir(d)) && n < max) {
			char path[64], buf[512], *rp;
			pid_t pid = (pid_t)atoi(e->d_name), ppid;
			FILE *f;
			int known = 0;

			if (pid <= 0)
				continue;
			for (int i = 0; i < n; i++)
				known |= out[i] == pid;
			if (known)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
			if (!(f = fopen(path, "r")))
				continue;
			rp = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			fclose(f);
			if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1)
				continue;
			for (int i = 0; i < n; i++)
				if (out[i] == ppid) {
					out[n++] = pid;
					grew = 1;
					break;
				}
		}
		closedir(d);
	}
	return n;
}

/* utime + stime (seconds) of pids[0..n), those that still run. */
static double pids_cpu_s(const pid_t *pids, int n)
{
	double sum = 0;

	for (int i = 0; i < n; i++) {
		char path[64], buf[1024], *rp;
		unsigned long ut, st;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pids[i]);
		if (!(f = fopen(path, "r")))
			continue;
		rp = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				 &ut, &st) == 2)
			sum += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	return sum;
}

/* utime + stime (seconds) of the server processes; -1 without --pids. */
static double server_cpu_s(void)
{
	pid_t pids[1024];

	if (o.npids == 0)
		return -1;
	return pids_cpu_s(pids, proc_tree(pids, 1024));
}

/* utime + stime (seconds) of the --redis-pids (not their children); -1 without. */
static double redis_cpu_s(void)
{
	return o.nrpids ? pids_cpu_s(o.rpids, o.nrpids) : -1;
}

/* Pss (kB) of the server processes, shared pages split between them; -1 without --pids. */
static long server_pss_kb(void)
{
	pid_t pids[1024];
	long sum = 0;
	int n;

	if (o.npids == 0)
		return -1;
	n = proc_tree(pids, 1024);
	for (int i = 0; i < n; i++) {
		char path[64], line[256];
		FILE *f;
		long v;

		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pids[i]);
		if (!(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Pss: %ld", &v) == 1)
				sum += v;
		fclose(f);
	}
	return sum;
}

static double self_cpu_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- connections ---------------------------------------------------------------- */

enum conn_state { C_NEW, C_CONNECTING, C_TLS, C_UPGRADING, C_OPEN, C_DEAD };
enum conn_kind { K_SUB, K_PUB, K_IDLE };

/* Per subscriber and publisher of its room: the highest sequence seen and a
 * 64-bit window below it, to tell duplicates from late (reordered) ones. */
struct track {
	uint64_t hi, win;
};

/* One per connection, in one array made at start. */
struct conn {
	int       fd;
	SSL      *ssl;                /* wss://: NULL until connected */
	uint8_t   state, kind, welcomed, ping_out;
	int       room, url, idx;
	int64_t   started_ns, ping_ns;
	char      key[WSC_KEY_LEN + 1];
	uint8_t  *part;               /* bytes of an incomplete frame/head */
	uint32_t  plen, pcap;
	uint8_t  *wbuf;               /* bytes not yet accepted by the socket */
	uint32_t  wlen, woff, wcap;
	struct track *trk;            /* K_SUB: one per publisher of the room */
	uint64_t  uniq, dup, reord, stale;
	/* recovery mode, K_SUB: the room position this client has seen */
	int64_t   last_off;           /* -1: none yet */
	int64_t   rec_target;         /* the room's offset in the recovering welcome */
	uint64_t  off_gap, off_dup;   /* offsets skipped / seen again */
	uint8_t   rec;                /* enum rec_state */
	char      epoch[BENCH_EPOCH_MAX + 1];
};

/* Where a recovery-mode client is in its drop and reconnect. */
enum rec_state { R_LIVE, R_WAIT, R_FILL, R_DONE, R_FAILED };

/* Counters of one run (or one --max trial). */
struct counts {
	uint64_t conn_ok, conn_fail, upgrade_fail, closed, proto_err;
	uint64_t sent, expected, delivered, dup, reord, stale, frames_in;
	uint64_t pings, pongs, backlog_fail;
	uint64_t tls_ok;          /* TLS handshakes completed */
	struct hist lat;
};

struct bench {
	int            ep;
	struct conn   *c;
	int            n;              /* connections */
	int            nsub, npub;
	int           *pub_conn;       /* npub: index into c[] */
	uint64_t      *pub_seq;        /* npub: last sequence sent */
	uint64_t      *pub_base;       /* npub: last sequence before this trial */
	int            pending;        /* connections not yet open or dead */
	int            inflight;
	int            next_connect;
	int            proc, nprocs;   /* connections mode: which share of c[] */
	int64_t        last_rx_ns;
	int64_t        drop_ns;        /* recovery: when every client dropped */
	struct hist    rec;            /* recovery: drop to recovered, per client */
	uint64_t       rec_done, rec_failed, epoch_changes, unnumbered;
	struct counts  k;
	uint8_t       *scratch;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void conn_set_events(struct bench *b, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.u32 = (uint32_t)(c - b->c) };

	epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void conn_kill(struct bench *b, struct conn *c, uint64_t *counter)
{
	if (c->state == C_DEAD)
		return;
	if (!c->welcomed) {        /* still counted as in flight and pending */
		b->inflight--;
		b->pending--;
	}
	if (counter)
		(*counter)++;
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_DEAD;
	free(c->part);
	free(c->wbuf);
	c->part = c->wbuf = NULL;
	c->plen = c->pcap = c->wlen = c->woff = c->wcap = 0;
}

/* Queue bytes for c and try to send them now; 0, or -1 when the backlog is over its bound. */
static int conn_write(struct bench *b, struct conn *c, const void *p, size_t n)
{
	if (c->state == C_DEAD)
		return 0;
	if (c->wlen - c->woff + n > BENCH_WBUF_MAX)
		return -1;
	if (c->wlen + n > c->wcap) {
		if (c->woff) {
			memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
			c->wlen -= c->woff;
			c->woff = 0;
		}
		if (c->wlen + n > c->wcap) {
			uint32_t ncap = c->wcap ? c->wcap : 4096;
			while (ncap < c->wlen + n)
				ncap *= 2;
			uint8_t *nb = realloc(c->wbuf, ncap);
			if (!nb)
				return -1;
			c->wbuf = nb;
			c->wcap = ncap;
		}
	}
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += (uint32_t)n;
	return 0;
}

/* OpenSSL's outcome of a failed SSL_read/SSL_write as errno: EAGAIN for
 * "wait", EPIPE for the end. */
static ssize_t tls_errno(struct conn *c, int n)
{
	int e = SSL_get_error(c->ssl, n);

	ERR_clear_error();
	errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN
		: e == SSL_ERROR_ZERO_RETURN ? 0 : EPIPE;
	return errno == 0 ? 0 : -1;
}

/* send() / recv() on c, through TLS for wss://. */
static ssize_t io_send(struct conn *c, const void *p, size_t n)
{
	int w;

	if (c->ssl == NULL)
		return send(c->fd, p, n, MSG_NOSIGNAL);
	w = SSL_write(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
	return w > 0 ? w : tls_errno(c, w);
}

static ssize_t io_recv(struct conn *c, void *p, size_t n)
{
	int r;

	if (c->ssl == NULL)
		return recv(c->fd, p, n, 0);
	r = SSL_read(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
	return r > 0 ? r : tls_errno(c, r);
}

/* Push queued bytes to the socket; ask for EPOLLOUT while some remain. */
static void conn_flush(struct bench *b, struct conn *c)
{
	int was_full = c->wlen > c->woff;

	while (c->wlen > c->woff) {
		ssize_t w = io_send(c, c->wbuf + c->woff, c->wlen - c->woff);

		if (w > 0) {
			c->woff += (uint32_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_set_events(b, c, EPOLLIN | EPOLLOUT);
			return;
		}
		conn_kill(b, c, &b->k.closed);
		return;
	}
	c->wlen = c->woff = 0;
	if (was_full && c->state == C_OPEN)
		conn_set_events(b, c, EPOLLIN);
}

static int send_frame(struct bench *b, struct conn *c, int op, const void *p, size_t n)
{
	uint8_t buf[WSC_MAX_HEADER + 4096];
	ssize_t len = wsc_frame_encode(buf, sizeof(buf), op, 1, 1, 0, p, n);

	if (len < 0)
		return -1;
	return conn_write(b, c, buf, (size_t)len);
}

/* Build the path of c (template with {room} replaced; in recovery mode a
 * client's ?history= on its first join, ?since=&epoch= on its reconnect). */
static void conn_path(const struct conn *c, char *out, size_t cap)
{
	const char *t = o.urls[c->url].path, *r = strstr(t, "{room}");
	size_t l;

	if (!r)
		snprintf(out, cap, "%s", t);
	else
		snprintf(out, cap, "%.*s%s%d%s", (int)(r - t), t, o.room_prefix, c->room, r + 6);
	if (o.mode != MODE_RECOVERY || c->kind != K_SUB)
		return;
	l = strlen(out);
	if (c->rec == R_WAIT && c->epoch[0] && c->last_off >= 0)
		snprintf(out + l, cap - l, "%csince=%" PRId64 "&epoch=%s", strchr(out, '?') ? '&' : '?',
			 c->last_off, c->epoch);
	else
		snprintf(out + l, cap - l, "%chistory=%d", strchr(out, '?') ? '&' : '?', o.history);
}

/* Start a non-blocking connect for c (from 127.0.0.x in connections mode). */
static void conn_start(struct bench *b, struct conn *c)
{
	const struct url *u = &o.urls[c->url];
	struct epoll_event e = { .events = EPOLLOUT, .data.u32 = (uint32_t)(c - b->c) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	c->started_ns = now_ns();
	c->state = C_CONNECTING;
	c->fd = fd;
	b->inflight++;
	if (fd < 0) {
		conn_kill(b, c, &b->k.conn_fail);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o.mode == MODE_CONNECTIONS && o.src_addrs > 1 &&
	    ntohl(u->addr.sin_addr.s_addr) >> 24 == 127) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(c->idx % o.src_addrs));
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			conn_kill(b, c, &b->k.conn_fail);
			return;
		}
	}
	if ((connect(fd, (const struct sockaddr *)&u->addr, sizeof(u->addr)) < 0 &&
	     errno != EINPROGRESS) || epoll_ctl(b->ep, EPOLL_CTL_ADD, fd, &e) < 0)
		conn_kill(b, c, &b->k.conn_fail);
}

/* Send the upgrade request (the socket connected, TLS done if any). */
static void conn_upgrade(struct bench *b, struct conn *c)
{
	char req[1024], path[700];
	const struct url *u = &o.urls[c->url];
	int n;

	conn_path(c, path, sizeof(path));
	n = wsc_handshake_request(req, sizeof(req), u->host, u->port, path, NULL, c->key);
	c->state = C_UPGRADING;
	if (n < 0 || conn_write(b, c, req, (size_t)n) < 0) {
		conn_kill(b, c, &b->k.conn_fail);
		return;
	}
	conn_set_events(b, c, EPOLLIN);
	conn_flush(b, c);
}

/* One step of c's TLS handshake; the upgrade once it is done. */
static void conn_tls_step(struct bench *b, struct conn *c)
{
	int r = SSL_do_handshake(c->ssl), e;

	if (r == 1) {
		b->k.tls_ok++;
		conn_upgrade(b, c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ)
		conn_set_events(b, c, EPOLLIN);
	else if (e == SSL_ERROR_WANT_WRITE)
		conn_set_events(b, c, EPOLLIN | EPOLLOUT);
	else
		conn_kill(b, c, &b->k.conn_fail);
}

static SSL_CTX *tls_ctx;   /* one for every wss:// connection (made in main) */

/* The socket connected: TLS first for wss://, then the upgrade request. */
static void conn_connected(struct bench *b, struct conn *c)
{
	const struct url *u = &o.urls[c->url];
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
		conn_kill(b, c, &b->k.conn_fail);
		return;
	}
	if (!u->tls) {
		conn_upgrade(b, c);
		return;
	}
	c->ssl = SSL_new(tls_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		conn_kill(b, c, &b->k.conn_fail);
		return;
	}
	SSL_set_tlsext_host_name(c->ssl, u->host);
	SSL_set_connect_state(c->ssl);
	c->state = C_TLS;
	conn_tls_step(b, c);
}

/* Parse "PUB:SEQ:NS" after the marker. */
static int parse_mark(const char *p, const char *end, uint64_t v[3])
{
	for (int i = 0; i < 3; i++) {
		uint64_t x = 0;
		const char *s = p;

		while (p < end && *p >= '0' && *p <= '9')
			x = x * 10 + (uint64_t)(*p++ - '0');
		if (p == s || p >= end || *p != (i < 2 ? ':' : '"'))
			return -1;
		p++;
		v[i] = x;
	}
	return 0;
}

/* A subscriber got publisher pub's message seq. */
static void track_seq(struct bench *b, struct conn *c, uint64_t pub, uint64_t seq)
{
	struct track *t;

	if (pub >= (uint64_t)b->npub || (int)(pub % (uint64_t)o.rooms) != c->room) {
		b->k.proto_err++;
		return;
	}
	t = &c->trk[pub / (uint64_t)o.rooms];
	if (seq <= b->pub_base[pub]) {
		c->stale++;
	} else if (seq > t->hi) {
		uint64_t sh = seq - t->hi;

		t->win = sh >= 64 ? 0 : (t->win << sh) | (1ULL << (sh - 1));
		if (sh > 64)
			t->win = 0;
		t->hi = seq;
		c->uniq++;
	} else if (seq == t->hi) {
		c->dup++;
	} else {
		uint64_t d = t->hi - 1 - seq;

		if (d < 64 && (t->win >> d) & 1) {
			c->dup++;
			return;
		}
		if (d < 64)
			t->win |= 1ULL << d;
		c->uniq++;
		c->reord++;
	}
}

/* ---- recovery: offsets and epochs in frames ------------------------------- */

/* The integer after the first "key": in s[0..n); -1 when absent. */
static int64_t json_int_after(const char *s, size_t n, const char *key)
{
	size_t kl = strlen(key);
	const char *p = memmem(s, n, key, kl), *end = s + n;
	int64_t v = 0;

	if (!p || p + kl >= end || p[kl] < '0' || p[kl] > '9')
		return -1;
	for (p += kl; p < end && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	return v;
}

/* The first "epoch":"..." of s[0..n) into out (empty when absent). */
static void json_epoch(const char *s, size_t n, char out[BENCH_EPOCH_MAX + 1])
{
	static const char key[] = "\"epoch\":\"";
	const char *p = memmem(s, n, key, sizeof(key) - 1), *q;

	out[0] = '\0';
	if (!p)
		return;
	p += sizeof(key) - 1;
	q = memchr(p, '"', (size_t)(s + n - p));
	if (q && q - p <= BENCH_EPOCH_MAX) {
		memcpy(out, p, (size_t)(q - p));
		out[q - p] = '\0';
	}
}

/* c is recovered once it has the offset its recovering welcome named. */
static void rec_check(struct bench *b, struct conn *c, int64_t now)
{
	if (c->rec != R_FILL || c->last_off < c->rec_target)
		return;
	c->rec = R_DONE;
	b->rec_done++;
	hist_add(&b->rec, (uint64_t)(now - b->drop_ns));
}

/* A welcome for a recovery-mode client: its start position, or the verdict
 * of its reconnect ("recovered" and the room's offset to catch up to). */
static void rec_welcome(struct bench *b, struct conn *c, const char *s, size_t n, int64_t now)
{
	int64_t off = json_int_after(s, n, "\"offset\":");
	char ep[BENCH_EPOCH_MAX + 1];

	json_epoch(s, n, ep);
	if (c->rec == R_LIVE) {
		c->last_off = off;
		if (ep[0])
			memcpy(c->epoch, ep, sizeof(ep));
		return;
	}
	if (c->rec != R_WAIT)
		return;
	if (!memmem(s, n, "\"recovered\":true", 16)) {
		c->rec = R_FAILED;
		b->rec_failed++;
		return;
	}
	c->rec = R_FILL;
	c->rec_target = off;
	rec_check(b, c, now);
}

/* A numbered chat message for a recovery-mode client: holes and repeats by offset. */
static void rec_message(struct bench *b, struct conn *c, const char *s, size_t n, int64_t now)
{
	int64_t off = json_int_after(s, n, "\"offset\":");
	char ep[BENCH_EPOCH_MAX + 1];

	if (off < 0) {
		b->unnumbered++;
		return;
	}
	json_epoch(s, n, ep);
	if (strcmp(ep, c->epoch) != 0) {
		if (c->epoch[0])
			b->epoch_changes++;
		memcpy(c->epoch, ep, sizeof(ep));
		c->last_off = -1;
	}
	if (c->last_off >= 0 && off <= c->last_off)
		c->off_dup++;
	else if (c->last_off >= 0 && off > c->last_off + 1)
		c->off_gap += (uint64_t)(off - c->last_off - 1);
	if (off > c->last_off)
		c->last_off = off;
	rec_check(b, c, now);
}

/* One text frame arrived on an open connection. */
static void on_text(struct bench *b, struct conn *c, const uint8_t *p, size_t n, int64_t now)
{
	const char *s = (const char *)p, *end = s + n, *m;

	b->k.frames_in++;
	if (!c->welcomed && memmem(s, n, "\"welcome\"", 9)) {
		c->welcomed = 1;
		b->pending--;
		b->inflight--;
		if (o.mode == MODE_RECOVERY && c->kind == K_SUB)
			rec_welcome(b, c, s, n, now);
		return;
	}
	if (c->kind == K_SUB && (m = memmem(s, n, BENCH_MARK, sizeof(BENCH_MARK) - 1))) {
		uint64_t v[3];

		if (parse_mark(m + sizeof(BENCH_MARK) - 1, end, v) < 0) {
			b->k.proto_err++;
			return;
		}
		if (o.mode == MODE_RECOVERY)
			rec_message(b, c, s, n, now);
		track_seq(b, c, v[0], v[1]);
		if (v[1] > b->pub_base[v[0] < (uint64_t)b->npub ? v[0] : 0])
			hist_add(&b->k.lat, now > (int64_t)v[2] ? (uint64_t)(now - (int64_t)v[2]) : 0);
		b->last_rx_ns = now;
	} else if (c->ping_out && n < 512 && memmem(s, n, "\"pong\"", 6)) {
		c->ping_out = 0;
		b->k.pongs++;
		hist_add(&b->k.lat, (uint64_t)(now - c->ping_ns));
	}
}

/* Frames in buf[0..len); returns the bytes consumed, or -1 on a protocol error. */
static ssize_t on_frames(struct bench *b, struct conn *c, const uint8_t *buf, size_t len,
			 int64_t now)
{
	size_t pos = 0;

	while (pos < len) {
		struct wsc_frame f;
		ssize_t fl = wsc_frame_parse(buf + pos, len - pos, &f);

		if (fl < 0)
			return -1;
		if (fl == 0)
			break;
		pos += (size_t)fl;
		if (f.opcode == WSC_OP_TEXT || f.opcode == WSC_OP_CONT)
			on_text(b, c, f.payload, (size_t)f.len, now);
		else if (f.opcode == WSC_OP_PING)
			send_frame(b, c, WSC_OP_PONG, f.payload, (size_t)f.len);
		else if (f.opcode == WSC_OP_CLOSE)
			return -1;
	}
	return (ssize_t)pos;
}

/* The upgrade response head in buf; bytes consumed, 0 for more, -1 refused. */
static ssize_t on_head(struct bench *b, struct conn *c, const uint8_t *buf, size_t len)
{
	struct wsc_http_head h;
	ssize_t hl = wsc_handshake_parse((const char *)buf, len, c->key, &h);

	if (hl <= 0)
		return hl;
	if (!h.accept_ok)
		return -1;
	c->state = C_OPEN;
	b->k.conn_ok++;
	if (o.no_welcome) {
		c->welcomed = 1;
		b->pending--;
		b->inflight--;
	}
	return hl;
}

/* Keep buf[0..n) as c's partial bytes; 0 or -1. */
static int keep_part(struct conn *c, const uint8_t *buf, size_t n)
{
	if (n > BENCH_PART_MAX)
		return -1;
	if (n > c->pcap) {
		uint8_t *np = realloc(c->part, n);
		if (!np)
			return -1;
		c->part = np;
		c->pcap = (uint32_t)n;
	}
	if (n > 0)   /* c->part may still be NULL */
		memmove(c->part, buf, n);
	c->plen = (uint32_t)n;
	return 0;
}

/* Consume what is in buf[0..len) (head, then frames); 0 or -1. */
static int conn_consume(struct bench *b, struct conn *c, uint8_t *buf, size_t len, int64_t now)
{
	size_t pos = 0;
	ssize_t r;

	if (c->state == C_UPGRADING) {
		r = on_head(b, c, buf, len);
		if (r < 0) {
			conn_kill(b, c, &b->k.upgrade_fail);
			return -1;
		}
		if (r == 0)
			return keep_part(c, buf, len);
		pos = (size_t)r;
	}
	r = on_frames(b, c, buf + pos, len - pos, now);
	if (r < 0 || c->state == C_DEAD) {
		conn_kill(b, c, &b->k.closed);
		return -1;
	}
	pos += (size_t)r;
	if (keep_part(c, buf + pos, len - pos) < 0) {
		conn_kill(b, c, &b->k.proto_err);
		return -1;
	}
	return 0;
}

/* Read everything the socket has, frame by frame, through the scratch buffer. */
static void conn_read(struct bench *b, struct conn *c)
{
	for (int rounds = 0; rounds < 8 && c->state != C_DEAD; rounds++) {
		size_t have = c->plen, room;
		ssize_t n;

		if (have >= BENCH_SCRATCH / 2) {
			conn_kill(b, c, &b->k.proto_err);
			return;
		}
		if (have > 0)   /* c->part is NULL until a partial frame was kept */
			memcpy(b->scratch, c->part, have);
		room = BENCH_SCRATCH - have;
		n = io_recv(c, b->scratch + have, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_kill(b, c, c->state == C_OPEN ? &b->k.closed : &b->k.upgrade_fail);
			return;
		}
		c->plen = 0;
		if (conn_consume(b, c, b->scratch, have + (size_t)n, now_ns()) < 0)
			return;
		if (c->wlen > c->woff)
			conn_flush(b, c);
		if ((size_t)n < room && (c->ssl == NULL || SSL_pending(c->ssl) == 0))
			return;
	}
}

static void on_event(struct bench *b, const struct epoll_event *e)
{
	struct conn *c = &b->c[e->data.u32];

	if (c->state == C_DEAD)
		return;
	if (c->state == C_CONNECTING) {
		if (e->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_connected(b, c);
		return;
	}
	if (c->state == C_TLS) {
		conn_tls_step(b, c);
		return;
	}
	if (e->events & EPOLLOUT)
		conn_flush(b, c);
	if (c->state != C_DEAD && (e->events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		conn_read(b, c);
}

/* Wait up to timeout_ms and handle what is ready. */
static void poll_once(struct bench *b, int timeout_ms)
{
	struct epoll_event ev[512];
	int n = epoll_wait(b->ep, ev, 512, timeout_ms);

	for (int i = 0; i < n; i++)
		on_event(b, &ev[i]);
}

/* Connections of this process whose upgrade or welcome is overdue fail. */
static void reap_slow(struct bench *b, int64_t now)
{
	int64_t lim = (int64_t)(o.connect_timeout * 1e9);

	for (int i = b->proc; i < b->n; i += b->nprocs) {
		struct conn *c = &b->c[i];

		if (c->state != C_DEAD && c->state != C_NEW && !c->welcomed &&
		    now - c->started_ns > lim)
			conn_kill(b, c, c->state == C_CONNECTING ? &b->k.conn_fail
								 : &b->k.upgrade_fail);
	}
}

/*
 * Open every connection of this process (c[proc], c[proc + nprocs], ...) at
 * --conn-rate / nprocs per second with at most --inflight handshakes; a
 * connection counts as open once its welcome arrived.  Returns when none is
 * pending.
 */
struct opener {
	int64_t t0, last_reap;
	long    started;
};

/* Start opening every C_NEW connection of this process (see open_step). */
static void open_begin(struct bench *b, struct opener *op)
{
	op->t0 = op->last_reap = now_ns();
	op->started = 0;
	b->pending = 0;
	for (int i = b->proc; i < b->n; i += b->nprocs)
		if (b->c[i].state == C_NEW)
			b->pending++;
	b->next_connect = b->proc;
}

/* Start the connections due by now (rate, in-flight bound), reap the slow
 * ones; the caller polls.  How many are still pending. */
static int open_step(struct bench *b, struct opener *op, int64_t now)
{
	long due = (long)((double)(now - op->t0) / 1e9 * (o.conn_rate / b->nprocs)) + 1;

	while (op->started < due && b->inflight < o.inflight && b->next_connect < b->n) {
		struct conn *c = &b->c[b->next_connect];

		b->next_connect += b->nprocs;
		if (c->state == C_NEW) {
			conn_start(b, c);
			op->started++;
		}
	}
	if (now - op->last_reap > 500000000LL) {
		reap_slow(b, now);
		op->last_reap = now;
	}
	return b->pending;
}

static void open_all(struct bench *b)
{
	struct opener op;

	open_begin(b, &op);
	while (b->pending > 0 && !stop_flag) {
		int64_t now = now_ns();

		open_step(b, &op, now);
		poll_once(b, 2);
	}
}

/* Close and free everything bench_init() and the run made. */
static void bench_free(struct bench *b)
{
	for (int i = 0; b->c != NULL && i < b->n; i++) {
		struct conn *c = &b->c[i];

		SSL_free(c->ssl);
		if (c->fd >= 0)
			close(c->fd);
		free(c->part);
		free(c->wbuf);
		free(c->trk);
	}
	free(b->c);
	free(b->pub_conn);
	free(b->pub_seq);
	free(b->pub_base);
	free(b->scratch);
	if (b->ep >= 0)
		close(b->ep);
	b->c = NULL;
}

static int bench_init(struct bench *b, int n)
{
	memset(b, 0, sizeof(*b));
	b->ep = epoll_create1(EPOLL_CLOEXEC);
	b->c = calloc((size_t)n, sizeof(*b->c));
	b->scratch = malloc(BENCH_SCRATCH);
	b->n = n;
	b->nprocs = 1;
	if (b->ep < 0 || !b->c || !b->scratch)
		return -1;
	for (int i = 0; i < n; i++)
		b->c[i].fd = -1;
	return 0;
}

/* Soft RLIMIT_NOFILE up to the hard limit; is there room for n sockets? */
static int fd_room(int n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	return (rlim_t)n + 32 <= rl.rlim_cur;
}

/* ---- output ------------------------------------------------------------------ */

/* Append printf output to a growing JSON line. */
static void jadd(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void jadd(char *buf, size_t cap, const char *fmt, ...)
{
	size_t l = strlen(buf);
	va_list ap;

	if (l >= cap - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + l, cap - l, fmt, ap);
	va_end(ap);
}

static void json_hist(char *j, size_t cap, const char *name, const struct hist *h)
{
	jadd(j, cap, "\"%s\":{\"count\":%" PRIu64 ",\"p50\":%.1f,\"p99\":%.1f,"
	     "\"p999\":%.1f,\"max\":%.1f}", name, h->count,
	     hist_quantile(h, 0.50) / 1e3, hist_quantile(h, 0.99) / 1e3,
	     hist_quantile(h, 0.999) / 1e3, h->max / 1e3);
}

static void human_hist(const char *what, const struct hist *h)
{
	if (o.quiet)
		return;
	printf("  %-22s p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms  (%" PRIu64 " samples)\n",
	       what, hist_quantile(h, 0.50) / 1e6, hist_quantile(h, 0.99) / 1e6,
	       hist_quantile(h, 0.999) / 1e6, h->max / 1e6, h->count);
}

/* ---- fanout -------------------------------------------------------------------- */

/* Result of one fanout trial. */
struct trial {
	double   rate, secs, per_s, srv_cpu, tool_cpu;
	double   redis_cpu;           /* -1 without --redis-pids */
	struct counts k;
	int      ok;
};

static void fanout_layout(struct bench *b)
{
	int nsub = o.subscribers, npub = o.publishers, rooms = o.rooms;

	b->nsub = nsub;
	b->npub = npub;
	b->pub_conn = calloc((size_t)npub, sizeof(int));
	b->pub_seq = calloc((size_t)npub, sizeof(uint64_t));
	b->pub_base = calloc((size_t)npub, sizeof(uint64_t));
	for (int i = 0; i < nsub + npub; i++) {
		struct conn *c = &b->c[i];
		int sub = i < nsub;

		c->kind = sub ? K_SUB : K_PUB;
		c->idx = sub ? i : i - nsub;
		c->room = c->idx % rooms;
		c->url = i % o.nurls;
		if (sub)
			c->trk = calloc((size_t)(npub / rooms + 1), sizeof(struct track));
		else
			b->pub_conn[c->idx] = i;
	}
}

/* Members (open subscribers) of each room, into per_room[rooms]. */
static void room_members(struct bench *b, long *per_room)
{
	memset(per_room, 0, sizeof(long) * (size_t)o.rooms);
	for (int i = 0; i < b->nsub; i++)
		if (b->c[i].state == C_OPEN && b->c[i].welcomed)
			per_room[b->c[i].room]++;
}

/* Send what each publisher owes by now (staggered), one batch per publisher. */
static void publish_due(struct bench *b, int64_t t0, int64_t now, uint64_t per_pub_cap)
{
	double rpp = o.rate / b->npub;
	uint8_t frame[WSC_MAX_HEADER + 8192];
	char msg[8192];

	for (int p = 0; p < b->npub; p++) {
		struct conn *c = &b->c[b->pub_conn[p]];
		uint64_t due = (uint64_t)((double)(now - t0) / 1e9 * rpp + (double)p / b->npub);

		if (due > per_pub_cap)
			due = per_pub_cap;
		if (c->state != C_OPEN)
			continue;
		while (b->pub_seq[p] - b->pub_base[p] < due) {
			uint64_t seq = ++b->pub_seq[p];
			int l = snprintf(msg, sizeof(msg),
					 "{\"type\":\"chat\",\"data\":{\"bm\":\"%d:%" PRIu64 ":%" PRId64
					 "\",\"pad\":\"", p, seq, now);
			int pad = o.size - l - 3;
			if (pad > (int)sizeof(msg) - l - 4)
				pad = (int)sizeof(msg) - l - 4;
			if (pad > 0) {
				memset(msg + l, 'x', (size_t)pad);
				l += pad;
			}
			memcpy(msg + l, "\"}}", 3);
			l += 3;
			ssize_t fl = wsc_frame_encode(frame, sizeof(frame), WSC_OP_TEXT, 1, 1, 0, msg, (size_t)l);
			if (fl < 0 || conn_write(b, c, frame, (size_t)fl) < 0) {
				b->k.backlog_fail++;
				break;
			}
			b->k.sent++;
		}
		conn_flush(b, c);
	}
}

static int pubs_open(const struct bench *b)
{
	for (int p = 0; p < b->npub; p++)
		if (b->c[b->pub_conn[p]].state == C_OPEN)
			return 1;
	return 0;
}

static uint64_t sum_uniq(struct bench *b)
{
	uint64_t s = 0;

	for (int i = 0; i < b->nsub; i++)
		s += b->c[i].uniq;
	return s;
}

/* Expected deliveries: each publisher's messages this trial times its room's members. */
static uint64_t expected_now(struct bench *b, const long *members)
{
	uint64_t e = 0;

	for (int p = 0; p < b->npub; p++)
		e += (b->pub_seq[p] - b->pub_base[p]) * (uint64_t)members[p % o.rooms];
	return e;
}

/* Reset the per-trial state: sequence bases and the trackers. */
static void trial_reset(struct bench *b)
{
	memset(&b->k.sent, 0, sizeof(b->k) - offsetof(struct counts, sent));
	for (int p = 0; p < b->npub; p++)
		b->pub_base[p] = b->pub_seq[p];
	for (int i = 0; i < b->nsub; i++) {
		struct conn *c = &b->c[i];

		for (int k = 0; k * o.rooms + c->room < b->npub; k++) {
			c->trk[k].hi = b->pub_base[k * o.rooms + c->room];
			c->trk[k].win = ~0ULL;
		}
		c->uniq = c->dup = c->reord = c->stale = 0;
	}
}

/* One fanout run at rate: publish, drain, count.  Fills *t. */
static void fanout_trial(struct bench *b, double rate, double secs, struct trial *t)
{
	long *members = calloc((size_t)o.rooms, sizeof(long));
	uint64_t cap = o.messages > 0 ? (uint64_t)((o.messages + b->npub - 1) / b->npub) : UINT64_MAX;
	int64_t t0, t_end, now, last_rx;
	double cpu0, tool0, redis0;
	uint64_t exp;

	o.rate = rate;
	trial_reset(b);
	room_members(b, members);
	cpu0 = server_cpu_s();
	redis0 = redis_cpu_s();
	tool0 = self_cpu_s(RUSAGE_SELF);
	t0 = now_ns();
	t_end = t0 + (int64_t)((o.messages > 0 ? (double)o.messages / rate + 30 : secs) * 1e9);
	b->last_rx_ns = t0;
	for (now = t0; now < t_end && !stop_flag; now = now_ns()) {
		publish_due(b, t0, now, cap);
		if ((o.messages > 0 && b->k.sent >= (uint64_t)o.messages) || !pubs_open(b))
			break;
		poll_once(b, 1);
	}
	t_end = now;
	exp = expected_now(b, members);
	while (!stop_flag && sum_uniq(b) < exp && now - t_end < (int64_t)(o.drain_max * 1e9)) {
		poll_once(b, 10);
		now = now_ns();
	}
	last_rx = b->last_rx_ns;
	for (int i = 0; i < b->nsub; i++) {
		b->k.delivered += b->c[i].uniq;
		b->k.dup += b->c[i].dup;
		b->k.reord += b->c[i].reord;
		b->k.stale += b->c[i].stale;
	}
	b->k.expected = exp;
	t->rate = rate;
	t->secs = (double)((last_rx > t_end ? last_rx : t_end) - t0) / 1e9;
	t->per_s = t->secs > 0 ? (double)b->k.delivered / t->secs : 0;
	t->srv_cpu = o.npids ? server_cpu_s() - cpu0 : -1;
	t->tool_cpu = self_cpu_s(RUSAGE_SELF) - tool0;
	t->redis_cpu = o.nrpids ? redis_cpu_s() - redis0 : -1;
	t->k = b->k;
	t->ok = exp > 0 && (double)b->k.delivered >= 0.999 * (double)exp && b->k.backlog_fail == 0 &&
		hist_quantile(&b->k.lat, 0.99) <= (uint64_t)(o.max_p99_ms * 1e6);
	free(members);
}

static void trial_human(const struct trial *t, const char *label)
{
	const struct counts *k = &t->k;

	if (o.quiet)
		return;
	printf("%s: offered %.0f msg/s for %.2f s: sent %" PRIu64 ", delivered %" PRIu64 " of %" PRIu64
	       " (%.0f deliveries/s)\n", label, t->rate, t->secs, k->sent, k->delivered,
	       k->expected, t->per_s);
	printf("  lost %" PRIu64 "  duplicated %" PRIu64 "  reordered %" PRIu64
	       "  connection errors %" PRIu64 "  publisher backlog overflows %" PRIu64 "\n",
	       k->expected > k->delivered ? k->expected - k->delivered : 0, k->dup, k->reord,
	       k->conn_fail + k->upgrade_fail + k->closed + k->proto_err, k->backlog_fail);
	human_hist("latency", &k->lat);
	if (t->srv_cpu >= 0)
		printf("  server CPU %.2f s (%.0f ns per delivery), tool CPU %.2f s\n", t->srv_cpu,
		       k->delivered ? t->srv_cpu * 1e9 / (double)k->delivered : 0, t->tool_cpu);
	else
		printf("  tool CPU %.2f s (give --pids for the server's)\n", t->tool_cpu);
	if (t->redis_cpu >= 0)
		printf("  redis CPU %.2f s (%.0f ns per message sent)\n", t->redis_cpu,
		       k->sent ? t->redis_cpu * 1e9 / (double)k->sent : 0);
}

static void trial_json(char *j, size_t cap, const struct trial *t)
{
	const struct counts *k = &t->k;

	jadd(j, cap, "\"rate_offered\":%.0f,\"seconds\":%.3f,\"sent\":%" PRIu64 ",\"expected\":%"
	     PRIu64 ",\"delivered\":%" PRIu64 ",\"deliveries_per_s\":%.0f,\"lost\":%" PRIu64
	     ",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"stale\":%" PRIu64
	     ",\"conn_errors\":%" PRIu64 ",\"backlog_overflows\":%" PRIu64 ",",
	     t->rate, t->secs, k->sent, k->expected, k->delivered, t->per_s,
	     k->expected > k->delivered ? k->expected - k->delivered : 0, k->dup, k->reord,
	     k->stale, k->conn_fail + k->upgrade_fail + k->closed + k->proto_err, k->backlog_fail);
	json_hist(j, cap, "latency_us", &k->lat);
	jadd(j, cap, ",\"server_cpu_s\":%.3f,\"server_cpu_ns_per_delivery\":%.1f,\"tool_cpu_s\":%.3f",
	     t->srv_cpu, t->srv_cpu >= 0 && k->delivered ? t->srv_cpu * 1e9 / (double)k->delivered : -1,
	     t->tool_cpu);
	jadd(j, cap, ",\"redis_cpu_s\":%.3f,\"redis_cpu_ns_per_message\":%.1f", t->redis_cpu,
	     t->redis_cpu >= 0 && k->sent ? t->redis_cpu * 1e9 / (double)k->sent : -1);
}

/* Reopen subscribers and publishers the server dropped (between --max trials). */
static void reopen_dead(struct bench *b)
{
	for (int i = 0; i < b->n; i++) {
		struct conn *c = &b->c[i];

		if (c->state == C_DEAD) {
			c->state = C_NEW;
			c->welcomed = 0;
		}
	}
	b->inflight = 0;
	open_all(b);
}

/* --max: double the rate until a trial fails, then bisect; *best gets the best trial. */
static void fanout_max(struct bench *b, struct trial *best, char *j, size_t cap)
{
	double lo = 0, hi = 0, r = o.rate, secs = o.duration;
	struct trial t;
	int n = 0;

	best->ok = 0;
	jadd(j, cap, "\"trials\":[");
	for (int step = 0; !stop_flag && step < 40 + o.max_steps; step++) {
		if (hi > 0 && (step >= 40 || n >= o.max_steps || hi / lo < 1.02))
			break;
		reopen_dead(b);
		usleep((useconds_t)(o.settle * 1e6));
		fanout_trial(b, r, secs, &t);
		trial_human(&t, t.ok ? "trial ok  " : "trial FAIL");
		jadd(j, cap, "%s{\"rate\":%.0f,\"ok\":%d,\"deliveries_per_s\":%.0f,\"p99_us\":%.1f}",
		     step ? "," : "", r, t.ok, t.per_s, hist_quantile(&t.k.lat, 0.99) / 1e3);
		if (t.ok) {
			lo = r;
			*best = t;
		} else {
			hi = r;
		}
		if (hi > 0)
			n++;
		if (hi == 0)
			r *= 2;
		else if (lo == 0)
			r /= 2;
		else
			r = (lo + hi) / 2;
		if (r < 1)
			break;
	}
	jadd(j, cap, "],\"max_rate\":%.0f,", lo);
}

static int fanout_run(void)
{
	struct bench b;
	struct trial t;
	char j[16384] = "";
	int n = o.subscribers + o.publishers;

	if (!fd_room(n)) {
		fprintf(stderr, "chatd-benchmark: %d connections exceed the file limit of this process\n", n);
		return 2;
	}
	if (bench_init(&b, n) < 0)
		return 2;
	fanout_layout(&b);
	open_all(&b);
	if (!o.quiet)
		printf("fanout: %d subscribers in %d rooms, %d publishers, %d-byte messages, %d URL(s); "
		       "%" PRIu64 " connected, %" PRIu64 " failed\n", o.subscribers, o.rooms, o.publishers,
		       o.size, o.nurls, b.k.conn_ok, b.k.conn_fail + b.k.upgrade_fail);
	usleep((useconds_t)(o.settle * 1e6));
	jadd(j, sizeof(j), "{\"mode\":\"fanout\",\"url\":\"%s://%s:%d%s\",\"urls\":%d,\"subscribers\":%d,"
	     "\"rooms\":%d,\"publishers\":%d,\"size\":%d,", o.urls[0].tls ? "wss" : "ws", o.urls[0].host, o.urls[0].port,
	     o.urls[0].path, o.nurls, o.subscribers, o.rooms, o.publishers, o.size);
	if (o.max_search) {
		fanout_max(&b, &t, j, sizeof(j));
		if (!t.ok)
			memset(&t, 0, sizeof(t));
	} else {
		fanout_trial(&b, o.rate, o.duration, &t);
		trial_human(&t, "result");
	}
	if (o.max_search && !o.quiet)
		printf("max sustained rate: %.0f msg/s offered, %.0f deliveries/s\n", t.rate, t.per_s);
	trial_json(j, sizeof(j), &t);
	jadd(j, sizeof(j), "}");
	printf("%s\n", j);
	bench_free(&b);
	const struct counts *k = &t.k;
	return (k->expected == k->delivered && k->dup == 0 && k->reord == 0 &&
		k->conn_fail + k->upgrade_fail + k->closed + k->proto_err == 0) ? 0 : 1;
}

/* ---- recovery ------------------------------------------------------------------- */

/* Totals of a recovery run over its clients. */
struct rec_sum {
	uint64_t lost, dup, reord, off_gap, off_dup, lost_clients, dup_clients, max_lost, max_dup;
	uint64_t expected, delivered, waiting;
};

/* Every client drops at once (no close frame) and is queued to reconnect,
 * to the next URL (pod), with ?since=&epoch= of what it saw. */
static void rec_drop_all(struct bench *b)
{
	b->drop_ns = now_ns();
	for (int i = 0; i < b->nsub; i++) {
		struct conn *c = &b->c[i];

		if (c->state != C_OPEN)
			continue;
		conn_kill(b, c, NULL);
		c->state = C_NEW;
		c->welcomed = 0;
		c->rec = R_WAIT;
		c->url = (c->url + 1) % o.nurls;
	}
}

/* Publish on while the clients reconnect, until each is recovered, told it
 * cannot be, or gone (bounded by --recover-timeout). */
static void rec_reconnect(struct bench *b, int64_t t0)
{
	struct opener op;
	int64_t end = b->drop_ns + (int64_t)(o.recover_timeout * 1e9), now;

	open_begin(b, &op);
	for (now = now_ns(); now < end && !stop_flag; now = now_ns()) {
		uint64_t gone = 0;

		for (int i = 0; i < b->nsub; i++)
			gone += b->c[i].state == C_DEAD;
		if (b->rec_done + b->rec_failed + gone >= (uint64_t)b->nsub)
			break;
		publish_due(b, t0, now, UINT64_MAX);
		open_step(b, &op, now);
		poll_once(b, 1);
	}
}

/* Count per client: lost and duplicated by sequence (every message of its
 * room's publishers since the start) and by offset. */
static void rec_sum(struct bench *b, const long *members, struct rec_sum *r)
{
	uint64_t *room_exp = calloc((size_t)o.rooms, sizeof(uint64_t));

	memset(r, 0, sizeof(*r));
	for (int p = 0; room_exp && p < b->npub; p++)
		room_exp[p % o.rooms] += b->pub_seq[p];
	for (int i = 0; room_exp && i < b->nsub; i++) {
		struct conn *c = &b->c[i];
		uint64_t e = room_exp[c->room], lost = e > c->uniq ? e - c->uniq : 0;

		r->lost += lost;
		r->dup += c->dup;
		r->reord += c->reord;
		r->off_gap += c->off_gap;
		r->off_dup += c->off_dup;
		r->lost_clients += lost > 0;
		r->dup_clients += c->dup + c->off_dup > 0;
		r->max_lost = lost > r->max_lost ? lost : r->max_lost;
		r->max_dup = c->dup > r->max_dup ? c->dup : r->max_dup;
		r->delivered += c->uniq;
		r->waiting += c->rec == R_WAIT || c->rec == R_FILL;
	}
	r->expected = expected_now(b, members);
	free(room_exp);
}

static void rec_report(struct bench *b, const struct rec_sum *r, double cpu, double redis)
{
	const struct counts *k = &b->k;
	uint64_t errs = k->conn_fail + k->upgrade_fail + k->closed + k->proto_err;
	char j[4096] = "";

	if (!o.quiet) {
		printf("recovery: %d clients in %d rooms, %d publishers at %.0f msg/s, %d URL(s); "
		       "all dropped after %.1f s\n", b->nsub, o.rooms, b->npub, o.rate, o.nurls,
		       o.drop_after);
		printf("  recovered %" PRIu64 ", told recovered:false %" PRIu64 ", still waiting %"
		       PRIu64 ", connection errors %" PRIu64 "\n", b->rec_done, b->rec_failed,
		       r->waiting, errs);
		human_hist("drop to recovered", &b->rec);
		printf("  sent %" PRIu64 ", delivered %" PRIu64 " of %" PRIu64 ": lost %" PRIu64
		       " (%" PRIu64 " clients, at most %" PRIu64 " each), duplicated %" PRIu64
		       " (%" PRIu64 " clients, at most %" PRIu64 " each), reordered %" PRIu64 "\n",
		       k->sent, r->delivered, r->expected, r->lost, r->lost_clients, r->max_lost,
		       r->dup, r->dup_clients, r->max_dup, r->reord);
		printf("  by offset: %" PRIu64 " skipped, %" PRIu64 " repeated; epoch changes %"
		       PRIu64 ", messages without offset %" PRIu64 "\n", r->off_gap, r->off_dup,
		       b->epoch_changes, b->unnumbered);
		if (cpu >= 0)
			printf("  server CPU %.2f s\n", cpu);
		if (redis >= 0)
			printf("  redis CPU %.2f s (%.0f ns per message sent)\n", redis,
			       k->sent ? redis * 1e9 / (double)k->sent : 0);
	}
	jadd(j, sizeof(j), "{\"mode\":\"recovery\",\"url\":\"%s://%s:%d%s\",\"urls\":%d,"
	     "\"clients\":%d,\"rooms\":%d,\"publishers\":%d,\"rate_offered\":%.0f,"
	     "\"drop_after_s\":%.1f,\"recovered\":%" PRIu64 ",\"not_recovered\":%" PRIu64
	     ",\"waiting\":%" PRIu64 ",\"all_recovered_s\":%.3f,", o.urls[0].tls ? "wss" : "ws",
	     o.urls[0].host, o.urls[0].port, o.urls[0].path, o.nurls, b->nsub, o.rooms, b->npub,
	     o.rate, o.drop_after, b->rec_done, b->rec_failed, r->waiting,
	     b->rec_done == (uint64_t)b->nsub ? b->rec.max / 1e9 : -1.0);
	json_hist(j, sizeof(j), "recovery_us", &b->rec);
	jadd(j, sizeof(j), ",\"sent\":%" PRIu64 ",\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64
	     ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64
	     ",\"lost_clients\":%" PRIu64 ",\"dup_clients\":%" PRIu64 ",\"max_lost_per_client\":%"
	     PRIu64 ",\"max_dup_per_client\":%" PRIu64 ",\"offset_skipped\":%" PRIu64
	     ",\"offset_repeated\":%" PRIu64 ",\"epoch_changes\":%" PRIu64 ",\"unnumbered\":%"
	     PRIu64 ",\"conn_errors\":%" PRIu64 ",\"server_cpu_s\":%.3f,\"redis_cpu_s\":%.3f,"
	     "\"redis_cpu_ns_per_message\":%.1f}", k->sent, r->expected, r->delivered, r->lost,
	     r->dup, r->reord, r->lost_clients, r->dup_clients, r->max_lost, r->max_dup,
	     r->off_gap, r->off_dup, b->epoch_changes, b->unnumbered, errs, cpu, redis,
	     redis >= 0 && k->sent ? redis * 1e9 / (double)k->sent : -1);
	printf("%s\n", j);
}

/* Join, publish, drop everyone at once, reconnect with since, drain, count. */
static int recovery_run(void)
{
	struct bench b;
	struct rec_sum r;
	int n = o.subscribers + o.publishers;
	long *members = calloc((size_t)o.rooms, sizeof(long));

	if (!fd_room(n)) {
		fprintf(stderr, "chatd-benchmark: %d connections exceed the file limit of this process\n", n);
		free(members);
		return 2;
	}
	if (!members || bench_init(&b, n) < 0) {
		free(members);
		return 2;
	}
	fanout_layout(&b);
	open_all(&b);
	usleep((useconds_t)(o.settle * 1e6));
	room_members(&b, members);
	double cpu0 = server_cpu_s(), redis0 = redis_cpu_s();
	int64_t t0 = now_ns(), now;
	for (now = t0; now < t0 + (int64_t)(o.drop_after * 1e9) && !stop_flag; now = now_ns()) {
		publish_due(&b, t0, now, UINT64_MAX);
		poll_once(&b, 1);
	}
	rec_drop_all(&b);
	rec_reconnect(&b, t0);
	/* a second more of live traffic on the recovered connections */
	int64_t t2 = now_ns();
	for (now = t2; now < t2 + REC_AFTER_NS && !stop_flag; now = now_ns()) {
		publish_due(&b, t0, now, UINT64_MAX);
		poll_once(&b, 1);
	}
	/* the publishers stop; the clients get what is still on its way */
	uint64_t exp = expected_now(&b, members);
	for (int64_t t1 = now_ns(); !stop_flag && sum_uniq(&b) < exp &&
	     now_ns() - t1 < (int64_t)(o.drain_max * 1e9);)
		poll_once(&b, 10);
	rec_sum(&b, members, &r);
	rec_report(&b, &r, cpu0 >= 0 ? server_cpu_s() - cpu0 : -1,
		   redis0 >= 0 ? redis_cpu_s() - redis0 : -1);
	const struct counts *k = &b.k;
	int ok = b.rec_done == (uint64_t)b.nsub && r.lost == 0 && r.dup == 0 && r.off_gap == 0 &&
		 r.off_dup == 0 && k->conn_fail + k->upgrade_fail + k->closed + k->proto_err == 0;
	bench_free(&b);
	free(members);
	return ok ? 0 : 1;
}

/* ---- connections ----------------------------------------------------------------- */

/* What one process of connections mode reports (in a shared mapping). */
struct proc_result {
	uint64_t opened, failed, dropped, pings, pongs, unanswered;
	struct hist rtt;
};

struct shared {
	_Atomic int    opened_procs;
	_Atomic int64_t hold_end_ns;   /* set by the parent once all are open */
	struct proc_result r[BENCH_MAX_PROCS];
};

/* Ping a sample of open connections (round-robin) once. */
static void ping_sample(struct bench *b, int *cursor, struct proc_result *r, int64_t now)
{
	static const char ping[] = "{\"type\":\"ping\"}";
	int sent = 0, tries = 0, mine = (b->n - b->proc + b->nprocs - 1) / b->nprocs;
	int want = (o.ping_sample + b->nprocs - 1) / b->nprocs;

	while (sent < want && tries++ < mine) {
		struct conn *c = &b->c[*cursor];

		*cursor += b->nprocs;
		if (*cursor >= b->n)
			*cursor = b->proc;
		if (c->state != C_OPEN || c->ping_out)
			continue;
		c->ping_out = 1;
		c->ping_ns = now;
		if (send_frame(b, c, WSC_OP_TEXT, ping, sizeof(ping) - 1) == 0) {
			conn_flush(b, c);
			r->pings++;
			sent++;
		}
	}
}

/* One process's share: open, report, hold until the parent's deadline, ping. */
static void conn_child(struct bench *b, struct shared *sh, int proc)
{
	struct proc_result *r = &sh->r[proc];
	int cursor = proc;
	int64_t next_ping = 0, end;

	b->proc = proc;
	open_all(b);
	for (int i = proc; i < b->n; i += b->nprocs)
		r->opened += b->c[i].state == C_OPEN && b->c[i].welcomed;
	r->failed = b->k.conn_fail + b->k.upgrade_fail + b->k.closed;
	uint64_t gone0 = b->k.closed + b->k.proto_err;
	memset(&b->k.lat, 0, sizeof(b->k.lat));
	atomic_fetch_add(&sh->opened_procs, 1);
	while (!stop_flag && ((end = atomic_load(&sh->hold_end_ns)) == 0 || now_ns() < end)) {
		int64_t now = now_ns();

		if (end && now >= next_ping && o.ping_sample > 0) {
			ping_sample(b, &cursor, r, now);
			next_ping = now + 1000000000LL;
		}
		poll_once(b, 20);
	}
	for (int i = proc; i < b->n; i += b->nprocs)
		r->unanswered += b->c[i].ping_out && b->c[i].state == C_OPEN;
	r->dropped = b->k.closed + b->k.proto_err - gone0;
	r->pongs = b->k.pongs;
	r->rtt = b->k.lat;
}

static pid_t spawn_child(struct bench *b, struct shared *sh, int k)
{
	pid_t pid = fork();

	if (pid == 0) {
		close(b->ep);    /* an epoll set is shared across fork: each child needs its own */
		b->ep = epoll_create1(EPOLL_CLOEXEC);
		if (b->ep < 0)
			_exit(2);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		conn_child(b, sh, k);
		bench_free(b);
		exit(0);      /* not _exit: leak checkers run at exit */
	}
	return pid;
}

/* Wait for every child to have opened its share (or died); 0 or -1. */
static int wait_opened(struct shared *sh, const pid_t *kids, int k)
{
	while (atomic_load(&sh->opened_procs) < k && !stop_flag) {
		for (int i = 0; i < k; i++) {
			int st;

			if (waitpid(kids[i], &st, WNOHANG) == kids[i])
				return -1;
		}
		usleep(50000);
	}
	return stop_flag ? -1 : 0;
}

/*
 * cpu_open: the server's CPU seconds while the connections opened (-1
 * without --pids): opened / cpu_open is connections (with wss://, full TLS
 * handshakes) per second of one server core.
 */
static void conn_report(const struct shared *sh, int k, double open_s, double cpu_open,
			long pss0, long pss1, double hold_s, double cpu_hold)
{
	double hold_pct = cpu_hold >= 0 && hold_s > 0 ? cpu_hold * 100 / hold_s : -1;
	struct proc_result t = { 0 };
	char j[4096] = "";

	for (int i = 0; i < k; i++) {
		const struct proc_result *r = &sh->r[i];

		t.opened += r->opened;
		t.failed += r->failed;
		t.dropped += r->dropped;
		t.pings += r->pings;
		t.pongs += r->pongs;
		t.unanswered += r->unanswered;
		hist_merge(&t.rtt, &r->rtt);
	}
	double per = pss0 >= 0 && t.opened ? (double)(pss1 - pss0) * 1024.0 / (double)t.opened : -1;
	if (!o.quiet) {
		printf("connections: %d requested over %d process(es) from %d source address(es): "
		       "%" PRIu64 " opened in %.2f s (%.0f/s), %" PRIu64 " failed\n", o.connections,
		       k, o.src_addrs, t.opened, open_s, open_s > 0 ? t.opened / open_s : 0, t.failed);
		if (cpu_open > 0)
			printf("  server CPU while opening: %.2f s, %.0f connections per server CPU "
			       "second\n", cpu_open, (double)t.opened / cpu_open);
		printf("  held %.1f s: %" PRIu64 " dropped by the server; pings %" PRIu64 ", pongs %"
		       PRIu64 "\n", o.hold, t.dropped, t.pings, t.pongs);
		human_hist("ping round trip", &t.rtt);
		if (cpu_hold >= 0)
			printf("  server CPU while holding: %.2f s over %.1f s, %.1f %% of one core\n",
			       cpu_hold, hold_s, hold_pct);
		if (per >= 0)
			printf("  server memory (Pss) %ld kB before, %ld kB holding: %.0f bytes per connection\n",
			       pss0, pss1, per);
	}
	jadd(j, sizeof(j), "{\"mode\":\"connections\",\"url\":\"%s://%s:%d%s\",\"requested\":%d,"
	     "\"procs\":%d,\"src_addrs\":%d,\"opened\":%" PRIu64 ",\"failed\":%" PRIu64
	     ",\"open_seconds\":%.3f,\"hold_seconds\":%.1f,\"dropped\":%" PRIu64 ",\"pings\":%"
	     PRIu64 ",\"pongs\":%" PRIu64 ",", o.urls[0].tls ? "wss" : "ws", o.urls[0].host,
	     o.urls[0].port, o.urls[0].path,
	     o.connections, k, o.src_addrs, t.opened, t.failed, open_s, o.hold, t.dropped, t.pings,
	     t.pongs);
	json_hist(j, sizeof(j), "ping_rtt_us", &t.rtt);
	jadd(j, sizeof(j), ",\"server_pss_kb_before\":%ld,\"server_pss_kb_holding\":%ld,"
	     "\"server_bytes_per_conn\":%.0f,\"server_cpu_open_s\":%.3f,"
	     "\"opened_per_server_cpu_s\":%.0f,\"server_cpu_hold_s\":%.3f,"
	     "\"server_cpu_hold_pct\":%.2f}", pss0, pss1, per, cpu_open,
	     cpu_open > 0 ? (double)t.opened / cpu_open : -1.0, cpu_hold, hold_pct);
	printf("%s\n", j);
	fflush(stdout);
}

static int connections_run(void)
{
	struct bench b;
	int k = o.procs, failed = 0;
	pid_t kids[BENCH_MAX_PROCS];
	struct shared *sh;
	long pss0, pss1;
	double cpu0;
	int64_t t0;

	if (!fd_room((o.connections + k - 1) / k)) {
		fprintf(stderr, "chatd-benchmark: %d connections per process exceed the file limit; "
			"raise -j\n", (o.connections + k - 1) / k);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || bench_init(&b, o.connections) < 0)
		return 2;
	memset(sh, 0, sizeof(*sh));
	b.nprocs = k;
	for (int i = 0; i < b.n; i++) {
		b.c[i].kind = K_IDLE;
		b.c[i].idx = i;
		b.c[i].room = i % o.rooms;
		b.c[i].url = i % o.nurls;
	}
	pss0 = server_pss_kb();
	cpu0 = server_cpu_s();
	t0 = now_ns();
	fflush(stdout);
	for (int i = 0; i < k; i++)
		kids[i] = spawn_child(&b, sh, i);
	if (wait_opened(sh, kids, k) < 0)
		failed = 1;
	double open_s = (double)(now_ns() - t0) / 1e9;
	double cpu_open = cpu0 >= 0 ? server_cpu_s() - cpu0 : -1;
	/* the hold's CPU is read at its deadline, before the children close */
	double cpu_h0 = server_cpu_s();
	int64_t th0 = now_ns(), th1 = th0 + (int64_t)(o.hold * 1e9);
	atomic_store(&sh->hold_end_ns, th1);
	usleep((useconds_t)(o.hold * 1e6 / 2));
	pss1 = server_pss_kb();
	while (!stop_flag && now_ns() < th1)
		usleep(10000);
	double hold_s = (double)(now_ns() - th0) / 1e9;
	double cpu_hold = cpu_h0 >= 0 ? server_cpu_s() - cpu_h0 : -1;
	for (int i = 0; i < k; i++) {
		int st;

		if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			failed = 1;
	}
	conn_report(sh, k, open_s, cpu_open, pss0, pss1, hold_s, cpu_hold);
	bench_free(&b);
	uint64_t opened = 0, bad = 0;
	for (int i = 0; i < k; i++) {
		opened += sh->r[i].opened;
		bad += sh->r[i].dropped + sh->r[i].unanswered;
	}
	return failed ? 2 : (opened == (uint64_t)o.connections && bad == 0) ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "attack") == 0)
		return attack_main(argc, argv);     /* attack.c: its own options */
	if (opts_parse(argc, argv) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int i = 0; i < o.nurls; i++)
		if (o.urls[i].tls && tls_ctx == NULL &&
		    (tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
			fprintf(stderr, "chatd-benchmark: OpenSSL: no client context\n");
			return 2;
		}
	if (tls_ctx != NULL) {
		/* a full handshake per connection: nothing to resume */
		SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
		/* conn_flush() retries from a buffer that may move, and takes what fits */
		SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	return o.mode == MODE_FANOUT ? fanout_run() :
	       o.mode == MODE_RECOVERY ? recovery_run() : connections_run();
}
