/* SPDX-License-Identifier: MIT */
/*
 * history.c - per-room offsets, epochs and kept frames (single-node mode),
 * and the frame text helpers both modes share.  See history.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "htab.h"
#include "history.h"

/* ---- frames ---------------------------------------------------------------- */

#define OFFSET_PREFIX  "{\"offset\":"
#define HISTORY_PREFIX "{\"history\":true,"

/* dst = head + frame without its '{' (a frame of just "{}" gets no comma
 * after the head: head ends with a comma that is then dropped). */
static size_t splice(char *dst, size_t cap, const char *head, size_t hl, const char *frame,
		     size_t len)
{
	if (len < 2 || frame[0] != '{')
		return 0;
	if (frame[1] == '}')
		hl--;                           /* {"offset":1,"epoch":"E"} */
	if (hl + len - 1 > cap)
		return 0;
	memcpy(dst, head, hl);
	memcpy(dst + hl, frame + 1, len - 1);
	return hl + len - 1;
}

size_t history_splice(char *dst, size_t cap, const char *frame, size_t len, uint64_t offset,
		      const char *epoch)
{
	char head[HISTORY_SPLICE_MAX + 1];
	int hl;

	if (strlen(epoch) > HISTORY_EPOCH_MAX)
		return 0;
	hl = snprintf(head, sizeof(head), OFFSET_PREFIX "%" PRIu64 ",\"epoch\":\"%s\",", offset,
		      epoch);
	return splice(dst, cap, head, (size_t)hl, frame, len);
}

size_t history_mark(char *dst, size_t cap, const char *frame, size_t len)
{
	return splice(dst, cap, HISTORY_PREFIX, sizeof(HISTORY_PREFIX) - 1, frame, len);
}

int history_frame_offset(const char *frame, size_t len, uint64_t *offset)
{
	size_t hp = sizeof(HISTORY_PREFIX) - 1, op = sizeof(OFFSET_PREFIX) - 1, i;
	uint64_t v = 0;

	if (len > hp && memcmp(frame, HISTORY_PREFIX, hp) == 0) {
		frame += hp - 1;                /* keep a '{' in front of "offset" */
		len -= hp - 1;
	}
	if (len <= op || memcmp(frame + 1, &OFFSET_PREFIX[1], op - 1) != 0)
		return 0;
	for (i = op; i < len && frame[i] >= '0' && frame[i] <= '9' && i < op + 19; i++)
		v = v * 10 + (uint64_t)(frame[i] - '0');
	if (i == op || i >= len || frame[i] != ',')
		return 0;
	*offset = v;
	return 1;
}

int history_frame_epoch(const char *frame, size_t len, const char **epoch, size_t *elen)
{
	static const char ep[] = ",\"epoch\":\"";
	size_t i = sizeof(OFFSET_PREFIX) - 1, el = sizeof(ep) - 1, e;

	if (!history_frame_offset(frame, len, &(uint64_t){ 0 }) ||
	    memcmp(frame, OFFSET_PREFIX, i) != 0)
		return 0;                       /* not a live stored frame (marked) */
	while (i < len && frame[i] >= '0' && frame[i] <= '9')
		i++;
	if (len - i <= el || memcmp(frame + i, ep, el) != 0)
		return 0;
	i += el;
	for (e = i; e < len && frame[e] != '"' && e - i <= HISTORY_EPOCH_MAX; e++)
		;
	if (e >= len || frame[e] != '"' || e == i || e - i > HISTORY_EPOCH_MAX)
		return 0;
	*epoch = frame + i;
	*elen = e - i;
	return 1;
}

