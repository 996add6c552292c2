/* SPDX-License-Identifier: MIT */
/*
 * redis_hist.c - room history in Redis: the two Lua scripts, their loading,
 * the writes waiting for their reply (kept for an EVAL on NOSCRIPT) and the
 * reads in flight.  See redis_hist.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "chatd.h"
#include "conf.h"
#include "envelope.h"
#include "hash.h"
#include "mloop.h"
#include "redis_hist.h"
#include "redis_link.h"
#include "redis_pub.h"

#define HIST_READS_MAX   64       /* reads in flight */
#define HIST_WRITES_MAX  16384    /* writes sent, reply not yet read */
#define HIST_READ_TIMEOUT_MS 3000
#define HIST_TAINT_MAX   4096     /* rooms whose epoch goes when Redis is back */
#define TAINT_SLOTS (2 * HIST_TAINT_MAX) /* their hash set: a power of 2, half full at most */
#define STORE_ARGC 12            /* EVALSHA sha 3 keys x3 args x6 */
#define READ_ARGC  12            /* EVALSHA sha 3 keys x3 args x6 */
#define HIST_KEY_MAX (CHAN_ROOM_LEN + CHATD_ROOM_MAX + 16)

/*
 * KEYS: C:offset C:epoch C:history.  ARGV: channel, the envelope up to its
 * frame's bin header, the frame without its '{', history_size, history_ttl
 * (s), an epoch to use if the room has none.  The frame gets "offset" and
 * "epoch" in front (as history_splice() does) and is published as the
 * envelope's frame (bin 32).  Returns the offset.
 */
static const char store_lua[] =
	"local ep = redis.call('GET', KEYS[2])\n"
	"if not ep then\n"
	"  ep = ARGV[6]\n"
	"  redis.call('DEL', KEYS[1], KEYS[3])\n"
	"  redis.call('SET', KEYS[2], ep)\n"
	"end\n"
	"local off = redis.call('INCR', KEYS[1])\n"
	"local f = '{\"offset\":' .. string.format('%d', off) .. ',\"epoch\":\"' .. ep .. '\",' .. ARGV[3]\n"
	"redis.call('RPUSH', KEYS[3], f)\n"
	"redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)\n"
	"for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end\n"
	"redis.call('PUBLISH', ARGV[1], ARGV[2] .. '\\198' .. struct.pack('>I4', #f) .. f)\n"
	"return off\n";

/*
 * KEYS as above.  ARGV: since (-1: the last `count`), epoch, count,
 * history_ttl (s), an epoch to use if the room has none, page (> 0: at
 * most that many frames after since, the oldest).  Returns {status, top,
 * epoch, {frames...}}: status 0 whole, 1 a gap (no frames).
 */
static const char read_lua[] =
	"local ep = redis.call('GET', KEYS[2])\n"
	"if not ep then\n"
	"  ep = ARGV[5]\n"
	"  redis.call('DEL', KEYS[1], KEYS[3])\n"
	"  redis.call('SET', KEYS[2], ep, 'EX', ARGV[4])\n"
	"end\n"
	"local top = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
	"local len = redis.call('LLEN', KEYS[3])\n"
	"local since, from = tonumber(ARGV[1]), 0\n"
	"if since < 0 then\n"
	"  from = len - tonumber(ARGV[3])\n"
	"  if from < 0 then from = 0 end\n"
	"else\n"
	"  local oldest = top - len + 1\n"
	"  if ep ~= ARGV[2] or since > top or since + 1 < oldest then return {1, top, ep, {}} end\n"
	"  from = since + 1 - oldest\n"
	"end\n"
	"if from >= len then return {0, top, ep, {}} end\n"
	"local to, page = -1, tonumber(ARGV[6])\n"
	"if since >= 0 and page > 0 and from + page < len then to = from + page - 1 end\n"
	"return {0, top, ep, redis.call('LRANGE', KEYS[3], from, to)}\n";

enum { SCRIPT_STORE, SCRIPT_READ, SCRIPT_COUNT };

static const char *const script_body[SCRIPT_COUNT] = { store_lua, read_lua };

