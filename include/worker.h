/*
 * worker.h - a worker process: one libwebsockets context on its own
 * SO_REUSEPORT listener, reading the broadcast ring and writing its uplink.
 */
#ifndef CHATD_WORKER_H
#define CHATD_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include "ring.h"
#include "room.h"
#include "shm.h"

struct conf;
struct lws_context;
struct lws_vhost;
struct lws;

/* What the master hands a new worker at fork. */
struct worker_args {
	const struct conf *conf;
	struct shm_hdr *shm;
	int slot;          /* stats slot and uplink ring */
	int generation;
	int listen_fd;     /* bound, listening, non-blocking */
	int efd;           /* eventfd: the master wakes us */
	int master_efd;    /* eventfd: we wake the master */
};

/* The one worker of this process (lws context user data). */
struct worker {
	const struct conf *conf;
	struct shm_hdr *shm;
	struct worker_stats *st;
	struct ring *bcast, *uplink;
	struct ring_cursor cur;
	int slot, listen_fd, efd, master_efd, sig_fd;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct lws *listen_wsi;
	struct room_index *rooms;
	struct room_member all;        /* every WebSocket connection */
	struct auth *auth;             /* JWT verifier; NULL when auth is off (or broken) */
	struct limit_ip *iplimit;      /* connections per client address */
	uint64_t nconns;               /* == st->connections */
	int stopping;                  /* SIGTERM: 1001 to everyone, then exit */
	int draining;                  /* reload: stop accepting, 1012 after drain_timeout */
	int quit;                      /* leave the service loop */
	int accept_paused;             /* EMFILE / max_connections */
	int hangup_ms;                 /* lws drops a client without a pong for this long */
	struct pending *pending, *pending_tail; /* room joins/leaves waiting for the uplink */
	size_t npending;
	unsigned char *cork;           /* LWS_PRE + CHATD_CORK_MAX: several frames, one write */
	char *scratch;                 /* frame building, max_message_size + slack */
	size_t scratch_len;
};

/* Run a worker: never returns (exits the process). */
void worker_main(const struct worker_args *a) __attribute__((noreturn));

/* Hand a record to the master (uplink ring) and wake it if it sleeps.
 * room_len 0 = global.  RING_OK; RING_FULL when the uplink is full
 * (counted); RING_TOOBIG when the record is larger than a ring record can
 * be (enum ring_rc). */
int worker_uplink(struct worker *w, uint32_t kind, const char *room, size_t room_len,
		  const char *frame, size_t frame_len);

/* A room's first local member joined (REC_JOIN) or its last left
 * (REC_LEAVE): tell the master, in order, even when the uplink is full
 * for a moment (kept and retried). */
void worker_room_event(struct worker *w, uint32_t kind, const char *room, size_t room_len);

/* The worker of a wsi's context. */
struct worker *worker_of(struct lws *wsi);

#endif
