/* SPDX-License-Identifier: MIT */
/*
 * page.h - the demo chat page: plain files from static_dir, served at / and
 * {prefix}/ with a strict Content-Security-Policy.  A leaf: it reads files
 * and answers HTTP statuses, the caller responds.
 */
#ifndef CHATD_PAGE_H
#define CHATD_PAGE_H

#include <stddef.h>

/* Headers of every page response (name, value pairs, NULL-terminated). */
extern const char *const page_headers[];

/* The directory to serve from, for a static_dir value: "" = the installed
 * one (DATADIR/static); NULL for "off". */
const char *page_dir(const char *static_dir);

/* May `name` be served: a plain file name ([A-Za-z0-9][A-Za-z0-9._-]*, at
 * most 64 bytes) with a known type?  Its Content-Type, or NULL. */
const char *page_type(const char *name);

/*
 * Read file `name` ("" = index.html) of dir into a malloc'd *body.  In
 * .html files the text @PATH_PREFIX@ becomes prefix, so the page finds the
 * WebSocket endpoint wherever it is served.  0 with *body, *len, *ctype set,
 * or an HTTP status: 404 (bad name, no such file), 500 (unreadable).
 */
int page_load(const char *dir, const char *name, const char *prefix, char **body,
	      size_t *len, const char **ctype);

#endif
