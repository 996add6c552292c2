/* SPDX-License-Identifier: MIT */
/*
 * hash.c - SipHash (Aumasson and Bernstein), c compression and d finalisation
 * rounds: 1-3 for the hash tables, 2-4 as in the paper.  See hash.h.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "hash.h"

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static inline void hash_sip_round(uint64_t v[4])
{
	v[0] += v[1]; v[1] = ROTL64(v[1], 13); v[1] ^= v[0]; v[0] = ROTL64(v[0], 32);
	v[2] += v[3]; v[3] = ROTL64(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL64(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL64(v[1], 17); v[1] ^= v[2]; v[2] = ROTL64(v[2], 32);
}

static inline void hash_compress(uint64_t v[4], uint64_t m, int c)
{
	v[3] ^= m;
	for (int i = 0; i < c; i++)
		hash_sip_round(v);
	v[0] ^= m;
}

/* Little-endian 64-bit word at p, whatever the host's byte order. */
static inline uint64_t hash_le64(const unsigned char *p)
{
	uint64_t m = 0;

	for (int i = 7; i >= 0; i--)
		m = m << 8 | p[i];
	return m;
}

static inline uint64_t hash_sip(const struct hash_key *k, const void *data, size_t len,
				int c, int d)
{
	uint64_t v[4] = { k->k0 ^ 0x736f6d6570736575ULL, k->k1 ^ 0x646f72616e646f6dULL,
			  k->k0 ^ 0x6c7967656e657261ULL, k->k1 ^ 0x7465646279746573ULL };
	const unsigned char *p = data;
	size_t i = 0;
	uint64_t m;

	for (; i + 8 <= len; i += 8)
		hash_compress(v, hash_le64(p + i), c);
	m = (uint64_t)len << 56;
	for (size_t j = 0; i + j < len; j++)
		m |= (uint64_t)p[i + j] << (8 * j);
	hash_compress(v, m, c);
	v[2] ^= 0xff;
	for (int r = 0; r < d; r++)
		hash_sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t hash_bytes(const struct hash_key *k, const void *p, size_t len)
{
	return hash_sip(k, p, len, 1, 3);
}

uint64_t hash_siphash24(const struct hash_key *k, const void *p, size_t len)
{
	return hash_sip(k, p, len, 2, 4);
}

void hash_key_from_bytes(struct hash_key *k, const unsigned char bytes[16])
{
	k->k0 = hash_le64(bytes);
	k->k1 = hash_le64(bytes + 8);
}

void hash_key_random(struct hash_key *k, const void *salt)
{
	uint64_t r[2];
	struct timespec ts;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
		r[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)salt;
	}
	k->k0 = r[0];
	k->k1 = r[1];
}
