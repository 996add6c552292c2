/* SPDX-License-Identifier: MIT */
/*
 * http_resp.h - a whole HTTP response on one transaction, and keep-alive
 * or close after it.  Worker only (http.c, http_members.c).
 */
#ifndef CHATD_HTTP_RESP_H
#define CHATD_HTTP_RESP_H

#include <stddef.h>
#include <libwebsockets.h>

struct wctx;

/* Send a complete response (status, headers, body) on an HTTP transaction;
 * hdrs: NULL or extra "name:", "value" pairs ending with NULL.  A HEAD
 * request gets the headers only.  0, or -1 when lws could not take it. */
int http_resp_hdrs(struct lws *wsi, int status, const char *ctype,
		   const char *const *hdrs, const char *body, size_t len);

/* http_resp_hdrs() without extra headers. */
int http_resp(struct lws *wsi, int status, const char *ctype, const char *body, size_t len);

/* A JSON error {"error":..,"message":why} whose "error" names status: 400
 * bad_request, 401 unauthorized, 403 forbidden, else unavailable.  why
 * holds no quotes or backslashes.  What http_resp() returns. */
int http_resp_error(struct lws *wsi, int status, const char *why);

/* After an answered request: 0 to keep the connection for the next one,
 * -1 to close it (the client said close, or w is draining or stopping:
 * it leaves when its last connection is gone). */
int http_resp_end(struct wctx *w, struct lws *wsi);

#endif
