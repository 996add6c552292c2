/* SPDX-License-Identifier: MIT */
/*
 * t_chat.c - the chat protocol through the real daemon: the welcome, the
 * forms of the URL and bad room names, rooms across workers, exactly-once
 * delivery in order, ping, presence, bad input, the message size limit,
 * invalid UTF-8, stats that match the traffic, and a presence join storm.
 */
#include "harness.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return s[14] == '4';
}

/* "2026-01-15T10:30:00.123Z" */
static int is_rfc3339_ms(const char *s)
{
	const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";

	if (strlen(s) != strlen(pat))
		return 0;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != pat[i])
			return 0;
	return 1;
}

/* ---- message shapes ------------------------------------------------------------ */

static void t_welcome_fields(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	struct wsc *a;
	json_t *j, *d;
	char id[64];

	CHECK(h, "start");
	CHECK((a = ws_open(h, WS "/lobby")), "connect");
	j = ws_recv_json(a, 3000);
	d = json_object_get(j, "data");
	CHECK(j, "no first message");
	CHECK(strcmp(js(j, "type"), "system") == 0 && strcmp(js(j, "from"), "server") == 0,
	      "welcome type/from: %s/%s", js(j, "type"), js(j, "from"));
	CHECK(strcmp(js(j, "room"), "lobby") == 0 && strcmp(js(d, "room"), "lobby") == 0,
	      "welcome room");
	CHECK(strcmp(js(d, "event"), "welcome") == 0, "event '%s'", js(d, "event"));
	CHECK(is_uuid(js(d, "client_id")), "client_id '%s'", js(d, "client_id"));
	CHECK(is_uuid(js(j, "id")), "id '%s'", js(j, "id"));
	CHECK(is_rfc3339_ms(js(j, "timestamp")), "timestamp '%s'", js(j, "timestamp"));
	snprintf(id, sizeof(id), "%s", js(d, "client_id"));
	json_decref(j);
	/* whatever a client puts in id/from/timestamp/room is ignored */
	CHECK(ws_sendf(a, "{\"type\":\"chat\",\"id\":\"x\",\"from\":\"evil\",\"timestamp\":\"t\","
			  "\"room\":\"other\",\"data\":{\"content\":\"hi\"}}") == 0, "send");
	j = ws_recv_type(a, "chat", 3000);
	d = json_object_get(j, "data");
	CHECK(j, "own chat not received");
	CHECK(strcmp(js(j, "from"), id) == 0, "from '%s', want '%s'", js(j, "from"), id);
	CHECK(strcmp(js(j, "room"), "lobby") == 0, "room '%s'", js(j, "room"));
	CHECK(is_uuid(js(j, "id")) && is_rfc3339_ms(js(j, "timestamp")), "id/timestamp");
	CHECK(strcmp(js(d, "content"), "hi") == 0, "data.content");
	json_decref(j);
	wsc_free(a);
	CHECK(chatd_stop(h, 5000) == 0, "exit status");
}

/* ---- the URL and the room ------------------------------------------------ */

static void t_url_forms(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	const char *paths[] = { WS, WS "/lobby", WS "?room=lobby" };
	const char *rooms[] = { NULL, "lobby", "lobby" };

	CHECK(h, "start");
	for (int i = 0; i < 3; i++) {
		int st = 0;
		struct wsc *c = wsc_connect(HOST, h->port, paths[i], NULL, 3000, &st);
		json_t *j, *d;

		CHECK(c && st == 101, "%s: HTTP %d", paths[i], st);
		j = ws_recv_json(c, 3000);
		d = json_object_get(j, "data");
		CHECK(j && strcmp(js(d, "event"), "welcome") == 0, "%s: no welcome", paths[i]);
		if (rooms[i])
			CHECK(strcmp(js(j, "room"), rooms[i]) == 0 &&
			      strcmp(js(d, "room"), rooms[i]) == 0, "%s: room", paths[i]);
		else
			CHECK(!json_is_string(json_object_get(j, "room")), "%s: global has room",
			      paths[i]);
		json_decref(j);
		wsc_free(c);
	}
}

