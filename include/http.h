/*
 * http.h - the HTTP side of a worker: /healthz, stats, 404s, 426 for plain
 * GETs on WebSocket paths, and the decision of which room an upgrade joins.
 */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include <stddef.h>
#include <libwebsockets.h>

struct worker;
struct conf;
struct auth_identity;

/* Which room does this upgrade request ask for?  Fills room (room_len 0 =
 * global) and returns 0, or the HTTP status to refuse it with (400/404). */
int http_ws_target(struct worker *w, struct lws *wsi, char *room, size_t *room_len);

/* The pure part of http_ws_target(): uri is the decoded path, room_arg the
 * value of its ?room= (NULL: none).  Same results. */
int http_ws_target_of(const struct conf *c, const char *uri, const char *room_arg, char *room,
		      size_t *room_len);

/* With auth on, verify the upgrade's token (Authorization: Bearer, else
 * ?token=) for room (NULL = global): 0 with *id filled, else the HTTP status
 * (401/403, 503 without a verifier) and *why.  With auth off: 0, id zeroed. */
int http_ws_identify(struct worker *w, struct lws *wsi, const char *room,
		     struct auth_identity *id, const char **why);

/* HTTP reasons of the protocol callback (worker.c dispatches). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		  void *in, size_t len);

/* What is wrong with an upgrade's own headers (RFC 6455 section 4.2.1). */
enum http_hs { HS_OK, HS_BAD_UPGRADE, HS_BAD_CONNECTION, HS_BAD_KEY, HS_BAD_VERSION };

/* Check an upgrade's Upgrade, Connection, Sec-WebSocket-Key and
 * Sec-WebSocket-Version values (NULL: the header is absent), in that order;
 * the first one wrong is the answer.  Pure: any process, no state. */
enum http_hs http_handshake_check(const char *upgrade, const char *connection,
				  const char *key, const char *version);

#endif
