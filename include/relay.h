/* SPDX-License-Identifier: MIT */
/*
 * relay.h - the master's message path: records from the workers' uplink
 * rings into the broadcast ring (and to Redis through the broker), frames
 * other pods sent into the broadcast ring, and the wake-up of the workers
 * that read it.  Master only.
 */
#ifndef CHATD_RELAY_H
#define CHATD_RELAY_H

#include <stddef.h>

#include "chatd.h"
#include "conf.h"
#include "ring.h"

struct broker;
struct members;
struct roster;
struct mloop;
struct shm_hdr;

/* One per worker slot: the relay's side of that worker. */
struct relay_link {
	int live;               /* a worker runs in the slot */
	int efd;                /* wakes that worker */
	struct ring_cursor cur; /* our read position in its uplink */
};

/* One, in the master (master.c's state holds it). */
struct relay {
	struct shm_hdr *shm;
	struct ring *bcast;
	struct broker *broker;  /* NULL: single-node mode */
	struct members *members;/* who is in which room on each worker */
	struct roster *roster;  /* who is in a room, asked by the workers */
	struct hserve *hist;    /* room history; NULL when history_size is 0 */
	unsigned char *scratch; /* one uplink record */
	size_t scratch_len;
	size_t wake_bytes;      /* a pass that put this much wakes the workers on the way */
	int need_wake;          /* records were put: wake the workers once */
	size_t put_bytes;       /* ... and how many bytes since the last wake */
	char pod_id[CONF_STR_MAX];
	struct relay_link link[CHATD_SLOTS];
};

/* Set r up over the shared memory shm, whose broadcast ring has ring_size
 * bytes.  0, or -1 (errno) when out of memory. */
int relay_init(struct relay *r, struct shm_hdr *shm, size_t ring_size);

/*
 * Name this pod (c's pod_id, else host-pid-random) and, when c has a
 * redis_url, connect the broker on loop: what other pods publish goes into
 * the broadcast ring.  0, or -1 after logging why.
 */
int relay_broker_start(struct relay *r, const struct conf *c, struct mloop *loop);

/* Free the broker and the scratch buffer (at exit). */
void relay_free(struct relay *r);

/* Before worker `slot` is forked: empty its uplink and start our cursor
 * there, so nothing it pushes is skipped. */
void relay_uplink_open(struct relay *r, int slot);

/* Worker `slot` runs; efd wakes it (the relay closes it at relay_slot_gone). */
void relay_attach(struct relay *r, int slot, int efd);

/* Worker `slot` died: move what it sent before dying, announce its room
 * members offline (c's presence rules: presence, presence_max_members),
 * drop its interest in rooms, close its eventfd. */
void relay_slot_gone(struct relay *r, int slot, const struct conf *c);

/* One pass over every live uplink, waking the workers on the way when a long
 * pass put much.  Returns the number of records moved. */
int relay_drain(struct relay *r);

/* Does any live uplink hold an unread record? */
int relay_pending(const struct relay *r);

/* Wake every live worker (records were put in the broadcast ring). */
void relay_wake(struct relay *r);

#endif
