/* SPDX-License-Identifier: MIT */
/*
 * listener.c - the workers' listening sockets: opening one on a configured
 * address, the check that no two `listen` lines bind the same one, and the
 * pool the master keeps across generations (one SO_REUSEPORT socket per
 * `listen` line and worker index).  A leaf: errors
 * go back in err, the master logs them.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "confval.h"
#include "listener.h"

void listener_init(struct listener *l, const struct conf *c)
{
	l->n = c->listen.n;
	for (int k = 0; k < CONF_MAX_LISTENS; k++)
		for (int i = 0; i < CHATD_MAX_WORKERS; i++)
			l->fd[k][i] = -1;
}

/* The addresses of listen line a, in the order listener_open() tries
 * them (free with freeaddrinfo).  0, or -1 with err. */
static int listener_resolve(const struct conf_listen *a, struct addrinfo **res,
			    char *err, size_t errlen)
{
	struct addrinfo hints = { 0 };
	char port[16];
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", a->port);
	rc = getaddrinfo(a->host[0] ? a->host : NULL, port, &hints, res);
	if (rc != 0) {
		snprintf(err, errlen, "listen %.200s:%d: %s", a->host, a->port, gai_strerror(rc));
		return -1;
	}
	return 0;
}

int listener_open(const struct conf_listen *a, int reuseport, char *err, size_t errlen)
{
	struct addrinfo *res = NULL, *ai;
	int fd = -1, one = 1;

	if (listener_resolve(a, &res, err, errlen) < 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (reuseport)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    (!reuseport || listen(fd, 4096) == 0))
			break;
		snprintf(err, errlen, "bind %.200s:%d: %s", a->host[0] ? a->host : "*", a->port,
			 strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && ai == NULL && err[0] == '\0')
		snprintf(err, errlen, "listen %.200s:%d: no usable address", a->host, a->port);
	return fd;
}

/* The address listen line a binds: the first of its addresses that this
 * system can make a socket for (as listener_open() does).  0 / -1 */
static int listener_addr(const struct conf_listen *a, struct sockaddr_storage *at)
{
	struct addrinfo *res = NULL, *ai;
	char why[256];
	int fd, found = 0;

	if (listener_resolve(a, &res, why, sizeof(why)) < 0)
		return -1;
	for (ai = res; ai != NULL && !found; ai = ai->ai_next)
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) >= 0) {
			close(fd);
			memset(at, 0, sizeof(*at));
			memcpy(at, ai->ai_addr, ai->ai_addrlen);
			found = 1;
		}
	freeaddrinfo(res);
	return found ? 0 : -1;
}

/* Are a and b the same IPv4 or IPv6 address and port? */
static int listener_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a->ss_family == AF_INET6 && a6->sin6_port == b6->sin6_port &&
	       a6->sin6_scope_id == b6->sin6_scope_id &&
	       memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/* "listen A and listen B are the same address (...)" into err; -1. */
static int listener_clash(const struct conf_listen *a, const struct conf_listen *b,
			  const struct sockaddr_storage *at, char *err, size_t errlen)
{
	char la[CONFVAL_HOST_MAX + 16], lb[CONFVAL_HOST_MAX + 16], host[NI_MAXHOST] = "?";

	confval_format_listen(a, la, sizeof(la));
	confval_format_listen(b, lb, sizeof(lb));
	getnameinfo((const struct sockaddr *)at, sizeof(*at), host, sizeof(host), NULL, 0,
		    NI_NUMERICHOST);
	snprintf(err, errlen, "listen %.200s and listen %.200s are the same address (%s port "
		 "%d): each would take the other's connections; give each address once",
		 la, lb, host, b->port);
	return -1;
}

int listener_check(const struct conf *c, char *err, size_t errlen)
{
	struct sockaddr_storage at[CONF_MAX_LISTENS];
	int ok[CONF_MAX_LISTENS];

	for (int k = 0; k < c->listen.n; k++) {
		ok[k] = listener_addr(&c->listen.v[k], &at[k]) == 0;
		for (int j = 0; ok[k] && j < k; j++)
			if (ok[j] && listener_same(&at[j], &at[k]))
				return listener_clash(&c->listen.v[j], &c->listen.v[k], &at[k],
						      err, errlen);
	}
	return 0;
}

int listener_probe(const struct conf *c, char *err, size_t errlen)
{
	for (int k = 0; k < c->listen.n; k++) {
		int fd = listener_open(&c->listen.v[k], 0, err, errlen);

		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

void listener_drop(struct listener *l, int i)
{
	for (int k = 0; k < CONF_MAX_LISTENS; k++)
		if (l->fd[k][i] >= 0) {
			shutdown(l->fd[k][i], SHUT_RDWR);
			close(l->fd[k][i]);
			l->fd[k][i] = -1;
		}
}

/* Open index i's socket of every listen line; 0 / -1 with err.  All or
 * none: on a failure the index's others are closed, or they would stay in
 * their SO_REUSEPORT group with no worker to accept what the kernel queues
 * on them. */
static int listener_open_index(struct listener *l, const struct conf *c, int i,
			       char *err, size_t errlen)
{
	for (int k = 0; k < l->n; k++)
		if (l->fd[k][i] < 0 &&
		    (l->fd[k][i] = listener_open(&c->listen.v[k], 1, err, errlen)) < 0) {
			listener_drop(l, i);
			return -1;
		}
	return 0;
}

int listener_pick(struct listener *l, const struct conf *c, int want, const int *held,
		  char *err, size_t errlen)
{
	for (int i = 0; i < want; i++) {
		if (held[i])
			continue;
		return listener_open_index(l, c, i, err, errlen) < 0 ? -1 : i;
	}
	snprintf(err, errlen, "every listening socket has a worker");
	return -1;
}

void listener_trim(struct listener *l, int want)
{
	for (int i = want; i < CHATD_MAX_WORKERS; i++)
		listener_drop(l, i);
}
