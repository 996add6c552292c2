/* SPDX-License-Identifier: MIT */
/*
 * worker.c - a worker process: the libwebsockets context on the worker's
 * libuv loop (wloop.c), its own SO_REUSEPORT listener (accepted by hand in
 * accept.c, then adopted by lws), the broadcast ring read on each eventfd
 * wake, signals, and the drain/stop sequences.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "accept.h"
#include "alog.h"
#include "auth.h"
#include "chatd.h"
#include "conf.h"
#include "gate.h"
#include "hjoin.h"
#include "http.h"
#include "log.h"
#include "record.h"
#include "signals.h"
#include "title.h"
#include "tls.h"
#include "wctx.h"
#include "wloop.h"
#include "worker.h"
#include "ws.h"
#include "wroster.h"

#define RING_BATCH   64   /* broadcast records delivered per wake */

static int chat_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			 void *in, size_t len);

static const struct lws_protocols protocols[] = {
	/*
	 * first: HTTP and WebSocket upgrades without a subprotocol land here.
	 * rx_buffer_size is allocated per connection by lws: keep it small
	 * (bigger messages arrive in pieces and are reassembled on demand).
	 * tx_packet_size 0 would cap each send() at rx_buffer_size; corked
	 * writes want a whole cork buffer in one system call.  (With lws 4.1.6
	 * a tx_packet_size above 4096 loses the close frames of 1008/1009:
	 * checked with the integration tests.)
	 */
	{ "chat", chat_callback, sizeof(struct conn), CHATD_RX_BUFFER, 0, NULL,
	  CHATD_CORK_MAX },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* all zero: lws pings nobody, conn.c's heartbeat does (lws's own would re-sort
 * a list of every connection on each pong) */
static const lws_retry_bo_t retry_policy;
/* the worker's own watchers on its loop */
static struct wloop_io *io_ring, *io_sig;
static struct wloop_timer *t_deadline;
static struct wctx *the_worker;  /* this process's worker, for lws's TLS set-up */
static int vhost_tls_setup(void *ssl_ctx);

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && line[n - 1] == '\n')
		n--;
	log_msg(level == LLL_ERR ? LOG_LVL_ERROR : LOG_LVL_WARN, "lws: %.*s", (int)n, line);
}

/* ---- the broadcast ring ------------------------------------------------------ */

/*
 * Deliver what the master put into the broadcast ring since the last wake,
 * at most RING_BATCH records: between batches lws writes to the sockets, so
 * a burst does not land on the send queues all at once.  When records are
 * left, we wake ourselves to come back after those writes.
 */
static void wake_self(struct wctx *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_errno(LOG_LVL_WARN, "write(own eventfd)");
}

static void drain_ring(struct wctx *w)
{
	static int unflushed;          /* batches queued since the last ws_flush() */
	int more = 0;

	for (int n = 0;; n++) {
		struct frame *f;
		const char *room;
		size_t len, rl;
		uint32_t kind;
		int rc;

		if (n == RING_BATCH) {
			wake_self(w);
			more = 1;
			break;
		}
		rc = ring_next(w->bcast, &w->cur);
		if (rc == RING_EMPTY)
			break;
		if (rc == RING_LAPPED)
			continue;
		kind = w->cur.kind;
		f = frame_new(w->cur.len);
		if (f == NULL) {        /* the record stays: try again after the writes */
			log_error("out of memory for a %u byte frame", w->cur.len);
			wake_self(w);
			more = 1;
			break;
		}
		if (ring_copy(w->bcast, &w->cur, f->data + LWS_PRE) != RING_OK ||
		    record_unpack(f->data + LWS_PRE, f->len, &len, &room, &rl) < 0) {
			free(f);
			continue;
		}
		if (kind == REC_ROSTER) {   /* an answer, for one worker */
			wroster_answer(w, f->data + LWS_PRE, len);
			free(f);
			continue;
		}
		f->len = (uint32_t)len;
		if (kind == REC_HIST || kind == REC_HIST_END)
			hjoin_answer(w, kind, f, room, rl);   /* addressed to one connection */
		else
			ws_deliver(w, f, room, rl);
	}
	/* Write once the ring is caught up; in a burst, after as many batches
	 * as keep a queue under half of send_queue: each write then corks the
	 * frames of several batches (one write per batch cost 1.7 times the
	 * system calls of lws's WRITEABLE, which came after the next batch). */
	if (!more || (size_t)(++unflushed + 1) * RING_BATCH > (size_t)w->conf->send_queue / 2) {
		ws_flush(w);
		unflushed = 0;
	}
	stats_set(&w->st->ring_lost, w->cur.lost);
	stats_set(&w->st->ring_read, w->cur.seq);    /* ring lag = ring seq - this */
	stats_set(&w->st->ring_pos, w->cur.pos);
}

