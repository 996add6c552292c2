/* SPDX-License-Identifier: MIT */
/*
 * gapfill.c - fill a subscriber gap from the room history (see gapfill.h).
 *
 * One struct gf_room per room a stored frame came from while subscribed:
 *
 *     LIVE ---sub lost---> STALE ---SUBSCRIBE confirmed---> QUEUED
 *       ^                                                     | a read slot
 *       +---- caught up (held frames follow) <---- READING <--+
 *                     (a full page: QUEUED again for the next)
 *
 * Outside LIVE a room's live frames wait in its held list; a frame whose
 * offset is not above the room's last (same epoch) was delivered already
 * and is dropped.  GONE (unsubscribed) forgets the room.  Bounds: GF_READS
 * rooms read at once, GF_PAGE frames and max_bytes per page, max_bytes
 * held per room and GF_HELD_ROOMS times that in all, GF_WAIT_MS for a
 * room to get its read; past any of them the room's gap is left open
 * (counted) and what it held goes out.
 *
 * Pacing: a page read goes into the broadcast ring only when the ring has
 * room (bcast_room_fn: beyond what the slowest worker has not read) for
 * its records and for those of the room's held frames; otherwise the room
 * is queued again, first, and that page read again a little later.  So
 * however many rooms lost their subscription, the fill never writes over
 * what a worker has not read; a worker that does not read for GF_WAIT_MS
 * leaves the gaps open instead (counted) and live frames resume.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "conf.h"
#include "gapfill.h"
#include "hash.h"
#include "htab.h"
#include "history.h"
#include "mloop.h"
#include "msg.h"
#include "record.h"
#include "redis_hist.h"
#include "shm.h"
#include "stats.h"

#define GF_READS      8        /* rooms whose history is read at once */
#define GF_PAGE       256      /* frames per read */
#define GF_RETRY_MS   10       /* a read that could not start is tried again */
#define GF_WAIT_MS    5000     /* ... for this long */
#define GF_HELD_ROOMS 16       /* all rooms hold at most this many rooms' bound */

enum gf_state { GF_LIVE, GF_STALE, GF_QUEUED, GF_READING };

/* A live frame waiting for its room's gap to be read. */
struct held {
	STAILQ_ENTRY(held) next;
	size_t len;
	char frame[];
};

struct gf_room;

/* A read in flight; room NULL once nobody waits for it any more. */
struct gf_read {
	struct gapfill *g;
	struct gf_room *room;
};

struct gf_room {
	struct htab_node    h;         /* in gapfill.rooms, by the room */
	TAILQ_ENTRY(gf_room) qnext;    /* in the queue while QUEUED */
	enum gf_state       state;
	int                 have;      /* last and epoch are known */
	uint64_t            last;      /* the last offset delivered */
	char                epoch[HISTORY_EPOCH_MAX + 1];
	uint64_t            queued_ms;
	struct gf_read     *rd;
	STAILQ_HEAD(, held) held;
	size_t              held_bytes;
	uint64_t            held_ring;     /* ring bytes of their records */
	uint64_t            want;          /* ring room its last page found missing */
	size_t              room_len;
	char                room[];
};

struct gapfill {
	struct broker       *broker;
	struct redis_hist   *rh;
	struct mloop        *loop;
	struct master_stats *st;
	size_t               max_bytes;
	bcast_put_fn        put;
	bcast_room_fn       room;
	void                *arg;
	char                 publish_from[CONF_STR_MAX];
	struct hash_key      key;
	struct htab          rooms;
	TAILQ_HEAD(, gf_room) queue;
	int                  nreads;
	size_t               held_total;
	uint64_t             retry_timer;
};

/* ---- rooms ------------------------------------------------------------------- */

static int room_eq(const struct htab_node *n, const void *key)
{
	const struct gf_room *r = HTAB_ENTRY(n, const struct gf_room, h);

	return htab_bytes_eq(key, r->room, r->room_len);
}

/* The room's state, or NULL. */
static struct gf_room *room_find(const struct gapfill *g, const char *room, size_t len)
{
	struct htab_node *n = htab_find(&g->rooms, hash_bytes(&g->key, room, len), room_eq,
					&(struct htab_bytes){ room, len });

