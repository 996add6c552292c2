/* SPDX-License-Identifier: MIT */
/*
 * fuzz_conf.c - libFuzzer target: conf_load() on any configuration file
 * (through a memfd), and conf_format() of every directive of what loads.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	char err[CHATD_ERR_MAX];
	struct conf *c;
	const struct conf_directive *t;
	char buf[2048];
	size_t n;

	if (fd < 0) {
		unsetenv("REDIS_URL");
		unsetenv("AUTH_ENABLED");
		if ((fd = memfd_create("fuzz_conf", 0)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	c = conf_load(path, NULL, 0, err, sizeof(err));
	if (c == NULL)
		return 0;
	t = conf_directives(&n);
	for (size_t i = 0; i < n; i++)
		conf_format(c, &t[i], buf, sizeof(buf));
	conf_free(c);
	return 0;
}
