/* SPDX-License-Identifier: MIT */
/*
 * fdlimit.c - raise RLIMIT_NOFILE towards what max_connections needs (see
 * fdlimit.h).  A leaf: the master logs what it returns.
 */
#include <sys/resource.h>

#include "fdlimit.h"

enum fdlimit_rc fdlimit_raise(int max_connections, struct fdlimit *out)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)max_connections + FDLIMIT_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return FDLIMIT_ERROR;
	out->was = rl.rlim_cur;
	out->need = need;
	/* only as far as needed: lws sizes its poll table by the limit */
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return FDLIMIT_ERROR;
	}
	out->soft = rl.rlim_cur;
	out->hard = rl.rlim_max;
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need ? FDLIMIT_OK : FDLIMIT_SHORT;
}
