/* SPDX-License-Identifier: MIT */
/*
 * fuzz_auth.c - libFuzzer target: auth_verify() on any token (libjwt's
 * decoder and our claim checks), auth_bearer() and auth_origin_allowed().
 * The input is "token", or "token" NUL "origin".  Nothing forged can pass:
 * the fuzzer does not know the secret.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auth *a;
	struct auth_identity id;
	char why[128];
	const char *origin = NULL;
	char *in, err[256];
	size_t n;

	if (a == NULL) {
		struct conf_kv ov[] = { { "auth_enabled", "on" },
					{ "auth_secret", "fuzz-secret-not-in-any-corpus-7f3a" } };
		char cerr[CHATD_ERR_MAX];
		struct conf *c = conf_load(NULL, ov, 2, cerr, sizeof(cerr));

		if (c == NULL || (a = auth_new(c, err, sizeof(err))) == NULL)
			abort();
		conf_free(c);
	}
	if ((in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	n = strlen(in);
	if (n < size)
		origin = in + n + 1;
	if (auth_verify(a, in, "lobby", 1800000000, &id, why, sizeof(why)) == AUTH_OK)
		abort();                /* signed without the secret */
	auth_bearer(in);
	auth_origin_allowed("https://a.example, https://*.b.example http://c:8080", origin ? origin : in);
	auth_origin_allowed(in, "https://a.example");
	free(in);
	return 0;
}
