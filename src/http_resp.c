/* SPDX-License-Identifier: MIT */
/*
 * http_resp.c - a whole HTTP response on one transaction (status, headers,
 * a small body; none for HEAD), and what follows an answered request:
 * keep-alive, or close.  http.c and http_members.c answer through it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "chatd.h"
#include "http_resp.h"
#include "wctx.h"

/* Send a complete response (status, headers, body) on an HTTP transaction;
 * hdrs: NULL or extra "name:", "value" pairs ending with NULL. */
int http_resp_hdrs(struct lws *wsi, int status, const char *ctype,
		   const char *const *hdrs, const char *body, size_t len)
{
	unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
		      *end = buf + sizeof(buf) - 1;
	unsigned char *out;

	if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end))
		return -1;
	for (; hdrs != NULL && hdrs[0] != NULL; hdrs += 2)
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)hdrs[0],
						(const unsigned char *)hdrs[1],
						(int)strlen(hdrs[1]), &p, end))
			return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	/* HEAD: the GET's headers, Content-Length included, and no body */
	if (len == 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0)
		return 0;
	out = malloc(LWS_PRE + len);
	if (out == NULL)
		return -1;
	memcpy(out + LWS_PRE, body, len);
	/* small bodies: lws keeps any unsent tail itself */
	if (lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) < 0) {
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

int http_resp(struct lws *wsi, int status, const char *ctype, const char *body, size_t len)
{
	return http_resp_hdrs(wsi, status, ctype, NULL, body, len);
}

int http_resp_error(struct lws *wsi, int status, const char *why)
{
	const char *err = status == 400 ? "bad_request" : status == 401 ? "unauthorized" :
			  status == 403 ? "forbidden" : "unavailable";
	char body[CHATD_ERR_MAX + 64];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}\n", err,
			 why);

	if (n < 0)
		return -1;
	return http_resp(wsi, status, "application/json", body,
			 (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1);
}

/* An answered request: keep the connection alive for the next one, unless
 * the client said close or this worker is on its way out (draining or
 * stopping), as it leaves when its last connection is gone (worker.c). */
int http_resp_end(struct wctx *w, struct lws *wsi)
{
	if (lws_http_transaction_completed(wsi))
		return -1;
	return w->draining || w->stopping ? -1 : 0;
}
