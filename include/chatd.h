/* SPDX-License-Identifier: MIT */
/*
 * chatd.h - limits, versions and constants shared by every module.
 */
#ifndef CHATD_H
#define CHATD_H

#define CHATD_NAME          "chatd"
#define CHATD_VERSION       PACKAGE_VERSION

#define CHATD_MAX_WORKERS   64      /* per generation; shm has 2x slots */
#define CHATD_SLOTS         (2 * CHATD_MAX_WORKERS)
#define CHATD_ROOM_MAX      128     /* bytes in a room name */
#define CHATD_CLIENT_ID_MAX 64      /* bytes in a client id (UUID or sub) */
#define CHATD_RX_BUFFER     1024    /* lws receive buffer per connection */
#define CHATD_CORK_MAX      4096    /* bytes of frames sent in one write() */
#define CHATD_STAMP_MAX     1024    /* bytes the server adds to a client message (id, from, ...) */
#define CHATD_MAX_FRAME     (1u << 20) /* hard ceiling for one ring record */
#define CHATD_ERR_MAX       1024    /* an error buffer a caller hands a leaf (char *err, size_t errlen) */

/* defaults of the directives whose values the spec fixes */
#define CHATD_DEF_PORT          8080
#define CHATD_DEF_MAX_MSG       65536
#define CHATD_DEF_SENDQ         256
#define CHATD_DEF_PING          54
#define CHATD_DEF_PONG          60

/* WebSocket close codes chatd sends (RFC 6455 7.4.1) */
#define CHATD_CLOSE_GOING_AWAY  1001
#define CHATD_CLOSE_POLICY      1008
#define CHATD_CLOSE_TOO_BIG     1009
#define CHATD_CLOSE_RESTART     1012

#endif
