/* SPDX-License-Identifier: MIT */
/*
 * cidr.h - address ranges (CIDR) and whether a peer is in one: the values
 * of status_allow.  A leaf: pure functions, any process, nothing logged.
 */
#ifndef CHATD_CIDR_H
#define CHATD_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CIDR_LIST_MAX 32     /* ranges in one list */

/* One range: an IPv4 or IPv6 network and its prefix length. */
struct cidr {
	uint8_t family;          /* AF_INET or AF_INET6 */
	uint8_t bits;            /* 0-32 / 0-128 */
	uint8_t addr[16];        /* network order; IPv4 in the first 4 bytes */
};

/* A list of ranges, kept inside struct conf (so plain bytes, no pointers). */
struct cidr_list {
	int         n;
	int         fresh;       /* 1: holds a default; the next cidr_list_add() replaces it */
	struct cidr v[CIDR_LIST_MAX];
};

/*
 * Parse "ADDR" or "ADDR/BITS" (IPv4 or IPv6; an IPv4-mapped IPv6 range,
 * ::ffff:a.b.c.d/n with n >= 96, is kept as the IPv4 range).  A bare address
 * is one host.  Address bits beyond the prefix are refused: "10.0.0.1/8" is
 * most likely a typo.  0, or -1 with a message in err.
 */
int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen);

/*
 * Add the ranges in s to l: ranges separated by blanks or commas, or "all"
 * (0.0.0.0/0 and ::/0).  A fresh list is emptied first.  0, or -1 with a
 * message in err (l is then unchanged).
 */
int cidr_list_add(struct cidr_list *l, const char *s, char *err, size_t errlen);

/* Write range c as "ADDR/BITS" into buf; returns snprintf's count. */
int cidr_format(const struct cidr *c, char *buf, size_t len);

/* Is the address sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address is
 * taken as the IPv4 one) in any range of l?  1 / 0; 0 for other families. */
int cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa);

#endif
