/* SPDX-License-Identifier: MIT */
/*
 * accept.c - a worker's accepting: its listening sockets watched on the
 * worker's loop, accept4 by hand (limits, gate.c's per-address count), the
 * new socket adopted by lws, a pause of a second when descriptors run out,
 * and the stop for good at a drain or a shutdown.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "accept.h"
#include "alog.h"
#include "gate.h"
#include "log.h"
#include "shm.h"
#include "wctx.h"
#include "wloop.h"

#define ACCEPT_BATCH 64

/* the listening sockets' watchers on the worker's loop, and the resume */
static struct wloop_io *io_listen[CONF_MAX_LISTENS];
static struct wloop_timer *t_accept;
/* the argument of listen line k's watcher */
static struct listen_arg { struct wctx *w; int k; } listen_args[CONF_MAX_LISTENS];
static int accept_some(struct wctx *w, int k);

static void accept_resume(void *arg)
{
	struct wctx *w = arg;

	w->accept_paused = 0;
	for (int k = 0; k < w->nlisten; k++)
		if (io_listen[k] != NULL) {
			wloop_io_pause(io_listen[k], 0);
			accept_some(w, k);
		}
}

static void accept_pause(struct wctx *w, const char *why)
{
	if (!w->accept_paused)
		log_warn("not accepting for a second: %s", why);
	w->accept_paused = 1;
	for (int k = 0; k < w->nlisten; k++)
		if (io_listen[k] != NULL)
			wloop_io_pause(io_listen[k], 1);
	wloop_timer_set(t_accept, 1000);
}

static void on_listen(void *arg)
{
	const struct listen_arg *la = arg;

	/* lws_adopt_socket_vhost() wakes lws (its event pipe), which then arms
	 * its loop timer for the new connection's handshake timeout: lws re-arms
	 * it only after its own I/O (limit_handshake_silent) */
	if (io_listen[la->k] != NULL && !la->w->accept_paused)
		accept_some(la->w, la->k);
}

/* Accept up to ACCEPT_BATCH connections on listen line k; returns how many
 * were taken off the queue (ACCEPT_BATCH: there may be more). */
static int accept_some(struct wctx *w, int k)
{
	struct lws_vhost *vh = w->conf->listen.v[k].ssl ? w->vh_tls : w->vh;
	int one = 1, i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(w->listen_fd[k], (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct gate_conn *gc;
		struct lws *wsi;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				stats_add(&w->st->conn_limit_hits, 1);
				accept_pause(w, strerror(errno));
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				log_errno(LOG_LVL_WARN, "accept4()");
			}
			return i;
		}
		if (w->nconns >= (uint64_t)w->conf->max_connections) {
			stats_add(&w->st->conn_limit_hits, 1);
			close(fd);
			continue;
		}
		if ((gc = gate_enter(w, &ss)) == NULL) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		wsi = lws_adopt_socket_vhost(vh, fd);
		gate_adopted(w, gc, wsi);
		if (wsi == NULL) {
			/* lws has closed fd (its contract): closing it again could
			 * close whatever took the number since, syslog's socket say */
			/* on TLS, a first read that is no ClientHello (plain
			 * HTTP, a scanner) fails here: the client's doing */
			if (vh == w->vh_tls) {
				stats_add(&w->st->handshake_failures, 1);
				log_debug("TLS handshake failed at once (plain HTTP?)");
			} else {
				log_warn("lws_adopt_socket_vhost() failed");
			}
		} else {
			w->nopen++;
			if (log_enabled(LOG_LVL_DEBUG)) {
				char addr[ALOG_ADDR_MAX];

				alog_addr((struct sockaddr *)&ss, addr, sizeof(addr));
				log_debug("accepted a connection from %s", addr);
			}
		}
	}
	return i;
}

/*
 * Stop accepting for good.  The listening socket is shared: the master keeps
 * it across reloads and respawns and gives it to this worker's successor, so
 * on a drain what is queued there is left for the successor to accept (no
 * connection is reset by a reload).  When the whole server stops (shut), the
 * queue is taken and the socket shut down for every holder, so the kernel
 * refuses new connections at once.
 */
void accept_stop(struct wctx *w, int shut)
{
	for (int k = 0; k < w->nlisten; k++) {
		if (io_listen[k] == NULL)
			continue;
		for (int i = 0; shut && i < 64 && accept_some(w, k) == ACCEPT_BATCH; i++)
			;
		if (shut)
			shutdown(w->listen_fd[k], SHUT_RDWR);
		wloop_io_free(io_listen[k]);
		io_listen[k] = NULL;
	}
	wloop_timer_stop(t_accept);
}

int accept_setup(struct wctx *w)
{
	for (int k = 0; k < w->nlisten; k++) {
		listen_args[k] = (struct listen_arg){ w, k };
		if ((io_listen[k] = wloop_io_new(w->loop, w->listen_fd[k], on_listen,
						 &listen_args[k])) == NULL) {
			log_error("watching listen socket %d failed", k);
			return -1;
		}
	}
	t_accept = wloop_timer_new(w->loop, accept_resume, w);
	if (t_accept == NULL) {
		log_error("watching the worker's descriptors failed");
		return -1;
	}
	return 0;
}

void accept_end(struct wctx *w)
{
	for (int k = 0; k < w->nlisten; k++) {
		wloop_io_free(io_listen[k]);
		io_listen[k] = NULL;
	}
	wloop_timer_free(t_accept);
	t_accept = NULL;
}
