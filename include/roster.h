/* SPDX-License-Identifier: MIT */
/*
 * roster.h - who is in a room (issue 16 item 4): the master's list of this
 * pod's room members with the time each joined, fed by the workers'
 * REC_MEMBER / REC_GONE records, and the JSON page an answer is made of
 * (for this pod alone, or merged over every pod from Redis).  Keyed by
 * (worker slot, room, client id) with the keyed hash: names come from
 * clients.  A pure leaf: no logging.  Master only.
 */
#ifndef CHATD_ROSTER_H
#define CHATD_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#define ROSTER_MAX       (1u << 20)  /* (slot, room, id) entries kept */
#define ROSTER_PAGE_MAX  1000        /* members in one answer */

struct roster;

/* REC_ROSTER_REQ's frame part: connection (or HTTP request) `token` of the
 * asking worker wants members offset..offset+limit-1 of the record's room. */
struct roster_req {
	uint64_t token;
	uint32_t offset, limit;
};

/* One member as an answer lists it. */
struct roster_entry {
	const char *id;
	size_t      id_len;
	uint64_t    since_ms;        /* when it joined (ms since 1970) */
};

struct roster *roster_new(void);
void roster_free(struct roster *rs);

/* Client id joined room on worker slot at now_ms (a second connection of
 * the same id there only counts).  0, or -1 when full or out of memory. */
int roster_add(struct roster *rs, int slot, const char *room, size_t room_len,
	       const char *id, size_t id_len, uint64_t now_ms);

/* One connection of id left room on slot.  1 when that was its last one
 * there (the entry is gone), 0 when others remain, -1 when not known. */
int roster_del(struct roster *rs, int slot, const char *room, size_t room_len,
	       const char *id, size_t id_len);

/* Called for each entry (roster_each) or each entry of a slot being
 * forgotten (roster_slot_gone). */
typedef void (*roster_fn)(void *arg, int slot, const char *room, size_t room_len,
			  const char *id, size_t id_len, uint64_t since_ms);

/* Forget worker slot's entries, calling fn (may be NULL) for each first. */
void roster_slot_gone(struct roster *rs, int slot, roster_fn fn, void *arg);

/* Every entry (to copy them to Redis after a reconnect). */
void roster_each(const struct roster *rs, roster_fn fn, void *arg);

/* The entries of room, into a new array (*n of them; the strings point into
 * the roster, valid until it changes).  NULL with *n 0 when there are none
 * or out of memory. */
struct roster_entry *roster_list(const struct roster *rs, const char *room, size_t room_len,
				 size_t *n);

/*
 * The answer for room: {"room":..,"count":N,"offset":O,"members":[{"client_id":..,
 * ["sub":..,] "since":"RFC 3339"},..][,"next":O2]} into a new string (*len;
 * the caller frees it), from e[0..n): one member per client id (its
 * earliest join), oldest first, then by id; members offset..offset+limit-1
 * (limit at most ROSTER_PAGE_MAX); "next" when more follow; "sub" when
 * with_sub.  e is sorted in place.  NULL when out of memory.
 */
char *roster_page(struct roster_entry *e, size_t n, const char *room, size_t room_len,
		  size_t offset, size_t limit, int with_sub, size_t *len);

#endif
