/* SPDX-License-Identifier: MIT */
/*
 * accept.h - a worker's accepting (worker.c calls it): the listening
 * sockets watched on the worker's loop, accept4 and lws adoption in
 * batches, a pause when descriptors run out, the stop for good.
 */
#ifndef CHATD_ACCEPT_H
#define CHATD_ACCEPT_H

struct wctx;

/* Watch w's listening sockets (one per listen line) on w->loop; their
 * callbacks run once the loop does.  0, or -1 (logged).  Worker only. */
int accept_setup(struct wctx *w);

/* Stop accepting for good (see accept.c: shut takes the queue and shuts
 * the shared socket down for every holder; else it is left for the
 * successor).  Worker only. */
void accept_stop(struct wctx *w, int shut);

/* At exit: release the watchers (the sockets stay open: worker.c closes
 * them). */
void accept_end(struct wctx *w);

#endif
