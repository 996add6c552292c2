/*
 * fuzz_msg.c - libFuzzer target: msg_parse() on any client message, then
 * msg_build() of what it accepted (the daemon's per-message path).
 */
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 17];
	struct msg_in m;

	if (msg_parse((const char *)data, size, &m) != MSG_OK)
		return 0;
	if (m.kind == MSG_CHAT)
		msg_build(out, sizeof(out), "chat", "room", "from", m.data);
	msg_in_clear(&m);
	return 0;
}
