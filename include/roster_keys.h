/* SPDX-License-Identifier: MIT */
/*
 * roster_keys.h - the roster's keys in Redis (chatd:roster:...), the Lua
 * scripts over them, and the commands redis_roster.c sends: a member
 * written or deleted, an instance's heartbeat set, refreshed or dropped,
 * an instance whose heartbeat is gone purged.  Master only; for
 * redis_roster.c.
 */
#ifndef CHATD_ROSTER_KEYS_H
#define CHATD_ROSTER_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include "chatd.h"
#include "conf.h"
#include "redis_link.h"

#define KEY_PREFIX   "chatd:roster:"
#define KEY_POD      KEY_PREFIX "pod:"       /* + instance: its heartbeat */
#define KEY_INST     KEY_PREFIX "inst:"      /* + instance: the rooms it wrote to */
#define KEY_MAX      (sizeof(KEY_PREFIX) + CHATD_ROOM_MAX + 8)
#define MEMBER_MAX   (CHATD_CLIENT_ID_MAX + 1 + CONF_STR_MAX + 16)
#define INST_MAX     (CONF_STR_MAX + 16)

/* A room's keys: m (members), s (since), p (per instance), c (per client
 * id); every script takes them in that order. */
#define ROSTER_NKEYS     4
#define ROSTER_NKEYS_STR "4"
struct roster_room_keys {
	char name[ROSTER_NKEYS][KEY_MAX];
};

/* Who writes, over which link: one in each struct redis_roster, which
 * sets link and ttl_ms and names a new instance (inst) after each
 * reconnect or lapsed heartbeat. */
struct roster_keys {
	struct redis_link *link;
	char inst[INST_MAX];           /* this connection's instance; "" before the first */
	size_t inst_len;
	int ttl_ms;                    /* roster_ttl: the heartbeat's life */
	struct redis_link_handler ignore, h_beat, h_gone;
};

/* The read script (KEYS: the room's.  ARGV: heartbeat key prefix, start,
 * limit; see roster_keys.c) and the resync's add-many script (KEYS: the
 * room's.  ARGV: instance, then "id\tinstance", since per member). */
extern const char roster_keys_read_lua[];
extern const char roster_keys_add_many_lua[];

/* Set k's reply handlers: on_beat(reply, arg) answers
 * roster_keys_beat(); the others are k's own. */
void roster_keys_init(struct roster_keys *k, void (*on_beat)(const struct redis_reply *, void *),
		      void *arg);

/* KEY_PREFIX "{room}:" suffix into buf (KEY_MAX bytes); the length. */
size_t roster_keys_room(char *buf, const char *room, size_t room_len, char suffix);

/* id TAB k's instance into buf (MEMBER_MAX bytes); the length. */
size_t roster_keys_member(const struct roster_keys *k, char *buf, const char *id,
			  size_t id_len);

/* The room's ROSTER_NKEYS key names into rk, pointed at from argv[0..)
 * and argl[0..). */
void roster_keys_room_all(struct roster_room_keys *rk, const char **argv, size_t *argl,
			  const char *room, size_t room_len);

/* EVAL script over the room's keys and args[0..nargs) (4 at most),
 * the reply to h.  redis_link_command()'s 0 / -1. */
int roster_keys_eval(struct roster_keys *k, struct redis_link_handler *h, const char *script,
		     const char *room, size_t room_len, const char **args, const size_t *argl,
		     int nargs);

/* cmd (SADD or SREM) room to the set of rooms instance inst wrote to. */
void roster_keys_inst_rooms(struct roster_keys *k, const char *cmd, const char *inst,
			    const char *room, size_t room_len);

/* Write member id of room (present, since since_ms; 0: Redis's now) or
 * delete it, as k's instance. */
void roster_keys_write(struct roster_keys *k, int present, const char *room,
		       size_t room_len, const char *id, size_t id_len, uint64_t since_ms);

/* Refresh k's instance's heartbeat if it still exists (the on_beat handler
 * gets 1, or 0 when it had expired).  0 when sent, -1 when not. */
int roster_keys_beat(struct roster_keys *k);

/* Purge instance inst[0..inst_len) (not k's) if its heartbeat is gone:
 * each of its rooms, then its room set. */
void roster_keys_gone_check(struct roster_keys *k, const char *inst, size_t inst_len);

/* SET (set 1, for ttl_ms) or DEL k's instance's heartbeat. */
void roster_keys_heartbeat(struct roster_keys *k, int set);

#endif
