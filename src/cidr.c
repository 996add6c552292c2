/* SPDX-License-Identifier: MIT */
/*
 * cidr.c - address ranges: parse "ADDR[/BITS]", match a peer address
 * against a list.  IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as IPv4
 * on both sides, so one list serves IPv4 and dual-stack listeners alike.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "errbuf.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Are the bits of a beyond the first `bits` all zero? */
static int host_bits_zero(const uint8_t *a, int bits, int total)
{
	for (int i = bits; i < total; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

/* Do the first `bits` bits of a and b agree? */
static int prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	return rest == 0 || ((a[whole] ^ b[whole]) & (0xff00 >> rest) & 0xff) == 0;
}

static int cidr_err(char *err, size_t errlen, const char *s, const char *why)
{
	return errbuf_set(err, errlen, "\"%s\" %s", s, why);
}

int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	long bits;
	int total;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr))
		return cidr_err(err, errlen, s, "is not an address or ADDR/BITS");
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = AF_INET6;
	else
		return cidr_err(err, errlen, s, "is not an IPv4 or IPv6 address (or ADDR/BITS)");
	total = out->family == AF_INET ? 32 : 128;
	bits = total;
	if (slash != NULL) {
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits > total)
			return cidr_err(err, errlen, s, out->family == AF_INET ?
					"has a bad prefix length (0-32)" : "has a bad prefix length (0-128)");
	}
	if (!host_bits_zero(out->addr, (int)bits, total))
		return cidr_err(err, errlen, s, "has address bits set beyond the prefix length");
	out->bits = (uint8_t)bits;
	if (out->family == AF_INET6 && bits >= 96 && memcmp(out->addr, v4mapped, 12) == 0) {
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
		out->bits = (uint8_t)(bits - 96);
	}
	return 0;
}

int cidr_list_add(struct cidr_list *l, const char *s, char *err, size_t errlen)
{
	struct cidr_list next = *l;
	char tok[128];

	if (next.fresh)
		next.n = 0;
	next.fresh = 0;
	while (*(s += strspn(s, " \t,")) != '\0') {
		size_t n = strcspn(s, " \t,");

		if (n >= sizeof(tok)) {
			snprintf(err, errlen, "an address range of %zu characters", n);
			return -1;
		}
		memcpy(tok, s, n);
		tok[n] = '\0';
		s += n;
		if (next.n + (strcmp(tok, "all") == 0 ? 2 : 1) > CIDR_LIST_MAX) {
			snprintf(err, errlen, "more than %d address ranges", CIDR_LIST_MAX);
			return -1;
		}
		if (strcmp(tok, "all") == 0) {
			cidr_parse("0.0.0.0/0", &next.v[next.n++], err, errlen);
			cidr_parse("::/0", &next.v[next.n++], err, errlen);
		} else if (cidr_parse(tok, &next.v[next.n++], err, errlen) < 0) {
			return -1;
		}
	}
	*l = next;
	return 0;
}

int cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(c->family, c->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	return snprintf(buf, len, "%s/%u", a, c->bits);
}

int cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa)
{
	const uint8_t *a;
	int family;

	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		family = AF_INET6;
		if (memcmp(a, v4mapped, 12) == 0) {
			a += 12;
			family = AF_INET;
		}
	} else {
		return 0;
	}
	for (int i = 0; i < l->n; i++)
		if (l->v[i].family == family && prefix_equal(a, l->v[i].addr, l->v[i].bits))
			return 1;
	return 0;
}