int history_epoch_valid(const char *s, size_t len)
{
	if (len == 0 || len > HISTORY_EPOCH_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

size_t history_data_add(char *buf, size_t len, size_t cap, const char *text, size_t tl)
{
	static const char key[] = "\"data\":{";
	char *d = memmem(buf, len, key, sizeof(key) - 1);
	size_t at, comma;

	if (d == NULL)
		return 0;
	at = (size_t)(d - buf) + sizeof(key) - 1;
	comma = at < len && buf[at] != '}';
	if (len + tl + comma > cap)
		return 0;
	memmove(buf + at + tl + comma, buf + at, len - at);
	memcpy(buf + at, text, tl);
	if (comma)
		buf[at + tl] = ',';
	return len + tl + comma;
}

/* A decimal number of at most 16 digits (below 2^53 then): 0 and *v, or -1. */
static int parse_count(const char *s, long long max, long long *v)
{
	size_t n = strlen(s);

	if (n == 0 || n > 16 || strspn(s, "0123456789") != n)
		return -1;
	*v = strtoll(s, NULL, 10);
	return *v <= max ? 0 : -1;
}

int history_query_parse(const char *hist, const char *since, const char *epoch,
			struct history_req *q, int *asked)
{
	long long v;

	*asked = 0;
	if ((since == NULL) != (epoch == NULL))
		return -1;
	if (hist != NULL && parse_count(hist, HISTORY_SIZE_MAX, &v) < 0)
		return -1;
	if (since != NULL) {
		if (parse_count(since, (1LL << 53) - 1, &v) < 0 ||
		    !history_epoch_valid(epoch, strlen(epoch)))
			return -1;
		memset(q, 0, sizeof(*q));
		q->since = v;
		q->count = HISTORY_SIZE_MAX;
		memcpy(q->epoch, epoch, strlen(epoch) + 1);
	} else if (hist != NULL) {
		memset(q, 0, sizeof(*q));
		q->since = -1;
		q->count = (uint32_t)v;
	} else {
		return 0;
	}
	*asked = 1;
	return 0;
}

/* ---- the store --------------------------------------------------------------- */

/* One kept frame. */
struct item {
	uint64_t offset;
	size_t   len;
	char     frame[];
};

/* One per room that had a message or a read within the ttl. */
struct hroom {
	struct htab_node h;            /* in history.rooms, by the room */
	uint64_t      top;             /* latest offset given (0: none yet) */
	uint64_t      used_ms;
	char          epoch[HISTORY_EPOCH_LEN + 1];
	struct item **ring;            /* size slots; the newest at (head + len - 1) */
	size_t        head, len;
	size_t        room_len;
	char          room[];
};

struct history {
	size_t          size;
	uint64_t        ttl_ms;
	struct hash_key key;
	uint64_t        epochs;        /* made so far: part of the next one's input */
	struct htab     rooms;
};

struct history *history_new(int size, uint64_t ttl_ms)
{
	struct history *h = calloc(1, sizeof(*h));

	if (h == NULL || size < 1 || size > HISTORY_SIZE_MAX) {
		free(h);
		return NULL;
	}
	h->size = (size_t)size;
	h->ttl_ms = ttl_ms;
	hash_key_random(&h->key, h);
	if (htab_init(&h->rooms) < 0) {
		free(h);
		return NULL;
	}
	return h;
}

static void room_free(const struct history *h, struct hroom *r)
{
	for (size_t i = 0; i < r->len; i++)
		free(r->ring[(r->head + i) % h->size]);
	free(r->ring);
	free(r);
}

static void room_free_each(void *history, struct htab_node *n)
{
	room_free(history, HTAB_ENTRY(n, struct hroom, h));
}

void history_free(struct history *h)
{
	if (h == NULL)
		return;
	htab_each(&h->rooms, room_free_each, h);
	htab_fini(&h->rooms);
	free(h);
}

size_t history_rooms(const struct history *h)
{
	return htab_count(&h->rooms);
}

static int room_eq(const struct htab_node *n, const void *key)
{
	const struct hroom *r = HTAB_ENTRY(n, const struct hroom, h);

	return htab_bytes_eq(key, r->room, r->room_len);
}

/* A new epoch: 64 bits of a keyed hash over the room and a counter, so two
 * lives of one room never share one. */
static void make_epoch(struct history *h, struct hroom *r)
{
	unsigned char in[CHATD_ROOM_MAX + 8];
	uint64_t n = ++h->epochs, v;

	memcpy(in, &n, 8);
	memcpy(in + 8, r->room, r->room_len);
	v = hash_bytes(&h->key, in, 8 + r->room_len);
	snprintf(r->epoch, sizeof(r->epoch), "%016" PRIx64, v);
}

/* The room's entry, made when absent.  NULL on ENOMEM. */
static struct hroom *room_get(struct history *h, const char *room, size_t len, uint64_t now)
{
	uint64_t hash;
	struct htab_node *n;
	struct hroom *r;

	if (len > CHATD_ROOM_MAX)
		return NULL;
	hash = hash_bytes(&h->key, room, len);
	n = htab_find(&h->rooms, hash, room_eq, &(struct htab_bytes){ room, len });
	if (n != NULL) {
		r = HTAB_ENTRY(n, struct hroom, h);
	} else {
		if ((r = calloc(1, sizeof(*r) + len + 1)) == NULL ||
		    (r->ring = calloc(h->size, sizeof(*r->ring))) == NULL) {
			free(r);
			return NULL;
		}
		memcpy(r->room, room, len);
		r->room_len = len;
		make_epoch(h, r);
		r->h.hash = hash;
		htab_put(&h->rooms, &r->h);
	}
	r->used_ms = now;
	return r;
}

const char *history_append(struct history *h, const char *room, size_t room_len,
			   const char *frame, size_t len, uint64_t now_ms, size_t *out_len)
{
	struct hroom *r = room_get(h, room, room_len, now_ms);
	struct item *it;
	size_t n;

	if (r == NULL || (it = malloc(sizeof(*it) + len + HISTORY_SPLICE_MAX)) == NULL)
		return NULL;
	n = history_splice(it->frame, len + HISTORY_SPLICE_MAX, frame, len, r->top + 1, r->epoch);
	if (n == 0) {
		free(it);
		return NULL;
	}
	it->offset = ++r->top;
	it->len = n;
	if (r->len == h->size) {                /* full: the oldest goes */
		free(r->ring[r->head]);
		r->head = (r->head + 1) % h->size;
		r->len--;
	}
	r->ring[(r->head + r->len++) % h->size] = it;
	*out_len = n;
	return it->frame;
}

/* Index (0 = oldest kept) of the first frame to send for q, and whether the
 * answer is complete (HISTORY_OK) or has a gap. */
static size_t read_from(const struct hroom *r, const struct history_req *q,
			enum history_status *st)
{
	uint64_t oldest = r->top - r->len + 1;  /* == top + 1 when nothing is kept */

	*st = HISTORY_OK;
	if (q->since < 0)
		return r->len > q->count ? r->len - q->count : 0;
	if (strcmp(q->epoch, r->epoch) != 0 || (uint64_t)q->since > r->top ||
	    (uint64_t)q->since + 1 < oldest) {
		*st = HISTORY_GAP;
		return r->len;                  /* nothing: the client reloads */
	}
	return (size_t)((uint64_t)q->since + 1 - oldest);
}

void history_read(struct history *h, const char *room, size_t room_len,
		  const struct history_req *q, uint64_t now_ms, size_t max_bytes,
		  history_each_fn each, void *arg, struct history_end *end)
{
	struct hroom *r = room_get(h, room, room_len, now_ms);
	enum history_status st;
	size_t from, bytes = 0, i;

	memset(end, 0, sizeof(*end));
	if (r == NULL) {
		end->status = HISTORY_UNAVAILABLE;
		return;
	}
	from = read_from(r, q, &st);
	/* the newest that fit in max_bytes; a recovery cut short has a gap */
	for (i = r->len; i > from; i--) {
		size_t l = r->ring[(r->head + i - 1) % h->size]->len;

		if (bytes + l > max_bytes)
			break;
		bytes += l;
	}
	if (i > from && q->since >= 0) {
		st = HISTORY_GAP;               /* cut short: send nothing, the client reloads */
		i = r->len;
	}
	for (from = i; from < r->len; from++) {
		const struct item *it = r->ring[(r->head + from) % h->size];

		each(arg, it->frame, it->len);
	}
	end->status = st;
	end->top = r->top;
	memcpy(end->epoch, r->epoch, sizeof(r->epoch));
}

struct expiry {
	struct history *h;
	uint64_t now_ms;
};

static void room_expire(void *arg, struct htab_node *n)
{
	const struct expiry *x = arg;
	struct hroom *r = HTAB_ENTRY(n, struct hroom, h);

	if (x->now_ms - r->used_ms <= x->h->ttl_ms)
		return;
	htab_del(&x->h->rooms, n);
	room_free(x->h, r);
}

void history_expire(struct history *h, uint64_t now_ms)
{
	htab_each(&h->rooms, room_expire, &(struct expiry){ h, now_ms });
}
