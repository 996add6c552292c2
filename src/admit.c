/* SPDX-License-Identifier: MIT */
/*
 * admit.c - what a WebSocket upgrade asks for (route, room) and who makes it
 * (the token's identity), for http.c at the upgrade and ws.c at ESTABLISHED.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "admit.h"
#include "auth.h"
#include "chatd.h"
#include "conf.h"
#include "msg.h"
#include "room.h"
#include "rosterrec.h"
#include "wctx.h"

/* web: "/" NAME or {prefix}/ NAME (NAME without '/', "" = the index): a
 * file of the demo page; *rest gets NAME. */
static int page_path(const char *prefix, size_t pl, const char *uri, const char **rest)
{
	if (strncmp(uri, prefix, pl) == 0 && uri[pl] == '/' && strchr(uri + pl + 1, '/') == NULL &&
	    strcmp(uri + pl + 1, "ws") != 0) {
		*rest = uri + pl + 1;
		return 1;
	}
	if (uri[0] == '/' && strchr(uri + 1, '/') == NULL) {
		*rest = uri + 1;
		return 1;
	}
	return 0;
}

#define MEMBERS_ROOMS  "/rooms/"
#define MEMBERS_GLOBAL "/global/members"
#define MEMBERS_TAIL   "/members"

/* {prefix}/rooms/NAME/members (NAME maybe bad: checked later) or
 * {prefix}/global/members? */
static int members_path(const char *prefix, size_t pl, const char *uri)
{
	size_t n, tl = sizeof(MEMBERS_TAIL) - 1, rl = sizeof(MEMBERS_ROOMS) - 1;
	const char *name;

	if (strncmp(uri, prefix, pl) != 0)
		return 0;
	uri += pl;
	if (strcmp(uri, MEMBERS_GLOBAL) == 0)
		return 1;
	if (strncmp(uri, MEMBERS_ROOMS, rl) != 0)
		return 0;
	name = uri + rl;
	n = strlen(name);
	return n >= tl && strcmp(name + n - tl, MEMBERS_TAIL) == 0;
}

int admit_members_room(const struct conf *c, const char *uri, char *room, size_t *room_len)
{
	size_t pl = strlen(c->path_prefix), n;
	const char *name = uri + pl + sizeof(MEMBERS_ROOMS) - 1;

	if (!members_path(c->path_prefix, pl, uri))
		return 404;
	if (strcmp(uri + pl, MEMBERS_GLOBAL) == 0) {
		memcpy(room, ROSTER_GLOBAL, ROSTER_GLOBAL_LEN + 1);
		*room_len = ROSTER_GLOBAL_LEN;
		return 0;
	}
	n = strlen(name) - (sizeof(MEMBERS_TAIL) - 1);
	if (!room_name_valid(name, n))
		return 400;
	memcpy(room, name, n);
	room[n] = '\0';
	*room_len = n;
	return 0;
}

enum route admit_route(const struct conf *c, const char *uri, const char **rest)
{
	size_t pl = strlen(c->path_prefix);

	if (strcmp(uri, "/healthz") == 0)
		return ROUTE_HEALTH;
	if (strcmp(uri, "/metrics") == 0)
		return ROUTE_METRICS;
	if (strncmp(uri, c->path_prefix, pl) == 0 && strcmp(uri + pl, "/publish") == 0)
		return ROUTE_PUBLISH;
	if (members_path(c->path_prefix, pl, uri))
		return ROUTE_MEMBERS;
	if (page_path(c->path_prefix, pl, uri, rest))
		return ROUTE_PAGE;
	if (strncmp(uri, c->path_prefix, pl) != 0 || strncmp(uri + pl, "/ws", 3) != 0)
		return ROUTE_NONE;
	uri += pl + 3;
	if (*uri == '\0')
		return ROUTE_WS_GLOBAL;
	if (*uri != '/')
		return ROUTE_NONE;
	*rest = uri + 1;
	return strcmp(*rest, "stats") == 0 ? ROUTE_STATS : ROUTE_WS_ROOM;
}

int admit_target(const struct conf *c, struct lws *wsi, char *room, size_t *room_len)
{
	char uri[ADMIT_URI_MAX], arg[ADMIT_URI_MAX];

	*room_len = 0;
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
		return 400;
	/*
	 * lws_get_urlarg_by_name() stops at the first query argument that does
	 * not fit its buffer and then answers "not found": a long ?room= (or a
	 * long argument before it) would silently mean the global channel.  A
	 * query that may not fit is refused instead.
	 */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) >= (int)sizeof(arg) - 1)
		return 400;
	/* the value follows "room=" in arg; longer than a room name: refused below */
	return admit_target_of(c, uri, lws_get_urlarg_by_name(wsi, "room=", arg, (int)sizeof(arg)),
			       room, room_len);
}

int admit_target_of(const struct conf *c, const char *uri, const char *room_arg, char *room,
		    size_t *room_len)
{
	const char *rest = NULL;
	int n;

	*room_len = 0;
	switch (admit_route(c, uri, &rest)) {
	case ROUTE_WS_GLOBAL:
		rest = room_arg;
		if (rest == NULL)
			return 0;           /* no ?room=: the global channel */
		break;
	case ROUTE_WS_ROOM:
	case ROUTE_STATS:           /* "stats" is reserved: refused below */
		break;
	default:
		return 404;
	}
	n = (int)strlen(rest);
	if (!room_name_valid(rest, (size_t)n))
		return 400;
	memcpy(room, rest, (size_t)n + 1);
	*room_len = (size_t)n;
	return 0;
}

int admit_identify(const struct wctx *w, struct lws *wsi, const char *room,
		   struct auth_identity *id, char *err, size_t errlen)
{
	char buf[AUTH_TOKEN_MAX + 16];
	const char *tok = NULL;

	memset(id, 0, sizeof(*id));
	if (!w->conf->auth_enabled)
		return 0;
	if (w->auth == NULL) {
		snprintf(err, errlen, "authentication is not available (see the server log)");
		return 503;
	}
	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION) > 0)
		tok = auth_bearer(buf);
	if (tok == NULL)   /* browsers cannot set headers on a WebSocket: ?token= */
		tok = lws_get_urlarg_by_name(wsi, "token=", buf, (int)sizeof(buf));
	switch (auth_verify(w->auth, tok, room, time(NULL), id, err, errlen)) {
	case AUTH_OK:
		return 0;
	case AUTH_FORBIDDEN:
		return 403;
	default:
		return 401;
	}
}

int admit_session(const struct wctx *w, struct lws *wsi, char *room, size_t *room_len,
		  char *id, time_t *expires, char *err, size_t errlen)
{
	struct auth_identity ai;

	err[0] = '\0';
	*expires = 0;
	if (admit_target(w->conf, wsi, room, room_len) != 0)
		return -1;
	if (!w->conf->auth_enabled) {
		msg_uuid(id);
		return 0;
	}
	if (admit_identify(w, wsi, *room_len ? room : NULL, &ai, err, errlen) != 0)
		return -1;
	memcpy(id, ai.sub, sizeof(ai.sub));
	*expires = ai.expires;
	return 0;
}
