/* SPDX-License-Identifier: MIT */
/*
 * admit.h - what a WebSocket upgrade asks for and who makes it: the route of
 * a decoded path, the room of an upgrade and the identity its token proves.
 * http.c asks at LWS_CALLBACK_HTTP_CONFIRM_UPGRADE (to refuse), ws.c again
 * at ESTABLISHED (to carry out): libwebsockets 4.1.6 allocates the
 * per-session data only after the upgrade, so nothing decided before it can
 * be kept there.  Returns statuses and reasons; never logs.
 */
#ifndef CHATD_ADMIT_H
#define CHATD_ADMIT_H

#include <stddef.h>
#include <time.h>
#include <libwebsockets.h>

#define ADMIT_URI_MAX 1024     /* bytes of a request's decoded path */

struct conf;
struct wctx;
struct auth_identity;

/* Where a decoded path points, relative to path_prefix + "/ws". */
enum route { ROUTE_NONE, ROUTE_WS_GLOBAL, ROUTE_WS_ROOM, ROUTE_STATS, ROUTE_HEALTH,
	     ROUTE_METRICS, ROUTE_PUBLISH, ROUTE_PAGE, ROUTE_MEMBERS };

/* The route of a decoded path uri; *rest gets what follows the route's own
 * path (a page's file name, a room name), else it is untouched.  Pure. */
enum route admit_route(const struct conf *c, const char *uri, const char **rest);

/* The room of a ROUTE_MEMBERS path uri ({prefix}/rooms/ROOM/members, or
 * {prefix}/global/members: ROSTER_GLOBAL): fills room (CHATD_ROOM_MAX + 1
 * bytes) and returns 0, or 400 for a bad room name.  Pure. */
int admit_members_room(const struct conf *c, const char *uri, char *room, size_t *room_len);
/* Which room does this upgrade request ask for?  Fills room (room_len 0 =
 * global) and returns 0, or the HTTP status to refuse it with (400/404). */
int admit_target(const struct conf *c, struct lws *wsi, char *room, size_t *room_len);

/* The pure part of admit_target(): uri is the decoded path, room_arg the
 * value of its ?room= (NULL: none).  Same results. */
int admit_target_of(const struct conf *c, const char *uri, const char *room_arg, char *room,
		    size_t *room_len);

/* With auth on, verify the upgrade's token (Authorization: Bearer, else
 * ?token=) for room (NULL = global): 0 with *id filled, else the HTTP status
 * (401/403 from auth_verify()'s result, 503 without a verifier) with err
 * filled (no quotes: it goes into a JSON body).  With auth off: 0, id zeroed. */
int admit_identify(const struct wctx *w, struct lws *wsi, const char *room,
		   struct auth_identity *id, char *err, size_t errlen);

/* At ESTABLISHED: the room (room_len 0 = global) and the client id (id,
 * CHATD_CLIENT_ID_MAX + 1 bytes: the token's sub, else a new UUID) of the
 * upgrade that made wsi, and *expires the token's expiry (0: none).  0, or
 * -1 when the upgrade would no longer be let in (only the clock can have
 * moved since): err filled when the token was refused, "" otherwise. */
int admit_session(const struct wctx *w, struct lws *wsi, char *room, size_t *room_len,
		  char *id, time_t *expires, char *err, size_t errlen);

#endif