static void t_bad_room(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	char long_room[sizeof(WS) + 140], long_arg[sizeof(WS) + 160], long_q[sizeof(WS) + 1300];
	const char *paths[] = { WS "/bad%20room", long_room, WS "?room=a/b", WS "/stats",
				WS "/a$b", WS "?room=", long_arg, long_q };

	CHECK(h, "start");
	snprintf(long_room, sizeof(long_room), WS "/%0129d", 7);
	/* a ?room= longer than lws's argument buffer, or a long argument before
	 * it, must not quietly mean the global channel */
	snprintf(long_arg, sizeof(long_arg), WS "?room=%0140d", 7);
	snprintf(long_q, sizeof(long_q), WS "?x=%01200d&room=lobby", 7);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int st = 0;
		struct wsc *c = wsc_connect(HOST, h->port, paths[i], NULL, 3000, &st);

		wsc_free(c);
		CHECK(!c && st == 400, "%s: HTTP %d, want 400", paths[i], st);
	}
	/* 128 bytes is still a room */
	snprintf(long_room, sizeof(long_room), WS "/%0128d", 7);
	struct wsc *c = ws_join(h, long_room, NULL, 0);
	CHECK(c, "128-byte room refused");
	wsc_free(c);
	CHECK(wsc_http_request(HOST, h->port, "GET", "/healthz", NULL, NULL, 2000, NULL, NULL, 0) >= 0,
	      "server died after bad rooms");
	json_t *j = harness_stats(h);
	long long rej = stats_num(j, "rejected_upgrades");
	json_decref(j);
	CHECK(rej == (long long)(sizeof(paths) / sizeof(paths[0])),
	      "rejected_upgrades %lld, want %zu", rej, sizeof(paths) / sizeof(paths[0]));
}

/* ---- rooms across workers ------------------------------------------------------ */

struct tally { int n; int *chat; int *other_room; const char *room_of_marker; };

static void tally_chat(int i, const struct wsc_msg *m, void *arg)
{
	struct tally *t = arg;

	if (m && m->opcode == WSC_OP_TEXT && strstr(m->data, "\"type\":\"chat\""))
		t->chat[i]++;
}

static int tally_want(void *arg)
{
	struct tally *t = arg;

	for (int i = 0; i < t->n; i++)
		if (t->chat[i] < t->other_room[i])
			return 0;
	return 1;
}

static void t_rooms_across_workers(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2,
		.conf = "presence off\n" });
	struct wsc *c[41];
	int chat[41] = { 0 }, want[41] = { 0 };
	struct tally t = { 41, chat, want, NULL };

	CHECK(h, "start");
	for (int i = 0; i < 40; i++)
		CHECK((c[i] = ws_join(h, i < 20 ? WS "/ra" : WS "/rb", NULL, 0)), "connect %d", i);
	CHECK((c[40] = ws_join(h, WS, NULL, 0)), "connect global");
	CHECK(stats_wait(h, "connections", 41, 3000) == 41, "connections");
	json_t *j = harness_stats(h), *w;
	size_t k;
	CHECK(j, "stats");
	json_array_foreach(json_object_get(j, "workers"), k, w)
		CHECK(stats_num(w, "rooms") >= 2, "worker %zu has %lld rooms: members of one room "
		      "do not span both workers", k, stats_num(w, "rooms"));
	json_decref(j);

	/* room a: every member of a (both workers, sender included), nobody else */
	CHECK(ws_sendf(c[3], "{\"type\":\"chat\",\"data\":{\"to\":\"a\"}}") == 0, "send");
	for (int i = 0; i < 20; i++)
		want[i] = 1;
	CHECK(ws_pump(c, 41, 3000, tally_chat, tally_want, &t) == 0, "room a not reached");
	ws_pump(c, 41, 400, tally_chat, ws_pump_never, &t);
	for (int i = 0; i < 41; i++)
		CHECK(chat[i] == want[i], "client %d (%s) got %d chats, want %d", i,
		      i < 20 ? "a" : i < 40 ? "b" : "global", chat[i], want[i]);

	/* global: every connection, room members included */
	CHECK(ws_sendf(c[40], "{\"type\":\"chat\",\"data\":{\"to\":\"all\"}}") == 0, "send");
	for (int i = 0; i < 41; i++)
		want[i]++;
	CHECK(ws_pump(c, 41, 3000, tally_chat, tally_want, &t) == 0, "global not reached");
	ws_pump(c, 41, 400, tally_chat, ws_pump_never, &t);
	for (int i = 0; i < 41; i++)
		CHECK(chat[i] == want[i], "after global: client %d got %d chats, want %d",
		      i, chat[i], want[i]);
	ws_free_all(c, 41);
}

