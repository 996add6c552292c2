/* SPDX-License-Identifier: MIT */
/*
 * hash.h - the keyed hash of every table whose keys a client chooses (room
 * names, client addresses): SipHash, so nobody who does not know the key can
 * aim many keys at one bucket (hash flooding).  A pure leaf: no state but
 * the caller's key, no logging.  Any process may call.
 */
#ifndef CHATD_HASH_H
#define CHATD_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A 128-bit SipHash key.  One per table, from hash_key_random() when the
 * table is made (at start of the process that owns it). */
struct hash_key { uint64_t k0, k1; };

/* A random key from getrandom(); when that fails (very early boot), one
 * mixed from the clock, the pid and `salt` (e.g. the table's address). */
void hash_key_random(struct hash_key *k, const void *salt);

/* SipHash-1-3 of p[0..len) under k: the tables' hash (fast on short keys). */
uint64_t hash_bytes(const struct hash_key *k, const void *p, size_t len);

/* SipHash-2-4 of p[0..len) under k: the conservative variant, for the
 * reference test vectors and whoever wants a PRF. */
uint64_t hash_siphash24(const struct hash_key *k, const void *p, size_t len);

/* The key as the reference code takes it: 16 bytes, little-endian words. */
void hash_key_from_bytes(struct hash_key *k, const unsigned char bytes[16]);

#endif
