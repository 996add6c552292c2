/* SPDX-License-Identifier: MIT */
/*
 * errbuf.h - the one way a leaf reports an error (doc/ARCHITECTURE,
 * "Errors"): it fills a buffer its caller hands it and returns -1 (or
 * NULL, or an enum's failure), and the caller logs.  Any process.
 */
#ifndef CHATD_ERRBUF_H
#define CHATD_ERRBUF_H

#include <stddef.h>

/* Format into err (errlen bytes; err NULL or errlen 0: nothing) and return
 * -1, so that a leaf can `return errbuf_set(err, errlen, "...", ...);`. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
