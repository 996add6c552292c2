/* SPDX-License-Identifier: MIT */
/*
 * wloop.h - a worker's event loop: one libuv loop per worker process (epoll
 * underneath: each wake-up costs what is ready, not every descriptor held).
 * libwebsockets runs on it as a "foreign loop"; the worker's own
 * descriptors (ring eventfd, signalfd, listener) and its timers (accept
 * back-off, drain and stop deadlines, uplink retry, one heartbeat per
 * connection, on a timing wheel) are watchers on it.  Only wloop.c includes uv.h.  Worker
 * processes only; the master has its own loop (mloop.c).
 */
#ifndef CHATD_WLOOP_H
#define CHATD_WLOOP_H

#include <stddef.h>
#include <stdint.h>
#include "wheel.h"

struct lws_context;
struct wloop;
struct wloop_io;
struct wloop_timer;

typedef void (*wloop_cb)(void *arg);

/*
 * Can lws run on libuv here?  Its libuv loop is a plugin it dlopen()s at
 * run time from its library directory (package libwebsockets-evlib-uv):
 * load and unload it as lws would.  0, or -1 with err saying what to
 * install.  There is no fall-back to lws's poll() loop: it would serve, but
 * cost every worker a scan of all its descriptors on each wake-up.  Any
 * process (chatd -t, the master before forking); after a success it checks
 * no more.
 */
int wloop_check(char *err, size_t errlen);

/* A new loop; NULL on failure (err filled).  One per worker process. */
struct wloop *wloop_new(char *err, size_t errlen);

/* The uv_loop_t to hand lws in info.foreign_loops[0] (with
 * LWS_SERVER_OPTION_LIBUV). */
void *wloop_foreign(struct wloop *l);

/* Call cb(arg) whenever fd is readable (level-triggered); NULL on failure.
 * The caller keeps fd and closes it after wloop_io_free(). */
struct wloop_io *wloop_io_new(struct wloop *l, int fd, wloop_cb cb, void *arg);
/* Stop (paused 1) or resume (0) watching. */
void wloop_io_pause(struct wloop_io *io, int paused);
/* Stop watching for good; the handle is released when the loop next runs.
 * NULL is harmless. */
void wloop_io_free(struct wloop_io *io);

/* A stopped one-shot timer calling cb(arg); NULL on ENOMEM. */
struct wloop_timer *wloop_timer_new(struct wloop *l, wloop_cb cb, void *arg);
/* (Re)arm t to fire once, ms milliseconds from the loop's time. */
void wloop_timer_set(struct wloop_timer *t, uint64_t ms);
void wloop_timer_stop(struct wloop_timer *t);
/* Stop and release t (when the loop next runs).  NULL is harmless. */
void wloop_timer_free(struct wloop_timer *t);

/*
 * Coarse timers, for the many (one heartbeat per connection): fired up to
 * two WLOOP_TICK_MS late, at O(1) to set or stop and no allocation (the node
 * is the caller's), by one loop timer that ticks while any is set.  The
 * ticks are whole: timers due in the same tick fire in one wake-up.
 */
#define WLOOP_TICK_MS 100
/* (Re)set n to call fire(n) ms milliseconds from the loop's time. */
void wloop_coarse_set(struct wloop *l, struct wheel_node *n, uint64_t ms,
		      void (*fire)(struct wheel_node *));
/* Stop n; harmless when it is not set. */
void wloop_coarse_stop(struct wloop *l, struct wheel_node *n);

/* Milliseconds of the loop's clock (monotonic, updated once per wake-up:
 * cheap, and what the timers count from). */
uint64_t wloop_now(struct wloop *l);

/* Run until wloop_stop(); 0, or -1 when the loop ran out of watchers. */
int wloop_run(struct wloop *l);
/* Make wloop_run() return after the current callback. */
void wloop_stop(struct wloop *l);

/*
 * The end of a worker: destroy *ctx (lws closes its connections and its
 * own handles through the loop, so the loop runs until they are closed) and
 * then the loop itself.  Every wloop_io and wloop_timer must have been
 * freed (connections free theirs as lws closes them).  Returns the number
 * of handles that would not close (0: clean).
 */
int wloop_free(struct wloop *l, struct lws_context **ctx);

#endif
