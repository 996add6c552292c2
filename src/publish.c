/* SPDX-License-Identifier: MIT */
/*
 * publish.c - the HTTP publish API: key check, body validation, the frame
 * built with msg_build, and the hand-off to the uplink (wctx_uplink), the
 * same path a client's chat message takes, so every pod delivers it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "conf.h"
#include "jspan.h"
#include "msg.h"
#include "publish.h"
#include "room.h"
#include "shm.h"
#include "wctx.h"

static const struct {
	int status;
	const char *code, *text;
} errs[] = {
	[PUBLISH_OK]        = { 200, "ok", "published" },
	[PUBLISH_EDISABLED] = { 403, "publish_disabled",
				"the publish API is disabled: set publish_key in chatd.conf" },
	[PUBLISH_ENOKEY]    = { 401, "missing_key", "send the API key as Authorization: Bearer KEY" },
	[PUBLISH_EBADKEY]   = { 401, "invalid_key", "the API key is wrong" },
	[PUBLISH_EMETHOD]   = { 405, "method_not_allowed", "use POST" },
	[PUBLISH_ELENGTH]   = { 411, "length_required", "send the body with a Content-Length" },
	[PUBLISH_ETOOBIG]   = { 413, "body_too_large", "the message is over max_message_size" },
	[PUBLISH_EJSON]     = { 400, "invalid_json", "the body is not a JSON object" },
	[PUBLISH_EROOM]     = { 400, "invalid_room",
				"room must be 1-128 bytes of A-Z a-z 0-9 . _ : - (omit it for global)" },
	[PUBLISH_ETYPE]     = { 400, "invalid_type",
				"type must be \"notification\", \"system\" or \"chat\"" },
	[PUBLISH_EDATA]     = { 400, "invalid_data", "data must be a JSON object" },
	[PUBLISH_EBUSY]     = { 503, "overloaded", "server busy: message dropped, send it again" },
};

int publish_status(enum publish_err e)
{
	return errs[e].status;
}

const char *publish_err_code(enum publish_err e)
{
	return errs[e].code;
}

const char *publish_err_text(enum publish_err e)
{
	return errs[e].text;
}

enum publish_err publish_auth(const char *key, const char *authorization)
{
	const char *tok;
	size_t kl = strlen(key), tl;
	unsigned char diff = 0;

	if (kl == 0)
		return PUBLISH_EDISABLED;
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return PUBLISH_ENOKEY;
	for (tok = authorization + 7; *tok == ' '; tok++)
		;
	tl = strlen(tok);
	while (tl > 0 && tok[tl - 1] == ' ')
		tl--;
	if (tl == 0)
		return PUBLISH_ENOKEY;
	/* every byte of the key is compared, whatever the token's length */
	for (size_t i = 0; i < kl; i++)
		diff |= (unsigned char)(key[i] ^ (i < tl ? tok[i] : ~key[i]));
	return diff == 0 && tl == kl ? PUBLISH_OK : PUBLISH_EBADKEY;
}

static enum publish_err check_type(json_t *t, const char **type)
{
	static const char *const ok[] = { "notification", "system", "chat" };

	if (t == NULL) {
		*type = "notification";
		return PUBLISH_OK;
	}
	for (size_t i = 0; json_is_string(t) && i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(json_string_value(t), ok[i]) == 0) {
			*type = ok[i];
			return PUBLISH_OK;
		}
	return PUBLISH_ETYPE;
}

static enum publish_err check_room(json_t *r, struct publish_msg *out)
{
	const char *s;
	size_t n;

	out->room_len = 0;
	out->room[0] = '\0';
	if (r == NULL || json_is_null(r))
		return PUBLISH_OK;
	if (!json_is_string(r))
		return PUBLISH_EROOM;
	s = json_string_value(r);
	n = json_string_length(r);
	if (n > CHATD_ROOM_MAX || strlen(s) != n || !room_name_valid(s, n))
		return PUBLISH_EROOM;
	memcpy(out->room, s, n + 1);
	out->room_len = n;
	return PUBLISH_OK;
}

enum publish_err publish_build(const char *body, size_t len, const char *from,
			       char *buf, size_t cap, struct publish_msg *out)
{
	/* as msg_parse() reads a client's message: data goes on as written */
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL,
				  NULL), *data;
	const char *raw = NULL;
	size_t raw_len = 0;
	enum publish_err e;
	const char *type = NULL;

	if (!json_is_object(root)) {
		json_decref(root);
		return PUBLISH_EJSON;
	}
	data = json_object_get(root, "data");
	e = check_room(json_object_get(root, "room"), out);
	if (e == PUBLISH_OK)
		e = check_type(json_object_get(root, "type"), &type);
	if (e == PUBLISH_OK && data != NULL &&
	    (!json_is_object(data) || jspan_member(body, len, "data", &raw, &raw_len) != JSPAN_FOUND))
		e = PUBLISH_EDATA;
	if (e == PUBLISH_OK) {
		out->frame_len = msg_build_raw(buf, cap, type, out->room_len ? out->room : NULL,
					       from && *from ? from : "server", raw, raw_len);
		if (out->frame_len == 0)
			e = PUBLISH_ETOOBIG;
	}
	json_decref(root);
	return e;
}

char *publish_answer(enum publish_err e, const char *frame, size_t frame_len, size_t *len)
{
	json_t *o, *f = NULL;
	char *s;

	if (e == PUBLISH_OK && (f = json_loadb(frame, frame_len, 0, NULL)) != NULL) {
		o = json_object();
		json_object_set(o, "id", json_object_get(f, "id"));
		if (json_object_get(f, "room") != NULL)
			json_object_set(o, "room", json_object_get(f, "room"));
		json_object_set(o, "type", json_object_get(f, "type"));
		json_object_set(o, "timestamp", json_object_get(f, "timestamp"));
		json_decref(f);
	} else {
		o = json_pack("{ssss}", "error", publish_err_code(e), "message", publish_err_text(e));
	}
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s != NULL && len != NULL)
		*len = strlen(s);
	return s;
}

char *publish_handle(struct wctx *w, const char *body, size_t len, int *status,
		     size_t *alen)
{
	struct publish_msg pm;
	enum publish_err e = publish_build(body, len, w->conf->publish_from, w->scratch,
					   w->scratch_len, &pm);

	if (e == PUBLISH_OK && wctx_uplink(w, REC_STORE, pm.room, pm.room_len, w->scratch,
					   pm.frame_len) != RING_OK)
		e = PUBLISH_EBUSY;
	stats_add(e == PUBLISH_OK ? &w->st->publishes : &w->st->publish_errors, 1);
	*status = publish_status(e);
	return publish_answer(e, w->scratch, e == PUBLISH_OK ? pm.frame_len : 0, alen);
}
