/* SPDX-License-Identifier: MIT */
/*
 * msg.h - the chat protocol (SPEC.md section 3): parse and validate what a
 * client sends, build what chatd sends.  Pure functions over jansson; any
 * process may call them.
 */
#ifndef CHATD_MSG_H
#define CHATD_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* What a client may send. */
enum msg_kind { MSG_CHAT, MSG_PING, MSG_MEMBERS };

#define MSG_MEMBERS_MAX 1000  /* a members request's largest limit */

/* Why a client message was refused: data.code of the `error` answer. */
enum msg_err {
	MSG_OK = 0,
	MSG_EJSON,      /* "invalid_json": not JSON, or not an object */
	MSG_ENOTYPE,    /* "missing_type": no "type" string */
	MSG_EBADTYPE,   /* "unknown_type": a type clients may not send */
	MSG_EDATA,      /* "invalid_data": "data" present but not an object */
};

/*
 * A parsed client message.  data is owned by the struct (NULL for ping).
 * raw/raw_len is the client's own JSON text of "data" (chat only; "{}" when
 * absent), pointing into the parsed buffer: it is what msg_build_raw() sends
 * on, byte for byte, so numbers and escapes arrive as they were written.
 */
struct msg_in {
	enum msg_kind kind;
	json_t *data;
	const char *raw;
	size_t raw_len;
	unsigned limit;          /* members: data.limit, 0 when absent */
	size_t cursor_len;       /* members: data.cursor (not NUL-terminated) */
	char cursor[65];
};

/* Parse buf[0..len).  MSG_OK with *out filled (release with msg_in_clear;
 * raw stays valid as long as buf), or an error code. Chat without "data"
 * gets an empty object. */
enum msg_err msg_parse(const char *buf, size_t len, struct msg_in *out);
void msg_in_clear(struct msg_in *m);

/* Is buf[0..len), which came from another pod, a frame chatd may deliver?
 * Checked as strictly as a client's (UTF-8 JSON object, no duplicate keys,
 * a "type" string) and more: a type pods exchange (chat, notification,
 * presence with status online/offline; system only from publish_from, as
 * the publish API sends it), a "from" string, "data" an object when present,
 * and "room" exactly room[0..room_len) (absent when room_len is 0).  1 or 0. */
int msg_peer_valid(const char *buf, size_t len, const char *room, size_t room_len,
		   const char *publish_from);
const char *msg_err_code(enum msg_err e);     /* "invalid_json", ... */
const char *msg_err_text(enum msg_err e);     /* a sentence for data.message */

/*
 * Serialise one outgoing frame into buf (cap bytes), compact, fields in the
 * order id, type, room, from, data, timestamp.  id and timestamp are made
 * here; room NULL or "" = global (the field is omitted); data NULL = {}.
 * Returns the length (no NUL), or 0 if it did not fit.
 */
size_t msg_build(char *buf, size_t cap, const char *type, const char *room,
		 const char *from, const json_t *data);

/*
 * msg_build() with data given as JSON text, copied verbatim (the client's
 * bytes, as msg_parse() found them: it must be a valid JSON object).
 */
size_t msg_build_raw(char *buf, size_t cap, const char *type, const char *room,
		     const char *from, const char *data, size_t data_len);

/* Convenience builders over msg_build for server-made messages. */
size_t msg_build_error(char *buf, size_t cap, const char *room, const char *code,
		       const char *text);
size_t msg_build_presence(char *buf, size_t cap, const char *room, const char *from,
			  int online);
size_t msg_build_welcome(char *buf, size_t cap, const char *room, const char *client_id);

/* A random UUID v4, 36 chars + NUL. */
void msg_uuid(char out[37]);
/* 64 random bits from the same per-process generator (conn.c: heartbeat
 * phases).  Not for secrets. */
uint64_t msg_random(void);
/* Now as RFC 3339 UTC with milliseconds, "2026-01-15T10:30:00.123Z" + NUL. */
void msg_timestamp(char out[25]);
/* The same for ms milliseconds since the epoch. */
void msg_timestamp_ms(uint64_t ms, char out[25]);

#endif
