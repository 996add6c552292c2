/* SPDX-License-Identifier: MIT */
/*
 * test_cidr.c - status_allow's address ranges: parsing (IPv4, IPv6,
 * IPv4-mapped, the refusals), lists ("all", repeats replacing a default,
 * the size bound) and matching peers of both families.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "cu.h"

/* A peer address from text: IPv4 or IPv6. */
static const struct sockaddr *peer(const char *a)
{
	static struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, a, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else {
		v6->sin6_family = AF_INET6;
		CU_ASSERT_EQUAL(inet_pton(AF_INET6, a, &v6->sin6_addr), 1);
	}
	return (const struct sockaddr *)&ss;
}

/* l made from the lines of a config, "|" between lines. */
static struct cidr_list list_of(const char *lines)
{
	struct cidr_list l = { .fresh = 1 };
	char buf[512], err[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", lines);
	for (char *line = strtok_r(buf, "|", &save); line; line = strtok_r(NULL, "|", &save))
		CU_ASSERT_EQUAL(cidr_list_add(&l, line, err, sizeof(err)), 0);
	return l;
}

static void test_parse(void)
{
	struct cidr c;
	char err[256], out[64];
	static const struct { const char *in, *out; } ok[] = {
		{ "127.0.0.0/8", "127.0.0.0/8" }, { "10.1.2.3", "10.1.2.3/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" }, { "::1", "::1/128" }, { "::/0", "::/0" },
		{ "fc00::/7", "fc00::/7" }, { "2001:db8::/32", "2001:db8::/32" },
		{ "::ffff:10.0.0.0/104", "10.0.0.0/8" }, { "::ffff:192.0.2.1", "192.0.2.1/32" },
		{ "192.168.0.0/16", "192.168.0.0/16" },
	};
	static const char *const bad[] = {
		"", "/8", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1",
		"10.0.0.0/8x", "10.0.0", "256.0.0.0/8", "::1/129", "fe80::1/10", "localhost",
		"10.0.0.0/8/8", "2001:db8::/32 ",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(cidr_parse(ok[i].in, &c, err, sizeof(err)), 0);
		cidr_format(&c, out, sizeof(out));
		if (strcmp(out, ok[i].out) != 0)
			fprintf(stderr, "\n%s -> %s, want %s\n", ok[i].in, out, ok[i].out);
		CU_ASSERT_STRING_EQUAL(out, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(cidr_parse(bad[i], &c, err, sizeof(err)), -1);
		CU_ASSERT(err[0] == '"');    /* the message quotes the value */
	}
}

static void test_lists(void)
{
	struct cidr_list l = list_of("all");
	char err[256], many[1024] = "";

	CU_ASSERT_EQUAL(l.n, 2);
	/* a fresh list (the default) is replaced, then lines add up */
	l = list_of("all");
	l.fresh = 1;
	CU_ASSERT_EQUAL(cidr_list_add(&l, "127.0.0.0/8", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(l.n, 1);
	CU_ASSERT_EQUAL(cidr_list_add(&l, "::1, 10.0.0.0/8\t192.168.0.0/16", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(l.n, 4);
	/* an error leaves the list as it was */
	CU_ASSERT_EQUAL(cidr_list_add(&l, "172.16.0.0/12 bogus", err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(l.n, 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bogus"));
	/* bounded */
	for (int i = 0; i < CIDR_LIST_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.%d.0/24 ", i);
	l = list_of("");
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_EQUAL(cidr_list_add(&l, many, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(l.n, 0);
}

static void test_match(void)
{
	struct cidr_list l = list_of("127.0.0.0/8|::1|10.1.0.0/17, 2001:db8:8000::/33");
	struct cidr_list all = list_of("all"), none = list_of("");
	struct sockaddr unix_sa = { .sa_family = AF_UNIX };

	CU_ASSERT_TRUE(cidr_list_match(&l, peer("127.0.0.1")));
	CU_ASSERT_TRUE(cidr_list_match(&l, peer("127.255.255.255")));
	CU_ASSERT_FALSE(cidr_list_match(&l, peer("128.0.0.1")));
	CU_ASSERT_TRUE(cidr_list_match(&l, peer("10.1.127.255")));
	CU_ASSERT_FALSE(cidr_list_match(&l, peer("10.1.128.0")));
	CU_ASSERT_TRUE(cidr_list_match(&l, peer("::1")));
	CU_ASSERT_FALSE(cidr_list_match(&l, peer("::2")));
	CU_ASSERT_TRUE(cidr_list_match(&l, peer("2001:db8:ffff::1")));
	CU_ASSERT_FALSE(cidr_list_match(&l, peer("2001:db8:7fff::1")));
	/* an IPv4 client on a dual-stack socket is matched as IPv4 */
	CU_ASSERT_TRUE(cidr_list_match(&l, peer("::ffff:127.0.0.1")));
	CU_ASSERT_FALSE(cidr_list_match(&l, peer("::ffff:192.0.2.1")));
	/* families do not mix: ::/0 is not 0.0.0.0/0 */
	CU_ASSERT_FALSE(cidr_list_match(&l, peer("::7f00:1")));
	CU_ASSERT_TRUE(cidr_list_match(&all, peer("192.0.2.1")));
	CU_ASSERT_TRUE(cidr_list_match(&all, peer("2001:db8::1")));
	CU_ASSERT_TRUE(cidr_list_match(&all, peer("::ffff:192.0.2.1")));
	CU_ASSERT_FALSE(cidr_list_match(&none, peer("127.0.0.1")));
	CU_ASSERT_FALSE(cidr_list_match(&all, &unix_sa));
}

static CU_TestInfo tests[] = {
	{ "parse and format", test_parse },
	{ "lists: all, repeats, errors, bound", test_lists },
	{ "match IPv4, IPv6, mapped", test_match },
	CU_TEST_INFO_NULL,
};

CU_MAIN("cidr", tests)