/* ---- exactly once, in order ---------------------------------------------------- */

#define EO_CLIENTS 200
#define EO_ROOMS   4
#define EO_SENDERS 5
#define EO_BURST   100

struct eo {
	char   ids[EO_CLIENTS][64];
	int    next[EO_CLIENTS][EO_SENDERS];   /* next expected seq per sender */
	int    sender_client[EO_SENDERS];
	int    errors;
	char   first_error[256];
	int    ended;
};

static void eo_error(struct eo *e, const char *fmt, int a, int b, int c)
{
	if (e->errors++ == 0)
		snprintf(e->first_error, sizeof(e->first_error), fmt, a, b, c);
}

static void eo_msg(int i, const struct wsc_msg *m, void *arg)
{
	struct eo *e = arg;

	if (!m || m->opcode == WSC_OP_CLOSE) {
		e->ended++;
		eo_error(e, "client %d was disconnected (%d/%d)", i, 0, 0);
		return;
	}
	if (m->opcode != WSC_OP_TEXT || !strstr(m->data, "\"type\":\"chat\""))
		return;
	json_t *j = json_loadb(m->data, m->len, 0, NULL), *d = json_object_get(j, "data");
	int s = (int)json_integer_value(json_object_get(d, "s"));
	int q = (int)json_integer_value(json_object_get(d, "q"));
	char room[8];

	snprintf(room, sizeof(room), "r%d", i % EO_ROOMS);
	if (!j || s < 0 || s >= EO_SENDERS)
		eo_error(e, "client %d: bad chat (%d %d)", i, s, q);
	else if (e->sender_client[s] % EO_ROOMS != i % EO_ROOMS || strcmp(js(j, "room"), room))
		eo_error(e, "client %d got sender %d's message from another room (q %d)", i, s, q);
	else if (strcmp(js(j, "from"), e->ids[e->sender_client[s]]) != 0)
		eo_error(e, "client %d: wrong from for sender %d (q %d)", i, s, q);
	else if (q != e->next[i][s])
		eo_error(e, "client %d: sender %d seq %d, want next", i, s, q);
	if (j && s >= 0 && s < EO_SENDERS)
		e->next[i][s] = q + 1;
	json_decref(j);
}

static int eo_done(void *arg)
{
	struct eo *e = arg;

	for (int i = 0; i < EO_CLIENTS; i++)
		for (int s = 0; s < EO_SENDERS; s++)
			if (e->sender_client[s] % EO_ROOMS == i % EO_ROOMS &&
			    e->next[i][s] < EO_BURST)
				return 0;
	return 1;
}