/* A write sent, kept until its reply (NOSCRIPT: sent again with EVAL). */
struct hwrite {
	STAILQ_ENTRY(hwrite) next;
	size_t  argl[STORE_ARGC];
	char   *argv[STORE_ARGC];      /* into data (0, 1: the script's, set when sent) */
	char    data[];
};

/* A read in flight; its handler's arg. */
struct hread {
	TAILQ_ENTRY(hread) next;
	struct redis_link_handler on_reply;
	struct redis_hist *h;
	redis_hist_done_fn done;
	void *arg;
	uint64_t t0_ms;
	int orphan;                    /* answered by a timeout: drop the reply */
};

struct redis_hist {
	struct redis_link *link;
	char pod[CONF_STR_MAX];
	size_t pod_len;
	char size_arg[16], ttl_arg[16];
	struct hash_key key;           /* epochs */
	uint64_t epochs;
	char sha[SCRIPT_COUNT][41];    /* "" until SCRIPT LOAD answered */
	struct redis_link_handler on_load[SCRIPT_COUNT], on_store;
	STAILQ_HEAD(, hwrite) writes;
	size_t nwrites;
	TAILQ_HEAD(, hread) reads;
	size_t nreads;
	char *taint[HIST_TAINT_MAX];   /* the epoch keys to DEL when the link is up */
	uint64_t taint_hash[HIST_TAINT_MAX]; /* ... their rooms' hashes */
	size_t ntaint;
	uint64_t tset[TAINT_SLOTS];    /* the hashes, open addressing; 0: empty */
	struct hash_key tkey;
	struct redis_link_handler on_del;
	msgpack_sbuffer sb;
};

/* ---- scripts ------------------------------------------------------------------- */

static void load_cb(const struct redis_reply *r, void *arg);

static void script_load(struct redis_hist *h)
{
	for (int i = 0; i < SCRIPT_COUNT; i++) {
		const char *argv[3] = { "SCRIPT", "LOAD", script_body[i] };
		size_t argl[3] = { 6, 4, strlen(script_body[i]) };

		h->sha[i][0] = '\0';
		redis_link_command(h->link, &h->on_load[i], 3, argv, argl);
	}
}

static void load_cb(const struct redis_reply *r, void *arg)
{
	char (*sha)[41] = arg;
	size_t len;
	const char *s = redis_link_reply_str(r, &len);

	if (redis_link_reply_type(r) == REDIS_LINK_STRING && len == 40)
		memcpy(*sha, s, 41);
}

/* EVALSHA when its SHA is known, else EVAL: argv[0..1] are filled here. */
static int script_run(struct redis_hist *h, int script, struct redis_link_handler *on,
		      int argc, const char **argv, size_t *argl)
{
	if (h->sha[script][0]) {
		argv[0] = "EVALSHA";
		argv[1] = h->sha[script];
		argl[1] = 40;
	} else {
		argv[0] = "EVAL";
		argv[1] = script_body[script];
		argl[1] = strlen(script_body[script]);
	}
	argl[0] = strlen(argv[0]);
	return redis_link_command(h->link, on, argc, argv, argl);
}

/* C:offset, C:epoch, C:history and C for room into keys[0..3] (each
 * HIST_KEY_MAX bytes). */
static void make_keys(const char *room, size_t rl, char keys[4][HIST_KEY_MAX], size_t kl[4])
{
	static const char *const sfx[3] = { ":offset", ":epoch", ":history" };
	int cl = rl ? snprintf(keys[3], HIST_KEY_MAX, "%s%.*s", CHAN_ROOM, (int)rl, room)
		    : snprintf(keys[3], HIST_KEY_MAX, "%s", CHAN_GLOBAL);

	kl[3] = (size_t)cl;
	for (int i = 0; i < 3; i++)
		kl[i] = (size_t)snprintf(keys[i], HIST_KEY_MAX, "%s%s", keys[3], sfx[i]);
}

static void new_epoch(struct redis_hist *h, char *out, size_t cap)
{
	uint64_t n = ++h->epochs ^ mloop_now_ms();

	snprintf(out, cap, "%016" PRIx64, hash_bytes(&h->key, &n, sizeof(n)));
}

static void taint_flush(struct redis_hist *h);

