/* SPDX-License-Identifier: MIT */
/*
 * fuzz_target.c - libFuzzer target: which room an upgrade asks for,
 * admit_target_of(), on any decoded path and ?room= value (the input is
 * "path", or "path" NUL "room value").  An accepted room must be valid.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"
#include "conf.h"
#include "admit.h"
#include "room.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf *c;
	char err[CHATD_ERR_MAX];
	char room[CHATD_ROOM_MAX + 1], *in;
	const char *arg = NULL;
	size_t rl, n;

	if (c == NULL && (c = conf_load(NULL, NULL, 0, err, sizeof(err))) == NULL)
		abort();
	if ((in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	n = strlen(in);
	if (n < size)
		arg = in + n + 1;
	if (admit_target_of(c, in, arg, room, &rl) == 0 && rl > 0 &&
	    (rl != strlen(room) || !room_name_valid(room, rl)))
		abort();
	free(in);
	return 0;
}