/* ---- drain and stop -------------------------------------------------------------- */

/*
 * Draining or stopping, the worker leaves when the last connection it
 * accepted is gone: its WebSocket sessions, and those still in their HTTP
 * phase (an upgrade, a GET or a publish body on its way), which it answers
 * first.  Answered ones are closed then (http.c), not kept alive.
 */
static void quit_when_idle(struct wctx *w)
{
	if ((w->draining || w->stopping) && w->nopen == 0)
		wctx_quit(w);
}

/* A connection accept.c adopted is gone (WSI_DESTROY). */
static void conn_gone(struct wctx *w)
{
	w->nopen--;
	quit_when_idle(w);
}

static void deadline_cb(void *arg)
{
	struct wctx *w = arg;

	if (w->stopping) {
		log_notice("shutdown_timeout passed with %llu connections left; exiting",
			   (unsigned long long)w->nconns);
		wctx_quit(w);
		return;
	}
	log_notice("drain_timeout passed; closing %llu connections with 1012 (%llu more in "
		   "their HTTP phase)", (unsigned long long)w->nconns,
		   (unsigned long long)(w->nopen - w->nconns));
	ws_close_all(w, CHATD_CLOSE_RESTART);
	w->stopping = 1;
	wloop_timer_set(t_deadline, (uint64_t)w->conf->shutdown_timeout_ms);
}

static void worker_stop(struct wctx *w)
{
	if (w->stopping)
		return;
	w->stopping = 1;
	title_set("worker process (shutting down)");
	accept_stop(w, stats_get(&w->shm->master.stopping) != 0);
	ws_close_all(w, CHATD_CLOSE_GOING_AWAY);
	wloop_timer_set(t_deadline, (uint64_t)w->conf->shutdown_timeout_ms);
	quit_when_idle(w);
}

static void worker_drain(struct wctx *w)
{
	if (w->draining || w->stopping)
		return;
	w->draining = 1;
	stats_set(&w->st->state, SLOT_DRAINING);
	title_set("worker process (draining)");
	accept_stop(w, 0);
	log_info("draining %llu connections and %llu requests (drain_timeout %d ms)",
		 (unsigned long long)w->nconns, (unsigned long long)(w->nopen - w->nconns),
		 w->conf->drain_timeout_ms);
	wloop_timer_set(t_deadline, (uint64_t)w->conf->drain_timeout_ms);
	quit_when_idle(w);
}

static void on_signal(void *arg)
{
	struct wctx *w = arg;
	struct signalfd_siginfo si;

	while (read(w->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM: case SIGINT: case SIGQUIT: worker_stop(w); break;
		case SIGUSR2: worker_drain(w); break;
		case SIGUSR1:
			log_reopen();
			if (alog_reopen() < 0)
				log_errno(LOG_LVL_ERROR, "reopening access_log %s", w->conf->access_log);
			break;
		default: break;   /* SIGHUP: the master reloads, not us */
		}
	}
}

/* ---- callbacks ---------------------------------------------------------------------- */

static void on_ring(void *arg)
{
	struct wctx *w = arg;
	uint64_t v;

	if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_errno(LOG_LVL_WARN, "read(eventfd)");
	drain_ring(w);
}

static int chat_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			 void *in, size_t len)
{
	/* every wsi's WSI_DESTROY comes here (lws calls protocols[0]): the
	 * accepted ones carry their gate_conn until gate_event() lets it go */
	if (reason == LWS_CALLBACK_WSI_DESTROY && lws_get_opaque_user_data(wsi) != NULL)
		conn_gone(wctx_of(wsi));
	if (gate_reason(reason))
		gate_event(wsi, reason);
	if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS)
		return vhost_tls_setup(user);
	switch (reason) {
	case LWS_CALLBACK_HTTP:
	case LWS_CALLBACK_HTTP_WRITEABLE:
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_HTTP_BODY:              /* POST {prefix}/publish */
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return http_callback(wsi, reason, user, in, len);
	default:
		return ws_callback(wsi, reason, user, in, len);
	}
}

/* ---- set-up ---------------------------------------------------------------------------- */

