/*
 * The seeds and random streams of @uwrx/prng in C: ChaCha20 (RFC 8439),
 * the derivation F(key, tag, index, n) and the per-seed keystream. The
 * algorithm is specified byte for byte in packages/prng/README.md, and
 * packages/prng/vectors/prng-vectors.json pins it for both sides.
 * Depends on nothing but libc, so a test driver can compile it alone.
 */
#ifndef UWRX_PRNG_H
#define UWRX_PRNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRNG_SEED_BYTES 32
#define PRNG_AT_RANDOM_BYTES 16
#define CHACHA20_BLOCK_BYTES 64

void chacha20_block(const uint8_t key[32], uint32_t counter,
		    const uint8_t nonce[12], uint8_t out[CHACHA20_BLOCK_BYTES]);

void prng_derive_child(const uint8_t seed[32], uint64_t index, uint8_t out[32]);
void prng_derive_thread(const uint8_t seed[32], uint64_t index,
			uint8_t out[32]);
void prng_derive_exec(const uint8_t seed[32], uint64_t exec_index,
		      uint8_t out[32]);
void prng_at_random(const uint8_t image_seed[32],
		    uint8_t out[PRNG_AT_RANDOM_BYTES]);

/* RandomStream(K): the ChaCha20 keystream with key K, nonce "strm" and
 * eight zero bytes, counter 0, 1, 2, ... */
struct prng_stream {
	uint8_t key[32];
	uint64_t position; /* bytes read so far */
	uint8_t block[CHACHA20_BLOCK_BYTES];
};

void prng_stream_init(struct prng_stream *s, const uint8_t seed[32]);
int prng_stream_fill(struct prng_stream *s, uint8_t *out, size_t len);

/* Parses 64 hex digits into a seed; returns false when s is not exactly
 * that. */
bool prng_parse_seed(const char *s, uint8_t out[32]);

#endif
