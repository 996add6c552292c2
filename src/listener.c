/* SPDX-License-Identifier: MIT */
/*
 * listener.c - the workers' listening sockets: opening one on a configured
 * address, and the pool the master keeps across generations (one
 * SO_REUSEPORT socket per `listen` line and worker index).  A leaf: errors
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
#include "listener.h"

void listener_init(struct listener *l, const struct conf *c)
{
	l->n = c->listen.n;
	for (int k = 0; k < CONF_MAX_LISTENS; k++) {
		l->ssl[k] = k < c->listen.n ? c->listen.v[k].ssl : 0;
		for (int i = 0; i < CHATD_MAX_WORKERS; i++)
			l->fd[k][i] = -1;
	}
}

int listener_open(const struct conf_listen *a, int reuseport, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char port[16];
	int fd = -1, one = 1, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", a->port);
	rc = getaddrinfo(a->host[0] ? a->host : NULL, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen %.200s:%d: %s", a->host, a->port, gai_strerror(rc));
		return -1;
	}
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

/* Open index i's socket of every listen line; 0 / -1 with err. */
static int listener_open_index(struct listener *l, const struct conf *c, int i,
			       char *err, size_t errlen)
{
	for (int k = 0; k < l->n; k++)
		if (l->fd[k][i] < 0 &&
		    (l->fd[k][i] = listener_open(&c->listen.v[k], 1, err, errlen)) < 0)
			return -1;
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

void listener_drop(struct listener *l, int i)
{
	for (int k = 0; k < CONF_MAX_LISTENS; k++)
		if (l->fd[k][i] >= 0) {
			shutdown(l->fd[k][i], SHUT_RDWR);
			close(l->fd[k][i]);
			l->fd[k][i] = -1;
		}
}

void listener_trim(struct listener *l, int want)
{
	for (int i = want; i < CHATD_MAX_WORKERS; i++)
		listener_drop(l, i);
}