	return n == NULL ? NULL : HTAB_ENTRY(n, struct gf_room, h);
}

/* The room's state, made LIVE when new; NULL on ENOMEM. */
static struct gf_room *room_get(struct gapfill *g, const char *room, size_t len)
{
	struct gf_room *r = room_find(g, room, len);

	if (r != NULL)
		return r;
	if ((r = calloc(1, sizeof(*r) + len + 1)) == NULL)
		return NULL;
	STAILQ_INIT(&r->held);
	memcpy(r->room, room, len);
	r->room_len = len;
	r->h.hash = hash_bytes(&g->key, room, len);
	htab_put(&g->rooms, &r->h);
	return r;
}

/* Leave the queue or the read: the room does not wait for its gap any more. */
static void room_unwait(struct gapfill *g, struct gf_room *r)
{
	if (r->state == GF_QUEUED)
		TAILQ_REMOVE(&g->queue, r, qnext);
	r->want = 0;
	if (r->rd != NULL) {
		r->rd->room = NULL;             /* freed when Redis answers */
		r->rd = NULL;
		g->nreads--;
	}
}

static void held_drop(struct gapfill *g, struct gf_room *r)
{
	struct held *h;

	while ((h = STAILQ_FIRST(&r->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&r->held, next);
		free(h);
	}
	g->held_total -= r->held_bytes;
	r->held_bytes = 0;
	r->held_ring = 0;
}

static void room_forget(struct gapfill *g, struct gf_room *r)
{
	room_unwait(g, r);
	held_drop(g, r);
	htab_del(&g->rooms, &r->h);
	free(r);
}

static void room_forget_each(void *g, struct htab_node *n)
{
	room_forget(g, HTAB_ENTRY(n, struct gf_room, h));
}

/* ---- delivery ------------------------------------------------------------------ */

/* Put a stored frame unless it was delivered already; it becomes the last. */
static void deliver(struct gapfill *g, struct gf_room *r, const char *frame, size_t len)
{
	const char *ep;
	size_t el;
	uint64_t off;

	if (history_frame_offset(frame, len, &off) && history_frame_epoch(frame, len, &ep, &el)) {
		int same = r->have && strlen(r->epoch) == el && memcmp(r->epoch, ep, el) == 0;

		if (same && off <= r->last)
			return;                 /* from the history already */
		memcpy(r->epoch, ep, el);
		r->epoch[el] = '\0';
		r->last = off;
		r->have = 1;
	}
	g->put(g->arg, REC_MSG, frame, len, r->room, r->room_len);
}

/* Back to LIVE: what waited goes out, in the order it came. */
static void release(struct gapfill *g, struct gf_room *r)
{
	struct held *h;

	r->state = GF_LIVE;
	while ((h = STAILQ_FIRST(&r->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&r->held, next);
		r->held_bytes -= h->len;
		r->held_ring -= record_ring_size(h->len, r->room_len);
		g->held_total -= h->len;
		deliver(g, r, h->frame, h->len);
		free(h);
	}
}

/* The room's gap stays open: counted, and the live stream resumes. */
static void give_up(struct gapfill *g, struct gf_room *r)
{
	stats_add(&g->st->redis_gap_unfilled, 1);
	room_unwait(g, r);
	release(g, r);
}

/* Keep frame until the room's gap is read; -1 past the bounds. */
static int hold(struct gapfill *g, struct gf_room *r, const char *frame, size_t len)
{
	struct held *h;

	if (r->held_bytes + len > g->max_bytes ||
	    g->held_total + len > GF_HELD_ROOMS * g->max_bytes ||
	    (h = malloc(sizeof(*h) + len)) == NULL)
		return -1;
	memcpy(h->frame, frame, len);
	h->len = len;
	STAILQ_INSERT_TAIL(&r->held, h, next);
	r->held_bytes += len;
	r->held_ring += record_ring_size(len, r->room_len);
	g->held_total += len;
	return 0;
}

void gapfill_live(struct gapfill *g, const char *room, size_t room_len, const char *frame,
		  size_t len)
{
	struct gf_room *r;
	uint64_t off;

	/* unnumbered (presence; Redis was not usable): no place in the order */
	if (!history_frame_offset(frame, len, &off) || (r = room_get(g, room, room_len)) == NULL) {
		g->put(g->arg, REC_MSG, frame, len, room, room_len);
		return;
	}
	if (r->state != GF_LIVE && hold(g, r, frame, len) == 0)
		return;
	if (r->state != GF_LIVE)
		give_up(g, r);
	deliver(g, r, frame, len);
}

/* ---- reading the gap -------------------------------------------------------------- */

static void pump(struct gapfill *g);
static void retry_arm(struct gapfill *g);

/* What of a read goes out now: frames[0..n), ring bytes of their records;
 * more when the room has more to read after them. */
struct gf_page {
	size_t   n;
	uint64_t ring;
	int      more;
};

/* One page of history: the frames after last, up to max_bytes of them. */
static void page_of(const struct gapfill *g, const struct gf_room *r, const struct history_end *end,
		    const char *const *frames, const size_t *lens, size_t n, struct gf_page *pg)
{
	size_t bytes = 0, i;
	uint64_t off, last = r->last;

	pg->ring = 0;
	for (i = 0; i < n; i++) {
		if (!history_frame_offset(frames[i], lens[i], &off) || off <= r->last)
			continue;
		if (bytes > 0 && bytes + lens[i] > g->max_bytes)
			break;                  /* the rest in the next page */
		bytes += lens[i];
		pg->ring += record_ring_size(lens[i], r->room_len);
		if (off > last)
			last = off;
	}
	pg->n = i;
	pg->more = i < n || (n >= GF_PAGE && last < end->top);
}

/* Put the page's frames: frames[0..n) past last, checked as another pod's. */
static void page_put(struct gapfill *g, struct gf_room *r, const char *const *frames,
		     const size_t *lens, size_t n)
{
	uint64_t off;

	for (size_t i = 0; i < n; i++) {
		if (!history_frame_offset(frames[i], lens[i], &off) || off <= r->last)
			continue;
		if (!msg_peer_valid(frames[i], lens[i], r->room, r->room_len, g->publish_from)) {
			stats_add(&g->st->redis_malformed, 1);
			r->last = off;
			continue;
		}
		deliver(g, r, frames[i], lens[i]);
		stats_add(&g->st->redis_gap_filled, 1);
	}
}

static void read_done(void *arg, const struct history_end *end, const char *const *frames,
		      const size_t *lens, size_t n)
{
	struct gf_read *rd = arg;
	struct gapfill *g = rd->g;
	struct gf_room *r = rd->room;
	struct gf_page pg = { 0 };
	uint64_t need = 0;

	free(rd);
	if (r == NULL)
		return;                         /* forgotten or given up meanwhile */
	r->rd = NULL;
	g->nreads--;
	if (end->status == HISTORY_OK) {
		page_of(g, r, end, frames, lens, n, &pg);
		need = pg.ring + (pg.more ? 0 : r->held_ring);   /* the last: held go too */
	}
	if (end->status != HISTORY_OK) {
		give_up(g, r);
	} else if (g->room(g->arg) < need) {
		if (mloop_now_ms() - r->queued_ms > GF_WAIT_MS) {
			give_up(g, r);          /* a worker does not read */
		} else {
			r->state = GF_QUEUED;   /* no room: this page again, once */
			r->want = need;         /* there is */
			stats_add(&g->st->redis_gap_waits, 1);
			TAILQ_INSERT_HEAD(&g->queue, r, qnext);
			retry_arm(g);
			return;
		}
	} else {
		r->want = 0;
		page_put(g, r, frames, lens, pg.n);
		if (pg.more) {
			r->state = GF_QUEUED;   /* next page after the other rooms' */
			r->queued_ms = mloop_now_ms();
			TAILQ_INSERT_TAIL(&g->queue, r, qnext);
		} else {
			stats_add(&g->st->redis_gap_fills, 1);
			release(g, r);
		}
	}
	pump(g);
}

/* Ask Redis for queued r's next page; -1 when it cannot take the read now. */
static int read_start(struct gapfill *g, struct gf_room *r)
{
	struct history_req q = { .since = (int64_t)r->last, .count = HISTORY_SIZE_MAX };
	struct gf_read *rd = malloc(sizeof(*rd));

	if (rd == NULL)
		return -1;
	*rd = (struct gf_read){ g, r };
	memcpy(q.epoch, r->epoch, sizeof(q.epoch));
	if (redis_hist_read_page(g->rh, r->room, r->room_len, &q, GF_PAGE, read_done, rd) < 0) {
		free(rd);
		return -1;
	}
	TAILQ_REMOVE(&g->queue, r, qnext);
	r->rd = rd;
	r->state = GF_READING;
	g->nreads++;
	return 0;
}

static void retry(void *arg)
{
	struct gapfill *g = arg;

	g->retry_timer = 0;
	pump(g);
}

static void retry_arm(struct gapfill *g)
{
	if (g->retry_timer == 0)
		g->retry_timer = mloop_timer(g->loop, GF_RETRY_MS, retry, g);
}

/* Has the ring room for r's page that found none (if one did)? */
static int room_back(struct gapfill *g, const struct gf_room *r)
{
	return r->want == 0 || r->want <= g->room(g->arg);
}

/* Start reads for the queued rooms while slots are free, in queue order:
 * a first room that lacks ring room holds the others back (each still
 * gives up GF_WAIT_MS after it was queued). */
static void pump(struct gapfill *g)
{
	struct gf_room *r;

	while (g->nreads < GF_READS && (r = TAILQ_FIRST(&g->queue)) != NULL) {
		if (room_back(g, r) && read_start(g, r) == 0)
			continue;
		if (mloop_now_ms() - r->queued_ms > GF_WAIT_MS) {
			give_up(g, r);
			continue;
		}
		retry_arm(g);   /* no ring room (a worker behind), Redis busy or down: later */
		return;
	}
}

int gapfill_covers(const struct gapfill *g, const char *room, size_t room_len)
{
	struct gf_room *r = room_find(g, room, room_len);

	return r != NULL && r->state == GF_STALE;
}

/* ---- the subscriber link's news -------------------------------------------------- */

/* The link is lost: a room that has a last offset waits for its gap. */
static void room_lost(void *g, struct htab_node *n)
{
	struct gf_room *r = HTAB_ENTRY(n, struct gf_room, h);

	room_unwait(g, r);
	r->state = r->have ? GF_STALE : GF_LIVE;
}

void gapfill_sub_news(struct gapfill *g, enum broker_sub_event ev, const char *room,
		      size_t len)
{
	struct gf_room *r;

	if (ev == BROKER_SUB_LOST) {
		htab_each(&g->rooms, room_lost, g);
		return;
	}
	if ((r = room_find(g, room, len)) == NULL)
		return;
	if (ev == BROKER_SUB_GONE) {
		room_forget(g, r);
	} else if (r->state == GF_STALE) {
		r->state = GF_QUEUED;
		r->queued_ms = mloop_now_ms();
		TAILQ_INSERT_TAIL(&g->queue, r, qnext);
		pump(g);
	}
}

/* ---- life ----------------------------------------------------------------------------- */

struct gapfill *gapfill_new(struct broker *broker, struct redis_hist *rh, struct mloop *loop,
			    struct master_stats *st, size_t max_bytes, const char *publish_from,
			    bcast_put_fn put, bcast_room_fn room, void *arg)
{
	struct gapfill *g = calloc(1, sizeof(*g));

	if (g == NULL || htab_init(&g->rooms) < 0) {
		free(g);
		return NULL;
	}
	g->broker = broker;
	g->rh = rh;
	g->loop = loop;
	g->st = st;
	g->max_bytes = max_bytes;
	g->put = put;
	g->room = room;
	g->arg = arg;
	snprintf(g->publish_from, sizeof(g->publish_from), "%s", publish_from);
	hash_key_random(&g->key, g);
	TAILQ_INIT(&g->queue);
	return g;
}

void gapfill_free(struct gapfill *g)
{
	if (g == NULL)
		return;
	if (g->retry_timer)
		mloop_timer_cancel(g->loop, g->retry_timer);
	htab_each(&g->rooms, room_forget_each, g);
	htab_fini(&g->rooms);
	free(g);
}
