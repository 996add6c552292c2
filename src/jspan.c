/* SPDX-License-Identifier: MIT */
/*
 * jspan.c - where a member's value lies in the text of a JSON object, so a
 * value can be passed on as its sender wrote it (jansson would rewrite
 * numbers: 0.1 becomes 0.10000000000000001, 1e-400 becomes 0.0).  Only for
 * text jansson has already accepted.  A pure leaf: no allocation, no state,
 * no logging; any process or thread may call it.
 */
#include <stddef.h>

#include "jspan.h"

/*
 * A cursor over JSON text that jansson has already accepted: the scanner
 * only finds where values start and end, in one pass, O(len).  Each step
 * still checks its bound and any surprise ends the scan with -1, so a
 * mistake here refuses a message rather than read outside the buffer.
 */
struct jspan_scan {
	const char *p, *end;
};

static int jspan_scan_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void jspan_scan_ws(struct jspan_scan *s)
{
	while (s->p < s->end && jspan_scan_is_ws(*s->p))
		s->p++;
}

/* Past the string whose opening quote is at s->p. */
static int jspan_scan_string(struct jspan_scan *s)
{
	const char *p = s->p + 1;

	while (p < s->end) {
		if (*p == '"') {
			s->p = p + 1;
			return 0;
		}
		if (*p == '\\') {
			if (s->end - p < 2)
				return -1;
			p++;
		}
		p++;
	}
	return -1;
}

/* Past the value at s->p: a string, an object or array (whole, brackets
 * counted outside strings) or a scalar (up to , } ] or whitespace). */
static int jspan_scan_value(struct jspan_scan *s)
{
	size_t depth = 0;

	while (s->p < s->end) {
		char c = *s->p;

		if (c == '"') {
			if (jspan_scan_string(s) < 0)
				return -1;
		} else if (c == '{' || c == '[') {
			depth++;
			s->p++;
			continue;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0;   /* a scalar ended by its container */
			depth--;
			s->p++;
		} else if (depth == 0 && (c == ',' || jspan_scan_is_ws(c))) {
			return 0;
		} else {
			s->p++;
			continue;
		}
		if (depth == 0)
			return 0;
	}
	return depth == 0 ? 0 : -1;
}

/* The value of four hex digits at p, or -1. */
static long jspan_hex4(const char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * Whether the string body [p, end) (between its quotes, escapes as written)
 * spells the ASCII word w.  Why decode: "d\u0061ta" is "data" to jansson,
 * so it must be here too.
 */
static int jspan_key_is(const char *p, const char *end, const char *w)
{
	while (p < end) {
		long c = (unsigned char)*p++;

		if (c == '\\' && p < end) {
			c = (unsigned char)*p++;
			switch (c) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				c = end - p >= 4 ? jspan_hex4(p) : -1;
				p += c < 0 ? 0 : 4;
				break;
			}
		}
		if (*w == '\0' || c != (unsigned char)*w)
			return 0;
		w++;
	}
	return *w == '\0';
}

enum jspan_rc jspan_member(const char *buf, size_t len, const char *key,
			   const char **val, size_t *vlen)
{
	struct jspan_scan s = { buf, buf + len };

	jspan_scan_ws(&s);
	if (s.p >= s.end || *s.p++ != '{')
		return JSPAN_BAD;
	for (;;) {
		jspan_scan_ws(&s);
		if (s.p < s.end && *s.p == '}')
			return JSPAN_ABSENT;
		if (s.p < s.end && *s.p == ',') {
			s.p++;
			jspan_scan_ws(&s);
		}
		if (s.p >= s.end || *s.p != '"')
			return JSPAN_BAD;
		const char *k = s.p;

		if (jspan_scan_string(&s) < 0)
			return JSPAN_BAD;
		int match = jspan_key_is(k + 1, s.p - 1, key);

		jspan_scan_ws(&s);
		if (s.p >= s.end || *s.p++ != ':')
			return JSPAN_BAD;
		jspan_scan_ws(&s);
		const char *v = s.p;

		if (jspan_scan_value(&s) < 0 || s.p == v)
			return JSPAN_BAD;
		if (match) {
			*val = v;
			*vlen = (size_t)(s.p - v);
			return JSPAN_FOUND;
		}
	}
}
