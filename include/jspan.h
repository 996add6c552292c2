/* SPDX-License-Identifier: MIT */
/*
 * jspan.h - the exact text of a member of a JSON object (see jspan.c).
 */
#ifndef CHATD_JSPAN_H
#define CHATD_JSPAN_H

#include <stddef.h>

/* What jspan_member() found. */
enum jspan_rc {
	JSPAN_FOUND,    /* *val and *vlen set */
	JSPAN_ABSENT,   /* no such member */
	JSPAN_BAD       /* the scan failed: refuse the message */
};

/*
 * The text of the top-level member `key` (an ASCII word; escapes in the
 * member names are decoded, so "d\u0061ta" is "data") of the object text
 * buf[0..len), which jansson has accepted: JSPAN_FOUND with *val pointing
 * into buf and *vlen its length.  The first match is returned: jansson
 * refuses duplicate keys.  O(len), one pass, every read bounded by buf + len.
 */
enum jspan_rc jspan_member(const char *buf, size_t len, const char *key, const char **val,
			   size_t *vlen);

#endif
