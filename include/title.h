/* SPDX-License-Identifier: MIT */
/*
 * title.h - process titles as ps(1) shows them ("chatd: master process
 * -c /etc/chatd/chatd.conf", "chatd: worker process (generation 3)"), with
 * libbsd's setproctitle.  Built without libbsd, the calls do nothing.
 */
#ifndef CHATD_TITLE_H
#define CHATD_TITLE_H

/* Once, first thing in main(): makes room for longer titles (moves the
 * environment; argv[] and environ stay valid). */
void title_init(int argc, char **argv, char **envp);

/* Set this process's title to "chatd: " + the formatted text.  Any process. */
void title_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
