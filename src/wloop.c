/* SPDX-License-Identifier: MIT */
/*
 * wloop.c - a worker's libuv loop and its watchers (see wloop.h).  A leaf:
 * errors go back to the caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <libwebsockets.h>

#include "wloop.h"

#define CLOSE_ROUNDS 10000   /* loop turns allowed for handles to close at exit */

struct wloop {
	uv_loop_t loop;
	uv_timer_t tick;               /* drives wheel while it holds a node */
	struct wheel wheel;            /* the coarse timers, in ticks of WLOOP_TICK_MS */
};

struct wloop_io {
	uv_poll_t h;
	wloop_cb cb;
	void *arg;
};

struct wloop_timer {
	uv_timer_t h;
	wloop_cb cb;
	void *arg;
};

int wloop_check(char *err, size_t errlen)
{
	static const char *const dirs[] = { LWS_INSTALL_LIBDIR, NULL };
	static int loaded;             /* once is enough: not a dlopen() per reload */
	struct lws_plugin *list = NULL;

	if (loaded)
		return 0;
	lws_set_log_level(0, NULL);    /* its dlopen() complaint: ours says more */
	lws_plugins_init(&list, dirs, "lws_evlib_plugin", "evlib_uv", NULL, NULL);
	if (list == NULL) {
		snprintf(err, errlen, "libwebsockets' libuv event loop plugin "
			 "(libwebsockets-evlib_uv.so in %s) cannot be loaded: install the "
			 "package libwebsockets-evlib-uv", LWS_INSTALL_LIBDIR);
		return -1;
	}
	lws_plugins_destroy(&list, NULL, NULL);
	loaded = 1;
	return 0;
}

struct wloop *wloop_new(char *err, size_t errlen)
{
	struct wloop *l = calloc(1, sizeof(*l));
	int rc;

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((rc = uv_loop_init(&l->loop)) != 0) {
		snprintf(err, errlen, "uv_loop_init: %s", uv_strerror(rc));
		free(l);
		return NULL;
	}
	uv_timer_init(&l->loop, &l->tick);
	l->tick.data = l;
	wheel_init(&l->wheel, uv_now(&l->loop) / WLOOP_TICK_MS);
	return l;
}

void *wloop_foreign(struct wloop *l)
{
	return &l->loop;
}

/* ---- descriptors ------------------------------------------------------------ */

static void io_fire(uv_poll_t *h, int status, int events)
{
	struct wloop_io *io = h->data;

	(void)status;   /* an error (EBADF...) is left for the callback's read() to see */
	(void)events;
	io->cb(io->arg);
}

struct wloop_io *wloop_io_new(struct wloop *l, int fd, wloop_cb cb, void *arg)
{
	struct wloop_io *io = calloc(1, sizeof(*io));

	if (io == NULL)
		return NULL;
	if (uv_poll_init(&l->loop, &io->h, fd) != 0) {
		free(io);
		return NULL;
	}
	io->h.data = io;
	io->cb = cb;
	io->arg = arg;
	uv_poll_start(&io->h, UV_READABLE, io_fire);
	return io;
}

void wloop_io_pause(struct wloop_io *io, int paused)
{
	if (paused)
		uv_poll_stop(&io->h);
	else
		uv_poll_start(&io->h, UV_READABLE, io_fire);
}

static void free_on_close(uv_handle_t *h)
{
	free(h->data);
}

void wloop_io_free(struct wloop_io *io)
{
	if (io == NULL)
		return;
	uv_poll_stop(&io->h);
	uv_close((uv_handle_t *)&io->h, free_on_close);
}

/* ---- timers ------------------------------------------------------------------- */

static void timer_fire(uv_timer_t *h)
{
	struct wloop_timer *t = h->data;

	t->cb(t->arg);
}

struct wloop_timer *wloop_timer_new(struct wloop *l, wloop_cb cb, void *arg)
{
	struct wloop_timer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	uv_timer_init(&l->loop, &t->h);
	t->h.data = t;
	t->cb = cb;
	t->arg = arg;
	return t;
}

void wloop_timer_set(struct wloop_timer *t, uint64_t ms)
{
	uv_timer_start(&t->h, timer_fire, ms, 0);
}

void wloop_timer_stop(struct wloop_timer *t)
{
	uv_timer_stop(&t->h);
}

void wloop_timer_free(struct wloop_timer *t)
{
	if (t == NULL)
		return;
	uv_timer_stop(&t->h);
	uv_close((uv_handle_t *)&t->h, free_on_close);
}

/* ---- coarse timers ---------------------------------------------------------------- */

static void tick_fire(uv_timer_t *h)
{
	struct wloop *l = h->data;

	wheel_expire(&l->wheel, uv_now(&l->loop) / WLOOP_TICK_MS);
	if (l->wheel.count == 0)       /* nothing left to time: no wake-ups */
		uv_timer_stop(&l->tick);
}

void wloop_coarse_set(struct wloop *l, struct wheel_node *n, uint64_t ms,
		      void (*fire)(struct wheel_node *))
{
	uint64_t due = uv_now(&l->loop) + ms;

	wheel_set(&l->wheel, n, (due + WLOOP_TICK_MS - 1) / WLOOP_TICK_MS, fire);
	if (!uv_is_active((uv_handle_t *)&l->tick))
		uv_timer_start(&l->tick, tick_fire, WLOOP_TICK_MS, WLOOP_TICK_MS);
}

void wloop_coarse_stop(struct wloop *l, struct wheel_node *n)
{
	wheel_del(&l->wheel, n);
}

uint64_t wloop_now(struct wloop *l)
{
	return uv_now(&l->loop);
}

/* ---- running and ending --------------------------------------------------------- */

int wloop_run(struct wloop *l)
{
	return uv_run(&l->loop, UV_RUN_DEFAULT) != 0 ? 0 : -1;
}

void wloop_stop(struct wloop *l)
{
	uv_stop(&l->loop);
}

/* Turn the loop without blocking until nothing is left to close. */
static void settle(struct wloop *l)
{
	for (int i = 0; i < CLOSE_ROUNDS && uv_loop_alive(&l->loop); i++)
		uv_run(&l->loop, UV_RUN_NOWAIT);
}

static void count_open(uv_handle_t *h, void *arg)
{
	(void)h;
	(*(int *)arg)++;
}

int wloop_free(struct wloop *l, struct lws_context **ctx)
{
	int left = 0;

	/*
	 * lws on a foreign uv loop destroys in steps: the first call closes
	 * every connection and, once their uv handles are closed (which takes
	 * loop turns), its own; the second frees the context and NULLs *ctx
	 * (info.pcontext).
	 */
	if (*ctx != NULL) {
		lws_context_destroy(*ctx);
		settle(l);
	}
	if (*ctx != NULL) {
		lws_context_destroy(*ctx);
		settle(l);
	}
	uv_timer_stop(&l->tick);
	uv_close((uv_handle_t *)&l->tick, NULL);
	settle(l);
	if (uv_loop_close(&l->loop) != 0)
		uv_walk(&l->loop, count_open, &left);
	else
		free(l);
	return left;
}