/* ---- writes ----------------------------------------------------------------------- */

static void write_pop(struct redis_hist *h)
{
	struct hwrite *w = STAILQ_FIRST(&h->writes);

	STAILQ_REMOVE_HEAD(&h->writes, next);
	h->nwrites--;
	free(w);
}

static void store_cb(const struct redis_reply *r, void *arg)
{
	struct redis_hist *h = arg;
	struct hwrite *w = STAILQ_FIRST(&h->writes);

	if (w == NULL)
		return;
	STAILQ_REMOVE_HEAD(&h->writes, next);
	if (redis_link_reply_noscript(r)) {    /* SCRIPT FLUSH: EVAL this one, load again */
		h->sha[SCRIPT_STORE][0] = '\0';
		if (script_run(h, SCRIPT_STORE, &h->on_store, STORE_ARGC,
			       (const char **)w->argv, w->argl) == 0) {
			STAILQ_INSERT_TAIL(&h->writes, w, next);
			script_load(h);
			return;
		}
	}
	h->nwrites--;
	free(w);
}

/* The arguments of a store, copied into one allocation. */
static struct hwrite *write_new(struct redis_hist *h, const char *room, size_t rl,
				const char *frame, size_t len)
{
	char keys[4][HIST_KEY_MAX], epoch[24];
	const char *src[STORE_ARGC];
	size_t kl[4], sl[STORE_ARGC], total = 0;
	struct hwrite *w;
	char *p;

	make_keys(room, rl, keys, kl);
	new_epoch(h, epoch, sizeof(epoch));
	msgpack_sbuffer_clear(&h->sb);
	/* the envelope of an empty frame ends in bin8 "c4 00": the script puts a
	 * bin32 header and the frame there */
	if (len < 2 || frame[0] != '{' ||
	    envelope_encode(&h->sb, h->pod, h->pod_len, room, rl, "", 0) < 0)
		return NULL;
	src[2] = "3";
	for (int i = 0; i < 3; i++) {
		src[3 + i] = keys[i];
		sl[3 + i] = kl[i];
	}
	src[6] = keys[3], sl[6] = kl[3];
	src[7] = h->sb.data, sl[7] = h->sb.size - 2;
	src[8] = frame + 1, sl[8] = len - 1;
	src[9] = h->size_arg, sl[9] = strlen(h->size_arg);
	src[10] = h->ttl_arg, sl[10] = strlen(h->ttl_arg);
	src[11] = epoch, sl[11] = strlen(epoch);
	sl[2] = 1;
	for (int i = 2; i < STORE_ARGC; i++)
		total += sl[i];
	if ((w = malloc(sizeof(*w) + total)) == NULL)
		return NULL;
	p = w->data;
	for (int i = 2; i < STORE_ARGC; i++) {
		memcpy(p, src[i], sl[i]);
		w->argv[i] = p;
		w->argl[i] = sl[i];
		p += sl[i];
	}
	return w;
}

int redis_hist_store(struct redis_hist *h, const char *room, size_t room_len,
		     const char *frame, size_t len)
{
	struct hwrite *w;

	if (!redis_link_ready(h->link) || h->nwrites >= HIST_WRITES_MAX ||
	    (w = write_new(h, room, room_len, frame, len)) == NULL)
		return -1;
	if (h->ntaint > 0)                  /* sub was down while pub was not */
		taint_flush(h);
	if (script_run(h, SCRIPT_STORE, &h->on_store, STORE_ARGC, (const char **)w->argv,
		       w->argl) < 0) {
		free(w);
		return -1;
	}
	STAILQ_INSERT_TAIL(&h->writes, w, next);
	h->nwrites++;
	return 0;
}

/* ---- reads ------------------------------------------------------------------------ */

static void read_end(struct redis_hist *h, struct hread *rd, const struct history_end *end,
		     const char *const *frames, const size_t *lens, size_t n)
{
	if (!rd->orphan)
		rd->done(rd->arg, end, frames, lens, n);
	TAILQ_REMOVE(&h->reads, rd, next);
	h->nreads--;
	free(rd);
}

static void read_unavailable(struct redis_hist *h, struct hread *rd)
{
	struct history_end end = { .status = HISTORY_UNAVAILABLE };

	read_end(h, rd, &end, NULL, NULL, 0);
}

