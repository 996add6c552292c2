/* SPDX-License-Identifier: MIT */
/*
 * room.h - room names and the worker's room index.
 *
 * The index maps a room name to its local members in O(1) for join, leave
 * and lookup.  Members are intrusive list nodes embedded in the caller's
 * per-connection struct, so joining allocates nothing but the room itself.
 * One index per worker process; not thread-safe (lws is single-threaded).
 */
#ifndef CHATD_ROOM_H
#define CHATD_ROOM_H

#include <stddef.h>

/* 1 if name[0..len) is a valid room name: 1..128 bytes of [A-Za-z0-9._:-]
 * and not a reserved word ("stats"). */
int room_name_valid(const char *name, size_t len);

struct room;

/* Embedded in a connection.  Zero-initialise; room == NULL when not a member. */
struct room_member {
	struct room_member *prev, *next;
	struct room *room;
};

/* One per room with at least one local member; made by room_join(), freed by
 * the room_leave() that removes its last member. */
struct room {
	struct room *hnext;            /* hash chain */
	struct room_member head;       /* circular list sentinel of members */
	size_t count;                  /* members */
	size_t len;                    /* of name */
	char name[];                   /* NUL-terminated */
};

struct room_index;

struct room_index *room_index_new(void);
void room_index_free(struct room_index *ix); /* rooms must be empty or are freed; members untouched */
size_t room_index_count(const struct room_index *ix); /* rooms */

/* What room_join() did. */
enum room_join_rc {
	ROOM_JOINED,    /* m is in the room (which had members; or m already was) */
	ROOM_CREATED,   /* m is the first member of a room made now */
	ROOM_BAD_NAME,  /* len is 0 or over CHATD_ROOM_MAX (callers validate
			 * names first; this keeps room_leave()'s last_name bounded) */
	ROOM_BUSY,      /* m is in another room: leave first, so the caller sees
			 * that room's "last member" event */
	ROOM_NOMEM
};

/* Add m to room `name` (created when absent); m->room is the room after
 * ROOM_JOINED or ROOM_CREATED, and untouched otherwise. */
enum room_join_rc room_join(struct room_index *ix, const char *name, size_t len,
			    struct room_member *m);
/* Remove m from its room; returns 1 when that emptied (and freed) the room,
 * writing its name into last_name (>= CHATD_ROOM_MAX + 1 bytes) if not NULL. */
int room_leave(struct room_index *ix, struct room_member *m, char *last_name);
struct room *room_find(const struct room_index *ix, const char *name, size_t len);

/* A plain member list (the worker's list of every connection uses this). */
void room_list_init(struct room_member *head);
void room_list_add(struct room_member *head, struct room_member *m);
void room_list_del(struct room_member *m);

#define room_foreach(head, it) \
	for ((it) = (head)->next; (it) != (head); (it) = (it)->next)

#endif