static void t_exactly_once_order(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	static struct eo e;
	struct wsc *c[EO_CLIENTS];
	char path[64];

	CHECK(h, "start");
	memset(&e, 0, sizeof(e));
	for (int i = 0; i < EO_CLIENTS; i++) {
		snprintf(path, sizeof(path), WS "/r%d", i % EO_ROOMS);
		CHECK((c[i] = ws_join(h, path, e.ids[i], sizeof(e.ids[i]))), "connect %d", i);
	}
	/* two senders in r0 (clients 0 and 4), one in each other room */
	int senders[EO_SENDERS] = { 0, 4, 1, 2, 3 };
	memcpy(e.sender_client, senders, sizeof(senders));
	CHECK(stats_wait(h, "connections", EO_CLIENTS, 3000) == EO_CLIENTS, "connections");
	for (int q = 0; q < EO_BURST; q++) {
		for (int s = 0; s < EO_SENDERS; s++)
			CHECK(ws_sendf(c[senders[s]], "{\"type\":\"chat\",\"data\":{\"s\":%d,\"q\":%d,"
				       "\"pad\":\"0123456789abcdef\"}}", s, q) == 0, "send");
		ws_pump(c, EO_CLIENTS, 0, eo_msg, ws_pump_now, &e);
	}
	int r = ws_pump(c, EO_CLIENTS, 15000, eo_msg, eo_done, &e);
	CHECK(e.errors == 0, "%d errors, first: %s", e.errors, e.first_error);
	CHECK(r == 0, "not every message arrived within 15 s");
	ws_pump(c, EO_CLIENTS, 500, eo_msg, ws_pump_never, &e);
	CHECK(e.errors == 0, "late: %d errors, first: %s", e.errors, e.first_error);
	for (int i = 0; i < EO_CLIENTS; i++)
		for (int s = 0; s < EO_SENDERS; s++)
			if (senders[s] % EO_ROOMS == i % EO_ROOMS)
				CHECK(e.next[i][s] == EO_BURST, "client %d sender %d: %d", i, s,
				      e.next[i][s]);
	long long in = stats_wait(h, "messages_in", EO_SENDERS * EO_BURST, 2000);
	CHECK(in == EO_SENDERS * EO_BURST, "messages_in %lld, want %d", in,
	      EO_SENDERS * EO_BURST);
	ws_free_all(c, EO_CLIENTS);
}

/* ---- ping, presence, bad input -------------------------------------------------- */

static void t_ping_pong(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	struct wsc *a, *b;
	json_t *j;

	CHECK(h, "start");
	CHECK((a = ws_join(h, WS "/pp", NULL, 0)) && (b = ws_join(h, WS "/pp", NULL, 0)),
	      "connect");
	CHECK(ws_sendf(a, "{\"type\":\"ping\"}") == 0, "send");
	j = ws_recv_type(a, "pong", 3000);
	CHECK(j, "no pong");
	json_decref(j);
	j = ws_recv_type(b, "pong", 500);
	CHECK(!j, "pong reached another client");
	/* a WebSocket ping control frame gets a pong frame with the same payload */
	CHECK(wsc_send_frame(a, WSC_OP_PING, 1, "abc", 3) == 0, "send ping");
	struct wsc_msg m;
	int r;
	do
		r = wsc_recv(a, 3000, &m);
	while (r > 0 && m.opcode != WSC_OP_PONG);
	CHECK(r > 0 && m.len == 3 && memcmp(m.data, "abc", 3) == 0, "no pong frame");
	wsc_free(a);
	wsc_free(b);
}

/* Next text frame on c that contains s, NUL-terminated in buf; 0, or -1 on
 * timeout or close. */
static int recv_text_with(struct wsc *c, const char *s, char *buf, size_t cap, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	struct wsc_msg m;

	while (mono_ms() < end) {
		if (wsc_recv(c, (int)(end - mono_ms()), &m) <= 0 || m.opcode == WSC_OP_CLOSE)
			return -1;
		if (m.opcode != WSC_OP_TEXT)
			continue;
		snprintf(buf, cap, "%.*s", (int)m.len, m.data);
		if (strstr(buf, s) != NULL)
			return 0;
	}
	return -1;
}

/*
 * data reaches the room byte for byte as the client wrote it, as the Go
 * service's json.RawMessage passes it: no re-encoding of numbers (0.1,
 * 1e-400, an integer past 64 bits, -0, 1.0), escapes or spacing.
 */