/* {status, top, epoch, {frames}} into *end and the frames. */
static void read_cb(const struct redis_reply *r, void *arg)
{
	struct hread *rd = arg;
	struct history_end end = { .status = HISTORY_UNAVAILABLE };
	const struct redis_reply *fr;
	const char **frames = NULL;
	size_t *lens = NULL, n = 0, el;
	const char *ep;

	if (redis_link_reply_count(r) == 4 &&
	    redis_link_reply_type(fr = redis_link_reply_elem(r, 3)) == REDIS_LINK_ARRAY) {
		ep = redis_link_reply_str(redis_link_reply_elem(r, 2), &el);
		n = redis_link_reply_count(fr);
		frames = calloc(n + 1, sizeof(*frames));
		lens = calloc(n + 1, sizeof(*lens));
		if (frames != NULL && lens != NULL && el <= HISTORY_EPOCH_MAX) {
			end.status = redis_link_reply_int(redis_link_reply_elem(r, 0)) == 0
				     ? HISTORY_OK : HISTORY_GAP;
			end.top = (uint64_t)redis_link_reply_int(redis_link_reply_elem(r, 1));
			memcpy(end.epoch, ep, el);
			for (size_t i = 0; i < n; i++)
				frames[i] = redis_link_reply_str(redis_link_reply_elem(fr, i),
								 &lens[i]);
		} else {
			n = 0;
		}
	}
	read_end(rd->h, rd, &end, frames, lens, n);
	free(frames);
	free(lens);
}

int redis_hist_read(struct redis_hist *h, const char *room, size_t room_len,
		    const struct history_req *q, redis_hist_done_fn done, void *arg)
{
	return redis_hist_read_page(h, room, room_len, q, 0, done, arg);
}

int redis_hist_read_page(struct redis_hist *h, const char *room, size_t room_len,
			 const struct history_req *q, uint32_t page, redis_hist_done_fn done,
			 void *arg)
{
	char keys[4][HIST_KEY_MAX], since[24], count[16], epoch[24], pg[16];
	const char *argv[READ_ARGC] = { NULL, NULL, "3", keys[0], keys[1], keys[2], since,
					q->epoch[0] ? q->epoch : "-", count, h->ttl_arg, epoch,
					pg };
	size_t argl[READ_ARGC], kl[4];
	struct hread *rd;

	if (!redis_link_ready(h->link) || h->nreads >= HIST_READS_MAX ||
	    (rd = calloc(1, sizeof(*rd))) == NULL)
		return -1;
	make_keys(room, room_len, keys, kl);
	snprintf(since, sizeof(since), "%" PRId64, q->since);
	snprintf(count, sizeof(count), "%" PRIu32, q->count);
	snprintf(pg, sizeof(pg), "%" PRIu32, page);
	new_epoch(h, epoch, sizeof(epoch));
	for (int i = 2; i < READ_ARGC; i++)
		argl[i] = strlen(argv[i]);
	rd->on_reply = (struct redis_link_handler){ read_cb, rd };
	rd->h = h;
	rd->done = done;
	rd->arg = arg;
	rd->t0_ms = mloop_now_ms();
	if (script_run(h, SCRIPT_READ, &rd->on_reply, READ_ARGC, argv, argl) < 0) {
		free(rd);
		return -1;
	}
	TAILQ_INSERT_TAIL(&h->reads, rd, next);
	h->nreads++;
	return 0;
}

void redis_hist_tick(struct redis_hist *h, uint64_t now_ms)
{
	struct hread *rd;

	TAILQ_FOREACH(rd, &h->reads, next)
		if (!rd->orphan && now_ms - rd->t0_ms > HIST_READ_TIMEOUT_MS) {
			struct history_end end = { .status = HISTORY_UNAVAILABLE };

			rd->done(rd->arg, &end, NULL, NULL, 0);
			rd->orphan = 1;         /* freed by its reply, or when the link drops */
		}
}

/* ---- rooms with a hole ---------------------------------------------------------- */

/* The slot of hash hv in the set: where it is, or the empty one to put it
 * in (the set is never full). */
