/* SPDX-License-Identifier: MIT */
/*
 * test_hash.c - hash.c against the SipHash reference test vectors: key
 * 00 01 .. 0f (2-4, from the paper and veorq/SipHash's vectors.h) or all
 * zero (1-3, from the reference code built with 1 and 3 rounds), message
 * 00 01 .. len-1.
 */
#include <stdint.h>
#include <string.h>

#include "cu.h"
#include "hash.h"

static const uint64_t sip24[64] = {
	0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
	0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
	0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
	0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL, 0xa129ca6149be45e5ULL,
	0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL, 0x4bc1b3f0968dd39cULL, 0xbb6dc91da77961bdULL,
	0xbed65cf21aa2ee98ULL, 0xd0f2cbb02e3b67c7ULL, 0x93536795e3a33e88ULL, 0xa80c038ccd5ccec8ULL,
	0xb8ad50c6f649af94ULL, 0xbce192de8a85b8eaULL, 0x17d835b85bbb15f3ULL, 0x2f2e6163076bcfadULL,
	0xde4daaaca71dc9a5ULL, 0xa6a2506687956571ULL, 0xad87a3535c49ef28ULL, 0x32d892fad841c342ULL,
	0x7127512f72f27cceULL, 0xa7f32346f95978e3ULL, 0x12e0b01abb051238ULL, 0x15e034d40fa197aeULL,
	0x314dffbe0815a3b4ULL, 0x027990f029623981ULL, 0xcadcd4e59ef40c4dULL, 0x9abfd8766a33735cULL,
	0x0e3ea96b5304a7d0ULL, 0xad0c42d6fc585992ULL, 0x187306c89bc215a9ULL, 0xd4a60abcf3792b95ULL,
	0xf935451de4f21df2ULL, 0xa9538f0419755787ULL, 0xdb9acddff56ca510ULL, 0xd06c98cd5c0975ebULL,
	0xe612a3cb9ecba951ULL, 0xc766e62cfcadaf96ULL, 0xee64435a9752fe72ULL, 0xa192d576b245165aULL,
	0x0a8787bf8ecb74b2ULL, 0x81b3e73d20b49b6fULL, 0x7fa8220ba3b2eceaULL, 0x245731c13ca42499ULL,
	0xb78dbfaf3a8d83bdULL, 0xea1ad565322a1a0bULL, 0x60e61c23a3795013ULL, 0x6606d7e446282b93ULL,
	0x6ca4ecb15c5f91e1ULL, 0x9f626da15c9625f3ULL, 0xe51b38608ef25f57ULL, 0x958a324ceb064572ULL,
};

/* SipHash-1-3, zero key, lengths 0..24 */
static const uint64_t sip13[25] = {
	0xd1fba762150c532cULL, 0x68a914128e01e473ULL, 0x010bac45c41e3669ULL, 0x4d4c9a4a8ef6e0adULL,
	0x7cc43f98813e4dbdULL, 0x5abe2169dff36275ULL, 0xe3c25f87624f1cdbULL, 0x2f098ab0c751325aULL,
	0xead411e67ebe2eeaULL, 0x75927f9d95124362ULL, 0xaf9f77a65ab51a1dULL, 0xfe64ce8b6617fcffULL,
	0xa6baf4fb0f9fe1c2ULL, 0xa0cf3211850f8e0dULL, 0x7f86049379fbfe67ULL, 0xf30eb725bb91c9eaULL,
	0x8972188433a5c5b7ULL, 0x4883c49a2c009c1dULL, 0xadc2c0b63044067dULL, 0x091f4a3329f87d19ULL,
	0x639e355ae68c0100ULL, 0xb17bef2cb5213239ULL, 0xf8aeb1066236ccfeULL, 0x37332b1389daa4ffULL,
	0x31185a47af932f3aULL,
};

static void test_siphash24_vectors(void)
{
	unsigned char kb[16], msg[64];
	struct hash_key k;

	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	for (int i = 0; i < 16; i++)
		kb[i] = (unsigned char)i;
	hash_key_from_bytes(&k, kb);
	for (size_t len = 0; len < 64; len++)
		CU_ASSERT_EQUAL(hash_siphash24(&k, msg, len), sip24[len]);
}

static void test_siphash13_vectors(void)
{
	unsigned char msg[64];
	struct hash_key k = { 0, 0 };

	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	for (size_t len = 0; len < sizeof(sip13) / sizeof(sip13[0]); len++)
		CU_ASSERT_EQUAL(hash_bytes(&k, msg, len), sip13[len]);
}

/* Two random keys differ, and hash one name differently: the bucket of a
 * name cannot be known from outside. */
static void test_random_keys(void)
{
	struct hash_key a, b;

	hash_key_random(&a, NULL);
	hash_key_random(&b, NULL);
	CU_ASSERT(a.k0 != b.k0 || a.k1 != b.k1);
	CU_ASSERT(hash_bytes(&a, "lobby", 5) != hash_bytes(&b, "lobby", 5));
	CU_ASSERT_EQUAL(hash_bytes(&a, "lobby", 5), hash_bytes(&a, "lobby", 5));
}

static CU_TestInfo tests[] = {
	{ "SipHash-2-4 reference vectors", test_siphash24_vectors },
	{ "SipHash-1-3 reference vectors", test_siphash13_vectors },
	{ "random keys", test_random_keys },
	CU_TEST_INFO_NULL,
};

CU_MAIN("hash", tests)