static void t_data_verbatim(void)
{
	static const char *const data[] = {
		"{\"n\":0.1,\"m\":1e-400}",
		"{\"big\":12345678901234567890,\"z\":-0,\"one\":1.0,\"s\":\"\\u00e9\","
		" \"o\" : {\"x\":[2E+3,\"}\"]}}",
	};
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	struct wsc *a, *b;
	char want[256], got[1024];

	CHECK(h, "start");
	CHECK((a = ws_join(h, WS "/verbatim", NULL, 0)) && (b = ws_join(h, WS "/verbatim", NULL, 0)),
	      "connect");
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]) && !itest_failed(); i++) {
		CHECK(ws_sendf(a, "{\"type\":\"chat\",\"data\":%s}", data[i]) == 0, "send");
		snprintf(want, sizeof(want), ",\"data\":%s,\"timestamp\":\"", data[i]);
		if (recv_text_with(b, "\"type\":\"chat\"", got, sizeof(got), 5000) < 0)
			itest_fail(__FILE__, __LINE__, "no chat frame arrived for %s", data[i]);
		else if (strstr(got, want) == NULL)
			itest_fail(__FILE__, __LINE__, "data changed on the way: sent %s, got %s",
				   data[i], got);
	}
	wsc_free(a);
	wsc_free(b);
}

/* Next presence frame on c: its status and from, or -1 on timeout. */
static int next_presence(struct wsc *c, char *from, char *status, int timeout_ms)
{
	json_t *j = ws_recv_type(c, "presence", timeout_ms);

	if (!j)
		return -1;
	snprintf(from, 64, "%s", js(j, "from"));
	snprintf(status, 16, "%s", js(json_object_get(j, "data"), "status"));
	json_decref(j);
	return 0;
}

static void t_presence(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	char ida[64], idb[64], from[64], st[16];
	struct wsc *a, *b;

	CHECK(h, "start");
	CHECK((a = ws_join(h, WS "/pr", ida, sizeof(ida))), "connect a");
	CHECK(next_presence(a, from, st, 3000) == 0 && !strcmp(from, ida) && !strcmp(st, "online"),
	      "joiner's own presence");
	CHECK((b = ws_join(h, WS "/pr", idb, sizeof(idb))), "connect b");
	CHECK(next_presence(b, from, st, 3000) == 0 && !strcmp(from, idb) && !strcmp(st, "online"),
	      "b: own online");
	CHECK(next_presence(a, from, st, 3000) == 0 && !strcmp(from, idb) && !strcmp(st, "online"),
	      "a: b online (got %s %s)", from, st);
	wsc_close(b, 1000);
	wsc_free(b);
	CHECK(next_presence(a, from, st, 3000) == 0 && !strcmp(from, idb) && !strcmp(st, "offline"),
	      "a: b offline");
	wsc_free(a);

	struct chatd *h2 = chatd_start(&(struct chatd_opts){ .conf = "presence off\n" });
	CHECK(h2, "start presence off");
	CHECK((a = ws_join(h2, WS "/pr", NULL, 0)) && (b = ws_join(h2, WS "/pr", NULL, 0)),
	      "connect");
	wsc_free(b);
	CHECK(next_presence(a, from, st, 600) == -1, "presence sent with presence off");
	wsc_free(a);
}

/* presence_max_members is decided at the join: a member announced online
 * while the room was small is announced offline even when the room has
 * grown past the limit since (else the others keep a ghost), and a member
 * whose online was skipped gets no offline either. */
static void t_presence_grown(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){
		.workers = 1, .conf = "presence_max_members 2\n" });
	char ida[64], idb[64], idc[64], from[64], st[16];
	struct wsc *a, *b, *c;

	CHECK(h, "start");
	CHECK((a = ws_join(h, WS "/grow", ida, sizeof(ida))), "connect a");
	CHECK((b = ws_join(h, WS "/grow", idb, sizeof(idb))), "connect b");
	CHECK(next_presence(a, from, st, 3000) == 0 && !strcmp(from, ida), "a: own online");
	CHECK(next_presence(a, from, st, 3000) == 0 && !strcmp(from, idb) && !strcmp(st, "online"),
	      "a: b online");
	CHECK((c = ws_join(h, WS "/grow", idc, sizeof(idc))), "connect c (room over the limit)");
	wsc_close(b, 1000);
	wsc_free(b);
	CHECK(next_presence(a, from, st, 3000) == 0 && !strcmp(from, idb) && !strcmp(st, "offline"),
	      "a: no offline for b, who was announced online (a ghost)");
	wsc_close(c, 1000);
	wsc_free(c);
	CHECK(next_presence(a, from, st, 800) == -1, "a: presence for c, who was never announced");
	wsc_free(a);
}