static uint64_t *tset_slot(struct redis_hist *h, uint64_t hv)
{
	size_t i = (size_t)hv & (TAINT_SLOTS - 1);

	while (h->tset[i] != 0 && h->tset[i] != hv)
		i = (i + 1) & (TAINT_SLOTS - 1);
	return &h->tset[i];
}

/* The set again from the keys still to DEL (a flush stopped half way). */
static void tset_rebuild(struct redis_hist *h)
{
	memset(h->tset, 0, sizeof(h->tset));
	for (size_t i = 0; i < h->ntaint; i++)
		*tset_slot(h, h->taint_hash[i]) = h->taint_hash[i];
}

int redis_hist_taint(struct redis_hist *h, const char *room, size_t room_len)
{
	char keys[4][HIST_KEY_MAX];
	size_t kl[4];
	uint64_t hv = hash_bytes(&h->tkey, room, room_len) | 1;   /* never 0 */
	uint64_t *slot = tset_slot(h, hv);

	if (*slot == hv)
		return 0;
	if (h->ntaint >= HIST_TAINT_MAX)
		return -1;
	make_keys(room, room_len, keys, kl);
	if ((h->taint[h->ntaint] = strdup(keys[1])) == NULL)
		return -1;
	h->taint_hash[h->ntaint++] = hv;
	*slot = hv;
	return 0;
}

static void del_cb(const struct redis_reply *r, void *arg)
{
	(void)r;
	(void)arg;
}

/* The link is up: drop the epochs of the rooms with a hole. */
static void taint_flush(struct redis_hist *h)
{
	if (h->ntaint == 0)
		return;
	while (h->ntaint > 0) {
		char *k = h->taint[h->ntaint - 1];
		const char *argv[2] = { "DEL", k };
		size_t argl[2] = { 3, strlen(k) };

		if (redis_link_command(h->link, &h->on_del, 2, argv, argl) < 0)
			break;
		free(k);
		h->ntaint--;
	}
	tset_rebuild(h);
}

/* ---- life ---------------------------------------------------------------------------- */

void redis_hist_link(struct redis_hist *h, int up)
{
	if (up) {
		taint_flush(h);
		script_load(h);
		return;
	}
	/* the link's pending replies are forgotten: nobody will answer these */
	while (!TAILQ_EMPTY(&h->reads))
		read_unavailable(h, TAILQ_FIRST(&h->reads));
	while (!STAILQ_EMPTY(&h->writes))
		write_pop(h);
	for (int i = 0; i < SCRIPT_COUNT; i++)
		h->sha[i][0] = '\0';
}

struct redis_hist *redis_hist_new(struct redis_link *link, const struct conf *c,
				  const char *pod, size_t pod_len)
{
	struct redis_hist *h = calloc(1, sizeof(*h));

	if (h == NULL || pod_len >= sizeof(h->pod)) {
		free(h);
		return NULL;
	}
	h->link = link;
	memcpy(h->pod, pod, pod_len);
	h->pod_len = pod_len;
	snprintf(h->size_arg, sizeof(h->size_arg), "%d", c->history_size);
	snprintf(h->ttl_arg, sizeof(h->ttl_arg), "%d",
		 c->history_ttl_ms / 1000 > 0 ? c->history_ttl_ms / 1000 : 1);
	hash_key_random(&h->key, h);
	hash_key_random(&h->tkey, h->tset);
	for (int i = 0; i < SCRIPT_COUNT; i++)
		h->on_load[i] = (struct redis_link_handler){ load_cb, h->sha[i] };
	h->on_store = (struct redis_link_handler){ store_cb, h };
	h->on_del = (struct redis_link_handler){ del_cb, h };
	STAILQ_INIT(&h->writes);
	TAILQ_INIT(&h->reads);
	msgpack_sbuffer_init(&h->sb);
	if (redis_link_ready(link))
		script_load(h);
	return h;
}

void redis_hist_free(struct redis_hist *h)
{
	if (h == NULL)
		return;
	redis_hist_link(h, 0);
	while (h->ntaint > 0)
		free(h->taint[--h->ntaint]);
	msgpack_sbuffer_destroy(&h->sb);
	free(h);
}
