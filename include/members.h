/* SPDX-License-Identifier: MIT */
/*
 * members.h - the master's table of the room members present on each
 * worker, fed by the workers' REC_MEMBER / REC_GONE uplink records, so that
 * when a worker dies without saying goodbye (kill -9, a crash) its members
 * can still be announced offline.  Keyed by (worker slot, room, client id)
 * with the keyed hash (hash.h): room names and client ids come from
 * clients.  Bounded: beyond MEMBERS_MAX connections an add is refused and
 * the caller counts it.  A pure leaf: no logging.  Master only.
 */
#ifndef CHATD_MEMBERS_H
#define CHATD_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#define MEMBERS_MAX (1u << 20)  /* connections tracked, over all workers */

struct members;

/* An empty table (its own random hash key); NULL when out of memory. */
struct members *members_new(void);
/* Free the table and everything in it; NULL is harmless. */
void members_free(struct members *mb);

/* Client id[0..id_len) joined room[0..room_len) on worker slot (a client id
 * may hold several connections: each counts).  0, or -1 when the table is
 * full (MEMBERS_MAX) or out of memory: that connection is not tracked. */
int members_add(struct members *mb, int slot, const char *room, size_t room_len,
		const char *id, size_t id_len);

/* One connection of id left room on worker slot.  0, or -1 when it was not
 * tracked (nothing changes). */
int members_del(struct members *mb, int slot, const char *room, size_t room_len,
		const char *id, size_t id_len);

/* Connections tracked, over all workers. */
size_t members_count(const struct members *mb);

/* Called once per connection of a dead worker's members. */
typedef void (*members_fn)(void *arg, const char *room, size_t room_len, const char *id,
			   size_t id_len);

/*
 * Worker slot is gone: call fn once per connection it had in each room
 * where it had at most max_per_room connections (the presence rule), then
 * forget the slot.  Returns the connections left out (rooms above
 * max_per_room).
 */
size_t members_slot_gone(struct members *mb, int slot, size_t max_per_room, members_fn fn,
			 void *arg);

/* Connections of id in room over all worker slots (0: not present). */
size_t members_present(const struct members *mb, const char *room, size_t room_len,
		       const char *id, size_t id_len);

/* Called once per (slot, room, client id) entry; since_ms: the wall clock
 * (ms since the epoch) of that entry's first connection. */
typedef void (*members_each_fn)(void *arg, const char *room, size_t room_len, const char *id,
				size_t id_len, uint64_t since_ms);

/* fn for each entry of room on every slot (a client id on two workers
 * comes twice), of worker slot, or of the whole table.  fn must not change
 * the table. */
void members_room_each(const struct members *mb, const char *room, size_t room_len,
		       members_each_fn fn, void *arg);
void members_slot_each(const struct members *mb, int slot, members_each_fn fn, void *arg);
void members_each(const struct members *mb, members_each_fn fn, void *arg);

#endif