static void drop_privileges(const struct conf *c)
{
	struct passwd *pw;
	struct group *gr;

	if (geteuid() != 0 || c->user[0] == '\0')
		return;
	pw = getpwnam(c->user);
	if (pw == NULL) {
		log_error("user \"%s\" not found; exiting", c->user);
		exit(1);
	}
	gr = c->group[0] ? getgrnam(c->group) : NULL;
	if (c->group[0] && gr == NULL) {
		log_error("group \"%s\" not found; exiting", c->group);
		exit(1);
	}
	if (setgroups(0, NULL) < 0 || setgid(gr ? gr->gr_gid : pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_errno(LOG_LVL_ERROR, "dropping privileges to %s", c->user);
		exit(1);
	}
}

/* The TLS vhost's SSL_CTX, made by lws (LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX
 * with no certificate of its own): the master's certificate and key go in. */
static int vhost_tls_setup(void *ssl_ctx)
{
	struct wctx *w = the_worker;
	char err[CHATD_ERR_MAX];

	if (w->tls == NULL || tls_ctx_setup(ssl_ctx, w->tls, w->conf, err, sizeof(err)) < 0) {
		log_error("TLS: %s", w->tls ? err : "no certificate loaded");
		return 1;
	}
	return 0;
}

/* The vhost of `listen ... ssl` lines: lws's TLS on our adopted sockets. */
static int make_tls_vhost(struct wctx *w, struct lws_context_creation_info *info)
{
	if (!conf_has_ssl(w->conf))
		return 0;
	info->vhost_name = "chatd-tls";
	info->options |= LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
	info->alpn = "http/1.1";     /* no h2: WebSockets here are HTTP/1.1 upgrades */
	w->vh_tls = lws_create_vhost(w->ctx, info);
	/* the SSL_CTX holds the key now: our inherited copy goes */
	tls_creds_free(w->tls);
	w->tls = NULL;
	return w->vh_tls ? 0 : -1;
}

static int make_context(struct wctx *w)
{
	struct lws_context_creation_info info;
	void *loops[1] = { wloop_foreign(w->loop) };
	int fd;

	/* lws 4.1.6 opens /dev/urandom in lws_create_context(); when it cannot,
	 * its clean-up runs our foreign uv loop half made and crashes (SEGV in
	 * uv_run, seen under ASan): refuse cleanly first */
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0) {
		log_errno(LOG_LVL_ERROR, "/dev/urandom (libwebsockets needs it)");
		return -1;
	}
	close(fd);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		       LWS_SERVER_OPTION_LIBUV;
	if (conf_has_ssl(w->conf))
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.foreign_loops = loops;
	info.pcontext = &w->ctx;       /* NULLed when wloop_free() has destroyed it */
	info.user = w;
	info.server_string = "chatd";
	/* gate.c times request heads and bodies (and counts what it cuts):
	 * lws's own timers, in whole seconds, are a backstop a second later */
	info.timeout_secs = (unsigned)(w->conf->handshake_timeout_ms + 999) / 1000 + 1;
	info.timeout_secs_ah_idle = info.timeout_secs;
	info.max_http_header_data = (unsigned short)w->conf->max_header_size;
	/* gate.c keeps the HTTP phase within the pool: no request waits for
	 * a header slot (waiting, it could not even be read) */
	info.max_http_header_pool = (unsigned short)w->conf->max_http_pending;
	info.retry_and_idle_policy = &retry_policy;
	/* a pong must be able to come before the cut: as lws had it */
	w->hangup_ms = w->conf->pong_timeout_ms > w->conf->ping_interval_ms ?
		       w->conf->pong_timeout_ms : w->conf->ping_interval_ms + 1000;
	info.vhost_name = "chatd";
	w->ctx = lws_create_context(&info);
	if (w->ctx == NULL)
		return -1;
	w->vh = lws_create_vhost(w->ctx, &info);
	return w->vh ? make_tls_vhost(w, &info) : -1;
}

/* auth.c's state of this worker.  The secret file is read here, before
 * privileges are dropped; a bad one refuses every upgrade (503) rather than
 * failing the worker (and having it respawned in a loop).  0 / -1 (ENOMEM). */
static int auth_setup(struct wctx *w)
{
	char err[CHATD_ERR_MAX];

	if (w->conf->auth_enabled && (w->auth = auth_new(w->conf, err, sizeof(err))) == NULL)
		log_error("auth: %s; refusing every WebSocket upgrade with 503", err);
	w->gate = gate_new();
	return w->gate ? 0 : -1;
}


/* The loop and the worker's watchers on it: the ring wake, signals and the
 * listener (the listener's and the timers' callbacks only run once the
 * loop does, after make_context()).  0 / -1 (logged). */
