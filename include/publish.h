/* SPDX-License-Identifier: MIT */
/*
 * publish.h - the HTTP publish API: POST {prefix}/publish with
 *     {"room": "...", "type": "notification"|"system"|"chat", "data": {...}}
 * authorised by `Authorization: Bearer <publish_key>`.  The message is
 * stamped (id, timestamp, from = publish_from) and goes up the uplink like
 * a client's chat message, so it reaches every pod.
 */
#ifndef CHATD_PUBLISH_H
#define CHATD_PUBLISH_H

#include <stddef.h>
#include "chatd.h"

struct wctx;

/* Why a publish request was refused; each has an HTTP status and a code. */
enum publish_err {
	PUBLISH_OK = 0,
	PUBLISH_EDISABLED,  /* 403 publish_disabled: no publish_key configured */
	PUBLISH_ENOKEY,     /* 401 missing_key: no Authorization: Bearer */
	PUBLISH_EBADKEY,    /* 401 invalid_key */
	PUBLISH_EMETHOD,    /* 405 method_not_allowed */
	PUBLISH_ELENGTH,    /* 411 length_required: no Content-Length */
	PUBLISH_ETOOBIG,    /* 413 body_too_large: over max_message_size */
	PUBLISH_EJSON,      /* 400 invalid_json: not JSON, or not an object */
	PUBLISH_EROOM,      /* 400 invalid_room */
	PUBLISH_ETYPE,      /* 400 invalid_type */
	PUBLISH_EDATA,      /* 400 invalid_data: data not an object */
	PUBLISH_EBUSY,      /* 503 overloaded: the uplink was full */
};

int publish_status(enum publish_err e);       /* 401, 403, ... */
const char *publish_err_code(enum publish_err e);
const char *publish_err_text(enum publish_err e);

/* Check an Authorization header value (NULL: absent) against key
 * ("" = publishing disabled); constant time in the key's length. */
enum publish_err publish_auth(const char *key, const char *authorization);

/* A validated request, built into a frame. */
struct publish_msg {
	char   room[CHATD_ROOM_MAX + 1];
	size_t room_len;               /* 0 = global */
	size_t frame_len;
};

/* Validate body[0..len) and build the frame into buf (cap bytes) with
 * msg_build, from = `from` ("" = "server").  PUBLISH_OK with *out filled,
 * or the error (PUBLISH_ETOOBIG when the stamped frame does not fit). */
enum publish_err publish_build(const char *body, size_t len, const char *from,
			       char *buf, size_t cap, struct publish_msg *out);

/* The JSON body answering a request: {"id":...,"room":...,"timestamp":...}
 * taken from the frame on success, else {"error":code,"message":text}.
 * malloc'd, *len set; NULL on ENOMEM. */
char *publish_answer(enum publish_err e, const char *frame, size_t frame_len, size_t *len);

/*
 * Handle a complete request in a worker whose key and size were checked
 * from its head (http.c): validate, send the frame up the uplink, count it.
 * *status gets the HTTP status; returns the malloc'd JSON answer (NULL on
 * ENOMEM), length in *alen.
 */
char *publish_handle(struct wctx *w, const char *body, size_t len, int *status,
		     size_t *alen);

#endif