static void t_bad_input(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	const char *in[] = { "not json{", "{\"data\":{}}", "{\"type\":\"bogus\",\"data\":{}}",
			     "{\"type\":\"chat\",\"data\":\"str\"}", "{\"type\":42,\"data\":{}}" };
	const char *code[] = { "invalid_json", "missing_type", "unknown_type", "invalid_data",
			       NULL };
	struct wsc *a, *b;
	char ida[64];

	CHECK(h, "start");
	CHECK((a = ws_join(h, WS "/bad", ida, sizeof(ida))) && (b = ws_join(h, WS "/bad", NULL, 0)),
	      "connect");
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		CHECK(wsc_send_text(a, in[i], strlen(in[i])) == 0, "send");
		json_t *j = ws_recv_type(a, "error", 3000), *d = json_object_get(j, "data");
		CHECK(j, "no error for '%s'", in[i]);
		if (code[i])
			CHECK(strcmp(js(d, "code"), code[i]) == 0, "'%s': code '%s', want '%s'",
			      in[i], js(d, "code"), code[i]);
		CHECK(*js(d, "code") && *js(d, "message"), "'%s': error without code/message",
		      in[i]);
		json_decref(j);
	}
	CHECK(ws_sendf(a, "{\"type\":\"chat\",\"data\":{\"still\":\"here\"}}") == 0, "send");
	json_t *j = ws_recv_type(a, "chat", 3000);
	CHECK(j && strcmp(js(j, "from"), ida) == 0, "connection unusable after bad input");
	json_decref(j);
	j = ws_recv_json(b, 3000);
	while (j && strcmp(js(j, "type"), "chat") != 0) {
		CHECK(strcmp(js(j, "type"), "error") != 0, "another client got an error");
		json_decref(j);
		j = ws_recv_json(b, 3000);
	}
	CHECK(j, "b did not get the chat");
	json_decref(j);
	j = harness_stats(h);
	CHECK(stats_num(j, "errors_sent") == (long long)(sizeof(in) / sizeof(in[0])),
	      "errors_sent %lld", stats_num(j, "errors_sent"));
	json_decref(j);
	wsc_free(a);
	wsc_free(b);
}

/* ---- limits -------------------------------------------------------------- */

/* A chat message of exactly size bytes. */
#define CHAT_PRE  "{\"type\":\"chat\",\"data\":{\"p\":\""
#define CHAT_POST "\"}}"

static char *chat_of_size(size_t size)
{
	const char *pre = CHAT_PRE, *post = CHAT_POST;
	char *s = malloc(size + 1);
	size_t pl = strlen(pre), sl = strlen(post);

	if (!s)
		return NULL;
	memcpy(s, pre, pl);
	memset(s + pl, 'x', size - pl - sl);
	memcpy(s + size - sl, post, sl + 1);
	return s;
}

