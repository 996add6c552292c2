/* SPDX-License-Identifier: MIT */
/*
 * attack.h - `chatd-benchmark attack` (attack.c): slow clients against the
 * HTTP phase, and the handshake latency a legitimate client sees meanwhile.
 */
#ifndef CHATD_ATTACK_H
#define CHATD_ATTACK_H

/* The whole command: argv[1] is "attack".  Exit status: 0 when every
 * legitimate handshake and /healthz succeeded, 1 when some failed, 2 on a
 * usage or setup error. */
int attack_main(int argc, char **argv);

#endif
