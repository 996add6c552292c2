/* SPDX-License-Identifier: MIT */
/*
 * title.c - process titles (see title.h).  The only file that includes
 * libbsd.
 */
#include <stdarg.h>
#include <stdio.h>

#ifdef HAVE_LIBBSD
#include <bsd/unistd.h>
#endif

#include "title.h"

void title_init(int argc, char **argv, char **envp)
{
#ifdef HAVE_LIBBSD
	setproctitle_init(argc, argv, envp);
#else
	(void)argc; (void)argv; (void)envp;
#endif
}

void title_set(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
#ifdef HAVE_LIBBSD
	/* a leading '-' keeps setproctitle from adding argv[0]'s name: the
	 * title reads "chatd: ..." whatever the binary is called */
	setproctitle("-chatd: %s", buf);
#endif
}
