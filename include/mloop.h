/* SPDX-License-Identifier: MIT */
/*
 * mloop.h - the master's event loop: epoll for fds, a small timer list.
 * Master only.  Callbacks may add/remove fds and timers, including their own.
 */
#ifndef CHATD_MLOOP_H
#define CHATD_MLOOP_H

#include <stdint.h>

struct mloop;
typedef void (*mloop_fd_cb)(int fd, uint32_t events, void *arg);
typedef void (*mloop_timer_cb)(void *arg);

struct mloop *mloop_new(void);          /* NULL on error (errno) */
void mloop_free(struct mloop *l);

/* events: EPOLLIN / EPOLLOUT bits.  0 / -1 (errno). */
int  mloop_add(struct mloop *l, int fd, uint32_t events, mloop_fd_cb cb, void *arg);
int  mloop_mod(struct mloop *l, int fd, uint32_t events);
void mloop_del(struct mloop *l, int fd);

/* One-shot timer after ms milliseconds; returns an id > 0 (0 on ENOMEM). */
uint64_t mloop_timer(struct mloop *l, uint64_t ms, mloop_timer_cb cb, void *arg);
void mloop_timer_cancel(struct mloop *l, uint64_t id);  /* unknown id: no-op */

/* Wait at most max_ms (-1: until an fd or timer) and run what is due.
 * Returns the number of callbacks run, -1 on a fatal epoll error. */
int mloop_run_once(struct mloop *l, int max_ms);

uint64_t mloop_now_ms(void);            /* CLOCK_MONOTONIC */

#endif