static int loop_setup(struct wctx *w)
{
	char err[CHATD_ERR_MAX];

	if ((w->loop = wloop_new(err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return -1;
	}
	io_ring = wloop_io_new(w->loop, w->efd, on_ring, w);
	io_sig = wloop_io_new(w->loop, w->sig_fd, on_signal, w);
	if (accept_setup(w) < 0)
		return -1;
	t_deadline = wloop_timer_new(w->loop, deadline_cb, w);
	if (io_ring == NULL || io_sig == NULL || t_deadline == NULL) {
		log_error("watching the worker's descriptors failed");
		return -1;
	}
	return 0;
}

/* Release the watchers, then lws and the loop (lws closes what is still
 * connected, without close frames: the drain or stop is over). */
static void worker_end(struct wctx *w)
{
	int left;

	wloop_io_free(io_ring);
	wloop_io_free(io_sig);
	accept_end(w);
	wloop_timer_free(t_deadline);
	io_ring = io_sig = NULL;
	wctx_pending_free(w);
	if ((left = wloop_free(w->loop, &w->ctx)) != 0)
		log_warn("%d event loop handles still open at exit", left);
	close(w->efd);
	close(w->sig_fd);
	for (int k = 0; k < w->nlisten; k++)
		close(w->listen_fd[k]);
}

/* Read the broadcast ring from its head on. */
static void cursor_start(struct wctx *w)
{
	ring_cursor_init(w->bcast, &w->cur);
	stats_set(&w->st->ring_read, w->cur.seq);
	stats_set(&w->st->ring_pos, w->cur.pos);
}

/* Tell the master we serve: it waits for every worker of a generation
 * before it reports the start (or a reload) done. */
static void serving(struct wctx *w)
{
	uint64_t one = 1;

	/* from here on the master paces bulk puts by this cursor (bcast_room):
	 * what went into the ring during the set-up is not ours to read */
	cursor_start(w);
	atomic_thread_fence(memory_order_release);
	stats_set(&w->st->started_ms, (uint64_t)time(NULL) * 1000);
	if (write(w->master_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_errno(LOG_LVL_WARN, "write(master eventfd)");
	log_info("serving");
}

void worker_main(const struct worker_args *a)
{
	static struct wctx wk;
	struct wctx *w = &wk;
	char err[CHATD_ERR_MAX];

	log_set_role("worker", a->slot);
	title_set("worker process (generation %d)", a->generation);
	w->conf = a->conf;
	w->shm = a->shm;
	w->st = &a->shm->worker[a->slot];
	w->bcast = shm_bcast(a->shm);
	w->uplink = shm_uplink(a->shm, a->slot);
	w->slot = a->slot;
	w->nlisten = a->nlisten;
	memcpy(w->listen_fd, a->listen_fd, sizeof(w->listen_fd));
	w->tls = a->tls;
	w->efd = a->efd;
	w->master_efd = a->master_efd;
	w->scratch_len = w->conf->max_message_size + CHATD_STAMP_MAX;
	w->held_max = w->conf->uplink_size;   /* clients' messages waiting for uplink space */
	w->scratch = malloc(w->scratch_len);
	w->cork = malloc(LWS_PRE + CHATD_CORK_MAX);
	w->rooms = room_index_new();
	room_list_init(&w->all);
	room_list_init(&w->hist_waiting);
	w->hist_start = hjoin_start;
	w->hist_cancel = hjoin_cancel;
	/* a late answer to this slot's previous worker must not match ours */
	w->hist_next = (uint64_t)getpid() << 32;
	the_worker = w;
	cursor_start(w);
	lws_set_log_level(LLL_ERR, lws_log_emit);
	w->sig_fd = signals_open(SIGNALS_WORKER);
	if (w->scratch == NULL || w->cork == NULL || w->rooms == NULL || w->sig_fd < 0 ||
	    loop_setup(w) < 0 || make_context(w) < 0) {
		log_error("worker set-up failed");
		exit(1);
	}
	if (auth_setup(w) < 0) {
		log_error("worker set-up failed: out of memory");
		exit(1);
	}
	/* before dropping privileges: the master gave the file to `user` for
	 * the reopen after SIGUSR1, but it need not be so before */
	if (alog_open(w->conf->access_log, err, sizeof(err)) < 0)
		log_error("%s; no access log", err);
	drop_privileges(w->conf);
	serving(w);
	while (!w->quit && wloop_run(w->loop) == 0)
		;
	worker_end(w);
	room_index_free(w->rooms);
	auth_free(w->auth);
	gate_free(w->gate);
	free(w->scratch);
	free(w->cork);
	free(w->flush);
	log_info("exiting");
	exit(0);
}
