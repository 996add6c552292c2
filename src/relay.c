/* SPDX-License-Identifier: MIT */
/*
 * relay.c - the master's message path.  Records move from the workers'
 * uplink rings into the broadcast ring and, when Redis is on, to the broker;
 * what other pods sent comes back from the broker into the broadcast ring;
 * then the workers are woken to read it.  The master calls it from its loop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "chatd.h"
#include "hserve.h"
#include "log.h"
#include "members.h"
#include "mloop.h"
#include "msg.h"
#include "record.h"
#include "redis_url.h"
#include "relay.h"
#include "roster.h"
#include "rosterrec.h"
#include "shm.h"
#include "stats.h"

#define UPLINK_BATCH    65536  /* records per pass, so Redis is read in between */

int relay_init(struct relay *r, struct shm_hdr *shm, size_t ring_size)
{
	memset(r, 0, sizeof(*r));
	r->shm = shm;
	r->bcast = shm_bcast(shm);
	r->wake_bytes = ring_size / 8;
	r->scratch_len = ring_max_payload(shm_uplink(shm, 0));
	r->scratch = malloc(r->scratch_len);
	r->members = members_new();
	return r->scratch == NULL || r->members == NULL ? -1 : 0;
}

void relay_wake(struct relay *r)
{
	uint64_t one = 1;

	r->need_wake = 0;
	r->put_bytes = 0;
	for (int i = 0; i < CHATD_SLOTS; i++)
		if (r->link[i].live && write(r->link[i].efd, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			log_errno(LOG_LVL_WARN, "write(eventfd of worker %d)", i);
}

static void bcast_put_kind(void *arg, uint32_t kind, const char *frame, size_t frame_len,
			   const char *room, size_t room_len)
{
	struct relay *r = arg;
	struct record rec;

	record_pack(&rec, frame, frame_len, room, room_len);
	r->need_wake = 1;
	if (ring_put(r->bcast, kind, rec.iov, RECORD_NIOV) == RING_OK) {
		stats_add(&r->shm->master.ring_records, 1);
		r->put_bytes += frame_len + room_len + 1;
		if (r->put_bytes > r->wake_bytes)   /* a long batch (a gap read): wake on the way */
			relay_wake(r);
	} else {
		stats_add(&r->shm->master.ring_too_big, 1);
	}
}

/* bcast_room_fn: the ring's size less the lag of the slowest worker that
 * serves (running or draining; one not serving yet starts reading at the
 * head, so nothing put before can lap it). */
static uint64_t bcast_room(void *arg)
{
	struct relay *r = arg;
	uint64_t head = atomic_load_explicit(&r->bcast->head, memory_order_acquire), lag = 0;

	for (int i = 0; i < CHATD_SLOTS; i++) {
		const struct worker_stats *w = &r->shm->worker[i];
		uint64_t pos;

		/* started_ms first: the worker sets its position before it */
		if (stats_get(&w->state) == SLOT_FREE || stats_get(&w->started_ms) == 0)
			continue;
		atomic_thread_fence(memory_order_acquire);
		pos = stats_get(&w->ring_pos);
		if ((int64_t)(head - pos) > (int64_t)lag)
			lag = head - pos;
	}
	return lag >= r->bcast->size ? 0 : r->bcast->size - lag;
}

static void bcast_put(struct relay *r, const char *frame, size_t frame_len, const char *room,
		      size_t room_len)
{
	bcast_put_kind(r, REC_MSG, frame, frame_len, room, room_len);
}

/* A frame for room, from this pod: to the local workers and the other pods. */
static void relay_frame(struct relay *r, const char *frame, size_t frame_len, const char *room,
			size_t room_len)
{
	bcast_put(r, frame, frame_len, room, room_len);
	if (r->broker)
		broker_publish(r->broker, room, room_len, frame, frame_len);
}

/* REC_MEMBER / REC_GONE (p: flags byte, client id): who is present on
 * worker `slot`, and whether its online went out. */
static void member_record(struct relay *r, int slot, uint32_t kind, const char *p,
			  size_t len, const char *room, size_t room_len)
{
	int announced = len > 0 && (p[0] & RECORD_MEMBER_ANNOUNCED);
	const char *id = p + 1;
	size_t id_len = len > 0 ? len - 1 : 0;

	if (kind == REC_GONE) {
		if (members_del(r->members, slot, room, room_len, id, id_len, announced) == 0)
			roster_member(r->roster, 0, room, room_len, id, id_len);
	} else if (members_add(r->members, slot, room, room_len, id, id_len, announced) < 0) {
		/* not tracked: no offline for it if its worker dies */
		stats_add(&r->shm->master.members_untracked, 1);
	} else {
		roster_member(r->roster, 1, room, room_len, id, id_len);
	}
}

/* A record from worker `slot`'s uplink. */
static void uplink_record(struct relay *r, int slot, uint32_t kind, const unsigned char *p,
			  size_t len)
{
	const char *room;
	size_t room_len, frame_len;

	if (record_unpack(p, len, &frame_len, &room, &room_len) < 0) {
		room = (const char *)p;   /* malformed: treat as an empty global record */
		room_len = frame_len = 0;
	}
	switch (kind) {
	case REC_STORE:
		if (r->hist != NULL)
			hserve_store(r->hist, room, room_len, (const char *)p, frame_len);
		else
			relay_frame(r, (const char *)p, frame_len, room, room_len);
		break;
	case REC_MSG:
		relay_frame(r, (const char *)p, frame_len, room, room_len);
		break;
	case REC_MEMBER:
	case REC_GONE:
		member_record(r, slot, kind, (const char *)p, frame_len, room, room_len);
		break;
	case REC_ROSTER_ASK:
		roster_ask(r->roster, slot, p, frame_len, room, room_len);
		break;
	case REC_JOIN:
	case REC_LEAVE:
		if (r->broker && room_len > 0)
			broker_interest(r->broker, slot, room, room_len, kind == REC_JOIN ? 1 : -1);
		break;
	case REC_HIST_REQ:
		if (r->hist != NULL)
			hserve_request(r->hist, slot, room, room_len, p, frame_len);
		break;
	default:
		log_warn("worker %d: unknown uplink record kind %u", slot, kind);
	}
}

/* Drain one uplink; returns the number of records moved. */
static int drain_uplink(struct relay *r, int slot, int budget)
{
	struct ring *up = shm_uplink(r->shm, slot);
	struct ring_cursor *cur = &r->link[slot].cur;
	int n = 0;

	while (n < budget && ring_next(up, cur) == RING_OK) {
		if (cur->len > r->scratch_len || ring_copy(up, cur, r->scratch) != RING_OK) {
			/* cannot happen with a sane worker: skip what it wrote so far */
			log_error("worker %d: corrupt uplink record; skipping its uplink", slot);
			ring_cursor_init(up, cur);
			ring_release(up, cur);
			break;
		}
		uplink_record(r, slot, cur->kind, r->scratch, cur->len);
		n++;
	}
	if (n > 0) {
		ring_release(up, cur);
		r->need_wake = 1;
	}
	return n;
}

int relay_drain(struct relay *r)
{
	int moved = 0;

	/* a long pass wakes the workers on the way: bcast_put_kind() */
	for (int i = 0; i < CHATD_SLOTS; i++)
		if (r->link[i].live)
			moved += drain_uplink(r, i, UPLINK_BATCH);
	return moved;
}

int relay_pending(const struct relay *r)
{
	for (int i = 0; i < CHATD_SLOTS; i++) {
		struct ring_cursor c;

		if (!r->link[i].live)
			continue;
		c = r->link[i].cur;
		if (ring_next(shm_uplink(r->shm, i), &c) == RING_OK)
			return 1;
	}
	return 0;
}

void relay_uplink_open(struct relay *r, int slot)
{
	ring_reset(shm_uplink(r->shm, slot));
	ring_cursor_init(shm_uplink(r->shm, slot), &r->link[slot].cur);
}

void relay_attach(struct relay *r, int slot, int efd)
{
	r->link[slot].efd = efd;
	r->link[slot].live = 1;
}

/* members_slot_gone(): one member of a dead worker, announced offline. */
static void ghost_offline(void *arg, const char *room, size_t room_len, const char *id,
			  size_t id_len)
{
	struct relay *r = arg;
	char rn[CHATD_ROOM_MAX + 1], from[CHATD_CLIENT_ID_MAX + 1], frame[1024];
	size_t n;

	if (room_len == ROSTER_GLOBAL_LEN && memcmp(room, ROSTER_GLOBAL, room_len) == 0)
		return;     /* the global channel's members: no presence there */
	memcpy(rn, room, room_len);
	rn[room_len] = '\0';
	memcpy(from, id, id_len);
	from[id_len] = '\0';
	n = msg_build_presence(frame, sizeof(frame), rn, from, 0);
	if (n == 0)
		return;
	relay_frame(r, frame, n, room, room_len);
	stats_add(&r->shm->master.ghosts_offline, 1);
}

void relay_slot_gone(struct relay *r, int slot, const struct conf *c)
{
	struct roster_gone *g;
	size_t skipped;

	drain_uplink(r, slot, INT32_MAX);          /* what it sent before dying still counts */
	g = roster_slot_save(r->roster, slot);
	/* its members left without a word: say it for them, as the worker would
	 * have (nothing is left here when it closed its clients itself) */
	skipped = members_slot_gone(r->members, slot, ghost_offline, r);
	roster_slot_done(g);
	if (c->presence)   /* folded into the retired totals with the slot's counters */
		stats_add(&r->shm->worker[slot].presence_skipped, skipped);
	if (r->broker)
		broker_slot_gone(r->broker, slot);
	close(r->link[slot].efd);
	memset(&r->link[slot], 0, sizeof(r->link[slot]));
}

/* Broker: a frame another pod published. */
static void broker_deliver(void *arg, const char *room, size_t room_len, const char *frame,
			   size_t frame_len)
{
	struct relay *r = arg;

	if (r->hist != NULL)                 /* in offset order after a subscriber gap */
		hserve_live(r->hist, room, room_len, frame, frame_len);
	else
		bcast_put(r, frame, frame_len, room, room_len);
}

static void make_pod_id(struct relay *r, const struct conf *c)
{
	char host[64] = "chatd";
	unsigned rnd = 0;

	if (c->pod_id[0]) {
		snprintf(r->pod_id, sizeof(r->pod_id), "%s", c->pod_id);
		return;
	}
	gethostname(host, sizeof(host) - 1);
	if (getentropy(&rnd, sizeof(rnd)) < 0)
		rnd = (unsigned)time(NULL) ^ (unsigned)getpid();
	snprintf(r->pod_id, sizeof(r->pod_id), "%s-%d-%08x", host, (int)getpid(), rnd);
}

/* history_size > 0: the history service, on the broker when there is one. */
static int hist_start(struct relay *r, const struct conf *c, struct mloop *loop)
{
	if (c->history_size <= 0)
		return 0;
	/* an answer must not lap the workers: an eighth of the ring at most,
	 * and each waits for its room (bcast_room) */
	r->hist = hserve_new(c, r->broker, r->pod_id, loop, &r->shm->master, r->wake_bytes,
			     bcast_put_kind, bcast_room, r);
	if (r->hist == NULL) {
		log_error("history: out of memory");
		return -1;
	}
	log_notice("history: %d messages per room, kept %d s when idle, %s", c->history_size,
		   c->history_ttl_ms / 1000, r->broker ? "in Redis" : "in memory");
	return 0;
}

int relay_broker_start(struct relay *r, const struct conf *c, struct mloop *loop)
{
	char err[CHATD_ERR_MAX], url[CONF_STR_MAX];

	make_pod_id(r, c);
	r->roster = roster_new(c, loop, r->members, ring_max_payload(r->bcast), &r->shm->master,
			       bcast_put_kind, r, r->pod_id, err, sizeof(err));
	if (r->roster == NULL) {
		log_error("%s", err);
		return -1;
	}
	if (c->redis_url[0] == '\0') {
		log_notice("redis_url off: single-node mode");
		return hist_start(r, c, loop);
	}
	r->broker = broker_new(c, loop, r->pod_id, &r->shm->master, broker_deliver, r,
			       err, sizeof(err));
	if (r->broker == NULL) {
		log_error("redis: %s", err);
		return -1;
	}
	log_notice("pod %s, redis %s", r->pod_id, redis_url_masked(c->redis_url, url, sizeof(url)));
	return hist_start(r, c, loop);
}

void relay_free(struct relay *r)
{
	hserve_free(r->hist);
	r->hist = NULL;
	broker_free(r->broker);
	r->broker = NULL;
	roster_free(r->roster);
	r->roster = NULL;
	members_free(r->members);
	r->members = NULL;
	free(r->scratch);
	r->scratch = NULL;
}
