/* SPDX-License-Identifier: MIT */
/*
 * http.h - the HTTP side of a worker: upgrades refused, /healthz, stats,
 * the demo page, publishing, 404s, 426 for plain GETs on WebSocket paths.
 */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include <stddef.h>
#include <libwebsockets.h>

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
