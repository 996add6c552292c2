/* SPDX-License-Identifier: MIT */
/*
 * http_members.c - GET {prefix}/rooms/{room}/members and
 * {prefix}/global/members: the request checked (room, ?limit, ?cursor, the
 * token), asked of the master through wroster.c, and the answer written at
 * HTTP_WRITEABLE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "admit.h"
#include "auth.h"
#include "chatd.h"
#include "conn.h"
#include "http_members.h"
#include "http_resp.h"
#include "rosterrec.h"
#include "shm.h"
#include "wctx.h"
#include "wroster.h"

/* The master's answer (wroster.c): kept for HTTP_WRITEABLE. */
static void members_reply(struct wctx *w, struct lws *wsi, int status, const char *body,
			  size_t len)
{
	struct conn *c = lws_wsi_user(wsi);

	(void)w;
	if (c == NULL || (c->http_body = malloc(len ? len : 1)) == NULL) {
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return;
	}
	memcpy(c->http_body, body, len);
	c->http_len = len;
	c->http_status = (uint16_t)status;
	lws_callback_on_writable(wsi);
}

int http_members_write(struct lws *wsi, struct conn *c)
{
	int rc;

	if (c == NULL || c->http_body == NULL)
		return 0;
	rc = http_resp(wsi, c->http_status, "application/json", c->http_body, c->http_len);
	free(c->http_body);
	c->http_body = NULL;
	if (rc < 0)
		return -1;
	return http_resp_end(wctx_of(wsi), wsi);
}

/* ?limit=N (1..ROSTER_LIMIT_MAX) and ?cursor=ID: 0, or -1 when bad. */
static int members_args(struct lws *wsi, unsigned *limit, char *cursor, size_t *cursor_len)
{
	char arg[ADMIT_URI_MAX], *end;
	const char *v;
	unsigned long n;

	*limit = 0;
	*cursor_len = 0;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) >= (int)sizeof(arg) - 1)
		return -1;
	if ((v = lws_get_urlarg_by_name(wsi, "limit=", arg, (int)sizeof(arg))) != NULL) {
		n = strtoul(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end != '\0' || n < 1 || n > ROSTER_LIMIT_MAX)
			return -1;
		*limit = (unsigned)n;
	}
	if ((v = lws_get_urlarg_by_name(wsi, "cursor=", arg, (int)sizeof(arg))) != NULL) {
		if (strlen(v) > CHATD_CLIENT_ID_MAX)
			return -1;
		*cursor_len = strlen(v);
		memcpy(cursor, v, *cursor_len);
	}
	return 0;
}

/* Ask the master; 1 when asked (answered later), else what http_resp() says. */
int http_members_request(struct wctx *w, struct lws *wsi, const char *uri)
{
	char room[CHATD_ROOM_MAX + 1], cursor[CHATD_CLIENT_ID_MAX];
	size_t rl, cl;
	unsigned limit;
	struct auth_identity id;
	char why[CHATD_ERR_MAX];
	int st;

	if (admit_members_room(w->conf, uri, room, &rl) != 0)
		return http_resp_error(wsi, 400, "bad room name");
	if (members_args(wsi, &limit, cursor, &cl) < 0)
		return http_resp_error(wsi, 400, "bad limit or cursor");
	st = admit_identify(w, wsi, rl == ROSTER_GLOBAL_LEN && room[0] == '*' ? NULL : room, &id,
			    why, sizeof(why));
	if (st != 0) {
		stats_add(&w->st->auth_refused, 1);
		return http_resp_error(wsi, st, why);
	}
	if (wroster_ask(w, wsi, members_reply, room, rl, limit, cursor, cl) < 0)
		return http_resp_error(wsi, 503, "too many roster requests: try again");
	return 1;
}