static void t_max_size(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	struct wsc *a, *b, *c;
	char *ok = chat_of_size(65536), *big = chat_of_size(65537);
	json_t *j;

	CHECK(h && ok && big, "start");
	CHECK((a = ws_join(h, WS "/sz", NULL, 0)) && (b = ws_join(h, WS "/sz", NULL, 0)) &&
	      (c = ws_join(h, WS "/sz", NULL, 0)), "connect");
	CHECK(wsc_send_text(a, ok, 65536) == 0, "send max");
	j = ws_recv_type(b, "chat", 3000);
	CHECK(j && strlen(js(json_object_get(j, "data"), "p")) == 65536 - strlen(CHAT_PRE CHAT_POST),
	      "a message of exactly max_message_size was not delivered");
	json_decref(j);
	CHECK(wsc_send_text(a, big, 65537) == 0, "send max+1");
	int code = ws_wait_close(a, 3000, NULL, 0);
	CHECK(code == 1009, "max+1: close code %d, want 1009 (%s)", code,
	      code == 0 ? strerror(wsc_error(a)) : "");
	/* the same over two fragments */
	CHECK(wsc_send_frame(c, WSC_OP_TEXT, 0, big, 40000) == 0 &&
	      wsc_send_frame(c, WSC_OP_CONT, 1, big + 40000, 65537 - 40000) == 0, "send frags");
	code = ws_wait_close(c, 3000, NULL, 0);
	CHECK(code == 1009, "fragmented max+1: close code %d, want 1009 (%s)", code,
	      code == 0 ? strerror(wsc_error(c)) : "");
	/* b is unaffected and got no oversize message */
	CHECK(ws_sendf(b, "{\"type\":\"chat\",\"data\":{\"after\":1}}") == 0, "send");
	j = ws_recv_type(b, "chat", 3000);
	CHECK(j && json_object_get(json_object_get(j, "data"), "after"),
	      "b got something else or nothing after the oversize closes");
	json_decref(j);
	j = harness_stats(h);
	CHECK(stats_num(j, "oversize_closes") == 2, "oversize_closes %lld",
	      stats_num(j, "oversize_closes"));
	json_decref(j);
	free(ok);
	free(big);
	wsc_free(a);
	wsc_free(b);
	wsc_free(c);
}

static void t_invalid_utf8(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ 0 });
	struct wsc *a, *b;
	const char bad[] = "{\"type\":\"chat\",\"data\":{\"t\":\"\xc3\x28\xff\"}}";

	CHECK(h, "start");
	CHECK((a = ws_join(h, WS "/u8", NULL, 0)) && (b = ws_join(h, WS "/u8", NULL, 0)),
	      "connect");
	CHECK(wsc_send_text(a, bad, sizeof(bad) - 1) == 0, "send");
	int code = ws_wait_close(a, 3000, NULL, 0);
	CHECK(code == 1007, "close code %d, want 1007", code);
	CHECK(ws_sendf(b, "{\"type\":\"chat\",\"data\":{\"ok\":1}}") == 0, "send");
	json_t *j = ws_recv_type(b, "chat", 3000);
	CHECK(j && json_object_get(json_object_get(j, "data"), "ok"), "b unaffected");
	json_decref(j);
	/* a reserved opcode is a protocol error (1002) */
	struct wsc *c = ws_join(h, WS "/u8", NULL, 0);
	CHECK(c, "connect c");
	CHECK(wsc_send_frame(c, 0x3, 1, "x", 1) == 0, "send");
	code = ws_wait_close(c, 3000, NULL, 0);
	CHECK(code == 1002 || code == 0, "reserved opcode: close %d", code);
	wsc_free(a);
	wsc_free(b);
	wsc_free(c);
}

static void t_stats_match(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	struct wsc *c[6];
	int chat[6] = { 0 }, want[6] = { 10, 10, 10, 10, 10, 10 };
	struct tally t = { 6, chat, want, NULL };

	CHECK(h, "start");
	for (int i = 0; i < 6; i++)
		CHECK((c[i] = ws_join(h, WS "/st", NULL, 0)), "connect %d", i);
	for (int k = 0; k < 10; k++)
		CHECK(ws_sendf(c[k % 6], "{\"type\":\"chat\",\"data\":{\"k\":%d}}", k) == 0, "send");
	CHECK(ws_pump(c, 6, 5000, tally_chat, tally_want, &t) == 0, "chats not delivered");
	CHECK(stats_wait(h, "messages_in", 10, 2000) == 10, "messages_in != 10");
	json_t *j = harness_stats(h), *w;
	size_t i;
	long long sum_in = 0, sum_conn = 0;
	CHECK(j, "stats");
	CHECK(stats_num(j, "connections") == 6, "connections %lld", stats_num(j, "connections"));
	/* "rooms" counts each worker's local rooms: one room on one or both workers */
	CHECK(stats_num(j, "rooms") >= 1 && stats_num(j, "rooms") <= 2, "rooms %lld",
	      stats_num(j, "rooms"));
	CHECK(stats_num(j, "frames_out") >= 60, "frames_out %lld", stats_num(j, "frames_out"));
	CHECK(stats_num(j, "bytes_out") >= 60 * 50, "bytes_out %lld", stats_num(j, "bytes_out"));
	json_array_foreach(json_object_get(j, "workers"), i, w) {
		sum_in += stats_num(w, "messages_in");
		sum_conn += stats_num(w, "connections");
	}
	CHECK(sum_in == 10 && sum_conn == 6, "per-worker sums %lld/%lld", sum_in, sum_conn);
	json_decref(j);
	ws_free_all(c, 6);
}

