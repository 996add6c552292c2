/* SPDX-License-Identifier: MIT */
/*
 * notify.c - the sd_notify(3) messages of the master (see notify.h).  The
 * only file that includes libsystemd.  A leaf: a lost message is not an
 * error anyone could act on, so nothing is returned or logged.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

static void notify_send(const char *text)
{
#ifdef HAVE_LIBSYSTEMD
	(void)sd_notify(0, text);
#else
	(void)text;
#endif
}

void notify_ready(int generation, int workers)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "READY=1\nSTATUS=serving: generation %d, %d workers",
		 generation, workers);
	notify_send(buf);
}

void notify_reloading(void)
{
	struct timespec ts;
	char buf[96];

	/* systemd >= 253 (Type=notify-reload) wants the time of the request */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	notify_send(buf);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping");
}

void notify_status(unsigned long long connections, unsigned long long rooms, int workers)
{
	static char last[128];
	char buf[128];

	snprintf(buf, sizeof(buf), "STATUS=%llu connections, %llu rooms, %d workers",
		 connections, rooms, workers);
	if (strcmp(buf, last) == 0)
		return;
	memcpy(last, buf, sizeof(last));
	notify_send(buf);
}