/* ---- presence join storm ----------------------------------------------------------- */

#define STORM 2000

struct storm { int *chat; int ended; const char *marker; };

static void storm_msg(int i, const struct wsc_msg *m, void *arg)
{
	struct storm *s = arg;

	if (!m || m->opcode == WSC_OP_CLOSE)
		s->ended++;
	else if (m->opcode == WSC_OP_TEXT && strstr(m->data, s->marker))
		s->chat[i]++;
}

static int storm_done(void *arg)
{
	struct storm *s = arg;

	for (int i = 0; i < STORM; i++)
		if (s->chat[i] < 1)
			return 0;
	return 1;
}

static void t_join_storm(void)
{
	struct chatd *h = chatd_start(&(struct chatd_opts){ .workers = 2 });
	static struct wsc *c[STORM];
	static int chat[STORM];
	struct storm s = { chat, 0, "storm-marker" };

	CHECK(h, "start");
	memset(chat, 0, sizeof(chat));
	long long t0 = mono_ms();
	for (int i = 0; i < STORM; i++) {
		long long ahead = t0 + i - mono_ms();   /* ~1,000 joins a second */

		if (ahead > 0)
			msleep((int)ahead);
		CHECK((c[i] = ws_open(h, WS "/storm")), "connect %d", i);
		if (i % 100 == 99)
			ws_pump(c, i + 1, 0, storm_msg, ws_pump_now, &s);
	}
	long long v = -1;
	for (long long t1 = mono_ms(); mono_ms() - t1 < 10000; ) {
		ws_pump(c, STORM, 200, storm_msg, ws_pump_never, &s);
		json_t *j = harness_stats(h);
		v = stats_num(j, "connections");
		json_decref(j);
		if (v == STORM)
			break;
	}
	CHECK(s.ended == 0, "%d clients were disconnected during the storm", s.ended);
	CHECK(v == STORM, "connections %lld, want %d", v, STORM);
	CHECK(ws_sendf(c[STORM - 1], "{\"type\":\"chat\",\"data\":{\"m\":\"%s\"}}", s.marker) == 0,
	      "send");
	int r = ws_pump(c, STORM, 15000, storm_msg, storm_done, &s);
	int missing = 0;
	for (int i = 0; i < STORM; i++)
		missing += chat[i] == 0;
	CHECK(r == 0, "%d of %d clients did not get the chat (%d ended)", missing, STORM, s.ended);
	CHECK(s.ended == 0, "%d clients were disconnected", s.ended);
	ws_free_all(c, STORM);
}

const struct itest_case t_chat_cases[] = {
	{ "chat_welcome_fields", t_welcome_fields, 0 },
	{ "chat_url_forms", t_url_forms, 0 },
	{ "chat_bad_room", t_bad_room, 0 },
	{ "chat_rooms_across_workers", t_rooms_across_workers, 0 },
	{ "chat_exactly_once_order", t_exactly_once_order, 0 },
	{ "chat_ping_pong", t_ping_pong, 0 },
	{ "chat_data_verbatim", t_data_verbatim, 0 },
	{ "chat_presence", t_presence, 0 },
	{ "chat_presence_grown", t_presence_grown, 0 },
	{ "chat_bad_input", t_bad_input, 0 },
	{ "chat_max_size", t_max_size, 0 },
	{ "chat_invalid_utf8", t_invalid_utf8, 0 },
	{ "chat_stats_match", t_stats_match, 0 },
	{ "chat_join_storm", t_join_storm, 120 },
	{ NULL, NULL, 0 },
};
